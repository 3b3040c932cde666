import IndexFormat
import MailsiftCore

/// Which documents of a segment are deleted (expunged): a bitmap beside the immutable
/// segment, written as a new generation on each commit that changes it.
public struct Deletions: Sendable, Hashable {
    public static let format = "deletions"
    public static let version: UInt32 = 1

    public private(set) var documentCount: UInt32
    private var bits: [UInt64]
    public private(set) var deletedCount: UInt32 = 0

    public init(documentCount: UInt32) {
        self.documentCount = documentCount
        bits = [UInt64](repeating: 0, count: (Int(documentCount) + 63) / 64)
    }

    /// Word `w` of the bitmap (bit `d & 63` of word `d >> 6`: doc d deleted).
    @inline(__always) public func word(_ w: Int) -> UInt64 { w < bits.count ? bits[w] : 0 }

    @inline(__always) public func isDeleted(_ doc: UInt32) -> Bool {
        guard doc < documentCount else { return true }
        return bits[Int(doc >> 6)] & (1 << UInt64(doc & 63)) != 0
    }

    /// Marks `doc` deleted; false when it already was (or is out of range).
    @discardableResult public mutating func delete(_ doc: UInt32) -> Bool {
        guard doc < documentCount, !isDeleted(doc) else { return false }
        bits[Int(doc >> 6)] |= 1 << UInt64(doc & 63)
        deletedCount += 1
        return true
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        FileFraming.header(format: Self.format, version: Self.version, into: &w)
        w.u32(documentCount)
        w.u32(deletedCount)
        for word in bits { w.u64(word) }
        FileFraming.finish(&w)
        return w.bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(IndexFormatError) -> Deletions {
        let (_, content) = try FileFraming.open(bytes, format: format, supported: 1...version)
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[..<content.upperBound]), offset: content.lowerBound)
        let n = try r.u32()
        let claimed = try r.u32()
        guard r.remaining == (Int(n) + 63) / 64 * 8 else {
            throw IndexFormatError(.corrupt, "deletion bitmap size does not match \(n) documents", offset: r.offset)
        }
        var d = Deletions(documentCount: n)
        var count: UInt32 = 0
        for k in d.bits.indices {
            d.bits[k] = try r.u64()
            count += UInt32(d.bits[k].nonzeroBitCount)
        }
        if n % 64 != 0, let last = d.bits.last, last >> UInt64(n % 64) != 0 {
            throw IndexFormatError(.corrupt, "deletion bits set beyond the \(n) documents", offset: content.upperBound - 8)
        }
        guard count == claimed else { throw IndexFormatError(.corrupt, "deletion count \(claimed) but \(count) bits set", offset: content.lowerBound + 4) }
        d.deletedCount = count
        return d
    }
}

extension Deletions {
    /// The committed deletions of a manifest's segment (none when it has no deletions file).
    static func load(directory: String, entry: Manifest.SegmentEntry) throws(MailsiftError) -> Deletions {
        guard entry.deletionsGeneration > 0 else { return Deletions(documentCount: entry.documentCount) }
        let path = SegmentFiles.deletionsPath(directory, entry.name, generation: entry.deletionsGeneration)
        let file = try MappedFile(path: path)
        let d: Deletions
        do { d = try decode(file.bytes) } catch { throw MailsiftError(.corrupt, "\(path): \(error)") }
        guard d.documentCount == entry.documentCount else {
            throw MailsiftError(.corrupt, "\(path): \(d.documentCount) documents, the manifest says \(entry.documentCount)")
        }
        return d
    }
}
