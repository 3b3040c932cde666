// HTMLText.swift
//
// HTML → plain text for the full-text index.
//
// Mail HTML is attacker-controlled, so the converter is built around one
// invariant: every byte of input is examined a bounded number of times. There
// is no DOM, no recursion and no backtracking; every "search ahead" (for `>`,
// `-->`, `</script`, a closing quote) either consumes what it scanned or ends
// the document, so hostile inputs (unclosed comments, `<` storms, megabytes
// without a `>`) cost the same per byte as ordinary newsletters.
//
// Where behaviour is not dictated by indexing needs it follows the WHATWG
// tokenizer, because that is what the recipient saw in their mail client:
// e.g. an unterminated tag or comment at EOF swallows the rest of the input,
// and legacy entities such as `&amp` decode without a semicolon.

public enum HTMLText {
    /// Converts HTML (already decoded to UTF-8 bytes) into plain text for indexing.
    /// maxOutputBytes bounds the output; returns (text, truncated).
    public static func toText(_ html: [UInt8], maxOutputBytes: Int = 16 << 20) -> (text: String, truncated: Bool) {
        let limit = max(0, maxOutputBytes)
        let (bytes, truncated) = ByteClass.table.withUnsafeBufferPointer { classes in
            html.withUnsafeBufferPointer { input in
                var converter = Converter(input: input, classes: classes, limit: limit)
                converter.run()
                return converter.sink.finish()
            }
        }
        // The input is supposed to be valid UTF-8, but if it is not, each bad
        // byte becomes a 3-byte U+FFFD here and could push us past the limit.
        let text = String(decoding: bytes, as: UTF8.self)
        if text.utf8.count <= limit { return (text, truncated) }
        return (clamp(text, toUTF8Count: limit), true)
    }

    /// Finds a charset declared in the first ~4 KiB: <meta charset="x"> or
    /// <meta http-equiv="Content-Type" content="text/html; charset=x">. Lowercased label or nil.
    public static func sniffCharset(_ html: [UInt8]) -> String? {
        html.withUnsafeBufferPointer { CharsetSniffer(input: $0).sniff() }
    }

    /// Cuts `text` to at most `count` UTF-8 bytes on a scalar boundary.
    private static func clamp(_ text: String, toUTF8Count count: Int) -> String {
        var used = 0
        var end = text.unicodeScalars.startIndex
        for index in text.unicodeScalars.indices {
            let width = UTF8.width(text.unicodeScalars[index])
            if used + width > count { break }
            used += width
            end = text.unicodeScalars.index(after: index)
        }
        return String(text.unicodeScalars[..<end])
    }
}

// MARK: - Byte classification

/// Byte classes for the text hot loop; a table lookup keeps the common case
/// (a plain byte) to one load and one compare.
private enum ByteClass {
    static let plain: UInt8 = 0
    /// ASCII whitespace, plus C0 controls and DEL, which are noise for an index.
    static let space: UInt8 = 1
    static let lessThan: UInt8 = 2
    static let ampersand: UInt8 = 3
    /// UTF-8 lead bytes of the few blocks holding invisible or space-like
    /// characters (U+0080–00BF, U+0340–037F, U+2000–2FFF, U+3000–3FFF, U+F000–FFFF).
    static let lead: UInt8 = 4
    /// NUL is dropped, as the HTML tree builder does in body text.
    static let nul: UInt8 = 5

    static let table: [UInt8] = {
        var table = [UInt8](repeating: plain, count: 256)
        for b in 0x01 ... 0x1F { table[b] = space }
        table[0x7F] = space
        table[0x20] = space
        table[0x00] = nul
        table[Int(UInt8(ascii: "<"))] = lessThan
        table[Int(UInt8(ascii: "&"))] = ampersand
        for b in [0xC2, 0xCD, 0xE2, 0xE3, 0xEF] { table[b] = lead }
        return table
    }()
}

/// What to do with a decoded scalar beyond copying it.
private enum ScalarEffect {
    case keep
    /// Treat as collapsible whitespace (NBSP and friends).
    case space
    /// Drop entirely: invisible characters newsletters use to break up words
    /// (or that spammers use to dodge filters) would otherwise split tokens.
    case drop

    static func of(_ scalar: UInt32) -> ScalarEffect {
        switch scalar {
        case 0x00 ..< 0x20, 0x7F ... 0x9F: return .space
        case 0xA0, 0x2000 ... 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return .space
        case 0xAD, 0x034F, 0x200B ... 0x200F, 0x2060, 0xFEFF: return .drop
        default: return .keep
        }
    }
}

@inline(__always) private func isHTMLSpace(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0C || b == 0x0D
}

@inline(__always) private func isASCIIAlpha(_ b: UInt8) -> Bool {
    (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
}

@inline(__always) private func isASCIIAlnum(_ b: UInt8) -> Bool {
    isASCIIAlpha(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
}

@inline(__always) private func asciiLower(_ b: UInt8) -> UInt8 {
    b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
}

// MARK: - Tags

/// A tag name folded to lowercase and packed into two words, so that tag
/// classification is one hash lookup with no allocation. Names longer than
/// 16 bytes are never interesting and are not looked up.
private struct TagKey: Hashable, Sendable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    var length: UInt8 = 0

    static let capacity = 16

    init() {}

    init(_ name: StaticString) {
        name.withUTF8Buffer { buffer in
            for b in buffer { append(asciiLower(b)) }
        }
    }

    /// Appends an already lowercased byte; callers stop at `capacity`.
    @inline(__always) mutating func append(_ b: UInt8) {
        let index = Int(length)
        if index < 8 {
            low |= UInt64(b) << UInt64(8 * index)
        } else if index < 16 {
            high |= UInt64(b) << UInt64(8 * (index - 8))
        }
        if index < 255 { length += 1 }
    }
}

private enum TagKind: UInt8, Sendable {
    case other
    /// Content is raw text up to the matching end tag and is dropped.
    case rawText
    /// Content contains markup but is dropped until the matching end tag.
    case suppress
    case title, head, body
    /// Elements that may sit in <head> without implying <body>.
    case headMetadata
    case pre, br, cell, img
    /// Blocks separated by a blank line.
    case paragraph
    /// Blocks that start on a new line.
    case line

    static let byName: [TagKey: TagKind] = {
        var map: [TagKey: TagKind] = [:]
        func add(_ kind: TagKind, _ names: [StaticString]) {
            for name in names { map[TagKey(name)] = kind }
        }
        add(.rawText, ["script", "style", "noscript", "iframe", "noembed", "noframes", "xmp"])
        add(.suppress, ["template", "svg", "object"])
        add(.title, ["title"])
        add(.head, ["head"])
        add(.body, ["body"])
        add(.headMetadata, ["html", "meta", "link", "base", "basefont", "bgsound"])
        add(.pre, ["pre", "listing"])
        add(.br, ["br"])
        add(.cell, ["td", "th"])
        add(.img, ["img"])
        add(.paragraph, ["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table",
                         "ul", "ol", "dl", "hr"])
        add(.line, ["div", "li", "tr", "dt", "dd", "section", "article", "header", "footer",
                    "address", "center", "form", "fieldset", "option", "optgroup", "aside",
                    "nav", "main", "figure", "figcaption", "caption", "legend", "details",
                    "summary", "menu", "dir", "hgroup", "thead", "tbody", "tfoot"])
        return map
    }()

    static let templateKey = TagKey("template")
    static let svgKey = TagKey("svg")
    static let altKey = TagKey("alt")
}

/// Tokenizes the attribute list of a tag starting at `start` (just after the
/// tag name) and reports each attribute as (name range, value range).
/// Returns the index just past the closing `>` and whether the tag was
/// self-closing, or nil if the input ends first (the tag is then discarded,
/// as in browsers). Every iteration consumes at least one byte.
private func scanAttributes(
    _ p: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int,
    _ visit: (Range<Int>, Range<Int>) -> Void
) -> (end: Int, selfClosing: Bool)? {
    let gt = UInt8(ascii: ">"), slash = UInt8(ascii: "/"), equals = UInt8(ascii: "=")
    var j = start
    while j < limit {
        let c = p[j]
        if isHTMLSpace(c) { j += 1; continue }
        if c == gt { return (j + 1, false) }
        if c == slash {
            if j + 1 < limit, p[j + 1] == gt { return (j + 2, true) }
            j += 1
            continue
        }
        // Attribute name. The first byte is taken unconditionally (the spec
        // allows a leading `=`), which also guarantees progress.
        let nameStart = j
        j += 1
        while j < limit {
            let b = p[j]
            if isHTMLSpace(b) || b == slash || b == gt || b == equals { break }
            j += 1
        }
        let name = nameStart ..< j
        while j < limit, isHTMLSpace(p[j]) { j += 1 }
        guard j < limit else { return nil }
        guard p[j] == equals else {
            visit(name, j ..< j)
            continue
        }
        j += 1
        while j < limit, isHTMLSpace(p[j]) { j += 1 }
        guard j < limit else { return nil }
        let quote = p[j]
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
            let valueStart = j + 1
            var k = valueStart
            while k < limit, p[k] != quote { k += 1 }
            guard k < limit else { return nil }
            visit(name, valueStart ..< k)
            j = k + 1
        } else {
            let valueStart = j
            while j < limit {
                let b = p[j]
                if isHTMLSpace(b) || b == gt { break }
                j += 1
            }
            visit(name, valueStart ..< j)
        }
    }
    return nil
}

@inline(__always) private func asciiCaseInsensitiveEquals(
    _ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ lowercase: StaticString
) -> Bool {
    guard range.count == lowercase.utf8CodeUnitCount else { return false }
    return lowercase.withUTF8Buffer { expected in
        var k = 0
        while k < expected.count {
            if asciiLower(p[range.lowerBound + k]) != expected[k] { return false }
            k += 1
        }
        return true
    }
}

// MARK: - Output

/// Accumulates output bytes and implements whitespace policy lazily: spaces
/// and line breaks are only *requested* and materialise when the next visible
/// character arrives, which trims line ends and document ends for free and
/// lets the strongest request (paragraph > line > space) win.
private struct TextSink {
    private(set) var bytes: [UInt8] = []
    let limit: Int
    private(set) var truncated = false
    var pendingSpace = false
    /// Newlines requested before the next visible character (0...2).
    var pendingBreaks = 0

    init(limit: Int, expectedInput: Int) {
        self.limit = limit
        // Text is usually well under half of newsletter HTML; arrays grow if not.
        bytes.reserveCapacity(min(limit, expectedInput / 2 + 64))
    }

    @inline(__always) mutating func requestSpace() { pendingSpace = true }

    @inline(__always) mutating func requestBreaks(_ count: Int) {
        pendingBreaks = max(pendingBreaks, count)
    }

    /// `<br>` is cumulative: two of them make a blank line.
    @inline(__always) mutating func addBreak() {
        pendingBreaks = min(pendingBreaks + 1, 2)
    }

    @inline(__always) mutating func flushIfPending() {
        if pendingSpace || pendingBreaks > 0 { flush() }
    }

    private mutating func flush() {
        if pendingBreaks > 0 {
            if !bytes.isEmpty {
                trimTrailingBlanks()
                var have = trailingNewlines
                let want = min(pendingBreaks, 2)
                while have < want, !bytes.isEmpty, push(0x0A) { have += 1 }
            }
        } else if pendingSpace, let last = bytes.last, last != 0x0A, last != 0x20, last != 0x09 {
            _ = push(0x20)
        }
        pendingBreaks = 0
        pendingSpace = false
    }

    private var trailingNewlines: Int {
        var count = 0
        var index = bytes.count - 1
        while index >= 0, count < 2, bytes[index] == 0x0A {
            count += 1
            index -= 1
        }
        return count
    }

    private mutating func trimTrailingBlanks() {
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
    }

    @inline(__always) private mutating func push(_ b: UInt8) -> Bool {
        guard bytes.count < limit else {
            truncated = true
            return false
        }
        bytes.append(b)
        return true
    }

    /// Appends a run of visible input bytes (no whitespace inside).
    @inline(__always) mutating func append(_ run: UnsafeBufferPointer<UInt8>) {
        flushIfPending()
        if truncated { return }
        let room = limit - bytes.count
        if run.count <= room {
            bytes.append(contentsOf: run)
            return
        }
        // Cut before any UTF-8 sequence the limit would split.
        var cut = max(0, room)
        while cut > 0, cut < run.count, run[cut] & 0xC0 == 0x80, room - cut < 3 { cut -= 1 }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: run[0 ..< cut]))
        truncated = true
    }

    /// Appends one visible scalar, all or nothing.
    mutating func append(scalar: UInt32) {
        flushIfPending()
        if truncated { return }
        let value = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        let width = UTF8.width(value)
        guard bytes.count + width <= limit else {
            truncated = true
            return
        }
        UTF8.encode(value) { bytes.append($0) }
    }

    /// Whitespace inside <pre>: kept as written, but still capped at one
    /// blank line and never left dangling at a line end.
    mutating func appendPreformatted(_ b: UInt8) {
        flushIfPending()
        if truncated { return }
        if b == 0x0A {
            guard !bytes.isEmpty else { return }
            trimTrailingBlanks()
            if trailingNewlines < 2 { _ = push(0x0A) }
        } else {
            _ = push(b)
        }
    }

    mutating func finish() -> ([UInt8], Bool) {
        while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0A { bytes.removeLast() }
        return (bytes, truncated)
    }
}

// MARK: - Converter

/// One conversion. Holds raw pointers into the caller's buffers, so it must
/// never escape `toText`.
private struct Converter {
    let p: UnsafeBufferPointer<UInt8>
    let n: Int
    let classes: UnsafeBufferPointer<UInt8>
    var sink: TextSink

    /// Between <head> and whatever ends it; text here is not shown by browsers.
    var inHead = false
    /// Nesting depth of the suppressing element (svg/template/object) whose
    /// content is being dropped, and that element's name.
    var suppressDepth = 0
    var suppressKey = TagKey()
    var preDepth = 0
    var titleEmitted = false

    init(input: UnsafeBufferPointer<UInt8>, classes: UnsafeBufferPointer<UInt8>, limit: Int) {
        self.p = input
        self.n = input.count
        self.classes = classes
        self.sink = TextSink(limit: limit, expectedInput: input.count)
    }

    mutating func run() {
        let lt = UInt8(ascii: "<")
        var i = 0
        while i < n, !sink.truncated {
            if suppressDepth > 0 {
                while i < n, p[i] != lt { i += 1 }
            } else if inHead {
                // Only whitespace is legal between head elements; anything
                // else means the author forgot <body> and the text is visible.
                while i < n, classes[Int(p[i])] == ByteClass.space || p[i] == 0 { i += 1 }
                if i < n, p[i] != lt { inHead = false }
            }
            if suppressDepth == 0, !inHead {
                i = text(from: i, to: n, stopAtLessThan: true, attribute: false, preformatted: preDepth > 0)
            }
            if i < n { i = markup(at: i) }
        }
    }

    // MARK: Character data

    /// Emits character data in `start ..< end`, decoding references and
    /// applying whitespace policy. Stops at `<` if asked (body text) and
    /// returns where it stopped; title and attribute text treat `<` literally.
    mutating func text(from start: Int, to end: Int, stopAtLessThan: Bool, attribute: Bool, preformatted: Bool) -> Int {
        var i = start
        while i < end {
            let c = p[i]
            let cls = classes[Int(c)]
            if cls == ByteClass.plain || cls == ByteClass.lead || (cls == ByteClass.lessThan && !stopAtLessThan) {
                // Longest run that can be copied verbatim.
                var j = i
                var special: (length: Int, effect: ScalarEffect) = (0, .keep)
                while j < end {
                    let k = classes[Int(p[j])]
                    if k == ByteClass.plain || (k == ByteClass.lessThan && !stopAtLessThan) {
                        j += 1
                        continue
                    }
                    if k == ByteClass.lead {
                        special = specialSequence(at: j, end: end)
                        if special.length == 0 {
                            j += 1
                            continue
                        }
                    }
                    break
                }
                if j > i {
                    sink.append(UnsafeBufferPointer(rebasing: p[i ..< j]))
                    if sink.truncated { return end }
                    i = j
                } else {
                    // A space-like or invisible character sits at i.
                    apply(special.effect, preformatted: preformatted)
                    i += max(1, special.length)
                }
            } else if cls == ByteClass.space {
                if preformatted {
                    if c == 0x0D {
                        // CR LF and lone CR are both one line break.
                        if i + 1 < end, p[i + 1] == 0x0A { i += 1 }
                        sink.appendPreformatted(0x0A)
                    } else {
                        sink.appendPreformatted(c == 0x0A || c == 0x09 ? c : 0x20)
                    }
                    i += 1
                } else {
                    sink.requestSpace()
                    i += 1
                    while i < end, classes[Int(p[i])] == ByteClass.space { i += 1 }
                }
            } else if cls == ByteClass.ampersand {
                if let ref = reference(at: i, end: end, attribute: attribute) {
                    emit(scalar: ref.first, preformatted: preformatted)
                    if ref.second != 0 { emit(scalar: ref.second, preformatted: preformatted) }
                    i = ref.next
                } else {
                    sink.append(UnsafeBufferPointer(rebasing: p[i ..< i + 1]))
                    i += 1
                }
                if sink.truncated { return end }
            } else if cls == ByteClass.lessThan {
                return i
            } else {
                i += 1 // NUL
            }
        }
        return end
    }

    /// Recognises a UTF-8 encoded space-like or invisible character at `i`;
    /// length 0 means "ordinary character".
    @inline(__always) func specialSequence(at i: Int, end: Int) -> (length: Int, effect: ScalarEffect) {
        let b0 = p[i]
        let scalar: UInt32
        let length: Int
        if b0 < 0xE0 {
            guard i + 1 < end, p[i + 1] & 0xC0 == 0x80 else { return (0, .keep) }
            scalar = UInt32(b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)
            length = 2
        } else {
            guard i + 2 < end, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80 else { return (0, .keep) }
            scalar = UInt32(b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
            length = 3
        }
        let effect = ScalarEffect.of(scalar)
        return effect == .keep ? (0, .keep) : (length, effect)
    }

    mutating func apply(_ effect: ScalarEffect, preformatted: Bool) {
        if effect == .space {
            if preformatted { sink.appendPreformatted(0x20) } else { sink.requestSpace() }
        }
    }

    mutating func emit(scalar: UInt32, preformatted: Bool) {
        switch ScalarEffect.of(scalar) {
        case .keep:
            sink.append(scalar: scalar)
        case .drop:
            break
        case .space:
            if preformatted, scalar == 0x0A || scalar == 0x0D {
                sink.appendPreformatted(0x0A)
            } else if preformatted, scalar == 0x09 {
                sink.appendPreformatted(0x09)
            } else {
                apply(.space, preformatted: preformatted)
            }
        }
    }

    /// Decodes a character reference starting at the `&` at `i`, following
    /// the HTML5 rules. Returns nil when the text is not a reference, in which
    /// case the `&` is literal. Scans at most a bounded stretch for named
    /// references; numeric ones consume every digit they scan.
    func reference(at i: Int, end: Int, attribute: Bool) -> (next: Int, first: UInt32, second: UInt32)? {
        var j = i + 1
        guard j < end else { return nil }
        if p[j] == UInt8(ascii: "#") {
            j += 1
            var hex = false
            if j < end, p[j] | 0x20 == UInt8(ascii: "x") {
                hex = true
                j += 1
            }
            let digitsStart = j
            var value: UInt32 = 0
            while j < end {
                let b = p[j]
                let digit: UInt32
                if b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
                    digit = UInt32(b - UInt8(ascii: "0"))
                } else if hex, b | 0x20 >= UInt8(ascii: "a"), b | 0x20 <= UInt8(ascii: "f") {
                    digit = UInt32((b | 0x20) - UInt8(ascii: "a")) + 10
                } else {
                    break
                }
                // Saturate: once past U+10FFFF the exact value is irrelevant,
                // and stopping here keeps the arithmetic far from overflow.
                if value <= 0x10FFFF { value = value * (hex ? 16 : 10) + digit }
                j += 1
            }
            guard j > digitsStart else { return nil }
            if j < end, p[j] == UInt8(ascii: ";") { j += 1 }
            return (j, Self.numericReferenceValue(value), 0)
        }

        let nameStart = j
        let cap = min(end, nameStart + HTMLEntities.maxNameLength)
        var k = nameStart
        while k < cap, isASCIIAlnum(p[k]) { k += 1 }
        guard k > nameStart else { return nil }
        let table = HTMLEntities.table
        if k < end, p[k] == UInt8(ascii: ";"), let value = table.lookup(p, nameStart, k + 1) {
            return (k + 1, value.0, value.1)
        }
        // No exact `name;` match: take the longest legacy name that prefixes
        // the run, e.g. `&notit;` is "¬it;" and `&copy2024` is "©2024".
        var length = min(k - nameStart, HTMLEntities.maxLegacyNameLength)
        while length >= 2 {
            let stop = nameStart + length
            if let value = table.lookup(p, nameStart, stop) {
                // In attribute values browsers leave `&copy=` / `&copyx` alone
                // (it is usually a URL query string).
                if attribute, stop < end, p[stop] == UInt8(ascii: "=") || isASCIIAlnum(p[stop]) { return nil }
                return (stop, value.0, value.1)
            }
            length -= 1
        }
        return nil
    }

    /// HTML5 "numeric character reference end state" fix-ups.
    static func numericReferenceValue(_ value: UInt32) -> UInt32 {
        switch value {
        case 0, 0xD800 ... 0xDFFF, 0x110000...: return 0xFFFD
        case 0x80 ... 0x9F: return windows1252[Int(value - 0x80)]
        default: return value
        }
    }

    /// Code points for 0x80–0x9F, which pages written for windows-1252 use
    /// as if they were Unicode; unassigned slots map to themselves.
    static let windows1252: [UInt32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    // MARK: Markup

    /// Handles the `<` at `i` and returns the index to continue from.
    mutating func markup(at i: Int) -> Int {
        let a = i + 1
        guard a < n else {
            literal(i ..< n)
            return n
        }
        let c = p[a]
        if isASCIIAlpha(c) { return tag(nameStart: a, isEnd: false) }
        switch c {
        case UInt8(ascii: "!"):
            return declaration(at: i)
        case UInt8(ascii: "/"):
            let b = a + 1
            guard b < n else {
                literal(i ..< n)
                return n
            }
            if isASCIIAlpha(p[b]) { return tag(nameStart: b, isEnd: true) }
            if p[b] == UInt8(ascii: ">") { return b + 1 }
            return skip(past: UInt8(ascii: ">"), from: b)
        case UInt8(ascii: "?"):
            // Processing instructions are bogus comments ending at the first `>`.
            return skip(past: UInt8(ascii: ">"), from: a)
        default:
            // `a < b`, `<<<<`: a lone `<` is text. Only this byte is consumed.
            // Being visible text, it also ends an implied <head>.
            if suppressDepth == 0 { inHead = false }
            literal(i ..< a)
            return a
        }
    }

    mutating func literal(_ range: Range<Int>) {
        if suppressDepth == 0, !inHead {
            sink.append(UnsafeBufferPointer(rebasing: p[range]))
        }
    }

    func skip(past byte: UInt8, from start: Int) -> Int {
        var j = start
        while j < n, p[j] != byte { j += 1 }
        return j < n ? j + 1 : n
    }

    /// `<!...`: comments, CDATA sections, DOCTYPE and other bogus comments.
    /// Unterminated ones run to the end of input, as in browsers.
    func declaration(at i: Int) -> Int {
        let dash = UInt8(ascii: "-"), gt = UInt8(ascii: ">")
        let start = i + 2
        if start + 1 < n, p[start] == dash, p[start + 1] == dash {
            let body = start + 2
            // `<!-->` and `<!--->` are complete (empty) comments.
            if body < n, p[body] == gt { return body + 1 }
            if body + 1 < n, p[body] == dash, p[body + 1] == gt { return body + 2 }
            var k = body
            while k + 2 < n {
                if p[k] == dash, p[k + 1] == dash {
                    if p[k + 2] == gt { return k + 3 }
                    if p[k + 2] == UInt8(ascii: "!"), k + 3 < n, p[k + 3] == gt { return k + 4 }
                }
                k += 1
            }
            return n
        }
        if matches(at: start, "[CDATA[") {
            let close = UInt8(ascii: "]")
            var k = start + 7
            while k + 2 < n {
                if p[k] == close, p[k + 1] == close, p[k + 2] == gt { return k + 3 }
                k += 1
            }
            return n
        }
        return skip(past: gt, from: start)
    }

    func matches(at start: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard start + count <= n else { return false }
        return literal.withUTF8Buffer { expected in
            var k = 0
            while k < count {
                if p[start + k] != expected[k] { return false }
                k += 1
            }
            return true
        }
    }

    /// A start or end tag whose name begins at `nameStart`.
    mutating func tag(nameStart: Int, isEnd: Bool) -> Int {
        var j = nameStart
        var key = TagKey()
        while j < n {
            let b = p[j]
            if isHTMLSpace(b) || b == UInt8(ascii: "/") || b == UInt8(ascii: ">") { break }
            if j - nameStart < TagKey.capacity { key.append(asciiLower(b)) }
            j += 1
        }
        let nameEnd = j
        let kind = nameEnd - nameStart <= TagKey.capacity ? TagKind.byName[key] ?? .other : .other

        let input = p
        var alt: Range<Int>? = nil
        let wantAlt = !isEnd && kind == .img
        let scanned = scanAttributes(input, from: j, limit: n) { name, value in
            if wantAlt, alt == nil, asciiCaseInsensitiveEquals(input, name, "alt") { alt = value }
        }
        guard let (end, selfClosing) = scanned else { return n }

        if isEnd {
            endTag(kind, key)
            return end
        }
        return startTag(kind, key, name: nameStart ..< nameEnd, end: end, selfClosing: selfClosing, alt: alt)
    }

    mutating func startTag(
        _ kind: TagKind, _ key: TagKey, name: Range<Int>, end: Int, selfClosing: Bool, alt: Range<Int>?
    ) -> Int {
        if suppressDepth > 0 {
            if key == suppressKey, !(selfClosing && key == TagKind.svgKey) { suppressDepth += 1 }
            // Raw text must still be skipped as such, or a `<svg>` inside a
            // script string would confuse the nesting count.
            return kind == .rawText ? endTagPosition(named: name, from: end) : end
        }
        if inHead {
            switch kind {
            case .head, .headMetadata, .title, .rawText: break
            case .suppress where key == TagKind.templateKey: break
            default: inHead = false
            }
        }
        switch kind {
        case .other, .headMetadata:
            break
        case .rawText:
            return endTagPosition(named: name, from: end)
        case .suppress:
            if !(selfClosing && key == TagKind.svgKey) {
                suppressKey = key
                suppressDepth = 1
            }
        case .title:
            // RCDATA: everything up to </title> is text, markup included.
            let close = endTagPosition(named: name, from: end)
            if !titleEmitted {
                titleEmitted = true
                sink.requestBreaks(1)
                _ = text(from: end, to: close, stopAtLessThan: false, attribute: false, preformatted: false)
                sink.requestBreaks(1)
            }
            return close
        case .head:
            inHead = true
        case .body:
            inHead = false
        case .pre:
            sink.requestBreaks(2)
            preDepth += 1
        case .br:
            sink.addBreak()
        case .cell:
            sink.requestSpace()
        case .img:
            if let alt {
                sink.requestSpace()
                _ = text(from: alt.lowerBound, to: alt.upperBound, stopAtLessThan: false, attribute: true, preformatted: false)
                sink.requestSpace()
            }
        case .paragraph:
            sink.requestBreaks(2)
        case .line:
            sink.requestBreaks(1)
        }
        return end
    }

    mutating func endTag(_ kind: TagKind, _ key: TagKey) {
        if suppressDepth > 0 {
            if key == suppressKey { suppressDepth -= 1 }
            return
        }
        switch kind {
        case .head:
            inHead = false
        case .pre:
            preDepth = max(0, preDepth - 1)
            sink.requestBreaks(2)
        case .paragraph:
            sink.requestBreaks(2)
        case .line:
            sink.requestBreaks(1)
        case .br:
            sink.addBreak() // `</br>` is treated as `<br>` by browsers
        case .cell:
            sink.requestSpace()
        case .other, .rawText, .suppress, .title, .body, .headMetadata, .img:
            break
        }
    }

    /// Position of the `<` of the first `</name` (any case) followed by a
    /// delimiter, at or after `start`; `n` if there is none. Each position is
    /// compared against at most `name.count` (≤ 16) bytes, so this is linear.
    func endTagPosition(named name: Range<Int>, from start: Int) -> Int {
        let count = name.count
        var k = start
        while k < n {
            if p[k] != UInt8(ascii: "<") {
                k += 1
                continue
            }
            let nameAt = k + 2
            if nameAt + count < n, p[k + 1] == UInt8(ascii: "/") {
                var m = 0
                while m < count, asciiLower(p[nameAt + m]) == asciiLower(p[name.lowerBound + m]) { m += 1 }
                if m == count {
                    let after = p[nameAt + count]
                    if isHTMLSpace(after) || after == UInt8(ascii: "/") || after == UInt8(ascii: ">") { return k }
                }
            }
            k += 1
        }
        return n
    }
}

// MARK: - Charset sniffing

/// A cut-down version of the HTML "prescan a byte stream" algorithm: only
/// <meta> tags in the first 4 KiB are considered, and comments and other tags
/// are skipped so that their attributes cannot fake a declaration.
private struct CharsetSniffer {
    let p: UnsafeBufferPointer<UInt8>
    let n: Int

    static let window = 4096

    init(input: UnsafeBufferPointer<UInt8>) {
        p = input
        n = min(input.count, Self.window)
    }

    func sniff() -> String? {
        let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), dash = UInt8(ascii: "-")
        var i = 0
        while i < n {
            guard p[i] == lt else {
                i += 1
                continue
            }
            let a = i + 1
            guard a < n else { return nil }
            if p[a] == UInt8(ascii: "!"), a + 2 < n, p[a + 1] == dash, p[a + 2] == dash {
                // The `>` ending a comment may reuse the dashes of `<!--`.
                var k = a + 3
                while k < n, !(p[k] == gt && p[k - 1] == dash && p[k - 2] == dash) { k += 1 }
                i = k + 1
                continue
            }
            var nameStart = a
            var isEnd = false
            if p[a] == UInt8(ascii: "/") {
                isEnd = true
                nameStart = a + 1
            }
            guard nameStart < n, isASCIIAlpha(p[nameStart]) else {
                if p[a] == UInt8(ascii: "!") || p[a] == UInt8(ascii: "/") || p[a] == UInt8(ascii: "?") {
                    var k = a
                    while k < n, p[k] != gt { k += 1 }
                    i = k + 1
                } else {
                    i = a
                }
                continue
            }
            var j = nameStart
            while j < n, !isHTMLSpace(p[j]), p[j] != UInt8(ascii: "/"), p[j] != gt { j += 1 }
            let isMeta = !isEnd && asciiCaseInsensitiveEquals(p, nameStart ..< j, "meta")

            let input = p
            var charset: Range<Int>? = nil
            var httpEquiv: Range<Int>? = nil
            var content: Range<Int>? = nil
            let scanned = scanAttributes(input, from: j, limit: n) { name, value in
                guard isMeta else { return }
                if charset == nil, asciiCaseInsensitiveEquals(input, name, "charset") {
                    charset = value
                } else if httpEquiv == nil, asciiCaseInsensitiveEquals(input, name, "http-equiv") {
                    httpEquiv = value
                } else if content == nil, asciiCaseInsensitiveEquals(input, name, "content") {
                    content = value
                }
            }
            guard let (end, _) = scanned else { return nil }
            if isMeta {
                if let charset, let label = label(charset) { return label }
                if let httpEquiv, let content,
                   asciiCaseInsensitiveEquals(p, trimmed(httpEquiv), "content-type"),
                   let range = charsetInContent(content), let label = label(range) {
                    return label
                }
            }
            i = end
        }
        return nil
    }

    func trimmed(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi, isHTMLSpace(p[lo]) { lo += 1 }
        while hi > lo, isHTMLSpace(p[hi - 1]) { hi -= 1 }
        return lo ..< hi
    }

    /// Lowercased label if it looks like an encoding name at all.
    func label(_ range: Range<Int>) -> String? {
        let r = trimmed(range)
        guard !r.isEmpty, r.count <= 40 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        for k in r {
            let b = asciiLower(p[k])
            guard isASCIIAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") else { return nil }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// "Extracting a character encoding from a meta element" from the HTML spec.
    func charsetInContent(_ range: Range<Int>) -> Range<Int>? {
        let end = range.upperBound
        var k = range.lowerBound
        while k + 7 <= end {
            guard asciiCaseInsensitiveEquals(p, k ..< k + 7, "charset") else {
                k += 1
                continue
            }
            var j = k + 7
            while j < end, isHTMLSpace(p[j]) { j += 1 }
            guard j < end, p[j] == UInt8(ascii: "=") else {
                k = j
                continue
            }
            j += 1
            while j < end, isHTMLSpace(p[j]) { j += 1 }
            guard j < end else { return nil }
            let quote = p[j]
            if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                var q = j + 1
                while q < end, p[q] != quote { q += 1 }
                return q < end ? j + 1 ..< q : nil
            }
            var q = j
            while q < end, !isHTMLSpace(p[q]), p[q] != UInt8(ascii: ";") { q += 1 }
            return j ..< q
        }
        return nil
    }
}
