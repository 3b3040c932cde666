import CThreads
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
        if let name = start.name { _ = ms_name_calling_thread(name) }  // for top -H, perf, core dumps
        start.body()
        return nil
    }, start)
    guard created == 0 else {
        Unmanaged<Start>.fromOpaque(start).release()
        return false
    }
    return true
}

/// The cores this process may use: the CPUs in its affinity mask (`taskset`, systemd's
/// `CPUAffinity=`, a cpuset), capped by a cgroup v2 CPU quota (`cpu.max`, as containers and
/// systemd's `CPUQuota=` set) rounded up; at least 1. Foundation's `activeProcessorCount`
/// counts every online CPU, so a pinned indexer ran twice the threads its cores could run.
/// Read once per process.
public let availableCores: Int = {
    var cores = affinityCores() ?? Int(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    if let quota = cgroupCPUQuota() { cores = min(cores, quota) }
    return max(1, cores)
}()

/// The CPUs in the calling thread's affinity mask (nil when the system will not say).
public func affinityCores() -> Int? {
    let n = ms_affinity_cpu_count()
    return n > 0 ? Int(n) : nil
}

/// The smallest CPU quota, in whole cores rounded up, of this process's cgroup (v2) and its
/// ancestors; nil when none is set or there is no cgroup v2.
func cgroupCPUQuota() -> Int? {
    guard let membership = readSmallFile("/proc/self/cgroup") else { return nil }
    // v2: the one line "0::/path".
    guard let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
    var path = String(line.dropFirst(3))
    var smallest: Int?
    while true {
        if let text = readSmallFile("/sys/fs/cgroup" + (path == "/" ? "" : path) + "/cpu.max"), let q = cpuQuotaCores(text) {
            smallest = min(smallest ?? q, q)
        }
        guard path != "/", !path.isEmpty, let slash = path.lastIndex(of: "/") else { break }
        path = slash == path.startIndex ? "/" : String(path[..<slash])
    }
    return smallest
}

/// A cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for none) as whole cores, rounded up.
public func cpuQuotaCores(_ cpuMax: String) -> Int? {
    let fields = cpuMax.split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard fields.count >= 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else { return nil }
    return max(1, (quota + period - 1) / period)
}

/// A small text file's contents (kernel files under /proc and /sys), nil when unreadable.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 4096)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n >= 0 else { return nil }
    return String(decoding: bytes[..<n], as: UTF8.self)
}
