#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex: `withLock` gives exclusive access, as the standard
/// library's `Mutex` does. Used instead of `Mutex` because ThreadSanitizer sees a pthread
/// mutex's ordering but not that of `Mutex`'s Linux slow path (a PI futex in an
/// uninstrumented library), so every contended `Mutex` showed up as a false data race and
/// would hide real ones (tools/sanitizers.sh).
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
