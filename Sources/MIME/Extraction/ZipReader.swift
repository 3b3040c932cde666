// Bounded access to ZIP containers (OOXML, ODF) with zip-bomb protection.
//
// The central directory and local headers are parsed here with bounds checks on every field; only the
// raw-deflate decoder of ZIPFoundation (`Data.decompress`) is used. ZIPFoundation 0.9.20's
// `Archive(data:accessMode:)` is not used because crafted offsets crash its in-memory file
// (`MemoryFile.readData` builds a negative range when seeking past the end), and on Linux its
// entry reader can spin forever at end of input; our provider below always returns full,
// zero-padded chunks and throws once the entry's compressed bytes are exhausted.
import Foundation
import ZIPFoundation

final class BoundedZip {
    struct Entry {
        let path: String
        let method: UInt16
        let flags: UInt16
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64
    }

    enum OpenError: Error {
        case notZip(String)
        case limit(String)
    }

    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    private let data: [UInt8]
    private let limits: ExtractionLimits
    private(set) var entries: [String: Entry] = [:]
    private(set) var paths: [String] = []
    private(set) var expandedBytes = 0

    /// Entries smaller than this are not subject to the compression-ratio check
    /// (tiny, highly compressible XML parts would otherwise trip it).
    static let ratioFloor: UInt64 = 64 << 10

    init(data: [UInt8], limits: ExtractionLimits) throws {
        self.data = data
        self.limits = limits
        guard let eocd = BoundedZip.findEndOfCentralDirectory(data) else {
            throw OpenError.notZip("no ZIP end-of-central-directory record")
        }
        var count = u16(eocd + 10).map(UInt64.init) ?? 0
        var cdOffset = u32(eocd + 16).map(UInt64.init) ?? 0
        // ZIP64: locator immediately before the EOCD record.
        if eocd >= 20, data.extractionHasBytes([0x50, 0x4B, 0x06, 0x07], at: eocd - 20),
           let z64 = u64(eocd - 20 + 8), z64 < UInt64(data.count), let z = Int(exactly: z64),
           data.extractionHasBytes([0x50, 0x4B, 0x06, 0x06], at: z),
           let c = u64(z + 32), let o = u64(z + 48) {
            count = c
            cdOffset = o
        }
        guard cdOffset < UInt64(data.count), var pos = Int(exactly: cdOffset) else {
            throw OpenError.notZip("central directory offset out of range")
        }
        if count > UInt64(max(0, limits.maxZipEntries)) {
            throw OpenError.limit("ZIP declares \(count) entries; limit \(limits.maxZipEntries)")
        }
        var seen = 0
        while UInt64(seen) < count {
            guard data.extractionHasBytes([0x50, 0x4B, 0x01, 0x02], at: pos),
                  let flags = u16(pos + 8), let method = u16(pos + 10),
                  let csize32 = u32(pos + 20), let usize32 = u32(pos + 24),
                  let nameLen = u16(pos + 28), let extraLen = u16(pos + 30), let commentLen = u16(pos + 32),
                  let offset32 = u32(pos + 42) else { break } // damaged directory: keep what we have
            let nameStart = pos + 46
            let extraStart = nameStart + Int(nameLen)
            let next = extraStart + Int(extraLen) + Int(commentLen)
            guard next <= data.count else { break }
            seen += 1
            if seen > limits.maxZipEntries {
                throw OpenError.limit("ZIP has more than \(limits.maxZipEntries) entries")
            }
            var usize = UInt64(usize32), csize = UInt64(csize32), offset = UInt64(offset32)
            // ZIP64 extended information extra field (0x0001): only the fields saturated in the header.
            var e = extraStart
            while e + 4 <= extraStart + Int(extraLen) {
                guard let id = u16(e), let len = u16(e + 2) else { break }
                let body = e + 4
                let bodyEnd = body + Int(len)
                guard bodyEnd <= extraStart + Int(extraLen) else { break }
                if id == 0x0001 {
                    var f = body
                    if usize32 == 0xFFFF_FFFF, f + 8 <= bodyEnd, let v = u64(f) { usize = v; f += 8 }
                    if csize32 == 0xFFFF_FFFF, f + 8 <= bodyEnd, let v = u64(f) { csize = v; f += 8 }
                    if offset32 == 0xFFFF_FFFF, f + 8 <= bodyEnd, let v = u64(f) { offset = v; f += 8 }
                }
                e = bodyEnd
            }
            let path = String(decoding: data[nameStart..<extraStart], as: UTF8.self)
            if entries[path] == nil {
                entries[path] = Entry(path: path, method: method, flags: flags, compressedSize: csize,
                                      uncompressedSize: usize, localHeaderOffset: offset)
                paths.append(path)
            }
            pos = next
        }
    }

    static func findEndOfCentralDirectory(_ data: [UInt8]) -> Int? {
        let sig: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
        guard data.count >= 22 else { return nil }
        let lowest = max(0, data.count - (0xFFFF + 22))
        var i = data.count - 22
        while i >= lowest {
            if data[i] == 0x50 && data.extractionHasBytes(sig, at: i) { return i }
            i -= 1
        }
        return nil
    }

    private func u16(_ at: Int) -> UInt16? {
        guard at >= 0, at <= data.count - 2 else { return nil }
        return UInt16(data[at]) | UInt16(data[at + 1]) << 8
    }

    private func u32(_ at: Int) -> UInt32? {
        guard at >= 0, at <= data.count - 4 else { return nil }
        return UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
    }

    private func u64(_ at: Int) -> UInt64? {
        guard let lo = u32(at), let hi = u32(at + 4) else { return nil }
        return UInt64(lo) | UInt64(hi) << 32
    }

    func contains(_ path: String) -> Bool { entries[path] != nil }

    /// Reads one entry fully; nil when absent or a directory.
    /// Throws `ExtractionLimitError` when a bound is hit, `ReadError` for corrupt or unsupported data.
    func read(_ path: String) throws -> [UInt8]? {
        guard let entry = entries[path], !path.hasSuffix("/") else { return nil }
        if entry.flags & 1 != 0 { throw ReadError(description: "ZIP entry \(path) is encrypted") }
        let remaining = max(0, limits.maxExpandedBytes - expandedBytes)
        let declared = entry.uncompressedSize
        if declared > UInt64(remaining) {
            throw ExtractionLimitError(detail: "ZIP entry \(path) declares \(declared) bytes; expansion budget left \(remaining)")
        }
        let (product, overflow) = entry.compressedSize.multipliedReportingOverflow(by: UInt64(max(1, limits.maxCompressionRatio)))
        let ratioCap = overflow ? UInt64.max : max(product, BoundedZip.ratioFloor)
        if declared > ratioCap {
            throw ExtractionLimitError(detail: "ZIP entry \(path) compression ratio exceeds \(limits.maxCompressionRatio)")
        }
        let cap = Int(min(UInt64(remaining), ratioCap))

        // Locate the data via the local header.
        guard entry.localHeaderOffset < UInt64(data.count), let lh = Int(exactly: entry.localHeaderOffset),
              data.extractionHasBytes([0x50, 0x4B, 0x03, 0x04], at: lh),
              let nameLen = u16(lh + 26), let extraLen = u16(lh + 28) else {
            throw ReadError(description: "ZIP entry \(path): bad local header")
        }
        let start = lh + 30 + Int(nameLen) + Int(extraLen)
        guard start <= data.count, entry.compressedSize <= UInt64(data.count - start) else {
            throw ReadError(description: "ZIP entry \(path): data out of range")
        }
        let end = start + Int(entry.compressedSize)

        var out: [UInt8] = []
        defer { expandedBytes += out.count }
        switch entry.method {
        case 0:
            if end - start > cap { throw ExtractionLimitError(detail: "ZIP entry \(path) expands beyond \(cap) bytes") }
            out.append(contentsOf: data[start..<end])
        case 8:
            do {
                out = try Inflate.raw(data, start..<end, cap: cap, sizeHint: Int(min(declared, UInt64(Int.max))))
            } catch {
                switch error {
                case .limit: throw ExtractionLimitError(detail: "ZIP entry \(path) expands beyond \(cap) bytes")
                case .corrupt(let why): throw ReadError(description: "ZIP entry \(path): \(why)")
                }
            }
        default:
            throw ReadError(description: "ZIP entry \(path): unsupported compression method \(entry.method)")
        }
        return out
    }

    /// Paths matching `prefix` + digits + `suffix`, sorted by the number.
    func numbered(prefix: String, suffix: String) -> [String] {
        var found: [(Int, String)] = []
        for p in paths where p.hasPrefix(prefix) && p.hasSuffix(suffix) && p.count > prefix.count + suffix.count {
            let middle = p.dropFirst(prefix.count).dropLast(suffix.count)
            guard middle.count <= 9, middle.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(middle) else { continue }
            found.append((n, p))
        }
        return found.sorted { $0.0 < $1.0 }.map { $0.1 }
    }
}
