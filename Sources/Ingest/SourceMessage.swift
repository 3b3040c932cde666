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
    /// The message's size in the store when `bytes` holds only its beginning (a message file
    /// larger than the parser reads); nil when `bytes` is the whole message.
    public var storedSize: Int64?

    public init(bytes: [UInt8], origin: String, internalDate: Int64? = nil, maildirFlags: [Character] = [], storedSize: Int64? = nil) {
        self.bytes = bytes
        self.origin = origin
        self.internalDate = internalDate
        self.maildirFlags = maildirFlags
        self.storedSize = storedSize
    }

    /// The size IMAP reports (RFC822.SIZE, LARGER/SMALLER): the whole message's, even when
    /// only its beginning was read.
    public var size: Int64 { storedSize ?? Int64(bytes.count) }
}
