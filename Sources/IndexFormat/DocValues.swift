/// Doc values ("docvalues" file, version 1): per document a fixed set of UInt64 columns
/// (internal date, sent date, size, mailbox id, uid, flags...) for sorting, filtering and
/// result display without touching stored text. Each column is frame-of-reference bit
/// packed: (value - column minimum) at the fewest bits that hold the column's range, so
/// reading one value is O(1): one unaligned 8-byte load, a shift and a mask.
///
/// ```
/// header ("docvalues", 1)
/// column 0 data | column 1 data | ...           packed bits, then 8 zero bytes of padding
/// directory: columnCount varint | per column: name (varint length + UTF-8) |
///            min u64 | bitWidth u8 | data offset varint
/// trailer (16 bytes): directoryOffset u64 | documentCount u64
/// footer (CRC-32C)
/// ```
/// Bits are little-endian: value k of a column occupies stream bits [k·w, (k+1)·w), bit i
/// being bit (i mod 8) of byte i/8. A width-0 column (constant) has no data at all.
public enum DocValuesFormat {
    public static let name = "docvalues"
    public static let version: UInt32 = 1
    static let trailerSize = 16
    /// Padding after each packed column, so a value's 8-byte load (plus the 9th byte for
    /// widths above 56) never needs a bounds special case.
    static let padding = 8
    static let maxColumns = 4096
    static let maxNameBytes = 255
}

public struct DocValuesWriter: Sendable {
    public let columns: [String]
    private var values: [[UInt64]]
    public private(set) var documentCount = 0

    /// Column names are chosen by the caller (unique, at most 255 UTF-8 bytes each, at most
    /// 4096 columns; breaking these is a programming error).
    public init(columns: [String]) {
        precondition(columns.count <= DocValuesFormat.maxColumns, "too many doc-value columns")
        precondition(Set(columns).count == columns.count, "doc-value column names must be unique")
        precondition(columns.allSatisfy { $0.utf8.count <= DocValuesFormat.maxNameBytes }, "doc-value column name too long")
        self.columns = columns
        values = Array(repeating: [], count: columns.count)
    }

    /// Adds the next document's values, one per column in column order; returns its docID.
    @discardableResult
    public mutating func add(_ row: [UInt64]) -> UInt32 {
        precondition(row.count == columns.count, "expected \(columns.count) doc values, got \(row.count)")
        precondition(documentCount < Int(UInt32.max), "doc values hold at most 2^32 - 1 documents")
        for (c, v) in row.enumerated() { values[c].append(v) }
        documentCount += 1
        return UInt32(documentCount - 1)
    }

    /// Memory held by the buffered values.
    public var bytesHeld: Int { values.reduce(0) { $0 + $1.capacity * 8 } }

    public func finish() -> [UInt8] {
        var out = ByteWriter(capacity: 64 + documentCount * columns.count * 4)
        FileFraming.header(format: DocValuesFormat.name, version: DocValuesFormat.version, into: &out)
        let contentStart = out.count
        var directory = ByteWriter()
        directory.varint(UInt64(columns.count))
        for (c, name) in columns.enumerated() {
            let col = values[c]
            let lo = col.min() ?? 0
            let hi = col.max() ?? 0
            let width = DocValuesPacking.bitWidth(hi &- lo)
            directory.string(name)
            directory.u64(lo)
            directory.u8(UInt8(width))
            directory.varint(UInt64(out.count - contentStart))
            if width > 0 {
                DocValuesPacking.pack(col, minimum: lo, width: width, into: &out)
                for _ in 0..<DocValuesFormat.padding { out.u8(0) }
            }
        }
        let directoryOffset = out.count - contentStart
        out.bytes += directory.bytes
        out.u64(UInt64(directoryOffset))
        out.u64(UInt64(documentCount))
        FileFraming.finish(&out)
        return out.bytes
    }
}

enum DocValuesPacking {
    /// Bits needed for `range` (0 for 0).
    static func bitWidth(_ range: UInt64) -> Int { 64 - range.leadingZeroBitCount }

    /// Bytes of `count` values at `width` bits, without padding (nil on overflow).
    static func packedBytes(count: Int, width: Int) -> Int? {
        let (bits, o) = count.multipliedReportingOverflow(by: width)
        if o { return nil }
        let (rounded, o2) = bits.addingReportingOverflow(7)
        return o2 ? nil : rounded / 8
    }

    static func pack(_ values: [UInt64], minimum: UInt64, width: Int, into out: inout ByteWriter) {
        var acc: UInt64 = 0
        var accBits = 0
        for v in values {
            let x = v &- minimum
            // Swift's smart shifts give 0 when shifting by 64, which is exactly what the
            // bit stream needs when the accumulator is empty or full.
            acc |= x << UInt64(accBits)
            if accBits + width >= 64 {
                out.u64(acc)
                acc = accBits == 0 ? 0 : x >> UInt64(64 - accBits)
                accBits = accBits + width - 64
            } else {
                accBits += width
            }
        }
        var rest = accBits
        while rest > 0 {
            out.u8(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            rest -= 8
        }
    }
}

/// Reads a doc-values file in place. `@unchecked Sendable`: the buffer pointer is only read
/// and the caller keeps the bytes alive and unchanged while the reader is used (a read-only
/// mapping of an immutable segment file); everything else is immutable.
public struct DocValuesReader: @unchecked Sendable {
    struct Column {
        var name: String
        var minimum: UInt64
        var width: Int
        var mask: UInt64
        var dataStart: Int  // absolute
    }

    let file: UnsafeRawBufferPointer
    let columns: [Column]
    public let documentCount: Int

    public var columnNames: [String] { columns.map(\.name) }

    public init(_ file: UnsafeRawBufferPointer, verifyChecksum: Bool = true) throws(IndexFormatError) {
        var (_, content, t) = try FileFraming.open(file, format: DocValuesFormat.name, supported: 1...1, trailerSize: DocValuesFormat.trailerSize,
                                                   verifyChecksum: verifyChecksum)
        self.file = file
        let trailerAt = t.offset
        let directoryOffset = try t.u64()
        let docs = try t.u64()
        let dataLength = trailerAt - content.lowerBound
        guard directoryOffset <= UInt64(dataLength) else {
            throw IndexFormatError(.corrupt, "docvalues directory offset \(directoryOffset) beyond the content", offset: trailerAt)
        }
        guard docs <= UInt64(UInt32.max) else {
            throw IndexFormatError(.corrupt, "docvalues document count \(docs) over 2^32 - 1", offset: trailerAt + 8)
        }
        documentCount = Int(docs)
        let dataEnd = Int(directoryOffset)  // relative to content start: packed data ends here
        var d = ByteReader(UnsafeRawBufferPointer(rebasing: file[(content.lowerBound + dataEnd)..<trailerAt]), base: content.lowerBound + dataEnd)
        let count = try d.length(limit: DocValuesFormat.maxColumns)
        var cols: [Column] = []
        cols.reserveCapacity(count)
        for _ in 0..<count {
            let at = d.base + d.offset
            let name = try d.string(limit: DocValuesFormat.maxNameBytes)
            let minimum = try d.u64()
            let width = Int(try d.u8())
            let offset = try d.length(limit: dataEnd)
            guard width <= 64 else {
                throw IndexFormatError(.corrupt, "docvalues column \(name) bit width \(width)", offset: at)
            }
            if width > 0 {
                // Validated once here so value() can load without further checks.
                guard let packed = DocValuesPacking.packedBytes(count: documentCount, width: width),
                      packed + DocValuesFormat.padding <= dataEnd - offset else {
                    throw IndexFormatError(.corrupt, "docvalues column \(name) data overruns its area", offset: at)
                }
            }
            let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
            cols.append(Column(name: name, minimum: minimum, width: width, mask: mask, dataStart: content.lowerBound + offset))
        }
        columns = cols
    }

    /// Bits per value of `column` (0 for a constant column), or nil for no such column.
    public func bitWidth(column: Int) -> Int? {
        columns.indices.contains(column) ? columns[column].width : nil
    }

    public func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    /// The value of `column` for `doc`, in O(1).
    @inline(__always)
    public func value(column: Int, doc: UInt32) throws(IndexFormatError) -> UInt64 {
        guard column >= 0, column < columns.count else {
            throw IndexFormatError(.limitExceeded, "docvalues column \(column) of \(columns.count)")
        }
        guard Int(doc) < documentCount else {
            throw IndexFormatError(.limitExceeded, "docvalues document \(doc) of \(documentCount)")
        }
        let c = columns[column]
        if c.width == 0 { return c.minimum }
        // In range: init checked packedBytes(documentCount, width) + 8 bytes of padding.
        let bit = Int(doc) * c.width
        let byte = c.dataStart + bit >> 3
        let shift = UInt64(bit & 7)
        var x = file.loadUnaligned(fromByteOffset: byte, as: UInt64.self).littleEndian >> shift
        if shift + UInt64(c.width) > 64 {
            x |= UInt64(file[byte + 8]) << (64 - shift)
        }
        return c.minimum &+ (x & c.mask)
    }
}
