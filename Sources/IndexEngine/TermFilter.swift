import IndexFormat
import MailsiftCore

/// A Bloom filter of a segment's term keys: 10 bits and 7 probes a key (about 1% false
/// positives), so a query's lookup of a term the segment lacks (a word's diacritic-variant
/// key, a field it never occurs in) costs a few hashes instead of a dictionary block scan.
/// A live index has several small segments beside its large ones (each commit's, the
/// queue's pending parts), and every query word is looked up in about 18 keys of each.
/// Built from the dictionary on first use; in memory only.
public struct TermFilter: Sendable {
    let bits: [UInt64]
    let mask: UInt64

    /// Segments with more terms get none (a large segment's lookups mostly find their term,
    /// and enumerating millions of keys would delay its first query).
    static let maximumTerms = 262_144

    init?(_ dictionary: TermDictionary) {
        guard dictionary.termCount <= Self.maximumTerms else { return nil }
        var size = 64
        while size < dictionary.termCount * 10 { size <<= 1 }
        var bits = [UInt64](repeating: 0, count: size / 64)
        let mask = UInt64(size - 1)
        let cursor = TermCursor(dictionary)
        do {
            while try cursor.next() {
                let (h1, h2) = Self.hashes(cursor.key)
                for i in 0..<7 {
                    let p = (h1 &+ UInt64(i) &* h2) & mask
                    bits[Int(p >> 6)] |= 1 << (p & 63)
                }
            }
        } catch {
            return nil  // (a damaged dictionary: lookups will say so)
        }
        self.bits = bits
        self.mask = mask
    }

    public func mayContain(_ key: TermKeyHashes) -> Bool {
        for i in 0..<7 {
            let p = (key.h1 &+ UInt64(i) &* key.h2) & mask
            if bits[Int(p >> 6)] & (1 << (p & 63)) == 0 { return false }
        }
        return true
    }

    /// FNV-1a over the key, then two mixes of it (the second odd, so the probes of one key
    /// are distinct).
    @inline(__always) static func hashes(_ key: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        var z = h &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        let h1 = z ^ (z >> 31)
        return (h1, (h ^ (h >> 29)) | 1)
    }
}

/// A term key's hashes for the term filters, computed once for every segment a query asks.
public struct TermKeyHashes: Sendable {
    public let h1: UInt64
    public let h2: UInt64

    public init(_ key: [UInt8]) {
        (h1, h2) = key.withUnsafeBytes { TermFilter.hashes($0) }
    }
}
