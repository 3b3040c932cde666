import Benchmark
import Catalog
import Foundation
import IndexEngine
import Ingest
import Query

/// Query latency per class on lkml-linux-btrfs (50,000 messages), in process, one snapshot
/// reused (as the daemon does). The index is built once into MAILSIFT_BENCH_INDEX (default
/// /tmp/mailsift-bench-lkml) from the unpacked corpus (tools/walk-corpus.sh unpacks it into
/// /tmp/mailsift-corpus) and compacted.
let indexRoot = ProcessInfo.processInfo.environment["MAILSIFT_BENCH_INDEX"] ?? "/tmp/mailsift-bench-lkml"
let corpus = (ProcessInfo.processInfo.environment["MAILSIFT_CORPUS_CACHE"] ?? "/tmp/mailsift-corpus") + "/lkml-linux-btrfs"

func openEngine() -> QueryEngine? {
    do {
        let dir = try UserDirectory(dataRoot: indexRoot, user: "lkml")
        if !dir.exists {
            guard FileManager.default.fileExists(atPath: corpus) else {
                print("QueryBenchmarks: \(corpus) not found (run tools/walk-corpus.sh first)")
                return nil
            }
            let indexer = try UserIndexer(dataRoot: indexRoot, user: "lkml")
            _ = try indexer.index([corpus])
            try indexer.compact()
        }
        return QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath))
    } catch {
        print("QueryBenchmarks: \(error)")
        return nil
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock], maxDuration: .seconds(5), maxIterations: 2000)
    guard let engine = openEngine() else { return }
    func page(_ snippets: Bool = false) -> SearchOptions {
        var o = SearchOptions(now: 1_700_000_000)
        o.limit = 20
        o.snippets = snippets
        return o
    }
    let classes: [(String, QueryNode, Bool)] = [
        ("word: balance", .text(.text, "balance", .words), false),
        ("two-word AND: kernel panic", .and([.text(.text, "kernel", .words), .text(.text, "panic", .words)]), false),
        ("phrase: \"transaction abort\"", .text(.text, "transaction abort", .phrase), false),
        ("from: dsterba", .text(.from, "dsterba", .words), false),
        ("date range: 2021-03-01..2021-04-01", .and([.date(.arrival, .since, SearchDay(year: 2021, month: 3, day: 1)),
                                                     .date(.arrival, .before, SearchDay(year: 2021, month: 4, day: 1))]), false),
        ("IMAP substring, 5 letters: BODY lloca", .text(.body, "lloca", .substring), false),
        ("IMAP SUBJECT substring: SUBJECT \"raid5\"", .text(.subject, "raid5", .substring), false),
        ("no match: zqxjvkw", .text(.text, "zqxjvkw", .words), false),
        ("webmail with snippets: from:josef balance snapshot", .and([.text(.from, "josef", .words), .text(.text, "balance", .words),
                                                                      .text(.text, "snapshot", .words)]), true),
    ]
    for (name, node, snippets) in classes {
        Benchmark(name) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try engine.search(node, options: page(snippets)).total)
            }
        }
    }
}
