import Catalog
import Foundation
import IndexEngine
import Ingest
@testable import Query
import Testing
import TestSupport

/// Messages parsed and analyzed on several threads (`UserIndexer(threads:)`) end up exactly as
/// with one: the same catalog rows (docid, path, UID, mailbox), the same stored text, and the
/// same matches for every query, on real mail (SpamAssassin hard ham, HTML and MIME-heavy, and
/// spam), with batches small enough that many are in flight during the run.
@Suite(.serialized) struct ParallelIndexingTests {
    static let root = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus").path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: root + "/hard_ham")))
    func severalThreadsIndexWhatOneDoes() throws {
        let tmp = scratchPath("parallel")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let sources = [Self.root + "/hard_ham", Self.root + "/spam"]
        var engines: [QueryEngine] = []
        var reports: [UserIndexer.Report] = []
        for (user, threads) in [("one", 1), ("three", 3)] {
            // commitEvery 50: batches of 50, so the pipeline holds a batch in flight throughout.
            let indexer = try UserIndexer(dataRoot: tmp, user: user, ramBudget: 4 << 20, threads: threads)
            reports.append(try indexer.index(sources, commitEvery: 50))
            let dir = try UserDirectory(dataRoot: tmp, user: user)
            engines.append(QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath)))
        }
        #expect(reports[0].added > 700)
        #expect(reports[0].added == reports[1].added)
        #expect(reports[0].failed == reports[1].failed)
        // Every message: the same docid, mailbox, UID, source, sender and subject.
        var all = SearchOptions()
        all.limit = 100_000
        all.sort = .newest
        all.snippets = false
        all.sourcePaths = true
        let a = try engines[0].search(.all, options: all), b = try engines[1].search(.all, options: all)
        #expect(a.total == reports[0].added)
        func rows(_ r: SearchResults) -> [String] {
            r.hits.map { "\($0.docid) \($0.mailbox) \($0.uid) \($0.path ?? "") \($0.size) \($0.from) | \($0.subject)" }.sorted()
        }
        #expect(rows(a) == rows(b))
        // The same matches: words of the subjects, phrases, fields and substrings.
        var queries = ["free", "click here", "from:lists", "subject:re", "money OR viagra", "http", "\"mailing list\"", "html -table"]
        var rng = SplitMix64(seed: 7)
        for _ in 0..<30 {
            let words = a.hits[Int(rng.next() % UInt64(a.hits.count))].subject.split(whereSeparator: { !$0.isLetter }).filter { $0.count >= 4 }
            if let w = words.first { queries.append(String(w).lowercased()) }
        }
        for q in queries {
            let node = try WebmailQueryParser.parse(q)
            let x = try engines[0].search(node, options: all), y = try engines[1].search(node, options: all)
            #expect(x.total == y.total, "\(q)")
            #expect(Set(x.hits.map(\.docid)) == Set(y.hits.map(\.docid)), "\(q)")
        }
        for imap in ["BODY unsubscribe", "TEXT \"font\"", "FROM com", "SUBJECT \"!\""] {
            let node = try IMAPSearchParser.parse(imap).criteria
            let x = try engines[0].uids(node, mailbox: "INBOX")
            #expect(!x.isEmpty, "\(imap)")
            #expect(try x == engines[1].uids(node, mailbox: "INBOX"), "\(imap)")
        }
    }
}
