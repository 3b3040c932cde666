/// Reads the postings and positions files written by `PostingsWriter` without copying them.
///
/// `@unchecked Sendable`: it holds only immutable views of the two files' bytes; the owner
/// (the segment, usually over `mmap`) keeps that memory alive and unchanged while any reader
/// or iterator exists, as for every reader over `UnsafeRawBufferPointer` in this module.
public struct PostingsReader: @unchecked Sendable {
    /// The content of each file (between header and footer), and its offset in the file (for
    /// error offsets).
    public let docs: UnsafeRawBufferPointer
    public let docsBase: Int
    public let positions: UnsafeRawBufferPointer
    public let positionsBase: Int
    /// The positions file's version (Rice-coded blocks from 2 on).
    public let positionsVersion: UInt32

    /// Verifies both files' framing (checksum, kind, version) and reads from their content.
    public init(docs docsFile: UnsafeRawBufferPointer, positions positionsFile: UnsafeRawBufferPointer) throws(IndexFormatError) {
        let v = PostingsFormat.version
        let d = try FileFraming.open(docsFile, format: PostingsFormat.docsFormatName, supported: v...v)
        let p = try FileFraming.open(positionsFile, format: PostingsFormat.positionsFormatName, supported: PostingsFormat.positionsVersions)
        self.init(unverifiedDocs: UnsafeRawBufferPointer(rebasing: docsFile[d.content]), docsBase: d.content.lowerBound,
                  positions: UnsafeRawBufferPointer(rebasing: positionsFile[p.content]), positionsBase: p.content.lowerBound,
                  positionsVersion: p.version)
    }

    /// Reads content whose framing was checked elsewhere (or not at all: every read is still
    /// bounds-checked and bad bytes throw `corrupt`; only wrong-but-plausible results slip by).
    public init(unverifiedDocs docs: UnsafeRawBufferPointer, docsBase: Int = 0,
                positions: UnsafeRawBufferPointer, positionsBase: Int = 0,
                positionsVersion: UInt32 = PostingsFormat.positionsVersion) {
        self.docs = docs
        self.docsBase = docsBase
        self.positions = positions
        self.positionsBase = positionsBase
        self.positionsVersion = positionsVersion
    }

    public func iterator(_ info: TermPostingsInfo) throws(IndexFormatError) -> PostingsIterator {
        try PostingsIterator(reader: self, info: info)
    }

    /// The doc IDs of a list shorter than one packed block (fewer than 128 docs: the singleton
    /// in the term info, or the varint tail), each passed to `body` in increasing order,
    /// without building an iterator; nil for a longer list (the caller iterates). A substring
    /// key can match thousands of rare terms, and setting up an iterator for each cost more
    /// than its few postings. Checked as the iterator checks them.
    public func shortListDocs(_ info: TermPostingsInfo, _ body: (UInt32) -> Void) throws(IndexFormatError) -> Bool {
        guard info.docFreq < 128 else { return false }
        guard info.docFreq >= 1, info.totalTermFreq >= UInt64(info.docFreq),
              info.totalTermFreq <= UInt64(info.docFreq) * UInt64(PostingsFormat.maxFreq) else {
            throw IndexFormatError(.corrupt, "term info: docFreq \(info.docFreq), totalTermFreq \(info.totalTermFreq)", offset: nil)
        }
        if info.docFreq == 1 {
            guard info.docsOffset <= UInt64(PostingsFormat.maxDocID), info.totalTermFreq <= UInt64(PostingsFormat.maxFreq) else {
                throw IndexFormatError(.corrupt, "singleton term info out of range", offset: nil)
            }
            body(UInt32(info.docsOffset))
            return true
        }
        guard info.docsOffset <= UInt64(docs.count) else {
            throw IndexFormatError(.corrupt, "term postings offset \(info.docsOffset) beyond the postings file", offset: docsBase + docs.count)
        }
        var r = ByteReader(docs, offset: Int(info.docsOffset), base: docsBase)
        var floor: UInt64 = 0
        for _ in 0..<Int(info.docFreq) {
            let at = r.offset
            let code = try r.varint()
            let (d, o) = floor.addingReportingOverflow(code >> 1)
            guard !o, d <= UInt64(PostingsFormat.maxDocID) else {
                throw IndexFormatError(.corrupt, "postings: doc ID out of range", offset: docsBase + at)
            }
            if code & 1 == 0 {
                let extra = try r.varint()
                guard extra <= UInt64(PostingsFormat.maxFreq - 2) else {
                    throw IndexFormatError(.corrupt, "postings: freq out of range", offset: docsBase + at)
                }
            }
            body(UInt32(d))
            floor = d + 1
        }
        return true
    }

    /// An iterator that takes its decoding buffers from `spare` (an iterator done with, from
    /// any reader; left without them), so walking many terms one after another allocates
    /// nothing per term. Merges walk every term of every input this way.
    public func iterator(_ info: TermPostingsInfo, recycling spare: inout PostingsIterator.Buffers) throws(IndexFormatError) -> PostingsIterator {
        try PostingsIterator(reader: self, info: info, buffers: &spare)
    }

    /// Doc IDs present in every iterator (leapfrog: each iterator in turn advances to the
    /// current candidate; a doc beyond it becomes the new candidate). The rarest list leads.
    /// Iterators are consumed (left at or near their end); empty input gives `[]`.
    public static func intersect(_ iterators: inout [PostingsIterator]) throws(IndexFormatError) -> [UInt32] {
        guard !iterators.isEmpty else { return [] }
        let order = iterators.indices.sorted { iterators[$0].docFreq < iterators[$1].docFreq }
        let lead = order[0]
        let others = order.dropFirst()
        var result: [UInt32] = []
        var candidate = iterators[lead].doc
        outer: while candidate != PostingsIterator.noMoreDocs {
            for j in others {
                let d = try iterators[j].advance(to: candidate)
                if d > candidate {
                    // d is noMoreDocs at the end of any list, which ends the loop.
                    candidate = try iterators[lead].advance(to: d)
                    continue outer
                }
            }
            result.append(candidate)
            candidate = try iterators[lead].next()
        }
        return result
    }
}

/// One term's postings, positioned on its first doc when created (like tantivy's DocSet):
/// `doc` is the current doc, or `noMoreDocs` after the last.
///
/// Docs are decoded a block of 128 at a time into a buffer; freqs of a packed block only when
/// `freq` or `positions()` is first asked for on it; positions only by `positions()`, skipping
/// (by block where possible) the positions of docs passed over.
public struct PostingsIterator {
    public static let noMoreDocs = UInt32.max

    /// The current doc, or `noMoreDocs`.
    public var doc: UInt32 { _doc }
    @usableFromInline var _doc: UInt32 = PostingsIterator.noMoreDocs
    public let docFreq: UInt32
    public let totalTermFreq: UInt64

    // Decoded docs (and freqs) of the current block; `upto` indexes the current doc.
    @usableFromInline var docBuf: [UInt32]
    @usableFromInline var freqBuf: [UInt32]
    @usableFromInline var count = 0
    @usableFromInline var upto = 0
    // Packed freqs of the current block not yet decoded (lazy: conjunctions rarely need them).
    @usableFromInline var freqsPending = false
    var freqFP = 0
    var freqWidth = 0

    let docs: UnsafeRawBufferPointer
    let docsBase: Int
    let posData: UnsafeRawBufferPointer
    let positionsBase: Int
    let riceAllowed: Bool

    let nBlocks: Int
    let tailCount: Int
    /// Next doc block to load: 0..<nBlocks packed, nBlocks the tail, beyond: exhausted.
    var nextBlock = 0
    var skipFP = 0
    var skipEnd = 0
    var blockFP = 0
    /// Previous doc + 1 before block `nextBlock` (0 before the first).
    var floor: UInt64 = 0
    /// Position index (count of positions of earlier docs) and positions block offset at the
    /// start of block `nextBlock`, and of the current block.
    var posIndexNext: UInt64 = 0
    var posFPNext = 0
    var curPosIndex: UInt64 = 0
    var curPosFP = 0

    // The skip entry of block `nextBlock`, once read.
    var peeked = false
    var eLastDoc: UInt64 = 0
    var eDocWidth = 0
    var eFreqWidth = 0
    var eFreqSum: UInt64 = 0
    var ePosDelta = 0
    var eEnd = 0

    // Positions decoding state: `pBuf[0..<pCount]` holds position deltas with indexes
    // `pStart..<pStart + pCount`; the next undecoded positions block starts at byte `pFP` with
    // index `pNext`.
    var pBuf: [UInt32] = []
    var pStart: UInt64 = 0
    var pCount = 0
    var pNext: UInt64 = 0
    var pFP = 0
    var pValid = false
    // Running sum of the current block's freqs before doc `fsumCount` (for positions()).
    var fsumCount = 0
    var fsumValue: UInt64 = 0
    var fsumEpoch = 0
    /// Counts block loads, so a cached sum is never reused for another block.
    var blockEpoch = 0
    let posTermStart: Int

    /// Decoding buffers handed from one iterator to the next (`PostingsReader.iterator(_:recycling:)`).
    public struct Buffers {
        var docBuf: [UInt32] = []
        var freqBuf: [UInt32] = []
        var pBuf: [UInt32] = []
        public init() {}
    }

    /// Gives this iterator's buffers to `spare` (the iterator must not be used afterwards).
    public mutating func recycle(into spare: inout Buffers) {
        swap(&spare.docBuf, &docBuf)
        swap(&spare.freqBuf, &freqBuf)
        swap(&spare.pBuf, &pBuf)
    }

    init(reader: PostingsReader, info: TermPostingsInfo) throws(IndexFormatError) {
        var none = Buffers()
        try self.init(reader: reader, info: info, buffers: &none)
    }

    init(reader: PostingsReader, info: TermPostingsInfo, buffers: inout Buffers) throws(IndexFormatError) {
        docs = reader.docs
        docsBase = reader.docsBase
        posData = reader.positions
        positionsBase = reader.positionsBase
        riceAllowed = reader.positionsVersion >= 2
        docFreq = info.docFreq
        totalTermFreq = info.totalTermFreq
        // ttf ≤ docFreq × maxFreq also keeps every position index sum far from overflow.
        guard info.docFreq >= 1, info.totalTermFreq >= UInt64(info.docFreq),
              info.totalTermFreq <= UInt64(info.docFreq) * UInt64(PostingsFormat.maxFreq) else {
            throw IndexFormatError(.corrupt, "term info: docFreq \(info.docFreq), totalTermFreq \(info.totalTermFreq)", offset: nil)
        }
        guard info.positionsOffset <= UInt64(reader.positions.count) else {
            throw IndexFormatError(.corrupt, "term positions offset \(info.positionsOffset) beyond the positions file", offset: reader.positionsBase + reader.positions.count)
        }
        posTermStart = Int(info.positionsOffset)
        if buffers.docBuf.count == 128, buffers.freqBuf.count == 128 {
            docBuf = []
            freqBuf = []
            swap(&docBuf, &buffers.docBuf)
            swap(&freqBuf, &buffers.freqBuf)
            swap(&pBuf, &buffers.pBuf)
        } else {
            docBuf = [UInt32](repeating: 0, count: 128)
            freqBuf = [UInt32](repeating: 0, count: 128)
        }
        if info.docFreq == 1 {
            guard info.docsOffset <= UInt64(PostingsFormat.maxDocID), info.totalTermFreq <= UInt64(PostingsFormat.maxFreq) else {
                throw IndexFormatError(.corrupt, "singleton term info out of range", offset: nil)
            }
            nBlocks = 0
            tailCount = 0
            nextBlock = 1
            docBuf[0] = UInt32(info.docsOffset)
            freqBuf[0] = UInt32(info.totalTermFreq)
            count = 1
            curPosFP = posTermStart
            _doc = docBuf[0]
            return
        }
        guard info.docsOffset <= UInt64(reader.docs.count) else {
            throw IndexFormatError(.corrupt, "term postings offset \(info.docsOffset) beyond the postings file", offset: reader.docsBase + reader.docs.count)
        }
        nBlocks = Int(info.docFreq / 128)
        tailCount = Int(info.docFreq % 128)
        posFPNext = posTermStart
        if nBlocks > 0 {
            var r = ByteReader(reader.docs, offset: Int(info.docsOffset), base: reader.docsBase)
            let skipLength = try r.length(limit: r.remaining)
            skipFP = r.offset
            skipEnd = r.offset + skipLength
            blockFP = skipEnd
        } else {
            blockFP = Int(info.docsOffset)
        }
        _ = try nextSlow()
    }

    // MARK: Errors

    func corrupt(_ message: String, docs at: Int) -> IndexFormatError {
        IndexFormatError(.corrupt, "postings: " + message, offset: docsBase + at)
    }

    func corrupt(_ message: String, positions at: Int) -> IndexFormatError {
        IndexFormatError(.corrupt, "positions: " + message, offset: positionsBase + at)
    }

    // MARK: Docs

    /// Moves to the next doc and returns it (`noMoreDocs` at the end, and after).
    @inlinable
    public mutating func next() throws(IndexFormatError) -> UInt32 {
        let u = upto &+ 1  // upto < 128
        if u < count {
            upto = u
            let d = docBuf[u]
            _doc = d
            return d
        }
        return try nextSlow()
    }

    @usableFromInline
    mutating func nextSlow() throws(IndexFormatError) -> UInt32 {
        guard try loadBlock() else {
            _doc = Self.noMoreDocs
            count = 0
            upto = 0
            return doc
        }
        upto = 0
        _doc = docBuf[0]
        return doc
    }

    /// Moves to the first doc ≥ `target` and returns it; stays put if the current doc already
    /// is ≥ `target`. Whole blocks whose last doc is below `target` are passed by their skip
    /// entries alone, without touching their packed bytes.
    public mutating func advance(to target: UInt32) throws(IndexFormatError) -> UInt32 {
        if doc >= target { return doc }
        var i = upto + 1
        while true {
            if count > 0, docBuf[count - 1] >= target {
                while docBuf[i] < target { i += 1 }  // stops at count - 1 at the latest
                upto = i
                _doc = docBuf[i]
                return doc
            }
            while nextBlock < nBlocks {
                try readSkipEntry()
                if eLastDoc >= UInt64(target) { break }
                try passBlock()
            }
            guard try loadBlock() else {
                _doc = Self.noMoreDocs
                count = 0
                upto = 0
                return doc
            }
            i = 0
        }
    }

    /// Copies the current doc and the rest of its decoded block (at most `out.count` docs,
    /// at most 128) into `out`, moves past them, and returns how many were copied (0 at the
    /// end). The bulk path for callers that want doc IDs only: no per-doc call.
    public mutating func nextBlock(into out: UnsafeMutableBufferPointer<UInt32>) throws(IndexFormatError) -> Int {
        try nextBlock(into: out, freqs: nil)
    }

    /// Like `nextBlock(into:)`, with each doc's term frequency in `freqs` (decoded only when
    /// asked for).
    public mutating func nextBlock(into out: UnsafeMutableBufferPointer<UInt32>, freqs: UnsafeMutableBufferPointer<UInt32>?) throws(IndexFormatError) -> Int {
        guard doc != Self.noMoreDocs, let o = out.baseAddress else { return 0 }
        var n = min(out.count, count - upto)
        if let freqs {
            guard let f = freqs.baseAddress else { return 0 }
            n = min(n, freqs.count)
            if freqsPending { decodeFreqs() }
            freqBuf.withUnsafeBufferPointer { b in
                if let s = b.baseAddress { f.update(from: s + upto, count: n) }
            }
        }
        docBuf.withUnsafeBufferPointer { b in
            if let s = b.baseAddress { o.update(from: s + upto, count: n) }
        }
        upto += n
        if upto < count {
            _doc = docBuf[upto]
        } else {
            _ = try nextSlow()
        }
        return n
    }

    /// The current doc's term frequency (0 at the end).
    @inlinable
    public var freq: UInt32 {
        mutating get {
            guard doc != Self.noMoreDocs else { return 0 }
            if freqsPending { decodeFreqs() }
            return freqBuf[upto]
        }
    }

    /// Reads (not decodes) the skip entry of block `nextBlock`.
    mutating func readSkipEntry() throws(IndexFormatError) {
        if peeked { return }
        var r = ByteReader(docs, offset: skipFP, base: docsBase)
        let lastDelta = try r.varint()
        let dw = Int(try r.u8())
        let fw = Int(try r.u8())
        let freqExtra = try r.varint()
        let posDelta = try r.varint()
        guard r.offset <= skipEnd else { throw corrupt("skip entry runs past the skip data", docs: skipFP) }
        let (last, o1) = floor.addingReportingOverflow(lastDelta)
        guard !o1, last >= floor &+ 127, last <= UInt64(PostingsFormat.maxDocID) else {
            throw corrupt("skip entry last doc out of range", docs: skipFP)
        }
        guard dw <= 32, fw <= 31 else { throw corrupt("bit widths \(dw)/\(fw) out of range", docs: skipFP) }
        let (fs, o2) = freqExtra.addingReportingOverflow(128)
        guard !o2, posDelta <= UInt64(posData.count) else { throw corrupt("skip entry sums out of range", docs: skipFP) }
        eLastDoc = last
        eDocWidth = dw
        eFreqWidth = fw
        eFreqSum = fs
        ePosDelta = Int(posDelta)
        eEnd = r.offset
        peeked = true
    }

    /// Moves the block cursor past block `nextBlock` using its (read) skip entry.
    mutating func passBlock() throws(IndexFormatError) {
        let (pi, o1) = posIndexNext.addingReportingOverflow(eFreqSum)
        let (pf, o2) = posFPNext.addingReportingOverflow(ePosDelta)  // both ≤ posData.count
        guard !o1, !o2, pi <= totalTermFreq else { throw corrupt("skip entry freq sum exceeds totalTermFreq", docs: skipFP) }
        blockFP += BitPacking.byteCount(width: eDocWidth + eFreqWidth)  // ≤ 1008 per block, and
        // blockFP ≤ docs.count + 1008 × blocks passed: no overflow; bounds are checked on load.
        floor = eLastDoc + 1
        posIndexNext = pi
        posFPNext = pf
        skipFP = eEnd
        nextBlock += 1
        peeked = false
    }

    /// Decodes the next block into the buffers; false when the list is exhausted.
    mutating func loadBlock() throws(IndexFormatError) -> Bool {
        if nextBlock < nBlocks {
            try readSkipEntry()
            let docBytes = BitPacking.byteCount(width: eDocWidth)
            let freqBytes = BitPacking.byteCount(width: eFreqWidth)
            guard blockFP <= docs.count, docBytes + freqBytes <= docs.count - blockFP, let base = docs.baseAddress else {
                throw corrupt("packed block runs past the end of the file", docs: blockFP)
            }
            let start = floor
            let fp = blockFP
            let end = docBuf.withUnsafeMutableBufferPointer { b -> UInt64 in
                guard let o = b.baseAddress else { return .max }
                BitPacking.unpack(width: eDocWidth, from: base + fp, into: o)
                return BitPacking.prefixSum(o, count: 128, floor: start)
            }
            // Checking the last doc against the skip entry also rejects overflowed (and so
            // non-increasing) doc IDs.
            guard end == eLastDoc + 1 else { throw corrupt("block's last doc disagrees with its skip entry", docs: blockFP) }
            blockEpoch &+= 1
            freqFP = blockFP + docBytes
            freqWidth = eFreqWidth
            freqsPending = true
            curPosIndex = posIndexNext
            curPosFP = posFPNext
            count = 128
            try passBlock()
            return true
        }
        if nextBlock == nBlocks, tailCount > 0 {
            var r = ByteReader(docs, offset: blockFP, base: docsBase)
            var f = floor
            for i in 0..<tailCount {
                let at = r.offset
                let code = try r.varint()
                let (d, o) = f.addingReportingOverflow(code >> 1)
                guard !o, d <= UInt64(PostingsFormat.maxDocID) else { throw corrupt("doc ID out of range", docs: at) }
                var fr: UInt64 = 1
                if code & 1 == 0 {
                    let extra = try r.varint()
                    guard extra <= UInt64(PostingsFormat.maxFreq - 2) else { throw corrupt("freq out of range", docs: at) }
                    fr = extra + 2
                }
                docBuf[i] = UInt32(d)
                freqBuf[i] = UInt32(fr)
                f = d + 1
            }
            floor = f
            blockEpoch &+= 1
            freqsPending = false
            curPosIndex = posIndexNext
            curPosFP = posFPNext
            count = tailCount
            nextBlock += 1
            return true
        }
        nextBlock = nBlocks + 1
        return false
    }

    /// Freq bytes were bounds-checked and the width validated when the block was loaded.
    @usableFromInline
    mutating func decodeFreqs() {
        let fp = freqFP
        let width = freqWidth
        let docs = self.docs
        freqBuf.withUnsafeMutableBufferPointer { b in
            guard let o = b.baseAddress else { return }
            if let base = docs.baseAddress, width > 0 {
                BitPacking.unpack(width: width, from: base + fp, into: o)
            } else {
                o.update(repeating: 0, count: 128)
            }
            for i in 0..<128 { o[i] &+= 1 }  // width ≤ 31: no overflow
        }
        freqsPending = false
    }

    // MARK: Positions

    /// Positions of the current doc (empty at the end).
    public mutating func positions() throws(IndexFormatError) -> [UInt32] {
        var out: [UInt32] = []
        try positions(into: &out)
        return out
    }

    /// Replaces `out` with the positions of the current doc, reusing its storage.
    ///
    /// Memory: a corrupt freq can claim at most as many positions as the positions file can
    /// encode (128 per byte), and values are appended as decoded, never reserved up front.
    public mutating func positions(into out: inout [UInt32]) throws(IndexFormatError) {
        try positions(into: &out, deltas: false)
    }

    /// The current doc's positions as stored: each one's distance from the one before (the
    /// first from 0), for a merge that copies them (`PostingsWriter.addDoc(_:deltas:)`) without
    /// summing and differencing them again. The same checks as `positions(into:)`.
    public mutating func positionDeltas(into out: inout [UInt32]) throws(IndexFormatError) {
        try positions(into: &out, deltas: true)
    }

    /// The bulk form of `positionDeltas` for a merge: copies the current doc and the rest of
    /// its decoded block (at most 128 docs) into `docs` and `freqs`, and all their positions
    /// as stored deltas (each doc's restarting from 0), concatenated, into `deltas`; moves
    /// past them. The arrays grow as needed and never shrink (their contents past the counts
    /// returned are unspecified). Returns how many docs and positions were copied, (0, 0) at
    /// the end. The same checks as `positionDeltas(into:)`, with no per-doc call.
    ///
    /// Memory: `deltas` grows to the docs' claimed freqs only after checking that they fit
    /// in the term's totalTermFreq, itself bounded by what the positions file can encode.
    public mutating func nextDocs(docs: inout [UInt32], freqs: inout [UInt32], deltas: inout [UInt32]) throws(IndexFormatError) -> (docs: Int, positions: Int) {
        guard doc != Self.noMoreDocs else { return (0, 0) }
        if freqsPending { decodeFreqs() }
        let first = upto, end = count  // ≤ 128
        let n = end - first
        if docs.count < n { docs = [UInt32](repeating: 0, count: 128) }
        if freqs.count < n { freqs = [UInt32](repeating: 0, count: 128) }
        var total: UInt64 = 0
        for j in first..<end { total += UInt64(freqBuf[j]) }  // ≤ 128 × 2^31: fits
        var target = positionIndex(ofDoc: first)
        guard target <= totalTermFreq, total <= totalTermFreq - target, total <= UInt64(posData.count) * 128 else {
            throw corrupt("docs' positions run past the term's totalTermFreq", positions: curPosFP)
        }
        let positionCount = Int(total)
        if deltas.count < positionCount { deltas = [UInt32](repeating: 0, count: max(positionCount, 2 * deltas.count)) }
        for j in first..<end {
            docs[j - first] = docBuf[j]
            freqs[j - first] = freqBuf[j]
        }
        try seekPositions(to: target)
        var written = 0
        for j in first..<end {
            try readDeltas(from: &target, count: Int(freqBuf[j])) { stretch in
                let w = written
                deltas.withUnsafeMutableBufferPointer { out in
                    for (k, v) in stretch.enumerated() { out[w + k] = v }
                }
                written += stretch.count
            }
        }
        upto = end - 1
        _ = try nextSlow()
        return (n, positionCount)
    }

    private mutating func positions(into out: inout [UInt32], deltas: Bool) throws(IndexFormatError) {
        out.removeAll(keepingCapacity: true)
        guard doc != Self.noMoreDocs else { return }
        if freqsPending { decodeFreqs() }
        var target = positionIndex(ofDoc: upto)
        let f = UInt64(freqBuf[upto])
        guard target <= totalTermFreq, f <= totalTermFreq - target else {
            throw corrupt("doc's positions run past the term's totalTermFreq", positions: curPosFP)
        }
        try seekPositions(to: target)
        var acc: UInt32 = 0  // the sum is checked to stay 32-bit
        try readDeltas(from: &target, count: Int(f)) { stretch in
            if deltas {
                out.append(contentsOf: stretch)
            } else {
                for v in stretch {
                    acc &+= v
                    out.append(acc)
                }
            }
        }
    }

    /// The position index of the current block's doc `index`: the running freq sum of this
    /// block, continued (linear per block, not per doc) unless the cursor is behind it.
    private mutating func positionIndex(ofDoc index: Int) -> UInt64 {
        if fsumCount > index || fsumEpoch != blockEpoch {
            fsumCount = 0
            fsumValue = curPosIndex
            fsumEpoch = blockEpoch
        }
        while fsumCount < index {
            fsumValue += UInt64(freqBuf[fsumCount])  // ≤ ttf (≤ 2^63) + 128 × 2^31
            fsumCount += 1
        }
        return fsumValue
    }

    /// One doc's `count` stored deltas from position index `target` on (after
    /// `seekPositions`), handed to `body` a decoded block's stretch at a time; `target` moves
    /// past them. Throws when the doc's positions would pass 32 bits.
    @inline(__always)
    private mutating func readDeltas(from target: inout UInt64, count: Int,
                                     _ body: (UnsafeBufferPointer<UInt32>) -> Void) throws(IndexFormatError) {
        var remaining = count
        var acc: UInt64 = 0
        while remaining > 0 {
            if pCount == 0 || target >= pNext { try decodePositionsBlock() }
            let from = Int(target - pStart)
            let n = min(remaining, pCount - from)
            try pBuf.withUnsafeBufferPointer { (b) throws(IndexFormatError) in
                let stretch = UnsafeBufferPointer(rebasing: b[from..<(from + n)])
                for v in stretch { acc += UInt64(v) }  // ≤ 2^31 values < 2^32: fits
                guard acc <= UInt64(UInt32.max) else { throw corrupt("position overflows 32 bits", positions: pFP) }
                body(stretch)
            }
            remaining -= n
            target += UInt64(n)
        }
    }

    /// Makes the next decode produce the block holding position index `target`, passing whole
    /// packed blocks by their width byte. Only moves forward, except that it restarts from the
    /// current doc block's first positions block when the cursor is behind that or beyond
    /// `target` (positions asked twice for a doc, or after advance() skipped blocks).
    mutating func seekPositions(to target: UInt64) throws(IndexFormatError) {
        if pValid, pCount > 0, target >= pStart, target < pNext { return }
        let blockStart = curPosIndex - curPosIndex % 128
        if !(pValid && pNext >= blockStart && pNext <= target) {
            pFP = curPosFP
            pNext = blockStart
            pValid = true
        }
        pCount = 0
        let fullEnd = totalTermFreq - totalTermFreq % 128
        // Each pass consumes at least one byte of the file: bounded by its size.
        while pNext + 128 <= target, pNext + 128 <= fullEnd {
            let len = try positionBlockLength(at: pFP).total
            guard len <= posData.count - pFP else { throw corrupt("positions block past the end", positions: pFP) }
            pFP += len
            pNext += 128
        }
    }

    /// A full positions block's size at `at`: (all bytes, header bytes, Rice k or nil).
    func positionBlockLength(at: Int) throws(IndexFormatError) -> (total: Int, header: Int, rice: Int?) {
        guard at < posData.count else { throw corrupt("positions block past the end", positions: at) }
        let first = Int(posData[at])
        if first & 0x80 != 0 {
            let k = first & 0x7F
            guard riceAllowed, k <= 24 else { throw corrupt("positions block kind \(first) unknown", positions: at) }
            var r = ByteReader(posData, offset: at + 1, base: positionsBase)
            let length = try r.length(limit: 512)  // chosen only when under 16 × 32 bytes
            let header = r.offset - at
            return (header + length, header, k)
        }
        guard first <= 32 else { throw corrupt("positions bit width \(first) out of range", positions: at) }
        return (1 + BitPacking.byteCount(width: first), 1, nil)
    }

    /// Decodes the positions block at `pFP` (first index `pNext`) into `pBuf`.
    mutating func decodePositionsBlock() throws(IndexFormatError) {
        let index = pNext
        let fullEnd = totalTermFreq - totalTermFreq % 128
        if pBuf.count != 128 { pBuf = [UInt32](repeating: 0, count: 128) }
        if index + 128 <= fullEnd {
            let (total, header, rice) = try positionBlockLength(at: pFP)
            guard total <= posData.count - pFP else { throw corrupt("positions block past the end", positions: pFP) }
            if let k = rice {
                let bits = UnsafeRawBufferPointer(rebasing: posData[(pFP + header)..<(pFP + total)])
                let ok = pBuf.withUnsafeMutableBufferPointer { b in
                    b.baseAddress.map { RiceCoding.decode(bits, k: k, count: 128, into: $0) } ?? false
                }
                guard ok else { throw corrupt("Rice-coded positions block does not decode to 128 values", positions: pFP) }
            } else {
                try BitPacking.unpack(width: Int(posData[pFP]), from: posData, offset: pFP + 1, base: positionsBase, into: &pBuf)
            }
            pFP += total
            pStart = index
            pCount = 128
        } else {
            guard index < totalTermFreq else { throw corrupt("positions index past the end", positions: pFP) }
            let n = Int(totalTermFreq - index)  // < 128
            var r = ByteReader(posData, offset: pFP, base: positionsBase)
            for k in 0..<n {
                let at = r.offset
                let v = try r.varint()
                guard v <= UInt64(UInt32.max) else { throw corrupt("position delta out of range", positions: at) }
                pBuf[k] = UInt32(v)
            }
            pFP = r.offset
            pStart = index
            pCount = n
        }
        pNext = index + UInt64(pCount)
    }
}
