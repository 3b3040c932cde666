import CICUShim

/// Normalization of terms: the same for indexing and for queries.
public enum TextNormalizer {
    /// NFKC_Casefold: compatibility forms unified (full-width → ASCII, ligatures split), case
    /// folded (ß → ss, Σ/σ/ς → σ), default ignorables removed. ASCII is lowercased directly.
    public static func caseFold(_ text: Substring) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        return icu(Array(text.utf16), msicu_nfkc_casefold) ?? String(text).lowercased()
    }

    public static func caseFold(_ text: String) -> String { caseFold(Substring(text)) }

    /// Diacritics removed (é → e, ø → o, ß → ss, æ → ae), for accent-insensitive matching.
    /// A separate step from `caseFold` so that exact and folded matching can both be offered.
    public static func foldDiacritics(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        return icu(Array(text.utf16), msicu_fold_diacritics) ?? text
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
