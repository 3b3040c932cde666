import Analysis
import Catalog
import Foundation
import IndexEngine
import MailsiftCore
import MIME
import Synchronization

/// A message handed to the daemon: where it goes and its content.
public struct IncomingMessage: Sendable {
    public enum Content: Sendable {
        /// RFC 5322 bytes.
        case raw([UInt8])
        /// Text the client extracted (Dovecot's Solr documents).
        case extracted(ExtractedMessage)
    }

    public var mailbox: String?
    public var mailboxGUID: String?
    public var uidValidity: Int64?
    public var uid: Int64
    public var internalDate: Int64
    public var flags: MessageFlags
    public var keywords: [String]
    public var content: Content

    public init(mailbox: String?, mailboxGUID: String? = nil, uidValidity: Int64? = nil, uid: Int64, internalDate: Int64,
                flags: MessageFlags = [], keywords: [String] = [], content: Content) {
        self.mailbox = mailbox
        self.mailboxGUID = mailboxGUID
        self.uidValidity = uidValidity
        self.uid = uid
        self.internalDate = internalDate
        self.flags = flags
        self.keywords = keywords
        self.content = content
    }
}

/// One user's index as the daemon keeps it open: the writer (holding the user's write lock),
/// the catalog with its durable queue, and the snapshot searches read.
///
/// - `accept` makes messages durable (catalog rows and queue rows in one fsync'd SQLite
///   transaction) and returns; `drain` (the indexing workers) moves queued messages into
///   segments and commits. Searches read `snapshot()`: the last commit plus a pending segment
///   built from whatever is still queued, with overwritten versions hidden, so an accepted
///   message is found by the next search whether or not it has reached a segment.
/// - Mutations of existing messages (expunge, flags, mailboxes) apply at once, under the
///   writer lock.
///
/// Thread-safe: writer work is serialized by `writerLock`; adds and the indexer's taking of
/// rows by `queueLock`; a commit's reader and its dequeue are paired by `publishLock`; the
/// published snapshot is behind `state`, which a search holds only to read one reference.
public final class LiveIndex: @unchecked Sendable {
    public let directory: UserDirectory
    public let catalog: Catalog
    public let user: String
    private let writer: IndexWriter
    private let writerLock = NSLock()
    /// Pairs a commit's reader with the queue it leaves (see `publishSnapshot`).
    private let publishLock = NSLock()
    /// Guards `draining` and orders an indexer's taking of queue rows with accepts.
    private let queueLock = NSLock()
    /// Docids of the queued messages being indexed now.
    private var draining: Set<Int64> = []
    private let parser: MessageParser

    private struct State {
        var committed: IndexReader
        /// Bumped by every accept and drain.
        var queueVersion: UInt64 = 0
        /// What searches read, and the queue version it was built at.
        var published: IndexReader
        var publishedVersion: UInt64 = 0
        /// Analyzed queued documents by queue row (each message is analyzed once for pending segments).
        var analyzed: [Int64: IndexDocument] = [:]
        /// Pending segments, each of some queue rows (built per accept, so an add costs a
        /// segment of its own messages, not of the whole queue).
        var parts: [PendingPart] = []
        /// Queue rows as of the published snapshot.
        var queued = 0
        /// Documents whose messages left the catalog while their deletion from the index
        /// failed to commit: hidden from searches until a later change commits it (`settle`).
        var unsettled: Set<Int64> = []
    }

    private let state: Locked<State>

    struct PendingPart {
        var rows: [Int64]
        var reader: SegmentReader
    }

    public init(dataRoot: String, user: String, ramBudget: Int = 32 << 20) throws(MailsiftError) {
        directory = try UserDirectory(dataRoot: dataRoot, user: user)
        self.user = user
        try directory.create()
        writer = try IndexWriter(directory: directory, ramBudget: ramBudget, returnMemory: false, parallelMerges: false)
        catalog = try Catalog(path: directory.catalogPath)
        if try catalog.meta("user") == nil { try catalog.setMeta("user", user) }
        parser = MessageParser(limits: ParserLimits())
        // Pending segments live in memory; versions before 2026-11-29 built them as files
        // under pending/, which a crash could leave behind and nothing refers to.
        try? FileManager.default.removeItem(atPath: directory.path + "/pending")
        let committed = try IndexReader(directory: directory)
        state = Locked(State(committed: committed, published: committed))
        try reconcile(committed)
        try publishSnapshot()
    }

    /// After a crash: queue rows whose documents reached a committed segment are dropped
    /// (the commit happened, the dequeue did not); catalog rows that are neither indexed nor
    /// queued are expunged; indexed documents that are neither live nor queued-over are deleted.
    private func reconcile(_ committed: IndexReader) throws(MailsiftError) {
        let indexed = Set(try committed.liveDocuments().map(\.id))
        let rows = try catalog.queueIndex()
        try catalog.dequeue(ids: rows.filter { indexed.contains($0.docid) }.map(\.id))
        let queue = rows.filter { !indexed.contains($0.docid) }
        let live = try catalog.liveDocids()
        try catalog.expunge(docids: Array(live.subtracting(indexed).subtracting(queue.map(\.docid))))
        let stale = indexed.subtracting(live).subtracting(queue.compactMap(\.replaces))
        if !stale.isEmpty {
            try withWriter { () throws(MailsiftError) in
                try writer.delete(ids: stale)
                try writer.commit()
            }
            try publishCommit(dequeued: [])
        }
    }

    /// Set (under the writer lock) once the user's directory is removed.
    private var removed = false

    /// Runs a change of the index under the writer lock. A change that fails (a full disk, an
    /// I/O error) is rolled back to the last commit (`recoverFromFailedChange`); deletions it
    /// leaves uncommitted are committed first by the next change.
    private func withWriter<T>(_ body: () throws(MailsiftError) -> T) throws(MailsiftError) -> T {
        try underWriterLock { () throws(MailsiftError) -> T in
            do throws(MailsiftError) {
                try settle()
                return try body()
            } catch {
                recoverFromFailedChange()
                throw error
            }
        }
    }

    /// Runs `body` under the writer lock while the user's index exists.
    private func underWriterLock<T>(_ body: () throws(MailsiftError) -> T) throws(MailsiftError) -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        guard !removed else { throw MailsiftError(.notFound, "the index of user \(user) was deleted") }
        return try body()
    }

    /// Commits the deletions an earlier failed change left (under the writer lock).
    private func settle() throws(MailsiftError) {
        let ids = state.withLock { $0.unsettled }
        guard !ids.isEmpty else { return }
        try writer.delete(ids: ids)
        try writer.commit()
        // (Still hidden while the commit is published: a search in between reads the old one.)
        try publishCommit(dequeued: [])
        state.withLock { $0.unsettled.subtract(ids) }
    }

    /// Whether a failed change left deletions to commit.
    public var hasUnsettledDeletions: Bool { state.withLock { !$0.unsettled.isEmpty } }

    /// Deletes the user's whole directory, after any indexing in progress; later calls fail
    /// with notFound.
    public func remove() throws(MailsiftError) {
        try underWriterLock { () throws(MailsiftError) in
            removed = true
            do { try FileManager.default.removeItem(atPath: directory.path) } catch {
                throw MailsiftError(.io, "cannot remove \(directory.path)", cause: Underlying("\(error)"))
            }
        }
    }

    /// Messages accepted and not yet in a segment.
    public var queuedCount: Int { state.withLock { $0.queued } }

    /// The pending segments searches read besides the committed ones.
    public var pendingSegmentCount: Int { state.withLock { $0.parts.count } }

    // MARK: - Accepting

    /// Makes messages durable and visible to the next search; returns their docids.
    @discardableResult
    public func accept(_ messages: [IncomingMessage]) throws(MailsiftError) -> [Int64] {
        guard !messages.isEmpty else { return [] }
        var items: [NewQueuedMessage] = []
        var invalidated: [Int64] = []
        var boxes: [String: Int64] = [:]
        for m in messages {
            let key = (m.mailboxGUID ?? "") + "\u{0}" + (m.mailbox ?? "")
            let box: Int64
            if let b = boxes[key] { box = b } else {
                let r = try catalog.mailbox(name: m.mailbox, guid: m.mailboxGUID, uidValidity: m.uidValidity)
                invalidated += r.expunged
                box = r.id
                boxes[key] = box
            }
            guard m.uid > 0, m.uid <= Int64(UInt32.max) else { throw MailsiftError(.invalidInput, "uid \(m.uid) is out of range 1...4294967295") }
            let kind: Int, payload: [UInt8]
            switch m.content {
            case .raw(let bytes):
                kind = 0
                payload = bytes
            case .extracted(let e):
                kind = 1
                do { payload = Array(try JSONEncoder().encode(e)) } catch {
                    throw MailsiftError(.invalidInput, "cannot encode the message", cause: Underlying("\(error)"))
                }
            }
            items.append(NewQueuedMessage(mailboxID: box, uid: m.uid, internalDate: m.internalDate, flags: m.flags.rawValue,
                                          keywords: m.keywords, kind: kind, payload: payload))
        }
        if !invalidated.isEmpty { try deleteDocuments(invalidated) }
        // Not under the writer lock (an add never waits for indexing): the queue lock makes
        // the set of messages being indexed stable while the catalog decides which queued
        // versions to supersede.
        queueLock.lock()
        let ids: [(docid: Int64, replaces: Int64?)]
        do {
            defer { queueLock.unlock() }
            ids = try catalog.enqueue(items, inFlight: draining)
        }
        state.withLock { $0.queueVersion &+= 1 }
        try publishSnapshot()
        return ids.map(\.docid)
    }

    // MARK: - Indexing

    /// Indexes up to `limit` queued messages into segments and commits. Returns how many.
    public func drain(limit: Int = 2_000, maxBytes: Int = 64 << 20) throws(MailsiftError) -> Int {
        try withWriter { () throws(MailsiftError) -> Int in
            queueLock.lock()
            let taken: Result<[QueuedMessage], MailsiftError> = Result { () throws(MailsiftError) in try catalog.queued(limit: limit, maxBytes: maxBytes) }
            if case .success(let rows) = taken { draining = Set(rows.map(\.docid)) }
            queueLock.unlock()
            defer {
                queueLock.lock()
                draining = []
                queueLock.unlock()
            }
            let rows = try taken.get()
            guard !rows.isEmpty else { return 0 }
            let analyzer = Analyzer()
            let cached = state.withLock { s in rows.map { s.analyzed[$0.id] } }
            // Overwritten versions go in the same commit as their replacements.
            try writer.delete(ids: Set(rows.compactMap(\.replaces)))
            // Still live in the catalog: a row expunged meanwhile was dropped from the queue
            // too, so only rows still queued are here.
            for (row, doc) in zip(rows, cached) {
                try writer.add(doc ?? document(row, analyzer: analyzer))
            }
            try writer.commit()
            try publishCommit(dequeued: rows.map(\.id))
            return rows.count
        }
    }

    /// After a failed add, delete, commit, merge or publish (a full disk, an I/O error), under
    /// the writer lock: the writer forgets what it did not commit (so the queue's rows are
    /// indexed once, by the next drain), queue rows whose documents did reach a committed
    /// generation (the commit point passed before the failure) leave the queue, and searches
    /// see the generation on disk. Deletions of messages the catalog no longer has stay to
    /// do (`unsettled`; hidden meanwhile). If even this fails, the next change or restart
    /// tries again.
    private func recoverFromFailedChange() {
        do {
            try writer.rollback()
            try publishCommit { committed throws(MailsiftError) in
                let indexed = Set(try committed.liveDocuments().map(\.id))
                return try catalog.queueIndex().filter { indexed.contains($0.docid) }.map(\.id)
            }
        } catch {
            // Left as it is: the queue still holds every acknowledged message.
        }
    }

    /// Runs after a commit, under the writer lock: the queue rows leave and the new
    /// generation becomes the searched one in one step, so a search sees each message once.
    private func publishCommit(dequeued: [Int64]) throws(MailsiftError) {
        try publishCommit { _ throws(MailsiftError) in dequeued }
    }

    /// The same, with the rows to dequeue chosen by looking at the new generation.
    private func publishCommit(dequeuing pick: (IndexReader) throws(MailsiftError) -> [Int64]) throws(MailsiftError) {
        let previous = state.withLock { $0.committed }
        let next = try IndexReader(directory: directory, reusing: previous)
        let dequeued = try pick(next)
        publishLock.lock()
        do {
            defer { publishLock.unlock() }
            try catalog.dequeue(ids: dequeued)
            state.withLock { s in
                s.committed = next
                s.queueVersion &+= 1
                for id in dequeued { s.analyzed[id] = nil }
            }
        }
        try publishSnapshot()
    }

    private func document(_ row: QueuedMessage, analyzer: Analyzer) -> IndexDocument {
        if row.kind == 1, let e = try? JSONDecoder().decode(ExtractedMessage.self, from: Data(row.payload)) {
            return DocumentBuilder.build(e, id: row.docid, mailbox: row.mailboxID, uid: row.uid, internalDate: row.internalDate,
                                         analyzer: analyzer)
        }
        let doc = parser.parse(row.payload)
        return DocumentBuilder.build(doc, id: row.docid, mailbox: row.mailboxID, uid: row.uid, internalDate: row.internalDate,
                                     size: Int64(row.payload.count), analyzer: analyzer)
    }

    /// Merges segments when a tier is full (the indexing workers call it between drains);
    /// true when it merged.
    @discardableResult
    public func maybeMerge() throws(MailsiftError) -> Bool {
        try withWriter { () throws(MailsiftError) -> Bool in
            let before = writer.manifest.generation
            // Four per tier, not eight: a live index commits about once a second, and every
            // segment is one more place each search looks its terms up.
            try writer.maybeMerge(mergeFactor: 4)
            guard writer.manifest.generation != before else { return false }
            try publishCommit(dequeued: [])
            return true
        }
    }

    // MARK: - Searching

    /// The most pending segments a snapshot has (the leveling keeps about log2 of the queue).
    static let maxPendingParts = 6

    /// What a search reads: the last commit, plus the queued messages as a pending segment,
    /// minus the versions they overwrite. Never built here: every change (accept, drain,
    /// expunge) publishes its snapshot before it returns, so a search takes the newest one and
    /// sees everything acknowledged before it started.
    public func snapshot() -> IndexReader {
        state.withLock { $0.published }
    }

    /// Builds and publishes the snapshot of the current commit and queue (the newest wins
    /// when two are built at once). Pending segments whose rows are all still queued are
    /// kept; one that lost rows (indexed, superseded, expunged) is rebuilt from the rest; rows
    /// in none get a new one (with the parts it takes in: see the leveling below).
    private func publishSnapshot() throws(MailsiftError) {
        // Under the publish lock: the committed reader and the queue as one consistent pair
        // (a commit swaps the reader and dequeues under it). Searches never take it.
        publishLock.lock()
        let (committed, version) = state.withLock { s in (s.committed, s.queueVersion) }
        let read = Result { () throws(MailsiftError) in try catalog.queueIndex() }
        publishLock.unlock()
        let index = try read.get()
        let live = Set(index.map(\.id))
        let (oldParts, analyzed) = state.withLock { s in (s.parts, s.analyzed) }
        // Parts that lost rows are dropped (their other rows are built again below).
        var parts = oldParts.filter { $0.rows.allSatisfy { live.contains($0) } }
        var covered = Set(parts.flatMap(\.rows))
        // Rows to build: every queued row not in a kept part.
        var building = index.count - covered.count
        // Leveled, as a binary counter: the new part takes in the parts before it while it
        // would hold at least half as many rows as the next, so a queued message is rebuilt
        // about log2(queue) times and searches visit about log2(queue) parts (rebuilding all
        // parts as one every fourth add had cost 12 documents' builds an add at a queue of 45).
        while let last = parts.last, building > 0, building * 2 >= last.rows.count || parts.count >= Self.maxPendingParts {
            parts.removeLast()
            covered.subtract(last.rows)
            building += last.rows.count
        }
        let order = index.map(\.id).filter { !covered.contains($0) }
        var fresh: [(Int64, IndexDocument)] = []
        if !order.isEmpty {
            let missing = order.filter { analyzed[$0] == nil }
            let analyzer = Analyzer()
            for row in try catalog.queued(ids: missing) { fresh.append((row.id, document(row, analyzer: analyzer))) }
            let made = Dictionary(fresh, uniquingKeysWith: { a, _ in a })
            let docs = order.compactMap { analyzed[$0] ?? made[$0] }
            let ids = order.filter { analyzed[$0] != nil || made[$0] != nil }
            if let reader = try PendingSegment.build(docs) {
                parts.append(PendingPart(rows: ids, reader: reader))
            }
        }
        let hidden = Set(index.compactMap(\.replaces)).union(state.withLock { $0.unsettled })
        let reader = parts.isEmpty && hidden.isEmpty ? committed : IndexReader(snapshot: committed, adding: parts.map(\.reader), hiding: hidden)
        state.withLock { s in
            for (id, d) in fresh { s.analyzed[id] = d }
            if s.analyzed.count > live.count { s.analyzed = s.analyzed.filter { live.contains($0.key) } }
            if version >= s.publishedVersion {
                s.published = reader
                s.publishedVersion = version
                s.parts = parts
                s.queued = index.count
            }
        }
    }

    // MARK: - Changing messages

    /// Removes messages by UID from a mailbox; returns how many.
    public func expunge(mailbox: Int64, where contains: (Int64) -> Bool) throws(MailsiftError) -> Int {
        let rows = try catalog.docids(mailbox: mailbox, where: contains)
        // (None left, but an earlier expunge's deletion still to commit: a retry commits it.)
        guard !rows.isEmpty || hasUnsettledDeletions else { return 0 }
        let docids = rows.map(\.docid)
        try withWriter { () throws(MailsiftError) in
            guard !docids.isEmpty else { return }
            let replaced = try catalog.removeMessages(docids: docids)
            try deleteDocuments(removedFromCatalog: docids + replaced)
        }
        return rows.count
    }

    /// Deletes documents whose catalog rows are already gone.
    private func deleteDocuments(_ docids: [Int64]) throws(MailsiftError) {
        try withWriter { () throws(MailsiftError) in try deleteDocuments(removedFromCatalog: docids) }
    }

    /// Under the writer lock: the catalog no longer has these messages (durably), so they are
    /// gone whatever happens to the index. Should the index's commit fail, they stay hidden
    /// from searches and the next change (or this one retried) commits their deletion.
    private func deleteDocuments(removedFromCatalog docids: [Int64]) throws(MailsiftError) {
        state.withLock { $0.unsettled.formUnion(docids) }
        try settle()
    }

    public func changeFlags(mailbox: Int64, where contains: (Int64) -> Bool, flags: MessageFlags, keywords: [String],
                            mode: FlagMode) throws(MailsiftError) -> Int {
        let rows = try catalog.docids(mailbox: mailbox, where: contains)
        try catalog.changeFlags(docids: rows.map(\.docid), flags: flags, keywords: keywords, mode: mode)
        return rows.count
    }

    public func deleteMailbox(_ id: Int64) throws(MailsiftError) -> Int {
        let docids = try catalog.deleteMailbox(id)
        try deleteDocuments(docids)
        return docids.count
    }
}
