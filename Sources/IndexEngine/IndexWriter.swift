import Foundation
import IndexFormat
import MailsiftCore

/// The one writer of a user's index (an advisory lock keeps others out). Documents are
/// buffered in memory up to `ramBudget` and flushed as immutable segments; `commit` makes
/// everything flushed and deleted since the last commit durable and visible as the next
/// manifest generation. A crash at any point leaves the last committed generation intact.
public final class IndexWriter {
    public let directory: UserDirectory
    public let ramBudget: Int
    private let lock: WriteLock
    public private(set) var manifest: Manifest
    private var builder: SegmentBuilder
    /// Segments flushed since the last commit (files durable, not yet in a manifest).
    private var flushed: [Manifest.SegmentEntry] = []
    /// Deletions changed since the last commit, by segment name.
    private var changedDeletions: [String: Deletions] = [:]
    /// Where each live document is: built lazily for deletes.
    private var locations: [Int64: (segment: String, doc: UInt32)]?
    private var nextSegmentNumber: UInt64
    private let storedCompressionLevel: Int32
    /// Merges rewrite stored text anyway and run off the indexing path: they use LZ4-HC, at
    /// level 4 (against 9: 15% less merge CPU for 0.3-0.5% more stored bytes on Enron and LKML).
    private let mergedStoredCompressionLevel: Int32
    /// Whether merges use every core (`SegmentMerger.merge(parallel:)`).
    private let parallelMerges: Bool
    /// Whether a full buffer is written on its own thread while documents go on into a new
    /// one (`backgroundFlush`): each buffer then flushes at half the budget, so the two
    /// together stay within it.
    public let backgroundFlush: Bool
    /// The flush running on its own thread, if any (at most one).
    private var inFlight: BackgroundFlush?

    /// A buffer being written on its own thread; `result` is set before `done` is signalled.
    private final class BackgroundFlush: @unchecked Sendable {
        // @unchecked: `builder` and `result` are touched by the flushing thread only until it
        // signals `done`, and by the writer's thread only after waiting for it.
        var builder: SegmentBuilder
        let name: String
        /// The builder's documents, read by the writer's thread while the flush runs.
        let documentCount: UInt32
        let done = DispatchSemaphore(value: 0)
        var result: Result<[UInt64], MailsiftError> = .failure(MailsiftError(.io, "flush did not run"))
        init(_ builder: SegmentBuilder, name: String) {
            self.builder = builder
            self.name = name
            documentCount = builder.documentCount
        }
    }

    /// `storedCompressionLevel` applies to flushed segments (0: LZ4 fast), `mergedStoredCompressionLevel`
    /// to merged ones (1...12: LZ4-HC).
    /// `returnMemory`: keep large allocations in their own mappings and trim the heap after
    /// each flush, so a bulk indexing process stays within budget plus a fixed overhead. A
    /// daemon that also serves queries passes false: per-query arrays would otherwise be
    /// mapped and unmapped on every search (page faults, TLB shootdowns).
    /// `parallelMerges`: merges split their work over every core (bulk indexing, `compact`);
    /// a daemon whose merges run beside searches passes false (two threads, as searches on
    /// both cores would otherwise wait behind a merge's compression).
    public init(directory: UserDirectory, ramBudget: Int = 64 << 20, storedCompressionLevel: Int32 = 0,
                mergedStoredCompressionLevel: Int32 = 4, returnMemory: Bool = true, parallelMerges: Bool = true,
                backgroundFlush: Bool = false) throws(MailsiftError) {
        self.parallelMerges = parallelMerges
        self.directory = directory
        // 1 MiB to 2 GiB: the slice pool addresses at most 4 GiB.
        self.ramBudget = min(max(1 << 20, ramBudget), 2 << 30)
        // Half of a budget under 2 MiB is less than an empty buffer's own tables (~640 KiB):
        // every document would be its own segment. Such budgets flush in line.
        self.backgroundFlush = backgroundFlush && self.ramBudget >= 2 << 20
        self.storedCompressionLevel = storedCompressionLevel
        self.mergedStoredCompressionLevel = mergedStoredCompressionLevel
        try directory.create()
        self.returnMemory = returnMemory
        if returnMemory { Self.fixMallocThreshold }
        lock = try WriteLock(path: directory.lockPath)
        manifest = try Manifest.loadLatest(directory.segmentsPath)
        nextSegmentNumber = manifest.nextSegmentNumber
        builder = SegmentBuilder(storedCompressionLevel: storedCompressionLevel)
        removeUnreferencedFiles()
    }

    deinit {
        // A segment still being written is not left to a thread outliving the lock.
        inFlight?.done.wait()
        lock.unlock()
    }

    /// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after
    /// which the builder's large arrays come from the heap and are not given back when a flush
    /// frees them: the process kept ~40 MiB more than the budget. A fixed threshold keeps large
    /// allocations in their own mappings, returned to the system when freed.
    private let returnMemory: Bool

    /// For bulk commands (index, reindex, compact): asks glibc to grow (and, trimming on free,
    /// keep) each heap by `pad` bytes beyond a request. Bulk indexing frees and reallocates
    /// the same large amounts all the time (term lists, stored blocks, flush buffers); with
    /// glibc's default 128 KiB the freed tops went back to the kernel and came back as fresh
    /// pages: indexing LKML took 440,000 minor page faults and ~2.0 s of system time, against
    /// ~270,000 and ~1.5 s with 32 MiB, for ~5-10 MiB more anonymous memory
    /// (docs/benchmarks.md). The `malloc_trim` after a flush still returns a flushed buffer.
    ///
    /// Blocks of `pad` bytes or more (at least 256 KiB) get mappings of their own; smaller
    /// ones come from the heaps, where freed ones are reused: a bulk job's large temporary
    /// arrays (a long message's term lists, the term table as it doubles, stored text pieces)
    /// were each a fresh mapping at 256 KiB, paged in and unmapped again. LKML `index`:
    /// 250,000 → 145,000 minor faults, system time ~1.8 → ~1.4 s, peak RSS ~520 → ~550-580 MiB.
    /// (The daemon's writers keep 256 KiB: `fixMallocThreshold`.)
    public static func padHeaps(_ pad: Int) {
        #if canImport(Glibc)
        _ = fixMallocThreshold  // now, so a writer made later does not put it back
        _ = mallopt(-2 /* M_TOP_PAD */, Int32(clamping: pad))
        _ = mallopt(-3 /* M_MMAP_THRESHOLD */, Int32(clamping: max(256 << 10, pad)))
        #endif
    }

    private static let fixMallocThreshold: Void = {
        #if canImport(Glibc)
        _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 10)
        #endif
    }()

    /// Threads besides the flushing one that a large flush may use: the other cores when
    /// merges may use them (bulk indexing; the final flush of an import otherwise runs alone),
    /// but no more than the chunks a flush lets them claim ahead (more would only wait).
    private var flushHelpers: Int {
        parallelMerges ? min(TermChunkQueue.defaultWindow - 1, max(0, availableCores - 1)) : 0
    }

    /// Documents added since the last commit (buffered or flushed).
    public var pendingDocuments: Int {
        Int(builder.documentCount) + Int(inFlight?.documentCount ?? 0) + flushed.reduce(0) { $0 + Int($1.documentCount) }
    }

    public func add(_ doc: IndexDocument) throws(MailsiftError) {
        builder.add(doc)
        if backgroundFlush {
            if builder.estimatedBytes >= ramBudget / 2 { try startFlush() }
        } else if builder.estimatedBytes >= ramBudget {
            try flush()
        }
    }

    /// Hands the full buffer to a thread that writes it as a segment, after the previous one
    /// is written (its error, if any, is thrown here), and goes on with an empty buffer.
    private func startFlush() throws(MailsiftError) {
        try finishFlushInFlight()
        guard builder.documentCount > 0 else { return }
        let trim = trimsAfter(builder)
        let job = BackgroundFlush(builder, name: takeSegmentName())
        builder = SegmentBuilder(storedCompressionLevel: storedCompressionLevel)
        let directory = directory.segmentsPath
        let helpers = flushHelpers
        inFlight = job
        let write: @Sendable () -> Void = {
            do throws(MailsiftError) {
                job.result = .success(try Self.write(&job.builder, name: job.name, in: directory, helpers: helpers))
            } catch {
                job.result = .failure(error)
            }
            job.builder.releasePostings()
            Self.trimHeap(trim)
            job.done.signal()
        }
        // No thread to be had: the buffer is written here (the caller waits, nothing is lost).
        if !startThread(name: "ms-flush", stackSize: 1 << 20, write) { write() }
    }

    /// Waits for the flush in flight and takes its segment into `flushed`; throws its error
    /// (its documents are then lost, as those of a failed `flush()`).
    private func finishFlushInFlight() throws(MailsiftError) {
        guard let job = inFlight else { return }
        job.done.wait()
        inFlight = nil
        record(job.name, ids: job.builder.ids, documentCount: job.documentCount, sizes: try job.result.get())
    }

    private func takeSegmentName() -> String {
        defer { nextSegmentNumber += 1 }
        return SegmentFiles.name(number: nextSegmentNumber)
    }

    /// Writes a buffer as segment `name` (durable; its postings are spent either way) and
    /// returns the files' sizes; nothing is left behind when it fails.
    private static func write(_ builder: inout SegmentBuilder, name: String, in directory: String, helpers: Int) throws(MailsiftError) -> [UInt64] {
        let out = try SegmentOutput(directory: directory, name: name)
        try out.complete { () throws(MailsiftError) in try builder.write(to: out, helpers: helpers, riceBlocks: helpers > 0) }
        return out.sizes
    }

    /// Takes a written segment into `flushed` (and its documents into `locations` when kept).
    private func record(_ name: String, ids: [Int64], documentCount: UInt32, sizes: [UInt64]) {
        if locations != nil {
            for (k, id) in ids.enumerated() { locations?[id] = (name, UInt32(k)) }
        }
        flushed.append(Manifest.SegmentEntry(name: name, documentCount: documentCount, deletionsGeneration: 0,
                                             deletedCount: 0, fileSizes: sizes))
    }

    private static func trimHeap(_ trim: Bool) {
        #if canImport(Glibc)
        if trim { _ = malloc_trim(0) }
        #endif
    }

    /// A flushed buffer smaller than this (or than half the budget, where background flushes
    /// start) is not followed by a heap trim: what it freed is
    /// reused by the next buffer. Trimming after every small flush (each user of a bulk
    /// `reindex` commits one) gave the freed pages back and took them again as page faults:
    /// 100 users of 1,000 messages, ~3,700 faults a user.
    static let trimAbove = 32 << 20

    /// Whether flushing this buffer is followed by a heap trim (see `trimAbove`).
    private func trimsAfter(_ buffer: SegmentBuilder) -> Bool {
        returnMemory && buffer.estimatedBytes >= min(Self.trimAbove, ramBudget / 2)
    }

    /// Deletes documents by catalog id; unknown ids are ignored. Returns how many were deleted.
    @discardableResult
    public func delete(ids: Set<Int64>) throws(MailsiftError) -> Int {
        guard !ids.isEmpty else { return 0 }
        try flush()  // ids in the buffer must be findable
        let map = try documentLocations()
        var count = 0
        for id in ids {
            guard let (segment, doc) = map[id] else { continue }
            var d = try currentDeletions(segment)
            if d.delete(doc) { count += 1 }
            changedDeletions[segment] = d
            locations?[id] = nil
        }
        return count
    }

    /// Writes the buffered documents as a segment (durable, not yet committed).
    public func flush() throws(MailsiftError) {
        try finishFlushInFlight()
        guard builder.documentCount > 0 else { return }
        let name = takeSegmentName()
        // Out of self first: its postings are spent by the write, failed or not.
        var full = builder
        let trim = trimsAfter(full)
        builder = SegmentBuilder(storedCompressionLevel: storedCompressionLevel)
        let written: Result<[UInt64], MailsiftError>
        do { written = .success(try Self.write(&full, name: name, in: directory.segmentsPath, helpers: flushHelpers)) } catch {
            written = .failure(error)
        }
        let ids = full.ids, documentCount = full.documentCount
        Self.release(consume full, trim: trim)
        record(name, ids: ids, documentCount: documentCount, sizes: try written.get())
    }

    /// Frees a written buffer, then trims the heap when `trim`. A large one goes on a thread
    /// of its own: freeing LKML's 500 MB buffer and giving its pages back took ~0.08 s after
    /// its flush, the other core idle, before the commit could go on.
    private static func release(_ buffer: consuming SegmentBuilder, trim: Bool) {
        guard trim else { return }
        let slot = BackgroundPass.Slot(buffer)
        let free: @Sendable () -> Void = {
            slot.value = nil
            trimHeap(true)
        }
        if !startThread(name: "ms-free", free) { free() }
    }

    /// Makes everything since the last commit durable and visible: segment files are already
    /// fsync'd; deletion files are written and fsync'd; then the next manifest is written,
    /// fsync'd, renamed into place and the directory fsync'd.
    public func commit() throws(MailsiftError) {
        try flush()
        guard !flushed.isEmpty || !changedDeletions.isEmpty else { return }
        var next = manifest
        next.generation += 1
        next.segments += flushed
        for (segment, deletions) in changedDeletions {
            guard let k = next.segments.firstIndex(where: { $0.name == segment }) else { continue }
            let path = SegmentFiles.deletionsPath(directory.segmentsPath, segment, generation: next.generation)
            // Left by an earlier commit of this generation that failed: no manifest refers to it.
            try? FileManager.default.removeItem(atPath: path)
            try DurableFiles.create(path, deletions.encode())
            next.segments[k].deletionsGeneration = next.generation
            next.segments[k].deletedCount = deletions.deletedCount
        }
        // Segments whose every document is deleted are dropped from the manifest.
        next.segments.removeAll { $0.deletedCount >= $0.documentCount && $0.documentCount > 0 }
        next.nextSegmentNumber = nextSegmentNumber
        try DurableFiles.syncDirectory(directory.segmentsPath)
        try next.write(to: directory.segmentsPath)
        manifest = next
        flushed = []
        changedDeletions = [:]
        removeUnreferencedFiles()
    }

    /// After a failed flush, commit or merge: forgets every uncommitted change (buffered and
    /// flushed documents, deletions) and reads the newest manifest back from disk. A commit
    /// whose manifest reached its name before the failure (a directory fsync that failed after
    /// the rename) counts as committed, since readers may already see it. Segment files no
    /// kept manifest names are removed. The caller redoes what it still wants.
    public func rollback() throws(MailsiftError) {
        if let job = inFlight {
            job.done.wait()  // its segment, written or not, is not kept
            inFlight = nil
        }
        builder = SegmentBuilder(storedCompressionLevel: storedCompressionLevel)
        flushed = []
        changedDeletions = [:]
        locations = nil
        let onDisk = try Manifest.loadLatest(directory.segmentsPath)
        manifest = onDisk
        nextSegmentNumber = max(nextSegmentNumber, onDisk.nextSegmentNumber)
        removeUnreferencedFiles()
    }

    // MARK: - Merging

    /// Tiered merging (as Lucene's): segments are grouped by size into tiers a factor of
    /// `mergeFactor` apart; a tier holding `mergeFactor` segments is merged into one. The
    /// segment count stays logarithmic in the document count. Commits what it merges.
    public func maybeMerge(mergeFactor: Int = 8) throws(MailsiftError) {
        try commit()
        while true {
            var tiers: [Int: [Manifest.SegmentEntry]] = [:]
            for s in manifest.segments {
                let live = max(1, Int(s.documentCount) - Int(s.deletedCount))
                var tier = 0
                var size = 1000
                while live > size { size *= mergeFactor; tier += 1 }
                tiers[tier, default: []].append(s)
            }
            guard let (_, group) = tiers.sorted(by: { $0.key < $1.key }).first(where: { $0.value.count >= mergeFactor }) else { break }
            try merge(group.prefix(mergeFactor).map(\.name))
        }
        // Segments mostly deleted are rewritten on their own to reclaim the space.
        for s in manifest.segments where s.documentCount > 0 && UInt64(s.deletedCount) * 2 > UInt64(s.documentCount) {
            try merge([s.name])
        }
    }

    /// Merges every segment into at most `maxSegments` (1: one segment for the whole index).
    public func forceMerge(maxSegments: Int = 1) throws(MailsiftError) {
        try commit()
        while manifest.segments.count > max(1, maxSegments) || (maxSegments <= 1 && manifest.segments.contains { $0.deletedCount > 0 }) {
            let sorted = manifest.segments.sorted { $0.documentCount < $1.documentCount }
            let take = manifest.segments.count > maxSegments ? min(sorted.count, manifest.segments.count - maxSegments + 1) : 1
            try merge(sorted.prefix(max(1, take)).map(\.name))
        }
    }

    /// Merges committed segments into a new one and commits the replacement.
    private func merge(_ names: [String]) throws(MailsiftError) {
        guard !names.isEmpty else { return }
        var inputs: [(reader: SegmentReader, deletions: Deletions)] = []
        for name in names {
            guard let entry = manifest.segments.first(where: { $0.name == name }) else { return }
            inputs.append((try SegmentReader(directory: directory.segmentsPath, entry: entry), try currentDeletions(name)))
        }
        let name = SegmentFiles.name(number: nextSegmentNumber)
        nextSegmentNumber += 1
        let out = try SegmentOutput(directory: directory.segmentsPath, name: name)
        let documentCount = try out.complete { () throws(MailsiftError) -> UInt32 in
            try SegmentMerger.merge(inputs, storedCompressionLevel: mergedStoredCompressionLevel, into: out, parallel: parallelMerges)
        }
        var next = manifest
        next.generation += 1
        next.segments.removeAll { names.contains($0.name) }
        if documentCount > 0 {
            next.segments.append(Manifest.SegmentEntry(name: name, documentCount: documentCount, deletionsGeneration: 0,
                                                       deletedCount: 0, fileSizes: out.sizes))
        } else {
            out.abandon()
        }
        next.nextSegmentNumber = nextSegmentNumber
        try DurableFiles.syncDirectory(directory.segmentsPath)
        try next.write(to: directory.segmentsPath)
        manifest = next
        for n in names { changedDeletions[n] = nil }
        if locations != nil {
            // The merged segment holds the inputs' live documents in input order (as
            // SegmentMerger writes them): moved here without reopening every segment, which
            // checks every file's checksum (tens of ms for a large index, on each merge).
            var k: UInt32 = 0
            for (reader, deletions) in inputs {
                for d in 0..<reader.documentCount where !deletions.isDeleted(d) {
                    locations?[try reader.id(of: d)] = (name, k)
                    k += 1
                }
            }
        }
        removeUnreferencedFiles()
    }

    // MARK: - Internals

    private func currentDeletions(_ segment: String) throws(MailsiftError) -> Deletions {
        if let d = changedDeletions[segment] { return d }
        if let entry = manifest.segments.first(where: { $0.name == segment }) {
            return try Deletions.load(directory: directory.segmentsPath, entry: entry)
        }
        if let entry = flushed.first(where: { $0.name == segment }) { return Deletions(documentCount: entry.documentCount) }
        throw MailsiftError(.notFound, "segment \(segment) is not part of the index")
    }

    /// Catalog id → (segment, local doc) for every live document, from the segments' values.
    private func documentLocations() throws(MailsiftError) -> [Int64: (segment: String, doc: UInt32)] {
        if let locations { return locations }
        var map: [Int64: (segment: String, doc: UInt32)] = [:]
        for entry in manifest.segments + flushed {
            let segment = try SegmentReader(directory: directory.segmentsPath, entry: entry)
            let deletions = try currentDeletions(entry.name)
            for doc in 0..<entry.documentCount where !deletions.isDeleted(doc) {
                map[try segment.id(of: doc)] = (entry.name, doc)
            }
        }
        locations = map
        return map
    }

    /// Files of segments, deletions and manifests that the newest manifest does not refer to:
    /// leftovers of crashes and of replaced generations, removed as soon as a commit replaces
    /// them (after a merge the disk holds the live index, not the old one beside it until some
    /// later commit, which an idle mailbox may never make). Readers that mapped them keep
    /// their mappings; one still opening the replaced generation finds a file gone and
    /// reopens with the newer manifest (`IndexReader.init`).
    private func removeUnreferencedFiles() {
        let dir = directory.segmentsPath
        let generations = Manifest.generations(in: dir)
        var keep = Set<String>()
        var kept = 0
        for gen in generations {
            guard kept < 1, let file = try? MappedFile(path: dir + "/" + Manifest.fileName(gen)),
                  let m = try? Manifest.decode(file.bytes) else { continue }
            kept += 1
            keep.insert(Manifest.fileName(gen))
            for s in m.segments {
                for kind in SegmentFiles.kinds { keep.insert("\(s.name).\(kind)") }
                if s.deletionsGeneration > 0 { keep.insert("\(s.name).del-\(s.deletionsGeneration)") }
            }
        }
        for s in flushed {
            for kind in SegmentFiles.kinds { keep.insert("\(s.name).\(kind)") }
        }
        for (segment, _) in changedDeletions { keep.insert(segment) }
        guard kept > 0 || generations.isEmpty else { return }  // never delete when manifests are unreadable
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !keep.contains(name) {
            // Never a manifest newer than the one this writer works from.
            if name.hasPrefix("manifest-"), let g = UInt64(name.dropFirst("manifest-".count)), g > manifest.generation { continue }
            if name.hasPrefix("seg_") || name.hasPrefix("manifest-") {
                try? FileManager.default.removeItem(atPath: dir + "/" + name)
            }
        }
    }
}

#if canImport(Glibc)
/// glibc's malloc_trim and mallopt (malloc.h is not in the Glibc module): freed heap pages go
/// back to the system after a flush, so a released buffer does not stay counted against the
/// process.
@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
@_silgen_name("mallopt") private func mallopt(_ param: Int32, _ value: Int32) -> Int32
#endif
