import Foundation
import MIME
import Testing
import MailsiftCore
@testable import Analysis

/// Real non-English messages listed in ../shared/corpus/NON-ENGLISH.tsv: their text yields
/// words of their script, and each such word, typed as a query, gives tokens the message has.
@Suite struct NonEnglishMailTests {
    static let shared: URL? = {
        if let env = ProcessInfo.processInfo.environment["MAILSIFT_SHARED_CORPUS"] { return URL(fileURLWithPath: env) }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/corpus").standardizedFileURL
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    /// Rows of the list that come from its generator misreading a charset, checked by hand
    /// against the raw bytes: Mailsift's reading is the right one there.
    static let misListed: [String: (scripts: Set<String>, why: String)] = [
        "mime-fixtures/mailcore2/unittest/data/summary/input/5230-thai-chinese.eml":
            (["Han", "Cyrillic", "Greek", "Arabic", "Hebrew", "LatinExt"], "windows-874 Thai, which the generator's Python could not decode"),
        "spamassassin-public-corpus/spam_2/00006.3ca1f399ccda5d897fecb8c57669a283":
            (["Cyrillic", "Greek", "Arabic", "Hebrew"], "Big5 spam (label CHINESEBIG5); only its Han is real"),
        "csdmc2010-spam/TRAINING/TRAIN_00257.eml":
            (["LatinExt"], "UTF-8 NBSP (C2 A0) labelled ISO-8859-1: the 'Â' exists only in a Latin-1 misreading"),
        "csdmc2010-spam/TRAINING/TRAIN_01045.eml": (["LatinExt"], "0xFF bytes inside HTML markup, not visible text"),
        "spamassassin-public-corpus/spam_2/00297.6278795e285879c8623bf7ec329b966e": (["LatinExt"], "0xFF bytes inside HTML markup, not visible text"),
    ]

    static func rows() -> [(script: String, path: String)] {
        guard let shared, let tsv = try? String(contentsOf: shared.appendingPathComponent("NON-ENGLISH.tsv"), encoding: .utf8) else { return [] }
        return tsv.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t")
            guard f.count == 3, !line.hasPrefix("#"), f[0] != "script", !f[2].hasPrefix("lkml-linux-btrfs") else { return nil }
            if let why = Self.misListed[String(f[2])], why.scripts.contains(String(f[0])) { return nil }
            return (String(f[0]), String(f[2]))
        }
    }

    static func inScript(_ script: String, _ s: Unicode.Scalar) -> Bool {
        let v = s.value
        switch script {
        case "Han": return (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v)
        case "Kana": return (0x3040...0x30FF).contains(v)
        case "Hangul": return (0xAC00...0xD7AF).contains(v)
        case "Cyrillic": return (0x0400...0x04FF).contains(v)
        case "Greek": return (0x0370...0x03FF).contains(v)
        case "Hebrew": return (0x0590...0x05FF).contains(v)
        case "Arabic": return (0x0600...0x06FF).contains(v)
        case "Thai": return (0x0E00...0x0E7F).contains(v)
        case "LatinExt": return (0x00C0...0x024F).contains(v)
        default: return false
        }
    }

    @Test(.enabled(if: shared != nil, "../shared/corpus is not here"))
    func everyScriptYieldsSearchableWords() throws {
        let rows = Self.rows()
        #expect(rows.count > 300)
        let analyzer = Analyzer()
        var checkedWords = 0
        var scriptsSeen = Set<String>()
        for (script, path) in rows {
            guard let shared = Self.shared, let data = try? Data(contentsOf: shared.appendingPathComponent(path)) else { continue }
            let doc = MessageParser(limits: { var l = ParserLimits(); l.extractAttachments = false; return l }()).parse(Array(data))
            // What a search covers: headers (display names too), body, other alternatives, file names.
            let text = (doc.headers.map(\.value) + doc.body.map(\.text) + doc.alternatives.map(\.text)
                + doc.attachments.compactMap(\.filename)).joined(separator: "\n")
            let tokens = analyzer.tokens(text)
            let all = Set(tokens.map(\.term))
            let ofScript = tokens.filter { t in t.term.unicodeScalars.contains { Self.inScript(script, $0) } }
            #expect(!ofScript.isEmpty, "\(path): no \(script) words")
            if !ofScript.isEmpty { scriptsSeen.insert(script) }
            let bytes = Array(text.utf8)
            for t in ofScript.prefix(15) {
                // The offsets point at the word in the text.
                let source = String(decoding: bytes[t.start..<t.end], as: UTF8.self)
                let normalized = Array(source.utf8).withUnsafeBufferPointer { Analyzer.normalize($0) }
                #expect(normalized == t.term, "\(path): \(source) vs \(t.term)")
                // Typed as a query, the word gives tokens the message has.
                let q = analyzer.queryTokens(source)
                #expect(!q.isEmpty && q.allSatisfy { all.contains($0.term) }, "\(path): query \(source) → \(q.map(\.term))")
                checkedWords += 1
            }
        }
        #expect(scriptsSeen.isSuperset(of: ["Han", "Kana", "Hangul", "Cyrillic", "Greek", "Hebrew", "LatinExt"]))
        print("non-English mail: \(rows.count) messages, \(checkedWords) words checked as queries, scripts \(scriptsSeen.sorted())")
    }

    static func firstDifference(_ a: [String], _ b: [String]) -> String {
        if let (x, y) = zip(a, b).first(where: { $0 != $1 }) { return "\(x) vs \(y)" }
        return "\(a.count) vs \(b.count) items"
    }

    /// The indexing path (`indexTerms`: terms straight into term lists) gives exactly what
    /// `tokens` gives, token for token: each term and its folded variant at its position, the
    /// spans, the last position, and terms over 255 bytes left out. Over the non-English
    /// messages and SpamAssassin spam (HTML, long words, base64 runs), subjects and bodies.
    @Test(.enabled(if: shared != nil, "../shared/corpus is not here"))
    func indexTermsEqualTokens() throws {
        guard let shared = Self.shared else { return }
        var paths = Self.rows().map(\.path)
        let spam = shared.appendingPathComponent("spamassassin-public-corpus/spam_2").path
        paths += try FileManager.default.contentsOfDirectory(atPath: spam).sorted().prefix(300).map { "spamassassin-public-corpus/spam_2/" + $0 }
        let parser = MessageParser(limits: { var l = ParserLimits(); l.extractAttachments = false; return l }())
        let analyzer = Analyzer(), other = Analyzer()
        var texts = 0, tokensSeen = 0, variantsSeen = 0
        var spans: [Analyzer.TokenSpan] = []
        // Folding can lengthen a word past 255 bytes only through compatibility forms: one
        // made here (U+FDFA is 18 bytes folded, 3 raw: 15 of them stay under the 64-byte limit).
        let made = String(repeating: "\u{FDFA}", count: 15) + " ﬁnal Café"
        for path in Set(paths).sorted() {
            guard let data = FileManager.default.contents(atPath: shared.appendingPathComponent(path).path) else { continue }
            let doc = parser.parse(Array(data))
            for text in [doc.subject ?? "", doc.body.map(\.text).joined(separator: "\n"), made] where !text.isEmpty {
                texts += 1
                let tokens = other.tokens(text)
                let r = analyzer.indexTerms(text, spans: &spans)
                let terms = r.terms, variants = r.variants
                #expect(r.lastPosition == tokens.last?.position, "\(path)")
                let gotSpans = spans.map { "\($0.start) \($0.end) \($0.overlong)" }
                let expectedSpans = tokens.map { "\($0.start) \($0.end) \($0.term.utf8.count > 255)" }
                #expect(gotSpans == expectedSpans, "\(path): \(Self.firstDifference(gotSpans, expectedSpans))")
                let kept = tokens.filter { $0.term.utf8.count <= 255 }
                #expect(r.overlong == (kept.count != tokens.count), "\(path)")
                let expected = kept.map { "\($0.term)@\($0.position)" }
                let got = (0..<terms.count).map { "\(terms.term($0))@\(terms.positions[$0])" }
                #expect(got == expected, "\(path): \(Self.firstDifference(got, expected))")
                let expectedVariants = kept.compactMap { t in t.folded.flatMap { $0.utf8.count <= 255 ? "\($0)@\(t.position)" : nil } }
                let gotVariants = (0..<variants.count).map { "\(variants.term($0))@\(variants.positions[$0])" }
                #expect(gotVariants == expectedVariants, "\(path): \(Self.firstDifference(gotVariants, expectedVariants))")
                tokensSeen += tokens.count
                variantsSeen += expectedVariants.count
            }
        }
        #expect(analyzer.stats == other.stats)
        #expect(texts > 500 && tokensSeen > 100_000 && variantsSeen > 1_000, "\(texts) texts, \(tokensSeen) tokens, \(variantsSeen) variants")
        #expect(analyzer.stats.longTokens > 0 && analyzer.stats.noiseBlocks > 0)
    }

    /// `matchingTokenRanges` (snippets' highlighting, no String per ASCII token) finds the
    /// same tokens as filtering `queryTokens` by term or folded variant, over the non-English
    /// messages: for every third of each text's distinct terms and variants, and a prefix.
    @Test(.enabled(if: shared != nil))
    func matchingTokenRangesEqualFilteredQueryTokens() throws {
        guard let shared = Self.shared else { return }
        let parser = MessageParser(limits: { var l = ParserLimits(); l.extractAttachments = false; return l }())
        let analyzer = Analyzer(), other = Analyzer()
        var matched = 0
        for path in Set(Self.rows().map(\.path)).sorted() {
            guard let data = FileManager.default.contents(atPath: shared.appendingPathComponent(path).path) else { continue }
            let doc = parser.parse(Array(data))
            for text in [doc.subject ?? "", doc.body.map(\.text).joined(separator: "\n")] where !text.isEmpty {
                let tokens = other.queryTokens(text)
                let all = Set(tokens.flatMap { [$0.term] + ($0.folded.map { [$0] } ?? []) })
                let chosen = Set(all.sorted().enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
                let prefix = tokens.first.map { String($0.term.prefix(2)) } ?? ""
                let expected = tokens.filter { t in
                    chosen.contains(t.term) || (t.folded.map(chosen.contains) ?? false)
                        || (!prefix.isEmpty && (Array(t.term.utf8).starts(with: Array(prefix.utf8)) || (t.folded.map { Array($0.utf8).starts(with: Array(prefix.utf8)) } ?? false)))
                }.map { $0.start..<$0.end }
                let chosenBytes = chosen.map { Array($0.utf8) }, prefixBytes = Array(prefix.utf8)
                let got = analyzer.matchingTokenRanges(text) { t in
                    chosenBytes.contains { $0.count == t.count && $0.elementsEqual(t) } || (!prefixBytes.isEmpty && t.starts(with: prefixBytes))
                }
                #expect(got == expected, "\(path)")
                matched += got.count
            }
        }
        #expect(matched > 1_000, "\(matched)")
    }
}
