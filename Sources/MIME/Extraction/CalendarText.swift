// text/calendar (iCalendar) and text/vcard text: one output line per interesting property value.

enum CalendarText {
    static let plainProperties: Set<String> = [
        "SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CONTACT", "RESOURCES",
        "FN", "NICKNAME", "EMAIL", "TEL", "TITLE", "ROLE", "NOTE", "URL",
    ]
    static let structuredProperties: [String: String] = ["N": " ", "ORG": " ", "ADR": ", "]

    static func extract(_ data: [UInt8], limits: ExtractionLimits, decodeCharset: ([UInt8], String) -> String) -> ExtractionResult {
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        let text: String
        if let s = String(validating: bytes, as: UTF8.self) { text = s } else { text = decodeCharset(Array(bytes), "windows-1252") }

        var sink = ExtractionSink(limit: limits.maxOutputBytes)
        let lines = unfold(text)
        var index = 0
        while index < lines.count && !sink.isFull {
            var line = lines[index]
            index += 1
            guard let prop = parse(line) else { continue }
            let name = prop.name
            guard plainProperties.contains(name) || structuredProperties[name] != nil
                    || name == "ORGANIZER" || name == "ATTENDEE" || name == "CATEGORIES" else { continue }
            var value = prop.value
            var isQP = false
            var charset: String?
            for (k, v) in prop.params {
                if k == "ENCODING" {
                    let u = v.uppercased()
                    if u == "QUOTED-PRINTABLE" { isQP = true } else if u == "B" || u == "BASE64" { value = "" }
                } else if k == "QUOTED-PRINTABLE" { isQP = true }
                else if k == "CHARSET" { charset = v }
            }
            if isQP {
                // vCard 2.1 soft line breaks: a value ending in "=" continues on the next line.
                while value.hasSuffix("="), index < lines.count {
                    value.removeLast()
                    line = lines[index]
                    index += 1
                    value += line
                }
                let raw = quotedPrintableDecode(value)
                if let cs = charset, cs.lowercased() != "utf-8", cs.lowercased() != "us-ascii" {
                    value = decodeCharset(raw, cs)
                } else {
                    value = String(decoding: raw, as: UTF8.self)
                }
            }
            var out: String
            switch name {
            case "ORGANIZER", "ATTENDEE":
                var parts: [String] = []
                if let cn = prop.params.first(where: { $0.0 == "CN" })?.1, !cn.isEmpty { parts.append(cn) }
                var addr = value.trimmingSpaces()
                if addr.lowercased().hasPrefix("mailto:") { addr = String(addr.dropFirst(7)) }
                if !addr.isEmpty { parts.append(parts.isEmpty ? addr : "<\(addr)>") }
                out = parts.joined(separator: " ")
            case "CATEGORIES":
                out = splitEscaped(value, separator: ",").map(unescape).filter { !$0.isEmpty }.joined(separator: ", ")
            default:
                if let sep = structuredProperties[name] {
                    out = splitEscaped(value, separator: ";").map { unescape($0).trimmingSpaces() }.filter { !$0.isEmpty }.joined(separator: sep)
                } else {
                    out = unescape(value)
                }
            }
            out = out.trimmingSpaces()
            if out.isEmpty { continue }
            sink.append(out)
            sink.append(0x0A)
        }
        return sink.result()
    }

    /// Splits into lines (CRLF or LF) and joins continuation lines that begin with a space or tab.
    static func unfold(_ text: String) -> [String] {
        // Work on bytes: "\r\n" is a single Character, so Character-based splitting would miss it.
        let bytes = Array(text.utf8)
        var result: [[UInt8]] = []
        var start = 0
        let n = bytes.count
        while start <= n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            if let first = line.first, first == 0x20 || first == 0x09, !result.isEmpty {
                result[result.count - 1].append(contentsOf: line.dropFirst())
            } else {
                result.append(Array(line))
            }
            start = end + 1
        }
        return result.map { String(decoding: $0, as: UTF8.self) }
    }

    struct Property {
        var name: String
        var params: [(String, String)]
        var value: String
    }

    /// NAME;PARAM=V;PARAM="V:x":value  (group prefixes such as "item1." are dropped).
    static func parse(_ line: String) -> Property? {
        let chars = Array(line.unicodeScalars)
        var inQuotes = false
        var colon = -1
        var segments: [String] = []
        var current = String.UnicodeScalarView()
        var k = 0
        while k < chars.count {
            let c = chars[k]
            if c == "\"" { inQuotes.toggle(); current.append(c) }
            else if !inQuotes && c == ";" { segments.append(String(current)); current = String.UnicodeScalarView() }
            else if !inQuotes && c == ":" { colon = k; break }
            else { current.append(c) }
            k += 1
        }
        guard colon >= 0 else { return nil }
        segments.append(String(current))
        var name = segments[0].trimmingSpaces().uppercased()
        if let dot = name.lastIndex(of: ".") { name = String(name[name.index(after: dot)...]) }
        guard !name.isEmpty else { return nil }
        var params: [(String, String)] = []
        for seg in segments.dropFirst() {
            if let eq = seg.firstIndex(of: "=") {
                let key = seg[..<eq].trimmingSpaces().uppercased()
                var v = String(seg[seg.index(after: eq)...]).trimmingSpaces()
                if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
                params.append((key, caretDecode(v)))
            } else {
                params.append((seg.trimmingSpaces().uppercased(), ""))
            }
        }
        var value = String.UnicodeScalarView()
        value.append(contentsOf: chars[(colon + 1)...])
        return Property(name: name, params: params, value: String(value))
    }

    /// RFC 6868 parameter escapes: ^n, ^', ^^.
    static func caretDecode(_ s: String) -> String {
        guard s.contains("^") else { return s }
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            if c == "^" {
                switch it.next() {
                case "n"?: out.append("\n")
                case "'"?: out.append("\"")
                case "^"?: out.append("^")
                case let other?: out.append("^"); out.append(other)
                case nil: out.append("^")
                }
            } else { out.append(c) }
        }
        return out
    }

    /// Splits on `separator` not preceded by a backslash escape.
    static func splitEscaped(_ s: String, separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for c in s {
            if escaped { current.append("\\"); current.append(c); escaped = false }
            else if c == "\\" { escaped = true }
            else if c == separator { parts.append(current); current = "" }
            else { current.append(c) }
        }
        if escaped { current.append("\\") }
        parts.append(current)
        return parts
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "n", "N": out.append("\n")
                case ",", ";", "\\", ":": out.append(c)
                default: out.append("\\"); out.append(c)
                }
                escaped = false
            } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        if escaped { out.append("\\") }
        return out
    }

    static func quotedPrintableDecode(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == 0x3D, i + 2 < b.count + 0, let hi = RTFText.hexValue(b[i + 1]), let lo = RTFText.hexValue(b[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
        return String(s)
    }
}
