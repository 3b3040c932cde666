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
        var decided = 0, undecided = 0
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
            if let depth, depth > 0, r.total > 0 {
                if r.byChampionLists { decided += 1 } else { undecided += 1 }
            }
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
        // Both ways were taken: most pages off the lists, some (lists shorter than the page,
        // or too short for the filtered matches) the usual way.
        #expect(decided > 150 && undecided > 20, "decided \(decided), undecided \(undecided)")
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

    /// A segment's share of a page picked off a list whose sums are large and nearly equal, so
    /// rounding orders some of their scores against their sums: the pick holds what ordering
    /// every match by its computed score (then the later doc) gives, or declines.
    @Test func picksFollowScoresThroughRounding() {
        var rng = SplitMix64(seed: 7)
        var checked = 0, declined = 0
        for round in 0..<400 {
            let base = [1.0e6, 3.0e6, 1.0e7, 2.0e7, 8.0, 0.75][round % 6]
            // Sums descending in steps of 0, 2 ulps or a few 1e-9 of the sum.
            var sums: [Double] = []
            var sum = base
            for _ in 0..<200 {
                sums.append(sum)
                switch rng.next() % 4 {
                case 0: break
                case 1: sum = sum.nextDown.nextDown
                default: sum -= sum * 1e-9 * Double(1 + rng.next() % 3)
                }
            }
            // Docs in no particular order (unique).
            var docs = Array(UInt32(0)..<UInt32(1_000))
            for i in stride(from: docs.count - 1, to: 0, by: -1) { docs.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var list: [SegmentReader.RankedDocument] = []
            for (i, s) in sums.enumerated() { list.append(.init(doc: docs[i], sum: s)) }
            list.sort { ($0.sum, $0.doc) > ($1.sum, $1.doc) }
            let idf = [0.05, 1.3, 7.0][round % 3]
            let matchEvery = UInt32(1 + rng.next() % 3)
            let isMatch = { (d: UInt32) in d % matchEvery == 0 }
            let matches = list.filter { isMatch($0.doc) }.count
            let k = 1 + Int(rng.next() % 40)
            let depth = [list.count, list.count + 1, 60][round % 3]
            let shown = Array(list.prefix(depth))
            guard let picked = Execution.championPick(shown, k: k, depth: depth, matches: matches, idf: idf, isMatch: isMatch) else {
                declined += 1
                continue
            }
            // What every match scored and ordered gives.
            func score(_ s: Double) -> Double {
                var x = 0.0
                x += idf * s / (Execution.k1 + s)
                return x
            }
            let all = list.filter { isMatch($0.doc) }.map { (doc: $0.doc, score: score($0.sum)) }
            let best = all.sorted { ($0.score, $0.doc) > ($1.score, $1.doc) }.prefix(k)
            let fromPick = picked.sorted { ($0.score, $0.doc) > ($1.score, $1.doc) }.prefix(k)
            #expect(best.map(\.doc) == fromPick.map(\.doc), "round \(round)")
            #expect(best.map(\.score) == fromPick.map(\.score), "round \(round)")
            checked += 1
        }
        #expect(checked > 200 && declined > 0, "checked \(checked), declined \(declined)")
    }
}
