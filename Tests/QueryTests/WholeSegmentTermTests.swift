import Catalog
import Foundation
import IndexEngine
import Ingest
@testable import Query
import Testing
import TestSupport

/// A word in some field of every document of a segment (a list's name in its headers, the
/// owner's address) matches that segment whole without its postings being read. The answers
/// must stay exact: deleted documents out, segments where the word is not everywhere read as
/// usual. Real mail (SpamAssassin ham) with one header added: to every message of the first
/// part, to none of the rest; several segments; messages removed by a rescan.
@Suite struct WholeSegmentTermTests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/easy_ham").path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func everywhereWordMatchesExactlyTheLiveDocuments() throws {
        let tmp = scratchPath("whole")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let mail = tmp + "/mail/cur"
        try FileManager.default.createDirectory(atPath: mail, withIntermediateDirectories: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).filter { !$0.hasPrefix(".") && $0 != "cmds" }.sorted().prefix(400)
        var tagged = Set<String>()
        for (i, name) in names.enumerated() {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name))
            let file = String(format: "%04d.eml", i)
            if i < 300 {
                bytes = Data("Keywords: zebrafish\n".utf8) + bytes
                tagged.insert(file)
            }
            try bytes.write(to: URL(fileURLWithPath: mail + "/" + file))
        }
        // A small RAM budget: several segments, the first ones tagged throughout.
        _ = try UserIndexer(dataRoot: tmp, user: "w", ramBudget: 1 << 20).index([tmp + "/mail"], merge: false)
        // Removed by a rescan: tagged and untagged messages, some in each segment.
        for i in stride(from: 3, to: 400, by: 37) {
            try FileManager.default.removeItem(atPath: mail + String(format: "/%04d.eml", i))
            tagged.remove(String(format: "%04d.eml", i))
        }
        let report = try UserIndexer(dataRoot: tmp, user: "w", ramBudget: 1 << 20).index([tmp + "/mail"], merge: false)
        #expect(report.removed == 11)
        let dir = try UserDirectory(dataRoot: tmp, user: "w")
        let reader = try IndexReader(directory: dir)
        #expect(reader.segments.count >= 3)
        // At least one segment is tagged throughout and has deletions (the shortcut's case).
        #expect(reader.segments.contains { $0.deletions.deletedCount > 0 })

        let engine = QueryEngine(reader: reader, catalog: try Catalog(path: dir.catalogPath))
        var o = SearchOptions()
        o.limit = 1_000
        o.snippets = false
        o.sourcePaths = true
        for q in ["zebrafish", "zebrafish OR nonexistentword", "zebrafish -nonexistentword"] {
            let r = try engine.search(try WebmailQueryParser.parse(q), options: o)
            let files = Set(r.hits.compactMap { $0.path.map { URL(fileURLWithPath: $0).lastPathComponent } })
            #expect(r.total == tagged.count, "\(q)")
            #expect(files == tagged, "\(q): \(files.symmetricDifference(tagged).sorted().prefix(5))")
        }
        // The same through IMAP (a substring of the header's text) and its negation.
        let inbox = try #require(try Catalog(path: dir.catalogPath).mailboxStatuses().first?.name)
        let text = try engine.uids(IMAPSearchParser.parse("TEXT zebrafish").criteria, mailbox: inbox, options: SearchOptions())
        let all = try engine.uids(IMAPSearchParser.parse("ALL").criteria, mailbox: inbox, options: SearchOptions())
        let not = try engine.uids(IMAPSearchParser.parse("NOT TEXT zebrafish").criteria, mailbox: inbox, options: SearchOptions())
        #expect(text.count == tagged.count)
        #expect(all.count == 389)
        #expect(Set(text).union(not) == Set(all) && Set(text).isDisjoint(with: not))
    }
}
