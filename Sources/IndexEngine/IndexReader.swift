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
                    var deletions = Deletions(documentCount: entry.documentCount)
                    if entry.deletionsGeneration > 0 {
                        let path = SegmentFiles.deletionsPath(directory.segmentsPath, entry.name, generation: entry.deletionsGeneration)
                        let file = try MappedFile(path: path)
                        do { deletions = try Deletions.decode(file.bytes) } catch {
                            throw MailsiftError(.corrupt, "\(path): \(error)")
                        }
                    }
                    segments.append((reader, deletions))
                }
                self.manifest = manifest
                self.segments = segments
                return
            } catch let error as MailsiftError {
                lastError = error
                if error.code == .corrupt { throw error }
            } catch {
                throw MailsiftError(.io, "opening the index at \(directory.path)", cause: Underlying("\(error)"))
            }
        }
        throw lastError ?? MailsiftError(.io, "cannot open the index at \(directory.path)")
    }

    public var documentCount: Int { segments.reduce(0) { $0 + Int($1.reader.documentCount) - Int($1.deletions.deletedCount) } }
}
