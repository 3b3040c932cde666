import Catalog
import Foundation
import Hummingbird
import IndexEngine
import Ingest
import MailsiftCore
import NIOCore
import Query

/// Dovecot's fts_solr plugin, answered as Solr would but IMAP-exact
/// (`../shared/dovecot/SOLR-PROTOCOL.md`; docs/dovecot.md).
extension MailsiftServer {
    /// The user a public (ownerless) namespace's documents belong to: Dovecot sends `user:""`.
    static let publicNamespaceUser = "(public)"

    /// The index a Solr document's or query's user maps to.
    static func solrUser(_ user: String) -> String { user.isEmpty ? publicNamespaceUser : user }

    static func xml(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func solrSelect(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let select: SolrSelect
        let query: SolrQuery
        do {
            select = try SolrSelect.parse(query: request.uri.query ?? "")
            query = try select.query()
        } catch {
            throw APIError(.badRequest, "invalid_query", error.description)
        }
        guard let named = query.user else { throw APIError(.badRequest, "invalid_query", "the query names no user (user:NAME)") }
        let user = Self.solrUser(named)
        let wantsBox = select.wants("box")
        let wantsScore = select.wants("score")
        let rows = max(0, select.rows)
        return try await searchSlot {
            var open = registry.openIndex(user)
            if open == nil {
                open = try await blocking { try self.registry.exists(user) ? try self.registry.index(user, create: false) : nil }
            }
            let docs: [(uid: UInt32, box: String?, score: Double?)]? = try await blocking { [open] in
                guard let index = open else { return nil }
                let boxes = try index.catalog.mailboxStatuses()
                let byGUID = Dictionary(boxes.compactMap { b in b.guid.map { ($0, b) } }, uniquingKeysWith: { a, _ in a })
                if query.lastUIDQuery {
                    // The true highest UID of the box, accepted messages included (Dovecot trusts it).
                    guard let guid = query.boxes.first, let box = byGUID[guid] else { return [] }
                    let highest = try index.catalog.highestUID(mailbox: box.id)
                    return highest > 0 ? [(UInt32(clamping: highest), wantsBox ? guid : nil, nil)] : []
                }
                var names: [String]?
                if !query.boxes.isEmpty {
                    names = query.boxes.compactMap { byGUID[$0]?.name }
                    if names?.isEmpty ?? true { return [] }
                }
                var options = self.searchOptions(mailboxes: names)
                options.sort = .uid
                options.offset = 0
                options.limit = rows
                options.snippets = false
                let engine = QueryEngine(reader: index.snapshot(), catalog: index.catalog)
                let hits = try engine.search(query.text ?? .all, options: options).hits
                let guidByName = Dictionary(boxes.map { ($0.name, $0.guid) }, uniquingKeysWith: { a, _ in a })
                return hits.map { h in
                    (UInt32(clamping: h.uid), wantsBox ? (guidByName[h.mailbox] ?? nil) ?? h.mailbox : nil,
                     wantsScore && h.score > 0 ? h.score : nil)
                }
            }
            let list = docs ?? []
            return Self.xml(SolrProtocol.selectResponse(docs: list, numFound: list.count))
        }
    }

    func solrUpdate(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var request = request
        let buffer = try await body(&request)
        // (A large batch is parsed off the event loop, as a large JSON add is.)
        let commands: [SolrUpdateCommand] = try await blocking(write: true, inline: buffer.readableBytes <= Self.inlineParseBytes) {
            do { return try SolrProtocol.parseUpdate(Array(buffer.readableBytesView)) } catch let error as SolrError {
                throw APIError(.badRequest, "invalid_update", error.description)
            }
        }
        for command in commands {
            switch command {
            case .add(let docs):
                var byUser: [String: [IncomingMessage]] = [:]
                for doc in docs {
                    let parsed = doc.parsedID
                    guard let uid = doc.uid ?? parsed?.uid, uid > 0, let box = doc.box ?? parsed?.box else {
                        throw APIError(.badRequest, "invalid_update", "a document needs uid and box (or an id uid/box/user)")
                    }
                    let user = Self.solrUser(doc.user ?? parsed?.user ?? "")
                    let f = doc.fields
                    let message = ExtractedMessage(from: Self.headerField(f["from"]), to: Self.headerField(f["to"]), cc: Self.headerField(f["cc"]),
                                                   bcc: Self.headerField(f["bcc"]), subject: Self.headerField(f["subject"]),
                                                   body: f["body"] ?? "", headers: f["hdr"] ?? "")
                    byUser[user, default: []].append(IncomingMessage(mailbox: nil, mailboxGUID: box, uid: Int64(uid),
                                                                     internalDate: Int64(Date().timeIntervalSince1970),
                                                                     content: .extracted(message)))
                }
                for (user, messages) in byUser {
                    do { try UserDirectory.validate(user) } catch { throw APIError.from(error) }
                    _ = try await accept(user, messages)
                }
            case .delete(let ids):
                var byUser: [String: [String: Set<Int64>]] = [:]
                for id in ids {
                    guard let p = SolrDocument.parseID(id) else { continue }  // ids we never gave out: nothing to delete
                    byUser[Self.solrUser(p.user), default: [:]][p.box, default: []].insert(Int64(p.uid))
                }
                for (user, boxes) in byUser {
                    try await blocking(write: true) {
                        guard (try? self.registry.exists(user)) == true else { return }
                        let index = try self.registry.index(user, create: false)
                        for (guid, uids) in boxes {
                            guard let box = try index.catalog.existingMailbox(name: nil, guid: guid) else { continue }
                            _ = try index.expunge(mailbox: box) { uids.contains($0) }
                        }
                    }
                }
            case .commit, .optimize, .rollback:
                // Accepted documents are durable and searchable when the add is answered.
                break
            }
        }
        return Self.xml(SolrProtocol.updateResponse())
    }

    /// Dovecot sends a header field as its value followed by "\n", or empty when the message
    /// has no such header (§4): nil means absent.
    static func headerField(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}
