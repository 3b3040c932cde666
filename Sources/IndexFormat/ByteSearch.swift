#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finding bytes in bytes: memchr for the first byte, memcmp for the rest. One routine for the
/// engine's substring scans (term texts, stored-text checks, snippet regions).
public enum ByteSearch {
    /// The first offset ≥ `from` where `needle` occurs in `hay`, or nil. An empty needle
    /// occurs at `from`.
    @inline(__always)
    public static func firstIndex(of needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Int? {
        let m = needle.count, n = hay.count
        guard m > 0 else { return from <= n ? from : nil }
        guard let hb = hay.baseAddress, let nb = needle.baseAddress else { return nil }
        var i = max(0, from)
        let first = Int32(nb[0])
        while i + m <= n {
            guard let p = memchr(hb + i, first, n - i - m + 1) else { return nil }
            let at = UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - hb
            if memcmp(hb + at, nb, m) == 0 { return at }
            i = at + 1
        }
        return nil
    }
}
