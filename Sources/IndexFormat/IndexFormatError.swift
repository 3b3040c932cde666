/// Why bytes could not be decoded. Readers never trap on bad bytes: they throw this, naming
/// the file kind and the offset, so `verify` and the engine can report exactly what is wrong.
public struct IndexFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case corrupt          // checksum mismatch, impossible value, truncated structure
        case formatTooOld     // a version this build no longer reads
        case formatTooNew     // written by a newer build
        case wrongFormat      // not the kind of file expected
        case limitExceeded    // a value beyond what this build accepts
    }

    public var code: Code
    public var message: String
    /// Byte offset in the file where the problem was found, when known.
    public var offset: Int?

    public init(_ code: Code, _ message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public var description: String {
        "\(code.rawValue): \(message)" + (offset.map { " (at byte \($0))" } ?? "")
    }
}
