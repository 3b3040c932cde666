import IndexFormat
import MailsiftCore

/// A segment as plain bytes, for the fuzz targets (tools/fuzz) and their regression tests:
/// build one in memory, then open any bytes as a segment and read everything a search, a
/// merge or `verify` can read. Whatever the bytes, the outcome is a value or a thrown error,
/// never a trap, a hang or unbounded memory.
public enum SegmentBytes {
    /// The files of a segment built in memory from `docs`, in `SegmentFiles.kinds` order.
    public static func build(_ docs: [IndexDocument]) throws(MailsiftError) -> [[UInt8]] {
        var builder = SegmentBuilder()
        for d in docs { builder.add(d) }
        let out = SegmentOutput(memory: "bytes")
        try builder.write(to: out)
        try out.finish()
        guard let buffers = out.buffers else { throw MailsiftError(.io, "an in-memory segment lost its buffers") }
        return buffers
    }

    /// Opens `files` as a segment of `documentCount` documents and reads all of it (bounded:
    /// at most `maxTerms` terms, `maxSteps` postings per term), then merges it into a new
    /// in-memory segment, as a merge would. Returns how many postings were read.
    @discardableResult
    public static func exercise(_ files: [[UInt8]], documentCount: UInt32, verifyChecksums: Bool = false,
                                maxTerms: Int = 20_000, maxSteps: Int = 200_000) throws(MailsiftError) -> Int {
        let mapped = zip(files, SegmentFiles.kinds).map { MappedFile(copying: $0, path: "bytes.\($1)") }
        let entry = Manifest.SegmentEntry(name: "bytes", documentCount: documentCount, deletionsGeneration: 0, deletedCount: 0,
                                          fileSizes: files.map { UInt64($0.count) })
        let reader = try SegmentReader(files: mapped, entry: entry, verifyChecksums: verifyChecksums)
        var read = 0
        do {
            let cursor = TermCursor(reader.terms)
            var terms = 0
            var positions: [UInt32] = []
            _ = try reader.inverseBodyNorms(b: 0.75)
            while terms < maxTerms, try cursor.next() {
                terms += 1
                let info = cursor.info
                // The dictionary's own lookup must find what its cursor lists.
                _ = try reader.terms.lookup(Array(cursor.key))
                var it = try reader.postings.iterator(info)
                var steps = 0
                while it.doc != PostingsIterator.noMoreDocs, steps < maxSteps {
                    _ = it.freq
                    try it.positions(into: &positions)
                    _ = try it.next()
                    steps += 1
                }
                read += steps
                var skipping = try reader.postings.iterator(info)
                _ = try skipping.advance(to: documentCount / 2)
                _ = try reader.windowMaxima([.init(info: info, weight: 1, normed: true)], b: 0.75)
            }
        } catch {
            throw MailsiftError(.corrupt, "segment bytes: \(error)")
        }
        for d in 0..<min(documentCount, 5_000) {
            do { _ = try reader.stored.document(d) } catch { throw MailsiftError(.corrupt, "stored document \(d): \(error)") }
            for c in DocumentValues.Column.allCases { _ = try reader.value(c, d) }
        }
        _ = try reader.fieldStatistics()
        _ = try reader.meanBodyLength()
        _ = try reader.mailboxBitmap(1)
        _ = try reader.doc(forID: 1)
        for keyByte in [Field.body.rawValue, Field.subject.rawValue] {
            _ = try reader.termText(keyByte).terms(containing: Array("e".utf8), limit: 100)
        }
        let out = SegmentOutput(memory: "bytes-merged")
        _ = try SegmentMerger.merge([(reader, Deletions(documentCount: documentCount))], storedCompressionLevel: 0, into: out)
        return read
    }

    /// A manifest naming one segment of these files, encoded (a seed for the manifest decoder).
    public static func manifest(for files: [[UInt8]], documentCount: UInt32) -> [UInt8] {
        Manifest(generation: 3, segments: [Manifest.SegmentEntry(name: "seg_1", documentCount: documentCount, deletionsGeneration: 1,
                                                                 deletedCount: 1, fileSizes: files.map { UInt64($0.count) })]).encode()
    }

    /// A manifest and a deletions file over arbitrary bytes: decoded or refused.
    public static func decodeManifestAndDeletions(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = try? Manifest.decode(raw)
            if let d = try? Deletions.decode(raw) { _ = d.isDeleted(0) }
        }
    }
}
