import MailsiftCore

/// What the engine indexes for one message: terms with positions per field (already analyzed;
/// the engine knows nothing of tokenization), stored text, and per-document values.
public struct IndexDocument: Sendable {
    public struct FieldTerms: Sendable {
        public var field: Field
        /// Terms and their positions, in any order; a term may repeat (with other positions).
        public var terms: TermList
        /// Diacritic-folded variants of the field's terms, kept apart from the terms proper
        /// (`Field.variantKeyByte`): a variant is not text the message contains, so exact
        /// substring search must be able to tell them apart.
        public var variants: Bool
        public init(field: Field, list: TermList, variants: Bool = false) {
            self.field = field
            self.terms = list
            self.variants = variants
        }

        public init(field: Field, terms: [(term: String, position: UInt32)], variants: Bool = false) {
            self.init(field: field, list: TermList(terms), variants: variants)
        }

        /// The key byte the terms are indexed under.
        public var keyByte: UInt8 { variants ? field.variantKeyByte : field.rawValue }
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
///
/// Columns are found by name: a segment written before a column existed reads it as its
/// default (`SegmentReader.value`), so adding one never breaks older segments.
public struct DocumentValues: Sendable, Hashable {
    public static let columns = ["id", "internalDate", "sentDate", "size", "mailbox", "uid", "sentDay", "attachments", "bodyLength"]
    /// Indexes into `columns`, for `SegmentReader.value(_:_:)`.
    public enum Column: Int, Sendable, CaseIterable { case id = 0, internalDate, sentDate, size, mailbox, uid, sentDay, attachments, bodyLength }
    public var id: Int64
    public var internalDate: Int64
    /// The Date header's instant (seconds since 1970), 0 when the message has none.
    public var sentDate: Int64
    public var size: Int64
    public var mailbox: Int64
    public var uid: Int64
    /// The Date header's day in its own zone (days since 1970-01-01; IMAP SENTON and friends
    /// compare days "disregarding time and timezone"), `Int64.min` when there is no date.
    public var sentDay: Int64
    /// Attachments (parts with a file name or an attachment disposition).
    public var attachments: Int64
    /// Positions in the body field (its length in words, for BM25's length normalization).
    public var bodyLength: Int64

    public init(id: Int64, internalDate: Int64, sentDate: Int64, size: Int64, mailbox: Int64, uid: Int64,
                sentDay: Int64 = .min, attachments: Int64 = 0, bodyLength: Int64 = 0) {
        self.id = id
        self.internalDate = internalDate
        self.sentDate = sentDate
        self.size = size
        self.mailbox = mailbox
        self.uid = uid
        self.sentDay = sentDay
        self.attachments = attachments
        self.bodyLength = bodyLength
    }

    /// Column values as stored (signed values biased so that order is kept in UInt64).
    var row: [UInt64] {
        [id, internalDate, sentDate, size, mailbox, uid, sentDay, attachments, bodyLength].map { UInt64(bitPattern: $0) &+ (1 << 63) }
    }

    /// What a segment without the column reads: the sent day from the sent date in UTC, no
    /// attachments known.
    static func defaultValue(_ column: Column, sentDate: Int64) -> Int64 {
        switch column {
        case .sentDay: return sentDate == 0 ? .min : day(ofSeconds: sentDate)
        default: return 0
        }
    }

    static func value(_ stored: UInt64) -> Int64 { Int64(bitPattern: stored &- (1 << 63)) }

    /// The day number (since 1970-01-01) of a time in seconds, rounded down for times before
    /// 1970, for any Int64 (values read from a damaged segment included: `(t - 86_399) /
    /// 86_400` overflowed near Int64.min).
    public static func day(ofSeconds t: Int64) -> Int64 {
        let q = t / 86_400
        return t % 86_400 < 0 ? q - 1 : q
    }
}
