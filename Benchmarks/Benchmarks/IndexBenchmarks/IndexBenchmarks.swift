import Benchmark
import Foundation
import IndexFormat
import Ingest

/// Postings decode speed (one core) and indexing throughput from files to a committed index.
let docsPerSecond = BenchmarkMetric.custom("M docids/s", polarity: .prefersLarger, useScalingFactor: false)
let messagesPerSecond = BenchmarkMetric.custom("messages/s", polarity: .prefersLarger, useScalingFactor: false)
let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)

/// A dense postings list: 10M docids with gaps of 1-3 (a common word in a big mailbox).
func densePostings() -> (docs: [UInt8], positions: [UInt8], info: TermPostingsInfo, count: Int) {
    var docs: [UInt32] = []
    var d: UInt32 = 0
    var state: UInt64 = 7
    for _ in 0..<10_000_000 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        d += 1 + UInt32((state >> 33) % 3)
        docs.append(d)
    }
    var writer = PostingsWriter()
    let freqs = [UInt32](repeating: 1, count: docs.count)
    let positions = [[UInt32]](repeating: [0], count: docs.count)
    let info = (try? writer.add(docIDs: docs, freqs: freqs, positions: positions))
        ?? TermPostingsInfo(docFreq: 0, totalTermFreq: 0, docsOffset: 0, positionsOffset: 0)
    let (docsFile, positionsFile) = writer.finish()
    return (docsFile, positionsFile, info, docs.count)
}

/// A space or a newline, from a random word.
func separator(_ x: UInt64) -> UInt8 { x >> 60 == 0 ? 0x0A : 0x20 }

func seconds(_ d: Duration) -> Double { max(1e-9, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(10), maxIterations: 20)

    // CRC-32C over 64 MiB (every index file is summed when written, opened, merged, verified).
    let block = (0..<(64 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
    for (name, sum) in [("instruction", CRC32C.checksum as @Sendable (UnsafeRawBufferPointer, UInt32) -> UInt32),
                        ("tables", CRC32C.checksumWithTables as @Sendable (UnsafeRawBufferPointer, UInt32) -> UInt32)] {
        Benchmark("CRC-32C, 64 MiB, \(name)", configuration: .init(metrics: [.wallClock, megabytesPerSecond])) { benchmark in
            let start = ContinuousClock.now
            var c: UInt32 = 0
            for _ in benchmark.scaledIterations { c = block.withUnsafeBytes { sum($0, c) } }
            blackHole(c)
            benchmark.measurement(megabytesPerSecond, Int(Double(block.count * benchmark.scaledIterations.count) / 1e6 / seconds(ContinuousClock.now - start)))
        }
    }

    // Substring search (IMAP keys over term texts and stored text): 64 MiB of lowercase
    // words, a 12-byte needle that is not there, at each implementation level.
    var words: [UInt8] = []
    var x: UInt64 = 3
    while words.count < 64 << 20 {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        let n = 2 + Int((x >> 40) % 9)
        for k in 0..<n { words.append(UInt8(97 + Int((x >> UInt64(8 + 3 * k)) % 26))) }
        words.append(separator(x))
    }
    let text = words
    let needle = Array("btrfs_qgroupx".utf8)
    for (name, level) in [("AVX2", 2), ("SSE2", 1), ("plain C", 0)] {
        for caseBlind in [false, true] {
            Benchmark("byte search, 64 MiB, \(name)\(caseBlind ? ", case-blind" : "")", configuration: .init(metrics: [.wallClock, megabytesPerSecond])) { benchmark in
                guard ByteSearch.forceLevel(level) == level else { return }  // not on this processor
                defer { ByteSearch.forceLevel(2) }
                let start = ContinuousClock.now
                var found = 0
                for _ in benchmark.scaledIterations {
                    text.withUnsafeBufferPointer { hay in
                        needle.withUnsafeBufferPointer { nd in
                            let at = caseBlind ? ByteSearch.firstIndexIgnoringASCIICase(of: nd, in: hay) : ByteSearch.firstIndex(of: nd, in: hay)
                            found &+= at ?? -1
                        }
                    }
                }
                blackHole(found)
                benchmark.measurement(megabytesPerSecond, Int(Double(text.count * benchmark.scaledIterations.count) / 1e6 / seconds(ContinuousClock.now - start)))
            }
        }
    }

    let dense = densePostings()
    Benchmark("postings decode, dense 10M docids, nextBlock", configuration: .init(metrics: [.wallClock, docsPerSecond])) { benchmark in
        try dense.docs.withUnsafeBytes { d in
            try dense.positions.withUnsafeBytes { p in
                let reader = try PostingsReader(docs: d, positions: p)
                let buffer = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)
                defer { buffer.deallocate() }
                let start = ContinuousClock.now
                var total = 0
                for _ in benchmark.scaledIterations {
                    var it = try reader.iterator(dense.info)
                    while true {
                        let n = try it.nextBlock(into: buffer)
                        if n == 0 { break }
                        total += n
                    }
                }
                benchmark.measurement(docsPerSecond, Int(Double(total) / 1e6 / seconds(ContinuousClock.now - start)))
            }
        }
    }
    Benchmark("postings decode, dense 10M docids, next()", configuration: .init(metrics: [.wallClock, docsPerSecond])) { benchmark in
        try dense.docs.withUnsafeBytes { d in
            try dense.positions.withUnsafeBytes { p in
                let reader = try PostingsReader(docs: d, positions: p)
                let start = ContinuousClock.now
                var total = 0
                for _ in benchmark.scaledIterations {
                    var it = try reader.iterator(dense.info)
                    var doc = it.doc
                    while doc != PostingsIterator.noMoreDocs {
                        total += 1
                        doc = try it.next()
                    }
                }
                benchmark.measurement(docsPerSecond, Int(Double(total) / 1e6 / seconds(ContinuousClock.now - start)))
            }
        }
    }

    // Indexing: the inboxes of the first 14 Enron users (~5,000 messages, unpacked by
    // tools/walk-corpus.sh) from files into a new, committed index.
    let cache = ProcessInfo.processInfo.environment["MAILSIFT_CORPUS_CACHE"] ?? "/tmp/mailsift-corpus"
    let root = cache + "/enron-inbox/maildir"
    let users = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted().prefix(14).map { root + "/" + $0 }
    if !users.isEmpty {
        Benchmark("index enron, 14 users' inboxes (files → committed index)",
                  configuration: .init(metrics: [.wallClock, .peakMemoryResident, messagesPerSecond], maxIterations: 5)) { benchmark in
            for _ in benchmark.scaledIterations {
                let data = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-bench-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: data) }
                let indexer = try UserIndexer(dataRoot: data, user: "bench", extractAttachments: false)
                let start = ContinuousClock.now
                let report = try indexer.index(Array(users))
                benchmark.measurement(messagesPerSecond, Int(Double(report.added) / seconds(ContinuousClock.now - start)))
            }
        }
    }
}
