import Foundation
import Ingest
import IndexEngine
import Catalog
import MailsiftCore
@testable import Query
import Testing

/// Snippets of long messages: the passage comes from the densest run of the query's words
/// (found by a byte search, then analyzed around it), highlights are exactly the words, text
/// is HTML-escaped byte by byte, and a body that cannot hold the word is not analyzed at all
/// (the subject's passage wins) unless its non-ASCII text may fold to it.
@Suite(.serialized) struct SnippetTests {
    final class Fixture {
        let tmp: String
        let engine: QueryEngine
        init(_ messages: [(subject: String, body: String)]) throws {
            tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-snippet-\(UUID().uuidString)").path
            let maildir = tmp + "/mail/INBOX"
            for sub in ["cur", "new", "tmp"] { try FileManager.default.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true) }
            for (k, m) in messages.enumerated() {
                let text = "From: Dana <dana@example.org>\r\nTo: team@example.org\r\nSubject: \(m.subject)\r\n"
                    + "Date: Mon, \(k + 1) Jul 2024 09:00:00 +0200\r\nMessage-ID: <s\(k)@example.org>\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\(m.body)\r\n"
                try text.write(toFile: maildir + "/cur/\(1000 + k).x.host:2,S", atomically: true, encoding: .utf8)
            }
            let indexer = try UserIndexer(dataRoot: tmp + "/data", user: "s")
            _ = try indexer.index([tmp + "/mail"])
            let dir = try UserDirectory(dataRoot: tmp + "/data", user: "s")
            engine = QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath))
        }
        deinit { try? FileManager.default.removeItem(atPath: tmp) }

        func snippets(_ query: String) throws -> [String: Snippet] {
            var o = SearchOptions(now: 1_800_000_000)
            o.snippets = true
            var out: [String: Snippet] = [:]
            for h in try engine.search(try WebmailQueryParser.parse(query), options: o).hits { out[h.subject] = h.snippet }
            return out
        }
    }

    static let filler = String(repeating: "The quarterly numbers were reviewed by the team on Friday afternoon. ", count: 40)

    @Test func longBodies() throws {
        let dense = "Budget one, budget two and BUDGET three."
        let f = try Fixture([
            // One early mention, a dense run 2.8 KB later: the run is the passage.
            (subject: "Numbers", body: "A budget note.\n" + Self.filler + dense + "\n" + Self.filler),
            // Markup next to the word, and a "<" carrying a combining mark (one character
            // "≮" for Swift, still a "<" byte for a browser).
            (subject: "Markup", body: Self.filler + "if a<b && budget > 0 then \"ok\" <\u{0338} done\n" + Self.filler),
            // The word in the subject only; the long ASCII body cannot hold it.
            (subject: "Budget meeting", body: Self.filler + Self.filler),
            // Only a fullwidth spelling in the body, which NFKC folds to the word.
            (subject: "Wide", body: Self.filler + " ｂｕｄｇｅｔ planning\n" + Self.filler),
        ])
        let s = try f.snippets("budget")
        let numbers = try #require(s["Numbers"])
        #expect(numbers.field == "body")
        #expect(numbers.marked.contains("<mark>Budget</mark> one, <mark>budget</mark> two and <mark>BUDGET</mark> three."))
        #expect(numbers.highlights.count == 3)
        for r in numbers.highlights {
            #expect(String(decoding: Array(numbers.text.utf8)[r], as: UTF8.self).lowercased() == "budget")
        }
        let markup = try #require(s["Markup"])
        #expect(markup.marked.contains("if a&lt;b &amp;&amp; <mark>budget</mark> &gt; 0 then &quot;ok&quot; &lt;\u{0338} done"))
        #expect(!markup.marked.contains("<\u{0338}"))
        let meeting = try #require(s["Budget meeting"])
        #expect(meeting.field == "subject" && meeting.marked == "<mark>Budget</mark> meeting")
        let wide = try #require(s["Wide"])
        #expect(wide.field == "body")
        #expect(wide.marked.contains("<mark>ｂｕｄｇｅｔ</mark> planning"))
    }

    /// The region analyzed is cut at spaces: a word straddling its edge is not cut into a
    /// false match ("xbudget" is not "budget").
    @Test func regionEdgesCutAtSpaces() {
        let text = String(repeating: "a ", count: 400) + "xbudgetx " + String(repeating: "b ", count: 100) + "budget " + String(repeating: "c ", count: 600)
        let (part, shift) = Execution.region(text, terms: ["budget"])
        let bytes = Array(text.utf8)
        #expect(shift == 0 || bytes[shift - 1] == 0x20)
        let end = shift + part.utf8.count
        #expect(end == bytes.count || bytes[end] == 0x20)
        #expect(part.contains("budget "))
        // Nothing to find in ASCII text: nothing to analyze.
        #expect(Execution.region(String(repeating: "lorem ipsum ", count: 500), terms: ["budget"]).0.isEmpty)
        // Non-ASCII text might fold to the word: analyzed.
        #expect(!Execution.region(String(repeating: "lorem ipsüm ", count: 500), terms: ["budget"]).0.isEmpty)
    }
}
