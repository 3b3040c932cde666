import Catalog
import IndexEngine
import MailsiftCore

/// One matching message (the first slice's result type, kept for its callers).
public struct SearchHit: Sendable, Hashable {
    public var docid: Int64
    public var mailbox: String
    public var uid: Int64
    public var internalDate: Int64
    public var sentDate: Int64?
    public var from: String
    public var subject: String
    public var path: String?
}

/// A webmail query, newest first, as plain hits: a thin shim over `QueryEngine` for callers
/// of the first slice (tests, tools). New code uses `QueryEngine` directly.
public struct SimpleSearch {
    let query: String

    public init(_ query: String) { self.query = query }

    public func run(reader: IndexReader, catalog: Catalog, mailbox: String? = nil, limit: Int = 100) throws(MailsiftError) -> [SearchHit] {
        let node: QueryNode
        do { node = try WebmailQueryParser.parse(query) } catch {
            throw MailsiftError(.invalidInput, "query: \(error)")
        }
        var options = SearchOptions(mailboxes: mailbox.map { [$0] })
        options.sort = .newest
        options.limit = limit
        options.snippets = false
        return try QueryEngine(reader: reader, catalog: catalog).search(node, options: options).hits.map {
            SearchHit(docid: $0.docid, mailbox: $0.mailbox, uid: $0.uid, internalDate: $0.internalDate, sentDate: $0.sentDate,
                      from: $0.from, subject: $0.subject, path: $0.path)
        }
    }
}
