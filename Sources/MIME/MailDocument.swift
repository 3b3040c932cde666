/// A message turned into what the indexer needs: decoded headers, addresses, text with its
/// origin, attachments, the MIME structure and what was wrong with it.
public struct MailDocument: Sendable, Codable {
    /// Every top-level header field, in order, with RFC 2047 words and 8-bit bytes decoded.
    public var headers: [HeaderField] = []
    public var from: [MailAddress] = []
    public var sender: [MailAddress] = []
    public var replyTo: [MailAddress] = []
    public var to: [MailAddress] = []
    public var cc: [MailAddress] = []
    public var bcc: [MailAddress] = []
    public var subject: String?
    /// The Date header; nil when missing or unparseable.
    public var date: MailDate?
    /// Message-ID without angle brackets.
    public var messageID: String?
    public var inReplyTo: [String] = []
    public var references: [String] = []
    /// List-Id without angle brackets.
    public var listID: String?
    /// Body text, one segment per text part that a reader would see.
    public var body: [TextSegment] = []
    /// Text of multipart/alternative versions not chosen as the body (usually the HTML twin of
    /// a plain-text body): indexed for search, not shown in snippets.
    public var alternatives: [TextSegment] = []
    public var attachments: [Attachment] = []
    /// Every MIME part, in document order.
    public var parts: [PartInfo] = []
    /// Size of the raw message in bytes.
    public var rawSize: Int = 0
    public var defects: [Defect] = []

    public init() {}

    /// First value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.first(where: { $0.name.lowercased() == key })?.value
    }

    /// All body text joined, for callers that want one string.
    public var bodyText: String { body.map(\.text).joined(separator: "\n") }
}

public struct HeaderField: Sendable, Codable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Text a reader would see, and where it came from.
public struct TextSegment: Sendable, Codable, Hashable {
    public enum Origin: String, Sendable, Codable {
        case plain            // text/plain (and other text/* shown inline)
        case html             // text/html converted to text
        case enriched         // text/enriched or text/richtext
        case embeddedHeaders  // subject, from, to, date of an attached message/rfc822
        case tnef             // the body inside a TNEF winmail.dat, when the message has no other
    }
    /// IMAP part number.
    public var part: String
    public var origin: Origin
    public var text: String
}

/// An attachment: a part meant to be saved rather than read inline.
public struct Attachment: Sendable, Codable, Hashable {
    /// IMAP part number (for TNEF contents: the winmail.dat part's number plus `.tnef.N`).
    public var part: String
    public var filename: String?
    /// Lowercased `type/subtype`.
    public var mediaType: String
    /// Decoded size in bytes.
    public var size: Int
    /// SHA-256 of the decoded bytes, lowercase hex (nil when hashing is off or there are no bytes).
    public var sha256: String?
    public var inline: Bool
    /// Extracted text, when an extractor handles the type.
    public var text: String?
    public var extraction: ExtractionStatus
    public var extractionDetail: String?
}

/// One MIME part: its headers and how it was interpreted.
public struct PartInfo: Sendable, Codable, Hashable {
    public enum Role: String, Sendable, Codable {
        case container        // multipart/*
        case message          // message/rfc822 or message/global, parsed recursively
        case body             // text shown inline, in `body`
        case attachment       // in `attachments`
        case alternative      // an alternative not chosen for the body text
        case skipped          // not parsed (limit reached)
    }
    public var part: String
    public var mediaType: String
    public var charset: String?
    public var transferEncoding: String?
    public var disposition: String?
    public var filename: String?
    public var role: Role
    /// Encoded size of the part's body in bytes.
    public var encodedSize: Int
    public var headers: [HeaderField]
}
