import MailsiftCore

/// What the engine indexes for one message: terms with positions per field (already analyzed;
/// the engine knows nothing of tokenization), stored text, and per-document values.
public struct IndexDocument: Sendable {
    public struct FieldTerms: Sendable {
        public var field: Field
        /// Terms and their positions, in any order; a term may repeat (with other positions).
        public var terms: [(term: String, position: UInt32)]
        public init(field: Field, terms: [(term: String, position: UInt32)]) {
            self.field = field
            self.terms = terms
        }
    }

    /// The catalog's docid.
    public var id: Int64
    public var fields: [FieldTerms]
    /// Text kept for snippets and exact substring checks, by field.
    public var stored: [(field: Field, text: String)]
    public var values: DocumentValues

    public init(id: Int64, fields: [FieldTerms], stored: [(field: Field, text: String)], values: DocumentValues) {
        self.id = id
        self.fields = fields
        self.stored = stored
        self.values = values
    }
}

/// Per-document values kept in the segment for filtering and sorting without the catalog.
public struct DocumentValues: Sendable, Hashable {
    public static let columns = ["id", "internalDate", "sentDate", "size", "mailbox", "uid"]
    /// Indexes into `columns`, for `SegmentReader.value(_:_:)`.
    public enum Column: Int, Sendable { case id = 0, internalDate, sentDate, size, mailbox, uid }
    public var id: Int64
    public var internalDate: Int64
    public var sentDate: Int64
    public var size: Int64
    public var mailbox: Int64
    public var uid: Int64

    public init(id: Int64, internalDate: Int64, sentDate: Int64, size: Int64, mailbox: Int64, uid: Int64) {
        self.id = id
        self.internalDate = internalDate
        self.sentDate = sentDate
        self.size = size
        self.mailbox = mailbox
        self.uid = uid
    }

    /// Column values as stored (signed values biased so that order is kept in UInt64).
    var row: [UInt64] {
        [id, internalDate, sentDate, size, mailbox, uid].map { UInt64(bitPattern: $0) &+ (1 << 63) }
    }

    static func value(_ stored: UInt64) -> Int64 { Int64(bitPattern: stored &- (1 << 63)) }
}
