/// The header and footer every index file carries (docs/format.md, "File framing").
///
/// ```
/// header:  "MSFT" (4) | format name length (1) | format name (ASCII) | version (u32 LE)
/// ...      the file's own content
/// footer:  "TFSM" (4) | checksum algorithm = 1 (u32 LE, CRC-32C) | checksum (u64 LE, the
///          CRC-32C of every byte before the footer in its low 32 bits)
/// ```
public enum FileFraming {
    public static let headerMagic: [UInt8] = Array("MSFT".utf8)
    public static let footerMagic: [UInt8] = Array("TFSM".utf8)
    public static let footerSize = 16
    public static let crc32cAlgorithm: UInt32 = 1

    /// Starts a file: the header for `format` at `version`.
    public static func header(format: String, version: UInt32, into w: inout ByteWriter) {
        precondition(format.utf8.count < 64 && format.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "format names are short ASCII")
        w.bytes += headerMagic
        w.u8(UInt8(format.utf8.count))
        w.bytes += format.utf8
        w.u32(version)
    }

    /// Ends a file: the footer with the CRC-32C of everything written so far (drained or not).
    public static func finish(_ w: inout ByteWriter) {
        let crc = CRC32C.checksum(w.bytes, continuing: w.drainedCRC)
        w.bytes += footerMagic
        w.u32(crc32cAlgorithm)
        w.u64(UInt64(crc))
    }

    /// Checks the footer's checksum and the header; returns the version and the range of the
    /// content between header and footer. Without `verifyChecksum` the footer's magic and
    /// algorithm are still checked but the bytes are not summed (a search that opens a large
    /// index from the command line; `mailsift verify`, merges and the daemon sum them): the
    /// codecs must and do reject or survive any bytes on their own.
    public static func open(_ file: UnsafeRawBufferPointer, format: String, supported: ClosedRange<UInt32>,
                            verifyChecksum: Bool = true) throws(IndexFormatError) -> (version: UInt32, content: Range<Int>) {
        let headerMin = headerMagic.count + 1 + 4
        guard file.count >= headerMin + footerSize else {
            throw IndexFormatError(.corrupt, "\(format) file too short (\(file.count) bytes)", offset: 0)
        }
        let footerStart = file.count - footerSize
        var r = ByteReader(file, offset: footerStart)
        let fm = try r.bytes(4)
        guard fm.elementsEqual(footerMagic) else {
            throw IndexFormatError(.corrupt, "\(format) footer magic missing (truncated file?)", offset: footerStart)
        }
        let algorithm = try r.u32()
        guard algorithm == crc32cAlgorithm else {
            throw IndexFormatError(.formatTooNew, "\(format) checksum algorithm \(algorithm) unknown", offset: footerStart + 4)
        }
        let stored = try r.u64()
        let actual = verifyChecksum ? UInt64(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: file[0..<footerStart]))) : stored
        guard stored == actual else {
            throw IndexFormatError(.corrupt, "\(format) checksum mismatch: stored \(hex(stored)), computed \(hex(actual))", offset: footerStart + 8)
        }
        var h = ByteReader(file)
        guard try h.bytes(4).elementsEqual(headerMagic) else {
            throw IndexFormatError(.wrongFormat, "not a Mailsift index file (no header magic)", offset: 0)
        }
        let nameLength = Int(try h.u8())
        let name = String(decoding: try h.bytes(nameLength), as: UTF8.self)
        guard name == format else {
            throw IndexFormatError(.wrongFormat, "expected a \(format) file, found \(name)", offset: 5)
        }
        let version = try h.u32()
        if version < supported.lowerBound {
            throw IndexFormatError(.formatTooOld, "\(format) version \(version) is older than \(supported.lowerBound), the oldest this build reads", offset: h.offset - 4)
        }
        if version > supported.upperBound {
            throw IndexFormatError(.formatTooNew, "\(format) version \(version) is newer than \(supported.upperBound), the newest this build reads", offset: h.offset - 4)
        }
        guard h.offset <= footerStart else { throw IndexFormatError(.corrupt, "\(format) header overlaps footer", offset: h.offset) }
        return (version, h.offset..<footerStart)
    }

    /// `open`, for formats that end their content with a fixed-size trailer: also checks the
    /// content holds the trailer and returns a reader positioned at its first byte.
    public static func open(_ file: UnsafeRawBufferPointer, format: String, supported: ClosedRange<UInt32>,
                            trailerSize: Int, verifyChecksum: Bool = true) throws(IndexFormatError) -> (version: UInt32, content: Range<Int>, trailer: ByteReader) {
        let (version, content) = try open(file, format: format, supported: supported, verifyChecksum: verifyChecksum)
        guard content.count >= trailerSize else {
            throw IndexFormatError(.corrupt, "\(format) content too short for its trailer", offset: content.lowerBound)
        }
        return (version, content, ByteReader(file, offset: content.upperBound - trailerSize))
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}
