import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded

/// The daemon's request handling over plain bytes, for the fuzz targets (tools/fuzz) and their
/// regression tests: a request (`METHOD /path?query`, header lines, an empty line, the body)
/// goes through the same router and middleware as a socket's requests (authentication on),
/// with no socket. HTTP/1.1 framing itself is SwiftNIO's.
public final class HTTPBytes: @unchecked Sendable {
    let server: MailsiftServer
    let responder: RouterResponder<BasicRequestContext>
    let channel = EmbeddedChannel()
    let logger = Logger(label: "mailsift-fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A daemon over `dataRoot` whose TCP token is `token`; its thread pools and indexer run.
    public init(dataRoot: String, token: String, queryTimeBudget: Double = 2) {
        var configuration = ServerConfiguration(dataRoot: dataRoot)
        configuration.token = token
        configuration.maxBodyBytes = 1 << 20
        configuration.openUsers = 8
        configuration.maxQueuedPerUser = 1_000
        configuration.queryTimeBudget = queryTimeBudget
        server = MailsiftServer(configuration: configuration, logger: logger)
        server.pool.start()
        server.writePool.start()
        try? server.indexer.start()
        responder = server.makeRouter(authenticate: true).buildResponder()
    }

    /// Parses `bytes` into a request and answers it; returns the status (0: not a request).
    public func respond(_ bytes: [UInt8]) async -> Int {
        guard let (head, body) = Self.request(bytes) else { return 0 }
        let request = Request(head: head, body: .init(buffer: ByteBuffer(bytes: body)))
        let context = BasicRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        do {
            let response = try await responder.respond(to: request, context: context)
            return response.status.code
        } catch let error as HTTPResponseError {
            return error.status.code
        } catch {
            return 500
        }
    }

    /// The same, waiting on this thread (libFuzzer's callback is synchronous).
    public func respondBlocking(_ bytes: [UInt8]) -> Int {
        let done = DispatchSemaphore(value: 0)
        let result = Box()
        Task {
            result.status = await self.respond(bytes)
            done.signal()
        }
        done.wait()
        return result.status
    }

    final class Box: @unchecked Sendable { var status = 0 }

    /// `METHOD target` on the first line, `Name: value` lines, an empty line, the body.
    static func request(_ bytes: [UInt8]) -> (HTTPRequest, [UInt8])? {
        var lines: [ArraySlice<UInt8>] = []
        var i = 0, start = 0
        var bodyStart = bytes.count
        while i < bytes.count {
            if bytes[i] == 0x0A {
                let line = bytes[start..<i].last == 0x0D ? bytes[start..<(i - 1)] : bytes[start..<i]
                if line.isEmpty {
                    bodyStart = i + 1
                    break
                }
                lines.append(line)
                start = i + 1
                if lines.count > 100 { return nil }
            }
            i += 1
        }
        if i == bytes.count, start < bytes.count { lines.append(bytes[start...]) }
        guard let first = lines.first else { return nil }
        let parts = first.split(separator: 0x20, maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let method = HTTPRequest.Method(String(decoding: parts[0], as: UTF8.self)) ?? .get
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.hasPrefix("/") else { return nil }
        var fields = HTTPFields()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: 0x3A),
                  let name = HTTPField.Name(String(decoding: line[line.startIndex..<colon], as: UTF8.self)) else { continue }
            fields.append(HTTPField(name: name, value: String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)))
        }
        let head = HTTPRequest(method: method, scheme: "http", authority: "localhost", path: target, headerFields: fields)
        return (head, Array(bytes[min(bodyStart, bytes.count)...]))
    }
}
