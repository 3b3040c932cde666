// Bounded access to ZIP containers (OOXML, ODF) with zip-bomb protection.
import Foundation
import ZIPFoundation

/// A ZIP archive opened from memory whose entries are read under `ExtractionLimits`:
/// entry count, declared and actual uncompressed totals, and a per-entry compression ratio.
final class BoundedZip {
    private let archive: Archive
    private(set) var entries: [String: Entry] = [:]
    private(set) var paths: [String] = []
    private let limits: ExtractionLimits
    private(set) var expandedBytes = 0

    /// Entries smaller than this are not subject to the compression-ratio check
    /// (tiny highly-compressible XML parts would otherwise trip it).
    static let ratioFloor: UInt64 = 64 << 10

    enum OpenError: Error {
        case notZip(String)
        case limit(String)
    }

    init(data: [UInt8], limits: ExtractionLimits) throws {
        self.limits = limits
        // The end-of-central-directory record must be within the last 64 KiB + 22 bytes.
        // Checking it here keeps ZIPFoundation from scanning a whole garbage file byte by byte.
        guard BoundedZip.hasEndOfCentralDirectory(data) else { throw OpenError.notZip("no ZIP end-of-central-directory record") }
        let archive: Archive
        do {
            archive = try Archive(data: Data(data), accessMode: .read)
        } catch {
            throw OpenError.notZip("not a readable ZIP archive: \(error)")
        }
        self.archive = archive
        var count = 0
        for entry in archive {
            count += 1
            if count > limits.maxZipEntries {
                throw OpenError.limit("ZIP has more than \(limits.maxZipEntries) entries")
            }
            let path = entry.path
            if entries[path] == nil {
                entries[path] = entry
                paths.append(path)
            }
        }
    }

    static func hasEndOfCentralDirectory(_ data: [UInt8]) -> Bool {
        let sig: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
        guard data.count >= 22 else { return false }
        let lowest = max(0, data.count - (0xFFFF + 22))
        var i = data.count - 22
        while i >= lowest {
            if data[i] == 0x50 && data.extractionHasBytes(sig, at: i) { return true }
            i -= 1
        }
        return false
    }

    func contains(_ path: String) -> Bool { entries[path] != nil }

    /// Reads one entry fully; nil when absent or not a regular file.
    /// Throws `ExtractionLimitError` when a bound is hit, other errors for corrupt data.
    func read(_ path: String) throws -> [UInt8]? {
        guard let entry = entries[path], entry.type == .file else { return nil }
        let remaining = max(0, limits.maxExpandedBytes - expandedBytes)
        let declared = entry.uncompressedSize
        let compressed = entry.compressedSize
        if declared > UInt64(remaining) {
            throw ExtractionLimitError(detail: "ZIP entry \(path) declares \(declared) bytes; expansion budget left \(remaining)")
        }
        let (product, overflow) = compressed.multipliedReportingOverflow(by: UInt64(max(1, limits.maxCompressionRatio)))
        let ratioCap = overflow ? UInt64.max : max(product, BoundedZip.ratioFloor)
        if declared > ratioCap {
            throw ExtractionLimitError(detail: "ZIP entry \(path) compression ratio exceeds \(limits.maxCompressionRatio)")
        }
        let cap = Int(min(UInt64(remaining), ratioCap))
        var out: [UInt8] = []
        out.reserveCapacity(Int(min(declared, UInt64(min(cap, 1 << 24)))))
        var limitHit: String?
        do {
            _ = try archive.extract(entry, skipCRC32: true) { chunk in
                if chunk.count > cap - out.count {
                    limitHit = "ZIP entry \(path) expands beyond \(cap) bytes"
                    throw ExtractionLimitError(detail: limitHit ?? "")
                }
                out.append(contentsOf: chunk)
            }
        } catch let e as ExtractionLimitError {
            expandedBytes += out.count
            throw e
        } catch {
            expandedBytes += out.count
            if let hit = limitHit { throw ExtractionLimitError(detail: hit) }
            throw error
        }
        expandedBytes += out.count
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
