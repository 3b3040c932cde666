import MailsiftCore

/// Limits and switches of the analysis.
public struct AnalyzerOptions: Sendable {
    /// Words longer than this (UTF-8 bytes) are not indexed: base64 left in text, hashes of
    /// hashes, garbage. They still take a position, so phrases do not jump over them.
    public var maxTokenBytes = 64
    /// Joined forms (URLs, file names, compounds) longer than this are not indexed whole;
    /// their parts are.
    public var maxCompoundBytes = 200
    /// At most this many words are joined into one compound.
    public var maxCompoundParts = 16
    /// Skip PGP armour and runs of base64 / uuencoded lines (indexing only, never queries).
    public var skipNoise = true
    /// Fill `Token.folded` (diacritics removed) for accent-insensitive matching.
    public var foldDiacritics = true

    public init() {}
}

/// Counters of what the analysis left out.
public struct AnalysisStats: Sendable, Hashable {
    public var noiseBlocks = 0
    public var noiseBytes = 0
    public var longTokens = 0
    public init() {}
}

/// Text → tokens, one path for indexing and for queries.
///
/// 1. (indexing) PGP armour and base64/uuencode runs are skipped.
/// 2. UAX #29 words (ICU, with an exact ASCII fast path; dictionaries for CJK and Thai).
/// 3. Words joined without spaces by `- . / : @ _ + # = ? & ~ %` form a compound, indexed whole
///    ("e-mail", "q3-report.pdf", "2024-05-01", URLs) as well as by its parts.
/// 4. Inside a word: addresses split into local-part words and domain (whole and labels);
///    dotted, snake_case, CamelCase and apostrophe words split into parts as well as kept.
/// 5. Terms are NFKC_Casefold-normalized; a diacritic-folded variant is attached.
///
/// Positions: the finest parts get consecutive positions; a whole shares the position of its
/// first part. Holds an ICU iterator: one analyzer per thread or task.
public final class Analyzer {
    public let options: AnalyzerOptions
    public private(set) var stats = AnalysisStats()
    private let segmenter = WordSegmenter()
    // Scratch buffers reused across groups (swapped in and out, so no copy-on-write).
    private var coarseScratch = ScratchBuffer<Coarse>(capacity: 64)
    private var atomScratch = ScratchBuffer<Atom>(capacity: 256)
    /// The segments of the text being analyzed (reused; at most 64 Ki kept between texts).
    /// Taken out while a text is analyzed, so it is only ever owned by one holder.
    private var segmentBuffer: ScratchBuffer<WordSegment>?
    /// The indexing sink's buffers, kept from call to call (taken out the same way).
    private var termBuffers: TermBuffers?

    deinit {
        coarseScratch.deallocate()
        atomScratch.deallocate()
        segmentBuffer?.deallocate()
        termBuffers?.deallocate()
    }

    public init(options: AnalyzerOptions = AnalyzerOptions()) {
        self.options = options
    }

    /// Tokens of message text, for indexing.
    public func tokens(_ text: String) -> [Token] {
        var sink = TokenArraySink()
        analyze(text, skipNoise: options.skipNoise, into: &sink)
        return sink.tokens
    }

    /// Tokens of a query string: the same analysis as indexing, without noise skipping.
    public func queryTokens(_ text: String) -> [Token] {
        var sink = TokenArraySink()
        analyze(text, skipNoise: false, into: &sink)
        return sink.tokens
    }

    /// The byte ranges (start..<end in `text`'s UTF-8) of the tokens `queryTokens` would give
    /// whose term or diacritic-folded variant `wanted` accepts (given as bytes). No token or
    /// String is made for ASCII tokens (most of a snippet's region): their lowercased bytes
    /// go to `wanted` from a buffer.
    public func matchingTokenRanges(_ text: String, wanted: (UnsafeBufferPointer<UInt8>) -> Bool) -> [Range<Int>] {
        withoutActuallyEscaping(wanted) { wanted in
            var sink = MatchSink(wanted: wanted)
            analyze(text, skipNoise: false, into: &sink)
            return sink.ranges
        }
    }

    /// What `indexTerms` gives for a text.
    public struct IndexedText: Sendable {
        /// Each token's term, at its position.
        public var terms = TermList()
        /// The diacritic-folded variants of the terms that have one, at their positions.
        public var variants = TermList()
        /// The position of the last token (that of `tokens(text).last`), nil without tokens.
        public var lastPosition: Int?
        /// Tokens whose term is over `maxIndexedTermBytes` and was left out (folding can
        /// lengthen a word past the analyzer's limits). A folded variant over it is left out
        /// without this flag: the term itself is indexed.
        public var overlong = false
    }

    /// The index's limit on a term's bytes.
    public static let maxIndexedTermBytes = 255

    /// Message text analyzed as `tokens(_:)` does, straight into term lists (no `Token` or
    /// `String` per term: the indexing path). Terms over `maxIndexedTermBytes` are left out
    /// with their variant. Every token's UTF-8 range in the text, left-out ones too, is kept
    /// until the next call: `lastSpans` copies them out for the rare caller that wants them.
    public func indexTerms(_ text: String) -> IndexedText {
        var buffers = termBuffers.take() ?? TermBuffers()
        buffers.spans.removeAll(keep: 1 << 18)
        var sink = TermListSink(buffers: buffers)
        analyze(text, skipNoise: options.skipNoise, into: &sink)
        let result = sink.finish()
        sink.buffers.removeAllButSpans()
        termBuffers = sink.buffers
        return result
    }

    /// `indexTerms`, with the spans copied into `spans` (emptied first, its storage reused).
    public func indexTerms(_ text: String, spans: inout [TokenSpan]) -> IndexedText {
        let result = indexTerms(text)
        spans.removeAll(keepingCapacity: true)
        if let b = termBuffers { spans.append(contentsOf: b.spans.elements) }
        return result
    }

    /// The token spans of the text `indexTerms` analyzed last (empty before any).
    public func lastSpans() -> [TokenSpan] {
        termBuffers?.spans.array() ?? []
    }

    /// A token's UTF-8 range in the analyzed text; `overlong`: its term was left out.
    public struct TokenSpan: Sendable, BitwiseCopyable {
        public var start: Int
        public var end: Int
        public var overlong: Bool
    }

    public func resetStats() { stats = AnalysisStats() }

    // MARK: - Pipeline

    private func analyze<S: TermSink>(_ text: String, skipNoise: Bool, into out: inout S) {
        var copy = text
        copy.withUTF8 { buf in
            out.reserve(bytes: buf.count)
            var position = 0
            let keep = skipNoise ? NoiseFilter.keptRanges(buf, stats: &stats) : [0..<buf.count]
            for range in keep where !range.isEmpty {
                // Into the analyzer's reused memory (held here while the groups are emitted).
                var segments = segmentBuffer.take() ?? ScratchBuffer(capacity: 1 << 10)
                segmenter.segments(utf8: buf, range: range, into: &segments)
                emitGroups(buf, UnsafeBufferPointer(start: segments.base, count: segments.count), position: &position, into: &out)
                segments.removeAll(keep: 1 << 16)
                segmentBuffer = segments
            }
        }
    }

    /// Joins adjacent segments into compounds and emits each group.
    private func emitGroups<S: TermSink>(_ buf: UnsafeBufferPointer<UInt8>, _ segments: UnsafeBufferPointer<WordSegment>, position: inout Int, into out: inout S) {
        var i = 0
        while i < segments.count {
            var j = i + 1
            while j < segments.count, j - i < options.maxCompoundParts,
                  Self.isJoiner(buf, segments[j - 1].end, segments[j].start) {
                j += 1
            }
            emitGroup(buf, UnsafeBufferPointer(rebasing: segments[i..<j]), position: &position, into: &out)
            i = j
        }
    }

    /// 1 to 3 joiner bytes (no blanks) between two words make them one compound.
    static func isJoiner(_ buf: UnsafeBufferPointer<UInt8>, _ a: Int, _ b: Int) -> Bool {
        let gap = b - a
        guard gap >= 1, gap <= 3 else { return false }
        for k in a..<b {
            switch buf[k] {
            case 0x2D, 0x2E, 0x2F, 0x3A, 0x40, 0x5F, 0x2B, 0x23, 0x3D, 0x3F, 0x26, 0x7E, 0x25: continue  // - . / : @ _ + # = ? & ~ %
            default: return false
            }
        }
        return true
    }

    /// A coarse token waiting for its position (that of its first atom).
    private struct Coarse: BitwiseCopyable {
        var start: Int
        var end: Int
        var kind: Token.Kind
        var firstAtom: Int
        var range: Range<Int> { start..<end }

        init(range: Range<Int>, kind: Token.Kind, firstAtom: Int) {
            (start, end, self.kind, self.firstAtom) = (range.lowerBound, range.upperBound, kind, firstAtom)
        }
    }

    private struct Atom: BitwiseCopyable {
        var start: Int
        var end: Int
        var kind: Token.Kind
        var range: Range<Int> { start..<end }

        init(range: Range<Int>, kind: Token.Kind) {
            (start, end, self.kind) = (range.lowerBound, range.upperBound, kind)
        }
    }

    private func emitGroup<S: TermSink>(_ buf: UnsafeBufferPointer<UInt8>, _ group: UnsafeBufferPointer<WordSegment>, position: inout Int, into out: inout S) {
        // The common case, one plain ASCII word: no part splitting to do.
        if group.count == 1, let only = group.first, Self.isSimpleWord(buf, only) {
            let n = only.end - only.start
            if n <= options.maxTokenBytes {
                out.simpleWord(UnsafeBufferPointer(rebasing: buf[only.start..<only.end]), readable: buf.count - only.start,
                               position: position, start: only.start, end: only.end, kind: only.kind == .number ? .number : .word)
            } else {
                stats.longTokens += 1
            }
            position += 1
            return
        }
        // The scratch buffers as locals while the group is split (their memory is the
        // analyzer's; given back, with what growth made of it, at the end).
        var coarse = coarseScratch, atoms = atomScratch
        defer {
            coarse.removeAll(keep: 1 << 10)
            atoms.removeAll(keep: 1 << 12)
            coarseScratch = coarse
            atomScratch = atoms
        }
        let first = group[group.startIndex], last = group[group.endIndex - 1]
        if group.count > 1 {
            let kind = Self.compoundKind(buf, first.start..<last.end)
            coarse.append(Coarse(range: first.start..<last.end, kind: kind, firstAtom: 0))
        }
        var afterScheme = false
        for seg in group {
            let range = seg.start..<seg.end
            switch seg.kind {
            case .number:
                atoms.append(Atom(range: range, kind: .number))
            case .kana, .ideographic:
                atoms.append(Atom(range: range, kind: .ideographic))
            case .letter:
                let host = afterScheme
                splitWord(buf, range, isHost: host, coarse: &coarse, atoms: &atoms)
            }
            // The word after "scheme://" is a host name.
            afterScheme = seg.end + 3 <= buf.count && buf[seg.end] == 0x3A && buf[seg.end + 1] == 0x2F && buf[seg.end + 2] == 0x2F
        }
        for c in coarse.elements {
            emit(buf, c.range, kind: c.kind, position: position + c.firstAtom, limit: options.maxCompoundBytes, into: &out)
        }
        for (k, a) in atoms.elements.enumerated() {
            emit(buf, a.range, kind: a.kind, position: position + k, limit: options.maxTokenBytes, into: &out)
        }
        position += max(1, atoms.count)
    }

    /// Lowercase ASCII letters and digits only (after the first character): nothing to split.
    /// Eight bytes at a time where the buffer has them (a word's bytes in one load: no loop
    /// turn, and no branch to mispredict, per byte).
    @inline(__always)
    static func isSimpleWord(_ buf: UnsafeBufferPointer<UInt8>, _ s: WordSegment) -> Bool {
        guard s.kind == .letter || s.kind == .number, s.start < s.end, s.end <= buf.count,
              let base = buf.baseAddress else { return false }
        let first = base[s.start]
        guard first < 0x80, first != 0x40, first != 0x5F else { return false }
        var k = s.start + 1
        while k < s.end {
            if k + 8 <= buf.count {
                let x = UInt64(littleEndian: UnsafeRawPointer(base + k).loadUnaligned(as: UInt64.self))
                let ok = SWAR.inRange(x, 0x61, 0x7A) | SWAR.inRange(x, 0x30, 0x39)
                let n = s.end - k
                let want = n >= 8 ? SWAR.highs : SWAR.highs & ((1 << (8 * UInt64(n))) &- 1)
                if ok & want != want { return false }
                k += 8
            } else {
                let b = base[k]
                if !((b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)) { return false }
                k += 1
            }
        }
        return true
    }

    static func compoundKind(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Token.Kind {
        var hasAt = false
        for k in r {
            let b = buf[k]
            if b == 0x3A, k + 2 < r.upperBound, buf[k + 1] == 0x2F, buf[k + 2] == 0x2F { return .url }
            if b == 0x40 { hasAt = true }
        }
        if r.count > 4, (buf[r.lowerBound] | 0x20) == 0x77, (buf[r.lowerBound + 1] | 0x20) == 0x77,
           (buf[r.lowerBound + 2] | 0x20) == 0x77, buf[r.lowerBound + 3] == 0x2E { return .url }  // www.
        return hasAt ? .email : .compound
    }

    /// A letter segment: addresses, dotted / snake_case / CamelCase / apostrophe words.
    private func splitWord(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, isHost: Bool, coarse: inout ScratchBuffer<Coarse>, atoms: inout ScratchBuffer<Atom>) {
        // An address kept whole by ICU 72 ("anna.rossi@infomaniak.ch").
        var at = -1
        for k in range where buf[k] == 0x40 { at = k }
        if at > range.lowerBound, at < range.upperBound - 1 {
            coarse.append(Coarse(range: range, kind: .email, firstAtom: atoms.count))
            splitParts(buf, range.lowerBound..<at, atoms: &atoms)
            let domain = (at + 1)..<range.upperBound
            if buf[domain].contains(0x2E) { coarse.append(Coarse(range: domain, kind: .host, firstAtom: atoms.count)) }
            splitParts(buf, domain, atoms: &atoms)
            return
        }
        let before = atoms.count
        splitParts(buf, range, atoms: &atoms)
        let added = atoms.count - before
        if added > 1 || (added == 1 && atoms[before].range != range) || (added == 0 && !range.isEmpty) {
            // The word whole as well as its parts ("snake_case", "l'été", "getUserName"); and
            // whole when every part was elided ("I'm", "j'y"), so its letters have a term.
            coarse.append(Coarse(range: range, kind: isHost ? .host : .word, firstAtom: before))
        } else if isHost, atoms.count - before == 1 {
            atoms[atoms.count - 1].kind = .word
        }
    }

    /// Splits at `.`, `_`, `'`, `’`, `@` and CamelCase humps; single letters elided by an
    /// apostrophe ("l'été", "don't") are dropped, other parts kept.
    private func splitParts(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, atoms: inout ScratchBuffer<Atom>) {
        var partStart = range.lowerBound
        var k = range.lowerBound
        var apostropheBefore = false
        func flush(_ end: Int, apostropheAfter: Bool) {
            guard end > partStart else { return }
            let isSingle = end - partStart == 1 || (end - partStart <= 4 && Self.isSingleScalar(buf, partStart..<end))
            if isSingle && (apostropheAfter || apostropheBefore) { return }  // elision
            atoms.append(Atom(range: partStart..<end, kind: Self.isAllDigits(buf, partStart..<end) ? .number : .word))
        }
        while k < range.upperBound {
            let b = buf[k]
            var sepLength = 0
            if b == 0x2E || b == 0x5F || b == 0x27 || b == 0x40 {
                sepLength = 1
            } else if b == 0xE2, k + 2 < range.upperBound, buf[k + 1] == 0x80, buf[k + 2] == 0x99 {
                sepLength = 3  // ’ U+2019
            }
            if sepLength > 0 {
                let isApostrophe = b == 0x27 || b == 0xE2
                flush(k, apostropheAfter: isApostrophe)
                apostropheBefore = isApostrophe
                k += sepLength
                partStart = k
                continue
            }
            // CamelCase: lower→Upper ("getUser"), and UPPER→Upper+lower ("HTTPServer").
            if k > partStart, Self.isUpper(b) {
                let prev = buf[k - 1]
                let nextIsLower = k + 1 < range.upperBound && Self.isLower(buf[k + 1])
                if Self.isLower(prev) || (Self.isUpper(prev) && nextIsLower) {
                    flush(k, apostropheAfter: false)
                    apostropheBefore = false
                    partStart = k
                }
            }
            k += 1
        }
        flush(range.upperBound, apostropheAfter: false)
    }

    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    @inline(__always) static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }

    static func isAllDigits(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        for k in r where !(buf[k] >= 0x30 && buf[k] <= 0x39) { return false }
        return true
    }

    static func isSingleScalar(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        let lead = buf[r.lowerBound]
        let width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        return width == r.count
    }

    /// `knownASCII`: the caller has checked the bytes (no second scan).
    private func emit<S: TermSink>(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, kind: Token.Kind, position: Int, limit: Int,
                                   knownASCII: Bool = false, into out: inout S) {
        guard range.count <= limit else {
            if kind != .url && kind != .compound && kind != .email && kind != .host { stats.longTokens += 1 }
            return
        }
        let bytes = UnsafeBufferPointer(rebasing: buf[range])
        guard !bytes.isEmpty else { return }
        let readable = buf.count - range.lowerBound
        if knownASCII || Self.isASCII(bytes, readable: readable) {
            out.ascii(bytes, readable: readable, position: position, start: range.lowerBound, end: range.upperBound, kind: kind)
            return
        }
        if Self.isFoldStable(bytes) {
            out.asIs(bytes, position: position, start: range.lowerBound, end: range.upperBound, kind: kind)
            return
        }
        let term = Self.normalize(bytes)
        guard !term.isEmpty else { return }
        var folded: String?
        if options.foldDiacritics {
            let f = TextNormalizer.foldDiacritics(term)
            if f != term { folded = f }
        }
        out.normalized(term, folded: folded, position: position, start: range.lowerBound, end: range.upperBound, kind: kind)
    }

    /// No byte at or above 0x80, eight at a time (`readable`: bytes that may be read from the
    /// start, the token and the text after it).
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>, readable: Int = 0) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let n = bytes.count
        if n < 8 {
            // Under eight bytes: one load when eight can be read from the start (the bytes
            // after the token masked off), else byte by byte.
            if readable >= 8 {
                let mask = SWAR.highs & ((1 << (8 * UInt64(n))) &- 1)
                return UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) & mask == 0
            }
            for i in 0..<n where base[i] >= 0x80 { return false }
            return true
        }
        var i = 0
        while i + 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & SWAR.highs != 0 { return false }
            i += 8
        }
        // The last eight bytes, overlapping the ones checked.
        return i == n || raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) & SWAR.highs == 0
    }

    /// True when every scalar is one NFKC_Casefold leaves alone and that has no diacritics
    /// (Han, kana, Hangul, lowercase ASCII, digits): the bytes are the term as they are.
    static func isFoldStable(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                guard (b0 >= 0x61 && b0 <= 0x7A) || (b0 >= 0x30 && b0 <= 0x39) else { return false }
                i += 1
                continue
            }
            // Every stable non-ASCII scalar is in the BMP above U+3000: three bytes.
            guard b0 >= 0xE0, b0 < 0xF0, i + 2 < n else { return false }
            let v = UInt32(b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
            guard let scalar = Unicode.Scalar(v), TextNormalizer.isFoldStable(scalar) else { return false }
            i += 3
        }
        return true
    }

    /// NFKC_Casefold; ASCII lowercased without ICU; ’ → '.
    static func normalize(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { return TextNormalizer.asciiLowercased(bytes) }
        let folded = TextNormalizer.caseFold(Substring(String(decoding: bytes, as: UTF8.self)))
        return folded.utf8.contains(0xE2) ? folded.replacingApostrophes() : folded
    }
}

/// Where the analysis puts its tokens: an array of `Token`s (queries, snippets, tools) or
/// term lists (indexing). Generic, so each is specialized and the indexing path makes no
/// `String` for an ASCII or fold-stable term.
protocol TermSink {
    mutating func reserve(bytes: Int)
    /// An ASCII token whose bytes after the first are lowercase letters and digits (the term is
    /// the bytes with the first lowercased), at most `Analyzer.maxIndexedTermBytes` long;
    /// `readable` bytes may be read from its start (it and the text after it).
    mutating func simpleWord(_ bytes: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind)
    /// An ASCII token; its term is the bytes lowercased.
    mutating func ascii(_ bytes: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind)
    /// A token whose bytes are its term (fold-stable: no case, no compatibility form, no diacritic).
    mutating func asIs(_ bytes: UnsafeBufferPointer<UInt8>, position: Int, start: Int, end: Int, kind: Token.Kind)
    /// A token normalized through ICU, with its diacritic-folded variant when it differs.
    mutating func normalized(_ term: String, folded: String?, position: Int, start: Int, end: Int, kind: Token.Kind)
}

extension TermSink {
    mutating func simpleWord(_ bytes: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind) {
        ascii(bytes, readable: readable, position: position, start: start, end: end, kind: kind)
    }
}

/// Bytewise tests on eight bytes at once (SIMD within a register).
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of the result is set where that byte of `x` is in `lo...hi`
    /// (0 < lo <= hi < 0x80); bytes at or above 0x80 never are. No carry crosses a byte:
    /// each sum is at most 0x7F + 0x7F.
    @inline(__always)
    static func inRange(_ x: UInt64, _ lo: UInt8, _ hi: UInt8) -> UInt64 {
        let t = x & ~highs
        let atLeastLo = t &+ ones &* UInt64(0x80 &- lo)
        let aboveHi = t &+ ones &* UInt64(0x7F &- hi)
        return atLeastLo & ~aboveHi & ~x & highs
    }

    /// ASCII A-Z lowercased in each byte, every other byte as it is.
    @inline(__always)
    static func lowercased(_ x: UInt64) -> UInt64 { x | (inRange(x, 0x41, 0x5A) >> 2) }
}

struct TokenArraySink: TermSink {
    var tokens: [Token] = []

    mutating func reserve(bytes: Int) { tokens.reserveCapacity(bytes / 6) }

    mutating func ascii(_ bytes: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind) {
        tokens.append(Token(term: TextNormalizer.asciiLowercased(bytes), position: position, start: start, end: end, kind: kind))
    }

    mutating func asIs(_ bytes: UnsafeBufferPointer<UInt8>, position: Int, start: Int, end: Int, kind: Token.Kind) {
        tokens.append(Token(term: String(decoding: bytes, as: UTF8.self), position: position, start: start, end: end, kind: kind))
    }

    mutating func normalized(_ term: String, folded: String?, position: Int, start: Int, end: Int, kind: Token.Kind) {
        tokens.append(Token(term: term, folded: folded, position: position, start: start, end: end, kind: kind))
    }
}

/// Collects the ranges of tokens whose term (or folded variant) a predicate accepts.
struct MatchSink: TermSink {
    let wanted: (UnsafeBufferPointer<UInt8>) -> Bool
    var ranges: [Range<Int>] = []
    /// An ASCII token's lowercased bytes (tokens are at most a few hundred bytes; longer ones
    /// grow it).
    var lower: [UInt8] = []

    init(wanted: @escaping (UnsafeBufferPointer<UInt8>) -> Bool) {
        self.wanted = wanted
    }

    mutating func reserve(bytes: Int) {}

    mutating func ascii(_ bytes: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind) {
        lower.removeAll(keepingCapacity: true)
        for b in bytes { lower.append((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b) }
        if lower.withUnsafeBufferPointer(wanted) { ranges.append(start..<end) }
    }

    mutating func asIs(_ bytes: UnsafeBufferPointer<UInt8>, position: Int, start: Int, end: Int, kind: Token.Kind) {
        if wanted(bytes) { ranges.append(start..<end) }
    }

    mutating func normalized(_ term: String, folded: String?, position: Int, start: Int, end: Int, kind: Token.Kind) {
        var t = term
        if t.withUTF8(wanted) {
            ranges.append(start..<end)
            return
        }
        if var f = folded, f.withUTF8(wanted) { ranges.append(start..<end) }
    }
}

/// Memory that grows and is reused: appends write through a pointer (no uniqueness or
/// capacity checks of an array per term). Owned by one analyzer, used by one thread.
struct ScratchBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    /// Empties the buffer; one that grew past `keep` elements (a huge text) goes back to
    /// `keep`, so an analyzer does not hold its largest text's worth for good.
    mutating func removeAll(keep: Int) {
        count = 0
        if capacity > keep {
            deallocate()
            capacity = max(16, keep)
            base = .allocate(capacity: capacity)
        }
    }

    @inline(__always) mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    @inline(never) private mutating func grow(_ extra: Int) {
        var c = capacity * 2
        while c < count + extra { c *= 2 }
        let p = UnsafeMutablePointer<Element>.allocate(capacity: c)
        p.update(from: base, count: count)
        deallocate()
        base = p
        capacity = c
    }

    @inline(__always) mutating func append(_ x: Element) {
        if count == capacity { grow(1) }
        base[count] = x
        count += 1
    }

    /// Appends `n` elements written by `body` into the space it is given (`n + slack`
    /// elements: what it writes past the `n` is not kept).
    @inline(__always) mutating func append(count n: Int, slack: Int = 0, _ body: (UnsafeMutablePointer<Element>) -> Void) {
        reserve(n + slack)
        body(base + count)
        count += n
    }

    func array() -> [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// The elements (valid until the next append or removal).
    var elements: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    @inline(__always) subscript(i: Int) -> Element {
        get {
            precondition(i >= 0 && i < count)
            return base[i]
        }
        set {
            precondition(i >= 0 && i < count)
            base[i] = newValue
        }
    }
}

/// The indexing sink's buffers: terms (bytes, ends, positions) and spans. An analyzer keeps
/// one set and lends it to each analysis (see `Analyzer.termBuffers`).
struct TermBuffers {
    var bytes = ScratchBuffer<UInt8>(capacity: 1 << 16)
    var ends = ScratchBuffer<UInt32>(capacity: 1 << 13)
    var positions = ScratchBuffer<UInt32>(capacity: 1 << 13)
    var spans = ScratchBuffer<Analyzer.TokenSpan>(capacity: 1 << 13)

    /// Empties the term buffers, keeping up to 1 MiB of text's worth of each (~11 MiB in all
    /// with the spans, which stay until the next text).
    mutating func removeAllButSpans() {
        bytes.removeAll(keep: 1 << 20)
        ends.removeAll(keep: 1 << 18)
        positions.removeAll(keep: 1 << 18)
    }

    func deallocate() {
        bytes.deallocate()
        ends.deallocate()
        positions.deallocate()
        spans.deallocate()
    }
}

struct TermListSink: TermSink {
    /// The terms and spans go to the analyzer's buffers (held here while the analysis runs);
    /// the rare variants and the counters to `result`.
    var buffers: TermBuffers
    var result = Analyzer.IndexedText()

    /// Copies the terms out (the spans stay in the buffers).
    func finish() -> Analyzer.IndexedText {
        var r = result
        r.terms = TermList(bytes: buffers.bytes.array(), ends: buffers.ends.array(), positions: buffers.positions.array())
        return r
    }

    mutating func reserve(bytes n: Int) {}

    @inline(__always)
    private mutating func note(_ position: Int, _ start: Int, _ end: Int, overlong long: Bool) {
        result.lastPosition = position
        buffers.spans.append(Analyzer.TokenSpan(start: start, end: end, overlong: long))
        if long { result.overlong = true }
    }

    /// Past 4 GiB of term bytes a field takes no more terms (ends are 32-bit).
    @inline(__always)
    private func fits(_ n: Int) -> Bool { buffers.bytes.count + n <= Int(UInt32.max) }

    @inline(__always)
    private mutating func appendTerm(_ term: UnsafeBufferPointer<UInt8>, position: Int, lowercasingASCII: Bool) {
        guard fits(term.count) else { return }
        let n = term.count
        if n > 0, let src = term.baseAddress {
            buffers.bytes.append(count: n) { out in
                if lowercasingASCII {
                    for i in 0..<n {
                        let b = src[i]
                        out[i] = b &+ ((b &- 0x41) < 26 ? 0x20 : 0)
                    }
                } else {
                    out.update(from: src, count: n)
                }
            }
        }
        buffers.ends.append(UInt32(buffers.bytes.count))
        buffers.positions.append(UInt32(clamping: position))
    }

    mutating func ascii(_ term: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind) {
        let long = term.count > Analyzer.maxIndexedTermBytes
        note(position, start, end, overlong: long)
        guard !long else { return }
        let n = term.count
        guard n > 0, let src = term.baseAddress, fits(n + 8), n >= 8 || readable >= 8 else {
            appendTerm(term, position: position, lowercasingASCII: true)
            return
        }
        // Lowercased eight bytes at a time: a term under eight bytes reads the text after it
        // and writes past itself into the buffer's slack (overwritten by the next term); a
        // longer one ends with eight bytes that overlap the last whole eight (the same bytes
        // written again).
        buffers.bytes.append(count: n, slack: 8) { out in
            let from = UnsafeRawPointer(src), to = UnsafeMutableRawPointer(out)
            var i = 0
            repeat {
                let at = min(i, max(0, n - 8))
                to.storeBytes(of: SWAR.lowercased(from.loadUnaligned(fromByteOffset: at, as: UInt64.self)), toByteOffset: at, as: UInt64.self)
                i += 8
            } while i < n
        }
        buffers.ends.append(UInt32(buffers.bytes.count))
        buffers.positions.append(UInt32(clamping: position))
    }

    mutating func simpleWord(_ term: UnsafeBufferPointer<UInt8>, readable: Int, position: Int, start: Int, end: Int, kind: Token.Kind) {
        let n = term.count
        guard n <= 8, readable >= 8, let src = term.baseAddress, fits(8) else {
            ascii(term, readable: readable, position: position, start: start, end: end, kind: kind)
            return
        }
        note(position, start, end, overlong: false)
        // Eight bytes copied at once (the text after the word read too, and written past the
        // term where the buffer has room for it; the next term overwrites them), the first
        // lowercased: the rest are lowercase letters and digits already.
        buffers.bytes.append(count: n, slack: 8 - n) { out in
            let x = UnsafeRawPointer(src).loadUnaligned(as: UInt64.self)
            UnsafeMutableRawPointer(out).storeBytes(of: x, as: UInt64.self)
            let b = out[0]
            out[0] = b &+ ((b &- 0x41) < 26 ? 0x20 : 0)
        }
        buffers.ends.append(UInt32(buffers.bytes.count))
        buffers.positions.append(UInt32(clamping: position))
    }

    mutating func asIs(_ term: UnsafeBufferPointer<UInt8>, position: Int, start: Int, end: Int, kind: Token.Kind) {
        let long = term.count > Analyzer.maxIndexedTermBytes
        note(position, start, end, overlong: long)
        if !long { appendTerm(term, position: position, lowercasingASCII: false) }
    }

    mutating func normalized(_ term: String, folded: String?, position: Int, start: Int, end: Int, kind: Token.Kind) {
        let long = term.utf8.count > Analyzer.maxIndexedTermBytes
        note(position, start, end, overlong: long)
        guard !long else { return }
        var t = term
        t.withUTF8 { appendTerm($0, position: position, lowercasingASCII: false) }
        if let folded, folded.utf8.count <= Analyzer.maxIndexedTermBytes {
            result.variants.append(folded, position: UInt32(clamping: position))
        }
    }
}

extension String {
    /// U+2019 (right single quotation mark, the typographic apostrophe) → U+0027.
    func replacingApostrophes() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\u{2019}" ? "'" : $0 }))
    }
}
