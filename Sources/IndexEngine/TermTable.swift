/// An open-addressing hash table from (field, term bytes) to a slot number (0, 1, 2, ... in
/// insertion order), with the keys kept in one arena as [field][length u16 LE][bytes].
///
/// Laid out for the indexing hot path, where most lookups miss the CPU caches: a probe reads
/// one 16-byte bucket (full 64-bit hash, slot, arena offset) and, on a hash match, the key in
/// the arena: two cache misses, not one per column. One cheap seeded hash instead of SipHash,
/// no per-entry objects.
import CPrefetch

struct TermTable {
    struct Bucket {
        var hash: UInt64  // 0 = empty
        var slot: Int32
        var offset: UInt32
    }

    private var buckets: [Bucket]
    private(set) var arena: [UInt8] = []
    /// Arena offset of each slot's key, in slot order.
    private(set) var offsets: [UInt32] = []
    private var mask: Int
    /// The process seed, copied in: reading a global `static let` costs a `swift_once`
    /// check on every token.
    private let seed = TermTable.seed

    init(capacity: Int = 1 << 14) {
        var n = 1
        while n < capacity * 2 { n <<= 1 }
        buckets = [Bucket](repeating: Bucket(hash: 0, slot: -1, offset: 0), count: n)
        mask = n - 1
    }

    var count: Int { offsets.count }
    /// Bytes held (buckets, arena, offsets), for the RAM budget.
    var bytesHeld: Int { buckets.count * 16 + arena.capacity + offsets.capacity * 4 }

    /// Per-process seed: terms come from mail strangers write, so collisions must not be
    /// predictable (linear probing would otherwise degrade under crafted input).
    static let seed = UInt64.random(in: 1...UInt64.max)

    @inline(__always)
    func hash(_ field: UInt8, _ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        Self.hash(field, key, seed: seed)
    }

    @inline(__always)
    static func hash(_ field: UInt8, _ key: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        var h: UInt64 = (0xCBF2_9CE4_8422_2325 ^ seed) &+ UInt64(field)
        var i = 0
        let n = key.count
        if let base = key.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x1000_0000_01B3
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail ^ (UInt64(n) << 56)) &* 0x1000_0000_01B3
        }
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h | 1  // never 0 (0 marks an empty bucket)
    }

    /// Asks the CPU for the bucket a hash starts probing at (see CPrefetch).
    @inline(__always)
    func prefetch(_ h: UInt64) {
        buckets.withUnsafeBufferPointer { bk in
            ms_prefetch(bk.baseAddress.map { UnsafeRawPointer($0 + (Int(truncatingIfNeeded: h) & mask)) })
        }
    }

    /// The slot of (field, key), inserting it as slot `count` when absent. Keys are at most
    /// 65,535 bytes (the builder passes ≤ 255). Returns (slot, inserted).
    @inline(__always)
    mutating func findOrInsert(field: UInt8, key: UnsafeBufferPointer<UInt8>) -> (Int32, Bool) {
        findOrInsert(field: field, key: key, hash: hash(field, key))
    }

    /// The same with the key's hash already computed (`hash(field, key)`).
    @inline(__always)
    mutating func findOrInsert(field: UInt8, key: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> (Int32, Bool) {
        var b = Int(truncatingIfNeeded: h) & mask
        let found: Int32? = buckets.withUnsafeBufferPointer { bk in
            arena.withUnsafeBufferPointer { a in
                while true {
                    let e = bk[b]
                    if e.hash == 0 { return nil }
                    if e.hash == h, let base = a.baseAddress {
                        let at = base + Int(e.offset)
                        if at[0] == field, Int(at[1]) | Int(at[2]) << 8 == key.count,
                           key.count == 0 || memcmpEqual(at + 3, key.baseAddress, key.count) {
                            return e.slot
                        }
                    }
                    b = (b + 1) & mask
                }
            }
        }
        if let found { return (found, false) }
        let slot = Int32(offsets.count)
        buckets[b] = Bucket(hash: h, slot: slot, offset: UInt32(arena.count))
        offsets.append(UInt32(arena.count))
        arena.append(field)
        arena.append(UInt8(truncatingIfNeeded: key.count))
        arena.append(UInt8(truncatingIfNeeded: key.count >> 8))
        arena.append(contentsOf: key)
        if offsets.count * 2 > buckets.count { grow() }
        return (slot, true)
    }

    private mutating func grow() {
        let old = buckets
        let n = buckets.count * 2
        buckets = [Bucket](repeating: Bucket(hash: 0, slot: -1, offset: 0), count: n)
        mask = n - 1
        for e in old where e.hash != 0 {
            var b = Int(truncatingIfNeeded: e.hash) & mask
            while buckets[b].hash != 0 { b = (b + 1) & mask }
            buckets[b] = e
        }
    }

    /// The field of a slot and the arena range of its term bytes.
    func key(_ slot: Int) -> (field: UInt8, bytes: Range<Int>) {
        let o = Int(offsets[slot])
        let length = Int(arena[o + 1]) | Int(arena[o + 2]) << 8
        return (arena[o], (o + 3)..<(o + 3 + length))
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>?, _ n: Int) -> Bool {
    guard let a, let b else { return n == 0 }
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
