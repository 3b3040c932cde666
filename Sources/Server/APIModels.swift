import Foundation

/// JSON bodies of the native API (docs/api.md, docs/openapi.yaml).
struct AddRequest: Decodable {
    struct Message: Decodable {
        var mailbox: String?
        var mailboxGuid: String?
        var uidValidity: Int64?
        var uid: Int64
        var internalDate: Int64?
        var flags: [String]?
        var keywords: [String]?
        /// The RFC 5322 message, base64.
        var raw: String
    }

    var messages: [Message]
}

struct AddResponse: Encodable {
    var accepted: Int
    var docids: [Int64]
}

struct ExpungeRequest: Decodable {
    var mailbox: String?
    var mailboxGuid: String?
    /// An IMAP UID set: `1:5,9,20:*`.
    var uids: String
}

struct FlagsRequest: Decodable {
    var mailbox: String?
    var mailboxGuid: String?
    var uids: String
    var flags: [String]?
    var keywords: [String]?
    /// set, add or remove.
    var mode: String?
}

struct MailboxRenameRequest: Decodable {
    var mailbox: String?
    var mailboxGuid: String?
    var to: String
}

struct MailboxDeleteRequest: Decodable {
    var mailbox: String?
    var mailboxGuid: String?
}

struct CountResponse: Encodable {
    var count: Int
}

struct SearchRequest: Decodable, Sendable {
    /// IMAP SEARCH criteria (with an optional RETURN (...) prefix): answers UIDs of `mailbox`.
    var imap: String?
    /// A webmail query: answers ranked hits.
    var query: String?
    var mailbox: String?
    var mailboxes: [String]?
    var sort: String?
    var offset: Int?
    var limit: Int?
    var snippets: Bool?
}

struct IMAPSearchResponse: Encodable {
    /// The mailbox (in a multi-mailbox answer's `mailboxes`).
    var mailbox: String?
    var uids: [UInt32]
    /// ESEARCH data for the RETURN options (`MIN 2 MAX 9 COUNT 5 ALL 2:5,9`), when asked.
    var esearch: String?
    var relevancy: [UInt8]?
    /// Without `mailbox` in the request: one answer per mailbox.
    var mailboxes: [IMAPSearchResponse]?

    init(uids: [UInt32], esearch: String? = nil, relevancy: [UInt8]? = nil, mailboxes: [IMAPSearchResponse]? = nil) {
        self.uids = uids
        self.esearch = esearch
        self.relevancy = relevancy
        self.mailboxes = mailboxes
    }
}

struct WebmailSearchResponse: Encodable {
    struct Hit: Encodable {
        var mailbox: String
        var uid: Int64
        var internalDate: Int64
        var date: Int64?
        var size: Int64
        var from: String
        var subject: String
        var score: Double
        var snippet: Snippet?
    }

    struct Snippet: Encodable {
        var field: String
        var text: String
        var marked: String
        var highlights: [[Int]]
    }

    var total: Int
    var hits: [Hit]
}

struct StatusResponse: Encodable {
    struct Mailbox: Encodable {
        var name: String
        var guid: String?
        var uidValidity: Int64
        var messages: Int
        var highestUid: Int64
    }

    var user: String
    var messages: Int
    var queued: Int
    var segments: Int
    var mailboxes: [Mailbox]
}

struct ErrorResponse: Encodable {
    struct Body: Encodable {
        var code: String
        var message: String
    }

    var error: Body
}
