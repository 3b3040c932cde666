import CPrefetch
import Foundation
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
/// is written to its docs stream when the next one starts (its freq is known then); a flush
/// reads the last one from the state.
struct SegmentBuilder {
    /// 32 bytes, two to a cache line. Where the streams start is kept apart (`starts`): only
    /// the flush reads it.
    struct TermState {
        var docs: ByteSlicePool.Cursor
        var positions: ByteSlicePool.Cursor
        /// The doc being collected and its freq so far; the last doc written to the stream.
        var doc: UInt32
        var freq: UInt32
        var lastPosition: UInt32
        var lastWrittenDoc: UInt32  // + 1; 0 before the first
    }

    /// The terms' states, by slot, in memory of their own: the add loop reads and writes them
    /// through a pointer, without an array's uniqueness and bounds checks per token. (The
    /// slots come from the term table, which hands out each once, in order: always in bounds.)
    final class TermStates: @unchecked Sendable {
        private(set) var base: UnsafeMutablePointer<TermState>
        private(set) var count = 0
        private var capacity: Int

        init(capacity: Int = 1 << 10) {
            self.capacity = max(1, capacity)
            base = .allocate(capacity: self.capacity)
        }

        deinit { base.deallocate() }

        var bytesHeld: Int { capacity * MemoryLayout<TermState>.stride }

        @inline(__always) func append(_ state: TermState) {
            if count == capacity { grow() }
            (base + count).initialize(to: state)
            count += 1
        }

        @inline(never) private func grow() {
            let c = capacity * 2
            let p = UnsafeMutablePointer<TermState>.allocate(capacity: c)
            p.moveInitialize(from: base, count: count)
            base.deallocate()
            base = p
            capacity = c
        }
    }

    private var table = TermTable()
    private var hashes: [UInt64] = []
    /// Positions that arrived below their term's last position in the same doc (stacked
    /// tokens can: an address's parts come after the address, at its positions), by slot.
    /// Rare; merged into the term's postings at flush.
    private var latePositions: [Int32: [(doc: UInt32, position: UInt32)]] = [:]
    private var states = TermStates()
    /// Where a term's docs and positions streams start.
    typealias StreamStarts = (docs: UInt32, positions: UInt32)
    /// Each slot's stream starts, by slot.
    private var starts: [StreamStarts] = []
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
        pool.bytesHeld + table.bytesHeld + states.bytesHeld
            + starts.capacity * MemoryLayout<StreamStarts>.stride
            + storedBytes + ids.capacity * 8 + values.bytesHeld
    }

    mutating func add(_ doc: IndexDocument) {
        let local = documentCount
        // The states and the pool as locals for the loops below (no access through self per
        // token: that retained and released them around every closure call).
        let st = states
        var starts: [StreamStarts] = []
        swap(&starts, &self.starts)
        let pool = self.pool
        defer { swap(&starts, &self.starts) }
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
                        var state = TermState(docs: d, positions: p, doc: local, freq: 1, lastPosition: position, lastWrittenDoc: 0)
                        pool.appendVarint(position, &state.positions)
                        st.append(state)
                        starts.append((d.upto, p.upto))
                        continue
                    }
                    assert(Int(slot) < st.count)
                    let late = Self.add(&st.base[Int(slot)], doc: local, position: position, pool: pool)
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
            pool.appendVarint(position, &s.positions)
            return false
        }
        // Same term at the same position twice (a folded variant equal to the term): once.
        if position == s.lastPosition { return false }
        if position < s.lastPosition { return true }
        s.freq += 1
        pool.appendVarint(position - s.lastPosition, &s.positions)
        s.lastPosition = position
        return false
    }

    /// Writes the term's current doc (and its freq) to its docs stream.
    @inline(__always)
    private static func writeDoc(_ s: inout TermState, pool: ByteSlicePool) {
        let gap = s.doc + 1 - s.lastWrittenDoc
        pool.appendVarint(gap << 1 | (s.freq == 1 ? 1 : 0), &s.docs)
        if s.freq != 1 { pool.appendVarint(s.freq - 2, &s.docs) }
        s.lastWrittenDoc = s.doc + 1
    }

    /// Writes the segment's files into `out`, a term at a time, the codecs' buffers drained to
    /// disk every `SegmentOutput.chunkSize`, so a flush needs little beyond what the buffer
    /// already holds. The builder is spent afterwards.
    ///
    /// With `helpers` (threads besides this one) and a buffer of at least `parallelAbove`
    /// pool bytes, a helper writes the stored text and values (and has them fsync'd) while
    /// this thread sorts the terms, then joins it on the terms: they are cut into chunks in key order
    /// (`TermChunkQueue`), this thread writes the next chunk due straight into the files, and
    /// chunks a helper claimed are written into memory and appended in order. The files are
    /// the same, byte for byte, as one thread writes (a term's encoding never depends on the
    /// terms before it). A flush at the end of a bulk import otherwise runs on one core.
    ///
    /// `riceBlocks`: full positions blocks may be Rice-coded (17% smaller positions on LKML,
    /// for a little CPU). The writer asks for it when it has helpers (bulk imports, whose last
    /// segment may never be merged), for every flush of theirs; the daemon's flushes stay fast
    /// (merges Rice-code positions).
    ///
    /// `helpersFirst` (tests): this thread starts on the terms only once the helpers have
    /// claimed the first chunks, so chunks written into memory are appended for sure.
    mutating func write(to out: SegmentOutput, helpers: Int = 0, riceBlocks: Bool = false,
                        parallelAbove: Int = parallelAbove, chunkTerms: Int? = nil, helpersFirst: Bool = false) throws(MailsiftError) {
        var postings = PostingsWriter()
        postings.riceBlocks = riceBlocks
        var dictionary = TermDictionaryWriter()
        let text = StoredAndValues(chunks: storedChunks, stored: stored, values: values)
        storedChunks = []
        stored = StoredFieldsWriter(compressionLevel: 0, headFields: [])
        values = DocValuesWriter(columns: DocumentValues.columns)
        // A term written by this thread goes into the dictionary, the codecs drained to disk.
        func toFiles(_ key: [UInt8], _ info: TermPostingsInfo, _ postings: inout PostingsWriter) throws(MailsiftError) {
            do { try dictionary.add(key, info) } catch { throw MailsiftError(.corrupt, "building segment \(out.name): \(error)") }
            try out.drainIfFull(&postings, &dictionary)
        }
        let terms = table.count
        let chunkTerms = max(1, chunkTerms ?? max(Self.minChunkTerms, terms / 64))
        guard helpers > 0, pool.bytesHeld >= parallelAbove, terms >= 2 * chunkTerms else {
            var scratch = TermScratch()
            try writeTerms(sortedSlots()[...], name: out.name, into: &postings, &scratch, emit: toFiles)
            try out.finish(postings, &dictionary)
            try text.write(to: out)
            return
        }
        let bounds = Self.chunkBounds(terms: terms, chunkTerms: chunkTerms)
        let queue = TermChunkQueue(count: bounds.count)
        let builder = self
        // The stored text and values need no key order: the first helper writes them while this
        // thread sorts the terms (LKML's one-buffer flush sorted ~0.15 s with the other core
        // idle), has them fsync'd on a thread of their own (the flush waited ~0.07 s on the
        // stored file's fsync at its end; an fsync on the helper stalled it as long) and joins
        // on the terms.
        let passes = (0..<helpers).map { h in
            // Not `inline` when no thread can be had (a helper waits for the sorted terms): the
            // chunks nobody claims are this thread's anyway, and so is the text, after the terms.
            BackgroundPass(Unchecked((builder, queue, out, h == 0 ? text : nil)), label: out.label) { captured throws in
                let (builder, queue, out, text) = captured.value
                do throws(MailsiftError) {
                    if let text {
                        try text.write(to: out)
                        out.syncInBackground(StoredAndValues.kinds)
                    }
                    var scratch = TermScratch()
                    while let (k, chunk) = queue.claim() {
                        queue.finish(k, try builder.writeChunk(chunk, name: out.name, riceBlocks: riceBlocks, &scratch))
                    }
                } catch {
                    queue.fail(error)
                    throw error
                }
            }
        }
        var failure: MailsiftError?
        // From here on any error fails the queue (waking helpers waiting for the chunks) and
        // the helpers are joined before returning: none outlives the flush.
        do throws(MailsiftError) {
            let order = sortedSlots()
            let chunks = bounds.map { order[$0] }
            queue.start(chunks)
            if helpersFirst { try queue.waitForClaims(min(chunks.count, queue.window)) }
            var scratch = TermScratch()
            while let step = try queue.nextForAppender() {
                switch step {
                case .write(let k):
                    try writeTerms(chunks[k], name: out.name, into: &postings, &scratch, emit: toFiles)
                    queue.appended()
                case .append(let done):
                    try done.append(into: &postings, &dictionary, out: out)
                    queue.appended()
                case .writeAhead(let k):
                    queue.finish(k, try writeChunk(chunks[k], name: out.name, riceBlocks: riceBlocks, &scratch))
                }
            }
        } catch {
            queue.fail(error)
            failure = error
        }
        for pass in passes {
            do { try pass.wait() } catch { failure = failure ?? (error as? MailsiftError ?? MailsiftError(.corrupt, "building segment \(out.name): \(error)")) }
        }
        if let failure { throw failure }
        try out.finish(postings, &dictionary)
        if passes.first?.started == false { try text.write(to: out) }
    }

    /// Buffers above this many pool bytes flush on several threads (when given helpers).
    static let parallelAbove = 4 << 20
    /// The smallest chunk of terms a parallel flush hands out.
    static let minChunkTerms = 4096

    /// A parallel flush's chunks of `terms` sorted terms: `chunkTerms` each, but the last
    /// eighth of the terms in chunks a quarter that size, so the threads run out of work at
    /// nearly the same time (a chunk's cost is its postings, not its term count: a heavy last
    /// chunk left the other core idle ~0.1 s at the end of LKML's flush).
    static func chunkBounds(terms: Int, chunkTerms: Int) -> [Range<Int>] {
        let tail = terms - terms / 8
        var bounds: [Range<Int>] = []
        var at = 0
        while at < terms {
            let size = at >= tail ? max(1, chunkTerms / 4) : max(1, chunkTerms)
            bounds.append(at..<min(terms, at + size))
            at += size
        }
        return bounds
    }

    /// A buffer's stored text and values, written by whichever thread the flush gives them.
    struct StoredAndValues: @unchecked Sendable {
        var chunks: [[UInt8]]
        var stored: StoredFieldsWriter
        var values: DocValuesWriter

        /// The files they go to (indexes into `SegmentFiles.kinds`).
        static let kinds = [3, 4]

        func write(to out: SegmentOutput) throws(MailsiftError) {
            var stored = stored, values = values
            for chunk in chunks { try out.write(3, chunk) }
            try out.write(3, stored.finish())
            try out.write(4, values.finish())
        }
    }

    /// Per-thread buffers of the terms pass.
    struct TermScratch {
        var key: [UInt8] = []
        var deltas = [UInt32](repeating: 0, count: 256)
        var merged: [UInt32] = []
    }

    /// Writes one chunk's terms into memory (a writer of its own, its header dropped): for a
    /// thread other than the one writing the files.
    func writeChunk(_ slots: ArraySlice<Int32>, name: String, riceBlocks: Bool, _ scratch: inout TermScratch) throws(MailsiftError) -> TermChunkQueue.Done {
        var postings = PostingsWriter()
        postings.riceBlocks = riceBlocks
        var entries = ByteWriter()
        try writeTerms(slots, name: name, into: &postings, &scratch) { key, info, _ in
            entries.varint(UInt64(key.count))
            entries.bytes += key
            info.encode(into: &entries)
        }
        let header = postings.headerCounts
        let (d, p) = postings.unframedRest()
        return TermChunkQueue.Done(docs: Array(d[header.docs...]), positions: Array(p[header.positions...]), entries: entries.bytes)
    }

    /// Writes the terms of `slots` (in key order) through `postings`, handing each key and
    /// its postings info to `emit`. Reads the buffer only: threads may write chunks at once.
    func writeTerms(_ slots: ArraySlice<Int32>, name: String, into postings: inout PostingsWriter, _ scratch: inout TermScratch,
                    emit: (_ key: [UInt8], _ info: TermPostingsInfo, _ postings: inout PostingsWriter) throws(MailsiftError) -> Void) throws(MailsiftError) {
        // Slots in key order are all over memory: each term's state, key and pool slices are
        // asked for a few terms ahead (the states 8 ahead, the slices they point to 4 ahead).
        let end = slots.endIndex
        for i in slots.indices {
            let slot = slots[i]
            if i + 8 < end {
                ms_prefetch(UnsafeRawPointer(states.base + Int(slots[i + 8])))
            }
            if i + 4 < end {
                let ahead = starts[Int(slots[i + 4])]
                table.prefetchKey(Int(slots[i + 4]))
                pool.prefetch(ahead.docs)
                pool.prefetch(ahead.positions)
            }
            let k = table.key(Int(slot))
            scratch.key.removeAll(keepingCapacity: true)
            scratch.key.append(k.field)
            scratch.key += table.arena[k.bytes]
            // The docs stream holds every doc but the one still in the state (written to the
            // stream only when the next one starts): read last, from the state. (Nothing is
            // written into the pool here: threads read it at once.)
            let s = states.base[Int(slot)], start = starts[Int(slot)]
            var d = ByteSlicePool.Reader(pool: pool, start: start.docs, end: s.docs.upto)
            var p = ByteSlicePool.Reader(pool: pool, start: start.positions, end: s.positions.upto)
            // Positions that arrived out of order (rare), by doc, merged into their docs below.
            let late = latePositions.isEmpty ? [] : latePositions[slot].map { $0.sorted { ($0.doc, $0.position) < ($1.doc, $1.position) } } ?? []
            var nextLate = 0
            var doc: UInt32 = 0
            postings.startTerm()
            let info: TermPostingsInfo
            do {
                // Each doc goes to the writer as it is read, its positions as the deltas the
                // pool holds (restarting at each doc).
                var inState = true
                while true {
                    let freq: Int
                    if !d.atEnd {
                        let v = d.varint()
                        doc = doc &+ (v >> 1)  // gap from the previous doc + 1 (docs are written + 1)
                        freq = Int(v & 1 == 1 ? 1 : d.varint() &+ 2)
                    } else if inState {
                        inState = false
                        doc = s.doc &+ 1
                        freq = Int(s.freq)
                    } else {
                        break
                    }
                    // A buffer that only grows (a freq is at most the builder's own count of a
                    // term's positions in one doc).
                    if scratch.deltas.count < freq { scratch.deltas = [UInt32](repeating: 0, count: max(freq, 2 * scratch.deltas.count)) }
                    while nextLate < late.count, late[nextLate].doc < doc &- 1 { nextLate += 1 }
                    if nextLate < late.count, late[nextLate].doc == doc &- 1 {
                        var position: UInt32 = 0
                        scratch.merged.removeAll(keepingCapacity: true)
                        for _ in 0..<freq {
                            position = position &+ p.varint()
                            scratch.merged.append(position)
                        }
                        while nextLate < late.count, late[nextLate].doc == doc &- 1 {
                            Self.insert(late[nextLate].position, into: &scratch.merged)
                            nextLate += 1
                        }
                        try scratch.merged.withUnsafeBufferPointer { positions throws(PostingsInputError) in
                            try postings.addDoc(doc &- 1, positions: positions)
                        }
                        continue
                    }
                    try scratch.deltas.withUnsafeMutableBufferPointer { buf throws(PostingsInputError) in
                        for k in 0..<freq { buf[k] = p.varint() }
                        try postings.addDoc(doc &- 1, deltas: UnsafeBufferPointer(rebasing: buf[0..<freq]))
                    }
                }
                info = try postings.finishTerm()
            } catch {
                throw MailsiftError(.corrupt, "building segment \(name): \(error)")
            }
            try emit(scratch.key, info, &postings)
        }
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
        states = TermStates(capacity: 1)
        starts = []
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

/// The chunks of a parallel flush's terms (key order), claimed one at a time by the thread
/// writing the files (the appender) and its helpers. The appender writes the chunk due next
/// straight into the files when nobody has claimed it; a chunk claimed ahead of that is
/// written into memory (`Done`) and appended when its turn comes. Helpers stay at most
/// `window` chunks ahead of the files, so the chunks held in memory stay few.
final class TermChunkQueue: @unchecked Sendable {
    /// A chunk written into memory: its postings content (no header) and its dictionary
    /// entries (varint key length, key, info relative to its own content).
    struct Done {
        var docs: [UInt8]
        var positions: [UInt8]
        var entries: [UInt8]

        /// Appends the chunk after the content before it: its content through `postings` (so
        /// the footers' checksums cover it), its terms into `dictionary` with their offsets
        /// shifted past the content before it.
        func append(into postings: inout PostingsWriter, _ dictionary: inout TermDictionaryWriter, out: SegmentOutput) throws(MailsiftError) {
            let shift = postings.contentCounts
            postings.appendContent(docs: docs, positions: positions)
            var key: [UInt8] = []
            try entries.withUnsafeBufferPointer { buffer throws(MailsiftError) in
                var r = ByteReader(UnsafeRawBufferPointer(buffer))
                while !r.isAtEnd {
                    let info: TermPostingsInfo
                    do {
                        let n = Int(try r.varint())
                        key.removeAll(keepingCapacity: true)
                        for _ in 0..<n { key.append(try r.u8()) }
                        info = TermsPart.shifted(try TermPostingsInfo.decode(&r), by: shift)
                        try dictionary.add(key, info)
                    } catch {
                        throw MailsiftError(.corrupt, "building segment \(out.name): \(error)")
                    }
                    try out.drainIfFull(&postings, &dictionary)
                }
            }
        }
    }

    enum Step {
        /// Write chunk k into the files (it is the next one due).
        case write(Int)
        /// Append this chunk (the next one due, written by another thread).
        case append(Done)
        /// Write chunk k into memory (the one due is being written by another thread).
        case writeAhead(Int)
    }

    let count: Int
    let window: Int
    private let condition = NSCondition()
    /// The chunks, once the terms are sorted (`start`); helpers wait for them.
    private var chunks: [ArraySlice<Int32>]?
    private var claimed = 0
    private var due = 0
    private var done: [Int: Done] = [:]
    private var failure: MailsiftError?

    /// How many chunks may be claimed beyond the one due (so at most this many are held in
    /// memory at once); more helpers than this would only wait.
    static let defaultWindow = 8

    init(count: Int, window: Int = TermChunkQueue.defaultWindow) {
        self.count = count
        self.window = window
    }

    /// Waits until `n` chunks are claimed (tests: the helpers go first). Throws a helper's error.
    func waitForClaims(_ n: Int) throws(MailsiftError) {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil, claimed < n { condition.wait() }
        if let failure { throw failure }
    }

    /// Hands out `chunks` (`count` of them, in key order): helpers waiting in `claim` go on.
    func start(_ chunks: [ArraySlice<Int32>]) {
        precondition(chunks.count == count, "a flush cut its terms into \(chunks.count) chunks, not \(count)")
        condition.lock()
        self.chunks = chunks
        condition.broadcast()
        condition.unlock()
    }

    /// A helper's next chunk and its terms: nil when none is left or the flush failed. Waits
    /// for `start`, and while it would be `window` chunks ahead of the files.
    func claim() -> (Int, ArraySlice<Int32>)? {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil, claimed < count, chunks == nil || claimed >= due + window { condition.wait() }
        guard failure == nil, claimed < count, let chunks else { return nil }
        claimed += 1
        condition.broadcast()  // for waitForClaims
        return (claimed - 1, chunks[claimed - 1])
    }

    /// A chunk written into memory.
    func finish(_ k: Int, _ chunk: Done) {
        condition.lock()
        done[k] = chunk
        condition.broadcast()
        condition.unlock()
    }

    /// The appender's next step; nil once every chunk is in the files. Throws a helper's error.
    func nextForAppender() throws(MailsiftError) -> Step? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let failure { throw failure }
            if due == count { return nil }
            if let chunk = done.removeValue(forKey: due) { return .append(chunk) }
            if claimed == due {
                claimed += 1
                return .write(due)
            }
            if claimed < count, claimed < due + window {
                claimed += 1
                return .writeAhead(claimed - 1)
            }
            condition.wait()
        }
    }

    /// The appender finished the chunk due.
    func appended() {
        condition.lock()
        due += 1
        condition.broadcast()
        condition.unlock()
    }

    func fail(_ error: MailsiftError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }
}
