/// The Gmail-style webmail query language: parsed into the shared `QueryNode` tree, and printed
/// back from it.
///
/// Grammar (juxtaposition is AND; OR and AROUND bind tighter than AND, AROUND tighter than OR;
/// `-` and `op:` bind tightest):
///
///     query     = *item
///     item      = or-chain / "OR" / closer          ; a dangling OR or a stray closer is ignored
///     or-chain  = around *(1*"OR" around)
///     around    = unary *("AROUND" distance unary)  ; distance = 0...1000, else AROUND is a word
///     unary     = *"-" atom                         ; each "-" is one NOT
///     atom      = phrase / group / operator / word
///     group     = "(" query [")"] / "{" query ["}"] ; a missing closer closes at the end
///     operator  = name ":" (value / phrase / group) ; phrase and group only glued to the colon
///     phrase    = DQUOTE *(not DQUOTE) [DQUOTE]     ; an unterminated quote runs to the end
///     word      = 1*(not whitespace, "(", ")", "{", "}", DQUOTE)  ; "word*" is a prefix
///
/// The language is lenient, as Gmail is: anything it does not understand (an unknown operator,
/// a bad date, a stray parenthesis) becomes plain words or is ignored. The only errors are the
/// limits: the query's length and its nesting depth.
///
/// `a AROUND 1 b AROUND 2 c` is read as `(a AROUND 1 b) (b AROUND 2 c)`: each AROUND joins its
/// two neighbours, so chains never nest. Nesting depth (checked against `QueryLimits.maxDepth`)
/// counts each group — parentheses, braces, a field's group — and each `-`; OR and AROUND chains
/// are flat and add none.
public enum WebmailQueryParser {
    /// Nesting is never accepted deeper than this, whatever `QueryLimits.maxDepth` says: the
    /// parser, the printer and the tree's own `==`, hashing and deinit recurse once per level.
    static let depthCeiling = 256

    /// Parses a Gmail-style query. Relative dates (`older_than:`, `newer_than:`) stay relative in
    /// the tree; the planner resolves them against the clock when the query runs.
    public static func parse(_ text: String, limits: QueryLimits = QueryLimits()) throws(QueryError) -> QueryNode {
        let byteCount = text.utf8.count
        if byteCount > limits.maxQueryBytes {
            throw QueryError(
                "query is \(byteCount) bytes, over the limit of \(limits.maxQueryBytes)",
                at: max(0, limits.maxQueryBytes))
        }
        var parser = Parser(tokens: lex(text), maxDepth: min(limits.maxDepth, depthCeiling))
        return try parser.parseQuery()
    }

    /// Prints a tree in this language so that `parse(format(x)) == x` for every tree the language
    /// can express; throws `QueryError` for a node it cannot express (IMAP-only keys such as
    /// substrings, headers, UIDs or sent dates; an AND or OR of fewer than two operands; words
    /// that would read back as something else; nesting deeper than `limits.maxDepth`).
    public static func format(_ node: QueryNode, limits: QueryLimits = QueryLimits()) throws(QueryError) -> String {
        if case .all = node { return "" }
        let printer = Printer(limits: limits, maxDepth: min(limits.maxDepth, depthCeiling))
        return try printer.query(node, depth: 0)
    }
}

// MARK: - Tokens

extension WebmailQueryParser {
    enum Group: Equatable {
        case paren, brace
    }

    struct Token {
        enum Kind: Equatable {
            case word(String)
            case phrase(String)
            case open(Group)
            case close(Group)
        }

        var kind: Kind
        /// UTF-8 byte offset of the token's first character in the query.
        var offset: Int
        /// Whether the token follows the previous one with no whitespace between
        /// (`from:"a b"`, `-(a b)`).
        var glued: Bool
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s == " " || (s.value >= 0x09 && s.value <= 0x0D) }
        return s.properties.isWhitespace  // NBSP, ideographic space, line separator, …
    }

    static func isDelimiter(_ s: Unicode.Scalar) -> Bool {
        s == "(" || s == ")" || s == "{" || s == "}" || s == "\"" || isWhitespace(s)
    }

    static func utf8Length(_ s: Unicode.Scalar) -> Int {
        switch s.value {
        case ..<0x80: return 1
        case ..<0x800: return 2
        case ..<0x1_0000: return 3
        default: return 4
        }
    }

    /// Splits the query into words, phrases and brackets. Words that can mean nothing are
    /// dropped here (a lone `-` not glued to a phrase or group, `*`, `--`, `-*`), so that the
    /// parser sees only tokens that make a term.
    static func lex(_ text: String) -> [Token] {
        let scalars = text.unicodeScalars
        var tokens: [Token] = []
        var i = scalars.startIndex
        var offset = 0
        var glued = false
        while i < scalars.endIndex {
            let s = scalars[i]
            if isWhitespace(s) {
                glued = false
                offset += utf8Length(s)
                scalars.formIndex(after: &i)
                continue
            }
            switch s {
            case "(", "{", ")", "}":
                let group: Group = s == "(" || s == ")" ? .paren : .brace
                let kind: Token.Kind = s == "(" || s == "{" ? .open(group) : .close(group)
                tokens.append(Token(kind: kind, offset: offset, glued: glued))
                offset += 1
                scalars.formIndex(after: &i)
                glued = true
            case "\"":
                let start = offset
                offset += 1
                scalars.formIndex(after: &i)
                let contentStart = i
                while i < scalars.endIndex && scalars[i] != "\"" {
                    offset += utf8Length(scalars[i])
                    scalars.formIndex(after: &i)
                }
                let content = String(scalars[contentStart..<i])
                if i < scalars.endIndex {  // the closing quote; without one the phrase ran to the end
                    offset += 1
                    scalars.formIndex(after: &i)
                }
                tokens.append(Token(kind: .phrase(content), offset: start, glued: glued))
                glued = true
            default:
                let start = offset
                let wordStart = i
                var length = 0
                var leadingDashes = 0
                var restIsStars = true
                while i < scalars.endIndex && !isDelimiter(scalars[i]) {
                    let c = scalars[i]
                    if c == "-" && leadingDashes == length {
                        leadingDashes += 1
                    } else if c != "*" {
                        restIsStars = false
                    }
                    length += 1
                    offset += utf8Length(c)
                    scalars.formIndex(after: &i)
                }
                let rest = length - leadingDashes
                let negatesNext = i < scalars.endIndex && (scalars[i] == "\"" || scalars[i] == "(" || scalars[i] == "{")
                if (rest == 0 && !negatesNext) || (rest > 0 && restIsStars) {
                    glued = false  // what follows is not glued to the token before this one
                    continue
                }
                tokens.append(Token(kind: .word(String(scalars[wordStart..<i])), offset: start, glued: glued))
                glued = true
            }
        }
        return tokens
    }
}

// MARK: - Operators and their values

extension WebmailQueryParser {
    enum Operator: String {
        case from, to, cc, bcc, subject, filename, list, rfc822msgid
        case has, `is`, `in`, mailbox, label
        case after, before
        case olderThan = "older_than", newerThan = "newer_than"
        case larger, smaller

        /// The field of a text operator, whose value may also be a phrase or a group.
        var textField: TextField? {
            switch self {
            case .from: return .from
            case .to: return .to
            case .cc: return .cc
            case .bcc: return .bcc
            case .subject: return .subject
            case .filename: return .filename
            case .list: return .list
            case .rfc822msgid: return .messageID
            default: return nil
            }
        }

        /// Whether a quoted value (`label:"my label"`) is taken.
        var takesPhrase: Bool {
            textField != nil || self == .in || self == .mailbox || self == .label
        }
    }

    /// Lowercases A-Z only: operator names are ASCII, and full Unicode case mapping could turn
    /// other text into one (the Kelvin sign lowercases to "k").
    static func asciiLowercased<S: Sequence<Unicode.Scalar>>(_ s: S) -> String {
        var out = String.UnicodeScalarView()
        for c in s {
            if c.value >= 0x41 && c.value <= 0x5A, let lower = Unicode.Scalar(c.value + 0x20) {
                out.append(lower)
            } else {
                out.append(c)
            }
        }
        return String(out)
    }

    /// A run of ASCII digits (no sign) that fits an Int64, or nil.
    static func decimal<S: Sequence<Unicode.Scalar>>(_ s: S) -> Int64? {
        var n: Int64 = 0
        var digits = 0
        for c in s {
            guard c.value >= 0x30 && c.value <= 0x39 else { return nil }
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(c.value - 0x30))
            if o1 || o2 { return nil }
            n = sum
            digits += 1
        }
        return digits == 0 ? nil : n
    }

    /// `AROUND`'s distance: 0...1000.
    static func distance(_ s: String) -> Int? {
        guard let n = decimal(s.unicodeScalars), n <= 1000 else { return nil }
        return Int(n)
    }

    static func isLeapYear(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(_ m: Int, year: Int) -> Int {
        switch m {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `yyyy/mm/dd`, `yyyy-mm-dd` or `m/d/yyyy` (month and day of one or two digits), a real day
    /// of the years 1...9999.
    static func day(_ s: String) -> SearchDay? {
        let slash = s.contains("/"), dash = s.contains("-")
        guard slash != dash else { return nil }
        let parts = s.split(separator: slash ? "/" : "-", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let lengths = parts.map { $0.unicodeScalars.count }
        let year: Int64?, month: Int64?, day: Int64?
        if lengths[0] == 4 && (1...2).contains(lengths[1]) && (1...2).contains(lengths[2]) {
            year = decimal(parts[0].unicodeScalars)
            month = decimal(parts[1].unicodeScalars)
            day = decimal(parts[2].unicodeScalars)
        } else if slash && (1...2).contains(lengths[0]) && (1...2).contains(lengths[1]) && lengths[2] == 4 {
            month = decimal(parts[0].unicodeScalars)
            day = decimal(parts[1].unicodeScalars)
            year = decimal(parts[2].unicodeScalars)
        } else {
            return nil
        }
        guard let y = year.map(Int.init), let m = month.map(Int.init), let d = day.map(Int.init),
            y >= 1, (1...12).contains(m), d >= 1, d <= daysInMonth(m, year: y)
        else { return nil }
        return SearchDay(year: y, month: m, day: d)
    }

    /// `N` followed by `d`, `m` (30 days) or `y` (365 days), in seconds.
    static func duration(_ s: String) -> Int64? {
        guard let unit = s.unicodeScalars.last else { return nil }
        let perUnit: Int64
        switch asciiLowercased(CollectionOfOne(unit)) {
        case "d": perUnit = 86_400
        case "m": perUnit = 30 * 86_400
        case "y": perUnit = 365 * 86_400
        default: return nil
        }
        guard let n = decimal(s.unicodeScalars.dropLast()) else { return nil }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: perUnit)
        return overflow ? nil : seconds
    }

    /// `N` with an optional `K`, `M`, `G`, `KB`, `MB` or `GB` (powers of 1024), in bytes.
    static func size(_ s: String) -> Int64? {
        let scalars = Array(s.unicodeScalars)
        var digits = 0
        while digits < scalars.count && scalars[digits].value >= 0x30 && scalars[digits].value <= 0x39 {
            digits += 1
        }
        var number = String.UnicodeScalarView()
        number.append(contentsOf: scalars[..<digits])
        var suffix = String.UnicodeScalarView()
        suffix.append(contentsOf: scalars[digits...])
        guard let n = decimal(number) else { return nil }
        let multiplier: Int64
        switch asciiLowercased(suffix) {
        case "": multiplier = 1
        case "k", "kb": multiplier = 1 << 10
        case "m", "mb": multiplier = 1 << 20
        case "g", "gb": multiplier = 1 << 30
        default: return nil
        }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    static func isBlank(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy(isWhitespace)
    }

    /// A bare word in `field`: `word*` is a prefix; in a `rfc822msgid:` group the word is kept
    /// exact, as a substring.
    static func wordNode(_ word: String, field: TextField) -> QueryNode? {
        if field == .messageID { return .text(.messageID, word, .substring) }
        guard word.hasSuffix("*") else { return .text(field, word, .words) }
        let stem = String(word.unicodeScalars.dropLast())
        if stem.unicodeScalars.allSatisfy({ $0 == "*" }) { return nil }
        return .text(field, stem, .prefix)
    }

    static func phraseNode(_ phrase: String, field: TextField) -> QueryNode? {
        if isBlank(phrase) { return nil }
        return .text(field, phrase, field == .messageID ? .substring : .phrase)
    }

    /// The node of `op:value`, or nil when the value is not one the operator takes (the caller
    /// then reads the whole `op:value` as a word).
    static func operatorNode(_ op: Operator, value: String, quoted: Bool) -> QueryNode? {
        if quoted && isBlank(value) { return nil }
        if let field = op.textField {
            if quoted || field == .messageID { return phraseNode(value, field: field) }
            return wordNode(value, field: field)
        }
        let lower = asciiLowercased(value.unicodeScalars)
        switch op {
        case .has:
            return lower == "attachment" ? .hasAttachment : nil
        case .is:
            switch lower {
            case "unread": return .flag(.seen, false)
            case "read": return .flag(.seen, true)
            case "starred", "flagged": return .flag(.flagged, true)
            case "answered": return .flag(.answered, true)
            case "draft": return .flag(.draft, true)
            case "deleted": return .flag(.deleted, true)
            default: return nil
            }
        case .in, .mailbox:
            if op == .in && lower == "anywhere" { return .all }
            // IMAP: INBOX is case-insensitive, every other name is exact.
            return .mailbox(lower == "inbox" ? "INBOX" : value)
        case .label:
            return .keyword(value, true)
        case .after, .before:
            guard let d = day(value) else { return nil }
            return .date(.arrival, op == .after ? .since : .before, d)
        case .olderThan, .newerThan:
            guard let seconds = duration(value) else { return nil }
            return .relativeDate(.arrival, olderThan: op == .olderThan, seconds: seconds)
        case .larger, .smaller:
            guard let bytes = size(value) else { return nil }
            return .size(larger: op == .larger, bytes)
        default:
            return nil
        }
    }
}

// MARK: - Parser

extension WebmailQueryParser {
    struct Parser {
        let tokens: [Token]
        let maxDepth: Int
        var index = 0

        init(tokens: [Token], maxDepth: Int) {
            self.tokens = tokens
            self.maxDepth = maxDepth
        }

        static func isOR(_ t: Token) -> Bool { t.kind == .word("OR") }

        /// Whether a token can begin a term (after OR or AROUND).
        static func startsTerm(_ t: Token) -> Bool {
            switch t.kind {
            case .word(let w): return w != "OR"
            case .phrase, .open: return true
            case .close: return false
            }
        }

        // query = *item
        mutating func parseQuery() throws(QueryError) -> QueryNode {
            let chains = try parseItems(depth: 0, field: .text, closer: nil)
            return Self.conjunction(chains) ?? .all
        }

        /// Terms ANDed (a group or the whole query); each OR chain of two or more is an `.or`.
        static func conjunction(_ chains: [[QueryNode]]) -> QueryNode? {
            var items: [QueryNode] = []
            items.reserveCapacity(chains.count)
            for chain in chains {
                items.append(chain.count == 1 ? chain[0] : .or(chain))
            }
            switch items.count {
            case 0: return nil
            case 1: return items[0]
            default: return .and(items)
            }
        }

        /// Gmail's braces: every term and every OR chain's operands are alternatives.
        static func disjunction(_ chains: [[QueryNode]]) -> QueryNode? {
            let items = chains.flatMap { $0 }
            switch items.count {
            case 0: return nil
            case 1: return items[0]
            default: return .or(items)
            }
        }

        // item = or-chain / "OR" / closer
        /// The OR chains up to `closer` (consumed) or the end.
        mutating func parseItems(depth: Int, field: TextField, closer: Group?) throws(QueryError) -> [[QueryNode]] {
            var chains: [[QueryNode]] = []
            while index < tokens.count {
                let t = tokens[index]
                if case .close(let g) = t.kind {
                    index += 1
                    if g == closer { return chains }
                    continue  // a stray closer
                }
                if Self.isOR(t) {
                    index += 1  // an OR with nothing on its left
                    continue
                }
                let chain = try parseOrChain(depth: depth, field: field)
                if !chain.isEmpty { chains.append(chain) }
            }
            return chains
        }

        // or-chain = around *(1*"OR" around)
        /// The operands of one OR chain (possibly one, possibly none when every term vanished).
        /// Consumes at least one token.
        mutating func parseOrChain(depth: Int, field: TextField) throws(QueryError) -> [QueryNode] {
            var operands: [QueryNode] = []
            if let first = try parseAround(depth: depth, field: field) { operands.append(first) }
            while index < tokens.count && Self.isOR(tokens[index]) {
                while index < tokens.count && Self.isOR(tokens[index]) { index += 1 }
                guard index < tokens.count, Self.startsTerm(tokens[index]) else { break }  // dangling
                if let next = try parseAround(depth: depth, field: field) { operands.append(next) }
            }
            return operands
        }

        /// The distance of an `AROUND n` at the current token when it is the operator: n in
        /// 0...1000 and a term after it. Otherwise AROUND is a word.
        func aroundDistance() -> Int? {
            guard index + 2 < tokens.count, tokens[index].kind == .word("AROUND"),
                case .word(let n) = tokens[index + 1].kind, let d = distance(n),
                Self.startsTerm(tokens[index + 2])
            else { return nil }
            return d
        }

        // around = unary *("AROUND" distance unary)
        mutating func parseAround(depth: Int, field: TextField) throws(QueryError) -> QueryNode? {
            guard let first = try parseUnary(depth: depth, field: field) else { return nil }
            var left = first
            var pairs: [QueryNode] = []
            while let d = aroundDistance() {
                index += 2
                // A right side that vanished (`a AROUND 3 ()`) drops the AROUND.
                guard let right = try parseUnary(depth: depth, field: field) else { continue }
                pairs.append(.around(left, right, distance: d))
                left = right
            }
            switch pairs.count {
            case 0: return first
            case 1: return pairs[0]
            default: return .and(pairs)
            }
        }

        // unary = *"-" atom ; atom = phrase / group / operator / word
        /// One term, or nil for one that means nothing (`()`, `""`). Consumes at least one token.
        mutating func parseUnary(depth: Int, field: TextField) throws(QueryError) -> QueryNode? {
            guard index < tokens.count else { return nil }
            let t = tokens[index]
            index += 1
            switch t.kind {
            case .phrase(let p):
                return phraseNode(p, field: field)
            case .open(let g):
                return try parseGroup(g, at: t.offset, depth: depth + 1, field: field)
            case .close:
                return nil
            case .word(let w):
                return try parseWordTerm(w, at: t.offset, depth: depth, field: field)
            }
        }

        // group = "(" query [")"] / "{" query ["}"]
        mutating func parseGroup(
            _ g: Group, at offset: Int, depth: Int, field: TextField
        ) throws(QueryError) -> QueryNode? {
            if depth > maxDepth {
                throw QueryError("nesting deeper than \(maxDepth) levels", at: offset)
            }
            let chains = try parseItems(depth: depth, field: field, closer: g)
            return g == .paren ? Self.conjunction(chains) : Self.disjunction(chains)
        }

        /// A word token: its leading dashes are NOTs, the rest an operator or a word.
        mutating func parseWordTerm(
            _ word: String, at offset: Int, depth: Int, field: TextField
        ) throws(QueryError) -> QueryNode? {
            let scalars = word.unicodeScalars
            var dashes = 0
            var restStart = scalars.startIndex
            while restStart < scalars.endIndex && scalars[restStart] == "-" {
                dashes += 1
                restStart = scalars.index(after: restStart)
            }
            if depth + dashes > maxDepth {
                // Dashes are one byte each: point at the first one too many.
                throw QueryError("nesting deeper than \(maxDepth) levels", at: offset + max(0, maxDepth - depth))
            }
            let inner: QueryNode?
            if restStart == scalars.endIndex {
                // `-"phrase"`, `-(group)`: the lexer kept this dash only when one is glued to it.
                switch index < tokens.count && tokens[index].glued ? tokens[index].kind : nil {
                case .phrase?, .open?:
                    inner = try parseUnary(depth: depth + dashes, field: field)
                default:
                    inner = nil
                }
            } else {
                let rest = String(scalars[restStart...])
                inner = try interpretWord(rest, depth: depth + dashes, field: field)
            }
            guard var node = inner else { return nil }
            for _ in 0..<dashes { node = .not(node) }
            return node
        }

        // operator = name ":" (value / phrase / group)
        mutating func interpretWord(_ word: String, depth: Int, field: TextField) throws(QueryError) -> QueryNode? {
            guard let colon = word.unicodeScalars.firstIndex(of: ":"),
                let op = Operator(rawValue: asciiLowercased(word.unicodeScalars[..<colon]))
            else { return wordNode(word, field: field) }
            let value = String(word.unicodeScalars[word.unicodeScalars.index(after: colon)...])
            if !value.isEmpty {
                return operatorNode(op, value: value, quoted: false) ?? wordNode(word, field: field)
            }
            // `op:"quoted value"`, `from:(a b)`, `from:{a b}`: only glued to the colon.
            if index < tokens.count && tokens[index].glued {
                let next = tokens[index]
                switch next.kind {
                case .phrase(let p) where op.takesPhrase:
                    index += 1
                    return operatorNode(op, value: p, quoted: true) ?? wordNode(word, field: field)
                case .open(let g):
                    if let groupField = op.textField {
                        index += 1
                        return try parseGroup(g, at: next.offset, depth: depth + 1, field: groupField)
                    }
                default:
                    break
                }
            }
            return wordNode(word, field: field)
        }
    }
}

// MARK: - Printer

extension WebmailQueryParser {
    struct Printer {
        let limits: QueryLimits
        let maxDepth: Int

        static func unexpressible(_ what: String) -> QueryError {
            QueryError("\(what) cannot be written in the webmail language", at: 0)
        }

        func nested(_ depth: Int) throws(QueryError) {
            if depth > maxDepth {
                throw QueryError("nesting deeper than \(maxDepth) levels cannot be written", at: 0)
            }
        }

        /// A whole query or a group's inside: AND is juxtaposition.
        func query(_ node: QueryNode, depth: Int) throws(QueryError) -> String {
            guard case .and(let children) = node else { return try orLevel(node, depth: depth) }
            guard children.count >= 2 else { throw Self.unexpressible("an AND of fewer than two terms") }
            var parts: [String] = []
            parts.reserveCapacity(children.count)
            for child in children {
                if case .and = child {
                    parts.append(try group(child, depth: depth))
                } else {
                    parts.append(try orLevel(child, depth: depth))
                }
            }
            return parts.joined(separator: " ")
        }

        func orLevel(_ node: QueryNode, depth: Int) throws(QueryError) -> String {
            guard case .or(let children) = node else { return try aroundLevel(node, depth: depth) }
            guard children.count >= 2 else { throw Self.unexpressible("an OR of fewer than two terms") }
            var parts: [String] = []
            parts.reserveCapacity(children.count)
            for child in children {
                switch child {
                case .and, .or: parts.append(try group(child, depth: depth))
                default: parts.append(try aroundLevel(child, depth: depth))
                }
            }
            return parts.joined(separator: " OR ")
        }

        func aroundLevel(_ node: QueryNode, depth: Int) throws(QueryError) -> String {
            guard case .around(let left, let right, let distance) = node else { return try atom(node, depth: depth) }
            guard (0...1000).contains(distance) else { throw Self.unexpressible("AROUND \(distance)") }
            return "\(try atom(left, depth: depth)) AROUND \(distance) \(try atom(right, depth: depth))"
        }

        /// A term that binds tightest: a leaf, a negation, or a parenthesized group.
        func atom(_ node: QueryNode, depth: Int) throws(QueryError) -> String {
            switch node {
            case .and, .or, .around:
                return try group(node, depth: depth)
            case .not(let inner):
                try nested(depth + 1)
                return "-" + (try atom(inner, depth: depth + 1))
            default:
                return try leaf(node)
            }
        }

        func group(_ node: QueryNode, depth: Int) throws(QueryError) -> String {
            try nested(depth + 1)
            return "(" + (try query(node, depth: depth + 1)) + ")"
        }

        static func operatorName(_ field: TextField) -> String? {
            switch field {
            case .from, .to, .cc, .bcc, .subject, .filename, .list: return field.rawValue + ":"
            case .text: return ""
            case .messageID: return "rfc822msgid:"
            case .body: return nil
            }
        }

        static func yyyymmdd(_ d: SearchDay) -> String {
            func pad(_ n: Int, _ width: Int) -> String {
                let s = String(n)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
            return "\(pad(d.year, 4))/\(pad(d.month, 2))/\(pad(d.day, 2))"
        }

        /// The ways a leaf may be written, best first; the first that parses back to the same
        /// node is used, which rules out values that would read as something else (a word
        /// `from:x`, a prefix ending in a space, an invalid date, a lower-case `inbox`).
        static func candidates(_ node: QueryNode) throws(QueryError) -> [String] {
            func bareOrQuoted(_ prefix: String, _ value: String) -> [String] {
                value.contains("\"") ? [prefix + value] : [prefix + value, prefix + "\"" + value + "\""]
            }
            switch node {
            case .all:
                return ["in:anywhere"]
            case .text(let field, let value, let match):
                guard let op = operatorName(field) else { throw unexpressible("body text") }
                switch (field, match) {
                case (.messageID, .substring):
                    return bareOrQuoted(op, value)
                case (.messageID, _), (_, .substring):
                    throw unexpressible("a \(match.rawValue) match in \(field.rawValue)")
                case (_, .words):
                    // A bare AROUND would join its neighbours when a number follows.
                    if field == .text && value == "AROUND" { throw unexpressible("the word AROUND") }
                    return [op + value]
                case (_, .prefix):
                    return [op + value + "*"]
                case (_, .phrase):
                    if value.contains("\"") { throw unexpressible("a phrase with a double quote") }
                    return [op + "\"" + value + "\""]
                }
            case .hasAttachment:
                return ["has:attachment"]
            case .mailbox(let name):
                return bareOrQuoted("in:", name) + bareOrQuoted("mailbox:", name)
            case .keyword(let name, true):
                return bareOrQuoted("label:", name)
            case .flag(let flag, let set):
                switch (flag, set) {
                case (.seen, false): return ["is:unread"]
                case (.seen, true): return ["is:read"]
                case (.flagged, true): return ["is:starred"]
                case (.answered, true): return ["is:answered"]
                case (.draft, true): return ["is:draft"]
                case (.deleted, true): return ["is:deleted"]
                default: throw unexpressible("flag \(flag.rawValue) \(set ? "set" : "not set")")
                }
            case .date(.arrival, .since, let d):
                return ["after:" + yyyymmdd(d)]
            case .date(.arrival, .before, let d):
                return ["before:" + yyyymmdd(d)]
            case .relativeDate(.arrival, let olderThan, let seconds):
                guard seconds >= 0 && seconds % 86_400 == 0 else {
                    throw unexpressible("a relative date of \(seconds) seconds")
                }
                return ["\(olderThan ? "older_than" : "newer_than"):\(seconds / 86_400)d"]
            case .size(let larger, let bytes):
                guard bytes >= 0 else { throw unexpressible("a negative size") }
                return ["\(larger ? "larger" : "smaller"):\(bytes)"]
            case .keyword:
                throw unexpressible("a keyword not set (write it as -label:)")
            case .date, .relativeDate:
                throw unexpressible("this date comparison")
            case .header:
                throw unexpressible("HEADER")
            case .uids:
                throw unexpressible("UID")
            case .sequence:
                throw unexpressible("a sequence set")
            case .savedResult:
                throw unexpressible("a saved result")
            case .fuzzy:
                throw unexpressible("FUZZY")
            case .and, .or, .not, .around:
                throw unexpressible("a compound term as a leaf")
            }
        }

        func leaf(_ node: QueryNode) throws(QueryError) -> String {
            for text in try Self.candidates(node) {
                // Parsing a leaf's text is cheap and shallow; an error just rules the text out.
                if let back = try? WebmailQueryParser.parse(text, limits: limits), back == node { return text }
            }
            throw Self.unexpressible("\(String(describing: node).prefix(80))")
        }
    }
}
