import Foundation
@testable import IndexEngine
import IndexFormat
import MailsiftCore
import Testing
import TestSupport

/// The in-memory side of indexing against brute force: the slice pool's streams, and the
/// segment a builder writes for random documents (terms in any order, repeated at the same
/// position, long and short lists, many fields).
@Suite struct SegmentBuilderTests {
    @Test func slicePoolStreamsRoundTrip() {
        var rng = SplitMix64(seed: 11)
        let pool = ByteSlicePool()
        var streams: [(start: UInt32, cursor: ByteSlicePool.Cursor, values: [UInt32])] = []
        for _ in 0..<3000 {
            let s = pool.newStream()
            streams.append((s.upto, s, []))
        }
        // Interleaved appends, so every stream's slices are scattered over many pages.
        for _ in 0..<200_000 {
            let k = Int(rng.next() % UInt64(streams.count))
            let v: UInt32 = rng.next() % 4 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(rng.next() % 200)
            pool.appendVarint(v, &streams[k].cursor)
            streams[k].values.append(v)
        }
        for s in streams {
            var r = ByteSlicePool.Reader(pool: pool, start: s.start, end: s.cursor.upto)
            var got: [UInt32] = []
            while !r.atEnd { got.append(r.varint()) }
            #expect(got == s.values)
        }
    }

    /// A builder holding `docCount` random documents, and what it must write:
    /// "field/term" → doc → positions (deduplicated).
    static func randomBuilder(seed: UInt64, docCount: Int = 700) -> (SegmentBuilder, [String: [UInt32: Set<UInt32>]]) {
        var rng = SplitMix64(seed: seed)
        let vocabulary = (0..<400).map { i in i % 50 == 0 ? "long-term-\(i)-" + String(repeating: "x", count: 40) : "t\(i)" } + ["é", "日本", "the"]
        // Expected: (field, term) → doc → positions (deduplicated, sorted).
        var expected: [String: [UInt32: Set<UInt32>]] = [:]
        var builder = SegmentBuilder()
        for d in 0..<docCount {
            var fields: [IndexDocument.FieldTerms] = []
            for field in [Field.subject, .body, .to] where rng.next() % 4 != 0 {
                var terms: [(term: String, position: UInt32)] = []
                let n = Int(rng.next() % 60)
                for i in 0..<n {
                    // Zipf-ish: low indexes (long lists) far more often.
                    let r = Int(rng.next() % UInt64(vocabulary.count))
                    let term = vocabulary[rng.next() % 2 == 0 ? r / 8 : r]
                    let position = rng.next() % 10 == 0 ? UInt32(rng.next() % 40) : UInt32(i)
                    terms.append((term, position))
                    if rng.next() % 20 == 0 { terms.append((term, position)) }  // stacked twice
                    expected["\(field.rawValue)/\(term)", default: [:]][UInt32(d), default: []].insert(position)
                }
                if rng.next() % 3 == 0 { terms.shuffle(using: &rng) }
                fields.append(IndexDocument.FieldTerms(field: field, terms: terms))
            }
            builder.add(IndexDocument(id: Int64(d), fields: fields, stored: [(.subject, "doc \(d)")],
                                      values: DocumentValues(id: Int64(d), internalDate: 0, sentDate: 0, size: 0, mailbox: 1, uid: Int64(d))))
        }
        return (builder, expected)
    }

    /// Also with Rice-coded positions blocks (what a flush with helpers writes).
    /// The hash reads a key's last `count % 8` bytes with overlapping loads inside the key; it
    /// must give what reading them one by one gives, for every length and every byte.
    @Test func termHashTailMatchesByteByByte() {
        func reference(_ field: UInt8, _ key: [UInt8], seed: UInt64) -> UInt64 {
            var h: UInt64 = (0xCBF2_9CE4_8422_2325 ^ seed) &+ UInt64(field)
            var i = 0
            while i + 8 <= key.count {
                var word: UInt64 = 0
                for k in 0..<8 { word |= UInt64(key[i + k]) << (8 * k) }
                h = (h ^ word) &* 0x1000_0000_01B3
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < key.count {
                tail |= UInt64(key[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail ^ (UInt64(key.count) << 56)) &* 0x1000_0000_01B3
            h ^= h >> 32
            h = h &* 0xD6E8_FEB8_6659_FD93
            h ^= h >> 32
            return h | 1
        }
        var rng = SplitMix64(seed: 5)
        for length in 0...40 {
            for _ in 0..<50 {
                let key = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let seed = rng.next(), field = UInt8(truncatingIfNeeded: rng.next())
                // In the middle of a larger buffer too, as the builder's keys are.
                let padded = [0xAA] + key + [0x55]
                let whole = key.withUnsafeBufferPointer { TermTable.hash(field, $0, seed: seed) }
                let inside = padded.withUnsafeBufferPointer {
                    TermTable.hash(field, UnsafeBufferPointer(rebasing: $0[1..<(1 + length)]), seed: seed)
                }
                let expected = reference(field, key, seed: seed)
                #expect(whole == expected && inside == expected, "length \(length)")
            }
        }
    }

    @Test(arguments: [(1, false), (2, false), (3, true)] as [(UInt64, Bool)])
    func writtenSegmentMatchesBruteForce(seed: UInt64, riceBlocks: Bool) throws {
        let docCount = 700
        var (builder, expected) = Self.randomBuilder(seed: seed, docCount: docCount)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-builder-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try SegmentOutput(directory: dir, name: "seg_test")
        try builder.write(to: out, riceBlocks: riceBlocks)
        try out.finish()
        let entry = Manifest.SegmentEntry(name: "seg_test", documentCount: UInt32(docCount), deletionsGeneration: 0, deletedCount: 0, fileSizes: out.sizes)
        let reader = try SegmentReader(directory: dir, entry: entry)
        #expect(reader.terms.termCount == expected.count)
        for (key, docs) in expected {
            let parts = key.split(separator: "/", maxSplits: 1)
            let field = UInt8(parts[0]) ?? 0
            let info = try #require(try reader.terms.lookup([field] + Array(parts[1].utf8)), "\(key)")
            var it = try reader.postings.iterator(info)
            var got: [UInt32: [UInt32]] = [:]
            while it.doc != PostingsIterator.noMoreDocs {
                got[it.doc] = try it.positions()
                _ = try it.next()
            }
            #expect(got == docs.mapValues { $0.sorted() }, "\(key)")
        }
    }

    /// A flush on several threads (terms cut into chunks, some written into memory by helpers
    /// and appended in order; stored text and values on a helper) writes the very bytes one
    /// thread does: on disk and in memory, with chunks of one term, a few, and more than
    /// the terms there are (one thread then); with one helper and three. The helpers claim
    /// the first chunks before this thread starts, so their chunks are appended for sure.
    @Test(arguments: [(1, 1, false), (1, 7, true), (3, 7, false), (3, 100, true), (2, 100_000, false)] as [(Int, Int, Bool)])
    func parallelFlushWritesTheSameBytes(helpers: Int, chunkTerms: Int, riceBlocks: Bool) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-pflush-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func files(_ name: String, helpers: Int, inMemory: Bool) throws -> [[UInt8]] {
            // The same documents each time (the seed); late positions included (shuffled terms).
            var (builder, _) = Self.randomBuilder(seed: 5, docCount: 900)
            let out = inMemory ? SegmentOutput(memory: name) : try SegmentOutput(directory: dir, name: name)
            try builder.write(to: out, helpers: helpers, riceBlocks: riceBlocks, parallelAbove: 0, chunkTerms: chunkTerms,
                              helpersFirst: helpers > 0)
            try out.finish()
            if let buffers = out.buffers { return buffers }
            return try SegmentFiles.kinds.map { kind in Array(try Data(contentsOf: URL(fileURLWithPath: SegmentFiles.path(dir, name, kind)))) }
        }
        let one = try files("seg_one", helpers: 0, inMemory: false)
        #expect(one.allSatisfy { !$0.isEmpty })
        // Per file, the first byte that differs (not the whole files in the failure message).
        func differences(_ files: [[UInt8]]) -> [String] {
            zip(SegmentFiles.kinds, zip(files, one)).compactMap { (kind: String, pair: ([UInt8], [UInt8])) -> String? in
                let (got, want) = pair
                guard got != want else { return nil }
                let at = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
                return "\(kind): \(got.count) bytes against \(want.count), first difference at \(at)"
            }
        }
        #expect(differences(try files("seg_par", helpers: helpers, inMemory: false)) == [])
        #expect(differences(try files("seg_mem", helpers: helpers, inMemory: true)) == [])
    }

    /// A parallel flush's chunks cover the sorted terms once, in order; the last eighth of
    /// the terms comes in chunks a quarter as large.
    @Test(arguments: [(100_000, 4_096), (64, 8), (9, 2), (7, 1)])
    func chunkBoundsCoverTheTermsOnce(terms: Int, chunkTerms: Int) {
        let bounds = SegmentBuilder.chunkBounds(terms: terms, chunkTerms: chunkTerms)
        #expect(bounds.first?.lowerBound == 0)
        #expect(bounds.last?.upperBound == terms)
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(bounds.allSatisfy { !$0.isEmpty && $0.count <= chunkTerms })
        let tail = bounds.filter { $0.lowerBound >= terms - terms / 8 }
        #expect(tail.dropLast().allSatisfy { $0.count == max(1, chunkTerms / 4) })
        #expect(bounds.filter { $0.upperBound <= terms - terms / 8 }.allSatisfy { $0.count == chunkTerms })
    }

    /// The parallel flush's queue, step by step: chunks a helper claimed are appended in key
    /// order when they are done, this thread writes ahead into memory within the window while
    /// the chunk due is a helper's, and writes the chunk due itself when nobody claimed it.
    @Test func termChunkQueueHandsOutChunksInOrder() throws {
        let queue = TermChunkQueue(count: 5, window: 2)
        func done(_ tag: UInt8) -> TermChunkQueue.Done { TermChunkQueue.Done(docs: [tag], positions: [], entries: []) }
        // The next step must be appending chunk `tag` (its docs are the tag); then it is appended.
        func expectAppend(_ tag: UInt8) throws {
            guard case .append(let chunk)? = try queue.nextForAppender() else { Issue.record("chunk \(tag) not appended"); return }
            #expect(chunk.docs == [tag])
            queue.appended()
        }
        // A helper waits for the sorted terms, then gets the first chunk.
        let first = Self.claimOnThread(queue)
        #expect(first.done.wait(timeout: .now() + 0.2) == .timedOut, "a helper claimed a chunk before the terms were sorted")
        queue.start((0..<5).map { ArraySlice([Int32(10 * $0), Int32(10 * $0 + 1)]) })
        #expect(first.done.wait(timeout: .now() + 60) == .success)
        #expect(first.got.withLock { $0 } == [0, 0, 1])  // chunk 0 and its terms
        #expect(queue.claim()?.0 == 1)  // the window is full now: a third claim would wait
        queue.finish(1, done(1))
        queue.finish(0, done(0))
        try expectAppend(0)
        try expectAppend(1)
        // Nobody claimed chunk 2: this thread writes it into the files.
        guard case .write(2)? = try queue.nextForAppender() else { Issue.record("chunk 2 not written"); return }
        // A helper takes 3; once 2 is in the files, 3 is due and a helper's, so this thread
        // writes 4 ahead (within the window of 2 from the chunk due).
        #expect(queue.claim().map { [Int32($0.0)] + $0.1 } == [3, 30, 31])
        queue.appended()
        guard case .writeAhead(4)? = try queue.nextForAppender() else { Issue.record("chunk 4 not written ahead"); return }
        queue.finish(4, done(4))
        queue.finish(3, done(3))
        try expectAppend(3)
        try expectAppend(4)
        #expect(try queue.nextForAppender() == nil)
        #expect(queue.claim() == nil)
    }

    /// A failure before the terms are sorted wakes a helper waiting for them, with no chunk.
    @Test func termChunkQueueFailureBeforeStartWakesHelpers() {
        let queue = TermChunkQueue(count: 4, window: 2)
        let helper = Self.claimOnThread(queue)  // waits for start
        queue.fail(MailsiftError(.io, "disk full"))
        #expect(helper.done.wait(timeout: .now() + 60) == .success, "a helper still waits for the terms after the failure")
        #expect(helper.got.withLock { $0 } == nil)
    }

    /// A helper's claim on a thread of its own: `done` is signalled once it returns; `got`
    /// then holds the chunk's number followed by its terms (nil: no chunk).
    static func claimOnThread(_ queue: TermChunkQueue) -> (done: DispatchSemaphore, got: Locked<[Int32]?>) {
        let done = DispatchSemaphore(value: 0)
        let got = Locked<[Int32]?>([-1])
        Thread {
            let chunk = queue.claim()
            got.withLock { $0 = chunk.map { [Int32($0.0)] + $0.1 } }
            done.signal()
        }.start()
        return (done, got)
    }

    /// A failure stops everyone: a helper waiting for the window to move gets no chunk, and
    /// the appender gets the error instead of waiting for a chunk that will never come.
    @Test func termChunkQueueFailureWakesEveryThread() throws {
        let queue = TermChunkQueue(count: 10, window: 1)
        queue.start((0..<10).map { ArraySlice([Int32($0)]) })
        #expect(queue.claim()?.0 == 0)
        let helper = Self.claimOnThread(queue)  // waits: the window is full
        queue.fail(MailsiftError(.io, "disk full"))
        #expect(helper.done.wait(timeout: .now() + 60) == .success, "a helper still waits after the failure")
        #expect(helper.got.withLock { $0 } == nil)
        #expect(throws: MailsiftError.self) { _ = try queue.nextForAppender() }
        #expect(throws: MailsiftError.self) { try queue.waitForClaims(5) }
    }
}

/// (In StorageFaultTests' serialized suite: the faults and their counter are process-wide.)
extension StorageFaultTests {
    /// A parallel flush fsyncs each file once: a fault on a second fsync of the stored text or
    /// values (synced early, on a thread of their own) never fires, and the segment is whole.
    @Test(arguments: [".stored", ".values"])
    func parallelFlushSyncsEachFileOnce(path: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-pflushsync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var (builder, _) = SegmentBuilderTests.randomBuilder(seed: 7, docCount: 600)
        let before = StorageFaults.injected
        StorageFaults.inject(.fsync, under: dir, path: path, after: 1, errno: EIO)
        defer { StorageFaults.clear() }
        let out = try SegmentOutput(directory: dir, name: "seg_once")
        try out.complete { () throws(MailsiftError) in
            try builder.write(to: out, helpers: 2, parallelAbove: 0, chunkTerms: 5)
        }
        #expect(StorageFaults.injected == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == SegmentFiles.kinds.count)
    }

    /// A write that fails on a helper's file (stored text) or on the appender's (postings),
    /// or an fsync that fails on the helper's files (synced on a thread of their own) or the
    /// appender's, fails the parallel flush with the disk's error, every thread stopped,
    /// nothing left.
    @Test(arguments: [(StorageFaults.Operation.write, ".stored"), (.write, ".docs"), (.write, ".terms"),
                      (.fsync, ".stored"), (.fsync, ".values"), (.fsync, ".pos")])
    func parallelFlushFailsCleanly(operation: StorageFaults.Operation, path: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-pflushfault-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var (builder, _) = SegmentBuilderTests.randomBuilder(seed: 6, docCount: 600)
        let before = StorageFaults.injected
        StorageFaults.inject(operation, under: dir, path: path, errno: ENOSPC)
        defer { StorageFaults.clear() }
        let out = try SegmentOutput(directory: dir, name: "seg_fault")
        let error = #expect(throws: MailsiftError.self) {
            try out.complete { () throws(MailsiftError) in
                try builder.write(to: out, helpers: 2, parallelAbove: 0, chunkTerms: 5, helpersFirst: true)
            }
        }
        #expect(error?.code == .io, "\(String(describing: error))")
        #expect(StorageFaults.injected == before + 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }
}

/// When the system gives no thread (`.thread` faults: `startThread` failing as it does at
/// RLIMIT_NPROC), nothing waits for one: a parallel flush, a merge and a background fsync do
/// the work on the calling thread instead, and write the same bytes.
extension StorageFaultTests {
    @Test(.timeLimit(.minutes(1)), arguments: [1, Int.max])
    func parallelFlushWithoutThreadsWritesTheSameBytes(times: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-nothread-\(UUID().uuidString)").path
        let quiet = dir + "/quiet", faulty = dir + "/faulty"
        for d in [quiet, faulty] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func flushed(into path: String) throws -> [[UInt8]] {
            var (builder, _) = SegmentBuilderTests.randomBuilder(seed: 8, docCount: 600)
            let out = try SegmentOutput(directory: path, name: "seg_flush")
            try out.complete { () throws(MailsiftError) in
                try builder.write(to: out, helpers: 2, parallelAbove: 0, chunkTerms: 5)
            }
            return try SegmentFiles.kinds.map { Array(try Data(contentsOf: URL(fileURLWithPath: SegmentFiles.path(path, "seg_flush", $0)))) }
        }
        let expected = try flushed(into: quiet)
        let before = StorageFaults.injected
        // Once: the first helper (the one that writes the stored text) gets no thread; always: neither.
        StorageFaults.inject(.thread, under: faulty, times: times)
        defer { StorageFaults.clear() }
        let got = try flushed(into: faulty)
        #expect(StorageFaults.injected == before + (times == 1 ? 1 : 2))
        for (k, kind) in SegmentFiles.kinds.enumerated() {
            let same = expected[k] == got[k]
            #expect(same, "\(kind): \(expected[k].count) vs \(got[k].count) bytes")
        }
    }

    @Test(.timeLimit(.minutes(1))) func mergeWithoutThreadsWritesTheSameBytes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-nothreadmerge-\(UUID().uuidString)").path
        let quiet = dir + "/quiet", faulty = dir + "/faulty"
        for d in [quiet, faulty] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two inputs, one with deletions.
        var inputs: [(reader: SegmentReader, deletions: Deletions)] = []
        for seed: UInt64 in [9, 10] {
            var (builder, _) = SegmentBuilderTests.randomBuilder(seed: seed, docCount: 500)
            let name = "seg_in\(seed)"
            let out = try SegmentOutput(directory: dir, name: name)
            try out.complete { () throws(MailsiftError) in try builder.write(to: out) }
            let sizes = try SegmentFiles.kinds.map { UInt64(try Data(contentsOf: URL(fileURLWithPath: SegmentFiles.path(dir, name, $0))).count) }
            let entry = Manifest.SegmentEntry(name: name, documentCount: 500, deletionsGeneration: 0, deletedCount: 0, fileSizes: sizes)
            var deletions = Deletions(documentCount: 500)
            if seed == 10 { for d in stride(from: UInt32(3), to: 500, by: 7) { deletions.delete(d) } }
            inputs.append((try SegmentReader(directory: dir, entry: entry), deletions))
        }
        func merged(into path: String) throws -> [[UInt8]] {
            let output = try SegmentOutput(directory: path, name: "seg_out")
            _ = try output.complete { () throws(MailsiftError) in
                try SegmentMerger.merge(inputs, storedCompressionLevel: 4, into: output, parallel: true, splitAbove: 0, parts: 4)
            }
            return try SegmentFiles.kinds.map { Array(try Data(contentsOf: URL(fileURLWithPath: SegmentFiles.path(path, "seg_out", $0)))) }
        }
        // The terms pass is split, so merge helpers are started (and refused below).
        #expect(!(try SegmentMerger.splitKeys(inputs, splitAbove: 0, parts: 4)).isEmpty)
        let expected = try merged(into: quiet)
        let before = StorageFaults.injected
        StorageFaults.inject(.thread, under: faulty, times: Int.max)
        defer { StorageFaults.clear() }
        let got = try merged(into: faulty)
        // The stored pass and at least one merge helper were refused a thread.
        #expect(StorageFaults.injected >= before + 2, "\(StorageFaults.injected - before) threads refused")
        for (k, kind) in SegmentFiles.kinds.enumerated() {
            let same = expected[k] == got[k]
            #expect(same, "\(kind): \(expected[k].count) vs \(got[k].count) bytes")
        }
    }
}
