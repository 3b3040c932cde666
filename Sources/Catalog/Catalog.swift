import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import MailsiftCore
import Synchronization

/// One user's catalog (`catalog.sqlite`, WAL mode): mailboxes, the messages with their IMAP
/// attributes and where their document lives, and the durable queue of accepted-but-not-yet-
/// indexed work. The database connection never escapes: every access goes through `read` or
/// `write` closures (GRDB's pool: many concurrent readers, one writer).
public final class Catalog: Sendable {
    /// Mailbox names by id, cached: every write to the mailboxes table through this object
    /// clears it (another process changing mailboxes is not seen until then).
    let names = Locked<(generation: UInt64, names: [Int64: String]?)>((0, nil))

    /// After a write to the mailboxes table (inside its transaction and after it): a read
    /// that raced with it does not store what it read.
    func mailboxesChanged() {
        names.withLock { $0 = ($0.generation &+ 1, nil) }
    }

    private let pool: DatabasePool
    public let path: String

    /// Opens (creating and migrating when needed) the catalog at `path`.
    public init(path: String) throws(MailsiftError) {
        self.path = path
        // Mail metadata: readable by the service's user only. SQLite gives its -wal and -shm
        // files the database file's mode, so creating it 0600 first covers all three.
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            // An acknowledged add must survive power loss: WAL commits are fsync'd.
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw MailsiftError(.io, "cannot open catalog \(path)", cause: Underlying("\(error)"))
        }
    }

    /// Named, append-only migrations: never edit one that shipped, add the next.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: mailboxes, messages, queue, meta") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE mailboxes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    guid TEXT,
                    uidvalidity INTEGER NOT NULL DEFAULT 0,
                    next_uid INTEGER NOT NULL DEFAULT 1
                );
                CREATE TABLE messages (
                    docid INTEGER PRIMARY KEY AUTOINCREMENT,
                    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
                    uid INTEGER NOT NULL,
                    internal_date INTEGER NOT NULL,
                    sent_date INTEGER,
                    size INTEGER NOT NULL,
                    flags INTEGER NOT NULL DEFAULT 0,
                    keywords TEXT NOT NULL DEFAULT '',
                    content_hash TEXT,
                    source_path TEXT,
                    source_mtime INTEGER,
                    expunged INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (mailbox_id, uid)
                );
                CREATE INDEX messages_source ON messages(source_path) WHERE source_path IS NOT NULL;
                CREATE TABLE queue (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
                    uid INTEGER NOT NULL,
                    internal_date INTEGER NOT NULL,
                    flags INTEGER NOT NULL DEFAULT 0,
                    keywords TEXT NOT NULL DEFAULT '',
                    raw BLOB NOT NULL,
                    enqueued_at INTEGER NOT NULL
                );
                """)
        }
        // The source-path index took ~40% of the catalog (a second copy of every path) to
        // serve one range scan per indexing run, which a table scan does in well under a
        // second even at a million messages.
        m.registerMigration("v2: drop the source path index") { db in
            try db.execute(sql: "DROP INDEX IF EXISTS messages_source")
        }
        // The daemon's queue: each accepted message gets its catalog row (docid) when it is
        // accepted, so searches see it before it reaches a segment; `replaces` is the docid of
        // the version it overwrote (same mailbox and UID), hidden from searches until the
        // indexer deletes it. `kind` 0: raw RFC 5322 bytes; 1: extracted fields (Solr add).
        m.registerMigration("v3: queue docids, mailbox guid index") { db in
            try db.execute(sql: """
                ALTER TABLE queue ADD COLUMN docid INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE queue ADD COLUMN replaces INTEGER;
                ALTER TABLE queue ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX mailboxes_guid ON mailboxes(guid) WHERE guid IS NOT NULL;
                """)
        }
        return m
    }

    // MARK: - Meta

    public func meta(_ key: String) throws(MailsiftError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws(MailsiftError) {
        try write { db in try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", arguments: [key, value]) }
    }

    // MARK: - Mailboxes

    /// The mailbox's id, created when missing.
    public func mailboxID(_ name: String) throws(MailsiftError) -> Int64 {
        var changed = false
        defer { if changed { mailboxesChanged() } }
        return try write { db in
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM mailboxes WHERE name = ?", arguments: [name]) { return id }
            changed = true
            try db.execute(sql: "INSERT INTO mailboxes (name, uidvalidity) VALUES (?, ?)",
                           arguments: [name, Int64(Date().timeIntervalSince1970)])
            self.mailboxesChanged()
            return db.lastInsertedRowID
        }
    }

    public func mailboxes() throws(MailsiftError) -> [MailboxRow] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT m.id, m.name, m.uidvalidity, m.next_uid,
                       (SELECT COUNT(*) FROM messages WHERE mailbox_id = m.id AND expunged = 0) AS count
                FROM mailboxes m ORDER BY m.name
                """).map { try MailboxRow(id: $0.decode(forColumn: "id"), name: $0.decode(forColumn: "name"), uidValidity: $0.decode(forColumn: "uidvalidity"), nextUID: $0.decode(forColumn: "next_uid"), messages: $0.decode(forColumn: "count")) }
        }
    }

    /// Mailbox names by id (cheap: no message counts).
    public func mailboxNames() throws(MailsiftError) -> [Int64: String] {
        let (generation, cached) = names.withLock { $0 }
        if let cached { return cached }
        let out = try read { db in
            var out: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name FROM mailboxes") {
                let id: Int64 = try row.decode(forColumn: "id")
                out[id] = try row.decode(forColumn: "name") as String
            }
            return out
        }
        names.withLock { if $0.generation == generation { $0.names = out } }
        return out
    }

    // MARK: - Messages

    /// Registers messages (in one transaction) and returns their docids and UIDs in order.
    /// UIDs are assigned from the mailbox's next UID when a message has none.
    public func addMessages(_ messages: [NewMessage]) throws(MailsiftError) -> [(docid: Int64, uid: Int64)] {
        try write { db in
            var ids: [(docid: Int64, uid: Int64)] = []
            ids.reserveCapacity(messages.count)
            // Prepared once per transaction; each mailbox's next UID read once and written once.
            let insert = try db.cachedStatement(sql: """
                INSERT INTO messages (mailbox_id, uid, internal_date, sent_date, size, flags, keywords, content_hash, source_path, source_mtime)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var nextUID: [Int64: Int64] = [:]
            let holder = try db.cachedStatement(sql: "SELECT docid, expunged FROM messages WHERE mailbox_id = ? AND uid = ?")
            let remove = try db.cachedStatement(sql: "DELETE FROM messages WHERE docid = ?")
            for m in messages {
                var next: Int64
                if let known = nextUID[m.mailboxID] { next = known } else {
                    next = try Int64.fetchOne(db, sql: "SELECT next_uid FROM mailboxes WHERE id = ?", arguments: [m.mailboxID]) ?? 1
                }
                var u = m.uid ?? next
                if m.uid != nil, let row = try Row.fetchOne(holder, arguments: [m.mailboxID, u]) {
                    // A given UID (a store's own, as Dovecot's uidlist) held by an expunged row
                    // (an earlier version of the message) is reused; held by a live message
                    // (a store listing one UID twice), the new one is numbered after the others.
                    if ((try row.decode(forColumn: "expunged") as Int64?) ?? 0) != 0 {
                        let docid: Int64 = try row.decode(forColumn: "docid")
                        try remove.execute(arguments: [docid])
                    } else { u = next }
                }
                next = max(next, u + 1)
                nextUID[m.mailboxID] = next
                try insert.execute(arguments: [m.mailboxID, u, m.internalDate, m.sentDate, m.size, m.flags, m.keywords.joined(separator: " "),
                                               m.contentHash, m.sourcePath, m.sourceMTime])
                ids.append((db.lastInsertedRowID, u))
            }
            for (mailbox, next) in nextUID {
                try db.execute(sql: "UPDATE mailboxes SET next_uid = MAX(next_uid, ?) WHERE id = ?", arguments: [next, mailbox])
            }
            return ids
        }
    }

    /// A message file renamed or moved in place (a Maildir file goes from new/ to cur/, and its
    /// name carries its flags): the same message, at a new path, with the name's flags.
    public func moveSource(docid: Int64, to path: String, mtime: Int64?, flags: Int64) throws(MailsiftError) {
        try write { db in
            try db.execute(sql: "UPDATE messages SET source_path = ?, source_mtime = ?, flags = ? WHERE docid = ?",
                           arguments: [path, mtime, flags, docid])
        }
    }

    /// Takes back messages that were registered but never reached a committed index (a file
    /// import cut off before its commit): their rows go, and each mailbox's next UID returns to
    /// just past the highest UID it still has (live or expunged), so the import run that
    /// follows numbers them as an uninterrupted one would. Nothing outside saw those UIDs.
    public func rollBack(docids: [Int64]) throws(MailsiftError) {
        guard !docids.isEmpty else { return }
        try write { db in
            try Self.forChunks(docids, db, "DELETE FROM messages WHERE docid IN")
            try db.execute(sql: """
                UPDATE mailboxes SET next_uid = COALESCE((SELECT MAX(uid) + 1 FROM messages WHERE messages.mailbox_id = mailboxes.id), 1)
                """)
        }
    }

    /// Makes a mailbox's next UID at least `next` (a store's own next UID, as Dovecot's uidlist
    /// header gives it).
    public func raiseNextUID(mailbox: Int64, to next: Int64) throws(MailsiftError) {
        try write { db in try db.execute(sql: "UPDATE mailboxes SET next_uid = MAX(next_uid, ?) WHERE id = ?", arguments: [next, mailbox]) }
    }

    /// Marks messages expunged (their documents are deleted from the index by the caller).
    public func expunge(docids: [Int64]) throws(MailsiftError) {
        guard !docids.isEmpty else { return }
        try write { db in try Self.forChunks(docids, db, "UPDATE messages SET expunged = 1 WHERE docid IN") }
    }

    /// Runs `sql (?, ?, ...)` over `ids` 500 at a time (SQLite's variable limit).
    static func forChunks(_ ids: [Int64], _ db: Database, _ sql: String) throws {
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let part = Array(ids[chunk..<min(ids.count, chunk + 500)])
            try db.execute(sql: sql + " (" + part.map { _ in "?" }.joined(separator: ",") + ")", arguments: StatementArguments(part))
        }
    }

    /// Live messages whose source path starts with `prefix`, byte for byte (for incremental
    /// re-indexing): path → (docid, mtime, size). A range on the (binary-collated) text, not
    /// `substr`, which counts characters, not bytes.
    public func sources(under prefix: String) throws(MailsiftError) -> [String: SourceRow] {
        try read { db in
            var out: [String: SourceRow] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT docid, source_path, source_mtime, size, uid FROM messages
                WHERE expunged = 0 AND source_path >= ? AND source_path < ?
                """, arguments: [prefix, prefix + "\u{10FFFF}"])
            while let r = try rows.next() {
                let path: String = try r.decode(forColumn: "source_path")
                guard path.utf8.starts(with: prefix.utf8) else { continue }
                out[path] = try SourceRow(docid: r.decode(forColumn: "docid"), mtime: r.decode(forColumn: "source_mtime"), size: r.decode(forColumn: "size"), uid: r.decode(forColumn: "uid"))
            }
            return out
        }
    }

    public func message(_ docid: Int64) throws(MailsiftError) -> MessageRow? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT m.*, b.name AS mailbox FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.docid = ?
                """, arguments: [docid]).map(MessageRow.init)
        }
    }

    /// Several messages in one read (a results page).
    public func messages(_ docids: [Int64]) throws(MailsiftError) -> [Int64: MessageRow] {
        guard !docids.isEmpty else { return [:] }
        return try read { db in
            var out: [Int64: MessageRow] = [:]
            for chunk in stride(from: 0, to: docids.count, by: 500) {
                let part = Array(docids[chunk..<min(docids.count, chunk + 500)])
                let rows = try Row.fetchAll(db, sql: """
                    SELECT m.*, b.name AS mailbox FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                    WHERE m.docid IN (\(part.map { _ in "?" }.joined(separator: ",")))
                    """, arguments: StatementArguments(part))
                for r in rows {
                    let m = try MessageRow(r)
                    out[m.docid] = m
                }
            }
            return out
        }
    }

    /// A consistent copy of the database at `path` (SQLite's online backup: readers and
    /// writers may go on meanwhile), for exporting a user.
    public func backup(to path: String) throws(MailsiftError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        do {
            let target = try DatabaseQueue(path: path)
            try pool.backup(to: target)
            try target.close()
        } catch {
            throw MailsiftError(.io, "cannot copy the catalog to \(path)", cause: Underlying("\(error)"))
        }
    }

    public func messageCount() throws(MailsiftError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE expunged = 0") ?? 0 }
    }

    /// What a search needs of each live message (of the given mailboxes, all when nil):
    /// docid → mailbox, uid, flags, keywords, source path.
    public func messageStates(mailboxIDs: [Int64]? = nil) throws(MailsiftError) -> [Int64: MessageState] {
        try read { db in
            var out: [Int64: MessageState] = [:]
            var sql = "SELECT docid, mailbox_id, uid, flags, keywords, source_path FROM messages WHERE expunged = 0"
            var args: [Int64] = []
            if let ids = mailboxIDs {
                guard !ids.isEmpty else { return out }
                sql += " AND mailbox_id IN (\(ids.map { _ in "?" }.joined(separator: ",")))"
                args = ids
            }
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            while let r = try rows.next() {
                let keywords = (try r.decode(forColumn: "keywords") as String?) ?? ""
                let docid: Int64 = try r.decode(forColumn: "docid")
                out[docid] = try MessageState(mailboxID: r.decode(forColumn: "mailbox_id"), uid: r.decode(forColumn: "uid"), flags: MessageFlags(rawValue: r.decode(forColumn: "flags")),
                                               keywords: keywords.isEmpty ? [] : keywords.split(separator: " ").map(String.init),
                                               sourcePath: r.decode(forColumn: "source_path"))
            }
            return out
        }
    }

    /// Live docids (for verify: catalog and index must agree).
    public func liveDocids() throws(MailsiftError) -> Set<Int64> {
        try read { db in Set(try Int64.fetchAll(db, sql: "SELECT docid FROM messages WHERE expunged = 0")) }
    }

    /// Runs SQLite's own integrity check.
    public func integrityCheck() throws(MailsiftError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }.filter { $0 != "ok" }
    }

    // MARK: - Access

    /// A value the schema does not allow (NULL, text where a number belongs) is `corrupt`.
    public func read<T>(_ body: (Database) throws -> T) throws(MailsiftError) -> T {
        do { return try pool.read(body) } catch let e as MailsiftError { throw e } catch let e as RowDecodingError {
            throw MailsiftError(.corrupt, "the catalog \(path) holds a value its schema does not allow", cause: Underlying("\(e)"))
        } catch {
            throw MailsiftError(.io, "catalog read failed", cause: Underlying("\(error)"))
        }
    }

    public func write<T>(_ body: (Database) throws -> T) throws(MailsiftError) -> T {
        do { return try pool.write(body) } catch let e as MailsiftError { throw e } catch let e as RowDecodingError {
            throw MailsiftError(.corrupt, "the catalog \(path) holds a value its schema does not allow", cause: Underlying("\(e)"))
        } catch {
            throw MailsiftError(.io, "catalog write failed", cause: Underlying("\(error)"))
        }
    }
}

public struct NewMessage: Sendable {
    public var mailboxID: Int64
    public var uid: Int64?
    public var internalDate: Int64
    public var sentDate: Int64?
    public var size: Int64
    public var flags: Int64
    public var keywords: [String]
    public var contentHash: String?
    public var sourcePath: String?
    public var sourceMTime: Int64?

    public init(mailboxID: Int64, uid: Int64? = nil, internalDate: Int64, sentDate: Int64? = nil, size: Int64, flags: Int64 = 0,
                keywords: [String] = [], contentHash: String? = nil, sourcePath: String? = nil, sourceMTime: Int64? = nil) {
        self.mailboxID = mailboxID
        self.uid = uid
        self.internalDate = internalDate
        self.sentDate = sentDate
        self.size = size
        self.flags = flags
        self.keywords = keywords
        self.contentHash = contentHash
        self.sourcePath = sourcePath
        self.sourceMTime = sourceMTime
    }
}

public struct MessageState: Sendable, Hashable {
    public var mailboxID: Int64
    public var uid: Int64
    public var flags: MessageFlags
    public var keywords: [String]
    public var sourcePath: String?
}

public struct MailboxRow: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var uidValidity: Int64
    public var nextUID: Int64
    public var messages: Int
}

public struct SourceRow: Sendable, Hashable {
    public var docid: Int64
    public var mtime: Int64?
    public var size: Int64
    public var uid: Int64 = 0
}

public struct MessageRow: Sendable, Hashable {
    public var docid: Int64
    public var mailbox: String
    public var uid: Int64
    public var internalDate: Int64
    public var sentDate: Int64?
    public var size: Int64
    public var flags: Int64
    public var keywords: [String]
    public var sourcePath: String?
    public var expunged: Bool

    init(_ r: Row) throws {
        docid = try r.decode(forColumn: "docid")
        mailbox = try r.decode(forColumn: "mailbox")
        uid = try r.decode(forColumn: "uid")
        internalDate = try r.decode(forColumn: "internal_date")
        sentDate = try r.decode(forColumn: "sent_date")
        size = try r.decode(forColumn: "size")
        flags = try r.decode(forColumn: "flags")
        keywords = ((try r.decode(forColumn: "keywords") as String?) ?? "").split(separator: " ").map(String.init)
        sourcePath = try r.decode(forColumn: "source_path")
        expunged = ((try r.decode(forColumn: "expunged") as Int64?) ?? 0) != 0
    }
}

/// IMAP system flags as bits of `messages.flags`.
public struct MessageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public static let seen = MessageFlags(rawValue: 1)
    public static let answered = MessageFlags(rawValue: 2)
    public static let flagged = MessageFlags(rawValue: 4)
    public static let deleted = MessageFlags(rawValue: 8)
    public static let draft = MessageFlags(rawValue: 16)
    /// IMAP \Recent (RFC 3501; gone in RFC 9051): not set by file ingestion today.
    public static let recent = MessageFlags(rawValue: 32)

    /// Maildir info letters (`:2,DFRST`): D draft, F flagged, R replied, S seen, T trashed.
    public init(maildir letters: [Character]) {
        var f = MessageFlags()
        for c in letters {
            switch c {
            case "D": f.insert(.draft)
            case "F": f.insert(.flagged)
            case "R": f.insert(.answered)
            case "S": f.insert(.seen)
            case "T": f.insert(.deleted)
            default: break
            }
        }
        self = f
    }
}
