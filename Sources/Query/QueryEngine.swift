import Analysis
import Catalog
import IndexEngine
import IndexFormat
import MailsiftCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How results are ordered.
public enum SearchSort: String, Sendable, Hashable {
    /// BM25F score, best first (date breaks ties).
    case relevance
    case newest
    case oldest
    /// Mailbox, then UID (IMAP order).
    case uid
}

public struct SearchOptions: Sendable {
    /// Mailboxes searched, by name; nil: all of the user's.
    public var mailboxes: [String]?
    public var sort: SearchSort = .relevance
    public var offset = 0
    public var limit = 50
    public var snippets = true
    /// Catalog docids of the saved result (IMAP `$`), when the caller keeps one.
    public var savedResult: Set<Int64>?
    /// Score every match instead of pruning by window bounds (tests compare the two).
    public var exhaustiveRanking = false
    /// Hits carry the message's source file (read from the catalog); a caller that does not
    /// show it saves that read.
    public var sourcePaths = true
    /// Up to this many postings of the query's terms, a ranked page reads them all
    /// (`denseTop`); past it, by pruned windows (`rankedTop`). Tests set it to force either.
    var denseRankingPostings = 5000
    /// A one-word ranked page of a word with at least `championMinimumPostings` postings is
    /// read off each segment's list of its `championDepth` best documents
    /// (`Execution.championTop`); 0 turns that off. Tests lower both to reach its edges.
    var championDepth = 1_024
    var championMinimumPostings = 1_000
    /// Segments of fewer documents keep no word matches (`SegmentReader.keepMatches`): their
    /// postings decode in microseconds. Tests lower it to use the cache on small indexes.
    var matchCacheMinimumDocuments = 4_096
    public var limits = QueryLimits()
    /// "Now" for relative dates, seconds since 1970.
    public var now: Int64

    public init(mailboxes: [String]? = nil, now: Int64? = nil) {
        self.mailboxes = mailboxes
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        self.now = now ?? Int64(ts.tv_sec)
    }
}

/// The best passage of a hit with the matched words marked (as JMAP SearchSnippet).
public struct Snippet: Sendable, Hashable {
    /// The field the passage is from (`subject`, `body`, …).
    public var field: String
    public var text: String
    /// UTF-8 byte ranges of `text` that matched.
    public var highlights: [Range<Int>]
    /// `text` with the matches wrapped in `<mark>` and `</mark>` (HTML-escaped otherwise).
    public var marked: String
}

public struct SearchResultHit: Sendable, Hashable {
    public var docid: Int64
    public var mailbox: String
    public var uid: Int64
    public var internalDate: Int64
    public var sentDate: Int64?
    public var size: Int64
    public var from: String
    public var subject: String
    public var path: String?
    public var score: Double
    public var snippet: Snippet?
}

public struct SearchResults: Sendable {
    /// All matches (before offset/limit).
    public var total: Int
    public var hits: [SearchResultHit]
    /// Whether the segments' champion lists decided the ranked page (tests check it is used).
    var byChampionLists = false

    public init(total: Int, hits: [SearchResultHit]) {
        self.total = total
        self.hits = hits
    }
}

/// Executes query trees against one index snapshot and the catalog: the one engine behind
/// IMAP SEARCH, the webmail language, the CLI and the daemon.
///
/// Plan: every node evaluates to a `DocSet` within the set its context already allows (AND
/// evaluates cheap children first and narrows the rest to what survived; NOT is a difference
/// within that set). Text keys:
/// - IMAP substrings: the term dictionary narrows (terms containing each word of the key, plus
///   messages whose text has unindexed parts), the stored text confirms: exact.
/// - Webmail words and phrases: postings and positions, folded as indexing folds.
public final class QueryEngine {
    public let reader: IndexReader
    public let catalog: Catalog

    /// Mailbox names by id, read once (a mailbox unknown to it triggers a re-read).
    private let names = Locked<[Int64: String]?>(nil)

    public init(reader: IndexReader, catalog: Catalog) {
        self.reader = reader
        self.catalog = catalog
    }

    func mailboxNames(refresh: Bool = false) throws(MailsiftError) -> [Int64: String] {
        if !refresh, let n = names.withLock({ $0 }) { return n }
        let n = try catalog.mailboxNames()
        names.withLock { $0 = n }
        return n
    }

    /// Matches, ranked and cut to a page, with snippets.
    public func search(_ node: QueryNode, options: SearchOptions = SearchOptions()) throws(MailsiftError) -> SearchResults {
        let run = try Execution(engine: self, options: options)
        let matches = try run.evaluate(node, within: run.scope)
        return try run.results(matches, node: node)
    }

    /// UIDs matching `node` in one mailbox, ascending, each with its RFC 6203 relevancy
    /// (1...100: its BM25F score against the best match's).
    public func uidsWithRelevancy(_ node: QueryNode, mailbox: String, options: SearchOptions = SearchOptions()) throws(MailsiftError) -> [(uid: UInt32, relevancy: UInt8)] {
        var o = options
        o.mailboxes = [mailbox]
        o.sort = .relevance
        o.offset = 0
        o.limit = .max
        o.snippets = false
        let hits = try search(node, options: o).hits
        let best = hits.map(\.score).max() ?? 0
        return hits.map { h in
            let r = best > 0 ? max(1, min(100, Int((h.score / best * 100).rounded()))) : 100
            return (UInt32(clamping: h.uid), UInt8(r))
        }.sorted { $0.uid < $1.uid }
    }

    /// UIDs matching `node` in each of `mailboxes`, ascending: what `uids(_:mailbox:)` gives
    /// for each, evaluated once over all of them when the criteria mean the same in every
    /// mailbox (no UID or sequence sets, no saved result, which are each mailbox's own), so
    /// a search of 400 mailboxes reads the term dictionary once, not 400 times.
    public func uidsByMailbox(_ node: QueryNode, mailboxes: [String], options: SearchOptions = SearchOptions()) throws(MailsiftError) -> [[UInt32]] {
        guard !mailboxes.isEmpty else { return [] }
        guard !Self.hasMailboxRelativeKeys(node), mailboxes.count > 1 else {
            // One mailbox at a time, within one time budget for them all.
            let started = ContinuousClock.now
            return try mailboxes.map { (m) throws(MailsiftError) -> [UInt32] in
                var o = options
                o.limits.timeBudget = options.limits.timeBudget - (ContinuousClock.now - started) / .seconds(1)
                guard o.limits.timeBudget > 0 else {
                    throw MailsiftError(.limitExceeded, "the search ran past its time budget of \(options.limits.timeBudget) s")
                }
                return try uids(node, mailbox: m, options: o)
            }
        }
        var o = options
        o.mailboxes = mailboxes
        let run = try Execution(engine: self, options: o)
        let matches = try run.evaluate(node, within: run.scope)
        var byID: [Int64: [UInt32]] = [:]
        for (s, docs) in Execution.docLists(matches, segments: run.segments.count).enumerated() where !docs.isEmpty {
            let uids = try run.segments[s].column(.uid)
            let boxes = try run.segments[s].column(.mailbox)
            for d in docs where Int(d) < uids.count && Int(d) < boxes.count {
                byID[boxes[Int(d)], default: []].append(UInt32(truncatingIfNeeded: uids[Int(d)]))
            }
        }
        // Names as `sameMailbox` compares them (INBOX in any case is INBOX).
        func key(_ name: String) -> String { name.count == 5 && name.uppercased() == "INBOX" ? "INBOX" : name }
        var idsByName: [String: [Int64]] = [:]
        for (id, name) in run.mailboxIDs { idsByName[key(name), default: []].append(id) }
        return mailboxes.map { name in (idsByName[key(name)] ?? []).flatMap { byID[$0] ?? [] }.sorted() }
    }

    /// Whether the criteria hold keys whose meaning depends on the mailbox (its UIDs, its
    /// sequence numbers, its saved result).
    static func hasMailboxRelativeKeys(_ node: QueryNode) -> Bool {
        switch node {
        case .uids, .sequence, .savedResult: return true
        case .and(let children), .or(let children): return children.contains(where: hasMailboxRelativeKeys)
        case .not(let inner), .fuzzy(let inner): return hasMailboxRelativeKeys(inner)
        case .around(let a, let b, _): return hasMailboxRelativeKeys(a) || hasMailboxRelativeKeys(b)
        default: return false
        }
    }

    /// UIDs matching `node` in one mailbox, ascending (for IMAP SEARCH / ESEARCH).
    public func uids(_ node: QueryNode, mailbox: String, options: SearchOptions = SearchOptions()) throws(MailsiftError) -> [UInt32] {
        var o = options
        o.mailboxes = [mailbox]
        let run = try Execution(engine: self, options: o)
        let matches = try run.evaluate(node, within: run.scope)
        var out: [UInt32] = []
        out.reserveCapacity(matches.count)
        for (s, docs) in Execution.docLists(matches, segments: run.segments.count).enumerated() where !docs.isEmpty {
            let uids = try run.segments[s].column(.uid)
            for d in docs where Int(d) < uids.count { out.append(UInt32(truncatingIfNeeded: uids[Int(d)])) }
        }
        return out.sorted()
    }
}

/// Analyzers for query executions, reused: opening one builds an ICU word-break iterator
/// from its rules and 48 KiB of buffers, about 5 µs, a quarter of a query that finds nothing.
/// Each is used by one execution at a time.
enum AnalyzerPool {
    private static let free = Locked<[Analyzer]>([])

    static func take() -> Analyzer { free.withLock { $0.popLast() } ?? Analyzer() }

    /// Kept up to 64 (more than the searches that run at once); the rest are closed.
    static func give(_ analyzer: Analyzer) { free.withLock { if $0.count < 64 { $0.append(analyzer) } } }
}

/// One query's execution state (lazy catalog data, deadline).
final class Execution {
    let engine: QueryEngine
    let options: SearchOptions
    /// Per query: an Analyzer holds an ICU iterator and scratch buffers (not thread-safe),
    /// and queries run concurrently on one engine. Borrowed from `AnalyzerPool`, returned
    /// when the execution ends.
    let analyzer = AnalyzerPool.take()
    let segments: [SegmentReader]
    let counts: [UInt32]
    /// Live documents of the mailboxes searched.
    private(set) var scope: DocSet
    let mailboxIDs: [Int64: String]
    let deadline: UInt64
    private var states: [Int64: MessageState]?
    /// Inside FUZZY: words also match terms a few edits away.
    var fuzzy = 0
    private var locations: [Int64: (Int, UInt32)]?
    /// Term lookups of this query (`lookupBoth`), without hashing: the query's distinct terms
    /// (few: a linear search), and a slot per (term, segment, field id < 16).
    private var lookupTerms: [String] = []
    private var lookups: [[TermPostingsInfo]?] = []
    /// Per looked-up term and field (`term * 16 + field`): its two keys (the field's own and
    /// its variants') with their filter hashes, the same in every segment.
    private var lookupKeys: [[(key: [UInt8], hashes: TermKeyHashes)]?] = []
    /// Each segment's term filter, fetched once for the query (nil inside: none).
    private var termFilters: [TermFilter?]?
    /// Decoding buffers handed from one `addPostings` iterator to the next: a substring key
    /// can match thousands of terms, and fresh buffers per term cost more than their postings.
    private var spareBuffers = PostingsIterator.Buffers()
    /// `addPostings`' block of doc IDs, allocated once per query.
    private let docBlock = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)

    deinit {
        AnalyzerPool.give(analyzer)
        docBlock.deallocate()
    }

    init(engine: QueryEngine, options: SearchOptions) throws(MailsiftError) {
        self.engine = engine
        self.options = options
        segments = engine.reader.segments.map(\.reader)
        counts = segments.map(\.documentCount)
        let budget = options.limits.timeBudget.isFinite ? min(max(0, options.limits.timeBudget), 86_400) : 86_400
        deadline = Self.nowNanos() &+ UInt64(budget * 1e9)
        var names = try engine.mailboxNames()
        if let m = options.mailboxes, m.contains(where: { name in !names.values.contains { Self.sameMailbox($0, name) } }) {
            names = try engine.mailboxNames(refresh: true)
        }
        mailboxIDs = names
        var wanted: Set<Int64>?
        if let m = options.mailboxes {
            let lower = Set(m.map { $0.uppercased() == "INBOX" ? "INBOX" : $0 })
            wanted = Set(names.filter { lower.contains($0.value.uppercased() == "INBOX" ? "INBOX" : $0.value) }.map(\.key))
        }
        // Every doc, minus deletions, minus other mailboxes' when some are asked for: word
        // operations on bitmaps (mailbox bitmaps are cached with the segment).
        var s = DocSet(empty: counts)
        let hidden = engine.reader.hiddenIDs
        for (k, (segment, deletions)) in engine.reader.segments.enumerated() {
            let n = Int(segment.documentCount)
            var allowed: [UInt64]?
            if let wanted {
                var union = [UInt64](repeating: 0, count: s.bits[k].count)
                for box in wanted {
                    let b = try segment.mailboxBitmap(box)
                    for w in 0..<min(union.count, b.count) { union[w] |= b[w] }
                }
                allowed = union
            }
            s.bits[k].withUnsafeMutableBufferPointer { words in
                for w in 0..<words.count {
                    let left = n - w * 64
                    var word: UInt64 = left >= 64 ? .max : (1 << UInt64(left)) - 1
                    word &= ~deletions.word(w)
                    if let allowed { word &= allowed[w] }
                    words[w] = word
                }
            }
            for id in hidden {
                if let d = try segment.doc(forID: id) { s.bits[k][Int(d >> 6)] &= ~(1 << UInt64(d & 63)) }
            }
        }
        scope = s
    }

    static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    func checkDeadline() throws(MailsiftError) {
        if Self.nowNanos() > deadline {
            throw MailsiftError(.limitExceeded, "the query ran past its time budget of \(options.limits.timeBudget) s")
        }
    }

    func forEachDoc(_ set: DocSet, _ body: (Int, UInt32) throws(MailsiftError) -> Void) throws(MailsiftError) {
        for (s, words) in set.bits.enumerated() {
            for (w, word) in words.enumerated() where word != 0 {
                var x = word
                while x != 0 {
                    try body(s, UInt32(w * 64 + x.trailingZeroBitCount))
                    x &= x - 1
                }
            }
        }
    }

    // MARK: - Evaluation

    func evaluate(_ node: QueryNode, within: DocSet, depth: Int = 0) throws(MailsiftError) -> DocSet {
        guard depth <= options.limits.maxDepth else {
            throw MailsiftError(.limitExceeded, "the query nests deeper than \(options.limits.maxDepth)")
        }
        try checkDeadline()
        if within.isEmpty { return within }
        switch node {
        case .all:
            return within
        case .and(let children):
            var current = within
            for child in children.sorted(by: { Self.cost($0) < Self.cost($1) }) {
                current = try evaluate(child, within: current, depth: depth + 1)
                if current.isEmpty { break }
            }
            return current
        case .or(let children):
            var result = DocSet(empty: counts)
            var rest = within
            for child in children.sorted(by: { Self.cost($0) < Self.cost($1) }) {
                let m = try evaluate(child, within: rest, depth: depth + 1)
                result.formUnion(m)
                rest.subtract(m)  // what matched need not be checked again
                if rest.isEmpty { break }
            }
            return result
        case .not(let inner):
            var result = within
            result.subtract(try evaluate(inner, within: within, depth: depth + 1))
            return result
        case .text(let field, let string, let match):
            switch match {
            case .substring: return try substring(field, string, within: within)
            case .words, .phrase, .prefix: return try words(field, string, match, within: within)
            }
        case .header(let name, let value):
            return try header(name, value, within: within)
        case .date(let field, let comparison, let day):
            let target = day.daysSinceEpoch
            let arrival = try segments.map { (seg) throws(MailsiftError) -> [Int64] in try seg.column(.internalDate) }
            let sent = field == .sent ? try segments.map { (seg) throws(MailsiftError) -> [Int64] in try seg.column(.sentDay) } : []
            return try filterValues(within) { s, d throws(MailsiftError) in
                var dayOf = field == .sent ? sent[s][Int(d)] : .min
                // Arrival dates; and a message without a Date header: RFC 9051 says the
                // internal date stands in.
                if dayOf == .min {
                    let t = arrival[s][Int(d)]
                    dayOf = DocumentValues.day(ofSeconds: t)
                }
                return Self.compare(dayOf, comparison, target)
            }
        case .relativeDate(let field, let olderThan, let seconds):
            let cut = options.now - seconds
            return try filterValues(within) { s, d throws(MailsiftError) in
                let t = field == .arrival ? try segments[s].value(.internalDate, d) : try segments[s].value(.sentDate, d)
                return olderThan ? t < cut : t >= cut
            }
        case .size(let larger, let n):
            let sizes = try segments.map { (seg) throws(MailsiftError) -> [Int64] in try seg.column(.size) }
            return try filterValues(within) { s, d throws(MailsiftError) in
                let size = sizes[s][Int(d)]
                return larger ? size > n : size < n
            }
        case .hasAttachment:
            return try filterValues(within) { s, d throws(MailsiftError) in try segments[s].value(.attachments, d) > 0 }
        case .mailbox(let name):
            let ids = Set(mailboxIDs.filter { Self.sameMailbox($0.value, name) }.map(\.key))
            let boxes = try segments.map { (seg) throws(MailsiftError) -> [Int64] in try seg.column(.mailbox) }
            return try filterValues(within) { s, d throws(MailsiftError) in ids.contains(boxes[s][Int(d)]) }
        case .flag(let flag, let set):
            let bit: MessageFlags
            switch flag {
            case .seen: bit = .seen
            case .answered: bit = .answered
            case .flagged: bit = .flagged
            case .deleted: bit = .deleted
            case .draft: bit = .draft
            case .recent: bit = .recent
            }
            let st = try messageStates()
            return try filterIDs(within) { id in (st[id]?.flags.contains(bit) ?? false) == set }
        case .keyword(let name, let set):
            let st = try messageStates()
            let lower = name.lowercased()
            return try filterIDs(within) { id in (st[id]?.keywords.contains { $0.lowercased() == lower } ?? false) == set }
        case .uids(let set):
            // `*` is the largest UID of each message's own mailbox.
            let largest = try largestUIDs()
            return try filterValues(within) { s, d throws(MailsiftError) in
                let uid = try segments[s].value(.uid, d)
                let top = largest[try segments[s].value(.mailbox, d)] ?? 0
                return uid > 0 && uid <= Int64(UInt32.max) && set.contains(UInt32(uid), largest: top)
            }
        case .sequence(let set):
            // Sequence numbers: position by UID among the mailbox's live messages (one
            // mailbox; over several each has its own numbering).
            let st = try messageStates()
            var byMailbox: [Int64: [(uid: Int64, id: Int64)]] = [:]
            for (id, s) in st { byMailbox[s.mailboxID, default: []].append((s.uid, id)) }
            var numbers: [Int64: UInt32] = [:]
            var largest: [Int64: UInt32] = [:]
            for (m, list) in byMailbox {
                for (k, e) in list.sorted(by: { $0.uid < $1.uid }).enumerated() { numbers[e.id] = UInt32(truncatingIfNeeded: k + 1) }
                largest[m] = UInt32(truncatingIfNeeded: list.count)
            }
            return try filterIDs(within) { id in
                guard let n = numbers[id], let m = st[id]?.mailboxID else { return false }
                return set.contains(n, largest: largest[m] ?? 0)
            }
        case .savedResult:
            let saved = options.savedResult ?? []
            return try filterIDs(within) { id in saved.contains(id) }
        case .fuzzy(let inner):
            fuzzy += 1
            defer { fuzzy -= 1 }
            return try evaluate(Self.fuzzified(inner), within: within, depth: depth + 1)
        case .around(let a, let b, let distance):
            return try around(a, b, distance: distance, within: within)
        }
    }

    /// Every match's sort key, and the first `to` of them in the page's order (a bounded
    /// heap when the page is a small part of the result).
    func pageEntries(_ matchDocs: [[UInt32]], matchBase: [Int], scores: [Double], bases: [Int], to: Int) throws(MailsiftError) -> [Entry] {
        var entries: [Entry] = []
        entries.reserveCapacity(matchBase.last.map { $0 + (matchDocs.last?.count ?? 0) } ?? 0)
        for (s, list) in matchDocs.enumerated() {
            let seg = segments[s]
            switch options.sort {
            case .relevance:
                for (k, d) in list.enumerated() {
                    entries.append(Entry(segment: s, doc: d, key: scores.isEmpty ? 0 : scores[matchBase[s] + k], tie: Int64(bases[s] + Int(d))))
                }
            case .newest, .oldest:
                let sent = try seg.column(.sentDate), arrival = try seg.column(.internalDate)
                for d in list {
                    let date = sent[Int(d)] != 0 ? sent[Int(d)] : arrival[Int(d)]
                    entries.append(Entry(segment: s, doc: d, key: Double(date), tie: Int64(bases[s] + Int(d))))
                }
            case .uid:
                let boxes = try seg.column(.mailbox), uids = try seg.column(.uid)
                for d in list { entries.append(Entry(segment: s, doc: d, key: Double(boxes[Int(d)]), tie: uids[Int(d)])) }
            }
        }
        let descending = options.sort == .relevance || options.sort == .newest
        let before: (Entry, Entry) -> Bool = descending ? { ($0.key, $0.tie) > ($1.key, $1.tie) } : { ($0.key, $0.tie) < ($1.key, $1.tie) }
        if to < entries.count / 4 { return firstElements(to, of: entries, by: before) }
        entries.sort(by: before)
        return entries
    }

    /// The first index after `i` whose doc is ≥ `target` in ascending `docs` (`docs.count`
    /// when none): doubling steps, then a binary search, so a long jump costs its logarithm.
    static func gallop(_ docs: [UInt32], after i: Int, to target: UInt32) -> Int {
        var step = 1, lo = i + 1, hi = i + 1
        while hi < docs.count, docs[hi] < target {
            lo = hi + 1
            step <<= 1
            hi += step
        }
        hi = min(hi, docs.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if docs[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }


    static func compare(_ day: Int64, _ c: DateComparison, _ target: Int64) -> Bool {
        switch c {
        case .before: return day < target
        case .on: return day == target
        case .since: return day >= target
        }
    }

    static func sameMailbox(_ a: String, _ b: String) -> Bool {
        a == b || (a.uppercased() == "INBOX" && b.uppercased() == "INBOX")
    }

    /// Rough cost for ordering AND/OR children: values and flags first, then indexed words,
    /// then substrings (stored text), then header scans.
    static func cost(_ node: QueryNode) -> Int {
        switch node {
        case .all, .date, .relativeDate, .size, .mailbox, .uids, .hasAttachment: return 1
        case .flag, .keyword, .sequence, .savedResult: return 2
        case .text(_, _, let m): return m == .substring ? 20 : 5
        case .fuzzy: return 8
        case .around: return 10
        case .header: return 30
        case .not(let n): return cost(n) + 1
        case .and(let c): return c.map(cost).min() ?? 1
        case .or(let c): return c.map(cost).reduce(0, +)
        }
    }

    /// RFC 6203 FUZZY: a text key matches what it matches without FUZZY (the substring: a
    /// fuzzy search never finds less, and Dovecot, which ignores FUZZY, finds those) and also
    /// as words (the analysis folds case and diacritics), each word matching terms within a
    /// small edit distance.
    static func fuzzified(_ node: QueryNode) -> QueryNode {
        switch node {
        case .text(let f, let s, .substring): return .or([.text(f, s, .substring), .text(f, s, .words)])
        case .and(let c): return .and(c.map(fuzzified))
        case .or(let c): return .or(c.map(fuzzified))
        case .not(let n): return .not(fuzzified(n))
        default: return node
        }
    }

    func filterValues(_ within: DocSet, _ keep: (Int, UInt32) throws(MailsiftError) -> Bool) throws(MailsiftError) -> DocSet {
        var out = DocSet(empty: counts)
        try forEachDoc(within) { s, d throws(MailsiftError) in if try keep(s, d) { out.insert(s, d) } }
        return out
    }

    func filterIDs(_ within: DocSet, _ keep: (Int64) -> Bool) throws(MailsiftError) -> DocSet {
        try filterValues(within) { s, d throws(MailsiftError) in keep(try segments[s].id(of: d)) }
    }

    func messageStates() throws(MailsiftError) -> [Int64: MessageState] {
        if let states { return states }
        let ids = options.mailboxes == nil ? nil : Array(Set(mailboxIDs.filter { m in options.mailboxes?.contains { Self.sameMailbox(m.value, $0) } ?? true }.map(\.key)))
        let s = try engine.catalog.messageStates(mailboxIDs: ids)
        states = s
        return s
    }

    func largestUIDs() throws(MailsiftError) -> [Int64: UInt32] {
        var m: [Int64: UInt32] = [:]
        let boxes = try segments.map { (seg) throws(MailsiftError) -> [Int64] in try seg.column(.mailbox) }
        let uids = try segments.map { (seg) throws(MailsiftError) -> [Int64] in try seg.column(.uid) }
        try forEachDoc(scope) { s, d throws(MailsiftError) in
            let box = boxes[s][Int(d)]
            m[box] = max(m[box] ?? 0, UInt32(clamping: uids[s][Int(d)]))
        }
        return m
    }

    // MARK: - Fields

    /// Every field with terms (`unindexed` is stored only).
    static let textFields = Field.allCases.filter { $0 != .unindexed }

    /// Index fields a text key covers.
    static func indexFields(_ f: TextField) -> [Field] {
        switch f {
        case .from: return [.from]
        case .to: return [.to]
        case .cc: return [.cc]
        case .bcc: return [.bcc]
        case .subject: return [.subject]
        case .body: return [.body, .attachmentText]
        case .text: return textFields
        case .filename: return [.attachmentName]
        case .list, .messageID: return [.headers]
        }
    }

    /// Stored fields whose text a substring key must be found in.
    static func storedFields(_ f: TextField) -> [Field] {
        switch f {
        case .text: return [.headers, .body, .attachmentText]
        case .body: return [.body, .attachmentText]
        default: return indexFields(f)
        }
    }

    // MARK: - Substrings (IMAP)

    func substring(_ field: TextField, _ string: String, within: DocSet) throws(MailsiftError) -> DocSet {
        let needle = TextNormalizer.caseFold(string)
        if needle.isEmpty {
            // IMAP `SUBJECT ""` (as Dovecot answers it): the message has that header of its
            // own. "" is a substring of every other text.
            switch field {
            case .from, .to, .cc, .bcc, .subject: return try ownHeaderPresent(field.rawValue, within: within)
            default: return within
            }
        }
        // Narrow: a message whose field text contains the key has, for each word of the key,
        // a term containing it (or text the analysis left out: the marker term). TEXT also
        // covers headers that are not indexed, so it is checked against stored text only.
        var candidates = within
        var exact = DocSet(empty: counts)
        // Messages whose only text without terms is kept apart (the runs marker): checked on
        // those runs alone.
        var runCandidates = DocSet(empty: counts)
        if field != .text && field != .list && field != .messageID {
            let pieces = Self.needles(analyzer, string)
            // A key that is one word's worth of letters and digits, folded exactly as the
            // dictionary's terms are: a message has a term of its own (not a derived variant)
            // containing it exactly when its folded text does, so those need no check on the
            // stored text; only messages with unindexed text (the marker) do.
            let single = pieces.count == 1 && pieces[0] == needle && needle.unicodeScalars.allSatisfy { Self.isWordScalar($0) }
            // Narrowing costs about a dictionary lookup per term found; giving up on it costs a
            // stored-text check per candidate message (a block decompressed, its text folded
            // and searched: dozens of lookups' worth). So the dictionary narrows while it finds
            // at most 8 terms per candidate (at least the expansion limit, at most
            // `maxNarrowingTerms`).
            let limits = options.limits
            let termLimit = max(limits.maxExpandedTerms, min(8 * candidates.count, limits.maxNarrowingTerms))
            for piece in pieces {
                var hits = DocSet(empty: counts)
                var markers = DocSet(empty: counts)
                var runMarkers = DocSet(empty: counts)
                var narrowed = true
                for f in Self.indexFields(field) {
                    for (s, segment) in segments.enumerated() {
                        guard let found = try segment.terms(f.rawValue, containing: Array(piece.utf8), limit: termLimit) else {
                            narrowed = false
                            break
                        }
                        try checkDeadline()
                        for (n, (_, info)) in found.enumerated() {
                            if n & 1023 == 1023 { try checkDeadline() }
                            try addPostings(info, segment: s, into: &hits, within: candidates)
                        }
                        if let marker = try lookup(segment, key: [f.rawValue] + Array(Self.marker.utf8)) { try addPostings(marker, segment: s, into: &markers, within: candidates) }
                        if let marker = try lookup(segment, key: [f.rawValue] + Array(Self.runsMarker.utf8)) {
                            try addPostings(marker, segment: s, into: &runMarkers, within: candidates)
                        }
                    }
                    if !narrowed { break }
                }
                // Too many terms contain this piece to be worth it: confirm without narrowing,
                // except that for a word-shaped key the messages holding the key as a term of
                // their own are matches already (a common word: most of them), and only the
                // rest is checked on stored text.
                guard narrowed else {
                    if single {
                        var own = DocSet(empty: counts)
                        for f in Self.indexFields(field) {
                            for (s, segment) in segments.enumerated() {
                                if let info = try lookup(segment, key: [f.rawValue] + Array(piece.utf8)) {
                                    try addPostings(info, segment: s, into: &own, within: candidates)
                                }
                            }
                        }
                        own.formIntersection(candidates)
                        exact.formUnion(own)
                        candidates.subtract(own)
                        if candidates.isEmpty { return exact }
                    }
                    continue
                }
                if single {
                    hits.formIntersection(candidates)
                    markers.formIntersection(candidates)
                    markers.subtract(hits)
                    runMarkers.formIntersection(candidates)
                    runMarkers.subtract(hits)
                    runMarkers.subtract(markers)
                    exact = hits
                    candidates = markers
                    runCandidates = runMarkers
                } else {
                    hits.formUnion(markers)
                    hits.formUnion(runMarkers)
                    candidates.formIntersection(hits)
                }
                if candidates.isEmpty && runCandidates.isEmpty { return exact }
            }
        }
        // Confirm on the stored text, folded as the key was.
        let fields = Set(Self.storedFields(field).map(\.rawValue))
        var out = exact
        var checked = 0
        let folded = Array(needle.utf8)
        let runs = try runCandidates.bits.indices.map { (s) throws(MailsiftError) -> FoldedRuns? in
            runCandidates.bits[s].contains { $0 != 0 } ? try foldedRuns(s) : nil
        }
        try forEachDoc(runCandidates) { s, d throws(MailsiftError) in
            checked += 1
            if checked & 255 == 0 { try checkDeadline() }
            if let known = runs[s] {
                // The same test as containsFolded: the key in the text's fold.
                if let text = known.byDoc[d],
                   text.withUnsafeBufferPointer({ hay in folded.withUnsafeBufferPointer { ByteSearch.firstIndex(of: $0, in: hay) != nil } }) {
                    out.insert(s, d)
                }
                return
            }
            for (f, text) in try storedDocument(s, d, only: [Field.unindexed.rawValue]) where f == Field.unindexed.rawValue {
                if Self.containsFolded(text, needle) { out.insert(s, d) }
            }
        }
        try forEachDoc(candidates) { s, d throws(MailsiftError) in
            checked += 1
            if checked & 255 == 0 { try checkDeadline() }
            let doc = try storedDocument(s, d, only: fields)
            for (f, text) in doc where fields.contains(f) {
                let hay: String
                if field == .list || field == .messageID {
                    hay = Self.headerValues(text, names: field == .list ? ["list-id", "list-post"] : ["message-id"]).joined(separator: "\n")
                } else {
                    hay = text
                }
                if Self.containsFolded(hay, needle) {
                    out.insert(s, d)
                    return
                }
            }
        }
        return out
    }

    /// A segment's unindexed runs (the text without terms of bodies and attachments, kept for
    /// substring search), folded, by doc: built once per segment from the stored field and kept
    /// with it, so a substring search checks them in memory instead of decompressing each
    /// candidate's block (on LKML, 168 messages hold 345 KB of runs, and every IMAP BODY key
    /// that is no term of theirs had to check them all: most of a rare word's search).
    struct FoldedRuns: Sendable {
        var byDoc: [UInt32: [UInt8]]
    }

    /// Folded runs kept per segment up to this many bytes (past it, checked per search).
    static let maxFoldedRunsBytes = 16 << 20

    /// The segment's folded runs, or nil when they are over `maxFoldedRunsBytes`.
    func foldedRuns(_ s: Int) throws(MailsiftError) -> FoldedRuns? {
        let segment = segments[s]
        return try segment.derived("query.foldedRuns") { () throws(MailsiftError) -> FoldedRuns? in
            var docs = DocSet(empty: counts)
            for f in [Field.body, Field.attachmentText] {
                if let info = try lookup(segment, key: [f.rawValue] + Array(Self.runsMarker.utf8)) { try addPostings(info, segment: s, into: &docs) }
            }
            var byDoc: [UInt32: [UInt8]] = [:]
            var bytes = 0
            var over = false
            var read = 0
            try forEachDoc(docs) { k, d throws(MailsiftError) in
                guard k == s, !over else { return }
                // Within the search's time budget, as the per-search checks were (a budget
                // spent here throws, and nothing is kept).
                read += 1
                if read & 255 == 0 { try checkDeadline() }
                for (f, text) in try storedDocument(s, d, only: [Field.unindexed.rawValue]) where f == Field.unindexed.rawValue {
                    let fold = Self.foldPiecewise(text)
                    bytes += fold.count
                    if bytes > Self.maxFoldedRunsBytes { over = true; return }
                    byDoc[d] = fold
                }
            }
            return over ? nil : FoldedRuns(byDoc: byDoc)
        }
    }

    static let marker = "\u{1}"
    /// The marker of a body or attachment text whose text without terms is in the
    /// `unindexed` stored field (for BODY, which searches both).
    static let runsMarker = "\u{2}"

    /// Letters, marks and digits: what a term is made of, apart from joiners and apostrophes.
    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || s.properties.generalCategory == .decimalNumber
            || s.properties.generalCategory == .nonspacingMark || s.properties.generalCategory == .spacingMark
    }

    /// The pieces of a substring key the dictionary can narrow by: its finest tokens (words
    /// and numbers, not compounds, which may be cut at the key's edges); for scripts written
    /// without spaces (Han, Kana, Thai…), single characters, since the key may straddle the
    /// dictionary's word boundaries.
    static func needles(_ analyzer: Analyzer, _ string: String) -> [String] {
        var out: [String] = []
        for t in analyzer.queryTokens(string) where t.kind == .word || t.kind == .number || t.kind == .ideographic {
            if t.kind == .ideographic || t.term.unicodeScalars.contains(where: isUnspacedScript) {
                for ch in t.term { out.append(String(ch)) }
            } else {
                out.append(t.term)
            }
        }
        return Array(Set(out))
    }

    static func isUnspacedScript(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0E00...0x0EFF, 0x1000...0x109F, 0x1780...0x17FF, 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xF900...0xFAFF, 0x20000...0x3FFFF, 0xAC00...0xD7AF, 0x1100...0x11FF, 0x31F0...0x31FF, 0xFF66...0xFF9F:
            return true
        default:
            return false
        }
    }

    /// Whether the case-folded `text` contains `needle` (already folded).
    static func containsFolded(_ text: String, _ needle: String) -> Bool {
        var n = needle
        let asciiNeedle = n.withUTF8 { $0.allSatisfy { $0 < 0x80 } }
        if asciiNeedle, let answer = asciiContains(text, needle) { return answer }
        let folded = foldPiecewise(text)
        return folded.withUnsafeBufferPointer { hay in n.withUTF8 { ByteSearch.firstIndex(of: $0, in: hay) != nil } }
    }

    /// The text's case fold (NFKC_Casefold), computed run by run: ASCII lowercased in place,
    /// each run of non-ASCII characters folded by ICU together with the ASCII character
    /// before it (the only one it could compose with). Case folding maps characters one by
    /// one and NFKC composes a starter with the marks after it, so the pieces' folds
    /// concatenate to the whole text's fold; mostly-ASCII mail costs a byte loop, not ICU.
    static func foldPiecewise(_ text: String) -> [UInt8] {
        var t = text
        return t.withUTF8 { buf -> [UInt8] in
            var out: [UInt8] = []
            out.reserveCapacity(buf.count)
            var i = 0
            while i < buf.count {
                let b = buf[i]
                if b < 0x80 {
                    // An ASCII byte followed by a non-ASCII one starts a run (it may compose).
                    if i + 1 < buf.count, buf[i + 1] >= 0x80 {
                        var j = i + 1
                        while j < buf.count, buf[j] >= 0x80 { j += 1 }
                        out += TextNormalizer.caseFold(String(decoding: UnsafeBufferPointer(rebasing: buf[i..<j]), as: UTF8.self)).utf8
                        i = j
                        continue
                    }
                    out.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
                    i += 1
                } else {
                    var j = i
                    while j < buf.count, buf[j] >= 0x80 { j += 1 }
                    out += TextNormalizer.caseFold(String(decoding: UnsafeBufferPointer(rebasing: buf[i..<j]), as: UTF8.self)).utf8
                    i = j
                }
            }
            return out
        }
    }

    /// The ASCII shortcut for an ASCII (folded) needle, or nil when only the full fold can
    /// tell. Lowercasing ASCII bytes is what case folding does to them; the answer is exact
    /// unless the text's other characters could change it: a combining mark right after the
    /// match composes with its last letter ("cafe" + U+0301 folds to "café"), and some
    /// characters fold to ASCII (fullwidth letters, ligatures, the Kelvin sign, "½"…).
    static func asciiContains(_ text: String, _ needle: String) -> Bool? {
        var t = text, n = needle
        return t.withUTF8 { hay -> Bool? in
            n.withUTF8 { nd -> Bool? in
                guard nd.baseAddress != nil, !nd.isEmpty else { return true }
                // The needle is folded, so lowercase: A-Z in the text read as a-z is the
                // text's ASCII lowercasing, without copying it.
                if let at = ByteSearch.firstIndexIgnoringASCIICase(of: nd, in: hay) {
                    // Accept unless a non-ASCII character follows (it might combine).
                    let end = at + nd.count
                    return end == hay.count || hay[end] < 0x80 ? true : nil
                }
                // Not found in the ASCII-lowered bytes: certain only for pure ASCII text or
                // text none of whose characters folds to ASCII.
                if !ByteSearch.containsNonASCII(hay) { return false }
                // Only ASCII the needle uses matters: a no-break space folding to " " or
                // an ellipsis to "..." cannot make "lloca" appear.
                var needleMask: (UInt64, UInt64) = (0, 0)
                for b in nd { if b < 64 { needleMask.0 |= 1 << UInt64(b) } else { needleMask.1 |= 1 << UInt64(b - 64) } }
                for scalar in text.unicodeScalars where scalar.value >= 0x80 {
                    let m = asciiFolds(scalar)
                    if m.0 & needleMask.0 != 0 || m.1 & needleMask.1 != 0 { return nil }
                }
                return false
            }
        }
    }

    /// The ASCII bytes a character's case fold contains, as a 128-bit mask (most have none).
    /// Basic Multilingual Plane characters come from a table built on first use (a
    /// substring check of non-ASCII mail asks for the same characters again and again, and
    /// each fold is an ICU call).
    @inline(__always)
    static func asciiFolds(_ s: Unicode.Scalar) -> (UInt64, UInt64) {
        guard s.value < 0x1_0000 else { return computeASCIIFolds(s) }
        return foldTable.masks[Int(foldTable.index[Int(s.value)])]
    }

    /// `asciiFolds` of every BMP scalar: an index per scalar into the distinct masks (a few
    /// dozen). 128 KiB, built once per process (65,536 case folds, ~40 ms).
    static let foldTable: (index: [UInt8], masks: [(UInt64, UInt64)]) = {
        var masks: [(UInt64, UInt64)] = [(0, 0)]
        var index = [UInt8](repeating: 0, count: 0x1_0000)
        for v in UInt32(0x80)..<0x1_0000 {
            guard let scalar = Unicode.Scalar(v) else { continue }  // surrogates: never in a String
            let m = computeASCIIFolds(scalar)
            if let at = masks.firstIndex(where: { $0 == m }) {
                index[Int(v)] = UInt8(at)
            } else if masks.count < 255 {
                masks.append(m)
                index[Int(v)] = UInt8(masks.count - 1)
            } else {
                index[Int(v)] = 255  // more than 254 distinct masks: the catch-all below
            }
        }
        // Index 255 (and unused ones): any ASCII may appear, so the full fold decides.
        while masks.count < 256 { masks.append((.max, .max)) }
        return (index, masks)
    }()

    static func computeASCIIFolds(_ s: Unicode.Scalar) -> (UInt64, UInt64) {
        let fold = TextNormalizer.caseFold(s)
        // A character the fold removes joins its neighbours ("infor\u{AD}mation"): it can
        // make any ASCII appear, so it forces the full fold.
        if fold.isEmpty || s.properties.isDefaultIgnorableCodePoint { return (.max, .max) }
        var m: (UInt64, UInt64) = (0, 0)
        for b in fold.utf8 where b < 0x80 {
            if b < 64 { m.0 |= 1 << UInt64(b) } else { m.1 |= 1 << UInt64(b - 64) }
        }
        return m
    }

    /// The term in the field's own terms and among its diacritic-folded variants.
    /// Remembered for the query: matching, ranking and idf ask for the same terms.
    func lookupBoth(_ segment: SegmentReader, _ field: Field, _ term: String) throws(MailsiftError) -> [TermPostingsInfo] {
        var termIndex = -1
        let segmentIndex = segments.firstIndex(where: { $0 === segment })
        let slot: Int? = segmentIndex.flatMap { (s) -> Int? in
            guard field.rawValue < 16 else { return nil }
            // By bytes: String == would take canonically equivalent spellings for one key.
            var t = lookupTerms.firstIndex(where: { Self.sameBytes($0, term) }) ?? -1
            if t < 0 {
                t = lookupTerms.count
                lookupTerms.append(term)
                lookups.append(contentsOf: repeatElement(nil, count: segments.count * 16))
                lookupKeys.append(contentsOf: repeatElement(nil, count: 16))
            }
            termIndex = t * 16 + Int(field.rawValue)
            return (t * segments.count + s) * 16 + Int(field.rawValue)
        }
        if let slot, let known = lookups[slot] { return known }
        var keys = termIndex >= 0 ? lookupKeys[termIndex] : nil
        if keys == nil {
            let bytes = Array(term.utf8)
            keys = [field.rawValue, field.variantKeyByte].map { b in
                let k = [b] + bytes
                return (k, TermKeyHashes(k))
            }
            if termIndex >= 0 { lookupKeys[termIndex] = keys }
        }
        var filter: TermFilter?
        if let s = segmentIndex {
            if termFilters == nil { termFilters = segments.map { $0.termFilter() } }
            filter = termFilters?[s] ?? nil
        } else {
            filter = segment.termFilter()
        }
        var out: [TermPostingsInfo] = []
        for (k, hashes) in keys ?? [] where filter?.mayContain(hashes) ?? true {
            if let info = try lookup(segment, key: k, hashes: hashes) { out.append(info) }
        }
        if let slot { lookups[slot] = out }
        return out
    }

    /// Whether two strings have the same UTF-8 bytes (not String ==, which equates canonically
    /// equivalent spellings), compared as memory when both are contiguous.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y -> Bool in
                guard let p = x.baseAddress, let q = y.baseAddress else { return x.count == y.count }
                return memcmp(p, q, x.count) == 0
            }
        }
        if let fast, let result = fast { return result }
        return a.utf8.elementsEqual(b.utf8)
    }

    /// A term key ([key byte] + term bytes) in a segment's dictionary; with its filter hashes,
    /// through the segment's memory of earlier lookups (`SegmentReader.lookup(_:hashes:)`).
    func lookup(_ segment: SegmentReader, key: [UInt8], hashes: TermKeyHashes? = nil) throws(MailsiftError) -> TermPostingsInfo? {
        do {
            if let hashes { return try segment.lookup(key, hashes: hashes) }
            return try segment.terms.lookup(key)
        } catch {
            throw MailsiftError(.corrupt, "segment \(segment.name): \(error)")
        }
    }

    /// Fields of a stored document (only those asked for), errors naming the segment.
    func storedDocument(_ s: Int, _ d: UInt32, only: Set<UInt8>) throws(MailsiftError) -> [(UInt8, String)] {
        do { return try segments[s].stored.document(d, only: only) } catch {
            throw MailsiftError(.corrupt, "segment \(segments[s].name): \(error)")
        }
    }

    /// Sets the bits of a term's docs (only those also in `within`, when given), a block of
    /// doc ids at a time straight from the postings iterator.
    func addPostings(_ info: TermPostingsInfo, segment s: Int, into set: inout DocSet, within: DocSet? = nil) throws(MailsiftError) {
        guard s < set.bits.count else { return }
        let block = docBlock
        let filter = within.flatMap { s < $0.bits.count ? $0.bits[s] : nil }
        do {
            // A short list (most terms a substring key expands to): decoded straight in.
            let short = try set.bits[s].withUnsafeMutableBufferPointer { (out) throws(IndexFormatError) -> Bool in
                try segments[s].postings.shortListDocs(info) { d in
                    let i = Int(d >> 6)
                    guard i < out.count else { return }
                    let bit: UInt64 = 1 << UInt64(d & 63)
                    if let filter {
                        out[i] |= i < filter.count ? filter[i] & bit : 0
                    } else {
                        out[i] |= bit
                    }
                }
            }
            if short { return }
            var it = try segments[s].postings.iterator(info, recycling: &spareBuffers)
            defer { it.recycle(into: &spareBuffers) }
            try set.bits[s].withUnsafeMutableBufferPointer { (out) throws(IndexFormatError) in
                let words = out.count
                while true {
                    let n = try it.nextBlock(into: block)
                    if n == 0 { break }
                    if let filter {
                        filter.withUnsafeBufferPointer { w in
                            for d in block[0..<n] {
                                let i = Int(d >> 6)
                                guard i < words, i < w.count else { continue }
                                out[i] |= w[i] & (1 << UInt64(d & 63))
                            }
                        }
                    } else {
                        for d in block[0..<n] {
                            let i = Int(d >> 6)
                            guard i < words else { continue }
                            out[i] |= 1 << UInt64(d & 63)
                        }
                    }
                }
            }
        } catch {
            throw MailsiftError(.corrupt, "segment \(segments[s].name): \(error)")
        }
    }

    // MARK: - Headers

    func header(_ name: String, _ value: String, within: DocSet) throws(MailsiftError) -> DocSet {
        let lowerName = name.lowercased()
        let needle = TextNormalizer.caseFold(value)
        var out = DocSet(empty: counts)
        var checked = 0
        try forEachDoc(within) { s, d throws(MailsiftError) in
            checked += 1
            if checked & 255 == 0 { try checkDeadline() }
            let doc = try storedDocument(s, d, only: [Field.headers.rawValue])
            for (f, text) in doc where f == Field.headers.rawValue {
                for v in Self.headerValues(text, names: [lowerName]) where needle.isEmpty || Self.containsFolded(v, needle) {
                    out.insert(s, d)
                    return
                }
            }
        }
        return out
    }

    /// Messages with a header of their own named `name`: its line in the stored header text
    /// before the first empty line (after it, documents from Dovecot keep the headers of MIME
    /// parts and attached messages).
    func ownHeaderPresent(_ name: String, within: DocSet) throws(MailsiftError) -> DocSet {
        let wanted = Array(name.lowercased().utf8)
        var out = DocSet(empty: counts)
        try forEachDoc(within) { s, d throws(MailsiftError) in
            let doc = try storedDocument(s, d, only: [Field.headers.rawValue])
            for (f, text) in doc where f == Field.headers.rawValue {
                for line in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
                    if line.isEmpty { break }
                    guard let colon = line.firstIndex(of: 0x3A), line.distance(from: line.startIndex, to: colon) == wanted.count else { continue }
                    if zip(line[..<colon], wanted).allSatisfy({ ($0 | 0x20) == $1 }) {
                        out.insert(s, d)
                        return
                    }
                }
            }
        }
        return out
    }

    /// Values of the header fields named `names` (lowercase) in stored header text
    /// ("Name: value" lines).
    static func headerValues(_ text: String, names: Set<String>) -> [String] {
        var out: [String] = []
        for line in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: 0x3A) else { continue }
            let n = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            guard names.contains(n) else { continue }
            var v = line[line.index(after: colon)...]
            if v.first == 0x20 { v = v.dropFirst() }
            out.append(String(decoding: v, as: UTF8.self))
        }
        return out
    }

    // MARK: - Words (webmail)

    /// One word or phrase to find: terms at relative positions, each with its alternatives
    /// (the term and its diacritic-folded form).
    struct Phrase {
        var terms: [(alternatives: [String], offset: UInt32)]
        var isPhrase: Bool { terms.count > 1 }
    }

    /// Clauses of a webmail text key: for `.words`, each space-separated piece (a word indexed
    /// whole, such as an address, is one term; otherwise its parts as a phrase); for
    /// `.phrase`, all of it as one phrase.
    func phrases(_ string: String, _ match: TextMatch) -> [Phrase] {
        let pieces: [String] = match == .phrase ? [string] : string.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        var out: [Phrase] = []
        for piece in pieces {
            let tokens = analyzer.queryTokens(piece)
            guard !tokens.isEmpty else { continue }
            let length = piece.utf8.count
            if match != .phrase, let whole = tokens.first(where: { $0.start == 0 && $0.end == length }) {
                out.append(Phrase(terms: [(Self.alternatives(whole), 0)]))
                continue
            }
            var byPosition: [Int: Token] = [:]
            for t in tokens {
                if let seen = byPosition[t.position], seen.end - seen.start <= t.end - t.start { continue }
                byPosition[t.position] = t
            }
            let first = byPosition.keys.min() ?? 0
            out.append(Phrase(terms: byPosition.sorted { $0.key < $1.key }.map { (Self.alternatives($0.value), UInt32($0.key - first)) }))
        }
        return out
    }

    static func alternatives(_ t: Token) -> [String] {
        if let f = t.folded, f != t.term { return [t.term, f] }
        return [t.term]
    }

    func words(_ field: TextField, _ string: String, _ match: TextMatch, within: DocSet) throws(MailsiftError) -> DocSet {
        if field == .messageID || field == .list, match != .prefix {
            return try substring(field, string, within: within)
        }
        let fields = Self.indexFields(field)
        if match == .prefix {
            guard let last = analyzer.queryTokens(string).last else { return DocSet(empty: counts) }
            let prefix = last.folded ?? last.term
            var out = DocSet(empty: counts)
            var expanded = 0
            for f in fields {
                for key in [f.rawValue, f.variantKeyByte] {
                for (s, segment) in segments.enumerated() {
                    var infos: [TermPostingsInfo] = []
                    do {
                        try segment.terms.enumerate(prefix: [key] + Array(prefix.utf8)) { _, info in
                            infos.append(info)
                            expanded += 1
                            return expanded <= options.limits.maxExpandedTerms
                        }
                    } catch { throw MailsiftError(.corrupt, "segment \(segment.name): \(error)") }
                    if expanded > options.limits.maxExpandedTerms {
                        throw MailsiftError(.limitExceeded, "\"\(prefix)*\" matches more than \(options.limits.maxExpandedTerms) terms")
                    }
                    for info in infos { try addPostings(info, segment: s, into: &out, within: within) }
                }
                }
            }
            return out
        }
        var current = within
        for phrase in phrases(string, match) {
            var any = DocSet(empty: counts)
            // One term in a field of every document of a segment (the list's name in its
            // headers, the owner's address): the segment matches whole, and no postings of
            // any field need reading.
            var whole = [Bool](repeating: false, count: segments.count)
            if !phrase.isPhrase, let alternatives = phrase.terms.first?.alternatives {
                for (s, segment) in segments.enumerated() where segment.documentCount > 0 {
                    search: for f in fields {
                        for term in alternatives {
                            for info in try lookupBoth(segment, f, term) where info.docFreq >= segment.documentCount {
                                whole[s] = true
                                break search
                            }
                        }
                    }
                    if whole[s] { any.insertAll(s, count: Int(segment.documentCount)) }
                }
            }
            // One word's documents in a large segment, when many: kept with the segment
            // (`SegmentReader.cachedMatches`) and the postings of its fields not read again.
            let matchKey = !phrase.isPhrase && fuzzy == 0 ? phrase.terms.first.map { t in
                fields.map { String($0.rawValue) }.joined(separator: ",") + "|" + t.alternatives.joined(separator: "\u{0}")
            } : nil
            for (s, segment) in segments.enumerated() where !whole[s] {
                let cacheKey = segment.documentCount >= options.matchCacheMinimumDocuments ? matchKey : nil
                if let cacheKey, let hit = segment.cachedMatches(cacheKey) {
                    any.bits[s] = hit
                    continue
                }
                for f in fields {
                    if !phrase.isPhrase, let alternatives = phrase.terms.first?.alternatives {
                        // One term: its postings straight into the set.
                        for term in alternatives {
                            // (No filter: `any` is intersected with `current` below.)
                            for info in try lookupBoth(segment, f, term) { try addPostings(info, segment: s, into: &any) }
                        }
                        if fuzzy > 0, let word = alternatives.last {
                            for info in try typoVariants(word, field: f, segment: segment) { try addPostings(info, segment: s, into: &any) }
                        }
                        continue
                    }
                    for d in try phraseDocs(phrase, field: f, segment: segment) { any.insert(s, d) }
                }
                if let cacheKey { segment.keepMatches(cacheKey, any.bits[s]) }
            }
            current.formIntersection(any)
            if current.isEmpty { break }
        }
        return current
    }

    /// Docs of a segment with the phrase in one field (a single term: its postings).
    func phraseDocs(_ phrase: Phrase, field: Field, segment: SegmentReader) throws(MailsiftError) -> [UInt32] {
        // The common case, one posting list per term: intersect with skips, then read
        // positions only for the docs that have every term.
        var single: [TermPostingsInfo] = []
        for (alternatives, _) in phrase.terms {
            var infos: [TermPostingsInfo] = []
            for term in alternatives { infos += try lookupBoth(segment, field, term) }
            if infos.isEmpty { return [] }
            if infos.count == 1 { single.append(infos[0]) }
        }
        if single.count == phrase.terms.count, phrase.isPhrase {
            do {
                var iterators = try single.map { (info) throws(IndexFormatError) -> PostingsIterator in try segment.postings.iterator(info) }
                let candidates = try PostingsReader.intersect(&iterators)
                guard !candidates.isEmpty else { return [] }
                iterators = try single.map { (info) throws(IndexFormatError) -> PostingsIterator in try segment.postings.iterator(info) }
                var out: [UInt32] = []
                var lists = [[UInt32]](repeating: [], count: iterators.count)
                let o0 = Int64(phrase.terms[0].offset)
                for doc in candidates {
                    for k in iterators.indices {
                        _ = try iterators[k].advance(to: doc)
                        try iterators[k].positions(into: &lists[k])
                    }
                    // Positions are sorted: for each start, a binary search per other term.
                    let found = lists[0].contains { p in
                        for k in 1..<lists.count {
                            let target = Int64(p) - o0 + Int64(phrase.terms[k].offset)
                            guard target >= 0, target <= Int64(UInt32.max) else { return false }
                            let t = UInt32(target)
                            var lo = 0, hi = lists[k].count
                            while lo < hi {
                                let mid = (lo + hi) / 2
                                if lists[k][mid] < t { lo = mid + 1 } else { hi = mid }
                            }
                            if lo == lists[k].count || lists[k][lo] != t { return false }
                        }
                        return true
                    }
                    if found { out.append(doc) }
                }
                return out
            } catch { throw MailsiftError(.corrupt, "segment \(segment.name): \(error)") }
        }
        // Per position: (doc → positions) of the alternatives, merged.
        var perTerm: [[UInt32: [UInt32]]] = []
        for (alternatives, _) in phrase.terms {
            var map: [UInt32: [UInt32]] = [:]
            for term in alternatives {
                for info in try lookupBoth(segment, field, term) {
                do {
                    var it = try segment.postings.iterator(info)
                    var d = it.doc
                    while d != PostingsIterator.noMoreDocs {
                        map[d, default: []] += phrase.isPhrase ? try it.positions() : []
                        d = try it.next()
                    }
                } catch { throw MailsiftError(.corrupt, "segment \(segment.name): \(error)") }
                }
            }
            if map.isEmpty { return [] }
            perTerm.append(map)
        }
        guard let first = perTerm.first else { return [] }
        if !phrase.isPhrase { return first.keys.sorted() }
        var out: [UInt32] = []
        for (doc, starts) in first {
            let sets = perTerm.map { Set($0[doc] ?? []) }
            if sets.contains(where: \.isEmpty) { continue }
            let o0 = Int64(phrase.terms[0].offset)
            let found = starts.contains { p in
                phrase.terms.indices.allSatisfy { k in
                    let target = Int64(p) - o0 + Int64(phrase.terms[k].offset)
                    return target >= 0 && target <= Int64(UInt32.max) && sets[k].contains(UInt32(target))
                }
            }
            if found { out.append(doc) }
        }
        return out.sorted()
    }

    /// Terms of the field within the word's edit distance (0 up to 3 bytes, 1 up to 7, else 2),
    /// at most `maxExpandedTerms` of them.
    func typoVariants(_ word: String, field: Field, segment: SegmentReader) throws(MailsiftError) -> [TermPostingsInfo] {
        let w = Array(word.utf8)
        let k = w.count <= 3 ? 0 : w.count <= 7 ? 1 : 2
        guard k > 0 else { return [] }
        let text = try segment.termText(field.rawValue)
        var out: [TermPostingsInfo] = []
        for i in 0..<text.starts.count {
            let t = text.term(i)
            guard abs(t.count - w.count) <= k, Self.withinEdits(Array(t), w, k) else { continue }
            if let info = try lookup(segment, key: [field.rawValue] + t) { out.append(info) }
            if out.count >= options.limits.maxExpandedTerms { break }
        }
        return out
    }

    /// The optimal-string-alignment distance of a and b (Levenshtein plus transpositions of
    /// neighbours, the commonest typo) is at most k; stops as soon as a row exceeds k.
    static func withinEdits(_ a: [UInt8], _ b: [UInt8], _ k: Int) -> Bool {
        if abs(a.count - b.count) > k { return false }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) <= k }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, before[j - 2] + 1) }
                current[j] = d
                rowMin = min(rowMin, d)
            }
            if rowMin > k { return false }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count] <= k
    }

    /// AROUND: a word of `a` within `distance` positions of a word of `b`, in the same field.
    func around(_ a: QueryNode, _ b: QueryNode, distance: Int, within: DocSet) throws(MailsiftError) -> DocSet {
        guard case .text(let fa, let sa, _) = a, case .text(let fb, let sb, _) = b else {
            var both = try evaluate(a, within: within)
            both.formIntersection(try evaluate(b, within: within))
            return both
        }
        let fields = Set(Self.indexFields(fa)).intersection(Self.indexFields(fb))
        let pa = phrases(sa, .phrase).first, pb = phrases(sb, .phrase).first
        guard let pa, let pb else { return DocSet(empty: counts) }
        var out = DocSet(empty: counts)
        for f in fields {
            for (s, segment) in segments.enumerated() {
                let posA = try positions(pa, field: f, segment: segment)
                let posB = try positions(pb, field: f, segment: segment)
                for (doc, xs) in posA where within.contains(s, doc) {
                    guard let ys = posB[doc] else { continue }
                    // Both sorted: one pass, the nearest y for each x.
                    let a = xs.sorted(), b = ys.sorted()
                    var j = 0, near = false
                    for x in a {
                        while j + 1 < b.count, Int64(b[j + 1]) <= Int64(x) { j += 1 }
                        for y in b[j..<min(b.count, j + 2)] where abs(Int64(x) - Int64(y)) <= Int64(distance) + 1 { near = true }
                        if near { break }
                    }
                    if near { out.insert(s, doc) }
                }
            }
        }
        return out
    }

    /// Positions of a phrase's first term per doc (phrase checked).
    func positions(_ phrase: Phrase, field: Field, segment: SegmentReader) throws(MailsiftError) -> [UInt32: [UInt32]] {
        var out: [UInt32: [UInt32]] = [:]
        let docs = Set(try phraseDocs(phrase, field: field, segment: segment))
        guard let first = phrase.terms.first else { return out }
        for term in first.alternatives {
            for info in try lookupBoth(segment, field, term) {
            do {
                var it = try segment.postings.iterator(info)
                var d = it.doc
                while d != PostingsIterator.noMoreDocs {
                    if docs.contains(d) { out[d, default: []] += try it.positions() }
                    d = try it.next()
                }
            } catch { throw MailsiftError(.corrupt, "segment \(segment.name): \(error)") }
            }
        }
        return out
    }
}

// MARK: - Ranking, pages and snippets

/// A query term resolved for ranking (`resolve`): `infos[segment][field index]` are its
/// postings in that field, in (alternative, key byte) order, as every ranking sums them.
struct ResolvedTerm {
    let fields: [Field]
    let infos: [[[TermPostingsInfo]]]
    let idf: Double
    let postings: Int
}

/// A match in a results page's order: its sort key, and a tie-breaker.
struct Entry {
    var segment: Int
    var doc: UInt32
    var key: Double
    var tie: Int64
}

extension Execution {
    /// BM25F field weights: a word in the subject or sender says more than one in the body.
    static let fieldWeights: [Field: Double] = [
        .subject: 3, .from: 2.5, .to: 1.5, .cc: 1.2, .bcc: 1.2, .body: 1, .attachmentName: 2, .attachmentText: 0.7, .headers: 0.5,
    ]
    static let k1 = 1.2
    /// Length normalization of the body (other fields are short and left as they are).
    static let b = 0.75

    /// The positive words of a query (not under NOT), for scoring and highlighting.
    static func positiveTexts(_ node: QueryNode, negated: Bool = false, into out: inout [(TextField, String, TextMatch)]) {
        switch node {
        case .text(let f, let s, let m): if !negated { out.append((f, s, m)) }
        case .and(let c), .or(let c): for n in c { positiveTexts(n, negated: negated, into: &out) }
        case .not(let n): positiveTexts(n, negated: !negated, into: &out)
        case .fuzzy(let n): positiveTexts(n, negated: negated, into: &out)
        case .around(let a, let b, _):
            positiveTexts(a, negated: negated, into: &out)
            positiveTexts(b, negated: negated, into: &out)
        default: break
        }
    }

    func results(_ matches: DocSet, node: QueryNode) throws(MailsiftError) -> SearchResults {
        var texts: [(TextField, String, TextMatch)] = []
        Self.positiveTexts(node, into: &texts)
        // Query terms (with alternatives) and the fields each may score in.
        var queryTerms: [(alternatives: [String], fields: [Field])] = []
        var highlightTerms = Set<String>()
        var prefixes: [String] = []
        for (field, string, match) in texts {
            if match == .prefix, let last = analyzer.queryTokens(string).last {
                prefixes.append(last.folded ?? last.term)
                continue
            }
            for t in analyzer.queryTokens(string) {
                let alts = Self.alternatives(t)
                queryTerms.append((alts, Self.indexFields(field)))
                for a in alts { highlightTerms.insert(a) }
            }
        }
        // Global doc numbers: segment base + local doc.
        var bases: [Int] = []
        var totalDocs = 0
        for c in counts {
            bases.append(totalDocs)
            totalDocs += Int(c)
        }
        // Scores per match (in match order: segment, then doc): each term's postings are
        // advanced to the matched docs with skips, never walked whole.
        // (The match lists are built only for the paths that walk them: the dense ranking
        // reads the bitmap.)
        var m = 0
        for bits in matches.bits { m += bits.reduce(0) { $0 + $1.nonzeroBitCount } }
        guard m > 0 else { return SearchResults(total: 0, hits: []) }
        var listed: (docs: [[UInt32]], base: [Int])?
        func matchLists() -> (docs: [[UInt32]], base: [Int]) {
            if let listed { return listed }
            let docs = Self.docLists(matches, segments: segments.count)
            var base: [Int] = []
            var n = 0
            for list in docs {
                base.append(n)
                n += list.count
            }
            listed = (docs, base)
            return (docs, base)
        }
        // A page of a large ranked result: the pruned ranking scores only the windows of
        // documents that can reach it (the same scores, the same order).
        let total = m
        let from = min(max(0, options.offset), total)
        let to = from + min(max(0, options.limit), total - from)
        var pruned: [Entry]?
        var byChampionLists = false
        let resolved = options.sort == .relevance && m > 0
            ? try queryTerms.map { (t) throws(MailsiftError) -> ResolvedTerm in try resolve(t.alternatives, t.fields) } : []
        if options.sort == .relevance, resolved.count == 1, to > 0, !options.exhaustiveRanking, options.championDepth > 0,
           resolved[0].postings >= options.championMinimumPostings {
            pruned = try championTop(to, term: resolved[0], matches: matches, bases: bases, depth: options.championDepth)
            byChampionLists = pruned != nil
        }
        if pruned == nil, options.sort == .relevance, !queryTerms.isEmpty, to > 0, !options.exhaustiveRanking {
            // Reading every posting of the query's terms is cheapest while they are few; past
            // that, windows are pruned by their score bounds (measured on LKML's word list:
            // the mean query time is lowest with the switch at 4,000-6,000 postings).
            let postings = resolved.reduce(0) { $0 + $1.postings }
            pruned = try postings > options.denseRankingPostings && to < total / 4
                ? rankedTop(to, terms: resolved, matches: matches, bases: bases)
                : denseTop(to, terms: resolved, matches: matches, bases: bases)
        }
        var scores: [Double] = []
        let (matchDocs, matchBase) = pruned == nil ? matchLists() : ([], [])
        if pruned == nil, options.sort == .relevance, !queryTerms.isEmpty, m > 0 {
            scores = [Double](repeating: 0, count: m)
            var tf = [Double](repeating: 0, count: m)
            for term in resolved {
                for (fi, f) in term.fields.enumerated() {
                    let w = Self.fieldWeights[f] ?? 1
                    for (s, segment) in segments.enumerated() where !matchDocs[s].isEmpty {
                        try checkDeadline()
                        for info in term.infos[s][fi] {
                            // The body's term frequency is normalized by its length (BM25F,
                            // b = 0.75): a word in a long patch counts less than in a note.
                            let inverseNorms = f == .body ? try segment.inverseBodyNorms(b: Self.b) : []
                            do {
                                // A merge of the term's postings with the matches, each side
                                // skipping ahead in the other (postings by their skip data,
                                // matches by galloping): a common word scored over few matches,
                                // or a rare one over many, costs the smaller side.
                                var it = try segment.postings.iterator(info)
                                let docs = matchDocs[s]
                                var k = 0
                                var pd = it.doc
                                while k < docs.count, pd != PostingsIterator.noMoreDocs {
                                    let md = docs[k]
                                    if pd < md {
                                        pd = try it.advance(to: md)
                                        continue
                                    }
                                    if pd > md {
                                        k = Self.gallop(docs, after: k, to: pd)
                                        continue
                                    }
                                    let scale = f == .body ? w * inverseNorms[Int(md)] : w
                                    tf[matchBase[s] + k] += scale * Double(it.freq)
                                    k += 1
                                    pd = try it.next()
                                }
                            } catch { throw MailsiftError(.corrupt, "segment \(segment.name): \(error)") }
                        }
                    }
                }
                Self.saturate(&tf, into: &scores, idf: term.idf)
            }
        }
        // Sort keys: read only what the order needs (relevance ties go to the later doc).
        let entries: [Entry]
        if let pruned { entries = pruned } else { entries = try pageEntries(matchDocs, matchBase: matchBase, scores: scores, bases: bases, to: to) }
        var hits: [SearchResultHit] = []
        var ids: [Int64] = []
        for e in entries[from..<to] { ids.append(try segments[e.segment].id(of: e.doc)) }
        var mailboxes: [Int64] = []
        for e in entries[from..<to] { mailboxes.append(try segments[e.segment].value(.mailbox, e.doc)) }
        // The catalog only for source paths, or a mailbox created after the names were read.
        let rows = options.sourcePaths || mailboxes.contains(where: { mailboxIDs[$0] == nil }) ? try engine.catalog.messages(ids) : [:]
        for ((e, id), mailbox) in zip(zip(entries[from..<to], ids), mailboxes) {
            let row = rows[id]
            let wanted: Set<UInt8> = options.snippets ? [Field.from.rawValue, Field.subject.rawValue, Field.body.rawValue]
                : [Field.from.rawValue, Field.subject.rawValue]
            let doc = try storedDocument(e.segment, e.doc, only: wanted)
            var fromText = "", subject = ""
            for (f, text) in doc {
                if f == Field.subject.rawValue { subject = text }
                if f == Field.from.rawValue { fromText = text }
            }
            let sent = try segments[e.segment].value(.sentDate, e.doc)
            hits.append(SearchResultHit(
                docid: id, mailbox: mailboxIDs[mailbox] ?? row?.mailbox ?? "", uid: try segments[e.segment].value(.uid, e.doc),
                internalDate: try segments[e.segment].value(.internalDate, e.doc), sentDate: sent == 0 ? nil : sent,
                size: try segments[e.segment].value(.size, e.doc), from: fromText, subject: subject, path: row?.sourcePath,
                score: options.sort == .relevance ? e.key : 0, snippet: options.snippets ? snippet(doc, terms: highlightTerms, prefixes: prefixes) : nil))
        }
        var results = SearchResults(total: total, hits: hits)
        results.byChampionLists = byChampionLists
        return results
    }

    /// Each segment's docs of a set, ascending (one array per segment, sized once).
    static func docLists(_ set: DocSet, segments: Int) -> [[UInt32]] {
        var lists: [[UInt32]] = []
        lists.reserveCapacity(segments)
        for s in 0..<segments {
            guard s < set.bits.count else { lists.append([]); continue }
            let count = set.bits[s].reduce(0) { $0 + $1.nonzeroBitCount }
            // (A zero capacity would write into the empty-array singleton all threads share.)
            guard count > 0 else { lists.append([]); continue }
            lists.append(set.bits[s].withUnsafeBufferPointer { words in
                [UInt32](unsafeUninitializedCapacity: count) { out, n in
                    n = 0
                    for (w, word) in words.enumerated() where word != 0 {
                        var x = word
                        while x != 0 {
                            out[n] = UInt32(truncatingIfNeeded: w << 6 | x.trailingZeroBitCount)
                            n += 1
                            x &= x - 1
                        }
                    }
                }
            })
        }
        return lists
    }

    /// The passage of the subject or body with the most matched words (about 200 bytes).
    func snippet(_ doc: [(UInt8, String)], terms: Set<String>, prefixes: [String] = []) -> Snippet? {
        // A query has a few terms: compared by bytes (length first), not hashed per token.
        let termBytes = terms.map { Array($0.utf8) }
        let prefixBytes = prefixes.map { Array($0.utf8) }
        func wanted(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
            for term in termBytes where term.count == t.count && term.elementsEqual(t) { return true }
            for p in prefixBytes where p.count <= t.count && t.prefix(p.count).elementsEqual(p) { return true }
            return false
        }
        var best: (field: UInt8, text: String, ranges: [Range<Int>], start: Int, end: Int, count: Int)?
        for (f, whole) in doc where f == Field.subject.rawValue || f == Field.body.rawValue {
            // Long bodies: analyze only the region where the words occur (found by a byte
            // search on the ASCII-lowercased text), not the whole message.
            let (part, shift) = f == Field.body.rawValue ? Self.region(whole, terms: terms.union(prefixes)) : (whole, 0)
            // A region cut inside a word (no space within reach of its edge) would make the
            // word's piece a token of its own: a token touching such an edge is not a match.
            let partLength = part.utf8.count
            let cutBefore = shift > 0 && !Self.isSpaceByte(whole.utf8[whole.utf8.index(whole.utf8.startIndex, offsetBy: shift - 1)])
            let cutAfter = shift + partLength < whole.utf8.count
                && !Self.isSpaceByte(whole.utf8[whole.utf8.index(whole.utf8.startIndex, offsetBy: shift + partLength)])
            let matched = part.isEmpty ? [] : analyzer.matchingTokenRanges(part, wanted: wanted)
                .filter { !(cutBefore && $0.lowerBound == 0) && !(cutAfter && $0.upperBound == partLength) }
                .map { ($0.lowerBound + shift)..<($0.upperBound + shift) }
            let text = whole
            var ranges: [Range<Int>] = []
            for t in matched where ranges.last.map({ $0.upperBound <= t.lowerBound }) ?? true { ranges.append(t) }
            if f == Field.subject.rawValue {
                if !ranges.isEmpty, best == nil || ranges.count > best?.count ?? 0 {
                    best = (f, text, ranges, 0, text.utf8.count, ranges.count)
                }
                continue
            }
            // The 200-byte window holding the most matches.
            let window = 200
            var i = 0
            for j in ranges.indices {
                while ranges[j].upperBound - ranges[i].lowerBound > window { i += 1 }
                let count = j - i + 1
                if best == nil || count > best?.count ?? 0 || (best?.field == Field.subject.rawValue && count >= best?.count ?? 0) {
                    let start = max(0, ranges[i].lowerBound - 40)
                    best = (f, text, Array(ranges[i...j]), start, min(text.utf8.count, start + window + 40), count)
                }
            }
            if best == nil, !text.isEmpty { best = (f, text, [], 0, min(text.utf8.count, window), 0) }
        }
        guard let b = best else { return nil }
        let utf8 = Array(b.text.utf8)
        var start = b.start, end = b.end
        while start > 0, start < utf8.count, utf8[start] & 0xC0 == 0x80 { start -= 1 }
        while end < utf8.count, utf8[end] & 0xC0 == 0x80 { end += 1 }
        let passage = String(decoding: utf8[start..<end], as: UTF8.self)
        let highlights = b.ranges.filter { $0.lowerBound >= start && $0.upperBound <= end }.map { ($0.lowerBound - start)..<($0.upperBound - start) }
        var marked = ""
        let bytes = Array(passage.utf8)
        var at = 0
        for r in highlights {
            marked += Self.escape(String(decoding: bytes[at..<r.lowerBound], as: UTF8.self))
            marked += "<mark>" + Self.escape(String(decoding: bytes[r], as: UTF8.self)) + "</mark>"
            at = r.upperBound
        }
        marked += Self.escape(String(decoding: bytes[at...], as: UTF8.self))
        let name = Field(rawValue: b.field)?.name ?? "body"
        return Snippet(field: name, text: passage, highlights: highlights, marked: marked)
    }

    /// The part of a text worth analyzing for a snippet: about 1 KiB around the densest run of
    /// occurrences of the (ASCII) terms, or the first 16 KiB; with its byte offset. Empty
    /// when nothing there can match: every term ASCII, none found in the first 32 KiB, and
    /// that part ASCII too (a token equal to an ASCII term, or starting with an ASCII prefix,
    /// is those bytes in ASCII text read without case).
    static func region(_ text: String, terms: Set<String>) -> (String, Int) {
        var t = text
        return t.withUTF8 { utf8 -> (String, Int) in
            guard !utf8.isEmpty else { return (text, 0) }
            // Case-insensitive (ASCII) search for each term in the first 32 KiB, a few hits
            // per term (a snippet is one passage; most come from a message’s start). Terms
            // are folded: their ASCII letters are lowercase.
            let limit = min(utf8.count, 32 * 1024)
            let head = UnsafeBufferPointer(rebasing: utf8[..<limit])
            var hits: [Int] = []
            for term in terms where !term.isEmpty && term.utf8.allSatisfy({ $0 < 0x80 }) {
                Array(term.utf8).withUnsafeBufferPointer { needle in
                    var from = 0, found = 0
                    while found < 64, let at = ByteSearch.firstIndexIgnoringASCIICase(of: needle, in: head, from: from) {
                        hits.append(at)
                        found += 1
                        from = at + 1
                    }
                }
            }
            if hits.isEmpty, terms.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }), !ByteSearch.containsNonASCII(head) {
                return ("", 0)
            }
            guard utf8.count > Self.regionBefore + Self.regionAfter else { return (text, 0) }
            var start = 0, end = min(utf8.count, 16 * 1024)
            if !hits.isEmpty {
                hits.sort()
                var best = 0, bestCount = 0, i = 0
                for j in hits.indices {
                    while hits[j] - hits[i] > 200 { i += 1 }
                    if j - i + 1 > bestCount { bestCount = j - i + 1; best = hits[i] }
                }
                // The snippet's window (200 bytes from 40 before its first match) fits.
                start = max(0, best - Self.regionBefore)
                end = min(utf8.count, best + Self.regionAfter)
                // Cut at spaces, so the edges split no word into a false token (past 64 bytes
                // without one, `snippet` drops the tokens touching the cut).
                var back = 0
                while start > 0, back < 64, !Self.isSpaceByte(utf8[start - 1]) { start -= 1; back += 1 }
                var ahead = 0
                while end < utf8.count, ahead < 64, !Self.isSpaceByte(utf8[end]) { end += 1; ahead += 1 }
            }
            while start > 0, utf8[start] & 0xC0 == 0x80 { start -= 1 }
            while end < utf8.count, utf8[end] & 0xC0 == 0x80 { end += 1 }
            return (String(decoding: UnsafeBufferPointer(rebasing: utf8[start..<end]), as: UTF8.self), start)
        }
    }

    @inline(__always) static func isSpaceByte(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }

    /// Bytes analyzed for a snippet before and after the densest run of a term's occurrences.
    static let regionBefore = 320
    static let regionAfter = 640

    static func escape(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 16)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "<"): out += "&lt;".utf8
            case UInt8(ascii: ">"): out += "&gt;".utf8
            case UInt8(ascii: "&"): out += "&amp;".utf8
            case UInt8(ascii: "\""): out += "&quot;".utf8
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
