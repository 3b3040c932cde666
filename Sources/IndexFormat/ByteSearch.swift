import CByteSearch

/// Finding bytes in bytes, with the processor's vector instructions (the C target
/// `CByteSearch`: AVX2 or SSE2, plain C elsewhere). One routine for the engine's substring
/// scans (term texts, stored-text checks, snippet regions).
public enum ByteSearch {
    /// The first offset ≥ `from` where `needle` occurs in `hay`, or nil. An empty needle
    /// occurs at `from`.
    @inline(__always)
    public static func firstIndex(of needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Int? {
        find(ms_find, needle, hay, from)
    }

    /// Like `firstIndex(of:in:from:)`, with ASCII A-Z in `hay` read as a-z; `needle` must be
    /// lowercase where it holds ASCII letters (its other bytes match exactly).
    @inline(__always)
    public static func firstIndexIgnoringASCIICase(of needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Int? {
        find(ms_find_ascii_ci, needle, hay, from)
    }

    @inline(__always)
    static func find(_ search: (UnsafePointer<UInt8>, Int, UnsafePointer<UInt8>, Int) -> Int,
                     _ needle: UnsafeBufferPointer<UInt8>, _ hay: UnsafeBufferPointer<UInt8>, _ from: Int) -> Int? {
        let m = needle.count, n = hay.count
        let start = max(0, from)
        guard m > 0 else { return start <= n ? start : nil }
        guard let hb = hay.baseAddress, let nb = needle.baseAddress, start + m <= n else { return nil }
        let at = search(hb + start, n - start, nb, m)
        return at < 0 ? nil : start + at
    }

    /// Whether any byte is 0x80 or above.
    @inline(__always)
    public static func containsNonASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let b = bytes.baseAddress else { return false }
        return ms_has_non_ascii(b, bytes.count) != 0
    }

    /// The implementation in use: 2 AVX2, 1 SSE2, 0 plain C.
    public static var level: Int { Int(ms_bytesearch_level()) }

    /// Forces an implementation (tests compare them); returns the level now in use.
    @discardableResult
    public static func forceLevel(_ level: Int) -> Int { Int(ms_bytesearch_force_level(Int32(clamping: level))) }
}
