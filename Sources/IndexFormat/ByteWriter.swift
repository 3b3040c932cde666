/// Appends little-endian integers and varints to a byte array. Codecs build files in it;
/// IndexEngine writes them, either whole or a piece at a time: `drain()` hands over the bytes
/// so far and keeps counting (offsets stay file offsets) and checksumming (the footer covers
/// the whole file), so a large file is written in bounded memory.
public struct ByteWriter: Sendable {
    /// The bytes not yet drained.
    public var bytes: [UInt8]
    /// Bytes handed over by `drain()` so far, and their CRC-32C.
    public private(set) var drainedCount = 0
    public private(set) var drainedCRC: UInt32 = 0

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Bytes written in all: drained and buffered.
    public var count: Int { drainedCount + bytes.count }

    /// The buffered bytes, for the caller to write out; the writer keeps going after them.
    public mutating func drain() -> [UInt8] {
        let out = bytes
        drainedCRC = CRC32C.checksum(out, continuing: drainedCRC)
        drainedCount += out.count
        bytes = []
        // The next piece is about as large, and usually ends a little past it (a codec drains
        // once it holds a threshold): a quarter more, so it rarely doubles (copying the piece
        // into fresh pages).
        bytes.reserveCapacity(out.count + out.count / 4)
        return out
    }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inline(__always) public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    @inline(__always) public mutating func u32(_ v: UInt32) {
        for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
    }

    @inline(__always) public mutating func u64(_ v: UInt64) {
        for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    /// LEB128 unsigned varint: 7 bits a byte, low bits first, high bit = more.
    @inline(__always) public mutating func varint(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: x) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    public mutating func append(_ other: [UInt8]) { bytes += other }

    /// A varint length, then the UTF-8 bytes.
    public mutating func string(_ s: String) {
        varint(UInt64(s.utf8.count))
        bytes += s.utf8
    }
}

/// Reads what ByteWriter wrote, with bounds checks: every read throws `corrupt` (with the
/// offset) instead of reading past the end.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int
    /// Added to `offset` in error messages (the position of `bytes` in its file).
    public let base: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, base: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.base = base
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    @inline(__always) func need(_ n: Int) throws(IndexFormatError) {
        guard n >= 0, offset <= bytes.count, n <= bytes.count - offset else {
            throw IndexFormatError(.corrupt, "unexpected end of data (need \(n) bytes)", offset: base + offset)
        }
    }

    @inline(__always) public mutating func u8() throws(IndexFormatError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always) public mutating func u16() throws(IndexFormatError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian
    }

    @inline(__always) public mutating func u32() throws(IndexFormatError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    @inline(__always) public mutating func u64() throws(IndexFormatError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    /// LEB128; at most 10 bytes, and the 10th may only carry the top bit of a UInt64.
    @inline(__always) public mutating func varint() throws(IndexFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < bytes.count else {
                throw IndexFormatError(.corrupt, "truncated varint", offset: base + start)
            }
            let b = bytes[offset]
            offset += 1
            if shift == 63, b > 1 { throw IndexFormatError(.corrupt, "varint overflows 64 bits", offset: base + start) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw IndexFormatError(.corrupt, "varint longer than 10 bytes", offset: base + start) }
        }
    }

    /// A varint that must fit `Int` and be at most `limit`.
    public mutating func length(limit: Int) throws(IndexFormatError) -> Int {
        let at = offset
        let v = try varint()
        guard v <= UInt64(limit) else {
            throw IndexFormatError(.corrupt, "length \(v) exceeds \(limit)", offset: base + at)
        }
        return Int(v)
    }

    public mutating func bytes(_ n: Int) throws(IndexFormatError) -> UnsafeRawBufferPointer {
        try need(n)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    public mutating func string(limit: Int = 1 << 20) throws(IndexFormatError) -> String {
        let n = try length(limit: limit)
        let raw = try bytes(n)
        return String(decoding: raw, as: UTF8.self)
    }
}
