import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 client over a Unix socket or TCP, keep-alive, one request at a
/// time: what the load tool (`mailsift load`) and the daemon's tests speak to it with. Not a
/// general client: it reads Content-Length and chunked bodies and nothing fancier.
public final class HTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public enum Endpoint: Sendable {
        case unix(String)
        case tcp(host: String, port: Int)
    }

    let endpoint: Endpoint
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    public var timeoutSeconds = 30

    public init(_ endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer = []
    }

    private func connect() throws {
        switch endpoint {
        case .unix(let path):
            fd = try Self.connectUnix(path)
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var res: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { throw Failure(description: "cannot resolve \(host)") }
            defer { freeaddrinfo(res) }
            let s = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard s >= 0 else { throw Failure(description: "socket: errno \(errno)") }
            guard Glibc.connect(s, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
                Glibc.close(s)
                throw Failure(description: "connect \(host):\(port): errno \(errno)")
            }
            var one: Int32 = 1
            setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            fd = s
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A connected stream socket to the Unix socket at `path` (also the load tool's).
    public static func connectUnix(_ path: String) throws -> Int32 {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { Glibc.close(s); throw Failure(description: "socket path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else { Glibc.close(s); throw Failure(description: "connect \(path): errno \(errno)") }
        return s
    }

    /// Sends one request and reads its response (reconnecting once if the kept-alive
    /// connection was closed by the server).
    public func request(_ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = []) throws -> Response {
        for attempt in 0..<2 {
            if fd < 0 { try connect() }
            var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\n"
            for (k, v) in headers { head += "\(k): \(v)\r\n" }
            head += "\r\n"
            do {
                try send(Array(head.utf8) + body)
                return try readResponse(method: method)
            } catch {
                close()
                if attempt == 1 { throw error }
            }
        }
        throw Failure(description: "unreachable")
    }

    public func get(_ path: String) throws -> Response { try request("GET", path) }

    public func post(_ path: String, json: String) throws -> Response {
        try request("POST", path, body: Array(json.utf8), headers: [("Content-Type", "application/json")])
    }

    /// Writes raw bytes (for tests of framing: chunked bodies, Expect).
    public func sendRaw(_ bytes: [UInt8]) throws {
        if fd < 0 { try connect() }
        try send(bytes)
    }

    /// Reads an interim (1xx) response's status line and headers, returning the status line.
    public func readInterim() throws -> String {
        let status = try line()
        while try !line().isEmpty {}
        return status
    }

    /// Reads one response after `sendRaw`.
    public func readRaw(method: String = "GET") throws -> Response { try readResponse(method: method) }

    private func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            off += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "recv: errno \(errno)") }
        buffer += chunk[0..<n]
    }

    private func line() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                var l = Array(buffer[..<i])
                if l.last == 0x0D { l.removeLast() }
                buffer.removeSubrange(...i)
                return String(decoding: l, as: UTF8.self)
            }
            try fill()
        }
    }

    private func take(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { try fill() }
        let out = Array(buffer[..<n])
        buffer.removeSubrange(..<n)
        return out
    }

    private func readResponse(method: String) throws -> Response {
        while true {
            let status = try line()
            let parts = status.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let code = Int(parts[1]) else { throw Failure(description: "bad status line: \(status)") }
            var headers: [(String, String)] = []
            while true {
                let l = try line()
                if l.isEmpty { break }
                if let c = l.firstIndex(of: ":") {
                    headers.append((String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)))
                }
            }
            if (100..<200).contains(code) { continue }  // 100 Continue: the real answer follows
            var body: [UInt8] = []
            let value = { (name: String) in headers.first { $0.0.lowercased() == name }?.1 }
            if let te = value("transfer-encoding"), te.lowercased().contains("chunked") {
                while true {
                    let sizeLine = try line()
                    guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw Failure(description: "bad chunk size") }
                    if size == 0 {
                        while try !line().isEmpty {}
                        break
                    }
                    body += try take(size)
                    _ = try line()
                }
            } else if let cl = value("content-length"), let n = Int(cl) {
                body = try take(n)
            }
            if value("connection")?.lowercased() == "close" { close() }
            return Response(status: code, headers: headers, body: method == "HEAD" ? [] : body)
        }
    }
}
