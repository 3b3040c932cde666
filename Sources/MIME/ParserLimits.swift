/// Bounds on everything the parser does with one message. A message over a limit is parsed as
/// far as allowed and carries a defect saying which limit it hit.
public struct ParserLimits: Sendable {
    /// Bytes of the message looked at; the rest is ignored (`messageTooLarge`).
    public var maxMessageBytes = 256 << 20
    /// Bytes of one header section (`headerTooLarge`).
    public var maxHeaderBytes = 1 << 20
    /// Fields of one header section (`tooManyHeaderFields`).
    public var maxHeaderFields = 10_000
    /// MIME parts of one message, all levels (`tooManyParts`).
    public var maxParts = 10_000
    /// Nesting of multiparts and attached messages (`tooDeep`).
    public var maxDepth = 40
    /// Decoded bytes of one part (`partTooLarge`).
    public var maxPartBytes = 64 << 20
    /// Decoded bytes of all parts together; parts past it are recorded without content.
    public var maxTotalDecodedBytes = 512 << 20
    /// Body text kept for the document (`textTruncated`).
    public var maxTextBytes = 32 << 20
    /// Extract text from attachments (PDF, Office, RTF, calendars…)?
    public var extractAttachments = true
    /// Per-attachment extraction limits.
    public var extraction = ExtractionLimits()
    /// Wall-clock budget for the whole message, extraction included (`timeLimit`).
    public var timeBudgetSeconds: Double = 60
    /// Compute a SHA-256 of each attachment's decoded bytes.
    public var hashAttachments = true

    public init() {}
}
