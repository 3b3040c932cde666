/// A message whose text a client extracted itself, as Dovecot's fts_solr plugin sends it: the
/// top-level From, To, Cc, Bcc and Subject values (nil when the header is absent), the decoded
/// body text, and every header line (`Name: value`, the message's, its MIME parts' and its
/// attached messages').
public struct ExtractedMessage: Sendable, Codable, Hashable {
    public var from: String?
    public var to: String?
    public var cc: String?
    public var bcc: String?
    public var subject: String?
    public var body: String
    public var headers: String

    public init(from: String? = nil, to: String? = nil, cc: String? = nil, bcc: String? = nil, subject: String? = nil,
                body: String = "", headers: String = "") {
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subject = subject
        self.body = body
        self.headers = headers
    }
}
