import CPrefetch
import IndexFormat
#if canImport(Glibc)
import Glibc
#endif
import MailsiftCore

/// The in-memory part of a segment being written: an inverted index per field, stored text and
/// document values, flushed to immutable files when the RAM budget is reached or on commit.
///
/// Each term's postings so far are two byte streams in a `ByteSlicePool`: docs (per finished
/// doc: varint(doc gap << 1 | freq == 1), then varint(freq - 2) when freq > 1) and positions
/// (varint deltas, restarting at each doc), plus a 32-byte state. The current doc of a term
/// is written to its docs stream when the next one starts (its freq is known then) or at flush.
struct SegmentBuilder {
    struct TermState {
        var docStart: UInt32
        var docUpto: UInt32
        var positionStart: UInt32
        var positionUpto: UInt32
        /// The doc being collected and its freq so far; the last doc written to the stream.
        var doc: UInt32
        var freq: UInt32
        var lastPosition: UInt32
        var lastWrittenDoc: UInt32  // + 1; 0 before the first
    }

    private var table = TermTable()
    private var hashes: [UInt64] = []
    /// Positions that arrived below their term's last position in the same doc (stacked
    /// tokens can: an address's parts come after the address, at its positions), by slot.
    /// Rare; merged into the term's postings at flush.
    private var latePositions: [Int32: [(doc: UInt32, position: UInt32)]] = [:]
    private var states: [TermState] = []
    private var pool = ByteSlicePool()
    private var stored: StoredFieldsWriter
    private var values = DocValuesWriter(columns: DocumentValues.columns)
    private(set) var documentCount: UInt32 = 0
    private var storedBytes = 0
    /// Stored text drained from its writer in 1 MiB pieces (one growing array would reserve up
    /// to twice its size).
    private var storedChunks: [[UInt8]] = []
    private var storedChunkBytes = 0
    private(set) var ids: [Int64] = []

    init(storedCompressionLevel: Int32 = 0) {
        stored = StoredFieldsWriter(compressionLevel: storedCompressionLevel, headFields: Self.storedHeadFields)
    }

    /// Stored in the blocks' head parts: the short fields a results page shows (sender,
    /// subject) and the address fields substring search checks.
    static let storedHeadFields: Set<UInt8> = Set([Field.from, .to, .cc, .bcc, .subject].map(\.rawValue))

    /// Bytes held, for the RAM budget: the pool, the term table and states, stored text (its
    /// compressed blocks and the block being filled), values and ids.
    var estimatedBytes: Int {
        pool.bytesHeld + table.bytesHeld + states.capacity * MemoryLayout<TermState>.stride
            + storedBytes + ids.capacity * 8 + values.bytesHeld
    }

    mutating func add(_ doc: IndexDocument) {
        let local = documentCount
        // The states and the pool as locals for the loops below (no access through self per
        // token: that retained and released them around every closure call).
        var st: [TermState] = []
        swap(&st, &states)
        let pool = self.pool
        defer { swap(&st, &states) }
        for field in doc.fields {
            let f = field.keyByte
            // Hashes first, so the lookup loop can prefetch the bucket of a term a few tokens
            // ahead: the table is far larger than the caches and its probes are the indexer's
            // largest single cost.
            let list = field.terms
            let n = list.count
            // The hash buffer is taken out of self while the loop mutates the rest of it.
            var h: [UInt64] = []
            swap(&h, &hashes)
            if h.count < n { h = [UInt64](repeating: 0, count: max(n, 2 * h.count)) }
            defer { swap(&h, &hashes) }
            h.withUnsafeMutableBufferPointer { hb in
            list.bytes.withUnsafeBufferPointer { all in
            list.ends.withUnsafeBufferPointer { ends in
            list.positions.withUnsafeBufferPointer { positions in
                var start = 0
                for i in 0..<n {
                    let end = Int(ends[i])
                    hb[i] = table.hash(f, UnsafeBufferPointer(rebasing: all[start..<end]))
                    start = end
                }
                let ahead = 6
                start = 0
                for i in 0..<n {
                    if i + ahead < n { table.prefetch(hb[i + ahead]) }
                    let end = Int(ends[i])
                    let bytes = UnsafeBufferPointer(rebasing: all[start..<end])
                    start = end
                    guard !bytes.isEmpty, bytes.count <= 255 else { continue }
                    let position = positions[i]
                    let (slot, inserted) = table.findOrInsert(field: f, key: bytes, hash: hb[i])
                    if inserted {
                        let d = pool.newStream(), p = pool.newStream()
                        var state = TermState(docStart: d, docUpto: d, positionStart: p, positionUpto: p,
                                              doc: local, freq: 1, lastPosition: position, lastWrittenDoc: 0)
                        pool.appendVarint(position, &state.positionUpto)
                        st.append(state)
                        continue
                    }
                    let late = Self.add(&st[Int(slot)], doc: local, position: position, pool: pool)
                    if late { latePositions[slot, default: []].append((local, position)) }
                }
            }
            }
            }
            }
        }
        let text = doc.stored.map { (UInt8($0.field.rawValue), $0.text) }
        _ = stored.add(document: text)
        if stored.bufferedBytes >= SegmentOutput.chunkSize {
            let chunk = stored.drain()
            storedChunkBytes += chunk.count
            storedChunks.append(chunk)
        }
        storedBytes = stored.bytesHeld + storedChunkBytes
        values.add(doc.values.row)
        ids.append(doc.id)
        documentCount += 1
    }

    /// Adds a posting; returns true when the position is below the term's last one in this
    /// doc (the caller keeps it aside, merged in at flush).
    @inline(__always)
    private static func add(_ s: inout TermState, doc: UInt32, position: UInt32, pool: ByteSlicePool) -> Bool {
        if s.doc != doc {
            writeDoc(&s, pool: pool)
            s.doc = doc
            s.freq = 1
            s.lastPosition = position
            pool.appendVarint(position, &s.positionUpto)
            return false
        }
        // Same term at the same position twice (a folded variant equal to the term): once.
        if position == s.lastPosition { return false }
        if position < s.lastPosition { return true }
        s.freq += 1
        pool.appendVarint(position - s.lastPosition, &s.positionUpto)
        s.lastPosition = position
        return false
    }

    /// Writes the term's current doc (and its freq) to its docs stream.
    @inline(__always)
    private static func writeDoc(_ s: inout TermState, pool: ByteSlicePool) {
        let gap = s.doc + 1 - s.lastWrittenDoc
        pool.appendVarint(gap << 1 | (s.freq == 1 ? 1 : 0), &s.docUpto)
        if s.freq != 1 { pool.appendVarint(s.freq - 2, &s.docUpto) }
        s.lastWrittenDoc = s.doc + 1
    }

    /// Writes the segment's files into `out`, a term at a time, the codecs' buffers drained to
    /// disk every `SegmentOutput.chunkSize`, so a flush needs little beyond what the buffer
    /// already holds. The builder is spent afterwards.
    mutating func write(to out: SegmentOutput) throws(MailsiftError) {
        var postings = PostingsWriter()
        postings.riceBlocks = false  // merges Rice-code positions; a flush stays fast
        var dictionary = TermDictionaryWriter()
        let order = sortedSlots()
        var key: [UInt8] = []
        var deltaBuffer = [UInt32](repeating: 0, count: 256)
        var merged: [UInt32] = []
        // Slots in key order are all over memory: each term's state, key and pool slices are
        // asked for a few terms ahead (the states 8 ahead, the slices they point to 4 ahead).
        for (i, slot) in order.enumerated() {
            if i + 8 < order.count {
                states.withUnsafeBufferPointer { b in
                    if let base = b.baseAddress { ms_prefetch(UnsafeRawPointer(base + Int(order[i + 8]))) }
                }
            }
            if i + 4 < order.count {
                let ahead = states[Int(order[i + 4])]
                table.prefetchKey(Int(order[i + 4]))
                pool.prefetch(ahead.docStart)
                pool.prefetch(ahead.positionStart)
            }
            let k = table.key(Int(slot))
            key.removeAll(keepingCapacity: true)
            key.append(k.field)
            key += table.arena[k.bytes]
            var s = states[Int(slot)]
            Self.writeDoc(&s, pool: pool)
            var d = ByteSlicePool.Reader(pool: pool, start: s.docStart, end: s.docUpto)
            var p = ByteSlicePool.Reader(pool: pool, start: s.positionStart, end: s.positionUpto)
            // Positions that arrived out of order (rare), by doc, merged into their docs below.
            let late = latePositions[slot].map { $0.sorted { ($0.doc, $0.position) < ($1.doc, $1.position) } } ?? []
            var nextLate = 0
            var doc: UInt32 = 0
            postings.startTerm()
            do {
                // Each doc goes to the writer as it is read, its positions as the deltas the
                // pool holds (restarting at each doc).
                while !d.atEnd {
                    let v = d.varint()
                    doc = doc &+ (v >> 1)  // gap from the previous doc + 1 (docs are written + 1)
                    let freq = Int(v & 1 == 1 ? 1 : d.varint() &+ 2)
                    // A buffer that only grows (a freq is at most the builder's own count of a
                    // term's positions in one doc).
                    if deltaBuffer.count < freq { deltaBuffer = [UInt32](repeating: 0, count: max(freq, 2 * deltaBuffer.count)) }
                    while nextLate < late.count, late[nextLate].doc < doc &- 1 { nextLate += 1 }
                    if nextLate < late.count, late[nextLate].doc == doc &- 1 {
                        var position: UInt32 = 0
                        merged.removeAll(keepingCapacity: true)
                        for _ in 0..<freq {
                            position = position &+ p.varint()
                            merged.append(position)
                        }
                        while nextLate < late.count, late[nextLate].doc == doc &- 1 {
                            Self.insert(late[nextLate].position, into: &merged)
                            nextLate += 1
                        }
                        try merged.withUnsafeBufferPointer { positions throws(PostingsInputError) in
                            try postings.addDoc(doc &- 1, positions: positions)
                        }
                        continue
                    }
                    try deltaBuffer.withUnsafeMutableBufferPointer { buf throws(PostingsInputError) in
                        for k in 0..<freq { buf[k] = p.varint() }
                        try postings.addDoc(doc &- 1, deltas: UnsafeBufferPointer(rebasing: buf[0..<freq]))
                    }
                }
                try dictionary.add(key, try postings.finishTerm())
            } catch {
                throw MailsiftError(.corrupt, "building segment \(out.name): \(error)")
            }
            try out.drainIfFull(&postings, &dictionary)
        }
        try out.finish(postings, &dictionary)
        for chunk in storedChunks { try out.write(3, chunk) }
        storedChunks = []
        try out.write(3, stored.finish())
        try out.write(4, values.finish())
    }

    /// Puts a late position into its doc's sorted positions, unless already there.
    static func insert(_ position: UInt32, into positions: inout [UInt32]) {
        var i = 0
        while i < positions.count, positions[i] < position { i += 1 }
        if i < positions.count, positions[i] == position { return }
        positions.insert(position, at: i)
    }

    /// Frees the term table, postings and stored text after `write` (the ids and the
    /// document count stay), so a segment written on its own thread gives its memory back
    /// before the writer's thread takes its result.
    mutating func releasePostings() {
        table = TermTable(capacity: 1)
        hashes = []
        latePositions = [:]
        states = []
        pool = ByteSlicePool()
        storedChunks = []
        stored = StoredFieldsWriter(compressionLevel: 0, headFields: [])
        values = DocValuesWriter(columns: DocumentValues.columns)
    }

    /// Slots in key order (field byte, then term bytes).
    private func sortedSlots() -> [Int32] {
        do {
            let arena = table.arena
            guard let base = arena.baseAddress else { return (0..<Int32(table.count)).map { $0 } }
            let offsets = table.offsets
            // Sort (prefix, slot) pairs: the field byte and the first 7 term bytes, big-endian,
            // settle almost every comparison without touching the arena; equal prefixes fall
            // back to the bytes.
            var keyed: [(prefix: UInt64, slot: Int32)] = []
            keyed.reserveCapacity(table.count)
            for slot in 0..<table.count {
                let p = base + Int(offsets[slot])
                let length = Int(p[1]) | Int(p[2]) << 8
                var prefix = UInt64(p[0]) << 56
                for i in 0..<min(7, length) { prefix |= UInt64(p[3 + i]) << UInt64(48 - 8 * i) }
                keyed.append((prefix, Int32(slot)))
            }
            keyed.sort { (x, y) -> Bool in
                if x.prefix != y.prefix { return x.prefix < y.prefix }
                let pa = base + Int(offsets[Int(x.slot)]), pb = base + Int(offsets[Int(y.slot)])
                let la = Int(pa[1]) | Int(pa[2]) << 8, lb = Int(pb[1]) | Int(pb[2]) << 8
                let c = memcmp(pa + 3, pb + 3, Swift.min(la, lb))
                return c != 0 ? c < 0 : la < lb
            }
            return keyed.map(\.slot)
        }
    }
}
