/// Postings of one segment: a doc+freq stream ("postings" file) and a positions stream
/// ("positions" file). Byte layout: docs/format-postings.md.
public enum PostingsFormat {
    public static let docsFormatName = "postings"
    public static let positionsFormatName = "positions"
    public static let version: UInt32 = 1
    /// Largest term frequency (and so positions per doc) accepted. Freqs are packed as
    /// `freq - 1` at a width ≤ 31, so `freq` can never overflow when decoded.
    public static let maxFreq: UInt32 = 1 << 31
    /// Largest doc ID: `UInt32.max` is `PostingsIterator.noMoreDocs`.
    public static let maxDocID: UInt32 = .max - 1
}

/// What the term dictionary stores for a term to find its postings.
///
/// `docsOffset` and `positionsOffset` are relative to the content start (after the header) of
/// the postings and positions files. **Singletons:** when `docFreq == 1` nothing is written to
/// the postings file; `docsOffset` holds the doc ID itself and the freq is `totalTermFreq`
/// (Lucene's "singleton doc ID" pulsing: most mail terms occur in one message, and this saves
/// the bytes and the random read into the postings file).
public struct TermPostingsInfo: Sendable, Hashable {
    public var docFreq: UInt32
    /// Sum of freqs = number of positions; always ≥ `docFreq`.
    public var totalTermFreq: UInt64
    public var docsOffset: UInt64
    public var positionsOffset: UInt64

    public init(docFreq: UInt32, totalTermFreq: UInt64, docsOffset: UInt64, positionsOffset: UInt64) {
        self.docFreq = docFreq
        self.totalTermFreq = totalTermFreq
        self.docsOffset = docsOffset
        self.positionsOffset = positionsOffset
    }

    /// The doc of a singleton list (see the type's documentation).
    public var singletonDocID: UInt32? {
        docFreq == 1 ? UInt32(truncatingIfNeeded: docsOffset) : nil
    }

    /// Four varints: docFreq, totalTermFreq - docFreq (0 for the common all-freq-1 term, one
    /// byte), docsOffset, positionsOffset. 4 bytes for a typical singleton.
    public func encode(into w: inout ByteWriter) {
        precondition(totalTermFreq >= UInt64(docFreq), "totalTermFreq is at least docFreq")
        w.varint(UInt64(docFreq))
        w.varint(totalTermFreq - UInt64(docFreq))
        w.varint(docsOffset)
        w.varint(positionsOffset)
    }

    public static func decode(_ r: inout ByteReader) throws(IndexFormatError) -> TermPostingsInfo {
        let start = r.offset
        let df = try r.varint()
        guard df >= 1, df <= UInt64(UInt32.max) else {
            throw IndexFormatError(.corrupt, "term docFreq \(df) out of range", offset: r.base + start)
        }
        let extra = try r.varint()
        let (ttf, overflow) = df.addingReportingOverflow(extra)
        guard !overflow else {
            throw IndexFormatError(.corrupt, "term totalTermFreq overflows", offset: r.base + start)
        }
        let docsOffset = try r.varint()
        let positionsOffset = try r.varint()
        if df == 1, docsOffset > UInt64(PostingsFormat.maxDocID) {
            throw IndexFormatError(.corrupt, "singleton doc ID \(docsOffset) out of range", offset: r.base + start)
        }
        return TermPostingsInfo(docFreq: UInt32(df), totalTermFreq: ttf, docsOffset: docsOffset, positionsOffset: positionsOffset)
    }
}

/// Why `PostingsWriter.add` refused a term's postings (a bug in the caller, reported rather
/// than trapped so the indexer can name the term).
public struct PostingsInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case empty                   // no docs
        case countMismatch           // docIDs, freqs and positions differ in length
        case docIDsNotIncreasing
        case docIDReserved           // UInt32.max is the end-of-list sentinel
        case freqOutOfRange          // 0, or above PostingsFormat.maxFreq
        case positionsCountMismatch  // positions[i].count != freqs[i]
        case positionsDecreasing
    }

    public var code: Code
    /// Index of the offending doc in the input, when there is one.
    public var index: Int?

    public init(_ code: Code, index: Int? = nil) {
        self.code = code
        self.index = index
    }

    public var description: String { "invalid postings input: \(code.rawValue)" + (index.map { " at doc #\($0)" } ?? "") }
}

/// Builds the postings and positions files of one segment, term after term.
public struct PostingsWriter: Sendable {
    var docs = ByteWriter()
    var positions = ByteWriter()
    let docsStart: Int
    let positionsStart: Int

    public init() {
        FileFraming.header(format: PostingsFormat.docsFormatName, version: PostingsFormat.version, into: &docs)
        FileFraming.header(format: PostingsFormat.positionsFormatName, version: PostingsFormat.version, into: &positions)
        docsStart = docs.count
        positionsStart = positions.count
    }

    /// Appends one term's postings. `docIDs` strictly increasing (≤ `PostingsFormat.maxDocID`),
    /// `freqs[i]` in 1...maxFreq, `positions[i]` non-decreasing with `freqs[i]` entries (equal
    /// positions are allowed: stacked tokens). Nothing is written when an error is thrown.
    public mutating func add(docIDs: [UInt32], freqs: [UInt32], positions: [[UInt32]]) throws(PostingsInputError) -> TermPostingsInfo {
        guard docIDs.count == positions.count else { throw PostingsInputError(.countMismatch) }
        for i in positions.indices where i < freqs.count && positions[i].count != Int(freqs[i]) {
            throw PostingsInputError(.positionsCountMismatch, index: i)
        }
        return try add(docIDs: docIDs, freqs: freqs, flatPositions: positions.flatMap { $0 })
    }

    /// The same, with every doc's positions concatenated (`freqs[i]` of them for doc i): what
    /// an indexer accumulates anyway, without an array per posting.
    public mutating func add(docIDs: [UInt32], freqs: [UInt32], flatPositions: [UInt32]) throws(PostingsInputError) -> TermPostingsInfo {
        try Self.validate(docIDs: docIDs, freqs: freqs, flatPositions: flatPositions)
        var ttf: UInt64 = 0
        for f in freqs { ttf += UInt64(f) }
        let positionsOffset = UInt64(self.positions.count - positionsStart)

        // Positions: every doc's position deltas (restarting at 0 per doc), concatenated over
        // the term's docs, cut into packed blocks of 128 [width u8][16*width bytes] and a tail
        // of < 128 varints. `blockStarts[b]` = offset of position block b relative to the term;
        // the last entry is the tail's start, so any position index maps to its block.
        let termStart = self.positions.count
        var blockStarts: [Int] = []
        var chunk: [UInt32] = []
        chunk.reserveCapacity(BitPacking.blockSize)
        var at = 0
        for freq in freqs {
            var prev: UInt32 = 0
            for p in flatPositions[at..<(at + Int(freq))] {
                chunk.append(p - prev)
                prev = p
                if chunk.count == BitPacking.blockSize {
                    blockStarts.append(self.positions.count - termStart)
                    let w = BitPacking.bitsNeeded(chunk)
                    self.positions.u8(UInt8(w))
                    BitPacking.pack(chunk, width: w, into: &self.positions)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            at += Int(freq)
        }
        blockStarts.append(self.positions.count - termStart)
        for v in chunk { self.positions.varint(UInt64(v)) }

        if docIDs.count == 1 {
            return TermPostingsInfo(docFreq: 1, totalTermFreq: ttf, docsOffset: UInt64(docIDs[0]), positionsOffset: positionsOffset)
        }

        let docsOffset = UInt64(docs.count - docsStart)
        let nBlocks = docIDs.count / BitPacking.blockSize
        var floor: UInt64 = 0
        if nBlocks > 0 {
            // Skip entries (one per full block, before the blocks, so advance() can pass a
            // block by reading only its entry): lastDoc - floor, docWidth u8, freqWidth u8,
            // freqSum - 128, delta of the positions block offset for the next doc block.
            var skip = ByteWriter()
            var blocks = ByteWriter()
            var posIndex: UInt64 = 0
            var posFP = 0
            for b in 0..<nBlocks {
                let range = (b * 128)..<((b + 1) * 128)
                let blockFloor = floor
                let (g, f) = BitPacking.gaps(docIDs[range], floor: floor)
                floor = f
                var fm1 = [UInt32]()
                fm1.reserveCapacity(128)
                var freqSum: UInt64 = 0
                for x in freqs[range] {
                    fm1.append(x - 1)
                    freqSum += UInt64(x)
                }
                let dw = BitPacking.bitsNeeded(g)
                let fw = BitPacking.bitsNeeded(fm1)
                BitPacking.pack(g, width: dw, into: &blocks)
                BitPacking.pack(fm1, width: fw, into: &blocks)
                skip.varint(UInt64(docIDs[range.upperBound - 1]) - blockFloor)
                skip.u8(UInt8(dw))
                skip.u8(UInt8(fw))
                skip.varint(freqSum - 128)
                posIndex += freqSum
                let nextPosFP = blockStarts[Int(posIndex / 128)]
                skip.varint(UInt64(nextPosFP - posFP))
                posFP = nextPosFP
            }
            docs.varint(UInt64(skip.count))
            docs.append(skip.bytes)
            docs.append(blocks.bytes)
        }
        // Tail: per doc varint(gap << 1 | freq == 1), then varint(freq - 2) if freq > 1.
        for i in (nBlocks * 128)..<docIDs.count {
            let gap = UInt64(docIDs[i]) - floor
            floor = UInt64(docIDs[i]) + 1
            docs.varint(gap << 1 | (freqs[i] == 1 ? 1 : 0))
            if freqs[i] != 1 { docs.varint(UInt64(freqs[i] - 2)) }
        }
        return TermPostingsInfo(docFreq: UInt32(docIDs.count), totalTermFreq: ttf, docsOffset: docsOffset, positionsOffset: positionsOffset)
    }

    static func validate(docIDs: [UInt32], freqs: [UInt32], flatPositions: [UInt32]) throws(PostingsInputError) {
        guard !docIDs.isEmpty else { throw PostingsInputError(.empty) }
        guard docIDs.count == freqs.count, docIDs.count <= Int(UInt32.max) else {
            throw PostingsInputError(.countMismatch)
        }
        var at = 0
        for i in docIDs.indices {
            if docIDs[i] > PostingsFormat.maxDocID { throw PostingsInputError(.docIDReserved, index: i) }
            if i > 0, docIDs[i] <= docIDs[i - 1] { throw PostingsInputError(.docIDsNotIncreasing, index: i) }
            if freqs[i] == 0 || freqs[i] > PostingsFormat.maxFreq { throw PostingsInputError(.freqOutOfRange, index: i) }
            let end = at + Int(freqs[i])
            guard end <= flatPositions.count else { throw PostingsInputError(.positionsCountMismatch, index: i) }
            var prev: UInt32 = 0
            for p in flatPositions[at..<end] {
                if p < prev { throw PostingsInputError(.positionsDecreasing, index: i) }
                prev = p
            }
            at = end
        }
        guard at == flatPositions.count else { throw PostingsInputError(.positionsCountMismatch, index: docIDs.count - 1) }
    }

    /// The two complete files: header, content, footer with checksum.
    public consuming func finish() -> (docs: [UInt8], positions: [UInt8]) {
        FileFraming.finish(&docs)
        FileFraming.finish(&positions)
        return (docs.bytes, positions.bytes)
    }
}
