#if canImport(Glibc)
import Glibc
#endif

/// RFC 2047 encoded words (`=?charset?B?...?=`, `=?charset*lang?Q?...?=`) and raw 8-bit headers.
///
/// Lenient in the ways real mail needs: encoded words glued to other text, words split in the
/// middle of a multi-byte character (adjacent words of one charset are joined as bytes before
/// conversion), spaces inside Q text, bad padding, unknown charsets (guessed).
enum EncodedWords {
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let rawEightBit = Flags(rawValue: 1)
        static let invalidEncodedWord = Flags(rawValue: 2)
        static let unknownCharset = Flags(rawValue: 4)
        static let charsetGuessed = Flags(rawValue: 8)
    }

    /// Decodes a header value: raw 8-bit bytes first (UTF-8 per RFC 6532, else `fallbackCharset`
    /// or a guess), then encoded words.
    static func decodeHeader(_ raw: [UInt8], fallbackCharset: String?, flags: inout Flags) -> String {
        // "=?" found through memchr for "=" (header values hold few: DKIM signatures' tags).
        let hasMarker = raw.withUnsafeBufferPointer { b -> Bool in
            guard let base = b.baseAddress else { return false }
            var i = 0
            while i + 1 < b.count {
                guard let hit = memchr(base + i, 0x3D, b.count - 1 - i) else { return false }
                let at = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
                if b[at + 1] == 0x3F { return true }
                i = at + 1
            }
            return false
        }
        let text: String
        if Charset.allASCII(raw) {
            text = String(decoding: raw, as: UTF8.self)
        } else if let s = Charset.validUTF8(raw) {
            // RFC 6532 UTF-8, unless it is the message's CJK charset double-encoded through Latin-1.
            if let fb = fallbackCharset.flatMap(Charset.normalizeLabel), !Charset.isSingleByte(fb), fb != "utf-8",
               let repaired = Charset.undoLatin1DoubleEncoding(s, charset: fb) {
                flags.insert(.charsetGuessed)
                text = repaired
            } else {
                text = s
            }
        } else {
            flags.insert(.rawEightBit)
            let (s, _) = Charset.decode(raw, label: nil, fallback: fallbackCharset)
            text = s
        }
        return hasMarker ? decodeWords(text, flags: &flags) : text
    }

    private enum Piece {
        case literal(Substring.UTF8View)
        case encoded(charset: String, bytes: [UInt8])
    }

    /// Replaces encoded words in `text` by their decoded text. Text without `=?` is returned as is.
    static func decodeWords(_ text: String, flags: inout Flags) -> String {
        let utf8 = text.utf8
        guard let firstMarker = findMarker(utf8, from: utf8.startIndex) else { return text }
        var pieces: [Piece] = []
        var literalStart = utf8.startIndex
        var cursor = firstMarker
        while let start = findMarker(utf8, from: cursor) {
            guard let (charset, bytes, after) = parseWord(utf8, at: start) else {
                cursor = utf8.index(after: start)
                continue
            }
            if literalStart < start { pieces.append(.literal(text[literalStart..<start].utf8)) }
            pieces.append(.encoded(charset: charset, bytes: bytes))
            literalStart = after
            cursor = after
        }
        if literalStart < utf8.endIndex { pieces.append(.literal(text[literalStart...].utf8)) }

        var out = ""
        out.reserveCapacity(text.utf8.count)
        var pendingCharset: String?
        var pendingBytes: [UInt8] = []
        func flushPending() {
            guard let cs = pendingCharset else { return }
            let (s, outcome) = Charset.decode(pendingBytes, label: cs)
            if outcome.unknownLabel { flags.insert(.unknownCharset) }
            if outcome.guessed && !Charset.allASCII(pendingBytes) { flags.insert(.charsetGuessed) }
            out += s
            pendingCharset = nil
            pendingBytes.removeAll(keepingCapacity: true)
        }
        for (i, piece) in pieces.enumerated() {
            switch piece {
            case .encoded(let cs, let bytes):
                // Stateful ISO-2022 words are each complete (escape in, escape out); joining them
                // would put two escapes back to back, which ICU rightly rejects.
                if pendingCharset != cs || cs.hasPrefix("iso-2022") { flushPending(); pendingCharset = cs }
                pendingBytes += bytes
            case .literal(let lit):
                // Linear whitespace between two encoded words is not displayed (RFC 2047 §6.2).
                let onlyBlanks = lit.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
                let prevEncoded = i > 0 && { if case .encoded = pieces[i - 1] { return true }; return false }()
                let nextEncoded = i + 1 < pieces.count && { if case .encoded = pieces[i + 1] { return true }; return false }()
                if onlyBlanks && prevEncoded && nextEncoded { continue }
                flushPending()
                out += String(Substring(lit))
            }
        }
        flushPending()
        return out
    }

    private static func findMarker(_ u: String.UTF8View, from: String.UTF8View.Index) -> String.UTF8View.Index? {
        var i = from
        while i < u.endIndex {
            if u[i] == 0x3D {
                let n = u.index(after: i)
                if n < u.endIndex, u[n] == 0x3F { return i }
            }
            i = u.index(after: i)
        }
        return nil
    }

    /// Parses one encoded word starting at `=?`; returns charset, decoded bytes and the index after `?=`.
    private static func parseWord(_ u: String.UTF8View, at start: String.UTF8View.Index) -> (String, [UInt8], String.UTF8View.Index)? {
        var i = u.index(start, offsetBy: 2)
        let csStart = i
        var csLen = 0
        while i < u.endIndex, u[i] != 0x3F {
            let b = u[i]
            if b <= 0x20 || b >= 0x7F || csLen > 64 { return nil }
            csLen += 1
            i = u.index(after: i)
        }
        guard i < u.endIndex, csLen > 0 else { return nil }
        var charset = String(Substring(u[csStart..<i])).lowercased()
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 language
        i = u.index(after: i)
        guard i < u.endIndex else { return nil }
        let enc = u[i] | 0x20
        guard enc == 0x62 || enc == 0x71 else { return nil }  // b or q
        i = u.index(after: i)
        guard i < u.endIndex, u[i] == 0x3F else { return nil }
        i = u.index(after: i)
        let textStart = i
        var length = 0
        // The encoded text ends at "?="; a Q text may (wrongly) contain spaces, a B text never does.
        while i < u.endIndex {
            if u[i] == 0x3F {
                let n = u.index(after: i)
                if n < u.endIndex, u[n] == 0x3D { break }
                if n == u.endIndex { break }  // missing final "=": salvage
            }
            if enc == 0x62, u[i] == 0x20 || u[i] == 0x09 { return nil }
            length += 1
            if length > 8192 { return nil }
            i = u.index(after: i)
        }
        let encodedText = Array(u[textStart..<i])
        let after: String.UTF8View.Index
        if i < u.endIndex {
            let n = u.index(after: i)
            after = n < u.endIndex ? u.index(after: n) : n
        } else {
            return nil
        }
        let bytes: [UInt8]
        if enc == 0x62 {
            bytes = TransferDecoding.base64(encodedText[...]).bytes
        } else {
            bytes = qDecode(encodedText)
        }
        return (charset, bytes, after)
    }

    /// The "Q" encoding: quoted-printable with `_` for space.
    static func qDecode(_ text: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let b = text[i]
            if b == 0x5F {
                out.append(0x20)
            } else if b == 0x3D, i + 2 < text.count, let h = hexValue(text[i + 1]), let l = hexValue(text[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }
}

@inline(__always)
func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
}
