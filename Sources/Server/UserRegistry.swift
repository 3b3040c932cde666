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
        var sawWriter = false
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
            let released = s.open[user].map { Weak($0.index) } ?? s.evicted[user]
            s.open[user] = nil
            s.evicted[user] = nil
            s.held[user] = Hold(until: .now + Self.holdTime, released: released)
            return true
        }
    }

    /// Whether a released user must still be refused (see `Hold`); clears a hold that is over.
    /// Called by the one request opening the user, so its lock probe races no other of ours.
    private func stillHeld(_ user: String) -> Bool {
        guard var hold = state.withLock({ $0.held[user] }) else { return false }
        if hold.released?.index != nil { return ContinuousClock.now < hold.until }  // our own lock, still
        var free = true
        if let path = try? UserDirectory(dataRoot: dataRoot, user: user).lockPath {
            do { try WriteLock(path: path).unlock() } catch { free = error.code != .limitExceeded }
        }
        if !free {
            hold.sawWriter = true
            state.withLock { $0.held[user] = hold }
            return true
        }
        if hold.sawWriter || ContinuousClock.now >= hold.until {
            state.withLock { $0.held[user] = nil }
            return false
        }
        return true
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
