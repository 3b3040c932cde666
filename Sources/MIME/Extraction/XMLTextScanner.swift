// A small, linear-time, non-validating XML scanner for pulling text out of office documents.
// It reports start tags (with the raw attribute bytes), end tags and decoded character data.
// No DTD processing, no external entities, no recursion.

struct XMLTextScanner {
    enum Event {
        /// `name` is the qualified name ("w:t"); `attributes` the raw bytes between the name and `>`.
        case start(name: String, attributes: ArraySlice<UInt8>, selfClosing: Bool)
        case end(name: String)
        /// Character data with entities decoded (UTF-8).
        case text(ArraySlice<UInt8>)
    }

    /// Scans `input`, calling `handler` for each event; stops early when `handler` returns false.
    static func scan(_ input: [UInt8], _ handler: (Event) -> Bool) {
        let bytes = normalizeEncoding(input)
        let n = bytes.count
        var i = 0
        if bytes.extractionHasBytes([0xEF, 0xBB, 0xBF]) { i = 3 }
        var textBuf: [UInt8] = []
        textBuf.reserveCapacity(256)

        func flushText() -> Bool {
            if textBuf.isEmpty { return true }
            let ok = handler(.text(textBuf[...]))
            textBuf.removeAll(keepingCapacity: true)
            return ok
        }

        while i < n {
            let b = bytes[i]
            if b == 0x26 { // &
                i = decodeEntity(bytes, at: i, into: &textBuf)
                continue
            }
            if b != 0x3C { // not <
                // Copy a run of plain text at once.
                var j = i + 1
                while j < n && bytes[j] != 0x3C && bytes[j] != 0x26 { j += 1 }
                textBuf.append(contentsOf: bytes[i..<j])
                i = j
                continue
            }
            // Markup.
            guard i + 1 < n else { break }
            let c = bytes[i + 1]
            if c == 0x21 { // <!
                if bytes.extractionHasBytes(Array("<!--".utf8), at: i) {
                    i = skipPast(bytes, from: i + 4, terminator: Array("-->".utf8))
                } else if bytes.extractionHasBytes(Array("<![CDATA[".utf8), at: i) {
                    let start = i + 9
                    let end = find(bytes, from: start, terminator: Array("]]>".utf8))
                    textBuf.append(contentsOf: bytes[start..<end])
                    i = Swift.min(n, end + 3)
                } else {
                    // <!DOCTYPE ...> possibly with an internal subset in [ ].
                    var j = i + 2
                    var inSubset = false
                    var quote: UInt8 = 0
                    while j < n {
                        let d = bytes[j]
                        if quote != 0 { if d == quote { quote = 0 } }
                        else if d == 0x22 || d == 0x27 { quote = d }
                        else if d == 0x5B { inSubset = true }
                        else if d == 0x5D { inSubset = false }
                        else if d == 0x3E && !inSubset { break }
                        j += 1
                    }
                    i = Swift.min(n, j + 1)
                }
                continue
            }
            if c == 0x3F { // <? ... ?>
                i = skipPast(bytes, from: i + 2, terminator: Array("?>".utf8))
                continue
            }
            if !flushText() { return }
            if c == 0x2F { // </name>
                var j = i + 2
                let nameStart = j
                while j < n && !isNameEnd(bytes[j]) { j += 1 }
                let name = String(decoding: bytes[nameStart..<j], as: UTF8.self)
                while j < n && bytes[j] != 0x3E { j += 1 }
                i = Swift.min(n, j + 1)
                if !handler(.end(name: name)) { return }
                continue
            }
            // <name attrs ... [/]>
            var j = i + 1
            let nameStart = j
            while j < n && !isNameEnd(bytes[j]) { j += 1 }
            let name = String(decoding: bytes[nameStart..<j], as: UTF8.self)
            let attrStart = j
            var quote: UInt8 = 0
            while j < n {
                let d = bytes[j]
                if quote != 0 { if d == quote { quote = 0 } }
                else if d == 0x22 || d == 0x27 { quote = d }
                else if d == 0x3E { break }
                j += 1
            }
            let tagEnd = Swift.min(j, n)
            var selfClosing = false
            var attrEnd = tagEnd
            if attrEnd > attrStart && bytes[attrEnd - 1] == 0x2F { selfClosing = true; attrEnd -= 1 }
            i = Swift.min(n, tagEnd + 1)
            if name.isEmpty { continue }
            if !handler(.start(name: name, attributes: bytes[attrStart..<attrEnd], selfClosing: selfClosing)) { return }
            if selfClosing && !handler(.end(name: name)) { return }
        }
        _ = flushText()
    }

    /// The local part of a qualified name ("w:t" → "t").
    static func localName(_ name: String) -> Substring {
        if let colon = name.lastIndex(of: ":") { return name[name.index(after: colon)...] }
        return name[...]
    }

    /// Value of attribute `wanted` (qualified name, or local name when `wanted` has no prefix) in raw attribute bytes.
    static func attribute(_ wanted: String, in attrs: ArraySlice<UInt8>) -> String? {
        let wantedBytes = Array(wanted.utf8)
        let matchLocal = !wantedBytes.contains(0x3A)
        var i = attrs.startIndex
        let end = attrs.endIndex
        while i < end {
            while i < end && isSpace(attrs[i]) { i += 1 }
            let nameStart = i
            while i < end && attrs[i] != 0x3D && !isSpace(attrs[i]) { i += 1 }
            var name = attrs[nameStart..<i]
            while i < end && isSpace(attrs[i]) { i += 1 }
            guard i < end, attrs[i] == 0x3D else {
                if i == nameStart { i += 1 }
                continue
            }
            i += 1
            while i < end && isSpace(attrs[i]) { i += 1 }
            guard i < end else { return nil }
            let q = attrs[i]
            let valueStart: Int
            let valueEnd: Int
            if q == 0x22 || q == 0x27 {
                valueStart = i + 1
                var j = valueStart
                while j < end && attrs[j] != q { j += 1 }
                valueEnd = j
                i = Swift.min(end, j + 1)
            } else {
                valueStart = i
                var j = i
                while j < end && !isSpace(attrs[j]) { j += 1 }
                valueEnd = j
                i = j
            }
            if matchLocal, let colon = name.lastIndex(of: 0x3A) { name = name[(colon + 1)...] }
            if name.elementsEqual(wantedBytes) {
                var out: [UInt8] = []
                let raw = Array(attrs[valueStart..<valueEnd])
                var k = 0
                while k < raw.count {
                    if raw[k] == 0x26 { k = decodeEntity(raw, at: k, into: &out) } else { out.append(raw[k]); k += 1 }
                }
                return String(decoding: out, as: UTF8.self)
            }
        }
        return nil
    }

    // MARK: - Helpers

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    @inline(__always) static func isNameEnd(_ b: UInt8) -> Bool { isSpace(b) || b == 0x3E || b == 0x2F }

    /// Index of the first occurrence of `terminator` at or after `from`, or `bytes.count`.
    static func find(_ bytes: [UInt8], from: Int, terminator: [UInt8]) -> Int {
        guard let first = terminator.first else { return from }
        var i = from
        let n = bytes.count
        while i < n {
            if bytes[i] == first && bytes.extractionHasBytes(terminator, at: i) { return i }
            i += 1
        }
        return n
    }

    static func skipPast(_ bytes: [UInt8], from: Int, terminator: [UInt8]) -> Int {
        let at = find(bytes, from: from, terminator: terminator)
        return Swift.min(bytes.count, at + terminator.count)
    }

    /// Decodes the entity reference starting at `i` (which holds `&`); returns the index after it.
    /// Unknown or malformed references are copied literally.
    static func decodeEntity(_ bytes: [UInt8], at i: Int, into out: inout [UInt8]) -> Int {
        let n = bytes.count
        var j = i + 1
        // Entity names/numbers are short; bound the look-ahead.
        let limit = Swift.min(n, i + 12)
        while j < limit && bytes[j] != 0x3B && bytes[j] != 0x26 && bytes[j] != 0x3C && !isSpace(bytes[j]) { j += 1 }
        guard j < limit, bytes[j] == 0x3B else {
            out.append(0x26)
            return i + 1
        }
        let body = bytes[(i + 1)..<j]
        var scalar: Unicode.Scalar?
        if body.first == 0x23 { // #
            var value: UInt32 = 0
            var ok = body.count > 1
            var k = body.startIndex + 1
            let hex = k < body.endIndex && (body[k] == 0x78 || body[k] == 0x58)
            if hex { k += 1; ok = k < body.endIndex }
            while k < body.endIndex && ok {
                let d = body[k]
                let v: UInt32
                if d >= 0x30 && d <= 0x39 { v = UInt32(d - 0x30) }
                else if hex && d >= 0x61 && d <= 0x66 { v = UInt32(d - 0x61 + 10) }
                else if hex && d >= 0x41 && d <= 0x46 { v = UInt32(d - 0x41 + 10) }
                else { ok = false; break }
                value = value &* (hex ? 16 : 10) &+ v
                if value > 0x10FFFF { ok = false }
                k += 1
            }
            if ok { scalar = Unicode.Scalar(value) ?? Unicode.Scalar(0xFFFD) }
        } else {
            switch String(decoding: body, as: UTF8.self) {
            case "amp": scalar = "&"
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            case "nbsp": scalar = "\u{A0}"
            default: scalar = nil
            }
        }
        guard let s = scalar else {
            out.append(contentsOf: bytes[i...j])
            return j + 1
        }
        UTF8.encode(s) { out.append($0) }
        return j + 1
    }

    /// Converts UTF-16 encoded XML (by BOM) to UTF-8; returns other input unchanged.
    static func normalizeEncoding(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 2 else { return bytes }
        let little: Bool
        if bytes[0] == 0xFF && bytes[1] == 0xFE { little = true }
        else if bytes[0] == 0xFE && bytes[1] == 0xFF { little = false }
        else { return bytes }
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = 2
        while i + 1 < bytes.count {
            let u = little ? UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 : UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
            units.append(u)
            i += 2
        }
        return Array(String(decoding: units, as: UTF16.self).utf8)
    }
}
