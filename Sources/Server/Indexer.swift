import Foundation
import IndexEngine
import Ingest
import Logging
import MailsiftCore
import Synchronization

/// The dedicated indexer: worker threads, apart from the request handlers and NIO's event
/// loops, that move users' queued messages into segments. A user is drained by one worker at a
/// time (per-user batching: up to `batch` messages a commit); users take turns.
///
/// A user's first queued message waits `commitDelay` before its drain, so a steady trickle of
/// adds becomes one commit a second rather than one per add: every commit creates segment
/// files and a manifest, and merges follow (at 50 adds/s on LKML, committing each drain at once
/// spent a tenth of the CPU creating and deleting files). Queued messages are durable and
/// searchable from the moment they are accepted, so waiting costs neither.
///
/// Which users have queued work survives a restart through marker files under
/// `<data>/.queued/` (one per user, holding the user name), written when a user's queue
/// becomes non-empty and removed when it is drained; the queue itself is in the user's catalog.
final class Indexer: Sendable {
    private let registry: UserRegistry
    private let logger: Logger
    private let metrics: ServerMetrics
    let workers: Int
    let batch: Int
    let commitDelay: Duration
    let indexNice: Int32
    private let markerDirectory: String

    private struct State {
        /// Users to drain, each no earlier than its instant.
        var ready: [(user: String, notBefore: ContinuousClock.Instant)] = []
        var scheduled: Set<String> = []
        var running: Set<String> = []
        var again: Set<String> = []
        var stopping = false
        var threads = 0
    }

    private let state = Locked(State())
    private let condition = NSCondition()

    init(registry: UserRegistry, workers: Int, batch: Int, commitDelay: Double = 1, indexNice: Int32 = 0, metrics: ServerMetrics, logger: Logger) {
        self.registry = registry
        self.indexNice = min(max(0, indexNice), 19)
        self.workers = max(0, workers)
        self.batch = max(1, batch)
        self.commitDelay = .milliseconds(Int64((commitDelay.isFinite ? min(max(0, commitDelay), 3600) : 1) * 1000))
        self.metrics = metrics
        self.logger = logger
        markerDirectory = registry.dataRoot + "/.queued"
    }

    /// Starts the workers; throws when none of them could be started (the daemon would accept
    /// messages it never indexes). Some of them is enough: the log names the others.
    func start() throws(MailsiftError) {
        try? FileManager.default.createDirectory(atPath: markerDirectory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        // Users left with queued work by the last run.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: markerDirectory)) ?? [] {
            if let data = FileManager.default.contents(atPath: markerDirectory + "/" + name), let user = String(data: data, encoding: .utf8) {
                schedule(user, at: .now)
            }
        }
        var started = 0
        for k in 0..<workers {
            state.withLock { $0.threads += 1 }
            guard startThread(name: "ms-indexer-\(k)", { [self] in self.work() }) else {
                // Queued work stays queued (durable) for the workers that did start, or the next start.
                state.withLock { $0.threads -= 1 }
                logger.error("cannot start an indexing thread", metadata: ["worker": "\(k)", "workers": "\(workers)"])
                continue
            }
            started += 1
        }
        if workers > 0, started == 0 { throw MailsiftError(.io, "cannot start any of the \(workers) indexing threads") }
    }

    /// Notes durably that `user` has queued work (before the add is acknowledged).
    func markQueued(_ user: String, _ directory: UserDirectory) {
        let path = markerPath(directory)
        if FileManager.default.fileExists(atPath: path) { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array(user.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        let dir = open(markerDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    func schedule(_ user: String, at notBefore: ContinuousClock.Instant? = nil) {
        let when = notBefore ?? ContinuousClock.now + commitDelay
        state.withLock { s in
            if s.running.contains(user) {
                s.again.insert(user)
            } else if s.scheduled.insert(user).inserted {
                s.ready.append((user, when))
            }
        }
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    var pendingUsers: Int { state.withLock { $0.scheduled.count + $0.running.count } }

    /// Stops the workers after their current batch; queued work stays queued (durable) for
    /// the next start.
    func stop() {
        state.withLock { $0.stopping = true }
        condition.lock()
        condition.broadcast()
        condition.unlock()
        let deadline = Date().addingTimeInterval(60)
        while state.withLock({ $0.threads }) > 0, Date() < deadline { usleep(10_000) }
    }

    private func next() -> String? {
        while true {
            let now = ContinuousClock.now
            var wait = Duration.milliseconds(500)
            let user: String?? = state.withLock { s in
                if s.stopping { return .some(nil) }
                // The first user (in turn order) whose delay is over.
                guard let i = s.ready.firstIndex(where: { $0.notBefore <= now }) else {
                    if let soonest = s.ready.map(\.notBefore).min() { wait = min(wait, soonest - now) }
                    return nil
                }
                let u = s.ready.remove(at: i).user
                s.scheduled.remove(u)
                s.running.insert(u)
                return .some(u)
            }
            if let user { return user }
            condition.lock()
            _ = condition.wait(until: Date().addingTimeInterval(max(0.001, wait.seconds)))
            condition.unlock()
        }
    }

    private func work() {
        defer { state.withLock { $0.threads -= 1 } }
        // Indexing and merges yield the cores to searches: this thread, and the merge threads
        // it starts (they inherit it), run at nice `indexNice` (on Linux the nice value is a
        // thread's, and `who` 0 is the calling thread).
        if indexNice != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, indexNice) }
        while let user = next() {
            var remaining = 0
            do {
                let index = try registry.index(user, create: true)
                let start = ContinuousClock.now
                let n = try index.drain(limit: batch)
                if n > 0 {
                    metrics.indexed(n, seconds: (ContinuousClock.now - start).seconds)
                    if try index.maybeMerge() { metrics.merged() }
                }
                remaining = index.queuedCount
                if remaining == 0 { unmark(index.directory) }
            } catch {
                metrics.error("indexer")
                logger.error("indexing failed", metadata: ["user": "\(user)", "error": "\(error)"])
                remaining = 0  // retried when the user is scheduled again (next add or restart)
            }
            let stopping = state.withLock { s in
                s.running.remove(user)
                // A batch or more left: on at once; fewer, or adds meanwhile: after the delay.
                let more = remaining >= batch
                if (remaining > 0 || s.again.remove(user) != nil), !s.stopping, s.scheduled.insert(user).inserted {
                    s.ready.append((user, more ? ContinuousClock.now : ContinuousClock.now + commitDelay))
                }
                return s.stopping
            }
            if stopping { return }
        }
    }
}

extension Indexer {
    /// The user's marker file: named after the user's directory (a hash, never the name).
    func markerPath(_ directory: UserDirectory) -> String {
        markerDirectory + "/" + (directory.path.split(separator: "/").last.map(String.init) ?? "_")
    }

    /// The user has nothing queued any more (or is deleted).
    func unmark(_ directory: UserDirectory) {
        unlink(markerPath(directory))
    }
}

