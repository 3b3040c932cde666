import MailsiftCore
import CLZ4
import Synchronization

/// Reads a stored-fields file (layout: StoredFieldsWriter; versions 1 and 2) in place.
/// Opening checks the checksum and trailer only; `document(_:)` binary-searches the
/// fixed-width block index, decompresses what it needs of that one block and decodes the
/// document. In version 2 each block has a small head part (the writer's head fields: the
/// sender and subject a results page shows) compressed apart from the rest, so a page reads
/// a few KiB per hit instead of a whole block.
///
/// A one-block cache per part (behind a lock) serves the common pattern of fetching
/// consecutive docIDs (verifying sorted candidates, building a result page's snippets).
///
/// `@unchecked Sendable`: the buffer pointer is only read, and the caller keeps the bytes
/// alive and unchanged while the reader is in use (a read-only mapping of an immutable
/// segment file); the only mutable state, the caches, are behind locks.
public final class StoredFieldsReader: @unchecked Sendable {
    let file: UnsafeRawBufferPointer
    let contentStart: Int
    let indexStart: Int
    public let version: UInt32
    public let documentCount: Int
    public let blockCount: Int
    /// The compression level the writer used (informational).
    public let compressionLevel: Int32
    /// Field ids (0…63) kept in the blocks' head parts (version 2; 0 in version 1).
    public let headFields: UInt64
    let entrySize: Int

    private struct CachedBlock {
        var block: Int
        var raw: [UInt8]
    }
    private let cache = Locked<CachedBlock?>(nil)
    /// Decompressed head parts by block: a results page reads the sender, subject and date of
    /// twenty documents, one decompression each, and the pages of common words share
    /// documents. Up to 1 MiB a segment, then it starts over.
    private let headCache = Locked(CappedCache<Int, [UInt8]>(capacity: 1 << 20))
    /// The block the last partial read was from: a second document wanted from it (a scan
    /// of stored text walks documents in order) decompresses the part whole, once, and the
    /// documents after it read the cached copy, instead of decoding the block's start again
    /// for each (IMAP TEXT over LKML: most of its time).
    private let lastPartial = Locked<Int>(-1)

    public init(_ file: UnsafeRawBufferPointer, verifyChecksum: Bool = true) throws(IndexFormatError) {
        let (v, content) = try FileFraming.open(file, format: StoredFieldsFormat.name, supported: 1...StoredFieldsFormat.version,
                                                verifyChecksum: verifyChecksum)
        version = v
        let trailerSize = v == 1 ? StoredFieldsFormat.trailerSizeV1 : StoredFieldsFormat.trailerSize
        entrySize = v == 1 ? StoredFieldsFormat.indexEntrySizeV1 : StoredFieldsFormat.indexEntrySize
        guard content.count >= trailerSize else {
            throw IndexFormatError(.corrupt, "\(StoredFieldsFormat.name) content too short for its trailer", offset: content.lowerBound)
        }
        var t = ByteReader(file, offset: content.upperBound - trailerSize)
        self.file = file
        contentStart = content.lowerBound
        let trailerAt = t.offset
        let indexOffset = try t.u64()
        let docs = try t.u64()
        let blocks = Int(try t.u32())
        compressionLevel = Int32(bitPattern: try t.u32())
        headFields = v == 1 ? 0 : try t.u64()
        guard indexOffset <= UInt64(trailerAt - contentStart) else {
            throw IndexFormatError(.corrupt, "stored index offset \(indexOffset) beyond the content", offset: trailerAt)
        }
        indexStart = contentStart + Int(indexOffset)
        // The index must be exactly blocks × entry size bytes up to the trailer (blocks < 2^32).
        guard blocks * entrySize == trailerAt - indexStart else {
            throw IndexFormatError(.corrupt, "stored index of \(trailerAt - indexStart) bytes does not hold \(blocks) blocks", offset: indexStart)
        }
        guard docs <= UInt64(UInt32.max), (blocks == 0) == (docs == 0), UInt64(blocks) <= docs else {
            throw IndexFormatError(.corrupt, "stored document count \(docs) inconsistent with \(blocks) blocks", offset: trailerAt + 8)
        }
        documentCount = Int(docs)
        blockCount = blocks
    }

    /// One part of a block: where its bytes are and how to decode them.
    struct Part {
        var rawSize: Int
        var storedSize: Int
        var codec: UInt8
        var offset: Int  // absolute
    }

    struct BlockEntry {
        var firstDoc: Int
        /// The head part (version 2; empty in version 1).
        var head: Part
        /// The rest of the fields (version 1: all of them).
        var rest: Part
    }

    /// The first document of block `i` (`i < blockCount`: the index's size was checked at
    /// open), without decoding the rest of its entry: what the block search probes.
    @inline(__always)
    func firstDoc(_ i: Int) -> Int {
        Int(UInt32(littleEndian: file.loadUnaligned(fromByteOffset: indexStart + i * entrySize, as: UInt32.self)))
    }

    func entry(_ i: Int) throws(IndexFormatError) -> BlockEntry {
        let at = indexStart + i * entrySize
        var r = ByteReader(file, offset: at)
        let area = indexStart - contentStart
        if version == 1 {
            let first = Int(try r.u32())
            let raw = Int(try r.u32())
            let stored = Int(try r.u32())
            let codec = try r.u8()
            r.offset += 3
            let off = try r.u64()
            // storedSize also goes to LZ4 as an Int32: bounded here, for files over 2 GiB.
            guard off <= UInt64(area), stored <= area - Int(off), stored <= Int(Int32.max) else {
                throw IndexFormatError(.corrupt, "stored block \(i) at \(off)+\(stored) overruns the block area", offset: at)
            }
            return BlockEntry(firstDoc: first, head: Part(rawSize: 0, storedSize: 0, codec: StoredFieldsFormat.codecRaw, offset: contentStart + Int(off)),
                              rest: Part(rawSize: raw, storedSize: stored, codec: codec, offset: contentStart + Int(off)))
        }
        let first = Int(try r.u32())
        let headRaw = Int(try r.u32())
        let headStored = Int(try r.u32())
        let raw = Int(try r.u32())
        let stored = Int(try r.u32())
        let headCodec = try r.u8()
        let codec = try r.u8()
        r.offset += 2
        let off = try r.u64()
        guard off <= UInt64(area), headStored <= area - Int(off), stored <= area - Int(off) - headStored,
              headStored <= Int(Int32.max), stored <= Int(Int32.max) else {
            throw IndexFormatError(.corrupt, "stored block \(i) at \(off)+\(headStored)+\(stored) overruns the block area", offset: at)
        }
        let start = contentStart + Int(off)
        return BlockEntry(firstDoc: first, head: Part(rawSize: headRaw, storedSize: headStored, codec: headCodec, offset: start),
                          rest: Part(rawSize: raw, storedSize: stored, codec: codec, offset: start + headStored))
    }

    /// Whether field `id` lives in the blocks' head parts.
    func inHead(_ id: UInt8) -> Bool { id < 64 && headFields & (1 << UInt64(id)) != 0 }

    /// The fields of document `docID`: the head fields, then the others, each in the order
    /// they were added; with `only`, just the first value of each of those fields (the others
    /// are skipped without decoding, and a part holding none of them is not read).
    public func document(_ docID: UInt32, only: Set<UInt8>? = nil) throws(IndexFormatError) -> [(UInt8, String)] {
        let doc = Int(docID)
        guard doc < documentCount else {
            throw IndexFormatError(.limitExceeded, "document \(docID) beyond the \(documentCount) stored")
        }
        // Last block whose first doc <= doc.
        var lo = 0, hi = blockCount
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if firstDoc(mid) <= doc { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else {
            throw IndexFormatError(.corrupt, "stored index has no block for document \(docID)", offset: indexStart)
        }
        let b = lo - 1
        let e = try entry(b)
        let next = b + 1 < blockCount ? try entry(b + 1).firstDoc : documentCount
        guard next > e.firstDoc, next <= documentCount else {
            throw IndexFormatError(.corrupt, "stored block \(b) holds documents \(e.firstDoc)..<\(next)", offset: indexStart + b * entrySize)
        }
        let count = next - e.firstDoc
        let index = doc - e.firstDoc
        var fields: [(UInt8, String)] = []
        if version >= 2, only?.contains(where: inHead) ?? true {
            let raw: [UInt8]
            if let hit = headCache.withLock({ $0.value(b) }) {
                raw = hit
            } else {
                raw = try decompress(e.head, block: b)
                headCache.withLock { $0.keep(b, raw) }
            }
            fields = try withUnsafeBytesTyped(raw) { (bytes) throws(IndexFormatError) in
                try decodeDocument(bytes, count: count, index: index, blockOffset: e.head.offset, only: only)
            }
        }
        guard only?.contains(where: { !inHead($0) }) ?? true else { return fields }
        let rest = only.map { $0.filter { !inHead($0) } }
        let raw: [UInt8]
        if let hit = cache.withLock({ c in c?.block == b ? c?.raw : nil }) {
            raw = hit
        } else if let rest, e.rest.codec == StoredFieldsFormat.codecLZ4, e.rest.rawSize > 16 * 1024,
                  lastPartial.withLock({ last in
                      defer { last = b }
                      return last != b
                  }),
                  let some = try partialDocument(e.rest, count: count, index: index, only: rest) {
            // A few fields of a large block: decode only its start (the fields wanted
            // usually come first).
            return fields + some
        } else {
            raw = try decompress(e.rest, block: b)
            cache.withLock { $0 = CachedBlock(block: b, raw: raw) }
        }
        return fields + (try withUnsafeBytesTyped(raw) { (bytes) throws(IndexFormatError) in
            try decodeDocument(bytes, count: count, index: index, blockOffset: e.rest.offset, only: rest)
        })
    }

    /// The wanted fields of a document from the first 16 KiB past its start, or nil when they
    /// may lie beyond (the caller then decodes the whole part).
    func partialDocument(_ e: Part, count: Int, index: Int, only: Set<UInt8>) throws(IndexFormatError) -> [(UInt8, String)]? {
        guard e.rawSize <= StoredFieldsFormat.maxBlockRawSize, count * 4 <= e.rawSize else { return nil }
        let src = UnsafeRawBufferPointer(rebasing: file[e.offset..<(e.offset + e.storedSize)])
        func decode(_ target: Int) -> [UInt8]? {
            // (Never a zero capacity: the standard library would write the count into the
            // empty-array singleton every thread shares, a data race.)
            guard e.rawSize > 0 else { return target == 0 ? [] : nil }
            var ok = true
            let out = [UInt8](unsafeUninitializedCapacity: e.rawSize) { buf, n in
                let got = mslz4_decompress_partial(src.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(e.storedSize),
                                                   buf.baseAddress, Int32(target), Int32(e.rawSize))
                if got < Int32(target) { ok = false; n = 0 } else { n = Int(got) }
            }
            return ok ? out : nil
        }
        guard let head = decode(count * 4) else { return nil }
        let start = index == 0 ? 0 : head.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: (index - 1) * 4, as: UInt32.self).littleEndian) }
        let end = head.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self).littleEndian) }
        let dataStart = count * 4
        guard start <= end, dataStart + end <= e.rawSize else { return nil }
        let target = min(dataStart + end, dataStart + start + 16 * 1024)
        guard let raw = decode(target), raw.count >= target else { return nil }
        // Fields in order until the decoded bytes run out; every wanted one must be seen
        // complete (or the document must end inside the decoded part).
        var r = ByteReader(UnsafeRawBufferPointer(start: nil, count: 0))
        return raw.withUnsafeBytes { bytes -> [(UInt8, String)]? in
            let docBytes = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + start)..<target])
            let complete = target == dataStart + end
            r = ByteReader(docBytes, base: e.offset)
            guard let fieldCount = try? r.length(limit: complete ? r.remaining / 2 : Int(UInt32.max)) else { return nil }
            var fields: [(UInt8, String)] = []
            var seen = Set<UInt8>()
            for _ in 0..<fieldCount {
                guard let id = try? r.u8(), let n = try? r.length(limit: Int(UInt32.max)) else { return complete ? nil : (only.isSubset(of: seen) ? fields : nil) }
                guard n <= r.remaining, let value = try? r.bytes(n) else { return complete ? nil : (only.isSubset(of: seen) ? fields : nil) }
                if only.contains(id), !seen.contains(id) {
                    fields.append((id, String(decoding: value, as: UTF8.self)))
                    seen.insert(id)
                    if seen == only { return fields }
                }
            }
            // The whole document was read: fields it lacks are absent, not cut off.
            return complete || only.isSubset(of: seen) ? fields : nil
        }
    }

    func decompress(_ e: Part, block b: Int) throws(IndexFormatError) -> [UInt8] {
        let at = indexStart + b * entrySize
        // Checked before allocating: a corrupt size must not allocate gigabytes.
        guard e.rawSize <= StoredFieldsFormat.maxBlockRawSize else {
            throw IndexFormatError(.corrupt, "stored block \(b) declares \(e.rawSize) raw bytes, over the \(StoredFieldsFormat.maxBlockRawSize) limit", offset: at + 4)
        }
        let src = UnsafeRawBufferPointer(rebasing: file[e.offset..<(e.offset + e.storedSize)])
        switch e.codec {
        case StoredFieldsFormat.codecRaw:
            guard e.storedSize == e.rawSize else {
                throw IndexFormatError(.corrupt, "stored raw block \(b) of \(e.storedSize) bytes declares \(e.rawSize)", offset: at + 4)
            }
            return Array(src)
        case StoredFieldsFormat.codecLZ4:
            let out = e.rawSize == 0 ? [] : [UInt8](unsafeUninitializedCapacity: e.rawSize) { buf, n in
                let got = mslz4_decompress(src.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(e.storedSize), buf.baseAddress, Int32(e.rawSize))
                // Anything but exactly the declared size is corruption; keep none of it.
                n = Int(got) == e.rawSize ? e.rawSize : 0
            }
            guard out.count == e.rawSize else {
                throw IndexFormatError(.corrupt, "stored block \(b) does not decompress to its declared \(e.rawSize) bytes", offset: e.offset)
            }
            return out
        default:
            throw IndexFormatError(.corrupt, "stored block \(b) has unknown codec \(e.codec)", offset: at + 12)
        }
    }

    /// Document `index` of a raw block holding `count` documents.
    func decodeDocument(_ raw: UnsafeRawBufferPointer, count: Int, index: Int, blockOffset: Int, only: Set<UInt8>? = nil) throws(IndexFormatError) -> [(UInt8, String)] {
        // Offsets in errors point at the compressed block: raw bytes have no file position.
        guard count <= raw.count / 4 else {
            throw IndexFormatError(.corrupt, "stored block of \(raw.count) bytes cannot hold \(count) document offsets", offset: blockOffset)
        }
        let dataStart = count * 4
        let dataLength = raw.count - dataStart
        let start = index == 0 ? 0 : Int(raw.loadUnaligned(fromByteOffset: (index - 1) * 4, as: UInt32.self).littleEndian)
        let end = Int(raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self).littleEndian)
        guard start <= end, end <= dataLength else {
            throw IndexFormatError(.corrupt, "stored document spans \(start)..<\(end) outside its block's \(dataLength) data bytes", offset: blockOffset)
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[(dataStart + start)..<(dataStart + end)]), base: blockOffset)
        // Each field takes at least 2 bytes, which bounds the count before reserving.
        let fieldCount = try r.length(limit: r.remaining / 2)
        var fields: [(UInt8, String)] = []
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let id = try r.u8()
            if let only, !only.contains(id) || fields.contains(where: { $0.0 == id }) {
                _ = try r.bytes(try r.length(limit: r.remaining))
                continue
            }
            let value = try r.string(limit: r.remaining)
            fields.append((id, value))
        }
        return fields
    }
}
