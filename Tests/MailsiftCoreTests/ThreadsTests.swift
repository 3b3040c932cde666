import Foundation
import CThreads
@testable import MailsiftCore
#if canImport(Glibc)
import Glibc
#endif
import Testing

@Suite(.timeLimit(.minutes(1))) struct ThreadsTests {
    @Test func startThreadRunsTheBody() {
        let ran = DispatchSemaphore(value: 0)
        let name = Locked<String?>(nil)
        #expect(startThread(name: "mailsift-test-thread-with-a-long-name", stackSize: 1 << 20) {
            name.withLock { $0 = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
            ran.signal()
        })
        #expect(ran.wait(timeout: .now() + 60) == .success)
        // Named, cut to the kernel's 15 bytes.
        #expect(name.withLock { $0 } == "mailsift-test-t\n")
    }

    /// A thread the system cannot create (a stack larger than the address space) is reported,
    /// and its body never runs.
    @Test func startThreadReportsFailure() {
        let ran = Locked(false)
        #expect(!startThread(stackSize: 1 << 62) { ran.withLock { $0 = true } })
        Thread.sleep(forTimeInterval: 0.05)
        #expect(ran.withLock { $0 } == false)
    }
}

@Suite(.timeLimit(.minutes(1))) struct CoreCountTests {
    /// A thread pinned to one CPU (as `taskset -c 0` pins a process) sees one core.
    @Test func affinityMaskIsCounted() {
        #expect(availableCores >= 1)
        #expect(availableCores <= Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let seen = Locked<Int?>(nil)
        let done = DispatchSemaphore(value: 0)
        #expect(startThread {
            // The lowest CPU this process may use (CPU 0 may not be one: `taskset -c 1-3`).
            var cpu: Int32 = -1
            _ = ms_affinity_cpus(&cpu)
            if cpu >= 0, ms_pin_calling_thread(cpu) == 0 { seen.withLock { $0 = affinityCores() } }
            done.signal()
        })
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(seen.withLock { $0 } == 1)
    }

    @Test(arguments: [("max 100000", nil), ("100000 100000", 1), ("150000 100000", 2), ("50000 100000\n", 1),
                      ("400000 100000", 4), ("250000\n 100000\n", 3), ("-1\n 100000\n", nil), ("", nil), ("0 100000", nil), ("x 100000", nil)] as [(String, Int?)])
    func cgroupQuotaInWholeCores(cpuMax: String, cores: Int?) {
        #expect(cpuQuotaCores(cpuMax) == cores)
    }

    /// A cgroup's quota is the smallest of its own and its ancestors' (the root's directory is
    /// the mount point itself), whatever the path's shape.
    @Test(arguments: [("/a/b", ["/a/b", "/a", ""], 2), ("/", [""], nil), ("", [""], nil), ("a/b/", ["/a/b", "/a", ""], 2),
                      ("/c", ["/c", ""], 3)] as [(String, [String], Int?)])
    func quotaIsTheSmallestUpTheTree(path: String, visited: [String], smallest: Int?) {
        let quotas = ["/a/b": 4, "/a": 2, "/c": 3]
        var seen: [String] = []
        let got = smallestQuota(path) { dir in
            seen.append(dir)
            return quotas[dir]
        }
        #expect(got == smallest)
        #expect(seen == visited)
    }
}
