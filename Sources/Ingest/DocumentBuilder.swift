import Analysis
import IndexEngine
import MailsiftCore
import MIME

/// A parsed message → the engine's document: analyzed terms per field (each token's term and,
/// when different, its diacritic-folded form at the same position), stored text and values.
public enum DocumentBuilder {
    static let indexedHeaders: Set<String> = [
        "reply-to", "sender", "list-id", "list-post", "organization", "x-mailer", "user-agent", "keywords", "comments",
        "resent-from", "resent-to", "x-original-to", "delivered-to", "mailing-list",
    ]

    /// The term a field gets when part of its text has no terms (see `build`): U+0001, which
    /// the analyzer never emits.
    public static let unindexedMarker = "\u{1}"
    /// The term of a body or attachment text whose text without terms is kept in the
    /// `unindexed` stored field: substring search checks those bytes, not the whole text.
    public static let unindexedRunsMarker = "\u{2}"
    /// Largest `unindexed` field; past it the body gets the plain marker.
    static let maxUnindexedBytes = 1 << 20

    /// Whether folding the text could produce letters or digits that are in no term: a
    /// character the fold removes (zero-width space, soft hyphen: "vi\u{200B}agra" folds to
    /// "viagra") or one outside words that folds to letters or digits ("CO₂" → "co2", "™").
    static func hasFoldHazards(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { buf -> Bool in
            guard let base = buf.baseAddress else { return false }
            let raw = UnsafeRawPointer(base)
            let n = buf.count
            var i = 0
            while i < n {
                // Eight ASCII bytes at a time (no ASCII character is a hazard); a non-ASCII
                // scalar is decoded from its lead byte (a String's bytes are valid UTF-8).
                if i + 8 <= n, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                    continue
                }
                let b0 = UInt32(base[i])
                if b0 < 0x80 {
                    i += 1
                    continue
                }
                let width = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1
                guard width > 1, i + width <= n else {
                    i += 1
                    continue
                }
                var v = b0 & (0x7F >> UInt32(width))
                for k in 1..<width { v = v << 6 | UInt32(base[i + k] & 0x3F) }
                if let scalar = Unicode.Scalar(v), foldHazard(scalar) { return true }
                i += width
            }
            return false
        }
    }

    /// `isFoldHazard`, from a table for the Basic Multilingual Plane.
    @inline(__always)
    static func foldHazard(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        guard v < 0x10000 else { return isFoldHazard(scalar) }
        return bmpFoldHazards[Int(v >> 6)] >> UInt64(v & 63) & 1 != 0
    }

    /// `isFoldHazard` of every BMP character, a bit each (8 KiB), built on first use (~10-20 ms):
    /// the checks looked up Unicode properties (and for symbols an ICU fold) per non-ASCII
    /// character of every text, 3% of a bulk reindex of mail with other languages in it.
    /// Unassigned and private-use characters fold to themselves (no ICU call for them).
    static let bmpFoldHazards: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: 0x10000 / 64)
        for v in UInt32(0x80)..<0x10000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let p = s.properties
            if !p.isDefaultIgnorableCodePoint, p.generalCategory == .unassigned || p.generalCategory == .privateUse { continue }
            if isFoldHazard(s, fold: { TextNormalizer.caseFold(String($0)) }) { bits[Int(v >> 6)] |= 1 << UInt64(v & 63) }
        }
        return bits
    }()

    /// A character the fold removes, or one outside words that folds to letters or digits.
    /// (`fold`: the cached fold of one character by default; the table above folds uncached.)
    static func isFoldHazard(_ scalar: Unicode.Scalar, fold: (Unicode.Scalar) -> String = TextNormalizer.caseFold) -> Bool {
        let p = scalar.properties
        if p.isDefaultIgnorableCodePoint { return true }
        if p.isAlphabetic || p.isWhitespace { return false }
        switch p.generalCategory {
        case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark: return false
        default: break
        }
        return fold(scalar).unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }

    /// UTF-8 ranges of the text around fold hazards: each hazard's run of characters between
    /// ASCII whitespace (a word-shaped key using what a hazard folds to, or joined across a
    /// character that folds away, lies within such a run).
    static func hazardRuns(_ bytes: UnsafeBufferPointer<UInt8>, _ text: String) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var offset = 0
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            if scalar.value >= 0x80, foldHazard(scalar) {
                var a = offset, b = offset + width
                if let last = out.last, a < last.1 { offset += width; continue }  // inside the previous run
                while a > 0, !isASCIIWhitespace(bytes[a - 1]) { a -= 1 }
                while b < bytes.count, !isASCIIWhitespace(bytes[b]) { b += 1 }
                out.append((a, b))
            }
            offset += width
        }
        return out
    }

    static func isASCIIWhitespace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C || c == 0x0B }

    public static func build(_ doc: MailDocument, id: Int64, mailbox: Int64, uid: Int64, internalDate: Int64, size: Int64,
                      analyzer: Analyzer) -> IndexDocument {
        let body = (doc.body.map(\.text) + doc.alternatives.map(\.text)).joined(separator: "\n")
        let attachmentNames = doc.attachments.compactMap(\.filename).joined(separator: "\n")
        let attachmentText = doc.attachments.compactMap(\.text).joined(separator: "\n")
        // Other headers worth a word search: who and which list. Ids, dates, routing, MIME and
        // signature headers would fill the dictionary with unique terms nobody types (a third
        // of all postings on Enron); IMAP HEADER search on any field reads the stored header.
        let otherHeaders = doc.headers.filter { Self.isIndexedHeader($0.name) }.map(\.value).joined(separator: "\n")
        let texts: [(Field, String)] = [
            (.from, doc.from.display), (.to, doc.to.display), (.cc, doc.cc.display), (.bcc, doc.bcc.display),
            (.subject, doc.subject ?? ""), (.body, body), (.attachmentName, attachmentNames),
            (.attachmentText, attachmentText), (.headers, otherHeaders),
        ]
        // Header values on one line each: a decoded value may hold CR or LF, which would
        // otherwise forge or hide header lines for HEADER search.
        // Built as bytes, one String at the end (four String appends per header field were 1% of
        // an LKML index run).
        var headerBytes: [UInt8] = []
        headerBytes.reserveCapacity(doc.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 3 })
        for h in doc.headers {
            headerBytes.append(contentsOf: h.name.utf8)
            headerBytes.append(0x3A)
            headerBytes.append(0x20)
            Self.appendOneLine(h.value, to: &headerBytes)
            headerBytes.append(0x0A)
        }
        let allHeaders = String(decoding: headerBytes, as: UTF8.self)
        var sentDay = Int64.min
        if let d = doc.date {
            let local = d.secondsSinceEpoch + Int64(d.offsetMinutes) * 60
            sentDay = DocumentValues.day(ofSeconds: local)
        }
        var values = DocumentValues(id: id, internalDate: internalDate, sentDate: doc.date?.secondsSinceEpoch ?? 0,
                                    size: size, mailbox: mailbox, uid: uid, sentDay: sentDay, attachments: Int64(doc.attachments.count))
        return build(texts: texts, storedHeaders: allHeaders, values: &values, analyzer: analyzer)
    }

    static func oneLine(_ value: String) -> String {
        // Through the contiguous bytes: iterating the UTF8View took 2% of an LKML index run.
        var copy = value
        guard copy.withUTF8({ Self.lineBreak(in: $0) }) else { return value }
        var bytes: [UInt8] = []
        appendOneLine(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the value's bytes with CR and LF as spaces (one-byte scalars: replacing the
    /// bytes replaces the characters).
    static func appendOneLine(_ value: String, to out: inout [UInt8]) {
        var copy = value
        copy.withUTF8 { b in
            guard Self.lineBreak(in: b) else {
                out.append(contentsOf: b)
                return
            }
            for c in b { out.append(c == 0x0A || c == 0x0D ? 0x20 : c) }
        }
    }

    /// Whether the bytes hold CR or LF, eight bytes at a time.
    @inline(__always)
    static func lineBreak(in b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i + 8 <= b.count {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let lf = w ^ (0x0A * ones), cr = w ^ (0x0D * ones)
            // A zero byte in either (the classic has-zero-byte test; exact when it says none).
            if ((lf &- ones) & ~lf | (cr &- ones) & ~cr) & highs != 0 {
                for k in i..<(i + 8) where b[k] == 0x0A || b[k] == 0x0D { return true }
            }
            i += 8
        }
        while i < b.count {
            if b[i] == 0x0A || b[i] == 0x0D { return true }
            i += 1
        }
        return false
    }

    /// `indexedHeaders.contains(name.lowercased())` without a String per header field: an
    /// ASCII name is lowercased into two words and compared with the names packed the same
    /// way; other names (rare) take the String path, whose Unicode lowercasing they need.
    static func isIndexedHeader(_ name: String) -> Bool {
        var copy = name
        let packed = copy.withUTF8 { Self.packedLowercaseASCII($0) }
        guard let packed else {
            var ascii = true
            for c in name.utf8 where c >= 0x80 { ascii = false; break }
            return ascii ? false : indexedHeaders.contains(name.lowercased())
        }
        for key in packedIndexedHeaders where key == packed { return true }
        return false
    }

    /// Up to 16 ASCII bytes lowercased into two little-endian words, with the length; nil
    /// for longer or non-ASCII names.
    static func packedLowercaseASCII(_ b: UnsafeBufferPointer<UInt8>) -> PackedName? {
        guard b.count <= 16 else { return nil }
        var words: (UInt64, UInt64) = (0, 0)
        for (k, c) in b.enumerated() {
            guard c < 0x80 else { return nil }
            let lower = UInt64(c &+ ((c &- 0x41) < 26 ? 0x20 : 0))
            if k < 8 { words.0 |= lower << UInt64(8 * k) } else { words.1 |= lower << UInt64(8 * (k - 8)) }
        }
        return PackedName(low: words.0, high: words.1, count: b.count)
    }

    struct PackedName: Equatable {
        var low: UInt64
        var high: UInt64
        var count: Int
    }

    static let packedIndexedHeaders: [PackedName] = indexedHeaders.compactMap { name in
        var copy = name
        return copy.withUTF8 { packedLowercaseASCII($0) }
    }

    /// The text between tokens (and of tokens too long to keep) that holds a letter, digit or
    /// any non-ASCII character, and (`hazards`) the runs around fold hazards, one run a line;
    /// nil past `maxUnindexedBytes`. A key made of word characters that is in no token's term
    /// can only occur in these runs.
    static func unindexedRuns(_ text: String, _ tokens: [Analyzer.TokenSpan], hazards: Bool) -> String? {
        var out: [UInt8] = []
        var utf8 = text
        return utf8.withUTF8 { bytes -> String? in
            func add(_ a: Int, _ b: Int) -> Bool {
                guard a < b, b <= bytes.count else { return true }
                var wordy = false
                for i in a..<b {
                    let c = bytes[i]
                    if c >= 0x80 || (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) { wordy = true; break }
                }
                guard wordy else { return true }
                out.append(contentsOf: bytes[a..<b])
                out.append(0x0A)
                return out.count <= maxUnindexedBytes
            }
            var previous = 0
            for t in tokens.sorted(by: { $0.start < $1.start }) {
                if t.start > previous, !add(previous, t.start) { return nil }
                if t.overlong, !add(t.start, t.end) { return nil }
                previous = max(previous, t.end)
            }
            if !add(previous, bytes.count) { return nil }
            if hazards {
                for (a, b) in hazardRuns(bytes, text) where !add(a, b) { return nil }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Text a client extracted itself (Dovecot's Solr documents) → the engine's document. The
    /// stored header text starts with the message's own From/To/Cc/Bcc/Subject lines (those
    /// present), then an empty line, then the client's header lines, which also hold the
    /// headers of MIME parts and attached messages: "has a Subject header" reads only the
    /// first block (`QueryEngine` stops at the empty line).
    public static func build(_ m: ExtractedMessage, id: Int64, mailbox: Int64, uid: Int64, internalDate: Int64,
                             analyzer: Analyzer) -> IndexDocument {
        let own: [(String, String?)] = [("From", m.from), ("To", m.to), ("Cc", m.cc), ("Bcc", m.bcc), ("Subject", m.subject)]
        var headers = ""
        for (name, value) in own {
            guard let value else { continue }
            headers += name + ": " + Self.oneLine(value) + "\n"
        }
        headers += "\n"
        var indexed: [String] = []
        for line in m.headers.split(separator: "\n", omittingEmptySubsequences: true) {
            headers += Self.oneLine(String(line)) + "\n"
            if let colon = line.firstIndex(of: ":"), Self.indexedHeaders.contains(line[..<colon].lowercased()) {
                indexed.append(String(line[line.index(after: colon)...]))
            }
        }
        let texts: [(Field, String)] = [
            (.from, m.from ?? ""), (.to, m.to ?? ""), (.cc, m.cc ?? ""), (.bcc, m.bcc ?? ""), (.subject, m.subject ?? ""),
            (.body, m.body), (.headers, indexed.joined(separator: "\n")),
        ]
        let size = texts.reduce(0) { $0 + $1.1.utf8.count } + m.headers.utf8.count
        var values = DocumentValues(id: id, internalDate: internalDate, sentDate: 0, size: Int64(size), mailbox: mailbox, uid: uid)
        return build(texts: texts, storedHeaders: headers, values: &values, analyzer: analyzer)
    }

    static func build(texts: [(Field, String)], storedHeaders allHeaders: String, values: inout DocumentValues,
                      analyzer: Analyzer) -> IndexDocument {
        let id = values.id
        var fields: [IndexDocument.FieldTerms] = []
        var bodyLength: Int64 = 0
        var unindexedRuns: String?
        for (field, text) in texts where !text.isEmpty {
            let before = analyzer.stats
            // Terms straight into lists (no Token or String per term). The engine keeps terms
            // up to 255 bytes; folding can lengthen a word past it (`overlong`).
            var analyzed = analyzer.indexTerms(text)
            if field == .body, let last = analyzed.lastPosition { bodyLength = Int64(last + 1) }
            // Text whose folded form has no term to be found in (words over 64 bytes, base64
            // and PGP runs, characters between words that fold to letters or vanish) would be
            // missed by IMAP substring search through the dictionary: the field gets the
            // marker term, and substring search always checks such messages' stored text.
            let after = analyzer.stats
            let dropped = analyzed.overlong || after.longTokens != before.longTokens || after.noiseBytes != before.noiseBytes
            let hazards = Self.hasFoldHazards(text)
            if dropped || hazards {
                // The body and attachment text (what IMAP BODY searches) keep the runs without
                // terms: a word-shaped key found in no term can only be in them.
                if field == .body || field == .attachmentText, let runs = Self.unindexedRuns(text, analyzer.lastSpans(), hazards: hazards),
                   (unindexedRuns?.utf8.count ?? 0) + runs.utf8.count <= Self.maxUnindexedBytes {
                    analyzed.terms.append(Self.unindexedRunsMarker, position: 0)
                    unindexedRuns = (unindexedRuns ?? "") + runs
                } else {
                    analyzed.terms.append(Self.unindexedMarker, position: 0)
                }
            }
            fields.append(IndexDocument.FieldTerms(field: field, list: analyzed.terms))
            if !analyzed.variants.isEmpty { fields.append(IndexDocument.FieldTerms(field: field, list: analyzed.variants, variants: true)) }
        }
        // Stored: every field as text for snippets and exact substring checks; for headers,
        // all of them (IMAP HEADER and TEXT search any header), decoded, one per line.
        var stored: [(field: Field, text: String)] = texts.filter { !$0.1.isEmpty && $0.0 != .headers }.map { (field: $0.0, text: $0.1) }
        // Stored after the subject and before the body: the writer cuts a document over its
        // 16 MiB block limit from the end, and a huge body must not take the headers with it.
        if !allHeaders.isEmpty {
            let at = stored.firstIndex { $0.field == .body || $0.field == .attachmentName || $0.field == .attachmentText } ?? stored.count
            stored.insert((.headers, allHeaders), at: at)
        }
        if let runs = unindexedRuns {
            let at = stored.firstIndex { $0.field == .body || $0.field == .attachmentName || $0.field == .attachmentText } ?? stored.count
            stored.insert((.unindexed, runs), at: at)
        }
        values.bodyLength = bodyLength
        return IndexDocument(id: id, fields: fields, stored: stored, values: values)
    }
}
