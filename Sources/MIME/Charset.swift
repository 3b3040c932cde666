import MailsiftCore
import CICUShim
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Turns bytes in a declared (or undeclared) charset into Unicode text.
///
/// Mail labels its charsets badly: `iso-8859-1` that is really windows-1252, `gb2312` that holds
/// GBK characters, `us-ascii` on 8-bit text, made-up names. We follow what browsers and mature
/// mail clients do: map labels to the superset a sender most likely meant, let ICU convert
/// everything it knows, fall back to ICU's charset detection when the label is unknown or
/// plainly wrong, and finally to lossy UTF-8. A part is never dropped for its charset.
public enum Charset {
    /// How a piece of text was decoded.
    public struct Outcome: Sendable, Hashable {
        /// The charset actually used (lowercase label as ICU or we name it).
        public var used: String
        /// True when the charset was guessed (label missing, unknown or wrong).
        public var guessed: Bool
        /// True when the declared label was not understood.
        public var unknownLabel: Bool
        /// Number of malformed or unmappable sequences replaced by U+FFFD.
        public var substitutions: Int
    }

    /// Decodes `bytes` declared as `label` (nil when undeclared). `fallback` is used instead of
    /// detection for undeclared 8-bit text when the caller knows better (e.g. the message's charset).
    public static func decode(_ bytes: some Collection<UInt8>, label: String?, fallback: String? = nil) -> (String, Outcome) {
        let array = Array(bytes)
        return decode(array, label: label, fallback: fallback)
    }

    public static func decode(_ bytes: [UInt8], label: String?, fallback: String? = nil) -> (String, Outcome) {
        let normalized = label.map(normalizeLabel) ?? nil
        let isASCII = allASCII(bytes)
        if isASCII, !(normalized.map(isASCIIIncompatible) ?? false), hasISO2022Escape(bytes) {
            // 7-bit ISO-2022-JP (or -KR/-CN) under a wrong or missing label: its escape
            // sequences give it away, and reading it as ASCII would index "$B%W%l%9".
            for candidate in ["iso-2022-jp", "iso-2022-kr", "iso-2022-cn"] {
                if let (s, subs) = icuConvert(bytes, charset: candidate), subs == 0 {
                    return (s, Outcome(used: candidate, guessed: true, unknownLabel: false, substitutions: 0))
                }
            }
        }
        if isASCII, !(normalized.map(isASCIIIncompatible) ?? false) {
            // 7-bit text is the same in every ASCII-compatible charset: no conversion needed.
            return (String(decoding: bytes, as: UTF8.self),
                    Outcome(used: normalized ?? "us-ascii", guessed: false, unknownLabel: normalized.map { !isKnown($0) } ?? false, substitutions: 0))
        }
        switch normalized {
        case "utf-8":
            if let s = validUTF8(bytes) {
                return (s, Outcome(used: "utf-8", guessed: false, unknownLabel: false, substitutions: 0))
            }
            // Declared UTF-8 but not valid. Mostly UTF-8 with a few bad bytes: keep the UTF-8
            // reading. Otherwise it is often Latin-1 or a legacy CJK charset in disguise.
            if let lossy = mostlyUTF8(bytes) {
                return (lossy.0, Outcome(used: "utf-8", guessed: true, unknownLabel: false, substitutions: lossy.1))
            }
            return guess(bytes, hint: "utf-8", fallback: fallback, unknownLabel: false)
        case "windows-1252":
            // 8-bit text labelled Latin-1 or ASCII is frequently UTF-8 in practice; valid UTF-8
            // multi-byte sequences almost never occur in real Latin-1 text.
            if let s = validUTF8(bytes) {
                return (s, Outcome(used: "utf-8", guessed: true, unknownLabel: false, substitutions: 0))
            }
            return (decodeWindows1252(bytes), Outcome(used: "windows-1252", guessed: false, unknownLabel: false, substitutions: 0))
        case nil:
            if let s = validUTF8(bytes) {
                return (s, Outcome(used: "utf-8", guessed: label == nil, unknownLabel: false, substitutions: 0))
            }
            if let fallback, let fb = normalizeLabel(fallback), fb != "utf-8" {
                var (s, o) = decode(bytes, label: fb)
                o.guessed = true
                return (s, o)
            }
            return guess(bytes, hint: nil, fallback: nil, unknownLabel: label != nil && !isUndeclaredLabel(label ?? ""))
        case let name?:
            if let s = validUTF8(bytes) {
                if isSingleByte(name) {
                    return (s, Outcome(used: "utf-8", guessed: true, unknownLabel: false, substitutions: 0))
                }
                // A multi-byte charset (CJK) whose text some gateway read as Latin-1 and wrote
                // as UTF-8: every non-ASCII character is then U+0080–U+00FF, which real UTF-8 or
                // real CJK text practically never is. Undo it when that converts cleanly.
                if let repaired = undoLatin1DoubleEncoding(s, charset: name) {
                    return (repaired, Outcome(used: name, guessed: true, unknownLabel: false, substitutions: 0))
                }
            }
            if let (s, subs) = icuConvert(bytes, charset: name) {
                if subs > 0, let utf8 = validUTF8(bytes) {
                    // Not valid in the declared charset but valid UTF-8: a mislabel.
                    return (utf8, Outcome(used: "utf-8", guessed: true, unknownLabel: false, substitutions: 0))
                }
                return (s, Outcome(used: name, guessed: false, unknownLabel: false, substitutions: subs))
            }
            return guess(bytes, hint: nil, fallback: fallback, unknownLabel: true)
        }
    }

    /// Lowercased, trimmed, with mislabels mapped to the superset senders mean (WHATWG Encoding
    /// Standard practice). Returns nil for labels that mean "undeclared".
    public static func normalizeLabel(_ raw: String) -> String? {
        var s = raw.lowercased()
        s = String(s.drop(while: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "\t" }))
        while let last = s.last, last == " " || last == "\"" || last == "'" || last == "\t" || last == ";" || last == "," { s.removeLast() }
        if s.isEmpty || isUndeclaredLabel(s) { return nil }
        if let mapped = aliases[s] { return mapped }
        // `iso8859-15`, `iso_8859-2`, `latin-2` style variants.
        if s.hasPrefix("iso8859") || s.hasPrefix("iso_8859") {
            let digits = s.drop(while: { !$0.isNumber }).dropFirst(4).drop(while: { $0 == "-" || $0 == "_" })
            if !digits.isEmpty { return aliases["iso-8859-" + digits] ?? "iso-8859-" + digits }
        }
        if s.hasPrefix("cp"), s.dropFirst(2).allSatisfy(\.isNumber), s.count > 2 {
            let n = s.dropFirst(2)
            // cp1250-cp1258 are Windows code pages; cp1200-cp1208 and others are IBM's names
            // for Unicode encodings, which ICU knows as they are.
            if n.count == 4, n.hasPrefix("125") { return "windows-" + n }
        }
        return s
    }

    /// ESC $ B, ESC $ @, ESC ( J, ESC $ ( D, ESC $ ) C …: the designations of ISO-2022 charsets.
    static func hasISO2022Escape(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress, let hit = memchr(base, 0x1B, b.count) else { return false }
            var i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            while i + 2 < b.count {
                if b[i] == 0x1B, b[i + 1] == 0x24 || b[i + 1] == 0x28 { return true }
                i += 1
            }
            return false
        }
    }

    /// Single-byte charsets, where valid UTF-8 multi-byte sequences betray a mislabel.
    static func isSingleByte(_ name: String) -> Bool {
        name.hasPrefix("iso-8859-") || name.hasPrefix("windows-12") || name.hasPrefix("koi8") || name == "macintosh"
            || name.hasPrefix("x-mac") || name == "windows-874"
    }

    private static let knownLabels = Locked<[String: Bool]>([:])

    /// True when the label names a charset we can convert (cached ICU lookups).
    static func isKnown(_ name: String) -> Bool {
        if aliasTargets.contains(name) { return true }
        if let known = knownLabels.withLock({ $0[name] }) { return known }
        let known = msicu_charset_known(name) == 1
        knownLabels.withLock { cache in
            if cache.count < 4096 { cache[name] = known }
        }
        return known
    }

    static let aliasTargets = Set(aliases.values)

    static func isUndeclaredLabel(_ s: String) -> Bool {
        switch s.lowercased() {
        case "unknown", "unknown-8bit", "x-unknown", "x-user-defined", "default", "charset", "8bit", "7bit",
             "none", "null", "us", "_autodetect", "_autodetect_all", "auto", "x-auto":
            return true
        default:
            return false
        }
    }

    static func isASCIILabel(_ raw: String) -> Bool {
        switch raw.lowercased().trimmingQuotes {
        case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us_ascii": return true
        default: return false
        }
    }

    /// Charsets in which 7-bit bytes do not mean ASCII.
    static func isASCIIIncompatible(_ name: String) -> Bool {
        name.hasPrefix("utf-16") || name.hasPrefix("utf-32") || name == "utf-7" || name.hasPrefix("ucs-")
            || name.hasPrefix("iso-2022") || name == "hz-gb-2312" || name == "hz"
    }

    static let aliases: [String: String] = {
        var m: [String: String] = [:]
        for l in ["utf8", "utf-8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8", "utf_8", "utf-8-sig"] { m[l] = "utf-8" }
        for l in ["latin1", "latin-1", "l1", "iso-8859-1", "iso8859-1", "iso_8859-1", "iso_8859-1:1987", "cp819", "ibm819",
                  "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us_ascii", "csascii", "windows-1252", "cp1252",
                  "x-cp1252", "iso-ir-100", "csisolatin1", "ansi", "iso-8859-1-windows-3.1-latin-1", "western"] { m[l] = "windows-1252" }
        for l in ["gb2312", "gbk", "x-gbk", "euc-cn", "cp936", "chinese", "csgb2312", "gb_2312-80", "gb_2312", "gb18030",
                  "iso-ir-58", "x-euc-cn", "windows-936", "ms936"] { m[l] = "gb18030" }
        for l in ["ks_c_5601-1987", "ks_c_5601-1989", "ks_c_5601", "euc-kr", "korean", "ksc5601", "ksc_5601", "cp949",
                  "x-windows-949", "windows-949", "csksc56011987", "iso-ir-149", "x-euc-kr"] { m[l] = "windows-949" }
        for l in ["shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "cp932", "ms932",
                  "x-ms-cp932", "shiftjis"] { m[l] = "windows-31j" }
        for l in ["euc-jp", "x-euc-jp", "eucjp", "cseucpkdfmtjapanese"] { m[l] = "euc-jp" }
        for l in ["iso-2022-jp", "csiso2022jp", "iso2022jp", "jis", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3"] { m[l] = "iso-2022-jp" }
        for l in ["big5", "big-5", "cn-big5", "csbig5", "x-x-big5", "big5-hkscs", "windows-950", "cp950", "chinesebig5", "x-chinese-big5"] { m[l] = "windows-950" }
        for l in ["tis-620", "iso-8859-11", "windows-874", "cp874", "dos-874", "x-windows-874", "tis620"] { m[l] = "windows-874" }
        for l in ["iso-8859-9", "latin5", "l5", "iso8859-9", "windows-1254", "cp1254"] { m[l] = "windows-1254" }
        for l in ["iso-8859-8-i", "iso-8859-8-e", "csiso88598i", "logical", "visual", "iso-8859-8"] { m[l] = "iso-8859-8" }
        for l in ["iso-8859-6-i", "iso-8859-6-e", "iso-8859-6"] { m[l] = "iso-8859-6" }
        for l in ["x-mac-cyrillic", "x-mac-ukrainian", "mac-cyrillic", "maccyrillic"] { m[l] = "x-mac-cyrillic" }
        for l in ["x-mac-roman", "macintosh", "mac", "macroman", "csmacintosh", "x-mac"] { m[l] = "macintosh" }
        for l in ["utf-7", "unicode-1-1-utf-7", "x-unicode20utf7", "csunicode11utf7", "x-unicode-2-0-utf-7"] { m[l] = "utf-7" }
        for l in ["utf-16", "ucs-2", "unicode", "iso-10646-ucs-2", "csunicode"] { m[l] = "utf-16" }
        m["utf-16le"] = "utf-16le"; m["utf-16be"] = "utf-16be"
        for l in ["koi8-r", "koi8r", "koi", "koi8", "cskoi8r", "koi8_r"] { m[l] = "koi8-r" }
        for l in ["koi8-u", "koi8-ru"] { m[l] = "koi8-u" }
        for l in ["iso-8859-15", "latin9", "latin-9", "l9", "csisolatin9", "iso_8859-15"] { m[l] = "iso-8859-15" }
        for l in ["iso-8859-2", "latin2", "latin-2", "l2", "csisolatin2"] { m[l] = "iso-8859-2" }
        for l in ["hz-gb-2312", "hz"] { m[l] = "hz-gb-2312" }
        return m
    }()

    // MARK: - Decoders

    static func allASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return true }
            var i = 0
            let n = buf.count
            // Eight bytes at a time: any high bit set means non-ASCII.
            while i + 8 <= n {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { return false }
                i += 8
            }
            while i < n {
                if buf[i] >= 0x80 { return false }
                i += 1
            }
            return true
        }
    }

    /// The text when `bytes` is well-formed UTF-8, else nil.
    static func validUTF8(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    static let windows1252High: [UInt16] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    /// windows-1252 in Swift: the most common legacy charset in mail, worth skipping ICU for.
    static func decodeWindows1252(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bytes.count / 4)
        for b in bytes {
            if b < 0x80 {
                out.append(b)
                continue
            }
            let scalar: UInt32 = (b >= 0x80 && b < 0xA0) ? UInt32(windows1252High[Int(b) - 0x80]) : UInt32(b)
            appendUTF8(scalar, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Converts with ICU; nil when ICU has no converter for `charset`.
    static func icuConvert(_ bytes: [UInt8], charset: String) -> (String, Int)? {
        if bytes.isEmpty { return msicu_charset_known(charset) == 1 ? ("", 0) : nil }
        guard bytes.count < Int(Int32.max) / 4 else { return nil }
        var capacity = bytes.count * 3 + 16
        for _ in 0..<3 {
            var out = [UInt8](repeating: 0, count: capacity)
            var produced: Int32 = 0
            var subs: Int32 = 0
            let rc = bytes.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    msicu_convert_to_utf8(charset, src.baseAddress, Int32(src.count), dst.baseAddress, Int32(dst.count), &produced, &subs)
                }
            }
            switch Int(rc) {
            case Int(MSICU_OK):
                out.removeSubrange(Int(max(0, produced))...)
                return (String(decoding: out, as: UTF8.self), Int(subs))
            case Int(MSICU_BUFFER_TOO_SMALL):
                capacity = max(capacity * 2, Int(produced) + 16)
            default:
                return nil
            }
        }
        return nil
    }

    /// `text` whose non-ASCII characters are all U+0080–U+00FF, re-read as the Latin-1 bytes it
    /// came from, converted with `charset`; nil unless that converts without a single error.
    static func undoLatin1DoubleEncoding(_ text: String, charset: String) -> String? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count)
        var sawHigh = false
        for scalar in text.unicodeScalars {
            guard scalar.value < 0x100 else { return nil }
            if scalar.value >= 0x80 { sawHigh = true }
            bytes.append(UInt8(scalar.value))
        }
        guard sawHigh, let (s, subs) = icuConvert(bytes, charset: charset), subs == 0 else { return nil }
        return s
    }

    /// Lossy UTF-8 when well-formed multi-byte sequences outnumber the malformed ones.
    static func mostlyUTF8(_ bytes: [UInt8]) -> (String, Int)? {
        let s = String(decoding: bytes, as: UTF8.self)
        var bad = 0, good = 0
        for scalar in s.unicodeScalars where scalar.value >= 0x80 {
            if scalar == "\u{FFFD}" { bad += 1 } else { good += 1 }
        }
        return good >= bad ? (s, bad) : nil
    }

    /// ICU's guess for undeclared or mislabelled bytes, then the caller's fallback, then lossy UTF-8.
    static func guess(_ bytes: [UInt8], hint: String?, fallback: String?, unknownLabel: Bool) -> (String, Outcome) {
        if let detected = detect(bytes, hint: hint), detected.confidence >= 25,
           let name = normalizeLabel(detected.name), name != "utf-8",
           let (s, subs) = name == "windows-1252" ? (decodeWindows1252(bytes), 0) : icuConvert(bytes, charset: name) {
            return (s, Outcome(used: name, guessed: true, unknownLabel: unknownLabel, substitutions: subs))
        }
        if let fallback, let fb = normalizeLabel(fallback), fb != "utf-8", let (s, subs) = fb == "windows-1252" ? (decodeWindows1252(bytes), 0) : icuConvert(bytes, charset: fb) {
            return (s, Outcome(used: fb, guessed: true, unknownLabel: unknownLabel, substitutions: subs))
        }
        // Mostly-valid UTF-8 with a few bad bytes: keep the UTF-8 reading, replace the bad bytes.
        let s = String(decoding: bytes, as: UTF8.self)
        var subs = 0
        for scalar in s.unicodeScalars where scalar == "\u{FFFD}" { subs += 1 }
        if subs * 50 < bytes.count {
            return (s, Outcome(used: "utf-8", guessed: true, unknownLabel: unknownLabel, substitutions: subs))
        }
        return (decodeWindows1252(bytes), Outcome(used: "windows-1252", guessed: true, unknownLabel: unknownLabel, substitutions: 0))
    }

    /// ICU charset detection: name and confidence (0-100).
    public static func detect(_ bytes: [UInt8], hint: String? = nil) -> (name: String, confidence: Int)? {
        guard !bytes.isEmpty else { return nil }
        var name = [CChar](repeating: 0, count: 64)
        var confidence: Int32 = 0
        let rc = bytes.withUnsafeBufferPointer { src in
            name.withUnsafeMutableBufferPointer { out in
                msicu_detect_charset(src.baseAddress, Int32(min(src.count, 1 << 20)), hint, out.baseAddress, Int32(out.count), &confidence)
            }
        }
        guard rc == MSICU_OK else { return nil }
        let label = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (label, Int(confidence))
    }
}

extension String {
    var trimmingQuotes: String {
        var s = Substring(self)
        while let f = s.first, f == "\"" || f == "'" || f == " " { s.removeFirst() }
        while let l = s.last, l == "\"" || l == "'" || l == " " { s.removeLast() }
        return String(s)
    }
}
