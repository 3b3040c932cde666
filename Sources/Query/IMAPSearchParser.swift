// IMAP SEARCH criteria (RFC 9051 §6.4.4 and §9, RFC 3501 §6.4.4) into the query tree, and back.
// Extensions read: RETURN (RFC 4731 ESEARCH; SAVE and `$` from RFC 5182), OLDER / YOUNGER
// (RFC 5032 WITHIN), FUZZY (RFC 6203), non-synchronizing literals `{n+}` (RFC 7888 LITERAL+).
// Only the standard library: the Query module's other imports are not needed here.

/// A RETURN option of an extended SEARCH (RFC 4731; SAVE from RFC 5182).
public enum ESearchReturn: String, Sendable, Hashable, CaseIterable {
    case min = "MIN", max = "MAX", count = "COUNT", all = "ALL", save = "SAVE"
    /// RFC 6203: a relevancy score (1...100) per matching message, in the order of ALL.
    case relevancy = "RELEVANCY"
}

/// One parsed SEARCH / UID SEARCH command: what to return, the charset, the criteria.
public struct IMAPSearchCommand: Sendable, Hashable {
    /// RETURN options in the order given, without repeats; empty for a plain SEARCH.
    /// `RETURN ()` reads as `[.all]` (RFC 4731 §3.1).
    public var returnOptions: [ESearchReturn]
    /// The CHARSET argument as given; the caller decides whether it is supported.
    public var charset: String?
    public var criteria: QueryNode

    public init(returnOptions: [ESearchReturn] = [], charset: String? = nil, criteria: QueryNode) {
        self.returnOptions = returnOptions
        self.charset = charset
        self.criteria = criteria
    }
}

/// Reads and writes IMAP SEARCH arguments.
///
/// Mapping: flags to `.flag`, NEW to `.and([RECENT, UNSEEN])`, OLD to `.flag(.recent, false)`,
/// text keys to `.text(field, s, .substring)`, HEADER to `.header`, dates to `.date`,
/// LARGER / SMALLER to `.size`, OLDER / YOUNGER to `.relativeDate(.arrival, …)`, `UID set` to
/// `.uids`, a bare set to `.sequence`, `$` and `UID $` to `.savedResult`, NOT / OR / FUZZY to
/// their nodes, a parenthesized list to `.and` (kept even around one key). Several top-level
/// keys are an `.and`; one key is itself.
public enum IMAPSearchParser {
    /// Parses everything after the SEARCH (or UID SEARCH) command word, e.g.
    /// `RETURN (MIN COUNT) CHARSET UTF-8 OR FROM anna SUBJECT "q3 report" NOT SEEN SINCE 1-Feb-1994`.
    ///
    /// Errors carry the UTF-8 byte offset into `text` where the input went wrong. Nesting of
    /// parentheses, NOT, OR and FUZZY is limited to `limits.maxDepth` and kept on an explicit
    /// stack, so no input can exhaust the call stack.
    public static func parse(_ text: String, limits: QueryLimits = QueryLimits()) throws(QueryError) -> IMAPSearchCommand {
        let length = text.utf8.count
        guard length <= limits.maxQueryBytes else {
            throw QueryError(
                "query too long: \(length) bytes, longer than the limit of \(limits.maxQueryBytes) bytes",
                at: max(0, limits.maxQueryBytes))
        }
        var scanner = IMAPSearchScanner(Array(text.utf8), maxDepth: limits.maxDepth)
        return try scanner.command()
    }

    /// Prints criteria as IMAP search keys that `parse` reads back to the same tree.
    ///
    /// Keys are uppercase, strings quoted (a literal `{n}` CRLF when they hold CR, LF or NUL),
    /// dates `d-Mon-yyyy`, `.and` as `(a b)`, `.or([a, b])` as `OR a b`. Throws for what IMAP
    /// cannot say: webmail-only nodes, non-substring text matches, `.or` without exactly two
    /// keys, an empty `.and`, out-of-range values, nesting deeper than the default
    /// `QueryLimits().maxDepth` (which `parse` would refuse). The error's offset is the length
    /// of the text printed before the offending node.
    public static func format(_ node: QueryNode) throws(QueryError) -> String {
        try format(node, limits: QueryLimits())
    }

    /// `format(_:)` with the depth limit of the `parse` call that will read the text back.
    public static func format(_ node: QueryNode, limits: QueryLimits) throws(QueryError) -> String {
        var printer = IMAPSearchPrinter(maxDepth: limits.maxDepth)
        try printer.key(node, depth: 0)
        return String(decoding: printer.out, as: UTF8.self)
    }

    /// ESEARCH response data (RFC 4731 §3.1) for the matches (ascending and deduplicated by the
    /// caller), in the order MIN MAX COUNT ALL: `MIN 2 MAX 9 COUNT 5 ALL 2:5,9`. MIN, MAX and
    /// ALL are left out when nothing matched; COUNT is always given when asked for. SAVE
    /// produces no data; no options give the empty string.
    public static func esearchData(_ matches: [UInt32], options: [ESearchReturn], relevancy: [UInt8] = []) -> String {
        var parts: [String] = []
        if options.contains(.min), let least = matches.min() { parts.append("MIN \(least)") }
        if options.contains(.max), let most = matches.max() { parts.append("MAX \(most)") }
        if options.contains(.count) { parts.append("COUNT \(matches.count)") }
        if options.contains(.all), !matches.isEmpty { parts.append("ALL \(compress(matches))") }
        // RFC 6203 §4: one score per match, in ascending message order.
        if options.contains(.relevancy), !matches.isEmpty { parts.append("RELEVANCY (" + relevancy.map(String.init).joined(separator: " ") + ")") }
        return parts.joined(separator: " ")
    }

    /// Compresses ascending numbers into an IMAP sequence set: `[2, 3, 4, 5, 9]` → `2:5,9`.
    /// Repeats are absorbed; numbers out of order still give a set of exactly those numbers,
    /// only not the shortest one. An empty list gives the empty string.
    public static func compress(_ numbers: [UInt32]) -> String {
        var out = ""
        var i = 0
        while i < numbers.count {
            let first = numbers[i]
            var last = first
            i += 1
            while i < numbers.count, numbers[i] == last || (last < UInt32.max && numbers[i] == last + 1) {
                last = numbers[i]
                i += 1
            }
            if !out.isEmpty { out += "," }
            out += first == last ? String(first) : "\(first):\(last)"
        }
        return out
    }
}

// MARK: - Bytes of the grammar

/// The characters of the IMAP grammar (RFC 9051 §9), as bytes.
private enum IMAPSyntax {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22  // "
    static let dollar: UInt8 = 0x24  // $
    static let percent: UInt8 = 0x25  // %
    static let open: UInt8 = 0x28  // (
    static let close: UInt8 = 0x29  // )
    static let star: UInt8 = 0x2A  // *
    static let plus: UInt8 = 0x2B  // +
    static let comma: UInt8 = 0x2C  // ,
    static let dash: UInt8 = 0x2D  // -
    static let zero: UInt8 = 0x30  // 0
    static let colon: UInt8 = 0x3A  // :
    static let backslash: UInt8 = 0x5C  // \
    static let closeBracket: UInt8 = 0x5D  // ]
    static let openBrace: UInt8 = 0x7B  // {
    static let closeBrace: UInt8 = 0x7D  // }

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    /// Whitespace accepted where the grammar has SP: runs of spaces and tabs.
    static func isSpace(_ b: UInt8) -> Bool { b == space || b == tab }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// ATOM-CHAR = <any CHAR except atom-specials>
    /// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
    /// Bytes of 0x80 and up (UTF-8) are accepted too, leniently: clients send unquoted UTF-8.
    static func isAtomChar(_ b: UInt8) -> Bool {
        switch b {
        case 0x00...0x20, 0x7F, open, close, openBrace, percent, star, quote, backslash, closeBracket: false
        default: true
        }
    }

    /// ASTRING-CHAR = ATOM-CHAR / resp-specials
    static func isAstringChar(_ b: UInt8) -> Bool { b == closeBracket || isAtomChar(b) }

    /// A strict atom for printing: 7-bit only, so any IMAP server reads it.
    static func isStrictAtom(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 < 0x80 && isAtomChar($0) }
    }

    static func uppercased<S: Sequence<UInt8>>(_ bytes: S) -> String {
        String(decoding: bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    /// A byte named for an error message.
    static func describe(_ b: UInt8?) -> String {
        guard let b else { return "the end of the input" }
        switch b {
        case space: return "a space"
        case tab: return "a tab"
        case cr: return "CR"
        case lf: return "LF"
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(b)))'"
        default: return "byte 0x\(b < 0x10 ? "0" : "")\(String(b, radix: 16, uppercase: true))"
        }
    }

    static func isLeapYear(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

// MARK: - Parsing

/// Reads SEARCH arguments byte by byte. Every read is bounds-checked (`peek`); nesting lives
/// on an explicit stack of pending operators, never the call stack.
private struct IMAPSearchScanner {
    typealias S = IMAPSyntax

    let bytes: [UInt8]
    let maxDepth: Int
    var pos = 0

    init(_ bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// An operator still waiting for operands; `base` is where its operands start in the
    /// operand stack.
    enum Pending {
        case not
        case fuzzy
        case or(base: Int)
        case group(open: Int, base: Int)
    }

    /// A run of atom characters: as written, and uppercased for matching keywords.
    struct Word {
        var text: String
        var upper: String
    }

    var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    func byte(at i: Int) -> UInt8? { i >= 0 && i < bytes.count ? bytes[i] : nil }

    /// Skips spaces and tabs; says whether there were any.
    @discardableResult
    mutating func skipSpace() -> Bool {
        let start = pos
        while let b = peek, S.isSpace(b) { pos += 1 }
        return pos > start
    }

    mutating func readWord() -> Word {
        let start = pos
        while let b = peek, S.isAtomChar(b) { pos += 1 }
        let slice = bytes[start..<pos]
        return Word(text: String(decoding: slice, as: UTF8.self), upper: S.uppercased(slice))
    }

    /// The next word uppercased, without consuming it.
    func peekWord() -> String {
        var end = pos
        while end < bytes.count, S.isAtomChar(bytes[end]) { end += 1 }
        return S.uppercased(bytes[pos..<end])
    }

    // search          = "SEARCH" [search-return-opts] SP search-program
    // search-program  = ["CHARSET" SP charset SP] search-key *(SP search-key)
    mutating func command() throws(QueryError) -> IMAPSearchCommand {
        skipSpace()
        var options: [ESearchReturn] = []
        if peekWord() == "RETURN" { options = try returnOptions() }
        var charset: String?
        if peekWord() == "CHARSET" { charset = try charsetName() }
        let criteria = try criteria()
        return IMAPSearchCommand(returnOptions: options, charset: charset, criteria: criteria)
    }

    // search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
    // search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
    mutating func returnOptions() throws(QueryError) -> [ESearchReturn] {
        pos += 6  // RETURN
        try beginArgument(of: "RETURN", "a parenthesized list of options")
        guard peek == S.open else {
            throw QueryError("RETURN needs a parenthesized list of options, found \(S.describe(peek))", at: pos)
        }
        let open = pos
        pos += 1
        var options: [ESearchReturn] = []
        while true {
            skipSpace()
            guard let b = peek else {
                throw QueryError("unbalanced parenthesis: the RETURN list opened at byte \(open) is never closed", at: pos)
            }
            if b == S.close {
                pos += 1
                break
            }
            let start = pos
            let word = readWord()
            guard !word.text.isEmpty else {
                throw QueryError("bad RETURN option list: unexpected \(S.describe(b))", at: start)
            }
            guard let option = ESearchReturn(rawValue: word.upper) else {
                throw QueryError("unknown RETURN option \(word.text)", at: start)
            }
            if !options.contains(option) { options.append(option) }
            if let next = peek, next != S.close, !S.isSpace(next) {
                throw QueryError("bad RETURN option list: unexpected \(S.describe(next)) after \(word.upper)", at: pos)
            }
        }
        try expectKeyEnd(after: "the RETURN options")
        skipSpace()
        return options.isEmpty ? [.all] : options
    }

    // charset = atom / quoted
    mutating func charsetName() throws(QueryError) -> String {
        pos += 7  // CHARSET
        try beginArgument(of: "CHARSET", "a charset name")
        let name: String
        if peek == S.quote {
            name = try quoted()
        } else {
            let word = readWord()
            guard !word.text.isEmpty else {
                throw QueryError("CHARSET needs an atom or a quoted string, found \(S.describe(peek))", at: pos)
            }
            name = word.text
        }
        try expectKeyEnd(after: "the CHARSET name")
        skipSpace()
        return name
    }

    // search-key = ... / "NOT" SP search-key / "OR" SP search-key SP search-key /
    //              "(" search-key *(SP search-key) ")"  (RFC 6203: / "FUZZY" SP search-key)
    //
    // Operators are pushed on `pending`; each finished key is folded into the operators
    // waiting for it (NOT, FUZZY, the second operand of OR) until one needs more keys.
    mutating func criteria() throws(QueryError) -> QueryNode {
        guard pos < bytes.count else {
            throw QueryError("empty search criteria: at least one search key is needed", at: pos)
        }
        var operands: [QueryNode] = []
        var pending: [Pending] = []
        parsing: while true {
            // A search key starts here; spaces before it are skipped.
            let start = pos
            guard let b = peek, b != S.close else { throw missingKey(after: pending.last) }
            var node: QueryNode
            var label: String
            if b == S.open {
                try push(.group(open: start, base: operands.count), onto: &pending, at: start)
                pos += 1
                skipSpace()
                if peek == S.close {
                    throw QueryError("empty parentheses: '(' needs at least one search key", at: pos)
                }
                continue parsing
            } else if S.isDigit(b) || b == S.star {
                node = .sequence(try sequenceSet())
                label = "the sequence set"
            } else {
                let word = readWord()
                guard !word.text.isEmpty else {
                    throw QueryError("expected a search key, found \(S.describe(b))", at: start)
                }
                switch word.upper {
                case "NOT":
                    try push(.not, onto: &pending, at: start)
                    try beginArgument(of: "NOT", "a search key")
                    continue parsing
                case "FUZZY":
                    try push(.fuzzy, onto: &pending, at: start)
                    try beginArgument(of: "FUZZY", "a search key")
                    continue parsing
                case "OR":
                    try push(.or(base: operands.count), onto: &pending, at: start)
                    try beginArgument(of: "OR", "two search keys")
                    continue parsing
                default:
                    node = try simpleKey(word, at: start)
                    label = word.upper
                }
            }
            try expectKeyEnd(after: label)

            // Fold the finished key into the operators waiting for it.
            while true {
                guard let top = pending.last else {
                    operands.append(node)
                    skipSpace()
                    guard let next = peek else { return operands.count == 1 ? operands[0] : .and(operands) }
                    if next == S.close {
                        throw QueryError("unbalanced parenthesis: ')' without a matching '('", at: pos)
                    }
                    continue parsing
                }
                switch top {
                case .not:
                    pending.removeLast()
                    node = .not(node)
                case .fuzzy:
                    pending.removeLast()
                    node = .fuzzy(node)
                case .or(let base):
                    if operands.count == base {
                        operands.append(node)
                        skipSpace()
                        continue parsing
                    }
                    pending.removeLast()
                    let first = operands.removeLast()
                    node = .or([first, node])
                case .group(let open, let base):
                    operands.append(node)
                    skipSpace()
                    guard let next = peek else {
                        throw QueryError("unbalanced parenthesis: '(' at byte \(open) is never closed", at: pos)
                    }
                    guard next == S.close else { continue parsing }
                    pos += 1
                    pending.removeLast()
                    node = .and(Array(operands[base...]))
                    operands.removeSubrange(base...)
                    try expectKeyEnd(after: "')'")
                }
            }
        }
    }

    func push(_ operation: Pending, onto pending: inout [Pending], at offset: Int) throws(QueryError) {
        guard pending.count < maxDepth else {
            throw QueryError("nesting deeper than \(maxDepth) levels of parentheses, NOT, OR and FUZZY", at: offset)
        }
        pending.append(operation)
    }

    /// The error for a search key missing at `pos` (the end of the input or a ')').
    func missingKey(after operation: Pending?) -> QueryError {
        switch operation {
        case nil:
            if peek == S.close { return QueryError("unbalanced parenthesis: ')' without a matching '('", at: pos) }
            return QueryError("empty search criteria: at least one search key is needed", at: pos)
        case .not: return QueryError("missing argument: NOT needs a search key", at: pos)
        case .fuzzy: return QueryError("missing argument: FUZZY needs a search key", at: pos)
        case .or: return QueryError("missing argument: OR needs two search keys", at: pos)
        case .group(let open, _):
            if peek == nil { return QueryError("unbalanced parenthesis: '(' at byte \(open) is never closed", at: pos) }
            return QueryError("expected a search key, found \(S.describe(peek))", at: pos)
        }
    }

    /// The SP before an argument (spaces and tabs); a missing argument is named as such.
    mutating func beginArgument(of key: String, _ what: String) throws(QueryError) {
        let spaced = skipSpace()
        guard let b = peek, b != S.close else { throw QueryError("missing argument: \(key) needs \(what)", at: pos) }
        guard spaced else { throw QueryError("expected a space after \(key), found \(S.describe(b))", at: pos) }
    }

    /// A key ends at a space, a ')' or the end of the input.
    func expectKeyEnd(after what: String) throws(QueryError) {
        guard let b = peek, b != S.close, !S.isSpace(b) else { return }
        throw QueryError("expected a space after \(what), found \(S.describe(b))", at: pos)
    }

    /// Every key but the operators and parentheses.
    mutating func simpleKey(_ word: Word, at start: Int) throws(QueryError) -> QueryNode {
        let key = word.upper
        switch key {
        case "ALL": return .all
        case "ANSWERED": return .flag(.answered, true)
        case "UNANSWERED": return .flag(.answered, false)
        case "DELETED": return .flag(.deleted, true)
        case "UNDELETED": return .flag(.deleted, false)
        case "DRAFT": return .flag(.draft, true)
        case "UNDRAFT": return .flag(.draft, false)
        case "FLAGGED": return .flag(.flagged, true)
        case "UNFLAGGED": return .flag(.flagged, false)
        case "SEEN": return .flag(.seen, true)
        case "UNSEEN": return .flag(.seen, false)
        case "RECENT": return .flag(.recent, true)
        case "OLD": return .flag(.recent, false)
        // RFC 3501: NEW is "RECENT UNSEEN".
        case "NEW": return .and([.flag(.recent, true), .flag(.seen, false)])
        case "KEYWORD", "UNKEYWORD":
            try beginArgument(of: key, "a keyword")
            return .keyword(try flagKeyword(key), key == "KEYWORD")
        case "BCC": return .text(.bcc, try textArgument(key), .substring)
        case "CC": return .text(.cc, try textArgument(key), .substring)
        case "FROM": return .text(.from, try textArgument(key), .substring)
        case "TO": return .text(.to, try textArgument(key), .substring)
        case "SUBJECT": return .text(.subject, try textArgument(key), .substring)
        case "BODY": return .text(.body, try textArgument(key), .substring)
        case "TEXT": return .text(.text, try textArgument(key), .substring)
        case "HEADER":
            // "HEADER" SP header-fld-name SP astring ; header-fld-name = astring
            try beginArgument(of: key, "a header field name and a string")
            let name = try astring(key)
            try beginArgument(of: "the HEADER field name", "a string after the field name")
            let value = try astring(key)
            return .header(name: name, value: value)
        case "BEFORE": return .date(.arrival, .before, try dateArgument(key))
        case "ON": return .date(.arrival, .on, try dateArgument(key))
        case "SINCE": return .date(.arrival, .since, try dateArgument(key))
        case "SENTBEFORE": return .date(.sent, .before, try dateArgument(key))
        case "SENTON": return .date(.sent, .on, try dateArgument(key))
        case "SENTSINCE": return .date(.sent, .since, try dateArgument(key))
        case "LARGER", "SMALLER":
            // "LARGER" SP number64 / "SMALLER" SP number64
            try beginArgument(of: key, "a number")
            return .size(larger: key == "LARGER", try number64(key))
        case "OLDER", "YOUNGER":
            // RFC 5032: "OLDER" SP nz-number / "YOUNGER" SP nz-number (seconds)
            try beginArgument(of: key, "a number of seconds")
            let seconds = try nzNumber(key)
            try expectNumberEnd()
            return .relativeDate(.arrival, olderThan: key == "OLDER", seconds: Int64(seconds))
        case "UID":
            // "UID" SP sequence-set ; RFC 5182: sequence-set =/ seq-last-command
            try beginArgument(of: key, "a sequence set")
            if peek == S.dollar { return try savedResult() }
            return .uids(try sequenceSet())
        case "$":
            return .savedResult
        case "CHARSET":
            throw QueryError("CHARSET must come before the search keys (after RETURN, if any)", at: start)
        case "RETURN":
            throw QueryError("RETURN must come first, before CHARSET and the search keys", at: start)
        default:
            if key.hasPrefix("$,") || key.hasPrefix("$:") {
                throw QueryError("bad sequence set: '$' stands alone and cannot be combined with numbers", at: start)
            }
            throw QueryError("unsupported search key \(word.text)", at: start)
        }
    }

    // seq-last-command = "$" (RFC 5182), never part of a larger set.
    mutating func savedResult() throws(QueryError) -> QueryNode {
        let start = pos
        pos += 1
        if let b = peek, b == S.comma || b == S.colon {
            throw QueryError("bad sequence set: '$' stands alone and cannot be combined with numbers", at: start)
        }
        return .savedResult
    }

    /// "BCC" SP astring and the other text keys.
    mutating func textArgument(_ key: String) throws(QueryError) -> String {
        try beginArgument(of: key, "a string")
        return try astring(key)
    }

    // flag-keyword = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" / atom
    mutating func flagKeyword(_ key: String) throws(QueryError) -> String {
        let start = pos
        while let b = peek, S.isAtomChar(b) { pos += 1 }
        guard pos > start else {
            throw QueryError("\(key) needs a keyword (an atom), found \(S.describe(peek))", at: pos)
        }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    // astring = 1*ASTRING-CHAR / string
    // string  = quoted / literal
    mutating func astring(_ key: String) throws(QueryError) -> String {
        if peek == S.quote { return try quoted() }
        if peek == S.openBrace { return try literal() }
        let start = pos
        while let b = peek, S.isAstringChar(b) { pos += 1 }
        guard pos > start else {
            throw QueryError("\(key) needs a string (atom, quoted string or literal), found \(S.describe(peek))", at: pos)
        }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    // quoted         = DQUOTE *QUOTED-CHAR DQUOTE
    // QUOTED-CHAR    = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
    // quoted-specials = DQUOTE / "\"
    mutating func quoted() throws(QueryError) -> String {
        let open = pos
        pos += 1
        var value: [UInt8] = []
        while true {
            guard let b = peek else {
                throw QueryError("unterminated quoted string: no closing '\"' for the quote", at: open)
            }
            switch b {
            case S.quote:
                pos += 1
                return String(decoding: value, as: UTF8.self)
            case S.backslash:
                guard let escaped = byte(at: pos + 1) else {
                    throw QueryError("unterminated quoted string: no closing '\"' for the quote", at: open)
                }
                guard escaped == S.quote || escaped == S.backslash else {
                    throw QueryError(
                        "invalid escape in quoted string: '\\' may only precede '\"' or '\\', found \(S.describe(escaped))",
                        at: pos)
                }
                value.append(escaped)
                pos += 2
            case S.cr, S.lf:
                throw QueryError("line break (\(S.describe(b))) inside a quoted string; send it as a literal", at: pos)
            case 0:
                throw QueryError("NUL inside a quoted string; send it as a literal", at: pos)
            default:
                value.append(b)
                pos += 1
            }
        }
    }

    // literal = "{" number64 ["+"] "}" CRLF *CHAR8   ("+": RFC 7888 LITERAL+)
    mutating func literal() throws(QueryError) -> String {
        let open = pos
        pos += 1
        let digitsStart = pos
        var length = 0
        while let b = peek, S.isDigit(b) {
            let (times10, o1) = length.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(b - S.zero))
            guard !o1, !o2 else { throw QueryError("bad literal length: the number is too large", at: digitsStart) }
            length = sum
            pos += 1
        }
        guard pos > digitsStart else {
            throw QueryError("bad literal length: expected digits after '{', found \(S.describe(peek))", at: pos)
        }
        if peek == S.plus { pos += 1 }
        guard peek == S.closeBrace else {
            throw QueryError("bad literal length: expected '}' after the length, found \(S.describe(peek))", at: pos)
        }
        pos += 1
        guard peek == S.cr, byte(at: pos + 1) == S.lf else {
            throw QueryError("bad literal: expected CRLF after '}', found \(S.describe(peek))", at: pos)
        }
        pos += 2
        let remaining = bytes.count - pos
        guard length <= remaining else {
            throw QueryError(
                "literal of \(length) bytes is longer than the rest of the input (\(remaining) bytes)", at: open)
        }
        let value = String(decoding: bytes[pos..<pos + length], as: UTF8.self)
        pos += length
        return value
    }

    // date      = date-text / DQUOTE date-text DQUOTE
    // date-text = date-day "-" date-month "-" date-year
    // date-day  = 1*2DIGIT ; date-year = 4DIGIT
    mutating func dateArgument(_ key: String) throws(QueryError) -> SearchDay {
        try beginArgument(of: key, "a date (d-Mon-yyyy)")
        let isQuoted = peek == S.quote
        if isQuoted { pos += 1 }
        let dayStart = pos
        let (day, dayDigits) = digits(atMost: 2)
        guard dayDigits > 0 else {
            throw QueryError("bad date: expected d-Mon-yyyy, found \(S.describe(peek))", at: pos)
        }
        guard peek == S.dash else {
            throw QueryError("bad date: expected '-' after the day, found \(S.describe(peek))", at: pos)
        }
        pos += 1
        var month = 0
        if pos + 3 <= bytes.count, let index = S.monthNames.firstIndex(of: S.uppercased(bytes[pos..<pos + 3])) {
            month = index + 1
        } else {
            throw QueryError("bad date: expected a month name Jan ... Dec", at: pos)
        }
        pos += 3
        guard peek == S.dash else {
            throw QueryError("bad date: expected '-' after the month, found \(S.describe(peek))", at: pos)
        }
        pos += 1
        let yearStart = pos
        let (year, yearDigits) = digits(atMost: 4)
        if yearDigits != 4 || peek.map(S.isDigit) == true {
            throw QueryError("bad date: the year must have 4 digits", at: yearStart)
        }
        guard day >= 1, day <= S.daysIn(month: month, year: year) else {
            throw QueryError(
                "bad date: \(SearchDay.monthNames[month - 1]) \(year) has no day \(day)", at: dayStart)
        }
        if isQuoted {
            guard peek == S.quote else {
                throw QueryError("bad date: expected the closing '\"', found \(S.describe(peek))", at: pos)
            }
            pos += 1
        }
        if let b = peek, b != S.close, !S.isSpace(b) {
            throw QueryError("bad date: unexpected \(S.describe(b)) after the date", at: pos)
        }
        return SearchDay(year: year, month: month, day: day)
    }

    /// Up to `atMost` digits (a small count: no overflow), their value and how many.
    mutating func digits(atMost count: Int) -> (Int, Int) {
        var value = 0
        var read = 0
        while read < count, let b = peek, S.isDigit(b) {
            value = value * 10 + Int(b - S.zero)
            read += 1
            pos += 1
        }
        return (value, read)
    }

    // number64 = 1*DIGIT ; unsigned 63-bit integer
    mutating func number64(_ key: String) throws(QueryError) -> Int64 {
        let start = pos
        var value: Int64 = 0
        while let b = peek, S.isDigit(b) {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(b - S.zero))
            guard !o1, !o2 else {
                throw QueryError("bad number: \(key) takes at most 9223372036854775807", at: start)
            }
            value = sum
            pos += 1
        }
        guard pos > start else {
            throw QueryError("bad number: \(key) needs digits, found \(S.describe(peek))", at: pos)
        }
        try expectNumberEnd()
        return value
    }

    // nz-number = digit-nz *DIGIT ; 1 ... 4294967295
    mutating func nzNumber(_ what: String) throws(QueryError) -> UInt32 {
        let start = pos
        guard let first = peek, S.isDigit(first) else {
            throw QueryError("bad number: \(what) needs a number from 1 to 4294967295, found \(S.describe(peek))", at: pos)
        }
        guard first != S.zero else {
            throw QueryError("bad number: \(what) must be from 1 to 4294967295, without leading zeros", at: pos)
        }
        var value: UInt64 = 0
        while let b = peek, S.isDigit(b) {
            value = value * 10 + UInt64(b - S.zero)
            guard value <= UInt64(UInt32.max) else {
                throw QueryError("bad number: \(what) must be at most 4294967295", at: start)
            }
            pos += 1
        }
        return UInt32(truncatingIfNeeded: value)
    }

    func expectNumberEnd() throws(QueryError) {
        if let b = peek, b != S.close, !S.isSpace(b) {
            throw QueryError("bad number: unexpected \(S.describe(b)) after the digits", at: pos)
        }
    }

    // sequence-set = (seq-number / seq-range) ["," sequence-set]
    // seq-range    = seq-number ":" seq-number
    // seq-number   = nz-number / "*"
    mutating func sequenceSet() throws(QueryError) -> SequenceSet {
        var ranges: [SequenceSet.Range] = []
        while true {
            let from = try seqNumber()
            var to = from
            if peek == S.colon {
                pos += 1
                to = try seqNumber()
            }
            ranges.append(SequenceSet.Range(from, to))
            guard peek == S.comma else { break }
            pos += 1
        }
        if let b = peek, b != S.close, !S.isSpace(b) {
            throw QueryError("bad sequence set: unexpected \(S.describe(b))", at: pos)
        }
        return SequenceSet(ranges)
    }

    mutating func seqNumber() throws(QueryError) -> SequenceSet.Bound {
        if peek == S.star {
            pos += 1
            return .star
        }
        guard let b = peek, S.isDigit(b) else {
            throw QueryError("bad sequence set: expected a number or '*', found \(S.describe(peek))", at: pos)
        }
        return .number(try nzNumber("a sequence number"))
    }
}

// MARK: - Printing

/// Writes search keys into `out`; recursion is bounded by `maxDepth`.
private struct IMAPSearchPrinter {
    typealias S = IMAPSyntax

    let maxDepth: Int
    var out: [UInt8] = []

    mutating func write(_ text: String) { out.append(contentsOf: text.utf8) }

    func unprintable(_ what: String) -> QueryError {
        QueryError("\(what) cannot be written as an IMAP search key", at: out.count)
    }

    /// An operator at `depth` nests its keys one level deeper.
    func enter(_ depth: Int) throws(QueryError) {
        guard depth < maxDepth else {
            throw QueryError("nesting deeper than \(maxDepth) levels of parentheses, NOT, OR and FUZZY", at: out.count)
        }
    }

    mutating func key(_ node: QueryNode, depth: Int) throws(QueryError) {
        switch node {
        case .all:
            write("ALL")
        case .and(let keys):
            guard !keys.isEmpty else { throw unprintable("an empty AND") }
            try enter(depth)
            out.append(S.open)
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(S.space) }
                try self.key(key, depth: depth + 1)
            }
            out.append(S.close)
        case .or(let keys):
            guard keys.count == 2 else {
                throw unprintable("an OR of \(keys.count) keys (IMAP OR takes exactly two)")
            }
            try enter(depth)
            write("OR ")
            try key(keys[0], depth: depth + 1)
            out.append(S.space)
            try key(keys[1], depth: depth + 1)
        case .not(let key):
            try enter(depth)
            write("NOT ")
            try self.key(key, depth: depth + 1)
        case .fuzzy(let key):
            try enter(depth)
            write("FUZZY ")
            try self.key(key, depth: depth + 1)
        case .text(let field, let value, let match):
            guard match == .substring else {
                throw unprintable("a text match by \(match.rawValue) (IMAP matches substrings)")
            }
            let name: String
            switch field {
            case .from: name = "FROM"
            case .to: name = "TO"
            case .cc: name = "CC"
            case .bcc: name = "BCC"
            case .subject: name = "SUBJECT"
            case .body: name = "BODY"
            case .text: name = "TEXT"
            case .filename, .list, .messageID: throw unprintable("a search of the \(field.rawValue) field")
            }
            write(name + " ")
            string(value)
        case .header(let name, let value):
            write("HEADER ")
            string(name)
            out.append(S.space)
            string(value)
        case .date(let field, let comparison, let day):
            let text = try date(day)
            let name: String
            switch comparison {
            case .before: name = "BEFORE"
            case .on: name = "ON"
            case .since: name = "SINCE"
            }
            write((field == .sent ? "SENT" : "") + name + " " + text)
        case .relativeDate(let field, let olderThan, let seconds):
            guard field == .arrival else { throw unprintable("a relative date of the sent date") }
            guard seconds >= 1, seconds <= Int64(UInt32.max) else {
                throw unprintable("a relative date of \(seconds) seconds (OLDER/YOUNGER take 1 ... 4294967295)")
            }
            write((olderThan ? "OLDER " : "YOUNGER ") + String(seconds))
        case .size(let larger, let size):
            guard size >= 0 else { throw unprintable("a negative size") }
            write((larger ? "LARGER " : "SMALLER ") + String(size))
        case .flag(let flag, let set):
            let name: String
            switch flag {
            case .seen: name = set ? "SEEN" : "UNSEEN"
            case .answered: name = set ? "ANSWERED" : "UNANSWERED"
            case .flagged: name = set ? "FLAGGED" : "UNFLAGGED"
            case .deleted: name = set ? "DELETED" : "UNDELETED"
            case .draft: name = set ? "DRAFT" : "UNDRAFT"
            case .recent: name = set ? "RECENT" : "OLD"
            }
            write(name)
        case .keyword(let keyword, let set):
            guard S.isStrictAtom(keyword) else { throw unprintable("a keyword that is not an atom") }
            write((set ? "KEYWORD " : "UNKEYWORD ") + keyword)
        case .uids(let set):
            write("UID ")
            try sequenceSet(set)
        case .sequence(let set):
            try sequenceSet(set)
        case .savedResult:
            out.append(S.dollar)
        case .mailbox:
            throw unprintable("a mailbox condition")
        case .hasAttachment:
            throw unprintable("an attachment condition")
        case .around:
            throw unprintable("AROUND")
        }
    }

    /// A quoted string, or a literal when CR, LF or NUL cannot be quoted.
    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        if utf8.contains(where: { $0 == S.cr || $0 == S.lf || $0 == 0 }) {
            write("{\(utf8.count)}\r\n")
            out.append(contentsOf: utf8)
            return
        }
        out.append(S.quote)
        for b in utf8 {
            if b == S.quote || b == S.backslash { out.append(S.backslash) }
            out.append(b)
        }
        out.append(S.quote)
    }

    /// date-text, the year in 4 digits.
    func date(_ day: SearchDay) throws(QueryError) -> String {
        guard (1...12).contains(day.month), (0...9999).contains(day.year),
            day.day >= 1, day.day <= S.daysIn(month: day.month, year: day.year)
        else { throw unprintable("the date \(day.year)-\(day.month)-\(day.day)") }
        let year = String(day.year)
        return "\(day.day)-\(SearchDay.monthNames[day.month - 1])-" + String(repeating: "0", count: 4 - year.count) + year
    }

    mutating func sequenceSet(_ set: SequenceSet) throws(QueryError) {
        guard !set.ranges.isEmpty else { throw unprintable("an empty sequence set") }
        for (i, range) in set.ranges.enumerated() {
            if i > 0 { out.append(S.comma) }
            try bound(range.from)
            if range.to != range.from {
                out.append(S.colon)
                try bound(range.to)
            }
        }
    }

    mutating func bound(_ bound: SequenceSet.Bound) throws(QueryError) {
        switch bound {
        case .star: out.append(S.star)
        case .number(let n):
            guard n > 0 else { throw unprintable("the sequence number 0") }
            write(String(n))
        }
    }
}
