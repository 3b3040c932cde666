import Foundation
import IndexFormat
import MailsiftCore
import Synchronization

/// A segment of documents that are accepted but not committed (the daemon's queue), built so
/// that searches see them at once. It belongs to no manifest: its files are written, mapped
/// and unlinked straight away (the mapping outlives the names), so nothing is left behind.
public enum PendingSegment {
    private static let counter = Mutex(0)

    public static func build(_ docs: [IndexDocument], in directory: String) throws(MailsiftError) -> SegmentReader? {
        guard !docs.isEmpty else { return nil }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw MailsiftError(.io, "cannot create \(directory)", cause: Underlying("\(error)"))
        }
        let n = counter.withLock { c -> Int in
            c += 1
            return c
        }
        let name = "pending-\(getpid())-\(n)"
        var builder = SegmentBuilder()
        for d in docs { builder.add(d) }
        let out = try SegmentOutput(directory: directory, name: name, durable: false)
        do {
            try builder.write(to: out)
            try out.finish()
        } catch {
            out.abandon()
            throw error
        }
        let entry = Manifest.SegmentEntry(name: name, documentCount: builder.documentCount, deletionsGeneration: 0,
                                          deletedCount: 0, fileSizes: out.sizes)
        defer {
            for kind in SegmentFiles.kinds { unlink(SegmentFiles.path(directory, name, kind)) }
        }
        return try SegmentReader(directory: directory, entry: entry)
    }
}
