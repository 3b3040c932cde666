/// Postings of one segment: a doc+freq stream ("postings" file) and a positions stream
/// ("positions" file). Byte layout: docs/format-postings.md.
public enum PostingsFormat {
    public static let docsFormatName = "postings"
    public static let positionsFormatName = "positions"
    /// Version of the postings (docs) file.
    public static let version: UInt32 = 1
    /// Version of the positions file: 2 adds Rice-coded blocks (a first byte 0x80 | k).
    public static let positionsVersion: UInt32 = 2
    /// Positions file versions this build reads.
    public static let positionsVersions: ClosedRange<UInt32> = 1...2
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

    /// Terms version 2, inside a block: offsets as zigzag deltas from the block's previous
    /// entry (`previous` holds (docsOffset of the last non-singleton, positionsOffset), both 0
    /// at a block's start). Offsets grow in key order, so each delta is a byte or two where an
    /// absolute offset takes four. A singleton's doc ID stays absolute.
    public func encodeDelta(into w: inout ByteWriter, previous: inout (docs: UInt64, positions: UInt64)) {
        precondition(totalTermFreq >= UInt64(docFreq), "totalTermFreq is at least docFreq")
        w.varint(UInt64(docFreq))
        w.varint(totalTermFreq - UInt64(docFreq))
        if docFreq == 1 {
            w.varint(docsOffset)
        } else {
            w.varint(Self.zigzag(docsOffset &- previous.docs))
            previous.docs = docsOffset
        }
        w.varint(Self.zigzag(positionsOffset &- previous.positions))
        previous.positions = positionsOffset
    }

    public static func decodeDelta(_ r: inout ByteReader, previous: inout (docs: UInt64, positions: UInt64)) throws(IndexFormatError) -> TermPostingsInfo {
        let start = r.offset
        let (df, ttf) = try decodeFreqs(&r)
        var docsOffset = try r.varint()
        if df == 1 {
            guard docsOffset <= UInt64(PostingsFormat.maxDocID) else {
                throw IndexFormatError(.corrupt, "singleton doc ID \(docsOffset) out of range", offset: r.base + start)
            }
        } else {
            docsOffset = previous.docs &+ unzigzag(docsOffset)
            previous.docs = docsOffset
        }
        let positionsOffset = previous.positions &+ unzigzag(try r.varint())
        previous.positions = positionsOffset
        return TermPostingsInfo(docFreq: UInt32(df), totalTermFreq: ttf, docsOffset: docsOffset, positionsOffset: positionsOffset)
    }

    /// docFreq (1...UInt32.max) and totalTermFreq (docFreq + a varint, no overflow).
    static func decodeFreqs(_ r: inout ByteReader) throws(IndexFormatError) -> (UInt64, UInt64) {
        let start = r.offset
        let df = try r.varint()
        guard df >= 1, df <= UInt64(UInt32.max) else {
            throw IndexFormatError(.corrupt, "term docFreq \(df) out of range", offset: r.base + start)
        }
        let (ttf, overflow) = df.addingReportingOverflow(try r.varint())
        guard !overflow else {
            throw IndexFormatError(.corrupt, "term totalTermFreq overflows", offset: r.base + start)
        }
        return (df, ttf)
    }

    @inline(__always) static func zigzag(_ d: UInt64) -> UInt64 {
        let v = Int64(bitPattern: d)
        return UInt64(bitPattern: (v << 1) ^ (v >> 63))
    }

    @inline(__always) static func unzigzag(_ z: UInt64) -> UInt64 {
        (z >> 1) ^ (0 &- (z & 1))
    }

    public static func decode(_ r: inout ByteReader) throws(IndexFormatError) -> TermPostingsInfo {
        let start = r.offset
        let (df, ttf) = try decodeFreqs(&r)
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
        case positionOverflow        // deltas adding up past UInt32.max
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

/// Builds the postings and positions files of one segment, term after term: either a whole
/// term at once (`add`) or streamed doc by doc (`startTerm`, `addDoc`, `finishTerm`), which is
/// how merges write a term of millions of postings without holding it. Memory held: the
/// current term's doc blocks and skip entries (compressed) and what the caller has not
/// `drain`ed.
public struct PostingsWriter: Sendable {
    var docs = ByteWriter()
    var positions = ByteWriter()
    let docsStart: Int
    let positionsStart: Int

    // The term being written.
    var termOpen = false
    var termDocs = 0
    var termTTF: UInt64 = 0
    var termPositionsStart = 0
    var lastDoc: Int64 = -1
    var firstDoc: UInt32 = 0
    var positionChunk: [UInt32] = []
    var blockDocs: [UInt32] = []
    var blockFreqs: [UInt32] = []
    var skip = ByteWriter()
    var blocks = ByteWriter()
    var floor: UInt64 = 0
    var positionsFP = 0
    var failed = false
    /// Whether full positions blocks may be Rice-coded (smaller, costlier to choose): merges
    /// use them; an indexing flush, whose segments are merged later, may skip them.
    public var riceBlocks = true

    public init() {
        FileFraming.header(format: PostingsFormat.docsFormatName, version: PostingsFormat.version, into: &docs)
        FileFraming.header(format: PostingsFormat.positionsFormatName, version: PostingsFormat.positionsVersion, into: &positions)
        docsStart = docs.count
        positionsStart = positions.count
        positionChunk.reserveCapacity(BitPacking.blockSize)
        blockDocs.reserveCapacity(BitPacking.blockSize)
        blockFreqs.reserveCapacity(BitPacking.blockSize)
    }

    /// Bytes buffered and not yet drained (both files).
    public var bufferedBytes: Int { docs.bytes.count + positions.bytes.count }

    /// Hands over the bytes written so far of each file (see `ByteWriter.drain`).
    public mutating func drain() -> (docs: [UInt8], positions: [UInt8]) {
        (docs.drain(), positions.drain())
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
    /// an indexer accumulates anyway, without an array per posting. Nothing is written when an
    /// error is thrown (the input is checked first).
    public mutating func add(docIDs: [UInt32], freqs: [UInt32], flatPositions: [UInt32]) throws(PostingsInputError) -> TermPostingsInfo {
        try Self.validate(docIDs: docIDs, freqs: freqs, flatPositions: flatPositions)
        startTerm()
        flatPositions.withUnsafeBufferPointer { all in
            var at = 0
            for (doc, freq) in zip(docIDs, freqs) {
                appendDoc(doc, UnsafeBufferPointer(rebasing: all[at..<(at + Int(freq))]))
                at += Int(freq)
            }
        }
        return try finishTerm()
    }

    /// Starts a term (finish the previous one first).
    public mutating func startTerm() {
        precondition(!termOpen, "finishTerm() before the next startTerm()")
        termOpen = true
        termDocs = 0
        termTTF = 0
        termPositionsStart = positions.count
        lastDoc = -1
        positionChunk.removeAll(keepingCapacity: true)
        blockDocs.removeAll(keepingCapacity: true)
        blockFreqs.removeAll(keepingCapacity: true)
        skip = ByteWriter()
        blocks = ByteWriter()
        floor = 0
        positionsFP = 0
    }

    /// The checks every added doc passes (an open term, a usable writer, a doc id above
    /// `last` (by default the term's last doc) and not reserved, a freq in range); returns the
    /// doc's index in the term (`index`, by default the next one). A failed check leaves the
    /// writer refused.
    @discardableResult
    private mutating func checkDoc(_ doc: UInt32, freq: Int, after last: Int64? = nil, index: Int? = nil) throws(PostingsInputError) -> Int {
        precondition(termOpen, "startTerm() first")
        let index = index ?? termDocs
        guard !failed else { throw PostingsInputError(.countMismatch, index: index) }
        guard doc <= PostingsFormat.maxDocID else { failed = true; throw PostingsInputError(.docIDReserved, index: index) }
        guard Int64(doc) > (last ?? lastDoc) else { failed = true; throw PostingsInputError(.docIDsNotIncreasing, index: index) }
        guard freq > 0, freq <= Int(PostingsFormat.maxFreq) else {
            failed = true
            throw PostingsInputError(.freqOutOfRange, index: index)
        }
        return index
    }

    /// A doc's position deltas must add up to a 32-bit position, as read back.
    private mutating func checkDeltas(_ deltas: UnsafeBufferPointer<UInt32>, index: Int) throws(PostingsInputError) {
        var sum: UInt64 = 0
        for d in deltas { sum &+= UInt64(d) }
        guard sum <= UInt64(UInt32.max) else { failed = true; throw PostingsInputError(.positionOverflow, index: index) }
    }

    /// Appends checked position deltas to the term's positions blocks.
    private mutating func appendDeltas(_ deltas: UnsafeBufferPointer<UInt32>) {
        var i = 0
        while i < deltas.count {
            let take = min(deltas.count - i, BitPacking.blockSize - positionChunk.count)
            positionChunk.append(contentsOf: UnsafeBufferPointer(rebasing: deltas[i..<(i + take)]))
            i += take
            if positionChunk.count == BitPacking.blockSize {
                writePositionBlock()
                positionChunk.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Adds the current term's next doc with its positions (freq = their count). Docs strictly
    /// increasing, positions non-decreasing. After an error the writer is unusable (bytes of
    /// the term may be written): the file being built must be discarded.
    public mutating func addDoc(_ doc: UInt32, positions docPositions: UnsafeBufferPointer<UInt32>) throws(PostingsInputError) {
        let index = try checkDoc(doc, freq: docPositions.count)
        var prev: UInt32 = 0
        for p in docPositions {
            if p < prev { failed = true; throw PostingsInputError(.positionsDecreasing, index: index) }
            prev = p
        }
        appendDoc(doc, docPositions)
    }

    /// The same with the doc's positions given as deltas (each from the one before, the first
    /// from 0), as `PostingsIterator.positionDeltas` reads them: a merge copies them as they
    /// are (non-negative by their type, so never decreasing).
    public mutating func addDoc(_ doc: UInt32, deltas: UnsafeBufferPointer<UInt32>) throws(PostingsInputError) {
        try checkDeltas(deltas, index: try checkDoc(doc, freq: deltas.count))
        appendDeltas(deltas)
        appendDocEntry(doc, freq: deltas.count)
    }

    /// The bulk form of `addDoc(_:deltas:)`, as `PostingsIterator.nextDocs` reads them: doc
    /// `docs[i]` with `freqs[i]` positions, their deltas concatenated in `deltas` (each doc's
    /// restarting from 0). The same checks, errors and bytes as adding the docs one at a
    /// time; a stretch of docs is checked, then its positions and its entries are appended
    /// up to the end of the doc block being filled (whose skip entry records where the
    /// positions file stands after its last doc).
    public mutating func addDocs(_ docs: UnsafeBufferPointer<UInt32>, freqs: UnsafeBufferPointer<UInt32>,
                                 deltas: UnsafeBufferPointer<UInt32>) throws(PostingsInputError) {
        precondition(termOpen, "startTerm() first")
        guard !failed else { throw PostingsInputError(.countMismatch, index: termDocs) }
        guard docs.count == freqs.count else { failed = true; throw PostingsInputError(.countMismatch, index: termDocs) }
        var i = 0
        var at = 0
        while i < docs.count {
            let stretch = min(docs.count - i, BitPacking.blockSize - blockDocs.count)
            let from = at
            var last = lastDoc
            for j in i..<(i + stretch) {
                let index = try checkDoc(docs[j], freq: Int(freqs[j]), after: last, index: termDocs + (j - i))
                let freq = Int(freqs[j])
                guard freq <= deltas.count - at else { failed = true; throw PostingsInputError(.positionsCountMismatch, index: index) }
                try checkDeltas(UnsafeBufferPointer(rebasing: deltas[at..<(at + freq)]), index: index)
                at += freq
                last = Int64(docs[j])
            }
            appendDeltas(UnsafeBufferPointer(rebasing: deltas[from..<at]))
            if termDocs == 0 { firstDoc = docs[i] }
            termDocs += stretch
            termTTF += UInt64(at - from)
            lastDoc = last
            blockDocs.append(contentsOf: UnsafeBufferPointer(rebasing: docs[i..<(i + stretch)]))
            blockFreqs.append(contentsOf: UnsafeBufferPointer(rebasing: freqs[i..<(i + stretch)]))
            if blockDocs.count == BitPacking.blockSize { finishDocBlock() }
            i += stretch
        }
        guard at == deltas.count else { failed = true; throw PostingsInputError(.positionsCountMismatch, index: termDocs) }
    }

    /// `addDocs` with the first `count` docs and freqs of arrays and the first `positions`
    /// deltas of another (a merge's reused buffers).
    public mutating func addDocs(_ docs: [UInt32], freqs: [UInt32], count: Int, deltas: [UInt32], positions: Int) throws(PostingsInputError) {
        try docs.withUnsafeBufferPointer { (d) throws(PostingsInputError) in
            try freqs.withUnsafeBufferPointer { (f) throws(PostingsInputError) in
                try deltas.withUnsafeBufferPointer { (p) throws(PostingsInputError) in
                    try addDocs(UnsafeBufferPointer(rebasing: d[0..<count]), freqs: UnsafeBufferPointer(rebasing: f[0..<count]),
                                deltas: UnsafeBufferPointer(rebasing: p[0..<positions]))
                }
            }
        }
    }

    /// Ends a term to which no doc was added, writing nothing for it.
    public mutating func abandonEmptyTerm() {
        precondition(termOpen && termDocs == 0, "only a term without docs can be abandoned")
        termOpen = false
    }

    /// Ends the current term and returns what the dictionary stores for it.
    public mutating func finishTerm() throws(PostingsInputError) -> TermPostingsInfo {
        precondition(termOpen, "startTerm() first")
        termOpen = false
        guard !failed else { throw PostingsInputError(.countMismatch) }
        guard termDocs > 0 else { throw PostingsInputError(.empty) }
        for v in positionChunk { positions.varint(UInt64(v)) }
        let positionsOffset = UInt64(termPositionsStart - positionsStart)
        if termDocs == 1 {
            return TermPostingsInfo(docFreq: 1, totalTermFreq: termTTF, docsOffset: UInt64(firstDoc), positionsOffset: positionsOffset)
        }
        let docsOffset = UInt64(docs.count - docsStart)
        if termDocs >= BitPacking.blockSize {
            docs.varint(UInt64(skip.count))
            docs.append(skip.bytes)
            docs.append(blocks.bytes)
        }
        // Tail: per doc varint(gap << 1 | freq == 1), then varint(freq - 2) if freq > 1.
        for (doc, freq) in zip(blockDocs, blockFreqs) {
            let gap = UInt64(doc) - floor
            floor = UInt64(doc) + 1
            docs.varint(gap << 1 | (freq == 1 ? 1 : 0))
            if freq != 1 { docs.varint(UInt64(freq - 2)) }
        }
        return TermPostingsInfo(docFreq: UInt32(termDocs), totalTermFreq: termTTF, docsOffset: docsOffset, positionsOffset: positionsOffset)
    }

    /// Appends a checked doc. Positions: every doc's position deltas (restarting at 0 per
    /// doc), concatenated over the term's docs, cut into packed blocks of 128 [width u8]
    /// [16*width bytes] and a tail of < 128 varints. Docs: full blocks of 128 doc gaps and
    /// freq - 1, bit-packed, each with a skip entry; the skip entries go before the blocks
    /// (so advance() can pass a block by reading only its entry), the rest is the tail.
    @inline(__always)
    mutating func appendDoc(_ doc: UInt32, _ docPositions: UnsafeBufferPointer<UInt32>) {
        var prev: UInt32 = 0
        for p in docPositions {
            positionChunk.append(p - prev)
            prev = p
            if positionChunk.count == BitPacking.blockSize {
                writePositionBlock()
                positionChunk.removeAll(keepingCapacity: true)
            }
        }
        appendDocEntry(doc, freq: docPositions.count)
    }

    /// The doc's entry, after its positions: the term's counts and the doc block.
    @inline(__always)
    mutating func appendDocEntry(_ doc: UInt32, freq: Int) {
        if termDocs == 0 { firstDoc = doc }
        termDocs += 1
        termTTF += UInt64(freq)
        lastDoc = Int64(doc)
        blockDocs.append(doc)
        blockFreqs.append(UInt32(freq))
        if blockDocs.count == BitPacking.blockSize { finishDocBlock() }
    }

    /// A full block of 128 position deltas, in whichever form is smaller: bit-packed at one
    /// width ([w u8][16·w bytes]) or Rice-coded ([0x80 | k][varint length][bits]).
    mutating func writePositionBlock() {
        let w = BitPacking.bitsNeeded(positionChunk)
        let packed = 16 * w
        guard riceBlocks, w > 1 else {
            positions.u8(UInt8(w))
            BitPacking.pack(positionChunk, width: w, into: &positions)
            return
        }
        let rice = RiceCoding.best(positionChunk)
        let riceTotal = rice.bytes + (rice.bytes < 128 ? 1 : 2)
        if riceTotal < packed {
            positions.u8(0x80 | UInt8(rice.k))
            positions.varint(UInt64(rice.bytes))
            let before = positions.count
            RiceCoding.encode(positionChunk, k: rice.k, into: &positions)
            assert(positions.count - before == rice.bytes)
        } else {
            positions.u8(UInt8(w))
            BitPacking.pack(positionChunk, width: w, into: &positions)
        }
    }

    /// One full block of 128 docs: packed gaps and freqs, and its skip entry: lastDoc - floor,
    /// docWidth u8, freqWidth u8, freqSum - 128, delta of the positions offset (relative to
    /// the term) where the next doc's positions start: the block being filled, whose start is
    /// the current end of the positions file.
    mutating func finishDocBlock() {
        let blockFloor = floor
        let (g, f) = BitPacking.gaps(blockDocs, floor: floor)
        floor = f
        var fm1 = [UInt32]()
        fm1.reserveCapacity(BitPacking.blockSize)
        var freqSum: UInt64 = 0
        for x in blockFreqs {
            fm1.append(x - 1)
            freqSum += UInt64(x)
        }
        let dw = BitPacking.bitsNeeded(g)
        let fw = BitPacking.bitsNeeded(fm1)
        BitPacking.pack(g, width: dw, into: &blocks)
        BitPacking.pack(fm1, width: fw, into: &blocks)
        skip.varint(UInt64(blockDocs[blockDocs.count - 1]) - blockFloor)
        skip.u8(UInt8(dw))
        skip.u8(UInt8(fw))
        skip.varint(freqSum - UInt64(BitPacking.blockSize))
        let nextPositionsFP = positions.count - termPositionsStart
        skip.varint(UInt64(nextPositionsFP - positionsFP))
        positionsFP = nextPositionsFP
        blockDocs.removeAll(keepingCapacity: true)
        blockFreqs.removeAll(keepingCapacity: true)
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

    /// Bytes of content written to each file so far (after its header).
    public var contentCounts: (docs: Int, positions: Int) { (docs.count - docsStart, positions.count - positionsStart) }

    /// Appends content another writer produced (its terms, between two of this writer's
    /// terms): the caller shifts those terms' offsets by `contentCounts` taken before.
    public mutating func appendContent(docs d: [UInt8], positions p: [UInt8]) {
        precondition(!termOpen, "finishTerm() first")
        docs.append(d)
        positions.append(p)
    }

    /// What is buffered and not drained, without the footer: for a writer whose content
    /// another one appends (`appendContent`). Its header bytes are the first
    /// `headerCounts` of everything it wrote.
    public consuming func unframedRest() -> (docs: [UInt8], positions: [UInt8]) {
        precondition(!termOpen, "finishTerm() first")
        return (docs.bytes, positions.bytes)
    }

    /// The header bytes at the start of each file.
    public var headerCounts: (docs: Int, positions: Int) { (docsStart, positionsStart) }

    /// The two complete files (the rest of them, after what was drained): content, footer.
    public consuming func finish() -> (docs: [UInt8], positions: [UInt8]) {
        FileFraming.finish(&docs)
        FileFraming.finish(&positions)
        return (docs.bytes, positions.bytes)
    }
}
