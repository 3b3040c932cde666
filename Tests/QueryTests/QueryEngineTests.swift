import Analysis
import Catalog
import Foundation
import IndexEngine
import Ingest
import MailsiftCore
@testable import Query
import Testing
import TestSupport

/// The engine end to end on the project's samples and a small Maildir: webmail operators,
/// ranking, pages, snippets, IMAP answers (UIDs, ESEARCH, flags, sequence sets), FUZZY.
@Suite(.serialized) struct QueryEngineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent("corpus/samples").path

    final class Fixture {
        let tmp: String
        let engine: QueryEngine
        init() throws {
            tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-query-\(UUID().uuidString)").path
            let fm = FileManager.default
            // A Maildir with flags in the file names, beside the samples.
            let maildir = tmp + "/mail/Work"
            for sub in ["cur", "new", "tmp"] { try fm.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true) }
            let messages: [(String, String, String)] = [
                ("1000.a.host:2,S", "Budget report", "The quarterly budget report is attached.\nRegards, Dana"),
                ("1001.b.host:2,FS", "Re: Budget report", "Thanks for the budget numbers. The invoice follows."),
                ("1002.c.host:2,R", "Lunch", "Lunch on Friday? The new place near the budget office."),
                ("1003.d.host:2,", "Invoice 42", "Please pay invoice 42 by Monday."),
            ]
            for (k, (name, subject, body)) in messages.enumerated() {
                let text = "From: Dana <dana@example.org>\r\nTo: team@example.org\r\nSubject: \(subject)\r\nDate: Mon, \(k + 1) Jul 2024 09:00:00 +0200\r\nMessage-ID: <m\(k)@example.org>\r\n\r\n\(body)\r\n"
                try text.write(toFile: maildir + "/cur/" + name, atomically: true, encoding: .utf8)
            }
            try fm.copyItem(atPath: QueryEngineTests.samples, toPath: tmp + "/mail/samples")
            let indexer = try UserIndexer(dataRoot: tmp + "/data", user: "q")
            _ = try indexer.index([tmp + "/mail"])
            let dir = try UserDirectory(dataRoot: tmp + "/data", user: "q")
            engine = QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath))
        }
        deinit { try? FileManager.default.removeItem(atPath: tmp) }

        func subjects(_ query: String, sort: SearchSort = .relevance) throws -> [String] {
            var o = SearchOptions(now: 1_800_000_000)
            o.sort = sort
            o.snippets = false
            return try engine.search(try WebmailQueryParser.parse(query), options: o).hits.map(\.subject)
        }

        func uids(_ criteria: String, mailbox: String = "Work") throws -> [UInt32] {
            try engine.uids(try IMAPSearchParser.parse(criteria).criteria, mailbox: mailbox)
        }
    }

    @Test func webmailOperators() throws {
        let f = try Fixture()
        #expect(try f.subjects("from:müller") == ["Quartalsübersicht Q3"])
        #expect(try f.subjects("from:muller") == ["Quartalsübersicht Q3"])  // diacritics folded both ways
        #expect(try f.subjects("quartalsubersicht") == ["Quartalsübersicht Q3"])
        #expect(Set(try f.subjects("has:attachment")) == ["Invitation: Quarterly review", "Your invoice for March 2024"])
        #expect(try f.subjects("invoi* -in:Work") == ["Your invoice for March 2024"])
        #expect(Set(try f.subjects("budget -is:flagged in:Work")) == ["Budget report", "Lunch"])
        #expect(Set(try f.subjects("is:unread in:Work")) == ["Lunch", "Invoice 42"])
        #expect(try f.subjects("\"budget report\" is:starred") == ["Re: Budget report"])
        #expect(try f.subjects("\"report budget\"").isEmpty)
        #expect(Set(try f.subjects("from:alice OR from:bob")) == ["first", "second"])
        #expect(Set(try f.subjects("{отчёт 会議}")) == ["Отчёт за неделю", "会議の資料"])
        #expect(try f.subjects("{отчёт 会議} -会議") == ["Отчёт за неделю"])
        #expect(try f.subjects("subject:(invoice march)") == ["Your invoice for March 2024"])
        #expect(try f.subjects("budget AROUND 1 office") == ["Lunch"])
        #expect(try f.subjects("budget AROUND 3 attached") == ["Budget report"])
        #expect(try f.subjects("rfc822msgid:<m3@example.org>") == ["Invoice 42"])
        #expect(try f.subjects("zzzz nothing").isEmpty)
    }

    /// BM25F: the subject weighs more than the body; a word twice beats once.
    @Test func rankingAndPages() throws {
        let f = try Fixture()
        let ranked = try f.subjects("budget in:Work")
        #expect(ranked.count == 3)
        #expect(Set(ranked.prefix(2)) == ["Budget report", "Re: Budget report"])
        #expect(ranked.last == "Lunch")
        var o = SearchOptions(now: 1_800_000_000)
        o.limit = 2
        o.offset = 2
        let page = try f.engine.search(try WebmailQueryParser.parse("in:Work"), options: o)
        #expect(page.total == 4 && page.hits.count == 2)
        #expect(try f.subjects("in:Work", sort: .oldest) == ["Budget report", "Re: Budget report", "Lunch", "Invoice 42"])
    }

    @Test func snippetsMarkTheMatchedWords() throws {
        let f = try Fixture()
        var o = SearchOptions(now: 1_800_000_000)
        o.snippets = true
        let hits = try f.engine.search(try WebmailQueryParser.parse("pay monday"), options: o).hits
        let s = try #require(hits.first?.snippet)
        #expect(s.marked.contains("<mark>pay</mark>") && s.marked.contains("<mark>Monday</mark>"))
        for r in s.highlights {
            let word = String(decoding: Array(s.text.utf8)[r], as: UTF8.self).lowercased()
            #expect(["pay", "monday"].contains(word))
        }
    }

    @Test func imapAnswers() throws {
        let f = try Fixture()
        #expect(try f.uids("ALL") == [1, 2, 3, 4])
        #expect(try f.uids("BODY udge") == [1, 2, 3])          // substring inside a word
        #expect(try f.uids("SUBJECT \"re: b\"") == [2])        // across punctuation and a space
        #expect(try f.uids("SEEN") == [1, 2])
        #expect(try f.uids("UNSEEN") == [3, 4])
        #expect(try f.uids("FLAGGED") == [2])
        #expect(try f.uids("ANSWERED") == [3])
        #expect(try f.uids("OR FLAGGED ANSWERED NOT SEEN") == [3])
        #expect(try f.uids("2:*") == [2, 3, 4])
        #expect(try f.uids("UID 1,3:4") == [1, 3, 4])
        #expect(try f.uids("SENTON 3-Jul-2024") == [3])
        #expect(try f.uids("SENTSINCE 3-Jul-2024 NOT SENTSINCE 4-Jul-2024") == [3])
        #expect(try f.uids("HEADER Message-ID m2@") == [3])
        #expect(try f.uids("HEADER X-Missing \"\"") == [])
        #expect(try f.uids("TEXT team@example") == [1, 2, 3, 4])
        #expect(try f.uids("FUZZY BODY bugdet") == [1, 2, 3])   // a typo, tolerated
        #expect(try f.uids("BODY bugdet") == [])
        // RFC 6203 RELEVANCY: scores 1...100 in UID order, the best match 100.
        let scored = try f.engine.uidsWithRelevancy(try IMAPSearchParser.parse("FUZZY SUBJECT budget").criteria, mailbox: "Work")
        #expect(scored.map(\.uid) == [1, 2])
        #expect(scored.map(\.relevancy).max() == 100 && scored.allSatisfy { $0.relevancy >= 1 })
        #expect(IMAPSearchParser.esearchData(scored.map(\.uid), options: [.relevancy], relevancy: scored.map(\.relevancy)).hasPrefix("RELEVANCY ("))
        #expect(try IMAPSearchParser.parse("RETURN (RELEVANCY) FUZZY BODY x").returnOptions == [.relevancy])
        let uids = try f.uids("BODY budget")
        #expect(IMAPSearchParser.esearchData(uids, options: [.min, .max, .count, .all]) == "MIN 1 MAX 3 COUNT 3 ALL 1:3")
    }

    /// Text whose folded form differs from its terms (review findings): zero-width and soft
    /// hyphen characters, compatibility characters between words, fully elided words, CJK
    /// keys across word boundaries, forged header lines, `*` per mailbox, huge pages.
    @Test func exactSubstringsOnAwkwardText() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-awkward-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fm = FileManager.default
        let boxes = ["A": 1, "B": 12]
        for (box, count) in boxes {
            let dir = tmp + "/mail/\(box)/cur"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for k in 0..<count {
                try "Subject: filler \(k)\r\n\r\nnothing\r\n".write(toFile: dir + "/\(k).x:2,", atomically: true, encoding: .utf8)
            }
        }
        let awkward: [(String, String)] = [
            ("Subject: Vi\u{200B}agra offer\r\nContent-Type: text/plain; charset=utf-8", "Cheap pills"),
            ("Subject: climate\r\nContent-Type: text/plain; charset=utf-8", "CO\u{2082} levels rise; 10\u{33A1} flat"),
            ("Subject: I'm late\r\nContent-Type: text/plain; charset=utf-8", "I'm not sure I'm coming"),
            ("Subject: infor\u{AD}mation\r\nContent-Type: text/plain; charset=utf-8", "soft hyphen inside"),
            ("Subject: =?utf-8?q?hi=0AX-Spam:_no?=", "a forged header line"),
            ("Subject: tokyo\r\nContent-Type: text/plain; charset=utf-8", "東京都市の計画"),
        ]
        let dir = tmp + "/mail/A/cur"
        for (k, (headers, body)) in awkward.enumerated() {
            try "\(headers)\r\n\r\n\(body)\r\n".write(toFile: dir + "/w\(k).x:2,", atomically: true, encoding: .utf8)
        }
        _ = try UserIndexer(dataRoot: tmp + "/data", user: "w").index([tmp + "/mail"])
        let d = try UserDirectory(dataRoot: tmp + "/data", user: "w")
        let engine = QueryEngine(reader: try IndexReader(directory: d), catalog: try Catalog(path: d.catalogPath))
        func subjects(_ imap: String) throws -> Set<String> {
            var o = SearchOptions(now: 1_800_000_000)
            o.limit = 1000
            o.snippets = false
            return Set(try engine.search(try IMAPSearchParser.parse(imap).criteria, options: o).hits.map(\.subject))
        }
        #expect(try subjects("SUBJECT viagra").count == 1)
        #expect(try subjects("BODY co2") == ["climate"])
        #expect(try subjects("BODY m2") == ["climate"])
        #expect(try subjects("SUBJECT m") .contains("I'm late"))
        #expect(try subjects("BODY \"m not\"") == ["I'm late"])
        #expect(try subjects("HEADER Subject information").count == 1)
        #expect(try subjects("TEXT information").count == 1)
        #expect(try subjects("SUBJECT information").count == 1)
        #expect(try subjects("HEADER X-Spam no").isEmpty)
        #expect(try subjects("BODY 京都") == ["tokyo"])
        #expect(try subjects("BODY 都市の") == ["tokyo"])
        // `*` is each mailbox's own largest UID: A has 1 + 6 messages, B 12.
        let a = try engine.uids(.uids(SequenceSet([.init(.number(8), .star)])), mailbox: "A")
        #expect(a == [7])  // 8:* in A is 7:8 reversed to the largest, 7
        var o = SearchOptions(now: 1_800_000_000)
        o.offset = 1
        o.limit = .max
        #expect(try engine.search(.all, options: o).total == 19)
    }

    /// Folding run by run equals folding the whole text (random mixes of ASCII, combining
    /// marks, compatibility characters, ligatures, Greek final sigma, Hangul jamo, CJK).
    @Test func piecewiseFoldEqualsWholeFold() {
        let pieces = ["e", "E", "\u{301}", "\u{327}", "a", "Z", " ", "-", "ß", "ẞ", "ﬁ", "Ｋ", "K", "℃", "²", "①", "™", "Σ", "ς", "σ",
                      "\u{1100}", "\u{1161}", "\u{11A8}", "東京", "İ", "ǅ", "\u{200B}", "\u{AD}", "Å", "A\u{30A}", "\u{FEFF}", "x", "9", "é"]
        var rng = SplitMix64(seed: 99)
        for _ in 0..<3000 {
            let text = (0..<(1 + Int(rng.next() % 12))).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            #expect(Execution.foldPiecewise(text) == Array(TextNormalizer.caseFold(text).utf8), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    /// BM25's length normalization: the same word once in a short body ranks above once in a
    /// long one.
    @Test func shortBodiesRankAboveLongOnes() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-bm25-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let dir = tmp + "/mail/cur"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let filler = (0..<400).map { "word\($0 % 37)" }.joined(separator: " ")
        try "Subject: long\r\n\r\n\(filler) invoice \(filler)\r\n".write(toFile: dir + "/1.a:2,", atomically: true, encoding: .utf8)
        try "Subject: short\r\n\r\nthe invoice, please\r\n".write(toFile: dir + "/2.b:2,", atomically: true, encoding: .utf8)
        _ = try UserIndexer(dataRoot: tmp + "/data", user: "r").index([tmp + "/mail"])
        let d = try UserDirectory(dataRoot: tmp + "/data", user: "r")
        let engine = QueryEngine(reader: try IndexReader(directory: d), catalog: try Catalog(path: d.catalogPath))
        var o = SearchOptions(now: 1_800_000_000)
        o.snippets = false
        let hits = try engine.search(try WebmailQueryParser.parse("invoice"), options: o).hits
        #expect(hits.map(\.subject) == ["short", "long"])
        #expect(hits[0].score > hits[1].score * 1.5)
    }

    @Test func editDistance() {
        func w(_ a: String, _ b: String, _ k: Int) -> Bool { Execution.withinEdits(Array(a.utf8), Array(b.utf8), k) }
        #expect(w("budget", "bugdet", 1))      // transposition
        #expect(w("budget", "budet", 1))       // deletion
        #expect(w("budget", "budgets", 1))     // insertion
        #expect(w("budget", "bodget", 1))      // substitution
        #expect(!w("budget", "bdugte", 1))
        #expect(w("budget", "bdugte", 2))
        #expect(!w("kernel", "colonel", 2))
        #expect(w("", "ab", 2) && !w("", "abc", 2))
    }

    @Test func limitsGiveErrorsNotSlowDeaths() throws {
        let f = try Fixture()
        var o = SearchOptions(now: 1_800_000_000)
        o.limits.maxExpandedTerms = 2
        #expect(throws: MailsiftError.self) { try f.engine.search(.text(.text, "e", .prefix), options: o) }
        o.limits.timeBudget = 0
        #expect(throws: MailsiftError.self) { try f.engine.search(.text(.body, "the", .substring), options: o) }
    }
}
