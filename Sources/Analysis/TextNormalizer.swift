import MailsiftCore
import Synchronization
import CICUShim

/// Normalization of terms: the same for indexing and for queries.
public enum TextNormalizer {
    /// NFKC_Casefold: compatibility forms unified (full-width → ASCII, ligatures split), case
    /// folded (ß → ss, Σ/σ/ς → σ), default ignorables removed. ASCII is lowercased directly.
    public static func caseFold(_ text: Substring) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var copy = text
            return copy.withUTF8(asciiLowercased)
        }
        // Han, kana and Hangul words (most CJK tokens) have no case and no compatibility forms.
        if text.unicodeScalars.allSatisfy(isFoldStable) { return String(text) }
        return icu(Array(text.utf16), msicu_nfkc_casefold) ?? String(text).lowercased()
    }

    public static func caseFold(_ text: String) -> String { caseFold(Substring(text)) }

    /// The case fold of one character, cached (the engine asks about the same few non-ASCII
    /// characters over and over: what they fold to decides how text must be checked).
    public static func caseFold(_ scalar: Unicode.Scalar) -> String {
        if let known = scalarFolds.withLock({ $0[scalar.value] }) { return known }
        let folded = caseFold(String(scalar))
        scalarFolds.withLock { $0[scalar.value] = folded }
        return folded
    }

    static let scalarFolds = Locked<[UInt32: String]>([:])

    /// Diacritics removed (é → e, ø → o, ß → ss, æ → ae), for accent-insensitive matching.
    /// A separate step from `caseFold` so that exact and folded matching can both be offered.
    public static func foldDiacritics(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        if !text.unicodeScalars.contains(where: hasFoldableMarks) { return text }
        return icu(Array(text.utf16), msicu_fold_diacritics) ?? text
    }

    /// ASCII bytes lowercased into a String (no ICU, no intermediate array).
    @inline(__always)
    static func asciiLowercased(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { out in
            var i = 0
            for b in bytes {
                out[i] = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
                i += 1
            }
            return i
        }
    }

    /// Scalars that NFKC_Casefold leaves unchanged and that carry no foldable diacritics:
    /// CJK unified ideographs, hiragana, katakana (full width), Hangul syllables, ASCII
    /// lowercase and digits.
    @inline(__always)
    static func isFoldStable(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x30...0x39, 0x61...0x7A: return true
        case 0x3005, 0x3041...0x3096, 0x30A1...0x30FA, 0x30FC, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7A3: return true
        default: return false
        }
    }

    /// Scripts whose combining marks are diacritics to fold (see msicu_fold_diacritics).
    @inline(__always)
    static func hasFoldableMarks(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (v >= 0x80 && v < 0x0700) || (v >= 0x1D00 && v < 0x2000) || (v >= 0x2C60 && v < 0x2C80)
            || (v >= 0xA640 && v < 0xA800) || (v >= 0xFB1D && v < 0xFB50)
    }

    private static func icu(_ input: [UInt16], _ fn: (UnsafePointer<UInt16>?, Int32, UnsafeMutablePointer<UInt16>?, Int32) -> Int32) -> String? {
        guard input.count < Int(Int32.max) / 8 else { return nil }
        var capacity = input.count * 2 + 16
        for _ in 0..<3 {
            var out = [UInt16](repeating: 0, count: capacity)
            let n = input.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in fn(src.baseAddress, Int32(src.count), dst.baseAddress, Int32(dst.count)) }
            }
            if n == Int32.min { return nil }
            if n < 0 {
                capacity = Int(-n) + 16
                continue
            }
            return String(decoding: out.prefix(Int(n)), as: UTF16.self)
        }
        return nil
    }
}
