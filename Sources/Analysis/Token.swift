/// One term of analyzed text, with where it came from.
public struct Token: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, BitwiseCopyable {
        case word          // letters (any alphabetic script), also letters mixed with digits
        case number        // digits, decimals, versions ("3.14", "v2.1.0")
        case ideographic   // Han, Kana (dictionary-segmented words)
        case email         // a whole address ("anna.rossi@infomaniak.ch")
        case host          // a domain or host name inside an address or URL ("infomaniak.ch")
        case url           // a whole URL
        case compound      // words joined without spaces: "e-mail", "Q3-report.pdf", "2024-05-01"
    }

    /// The normalized term (NFKC_Casefold, curly apostrophes made straight).
    public var term: String
    /// The term without diacritics ("ete" for "été"); nil when that is the same as `term`.
    public var folded: String?
    /// Word position, for phrases: a whole and its first part share a position, parts follow.
    public var position: Int
    /// UTF-8 byte range in the analyzed text (for snippets and highlighting).
    public var start: Int
    public var end: Int
    public var kind: Kind

    public init(term: String, folded: String? = nil, position: Int, start: Int, end: Int, kind: Kind) {
        self.term = term
        self.folded = folded
        self.position = position
        self.start = start
        self.end = end
        self.kind = kind
    }
}
