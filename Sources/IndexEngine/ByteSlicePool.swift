import CPrefetch

/// Growable byte streams for many terms in one pool (Lucene's ByteBlockPool slices): each
/// stream starts as a 5-byte slice; a full slice links to one of the next size (up to 200
/// bytes) through a 4-byte forwarding address. A rare term costs a few bytes instead of the
/// three heap arrays it used to have, and appending touches one cache line.
///
/// Layout: pages of 32 KiB, zero-filled; an address is page << 15 | offset (so at most
/// 2^17 pages, 4 GiB). A slice's last byte is a non-zero marker 16 | level; the writer's
/// cursor knows where it is, and when it gets there the slice's last 4 bytes (3 data bytes
/// and the marker) become the address of the next slice, and the 3 data bytes move there.
final class ByteSlicePool {
    static let pageShift = 15
    static let pageSize = 1 << pageShift
    /// Slice sizes by level, and the level after each (a switch: no global array, whose
    /// lazy initialization would be checked on every call).
    @inline(__always) static func size(_ level: Int) -> Int {
        switch level {
        case 0: return 5
        case 1: return 14
        case 2: return 20
        case 3: return 30
        case 4, 5: return 40
        case 6, 7: return 80
        case 8: return 120
        default: return 200
        }
    }

    @inline(__always) static func nextLevel(_ level: Int) -> Int { min(level + 1, 9) }

    static let maxPages = 1 << 17
    // Fixed pointers, never reassigned: the hot path reads through them without the dynamic
    // exclusivity checks a class's `var` properties get.
    private let pages = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: ByteSlicePool.maxPages)
    /// [0]: pages allocated; [1]: bytes used in the last page.
    private let counters = UnsafeMutablePointer<Int>.allocate(capacity: 2)

    init() {
        counters[0] = 0
        counters[1] = Self.pageSize  // a full "page" forces the first allocation
    }

    /// Bytes allocated (for the RAM budget).
    var bytesHeld: Int { counters[0] * Self.pageSize }

    deinit {
        for i in 0..<counters[0] { pages[i]?.deallocate() }
        pages.deallocate()
        counters.deallocate()
    }

    /// Where a stream's next byte goes (`upto`) and where its current slice's marker is
    /// (`end`). Appending compares the two instead of reading the byte at `upto`, so writing a
    /// byte is a store only: the line it goes to is rarely in cache (the streams of millions
    /// of terms), and a load of it would stall the indexer where a store does not.
    struct Cursor {
        var upto: UInt32
        var end: UInt32
    }

    /// Starts a stream; its cursor's `upto` is the stream's start (where its first byte goes).
    func newStream() -> Cursor {
        let start = allocate(level: 0)
        return Cursor(upto: start, end: start + UInt32(Self.size(0) - 1))
    }

    private func allocate(level: Int) -> UInt32 {
        let size = Self.size(level)
        if counters[1] + size > Self.pageSize {
            // At 4 GiB of slices the address space ends: a budget far beyond any use; past it
            // the last page is reused rather than overflowing the table (never reached).
            if counters[0] < Self.maxPages {
                let p = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.pageSize)
                p.initialize(repeating: 0, count: Self.pageSize)
                pages[counters[0]] = p
                counters[0] += 1
            }
            counters[1] = 0
        }
        let last = counters[0] - 1
        guard let page = pages[last] else { return 0 }
        let used = counters[1]
        page[used + size - 1] = UInt8(16 | level)
        counters[1] = used + size
        return UInt32(last << Self.pageShift | used)
    }

    @inline(__always) private func pointer(_ address: UInt32) -> UnsafeMutablePointer<UInt8> {
        // Addresses come from `allocate`: their page exists.
        pages[Int(address >> UInt32(Self.pageShift))].unsafelyUnwrapped + Int(address & UInt32(Self.pageSize - 1))
    }

    /// Asks the CPU for the cache line of a stream's byte at `address` (see CPrefetch).
    @inline(__always) func prefetch(_ address: UInt32) {
        ms_prefetch(UnsafeRawPointer(pointer(address)))
    }

    /// Appends a byte to the stream at `cursor`; advances it.
    @inline(__always) func append(_ byte: UInt8, _ cursor: inout Cursor) {
        if cursor.upto == cursor.end { nextSlice(&cursor) }
        pointer(cursor.upto).pointee = byte
        cursor.upto += 1
    }

    /// The cursor's slice is full: moves it to a new, larger slice. The 3 data bytes before
    /// the marker move there; the slice's last 4 bytes become the new slice's address.
    @inline(never) private func nextSlice(_ cursor: inout Cursor) {
        let marker = pointer(cursor.end)
        let level = Self.nextLevel(Int(marker.pointee & 15))
        let next = allocate(level: level)
        let np = pointer(next)
        let old = marker - 3
        np[0] = old[0]
        np[1] = old[1]
        np[2] = old[2]
        old[0] = UInt8(truncatingIfNeeded: next)
        old[1] = UInt8(truncatingIfNeeded: next >> 8)
        old[2] = UInt8(truncatingIfNeeded: next >> 16)
        old[3] = UInt8(truncatingIfNeeded: next >> 24)
        cursor.upto = next + 3
        cursor.end = next + UInt32(Self.size(level) - 1)
    }

    @inline(__always) func appendVarint(_ value: UInt32, _ cursor: inout Cursor) {
        var x = value
        while x >= 0x80 {
            append(UInt8(truncatingIfNeeded: x) | 0x80, &cursor)
            x >>= 7
        }
        append(UInt8(x), &cursor)
    }

    /// Reads a stream from `start` to `end` (its writer's `upto`).
    struct Reader {
        let pool: ByteSlicePool
        var at: UInt32
        var limit: UInt32  // where the current slice's data ends (its forwarding address)
        var level = 0
        let end: UInt32

        init(pool: ByteSlicePool, start: UInt32, end: UInt32) {
            self.pool = pool
            at = start
            self.end = end
            limit = Self.dataEnd(start, level: 0, end: end)
        }

        /// The end of a slice's data: the stream's end when it lies in this slice, else the
        /// slice's forwarding address.
        static func dataEnd(_ start: UInt32, level: Int, end: UInt32) -> UInt32 {
            let size = UInt32(ByteSlicePool.size(level))
            return end >= start && end < start + size ? end : start + size - 4
        }

        var atEnd: Bool { at == end }

        @inline(__always) mutating func byte() -> UInt8 {
            if at == limit {
                let p = pool.pointer(at)
                let next = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
                level = ByteSlicePool.nextLevel(level)
                at = next
                limit = Self.dataEnd(next, level: level, end: end)
            }
            let b = pool.pointer(at).pointee
            at += 1
            return b
        }

        @inline(__always) mutating func varint() -> UInt32 {
            var b = byte()
            var v = UInt32(b & 0x7F)
            var shift: UInt32 = 7
            while b & 0x80 != 0, shift < 32 {
                b = byte()
                v |= UInt32(b & 0x7F) << shift
                shift += 7
            }
            return v
        }
    }
}
