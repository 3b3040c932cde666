import Analysis
import Catalog
import Foundation
import IndexEngine
import MailsiftCore
import MIME
import Synchronization

/// Indexes mail from files into one user's index: Maildirs (cur/new, flags from file names,
/// Maildir++ `.Folder`s and sub-directories as mailboxes), trees of one-message files, mbox
/// files and .eml files. Incremental: a rerun adds what is new, re-indexes what changed,
/// follows Maildir files that were renamed in place (new/ to cur/, flag changes) without
/// re-indexing them, and removes what vanished. A Maildir folder's `dovecot-uidlist` gives
/// its messages their Dovecot UIDs and the folder its UIDVALIDITY.
public final class UserIndexer {
    public struct Report: Sendable {
        public var added = 0
        public var unchanged = 0
        /// Files renamed in place (same message, new path and flags).
        public var moved = 0
        public var removed = 0
        public var failed = 0
        public var bytes = 0
        public var seconds = 0.0
        public var messagesPerSecond: Double { seconds > 0 ? Double(added) / seconds : 0 }
    }

    public let directory: UserDirectory
    public let catalog: Catalog
    private let writer: IndexWriter
    private let parser: MessageParser
    /// One analyzer per build thread (an analyzer holds ICU iterators: one thread at a time);
    /// with several threads, two such sets, for alternate batches: a batch's threads start
    /// while the last messages of the one before are still being parsed.
    private let analyzers: [Analyzer]
    /// Batches started so far (which analyzer set the next one takes).
    private var batchesStarted = 0
    /// With build threads: the indexing thread's own, for the messages it parses while it
    /// would otherwise wait for a batch.
    private let helperAnalyzer: Analyzer?
    /// Mailbox ids by name, for this indexer's runs.
    private var mailboxes: [String: Int64] = [:]

    /// `threads` > 1: messages are parsed and analyzed on that many threads, a batch ahead of
    /// the thread that numbers them in the catalog and adds them to the index: the same
    /// documents in the same order as with one thread. (Segment boundaries may differ: the RAM
    /// budget counts array capacities, which depend on the allocator's history.)
    public init(dataRoot: String, user: String, ramBudget: Int = 64 << 20, extractAttachments: Bool = true,
                threads: Int = 1) throws(MailsiftError) {
        directory = try UserDirectory(dataRoot: dataRoot, user: user)
        try directory.create()
        // Merges use every core only when this indexer has several (a bulk job running one
        // user per core keeps each user's merges to two threads).
        // With build threads, a full buffer is also written on its own thread: the build
        // threads would otherwise wait for the flush once their next batch is done.
        writer = try IndexWriter(directory: directory, ramBudget: ramBudget, parallelMerges: threads > 1, backgroundFlush: threads > 1)
        catalog = try Catalog(path: directory.catalogPath)
        if try catalog.meta("user") == nil { try catalog.setMeta("user", user) }
        var limits = ParserLimits()
        limits.extractAttachments = extractAttachments
        parser = MessageParser(limits: limits)
        let buildThreads = max(1, min(threads, 64))
        analyzers = AnalyzerPool.shared.take(buildThreads > 1 ? 2 * buildThreads : 1)
        helperAnalyzer = buildThreads > 1 ? AnalyzerPool.shared.take(1).first : nil
        // (Should this throw, deinit still runs: every stored property is set.)
        try reconcile()
    }

    deinit {
        // Every batch is done by now (index() waits for each before it returns).
        AnalyzerPool.shared.give(analyzers + (helperAnalyzer.map { [$0] } ?? []))
    }

    /// Merges the whole index into one segment (smallest and fastest to search; for after bulk jobs).
    public func compact() throws(MailsiftError) {
        try writer.forceMerge(maxSegments: 1)
    }

    /// After a crash between a catalog transaction and the index commit the two disagree;
    /// the index's committed state and the catalog are brought back together: catalog rows
    /// whose documents never reached a committed segment are rolled back (so the run indexes
    /// them again, with the UIDs an uninterrupted run gives), and indexed documents the
    /// catalog already expunged are deleted.
    private func reconcile() throws(MailsiftError) {
        let indexed = Set(try IndexReader(directory: directory).liveDocuments().map(\.id))
        let live = try catalog.liveDocids()
        try catalog.rollBack(docids: Array(live.subtracting(indexed)))
        let stale = indexed.subtracting(live)
        if !stale.isEmpty {
            try writer.delete(ids: stale)
            try writer.commit()
        }
    }

    /// Indexes `sources` and commits. `progress` is called after every batch (up to 500
    /// messages). With `commitEvery`, a commit follows every that many added messages, so an
    /// interrupted run keeps what it committed (the next run skips those files). `merge`:
    /// the tiered merge at the end (a caller that compacts next passes false: it would merge
    /// the same documents twice).
    public func index(_ sources: [String], commitEvery: Int? = nil, merge: Bool = true,
                      progress: ((Report) -> Void)? = nil) throws(MailsiftError) -> Report {
        var report = Report()
        var committedAt = 0
        let batchSize = min(500, max(1, commitEvery ?? 500))
        let start = ContinuousClock.now
        for source in sources {
            let root = URL(fileURLWithPath: source).standardizedFileURL.path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else {
                throw MailsiftError(.notFound, "\(source): no such file or directory")
            }
            let prefix = isDir.boolValue ? root + "/" : root
            // A file source owns its own path and its mbox members (`path#N`), not its siblings.
            var known = try catalog.sources(under: prefix).filter { isDir.boolValue || $0.key == root || $0.key.hasPrefix(root + "#") }
            // Known Maildir files by folder and base name, to recognize renames.
            var byMaildirKey: [String: String] = [:]
            for path in known.keys { if let key = Self.maildirKey(path) { byMaildirKey[key] = path } }
            var uidLists: [String: DovecotUIDList?] = [:]
            var lastMailbox: (dir: Substring, name: String)?
            var batch: [BuildJob.Item] = []
            var uids: [Int64?] = []
            var replaced: [Int64] = []
            // The batch being parsed and analyzed while the walk reads the next one.
            var building: BuildJob?
            func submit() throws(MailsiftError) {
                // This thread parses what is left of the previous batch rather than wait; the
                // next one starts at once on the other analyzer set (a slow last message of
                // the previous batch, an attachment being extracted, no longer idles the other
                // cores), and the previous one is added to the index (once built) meanwhile.
                if let building, let helperAnalyzer { building.work(parser: parser, analyzer: helperAnalyzer, part: building.helper) }
                let job = try startBuilding(batch, uids: uids, replacing: replaced)
                batch.removeAll(keepingCapacity: true)
                uids.removeAll(keepingCapacity: true)
                replaced.removeAll()
                if let previous = building { try finish(previous) }
                building = job
            }
            func finish(_ job: BuildJob) throws(MailsiftError) {
                try add(job, report: &report)
                if let n = commitEvery, report.added - committedAt >= n {
                    try writer.commit()
                    committedAt = report.added
                }
                progress?(report)
            }
            for file in MessageFiles.files(under: [root]) {
                // The mtime decides whether a known file changed; a file the catalog has never
                // seen needs none before reading (the read's own fstat gives it).
                let statMTime = known.isEmpty ? nil : Self.mtime(file)
                // Unchanged files are skipped without reading them, unless Dovecot has since
                // given the message a UID other than the one it has here (a file indexed before
                // Dovecot listed it): then it is indexed again under Dovecot's UID.
                if let row = known[file], row.mtime == statMTime {
                    let listed = Self.maildirFolder(file).flatMap { folder in
                        Self.uidList(folder, &uidLists)?.uids[DovecotUIDList.baseName(String(Self.lastComponent(file)))]
                    }
                    if listed == nil || listed == row.uid {
                        known[file] = nil
                        report.unchanged += 1
                        continue
                    }
                }
                if let row = known[file] {
                    replaced.append(row.docid)  // changed: the old version goes
                    known[file] = nil
                } else if let key = Self.maildirKey(file), let old = byMaildirKey[key], old != file, let row = known[old],
                          access(old, F_OK) != 0 {
                    // The same Maildir message under a new name (moved to cur/, flags changed).
                    try catalog.moveSource(docid: row.docid, to: file, mtime: Self.mtime(file),
                                           flags: MessageFlags(maildir: MessageFiles.maildirFlags(file)).rawValue)
                    known[old] = nil
                    byMaildirKey[key] = file
                    report.moved += 1
                    continue
                }
                let messages: [SourceMessage]
                let fileMTime: Int64?
                do { (messages, fileMTime) = try MessageFiles.readWithMTime(file) } catch {
                    report.failed += 1
                    continue
                }
                let mtime = statMTime ?? fileMTime
                let isMbox = messages.count > 1 || ["mbox", "mbx"].contains(Self.pathExtension(file).lowercased())
                // The walk goes directory by directory: a Maildir file's mailbox is its
                // directory's, named once per directory.
                let dir = file[..<(file.utf8.lastIndex(of: 0x2F) ?? file.startIndex)]
                let mailbox: String
                if !isMbox, let last = lastMailbox, last.dir.utf8.elementsEqual(dir.utf8) {
                    mailbox = last.name
                } else {
                    mailbox = Self.mailboxName(file: file, root: root, isDirectory: isDir.boolValue, isMbox: isMbox)
                    if !isMbox { lastMailbox = (dir, mailbox) }
                }
                // Dovecot's UID for a Maildir file, from its folder's uidlist.
                var uid: Int64?
                if !isMbox, let folder = Self.maildirFolder(file) {
                    if let list = Self.uidList(folder, &uidLists) {
                        uid = list.uids[DovecotUIDList.baseName(String(Self.lastComponent(file)))]
                        if mailboxes[mailbox] == nil, let validity = list.uidValidity {
                            let (id, expunged) = try catalog.mailbox(name: mailbox, guid: nil, uidValidity: validity)
                            // A new UIDVALIDITY: the old UIDs mean nothing any more.
                            if !expunged.isEmpty { try writer.delete(ids: Set(expunged)) }
                            mailboxes[mailbox] = id
                            // Files Dovecot has not listed yet are numbered from its next UID.
                            if let next = list.nextUID { try catalog.raiseNextUID(mailbox: id, to: next) }
                        }
                    }
                }
                for message in messages {
                    if let row = known[message.origin] {
                        known[message.origin] = nil
                        if row.mtime == mtime {
                            report.unchanged += 1
                            continue
                        }
                        replaced.append(row.docid)
                    }
                    batch.append((message, mailbox, mtime))
                    uids.append(messages.count == 1 ? uid : nil)
                    report.bytes += message.bytes.count
                    if batch.count >= batchSize { try submit() }
                }
            }
            if !batch.isEmpty || !replaced.isEmpty { try submit() }
            if let last = building {
                if let helperAnalyzer { last.work(parser: parser, analyzer: helperAnalyzer, part: last.helper) }
                try finish(last)
            }
            // Whatever the catalog knows under this source but the walk did not see: gone.
            let vanished = Set(known.values.map(\.docid))
            if !vanished.isEmpty {
                try writer.delete(ids: vanished)
                try catalog.expunge(docids: Array(vanished))
                report.removed += vanished.count
            }
        }
        try writer.commit()
        if merge { try writer.maybeMerge() }
        let elapsed = ContinuousClock.now - start
        report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return report
    }

    /// A batch of messages being parsed and analyzed (into documents numbered later). Threads
    /// take its messages one at a time (a shared counter), so none idles while another has a
    /// long share; the documents go back into batch order when added.
    final class BuildJob: @unchecked Sendable {
        typealias Item = (message: SourceMessage, mailbox: String, mtime: Int64?)
        let items: [Item]
        let uids: [Int64?]
        let replaced: [Int64]
        /// Each thread's documents with their batch positions; `helper` is the indexing thread's.
        let parts: [Part]
        let helper = Part()
        let done = DispatchGroup()
        private let next = Atomic<Int>(0)
        final class Part: @unchecked Sendable { var docs: [(index: Int, sent: Int64?, document: IndexDocument)] = [] }

        init(_ items: [Item], uids: [Int64?], replaced: [Int64], threads: Int) {
            self.items = items
            self.uids = uids
            self.replaced = replaced
            parts = (0..<threads).map { _ in Part() }
        }

        /// Parses and analyzes messages not yet taken, into `part`, until none is left.
        func work(parser: MessageParser, analyzer: Analyzer, part: Part) {
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < items.count else { return }
                let message = items[i].message
                let doc = parser.parse(message.bytes)
                // Numbered (docid, mailbox id, UID) when added: the catalog assigns those.
                part.docs.append((i, doc.date?.secondsSinceEpoch,
                                  DocumentBuilder.build(doc, id: 0, mailbox: 0, uid: 0, internalDate: message.internalDate ?? 0,
                                                        size: message.size, analyzer: analyzer)))
            }
        }

        /// The documents in batch order (after `done`).
        func documents() -> [(sent: Int64?, document: IndexDocument)] {
            var out = [(sent: Int64?, document: IndexDocument)?](repeating: nil, count: items.count)
            for part in parts + [helper] {
                for (i, sent, document) in part.docs { out[i] = (sent, document) }
                part.docs = []
            }
            return out.compactMap { $0 }
        }
    }

    /// Starts parsing and analyzing a batch: on this thread with one analyzer, otherwise on
    /// `analyzers.count` threads, each with its own analyzer.
    private func startBuilding(_ batch: [BuildJob.Item], uids: [Int64?], replacing replaced: [Int64]) throws(MailsiftError) -> BuildJob {
        let buildThreads = analyzers.count > 1 ? analyzers.count / 2 : 1
        let threads = batch.count < 2 * buildThreads ? 1 : buildThreads
        let job = BuildJob(batch, uids: uids, replaced: replaced, threads: threads)
        let parser = self.parser
        // Alternate sets: the previous batch's threads may still be on their last messages
        // (the one before it is done: it was added to the index). A batch small enough for
        // one thread runs here, with its set's first analyzer.
        let set = batchesStarted % 2
        batchesStarted += 1
        for k in 0..<threads {
            // Each analyzer is used by one thread at a time: the batch's thread k.
            nonisolated(unsafe) let analyzer = analyzers[analyzers.count == 1 ? 0 : set * buildThreads + k]
            let part = job.parts[k]
            let work: @Sendable () -> Void = { job.work(parser: parser, analyzer: analyzer, part: part) }
            if threads == 1 { work() } else { DispatchQueue.global().async(group: job.done, execute: work) }
        }
        return job
    }

    /// Waits for a batch's documents, numbers them in the catalog and adds them to the index.
    private func add(_ job: BuildJob, report: inout Report) throws(MailsiftError) {
        job.done.wait()
        if !job.replaced.isEmpty {
            try writer.delete(ids: Set(job.replaced))
            try catalog.expunge(docids: job.replaced)
        }
        guard !job.items.isEmpty else { return }
        let docs = job.documents()
        guard docs.count == job.items.count else { throw MailsiftError(.corrupt, "a batch lost documents while building: \(docs.count) of \(job.items.count)") }
        var rows: [NewMessage] = []
        for ((message, mailbox, mtime), (sent, uid)) in zip(job.items, zip(docs.map(\.sent), job.uids)) {
            let id: Int64
            if let known = mailboxes[mailbox] { id = known } else {
                id = try catalog.mailboxID(mailbox)
                mailboxes[mailbox] = id
            }
            // The mtime taken before the file was read: a change made while reading shows next run.
            rows.append(NewMessage(mailboxID: id, uid: uid, internalDate: message.internalDate ?? 0, sentDate: sent,
                                   size: message.size, flags: MessageFlags(maildir: message.maildirFlags).rawValue,
                                   sourcePath: message.origin, sourceMTime: mtime))
        }
        let added = try catalog.addMessages(rows)
        for ((_, built), (entry, row)) in zip(docs, zip(added, rows)) {
            var document = built
            document.id = entry.docid
            document.values.id = entry.docid
            document.values.mailbox = row.mailboxID
            document.values.uid = entry.uid
            try writer.add(document)
            report.added += 1
        }
    }

    /// The last path component (string operations: URL parsing per message cost 2% of a run).
    // The path helpers below work on UTF-8 bytes, as the kernel does: "/" (and ".", ":") are
    // ASCII and split where their byte is. (Character by character, each call counted or
    // searched grapheme clusters: a fifth of the stdlib time of a bulk reindex.)

    static func lastComponent(_ path: String) -> Substring {
        let u = path.utf8
        guard !u.isEmpty else { return Substring(path) }
        var end = u.endIndex
        // Trailing slashes go, down to one character.
        let first = u.index(after: u.startIndex)
        while end > first, u[u.index(before: end)] == 0x2F { end = u.index(before: end) }
        var start = end
        while start > u.startIndex, u[u.index(before: start)] != 0x2F { start = u.index(before: start) }
        return path[start..<end]
    }

    static func pathExtension(_ path: String) -> Substring {
        let name = lastComponent(path)
        guard let dot = name.utf8.lastIndex(of: 0x2E), dot != name.startIndex, name.utf8.index(after: dot) != name.endIndex else { return "" }
        return name[name.utf8.index(after: dot)...]
    }

    /// The file name without its extension.
    static func baseName(_ path: String) -> String {
        let name = lastComponent(path)
        guard let dot = name.utf8.lastIndex(of: 0x2E), dot != name.startIndex, name.utf8.index(after: dot) != name.endIndex else { return String(name) }
        return String(name[..<dot])
    }

    /// A folder's dovecot-uidlist, read once per run.
    static func uidList(_ folder: String, _ cache: inout [String: DovecotUIDList?]) -> DovecotUIDList? {
        if let known = cache[folder] { return known }
        let list = DovecotUIDList.load(folder: folder)
        cache[folder] = .some(list)
        return list
    }

    /// The Maildir folder (the directory holding cur/ and new/) of a file in cur/ or new/.
    static func maildirFolder(_ path: String) -> String? {
        let u = path.utf8
        guard let slash = u.lastIndex(of: 0x2F) else { return nil }
        guard let up = u[..<slash].lastIndex(of: 0x2F) else { return nil }
        let sub = u[u.index(after: up)..<slash]
        guard sub.elementsEqual("cur".utf8) || sub.elementsEqual("new".utf8) else { return nil }
        return String(path[..<up])
    }

    /// Folder and base name of a Maildir file (what stays when it is renamed in place).
    static func maildirKey(_ path: String) -> String? {
        guard let folder = maildirFolder(path) else { return nil }
        return folder + "/" + DovecotUIDList.baseName(String(lastComponent(path)))
    }

    static func mtime(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec)
    }

    /// The mailbox a file belongs to: its directory relative to the source root, without the
    /// Maildir `cur`/`new`/`tmp` level, Maildir++ `.A.B` as `A/B`; the root itself is INBOX;
    /// an mbox file is named after the file.
    static func mailboxName(file: String, root: String, isDirectory: Bool, isMbox: Bool) -> String {
        guard isDirectory else { return isMbox ? baseName(file) : "INBOX" }
        let fu = file.utf8, ru = root.utf8
        let tail = fu.starts(with: ru) ? file[fu.index(fu.startIndex, offsetBy: ru.count)...] : Substring(file)
        var rel = tail.split(separator: "/").dropLast().map(String.init)
        if let last = rel.last, ["cur", "new", "tmp"].contains(last) { rel.removeLast() }
        // An mbox file inside the tree is a mailbox of its own.
        if isMbox { rel.append(baseName(file)) }
        rel = rel.flatMap { part -> [String] in
            part.hasPrefix(".") ? part.dropFirst().split(separator: ".").map(String.init) : [part]
        }
        return rel.isEmpty ? "INBOX" : rel.joined(separator: "/")
    }
}

/// Analyzers kept for the next indexer of the process: a bulk job indexes thousands of users
/// one after another, and each new analyzer opened its ICU iterator and grew its scratch
/// buffers again (two more analyzers per user cost a 1,000-user `reindex --jobs 1` ~20 s of
/// CPU). An indexer takes its analyzers when it is made and gives them back when it goes, so
/// one is never used by two at once; at most `limit` are kept.
final class AnalyzerPool: @unchecked Sendable {
    static let shared = AnalyzerPool()
    static let limit = 64
    private let free = Locked<[Analyzer]>([])

    func take(_ n: Int) -> [Analyzer] {
        let kept = free.withLock { f -> [Analyzer] in
            let k = min(n, f.count)
            defer { f.removeLast(k) }
            return Array(f.suffix(k))
        }
        return kept + (0..<(n - kept.count)).map { _ in Analyzer() }
    }

    func give(_ analyzers: [Analyzer]) {
        free.withLock { f in
            for a in analyzers where f.count < Self.limit { f.append(a) }
        }
    }
}
