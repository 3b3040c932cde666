import Foundation
import IndexFormat
import MailsiftCore

/// A committed generation of the index: which segments make it up and which deletion file
/// goes with each. Written whole as `manifest-<generation>` (framed, checksummed) by
/// write-fsync-rename-fsync(dir); readers open the highest generation that verifies.
public struct Manifest: Sendable, Hashable {
    public struct SegmentEntry: Sendable, Hashable {
        public var name: String
        public var documentCount: UInt32
        /// Generation of the segment's deletion file, 0 when it has no deletions.
        public var deletionsGeneration: UInt64
        public var deletedCount: UInt32
        /// Byte size of each of the segment's files, in `SegmentFiles.kinds` order (a cheap
        /// first check before checksums).
        public var fileSizes: [UInt64]
    }

    public static let format = "manifest"
    public static let version: UInt32 = 1

    public var generation: UInt64
    public var segments: [SegmentEntry]
    /// The next segment number to use (names are never reused).
    public var nextSegmentNumber: UInt64

    public init(generation: UInt64 = 0, segments: [SegmentEntry] = [], nextSegmentNumber: UInt64 = 1) {
        self.generation = generation
        self.segments = segments
        self.nextSegmentNumber = nextSegmentNumber
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        FileFraming.header(format: Self.format, version: Self.version, into: &w)
        w.u64(generation)
        w.u64(nextSegmentNumber)
        w.varint(UInt64(segments.count))
        for s in segments {
            w.string(s.name)
            w.u32(s.documentCount)
            w.varint(s.deletionsGeneration)
            w.u32(s.deletedCount)
            w.varint(UInt64(s.fileSizes.count))
            for size in s.fileSizes { w.varint(size) }
        }
        FileFraming.finish(&w)
        return w.bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(IndexFormatError) -> Manifest {
        let (_, content) = try FileFraming.open(bytes, format: format, supported: 1...version)
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[..<content.upperBound]), offset: content.lowerBound)
        var m = Manifest()
        m.generation = try r.u64()
        m.nextSegmentNumber = try r.u64()
        let count = try r.length(limit: 1_000_000)
        for _ in 0..<count {
            let name = try r.string(limit: 256)
            guard SegmentFiles.isValidName(name) else { throw IndexFormatError(.corrupt, "bad segment name \(name)", offset: r.offset) }
            let docs = try r.u32()
            let delGen = try r.varint()
            let deleted = try r.u32()
            let nFiles = try r.length(limit: 64)
            var sizes: [UInt64] = []
            for _ in 0..<nFiles { sizes.append(try r.varint()) }
            m.segments.append(SegmentEntry(name: name, documentCount: docs, deletionsGeneration: delGen, deletedCount: deleted, fileSizes: sizes))
        }
        guard r.offset == content.upperBound else { throw IndexFormatError(.corrupt, "trailing bytes in manifest", offset: r.offset) }
        guard Set(m.segments.map(\.name)).count == m.segments.count else { throw IndexFormatError(.corrupt, "a segment is listed twice") }
        for s in m.segments where s.deletedCount > s.documentCount {
            throw IndexFormatError(.corrupt, "segment \(s.name) has more deletions than documents")
        }
        guard m.generation < UInt64.max / 2, m.nextSegmentNumber < UInt64.max / 2 else {
            throw IndexFormatError(.corrupt, "implausible generation or segment number")
        }
        return m
    }

    public static func fileName(_ generation: UInt64) -> String { "manifest-" + String(format: "%010llu", generation) }

    /// Generations present in `directory`, newest first.
    static func generations(in directory: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> UInt64? in
            guard name.hasPrefix("manifest-"), !name.hasSuffix(".tmp") else { return nil }
            return UInt64(name.dropFirst("manifest-".count))
        }.sorted(by: >)
    }

    /// The newest committed manifest; an empty manifest only for a new index (no manifest at
    /// all). A newest manifest that exists but cannot be read is an error, never skipped: a
    /// final `manifest-<gen>` is only ever created by an atomic rename of a complete, fsync'd
    /// file, so an unreadable one means corruption, an I/O error or a newer format, and
    /// falling back to an older generation would lose committed data. A manifest that vanishes
    /// while being read (a concurrent commit cleaned it up) sends us back to the listing.
    public static func loadLatest(_ directory: String) throws(MailsiftError) -> Manifest {
        for _ in 0..<20 {
            guard let gen = generations(in: directory).first else { return Manifest() }
            let path = directory + "/" + fileName(gen)
            let file: MappedFile
            do { file = try MappedFile(path: path) } catch {
                if !FileManager.default.fileExists(atPath: path) { continue }  // cleaned up meanwhile
                throw error
            }
            let m: Manifest
            do { m = try decode(file.bytes) } catch {
                throw MailsiftError(error.code == .formatTooNew ? .formatTooNew : .corrupt, "\(path): \(error)")
            }
            guard m.generation == gen else {
                throw MailsiftError(.corrupt, "\(path) holds generation \(m.generation)")
            }
            return m
        }
        throw MailsiftError(.io, "the manifests in \(directory) keep changing; try again")
    }

    /// Commit point: writes this manifest as its generation, durably.
    public func write(to directory: String) throws(MailsiftError) {
        let final = directory + "/" + Self.fileName(generation)
        let tmp = final + ".tmp"
        try? FileManager.default.removeItem(atPath: tmp)
        try DurableFiles.create(tmp, encode())
        try DurableFiles.rename(tmp, final)
    }
}
