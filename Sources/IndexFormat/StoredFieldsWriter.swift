import CLZ4
import Dispatch

/// Stored fields ("stored" file, version 2): per document the (fieldID, text) pairs kept for
/// snippets and exact substring verification. Documents are packed into ~32 KiB raw blocks;
/// each block has two parts, each LZ4-compressed on its own: the head (the writer's head
/// fields, short ones a results page shows) and the rest. Reading a document's sender and
/// subject decompresses a few KiB; reading its body, one part of one block.
///
/// ```
/// header ("stored", 2)
/// block 0 (head part | rest part) | block 1 | ...   LZ4 (or raw) bytes of each raw part
/// index: blockCount × 32-byte entries, sorted by first docID:
///        firstDoc u32 | headRawSize u32 | headStoredSize u32 | rawSize u32 | storedSize u32
///        | headCodec u8 | codec u8 | 0 0 | offset u64 (the head part; the rest follows it)
/// trailer (32 bytes): indexOffset u64 | documentCount u64 | blockCount u32 | level u32
///        | headFields u64 (bit i: field id i is a head field)
/// footer (CRC-32C)
///
/// raw part: docCount × u32 doc end offsets (relative to the data) | data
/// document:  fieldCount varint | per field: fieldID u8 | byte length varint | UTF-8 bytes
/// ```
///
/// Version 1 (still read) had one part per block, 24-byte index entries (firstDoc | rawSize
/// | storedSize | codec 0 0 0 | offset) and a 24-byte trailer without headFields.
public enum StoredFieldsFormat {
    public static let name = "stored"
    public static let version: UInt32 = 2
    /// A block closes once its raw size reaches this: large enough for LZ4 to find repeats
    /// across messages (quoted replies, signatures, headers), small enough that fetching one
    /// document decompresses little else.
    public static let defaultTargetBlockSize = 32 * 1024
    /// Largest raw block a reader decompresses (checked before allocating). The writer cuts
    /// the values of a single document that would not fit (see `StoredFieldsWriter.add`).
    public static let maxBlockRawSize = 16 * 1024 * 1024
    /// LZ4 fast (0) by default. On 16 MB of ham subjects+bodies (terms-bench) LZ4 reaches a
    /// 2.32 ratio at ~400 MB/s; LZ4-HC 9 reaches 2.73 (15% fewer bytes) but compresses at
    /// ~70 MB/s, and both decompress at 3.4-3.9 GB/s. Stored blocks are recompressed on
    /// every segment merge, so the build cost recurs; callers wanting the smaller files
    /// pass a level (HC 1 already gets 2.64 at ~135 MB/s).
    public static let defaultCompressionLevel: Int32 = 0
    static let indexEntrySize = 32
    static let trailerSize = 32
    static let indexEntrySizeV1 = 24
    static let trailerSizeV1 = 24
    static let codecRaw: UInt8 = 0
    static let codecLZ4: UInt8 = 1
}

public struct StoredFieldsWriter: Sendable {
    /// 0 = LZ4 fast, 1...12 = LZ4-HC at that level (Int32: the C shim's type).
    public let compressionLevel: Int32
    public let targetBlockSize: Int
    /// Field ids (bit i: id i, ids 0…63) written to the blocks' head parts.
    public let headFields: UInt64
    public private(set) var documentCount = 0
    /// Documents whose text was cut to fit one block (more than ~16 MiB of stored text).
    public private(set) var truncatedDocuments = 0

    private var out = ByteWriter(capacity: 1 << 16)
    private let contentStart: Int
    private var data = ByteWriter(capacity: 64 * 1024)
    private var docEnds: [UInt32] = []
    private var headData = ByteWriter(capacity: 8 * 1024)
    private var headEnds: [UInt32] = []
    private var blockFirstDoc = 0
    private var index = ByteWriter()
    private var blockCount = 0
    /// Closed blocks waiting to be compressed together (`parallelism` > 1): first doc and
    /// the two raw parts.
    private var pending: [(firstDoc: Int, head: [UInt8], rest: [UInt8])] = []
    /// Blocks compressed at once on that many threads (1: each as it closes). The file is the
    /// same, byte for byte: each block is compressed alone and they are written in order.
    /// For LZ4-HC, whose compression is most of a merge's stored pass.
    public var parallelism = 1

    public init(compressionLevel: Int32 = StoredFieldsFormat.defaultCompressionLevel,
                targetBlockSize: Int = StoredFieldsFormat.defaultTargetBlockSize, headFields: Set<UInt8> = []) {
        self.compressionLevel = min(max(0, compressionLevel), 12)
        self.headFields = headFields.reduce(UInt64(0)) { $1 < 64 ? $0 | 1 << UInt64($1) : $0 }
        self.targetBlockSize = min(max(1, targetBlockSize), StoredFieldsFormat.maxBlockRawSize / 2)
        FileFraming.header(format: StoredFieldsFormat.name, version: StoredFieldsFormat.version, into: &out)
        contentStart = out.count
    }

    /// Adds one document and returns its docID (0, 1, 2, ... in call order).
    ///
    /// A document must fit one raw block (16 MiB, the reader's allocation bound). Past that,
    /// values are cut at a UTF-8 scalar boundary (later fields first lose what no longer
    /// fits) and `truncatedDocuments` counts it: such text is far beyond what snippets use,
    /// and refusing the message would lose its whole stored record. At most 2^32 - 1
    /// documents (docIDs are UInt32; a programming limit, checked).
    @discardableResult
    public mutating func add(document fields: [(UInt8, String)]) -> UInt32 {
        precondition(documentCount < Int(UInt32.max), "stored fields hold at most 2^32 - 1 documents")
        // Worst-case raw size: field-count varint, per field id + length varint + bytes, and
        // this document's u32 end offset.
        let perField = 1 + 10
        var size = 10 + 4
        for (_, v) in fields { size += perField + v.utf8.count }
        var fields = fields
        if size > StoredFieldsFormat.maxBlockRawSize {
            fields = Self.cut(fields, budget: StoredFieldsFormat.maxBlockRawSize - 14, perField: perField)
            size = 14 + fields.reduce(0) { $0 + perField + $1.1.utf8.count }
            truncatedDocuments += 1
        }
        // Close the block first if this document would push it past the reader's limit (both
        // parts counted together: each then stays under it).
        if !docEnds.isEmpty, rawSize + size + 14 > StoredFieldsFormat.maxBlockRawSize {
            flushBlock()
        }
        let head = fields.filter { isHead($0.0) }
        let rest = head.isEmpty ? fields : fields.filter { !isHead($0.0) }
        headData.varint(UInt64(head.count))
        for (id, v) in head {
            headData.u8(id)
            headData.string(v)
        }
        headEnds.append(UInt32(headData.count))
        data.varint(UInt64(rest.count))
        for (id, v) in rest {
            data.u8(id)
            data.string(v)
        }
        docEnds.append(UInt32(data.count))
        let id = UInt32(documentCount)
        documentCount += 1
        if rawSize >= targetBlockSize { flushBlock() }
        return id
    }

    /// `fields` cut to `budget` raw bytes: each value keeps what is left of the budget, cut
    /// back to a scalar boundary; fields for which nothing is left are dropped.
    static func cut(_ fields: [(UInt8, String)], budget: Int, perField: Int) -> [(UInt8, String)] {
        var left = budget
        var out: [(UInt8, String)] = []
        for (id, v) in fields {
            guard left >= perField else { break }
            left -= perField
            let utf8 = Array(v.utf8)
            var n = min(utf8.count, left)
            // Back off over continuation bytes (10xxxxxx) so no scalar is split.
            while n > 0, n < utf8.count, utf8[n] & 0xC0 == 0x80 { n -= 1 }
            out.append((id, n == utf8.count ? v : String(decoding: utf8[..<n], as: UTF8.self)))
            left -= n
        }
        return out
    }

    func isHead(_ id: UInt8) -> Bool { id < 64 && headFields & (1 << UInt64(id)) != 0 }

    /// Raw bytes of the open block, both parts.
    private var rawSize: Int { headData.count + data.count + 4 * (docEnds.count + headEnds.count) }

    /// A raw part: the end offsets, then the data.
    private static func rawPart(_ ends: [UInt32], _ data: ByteWriter) -> [UInt8] {
        var raw = ByteWriter(capacity: 4 * ends.count + data.count)
        for e in ends { raw.u32(e) }
        raw.bytes += data.bytes
        return raw.bytes
    }

    /// A part as stored: its raw size, its bytes in the file and their codec.
    private typealias StoredPart = (raw: Int, stored: [UInt8], codec: UInt8)

    /// How a raw part is stored: LZ4 when that helps, else raw.
    private static func compress(_ raw: [UInt8], level: Int32) -> StoredPart {
        let rawSize = raw.count
        let bound = Int(mslz4_compress_bound(Int32(rawSize)))
        if bound > 0 {
            let compressed = [UInt8](unsafeUninitializedCapacity: bound) { buf, n in
                n = raw.withUnsafeBufferPointer { src in
                    Int(mslz4_compress(src.baseAddress, Int32(rawSize), buf.baseAddress, Int32(bound), level))
                }
                if n < 0 { n = 0 }
            }
            // Keep the raw bytes when LZ4 fails or does not help (already-compressed text).
            if compressed.count > 0, compressed.count < rawSize { return (rawSize, compressed, StoredFieldsFormat.codecLZ4) }
        }
        return (rawSize, raw, StoredFieldsFormat.codecRaw)
    }

    private mutating func flushBlock() {
        guard !docEnds.isEmpty else { return }
        let head = Self.rawPart(headEnds, headData)
        let rest = Self.rawPart(docEnds, data)
        if parallelism > 1 {
            pending.append((blockFirstDoc, head, rest))
            if pending.count >= 4 * parallelism { compressPending() }
        } else {
            append(firstDoc: blockFirstDoc, Self.compress(head, level: compressionLevel), Self.compress(rest, level: compressionLevel))
        }
        blockFirstDoc = documentCount
        data.bytes.removeAll(keepingCapacity: true)
        docEnds.removeAll(keepingCapacity: true)
        headData.bytes.removeAll(keepingCapacity: true)
        headEnds.removeAll(keepingCapacity: true)
    }

    /// Compresses the pending blocks on `parallelism` threads and appends them in order.
    private mutating func compressPending() {
        guard !pending.isEmpty else { return }
        let blocks = pending
        let level = compressionLevel
        let results = UnsafeMutableBufferPointer<(StoredPart, StoredPart)?>.allocate(capacity: blocks.count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        nonisolated(unsafe) let slots = results  // each iteration writes its own slot
        DispatchQueue.concurrentPerform(iterations: blocks.count) { i in
            slots[i] = (Self.compress(blocks[i].head, level: level), Self.compress(blocks[i].rest, level: level))
        }
        for (i, block) in blocks.enumerated() {
            if let (head, rest) = results[i] { append(firstDoc: block.firstDoc, head, rest) }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func append(firstDoc: Int, _ head: StoredPart, _ rest: StoredPart) {
        let offset = out.count - contentStart
        out.bytes += head.stored
        out.bytes += rest.stored
        indexEntry(firstDoc: firstDoc, offset: offset, head: (head.raw, head.stored.count, head.codec),
                   rest: (rest.raw, rest.stored.count, rest.codec))
    }

    /// A block's index entry (its two parts written at `offset`, the head first).
    private mutating func indexEntry(firstDoc: Int, offset: Int, head: (raw: Int, stored: Int, codec: UInt8),
                                     rest: (raw: Int, stored: Int, codec: UInt8)) {
        index.u32(UInt32(firstDoc))
        index.u32(UInt32(head.raw))
        index.u32(UInt32(head.stored))
        index.u32(UInt32(rest.raw))
        index.u32(UInt32(rest.stored))
        index.u8(head.codec)
        index.u8(rest.codec)
        index.u8(0); index.u8(0)
        index.u64(UInt64(offset))
        blockCount += 1
    }

    /// Appends every document of `reader`, in order, by copying its compressed blocks as they
    /// are (a merge of segments without deletions: no decompression to documents, no
    /// recompression). Each copied part is first checked to decompress to its declared size,
    /// so damage is not carried into a file whose checksum would vouch for it. Returns false,
    /// having added nothing, when the layouts differ (another version or other head fields):
    /// the caller adds the documents one by one. `drainAt`: each time the buffered bytes reach
    /// it, `drained` takes them (`drain()`), so a large input is not held whole in memory.
    public mutating func appendBlocks(of reader: StoredFieldsReader, drainAt: Int = .max,
                                      drained: ([UInt8]) throws -> Void = { _ in }) throws -> Bool {
        guard reader.version == StoredFieldsFormat.version, reader.headFields == headFields else { return false }
        guard documentCount + reader.documentCount < Int(UInt32.max) else { return false }
        var blocks: [StoredFieldsReader.BlockEntry] = []
        blocks.reserveCapacity(reader.blockCount)
        for b in 0..<reader.blockCount {
            let e = try reader.entry(b)
            // Blocks start at 0 and ascend within the reader's documents (the numbering copied).
            guard b == 0 ? e.firstDoc == 0 : e.firstDoc > blocks[b - 1].firstDoc, e.firstDoc < reader.documentCount else {
                throw IndexFormatError(.corrupt, "stored block \(b) starts at document \(e.firstDoc)")
            }
            _ = try reader.decompress(e.head, block: b)
            _ = try reader.decompress(e.rest, block: b)
            blocks.append(e)
        }
        flushBlock()
        compressPending()
        for e in blocks {
            let offset = out.count - contentStart
            out.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: reader.file[e.head.offset..<(e.head.offset + e.head.storedSize)]))
            out.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: reader.file[e.rest.offset..<(e.rest.offset + e.rest.storedSize)]))
            indexEntry(firstDoc: documentCount + e.firstDoc, offset: offset, head: (e.head.rawSize, e.head.storedSize, e.head.codec),
                       rest: (e.rest.rawSize, e.rest.storedSize, e.rest.codec))
            if out.bytes.count >= drainAt { try drained(drain()) }
        }
        documentCount += reader.documentCount
        blockFirstDoc = documentCount
        return true
    }

    /// Bytes buffered and not yet drained (compressed blocks).
    public var bufferedBytes: Int { out.bytes.count }

    /// Memory held: the buffer's capacity (array growth may reserve up to twice what it
    /// holds), the block being filled and the block index.
    public var bytesHeld: Int {
        pending.reduce(0) { $0 + $1.head.capacity + $1.rest.capacity } + out.bytes.capacity + data.bytes.capacity + 4 * docEnds.capacity + headData.bytes.capacity + 4 * headEnds.capacity + index.bytes.capacity
    }

    /// Hands over the file's bytes written so far (see `ByteWriter.drain`; blocks still
    /// waiting to be compressed stay).
    public mutating func drain() -> [UInt8] { out.drain() }

    /// The complete framed file, or its rest after what was drained. The writer should not be
    /// used afterwards.
    public mutating func finish() -> [UInt8] {
        flushBlock()
        compressPending()
        let indexOffset = out.count - contentStart
        out.bytes += index.bytes
        out.u64(UInt64(indexOffset))
        out.u64(UInt64(documentCount))
        out.u32(UInt32(blockCount))
        out.u32(UInt32(bitPattern: compressionLevel))
        out.u64(headFields)
        FileFraming.finish(&out)
        return out.bytes
    }
}
