@testable import Analysis
import Testing

/// One analyzer reuses its indexing scratch memory from text to text: a text large enough
/// to grow every buffer past what is kept (then trimmed), a small one after it, the large
/// one again, each giving what `tokens` gives (terms, positions, spans).
@Suite struct IndexScratchTests {
    static func check(_ analyzer: Analyzer, _ text: String, _ spans: inout [Analyzer.TokenSpan]) {
        let tokens = Analyzer().tokens(text)
        let r = analyzer.indexTerms(text, spans: &spans)
        #expect(r.terms.count == tokens.count)
        #expect(r.lastPosition == tokens.last?.position)
        var mismatches = 0
        for (i, t) in tokens.enumerated() where i >= r.terms.count || r.terms.term(i) != t.term || r.terms.positions[i] != UInt32(t.position) {
            mismatches += 1
        }
        #expect(mismatches == 0)
        #expect(spans.count == tokens.count)
        #expect(zip(spans, tokens).allSatisfy { $0.start == $1.start && $0.end == $1.end })
    }

    @Test func largeSmallLargeGiveTheTokens() {
        // ~2.2 MiB, ~370,000 tokens: past the 1 MiB of bytes and 256 Ki terms kept.
        var large = ""
        for i in 0..<370_000 { large += i % 1000 == 0 ? "Café-Ünï \(i) " : "W\(i % 97)x " }
        let small = "A small text, with an e-mail: anna.rossi@example.com and ÉTÉ."
        let analyzer = Analyzer()
        var spans: [Analyzer.TokenSpan] = []
        Self.check(analyzer, large, &spans)
        Self.check(analyzer, small, &spans)
        Self.check(analyzer, large, &spans)
        Self.check(analyzer, "", &spans)
        #expect(spans.isEmpty)
    }
}
