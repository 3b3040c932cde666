// PDF text via a sandboxed pdftotext subprocess (poppler-utils).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum PDFText {
    static func findExecutable(_ name: String) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/local/bin"] {
            let p = dir + "/" + name
            if access(p, X_OK) == 0 { return p }
        }
        if let path = getenv("PATH") {
            for dir in String(cString: path).split(separator: ":") where dir.hasPrefix("/") {
                let p = dir + "/" + name
                if access(p, X_OK) == 0 { return p }
            }
        }
        return nil
    }

    static func extract(_ data: [UInt8], limits: ExtractionLimits) -> ExtractionResult {
        guard let pdftotext = findExecutable("pdftotext") else {
            return .status(.unsupported, "pdftotext not installed (poppler-utils)")
        }
        // Private temp directory (0700) and file (0600).
        let tmpBase = limits.temporaryDirectory.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        var dirTemplate = Array((tmpBase + "/mailsift-pdf.XXXXXX").utf8CString)
        guard let dirPtr = dirTemplate.withUnsafeMutableBufferPointer({ buf in buf.baseAddress.flatMap { mkdtemp($0) } }) else {
            return .status(.failed, "cannot create temp directory")
        }
        let dir = String(cString: dirPtr)
        defer { rmdir(dir) }
        var fileTemplate = Array((dir + "/in.XXXXXX").utf8CString)
        let fd = fileTemplate.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { return .status(.failed, "cannot create temp file") }
        let file = String(decoding: fileTemplate.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(file) }
        let written = writeAll(fd, data)
        close(fd)
        guard written else { return .status(.failed, "cannot write temp file") }

        // Clamp: NaN / infinite / negative timeouts must not trap in the conversions below.
        let timeout = limits.timeoutSeconds.isFinite ? min(max(limits.timeoutSeconds, 0.001), 86_400) : 86_400
        let cpuSeconds = Int(timeout.rounded(.up)) + 1
        let memory = max(16 << 20, limits.memoryLimitBytes)
        var argv: [String]
        if let prlimit = findExecutable("prlimit") {
            argv = [prlimit, "--as=\(memory)", "--cpu=\(cpuSeconds)", "--", pdftotext]
        } else {
            let kib = memory / 1024
            argv = ["/bin/sh", "-c", "ulimit -v \(kib) && ulimit -t \(cpuSeconds) && exec \"$0\" \"$@\"", pdftotext]
        }
        argv += ["-q", "-enc", "UTF-8", "-eol", "unix", file, "-"]
        let run = ExtractionSubprocess.run(argv, timeout: timeout, maxOutput: max(0, limits.maxOutputBytes))
        switch run {
        case .failure(let message):
            return .status(.failed, message)
        case .success(let out):
            var sink = ExtractionSink(limit: limits.maxOutputBytes)
            // Page breaks (form feeds) become newlines.
            sink.append(utf8: out.stdout.map { $0 == 0x0C ? 0x0A : $0 })
            if out.overflowed { sink.append(utf8: [0x20]) } // force truncated flag if exactly at limit
            if out.timedOut {
                var r = sink.result(detail: "pdftotext killed after \(limits.timeoutSeconds)s")
                r.status = .timedOut
                return r
            }
            if let sig = out.signal {
                if sig == SIGXCPU || sig == SIGKILL && !out.overflowed {
                    var r = sink.result(detail: "pdftotext CPU limit (signal \(sig))")
                    r.status = .timedOut
                    return r
                }
                if !out.overflowed {
                    var r = sink.result(detail: "pdftotext killed by signal \(sig)")
                    if r.status == .empty { r.status = .failed }
                    return r
                }
            }
            if let code = out.exitCode, code != 0 {
                var r = sink.result(detail: "pdftotext exit status \(code)")
                if r.status == .empty { r.status = .failed }
                return r
            }
            return sink.result()
        }
    }

    static func writeAll(_ fd: Int32, _ data: [UInt8]) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var off = 0
            while off < raw.count {
                let n = write(fd, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                if n == 0 { return false }
                off += n
            }
            return true
        }
    }
}

/// Minimal posix_spawn wrapper: own process group, empty environment, stdin/stderr on /dev/null,
/// stdout read with poll() under a wall-clock deadline and an output cap.
enum ExtractionSubprocess {
    struct Output {
        var stdout: [UInt8]
        var exitCode: Int32?
        var signal: Int32?
        var timedOut: Bool
        var overflowed: Bool
    }

    enum RunResult {
        case success(Output)
        case failure(String)
    }

    static func monotonicNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func run(_ argv: [String], timeout: Double, maxOutput: Int) -> RunResult {
        guard !argv.isEmpty else { return .failure("empty command") }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .failure("pipe failed") }
        let readFD = fds[0]
        let writeFD = fds[1]
        // Neither end may leak into the child beyond the dup2 onto stdout.
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeFD, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGPIPE)
        sigaddset(&defaultSignals, SIGXCPU)
        posix_spawnattr_setsigdefault(&attr, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attr, &emptyMask)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        var cEnv: [UnsafeMutablePointer<CChar>?] = [nil]

        var pid: pid_t = 0
        let rc = cArgs.withUnsafeMutableBufferPointer { argBuf -> Int32 in
            cEnv.withUnsafeMutableBufferPointer { envBuf -> Int32 in
                guard let a = argBuf.baseAddress, let e = envBuf.baseAddress else { return EINVAL }
                return posix_spawn(&pid, argv[0], &actions, &attr, a, e)
            }
        }
        close(writeFD)
        guard rc == 0 else {
            close(readFD)
            return .failure("spawn \(argv[0]) failed: errno \(rc)")
        }

        let safeTimeout = timeout.isFinite ? min(max(timeout, 0.001), 86_400) : 86_400
        let deadline = monotonicNow() + safeTimeout
        var output: [UInt8] = []
        var timedOut = false
        var overflowed = false
        var killed = false
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)

        func killGroup() {
            if !killed { kill(-pid, SIGKILL); killed = true }
        }

        readLoop: while true {
            let remaining = deadline - monotonicNow()
            if remaining <= 0 { timedOut = true; killGroup(); break }
            pfd.revents = 0
            let pr = poll(&pfd, 1, Int32(min(remaining * 1000, 1000).rounded(.up)))
            if pr < 0 {
                if errno == EINTR { continue }
                killGroup(); break
            }
            if pr == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                killGroup(); break
            }
            if n == 0 { break readLoop } // EOF
            let room = maxOutput - output.count
            if n > room {
                output.append(contentsOf: buffer[0..<max(0, room)])
                overflowed = true
                killGroup()
                break
            }
            output.append(contentsOf: buffer[0..<n])
        }
        close(readFD)

        // Reap, still honouring the deadline.
        var status: Int32 = 0
        while true {
            let w = waitpid(pid, &status, killed ? 0 : WNOHANG)
            if w == pid { break }
            if w < 0 {
                if errno == EINTR { continue }
                return .success(Output(stdout: output, exitCode: nil, signal: nil, timedOut: timedOut, overflowed: overflowed))
            }
            if monotonicNow() >= deadline { timedOut = true; killGroup(); continue }
            usleep(5_000)
        }
        let termSig = status & 0x7F
        if termSig == 0 {
            return .success(Output(stdout: output, exitCode: (status >> 8) & 0xFF, signal: nil, timedOut: timedOut, overflowed: overflowed))
        }
        return .success(Output(stdout: output, exitCode: nil, signal: termSig, timedOut: timedOut, overflowed: overflowed))
    }
}
