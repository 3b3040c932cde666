/// The indexed fields of a message: one table shared by the indexer and the query parsers
/// (as notmuch's prefix table), so both always agree on what a field is called and stored as.
public enum Field: UInt8, CaseIterable, Sendable, Codable {
    case from = 1
    case to = 2
    case cc = 3
    case bcc = 4
    case subject = 5
    case body = 6
    case attachmentName = 7
    case attachmentText = 8
    /// Other header fields' values (List-Id, Reply-To, X-Mailer, …).
    case headers = 9
    /// Stored only, never indexed: the body's text that has no terms (long tokens, base64 and
    /// PGP runs), so exact substring search can check those bytes instead of the whole body.
    case unindexed = 10

    /// The term-key byte of the field's diacritic-folded variants (`rawValue | 0x20`): terms
    /// the analysis derived ("muller" for "Müller"), kept apart from the text's own terms.
    public var variantKeyByte: UInt8 { rawValue | 0x20 }

    /// The field of a term-key byte, its own or its variants'.
    public init?(keyByte: UInt8) { self.init(rawValue: keyByte & ~0x20) }

    /// The name used in queries and JSON (`from:`, `subject:`, `filename:`).
    public var name: String {
        switch self {
        case .from: "from"
        case .to: "to"
        case .cc: "cc"
        case .bcc: "bcc"
        case .subject: "subject"
        case .body: "body"
        case .attachmentName: "filename"
        case .attachmentText: "attachment"
        case .headers: "header"
        case .unindexed: "unindexed"
        }
    }

    public init?(name: String) {
        guard let f = Field.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = f
    }
}
