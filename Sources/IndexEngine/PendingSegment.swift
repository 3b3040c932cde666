import Foundation
import IndexFormat
import MailsiftCore
import Synchronization

/// A segment of documents that are accepted but not committed (the daemon's queue), built so
/// that searches see them at once. It belongs to no manifest and is built in memory: no file is
/// created (a file per kind for every add made ext4 spend a tenth of the CPU on inode
/// allocation under a steady stream of adds).
public enum PendingSegment {
    private static let counter = Locked(0)

    public static func build(_ docs: [IndexDocument]) throws(MailsiftError) -> SegmentReader? {
        guard !docs.isEmpty else { return nil }
        let n = counter.withLock { c -> Int in
            c += 1
            return c
        }
        let name = "pending-\(n)"
        var builder = SegmentBuilder()
        for d in docs { builder.add(d) }
        let out = SegmentOutput(memory: name)
        try out.complete { () throws(MailsiftError) in try builder.write(to: out) }
        guard let buffers = out.buffers else { throw MailsiftError(.io, "pending segment \(name) lost its buffers") }
        let files = zip(buffers, SegmentFiles.kinds).map { MappedFile(copying: $0, path: "pending:\(name).\($1)") }
        let entry = Manifest.SegmentEntry(name: name, documentCount: builder.documentCount, deletionsGeneration: 0,
                                          deletedCount: 0, fileSizes: out.sizes)
        return try SegmentReader(files: files, entry: entry)
    }
}
