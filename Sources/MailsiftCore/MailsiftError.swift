/// The error shape shared by every Mailsift module: an extensible code, a message for a person,
/// and the underlying cause. Modules add their own codes as static members.
public struct MailsiftError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let corrupt = Code("corrupt")
        public static let formatTooOld = Code("formatTooOld")
        public static let formatTooNew = Code("formatTooNew")
        public static let io = Code("io")
        public static let invalidInput = Code("invalidInput")
        public static let limitExceeded = Code("limitExceeded")
        public static let notFound = Code("notFound")
        public static let unsupported = Code("unsupported")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(code): \(message) (\(cause))" }
        return "\(code): \(message)"
    }
}

/// A cause known only by its description (e.g. a Foundation error that is not Sendable).
public struct Underlying: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
