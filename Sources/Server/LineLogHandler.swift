import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The daemon's log handler: the lines swift-log's `StreamLogHandler` writes to standard error
/// (`<time> <level> <label>: <key=value ...> [<source>] <message>`), with the metadata
/// formatted when a line is written rather than whenever it is set. Hummingbird gives every
/// request a logger with a request id set, and StreamLogHandler formatted its metadata
/// there, for every request, logged or not (about 1% of a search's CPU).
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata = Logger.Metadata()
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
        if let error = event.error {
            all["error.message"] = "\(error)"
            all["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let pairs = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let line = "\(Self.timestamp()) \(event.level)\(label.isEmpty ? "" : " ")\(label):\(pairs.isEmpty ? "" : " " + pairs) [\(event.source)] \(event.message)\n"
        var bytes = Array(line.utf8)
        // A line at a time: lines from several threads do not interleave.
        Self.writing.lock()
        defer { Self.writing.unlock() }
        var at = 0
        while at < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + at, $0.count - at) }
            if n > 0 {
                at += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                break
            }
        }
    }

    private static let writing = NSLock()

    static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown>" }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> String in
            guard let base = buffer.baseAddress else { return "<unknown>" }
            let n = strftime(base, 64, "%Y-%m-%dT%H:%M:%S%z", &local)
            return String(decoding: UnsafeRawBufferPointer(start: base, count: n), as: UTF8.self)
        }
    }
}
