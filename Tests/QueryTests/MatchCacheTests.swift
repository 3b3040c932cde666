import Catalog
import Foundation
import IndexEngine
import Ingest
@testable import Query
import Testing
import TestSupport

/// A common word's documents, kept with the segment after its first query
/// (`SegmentReader.keepMatches`), give the same answers as its postings read again: the same
/// totals, pages and scores on real mail (SpamAssassin ham), on the second query as on the
/// first, and after messages are removed from a segment whose matches were kept (the reader
/// that reuses it applies the new deletions to the kept bits).
@Suite struct MatchCacheTests {
    static let corpus = spamAssassinFolder("easy_ham")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func keptMatchesAnswerLikePostings() throws {
        let tmp = scratchPath("matchcache")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let mail = tmp + "/mail/cur"
        _ = try corpusMessages(Self.corpus, count: 600, copyingTo: mail, numbered: true)
        _ = try UserIndexer(dataRoot: tmp, user: "m").index([tmp + "/mail"])
        let dir = try UserDirectory(dataRoot: tmp, user: "m")
        let queries = ["the", "list", "linux", "the list", "from:jm", "subject:re", "razor OR spamassassin", "date -the", "list in:cur"]
        func options(cache: Bool) -> SearchOptions {
            var o = SearchOptions()
            o.limit = 15
            o.snippets = false
            o.matchCacheMinimumDocuments = cache ? 0 : .max
            return o
        }
        func answers(_ engine: QueryEngine, cache: Bool) throws -> [String] {
            try queries.map { q in
                let r = try engine.search(try WebmailQueryParser.parse(q), options: options(cache: cache))
                return "\(q): \(r.total) \(r.hits.map(\.docid)) \(r.hits.map(\.score))"
            }
        }
        let reader = try IndexReader(directory: dir)
        let catalog = try Catalog(path: dir.catalogPath)
        let engine = QueryEngine(reader: reader, catalog: catalog)
        let uncached = try answers(engine, cache: false)
        #expect(reader.segments.allSatisfy { $0.reader.keptMatches == 0 })
        // First with the cache (fills it), then from it.
        #expect(try answers(engine, cache: true) == uncached)
        let kept = reader.segments.reduce(0) { $0 + $1.reader.keptMatches }
        #expect(kept >= 5)
        #expect(try answers(engine, cache: true) == uncached)
        #expect(uncached.contains { !$0.contains(": 0 [") })

        // Messages removed: the reused segment keeps its kept matches, and the deletions apply.
        for i in stride(from: 5, to: 600, by: 7) { try FileManager.default.removeItem(atPath: mail + String(format: "/%04d.eml", i)) }
        let report = try UserIndexer(dataRoot: tmp, user: "m").index([tmp + "/mail"], merge: false)
        #expect(report.removed == 85)
        let after = try IndexReader(directory: dir, reusing: reader)
        #expect(after.segments.contains { s in reader.segments.contains { $0.reader === s.reader } && s.reader.keptMatches > 0 })
        let engine2 = QueryEngine(reader: after, catalog: try Catalog(path: dir.catalogPath))
        let fresh = try answers(engine2, cache: false)
        #expect(fresh != uncached)
        #expect(try answers(engine2, cache: true) == fresh)
    }
}
