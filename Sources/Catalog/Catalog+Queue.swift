import Foundation
import GRDB
import MailsiftCore

/// A message accepted by the daemon and not yet in a segment.
public struct QueuedMessage: Sendable {
    /// The queue row.
    public var id: Int64
    public var docid: Int64
    /// The docid of the version this one overwrote, if any.
    public var replaces: Int64?
    public var mailboxID: Int64
    public var uid: Int64
    public var internalDate: Int64
    public var kind: Int
    public var payload: [UInt8]
}

extension QueuedMessage {
    /// The queue columns `init(_:)` reads.
    static let columns = "id, docid, replaces, mailbox_id, uid, internal_date, kind, raw"

    init(_ r: Row) throws {
        let data: Data = (try r.decode(forColumn: "raw") as Data?) ?? Data()
        try self.init(id: r.decode(forColumn: "id"), docid: r.decode(forColumn: "docid"), replaces: r.decode(forColumn: "replaces"), mailboxID: r.decode(forColumn: "mailbox_id"), uid: r.decode(forColumn: "uid"),
                  internalDate: r.decode(forColumn: "internal_date"), kind: r.decode(forColumn: "kind"), payload: [UInt8](data))
    }
}

/// A message to accept: where it goes and its bytes.
public struct NewQueuedMessage: Sendable {
    public var mailboxID: Int64
    public var uid: Int64
    public var internalDate: Int64
    public var flags: Int64
    public var keywords: [String]
    public var kind: Int
    public var payload: [UInt8]
    public var sentDate: Int64?

    public init(mailboxID: Int64, uid: Int64, internalDate: Int64, flags: Int64 = 0, keywords: [String] = [], kind: Int = 0,
                payload: [UInt8], sentDate: Int64? = nil) {
        self.mailboxID = mailboxID
        self.uid = uid
        self.internalDate = internalDate
        self.flags = flags
        self.keywords = keywords
        self.kind = kind
        self.payload = payload
        self.sentDate = sentDate
    }
}

/// Per mailbox: live messages and the highest UID (accepted ones included).
public struct MailboxStatus: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var guid: String?
    public var uidValidity: Int64
    public var messages: Int
    public var highestUID: Int64
}

/// How a flag change applies.
public enum FlagMode: String, Sendable {
    case set, add, remove
}

extension Catalog {
    // MARK: - Mailboxes by name and GUID

    /// The mailbox's id, created when missing. With a GUID, the mailbox is found by GUID first
    /// (a renamed mailbox keeps it); with a UID validity that differs from the known one,
    /// the old messages are expunged (their UIDs mean nothing any more) and their docids
    /// returned, for the index to delete.
    public func mailbox(name: String?, guid: String?, uidValidity: Int64?) throws(MailsiftError) -> (id: Int64, expunged: [Int64]) {
        guard name != nil || guid != nil else { throw MailsiftError(.invalidInput, "a mailbox needs a name or a GUID") }
        var changed = false
        defer { if changed { mailboxesChanged() } }
        return try write { db in
            var row: Row?
            if let guid { row = try Row.fetchOne(db, sql: "SELECT id, uidvalidity FROM mailboxes WHERE guid = ?", arguments: [guid]) }
            if row == nil, let name { row = try Row.fetchOne(db, sql: "SELECT id, uidvalidity FROM mailboxes WHERE name = ?", arguments: [name]) }
            if let row {
                let id: Int64 = try row.decode(forColumn: "id")
                var expunged: [Int64] = []
                if let v = uidValidity, v != 0, try (row.decode(forColumn: "uidvalidity") as Int64) != v {
                    expunged = try Int64.fetchAll(db, sql: "SELECT docid FROM messages WHERE mailbox_id = ? AND expunged = 0", arguments: [id])
                    try db.execute(sql: "DELETE FROM messages WHERE mailbox_id = ?", arguments: [id])
                    try db.execute(sql: "UPDATE mailboxes SET uidvalidity = ?, next_uid = 1 WHERE id = ?", arguments: [v, id])
                }
                if let guid { try db.execute(sql: "UPDATE mailboxes SET guid = ? WHERE id = ? AND guid IS NULL", arguments: [guid, id]) }
                return (id, expunged)
            }
            changed = true
            self.mailboxesChanged()
            try db.execute(sql: "INSERT INTO mailboxes (name, guid, uidvalidity) VALUES (?, ?, ?)",
                           arguments: [name ?? guid ?? "", guid, uidValidity ?? Int64(Date().timeIntervalSince1970)])
            return (db.lastInsertedRowID, [])
        }
    }

    /// The id of an existing mailbox by name or GUID, nil when unknown.
    public func existingMailbox(name: String?, guid: String?) throws(MailsiftError) -> Int64? {
        try read { db in
            if let guid, let id = try Int64.fetchOne(db, sql: "SELECT id FROM mailboxes WHERE guid = ?", arguments: [guid]) { return id }
            if let name { return try Int64.fetchOne(db, sql: "SELECT id FROM mailboxes WHERE name = ?", arguments: [name]) }
            return nil
        }
    }

    public func renameMailbox(_ id: Int64, to name: String) throws(MailsiftError) {
        defer { mailboxesChanged() }
        try write { db in
            if let other = try Int64.fetchOne(db, sql: "SELECT id FROM mailboxes WHERE name = ?", arguments: [name]), other != id {
                throw MailsiftError(.invalidInput, "a mailbox named \(name) exists")
            }
            try db.execute(sql: "UPDATE mailboxes SET name = ? WHERE id = ?", arguments: [name, id])
            self.mailboxesChanged()
        }
    }

    /// Deletes a mailbox and its messages; returns their docids (for the index to delete).
    public func deleteMailbox(_ id: Int64) throws(MailsiftError) -> [Int64] {
        defer { mailboxesChanged() }
        return try write { db in
            var docids = try Int64.fetchAll(db, sql: "SELECT docid FROM messages WHERE mailbox_id = ?", arguments: [id])
            docids += try Int64.fetchAll(db, sql: "SELECT replaces FROM queue WHERE mailbox_id = ? AND replaces IS NOT NULL", arguments: [id])
            try db.execute(sql: "DELETE FROM queue WHERE mailbox_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM messages WHERE mailbox_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM mailboxes WHERE id = ?", arguments: [id])
            self.mailboxesChanged()
            return docids
        }
    }

    public func mailboxStatuses() throws(MailsiftError) -> [MailboxStatus] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT b.id, b.name, b.guid, b.uidvalidity, COUNT(m.docid) AS count, COALESCE(MAX(m.uid), 0) AS highest
                FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id AND m.expunged = 0
                GROUP BY b.id ORDER BY b.name
                """).map {
                try MailboxStatus(id: $0.decode(forColumn: "id"), name: $0.decode(forColumn: "name"), guid: $0.decode(forColumn: "guid"), uidValidity: $0.decode(forColumn: "uidvalidity"),
                              messages: $0.decode(forColumn: "count"), highestUID: $0.decode(forColumn: "highest"))
            }
        }
    }

    /// The highest UID of a mailbox's live messages (accepted ones included), 0 when none.
    public func highestUID(mailbox id: Int64) throws(MailsiftError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT MAX(uid) FROM messages WHERE mailbox_id = ? AND expunged = 0", arguments: [id]) ?? 0 }
    }

    // MARK: - Messages by UID

    /// Live docids of a mailbox's messages whose UIDs `contains` accepts.
    public func docids(mailbox id: Int64, where contains: (Int64) -> Bool) throws(MailsiftError) -> [(docid: Int64, uid: Int64)] {
        try read { db in
            var out: [(docid: Int64, uid: Int64)] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT docid, uid FROM messages WHERE mailbox_id = ? AND expunged = 0", arguments: [id])
            while let r = try rows.next() {
                let uid: Int64 = try r.decode(forColumn: "uid")
                if contains(uid) {
                    let docid: Int64 = try r.decode(forColumn: "docid")
                    out.append((docid, uid))
                }
            }
            return out
        }
    }

    /// Deletes messages' rows (expunge through the daemon; the index deletes their documents
    /// in the same locked step) and any queued version of them. Returns the docids that
    /// queued versions overwrote: the index must delete those too.
    @discardableResult
    public func removeMessages(docids: [Int64]) throws(MailsiftError) -> [Int64] {
        guard !docids.isEmpty else { return [] }
        return try write { db in
            var replaced: [Int64] = []
            for chunk in stride(from: 0, to: docids.count, by: 500) {
                let part = Array(docids[chunk..<min(docids.count, chunk + 500)])
                let marks = part.map { _ in "?" }.joined(separator: ",")
                replaced += try Int64.fetchAll(db, sql: "SELECT replaces FROM queue WHERE replaces IS NOT NULL AND docid IN (\(marks))",
                                               arguments: StatementArguments(part))
                try db.execute(sql: "DELETE FROM queue WHERE docid IN (\(marks))", arguments: StatementArguments(part))
                try db.execute(sql: "DELETE FROM messages WHERE docid IN (\(marks))", arguments: StatementArguments(part))
            }
            return replaced
        }
    }

    /// Sets, adds or removes flags and keywords of messages.
    public func changeFlags(docids: [Int64], flags: MessageFlags, keywords: [String], mode: FlagMode) throws(MailsiftError) {
        guard !docids.isEmpty else { return }
        try write { db in
            let select = try db.cachedStatement(sql: "SELECT flags, keywords FROM messages WHERE docid = ?")
            let update = try db.cachedStatement(sql: "UPDATE messages SET flags = ?, keywords = ? WHERE docid = ?")
            for docid in docids {
                guard let row = try Row.fetchOne(select, arguments: [docid]) else { continue }
                var f = try MessageFlags(rawValue: row.decode(forColumn: "flags"))
                let kwText: String = try row.decode(forColumn: "keywords")
                var kw = kwText.isEmpty ? [] : kwText.split(separator: " ").map(String.init)
                switch mode {
                case .set:
                    f = flags
                    kw = keywords
                case .add:
                    f.formUnion(flags)
                    for k in keywords where !kw.contains(k) { kw.append(k) }
                case .remove:
                    f.subtract(flags)
                    kw.removeAll { keywords.contains($0) }
                }
                try update.execute(arguments: [f.rawValue, kw.joined(separator: " "), docid])
            }
        }
    }

    // MARK: - Queue

    /// Accepts messages durably (one transaction, fsync'd): each gets its catalog row now, and
    /// a queue row with its bytes. A message whose mailbox and UID are taken overwrites the
    /// old one (as Solr's unique key does); the old docid is returned as `replaces`.
    ///
    /// `inFlight`: docids of queued messages an indexer is indexing right now; a version of
    /// one of those is not superseded in the queue (it is being indexed) but replaced
    /// afterwards, like an indexed one.
    public func enqueue(_ items: [NewQueuedMessage], inFlight: Set<Int64> = []) throws(MailsiftError) -> [(docid: Int64, replaces: Int64?)] {
        try write { db in
            let find = try db.cachedStatement(sql: "SELECT docid FROM messages WHERE mailbox_id = ? AND uid = ?")
            let remove = try db.cachedStatement(sql: "DELETE FROM messages WHERE docid = ?")
            let dropQueued = try db.cachedStatement(sql: "DELETE FROM queue WHERE docid = ?")
            let insert = try db.cachedStatement(sql: """
                INSERT INTO messages (mailbox_id, uid, internal_date, sent_date, size, flags, keywords) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            let queue = try db.cachedStatement(sql: """
                INSERT INTO queue (mailbox_id, uid, internal_date, flags, keywords, raw, enqueued_at, docid, replaces, kind)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let now = Int64(Date().timeIntervalSince1970)
            var out: [(docid: Int64, replaces: Int64?)] = []
            var next: [Int64: Int64] = [:]
            for m in items {
                var replaces: Int64?
                if let old = try Int64.fetchOne(find, arguments: [m.mailboxID, m.uid]) {
                    // A queued version not yet indexed is simply superseded; an indexed one
                    // is hidden until the indexer deletes it.
                    let queued = inFlight.contains(old) ? nil
                        : try Int64.fetchOne(db, sql: "SELECT COALESCE(replaces, 0) FROM queue WHERE docid = ?", arguments: [old])
                    if queued != nil { try dropQueued.execute(arguments: [old]) }
                    try remove.execute(arguments: [old])
                    if let q = queued { replaces = q == 0 ? nil : q } else { replaces = old }
                }
                try insert.execute(arguments: [m.mailboxID, m.uid, m.internalDate, m.sentDate, m.payload.count, m.flags,
                                               m.keywords.joined(separator: " ")])
                let docid = db.lastInsertedRowID
                try queue.execute(arguments: [m.mailboxID, m.uid, m.internalDate, m.flags, m.keywords.joined(separator: " "),
                                              Data(m.payload), now, docid, replaces, m.kind])
                next[m.mailboxID] = max(next[m.mailboxID] ?? 0, m.uid + 1)
                out.append((docid, replaces))
            }
            for (mailbox, n) in next {
                try db.execute(sql: "UPDATE mailboxes SET next_uid = MAX(next_uid, ?) WHERE id = ?", arguments: [n, mailbox])
            }
            return out
        }
    }

    /// The oldest queued messages, at most `limit` of them and about `maxBytes` of payload.
    public func queued(limit: Int, maxBytes: Int = 64 << 20) throws(MailsiftError) -> [QueuedMessage] {
        try read { db in
            var out: [QueuedMessage] = []
            var bytes = 0
            let rows = try Row.fetchCursor(db, sql: """
                SELECT \(QueuedMessage.columns) FROM queue ORDER BY id LIMIT ?
                """, arguments: [limit])
            while let r = try rows.next() {
                let message = try QueuedMessage(r)
                out.append(message)
                bytes += message.payload.count
                if bytes >= maxBytes { break }
            }
            return out
        }
    }

    /// Every queue row's id, docid and overwritten docid, oldest first (no payloads).
    public func queueIndex() throws(MailsiftError) -> [(id: Int64, docid: Int64, replaces: Int64?)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, docid, replaces FROM queue ORDER BY id").map { try ($0.decode(forColumn: "id"), $0.decode(forColumn: "docid"), $0.decode(forColumn: "replaces")) }
        }
    }

    /// The queue rows with these ids (those still queued), oldest first.
    public func queued(ids: [Int64]) throws(MailsiftError) -> [QueuedMessage] {
        guard !ids.isEmpty else { return [] }
        return try read { db in
            var out: [QueuedMessage] = []
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                let part = Array(ids[chunk..<min(ids.count, chunk + 500)])
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(QueuedMessage.columns) FROM queue
                    WHERE id IN (\(part.map { _ in "?" }.joined(separator: ","))) ORDER BY id
                    """, arguments: StatementArguments(part))
                out += try rows.map(QueuedMessage.init)
            }
            return out
        }
    }

    /// Queue rows whose messages are in a committed segment.
    public func dequeue(ids: [Int64]) throws(MailsiftError) {
        guard !ids.isEmpty else { return }
        try write { db in
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                let part = Array(ids[chunk..<min(ids.count, chunk + 500)])
                try db.execute(sql: "DELETE FROM queue WHERE id IN (\(part.map { _ in "?" }.joined(separator: ",")))",
                               arguments: StatementArguments(part))
            }
        }
    }
}
