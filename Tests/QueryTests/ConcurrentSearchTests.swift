import Foundation
@testable import Query
import Synchronization
import Testing

/// Searches run concurrently on one engine (the daemon's search pool): each answers as it
/// does alone. Under ThreadSanitizer in CI: the pooled analyzers, the term texts and their
/// filters built on first use, the fold table, the window maxima cache.
@Suite(.serialized) struct ConcurrentSearchTests {
    @Test func concurrentSearchesAnswerAsAlone() throws {
        let f = try QueryEngineTests.Fixture()
        let webmail: [String] = ["budget", "invoice", "report", "pay monday", "from:dana", "budget OR lunch", "quartalsübersicht"]
        let imap: [String] = ["BODY udge", "SUBJECT \"re: b\"", "TEXT team@example", "BODY Müller", "OR BODY budget SUBJECT lunch", "BODY xyzzy"]
        // (The engine is shared across threads by design; the fixture class is not marked so.)
        nonisolated(unsafe) let shared = f
        @Sendable func answers() throws -> [String] {
            let f = shared
            var out: [String] = []
            for q in webmail {
                var o = SearchOptions(now: 1_800_000_000)
                o.snippets = true
                let r = try f.engine.search(try WebmailQueryParser.parse(q), options: o)
                out.append("\(q): \(r.total) " + r.hits.map { "\($0.docid):\($0.score):\($0.snippet?.marked ?? "")" }.joined(separator: ","))
            }
            for q in imap { out.append("\(q): \(try f.uids(q))") }
            return out
        }
        let alone = try answers()
        #expect(alone.contains { $0.hasPrefix("BODY udge: [1, 2, 3]") })
        let results = Mutex<[[String]]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<5 {
                let got = (try? answers()) ?? []
                results.withLock { $0.append(got) }
            }
        }
        let all = results.withLock { $0 }
        #expect(all.count == 40)
        for got in all { #expect(got == alone) }
    }
}
