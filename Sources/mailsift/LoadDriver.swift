import Foundation
import Server
#if canImport(Glibc)
import Glibc
#endif

/// The search side of `mailsift load`: every client is one keep-alive connection to the
/// daemon's Unix socket, and one thread drives them all with poll(2), as wrk does. The load
/// generator shares the machine's cores with the daemon it measures; a blocking thread per
/// client cost about 57 µs of CPU per search (wake-ups, a 64 KiB buffer per read), this about
/// a third of it, which the daemon gets back.
struct LoadDriver {
    struct Outcome {
        var latencies: [Double] = []  // milliseconds
        var errors = 0
        var firstError: String?
    }

    let socket: String
    let clients: Int
    /// The request bytes of search number `k` of client `c`.
    let request: (_ client: Int, _ k: Int) -> [UInt8]
    /// Searches per second offered by all clients together; 0: closed loop.
    let rate: Double
    /// How long searches start (counted from `run()`).
    let duration: Duration

    final class Connection {
        var fd: Int32 = -1
        var sent = 0  // searches sent
        var inFlight = false
        var startedAt = ContinuousClock.now
        var buffer: [UInt8] = []
        var out: [UInt8] = []
        var written = 0
    }

    func run() -> Outcome {
        var outcome = Outcome()
        let begin = ContinuousClock.now
        let deadline = begin + duration
        let conns = (0..<clients).map { _ in Connection() }
        func fail(_ c: Connection, _ why: String) {
            outcome.errors += 1
            if outcome.firstError == nil { outcome.firstError = why }
            if c.fd >= 0 { close(c.fd) }
            c.fd = -1
            c.inFlight = false
            c.buffer.removeAll(keepingCapacity: true)
        }
        /// When search `n` of client `i` is due (open loop).
        func due(_ i: Int, _ n: Int) -> ContinuousClock.Instant {
            begin + .nanoseconds(Int64(Double(n * clients + i) / rate * 1e9))
        }
        func send(_ i: Int) {
            let c = conns[i]
            if c.fd < 0 {
                do { c.fd = try HTTPClient.connectUnix(socket) } catch {
                    fail(c, "\(error)")
                    return
                }
            }
            c.startedAt = rate > 0 ? due(i, c.sent) : ContinuousClock.now
            c.out = request(i, c.sent)
            c.written = 0
            c.sent += 1
            c.inFlight = true
            flush(c)
        }
        func flush(_ c: Connection) {
            while c.written < c.out.count {
                let n = c.out[c.written...].withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
                guard n > 0 else { fail(c, "send: errno \(errno)"); return }
                c.written += n
            }
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var polls = [pollfd](repeating: pollfd(), count: clients)
        var owners = [Int](repeating: 0, count: clients)  // the connection of each poll slot
        var stopping = false
        while true {
            let now = ContinuousClock.now
            // Closed loop: no search starts after the deadline. Open loop: every search due
            // before it is sent, however late (a lagging daemon's backlog counts, not drops).
            stopping = rate > 0 ? (0..<clients).allSatisfy { due($0, conns[$0].sent) >= deadline } : now >= deadline
            var next: ContinuousClock.Instant?
            for i in 0..<clients where !conns[i].inFlight {
                if rate > 0 {
                    let at = due(i, conns[i].sent)
                    if at >= deadline { continue }
                    if at > now {
                        next = next.map { min($0, at) } ?? at
                        continue
                    }
                } else if stopping {
                    continue
                }
                send(i)
            }
            var count = 0
            for (i, c) in conns.enumerated() where c.inFlight && c.fd >= 0 {
                polls[count] = pollfd(fd: c.fd, events: Int16(POLLIN) | (c.written < c.out.count ? Int16(POLLOUT) : 0), revents: 0)
                owners[count] = i
                count += 1
            }
            if count == 0 {
                if stopping { break }
                if let next {
                    let wait = next - ContinuousClock.now
                    if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18) }
                }
                continue
            }
            // Until the next search is due (open loop), to the nanosecond: poll's whole
            // milliseconds would send searches up to 1 ms late, and that lateness counts.
            var wait: Duration = stopping ? .seconds(30) : .milliseconds(100)
            if let next { wait = max(.zero, min(wait, next - ContinuousClock.now)) }
            let (secs, atto) = wait.components
            var timeout = timespec(tv_sec: Int(secs), tv_nsec: Int(atto / 1_000_000_000))
            let ready = ppoll(&polls, nfds_t(count), &timeout, nil)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0, stopping {
                for c in conns where c.inFlight { fail(c, "no answer within 30 s") }
                break
            }
            for k in 0..<count where polls[k].revents != 0 {
                let c = conns[owners[k]]
                if polls[k].revents & Int16(POLLOUT) != 0 { flush(c) }
                guard c.fd >= 0, polls[k].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { continue }
                let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { continue }
                guard n > 0 else { fail(c, n == 0 ? "connection closed" : "recv: errno \(errno)"); continue }
                c.buffer.append(contentsOf: chunk[0..<n])
                switch Self.parse(c.buffer) {
                case .incomplete:
                    continue
                case .bad(let why):
                    fail(c, why)
                case .complete(let status, let length, let close):
                    let ms = (ContinuousClock.now - c.startedAt) / .milliseconds(1)
                    if status == 200 {
                        outcome.latencies.append(ms)
                    } else {
                        outcome.errors += 1
                        if outcome.firstError == nil {
                            outcome.firstError = "\(status) " + String(decoding: c.buffer.suffix(min(200, c.buffer.count)), as: UTF8.self)
                        }
                    }
                    c.buffer.removeFirst(min(length, c.buffer.count))
                    c.inFlight = false
                    if close {
                        Glibc.close(c.fd)
                        c.fd = -1
                    }
                }
            }
        }
        for c in conns where c.fd >= 0 { close(c.fd) }
        return outcome
    }

    enum Parsed {
        case incomplete
        case bad(String)
        /// Status, the response's whole length in the buffer, and whether the server closes.
        case complete(status: Int, length: Int, close: Bool)
    }

    /// One HTTP/1.1 response at the start of `b`, framed by Content-Length (what the daemon
    /// sends for searches) or chunked.
    static func parse(_ b: [UInt8]) -> Parsed {
        b.withUnsafeBufferPointer { p -> Parsed in
            let n = p.count
            var end = -1
            var i = 3
            while i < n {
                if p[i] == 0x0A, p[i - 1] == 0x0D, p[i - 2] == 0x0A, p[i - 3] == 0x0D { end = i + 1; break }
                i += 1
            }
            guard end > 0 else { return n > 64 * 1024 ? .bad("response head over 64 KiB") : .incomplete }
            // "HTTP/1.1 200 ..."
            guard end > 12, p[8] == 0x20 else { return .bad("bad status line") }
            var status = 0
            for k in 9..<12 {
                guard (0x30...0x39).contains(p[k]) else { return .bad("bad status line") }
                status = status * 10 + Int(p[k] - 0x30)
            }
            var contentLength: Int?
            var chunked = false, close = false
            // Header lines: name (any case) ":" value, read as bytes (Strings per header line
            // had cost the client more than the request).
            func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }
            func named(_ name: StaticString, _ from: Int, _ colon: Int) -> Bool {
                guard colon - from == name.utf8CodeUnitCount else { return false }
                let u = name.utf8Start
                for k in 0..<(colon - from) where lower(p[from + k]) != u[k] { return false }
                return true
            }
            func value(_ colon: Int, _ lineEnd: Int) -> (Int, Int) {
                var a = colon + 1, b = lineEnd
                while a < b, p[a] == 0x20 || p[a] == 0x09 { a += 1 }
                while b > a, p[b - 1] == 0x20 || p[b - 1] == 0x09 { b -= 1 }
                return (a, b)
            }
            func contains(_ needle: StaticString, _ a: Int, _ b: Int) -> Bool {
                let m = needle.utf8CodeUnitCount, u = needle.utf8Start
                guard b - a >= m else { return false }
                outer: for start in a...(b - m) {
                    for k in 0..<m where lower(p[start + k]) != u[k] { continue outer }
                    return true
                }
                return false
            }
            var lineStart = 0
            while lineStart < end - 2 {
                var lineEnd = lineStart
                while lineEnd < end, p[lineEnd] != 0x0D { lineEnd += 1 }
                var colon = lineStart
                while colon < lineEnd, p[colon] != 0x3A { colon += 1 }
                if colon < lineEnd {
                    let (a, b) = value(colon, lineEnd)
                    if named("content-length", lineStart, colon) {
                        var v = 0
                        var ok = a < b
                        for k in a..<b {
                            guard p[k] >= 0x30, p[k] <= 0x39, v < 1 << 40 else { ok = false; break }
                            v = v * 10 + Int(p[k] - 0x30)
                        }
                        contentLength = ok ? v : nil
                    } else if named("transfer-encoding", lineStart, colon) {
                        chunked = contains("chunked", a, b)
                    } else if named("connection", lineStart, colon) {
                        close = b - a == 5 && contains("close", a, b)
                    }
                }
                lineStart = lineEnd + 2
            }
            if chunked {
                // size CRLF data CRLF ... 0 CRLF CRLF (no trailers from the daemon).
                var at = end
                while true {
                    var size = 0, k = at
                    while k < n, let v = hexValue(p[k]) {
                        size = size * 16 + v
                        if size > 1 << 30 { return .bad("chunk too large") }
                        k += 1
                    }
                    while k < n, p[k] != 0x0A { k += 1 }
                    guard k < n else { return .incomplete }
                    at = k + 1 + size + 2
                    if size == 0 { return at <= n ? .complete(status: status, length: at, close: close) : .incomplete }
                    guard at <= n else { return .incomplete }
                }
            }
            let total = end + (contentLength ?? 0)
            return total <= n ? .complete(status: status, length: total, close: close) : .incomplete
        }
    }

    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        default: return nil
        }
    }
}

#if canImport(Glibc)
/// glibc's ppoll (poll with a nanosecond timeout; declared only under _GNU_SOURCE, which the
/// Glibc module does not set).
@_silgen_name("ppoll") private func ppoll(_ fds: UnsafeMutablePointer<pollfd>, _ nfds: nfds_t, _ timeout: UnsafePointer<timespec>?,
                                           _ sigmask: UnsafeRawPointer?) -> Int32
#endif
