import Testing
@testable import Analysis
import TestSupport

/// Expected tokens, written and checked by hand, for each rule and script.
@Suite struct AnalyzerTests {
    let analyzer = Analyzer()

    func terms(_ text: String) -> [String] { analyzer.tokens(text).map(\.term) }
    func described(_ text: String) -> [String] { analyzer.tokens(text).map { "\($0.term)@\($0.position)" } }

    @Test func englishWordsCaseAndPunctuation() {
        #expect(terms("Hello, World! It's 5 o'clock.") == ["hello", "world", "it's", "it", "5", "o'clock", "clock"])
        #expect(described("The quick brown fox") == ["the@0", "quick@1", "brown@2", "fox@3"])
    }

    @Test func addressesWholeAndParts() {
        let t = analyzer.tokens("write to anna.rossi@infomaniak.ch today")
        #expect(t.map(\.term) == ["write", "to", "anna.rossi@infomaniak.ch", "infomaniak.ch", "anna", "rossi", "infomaniak", "ch", "today"])
        #expect(t.map(\.position) == [0, 1, 2, 4, 2, 3, 4, 5, 6])
        #expect(t[2].kind == .email)
        #expect(t[3].kind == .host)
        // Offsets point back into the text.
        let text = Array("write to anna.rossi@infomaniak.ch today".utf8)
        #expect(String(decoding: text[t[2].start..<t[2].end], as: UTF8.self) == "anna.rossi@infomaniak.ch")
    }

    @Test func urlsHostAndPathWords() {
        let t = analyzer.tokens("see https://www.Example.com/Path/report-2024.pdf?id=7")
        #expect(t.first(where: { $0.kind == .url })?.term == "https://www.example.com/path/report-2024.pdf?id=7")
        #expect(t.first(where: { $0.kind == .host })?.term == "www.example.com")
        let words = Set(t.map(\.term))
        for w in ["example", "com", "path", "report", "2024", "pdf", "id", "7"] { #expect(words.contains(w), "\(w)") }
    }

    @Test func fileNamesNumbersVersionsDates() {
        #expect(terms("Q3-report.pdf") == ["q3-report.pdf", "report.pdf", "q3", "report", "pdf"])
        #expect(terms("pi is 3.14, use v2.1.0") == ["pi", "is", "3.14", "use", "v2.1.0"])
        #expect(described("due 2024-05-01") == ["due@0", "2024-05-01@1", "2024@1", "05@2", "01@3"])
        #expect(terms("1,000.50 at 10:30") == ["1,000.50", "at", "10:30", "10", "30"])
    }

    @Test func hyphensApostrophesCamelAndSnakeCase() {
        #expect(described("e-mail") == ["e-mail@0", "e@0", "mail@1"])
        #expect(terms("l'été") == ["l'été", "été"])
        #expect(terms("l’été") == ["l'été", "été"])  // typographic apostrophe
        #expect(terms("getUserName HTTPServer") == ["getusername", "get", "user", "name", "httpserver", "http", "server"])
        #expect(described("btrfs_item_ptr") == ["btrfs_item_ptr@0", "btrfs@0", "item@1", "ptr@2"])
    }

    @Test func germanAndAccentFolding() {
        let t = analyzer.tokens("Größe Straße naïve Ærøskøbing")
        #expect(t.map(\.term) == ["grösse", "strasse", "naïve", "ærøskøbing"])
        #expect(t.map(\.folded) == ["grosse", nil, "naive", "aeroskobing"])
    }

    @Test func cyrillicGreekHebrewArabic() {
        #expect(terms("Съешь же ещё этих булок") == ["съешь", "же", "ещё", "этих", "булок"])
        #expect(analyzer.tokens("ещё").first?.folded == "еще")
        // Final and capital sigma fold to σ; accents are a folded variant.
        let greek = analyzer.tokens("Καλημέρα ΣΟΦΟΣ σοφός")
        #expect(greek.map(\.term) == ["καλημέρα", "σοφοσ", "σοφόσ"])
        #expect(greek[0].folded == "καλημερα")
        #expect(greek[2].folded == "σοφοσ")
        #expect(terms("שלום עולם") == ["שלום", "עולם"])
        #expect(terms("مرحبا بالعالم") == ["مرحبا", "بالعالم"])
    }

    @Test func japaneseChineseThaiKoreanByDictionary() {
        #expect(terms("会議の資料を送ります") == ["会議", "の", "資料", "を", "送り", "ます"])
        #expect(terms("我们明天开会讨论项目进度") == ["我们", "明天", "开会", "讨论", "项目", "进度"])
        #expect(terms("ภาษาไทยง่ายนิดเดียว") == ["ภาษา", "ไทย", "ง่าย", "นิด", "เดียว"])
        #expect(terms("한국어 메일") == ["한국어", "메일"])
        #expect(analyzer.tokens("会議").first?.kind == .ideographic)
        // Thai vowel and tone marks are letters, not diacritics: never folded away.
        #expect(analyzer.tokens("ง่าย").first?.folded == nil)
    }

    @Test func compatibilityForms() {
        #expect(terms("ＡＢＣ１２３ ﬁle Ⅻ") == ["abc123", "file", "xii"])
        #expect(terms("a\u{301}") == ["á"])  // NFKC composes
    }

    @Test func queriesAnalyzeLikeText() {
        let text = "Meeting about the Q3-report.pdf with anna.rossi@infomaniak.ch: 会議の資料, Größe, l'été"
        let indexed = Set(analyzer.tokens(text).map(\.term))
        for query in ["q3-report.pdf", "REPORT", "Anna.Rossi@Infomaniak.CH", "infomaniak", "会議", "資料", "GRÖSSE", "été", "L'ÉTÉ"] {
            let q = analyzer.queryTokens(query)
            #expect(!q.isEmpty)
            #expect(q.allSatisfy { indexed.contains($0.term) }, "\(query) → \(q.map(\.term))")
        }
    }

    @Test func longTokensAreCappedAndCounted() {
        let a = Analyzer()
        let blob = String(repeating: "x", count: 300)
        #expect(a.tokens("before \(blob) after").map(\.term) == ["before", "after"])
        #expect(a.tokens("before \(blob) after").map(\.position) == [0, 2])  // the blob keeps its position
        #expect(a.stats.longTokens >= 1)
        let sha = "3f786850e387550fdab836ed7e6dc881de23001b"
        #expect(a.tokens("commit \(sha)").map(\.term) == ["commit", sha])
    }

    @Test func pgpArmourAndBase64RunsAreSkipped() {
        let a = Analyzer()
        let text = """
            -----BEGIN PGP SIGNED MESSAGE-----
            Hash: SHA256

            the signed words stay
            -----BEGIN PGP SIGNATURE-----

            iQEzBAEBCAAdFiEEabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH
            =AbCd
            -----END PGP SIGNATURE-----
            after
            QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2
            d3h5ejAxMjM0NTY3ODlBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWmFiY2RlZmdo
            end
            """
        #expect(a.tokens(text).map(\.term) == ["the", "signed", "words", "stay", "after", "end"])
        #expect(a.stats.noiseBlocks == 3)
        // Queries are never filtered.
        #expect(a.queryTokens("-----BEGIN PGP SIGNATURE----- x").map(\.term) == ["begin", "pgp", "signature", "x"])
    }

    @Test func badInputNeverCrashes() {
        let a = Analyzer()
        #expect(a.tokens("").isEmpty)
        #expect(a.tokens("\u{0301}\u{0301}\u{0301}").isEmpty)  // only combining marks
        #expect(a.tokens("\u{FFFD}\u{FFFD} ok").map(\.term) == ["ok"])
        let big = String(repeating: "a", count: 10 << 20)
        #expect(a.tokens(big).isEmpty)  // 10 MB of one letter: one over-long word, skipped
        #expect(a.tokens(String(repeating: "\u{0301}", count: 1 << 20)).isEmpty)  // only combining marks
        let han = a.tokens(String(repeating: "語", count: 100_000))
        #expect(!han.isEmpty && han.allSatisfy { $0.kind == .ideographic })
        let mixed = String(repeating: "ab-", count: 100_000)
        #expect(a.tokens(mixed).count > 100_000)
        var rng = SplitMix64(seed: 3)
        for _ in 0..<300 {
            let scalars = (0..<Int(rng.next() % 60)).compactMap { _ in Unicode.Scalar(UInt32(rng.next() % 0x3_0000)) }
            let s = String(String.UnicodeScalarView(scalars))
            for t in a.tokens(s) {
                #expect(t.start < t.end && t.end <= s.utf8.count)
                #expect(!t.term.isEmpty)
            }
        }
    }
}
