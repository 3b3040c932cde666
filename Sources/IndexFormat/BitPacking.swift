/// Fixed-width bit packing of blocks of exactly 128 `UInt32` values (docs/format-postings.md,
/// "Packed blocks").
///
/// Layout (the "vertical" 4-lane layout of Lemire & Boytsov's SIMD-BP128): value `i` belongs
/// to lane `i % 4` and is the `i / 4`-th value of that lane. Each lane is a little-endian bit
/// stream of 32 values × `width` bits = `width` 32-bit words, and the four lanes' words are
/// interleaved: word `j` of lane `l` is the little-endian `u32` at byte `16 * j + 4 * l`.
/// A block is therefore exactly `16 * width` bytes, and one 16-byte load yields the same word
/// of all four lanes, so unpacking is four values per shift/or/and with SSE2/NEON, and the
/// output of step `k` is values `4k ..< 4k + 4`, already in order.
///
/// Why not a plain sequential bit stream: it needs either a branch per value (value straddles
/// two words) or one unaligned 64-bit load per value; the lane layout needs no branch once the
/// width is a compile-time constant and handles four values per instruction.
public enum BitPacking {
    public static let blockSize = 128

    /// Bits needed to store `maxValue` (0 for 0, 32 for values ≥ 2^31).
    @inline(__always)
    public static func bitsNeeded(_ maxValue: UInt32) -> Int {
        32 - maxValue.leadingZeroBitCount
    }

    /// Bits needed to store every value of `values` (the OR of all values has the same top bit
    /// as the maximum, and needs no compare).
    public static func bitsNeeded(_ values: some Collection<UInt32>) -> Int {
        var m: UInt32 = 0
        for v in values { m |= v }
        return bitsNeeded(m)
    }

    /// Bytes of one packed block at `width`.
    @inline(__always)
    public static func byteCount(width: Int) -> Int { 16 * width }

    // MARK: - Packing (write side: clarity over speed)

    /// Appends the packed block of exactly 128 `values` at `width` (0...32). Bits above
    /// `width` are masked off, so callers choose the width with `bitsNeeded`.
    public static func pack(_ values: some Collection<UInt32>, width: Int, into w: inout ByteWriter) {
        precondition(values.count == blockSize, "a packed block holds exactly 128 values")
        precondition((0...32).contains(width), "bit width \(width) out of 0...32")
        guard width > 0 else { return }
        let mask: UInt32 = width == 32 ? .max : (1 << UInt32(width)) - 1
        var words = [UInt32](repeating: 0, count: 4 * width)
        for (i, raw) in values.enumerated() {
            let v = raw & mask
            let lane = i & 3
            let bit = (i >> 2) * width
            let j = bit >> 5
            let s = bit & 31
            words[4 * j + lane] |= v << UInt32(s)
            if s + width > 32 { words[4 * (j + 1) + lane] |= v >> UInt32(32 - s) }
        }
        for word in words { w.u32(word) }
    }

    // MARK: - Unpacking (hot path)

    /// Unpacks one block. `src` must have `16 * width` readable bytes (nothing beyond is
    /// read), `dst` room for 128 values, and `width` must be in 0...32 (callers validate widths
    /// read from files before calling; an out-of-range width writes zeros rather than trap).
    ///
    /// The switch turns `width` into a constant in each case, so the inlined kernel's 32-step
    /// loop has constant shifts and offsets and is fully unrolled by the optimizer.
    public static func unpack(width: Int, from src: UnsafeRawPointer, into dst: UnsafeMutablePointer<UInt32>) {
        switch width {
        case 1: kernel(1, src, dst)
        case 2: kernel(2, src, dst)
        case 3: kernel(3, src, dst)
        case 4: kernel(4, src, dst)
        case 5: kernel(5, src, dst)
        case 6: kernel(6, src, dst)
        case 7: kernel(7, src, dst)
        case 8: kernel(8, src, dst)
        case 9: kernel(9, src, dst)
        case 10: kernel(10, src, dst)
        case 11: kernel(11, src, dst)
        case 12: kernel(12, src, dst)
        case 13: kernel(13, src, dst)
        case 14: kernel(14, src, dst)
        case 15: kernel(15, src, dst)
        case 16: kernel(16, src, dst)
        case 17: kernel(17, src, dst)
        case 18: kernel(18, src, dst)
        case 19: kernel(19, src, dst)
        case 20: kernel(20, src, dst)
        case 21: kernel(21, src, dst)
        case 22: kernel(22, src, dst)
        case 23: kernel(23, src, dst)
        case 24: kernel(24, src, dst)
        case 25: kernel(25, src, dst)
        case 26: kernel(26, src, dst)
        case 27: kernel(27, src, dst)
        case 28: kernel(28, src, dst)
        case 29: kernel(29, src, dst)
        case 30: kernel(30, src, dst)
        case 31: kernel(31, src, dst)
        case 32:
            // Each lane word holds exactly one value: a plain copy (the lane order is the value order).
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 512)
        default:
            // Width 0 (all values zero), and the defensive case for an unvalidated width.
            dst.update(repeating: 0, count: 128)
        }
    }

    @inline(__always)
    static func kernel(_ width: Int, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<UInt32>) {
        let mask = SIMD4<UInt32>(repeating: (UInt32(1) << UInt32(width)) &- 1)
        let out = UnsafeMutableRawPointer(dst)
        for k in 0..<32 {
            let bit = k * width
            let j = bit >> 5
            let s = bit & 31
            var v = src.loadUnaligned(fromByteOffset: 16 * j, as: SIMD4<UInt32>.self) &>> SIMD4<UInt32>(repeating: UInt32(s))
            if s + width > 32 {
                // The value straddles two lane words; s > 0 here since width ≤ 31.
                v |= src.loadUnaligned(fromByteOffset: 16 * (j + 1), as: SIMD4<UInt32>.self) &<< SIMD4<UInt32>(repeating: UInt32(32 - s))
            }
            out.storeBytes(of: v & mask, toByteOffset: 16 * k, as: SIMD4<UInt32>.self)
        }
    }

    /// Bounds-checked unpack for callers holding a buffer: throws `corrupt` if `width` is not
    /// in 0...32 or `src` is shorter than `16 * width` bytes from `offset`.
    public static func unpack(width: Int, from src: UnsafeRawBufferPointer, offset: Int = 0, base: Int = 0,
                              into dst: inout [UInt32]) throws(IndexFormatError) {
        guard (0...32).contains(width) else {
            throw IndexFormatError(.corrupt, "bit width \(width) out of 0...32", offset: base + offset)
        }
        let n = byteCount(width: width)
        guard offset >= 0, offset <= src.count, n <= src.count - offset else {
            throw IndexFormatError(.corrupt, "packed block of \(n) bytes runs past the end", offset: base + offset)
        }
        if dst.count != blockSize { dst = [UInt32](repeating: 0, count: blockSize) }
        dst.withUnsafeMutableBufferPointer { out in
            guard let o = out.baseAddress else { return }
            if let s = src.baseAddress, n > 0 {
                unpack(width: width, from: s + offset, into: o)
            } else {
                o.update(repeating: 0, count: blockSize)
            }
        }
    }

    // MARK: - Delta helpers

    /// Gaps of strictly increasing doc IDs as stored: `gap = doc - floor`, where `floor` is
    /// the previous doc + 1 (0 before the first). Storing `doc - prev - 1` rather than
    /// `doc - prev` makes consecutive doc IDs gap 0, so a run of consecutive docs packs at
    /// width 0, and every decoded gap sequence is strictly increasing by construction.
    /// Returns the gaps and the floor after the last doc. Callers check monotonicity first.
    public static func gaps(_ docIDs: some Collection<UInt32>, floor: UInt64) -> (gaps: [UInt32], floor: UInt64) {
        var f = floor
        var out = [UInt32]()
        out.reserveCapacity(docIDs.count)
        for d in docIDs {
            out.append(UInt32(UInt64(d) - f))
            f = UInt64(d) + 1
        }
        return (out, f)
    }

    /// Decodes gaps in place into doc IDs (prefix sum, +1 per doc) and returns the floor after
    /// the last doc (last + 1). The caller must reject a result above `UInt32.max` (it means a
    /// doc ID overflowed, and values stored in `buf` are then meaningless).
    ///
    /// `&+` is safe: floor ≤ 2^32 and at most `count` gaps < 2^32 (plus 1 each) are added, so
    /// the accumulator stays below 2^32 × (count + 2), far from 2^64 for any count < 2^31.
    @inline(__always)
    public static func prefixSum(_ buf: UnsafeMutablePointer<UInt32>, count: Int, floor: UInt64) -> UInt64 {
        var acc = floor
        for i in 0..<count {
            acc &+= UInt64(buf[i])
            buf[i] = UInt32(truncatingIfNeeded: acc)
            acc &+= 1
        }
        return acc
    }
}

/// Golomb-Rice coding of a block of small numbers with one parameter k: each value v as
/// `v >> k` one-bits, a zero bit, then the low k bits of v; bits filled from the least
/// significant bit of each byte. Positions within a message are roughly geometric, where one
/// bit width for a whole block (set by its largest value) wastes bits: Rice takes about 19%
/// fewer bytes on Enron's position blocks (docs/format-postings.md).
public enum RiceCoding {
    /// Bits the block takes with parameter k.
    @inline(__always)
    static func cost(_ values: some Collection<UInt32>, k: Int) -> Int {
        var bits = 0
        for v in values { bits += Int(v >> UInt32(k)) + 1 + k }
        return bits
    }

    /// The k (0...24) that minimizes the block's size, and that size in bytes. Tries the
    /// neighbourhood of log2(mean), where the optimum lies: the four candidates' costs in one
    /// pass (cost(k) = Σ (v >> k) + count · (1 + k)).
    public static func best(_ values: some Collection<UInt32>) -> (k: Int, bytes: Int) {
        var sum: UInt64 = 0
        for v in values { sum += UInt64(v) }
        let mean = values.isEmpty ? 0 : sum / UInt64(values.count)
        let guess = min(24, mean == 0 ? 0 : 63 - mean.leadingZeroBitCount)
        let k0 = max(0, guess - 2), k1 = min(24, guess + 1)
        // Quotient sums for k0...k0+3 (k1 - k0 + 1 ≤ 4 of them are used).
        let s0 = UInt32(k0), s1 = UInt32(k0 + 1), s2 = UInt32(k0 + 2), s3 = UInt32(min(k0 + 3, 31))
        var q0 = 0, q1 = 0, q2 = 0, q3 = 0
        for v in values {
            q0 &+= Int(v >> s0)
            q1 &+= Int(v >> s1)
            q2 &+= Int(v >> s2)
            q3 &+= Int(v >> s3)
        }
        var best = (k: 0, bytes: Int.max)
        for k in k0...k1 {
            let q = k == k0 ? q0 : k == k0 + 1 ? q1 : k == k0 + 2 ? q2 : q3
            let bits = q + values.count * (1 + k)
            let bytes = (bits + 7) / 8
            if bytes < best.bytes { best = (k, bytes) }
        }
        return best
    }

    public static func encode(_ values: some Collection<UInt32>, k: Int, into w: inout ByteWriter) {
        // The exact size first (`cost`), so the bytes are written through a pointer: 32 bits
        // at a time while the accumulator fills, not one array append per byte. Every store
        // holds bits of the stream, so all of them land within `size`.
        precondition((0...24).contains(k), "Rice parameter out of range")
        let bits = cost(values, k: k)
        let size = (bits + 7) / 8
        guard size > 0 else { return }
        let start = w.bytes.count
        w.bytes.append(contentsOf: repeatElement(0, count: size))
        w.bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            let out = base + start
            var acc: UInt64 = 0
            var n = 0  // bits in acc (< 64)
            var at = 0  // bytes stored
            @inline(__always) func put(_ value: UInt64, _ count: Int) {
                // count ≤ 32 bits of value (higher bits zero) join the accumulator; whole bytes
                // leave it.
                acc |= value << UInt64(n)
                n += count
                if n >= 32 {
                    (out + at).storeBytes(of: UInt32(truncatingIfNeeded: acc).littleEndian, as: UInt32.self)
                    at += 4
                    acc >>= 32
                    n -= 32
                }
            }
            let mask: UInt64 = k > 0 ? (1 << UInt64(k)) - 1 : 0
            for v in values {
                var q = Int(v >> UInt32(k))
                while q >= 32 {
                    put(0xFFFF_FFFF, 32)
                    q -= 32
                }
                // q ones and the terminating zero.
                put((1 << UInt64(q)) - 1, q + 1)
                if k > 0 { put(UInt64(v) & mask, k) }
            }
            while n > 0 {
                (out + at).storeBytes(of: UInt8(truncatingIfNeeded: acc), as: UInt8.self)
                at += 1
                acc >>= 8
                n -= 8
            }
            assert(at == size)
        }
    }

    /// Decodes `count` values from `length` bytes at `src`; nil when the bits run out or a
    /// value does not fit 32 bits (corrupt input).
    public static func decode(_ src: UnsafeRawBufferPointer, k: Int, count: Int, into out: UnsafeMutablePointer<UInt32>) -> Bool {
        let totalBits = src.count * 8
        var bit = 0
        @inline(__always) func load(_ at: Int) -> UInt64 {
            // 8 bytes from byte `at` (zero-padded past the end), shifted to bit `bit & 7`.
            let byte = at >> 3
            if byte + 8 <= src.count {
                return UInt64(littleEndian: src.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) >> UInt64(at & 7)
            }
            var x: UInt64 = 0
            let avail = min(8, src.count - byte)
            for i in 0..<avail { x |= UInt64(src[byte + i]) << UInt64(8 * i) }
            return x >> UInt64(at & 7)
        }
        for i in 0..<count {
            // Unary quotient: count one-bits up to the first zero.
            var q: UInt64 = 0
            while true {
                guard bit < totalBits else { return false }
                let word = load(bit)
                let valid = min(57, totalBits - bit)
                let ones = (~word).trailingZeroBitCount
                if ones < valid {
                    q += UInt64(ones)
                    bit += ones + 1
                    break
                }
                q += UInt64(valid)
                bit += valid
                guard q <= UInt64(UInt32.max) else { return false }
            }
            var r: UInt64 = 0
            if k > 0 {
                guard bit + k <= totalBits else { return false }
                r = load(bit) & ((1 << UInt64(k)) - 1)
                bit += k
            }
            let v = (q << UInt64(k)) | r
            guard v <= UInt64(UInt32.max) else { return false }
            out[i] = UInt32(v)
        }
        return true
    }
}
