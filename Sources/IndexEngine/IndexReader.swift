import IndexFormat
import MailsiftCore

/// A consistent snapshot of a user's index: the segments of one manifest generation with
/// their deletions. Immutable and `Sendable`; later commits do not affect it.
public final class IndexReader: Sendable {
    public let directory: UserDirectory
    public let manifest: Manifest
    public let segments: [(reader: SegmentReader, deletions: Deletions)]
    /// Catalog ids a search must not return although a segment holds them live: versions the
    /// daemon's queue has overwritten, until the indexer deletes them.
    public let hiddenIDs: Set<Int64>

    /// A committed snapshot plus segments built from accepted, not yet indexed messages
    /// (`PendingSegment`), hiding `hidden` ids.
    public init(snapshot: IndexReader, adding extra: [SegmentReader], hiding hidden: Set<Int64>) {
        directory = snapshot.directory
        manifest = snapshot.manifest
        segments = snapshot.segments + extra.map { ($0, Deletions(documentCount: $0.documentCount)) }
        hiddenIDs = hidden
    }

    /// Opens the newest generation. Segments `previous` already holds are reused (their files
    /// are immutable: no second mapping and checksum pass), so a daemon reopens cheaply after
    /// each commit.
    /// The last commit of a user's index. `verifyChecksums: false` skips summing the segment
    /// files (a one-off search from the command line over a large index; see
    /// `FileFraming.open`).
    public init(directory: UserDirectory, reusing previous: IndexReader? = nil, verifyChecksums: Bool = true) throws(MailsiftError) {
        self.directory = directory
        hiddenIDs = []
        var known: [String: SegmentReader] = [:]
        for (r, _) in previous?.segments ?? [] { known[r.name] = r }
        // A commit removes the replaced generation's files: between our reading a manifest and
        // mapping its files they may vanish. Retry with the newer manifest (each retry means
        // another commit landed meanwhile).
        var lastError: MailsiftError?
        for _ in 0..<20 {
            let manifest = try Manifest.loadLatest(directory.segmentsPath)
            do {
                var segments: [(SegmentReader, Deletions)] = []
                for entry in manifest.segments {
                    let reader: SegmentReader
                    if let r = known[entry.name], r.documentCount == entry.documentCount { reader = r } else {
                        reader = try SegmentReader(directory: directory.segmentsPath, entry: entry, verifyChecksums: verifyChecksums)
                    }
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

    /// Every live (not deleted, not hidden) document: its catalog id, segment index and local doc.
    public func liveDocuments() throws(MailsiftError) -> [(id: Int64, segment: Int, doc: UInt32)] {
        var out: [(id: Int64, segment: Int, doc: UInt32)] = []
        for (k, (segment, deletions)) in segments.enumerated() {
            for doc in 0..<segment.documentCount where !deletions.isDeleted(doc) {
                let id = try segment.id(of: doc)
                if hiddenIDs.isEmpty || !hiddenIDs.contains(id) { out.append((id, k, doc)) }
            }
        }
        return out
    }

    public var documentCount: Int { segments.reduce(0) { $0 + Int($1.reader.documentCount) - Int($1.deletions.deletedCount) } }
}
