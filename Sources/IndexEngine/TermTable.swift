/// An open-addressing hash table from (field, term bytes) to a slot number, with the term
/// bytes kept in one arena. Replaces `[String: Int32]` per field on the indexing hot path:
/// one cheap hash (FNV-1a variant over 8-byte words) instead of SipHash, no per-entry objects.
struct TermTable {
    private var hashes: [UInt64]      // 0 = empty
    private var slots: [Int32]
    private var offsets: [UInt32]     // where each slot's key starts in `arena`
    private var lengths: [UInt16]
    private var fields: [UInt8]
    private(set) var arena: [UInt8] = []
    private(set) var count = 0
    private var mask: Int
    /// Per slot: (field, key offset, key length), in insertion order.
    private(set) var keys: [(field: UInt8, offset: UInt32, length: UInt16)] = []

    init(capacity: Int = 1 << 14) {
        var n = 1
        while n < capacity * 2 { n <<= 1 }
        hashes = [UInt64](repeating: 0, count: n)
        slots = [Int32](repeating: -1, count: n)
        offsets = [UInt32](repeating: 0, count: n)
        lengths = [UInt16](repeating: 0, count: n)
        fields = [UInt8](repeating: 0, count: n)
        mask = n - 1
    }

    var arenaBytes: Int { arena.count }

    /// Per-process seed: terms come from mail strangers write, so collisions must not be
    /// predictable (linear probing would otherwise degrade under crafted input).
    static let seed = UInt64.random(in: 1...UInt64.max)

    @inline(__always)
    static func hash(_ field: UInt8, _ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
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

    /// The slot of (field, key), inserting it with `newSlot` when absent. Returns (slot, inserted).
    @inline(__always)
    mutating func findOrInsert(field: UInt8, key: UnsafeBufferPointer<UInt8>, newSlot: Int32) -> (Int32, Bool) {
        let h = Self.hash(field, key)
        var b = Int(truncatingIfNeeded: h) & mask
        while true {
            let stored = hashes[b]
            if stored == 0 { break }
            if stored == h, Int(lengths[b]) == key.count, fields[b] == field {
                let off = Int(offsets[b])
                let equal = arena.withUnsafeBufferPointer { a in
                    key.count == 0 || memcmpEqual(a.baseAddress.map { $0 + off }, key.baseAddress, key.count)
                }
                if equal { return (slots[b], false) }
            }
            b = (b + 1) & mask
        }
        hashes[b] = h
        slots[b] = newSlot
        offsets[b] = UInt32(arena.count)
        lengths[b] = UInt16(key.count)
        fields[b] = field
        keys.append((field, UInt32(arena.count), UInt16(key.count)))
        arena.append(contentsOf: key)
        count += 1
        if count * 2 > hashes.count { grow() }
        return (newSlot, true)
    }

    private mutating func grow() {
        let old = (hashes, slots, offsets, lengths, fields)
        let n = hashes.count * 2
        hashes = [UInt64](repeating: 0, count: n)
        slots = [Int32](repeating: -1, count: n)
        offsets = [UInt32](repeating: 0, count: n)
        lengths = [UInt16](repeating: 0, count: n)
        fields = [UInt8](repeating: 0, count: n)
        mask = n - 1
        for i in old.0.indices where old.0[i] != 0 {
            var b = Int(truncatingIfNeeded: old.0[i]) & mask
            while hashes[b] != 0 { b = (b + 1) & mask }
            hashes[b] = old.0[i]
            slots[b] = old.1[i]
            offsets[b] = old.2[i]
            lengths[b] = old.3[i]
            fields[b] = old.4[i]
        }
    }

    /// The key bytes of a slot.
    func key(_ slot: Int) -> ArraySlice<UInt8> {
        let k = keys[slot]
        return arena[Int(k.offset)..<(Int(k.offset) + Int(k.length))]
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>?, _ n: Int) -> Bool {
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
