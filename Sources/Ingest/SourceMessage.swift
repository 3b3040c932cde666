import MailsiftCore

/// One message read from a mail store, with what the store says about it.
public struct SourceMessage: Sendable {
    /// The raw RFC 5322 bytes.
    public var bytes: [UInt8]
    /// Where it came from: a file path, or `path#N` for the N-th message (1-based) of an mbox.
    public var origin: String
    /// The internal date an IMAP server would report, seconds since the epoch: a file's
    /// modification time, or the date of an mbox `From ` line. Nil when unknown.
    public var internalDate: Int64?
    /// Maildir flags from the file name (`:2,FRS` → ["F", "R", "S"]).
    public var maildirFlags: [Character]

    public init(bytes: [UInt8], origin: String, internalDate: Int64? = nil, maildirFlags: [Character] = []) {
        self.bytes = bytes
        self.origin = origin
        self.internalDate = internalDate
        self.maildirFlags = maildirFlags
    }
}
