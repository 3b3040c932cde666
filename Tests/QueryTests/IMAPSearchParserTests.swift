@testable import Query
import Testing
import TestSupport

// MARK: - Helpers

/// Helpers on the shared seeded generator (TestSupport's SplitMix64).
private typealias SeededRandom = SplitMix64

extension SplitMix64 {
    /// 0 ..< n
    fileprivate mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    fileprivate mutating func bool() -> Bool { next() & 1 == 1 }

    fileprivate mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

private func imapCriteria(_ text: String) throws(QueryError) -> QueryNode {
    try IMAPSearchParser.parse(text).criteria
}

private func imapText(_ field: TextField, _ value: String) -> QueryNode { .text(field, value, .substring) }

private func imapDay(_ d: Int, _ m: Int, _ y: Int) -> SearchDay { SearchDay(year: y, month: m, day: d) }

private func imapSet(_ ranges: [(SequenceSet.Bound, SequenceSet.Bound)]) -> SequenceSet {
    SequenceSet(ranges.map { SequenceSet.Range($0.0, $0.1) })
}

private func imapNumber(_ value: UInt32) -> SequenceSet.Bound { .number(value) }

/// Parsing `input` fails with a message containing `fragment` at byte `offset`.
/// An input short enough to show in a failure message.
private func shownInput(_ input: String) -> String {
    input.utf8.count <= 120 ? input.debugDescription : String(input.prefix(100)).debugDescription + " (\(input.utf8.count) bytes)"
}

private func expectFailure(
    _ input: String, _ fragment: String, at offset: Int, limits: QueryLimits = QueryLimits(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let result = try IMAPSearchParser.parse(input, limits: limits)
        Issue.record("expected an error for \(shownInput(input)), got \(result)", sourceLocation: sourceLocation)
    } catch {
        #expect(
            error.message.lowercased().contains(fragment.lowercased()),
            "\(shownInput(input)): message \(error.message.debugDescription) lacks \(fragment.debugDescription)",
            sourceLocation: sourceLocation)
        #expect(error.offset == offset, "\(shownInput(input)): \(error)", sourceLocation: sourceLocation)
    }
}

private func expectUnprintable(_ node: QueryNode, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let printed = try IMAPSearchParser.format(node)
        Issue.record("expected format to throw for \(node), got \(printed.debugDescription)", sourceLocation: sourceLocation)
    } catch {
        #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
    }
}

private func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

// MARK: - Random IMAP-expressible trees

private let stringPieces = [
    "a", "Z", "0", " ", "  ", "\"", "\\", "\\\"", "(", ")", "{", "}", "{3}", "*", "%", "]", "$", "~",
    "é", "e\u{301}", "日本", "ß", "ﬃ", "🙂", "Здравствуй", "\r", "\n", "\r\n", "\u{0}", "\t",
    "OR", "NOT", "FROM", "q3 report", "anna@example.com",
]

private let atomCharacters = Array("abcxyzABCXYZ0123456789$_-.!#&'+/=?^`|~:,;<>@[")

private func randomString(_ r: inout SeededRandom) -> String {
    var s = ""
    for _ in 0..<r.below(8) { s += r.pick(stringPieces) }
    return s
}

private func randomAtom(_ r: inout SeededRandom) -> String {
    var s = ""
    for _ in 0..<(1 + r.below(10)) { s.append(r.pick(atomCharacters)) }
    return s
}

private func randomDay(_ r: inout SeededRandom) -> SearchDay {
    let year = r.below(4) == 0 ? r.below(10_000) : 1900 + r.below(200)
    let month = 1 + r.below(12)
    return SearchDay(year: year, month: month, day: 1 + r.below(daysIn(month: month, year: year)))
}

private func randomBound(_ r: inout SeededRandom) -> SequenceSet.Bound {
    switch r.below(5) {
    case 0: .star
    case 1: .number(UInt32(truncatingIfNeeded: r.next()) | 1)
    default: .number(UInt32(1 + r.below(100)))
    }
}

private func randomSet(_ r: inout SeededRandom) -> SequenceSet {
    var ranges: [SequenceSet.Range] = []
    for _ in 0..<(1 + r.below(4)) {
        let from = randomBound(&r)
        ranges.append(SequenceSet.Range(from, r.bool() ? from : randomBound(&r)))
    }
    return SequenceSet(ranges)
}

/// A tree that IMAP can express, at most 5 operators deep.
private func randomNode(_ r: inout SeededRandom, depth: Int) -> QueryNode {
    let choice = depth >= 5 ? r.below(12) : r.below(18)
    switch choice {
    case 0: return .all
    case 1, 11: return .flag(r.pick(SystemFlag.allCases), r.bool())
    case 2: return .keyword(randomAtom(&r), r.bool())
    case 3: return .text(r.pick([.from, .to, .cc, .bcc, .subject, .body, .text]), randomString(&r), .substring)
    case 4: return .header(name: randomString(&r), value: randomString(&r))
    case 5: return .date(r.bool() ? .arrival : .sent, r.pick([.before, .on, .since]), randomDay(&r))
    case 6: return .relativeDate(.arrival, olderThan: r.bool(), seconds: Int64(1 + r.below(Int(UInt32.max))))
    case 7: return .size(larger: r.bool(), r.bool() ? Int64(r.below(100_000)) : Int64(bitPattern: r.next() >> 1))
    case 8: return .uids(randomSet(&r))
    case 9: return .sequence(randomSet(&r))
    case 10: return .savedResult
    case 12, 13: return .and((0..<(1 + r.below(4))).map { _ in randomNode(&r, depth: depth + 1) })
    case 14: return .or([randomNode(&r, depth: depth + 1), randomNode(&r, depth: depth + 1)])
    case 15: return .not(randomNode(&r, depth: depth + 1))
    case 16: return .fuzzy(randomNode(&r, depth: depth + 1))
    default: return .and([.flag(.recent, true), .flag(.seen, false)])  // what NEW reads as
    }
}

private func nestingDepth(of node: QueryNode) -> Int {
    switch node {
    case .and(let keys), .or(let keys): 1 + (keys.map(nestingDepth(of:)).max() ?? 0)
    case .not(let key), .fuzzy(let key): 1 + nestingDepth(of: key)
    default: 0
    }
}

// MARK: - Tests

@Suite struct IMAPSearchParserTests {
    // MARK: Keys

    @Test func flagKeys() throws {
        let cases: [(String, QueryNode)] = [
            ("ALL", .all),
            ("ANSWERED", .flag(.answered, true)), ("UNANSWERED", .flag(.answered, false)),
            ("DELETED", .flag(.deleted, true)), ("UNDELETED", .flag(.deleted, false)),
            ("DRAFT", .flag(.draft, true)), ("UNDRAFT", .flag(.draft, false)),
            ("FLAGGED", .flag(.flagged, true)), ("UNFLAGGED", .flag(.flagged, false)),
            ("SEEN", .flag(.seen, true)), ("UNSEEN", .flag(.seen, false)),
            ("RECENT", .flag(.recent, true)), ("OLD", .flag(.recent, false)),
            ("NEW", .and([.flag(.recent, true), .flag(.seen, false)])),
        ]
        for (input, expected) in cases {
            #expect(try imapCriteria(input) == expected, "\(input)")
            #expect(try imapCriteria(input.lowercased()) == expected, "\(input) lowercased")
            let mixed = input.prefix(1) + input.dropFirst().lowercased()
            #expect(try imapCriteria(" \(mixed)\t ") == expected, "\(mixed)")
        }
    }

    @Test func textKeys() throws {
        let cases: [(String, TextField)] = [
            ("BCC", .bcc), ("CC", .cc), ("FROM", .from), ("TO", .to), ("SUBJECT", .subject), ("BODY", .body), ("TEXT", .text),
        ]
        for (key, field) in cases {
            #expect(try imapCriteria("\(key) anna") == imapText(field, "anna"))
            #expect(try imapCriteria("\(key.lowercased()) \"q3 report\"") == imapText(field, "q3 report"))
            #expect(try imapCriteria("\(key) {5}\r\nhello") == imapText(field, "hello"))
            #expect(try imapCriteria("\(key) \"\"") == imapText(field, ""))
        }
        // ASTRING-CHAR includes ']' (resp-specials), unlike ATOM-CHAR.
        #expect(try imapCriteria("SUBJECT [list]") == imapText(.subject, "[list]"))
        #expect(try imapCriteria("FROM anna@example.com") == imapText(.from, "anna@example.com"))
        // 8-bit atoms are accepted leniently.
        #expect(try imapCriteria("FROM jürgen") == imapText(.from, "jürgen"))
    }

    @Test func headerKey() throws {
        #expect(try imapCriteria("HEADER Message-ID <abc@example.com>") == .header(name: "Message-ID", value: "<abc@example.com>"))
        #expect(try imapCriteria("header \"X-Spam Flag\" \"\"") == .header(name: "X-Spam Flag", value: ""))
        #expect(try imapCriteria("HEADER {4}\r\nX-To {3+}\r\na b") == .header(name: "X-To", value: "a b"))
        #expect(try imapCriteria("HEADER list-id \"<dev.lists.example.org>\"") == .header(name: "list-id", value: "<dev.lists.example.org>"))
    }

    @Test func keywordKeys() throws {
        #expect(try imapCriteria("KEYWORD $Forwarded") == .keyword("$Forwarded", true))
        #expect(try imapCriteria("UNKEYWORD $Junk") == .keyword("$Junk", false))
        #expect(try imapCriteria("keyword work-2024") == .keyword("work-2024", true))
        #expect(try imapCriteria("KEYWORD 123") == .keyword("123", true))
    }

    @Test func dateKeys() throws {
        let cases: [(String, DateField, DateComparison)] = [
            ("BEFORE", .arrival, .before), ("ON", .arrival, .on), ("SINCE", .arrival, .since),
            ("SENTBEFORE", .sent, .before), ("SENTON", .sent, .on), ("SENTSINCE", .sent, .since),
        ]
        for (key, field, comparison) in cases {
            #expect(try imapCriteria("\(key) 1-Feb-1994") == .date(field, comparison, imapDay(1, 2, 1994)))
            #expect(try imapCriteria("\(key) \"01-feb-1994\"") == .date(field, comparison, imapDay(1, 2, 1994)))
        }
        #expect(try imapCriteria("SINCE 29-Feb-2024") == .date(.arrival, .since, imapDay(29, 2, 2024)))
        #expect(try imapCriteria("SINCE 29-Feb-2000") == .date(.arrival, .since, imapDay(29, 2, 2000)))
        #expect(try imapCriteria("SINCE 31-DEC-9999") == .date(.arrival, .since, imapDay(31, 12, 9999)))
        #expect(try imapCriteria("ON 30-Apr-0001") == .date(.arrival, .on, imapDay(30, 4, 1)))
        for (i, month) in ["jan", "Feb", "MAR", "apr", "May", "jun", "Jul", "aug", "Sep", "oct", "Nov", "dec"].enumerated() {
            #expect(try imapCriteria("ON 7-\(month)-2010") == .date(.arrival, .on, imapDay(7, i + 1, 2010)))
        }
    }

    @Test func sizeAndRelativeDateKeys() throws {
        #expect(try imapCriteria("LARGER 1024") == .size(larger: true, 1024))
        #expect(try imapCriteria("SMALLER 0") == .size(larger: false, 0))
        #expect(try imapCriteria("LARGER 9223372036854775807") == .size(larger: true, Int64.max))
        #expect(try imapCriteria("LARGER 007") == .size(larger: true, 7))
        #expect(try imapCriteria("OLDER 3600") == .relativeDate(.arrival, olderThan: true, seconds: 3600))
        #expect(try imapCriteria("YOUNGER 4294967295") == .relativeDate(.arrival, olderThan: false, seconds: 4_294_967_295))
    }

    @Test func sequenceSets() throws {
        #expect(try imapCriteria("1") == .sequence(imapSet([(imapNumber(1), imapNumber(1))])))
        #expect(try imapCriteria("1:5") == .sequence(imapSet([(imapNumber(1), imapNumber(5))])))
        #expect(try imapCriteria("5:1") == .sequence(imapSet([(imapNumber(5), imapNumber(1))])))
        #expect(try imapCriteria("*") == .sequence(imapSet([(.star, .star)])))
        #expect(try imapCriteria("1:*") == .sequence(imapSet([(imapNumber(1), .star)])))
        #expect(try imapCriteria("*:4") == .sequence(imapSet([(.star, imapNumber(4))])))
        let listed = QueryNode.sequence(imapSet([
            (imapNumber(2), imapNumber(2)), (imapNumber(4), imapNumber(7)),
            (imapNumber(9), imapNumber(9)), (imapNumber(12), .star),
        ]))
        #expect(try imapCriteria("2,4:7,9,12:*") == listed)
        #expect(try imapCriteria("4294967295") == .sequence(imapSet([(imapNumber(4_294_967_295), imapNumber(4_294_967_295))])))
        #expect(try imapCriteria("UID 1:100") == .uids(imapSet([(imapNumber(1), imapNumber(100))])))
        #expect(try imapCriteria("uid 3,*") == .uids(imapSet([(imapNumber(3), imapNumber(3)), (.star, .star)])))
        #expect(try imapCriteria("$") == .savedResult)
        #expect(try imapCriteria("UID $") == .savedResult)
        #expect(try imapCriteria("NOT $") == .not(.savedResult))
    }

    @Test func fuzzy() throws {
        #expect(try imapCriteria("FUZZY SUBJECT interesting") == .fuzzy(imapText(.subject, "interesting")))
        #expect(try imapCriteria("FUZZY (FROM anna BODY report)") == .fuzzy(.and([imapText(.from, "anna"), imapText(.body, "report")])))
    }

    // MARK: Structure

    @Test func topLevelAndParentheses() throws {
        #expect(try imapCriteria("SEEN") == .flag(.seen, true))
        #expect(try imapCriteria("SEEN FLAGGED") == .and([.flag(.seen, true), .flag(.flagged, true)]))
        #expect(try imapCriteria("(SEEN)") == .and([.flag(.seen, true)]))
        #expect(try imapCriteria("(SEEN) FLAGGED") == .and([.and([.flag(.seen, true)]), .flag(.flagged, true)]))
        #expect(try imapCriteria("((SEEN))") == .and([.and([.flag(.seen, true)])]))
        #expect(try imapCriteria("( SEEN  FLAGGED )") == .and([.flag(.seen, true), .flag(.flagged, true)]))
        #expect(try imapCriteria("SEEN (FLAGGED DRAFT) ALL")
            == .and([.flag(.seen, true), .and([.flag(.flagged, true), .flag(.draft, true)]), .all]))
    }

    @Test func nestedOperators() throws {
        let seen = QueryNode.flag(.seen, true), flagged = QueryNode.flag(.flagged, true), draft = QueryNode.flag(.draft, true)
        #expect(try imapCriteria("NOT SEEN") == .not(seen))
        #expect(try imapCriteria("NOT NOT SEEN") == .not(.not(seen)))
        #expect(try imapCriteria("OR SEEN FLAGGED") == .or([seen, flagged]))
        #expect(try imapCriteria("OR OR SEEN FLAGGED DRAFT") == .or([.or([seen, flagged]), draft]))
        #expect(try imapCriteria("OR SEEN OR FLAGGED DRAFT") == .or([seen, .or([flagged, draft])]))
        #expect(try imapCriteria("OR (SEEN FLAGGED) NOT DRAFT") == .or([.and([seen, flagged]), .not(draft)]))
        #expect(try imapCriteria("NOT (SEEN FLAGGED)") == .not(.and([seen, flagged])))
        #expect(try imapCriteria("(OR SEEN (NOT FLAGGED DRAFT))") == .and([.or([seen, .and([.not(flagged), draft])])]))
        #expect(try imapCriteria("OR NOT SEEN NOT FLAGGED DRAFT") == .and([.or([.not(seen), .not(flagged)]), draft]))
        #expect(try imapCriteria("NOT OR SEEN FLAGGED") == .not(.or([seen, flagged])))
        #expect(try imapCriteria("OR FROM \"a)\" TO {2}\r\n()") == .or([imapText(.from, "a)"), imapText(.to, "()")]))
    }

    @Test func nestingAtTheLimit() throws {
        let ok = String(repeating: "(", count: 64) + "ALL" + String(repeating: ")", count: 64)
        var expected = QueryNode.all
        for _ in 0..<64 { expected = .and([expected]) }
        #expect(try imapCriteria(ok) == expected)
        #expect(try imapCriteria(String(repeating: "NOT ", count: 64) + "SEEN") != .all)
        var limits = QueryLimits()
        limits.maxDepth = 200
        let deeper = String(repeating: "(", count: 200) + "ALL" + String(repeating: ")", count: 200)
        #expect(try nestingDepth(of: IMAPSearchParser.parse(deeper, limits: limits).criteria) == 200)
    }

    @Test func whitespaceIsLenient() throws {
        #expect(try imapCriteria("  SEEN \t  FROM\t\tanna   ") == .and([.flag(.seen, true), imapText(.from, "anna")]))
        let command = try IMAPSearchParser.parse("\tRETURN\t( MIN  COUNT )\tCHARSET  UTF-8 \tALL")
        #expect(command == IMAPSearchCommand(returnOptions: [.min, .count], charset: "UTF-8", criteria: .all))
    }

    // MARK: Strings

    @Test func quotedStrings() throws {
        #expect(try imapCriteria(#"SUBJECT "a\\b""#) == imapText(.subject, #"a\b"#))
        #expect(try imapCriteria(#"SUBJECT "say \"hi\"""#) == imapText(.subject, #"say "hi""#))
        #expect(try imapCriteria(#"SUBJECT "\\\"""#) == imapText(.subject, #"\""#))
        #expect(try imapCriteria(#"SUBJECT "(not) {a} *key* %x ]""#) == imapText(.subject, "(not) {a} *key* %x ]"))
        #expect(try imapCriteria("SUBJECT \"Grüße 日本 🙂\"") == imapText(.subject, "Grüße 日本 🙂"))
        #expect(try imapCriteria("SUBJECT \"tab\there\"") == imapText(.subject, "tab\there"))
    }

    @Test func literals() throws {
        #expect(try imapCriteria("BODY {0}\r\n") == imapText(.body, ""))
        #expect(try imapCriteria("BODY {0}\r\n SEEN") == .and([imapText(.body, ""), .flag(.seen, true)]))
        #expect(try imapCriteria("BODY {6}\r\na\r\nb\"c SEEN") == .and([imapText(.body, "a\r\nb\"c"), .flag(.seen, true)]))
        #expect(try imapCriteria("BODY {6+}\r\nhello) UNSEEN") == .and([imapText(.body, "hello)"), .flag(.seen, false)]))
        #expect(try imapCriteria("(BODY {3}\r\nabc)") == .and([imapText(.body, "abc")]))
        #expect(try imapCriteria("BODY {003}\r\nabc") == imapText(.body, "abc"))
        let cyrillic = "Здравствуй"
        #expect(try imapCriteria("TEXT {\(cyrillic.utf8.count)}\r\n\(cyrillic)") == imapText(.text, cyrillic))
        #expect(try imapCriteria("TEXT {3}\r\na\u{0}b") == imapText(.text, "a\u{0}b"))
    }

    // MARK: RETURN and CHARSET

    @Test func returnAndCharset() throws {
        let all = QueryNode.all
        let cases: [(String, [ESearchReturn], String?)] = [
            ("ALL", [], nil),
            ("RETURN (MIN COUNT) ALL", [.min, .count], nil),
            ("RETURN () ALL", [.all], nil),
            ("RETURN ( ) ALL", [.all], nil),
            ("return (max min MAX save) ALL", [.max, .min, .save], nil),
            ("RETURN (ALL COUNT MIN MAX SAVE) ALL", [.all, .count, .min, .max, .save], nil),
            ("RETURN (SAVE) ALL", [.save], nil),
            ("CHARSET UTF-8 ALL", [], "UTF-8"),
            ("charset \"ISO-8859-1\" ALL", [], "ISO-8859-1"),
            ("CHARSET us-ascii ALL", [], "us-ascii"),
            ("RETURN (COUNT) CHARSET UTF-8 ALL", [.count], "UTF-8"),
        ]
        for (input, options, charset) in cases {
            let expected = IMAPSearchCommand(returnOptions: options, charset: charset, criteria: all)
            #expect(try IMAPSearchParser.parse(input) == expected, "\(input)")
        }
        let example = try IMAPSearchParser.parse(
            "RETURN (MIN COUNT) CHARSET UTF-8 OR FROM anna SUBJECT \"q3 report\" NOT SEEN SINCE 1-Feb-1994")
        #expect(example.returnOptions == [.min, .count])
        #expect(example.charset == "UTF-8")
        #expect(example.criteria == .and([
            .or([imapText(.from, "anna"), imapText(.subject, "q3 report")]),
            .not(.flag(.seen, true)),
            .date(.arrival, .since, imapDay(1, 2, 1994)),
        ]))
    }

    // MARK: RFC examples

    @Test func rfcExamples() throws {
        // RFC 9051 / RFC 3501 §6.4.4
        let smith = QueryNode.and([.flag(.flagged, true), .date(.arrival, .since, imapDay(1, 2, 1994)), .not(imapText(.from, "Smith"))])
        #expect(try imapCriteria(#"FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith""#) == smith)
        #expect(try imapCriteria(#"TEXT "string not in mailbox""#) == imapText(.text, "string not in mailbox"))
        let utf8 = try IMAPSearchParser.parse("CHARSET UTF-8 TEXT {6}\r\nXXXXXX")
        #expect(utf8 == IMAPSearchCommand(charset: "UTF-8", criteria: imapText(.text, "XXXXXX")))
        #expect(try imapCriteria("DELETED FROM \"SMITH\" SINCE 1-Feb-1994")
            == .and([.flag(.deleted, true), imapText(.from, "SMITH"), .date(.arrival, .since, imapDay(1, 2, 1994))]))
        let listed = QueryNode.sequence(imapSet([
            (imapNumber(2), imapNumber(2)), (imapNumber(4), imapNumber(7)),
            (imapNumber(9), imapNumber(9)), (imapNumber(12), .star),
        ]))
        #expect(try imapCriteria("2,4:7,9,12:*") == listed)
        // RFC 4731 §3.1
        let a282 = try IMAPSearchParser.parse(#"RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith""#)
        #expect(a282 == IMAPSearchCommand(returnOptions: [.min, .count], criteria: smith))
        #expect(IMAPSearchParser.esearchData([2, 10, 11], options: a282.returnOptions) == "MIN 2 COUNT 3")
        let a283 = try IMAPSearchParser.parse(#"RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith""#)
        #expect(a283.returnOptions == [.all])
        #expect(IMAPSearchParser.esearchData([2, 10, 11], options: a283.returnOptions) == "ALL 2,10:11")
        let a284 = try IMAPSearchParser.parse("RETURN (MIN) UNSEEN")
        #expect(a284 == IMAPSearchCommand(returnOptions: [.min], criteria: .flag(.seen, false)))
        let a285 = try IMAPSearchParser.parse("RETURN (MIN MAX) 1:5000")
        #expect(a285 == IMAPSearchCommand(returnOptions: [.min, .max], criteria: .sequence(imapSet([(imapNumber(1), imapNumber(5000))]))))
        #expect(IMAPSearchParser.esearchData([7, 3800], options: a285.returnOptions) == "MIN 7 MAX 3800")
        // RFC 5182 §2.4
        let saved = try IMAPSearchParser.parse("RETURN (SAVE) SINCE 28-Oct-2006 NOT SINCE 29-Oct-2006")
        #expect(saved == IMAPSearchCommand(
            returnOptions: [.save],
            criteria: .and([.date(.arrival, .since, imapDay(28, 10, 2006)), .not(.date(.arrival, .since, imapDay(29, 10, 2006)))])))
        #expect(try imapCriteria("UID $ SMALLER 4096") == .and([.savedResult, .size(larger: false, 4096)]))
        #expect(try IMAPSearchParser.parse("RETURN (SAVE MIN) FLAGGED").returnOptions == [.save, .min])
        #expect(try imapCriteria("OR $ 1:10") == .or([.savedResult, .sequence(imapSet([(imapNumber(1), imapNumber(10))]))]))
        // RFC 5032 §3
        #expect(try imapCriteria("UNSEEN YOUNGER 259200")
            == .and([.flag(.seen, false), .relativeDate(.arrival, olderThan: false, seconds: 259_200)]))
        // RFC 6203 §6
        #expect(try imapCriteria("FUZZY (SUBJECT \"interesting\")") == .fuzzy(.and([imapText(.subject, "interesting")])))
    }

    // MARK: Errors

    @Test func malformedInputs() {
        // Emptiness
        expectFailure("", "empty search criteria", at: 0)
        expectFailure("   ", "empty search criteria", at: 3)
        expectFailure("RETURN (MIN)", "empty search criteria", at: 12)
        expectFailure("CHARSET UTF-8", "empty search criteria", at: 13)
        // Quoted strings
        expectFailure("FROM \"abc", "unterminated quoted string", at: 5)
        expectFailure("FROM \"abc\\", "unterminated quoted string", at: 5)
        expectFailure("FROM \"a\nb\"", "line break", at: 7)
        expectFailure("FROM \"a\r\nb\"", "line break", at: 7)
        expectFailure("FROM \"a\\xb\"", "invalid escape", at: 7)
        expectFailure("FROM \"a\u{0}b\"", "NUL", at: 7)
        // Literals
        expectFailure("FROM {x}\r\nabc", "bad literal length", at: 6)
        expectFailure("FROM {}\r\n", "bad literal length", at: 6)
        expectFailure("FROM {5}\r\nabc", "longer than the rest of the input", at: 5)
        expectFailure("FROM {3}abc", "CRLF", at: 8)
        expectFailure("FROM {3}\nabc", "CRLF", at: 8)
        expectFailure("FROM {3\r\nabc", "expected '}'", at: 7)
        expectFailure("FROM {99999999999999999999999}\r\nx", "too large", at: 6)
        expectFailure("FROM {3}\r\nabcSEEN", "expected a space after FROM", at: 13)
        expectFailure("FROM ~{3}\r\nabc", "expected a space after FROM", at: 6)
        expectFailure("FROM {1}\r\né", "expected a space after FROM", at: 11)
        // Parentheses
        expectFailure("(SEEN", "never closed", at: 5)
        expectFailure("((SEEN) FLAGGED", "never closed", at: 15)
        expectFailure("( ", "never closed", at: 2)
        expectFailure("SEEN)", "unbalanced parenthesis", at: 4)
        expectFailure(")", "unbalanced parenthesis", at: 0)
        expectFailure("OR SEEN FLAGGED DRAFT)", "unbalanced parenthesis", at: 21)
        expectFailure("()", "empty parentheses", at: 1)
        expectFailure("( )", "empty parentheses", at: 2)
        // Missing arguments
        expectFailure("FROM", "missing argument", at: 4)
        expectFailure("FROM  ", "missing argument", at: 6)
        expectFailure("(FROM)", "missing argument", at: 5)
        expectFailure("HEADER Subject", "missing argument", at: 14)
        expectFailure("NOT", "missing argument", at: 3)
        expectFailure("(NOT )", "missing argument", at: 5)
        expectFailure("OR SEEN", "missing argument", at: 7)
        expectFailure("(OR SEEN)", "missing argument", at: 8)
        expectFailure("FUZZY", "missing argument", at: 5)
        expectFailure("CHARSET", "missing argument", at: 7)
        expectFailure("SEEN\t\tFROM", "missing argument", at: 10)
        expectFailure("KEYWORD", "missing argument", at: 7)
        expectFailure("UID", "missing argument", at: 3)
        // Dates
        expectFailure("SINCE 1-Foo-2020", "month", at: 8)
        expectFailure("SINCE 30-Feb-2024", "has no day 30", at: 6)
        expectFailure("SINCE 29-Feb-2023", "bad date", at: 6)
        expectFailure("SINCE 29-Feb-1900", "bad date", at: 6)
        expectFailure("SINCE 31-Apr-2001", "bad date", at: 6)
        expectFailure("ON 0-Jan-2000", "bad date", at: 3)
        expectFailure("SINCE 1-Feb-94", "4 digits", at: 12)
        expectFailure("SINCE 1-Feb-19945", "4 digits", at: 12)
        expectFailure("SINCE 123-Feb-1994", "bad date", at: 8)
        expectFailure("BEFORE yesterday", "bad date", at: 7)
        expectFailure("SINCE \"1-Feb-1994", "closing", at: 17)
        expectFailure("SINCE 1-Feb-1994x", "unexpected 'x' after the date", at: 16)
        expectFailure("SINCE 1/Feb/1994", "bad date", at: 7)
        // Numbers and sequence sets
        expectFailure("LARGER abc", "bad number", at: 7)
        expectFailure("LARGER -5", "bad number", at: 7)
        expectFailure("LARGER 9223372036854775808", "at most 9223372036854775807", at: 7)
        expectFailure("SMALLER 12k", "bad number", at: 10)
        expectFailure("OLDER 0", "bad number", at: 6)
        expectFailure("YOUNGER 4294967296", "at most 4294967295", at: 8)
        expectFailure("UID 0", "bad number", at: 4)
        expectFailure("UID 07", "leading zeros", at: 4)
        expectFailure("UID 1:", "bad sequence set", at: 6)
        expectFailure("UID abc", "bad sequence set", at: 4)
        expectFailure("4294967296", "at most 4294967295", at: 0)
        expectFailure("1,,2", "bad sequence set", at: 2)
        expectFailure("1:5x", "bad sequence set", at: 3)
        expectFailure("UID $,1", "'$' stands alone", at: 4)
        expectFailure("$:3", "'$' stands alone", at: 0)
        // Unknown and misplaced keys
        expectFailure("MODSEQ 5", "unsupported search key MODSEQ", at: 0)
        expectFailure("SEEN X-GM-RAW \"foo\"", "unsupported search key X-GM-RAW", at: 5)
        expectFailure("OR SEEN EMAILID M123", "unsupported search key EMAILID", at: 8)
        expectFailure("SUBJECT \"日本\" BOGUS", "unsupported search key BOGUS", at: 17)
        expectFailure("ALL CHARSET UTF-8", "CHARSET must come before", at: 4)
        expectFailure("CHARSET UTF-8 RETURN (MIN) ALL", "RETURN must come first", at: 14)
        expectFailure("RETURN (MIN FOO) ALL", "unknown RETURN option FOO", at: 12)
        expectFailure("RETURN (PARTIAL 1:10) ALL", "unknown RETURN option PARTIAL", at: 8)
        expectFailure("RETURN MIN", "parenthesized", at: 7)
        expectFailure("RETURN (MIN", "never closed", at: 11)
        expectFailure("RETURN (MIN\"x\")", "bad RETURN option list", at: 11)
        expectFailure("CHARSET {5}\r\nUTF-8 ALL", "CHARSET needs an atom or a quoted string", at: 8)
        // Separators and stray characters
        expectFailure("SEEN\"x\"", "expected a space after SEEN", at: 4)
        expectFailure("NOT(SEEN)", "expected a space after NOT", at: 3)
        expectFailure("FROM \"x\"SEEN", "expected a space after FROM", at: 8)
        expectFailure("FROM a*b", "expected a space after FROM", at: 6)
        expectFailure("(SEEN)(FLAGGED)", "expected a space after ')'", at: 6)
        expectFailure("KEYWORD \"x\"", "needs a keyword", at: 8)
        expectFailure("KEYWORD a]b", "expected a space after KEYWORD", at: 9)
        expectFailure("SEEN ]", "expected a search key", at: 5)
        expectFailure("\"SEEN\"", "expected a search key", at: 0)
        expectFailure("SEEN\r\n", "expected a space after SEEN", at: 4)
        expectFailure("FROM %", "FROM needs a string", at: 5)
        // Limits
        expectFailure(String(repeating: "(", count: 65) + "ALL" + String(repeating: ")", count: 65), "nesting deeper than 64", at: 64)
        expectFailure(String(repeating: "NOT ", count: 65) + "SEEN", "nesting deeper than 64", at: 256)
        var small = QueryLimits()
        small.maxQueryBytes = 10
        expectFailure("FROM 12345678", "too long", at: 10, limits: small)
        var shallow = QueryLimits()
        shallow.maxDepth = 2
        expectFailure("NOT (OR SEEN FLAGGED)", "nesting deeper than 2", at: 5, limits: shallow)
    }

    @Test func deepNestingFailsCleanly() {
        let parens = String(repeating: "(", count: 10_000) + "ALL" + String(repeating: ")", count: 10_000)
        expectFailure(parens, "nesting deeper", at: 64)
        expectFailure(String(repeating: "(", count: 10_000), "nesting deeper", at: 64)
        expectFailure(String(repeating: "NOT ", count: 10_000) + "ALL", "nesting deeper", at: 256)
        expectFailure(String(repeating: "OR ", count: 10_000) + "ALL", "nesting deeper", at: 192)
        expectFailure(String(repeating: "OR ALL ", count: 5_000) + "ALL", "nesting deeper", at: 448)
        var unlimited = QueryLimits()
        unlimited.maxDepth = Int.max
        // The parser keeps nesting on its own stack: no stack overflow even without a limit.
        expectFailure(String(repeating: "(", count: 60_000), "never closed", at: 60_000, limits: unlimited)
        expectFailure(String(repeating: "NOT ", count: 16_000), "missing argument", at: 64_000, limits: unlimited)
    }

    // MARK: Printer

    @Test func printerOutput() throws {
        let cases: [(QueryNode, String)] = [
            (.all, "ALL"),
            (.and([.flag(.seen, true), imapText(.from, "anna")]), #"(SEEN FROM "anna")"#),
            (.and([.flag(.recent, true), .flag(.seen, false)]), "(RECENT UNSEEN)"),
            (.or([.flag(.flagged, true), .not(.flag(.seen, true))]), "OR FLAGGED NOT SEEN"),
            (imapText(.subject, #"a"b\c"#), #"SUBJECT "a\"b\\c""#),
            (imapText(.body, "line1\r\nline2"), "BODY {12}\r\nline1\r\nline2"),
            (imapText(.text, "a\u{0}b"), "TEXT {3}\r\na\u{0}b"),
            (imapText(.cc, "日本"), "CC \"日本\""),
            (.header(name: "X-Spam", value: ""), #"HEADER "X-Spam" """#),
            (.date(.sent, .since, imapDay(1, 2, 994)), "SENTSINCE 1-Feb-0994"),
            (.date(.arrival, .before, imapDay(31, 12, 2024)), "BEFORE 31-Dec-2024"),
            (.date(.arrival, .on, imapDay(29, 2, 2000)), "ON 29-Feb-2000"),
            (.uids(imapSet([(imapNumber(2), imapNumber(2)), (imapNumber(4), .star)])), "UID 2,4:*"),
            (.sequence(imapSet([(imapNumber(5), imapNumber(1))])), "5:1"),
            (.savedResult, "$"),
            (.keyword("$Forwarded", false), "UNKEYWORD $Forwarded"),
            (.relativeDate(.arrival, olderThan: true, seconds: 3600), "OLDER 3600"),
            (.relativeDate(.arrival, olderThan: false, seconds: 60), "YOUNGER 60"),
            (.size(larger: true, 1024), "LARGER 1024"),
            (.size(larger: false, 0), "SMALLER 0"),
            (.fuzzy(imapText(.subject, "x")), #"FUZZY SUBJECT "x""#),
            (.flag(.recent, false), "OLD"),
            (.and([.and([.all])]), "((ALL))"),
        ]
        for (node, expected) in cases {
            let printed = try IMAPSearchParser.format(node)
            #expect(printed == expected)
            #expect(try imapCriteria(printed) == node, "\(printed.debugDescription)")
        }
    }

    @Test func printerRefusesWhatIMAPCannotSay() {
        let unprintable: [QueryNode] = [
            .mailbox("INBOX"), .hasAttachment, .around(imapText(.body, "a"), imapText(.body, "b"), distance: 3),
            .text(.from, "x", .words), .text(.from, "x", .phrase), .text(.subject, "x", .prefix),
            .text(.filename, "x", .substring), .text(.list, "x", .substring), .text(.messageID, "x", .substring),
            .or([.all]), .or([.all, .all, .all]), .or([]), .and([]),
            .keyword("two words", true), .keyword("", true), .keyword("a]b", true), .keyword("naïve", true),
            .relativeDate(.sent, olderThan: true, seconds: 60), .relativeDate(.arrival, olderThan: true, seconds: 0),
            .relativeDate(.arrival, olderThan: true, seconds: 4_294_967_296), .size(larger: true, -1),
            .date(.arrival, .on, imapDay(1, 13, 2000)), .date(.arrival, .on, imapDay(30, 2, 2000)),
            .date(.arrival, .on, imapDay(1, 1, 10_000)), .date(.arrival, .on, imapDay(1, 1, -1)),
            .sequence(SequenceSet([])), .uids(imapSet([(imapNumber(0), imapNumber(3))])),
            .and([.all, .mailbox("x")]), .not(.or([.all])),
        ]
        for node in unprintable { expectUnprintable(node) }
        var deep = QueryNode.all
        for _ in 0..<65 { deep = .not(deep) }
        expectUnprintable(deep)
        var limits = QueryLimits()
        limits.maxDepth = 65
        #expect(throws: Never.self) { _ = try IMAPSearchParser.format(deep, limits: limits) }
    }

    // MARK: ESEARCH

    @Test func compress() {
        #expect(IMAPSearchParser.compress([]) == "")
        #expect(IMAPSearchParser.compress([7]) == "7")
        #expect(IMAPSearchParser.compress([1, 2]) == "1:2")
        #expect(IMAPSearchParser.compress([1, 3]) == "1,3")
        #expect(IMAPSearchParser.compress([2, 3, 4, 5, 9]) == "2:5,9")
        #expect(IMAPSearchParser.compress([1, 2, 3, 7, 8, 10]) == "1:3,7:8,10")
        #expect(IMAPSearchParser.compress([4_294_967_294, 4_294_967_295]) == "4294967294:4294967295")
        #expect(IMAPSearchParser.compress([4_294_967_295]) == "4294967295")
        // Not required of the caller, but still exact: repeats absorbed, disorder kept.
        #expect(IMAPSearchParser.compress([2, 2, 3]) == "2:3")
        #expect(IMAPSearchParser.compress([5, 3, 4]) == "5,3:4")
    }

    @Test func compressedSetsHoldExactlyTheNumbers() throws {
        var r = SeededRandom(seed: 0x5EA2C4)
        for _ in 0..<200 {
            var numbers: [UInt32] = []
            var next: UInt32 = 1 + UInt32(r.below(5))
            for _ in 0..<(1 + r.below(40)) {
                numbers.append(next)
                next += 1 + UInt32(r.below(3) == 0 ? r.below(5) : 0)
            }
            let printed = IMAPSearchParser.compress(numbers)
            guard case .uids(let parsed) = try imapCriteria("UID " + printed) else {
                Issue.record("\(printed) did not parse as a UID set")
                continue
            }
            let members = Set(numbers)
            for k in UInt32(0)...next where parsed.contains(k, largest: next) != members.contains(k) {
                Issue.record("\(printed): \(k)")
            }
        }
    }

    @Test func esearchData() {
        let all: [ESearchReturn] = [.min, .max, .count, .all]
        #expect(IMAPSearchParser.esearchData([2, 3, 4, 5, 9], options: all) == "MIN 2 MAX 9 COUNT 5 ALL 2:5,9")
        #expect(IMAPSearchParser.esearchData([2, 3, 4, 5, 9], options: [.all, .count, .max, .min, .save]) == "MIN 2 MAX 9 COUNT 5 ALL 2:5,9")
        #expect(IMAPSearchParser.esearchData([], options: all) == "COUNT 0")
        #expect(IMAPSearchParser.esearchData([], options: [.min, .max, .all]) == "")
        #expect(IMAPSearchParser.esearchData([7], options: [.min, .max, .all]) == "MIN 7 MAX 7 ALL 7")
        #expect(IMAPSearchParser.esearchData([1, 2], options: [.count]) == "COUNT 2")
        #expect(IMAPSearchParser.esearchData([1, 2], options: [.save]) == "")
        #expect(IMAPSearchParser.esearchData([1, 2], options: []) == "")
        #expect(IMAPSearchParser.esearchData([3, 4, 5], options: [.max, .all]) == "MAX 5 ALL 3:5")
    }

    // MARK: Properties

    @Test func randomTreesRoundTrip() throws {
        var r = SeededRandom(seed: 0x1A4_5EA2C4)
        var failures = 0
        for i in 0..<2_000 {
            let node = randomNode(&r, depth: 0)
            let printed = try IMAPSearchParser.format(node)
            let command = r.bool() ? "RETURN (COUNT) CHARSET UTF-8 " + printed : printed
            let back = try IMAPSearchParser.parse(command).criteria
            if back != node, failures < 5 {
                failures += 1
                Issue.record("tree \(i): \(node)\nprinted \(printed.debugDescription)\nread back \(back)")
            }
        }
    }

    @Test func randomInputsNeverCrash() {
        var r = SeededRandom(seed: 0xF022_5EED)
        let interesting = Array("( )\"\\{}\r\n*:,$0129-+~]%\t".utf8)
        let tokens = [
            "(", ")", " ", "  ", "\t", "OR", "NOT", "FUZZY", "ALL", "SEEN", "NEW", "FROM", "HEADER", "SINCE",
            "1-Feb-1994", "31-Apr-2001", "\"", "\"q\\\"x\"", "\\", "{", "}", "{3}\r\n", "{4+}\r\n", "{999}\r\n", "\r\n",
            "*", "1:*", "5:1", "2,4:7", "$", "UID", "LARGER", "9223372036854775807", "99999999999999999999",
            "RETURN", "(MIN COUNT)", "()", "CHARSET", "UTF-8", "KEYWORD", "$Junk", "OLDER", "0", "4294967295",
            "日本", "\u{0}", "]", "%", "~", "X-GM-RAW", "abc", "\"1-Feb-1994\"",
        ]
        var parsed = 0
        for i in 0..<20_000 {
            let input: String
            if i % 2 == 0 {
                var bytes: [UInt8] = []
                for _ in 0..<r.below(48) {
                    bytes.append(r.bool() ? r.pick(interesting) : UInt8(truncatingIfNeeded: r.next()))
                }
                input = String(decoding: bytes, as: UTF8.self)
            } else {
                var soup = ""
                for _ in 0..<r.below(20) {
                    soup += r.pick(tokens)
                    if r.below(3) != 0 { soup += " " }
                }
                input = soup
            }
            do {
                let command = try IMAPSearchParser.parse(input)
                parsed += 1
                // Whatever parses and prints must read back the same.
                if let printed = try? IMAPSearchParser.format(command.criteria) {
                    let back = try? IMAPSearchParser.parse(printed).criteria
                    #expect(back == command.criteria, "\(input.debugDescription) -> \(printed.debugDescription)")
                }
            } catch {
                if !(0...input.utf8.count).contains(error.offset) || error.message.isEmpty {
                    Issue.record("\(input.debugDescription): \(error)")
                }
            }
        }
        #expect(parsed > 100)  // the soup is not all errors
    }

    @Test func mutatedQueriesNeverCrash() {
        var r = SeededRandom(seed: 0xB17_F11B)
        for _ in 0..<2_000 {
            guard let printed = try? IMAPSearchParser.format(randomNode(&r, depth: 0)) else { continue }
            var bytes = Array(printed.utf8)
            for _ in 0..<(1 + r.below(3)) where !bytes.isEmpty {
                let at = r.below(bytes.count)
                switch r.below(3) {
                case 0: bytes.remove(at: at)
                case 1: bytes[at] = UInt8(truncatingIfNeeded: r.next())
                default: bytes.removeSubrange(at...)
                }
            }
            let input = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try IMAPSearchParser.parse(input)
            } catch {
                if !(0...input.utf8.count).contains(error.offset) { Issue.record("\(input.debugDescription): \(error)") }
            }
        }
    }
}
