import Catalog
import Foundation
import IndexEngine
import Ingest
@testable import Query
import Testing
import TestSupport

/// One-word pages read off the segments' champion lists (`Execution.championTop`) equal the
/// exhaustive ranking's: same messages, same scores, same order, on real mail (SpamAssassin
/// ham, several segments), for lists shorter than a page (the usual ranking takes over), just
/// long enough, and long; with a mailbox filter, an offset, and after messages are removed from
/// segments whose lists were kept. The pruned windows are checked beside them.
@Suite(.serialized) struct ChampionRankingTests {
    static let corpus = spamAssassinFolder("easy_ham")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func championPagesEqualExhaustiveOnes() throws {
        let tmp = scratchPath("champion")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // Two mailboxes, several segments (a small RAM budget).
        _ = try corpusMessages(Self.corpus, count: 900, copyingTo: tmp + "/mail/cur", numbered: true)
        _ = try corpusMessages(spamAssassinFolder("hard_ham"), count: 200, copyingTo: tmp + "/mail/.Hard/cur", numbered: true)
        _ = try UserIndexer(dataRoot: tmp, user: "c", ramBudget: 1 << 20).index([tmp + "/mail"], merge: false)
        let dir = try UserDirectory(dataRoot: tmp, user: "c")
        let queries = ["the", "list", "linux", "razor", "spamassassin", "http", "received", "exmh", "perl", "subject:re",
                       "from:jm", "in:Hard the", "in:INBOX list", "sourceforge", "zzzzqqq"]
        /// depth nil: exhaustive; 0: the pruned windows.
        func page(_ engine: QueryEngine, _ q: String, offset: Int, limit: Int, depth: Int?) throws -> String {
            var o = SearchOptions()
            o.offset = offset
            o.limit = limit
            o.snippets = false
            if let depth {
                o.championDepth = depth
                o.championMinimumPostings = 0
                o.denseRankingPostings = 0
            } else {
                o.exhaustiveRanking = true
            }
            let r = try engine.search(try WebmailQueryParser.parse(q), options: o)
            return "\(q) \(offset)+\(limit): \(r.total) \(r.hits.map(\.docid)) \(r.hits.map(\.score))"
        }
        func check(_ reader: IndexReader) throws -> Int {
            let engine = QueryEngine(reader: reader, catalog: try Catalog(path: dir.catalogPath))
            var compared = 0
            for q in queries {
                for (offset, limit) in [(0, 1), (0, 10), (0, 20), (15, 10), (40, 30)] {
                    let exhaustive = try page(engine, q, offset: offset, limit: limit, depth: nil)
                    // Lists shorter than a page, about a page, and long; twice (the second from
                    // the kept lists).
                    // (0: no lists, the pruned windows: "the" is in more documents than
                    // there are, counting its variant key, and took a negative idf before.)
                    for depth in [0, 4, 25, 64, 1_024, 1_024] {
                        let champion = try page(engine, q, offset: offset, limit: limit, depth: depth)
                        #expect(champion == exhaustive, "depth \(depth)\n\(champion)\n\(exhaustive)")
                        compared += 1
                    }
                }
            }
            return compared
        }
        let reader = try IndexReader(directory: dir)
        #expect(reader.segments.count > 2)
        #expect(try check(reader) == 450)
        // The lists were used (kept with the segments), and the filters matter here.
        #expect(reader.segments.contains { $0.reader.keptTopLists > 0 })
        let engine = QueryEngine(reader: reader, catalog: try Catalog(path: dir.catalogPath))
        let all = try engine.search(try WebmailQueryParser.parse("the"), options: SearchOptions()).total
        let hard = try engine.search(try WebmailQueryParser.parse("in:Hard the"), options: SearchOptions()).total
        #expect(hard > 20 && hard < all)

        // Messages removed from kept segments: the lists stay, the deletions apply.
        for i in stride(from: 3, to: 900, by: 5) { try FileManager.default.removeItem(atPath: tmp + String(format: "/mail/cur/%04d.eml", i)) }
        let report = try UserIndexer(dataRoot: tmp, user: "c").index([tmp + "/mail"], merge: false)
        #expect(report.removed == 180)
        let after = try IndexReader(directory: dir, reusing: reader)
        #expect(after.segments.contains { s in reader.segments.contains { $0.reader === s.reader } })
        #expect(try check(after) == 450)
    }
}
