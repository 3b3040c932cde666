// The Solr wire protocol as Dovecot 2.3's fts_solr plugin speaks it (docs: SOLR-PROTOCOL.md):
// `GET …/select?…` query strings and their Lucene-subset `q`/`fq` language, `POST …/update`
// XML bodies, and the XML replies. Pure values, no I/O. Every input is treated as hostile:
// sizes, counts and nesting are bounded, and every failure is a `SolrError` (HTTP 400).

#if canImport(Query)
import Query
#endif

// MARK: - Errors

/// A request the daemon refuses (answered with HTTP 400 and `SolrProtocol.errorResponse`).
public struct SolrError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

// MARK: - Byte constants

private enum Ch {
    static let amp = UInt8(ascii: "&")
    static let eq = UInt8(ascii: "=")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let percent = UInt8(ascii: "%")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let backslash = UInt8(ascii: "\\")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let lparen = UInt8(ascii: "(")
    static let rparen = UInt8(ascii: ")")
    static let colon = UInt8(ascii: ":")
    static let tilde = UInt8(ascii: "~")
    static let caret = UInt8(ascii: "^")
    static let star = UInt8(ascii: "*")
    static let question = UInt8(ascii: "?")
    static let bang = UInt8(ascii: "!")
    static let lbrace = UInt8(ascii: "{")
    static let rbrace = UInt8(ascii: "}")
    static let lbracket = UInt8(ascii: "[")
    static let rbracket = UInt8(ascii: "]")
    static let slash = UInt8(ascii: "/")
    static let pipe = UInt8(ascii: "|")
    static let dot = UInt8(ascii: ".")
    static let comma = UInt8(ascii: ",")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    static func isSpace(_ c: UInt8) -> Bool { c == space || c == tab || c == lf || c == cr }
    static func isDigit(_ c: UInt8) -> Bool { c >= zero && c <= nine }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

// MARK: - GET /select parameters

/// The parameters of a `select` request, from the raw URL query string.
public struct SolrSelect: Sendable {
    /// Longest raw query string accepted, in bytes.
    public static let maxQueryStringBytes = 1 << 20
    static let maxParameters = 256
    static let maxFilterQueries = 64
    static let maxListItems = 64

    public var q: String = ""
    /// Every `fq` parameter, in order (`fq` may repeat).
    public var fq: [String] = []
    /// `fl`, split on commas (and spaces), empty items dropped.
    public var fl: [String] = []
    /// `rows`, default 10, clamped to 0...Int32.max.
    public var rows: Int = 10
    /// `start`, default 0, clamped to 0...Int32.max (Dovecot never sends it).
    public var start: Int = 0
    /// `sort`, e.g. "uid desc" or "box asc,uid asc".
    public var sort: [(field: String, ascending: Bool)] = []
    /// The request parameter `q.op=AND` (the `{!lucene q.op=…}` local parameter overrides it).
    public var defaultOperatorAND: Bool = false

    public init() {}

    /// Whether `fl` asks for a field (Solr's `*` asks for all of them).
    public func wants(_ field: String) -> Bool {
        fl.contains(field) || fl.contains("*")
    }

    /// Parses the part of the URL after `?`. `+` decodes to a space, `%XX` in either case;
    /// a bad `%` sequence or invalid UTF-8 is an error. Duplicate keys: the last wins, except
    /// `fq`, which accumulates. Unknown keys (`wt`, …) are ignored.
    public static func parse(query: String) throws(SolrError) -> SolrSelect {
        let raw = Array(query.utf8)
        guard raw.count <= maxQueryStringBytes else {
            throw SolrError("query string too long (\(raw.count) bytes)")
        }
        var result = SolrSelect()
        var parameters = 0
        var start = 0
        while start < raw.count {
            var end = start
            while end < raw.count && raw[end] != Ch.amp { end += 1 }
            if end > start {
                parameters += 1
                guard parameters <= maxParameters else { throw SolrError("too many query parameters") }
                var eq = start
                while eq < end && raw[eq] != Ch.eq { eq += 1 }
                let key = try percentDecode(raw[start..<eq])
                let value = eq < end ? try percentDecode(raw[(eq + 1)..<end]) : ""
                try result.apply(key: key, value: value)
            }
            start = end + 1
        }
        return result
    }

    /// The `q` and `fq` parameters as a structured query.
    public func query() throws(SolrError) -> SolrQuery {
        try SolrQuery.parse(q: q, fq: fq, defaultOperatorAND: defaultOperatorAND)
    }

    private mutating func apply(key: String, value: String) throws(SolrError) {
        switch key {
        case "q":
            q = value
        case "fq":
            guard fq.count < Self.maxFilterQueries else { throw SolrError("too many fq parameters") }
            fq.append(value)
        case "fl":
            fl = try Self.splitList(value, name: "fl")
        case "rows":
            rows = try Self.parseCount(value, name: "rows")
        case "start":
            start = try Self.parseCount(value, name: "start")
        case "sort":
            sort = try Self.parseSort(value)
        case "q.op":
            switch value {
            case "AND": defaultOperatorAND = true
            case "OR": defaultOperatorAND = false
            default: throw SolrError("invalid q.op '\(SolrProtocol.clip(value))'")
            }
        default:
            break  // wt, indent, echoParams, …
        }
    }

    static func percentDecode(_ bytes: ArraySlice<UInt8>) throws(SolrError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == Ch.plus {
                out.append(Ch.space)
                i += 1
            } else if c == Ch.percent {
                guard i + 2 < bytes.endIndex,
                      let hi = Ch.hexValue(bytes[i + 1]), let lo = Ch.hexValue(bytes[i + 2])
                else { throw SolrError("invalid percent escape in query string") }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(c)
                i += 1
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw SolrError("query string is not valid UTF-8")
        }
        return s
    }

    static func splitList(_ value: String, name: String) throws(SolrError) -> [String] {
        var items: [String] = []
        for part in value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            guard items.count < maxListItems else { throw SolrError("too many items in \(name)") }
            items.append(String(part))
        }
        return items
    }

    /// A decimal count; negative values become 0, values beyond Int32.max become Int32.max.
    static func parseCount(_ value: String, name: String) throws(SolrError) -> Int {
        let bytes = Array(value.utf8)
        var i = 0
        var negative = false
        if i < bytes.count && (bytes[i] == Ch.minus || bytes[i] == Ch.plus) {
            negative = bytes[i] == Ch.minus
            i += 1
        }
        guard i < bytes.count else { throw SolrError("invalid \(name) '\(SolrProtocol.clip(value))'") }
        var n = 0
        let limit = Int(Int32.max)
        while i < bytes.count {
            guard Ch.isDigit(bytes[i]) else { throw SolrError("invalid \(name) '\(SolrProtocol.clip(value))'") }
            n = min(limit, n * 10 + Int(bytes[i] - Ch.zero))
            i += 1
        }
        return negative ? 0 : n
    }

    static func parseSort(_ value: String) throws(SolrError) -> [(field: String, ascending: Bool)] {
        var keys: [(field: String, ascending: Bool)] = []
        for item in value.split(separator: ",") {
            let words = item.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.isEmpty { continue }
            guard keys.count < 16 else { throw SolrError("too many sort keys") }
            guard words.count == 2 else {
                throw SolrError("can't determine the sort order of '\(SolrProtocol.clip(String(item)))'")
            }
            switch words[1].lowercased() {
            case "asc": keys.append((String(words[0]), true))
            case "desc": keys.append((String(words[0]), false))
            default: throw SolrError("unknown sort order '\(SolrProtocol.clip(String(words[1])))'")
            }
        }
        return keys
    }
}

// MARK: - q / fq

/// What a `select` asks for: whose mail (`user`), which mailboxes (`boxes`), and which text.
public struct SolrQuery: Sendable, Hashable {
    /// Longest `q` or `fq` accepted, in UTF-8 bytes.
    public static let maxQueryBytes = 64 * 1024
    /// Deepest nesting of parentheses.
    public static let maxDepth = 32
    /// Most field clauses in one request (q and all fq together).
    public static let maxClauses = 4096

    /// The `user:` filter (unescaped). `""` is the public (ownerless) namespace; nil: no filter.
    public var user: String?
    /// Mailbox GUIDs from `box:` filters (an OR of boxes allowed); empty: every mailbox.
    public var boxes: [String]
    /// The query has no text clauses at all, only box/user filters: Dovecot's
    /// "last indexed UID" lookup (`q=box:G AND user:U`, `fl=uid rows=1 sort=uid desc`).
    public var lastUIDQuery: Bool
    /// The text part (the text clauses of q, AND the text clauses of any fq); nil when none.
    public var text: QueryNode?

    public init(user: String? = nil, boxes: [String] = [], lastUIDQuery: Bool = false, text: QueryNode? = nil) {
        self.user = user
        self.boxes = boxes
        self.lastUIDQuery = lastUIDQuery
        self.text = text
    }

    /// Parses `q` and the `fq`s. Box and user clauses must be required conjuncts at the top
    /// level (`box:G AND user:U`, `+box:G +user:U`, `+user:U +(box:G1 OR box:G2)`); everything
    /// else is text. `defaultOperatorAND` is the request's `q.op`; a `{!lucene q.op=…}` prefix
    /// overrides it.
    public static func parse(q: String, fq: [String], defaultOperatorAND: Bool = false) throws(SolrError) -> SolrQuery {
        var budget = ClauseBudget()
        guard !q.utf8.allSatisfy(Ch.isSpace) else { throw SolrError("missing query (q)") }
        let qNode = try LuceneParser.parse(q, defaultAND: defaultOperatorAND, budget: &budget)
        var filters = FilterExtraction()
        let qText = try filters.absorb(qNode)
        var fqText: [LNode] = []
        guard fq.count <= SolrSelect.maxFilterQueries else { throw SolrError("too many fq parameters") }
        for f in fq where !f.utf8.allSatisfy(Ch.isSpace) {
            let node = try LuceneParser.parse(f, defaultAND: defaultOperatorAND, budget: &budget)
            fqText += try filters.absorb(node)
        }
        let all = qText + fqText
        var text: QueryNode? = nil
        if !all.isEmpty {
            text = try Self.convert(all.count == 1 ? all[0] : .and(all))
        }
        return SolrQuery(user: filters.user, boxes: filters.boxes ?? [], lastUIDQuery: all.isEmpty, text: text)
    }

    /// Maps the Lucene tree to the query tree (IMAP semantics: substring matching; an OR
    /// level's `-x` is NOT x; `field:""` is "header present"; `hdr` is searched as TEXT, a
    /// superset that Dovecot re-verifies).
    static func convert(_ node: LNode) throws(SolrError) -> QueryNode {
        switch node {
        case .all:
            return .all
        case .term(let field, let value, let fuzzy):
            let textField: TextField
            switch field {
            case "body": textField = .body
            case "hdr": textField = .text
            case "from": textField = .from
            case "to": textField = .to
            case "cc": textField = .cc
            case "bcc": textField = .bcc
            case "subject": textField = .subject
            default: throw SolrError("field '\(SolrProtocol.clip(field))' may only be a top-level filter")
            }
            if value.isEmpty {
                // `subject:""`: the message's own top-level header is present (§9.2); the
                // engine reads an empty substring key on a header field that way.
                return textField == .body || textField == .text ? .all : .text(textField, "", .substring)
            }
            let leaf = QueryNode.text(textField, value, .substring)
            return fuzzy ? .fuzzy(leaf) : leaf
        case .not(let inner):
            let c = try convert(inner)
            if case .not(let x) = c { return x }
            return .not(c)
        case .and(let items):
            var out: [QueryNode] = []
            for item in items {
                let c = try convert(item)
                switch c {
                case .all: continue
                case .and(let xs): out += xs
                default: out.append(c)
                }
            }
            if out.isEmpty { return .all }
            return out.count == 1 ? out[0] : .and(out)
        case .or(let items):
            // Dovecot's TEXT: (hdr:v OR body:v) — one search of headers and body.
            if items.count == 2, case .term(let f1, let v1, let z1) = items[0],
               case .term(let f2, let v2, let z2) = items[1],
               Set([f1, f2]) == ["hdr", "body"], v1 == v2, z1 == z2 {
                if v1.isEmpty { return .all }
                let leaf = QueryNode.text(.text, v1, .substring)
                return z1 ? .fuzzy(leaf) : leaf
            }
            var out: [QueryNode] = []
            for item in items {
                let c = try convert(item)
                switch c {
                case .all: return .all
                case .or(let xs): out += xs
                default: out.append(c)
                }
            }
            return out.count == 1 ? out[0] : .or(out)
        }
    }
}

/// The parsed Lucene subset, before box/user filters are separated from text.
indirect enum LNode: Sendable, Hashable {
    case all
    /// `field:value`; value unescaped, "" for `field:""`.
    case term(field: String, value: String, fuzzy: Bool)
    case and([LNode])
    case or([LNode])
    case not(LNode)

    func mentions(_ fields: Set<String>) -> Bool {
        switch self {
        case .all: return false
        case .term(let f, _, _): return fields.contains(f)
        case .not(let x): return x.mentions(fields)
        case .and(let xs), .or(let xs): return xs.contains { $0.mentions(fields) }
        }
    }
}

struct ClauseBudget {
    var clauses = 0
}

/// Separates the top-level box/user filters from the text conjuncts.
struct FilterExtraction {
    var user: String?
    var boxes: [String]?

    mutating func absorb(_ node: LNode) throws(SolrError) -> [LNode] {
        var conjuncts: [LNode] = []
        Self.flattenAnd(node, into: &conjuncts)
        var text: [LNode] = []
        for c in conjuncts {
            if case .term("user", let v, _) = c {
                if let u = user, u != v { throw SolrError("conflicting user filters") }
                user = v
            } else if let list = Self.boxList(c) {
                try addBoxes(list)
            } else if c.mentions(["box", "user"]) {
                throw SolrError("box and user may only be required filters at the top level")
            } else {
                text.append(c)
            }
        }
        return text
    }

    static func flattenAnd(_ node: LNode, into out: inout [LNode]) {
        if case .and(let xs) = node {
            for x in xs { flattenAnd(x, into: &out) }
        } else {
            out.append(node)
        }
    }

    /// `box:G` or an OR of `box:` terms.
    static func boxList(_ node: LNode) -> [String]? {
        switch node {
        case .term("box", let v, _): return [v]
        case .or(let xs):
            var list: [String] = []
            for x in xs {
                guard let l = boxList(x) else { return nil }
                list += l
            }
            return list
        default: return nil
        }
    }

    mutating func addBoxes(_ list: [String]) throws(SolrError) {
        guard !list.contains(where: \.isEmpty) else { throw SolrError("empty box filter") }
        var unique: [String] = []
        var seen = Set<String>()
        for b in list where seen.insert(b).inserted { unique.append(b) }
        if let current = boxes {
            let keep = Set(unique)
            let both = current.filter { keep.contains($0) }
            guard !both.isEmpty else { throw SolrError("the box filters exclude every mailbox") }
            boxes = both
        } else {
            boxes = unique
        }
    }
}

/// A recursive-descent parser for the subset of Lucene's classic query syntax Dovecot sends
/// (and a little more): `{!lucene q.op=…}` prefix, `[+|-|!|NOT] field:value`, `field:"…"`,
/// `value~[n]`, `^boost` (ignored), parentheses (also `field:(…)`), `AND`/`&&`, `OR`/`||`,
/// `NOT`, juxtaposition (= q.op), `*:*`. Wildcards, ranges and regexes are refused.
struct LuceneParser {
    static let fields: Set<String> = ["body", "hdr", "from", "to", "cc", "bcc", "subject", "box", "user"]

    let b: [UInt8]
    var i = 0
    var defaultAND: Bool
    /// The `df` local parameter: the field of terms written without one.
    var defaultField: String? = nil

    static func parse(_ query: String, defaultAND: Bool, budget: inout ClauseBudget) throws(SolrError) -> LNode {
        let bytes = Array(query.utf8)
        guard bytes.count <= SolrQuery.maxQueryBytes else {
            throw SolrError("query too long (\(bytes.count) bytes)")
        }
        var p = LuceneParser(b: bytes, defaultAND: defaultAND)
        try p.parseLocalParams()
        p.skipSpace()
        guard p.i < p.b.count else { throw SolrError("missing query after local parameters") }
        let node = try p.parseLevel(depth: 0, field: p.defaultField, budget: &budget)
        guard p.i >= p.b.count else { throw p.error("unbalanced ')'") }
        return node
    }

    func error(_ message: String) -> SolrError {
        SolrError("\(message) at byte \(i) of query")
    }

    mutating func skipSpace() {
        while i < b.count && Ch.isSpace(b[i]) { i += 1 }
    }

    func at(_ c: UInt8) -> Bool { i < b.count && b[i] == c }

    /// `{!lucene q.op=AND df=body}` (or `{!q.op=AND}`, `{!type=lucene …}`).
    mutating func parseLocalParams() throws(SolrError) {
        guard b.count >= 2, b[0] == Ch.lbrace, b[1] == Ch.bang else { return }
        i = 2
        var first = true
        while true {
            skipSpace()
            guard i < b.count else { throw error("unterminated local parameters") }
            if b[i] == Ch.rbrace {
                i += 1
                return
            }
            let keyStart = i
            while i < b.count && !Ch.isSpace(b[i]) && b[i] != Ch.eq && b[i] != Ch.rbrace { i += 1 }
            let key = String(decoding: b[keyStart..<i], as: UTF8.self)
            var value: String? = nil
            if at(Ch.eq) {
                i += 1
                value = try readLocalParamValue()
            }
            defer { first = false }
            switch (key, value) {
            case (let t, nil) where first:
                guard t == "lucene" || t == "lucenePlusSort" else {
                    throw SolrError("unsupported query parser '\(SolrProtocol.clip(t))'")
                }
            case ("type", let t?), ("defType", let t?):
                guard t == "lucene" else { throw SolrError("unsupported query parser '\(SolrProtocol.clip(t))'") }
            case ("q.op", let op?):
                switch op {
                case "AND": defaultAND = true
                case "OR": defaultAND = false
                default: throw SolrError("invalid q.op '\(SolrProtocol.clip(op))'")
                }
            case ("v", _):
                throw SolrError("the local parameter v is not supported")
            case ("df", let f?):
                guard Self.fields.contains(f) else { throw SolrError("undefined field \(SolrProtocol.clip(f))") }
                defaultField = f
            case (_, nil):
                throw error("local parameter without a value")
            default:
                break  // tag, cache, …: no effect here
            }
        }
    }

    /// The text up to the closing `quote` (past the opening one), backslash escapes undone;
    /// moves past the closing quote.
    mutating func readQuoted(until quote: UInt8, unterminated: String) throws(SolrError) -> String {
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw error(unterminated) }
            let c = b[i]
            if c == quote {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == Ch.backslash {
                guard i + 1 < b.count else { throw error("trailing backslash") }
                out.append(b[i + 1])
                i += 2
            } else {
                out.append(c)
                i += 1
            }
        }
    }

    mutating func readLocalParamValue() throws(SolrError) -> String {
        if at(Ch.quote) || at(Ch.apostrophe) {
            let q = b[i]
            i += 1
            return try readQuoted(until: q, unterminated: "unterminated quoted local parameter")
        }
        let start = i
        while i < b.count && !Ch.isSpace(b[i]) && b[i] != Ch.rbrace { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    /// A keyword (`AND`, `OR`, `NOT`) at the cursor, as a whole token.
    func atKeyword(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        let ok = word.withUTF8Buffer { w -> Bool in
            for k in 0..<n where b[i + k] != w[k] { return false }
            return true
        }
        guard ok else { return false }
        if i + n == b.count { return true }
        let next = b[i + n]
        return Ch.isSpace(next) || next == Ch.lparen || next == Ch.rparen || next == Ch.quote
    }

    func atPair(_ c: UInt8) -> Bool { i + 1 < b.count && b[i] == c && b[i + 1] == c }

    enum Conj { case and, or }

    struct Item {
        var node: LNode
        var required: Bool
        var negated: Bool
        var conj: Conj
    }

    /// A sequence of clauses up to `)` or the end.
    mutating func parseLevel(depth: Int, field: String?, budget: inout ClauseBudget) throws(SolrError) -> LNode {
        var items: [Item] = []
        while true {
            skipSpace()
            if i >= b.count || b[i] == Ch.rparen { break }
            var conj: Conj? = nil
            if atKeyword("AND") { conj = .and; i += 3 }
            else if atPair(Ch.amp) { conj = .and; i += 2 }
            else if atKeyword("OR") { conj = .or; i += 2 }
            else if atPair(Ch.pipe) { conj = .or; i += 2 }
            if conj != nil {
                guard !items.isEmpty else { throw error("operator without a left operand") }
                skipSpace()
            }
            var required = false
            var negated = false
            while i < b.count {
                if b[i] == Ch.plus {
                    required = true
                    i += 1
                } else if b[i] == Ch.minus || b[i] == Ch.bang {
                    negated.toggle()
                    i += 1
                } else if atKeyword("NOT") {
                    negated.toggle()
                    i += 3
                    // `a NOT b` is `a AND NOT b`, whatever q.op says.
                    if conj == nil && !items.isEmpty { conj = .and }
                } else {
                    break
                }
                skipSpace()
            }
            guard i < b.count, b[i] != Ch.rparen else { throw error("operator without a right operand") }
            let node = try parseClause(depth: depth, field: field, budget: &budget)
            items.append(Item(node: node, required: required, negated: negated,
                              conj: conj ?? (defaultAND ? .and : .or)))
        }
        guard !items.isEmpty else { throw error(depth == 0 ? "empty query" : "empty parentheses") }
        return Self.combine(items)
    }

    /// AND binds tighter than OR. An OR level's `-x` is NOT x (IMAP's meaning, SOLR-PROTOCOL.md
    /// §9.1), except that a level holding `+required` clauses follows Lucene: the required
    /// clauses AND NOT the prohibited ones, the optional ones only scoring.
    static func combine(_ items: [Item]) -> LNode {
        var groups: [[Item]] = []
        for (k, item) in items.enumerated() {
            if k == 0 || item.conj == .or || groups.isEmpty {
                groups.append([item])
            } else {
                groups[groups.count - 1].append(item)
            }
        }
        func node(_ item: Item) -> LNode { item.negated ? .not(item.node) : item.node }
        func groupNode(_ g: [Item]) -> LNode { g.count == 1 ? node(g[0]) : .and(g.map(node)) }
        if groups.count == 1 { return groupNode(groups[0]) }
        let hasRequired = groups.contains { $0.count == 1 && $0[0].required && !$0[0].negated }
        if hasRequired {
            var parts: [LNode] = []
            for g in groups {
                if g.count > 1 { continue }
                if g[0].required || g[0].negated { parts.append(node(g[0])) }
            }
            return parts.count == 1 ? parts[0] : .and(parts)
        }
        return .or(groups.map(groupNode))
    }

    mutating func parseClause(depth: Int, field: String?, budget: inout ClauseBudget) throws(SolrError) -> LNode {
        if at(Ch.lparen) {
            let node = try parseGroup(depth: depth, field: field, budget: &budget)
            try skipBoost()
            try expectClauseEnd()
            return node
        }
        // *:*
        if i + 3 <= b.count, b[i] == Ch.star, b[i + 1] == Ch.colon, b[i + 2] == Ch.star {
            i += 3
            try skipBoost()
            try expectClauseEnd()
            try count(&budget)
            return .all
        }
        let save = i
        let name = try readTerm()
        if at(Ch.colon), !name.escaped, !name.wildcard, !name.text.isEmpty {
            i += 1
            guard Self.fields.contains(name.text) else {
                throw SolrError("undefined field \(SolrProtocol.clip(name.text))")
            }
            if at(Ch.lparen) {
                let node = try parseGroup(depth: depth, field: name.text, budget: &budget)
                try skipBoost()
                try expectClauseEnd()
                return node
            }
            return try parseValue(field: name.text, budget: &budget)
        }
        i = save
        guard let f = field else { throw error("query term without a field") }
        return try parseValue(field: f, budget: &budget)
    }

    mutating func parseGroup(depth: Int, field: String?, budget: inout ClauseBudget) throws(SolrError) -> LNode {
        guard depth < SolrQuery.maxDepth else { throw error("parentheses nested too deeply") }
        i += 1
        let node = try parseLevel(depth: depth + 1, field: field, budget: &budget)
        guard at(Ch.rparen) else { throw error("missing ')'") }
        i += 1
        return node
    }

    mutating func count(_ budget: inout ClauseBudget) throws(SolrError) {
        budget.clauses += 1
        guard budget.clauses <= SolrQuery.maxClauses else { throw SolrError("too many clauses in the query") }
    }

    mutating func parseValue(field: String, budget: inout ClauseBudget) throws(SolrError) -> LNode {
        try count(&budget)
        var value: String
        var fuzzy = false
        if at(Ch.quote) {
            i += 1
            value = try readQuoted(until: Ch.quote, unterminated: "missing closing quote")
            if at(Ch.tilde) {  // phrase slop: no meaning for substring matching
                i += 1
                skipNumber()
            }
        } else {
            let term = try readTerm()
            guard !term.text.isEmpty else {
                guard i < b.count else { throw error("missing value for field \(field)") }
                try expectClauseEnd()
                throw error("missing value for field \(field)")
            }
            guard !term.wildcard else { throw error("wildcard queries are not supported") }
            value = term.text
            if at(Ch.tilde) {
                i += 1
                skipNumber()
                fuzzy = true
            }
        }
        try skipBoost()
        try expectClauseEnd()
        return .term(field: field, value: value, fuzzy: fuzzy)
    }

    mutating func skipNumber() {
        while i < b.count && (Ch.isDigit(b[i]) || b[i] == Ch.dot) { i += 1 }
    }

    mutating func skipBoost() throws(SolrError) {
        guard at(Ch.caret) else { return }
        i += 1
        let start = i
        skipNumber()
        guard i > start else { throw error("boost without a number") }
    }

    func expectClauseEnd() throws(SolrError) {
        guard i < b.count else { return }
        let c = b[i]
        guard Ch.isSpace(c) || c == Ch.rparen else {
            if c == Ch.lbracket || c == Ch.lbrace { throw error("range queries are not supported") }
            if c == Ch.slash { throw error("regular expression queries are not supported") }
            throw error(c < 0x80 ? "unexpected '\(Character(Unicode.Scalar(c)))'" : "unexpected character")
        }
    }

    /// An unquoted term: backslash escapes any character; stops at white space and Lucene's
    /// special characters. `+` and `-` are term characters except at the start.
    mutating func readTerm() throws(SolrError) -> (text: String, escaped: Bool, wildcard: Bool) {
        var out: [UInt8] = []
        var escaped = false
        var wildcard = false
        while i < b.count {
            let c = b[i]
            if c == Ch.backslash {
                guard i + 1 < b.count else { throw error("trailing backslash") }
                out.append(b[i + 1])
                escaped = true
                i += 2
                continue
            }
            if Ch.isSpace(c) { break }
            switch c {
            case Ch.lparen, Ch.rparen, Ch.colon, Ch.caret, Ch.lbracket, Ch.rbracket, Ch.quote,
                 Ch.lbrace, Ch.rbrace, Ch.tilde, Ch.bang, Ch.slash:
                return (String(decoding: out, as: UTF8.self), escaped, wildcard)
            case Ch.plus where out.isEmpty && !escaped, Ch.minus where out.isEmpty && !escaped:
                return (String(decoding: out, as: UTF8.self), escaped, wildcard)
            case Ch.star, Ch.question:
                wildcard = true
            default:
                break
            }
            out.append(c)
            i += 1
        }
        return (String(decoding: out, as: UTF8.self), escaped, wildcard)
    }
}

// MARK: - POST /update

/// One document of an `<add>`.
public struct SolrDocument: Sendable, Hashable {
    /// Field name → text (exactly as sent: whitespace and newlines kept, entities decoded).
    /// A repeated field name keeps the last value.
    public var fields: [String: String]

    public init(fields: [String: String] = [:]) {
        self.fields = fields
    }

    /// The uniqueKey, `"<uid>/<guid>/<user>"` or `"<uid>/<guid>"`.
    public var id: String? { fields["id"] }

    /// The `id` split into its parts (user "" for the two-part public form); nil when
    /// malformed (uid not a decimal 1...UInt32.max, or an empty box).
    public var parsedID: (uid: UInt32, box: String, user: String)? {
        id.flatMap(Self.parseID)
    }

    /// Splits an id at the first two `/` (a user name may itself contain `/`).
    public static func parseID(_ id: String) -> (uid: UInt32, box: String, user: String)? {
        guard let s1 = id.firstIndex(of: "/") else { return nil }
        guard let uid = parseUID(id[..<s1]) else { return nil }
        let rest = id[id.index(after: s1)...]
        let box: Substring
        let user: Substring
        if let s2 = rest.firstIndex(of: "/") {
            box = rest[..<s2]
            user = rest[rest.index(after: s2)...]
        } else {
            box = rest
            user = ""
        }
        guard !box.isEmpty else { return nil }
        return (uid, String(box), String(user))
    }

    static func parseUID(_ s: Substring) -> UInt32? {
        guard !s.isEmpty, s.utf8.count <= 10, s.utf8.allSatisfy(Ch.isDigit), let n = UInt32(s), n > 0 else {
            return nil
        }
        return n
    }

    /// The `uid` field (or, if absent, the uid in `id`).
    public var uid: UInt32? {
        if let u = fields["uid"] { return Self.parseUID(Substring(u)) }
        return parsedID?.uid
    }

    /// The `box` field (or, if absent, the box in `id`).
    public var box: String? {
        if let b = fields["box"], !b.isEmpty { return b }
        return parsedID?.box
    }

    /// The `user` field (or, if absent, the user in `id`); "" for a public namespace.
    public var user: String? {
        if let u = fields["user"] { return u }
        return parsedID?.user
    }
}

/// One command of an `/update` body.
public enum SolrUpdateCommand: Sendable, Hashable {
    case add([SolrDocument])
    case delete(ids: [String])
    case commit
    case optimize
    case rollback
}

/// Parsing of update bodies and rendering of replies.
public enum SolrProtocol {
    static let maxElementDepth = 8
    static let maxFieldsPerDocument = 1024
    static let maxCommands = 10_000

    /// Parses a whole `/update` body (after de-chunking, so chunk boundaries don't matter).
    /// `<add>` (attributes ignored), `<delete>` with `<id>`s, `<commit/>`, `<optimize/>`,
    /// `<rollback/>`, alone or wrapped in `<update>`. Text is kept exactly (entities and
    /// character references decoded; XML line-end normalisation: CRLF and CR become LF).
    /// Refused: DOCTYPE/ENTITY declarations, non-UTF-8 input or declarations, `<delete><query>`,
    /// atomic updates, child documents, unknown elements, more than `maxDocuments` docs (or ids).
    ///
    /// A small XML reader of its own rather than FoundationXML's XMLParser: on Linux that one
    /// crashes the process on hostile input (a processing instruction without data, `<?p?>`,
    /// makes it strlen(NULL); names are force-unwrapped as UTF-8), runs libxml2 in recover
    /// mode, and refuses a Data over 10 MB (an `<add>` of 1000 mails is often larger).
    public static func parseUpdate(_ bytes: [UInt8], maxDocuments: Int = 100_000) throws(SolrError) -> [SolrUpdateCommand] {
        guard !bytes.allSatisfy(Ch.isSpace) else { throw SolrError("empty update body") }
        guard isValidUTF8(bytes) else { throw SolrError("update body is not valid UTF-8") }
        var reader = UpdateXMLReader(bytes, builder: UpdateBuilder(maxDocuments: max(0, maxDocuments)))
        return try reader.run()
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The `select` reply: `<doc><long name="uid">…</long>[<float name="score">…</float>][<str name="box">…</str>]</doc>`.
    /// Non-finite scores are left out.
    public static func selectResponse(docs: [(uid: UInt32, box: String?, score: Double?)], numFound: Int) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n"
        out += "<lst name=\"responseHeader\"><int name=\"status\">0</int><int name=\"QTime\">0</int></lst>\n"
        out += "<result name=\"response\" numFound=\"\(max(0, numFound))\" start=\"0\">"
        out.reserveCapacity(out.utf8.count + docs.count * 96)
        for d in docs {
            out += "<doc><long name=\"uid\">\(d.uid)</long>"
            if let s = d.score, s.isFinite {
                out += "<float name=\"score\">\(s)</float>"
            }
            if let box = d.box {
                out += "<str name=\"box\">\(xmlEscape(box))</str>"
            }
            out += "</doc>"
        }
        out += "</result>\n</response>\n"
        return out
    }

    /// The `/update` reply (Dovecot never reads it).
    public static func updateResponse() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n"
            + "<lst name=\"responseHeader\"><int name=\"status\">0</int><int name=\"QTime\">0</int></lst>\n"
            + "</response>\n"
    }

    /// Solr's error reply shape (`message` escaped and clipped to 1000 characters).
    public static func errorResponse(code: Int, message: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n"
            + "<lst name=\"responseHeader\"><int name=\"status\">\(code)</int><int name=\"QTime\">0</int></lst>\n"
            + "<lst name=\"error\"><str name=\"msg\">\(xmlEscape(String(message.prefix(1000))))</str>"
            + "<int name=\"code\">\(code)</int></lst>\n</response>\n"
    }

    /// XML text/attribute escaping; characters XML 1.0 cannot carry become U+FFFD.
    public static func xmlEscape(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    /// A value quoted in an error message, clipped.
    static func clip(_ s: String) -> String {
        s.count > 64 ? String(s.prefix(64)) + "…" : s
    }
}

/// The update commands, built from the reader's element events.
struct UpdateBuilder {
    let maxDocuments: Int
    var commands: [SolrUpdateCommand] = []
    /// The text of the current `<field>` or `<id>` (nil: not collecting).
    var text: [UInt8]? = nil

    private var stack: [String] = []
    private var docs: [SolrDocument] = []
    private var doc: [String: String] = [:]
    private var fieldCount = 0
    private var fieldName = ""
    private var ids: [String] = []
    private var totalDocs = 0
    private var totalIDs = 0

    init(maxDocuments: Int) {
        self.maxDocuments = maxDocuments
    }

    mutating func start(_ name: String, attributes: [(name: String, value: String)]) throws(SolrError) {
        let parent = stack.last
        let topLevel = parent == nil || (parent == "update" && stack.count == 1)
        func attribute(_ n: String) -> String? { attributes.first { $0.name == n }?.value }
        switch name {
        case "update" where parent == nil:
            break
        case "add" where topLevel:
            docs = []
        case "delete" where topLevel:
            ids = []
        case "commit" where topLevel, "optimize" where topLevel, "rollback" where topLevel:
            break
        case "doc" where parent == "add":
            guard totalDocs < maxDocuments else {
                throw SolrError("too many documents in one update (limit \(maxDocuments))")
            }
            doc = [:]
            fieldCount = 0
        case "field" where parent == "doc":
            guard let n = attribute("name"), !n.isEmpty else { throw SolrError("<field> without a name") }
            guard attribute("update") == nil else { throw SolrError("atomic updates are not supported") }
            fieldCount += 1
            guard fieldCount <= SolrProtocol.maxFieldsPerDocument else {
                throw SolrError("too many fields in one document")
            }
            fieldName = n
            text = []
        case "id" where parent == "delete":
            guard totalIDs < maxDocuments else { throw SolrError("too many ids in one update (limit \(maxDocuments))") }
            text = []
        case "query" where parent == "delete":
            throw SolrError("delete by query is not supported")
        case "doc" where parent == "doc":
            throw SolrError("child documents are not supported")
        default:
            throw SolrError("unexpected element <\(SolrProtocol.clip(name))>" + (parent.map { " in <\($0)>" } ?? ""))
        }
        guard commands.count < SolrProtocol.maxCommands else { throw SolrError("too many commands in one update") }
        stack.append(name)
    }

    mutating func end(_ name: String) {
        guard stack.last == name else { return }  // the reader checks nesting
        stack.removeLast()
        switch name {
        case "field":
            doc[fieldName] = String(decoding: text ?? [], as: UTF8.self)
            text = nil
        case "doc":
            docs.append(SolrDocument(fields: doc))
            doc = [:]
            totalDocs += 1
        case "add":
            commands.append(.add(docs))
            docs = []
        case "id":
            ids.append(String(decoding: text ?? [], as: UTF8.self))
            text = nil
            totalIDs += 1
        case "delete":
            commands.append(.delete(ids: ids))
            ids = []
        case "commit":
            commands.append(.commit)
        case "optimize":
            commands.append(.optimize)
        case "rollback":
            commands.append(.rollback)
        default:
            break
        }
    }
}

/// A strict, non-validating XML 1.0 reader for update bodies, over bytes already checked to
/// be UTF-8: elements, attributes, text, the five predefined entities, character references,
/// CDATA, comments, processing instructions and an XML declaration (UTF-8 only). No DTDs.
struct UpdateXMLReader {
    let b: [UInt8]
    var i = 0
    var builder: UpdateBuilder
    var stack: [String] = []
    var rootClosed = false
    /// Decoded text outside `<field>`/`<id>` (only checked, then dropped).
    var scratch: [UInt8] = []

    init(_ bytes: [UInt8], builder: UpdateBuilder) {
        self.b = bytes
        self.builder = builder
    }

    func error(_ message: String) -> SolrError {
        SolrError("invalid XML at byte \(i): \(message)")
    }

    func starts(_ s: StaticString, at k: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard k + n <= b.count else { return false }
        return s.withUTF8Buffer { w -> Bool in
            for j in 0..<n where b[k + j] != w[j] { return false }
            return true
        }
    }

    /// The index of `s` at or after `k`.
    func find(_ s: StaticString, from k: Int) -> Int? {
        let n = s.utf8CodeUnitCount
        guard n > 0 else { return k }
        let first = s.withUTF8Buffer { $0[0] }
        var j = k
        while j + n <= b.count {
            if b[j] == first && starts(s, at: j) { return j }
            j += 1
        }
        return nil
    }

    mutating func run() throws(SolrError) -> [SolrUpdateCommand] {
        if starts("\u{FEFF}", at: 0) { i = 3 }
        if starts("<?xml", at: i), i + 5 < b.count, Ch.isSpace(b[i + 5]) || b[i + 5] == Ch.question {
            guard let end = find("?>", from: i) else { throw error("unterminated XML declaration") }
            let decl = String(decoding: b[i..<end], as: UTF8.self).lowercased()
            if let r = decl.utf8.firstRange(of: "encoding".utf8) {
                let rest = decl[r.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
                guard rest.hasPrefix("utf-8") || rest.hasPrefix("utf8") else {
                    throw SolrError("update body must be UTF-8")
                }
            }
            i = end + 2
        }
        while i < b.count {
            if b[i] != UInt8(ascii: "<") {
                try readText()
                continue
            }
            if starts("</", at: i) {
                try readEndTag()
            } else if starts("<?", at: i) {
                guard let end = find("?>", from: i + 2) else { throw error("unterminated processing instruction") }
                try checkChars(from: i, to: end)
                i = end + 2
            } else if starts("<!--", at: i) {
                guard let end = find("--", from: i + 4) else { throw error("unterminated comment") }
                guard end + 2 < b.count, b[end + 2] == UInt8(ascii: ">") else { throw error("'--' in a comment") }
                try checkChars(from: i, to: end)
                i = end + 3
            } else if starts("<![CDATA[", at: i) {
                guard !stack.isEmpty else { throw error("CDATA outside the root element") }
                guard let end = find("]]>", from: i + 9) else { throw error("unterminated CDATA section") }
                try appendText(from: i + 9, to: end, decodeEntities: false)
                i = end + 3
            } else if starts("<!", at: i) {
                throw SolrError("DOCTYPE and ENTITY declarations are not allowed")
            } else {
                try readStartTag()
            }
        }
        guard rootClosed else { throw error(stack.isEmpty ? "no root element" : "unclosed <\(stack.last ?? "")>") }
        return builder.commands
    }

    mutating func readText() throws(SolrError) {
        let start = i
        while i < b.count && b[i] != UInt8(ascii: "<") { i += 1 }
        try appendText(from: start, to: i, decodeEntities: true)
    }

    /// Appends b[from..<to] (entities decoded, line ends normalised, characters checked) to
    /// the builder's text when it collects, or checks it is white space outside the root.
    mutating func appendText(from: Int, to: Int, decodeEntities: Bool) throws(SolrError) {
        let collecting = builder.text != nil
        var out = collecting ? (builder.text ?? []) : scratch
        builder.text = nil  // keep `out` uniquely referenced while appending
        if !collecting { out.removeAll(keepingCapacity: true) }
        var run = from
        var k = from
        while k < to {
            let c = b[k]
            if c == UInt8(ascii: "&") && decodeEntities {
                out.append(contentsOf: b[run..<k])
                let (scalar, next) = try entity(at: k, limit: to)
                UTF8.encode(scalar) { out.append($0) }
                k = next
                run = k
            } else if c == Ch.cr {
                out.append(contentsOf: b[run..<k])
                out.append(Ch.lf)
                k += (k + 1 < to && b[k + 1] == Ch.lf) ? 2 : 1
                run = k
            } else if c < 0x20 && c != Ch.tab && c != Ch.lf {
                i = k
                throw error("character U+\(String(c, radix: 16, uppercase: true)) is not allowed in XML")
            } else if c == 0xEF && k + 2 < to && b[k + 1] == 0xBF && (b[k + 2] == 0xBE || b[k + 2] == 0xBF) {
                i = k
                throw error("character U+FFFE/U+FFFF is not allowed in XML")
            } else if c == Ch.rbracket && decodeEntities && k + 2 < to && b[k + 1] == Ch.rbracket
                        && b[k + 2] == UInt8(ascii: ">") {
                i = k
                throw error("']]>' in text")
            } else {
                k += 1
            }
        }
        out.append(contentsOf: b[run..<to])
        if collecting {
            builder.text = out
        } else {
            if stack.isEmpty && !out.allSatisfy(Ch.isSpace) {
                i = from
                throw error("text outside the root element")
            }
            scratch = out
        }
    }

    /// Characters XML does not allow (C0 controls but TAB/LF/CR, U+FFFE, U+FFFF) in b[from..<to].
    func checkChars(from: Int, to: Int) throws(SolrError) {
        var k = from
        while k < to {
            let c = b[k]
            if (c < 0x20 && c != Ch.tab && c != Ch.lf && c != Ch.cr)
                || (c == 0xEF && k + 2 < to && b[k + 1] == 0xBF && (b[k + 2] == 0xBE || b[k + 2] == 0xBF)) {
                throw SolrError("invalid XML at byte \(k): character not allowed in XML")
            }
            k += 1
        }
    }

    /// `&name;` / `&#n;` / `&#xh;` at k: the character and the index after `;`.
    func entity(at k: Int, limit: Int) throws(SolrError) -> (Unicode.Scalar, Int) {
        var end = k + 1
        while end < limit && end - k <= 12 && b[end] != UInt8(ascii: ";") { end += 1 }
        guard end < limit, b[end] == UInt8(ascii: ";") else { throw SolrError("invalid XML at byte \(k): bad entity reference") }
        let name = b[(k + 1)..<end]
        let scalar: Unicode.Scalar?
        switch String(decoding: name, as: UTF8.self) {
        case "lt": scalar = "<"
        case "gt": scalar = ">"
        case "amp": scalar = "&"
        case "quot": scalar = "\""
        case "apos": scalar = "'"
        case let s where s.hasPrefix("#x"):
            scalar = UInt32(s.dropFirst(2), radix: 16).flatMap(Self.xmlChar)
        case let s where s.hasPrefix("#"):
            let digits = s.dropFirst()
            scalar = digits.allSatisfy(\.isASCII) ? UInt32(digits, radix: 10).flatMap(Self.xmlChar) : nil
        default:
            throw SolrError("invalid XML at byte \(k): undefined entity &\(SolrProtocol.clip(String(decoding: name, as: UTF8.self)));")
        }
        guard let s = scalar else { throw SolrError("invalid XML at byte \(k): invalid character reference") }
        return (s, end + 1)
    }

    /// A code point XML 1.0 allows (Char production).
    static func xmlChar(_ v: UInt32) -> Unicode.Scalar? {
        switch v {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return Unicode.Scalar(v)
        default: return nil
        }
    }

    /// XML NameChar, with every non-ASCII byte allowed (names are only compared, never trusted).
    static func isNameByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), Ch.zero...Ch.nine,
             UInt8(ascii: "_"), Ch.colon, Ch.minus, Ch.dot, 0x80...0xFF:
            return true
        default:
            return false
        }
    }

    mutating func readName() throws(SolrError) -> String {
        let start = i
        while i < b.count && Self.isNameByte(b[i]) { i += 1 }
        guard i > start else { throw error("missing or invalid name") }
        let first = b[start]
        guard !(Ch.isDigit(first) || first == Ch.minus || first == Ch.dot) else { throw error("invalid name") }
        guard i - start <= 256 else { throw error("name too long") }
        try checkChars(from: start, to: i)
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    mutating func skipSpace() {
        while i < b.count && Ch.isSpace(b[i]) { i += 1 }
    }

    mutating func readStartTag() throws(SolrError) {
        guard !rootClosed else { throw error("content after the root element") }
        i += 1
        let name = try readName()
        var attributes: [(name: String, value: String)] = []
        var selfClosing = false
        while true {
            let hadSpace = i < b.count && Ch.isSpace(b[i])
            skipSpace()
            guard i < b.count else { throw error("unterminated start tag") }
            if b[i] == UInt8(ascii: ">") {
                i += 1
                break
            }
            if b[i] == Ch.slash {
                guard i + 1 < b.count, b[i + 1] == UInt8(ascii: ">") else { throw error("expected '>'") }
                i += 2
                selfClosing = true
                break
            }
            guard hadSpace else { throw error("expected white space between attributes") }
            let attrName = try readName()
            skipSpace()
            guard i < b.count, b[i] == Ch.eq else { throw error("expected '=' after attribute name") }
            i += 1
            skipSpace()
            guard i < b.count, b[i] == Ch.quote || b[i] == Ch.apostrophe else { throw error("expected a quoted value") }
            let quote = b[i]
            i += 1
            let start = i
            while i < b.count && b[i] != quote {
                guard b[i] != UInt8(ascii: "<") else { throw error("'<' in attribute value") }
                i += 1
            }
            guard i < b.count else { throw error("unterminated attribute value") }
            try checkChars(from: start, to: i)
            let value = try attributeValue(from: start, to: i)
            i += 1
            guard !attributes.contains(where: { $0.name == attrName }) else { throw error("duplicate attribute \(attrName)") }
            guard attributes.count < 64 else { throw error("too many attributes") }
            attributes.append((attrName, value))
        }
        guard stack.count < SolrProtocol.maxElementDepth else { throw error("elements nested too deeply") }
        try builder.start(name, attributes: attributes)
        if selfClosing {
            builder.end(name)
            if stack.isEmpty { rootClosed = true }
        } else {
            stack.append(name)
        }
    }

    /// Attribute-value normalisation: entities decoded, TAB/LF/CR (and CRLF) become one space each.
    func attributeValue(from: Int, to: Int) throws(SolrError) -> String {
        var out: [UInt8] = []
        var k = from
        while k < to {
            let c = b[k]
            if c == UInt8(ascii: "&") {
                let (scalar, next) = try entity(at: k, limit: to)
                UTF8.encode(scalar) { out.append($0) }
                k = next
            } else if c == Ch.cr {
                out.append(Ch.space)
                k += (k + 1 < to && b[k + 1] == Ch.lf) ? 2 : 1
            } else if c == Ch.tab || c == Ch.lf {
                out.append(Ch.space)
                k += 1
            } else if c < 0x20 {
                throw SolrError("invalid XML at byte \(k): control character in attribute value")
            } else {
                out.append(c)
                k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func readEndTag() throws(SolrError) {
        i += 2
        let name = try readName()
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: ">") else { throw error("expected '>'") }
        i += 1
        guard let open = stack.last else { throw error("unexpected </\(SolrProtocol.clip(name))>") }
        guard open == name else { throw error("</\(SolrProtocol.clip(name))> closes <\(SolrProtocol.clip(open))>") }
        stack.removeLast()
        builder.end(name)
        if stack.isEmpty { rootClosed = true }
    }
}
