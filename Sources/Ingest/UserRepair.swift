import Analysis
import Catalog
import Foundation
import IndexEngine
import MailsiftCore
import MIME

/// `mailsift repair`: brings a user's index back in line with its catalog, from the mail files
/// the catalog records as each message's source.
///
/// - The index does not open, or a file fails its checksum: the segments are moved aside
///   (`segments.broken-<time>`, kept for inspection) and every live message is indexed again
///   from its source file, with its docid, mailbox and UID.
/// - Messages missing from the index: indexed again from their sources.
/// - Documents the catalog does not have (or has expunged): deleted.
/// - Messages whose source is gone, or that came through the daemon's API (no file): listed as
///   unrecoverable: they must be fed again (for Dovecot: `doveadm fts rescan -u USER`, then any
///   search reindexes). With `dropUnrecoverable` they are expunged from the catalog, so the
///   user verifies clean and the feeder's "last indexed UID" no longer covers them.
/// - A damaged catalog cannot be repaired from itself: reindex the user from its mail
///   (`mailsift reindex --full --user U`).
public enum UserRepair {
    public struct Report: Sendable {
        public var rebuilt = false
        public var reindexed = 0
        public var deleted = 0
        /// Mailbox and UID of each message that could not be restored.
        public var unrecoverable: [(mailbox: String, uid: Int64)] = []
        public var dropped = 0
        public var brokenSegments: String?
    }

    public static func repair(dataRoot: String, user: String, dropUnrecoverable: Bool = false) throws(MailsiftError) -> Report {
        let dir = try UserDirectory(dataRoot: dataRoot, user: user)
        guard dir.exists else { throw MailsiftError(.notFound, "no index for user \(user) under \(dataRoot)") }
        let catalog = try Catalog(path: dir.catalogPath)
        let damage = try catalog.integrityCheck()
        guard damage.isEmpty else {
            throw MailsiftError(.corrupt, "the catalog is damaged (\(damage.prefix(3).joined(separator: "; "))): reindex this user from its mail (mailsift reindex --full --user \(user))")
        }
        var report = Report()
        var indexed: [Int64] = []
        var readable = true
        do {
            // Opening checks every file's checksum.
            let reader = try IndexReader(directory: dir)
            indexed = try reader.liveDocuments().map(\.id)
        } catch {
            readable = false
        }
        if !readable {
            let lock = try WriteLock(path: dir.lockPath)
            let aside = dir.path + "/segments.broken-\(UInt64(Date().timeIntervalSince1970))"
            guard rename(dir.segmentsPath, aside) == 0 else {
                lock.unlock()
                throw DurableFiles.error("rename", dir.segmentsPath)
            }
            try DurableFiles.makeDirectory(dir.segmentsPath)
            lock.unlock()
            report.rebuilt = true
            report.brokenSegments = aside
        }
        let writer = try IndexWriter(directory: dir)
        let agreement = try IndexAgreement(catalog: catalog, documents: indexed)
        if !agreement.extra.isEmpty { report.deleted = try writer.delete(ids: agreement.extra) }
        let missing = agreement.missing.sorted()
        let parser = MessageParser(limits: ParserLimits())
        let analyzer = Analyzer()
        var mailboxIDs: [String: Int64] = [:]
        var lost: [Int64] = []
        for chunk in stride(from: 0, to: missing.count, by: 500) {
            let ids = Array(missing[chunk..<min(missing.count, chunk + 500)])
            let rows = try catalog.messages(ids)
            // Files read once per chunk, mbox files with all their members.
            var files: [String: [SourceMessage]] = [:]
            for id in ids {
                guard let row = rows[id] else { continue }
                guard let origin = row.sourcePath, let message = source(origin, cache: &files) else {
                    report.unrecoverable.append((row.mailbox, row.uid))
                    lost.append(id)
                    continue
                }
                let mailbox: Int64
                if let known = mailboxIDs[row.mailbox] { mailbox = known } else {
                    mailbox = try catalog.mailboxID(row.mailbox)
                    mailboxIDs[row.mailbox] = mailbox
                }
                let doc = parser.parse(message.bytes)
                try writer.add(DocumentBuilder.build(doc, id: id, mailbox: mailbox, uid: row.uid, internalDate: row.internalDate,
                                                     size: row.size, analyzer: analyzer))
                report.reindexed += 1
            }
        }
        if dropUnrecoverable, !lost.isEmpty {
            try catalog.expunge(docids: lost)
            report.dropped = lost.count
        }
        try writer.commit()
        return report
    }

    /// The message at a catalog source: a file, or `path#N` (the N-th message of an mbox).
    static func source(_ origin: String, cache: inout [String: [SourceMessage]]) -> SourceMessage? {
        var path = origin
        var member: Int?
        if let hash = origin.lastIndex(of: "#"), let n = Int(origin[origin.index(after: hash)...]), n >= 1 {
            path = String(origin[..<hash])
            member = n
        }
        if cache[path] == nil { cache[path] = (try? MessageFiles.read(path)) ?? [] }
        let messages = cache[path] ?? []
        if let member { return messages.first { $0.origin == origin } ?? (member <= messages.count ? messages[member - 1] : nil) }
        return messages.count == 1 ? messages[0] : messages.first { $0.origin == origin }
    }
}
