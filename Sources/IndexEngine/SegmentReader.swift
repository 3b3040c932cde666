import IndexFormat
import MailsiftCore
import Synchronization

/// One segment, memory-mapped and checked: immutable, shared by every query and thread.
public final class SegmentReader: Sendable {
    public let name: String
    public let documentCount: UInt32
    let files: [MappedFile]
    public let terms: TermDictionary
    public let postings: PostingsReader
    public let stored: StoredFieldsReader
    public let values: DocValuesReader
    /// For each of `DocumentValues.columns`, its index in this segment's values (nil: absent).
    let columnMap: [Int?]
    /// Decoded value columns, by column, built on first use: a query filtering on dates,
    /// sizes, mailboxes or UIDs reads an array instead of unpacking a value per document.
    private let columns = Locked<[Int: [Int64]]>([:])

    /// Every document's value of `column` (8 bytes a document, kept with the segment).
    public func column(_ column: DocumentValues.Column) throws(MailsiftError) -> [Int64] {
        if let c = columns.withLock({ $0[column.rawValue] }) { return c }
        var out: [Int64] = []
        out.reserveCapacity(Int(documentCount))
        for d in 0..<documentCount { out.append(try value(column, d)) }
        columns.withLock { $0[column.rawValue] = out }
        return out
    }

    /// The mean body length of the segment's documents (for BM25), at least 1.
    public func meanBodyLength() throws(MailsiftError) -> Double {
        if let m = meanBody.withLock({ $0 }) { return m }
        let lengths = try column(.bodyLength)
        // Summed as Double: damaged values must not overflow an integer sum.
        let m = lengths.isEmpty ? 1 : max(1, lengths.reduce(0.0) { $0 + Double(max(0, $1)) } / Double(lengths.count))
        meanBody.withLock { $0 = m }
        return m
    }

    private let meanBody = Locked<Double?>(nil)

    /// BM25's body-length normalization per document, inverted: `1 / (1 - b + b·len/avg)`
    /// (a document without a length counts as average), computed once per segment and `b`.
    public func inverseBodyNorms(b: Double) throws(MailsiftError) -> [Double] {
        if let c = bodyNorms.withLock({ $0 }), c.b == b { return c.norms }
        let average = try meanBodyLength()
        let norms = try column(.bodyLength).map { len -> Double in
            let l = len > 0 ? Double(len) : average
            return 1 / (1 - b + b * l / average)
        }
        bodyNorms.withLock { $0 = (b, norms) }
        return norms
    }

    private let bodyNorms = Locked<(b: Double, norms: [Double])?>(nil)

    /// One posting list of a query term as ranking sums it: `freq × weight`, times the
    /// document's inverse body-length norm when `normed`.
    public struct WindowSource: Hashable, Sendable {
        public var info: TermPostingsInfo
        public var weight: Double
        public var normed: Bool

        public init(info: TermPostingsInfo, weight: Double, normed: Bool) {
            self.info = info
            self.weight = weight
            self.normed = normed
        }
    }

    /// For one query term's posting lists (its fields, in the ranking's order), per window of
    /// 128 documents (`doc >> 7`): an upper bound of the per-document sum of their
    /// `freq × weight (× norm)`, added in that order and rounded up; 0 where none occurs.
    /// Ranking uses it to skip windows that cannot reach the top of a page (block-max
    /// pruning). The sum per document, not a sum of each list's own maxima: for a word in most
    /// messages' subjects and bodies those put every window near the top score. One pass over
    /// the lists, kept with the segment (up to 4 Mi bounds, 16 MiB, then the cache starts
    /// over); `checkpoint` runs before each list (a query's deadline).
    public func windowMaxima(_ sources: [WindowSource], b: Double,
                             checkpoint: () throws(MailsiftError) -> Void = {}) throws(MailsiftError) -> [Float] {
        let key = WindowKey(sources: sources, b: b)
        if let m = windowCache.withLock({ $0.value(key) }) { return m }
        let out = Self.windowBounds(try frequencySums(sources, b: b, checkpoint: checkpoint))
        windowCache.withLock { $0.keep(key, out) }
        return out
    }

    /// Per window of 128 documents, the largest of their sums, rounded up.
    static func windowBounds(_ tf: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: (tf.count + 127) >> 7)
        for d in 0..<tf.count where tf[d] > 0 {
            let f = Float(tf[d]).nextUp  // rounded up: a bound, never below the exact sum
            if f > out[d >> 7] { out[d >> 7] = f }
        }
        return out
    }

    /// A document and its sum of a query term's `freq × weight (× norm)` (see `windowMaxima`).
    public struct RankedDocument: Sendable, Equatable {
        public var doc: UInt32
        public var sum: Double

        public init(doc: UInt32, sum: Double) {
            self.doc = doc
            self.sum = sum
        }
    }

    /// The segment's `depth` documents with the largest sums of one query term's
    /// `freq × weight (× norm)` over its posting lists (added in the lists' order, as ranking
    /// adds them), largest first, a later document first among equal sums; documents without
    /// the term are not listed. For a one-word query BM25 orders a segment's matches by this
    /// sum alone (the word's idf and saturation are the same increasing function for all of
    /// them), so a page is read off the list: a champion list, exact. One pass over the lists,
    /// kept with the segment (up to 256 Ki entries, 4 MiB, then the cache starts over).
    public func topDocuments(_ sources: [WindowSource], b: Double, depth: Int,
                             checkpoint: () throws(MailsiftError) -> Void = {}) throws(MailsiftError) -> [RankedDocument] {
        let windowKey = WindowKey(sources: sources, b: b)
        let key = TopKey(sums: windowKey, depth: depth)
        if let t = topCache.withLock({ $0.value(key) }) { return t }
        let tf = try frequencySums(sources, b: b, checkpoint: checkpoint)
        // The window bounds from the same sums, for a page the list cannot decide.
        let bounds = Self.windowBounds(tf)
        windowCache.withLock { $0.keep(windowKey, bounds) }
        let ranked = (0..<tf.count).lazy.filter { tf[$0] > 0 }.map { RankedDocument(doc: UInt32($0), sum: tf[$0]) }
        let out = firstElements(max(1, depth), of: ranked) { ($0.sum, $0.doc) > ($1.sum, $1.doc) }
        topCache.withLock { $0.keep(key, out) }
        return out
    }

    /// Per document, the sum of `freq × weight (× norm)` over `sources`, in their order.
    private func frequencySums(_ sources: [WindowSource], b: Double,
                               checkpoint: () throws(MailsiftError) -> Void) throws(MailsiftError) -> [Double] {
        let count = Int(documentCount)
        var tf = [Double](repeating: 0, count: count)
        let docs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)
        let freqs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)
        defer {
            docs.deallocate()
            freqs.deallocate()
        }
        for source in sources {
            try checkpoint()
            let norms = source.normed ? try inverseBodyNorms(b: b) : []
            do {
                var it = try postings.iterator(source.info)
                while true {
                    let n = try it.nextBlock(into: docs, freqs: freqs)
                    if n == 0 { break }
                    for j in 0..<n {
                        let d = Int(docs[j])
                        guard d < count else { throw MailsiftError(.corrupt, "segment \(name): doc \(d) beyond \(count)") }
                        let scale = source.normed ? source.weight * (d < norms.count ? norms[d] : 1) : source.weight
                        tf[d] += scale * Double(freqs[j])
                    }
                }
            } catch let e as MailsiftError {
                throw e
            } catch {
                throw MailsiftError(.corrupt, "segment \(name): \(error)")
            }
        }
        return tf
    }

    struct TopKey: Hashable {
        var sums: WindowKey
        var depth: Int
    }

    private let topCache = Locked(CappedCache<TopKey, [RankedDocument]>(capacity: 256 << 10))

    /// How many champion lists the segment keeps.
    public var keptTopLists: Int { topCache.withLock { $0.count } }

    struct WindowKey: Hashable {
        var sources: [WindowSource]
        var b: Double
    }

    private let windowCache = Locked(CappedCache<WindowKey, [Float]>(capacity: 4 << 20))

    /// A query word's documents in this segment (bit `d & 63` of word `d >> 6`, every field
    /// it is searched in, before deletions and filters), as `keepMatches` kept them.
    public func cachedMatches(_ key: String) -> [UInt64]? {
        matchCache.withLock { $0.value(key) }
    }

    /// Keeps a word's documents for the next query of it, when they are at least 1/32 of the
    /// segment (a common word: thousands of postings over several fields to decode, against a
    /// bitmap of `documentCount / 8` bytes). Up to 16 MiB of bitmaps a segment, then the cache
    /// starts over. The segment never changes, so what is kept stays exact.
    public func keepMatches(_ key: String, _ bits: [UInt64]) {
        var n = 0
        for w in bits { n += w.nonzeroBitCount }
        guard n >= Int(documentCount) / 32 else { return }
        matchCache.withLock { $0.keep(key, bits) }
    }

    /// How many words' matches are kept.
    public var keptMatches: Int { matchCache.withLock { $0.count } }

    private let matchCache = Locked(CappedCache<String, [UInt64]>(capacity: 2 << 20))

    /// A term key's dictionary entry (nil: absent), from the segment's memory of earlier
    /// lookups when it has one. A query word is looked up in every field it may be in, two
    /// keys a field, in every segment: against a large dictionary each is a block search and a
    /// scan of prefix-compressed keys, which common words repeat query after query. The
    /// segment never changes, so what is remembered stays exact; up to 16,384 keys a segment
    /// (about 1.5 MiB at most), then the memory starts over.
    public func lookup(_ key: [UInt8], hashes: TermKeyHashes) throws(IndexFormatError) -> TermPostingsInfo? {
        let k = LookupKey(bytes: key, hash: hashes.h1)
        if let known = lookups.withLock({ $0.cache.value(k) }) { return known }
        let info = try terms.lookup(key)
        lookups.withLock { l in
            l.cache.keep(k, info, cost: 1)
            l.searched += 1
        }
        return info
    }

    /// How many term keys the segment remembers the lookups of.
    public var rememberedLookups: Int { lookups.withLock { $0.cache.count } }

    /// A term key with its hash computed once (the term filter's).
    struct LookupKey: Hashable {
        var bytes: [UInt8]
        var hash: UInt64

        static func == (a: LookupKey, b: LookupKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
        func hash(into h: inout Hasher) { h.combine(hash) }
    }

    /// The remembered lookups, and how many searched the dictionary (not answered from
    /// memory): what decides when the term filter is worth building.
    private let lookups = Locked((cache: CappedCache<LookupKey, TermPostingsInfo?>(capacity: 16_384), searched: 0))

    /// The term filter (`TermFilter`), built once it pays; nil before that and for a segment
    /// too large for one. (A query holds on to it: fetching it takes the segment's lock.)
    ///
    /// Building it reads every key of the dictionary (~35 ns a key), a lookup without it
    /// searches a block (a few µs): so the filter waits until the segment has searched its
    /// dictionary `filterAfterLookups` times, the rent-or-buy rule, which costs at most twice
    /// the better choice made knowing the future. A one-shot `mailsift search` on a large
    /// segment (a 150,000-key dictionary: ~5 ms to build, ~36 keys a word) never builds one; a
    /// daemon builds it after a few dozen queries, and at once for a small segment.
    public func termFilter() -> TermFilter? {
        switch filterState.withLock({ $0 }) {
        case .built(let f): return f
        case .none: return nil
        case .notYet:
            guard lookups.withLock({ $0.searched }) >= filterAfterLookups else { return nil }
            let f = TermFilter(terms)
            filterState.withLock { $0 = f.map { .built($0) } ?? .none }
            return f
        }
    }

    enum FilterState: Sendable {
        case notYet, none
        case built(TermFilter)
    }

    private let filterState = Locked<FilterState>(.notYet)

    /// Dictionary searches before the term filter is built (see `termFilter()`): a 64th of
    /// the keys, none for a dictionary of up to 2,048.
    public var filterAfterLookups: Int { terms.termCount <= 2_048 ? 0 : terms.termCount / 64 }


    /// The documents of one mailbox as a bitmap (bit `d & 63` of word `d >> 6`), built once
    /// per mailbox from the mailbox column: a query scoped to mailboxes ORs words instead of
    /// testing every document.
    public func mailboxBitmap(_ mailbox: Int64) throws(MailsiftError) -> [UInt64] {
        if let b = mailboxBitmaps.withLock({ $0[mailbox] }) { return b }
        let boxes = try column(.mailbox)
        var bits = [UInt64](repeating: 0, count: (Int(documentCount) + 63) / 64)
        for (d, b) in boxes.enumerated() where b == mailbox { bits[d >> 6] |= 1 << UInt64(d & 63) }
        mailboxBitmaps.withLock { m in
            if m.count > 4_096 { m.removeAll() }  // bounded: a user with very many mailboxes rebuilds
            m[mailbox] = bits
        }
        return bits
    }

    private let mailboxBitmaps = Locked<[Int64: [UInt64]]>([:])

    /// The local doc holding catalog id `id`, if any (an index built on first use).
    public func doc(forID id: Int64) throws(MailsiftError) -> UInt32? {
        if let m = idIndex.withLock({ $0 }) { return m[id] }
        var m: [Int64: UInt32] = [:]
        m.reserveCapacity(Int(documentCount))
        for (d, x) in try column(.id).enumerated() { m[x] = UInt32(d) }
        idIndex.withLock { $0 = m }
        return m[id]
    }

    private let idIndex = Locked<[Int64: UInt32]?>(nil)

    /// Data a caller derives from this segment's immutable files (the query engine's folded
    /// unindexed runs), built once by the first caller that asks for `key` and kept with the
    /// segment. The builder runs outside the lock: two first callers may both build; one
    /// result is kept.
    public func derived<T: Sendable>(_ key: String, _ build: () throws(MailsiftError) -> T) throws(MailsiftError) -> T {
        if let hit = derivedData.withLock({ $0[key] }), let typed = hit as? T { return typed }
        let value = try build()
        derivedData.withLock { $0[key] = value as any Sendable }  // (an optional T is kept boxed, nil included)
        return value
    }

    private let derivedData = Locked<[String: any Sendable]>([:])

    /// Term texts built for substring search, by key byte.
    private let termTexts = Locked<[UInt8: TermText]>([:])

    /// Every term of one key byte (a field, or its variants) in dictionary order, as one
    /// buffer: term bytes each followed by a 0 byte, and where each starts. Substring search
    /// (IMAP) scans this with a vector byte search instead of decoding the dictionary's
    /// blocks; built on first use and kept with the segment (about 1.75× the field's term
    /// bytes, the trigram filter included).
    ///
    /// The trigram filter: per 1 KiB chunk of the buffer, 2,048 bits, one per hash of each
    /// 3 bytes starting in the chunk or in the 64 bytes after it. An occurrence of a needle of
    /// 3 bytes or more starting in a chunk has all its first 64 trigrams in that chunk's bits,
    /// so a chunk missing any of them holds no occurrence start and is not scanned (on LKML's
    /// body terms, a mailing-list word leaves a few percent of the chunks).
    public struct TermText: Sendable {
        public let bytes: [UInt8]
        public let starts: [UInt32]
        let filter: [UInt64]

        static let chunkShift = 10
        static let overlap = 64
        static let wordsPerChunk = 32  // 2,048 bits

        init(bytes: [UInt8], starts: [UInt32]) {
            self.bytes = bytes
            self.starts = starts
            let chunks = (bytes.count + (1 << Self.chunkShift) - 1) >> Self.chunkShift
            var filter = [UInt64](repeating: 0, count: chunks * Self.wordsPerChunk)
            if bytes.count >= 3 {
                bytes.withUnsafeBufferPointer { b in
                    filter.withUnsafeMutableBufferPointer { f in
                        for p in 0...(b.count - 3) {
                            let h = Self.hash(b[p], b[p + 1], b[p + 2])
                            let chunk = p >> Self.chunkShift
                            f[chunk * Self.wordsPerChunk + h >> 6] |= 1 << UInt64(h & 63)
                            if chunk > 0, p & ((1 << Self.chunkShift) - 1) < Self.overlap {
                                f[(chunk - 1) * Self.wordsPerChunk + h >> 6] |= 1 << UInt64(h & 63)
                            }
                        }
                    }
                }
            }
            self.filter = filter
        }

        /// The terms given (without their key byte), in order.
        init(terms: [[UInt8]]) {
            var bytes: [UInt8] = [], starts: [UInt32] = []
            for t in terms {
                starts.append(UInt32(truncatingIfNeeded: bytes.count))
                bytes += t
                bytes.append(0)
            }
            self.init(bytes: bytes, starts: starts)
        }

        @inline(__always) static func hash(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int {
            Int(((UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16) &* 0x9E37_79B1) >> 21)  // 11 bits
        }

        /// Indexes of the terms containing `needle` (no 0 byte in it), in order, at most
        /// `limit + 1` of them (so a caller can tell "more than limit").
        public func terms(containing needle: [UInt8], limit: Int) -> [Int] {
            guard !needle.isEmpty, !needle.contains(0) else { return needle.isEmpty ? Array(0..<(limit < starts.count ? limit + 1 : starts.count)) : [] }
            var out: [Int] = []
            let chunkSize = 1 << Self.chunkShift
            let chunks = filter.count / Self.wordsPerChunk
            // The needle's trigrams the filter can vouch for (the first 64).
            var grams: [Int] = []
            if needle.count >= 3 {
                for p in 0...min(needle.count - 3, Self.overlap - 1) { grams.append(Self.hash(needle[p], needle[p + 1], needle[p + 2])) }
            }
            bytes.withUnsafeBufferPointer { hay in
                needle.withUnsafeBufferPointer { nd in
                    // Occurrences starting in [lo, hi), one per term.
                    func scan(_ lo: Int, _ hi: Int) -> Bool {
                        var from = lo
                        let end = min(hay.count, hi + nd.count - 1)
                        let window = UnsafeBufferPointer(rebasing: hay[..<end])
                        while from < hi, let at = ByteSearch.firstIndex(of: nd, in: window, from: from), at < hi {
                            // The term holding offset `at`: the last start <= at.
                            var l = 0, h = starts.count
                            while l < h {
                                let mid = (l + h) / 2
                                if Int(starts[mid]) <= at { l = mid + 1 } else { h = mid }
                            }
                            let term = l - 1
                            if out.last != term { out.append(term) }
                            if out.count > limit { return false }
                            // Next term: one match per term is enough.
                            guard term + 1 < starts.count else { return false }
                            from = Int(starts[term + 1])
                        }
                        return true
                    }
                    guard !grams.isEmpty else { _ = scan(0, hay.count); return }
                    filter.withUnsafeBufferPointer { f in
                        // Whether chunk c's bits hold every trigram of the needle.
                        func mayHold(_ c: Int) -> Bool {
                            let base = c * Self.wordsPerChunk
                            return grams.allSatisfy { f[base + $0 >> 6] & (1 << UInt64($0 & 63)) != 0 }
                        }
                        var k = 0
                        while k < chunks {
                            // A run of chunks that may hold an occurrence start, scanned as one.
                            guard mayHold(k) else { k += 1; continue }
                            var e = k + 1
                            while e < chunks, mayHold(e) { e += 1 }
                            guard scan(k * chunkSize, min(hay.count, e * chunkSize)) else { return }
                            k = e + 1  // chunk e (if any) failed the test just above
                        }
                    }
                }
            }
            return out
        }

        /// The bytes of term `i`.
        public func term(_ i: Int) -> ArraySlice<UInt8> {
            let start = Int(starts[i])
            let end = i + 1 < starts.count ? Int(starts[i + 1]) - 1 : bytes.count - 1
            return bytes[start..<max(start, end)]
        }
    }

    /// The terms of key byte `keyByte` containing `needle` (IMAP's substring search), in
    /// dictionary order, as dictionary keys ([key byte] + term) with their entries; nil when
    /// more than `limit` terms do. An empty needle matches every term, one with a 0 byte none.
    ///
    /// Rent or buy: building the field's `TermText` reads every key and costs about four of
    /// the dictionary's own one-pass scans (`TermDictionary.terms(field:containing:limit:)`);
    /// a search of the built text is far cheaper than either. So the first
    /// `termTextAfterScans` searches of a key byte scan the dictionary, and the next one builds
    /// the text: a one-shot `mailsift search --imap` (or a daemon's first query of a user)
    /// pays a scan, a daemon's later queries the text.
    public func terms(_ keyByte: UInt8, containing needle: [UInt8], limit: Int) throws(MailsiftError) -> [([UInt8], TermPostingsInfo)]? {
        if needle.contains(0) { return [] }
        let scans = termTextScans.withLock { (counts: inout [UInt8: Int]) -> Int in
            let n = counts[keyByte, default: 0]
            if n < Self.termTextAfterScans, termTexts.withLock({ $0[keyByte] }) == nil {
                counts[keyByte] = n + 1
                return n
            }
            return Self.termTextAfterScans
        }
        if scans < Self.termTextAfterScans {
            let found: [([UInt8], TermPostingsInfo)]
            do { found = try terms.terms(field: keyByte, containing: needle, limit: limit == .max ? .max : limit + 1) } catch {
                throw dictionaryError(error)
            }
            if found.count > limit { return nil }
            return found.map { ([keyByte] + $0.0, $0.1) }
        }
        let text = try termText(keyByte)
        let found = text.terms(containing: needle, limit: limit)
        if found.count > limit { return nil }
        let keys = found.map { [keyByte] + text.term($0) }
        let infos: [TermPostingsInfo?]
        do { infos = try terms.lookupSorted(keys) } catch {
            throw dictionaryError(error)
        }
        var out: [([UInt8], TermPostingsInfo)] = []
        out.reserveCapacity(keys.count)
        for (k, info) in zip(keys, infos) { if let info { out.append((k, info)) } }
        return out
    }

    /// A damaged term dictionary, named by its file.
    private func dictionaryError(_ error: any Error) -> MailsiftError {
        MailsiftError(.corrupt, "\(files[0].path): \(error)")
    }

    /// Dictionary scans of a key byte before its `TermText` is built (see `terms(_:containing:limit:)`).
    public static let termTextAfterScans = 2

    private let termTextScans = Locked<[UInt8: Int]>([:])

    public func termText(_ keyByte: UInt8) throws(MailsiftError) -> TermText {
        if let t = termTexts.withLock({ $0[keyByte] }) { return t }
        var bytes: [UInt8] = []
        var starts: [UInt32] = []
        do {
            try terms.enumerateAll(field: keyByte) { key, _ in
                starts.append(UInt32(truncatingIfNeeded: bytes.count))
                // Through a typed pointer: appending the raw slice took the generic,
                // element-at-a-time path (a fifth of a cold IMAP substring search).
                if key.count > 1, let base = key.baseAddress {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self) + 1, count: key.count - 1))
                }
                bytes.append(0)
                return true
            }
        } catch {
            throw dictionaryError(error)
        }
        let t = TermText(bytes: bytes, starts: starts)
        termTexts.withLock { $0[keyByte] = t }
        return t
    }

    /// Opens and verifies every file of the segment (checksums, formats, sizes).
    /// Opens a segment's files. `verifyChecksums` sums every file against its footer (the
    /// default); without it only the framing is checked (see `FileFraming.open`).
    public convenience init(directory: String, entry: Manifest.SegmentEntry, verifyChecksums: Bool = true) throws(MailsiftError) {
        var files: [MappedFile] = []
        for (k, kind) in SegmentFiles.kinds.enumerated() {
            let path = SegmentFiles.path(directory, entry.name, kind)
            let file = try MappedFile(path: path)
            if k < entry.fileSizes.count, UInt64(file.bytes.count) != entry.fileSizes[k] {
                throw MailsiftError(.corrupt, "\(path): \(file.bytes.count) bytes, the manifest says \(entry.fileSizes[k])")
            }
            files.append(file)
        }
        try self.init(files: files, entry: entry, verifyChecksums: verifyChecksums)
    }

    /// A segment over its files' bytes, in `SegmentFiles.kinds` order (mapped or in memory).
    init(files: [MappedFile], entry: Manifest.SegmentEntry, verifyChecksums: Bool = true) throws(MailsiftError) {
        guard files.count == SegmentFiles.kinds.count else {
            throw MailsiftError(.corrupt, "segment \(entry.name): \(files.count) files, expected \(SegmentFiles.kinds.count)")
        }
        name = entry.name
        documentCount = entry.documentCount
        self.files = files
        func wrap<T>(_ k: Int, _ body: () throws(IndexFormatError) -> T) throws(MailsiftError) -> T {
            do { return try body() } catch {
                throw MailsiftError(.corrupt, "\(files[k].path): \(error)")
            }
        }
        let verify = verifyChecksums
        terms = try wrap(0) { () throws(IndexFormatError) in try TermDictionary(files[0].bytes, verifyChecksum: verify) }
        // Each postings file checked on its own, so an error names the right file.
        let v = PostingsFormat.version
        let docs = try wrap(1) { () throws(IndexFormatError) in try FileFraming.open(files[1].bytes, format: PostingsFormat.docsFormatName, supported: v...v, verifyChecksum: verify) }
        let pos = try wrap(2) { () throws(IndexFormatError) in try FileFraming.open(files[2].bytes, format: PostingsFormat.positionsFormatName, supported: PostingsFormat.positionsVersions,
                                                                                          verifyChecksum: verify) }
        postings = PostingsReader(unverifiedDocs: UnsafeRawBufferPointer(rebasing: files[1].bytes[docs.content]), docsBase: docs.content.lowerBound,
                                  positions: UnsafeRawBufferPointer(rebasing: files[2].bytes[pos.content]), positionsBase: pos.content.lowerBound,
                                  positionsVersion: pos.version)
        stored = try wrap(3) { () throws(IndexFormatError) in try StoredFieldsReader(files[3].bytes, verifyChecksum: verify) }
        values = try wrap(4) { () throws(IndexFormatError) in try DocValuesReader(files[4].bytes, verifyChecksum: verify) }
        // Columns by name; the first six have been there since version 1.
        let names = values.columnNames
        guard names.count >= 6, Array(names.prefix(6)) == Array(DocumentValues.columns.prefix(6)) else {
            throw MailsiftError(.corrupt, "\(files[4].path): columns \(names), expected \(DocumentValues.columns)")
        }
        columnMap = DocumentValues.columns.map { names.firstIndex(of: $0) }
        guard stored.documentCount == Int(entry.documentCount), values.documentCount == Int(entry.documentCount) else {
            throw MailsiftError(.corrupt, "segment \(entry.name): files disagree on the document count")
        }
    }

    /// The catalog id of a document of this segment.
    public func id(of doc: UInt32) throws(MailsiftError) -> Int64 {
        try value(.id, doc)
    }

    /// A per-document value (a column the segment predates reads as its default).
    public func value(_ column: DocumentValues.Column, _ doc: UInt32) throws(MailsiftError) -> Int64 {
        do {
            guard let c = columnMap[column.rawValue] else {
                let sent = column == .sentDay ? try value(.sentDate, doc) : 0
                return DocumentValues.defaultValue(column, sentDate: sent)
            }
            return DocumentValues.value(try values.value(column: c, doc: doc))
        } catch let e as MailsiftError {
            throw e
        } catch {
            throw MailsiftError(.corrupt, "\(files[4].path): \(error)")
        }
    }

    public var fileBytes: [(kind: String, bytes: Int)] {
        zip(SegmentFiles.kinds, files).map { ($0, $1.bytes.count) }
    }

    /// What one field takes in a segment.
    public struct FieldStatistics: Sendable {
        public var terms = 0
        public var postings: UInt64 = 0
        public var positions: UInt64 = 0
        public var docsBytes: UInt64 = 0
        public var positionsBytes: UInt64 = 0
        public init() {}
        public mutating func add(_ o: FieldStatistics) {
            terms &+= o.terms
            postings &+= o.postings
            positions &+= o.positions
            docsBytes &+= o.docsBytes
            positionsBytes &+= o.positionsBytes
        }
    }

    /// Per field (by id): terms, postings, positions, and the bytes its postings take in the
    /// docs and positions files (wrapping sums: damaged counts must not trap; `verify`
    /// checks the files themselves). Terms are written in key order, field by field, so a term's
    /// bytes run from its offset to the next written term's (singletons write no docs bytes).
    public func fieldStatistics() throws(MailsiftError) -> [UInt8: FieldStatistics] {
        var rows: [UInt8: FieldStatistics] = [:]
        var previousPositions: (field: UInt8, offset: UInt64)?
        var previousDocs: (field: UInt8, offset: UInt64)?
        do {
            try terms.enumerate(prefix: []) { key, info in
                guard let field = key.first else { return true }
                if let p = previousPositions { rows[p.field, default: .init()].positionsBytes &+= info.positionsOffset &- p.offset }
                if info.docFreq > 1 {
                    if let p = previousDocs { rows[p.field, default: .init()].docsBytes &+= info.docsOffset &- p.offset }
                    previousDocs = (field, info.docsOffset)
                }
                rows[field, default: .init()].terms &+= 1
                rows[field, default: .init()].postings &+= UInt64(info.docFreq)
                rows[field, default: .init()].positions &+= info.totalTermFreq
                previousPositions = (field, info.positionsOffset)
                return true
            }
        } catch {
            throw dictionaryError(error)
        }
        // The last term's bytes run to the end of the content.
        if let p = previousPositions { rows[p.field, default: .init()].positionsBytes &+= UInt64(postings.positions.count) &- p.offset }
        if let p = previousDocs { rows[p.field, default: .init()].docsBytes &+= UInt64(postings.docs.count) &- p.offset }
        return rows
    }
}
