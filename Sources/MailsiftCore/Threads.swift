#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a new detached thread; false when the system would not create one (too
/// many threads for RLIMIT_NPROC, no memory for a stack), and `body` has not run.
///
/// Foundation's `Thread.start()` ignores that failure: the thread never runs, and whoever
/// waits for what it would have done waits forever. Callers of this say what happens instead:
/// the work runs on the caller's thread, or fails with an error.
///
/// `stackSize` 0 is the system's default (`ulimit -s`); `name` is cut to the kernel's 15 bytes.
public func startThread(name: String? = nil, stackSize: Int = 0, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Start: @unchecked Sendable {
        let body: @Sendable () -> Void
        let name: String?
        init(_ body: @escaping @Sendable () -> Void, _ name: String?) {
            self.body = body
            self.name = name
        }
    }
    var attributes = pthread_attr_t()
    guard pthread_attr_init(&attributes) == 0 else { return false }
    defer { pthread_attr_destroy(&attributes) }
    if stackSize > 0, pthread_attr_setstacksize(&attributes, stackSize) != 0 { return false }
    guard pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) == 0 else { return false }
    let start = Unmanaged.passRetained(Start(body, name)).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(&thread, &attributes, { argument in
        guard let argument else { return nil }
        let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
        if let name = start.name { nameThisThread(name) }
        start.body()
        return nil
    }, start)
    guard created == 0 else {
        Unmanaged<Start>.fromOpaque(start).release()
        return false
    }
    return true
}

/// Names the calling thread for `top -H`, `perf` and core dumps (Glibc's module has no
/// `pthread_setname_np`: the kernel's own file for it).
func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
