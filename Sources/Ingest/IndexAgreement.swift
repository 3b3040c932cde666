import Catalog
import IndexEngine
import MailsiftCore

/// How a user's catalog and index compare: what `verify` reports, `repair` mends and `import`
/// requires to be empty. Messages a daemon accepted and has not indexed yet are in its queue:
/// not missing.
public struct IndexAgreement: Sendable {
    /// Live in the catalog, neither indexed nor queued.
    public var missing: Set<Int64>
    /// Indexed, not live in the catalog.
    public var extra: Set<Int64>
    /// Indexed more than once.
    public var duplicates: [Int64]

    /// `documents`: the ids of the index's live documents (empty for an index that is gone).
    public init(catalog: Catalog, documents: [Int64]) throws(MailsiftError) {
        var indexed = Set<Int64>()
        duplicates = documents.filter { !indexed.insert($0).inserted }
        let live = try catalog.liveDocids()
        let queued = Set(try catalog.queueIndex().map(\.docid))
        missing = live.subtracting(indexed).subtracting(queued)
        extra = indexed.subtracting(live)
    }

    public init(catalog: Catalog, reader: IndexReader) throws(MailsiftError) {
        try self.init(catalog: catalog, documents: try reader.liveDocuments().map(\.id))
    }

    public var agrees: Bool { missing.isEmpty && extra.isEmpty && duplicates.isEmpty }

    public var problems: [String] {
        var out = duplicates.map { "document \($0) is indexed twice" }
        if !missing.isEmpty { out.append("\(missing.count) catalog messages are not in the index (e.g. \(missing.sorted().prefix(5)))") }
        if !extra.isEmpty { out.append("\(extra.count) indexed documents are not live in the catalog (e.g. \(extra.sorted().prefix(5)))") }
        return out
    }
}
