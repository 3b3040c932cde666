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

    /// Owns the buckets and the arena (freed with the last copy of the table). The table reads
    /// them through the raw pointers below, never through this object: no reference counting
    /// or exclusivity checks on the hot path. Copies of a table share its memory, so only
    /// one copy may be used after a copy is made (the builder moves its table, never forks it).
    private final class Memory {
        var buckets: UnsafeMutablePointer<Bucket>
        var arena: UnsafeMutablePointer<UInt8>
        init(buckets: UnsafeMutablePointer<Bucket>, arena: UnsafeMutablePointer<UInt8>) {
            self.buckets = buckets
            self.arena = arena
        }
        deinit {
            buckets.deallocate()
            arena.deallocate()
        }
    }

    private var memory: Memory
    private var buckets: UnsafeMutablePointer<Bucket>
    private var bucketCount: Int
    private var mask: Int
    private var arenaPointer: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0
    private var arenaCapacity: Int
    /// Arena offset of each slot's key, in slot order.
    private(set) var offsets: [UInt32] = []
    /// The process seed, copied in: reading a global `static let` costs a `swift_once`
    /// check on every token.
    private let seed = TermTable.seed

    init(capacity: Int = 1 << 14) {
        var n = 1
        while n < capacity * 2 { n <<= 1 }
        buckets = Self.emptyBuckets(n)
        bucketCount = n
        mask = n - 1
        arenaCapacity = max(64, capacity * 8)
        arenaPointer = .allocate(capacity: arenaCapacity)
        memory = Memory(buckets: buckets, arena: arenaPointer)
    }

    private static func emptyBuckets(_ n: Int) -> UnsafeMutablePointer<Bucket> {
        let p = UnsafeMutablePointer<Bucket>.allocate(capacity: n)
        p.initialize(repeating: Bucket(hash: 0, slot: -1, offset: 0), count: n)
        return p
    }

    var count: Int { offsets.count }
    /// Bytes held (buckets, arena, offsets), for the RAM budget.
    var bytesHeld: Int { bucketCount * 16 + arenaCapacity + offsets.capacity * 4 }

    /// The keys, as [field][length u16 LE][bytes] at each slot's offset (valid until the next insert).
    var arena: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: arenaPointer, count: arenaCount) }

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
            // The last n % 8 bytes, little-endian, read without a byte loop: overlapping loads
            // within the key (the same value the bytes one by one give).
            let rest = n - i
            var tail: UInt64 = 0
            if rest > 0 {
                if n >= 8 {
                    tail = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) &>> UInt64((8 - rest) * 8)
                } else if n >= 4 {
                    tail = UInt64(raw.loadUnaligned(as: UInt32.self))
                        | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) &<< UInt64((n - 4) * 8)
                } else {
                    tail = UInt64(base[0]) | UInt64(base[n / 2]) &<< UInt64(n / 2 * 8) | UInt64(base[n - 1]) &<< UInt64((n - 1) * 8)
                }
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
        ms_prefetch(UnsafeRawPointer(buckets + (Int(truncatingIfNeeded: h) & mask)))
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
        while true {
            let e = buckets[b]
            if e.hash == 0 { break }
            if e.hash == h {
                let at = arenaPointer + Int(e.offset)
                if at[0] == field, Int(at[1]) | Int(at[2]) << 8 == key.count,
                   key.count == 0 || memcmpEqual(at + 3, key.baseAddress, key.count) {
                    return (e.slot, false)
                }
            }
            b = (b + 1) & mask
        }
        // Copies share the memory: only one may insert (debug builds check).
        assert(isKnownUniquelyReferenced(&memory), "a copied TermTable is being written")
        let slot = Int32(offsets.count)
        let needed = arenaCount + 3 + key.count
        if needed > arenaCapacity { growArena(needed) }
        buckets[b] = Bucket(hash: h, slot: slot, offset: UInt32(arenaCount))
        offsets.append(UInt32(arenaCount))
        let at = arenaPointer + arenaCount
        at[0] = field
        at[1] = UInt8(truncatingIfNeeded: key.count)
        at[2] = UInt8(truncatingIfNeeded: key.count >> 8)
        if let k = key.baseAddress, key.count > 0 { (at + 3).update(from: k, count: key.count) }
        arenaCount = needed
        if offsets.count * 2 > bucketCount { grow() }
        return (slot, true)
    }

    private mutating func growArena(_ needed: Int) {
        var capacity = arenaCapacity * 2
        while capacity < needed { capacity *= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        p.update(from: arenaPointer, count: arenaCount)
        arenaPointer.deallocate()
        arenaPointer = p
        arenaCapacity = capacity
        memory.arena = p
    }

    private mutating func grow() {
        let old = buckets, oldCount = bucketCount
        let n = bucketCount * 2
        buckets = Self.emptyBuckets(n)
        bucketCount = n
        mask = n - 1
        for i in 0..<oldCount where old[i].hash != 0 {
            let e = old[i]
            var b = Int(truncatingIfNeeded: e.hash) & mask
            while buckets[b].hash != 0 { b = (b + 1) & mask }
            buckets[b] = e
        }
        old.deallocate()
        memory.buckets = buckets
    }

    /// Asks the CPU for a slot's key in the arena (see CPrefetch).
    @inline(__always)
    func prefetchKey(_ slot: Int) {
        ms_prefetch(UnsafeRawPointer(arenaPointer + Int(offsets[slot])))
    }

    /// The field of a slot and the arena range of its term bytes.
    func key(_ slot: Int) -> (field: UInt8, bytes: Range<Int>) {
        let o = Int(offsets[slot])
        let length = Int(arenaPointer[o + 1]) | Int(arenaPointer[o + 2]) << 8
        return (arenaPointer[o], (o + 3)..<(o + 3 + length))
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
