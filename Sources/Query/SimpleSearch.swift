import Analysis
import Catalog
import IndexEngine
import IndexFormat
import MailsiftCore

/// One matching message.
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

/// The first, simple query: every word must match (in any field), `"quoted phrases"` match
/// consecutive positions within one field. The full query languages (IMAP SEARCH, webmail
/// operators) build on the same matching in the Query issue.
public struct SimpleSearch {
    /// One condition: a single term, or a phrase of terms at relative positions.
    struct Clause {
        var terms: [(term: String, offset: UInt32)]
        var isPhrase: Bool { terms.count > 1 }
    }

    let clauses: [Clause]

    public init(_ query: String, analyzer: Analyzer = Analyzer()) {
        var clauses: [Clause] = []
        for (text, quoted) in Self.split(query) {
            let tokens = analyzer.queryTokens(text)
            guard !tokens.isEmpty else { continue }
            let length = text.utf8.count
            // A bare word indexed whole (an address, file name, "e-mail") is one term.
            if !quoted, let whole = tokens.first(where: { $0.start == 0 && $0.end == length }) {
                clauses.append(Clause(terms: [(whole.term, 0)]))
                continue
            }
            // Otherwise the finest parts, in order: the shortest token at each position.
            var byPosition: [Int: Token] = [:]
            for t in tokens {
                if let seen = byPosition[t.position], seen.end - seen.start <= t.end - t.start { continue }
                byPosition[t.position] = t
            }
            let first = byPosition.keys.min() ?? 0
            let atoms = byPosition.sorted { $0.key < $1.key }.map { (term: $0.value.term, offset: UInt32($0.key - first)) }
            clauses.append(Clause(terms: atoms))
        }
        self.clauses = clauses
    }

    public var isEmpty: Bool { clauses.isEmpty }

    /// Words and quoted phrases of a query string.
    static func split(_ query: String) -> [(String, Bool)] {
        var out: [(String, Bool)] = []
        var current = ""
        var inQuote = false
        for ch in query {
            if ch == "\"" {
                if !current.isEmpty { out.append((current, inQuote)) }
                current = ""
                inQuote.toggle()
            } else if ch.isWhitespace && !inQuote {
                if !current.isEmpty { out.append((current, false)) }
                current = ""
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { out.append((current, inQuote)) }
        return out
    }

    /// Matching documents of a snapshot, newest first.
    public func run(reader: IndexReader, catalog: Catalog, mailbox: String? = nil, limit: Int = 100) throws(MailsiftError) -> [SearchHit] {
        guard !clauses.isEmpty else { return [] }
        var mailboxID: Int64?
        if let mailbox {
            guard let row = try catalog.mailboxes().first(where: { $0.name == mailbox }) else { return [] }
            mailboxID = row.id
        }
        // Candidates with their date from the segments' values: sorting needs no catalog.
        var candidates: [(id: Int64, date: Int64, segment: Int, doc: UInt32)] = []
        for (k, (segment, deletions)) in reader.segments.enumerated() {
            let docs: [UInt32]
            do { docs = try matches(segment) } catch {
                throw MailsiftError(.corrupt, "segment \(segment.name): \(error)")
            }
            for doc in docs where !deletions.isDeleted(doc) {
                if let mailboxID, try segment.value(.mailbox, doc) != mailboxID { continue }
                let sent = try segment.value(.sentDate, doc)
                candidates.append((try segment.id(of: doc), sent != 0 ? sent : try segment.value(.internalDate, doc), k, doc))
            }
        }
        candidates.sort { ($0.date, $0.id) > ($1.date, $1.id) }
        var hits: [SearchHit] = []
        var location: [Int64: (segment: Int, doc: UInt32)] = [:]
        // Catalog rows only for the hits shown (a message expunged since the snapshot is skipped).
        for c in candidates {
            if hits.count >= limit { break }
            guard let row = try catalog.message(c.id), !row.expunged else { continue }
            hits.append(SearchHit(docid: c.id, mailbox: row.mailbox, uid: row.uid, internalDate: row.internalDate, sentDate: row.sentDate,
                                  from: "", subject: "", path: row.sourcePath))
            location[c.id] = (c.segment, c.doc)
        }
        // Subject and sender from the stored text of the hits shown.
        for k in hits.indices {
            guard let (segment, doc) = location[hits[k].docid] else { continue }
            let fields = (try? reader.segments[segment].reader.stored.document(doc)) ?? []
            for (f, text) in fields {
                if f == Field.subject.rawValue { hits[k].subject = text }
                if f == Field.from.rawValue { hits[k].from = text }
            }
        }
        return hits
    }

    /// Local docs of `segment` matching every clause.
    func matches(_ segment: SegmentReader) throws(IndexFormatError) -> [UInt32] {
        var result: [UInt32]?
        for clause in clauses {
            var docs = Set<UInt32>()
            for field in Field.allCases {
                for key in [field.rawValue, field.variantKeyByte] {
                    for d in try clauseDocs(clause, field: key, segment: segment) { docs.insert(d) }
                }
            }
            let sorted = docs.sorted()
            if let r = result {
                let s = Set(sorted)
                result = r.filter { s.contains($0) }
            } else {
                result = sorted
            }
            if result?.isEmpty == true { return [] }
        }
        return result ?? []
    }

    func clauseDocs(_ clause: Clause, field: UInt8, segment: SegmentReader) throws(IndexFormatError) -> [UInt32] {
        var infos: [TermPostingsInfo] = []
        for (term, _) in clause.terms {
            guard let info = try segment.terms.lookup([field] + Array(term.utf8)) else { return [] }
            infos.append(info)
        }
        if !clause.isPhrase, let info = infos.first {
            var it = try segment.postings.iterator(info)
            var docs: [UInt32] = []
            var d = it.doc  // a new iterator is on its first doc
            while d != PostingsIterator.noMoreDocs {
                docs.append(d)
                d = try it.next()
            }
            return docs
        }
        // Phrase: docs having every term, then positions at the right offsets.
        var iterators: [PostingsIterator] = []
        for info in infos { iterators.append(try segment.postings.iterator(info)) }
        var candidates = try PostingsReader.intersect(&iterators)
        guard !candidates.isEmpty else { return [] }
        var matched: [UInt32] = []
        iterators = []
        for info in infos { iterators.append(try segment.postings.iterator(info)) }
        for doc in candidates {
            var positionSets: [Set<UInt32>] = []
            for k in iterators.indices {
                _ = try iterators[k].advance(to: doc)
                positionSets.append(Set(try iterators[k].positions()))
            }
            let firstOffset = clause.terms[0].offset
            let found = positionSets[0].contains { p in
                clause.terms.indices.allSatisfy { k in
                    let target = Int64(p) - Int64(firstOffset) + Int64(clause.terms[k].offset)
                    return target >= 0 && target <= Int64(UInt32.max) && positionSets[k].contains(UInt32(target))
                }
            }
            if found { matched.append(doc) }
        }
        candidates = matched
        return candidates
    }
}
