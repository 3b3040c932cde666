#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a term dictionary ("terms" file, see TermDictionaryWriter for the layout) in place:
/// opening checks the checksum and the trailer and reads nothing else; a lookup binary-searches
/// the sparse index of first keys (u32 offset tables, so no decoding at open) and scans one
/// block.
///
/// `@unchecked Sendable`: the only non-Sendable part is the buffer pointer, which the reader
/// never writes through. The caller keeps the bytes alive and unchanged for the reader's
/// lifetime (a read-only mapping of an immutable segment file), after which any number of
/// threads may use it at once: all per-call state is on the stack.
public struct TermDictionary: @unchecked Sendable {
    let file: UnsafeRawBufferPointer
    /// Absolute offsets in `file`.
    let contentStart: Int
    let indexStart: Int
    let blockStartsAt: Int
    let keyStartsAt: Int
    let keyBlobAt: Int
    let keyBlobLength: Int
    public let blockCount: Int
    public let termCount: Int
    /// The file's version (2: delta-coded infos).
    public let version: UInt32
    let maxTermsPerBlock: Int

    public init(_ file: UnsafeRawBufferPointer, verifyChecksum: Bool = true) throws(IndexFormatError) {
        var (version, content, t) = try FileFraming.open(file, format: TermDictionaryFormat.name, supported: TermDictionaryFormat.versions,
                                                         trailerSize: TermDictionaryFormat.trailerSize, verifyChecksum: verifyChecksum)
        self.version = version
        self.file = file
        contentStart = content.lowerBound
        let trailerAt = t.offset
        let indexOffset = try t.u64()
        let terms = try t.u64()
        let blocks = Int(try t.u32())
        let perBlock = Int(try t.u32())
        guard indexOffset <= UInt64(trailerAt - contentStart) else {
            throw IndexFormatError(.corrupt, "terms index offset \(indexOffset) beyond the content", offset: trailerAt)
        }
        indexStart = contentStart + Int(indexOffset)
        guard (1...TermDictionaryFormat.maxTermsPerBlockLimit).contains(perBlock) else {
            throw IndexFormatError(.corrupt, "terms per block \(perBlock) out of range", offset: trailerAt + 20)
        }
        // Two tables of (blocks + 1) u32 each; `blocks` < 2^32 so the product cannot overflow.
        let tables = (blocks + 1) * 8
        guard tables <= trailerAt - indexStart else {
            throw IndexFormatError(.corrupt, "terms index tables for \(blocks) blocks overrun the trailer", offset: indexStart)
        }
        let (maxTerms, overflow) = UInt64(blocks).multipliedReportingOverflow(by: UInt64(perBlock))
        guard !overflow, terms <= maxTerms, (blocks == 0) == (terms == 0) else {
            throw IndexFormatError(.corrupt, "terms count \(terms) inconsistent with \(blocks) blocks of at most \(perBlock)", offset: trailerAt + 8)
        }
        blockCount = blocks
        termCount = Int(terms)
        maxTermsPerBlock = perBlock
        blockStartsAt = indexStart
        keyStartsAt = indexStart + (blocks + 1) * 4
        keyBlobAt = indexStart + tables
        keyBlobLength = trailerAt - keyBlobAt
        // The closing entries tie the tables to the areas they index.
        var r = ByteReader(file, offset: blockStartsAt + blocks * 4)
        guard UInt64(try r.u32()) == indexOffset else {
            throw IndexFormatError(.corrupt, "terms block table does not end at the index", offset: blockStartsAt + blocks * 4)
        }
        r.offset = keyStartsAt + blocks * 4
        guard Int(try r.u32()) == keyBlobLength else {
            throw IndexFormatError(.corrupt, "terms key table does not end at the trailer", offset: keyStartsAt + blocks * 4)
        }
    }

    // MARK: Lookups

    /// The postings info of `key` ([fieldID] + term bytes), or nil when absent.
    public func lookup(_ key: [UInt8]) throws(IndexFormatError) -> TermPostingsInfo? {
        guard key.count <= TermDictionaryFormat.maxKeyLength else { return nil }
        return try withUnsafeBytesTyped(key) { (k) throws(IndexFormatError) -> TermPostingsInfo? in
            guard let b = try findBlock(k) else { return nil }
            return try withKeyBuffer { (buffer) throws(IndexFormatError) -> TermPostingsInfo? in
                var s = try TermBlockScanner(self, block: b, buffer: buffer)
                // Keys are never rebuilt: `common` is the common prefix length of the previous
                // key (known to sort below `k`) and `k`. A key sharing more than `common` bytes
                // with the previous one still sorts below `k`; one sharing fewer sorts above
                // it (the key is past `k`); only equal needs its suffix compared.
                var common = 0
                while try s.nextRaw() {
                    if s.shared > common { continue }
                    if s.shared < common { return nil }
                    let suffix = s.suffix
                    let rest = k.count - common
                    let n = min(suffix.count, rest)
                    var m = 0
                    while m < n && suffix[m] == k[common + m] { m += 1 }
                    if m == suffix.count {
                        if m == rest { return try s.info() }  // equal
                        common += m  // key is a proper prefix of k: below it
                        continue
                    }
                    if m == rest || suffix[m] > k[common + m] { return nil }  // above k
                    common += m
                }
                return nil
            }
        }
    }

    /// The infos of `keys` (whole keys, ascending, no repeats; nil for a key not there), in
    /// one forward walk: each block holding some of them is decoded once, and the block index
    /// is searched once per block reached instead of once per key. For the many terms an IMAP
    /// substring key can expand to (`btrfs` is in thousands of `btrfs_*` identifiers, next to
    /// each other in the dictionary).
    public func lookupSorted(_ keys: [[UInt8]]) throws(IndexFormatError) -> [TermPostingsInfo?] {
        var out = [TermPostingsInfo?](repeating: nil, count: keys.count)
        var i = 0
        var lastBlock = -1
        try withKeyBuffer { (buffer) throws(IndexFormatError) in
            while i < keys.count {
                guard keys[i].count <= TermDictionaryFormat.maxKeyLength,
                      let b = try withUnsafeBytesTyped(keys[i], { (k) throws(IndexFormatError) in try findBlock(k) }) else {
                    i += 1  // too long, or below the first key: not there
                    continue
                }
                // Past the end of the block just walked, before the next one's first key.
                if b == lastBlock {
                    i += 1
                    continue
                }
                lastBlock = b
                var s = try TermBlockScanner(self, block: b, buffer: buffer)
                var more = try s.next()
                while more, i < keys.count {
                    let c = try withUnsafeBytesTyped(keys[i]) { (k) throws(IndexFormatError) in termKeyCompare(s.key, k) }
                    if c < 0 {
                        more = try s.next()
                    } else {
                        if c == 0 {
                            out[i] = try s.info()
                            more = try s.next()
                        }
                        i += 1
                    }
                }
            }
        }
        return out
    }

    /// Calls `body` with every key starting with `prefix`, in order, and its info, until
    /// `body` returns false. The key buffer is valid only during the call (copy it to keep
    /// it). An empty prefix enumerates the whole dictionary.
    public func enumerate(prefix: [UInt8], _ body: (UnsafeRawBufferPointer, TermPostingsInfo) throws -> Bool) throws {
        guard prefix.count <= TermDictionaryFormat.maxKeyLength else { return }
        try prefix.withUnsafeBytes { (p) throws in
            var b = try findBlock(p) ?? 0
            try withKeyBufferUntyped { (buffer) throws in
                while b < blockCount {
                    var s = try TermBlockScanner(self, block: b, buffer: buffer)
                    while try s.next() {
                        let key = s.key
                        if key.count >= p.count, termKeyCompare(UnsafeRawBufferPointer(rebasing: key[0..<p.count]), p) == 0 {
                            guard try body(key, try s.info()) else { return }
                        } else if termKeyCompare(key, p) > 0 {
                            return  // past the prefix's range: every later key is greater still
                        }
                    }
                    b += 1
                }
            }
        }
    }

    /// Every key of `field` (the whole key, field byte included) with its info.
    public func enumerateAll(field: UInt8, _ body: (UnsafeRawBufferPointer, TermPostingsInfo) throws -> Bool) throws {
        try enumerate(prefix: [field], body)
    }

    /// Terms of `field` whose bytes contain `needle` (for IMAP's substring SEARCH), in key
    /// order, at most `limit` of them. Returns term bytes without the field byte. An empty
    /// needle matches every term of the field.
    ///
    /// Why it is fast: one pass over the field's blocks, keys rebuilt in one stack buffer,
    /// infos decoded only for matches, and the shared prefix with the previous key is not
    /// searched again: an occurrence ending inside the shared prefix was already seen in the
    /// previous key, so only positions from `shared - needle.count + 1` on are tried.
    public func terms(field: UInt8, containing needle: [UInt8], limit: Int) throws(IndexFormatError) -> [([UInt8], TermPostingsInfo)] {
        guard limit > 0, blockCount > 0 else { return [] }
        let m = needle.count
        var result: [([UInt8], TermPostingsInfo)] = []
        try withUnsafeBytesTyped(needle) { (nbRaw) throws(IndexFormatError) in
            let nb = nbRaw.assumingMemoryBound(to: UInt8.self)
            var b = try withUnsafeBytesTyped([field]) { (fk) throws(IndexFormatError) in try findBlock(fk) } ?? 0
            try withKeyBuffer { (buffer) throws(IndexFormatError) in
                guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
                // End (exclusive) of the first occurrence in the previous key, Int.max if none.
                var matchEnd = Int.max
                while b < blockCount {
                    var s = try TermBlockScanner(self, block: b, buffer: buffer)
                    while try s.next() {
                        let len = s.keyLength
                        guard len > 0, base[0] == field else {
                            if len > 0, base[0] > field { return }
                            matchEnd = Int.max
                            continue
                        }
                        let shared = s.shared
                        var hit = false
                        if m == 0 {
                            hit = true
                        } else if matchEnd <= shared {
                            hit = true  // the occurrence lies in the unchanged prefix
                        } else if let nbase = nb.baseAddress {
                            let from = max(1, shared - m + 1)
                            if let p = termSubstringFind(base, from: from, end: len, needle: nbase, count: m) {
                                matchEnd = p + m
                                hit = true
                            } else {
                                matchEnd = Int.max
                            }
                        }
                        if hit {
                            let term = Array(UnsafeBufferPointer(start: base + 1, count: len - 1))
                            result.append((term, try s.info()))
                            if result.count >= limit { return }
                        }
                    }
                    b += 1
                }
            }
        }
        return result
    }

    // MARK: Internals

    /// The first key of the block whose first term's positions start nearest `target` bytes
    /// into the positions content (terms are written in key order, so their positions
    /// offsets ascend): where to split the work of a merge in two. Nil with fewer than two
    /// blocks.
    public func blockKey(nearPositionsOffset target: UInt64) throws(IndexFormatError) -> [UInt8]? {
        guard blockCount > 1 else { return nil }
        func offset(_ b: Int) throws(IndexFormatError) -> UInt64 {
            try withKeyBuffer { (buffer) throws(IndexFormatError) -> UInt64 in
                var s = try TermBlockScanner(self, block: b, buffer: buffer)
                guard try s.next() else { return 0 }
                return try s.info().positionsOffset
            }
        }
        var lo = 1, hi = blockCount - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if try offset(mid) < target { lo = mid + 1 } else { hi = mid }
        }
        return Array(try firstKey(lo))
    }

    /// The last block whose first key is <= `key`, or nil when `key` sorts before them all.
    func findBlock(_ key: UnsafeRawBufferPointer) throws(IndexFormatError) -> Int? {
        var lo = 0, hi = blockCount  // invariant: answer in [lo - 1, hi)
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if termKeyCompare(try firstKey(mid), key) <= 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : lo - 1
    }

    func firstKey(_ i: Int) throws(IndexFormatError) -> UnsafeRawBufferPointer {
        var r = ByteReader(file, offset: keyStartsAt + i * 4)
        let s = Int(try r.u32()), e = Int(try r.u32())
        guard s <= e, e <= keyBlobLength, e - s <= TermDictionaryFormat.maxKeyLength else {
            throw IndexFormatError(.corrupt, "terms index key \(i) spans \(s)..<\(e) outside the key area", offset: keyStartsAt + i * 4)
        }
        return UnsafeRawBufferPointer(rebasing: file[(keyBlobAt + s)..<(keyBlobAt + e)])
    }

    /// Absolute byte range of block `i`.
    func blockRange(_ i: Int) throws(IndexFormatError) -> Range<Int> {
        var r = ByteReader(file, offset: blockStartsAt + i * 4)
        let s = Int(try r.u32()), e = Int(try r.u32())
        guard s <= e, e <= indexStart - contentStart else {
            throw IndexFormatError(.corrupt, "terms block \(i) spans \(s)..<\(e) outside the block area", offset: blockStartsAt + i * 4)
        }
        return (contentStart + s)..<(contentStart + e)
    }

    /// A scratch buffer for one rebuilt key, on the stack.
    func withKeyBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) throws(IndexFormatError) -> R) throws(IndexFormatError) -> R {
        let r: Result<R, IndexFormatError> = withUnsafeTemporaryAllocation(byteCount: TermDictionaryFormat.maxKeyLength, alignment: 16) { buf in
            do throws(IndexFormatError) { return .success(try body(buf)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    func withKeyBufferUntyped(_ body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let r: Result<Void, any Error> = withUnsafeTemporaryAllocation(byteCount: TermDictionaryFormat.maxKeyLength, alignment: 16) { buf in
            do { return .success(try body(buf)) } catch { return .failure(error) }
        }
        try r.get()
    }
}

/// Walks one block: keys rebuilt from (shared, suffix) into a caller-owned buffer; infos
/// decoded lazily, in order, only when asked (they sit after all the keys).
struct TermBlockScanner {
    var keys: ByteReader
    var infos: ByteReader
    let buffer: UnsafeMutableRawBufferPointer
    var remaining: Int
    /// Index of the current entry (-1 before the first).
    var entry = -1
    var infosDecoded = 0
    var keyLength = 0
    var shared = 0
    var lastInfo: TermPostingsInfo?
    /// Version 2 infos are deltas from the previous entry's offsets (decoded in order).
    var deltaInfos = false
    var previousOffsets: (docs: UInt64, positions: UInt64) = (0, 0)
    /// The current entry's suffix bytes (in the file).
    var suffix = UnsafeRawBufferPointer(start: nil, count: 0)

    init(_ d: TermDictionary, block: Int, buffer: UnsafeMutableRawBufferPointer) throws(IndexFormatError) {
        let range = try d.blockRange(block)
        let bytes = UnsafeRawBufferPointer(rebasing: d.file[range])
        var h = ByteReader(bytes, base: range.lowerBound)
        let count = try h.length(limit: d.maxTermsPerBlock)
        guard count >= 1 else { throw IndexFormatError(.corrupt, "empty terms block \(block)", offset: range.lowerBound) }
        let keysLength = try h.length(limit: h.remaining)
        let keysStart = h.offset
        keys = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[keysStart..<(keysStart + keysLength)]), base: range.lowerBound + keysStart)
        infos = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[(keysStart + keysLength)...]), base: range.lowerBound + keysStart + keysLength)
        remaining = count
        self.buffer = buffer
        deltaInfos = d.version >= 2
    }

    /// The current key (valid until the next call to `next`).
    var key: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<keyLength]) }

    /// Moves to the next entry without rebuilding its key: sets `shared`, `keyLength` and
    /// `suffix`. False after the last entry.
    @inline(__always) mutating func nextRaw() throws(IndexFormatError) -> Bool {
        guard remaining > 0 else { return false }
        remaining -= 1
        entry += 1
        lastInfo = nil
        let b = keys.bytes
        let o = keys.offset
        let s: Int, n: Int
        // Fast path: both lengths are one-byte varints for all but >127-byte keys.
        if o < b.count - 1, b[o] < 0x80, b[o + 1] < 0x80 {
            s = Int(b[o]); n = Int(b[o + 1])
            keys.offset = o + 2
        } else {
            s = Int(truncatingIfNeeded: try keys.varint())
            n = Int(truncatingIfNeeded: try keys.varint())
        }
        // shared <= previous length and shared + suffix <= buffer size: both bounded, so the
        // key rebuilt in the buffer stays inside it whatever the bytes say.
        guard s >= 0, s <= keyLength, n >= 0, n <= buffer.count - s, n <= keys.remaining else {
            throw IndexFormatError(.corrupt, "terms entry (shared \(s), suffix \(n)) impossible after a \(keyLength)-byte key", offset: keys.base + o)
        }
        suffix = UnsafeRawBufferPointer(rebasing: b[keys.offset..<(keys.offset + n)])
        keys.offset += n
        shared = s
        keyLength = s + n
        return true
    }

    /// Moves to the next entry and rebuilds its key in the buffer; false after the last.
    @inline(__always) mutating func next() throws(IndexFormatError) -> Bool {
        guard try nextRaw() else { return false }
        if suffix.count > 0, let src = suffix.baseAddress, let dst = buffer.baseAddress {
            (dst + shared).copyMemory(from: src, byteCount: suffix.count)
        }
        return true
    }

    /// The current entry's info, decoding (and dropping) the infos of the entries skipped.
    mutating func info() throws(IndexFormatError) -> TermPostingsInfo {
        if let i = lastInfo { return i }
        while infosDecoded < entry {
            _ = try decodeInfo()
            infosDecoded += 1
        }
        let i = try decodeInfo()
        infosDecoded += 1
        lastInfo = i
        return i
    }
}

extension TermBlockScanner {
    @inline(__always) mutating func decodeInfo() throws(IndexFormatError) -> TermPostingsInfo {
        deltaInfos ? try TermPostingsInfo.decodeDelta(&infos, previous: &previousOffsets) : try TermPostingsInfo.decode(&infos)
    }
}

/// `Array.withUnsafeBytes` rethrows untyped errors; this keeps IndexFormatError typed.
@inline(__always) func withUnsafeBytesTyped<R>(_ a: [UInt8], _ body: (UnsafeRawBufferPointer) throws(IndexFormatError) -> R) throws(IndexFormatError) -> R {
    let r: Result<R, IndexFormatError> = a.withUnsafeBytes { raw in
        do throws(IndexFormatError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try r.get()
}

/// Bytewise comparison (shorter sorts first on a common prefix): <0, 0, >0. The order of
/// term keys in every dictionary.
@inline(__always) public func termKeyCompare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, n)
        if c != 0 { return Int(c) }
    }
    return a.count - b.count
}

/// First position p in from...end-count with hay[p..<p+count] == needle, or nil.
/// Terms are short (a few to 64 bytes), so a first-byte scan beats a call into memmem.
@inline(__always) func termSubstringFind(_ hay: UnsafePointer<UInt8>, from: Int, end: Int, needle: UnsafePointer<UInt8>, count m: Int) -> Int? {
    guard m > 0, end - from >= m else { return nil }
    let first = needle[0]
    let last = end - m
    var i = from
    while i <= last {
        if hay[i] == first {
            var j = 1
            while j < m && hay[i + j] == needle[j] { j += 1 }
            if j == m { return i }
        }
        i += 1
    }
    return nil
}

/// Walks a whole dictionary key by key, in order, keeping its place between calls (what a
/// k-way merge of segments needs; `enumerate` is for scans done in one call). Holds one key
/// buffer; the dictionary's bytes must stay mapped while it is used.
public final class TermCursor {
    let dictionary: TermDictionary
    let buffer: UnsafeMutableRawBufferPointer
    var nextBlock = 0
    var scanner: TermBlockScanner?
    /// The current entry's info (valid after `next()` returned true).
    public private(set) var info = TermPostingsInfo(docFreq: 1, totalTermFreq: 1, docsOffset: 0, positionsOffset: 0)

    public init(_ dictionary: TermDictionary) {
        self.dictionary = dictionary
        buffer = .allocate(byteCount: TermDictionaryFormat.maxKeyLength, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The current key (field byte + term), valid until the next call to `next()`.
    public var key: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<(scanner?.keyLength ?? 0)])
    }

    /// Moves to the first key at or above `key`; false when there is none. The cursor then
    /// stands on that key (as after `next()` returned true).
    public func seek(_ key: [UInt8]) throws(IndexFormatError) -> Bool {
        let block = try withUnsafeBytesTyped(key) { (k) throws(IndexFormatError) -> Int? in try dictionary.findBlock(k) }
        nextBlock = block ?? 0
        scanner = nil
        while try next() {
            if key.withUnsafeBytes({ termKeyCompare(self.key, $0) }) >= 0 { return true }
        }
        return false
    }

    /// Moves to the next key; false after the last.
    public func next() throws(IndexFormatError) -> Bool {
        while true {
            if var s = scanner {
                if try s.next() {
                    info = try s.info()
                    scanner = s
                    return true
                }
                scanner = nil
            }
            guard nextBlock < dictionary.blockCount else { return false }
            scanner = try TermBlockScanner(dictionary, block: nextBlock, buffer: UnsafeMutableRawBufferPointer(buffer))
            nextBlock += 1
        }
    }
}
