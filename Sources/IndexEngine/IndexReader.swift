import IndexFormat
import MailsiftCore

/// A consistent snapshot of a user's index: the segments of one manifest generation with
/// their deletions. Immutable and `Sendable`; later commits do not affect it.
public final class IndexReader: Sendable {
    public let directory: UserDirectory
    public let manifest: Manifest
    public let segments: [(reader: SegmentReader, deletions: Deletions)]

    public init(directory: UserDirectory) throws(MailsiftError) {
        self.directory = directory
        // A commit may remove the previous generation's files between our reading the manifest
        // and mapping its files: retry with the newer manifest.
        var lastError: MailsiftError?
        for _ in 0..<5 {
            let manifest = try Manifest.loadLatest(directory.segmentsPath)
            do {
                var segments: [(SegmentReader, Deletions)] = []
                for entry in manifest.segments {
                    let reader = try SegmentReader(directory: directory.segmentsPath, entry: entry)
                    segments.append((reader, try Deletions.load(directory: directory.segmentsPath, entry: entry)))
                }
                self.manifest = manifest
                self.segments = segments
                return
            } catch {
                lastError = error
                if error.code == .corrupt { throw error }
            }
        }
        throw lastError ?? MailsiftError(.io, "cannot open the index at \(directory.path)")
    }

    /// Every live (not deleted) document: its catalog id, segment index and local doc.
    public func liveDocuments() throws(MailsiftError) -> [(id: Int64, segment: Int, doc: UInt32)] {
        var out: [(id: Int64, segment: Int, doc: UInt32)] = []
        for (k, (segment, deletions)) in segments.enumerated() {
            for doc in 0..<segment.documentCount where !deletions.isDeleted(doc) {
                out.append((try segment.id(of: doc), k, doc))
            }
        }
        return out
    }

    public var documentCount: Int { segments.reduce(0) { $0 + Int($1.reader.documentCount) - Int($1.deletions.deletedCount) } }
}
