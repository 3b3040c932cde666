import Catalog
import Foundation
import IndexEngine
import Ingest
import MailsiftCore
@testable import Query
import Testing
import TestSupport

/// Query bombs on a real index (SpamAssassin ham plus a message of 20,000 distinct words that
/// start with "a"): deeply nested parentheses, 100,000 OR terms, `a*` over the dictionary,
/// fuzzy matching of long words, substrings that match most of the dictionary. Each is
/// answered or refused with a clear error: by the parsers' limits (length, depth), by the
/// expansion limit, or by the query's time budget; never a trap or a hang.
@Suite(.serialized) struct QueryBombTests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/easy_ham").path

    static func engine(_ tmp: String) throws -> QueryEngine {
        let mail = tmp + "/mail"
        try FileManager.default.createDirectory(atPath: mail, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: corpus).sorted().filter({ !$0.hasPrefix(".") }).prefix(300) {
            try FileManager.default.copyItem(atPath: corpus + "/" + name, toPath: mail + "/" + name)
        }
        var words = "Subject: many words\r\n\r\n"
        for i in 0..<20_000 { words += "a" + String(i * 7919 % 1_000_003, radix: 36) + "x " }
        try words.write(toFile: mail + "/many-words.eml", atomically: false, encoding: .utf8)
        _ = try UserIndexer(dataRoot: tmp + "/data", user: "q").index([mail])
        let dir = try UserDirectory(dataRoot: tmp + "/data", user: "q")
        return QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath))
    }

    /// Answered, or refused as over a limit; anything else fails the test.
    static func answeredOrRefused(_ body: () throws -> Void, _ what: String) {
        do {
            try body()
        } catch let e as MailsiftError {
            #expect(e.code == .limitExceeded, "\(what): \(e)")
        } catch let e as QueryError {
            #expect(e.message.contains("deep") || e.message.contains("long") || e.message.contains("limit"), "\(what): \(e)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)), .timeLimit(.minutes(3)))
    func bombsAreAnsweredOrRefused() throws {
        let tmp = scratchPath("qbomb")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let engine = try Self.engine(tmp)
        var options = SearchOptions()
        options.limits.timeBudget = 2

        // Nesting: refused by the parsers.
        let nested = String(repeating: "(", count: 100_000) + "linux" + String(repeating: ")", count: 100_000)
        #expect(throws: QueryError.self) { try WebmailQueryParser.parse(nested) }
        #expect(throws: QueryError.self) { try IMAPSearchParser.parse(nested) }
        #expect(throws: QueryError.self) { try IMAPSearchParser.parse(String(repeating: "OR ", count: 100_000) + "ALL ALL") }
        #expect(throws: QueryError.self) { try IMAPSearchParser.parse(String(repeating: "NOT ", count: 100_000) + "ALL") }
        // Over the length limit.
        let ors = (0..<100_000).map { "w\($0)" }.joined(separator: " OR ")
        #expect(throws: QueryError.self) { try WebmailQueryParser.parse(ors) }
        // 100,000 OR terms past the parser (a caller raising the length limit; or a node built
        // directly): answered within the time budget or refused by it.
        var wide = QueryLimits()
        wide.maxQueryBytes = 4 << 20
        Self.answeredOrRefused({
            let node = try WebmailQueryParser.parse(ors, limits: wide)
            _ = try engine.search(node, options: options)
        }, "100,000 OR terms")
        Self.answeredOrRefused({
            let node = QueryNode.or((0..<100_000).map { .text(.body, "a\(String($0, radix: 36))x", .substring) })
            _ = try engine.uids(node, mailbox: "INBOX", options: options)
        }, "100,000 IMAP substrings")
        // a* over more than 10,000 terms: refused, naming the prefix.
        do {
            _ = try engine.search(try WebmailQueryParser.parse("a*"), options: options)
            Issue.record("a* was answered")
        } catch let e as MailsiftError {
            #expect(e.code == .limitExceeded && e.message.contains("a*"), "\(e)")
        }
        // A narrower prefix is answered.
        #expect(try engine.search(try WebmailQueryParser.parse("linu*"), options: options).total > 0)
        // Fuzzy on long words: answered (bounded by the expansion limit).
        let long = String(repeating: "abcdefghij", count: 25)
        Self.answeredOrRefused({ _ = try engine.search(try WebmailQueryParser.parse(long + "~2"), options: options) }, "fuzzy long word")
        Self.answeredOrRefused({ _ = try engine.search(try WebmailQueryParser.parse("a1x~2 OR linux~2 OR " + long + "~1"), options: options) },
                               "fuzzy words")
        // IMAP substrings that match most of the dictionary: the stored text is scanned.
        let a = try engine.uids(.text(.body, "a", .substring), mailbox: "INBOX", options: options)
        #expect(a.count > 250)
        Self.answeredOrRefused({ _ = try engine.uids(.text(.text, "x", .substring), mailbox: "INBOX", options: options) }, "TEXT x")
    }
}
