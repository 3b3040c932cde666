// RFC 5322 address-list parsing (From/To/Cc/...), deliberately lenient.
//
// Two passes over the UTF-8 bytes: a lexer that turns the value into atoms, quoted
// strings, comments, domain literals and specials (handling nesting and escapes with
// counters, never recursion), then a flat state machine that groups tokens into
// mailboxes. Malformed input degrades to "keep what parses" rather than failing; every
// step is linear in the input size.

/// One mailbox from an address list.
public struct MailAddress: Sendable, Hashable, Codable {
    /// Display name, unquoted and whitespace-normalized. Falls back to a comment
    /// (`joe@x (Joe Q)` → `Joe Q`) when there is no phrase. RFC 2047 encoded words are
    /// left as they are for the caller to decode.
    public var name: String?
    /// `local@domain`. The local part is quoted only when it has to be; the domain is
    /// lowercased with `xn--` labels decoded to Unicode. Empty when the entry carries no
    /// address (an empty group such as `undisclosed-recipients:;`, or a bare name).
    public var address: String
    /// Display name of the enclosing group, if any.
    public var group: String?

    public init(name: String?, address: String, group: String? = nil) {
        self.name = name
        self.address = address
        self.group = group
    }
}

public enum AddressParser {
    /// Parses an address-list header value. Never traps; entries with neither a name nor
    /// an address are dropped. An empty group yields one entry whose name and group are
    /// the group name and whose address is empty.
    public static func parseList(_ value: String) -> [MailAddress] {
        if let fast = fastParseList(value) { return fast }
        return fullParseList(value)
    }

    /// The RFC 5322 parser (with the obsolete syntax and real-world damage).
    static func fullParseList(_ value: String) -> [MailAddress] {
        var builder = ListBuilder()
        for token in AddressLexer.tokenize(Array(value.utf8)) { builder.consume(token) }
        return builder.finish()
    }

    /// Decodes each `xn--` label (RFC 3492 punycode) to Unicode; other labels, and
    /// labels that are not valid punycode, are returned unchanged.
    public static func decodePunycodeDomain(_ domain: String) -> String {
        guard domain.utf8.count >= 4 else { return domain }
        var changed = false
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false).map { label -> Substring in
            let bytes = Array(label.utf8)
            guard bytes.count > 4,
                  bytes[0] | 0x20 == UInt8(ascii: "x"), bytes[1] | 0x20 == UInt8(ascii: "n"),
                  bytes[2] == UInt8(ascii: "-"), bytes[3] == UInt8(ascii: "-"),
                  let decoded = Punycode.decode(bytes[4...])
            else { return label }
            changed = true
            return Substring(decoded)
        }
        return changed ? labels.joined(separator: ".") : domain
    }
}

// MARK: - Lexer

private enum AddressToken {
    /// An atom (RFC 6532: any byte >= 0x80 counts as atext, so UTF-8 passes through).
    case atom([UInt8])
    /// Quoted-string content with quoted-pairs resolved.
    case quoted([UInt8])
    /// Comment content with quoted-pairs resolved; nested parentheses kept as text.
    case comment([UInt8])
    /// `[...]` domain literal, brackets included.
    case literal([UInt8])
    /// One of `< > @ : ; , .`
    case special(UInt8)
}

/// A token plus whether whitespace (or a comment) preceded it; that is what separates
/// `John Doe` from `john.doe` when names and local parts are reassembled.
private struct SpacedToken {
    var token: AddressToken
    var spaceBefore: Bool
}

private enum AddressLexer {
    static func isSpace(_ b: UInt8) -> Bool { b <= 0x20 || b == 0x7F }

    static func isSpecial(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"), UInt8(ascii: ":"),
             UInt8(ascii: ";"), UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\""),
             UInt8(ascii: "\\"):
            return true
        default:
            return false
        }
    }

    static func tokenize(_ bytes: [UInt8]) -> [SpacedToken] {
        var tokens: [SpacedToken] = []
        var i = 0
        var space = false
        let n = bytes.count

        /// Reads a delimited run (quoted string / comment / literal) starting after the
        /// opening byte. Unterminated runs consume the rest of the input.
        func readDelimited(from start: Int, close: UInt8, nests: Bool, keepEscapes: Bool) -> ([UInt8], Int) {
            var out: [UInt8] = []
            var j = start
            var depth = 1
            while j < n {
                let b = bytes[j]
                if b == UInt8(ascii: "\\"), j + 1 < n {
                    if keepEscapes { out.append(b) }
                    out.append(bytes[j + 1])
                    j += 2
                    continue
                }
                if nests, b == UInt8(ascii: "(") {
                    depth += 1
                } else if b == close {
                    depth -= 1
                    if depth == 0 { return (out, j + 1) }
                }
                out.append(b)
                j += 1
            }
            return (out, n)
        }

        while i < n {
            let b = bytes[i]
            if isSpace(b) {
                space = true
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                let (content, next) = readDelimited(from: i + 1, close: b, nests: false, keepEscapes: false)
                tokens.append(SpacedToken(token: .quoted(content), spaceBefore: space))
                i = next
            case UInt8(ascii: "("):
                let (content, next) = readDelimited(from: i + 1, close: UInt8(ascii: ")"), nests: true, keepEscapes: false)
                tokens.append(SpacedToken(token: .comment(content), spaceBefore: space))
                i = next
                // A comment separates words just like whitespace does.
                space = true
                continue
            case UInt8(ascii: "["):
                var (content, next) = readDelimited(from: i + 1, close: UInt8(ascii: "]"), nests: false, keepEscapes: true)
                content.insert(b, at: 0)
                content.append(UInt8(ascii: "]"))
                tokens.append(SpacedToken(token: .literal(content), spaceBefore: space))
                i = next
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "\\"):
                i += 1  // stray closers and backslashes carry nothing
                continue
            case _ where isSpecial(b):
                tokens.append(SpacedToken(token: .special(b), spaceBefore: space))
                i += 1
            default:
                let start = i
                while i < n, !isSpace(bytes[i]), !isSpecial(bytes[i]) { i += 1 }
                tokens.append(SpacedToken(token: .atom(Array(bytes[start..<i])), spaceBefore: space))
            }
            space = false
        }
        return tokens
    }
}

// MARK: - List state machine

private struct ListBuilder {
    var results: [MailAddress] = []

    // Group state.
    var group: String?
    var groupOpen = false
    var groupHasMembers = false

    // Current mailbox.
    var phrase: [SpacedToken] = []
    var angle: [SpacedToken] = []
    var inAngle = false
    var sawAngle = false
    var angleClosed = false
    var phraseHasAt = false
    var comments: [[UInt8]] = []
    /// Set when a mailbox started right after `<...>` without a comma; such a mailbox is
    /// only kept if it turns out to contain an address (trailing junk otherwise).
    var startedWithoutSeparator = false

    mutating func consume(_ t: SpacedToken) {
        if inAngle {
            switch t.token {
            case .special(UInt8(ascii: ">")):
                inAngle = false
                angleClosed = true
            case .special(UInt8(ascii: "<")):
                angle.removeAll()  // `<<a@b>>` or a restarted bracket: keep the innermost
            case .comment:
                break
            default:
                angle.append(t)
            }
            return
        }
        switch t.token {
        case .comment(let content):
            comments.append(content)
        case .special(UInt8(ascii: ",")):
            flushMailbox()
        case .special(UInt8(ascii: ";")):
            flushMailbox()
            if groupOpen { closeGroup() }
        case .special(UInt8(ascii: ":")):
            // A colon outside brackets starts a group unless the pending tokens already
            // look like an address (then it is junk and ignored).
            if sawAngle || phraseHasAt || startedWithoutSeparator { return }
            if groupOpen { closeGroup() }
            let name = Self.phraseText(phrase)
            resetMailbox()
            group = name
            groupOpen = true
            groupHasMembers = false
        case .special(UInt8(ascii: "<")):
            if angleClosed {
                flushMailbox()  // `<a@b> <c@d>`: missing comma
                startedWithoutSeparator = false
            }
            inAngle = true
            sawAngle = true
            angle.removeAll()
        case .special(UInt8(ascii: ">")):
            break  // stray closer
        default:
            if angleClosed || startsNewBareAddress(t) {
                flushMailbox()
                startedWithoutSeparator = true
            }
            if Self.isSpecial(t, "@") { phraseHasAt = true }
            phrase.append(t)
        }
    }

    /// `a@b c@d`: a word after a complete bare addr-spec, separated by whitespace, starts
    /// the next mailbox (kept only if it contains an address itself).
    func startsNewBareAddress(_ t: SpacedToken) -> Bool {
        guard phraseHasAt, !sawAngle, t.spaceBefore, let last = phrase.last,
              !Self.isSpecial(last, "@"), !Self.isSpecial(last, ".")
        else { return false }
        switch t.token {
        case .atom, .quoted: return true
        default: return false
        }
    }

    mutating func finish() -> [MailAddress] {
        flushMailbox()
        if groupOpen { closeGroup() }
        return results
    }

    mutating func closeGroup() {
        if !groupHasMembers, let group {
            results.append(MailAddress(name: group, address: "", group: group))
        }
        group = nil
        groupOpen = false
        groupHasMembers = false
    }

    mutating func resetMailbox() {
        phrase.removeAll(keepingCapacity: true)
        angle.removeAll(keepingCapacity: true)
        comments.removeAll(keepingCapacity: true)
        inAngle = false
        sawAngle = false
        angleClosed = false
        phraseHasAt = false
        startedWithoutSeparator = false
    }

    mutating func flushMailbox() {
        defer { resetMailbox() }
        var name: String?
        var address = ""
        if sawAngle {
            name = Self.phraseText(phrase)
            address = Self.addrSpec(Self.droppingRoute(angle)[...])
        } else if let at = phrase.firstIndex(where: { Self.isSpecial($0, "@") }) {
            // Bare addr-spec, possibly preceded by an unbracketed name
            // (`John Doe john@x.com`): the local part is the last run of tokens before
            // `@` not broken by whitespace (whitespace next to a dot is obs-local-part).
            var start = at
            while start > 0, Self.isLocalPartToken(phrase[start - 1]) {
                let joinsRight = start == at || !phrase[start].spaceBefore
                    || Self.isSpecial(phrase[start], ".") || Self.isSpecial(phrase[start - 1], ".")
                if !joinsRight { break }
                start -= 1
            }
            if start > 0 { name = Self.phraseText(phrase[..<start]) }
            address = Self.addrSpec(phrase[start...])
        } else if startedWithoutSeparator {
            return
        } else if Self.isSingleDotAtom(phrase) {
            address = Self.addrSpec(phrase[...])  // domainless, e.g. `root`
        } else {
            name = Self.phraseText(phrase)
        }
        if name == nil, !address.isEmpty {
            // RFC 822 style `joe@x (Joe Q)`: the last non-empty comment names the mailbox.
            for comment in comments.reversed() {
                if let text = Self.normalizedText(comment) { name = text; break }
            }
        }
        guard name != nil || !address.isEmpty else { return }
        results.append(MailAddress(name: name, address: address, group: group))
        if groupOpen { groupHasMembers = true }
    }

    // MARK: Helpers

    static func isSpecial(_ t: SpacedToken, _ c: Unicode.Scalar) -> Bool {
        if case .special(let b) = t.token { return b == UInt8(ascii: c) }
        return false
    }

    static func isLocalPartToken(_ t: SpacedToken) -> Bool {
        switch t.token {
        case .atom, .quoted: return true
        case .special(let b): return b == UInt8(ascii: ".")
        default: return false
        }
    }

    static func isSingleDotAtom(_ tokens: [SpacedToken]) -> Bool {
        guard !tokens.isEmpty else { return false }
        for (i, t) in tokens.enumerated() {
            if i > 0, t.spaceBefore { return false }
            switch t.token {
            case .atom: continue
            case .special(let b) where b == UInt8(ascii: "."): continue
            default: return false
            }
        }
        return true
    }

    /// Obsolete source routes `@relay1,@relay2:user@host` carry no information today.
    static func droppingRoute(_ tokens: [SpacedToken]) -> [SpacedToken] {
        guard let first = tokens.first, isSpecial(first, "@") || isSpecial(first, ","),
              let colon = tokens.firstIndex(where: { isSpecial($0, ":") })
        else { return tokens }
        return Array(tokens[(colon + 1)...])
    }

    /// Builds `local@domain` from the tokens of an addr-spec. The domain is the dot-atom
    /// (or literal) right after the first `@`; anything after it is junk.
    static func addrSpec(_ tokens: ArraySlice<SpacedToken>) -> String {
        var local: [UInt8] = []
        var sawQuoted = false
        var index = tokens.startIndex
        while index < tokens.endIndex {
            let t = tokens[index]
            if isSpecial(t, "@") { break }
            switch t.token {
            case .atom(let bytes): local += bytes
            case .quoted(let bytes): local += bytes; sawQuoted = true
            case .literal(let bytes): local += bytes
            case .special(let b) where b == UInt8(ascii: "."): local.append(b)
            default: break  // stray specials inside brackets, e.g. `<a:b>`
            }
            index += 1
        }
        var domain: [UInt8] = []
        if index < tokens.endIndex {
            index += 1
            var first = true
            var previousWasDot = false
            while index < tokens.endIndex {
                let t = tokens[index]
                let isDot = isSpecial(t, ".")
                // `a@b.c d` — a space ends the domain unless a dot bridges it.
                if !first, t.spaceBefore, !isDot, !previousWasDot { break }
                switch t.token {
                case .atom(let bytes): domain += bytes
                case .literal(let bytes): domain += bytes
                case .special(let b) where b == UInt8(ascii: "."): domain.append(b)
                default: index = tokens.endIndex; continue
                }
                first = false
                previousWasDot = isDot
                index += 1
            }
        }
        guard !local.isEmpty || sawQuoted else { return "" }
        var result = String(decoding: quoteLocalPartIfNeeded(local, wasQuoted: sawQuoted), as: UTF8.self)
        if !domain.isEmpty { result += "@" + normalizeDomain(domain) }
        return result
    }

    /// Minimal quoting: a local part that is a valid dot-atom is written bare (so
    /// `"john"@x` → `john@x`), anything else is quoted with `"` and `\` escaped.
    static func quoteLocalPartIfNeeded(_ local: [UInt8], wasQuoted: Bool) -> [UInt8] {
        guard wasQuoted else { return local }
        var isDotAtom = !local.isEmpty && local.first != UInt8(ascii: ".") && local.last != UInt8(ascii: ".")
        var previous: UInt8 = 0
        for b in local where isDotAtom {
            if AddressLexer.isSpace(b) || (AddressLexer.isSpecial(b) && b != UInt8(ascii: "."))
                || (b == UInt8(ascii: ".") && previous == b) {
                isDotAtom = false
            }
            previous = b
        }
        if isDotAtom { return local }
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in local {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    static func normalizeDomain(_ domain: [UInt8]) -> String {
        if domain.allSatisfy({ $0 < 0x80 }) {
            let lowered = domain.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            let text = String(decoding: lowered, as: UTF8.self)
            return text.containsBytes("xn--") ? AddressParser.decodePunycodeDomain(text) : text
        }
        // RFC 6532 UTF-8 domain: Unicode lowercasing (stdlib, no Foundation).
        return AddressParser.decodePunycodeDomain(String(decoding: domain, as: UTF8.self).lowercased())
    }

    /// Reassembles a display name: quoted strings unquoted, words joined by one space
    /// where the source had whitespace, dots and other specials kept (obs-phrase).
    static func phraseText(_ tokens: some Collection<SpacedToken>) -> String? {
        var out: [UInt8] = []
        for t in tokens {
            let piece: [UInt8]
            switch t.token {
            case .atom(let bytes), .quoted(let bytes), .literal(let bytes): piece = bytes
            case .special(let b): piece = [b]
            case .comment: continue
            }
            if t.spaceBefore, !out.isEmpty { out.append(UInt8(ascii: " ")) }
            out += piece
        }
        return normalizedText(out)
    }

    /// Collapses whitespace runs (including folded CRLF) to single spaces and trims;
    /// nil when nothing is left.
    static func normalizedText(_ bytes: [UInt8]) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var pendingSpace = false
        for b in bytes {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n") {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(UInt8(ascii: " ")); pendingSpace = false }
            out.append(b)
        }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }
}

// MARK: - Punycode (RFC 3492)

enum Punycode {
    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
    private static let initialBias = 72, initialN = 128
    /// Unicode's upper bound doubles as the overflow guard: every intermediate value is
    /// checked against it before it can grow further.
    private static let maxCodePoint = 0x10FFFF

    private static func adapt(_ delta: Int, numPoints: Int, firstTime: Bool) -> Int {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / numPoints
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    private static func digitValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0")) + 26
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return Int(b - UInt8(ascii: "a"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(b - UInt8(ascii: "A"))
        default: return nil
        }
    }

    /// Decodes the part of a label after `xn--`; nil if it is not valid punycode.
    static func decode(_ input: ArraySlice<UInt8>) -> String? {
        // Labels are at most 63 bytes; anything much longer is not a domain label and
        // would only waste time in the quadratic insertion below.
        guard !input.isEmpty, input.count <= 256 else { return nil }
        var output: [Unicode.Scalar] = []
        var rest = input[...]
        if let lastDelimiter = input.lastIndex(of: UInt8(ascii: "-")) {
            for b in input[..<lastDelimiter] {
                guard b < 0x80 else { return nil }
                output.append(Unicode.Scalar(b))
            }
            rest = input[(lastDelimiter + 1)...]
        }
        var n = initialN, i = 0, bias = initialBias
        var position = rest.startIndex
        while position < rest.endIndex {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard position < rest.endIndex, let digit = digitValue(rest[position]) else { return nil }
                position += 1
                // i += digit * w, refusing to pass the largest meaningful value.
                guard digit <= (Int.max - i) / w else { return nil }
                i += digit * w
                guard i <= maxCodePoint * (output.count + 1) + output.count else { return nil }
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if digit < t { break }
                guard w <= Int.max / (base - t) else { return nil }
                w *= base - t
                k += base
            }
            let count = output.count + 1
            bias = adapt(i - oldI, numPoints: count, firstTime: oldI == 0)
            n += i / count
            guard n <= maxCodePoint, let scalar = Unicode.Scalar(UInt32(n)) else { return nil }
            i %= count
            output.insert(scalar, at: i)
            i += 1
        }
        var result = ""
        result.unicodeScalars.append(contentsOf: output)
        return result
    }
}

extension MailAddress {
    /// As a reader writes it: `Name <local@domain>`, the bare address, or the name alone.
    public var display: String {
        if let n = name, !n.isEmpty { return address.isEmpty ? n : "\(n) <\(address)>" }
        return address
    }
}

extension Array where Element == MailAddress {
    /// The addresses for display, comma-separated.
    public var display: String { map(\.display).joined(separator: ", ") }
}
