import Analysis
import Benchmark
import Foundation
import Ingest
import MIME

/// Tokenization throughput (one core) on decoded mail text: English (Enron bodies, ASCII fast
/// path), mixed-script and CJK (the non-English messages of the corpus, through ICU).
let megabytesPerSecond = BenchmarkMetric.custom("MB/s (one core)", polarity: .prefersLarger, useScalingFactor: false)
let tokensPerSecond = BenchmarkMetric.custom("K tokens/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, megabytesPerSecond, tokensPerSecond],
        maxDuration: .seconds(10),
        maxIterations: 20
    )
    for corpus in TextCorpus.available() {
        Benchmark("tokens \(corpus.name): \(String(format: "%.1f", Double(corpus.bytes) / 1e6)) MB") { benchmark in
            let analyzer = Analyzer()
            var count = 0
            let start = ContinuousClock.now
            for _ in benchmark.scaledIterations {
                for text in corpus.texts {
                    let t = analyzer.tokens(text)
                    count += t.count
                    blackHole(t)
                }
            }
            let elapsed = ContinuousClock.now - start
            let seconds = max(1e-9, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            benchmark.measurement(megabytesPerSecond, Int(Double(corpus.bytes * benchmark.scaledIterations.count) / 1e6 / seconds))
            benchmark.measurement(tokensPerSecond, Int(Double(count) / 1e3 / seconds))
        }
    }
}

/// Decoded body text of a slice of a corpus.
struct TextCorpus: Sendable {
    var name: String
    var texts: [String]
    var bytes: Int { texts.reduce(0) { $0 + $1.utf8.count } }

    static func decode(_ files: [String], limit: Int) -> [String] {
        var limits = ParserLimits()
        limits.extractAttachments = false
        let parser = MessageParser(limits: limits)
        var texts: [String] = []
        for file in files {
            guard let messages = try? MessageFiles.read(file) else { continue }
            for m in messages {
                let doc = parser.parse(m.bytes)
                texts.append(([doc.subject ?? ""] + doc.body.map(\.text)).joined(separator: "\n"))
            }
            if texts.count >= limit { break }
        }
        return texts
    }

    static func available() -> [TextCorpus] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardizedFileURL.path
        let shared = ProcessInfo.processInfo.environment["MAILSIFT_SHARED_CORPUS"] ?? root + "/../shared/corpus"
        let cache = ProcessInfo.processInfo.environment["MAILSIFT_CORPUS_CACHE"] ?? "/tmp/mailsift-corpus"
        var out: [TextCorpus] = []
        let enron = cache + "/enron-inbox"
        if FileManager.default.fileExists(atPath: enron) {
            out.append(TextCorpus(name: "english (enron)", texts: decode(MessageFiles.files(under: [enron]), limit: 5000)))
        }
        if let tsv = try? String(contentsOfFile: shared + "/NON-ENGLISH.tsv", encoding: .utf8) {
            var cjk: [String] = [], mixed: [String] = []
            for line in tsv.split(separator: "\n") {
                let f = line.split(separator: "\t")
                guard f.count == 3, !f[2].hasPrefix("lkml"), !line.hasPrefix("#") else { continue }
                let path = shared + "/" + f[2]
                if ["Han", "Kana", "Hangul"].contains(String(f[0])) { cjk.append(path) } else if f[0] != "script" { mixed.append(path) }
            }
            let cjkTexts = decode(cjk, limit: 1000)
            out.append(TextCorpus(name: "cjk mail (whole messages)", texts: cjkTexts))
            // Only the lines that are mostly Han, kana or Hangul: CJK text as such.
            let lines = cjkTexts.flatMap { $0.split(separator: "\n") }.filter { line in
                let scalars = line.unicodeScalars.filter { !$0.properties.isWhitespace }
                let cjkCount = scalars.filter { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) || (0xAC00...0xD7AF).contains($0.value) }.count
                return scalars.count >= 4 && cjkCount * 2 >= scalars.count
            }
            // Joined into ~4 KB bodies: the analyzer is called once per body, not per line.
            var bodies: [String] = [], current = ""
            for line in lines {
                current += line + "\n"
                if current.utf8.count >= 4096 { bodies.append(current); current = "" }
            }
            if !current.isEmpty { bodies.append(current) }
            out.append(TextCorpus(name: "cjk text", texts: bodies))
            out.append(TextCorpus(name: "mixed-script", texts: decode(mixed, limit: 1000)))
        }
        return out.filter { !$0.texts.isEmpty }
    }
}
