/// The one query tree both languages parse into (IMAP SEARCH criteria and the webmail
/// language) and the planner executes. Pure values: Sendable, Hashable, printable.
///
/// Two kinds of text matching, because the two languages promise different things:
/// - `.substring`: IMAP's rule (RFC 9051 §6.4.4): the key is a case-insensitive substring of
///   the field's decoded text ("ell" matches "Hello"). Exact: the index narrows, the stored
///   text decides.
/// - `.words` / `.phrase` / `.prefix`: the webmail rule: words match as words through the
///   indexing analysis (case and diacritics folded); a phrase is consecutive words; a prefix
///   is the start of a word (`invoi*`).
public indirect enum QueryNode: Sendable, Hashable {
    /// Every message (IMAP ALL; also the empty webmail query).
    case all
    case and([QueryNode])
    case or([QueryNode])
    case not(QueryNode)
    /// Text in a field.
    case text(TextField, String, TextMatch)
    /// IMAP HEADER name value: the value is a substring of a header field of that name (any
    /// of them, if repeated); an empty value means the header is present.
    case header(name: String, value: String)
    /// Dates by day (IMAP: the internal date or the Date header's date; RFC 9051: "disregarding
    /// time and timezone"), or relative to now (webmail `older_than:` / `newer_than:`).
    case date(DateField, DateComparison, SearchDay)
    case relativeDate(DateField, olderThan: Bool, seconds: Int64)
    /// RFC822.SIZE: strictly larger / smaller than n octets.
    case size(larger: Bool, Int64)
    /// A system flag set (`true`) or not set (`false`).
    case flag(SystemFlag, Bool)
    /// An IMAP keyword (webmail `label:`) set or not.
    case keyword(String, Bool)
    /// UIDs in a set (IMAP `UID 1:5,9`); `*` is the largest UID in the mailbox.
    case uids(SequenceSet)
    /// Message sequence numbers (IMAP bare sequence sets).
    case sequence(SequenceSet)
    /// The saved result of a previous search (RFC 5182 `$`).
    case savedResult
    /// Messages in a mailbox (webmail `in:` / `mailbox:`), by name.
    case mailbox(String)
    /// Messages with at least one attachment (webmail `has:attachment`).
    case hasAttachment
    /// RFC 6203 FUZZY: typo-tolerant word matching of the inner text keys, with scores.
    case fuzzy(QueryNode)
    /// Webmail `AROUND n`: the two sides' words within n words of each other (body text).
    case around(QueryNode, QueryNode, distance: Int)
}

/// Which text a text key searches.
public enum TextField: String, Sendable, Hashable, CaseIterable {
    case from, to, cc, bcc, subject
    /// The body text (all text parts, the alternatives and attachment text).
    case body
    /// Headers and body (IMAP TEXT; webmail bare words: every indexed field).
    case text
    /// Attachment file names (webmail `filename:`).
    case filename
    /// The List-Id / List-Post headers (webmail `list:`).
    case list
    /// The Message-ID header (webmail `rfc822msgid:`).
    case messageID
}

public enum TextMatch: String, Sendable, Hashable {
    /// IMAP: a case-insensitive substring of the decoded text.
    case substring
    /// Webmail: every word of the string, as words, anywhere in the field.
    case words
    /// Webmail: the words consecutive, in order.
    case phrase
    /// Webmail: a word starting with the string.
    case prefix
}

public enum DateField: String, Sendable, Hashable {
    /// The internal (arrival) date (IMAP BEFORE/ON/SINCE; webmail after:/before: use it too).
    case arrival
    /// The Date header (IMAP SENTBEFORE/SENTON/SENTSINCE).
    case sent
}

public enum DateComparison: String, Sendable, Hashable {
    /// Strictly before the day.
    case before
    /// On the day.
    case on
    /// On the day or later.
    case since
}

/// A calendar day (IMAP date-text: `1-Feb-1994`).
public struct SearchDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int  // 1...12
    public var day: Int    // 1...31

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (a: SearchDay, b: SearchDay) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMAP date-text, `d-Mon-yyyy`.
    public var description: String { "\(day)-\(Self.monthNames[max(0, min(11, month - 1))])-\(year)" }

    /// Days since 1970-01-01 (proleptic Gregorian), for comparisons with stored instants.
    public var daysSinceEpoch: Int64 {
        // Howard Hinnant's days_from_civil.
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

public enum SystemFlag: String, Sendable, Hashable, CaseIterable {
    case seen, answered, flagged, deleted, draft, recent
}

/// An IMAP sequence set: ranges of numbers, `*` standing for the largest.
public struct SequenceSet: Sendable, Hashable, CustomStringConvertible {
    public enum Bound: Sendable, Hashable {
        case number(UInt32)
        case star
    }

    public struct Range: Sendable, Hashable {
        public var from: Bound
        public var to: Bound
        public init(_ from: Bound, _ to: Bound) {
            self.from = from
            self.to = to
        }
    }

    public var ranges: [Range]

    public init(_ ranges: [Range]) { self.ranges = ranges }

    /// Whether `n` is in the set, `*` being `largest` (a range may be written high:low).
    public func contains(_ n: UInt32, largest: UInt32) -> Bool {
        for r in ranges {
            let a = r.from.value(largest), b = r.to.value(largest)
            if n >= min(a, b) && n <= max(a, b) { return true }
        }
        return false
    }

    public var description: String {
        ranges.map { r in r.from == r.to ? r.from.text : "\(r.from.text):\(r.to.text)" }.joined(separator: ",")
    }
}

extension SequenceSet.Bound {
    func value(_ largest: UInt32) -> UInt32 {
        switch self {
        case .number(let n): return n
        case .star: return largest
        }
    }

    var text: String {
        switch self {
        case .number(let n): return String(n)
        case .star: return "*"
        }
    }
}

/// A query that could not be parsed: what is wrong and where (a UTF-8 byte offset into the
/// query), as an IMAP BAD response or an HTTP 400 would report it.
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at byte \(offset))" }
}

/// Limits on what a query may ask for (checked by the parsers and the planner).
public struct QueryLimits: Sendable, Hashable {
    /// Longest query accepted, in UTF-8 bytes.
    public var maxQueryBytes = 64 * 1024
    /// Deepest nesting of parentheses / NOT / OR.
    public var maxDepth = 64
    /// Most terms a prefix, substring or fuzzy key may expand to.
    public var maxExpandedTerms = 10_000
    /// Most terms an IMAP substring key narrows by in one field of one segment, when the
    /// alternative is checking more messages' stored text (see `substring`: up to 8 terms per
    /// candidate message); past it, or past `maxExpandedTerms` when that is larger, the
    /// stored text decides alone.
    public var maxNarrowingTerms = 200_000
    /// Wall-clock budget of one query's execution, in seconds.
    public var timeBudget: Double = 10

    public init() {}
}

extension QueryNode {
    /// Whether the query only looks words up in the index: word keys (no phrase, prefix,
    /// substring, fuzzy or proximity), combined with AND, OR and NOT, filtered by mailbox,
    /// flag or keyword, with at most 8 words. Its cost follows the words' postings (a few
    /// hundred microseconds on 50,000 messages) and never a scan of stored text; the daemon
    /// runs such searches on the event loop that read them.
    public var isWordLookup: Bool {
        var words = 0
        func simple(_ n: QueryNode) -> Bool {
            switch n {
            case .text(_, _, .words):
                words += 1
                return words <= 8
            case .and(let c), .or(let c): return c.count <= 8 && c.allSatisfy(simple)
            case .not(let inner): return simple(inner)
            case .mailbox, .flag, .keyword: return true
            default: return false
            }
        }
        return simple(self)
    }
}
