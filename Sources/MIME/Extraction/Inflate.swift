import Foundation
import ZIPFoundation

/// Bounded DEFLATE decoding (RFC 1951) over ZIPFoundation's raw decoder, and gzip (RFC 1952)
/// framing for the `x-gzip64` transfer encoding.
enum Inflate {
    enum Failure: Error, CustomStringConvertible {
        case limit(Int)
        case corrupt(String)
        var isLimit: Bool { if case .limit = self { return true }; return false }
        var description: String {
            switch self {
            case .limit(let cap): return "expands beyond \(cap) bytes"
            case .corrupt(let why): return why
            }
        }
    }

    static let chunkSize = 16 << 10

    /// Inflates the raw DEFLATE stream in `source[range]`, producing at most `cap` bytes.
    static func raw(_ source: [UInt8], _ range: Range<Int>, cap: Int, sizeHint: Int = 0) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(max(sizeHint, 0), min(cap, 1 << 24)))
        var position = range.lowerBound
        let end = range.upperBound
        var failure: Failure?
        do {
            _ = try Data.decompress(size: Int64(end - position), bufferSize: chunkSize, skipCRC32: true, provider: { _, size in
                // Always hand over exactly `size` bytes (ZIPFoundation's Linux decoder assumes full
                // chunks); zero padding makes a non-terminated stream fail as corrupt instead of spinning.
                guard position < end else {
                    failure = .corrupt("deflate stream not terminated")
                    throw Failure.corrupt("deflate stream not terminated")
                }
                let take = min(size, end - position)
                var chunk = Data(source[position..<(position + take)])
                if take < size { chunk.append(Data(count: size - take)) }
                position += take
                return chunk
            }, consumer: { chunk in
                if chunk.count > cap - out.count {
                    failure = .limit(cap)
                    throw Failure.limit(cap)
                }
                out.append(contentsOf: chunk)
            })
        } catch {
            throw failure ?? .corrupt("\(error)")
        }
        return out
    }

    /// A gzip member: header (with optional extra, name, comment, header CRC), deflate data, trailer.
    static func gunzip(_ bytes: [UInt8], cap: Int) throws(Failure) -> [UInt8] {
        guard bytes.count >= 18, bytes[0] == 0x1F, bytes[1] == 0x8B, bytes[2] == 8 else { throw .corrupt("not a gzip stream") }
        let flags = bytes[3]
        var i = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard i + 2 <= bytes.count else { throw .corrupt("truncated gzip header") }
            i += 2 + Int(bytes[i]) + Int(bytes[i + 1]) << 8
        }
        for flag in [UInt8(0x08), 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: NUL-terminated
            while i < bytes.count, bytes[i] != 0 { i += 1 }
            i += 1
        }
        if flags & 0x02 != 0 { i += 2 }  // FHCRC
        guard i < bytes.count else { throw .corrupt("truncated gzip header") }
        return try raw(bytes, i..<bytes.count, cap: cap)
    }
}
