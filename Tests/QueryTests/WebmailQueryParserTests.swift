@testable import Query
import Testing
import TestSupport

/// The webmail (Gmail-style) query language: every operator, precedence, leniency, limits, and
/// seeded property tests of the printer and of the parser's robustness.
@Suite struct WebmailQueryParserTests {
    // MARK: Helpers (members, so that they never clash with another test file's)

    func word(_ s: String, _ f: TextField = .text) -> QueryNode { .text(f, s, .words) }
    func phrase(_ s: String, _ f: TextField = .text) -> QueryNode { .text(f, s, .phrase) }
    func prefix(_ s: String, _ f: TextField = .text) -> QueryNode { .text(f, s, .prefix) }

    func parse(_ s: String, limits: QueryLimits = QueryLimits()) -> QueryNode? {
        do {
            return try WebmailQueryParser.parse(s, limits: limits)
        } catch {
            return nil
        }
    }

    func parseError(_ s: String, limits: QueryLimits = QueryLimits()) -> QueryError? {
        do {
            _ = try WebmailQueryParser.parse(s, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    func format(_ n: QueryNode) -> String? {
        do {
            return try WebmailQueryParser.format(n)
        } catch {
            return nil
        }
    }

    func check(_ cases: [(String, QueryNode)], sourceLocation: SourceLocation = #_sourceLocation) {
        for (query, expected) in cases {
            #expect(parse(query) == expected, "query: \(query)", sourceLocation: sourceLocation)
        }
    }

    func day(_ y: Int, _ m: Int, _ d: Int) -> SearchDay { SearchDay(year: y, month: m, day: d) }

    // MARK: Words, phrases, prefixes

    @Test func wordsPhrasesAndPrefixes() {
        check([
            ("", .all),
            ("   \t\n ", .all),
            ("invoice", word("invoice")),
            ("a b", .and([word("a"), word("b")])),
            ("  a   b  c ", .and([word("a"), word("b"), word("c")])),
            ("\"a phrase\"", phrase("a phrase")),
            ("\"single\"", phrase("single")),
            ("\"unterminated phrase", phrase("unterminated phrase")),
            ("a \"b c", .and([word("a"), phrase("b c")])),
            ("\"\"", .all),
            ("\"   \"", .all),
            ("\"(not) a {group} OR -x\"", phrase("(not) a {group} OR -x")),
            ("ab\"cd\"ef", .and([word("ab"), phrase("cd"), word("ef")])),
            ("invoi*", prefix("invoi")),
            ("ab**", prefix("ab*")),
            ("*ab", word("*ab")),
            ("a*b", word("a*b")),
            ("*", .all),
            ("a * b", .and([word("a"), word("b")])),
            ("***", .all),
            ("e-mail o'brien anna@example.com a.b,c;d",
             .and([word("e-mail"), word("o'brien"), word("anna@example.com"), word("a.b,c;d")])),
        ])
    }

    @Test func nonASCIIWords() {
        check([
            ("счёт", word("счёт")),
            ("счёт фактура", .and([word("счёт"), word("фактура")])),
            ("請求書", word("請求書")),
            ("🎉", word("🎉")),
            ("👍🏽 ok", .and([word("👍🏽"), word("ok")])),
            ("\"日本 語\"", phrase("日本 語")),
            ("from:иван", word("иван", .from)),
            ("-😀", .not(word("😀"))),
            ("🎉*", prefix("🎉")),
            ("cafe\u{301}", word("cafe\u{301}")),
            // Unicode whitespace separates words too.
            ("a\u{3000}b", .and([word("a"), word("b")])),
            ("a\u{00A0}b", .and([word("a"), word("b")])),
            ("a\u{2028}b", .and([word("a"), word("b")])),
            ("مرحبا עולם", .and([word("مرحبا"), word("עולם")])),
            ("\u{0}", word("\u{0}")),
        ])
    }

    // MARK: Negation

    @Test func negation() {
        check([
            ("-a", .not(word("a"))),
            ("-\"a b\"", .not(phrase("a b"))),
            ("-(a b)", .not(.and([word("a"), word("b")]))),
            ("-{a b}", .not(.or([word("a"), word("b")]))),
            ("-from:anna", .not(word("anna", .from))),
            ("-from:(a b)", .not(.and([word("a", .from), word("b", .from)]))),
            ("-is:unread", .not(.flag(.seen, false))),
            ("-label:work", .not(.keyword("work", true))),
            ("-ab*", .not(prefix("ab"))),
            ("--a", .not(.not(word("a")))),
            ("--(a b)", .not(.not(.and([word("a"), word("b")])))),
            ("-", .all),
            ("--", .all),
            ("-*", .all),
            ("a - b", .and([word("a"), word("b")])),
            ("a -- b", .and([word("a"), word("b")])),
            ("- (a b)", .and([word("a"), word("b")])),
            ("(a -)", word("a")),
            ("-()", .all),
            ("-\"\"", .all),
            ("a-b", word("a-b")),
            ("-a-b", .not(word("a-b"))),
            ("-a OR b", .or([.not(word("a")), word("b")])),
            ("-OR", .not(word("OR"))),
        ])
    }

    // MARK: OR, AND, braces, groups

    @Test func orAndPrecedence() {
        let (a, b, c, d) = (word("a"), word("b"), word("c"), word("d"))
        check([
            ("a OR b", .or([a, b])),
            ("a OR b OR c", .or([a, b, c])),
            ("a b OR c d", .and([a, .or([b, c]), d])),
            ("a OR b c OR d", .and([.or([a, b]), .or([c, d])])),
            ("a or b", .and([a, word("or"), b])),
            ("a Or b", .and([a, word("Or"), b])),
            ("OR a", a),
            ("a OR", a),
            ("OR", .all),
            ("OR OR", .all),
            ("a OR OR b", .or([a, b])),
            ("a OR - b", .or([a, b])),
            ("a OR ) b", .and([a, b])),
            ("(a OR) b", .and([a, b])),
            ("a OR(b c)", .or([a, .and([b, c])])),
            ("{a b c}", .or([a, b, c])),
            ("{a}", a),
            ("{}", .all),
            ("{a b OR c}", .or([a, b, c])),
            ("{a (b OR c)}", .or([a, .or([b, c])])),
            ("{a (b c)}", .or([a, .and([b, c])])),
            ("a OR {b c}", .or([a, .or([b, c])])),
            ("(a b)", .and([a, b])),
            ("(a)", a),
            ("((a))", a),
            ("()", .all),
            ("(a b) c", .and([.and([a, b]), c])),
            ("a OR (b OR c)", .or([a, .or([b, c])])),
            ("(a OR b) OR c", .or([.or([a, b]), c])),
            ("(a b) OR c", .or([.and([a, b]), c])),
            ("-a -b", .and([.not(a), .not(b)])),
            ("a OR b -c OR d", .and([.or([a, b]), .or([.not(c), d])])),
        ])
    }

    // MARK: AROUND

    @Test func around() {
        let (a, b, c, d) = (word("a"), word("b"), word("c"), word("d"))
        check([
            ("budget AROUND 5 report", .around(word("budget"), word("report"), distance: 5)),
            ("a AROUND 0 b", .around(a, b, distance: 0)),
            ("a AROUND 1000 b", .around(a, b, distance: 1000)),
            ("a AROUND 007 b", .around(a, b, distance: 7)),
            ("a AROUND 1001 b", .and([a, word("AROUND"), word("1001"), b])),
            ("a AROUND x b", .and([a, word("AROUND"), word("x"), b])),
            ("a AROUND -1 b", .and([a, word("AROUND"), .not(word("1")), b])),
            ("a around 5 b", .and([a, word("around"), word("5"), b])),
            ("AROUND 5 b", .and([word("AROUND"), word("5"), b])),
            ("a AROUND 5", .and([a, word("AROUND"), word("5")])),
            ("a AROUND 5 OR b", .and([a, word("AROUND"), .or([word("5"), b])])),
            ("a AROUND 5 ()", a),
            ("a AROUND 5 () b", .and([a, b])),
            // AROUND binds tighter than OR, OR tighter than AND.
            ("a OR b AROUND 3 c", .or([a, .around(b, c, distance: 3)])),
            ("a AROUND 3 b OR c", .or([.around(a, b, distance: 3), c])),
            ("a b AROUND 3 c d", .and([a, .around(b, c, distance: 3), d])),
            ("-a AROUND 2 \"b c\"", .around(.not(a), phrase("b c"), distance: 2)),
            ("(a b) AROUND 2 c", .around(.and([a, b]), c, distance: 2)),
            ("a AROUND 2 {b c}", .around(a, .or([b, c]), distance: 2)),
            ("from:a AROUND 2 b", .around(word("a", .from), b, distance: 2)),
            // Chains join neighbours pairwise and never nest.
            ("a AROUND 1 b AROUND 2 c", .and([.around(a, b, distance: 1), .around(b, c, distance: 2)])),
            ("x a AROUND 1 b AROUND 2 c", .and([word("x"), .and([.around(a, b, distance: 1), .around(b, c, distance: 2)])])),
            ("a AROUND 1 b c AROUND 2 d", .and([.around(a, b, distance: 1), .around(c, d, distance: 2)])),
        ])
    }

    // MARK: Field operators

    @Test func fieldOperators() {
        check([
            ("from:anna", word("anna", .from)),
            ("to:bob", word("bob", .to)),
            ("cc:carol", word("carol", .cc)),
            ("bcc:dave", word("dave", .bcc)),
            ("subject:budget", word("budget", .subject)),
            ("filename:report.pdf", word("report.pdf", .filename)),
            ("list:dev.lists.example.org", word("dev.lists.example.org", .list)),
            ("from:\"Anna K\"", phrase("Anna K", .from)),
            ("subject:\"one\"", phrase("one", .subject)),
            ("from:ann*", prefix("ann", .from)),
            ("from:anna@example.com", word("anna@example.com", .from)),
            ("from:a:b", word("a:b", .from)),
            ("from:-a", word("-a", .from)),
            ("rfc822msgid:<abc@example.com>", .text(.messageID, "<abc@example.com>", .substring)),
            ("rfc822msgid:abc*", .text(.messageID, "abc*", .substring)),
            ("rfc822msgid:\"<a b@c>\"", .text(.messageID, "<a b@c>", .substring)),
            ("rfc822msgid:(<a@b> <c@d>)",
             .and([.text(.messageID, "<a@b>", .substring), .text(.messageID, "<c@d>", .substring)])),
            ("from:(a b)", .and([word("a", .from), word("b", .from)])),
            ("from:{a b}", .or([word("a", .from), word("b", .from)])),
            ("from:(a)", word("a", .from)),
            ("from:()", .all),
            ("from:(a -b OR c \"d e\" f*)",
             .and([word("a", .from), .or([.not(word("b", .from)), word("c", .from)]), phrase("d e", .from), prefix("f", .from)])),
            // Operators inside a field group keep their own meaning; unknown ones are words of the group's field.
            ("from:(a to:b is:unread x:y)",
             .and([word("a", .from), word("b", .to), .flag(.seen, false), word("x:y", .from)])),
            ("from:(a", word("a", .from)),
            ("subject:(a OR b) c", .and([.or([word("a", .subject), word("b", .subject)]), word("c")])),
            // The value is glued to the colon; with a space it is an ordinary term.
            ("from: anna", .and([word("from:"), word("anna")])),
            ("from: (a b)", .and([word("from:"), .and([word("a"), word("b")])])),
            ("from: \"a b\"", .and([word("from:"), phrase("a b")])),
            ("from:", word("from:")),
            ("from:\"\"", word("from:")),
            ("from:*", prefix("from:")),
            ("from:a\"b c\"", .and([word("a", .from), phrase("b c")])),
        ])
    }

    @Test func operatorNamesAreCaseInsensitive() {
        check([
            ("FROM:anna", word("anna", .from)),
            ("From:Anna", word("Anna", .from)),
            ("SUBJECT:\"Q3 Budget\"", phrase("Q3 Budget", .subject)),
            ("HAS:ATTACHMENT", .hasAttachment),
            ("Is:Unread", .flag(.seen, false)),
            ("IN:INBOX", .mailbox("INBOX")),
            ("LABEL:Work", .keyword("Work", true)),
            ("AFTER:2024/01/02", .date(.arrival, .since, day(2024, 1, 2))),
            ("Older_Than:2D", .relativeDate(.arrival, olderThan: true, seconds: 2 * 86_400)),
            ("LARGER:1k", .size(larger: true, 1024)),
            ("RFC822MSGID:<X@Y>", .text(.messageID, "<X@Y>", .substring)),
            // Only ASCII letters fold: the Kelvin sign does not make "K" of anything.
            ("\u{212A}:x", word("\u{212A}:x")),
        ])
    }

    @Test func hasIsInLabel() {
        check([
            ("has:attachment", .hasAttachment),
            ("has:drive", word("has:drive")),
            ("has:", word("has:")),
            ("is:unread", .flag(.seen, false)),
            ("is:read", .flag(.seen, true)),
            ("is:starred", .flag(.flagged, true)),
            ("is:flagged", .flag(.flagged, true)),
            ("is:answered", .flag(.answered, true)),
            ("is:draft", .flag(.draft, true)),
            ("is:deleted", .flag(.deleted, true)),
            ("is:important", word("is:important")),
            ("is:\"unread\"", .and([word("is:"), phrase("unread")])),
            ("in:inbox", .mailbox("INBOX")),
            ("in:INBOX", .mailbox("INBOX")),
            ("in:InBoX", .mailbox("INBOX")),
            ("in:Sent", .mailbox("Sent")),
            ("in:\"My Folder\"", .mailbox("My Folder")),
            ("in:Archive/2024", .mailbox("Archive/2024")),
            ("in:anywhere", .all),
            ("in:Anywhere a", .and([.all, word("a")])),
            ("mailbox:anywhere", .mailbox("anywhere")),
            ("mailbox:Lists", .mailbox("Lists")),
            ("mailbox:inbox", .mailbox("INBOX")),
            ("in:", word("in:")),
            ("in:(a b)", .and([word("in:"), .and([word("a"), word("b")])])),
            ("label:work", .keyword("work", true)),
            ("label:\"to do\"", .keyword("to do", true)),
            ("label:$Forwarded", .keyword("$Forwarded", true)),
            ("-label:work", .not(.keyword("work", true))),
            ("label:", word("label:")),
        ])
    }

    // MARK: Dates, durations, sizes

    @Test func dates() {
        check([
            ("after:2024/02/29", .date(.arrival, .since, day(2024, 2, 29))),
            ("before:2024-01-05", .date(.arrival, .before, day(2024, 1, 5))),
            ("after:2024/1/5", .date(.arrival, .since, day(2024, 1, 5))),
            ("after:1/5/2024", .date(.arrival, .since, day(2024, 1, 5))),
            ("before:12/31/1999", .date(.arrival, .before, day(1999, 12, 31))),
            ("after:2000/02/29", .date(.arrival, .since, day(2000, 2, 29))),
            ("after:0001/01/01", .date(.arrival, .since, day(1, 1, 1))),
            ("after:9999/12/31", .date(.arrival, .since, day(9999, 12, 31))),
            // Invalid dates make the whole op:value a word.
            ("after:2023/02/29", word("after:2023/02/29")),
            ("after:1900/02/29", word("after:1900/02/29")),
            ("after:2024/02/30", word("after:2024/02/30")),
            ("after:2024/04/31", word("after:2024/04/31")),
            ("after:2024/13/01", word("after:2024/13/01")),
            ("after:2024/00/10", word("after:2024/00/10")),
            ("after:2024/01/00", word("after:2024/01/00")),
            ("after:0000/01/01", word("after:0000/01/01")),
            ("after:24/01/01", word("after:24/01/01")),
            ("after:1-5-2024", word("after:1-5-2024")),
            ("after:2024/01-01", word("after:2024/01-01")),
            ("after:2024/01/01/01", word("after:2024/01/01/01")),
            ("after:2024/+1/01", word("after:2024/+1/01")),
            ("after:２０２４/01/01", word("after:２０２４/01/01")),
            ("after:yesterday", word("after:yesterday")),
            ("after:", word("after:")),
            ("after:2024/01/01 before:2024/02/01",
             .and([.date(.arrival, .since, day(2024, 1, 1)), .date(.arrival, .before, day(2024, 2, 1))])),
        ])
    }

    @Test func relativeDates() {
        let dayS: Int64 = 86_400
        check([
            ("older_than:3d", .relativeDate(.arrival, olderThan: true, seconds: 3 * dayS)),
            ("newer_than:2m", .relativeDate(.arrival, olderThan: false, seconds: 2 * 30 * dayS)),
            ("older_than:1y", .relativeDate(.arrival, olderThan: true, seconds: 365 * dayS)),
            ("newer_than:1Y", .relativeDate(.arrival, olderThan: false, seconds: 365 * dayS)),
            ("older_than:0d", .relativeDate(.arrival, olderThan: true, seconds: 0)),
            ("older_than:5w", word("older_than:5w")),
            ("older_than:d", word("older_than:d")),
            ("older_than:-1d", word("older_than:-1d")),
            ("older_than:1.5d", word("older_than:1.5d")),
            ("older_than:99999999999999999y", word("older_than:99999999999999999y")),
            ("older_than:99999999999999999999999d", word("older_than:99999999999999999999999d")),
        ])
    }

    @Test func sizes() {
        check([
            ("larger:1000", .size(larger: true, 1000)),
            ("larger:10M", .size(larger: true, 10 << 20)),
            ("larger:10MB", .size(larger: true, 10 << 20)),
            ("larger:10mb", .size(larger: true, 10 << 20)),
            ("smaller:100k", .size(larger: false, 100 << 10)),
            ("smaller:100KB", .size(larger: false, 100 << 10)),
            ("larger:5G", .size(larger: true, 5 << 30)),
            ("larger:0", .size(larger: true, 0)),
            ("larger:9223372036854775807", .size(larger: true, Int64.max)),
            ("larger:9223372036854775808", word("larger:9223372036854775808")),
            ("larger:9999999999999G", word("larger:9999999999999G")),
            ("larger:-5", word("larger:-5")),
            ("larger:10T", word("larger:10T")),
            ("larger:M", word("larger:M")),
            ("larger:10 MB", .and([.size(larger: true, 10), word("MB")])),
        ])
    }

    @Test func unknownOperatorsAreWords() {
        check([
            ("foo:bar", word("foo:bar")),
            ("http://example.com/a?b=c", word("http://example.com/a?b=c")),
            (":x", word(":x")),
            ("a:b:c", word("a:b:c")),
            ("foo:bar*", prefix("foo:bar")),
            ("-foo:bar", .not(word("foo:bar"))),
            ("size:1000", word("size:1000")),
        ])
    }

    // MARK: Leniency

    @Test func unbalancedBracketsAndQuotes() {
        let (a, b, c) = (word("a"), word("b"), word("c"))
        check([
            ("a)", a),
            (")a", a),
            (")(", .all),
            ("(a", a),
            ("(a b", .and([a, b])),
            ("((a) b", .and([a, b])),
            ("a) b) c", .and([a, b, c])),
            ("{a b", .or([a, b])),
            ("a}", a),
            // A closer of the other kind is stray, and ignored.
            ("(a } b)", .and([a, b])),
            ("{a (b} c)", .or([a, .and([b, c])])),
            ("\"a (b", phrase("a (b")),
            ("a \"", a),
            ("-(a", .not(a)),
            ("from:(a b", .and([word("a", .from), word("b", .from)])),
        ])
    }

    // MARK: Limits

    @Test func queryLengthLimit() {
        var limits = QueryLimits()
        limits.maxQueryBytes = 10
        #expect(parse("0123456789", limits: limits) == word("0123456789"))
        let error = parseError("0123456789a", limits: limits)
        #expect(error?.offset == 10)
        // Bytes, not characters: five 2-byte letters are 10 bytes, six are 12.
        #expect(parse("жжжжж", limits: limits) == word("жжжжж"))
        #expect(parseError("жжжжжж", limits: limits) != nil)
        let big = String(repeating: "a ", count: 40_000)
        #expect(parseError(big)?.offset == QueryLimits().maxQueryBytes)
    }

    @Test func depthLimit() throws {
        var limits = QueryLimits()
        limits.maxDepth = 3
        #expect(parse("(((a)))", limits: limits) == word("a"))
        #expect(parseError("((((a))))", limits: limits)?.offset == 3)
        #expect(parseError("x {{{{a}}}}", limits: limits)?.offset == 5)
        #expect(parse("---a", limits: limits) == .not(.not(.not(word("a")))))
        #expect(parseError("----a", limits: limits)?.offset == 3)
        #expect(parse("(-(a))", limits: limits) == .not(word("a")))
        #expect(parseError("(-(-a))", limits: limits)?.offset == 3)
        #expect(parseError("from:(from:(from:(from:(a))))", limits: limits)?.offset == 23)
        #expect(parseError("-from:(--a)", limits: limits)?.offset == 8)
        limits.maxDepth = 0
        #expect(parse("a OR b AROUND 2 c", limits: limits) == .or([word("a"), .around(word("b"), word("c"), distance: 2)]))
        #expect(parseError("-a", limits: limits)?.offset == 0)
        // The default allows 64 levels.
        let ok = String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)
        #expect(parse(ok) == word("a"))
        let tooDeep = String(repeating: "(", count: 65) + "a"
        let error = try #require(parseError(tooDeep))
        #expect(error.offset == 64)
        #expect(error.message.contains("64"))
    }

    @Test func tenThousandNestedGroupsFailCleanly() throws {
        let n = 10_000
        let shapes: [(String, Int)] = [
            (String(repeating: "(", count: n) + "a" + String(repeating: ")", count: n), 64),
            (String(repeating: "{", count: n) + "a", 64),
            (String(repeating: "-(", count: n) + "a", 64),
            (String(repeating: "from:(", count: n) + "a", 6 * 64 + 5),
            (String(repeating: "-", count: n) + "a", 64),
            (String(repeating: "(a OR ", count: n), 6 * 64),
        ]
        for (query, offset) in shapes {
            let error = try #require(parseError(query), "\(query.prefix(12))…")
            #expect(error.offset == offset, "\(query.prefix(12))…")
        }
        // However high maxDepth is set, nesting stops at the ceiling (no stack overflow).
        var limits = QueryLimits()
        limits.maxDepth = 1_000_000
        limits.maxQueryBytes = 1 << 20
        let deep = String(repeating: "(", count: 100_000) + "a"
        #expect(parseError(deep, limits: limits)?.offset == WebmailQueryParser.depthCeiling)
        let deepNot = String(repeating: "-", count: 100_000) + "a"
        #expect(parseError(deepNot, limits: limits)?.offset == WebmailQueryParser.depthCeiling)
        // Long flat inputs are fine: chains do not nest.
        let chain = (0..<5_000).map { "w\($0)" }.joined(separator: " AROUND 1 ")
        guard case .and(let pairs)? = parse(chain, limits: limits) else {
            Issue.record("AROUND chain did not parse")
            return
        }
        #expect(pairs.count == 4_999)
        let ors = (0..<10_000).map { "w\($0)" }.joined(separator: " OR ")
        guard case .or(let operands)? = parse(ors, limits: limits) else {
            Issue.record("OR chain did not parse")
            return
        }
        #expect(operands.count == 10_000)
    }

    // MARK: Printer

    @Test func printedForms() throws {
        let (a, b, c, d) = (word("a"), word("b"), word("c"), word("d"))
        let cases: [(QueryNode, String)] = [
            (.all, ""),
            (a, "a"),
            (.and([a, .or([b, c]), d]), "a b OR c d"),
            (.or([.and([a, b]), c]), "(a b) OR c"),
            (.or([.or([a, b]), c]), "(a OR b) OR c"),
            (.and([.and([a, b]), c]), "(a b) c"),
            (.not(.and([a, b])), "-(a b)"),
            (.not(.not(a)), "--a"),
            (.not(phrase("a b")), "-\"a b\""),
            (.around(.or([a, b]), c, distance: 3), "(a OR b) AROUND 3 c"),
            (.or([a, .around(b, c, distance: 3)]), "a OR b AROUND 3 c"),
            (prefix("invoi", .subject), "subject:invoi*"),
            (.text(.messageID, "<a@b>", .substring), "rfc822msgid:<a@b>"),
            (.text(.messageID, "<a b>", .substring), "rfc822msgid:\"<a b>\""),
            (.mailbox("INBOX"), "in:INBOX"),
            (.mailbox("My Folder"), "in:\"My Folder\""),
            (.mailbox("anywhere"), "mailbox:anywhere"),
            (.and([.all, a]), "in:anywhere a"),
            (.keyword("to do", true), "label:\"to do\""),
            (.not(.keyword("work", true)), "-label:work"),
            (.flag(.seen, false), "is:unread"),
            (.date(.arrival, .since, day(2024, 2, 9)), "after:2024/02/09"),
            (.date(.arrival, .before, day(7, 1, 1)), "before:0007/01/01"),
            (.relativeDate(.arrival, olderThan: false, seconds: 365 * 86_400), "newer_than:365d"),
            (.size(larger: false, 1 << 20), "smaller:1048576"),
            (.hasAttachment, "has:attachment"),
            (word("foo:bar"), "foo:bar"),
            (word("from:", .text), "from:"),
            (word("-a", .from), "from:-a"),
        ]
        for (node, text) in cases {
            #expect(format(node) == text, "\(node)")
            #expect(parse(text) == node, "\(text)")
        }
    }

    @Test func realisticQueriesPrintAndParseBack() throws {
        let queries = [
            "from:amy OR from:david",
            "subject:(dinner movie) -is:read",
            "has:attachment larger:10M older_than:1y -label:archive",
            "from:{anna bob} to:me after:2024/01/01 before:2024-02-01",
            "\"quarterly report\" AROUND 10 budget in:Sent",
            "filename:pdf OR filename:docx list:dev.example.org",
            "rfc822msgid:<200503292@example.com>",
            "-(is:starred OR is:unread) in:anywhere",
            "счёт 請求書 🎉 newer_than:2d smaller:100k",
            "a b OR c d AROUND 3 e",
        ]
        for query in queries {
            let tree = try #require(parse(query), "\(query)")
            let text = try #require(format(tree), "\(query)")
            #expect(parse(text) == tree, "\(query) printed as \(text)")
        }
    }

    @Test func unexpressibleNodesThrow() {
        let a = word("a")
        let nodes: [QueryNode] = [
            .text(.text, "a", .substring),
            .text(.from, "a", .substring),
            .text(.messageID, "<a@b>", .words),
            .text(.body, "a", .words),
            .header(name: "X-Spam", value: "yes"),
            .uids(SequenceSet([.init(.number(1), .star)])),
            .sequence(SequenceSet([.init(.number(1), .number(2))])),
            .savedResult,
            .fuzzy(a),
            .date(.sent, .since, day(2024, 1, 1)),
            .date(.arrival, .on, day(2024, 1, 1)),
            .date(.arrival, .since, day(2023, 2, 29)),
            .date(.arrival, .since, day(10_000, 1, 1)),
            .date(.arrival, .since, day(0, 1, 1)),
            .relativeDate(.sent, olderThan: true, seconds: 86_400),
            .relativeDate(.arrival, olderThan: true, seconds: 3_600),
            .relativeDate(.arrival, olderThan: true, seconds: -86_400),
            .size(larger: true, -1),
            .flag(.recent, true),
            .flag(.flagged, false),
            .flag(.deleted, false),
            .keyword("work", false),
            .keyword("", true),
            .keyword("a\"b", true),
            .mailbox("inbox"),
            .mailbox(""),
            .and([]),
            .and([a]),
            .or([a]),
            .not(.or([])),
            .around(a, a, distance: 1001),
            .around(a, a, distance: -1),
            word(""),
            word("a b"),
            word("OR"),
            word("AROUND"),
            word("-a"),
            word("a*"),
            word("a(b"),
            word("from:x"),
            word("after:2024/01/01"),
            word("in:anywhere"),
            word("a\u{3000}b"),
            phrase("a\"b"),
            phrase(""),
            phrase("  "),
            prefix(""),
            prefix("*"),
            prefix("a b"),
            .and([a, .not(word("OR"))]),
        ]
        for node in nodes {
            #expect(format(node) == nil, "\(node)")
        }
        // Nesting deeper than the limit cannot be printed (it would not parse back).
        var deep = a
        for _ in 0..<100 { deep = .not(.and([deep, a])) }
        #expect(format(deep) == nil)
        var limits = QueryLimits()
        limits.maxDepth = 200
        let text = try? WebmailQueryParser.format(deep, limits: limits)
        #expect(text.flatMap { parse($0, limits: limits) } == deep)
    }

    // MARK: Property tests

    /// Random trees the webmail language can express, and random query text.
    struct Generator {
        var rng: SplitMix64

        mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
        mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

        static let wordScalars: [Unicode.Scalar] = Array(
            ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                + "._@'!?#$%&+=<>/,;~^|[]\\`-*"
                + "абвгдеёжзийклмнопрстуфхцчшщъыьэюяЖЩ"
                + "αβγδΩ日本語請求書中文한국어مرحباעולם"
                + "🎉😀👍🏽\u{301}\u{308}ßİı\u{212A}").unicodeScalars)

        /// A word that reads back as itself: no delimiter, no leading `-`, no trailing `*`, no
        /// known operator before a colon, not OR or AROUND.
        mutating func bareWord() -> String {
            var s = String.UnicodeScalarView()
            for _ in 0..<int(1...8) { s.append(pick(Self.wordScalars)) }
            if s.first == "-" { s.replaceSubrange(s.startIndex..<s.index(after: s.startIndex), with: "x".unicodeScalars) }
            if s.last == "*" { s.removeLast(); s.append("y") }
            let w = String(s)
            return w == "OR" || w == "AROUND" ? w + "z" : w
        }

        mutating func plainWord() -> String {
            switch int(0...9) {
            case 0: return pick(["zz", "http", "x1", ""]) + ":" + bareWord()
            case 1: return pick(["or", "Or", "around", "5", "1000", "from:", "AROUND5", "ORx"])
            default: return bareWord()
            }
        }

        mutating func phraseText() -> String {
            var parts: [String] = []
            for _ in 0..<int(1...4) {
                parts.append(chance(20) ? pick(["(", ")", "{x}", "OR", "-", "*", "from:a", ":", "AROUND 3"]) : bareWord())
            }
            let sep = pick([" ", "  ", "\t", "\u{3000}"])
            return (chance(10) ? " " : "") + parts.joined(separator: sep)
        }

        mutating func textNode() -> QueryNode {
            let field = pick([TextField.text, .text, .text, .from, .to, .cc, .bcc, .subject, .filename, .list])
            switch int(0...2) {
            case 0:
                let value = field == .text ? plainWord() : (chance(10) ? "-" : "") + bareWord()
                return .text(field, value, .words)
            case 1:
                return .text(field, phraseText(), .phrase)
            default:
                return .text(field, bareWord() + (chance(10) ? "*" : ""), .prefix)
            }
        }

        mutating func name() -> String {
            switch int(0...5) {
            case 0: return "INBOX"
            case 1: return pick(["anywhere", "Sent", "Archive/2024", "$Important", "Входящие"])
            case 2: return phraseText()
            default: return bareWord()
            }
        }

        mutating func leaf() -> QueryNode {
            switch int(0...14) {
            case 0...5: return textNode()
            case 6:
                let id = "<" + bareWord() + "@" + bareWord() + ">"
                return .text(.messageID, chance(20) ? id + " x" : id, .substring)
            case 7: return .hasAttachment
            case 8:
                return pick([.flag(.seen, false), .flag(.seen, true), .flag(.flagged, true),
                             .flag(.answered, true), .flag(.draft, true), .flag(.deleted, true)])
            case 9:
                let n = name()
                return .mailbox(n.lowercased() == "inbox" ? "INBOX" : n)
            case 10: return .keyword(name(), true)
            case 11:
                let y = int(1...9999), m = int(1...12)
                let days = [31, (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                return .date(.arrival, chance(50) ? .since : .before, SearchDay(year: y, month: m, day: int(1...days[m - 1])))
            case 12:
                return .relativeDate(.arrival, olderThan: chance(50), seconds: Int64(int(0...1_000_000)) * 86_400)
            case 13:
                return .size(larger: chance(50), chance(10) ? Int64.max : Int64(int(0...(1 << 40))))
            default:
                return .all
            }
        }

        mutating func tree(depth: Int) -> QueryNode {
            if depth == 0 || chance(30) { return leaf() }
            switch int(0...3) {
            case 0, 1:
                var children: [QueryNode] = []
                for _ in 0..<int(2...4) { children.append(tree(depth: depth - 1)) }
                return chance(50) ? .and(children) : .or(children)
            case 2:
                return .not(tree(depth: depth - 1))
            default:
                return .around(tree(depth: depth - 1), tree(depth: depth - 1), distance: int(0...1000))
            }
        }

        static let soupPieces: [String] = [
            "a", "b", "invoice", "OR", "OR", "or", "AROUND", "AROUND", "3", "0", "1001", "x", "-", "--", "*", "*", "-*",
            "(", "(", ")", ")", "{", "}", "\"", "\"", "\"\"", "from:", "from:anna", "to:", "subject:", "rfc822msgid:",
            "rfc822msgid:<a@b>", "filename:", "list:", "has:attachment", "has:", "is:unread", "is:", "is:starred",
            "in:inbox", "in:", "in:anywhere", "mailbox:", "label:", "label:work", "after:2024/02/29", "after:",
            "before:1/5/2024", "after:2023/02/29", "older_than:3d", "newer_than:", "older_than:9999999999999999999y",
            "larger:10M", "smaller:", "larger:99999999999G", "foo:bar", ":", "счёт", "請求書", "🎉", "👍🏽", "e\u{301}",
            "\u{301}", "\u{0}", "\u{FEFF}", "\u{200B}", "ab*", "-(", "-{", "-\"", ":(", "from:(", "from:{", "from:\"",
        ]

        mutating func soup() -> String {
            var out = ""
            for _ in 0..<int(0...40) {
                if chance(8) {
                    // Any scalar at all (surrogates are not scalars: skip them).
                    if let s = Unicode.Scalar(UInt32(int(0...0x10FFFF))) { out.unicodeScalars.append(s) }
                } else {
                    out += pick(Self.soupPieces)
                }
                out += pick(["", "", " ", " ", " ", "  ", "\t", "\n", "\u{3000}", "\u{00A0}"])
            }
            return out
        }
    }

    @Test func printThenParseRoundTrips() {
        var gen = Generator(rng: SplitMix64(seed: 0x5EED_0001))
        for i in 0..<2_000 {
            let tree = gen.tree(depth: 5)
            guard let text = format(tree) else {
                Issue.record("tree \(i) could not be printed: \(tree)")
                continue
            }
            let back = parse(text)
            #expect(back == tree, "tree \(i) printed as \(text)")
            if back != tree { return }
        }
    }

    @Test func tokenSoupNeverCrashes() {
        var gen = Generator(rng: SplitMix64(seed: 0x5EED_0002))
        var parsed = 0, printed = 0
        for i in 0..<20_000 {
            let query = gen.soup()
            do {
                let tree = try WebmailQueryParser.parse(query)
                parsed += 1
                // When the printer accepts a parsed tree, its text must parse back to that tree.
                if let text = format(tree) {
                    printed += 1
                    #expect(parse(text) == tree, "soup \(i): \(query.debugDescription) printed as \(text.debugDescription)")
                }
            } catch {
                #expect(error.offset >= 0 && error.offset <= query.utf8.count, "soup \(i): \(error)")
            }
        }
        // Most soups parse (only unbalanced nesting beyond 64 could fail), and most print.
        #expect(parsed > 19_000)
        #expect(printed > 15_000)
    }

    /// The queries the daemon may run on an event loop: word lookups only, at most 8 words.
    @Test func wordLookupsAreRecognized() throws {
        for q in ["btrfs", "btrfs scrub", "btrfs OR scrub", "btrfs -scrub", "from:alice subject:report", "btrfs in:Lists is:unread", "label:work deadlock"] {
            #expect(try WebmailQueryParser.parse(q).isWordLookup, "\(q)")
        }
        for q in ["\"btrfs scrub\"", "btrf*", "btrfs AROUND 3 scrub", "larger:1M btrfs", "after:2020/01/01 btrfs", "a b c d e f g h i"] {
            #expect(try !WebmailQueryParser.parse(q).isWordLookup, "\(q)")
        }
        #expect(try IMAPSearchParser.parse("BODY btrfs").criteria.isWordLookup == false)
    }
}
