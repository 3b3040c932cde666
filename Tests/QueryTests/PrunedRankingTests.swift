import Catalog
import Foundation
import IndexEngine
import Ingest
@testable import Query
import Testing
import TestSupport

/// The pruned ranking (windows skipped by their score bounds) and the dense one (every posting
/// added up) give exactly the pages of the exhaustive ranking: same messages, same scores, same
/// order, on real mail (2,500 SpamAssassin ham messages, several segments), for common and
/// rare words, several words, pages further in.
@Suite(.serialized) struct PrunedRankingTests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/easy_ham").path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func prunedPagesEqualExhaustiveOnes() throws {
        let tmp = scratchPath("pruned")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // A small RAM budget: several segments, as a live index has.
        _ = try UserIndexer(dataRoot: tmp, user: "p", ramBudget: 2 << 20).index([Self.corpus])
        let dir = try UserDirectory(dataRoot: tmp, user: "p")
        let reader = try IndexReader(directory: dir)
        #expect(reader.segments.count > 1)
        let engine = QueryEngine(reader: reader, catalog: try Catalog(path: dir.catalogPath))
        var queries = ["the", "list", "linux", "razor", "spamassassin", "date", "mailing list", "the list", "free software", "perl",
                       "subject:re", "from:jm", "exmh", "sourceforge", "http", "received"]
        // Plus seeded words of the subjects.
        var rng = SplitMix64(seed: 42)
        let sample = try engine.search(.all, options: { var o = SearchOptions(); o.limit = 400; o.sort = .newest; o.snippets = false; return o }())
        for _ in 0..<16 {
            let words = sample.hits[Int(rng.next() % UInt64(sample.hits.count))].subject.split(whereSeparator: { !$0.isLetter }).filter { $0.count >= 4 }
            if let w = words.first { queries.append(String(w).lowercased()) }
        }
        var pruned = 0
        for q in queries {
            let node = try WebmailQueryParser.parse(q)
            for (offset, limit) in [(0, 10), (0, 20), (15, 10), (0, 1)] {
                var o = SearchOptions()
                o.offset = offset
                o.limit = limit
                o.snippets = false
                var exhaustive = o
                exhaustive.exhaustiveRanking = true
                let b = try engine.search(node, options: exhaustive)
                // 0: pruned windows wherever the page is small; .max: every posting read.
                // (Champion lists off: they would answer the one-word pages; ChampionRankingTests.)
                o.championDepth = 0
                for postings in [0, Int.max] {
                    o.denseRankingPostings = postings
                    let a = try engine.search(node, options: o)
                    #expect(a.total == b.total, "\(q)")
                    #expect(a.hits.map(\.docid) == b.hits.map(\.docid), "\(q) offset \(offset) limit \(limit) dense up to \(postings)")
                    #expect(a.hits.map(\.score) == b.hits.map(\.score), "\(q) dense up to \(postings)")
                }
                if offset + limit < b.total / 4 { pruned += 1 }
            }
        }
        // Most of these pages took the pruned path.
        #expect(pruned >= 60)
    }
}
