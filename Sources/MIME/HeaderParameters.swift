/// A parsed `Content-Type` or `Content-Disposition` value: a main value and its parameters.
struct ParameterizedValue {
    /// Lowercased main value (`text/plain`, `attachment`); empty when missing.
    var value: String
    /// Parameters by lowercased name, RFC 2231 continuations joined and decoded, RFC 2047 words decoded.
    var parameters: [(name: String, value: String)]
    var defects: [DefectKind] = []

    func parameter(_ name: String) -> String? {
        parameters.first(where: { $0.name == name })?.value
    }

    /// Parses `type/subtype; a=b; c="d e"; f*=utf-8''%E2%82%AC; g*0=..; g*1*=..`.
    /// Lenient: stray semicolons, unquoted values with blanks, unclosed quotes, comments,
    /// duplicate parameters (first wins), missing `=`.
    static func parse(_ text: String, fallbackCharset: String?) -> ParameterizedValue {
        let bytes = Array(text.utf8)
        var i = 0
        let n = bytes.count
        var defects: [DefectKind] = []

        func skipCFWS() {
            while i < n {
                let b = bytes[i]
                if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { i += 1; continue }
                if b == 0x28 {  // comment, nested, bounded by the input length
                    var depth = 0
                    while i < n {
                        if bytes[i] == 0x5C { i += 2; continue }
                        if bytes[i] == 0x28 { depth += 1 }
                        if bytes[i] == 0x29 { depth -= 1; if depth == 0 { i += 1; break } }
                        i += 1
                    }
                    continue
                }
                break
            }
        }

        skipCFWS()
        let valueStart = i
        while i < n, bytes[i] != 0x3B { i += 1 }
        let mainBytes = bytes[valueStart..<min(i, n)]
        var main: String
        if mainBytes.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) {
            // ASCII without CR (where a character is a byte): the same as below, on bytes.
            main = asciiValue(mainBytes)
        } else {
            main = String(decoding: mainBytes, as: UTF8.self)
            if let paren = main.firstIndex(of: "(") { main = String(main[..<paren]) }
            main = main.filter { $0 != " " && $0 != "\t" && $0 != "\"" && $0 != "\r" && $0 != "\n" }.lowercased()
        }

        // Raw parameters in order: name (lowercased, without the RFC 2231 suffix), section, encoded flag, value bytes.
        struct Raw { var name: String; var section: Int?; var extended: Bool; var value: [UInt8] }
        var raws: [Raw] = []
        while i < n {
            // at ';'
            i += 1
            skipCFWS()
            if i >= n { break }
            let nameStart = i
            while i < n, bytes[i] != 0x3D, bytes[i] != 0x3B { i += 1 }
            var nameBytes = Array(bytes[nameStart..<i])
            while let l = nameBytes.last, isBlank(l) { nameBytes.removeLast() }
            if i >= n || bytes[i] == 0x3B {
                if !nameBytes.isEmpty { defects.append(.malformedParameter) }
                continue
            }
            i += 1  // '='
            skipCFWS()
            var value = [UInt8]()
            if i < n, bytes[i] == 0x22 {
                i += 1
                var closed = false
                while i < n {
                    let b = bytes[i]
                    if b == 0x5C, i + 1 < n { value.append(bytes[i + 1]); i += 2; continue }
                    if b == 0x22 { closed = true; i += 1; break }
                    value.append(b)
                    i += 1
                }
                if !closed { defects.append(.malformedParameter) }
                // Anything between the closing quote and the next ';' is junk.
                while i < n, bytes[i] != 0x3B { i += 1 }
            } else {
                let vs = i
                while i < n, bytes[i] != 0x3B { i += 1 }
                value = Array(Array(bytes[vs..<i]).trimmedBlanks())
                if let p = value.firstIndex(of: 0x28), !value.contains(0x3D) || p > 0 {
                    // Trailing comment: `charset=us-ascii (Plain Text)`.
                    let cut = Array(value[..<p].reversed().drop(while: isBlank).reversed())
                    if !cut.isEmpty { value = cut }
                }
            }
            var name = nameBytes.allSatisfy({ $0 < 0x80 })
                ? String(decoding: nameBytes.map(asciiLowerByte), as: UTF8.self)
                : String(decoding: nameBytes, as: UTF8.self).lowercased()
            var extended = false
            var section: Int?
            if name.hasSuffix("*") { extended = true; name.removeLast() }
            if let star = name.lastIndex(of: "*"), let num = Int(name[name.index(after: star)...]), num >= 0, num < 10_000 {
                section = num
                name = String(name[..<star])
            }
            if name.isEmpty { defects.append(.malformedParameter); continue }
            raws.append(Raw(name: name, section: section, extended: extended, value: value))
            if raws.count > 256 { defects.append(.malformedParameter); break }
        }

        var result: [(name: String, value: String)] = []
        var seen = Set<String>()
        for raw in raws where !seen.contains(raw.name) {
            seen.insert(raw.name)
            let group = raws.filter { $0.name == raw.name }
            let value: String
            if group.contains(where: { $0.section != nil || $0.extended }) {
                value = decodeRFC2231(group, fallbackCharset: fallbackCharset)
            } else {
                var flags = EncodedWords.Flags()
                value = EncodedWords.decodeHeader(raw.value, fallbackCharset: fallbackCharset, flags: &flags)
            }
            result.append((raw.name, value))
        }
        return ParameterizedValue(value: main, parameters: result, defects: defects)

        func decodeRFC2231(_ group: [Raw], fallbackCharset: String?) -> String {
            // Plain (un-numbered) value wins only when there are no sections.
            let sections = group.filter { $0.section != nil }.sorted { ($0.section ?? 0) < ($1.section ?? 0) }
            let ordered = sections.isEmpty ? [group[0]] : sections
            var charset: String?
            var bytes = [UInt8]()
            for (k, part) in ordered.enumerated() {
                var v = part.value[...]
                if part.extended && k == 0 {
                    // charset'language'value
                    if let q1 = v.firstIndex(of: 0x27), let q2 = v[(q1 + 1)...].firstIndex(of: 0x27) {
                        let cs = String(decoding: v[v.startIndex..<q1], as: UTF8.self)
                        if !cs.isEmpty { charset = cs }
                        v = v[(q2 + 1)...]
                    }
                }
                if part.extended {
                    bytes += percentDecode(v)
                } else {
                    bytes += v
                }
            }
            if charset == nil {
                var flags = EncodedWords.Flags()
                return EncodedWords.decodeHeader(bytes, fallbackCharset: fallbackCharset, flags: &flags)
            }
            return Charset.decode(bytes, label: charset, fallback: fallbackCharset).0
        }
    }

    /// A main value of ASCII bytes without CR: up to a comment's "(", without blanks, quotes
    /// and LF, lowercased (what the character-wise path does to such text; a header value
    /// like `text/plain` is parsed for every part of every message).
    static func asciiValue(_ v: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(v.count)
        for b in v {
            if b == 0x28 { break }
            if b == 0x20 || b == 0x09 || b == 0x22 || b == 0x0A { continue }
            out.append(asciiLowerByte(b))
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecode(_ v: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(v.count)
        var i = v.startIndex
        while i < v.endIndex {
            let b = v[i]
            if b == 0x25, i + 2 < v.endIndex, let h = hexValue(v[i + 1]), let l = hexValue(v[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }
}
