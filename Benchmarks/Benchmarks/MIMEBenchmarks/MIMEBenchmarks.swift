import Benchmark
import Foundation
import Ingest
import MIME

/// Parse + decode throughput of the MIME layer on slices of the real corpora, attachment text
/// extraction excluded (it runs subprocesses and is measured on its own). One benchmark
/// iteration parses the whole slice; throughput in MB/s = slice bytes / wall time (the slice
/// size is in the benchmark's name).
let megabytesPerSecond = BenchmarkMetric.custom("MB/s (one core)", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident, megabytesPerSecond],
        maxDuration: .seconds(10),
        maxIterations: 20
    )

    for slice in CorpusSlice.available() {
        let bytes = slice.messages.reduce(0) { $0 + $1.count }
        let name = "parse \(slice.name): \(slice.messages.count) msgs, \(String(format: "%.1f", Double(bytes) / 1e6)) MB"
        Benchmark(name) { benchmark in
            var limits = ParserLimits()
            limits.extractAttachments = false
            let parser = MessageParser(limits: limits)
            let start = ContinuousClock.now
            for _ in benchmark.scaledIterations {
                for message in slice.messages {
                    blackHole(parser.parse(message))
                }
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(megabytesPerSecond, Int(Double(bytes * benchmark.scaledIterations.count) / 1e6 / max(seconds, 1e-9)))
        }
    }
}

/// A named set of raw messages loaded before measuring.
struct CorpusSlice: Sendable {
    var name: String
    var messages: [[UInt8]]

    static func load(_ name: String, _ dir: String, limit: Int) -> CorpusSlice? {
        guard FileManager.default.fileExists(atPath: dir) else { return nil }
        var messages: [[UInt8]] = []
        for file in MessageFiles.files(under: [dir]) {
            guard let read = try? MessageFiles.read(file) else { continue }
            messages += read.map(\.bytes)
            if messages.count >= limit { break }
        }
        return messages.isEmpty ? nil : CorpusSlice(name: name, messages: Array(messages.prefix(limit)))
    }

    static func available() -> [CorpusSlice] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardizedFileURL.path
        let shared = ProcessInfo.processInfo.environment["MAILSIFT_SHARED_CORPUS"] ?? root + "/../shared/corpus"
        let cache = ProcessInfo.processInfo.environment["MAILSIFT_CORPUS_CACHE"] ?? "/tmp/mailsift-corpus"
        var slices: [CorpusSlice] = []
        if let custom = ProcessInfo.processInfo.environment["MAILSIFT_BENCH_CORPUS"], let s = load("custom", custom, limit: 5000) { slices.append(s) }
        if let s = load("enron", cache + "/enron-inbox", limit: 5000) { slices.append(s) }
        if let s = load("lkml", cache + "/lkml-linux-btrfs", limit: 3000) { slices.append(s) }
        if let s = load("spamassassin-ham", shared + "/spamassassin-public-corpus/easy_ham", limit: 2500) { slices.append(s) }
        if let s = load("spam", shared + "/spamassassin-public-corpus/spam", limit: 1000) { slices.append(s) }
        if let s = load("samples", root + "/corpus/samples", limit: 100) { slices.append(s) }
        return slices
    }
}
