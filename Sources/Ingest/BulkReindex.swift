import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IndexEngine
import MailsiftCore
import Synchronization

/// Indexes every user of a mail server's storage (`MailServerLayout`), `jobs` users at a
/// time, each with its own writer.
///
/// - Incremental by default: each user's run adds new mail, follows renamed Maildir files and
///   removes vanished mail (`UserIndexer`). With `full`, a user is rebuilt into a staging
///   directory and swapped in whole (a rename) once complete: searches read the old index
///   until then.
/// - Resumable: a journal (`<data>/.reindex/journal.json`, written atomically after each
///   user) lists the users done; a rerun with the same root, layout and mode skips them, and a
///   user cut off midway keeps what it committed (a commit every `commitEvery` messages) and
///   continues from there. A finished run renames the journal to `last-run.json`.
/// - Bounded: `memory` is shared among the jobs as writer RAM budgets; unreadable messages
///   are counted and skipped; a user whose index another writer holds (a running daemon) is
///   retried once at the end, then reported as busy.
public final class BulkReindex: Sendable {
    public struct Options: Sendable {
        public var dataRoot: String
        public var usersRoot: String
        public var layout: MailServerLayout = .dovecot
        public var jobs = 1
        /// Threads that parse and analyze each user's messages (`UserIndexer`): with fewer
        /// users than cores, one user's mail uses several.
        public var threadsPerJob = 1
        public var full = false
        /// Writer RAM budget of all jobs together, bytes.
        public var memory = 1 << 30
        public var commitEvery = 5_000
        public var extractAttachments = true
        /// Only these users (all when empty).
        public var users: [String] = []
        /// Asks the writer holding a busy user (a running daemon) to let go of it; true when
        /// it will (its lock is then free once its requests in flight end).
        public var release: (@Sendable (String) -> Bool)?
        /// Tells that writer the job is done with a user it released (it reopens the user at
        /// once instead of waiting out its hold).
        public var reopen: (@Sendable (String) -> Void)?

        public init(dataRoot: String, usersRoot: String) {
            self.dataRoot = dataRoot
            self.usersRoot = usersRoot
        }
    }

    public struct UserResult: Codable, Sendable {
        public var user: String
        /// done, busy (another writer holds the index) or failed.
        public var status: String
        public var error: String?
        public var added = 0
        public var unchanged = 0
        public var moved = 0
        public var removed = 0
        public var unreadable = 0
        public var bytes = 0
        public var seconds = 0.0
    }

    public struct Progress: Sendable {
        public var usersTotal = 0
        public var usersDone = 0
        /// Users skipped because an earlier, interrupted run finished them.
        public var usersResumed = 0
        /// Message files found under the users' mail (mbox files count once).
        public var filesTotal = 0
        public var messages = 0
        public var added = 0
        public var bytes = 0
        public var seconds = 0.0
        public var running: [String] = []
    }

    public struct Summary: Codable, Sendable {
        public var usersRoot: String
        public var layout: String
        public var full: Bool
        public var jobs: Int
        public var users: [UserResult]
        public var seconds: Double
        public var added: Int { users.reduce(0) { $0 + $1.added } }
        public var bytes: Int { users.reduce(0) { $0 + $1.bytes } }
        public var ok: Bool { users.allSatisfy { $0.status == "done" } }
    }

    struct Journal: Codable {
        var usersRoot: String
        var layout: String
        var full: Bool
        var done: [UserResult]
    }

    public let options: Options
    private let state = Locked(Progress())
    private let start = ContinuousClock.now

    public init(_ options: Options) {
        self.options = options
    }

    var journalDirectory: String { options.dataRoot + "/.reindex" }
    var journalPath: String { journalDirectory + "/journal.json" }

    /// What the run has done so far (for a progress display; any thread).
    public func progress() -> Progress {
        var p = state.withLock { $0 }
        p.seconds = (ContinuousClock.now - start).seconds
        return p
    }

    public func run() throws(MailsiftError) -> Summary {
        let root = URL(fileURLWithPath: options.usersRoot).standardizedFileURL.path
        guard MailServerLayout.isDirectory(root) else { throw MailsiftError(.notFound, "\(options.usersRoot): not a directory") }
        var users = options.layout.users(under: root)
        if !options.users.isEmpty { users = users.filter { options.users.contains($0.name) } }
        users = users.filter { (try? UserDirectory.validate($0.name)) != nil }
        do {
            try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw MailsiftError(.io, "cannot create \(journalDirectory)", cause: Underlying("\(error)"))
        }
        // An interrupted run of the same job: its finished users are not redone.
        var journal = Journal(usersRoot: root, layout: options.layout.rawValue, full: options.full, done: [])
        if let data = FileManager.default.contents(atPath: journalPath), let old = try? JSONDecoder().decode(Journal.self, from: data),
           old.usersRoot == root, old.layout == options.layout.rawValue, old.full == options.full {
            journal.done = old.done
        }
        let finished = Set(journal.done.map(\.user))
        let todo = users.filter { !finished.contains($0.name) }
        let files = todo.reduce(0) { $0 + MessageFiles.files(under: [$1.mail]).count }
        state.withLock { p in
            p.usersTotal = users.count
            p.usersDone = users.count - todo.count
            p.usersResumed = users.count - todo.count
            p.filesTotal = files
        }
        let shared = Locked((journal: journal, next: 0, busy: [MailServerLayout.User](), failed: [UserResult]()))
        let jobs = max(1, min(options.jobs, max(1, todo.count)))
        let work: @Sendable (MailServerLayout.User) -> Void = { [self] user in
            let result = self.index(user, ramBudget: max(16 << 20, options.memory / jobs))
            shared.withLock { s in
                switch result.status {
                case "busy": s.busy.append(user)
                case "done":
                    s.journal.done.append(result)
                    self.saveJournal(s.journal)
                default: s.failed.append(result)  // not in the journal: a rerun tries it again
                }
            }
            if result.status != "busy" { state.withLock { $0.usersDone += 1 } }
        }
        runParallel(jobs) {
            shared.withLock { s -> MailServerLayout.User? in
                guard s.next < todo.count else { return nil }
                s.next += 1
                return todo[s.next - 1]
            }
        } work: { user in work(user) }
        // Users another writer held: once more, after the others.
        let busy = shared.withLock { s in
            let b = s.busy
            s.busy = []
            return b
        }
        if !busy.isEmpty {
            usleep(500_000)
            for user in busy { work(user) }
        }
        let (final, stillBusy, failed) = shared.withLock { ($0.journal, $0.busy, $0.failed) }
        var results = final.done + failed
        for user in stillBusy {
            results.append(UserResult(user: user.name, status: "busy", error: "another writer (a running daemon?) holds this user's index"))
        }
        let order = Dictionary(uniqueKeysWithValues: users.enumerated().map { ($1.name, $0) })
        results.sort { (order[$0.user] ?? 0) < (order[$1.user] ?? 0) }
        let summary = Summary(usersRoot: root, layout: options.layout.rawValue, full: options.full, jobs: jobs, users: results,
                              seconds: (ContinuousClock.now - start).seconds)
        if stillBusy.isEmpty, failed.isEmpty {
            // Done: the journal becomes the record of the last run.
            rename(journalPath, journalDirectory + "/last-run.json")
        }
        return summary
    }

    /// Runs `work` on `jobs` threads until `next` runs out.
    private func runParallel(_ jobs: Int, next: @escaping @Sendable () -> MailServerLayout.User?,
                             work: @escaping @Sendable (MailServerLayout.User) -> Void) {
        let group = DispatchGroup()
        for k in 0..<jobs {
            group.enter()
            let run: @Sendable () -> Void = {
                while let user = next() { work(user) }
                group.leave()
            }
            // No thread to be had: this one takes users until none is left (then the others
            // find none to take).
            if !startThread(name: "ms-reindex-\(k)", stackSize: 8 << 20, run) { run() }
        }
        group.wait()
    }

    private func index(_ user: MailServerLayout.User, ramBudget: Int) -> UserResult {
        state.withLock { $0.running.append(user.name) }
        defer { state.withLock { p in p.running.removeAll { $0 == user.name } } }
        var result = UserResult(user: user.name, status: "done")
        let t0 = ContinuousClock.now
        var seen = (messages: 0, added: 0, bytes: 0)
        let report: (UserIndexer.Report) -> Void = { [self] r in
            let messages = r.added + r.unchanged + r.moved + r.failed
            state.withLock { p in
                p.messages += messages - seen.messages
                p.added += r.added - seen.added
                p.bytes += r.bytes - seen.bytes
            }
            seen = (messages, r.added, r.bytes)
            FaultInjection.afterMessages(state.withLock { $0.added })
        }
        // Whether the daemon was asked for this user: then it is told when the job is done.
        var asked = false
        defer { if asked { options.reopen?(user.name) } }
        do throws(MailsiftError) {
            let r: UserIndexer.Report
            var attempt = 0
            while true {
                do throws(MailsiftError) {
                    if options.full {
                        r = try rebuild(user, ramBudget: ramBudget, progress: report)
                    } else {
                        let indexer = try UserIndexer(dataRoot: options.dataRoot, user: user.name, ramBudget: ramBudget,
                                                      extractAttachments: options.extractAttachments, threads: options.threadsPerJob)
                        r = try indexer.index([user.mail], commitEvery: options.commitEvery, progress: report)
                    }
                    break
                } catch let e where e.code == .limitExceeded && e.message.contains("another writer") {
                    // A daemon holds the user: ask it to let go, then wait for its lock (up to
                    // 10 s: requests in flight end first; a request meanwhile may reopen it).
                    if !asked, let release = options.release, release(user.name) { asked = true }
                    guard asked, attempt < 100 else { throw e }
                    attempt += 1
                    if attempt % 20 == 0, let release = options.release { _ = release(user.name) }
                    usleep(100_000)
                }
            }
            report(r)
            result.added = r.added
            result.unchanged = r.unchanged
            result.moved = r.moved
            result.removed = r.removed
            result.unreadable = r.failed
            result.bytes = r.bytes
        } catch let e where e.code == .limitExceeded && e.message.contains("another writer") {
            result.status = "busy"
            result.error = e.message
        } catch {
            result.status = "failed"
            result.error = "\(error)"
        }
        result.seconds = (ContinuousClock.now - t0).seconds
        return result
    }

    /// A user built afresh in `<data>/.reindex/staging`, then renamed over the live index
    /// while holding its write lock (the old files stay mapped by searches that have them).
    private func rebuild(_ user: MailServerLayout.User, ramBudget: Int, progress: @escaping (UserIndexer.Report) -> Void) throws(MailsiftError) -> UserIndexer.Report {
        let staging = journalDirectory + "/staging"
        // A staging index left by an interrupted run is continued (it is incremental too).
        let fresh = try UserDirectory(dataRoot: staging, user: user.name)
        let live = try UserDirectory(dataRoot: options.dataRoot, user: user.name)
        try live.create()
        // Nobody else may write while the new index is built and swapped in.
        let lock = try WriteLock(path: live.lockPath)
        defer { lock.unlock() }
        var report: UserIndexer.Report
        do {
            let indexer = try UserIndexer(dataRoot: staging, user: user.name, ramBudget: ramBudget, extractAttachments: options.extractAttachments,
                                          threads: options.threadsPerJob)
            report = try indexer.index([user.mail], commitEvery: options.commitEvery, progress: progress)
            try indexer.compact()
        }
        let trash = journalDirectory + "/trash-\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1000))"
        guard rename(live.path, trash) == 0 else { throw DurableFiles.error("rename", live.path) }
        guard rename(fresh.path, live.path) == 0 else {
            let e = DurableFiles.error("rename", fresh.path)
            rename(trash, live.path)
            throw e
        }
        try DurableFiles.syncDirectory((live.path as NSString).deletingLastPathComponent)
        try? FileManager.default.removeItem(atPath: trash)
        report.removed = 0
        return report
    }

    private func saveJournal(_ journal: Journal) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(journal) else { return }
        let tmp = journalPath + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        rename(tmp, journalPath)
    }
}

/// Test-only crash injection: with MAILSIFT_FAULT_EXIT_AFTER_MESSAGES=N in the environment,
/// the process exits at once (no cleanup, as a kill -9 would) once N messages were added.
enum FaultInjection {
    static let exitAfter: Int? = ProcessInfo.processInfo.environment["MAILSIFT_FAULT_EXIT_AFTER_MESSAGES"].flatMap { Int($0) }

    static func afterMessages(_ n: Int) {
        if let limit = exitAfter, n >= limit { _exit(9) }
    }
}

extension Duration {
    /// The duration in seconds (for rates and reports).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
