import Foundation
import IndexEngine
import Ingest
import MailsiftCore
import Synchronization

/// The daemon's open user indexes: a bounded, least-recently-used cache. With 100,000 users on
/// disk, only `capacity` hold open files, mappings and a write lock at a time. An evicted index
/// that a request still holds stays usable (a weak reference finds it again, so the write lock
/// is never taken twice).
final class UserRegistry: Sendable {
    let dataRoot: String
    let capacity: Int
    let ramBudget: Int

    private struct Entry {
        var index: LiveIndex
        var lastUse: UInt64
    }

    private final class Weak: @unchecked Sendable {
        weak var index: LiveIndex?
        init(_ index: LiveIndex) { self.index = index }
    }

    private struct State {
        var open: [String: Entry] = [:]
        var evicted: [String: Weak] = [:]
        var clock: UInt64 = 0
        /// Users being opened: a second request for one waits for the first.
        var opening: Set<String> = []
        /// Users released for an external writer (`release`), not reopened until it has had
        /// their lock.
        var held: [String: Hold] = [:]
        var holds: UInt64 = 0
    }

    /// A released user's hold: until `until`, or until the external writer has taken the
    /// lock and let it go, requests are refused as busy instead of reopening the user. (Under
    /// steady searches the daemon reopened a released user within a millisecond, and `reindex`,
    /// trying the lock every 100 ms, never had it.)
    private struct Hold {
        var until: ContinuousClock.Instant
        /// The index the daemon released: its own lock is held until the requests using it
        /// end, so the lock tells nothing about the external writer before then.
        var released: Weak?
        /// The lock seen free once the released index was gone: a busy lock after that is
        /// the external writer's (not our index's, still being torn down).
        var sawFree = false
        var sawWriter = false
        /// Which hold this is: `stillHeld` writes back only the hold it read.
        var id: UInt64
    }

    /// How long a released user waits for the external writer to take its lock.
    static let holdTime: Duration = .seconds(5)

    private let state = Locked(State())
    private let opened = NSCondition()

    init(dataRoot: String, capacity: Int, ramBudget: Int) {
        self.dataRoot = dataRoot
        self.capacity = max(1, capacity)
        self.ramBudget = ramBudget
    }

    var openCount: Int { state.withLock { $0.open.count } }

    /// The user's index if it is open now (no I/O).
    func openIndex(_ user: String) -> LiveIndex? {
        state.withLock { s in
            s.clock &+= 1
            guard var e = s.open[user] else { return nil }
            e.lastUse = s.clock
            s.open[user] = e
            return e.index
        }
    }

    /// Whether the user has an index on disk.
    func exists(_ user: String) throws(MailsiftError) -> Bool {
        try UserDirectory(dataRoot: dataRoot, user: user).exists
    }

    /// The user's index, opened (and created when `create`) if needed. Blocking: call it off
    /// the event loops.
    func index(_ user: String, create: Bool) throws(MailsiftError) -> LiveIndex {
        while true {
            let found: LiveIndex? = state.withLock { s in
                s.clock &+= 1
                if var e = s.open[user] {
                    e.lastUse = s.clock
                    s.open[user] = e
                    return e.index
                }
                if let w = s.evicted[user], let idx = w.index {
                    s.evicted[user] = nil
                    s.open[user] = Entry(index: idx, lastUse: s.clock)
                    return idx
                }
                return nil
            }
            if let found { return found }
            let mine = state.withLock { s in s.opening.insert(user).inserted }
            if !mine {
                opened.lock()
                _ = opened.wait(until: Date().addingTimeInterval(0.05))
                opened.unlock()
                continue
            }
            defer {
                state.withLock { _ = $0.opening.remove(user) }
                opened.lock()
                opened.broadcast()
                opened.unlock()
            }
            if stillHeld(user) {
                throw MailsiftError(.limitExceeded, "another writer is using this index (released to it)")
            }
            if !create, !(try exists(user)) { throw MailsiftError(.notFound, "no index for user \(user)") }
            let idx = try LiveIndex(dataRoot: dataRoot, user: user, ramBudget: ramBudget)
            state.withLock { s in
                s.clock &+= 1
                s.open[user] = Entry(index: idx, lastUse: s.clock)
                evictIfNeeded(&s)
            }
            return idx
        }
    }

    /// Drops least recently used indexes with nothing queued until within capacity.
    private func evictIfNeeded(_ s: inout State) {
        s.evicted = s.evicted.filter { $0.value.index != nil }
        while s.open.count > capacity {
            guard let victim = s.open.filter({ $0.value.index.queuedCount == 0 }).min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
            s.open[victim.key] = nil
            s.evicted[victim.key] = Weak(victim.value.index)
        }
    }

    /// Closes a user's index for an external writer: it leaves the cache, and its writer lock
    /// is released when the last request using it ends. False (nothing done) when messages are
    /// queued for the user. A later request opens the user again (and fails as busy while the
    /// external writer holds the lock).
    func release(_ user: String) -> Bool {
        state.withLock { s in
            if let e = s.open[user], e.index.queuedCount > 0 { return false }
            if let w = s.evicted[user], let idx = w.index, idx.queuedCount > 0 { return false }
            // Asked again (reindex asks every 2 s while it waits): the index released the
            // first time may still be in use; keep pointing at it.
            let earlier = s.held[user]?.released.flatMap { $0.index == nil ? nil : $0 }
            let released = s.open[user].map { Weak($0.index) } ?? s.evicted[user] ?? earlier
            s.open[user] = nil
            s.evicted[user] = nil
            let now = ContinuousClock.now
            // Holds nobody came back for (a writer killed, the user never asked for again).
            s.held = s.held.filter { $0.value.until + .seconds(60) > now }
            s.holds &+= 1
            s.held[user] = Hold(until: now + Self.holdTime, released: released, id: s.holds)
            return true
        }
    }

    /// Whether a released user must still be refused (see `Hold`); clears a hold that is over.
    /// Called by the one request opening the user, so its lock probe races no other of ours.
    private func stillHeld(_ user: String) -> Bool {
        guard var hold = state.withLock({ $0.held[user] }) else { return false }
        let expired = ContinuousClock.now >= hold.until
        // Our own lock, still: the lock tells nothing yet.
        if hold.released?.index != nil { return !expired }
        // The lock: free, busy, or unknown (an error other than busy: the hold stands).
        var free: Bool?
        if let path = try? UserDirectory(dataRoot: dataRoot, user: user).lockPath {
            do {
                try WriteLock(path: path).unlock()
                free = true
            } catch {
                if error.code == .limitExceeded { free = false }
            }
        }
        if free == true, hold.sawWriter || expired {
            state.withLock { s in if s.held[user]?.id == hold.id { s.held[user] = nil } }
            return false
        }
        if free == true { hold.sawFree = true }
        if free == false, hold.sawFree { hold.sawWriter = true }
        state.withLock { s in if s.held[user]?.id == hold.id { s.held[user] = hold } }
        // Past the deadline with the lock busy: the open below fails as busy, as it did
        // before holds; with it unknown: opening will tell.
        return !expired
    }

    /// Ends a released user's hold (the external writer is done): the next request opens it.
    func endHold(_ user: String) {
        state.withLock { _ = $0.held.removeValue(forKey: user) }
    }

    /// Forgets a user (after its directory was deleted).
    func forget(_ user: String) {
        state.withLock { s in
            s.open[user] = nil
            s.evicted[user] = nil
            s.held[user] = nil
        }
    }

    /// Every open index (for metrics and shutdown).
    func all() -> [LiveIndex] { state.withLock { s in s.open.values.map(\.index) } }
}
