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
    final class Start: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    var attributes = pthread_attr_t()
    guard pthread_attr_init(&attributes) == 0 else { return false }
    defer { pthread_attr_destroy(&attributes) }
    if stackSize > 0, pthread_attr_setstacksize(&attributes, stackSize) != 0 { return false }
    guard pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) == 0 else { return false }
    let start = Unmanaged.passRetained(Start {
        if let name { _ = ms_name_calling_thread(name) }  // for top -H, perf, core dumps
        body()
    }).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(&thread, &attributes, { argument in
        guard let argument else { return nil }
        Unmanaged<Start>.fromOpaque(argument).takeRetainedValue().run()
        return nil
    }, start)
    guard created == 0 else {
        Unmanaged<Start>.fromOpaque(start).release()
        return false
    }
    return true
}

/// The cores this process may use: the CPUs in its affinity mask (`taskset`, systemd's
/// `CPUAffinity=`, a cpuset), capped by a cgroup CPU quota (v2 `cpu.max` or v1
/// `cpu.cfs_quota_us`, as containers and systemd's `CPUQuota=` set) rounded up; at least 1.
/// Foundation's `activeProcessorCount` counts every online CPU, so a pinned indexer ran twice
/// the threads its cores could run. Read once per process.
public let availableCores: Int = {
    var cores = affinityCores() ?? Int(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    if let quota = cgroupCPUQuota() { cores = min(cores, quota) }
    return max(1, cores)
}()

/// The CPUs in the calling thread's affinity mask (nil when the system will not say).
public func affinityCores() -> Int? {
    let n = ms_affinity_cpus(nil)
    return n > 0 ? Int(n) : nil
}

/// The smallest CPU quota, in whole cores rounded up, of this process's cgroup and its
/// ancestors: v2's `cpu.max`, or v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us` (older hosts
/// and container runtimes); nil when none is set.
func cgroupCPUQuota() -> Int? {
    guard let membership = readSmallFile("/proc/self/cgroup") else { return nil }
    var smallest: Int?
    for line in membership.split(separator: "\n") {
        // "ID:CONTROLLERS:PATH": v2 is "0::PATH"; v1's CPU controller lists "cpu".
        let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { continue }
        let path = String(parts[2])
        let quota: Int?
        if parts[0] == "0", parts[1].isEmpty {
            quota = smallestQuota(path) { dir in readSmallFile("/sys/fs/cgroup" + dir + "/cpu.max").flatMap(cpuQuotaCores) }
        } else if parts[1].split(separator: ",").contains("cpu") {
            let mounts: [String] = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct,cpu"]
            let mount = mounts.first { access($0, F_OK) == 0 } ?? mounts[0]
            quota = smallestQuota(path) { dir in
                guard let q = readSmallFile(mount + dir + "/cpu.cfs_quota_us"),
                      let p = readSmallFile(mount + dir + "/cpu.cfs_period_us") else { return nil }
                return cpuQuotaCores(q + " " + p)  // (their newlines are separators there too)
            }
        } else {
            continue
        }
        if let quota { smallest = min(smallest ?? quota, quota) }
    }
    return smallest
}

/// The smallest of `quota` over a cgroup `path` ("/a/b") and its ancestors ("/a/b", "/a", ""
/// for the root: directories to append to a mount point).
func smallestQuota(_ path: String, _ quota: (String) -> Int?) -> Int? {
    var dir = path.hasPrefix("/") ? path : "/" + path
    var smallest: Int?
    while true {
        if dir.hasSuffix("/") { dir.removeLast() }
        if let q = quota(dir) { smallest = min(smallest ?? q, q) }
        guard let slash = dir.lastIndex(of: "/") else { break }
        dir = String(dir[..<slash])
    }
    return smallest
}

/// A cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for none) as whole cores, rounded
/// up; v1's quota and period joined the same way ("-1 PERIOD" for none).
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
