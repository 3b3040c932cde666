/// Something wrong with a message that the parser worked around. Defects never stop parsing;
/// they tell an operator (and the tests) what was salvaged and how.
public enum DefectKind: String, Sendable, Codable, CaseIterable, Comparable {
    // Header section
    case missingHeaders                 // the message starts with body text
    case missingHeaderBodySeparator     // no blank line between header and body
    case malformedHeaderLine            // a line that is neither a field nor a continuation
    case headerTooLarge                 // header section over limits.maxHeaderBytes (rest ignored)
    case tooManyHeaderFields            // over limits.maxHeaderFields (rest ignored)
    case rawEightBitHeader              // 8-bit bytes in a header that are not UTF-8 (charset guessed)
    case invalidEncodedWord             // an RFC 2047 word that could not be decoded
    case duplicateField                 // a field that must appear once appears again (first wins)
    case invalidDate                    // a Date header that does not parse
    case malformedParameter             // a Content-Type/Disposition parameter that is broken
    case invalidContentType             // a Content-Type without a type/subtype
    // Charsets
    case unknownCharset                 // a label nobody knows: converted by guess
    case charsetGuessed                 // undeclared or wrong charset: converted by guess
    case invalidCharsetData             // bytes that do not belong to the charset (replaced by U+FFFD)
    // Transfer encodings
    case invalidBase64                  // garbage inside base64
    case invalidQuotedPrintable         // broken `=XX` escapes
    case unknownTransferEncoding        // a Content-Transfer-Encoding we do not know (kept as is)
    case invalidTransferEncoding        // an encoding the type forbids (base64 on message/rfc822)
    case corruptCompressedData          // x-gzip64 data that does not inflate
    // Structure
    case missingBoundaryParameter       // multipart without boundary
    case missingStartBoundary           // the boundary never appears: body read as one part
    case missingEndBoundary             // no closing `--boundary--`
    case reusedBoundary                 // a nested multipart reuses its parent's boundary (salvaged)
    case tooManyParts                   // over limits.maxParts (rest not parsed)
    case tooDeep                        // nesting over limits.maxDepth (kept as one part)
    case partTooLarge                   // a decoded part over limits.maxPartBytes (truncated)
    case messageTooLarge                // message over limits.maxMessageBytes (truncated)
    case textTruncated                  // body text over limits.maxTextBytes (truncated)
    case nulBytes                       // NUL bytes in text (removed)
    // Attachments
    case extractionFailed               // a text extractor failed on an attachment
    case extractionTimedOut             // a text extractor hit its time limit
    case extractionLimit                // an attachment hit a size/zip-bomb limit
    case timeLimit                      // the whole message hit limits.timeBudget (rest not parsed)

    public static func < (a: DefectKind, b: DefectKind) -> Bool { a.rawValue < b.rawValue }
}

/// A defect and where it was found.
public struct Defect: Sendable, Codable, Hashable {
    public var kind: DefectKind
    /// IMAP part number ("" for the top-level header).
    public var part: String
    public var detail: String?

    public init(kind: DefectKind, part: String, detail: String? = nil) {
        self.kind = kind
        self.part = part
        self.detail = detail
    }
}
