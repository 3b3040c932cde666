import MailsiftCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A seam for fault injection in the storage layer (tests and `tools/torture.sh` use it; it
/// costs one atomic load per operation when unused). A rule makes the next matching
/// operations fail as a disk would: the call returns -1 with the rule's errno, and a failing
/// write first writes half of its bytes (a short write, then ENOSPC or EIO). Every index file
/// operation goes through it: segment and deletion files (create, write, fsync), manifests
/// (create, write, fsync, rename), directory fsyncs, and opening files to read (open, mmap).
/// The catalog (SQLite) is not covered: SQLite's own journal gives it atomic transactions.
public enum StorageFaults {
    public enum Operation: String, Sendable, CaseIterable {
        case create, write, fsync, rename, syncDirectory, read
        /// Starting a thread for work on a segment (`BackgroundPass`; the path is the segment's).
        case thread
    }

    public struct Rule: Sendable {
        public var operation: Operation
        /// Only paths under this directory (empty: anywhere), so a test's faults stay in its own files.
        public var under: String
        /// Only paths containing this (empty: every path).
        public var pathContains: String
        /// Matching operations let through before the first failure.
        public var after: Int
        /// Failures before the rule retires (Int.max: for good).
        public var times: Int
        public var errno: Int32
    }

    private static let enabled = Atomic<Bool>(false)
    private static let rules = Locked<[Rule]>([])
    private static let fired = Atomic<Int>(0)

    /// Adds a rule: `operation` on paths under `under` containing `path` fails with `errno`,
    /// after `after` successes, `times` times.
    public static func inject(_ operation: Operation, under: String = "", path: String = "", after: Int = 0, times: Int = 1,
                              errno: Int32 = EIO) {
        rules.withLock {
            $0.append(Rule(operation: operation, under: under, pathContains: path, after: after, times: times, errno: errno))
        }
        enabled.store(true, ordering: .releasing)
    }

    /// Removes every rule.
    public static func clear() {
        rules.withLock { $0.removeAll() }
        enabled.store(false, ordering: .releasing)
    }

    /// Failures injected since the process started.
    public static var injected: Int { fired.load(ordering: .relaxed) }

    /// The errno `operation` on `path` must fail with, or nil.
    static func check(_ operation: Operation, _ path: String) -> Int32? {
        guard enabled.load(ordering: .acquiring) else { return nil }
        return rules.withLock { list -> Int32? in
            for k in list.indices where list[k].operation == operation && list[k].times > 0
                && (list[k].under.isEmpty || path.hasPrefix(list[k].under))
                && (list[k].pathContains.isEmpty || path.contains(list[k].pathContains)) {
                if list[k].after > 0 {
                    list[k].after -= 1
                    continue
                }
                list[k].times -= 1
                fired.add(1, ordering: .relaxed)
                return list[k].errno
            }
            return nil
        }
    }

    /// Fails (sets errno, returns true) when a rule says so.
    static func fail(_ operation: Operation, _ path: String) -> Bool {
        guard let e = check(operation, path) else { return false }
        errno = e
        return true
    }
}
