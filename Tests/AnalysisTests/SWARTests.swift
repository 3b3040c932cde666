@testable import Analysis
import Testing

/// The eight-bytes-at-once tests of the indexing path (`SWAR`, `Analyzer.isSimpleWord`, the
/// sink's `simpleWord` copy) against their byte-at-a-time definitions.
@Suite struct SWARTests {
    /// A small deterministic generator (the tests see the same bytes every run).
    struct Bytes: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func bytes(_ x: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: x >> (8 * UInt64($0))) } }

    @Test func inRangeAndLowercasedMatchEachByte() {
        var g = Bytes(state: 7)
        let ranges: [(UInt8, UInt8)] = [(0x61, 0x7A), (0x30, 0x39), (0x41, 0x5A), (0x01, 0x7F), (0x7F, 0x7F), (0x01, 0x01), (0x20, 0x40)]
        // Random words, and words of bytes next to every range's edges (and above 0x7F).
        var words: [UInt64] = (0..<20_000).map { _ in g.next() }
        let edges: [UInt8] = [0x00, 0x01, 0x2F, 0x30, 0x39, 0x3A, 0x40, 0x41, 0x5A, 0x5B, 0x60, 0x61, 0x7A, 0x7B, 0x7F, 0x80, 0xC1, 0xDA, 0xE1, 0xFA, 0xFF]
        for _ in 0..<20_000 {
            var w: UInt64 = 0
            for k in 0..<8 { w |= UInt64(edges[Int(g.next() % UInt64(edges.count))]) << (8 * UInt64(k)) }
            words.append(w)
        }
        var mismatches = 0
        for w in words {
            let b = Self.bytes(w)
            for (lo, hi) in ranges {
                let got = Self.bytes(SWAR.inRange(w, lo, hi))
                for k in 0..<8 where (got[k] == 0x80) != (b[k] >= lo && b[k] <= hi) || got[k] & 0x7F != 0 { mismatches += 1 }
            }
            let lower = Self.bytes(SWAR.lowercased(w))
            for k in 0..<8 where lower[k] != ((b[k] >= 0x41 && b[k] <= 0x5A) ? b[k] | 0x20 : b[k]) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// The definition `isSimpleWord` had as a byte loop.
    static func simpleByBytes(_ buf: [UInt8], _ s: WordSegment) -> Bool {
        guard s.kind == .letter || s.kind == .number, s.start < s.end else { return false }
        for k in (s.start + 1)..<s.end where !((buf[k] >= 0x61 && buf[k] <= 0x7A) || (buf[k] >= 0x30 && buf[k] <= 0x39)) { return false }
        return buf[s.start] < 0x80 && buf[s.start] != 0x40 && buf[s.start] != 0x5F
    }

    @Test func simpleWordMatchesTheByteLoop() {
        var g = Bytes(state: 11)
        let alphabet: [UInt8] = Array("aqzAQZ09_@.-' ".utf8) + [0x80, 0xC3, 0xA9, 0x7B, 0x60, 0x2F, 0x3A]
        var checked = 0, simple = 0, mismatches = 0
        for _ in 0..<30_000 {
            let count = 1 + Int(g.next() % 24)
            let buf = (0..<count).map { _ in g.next() % 3 == 0 ? alphabet[Int(g.next() % UInt64(alphabet.count))] : UInt8(0x61 + g.next() % 26) }
            // Segments ending at the buffer's end (fewer than eight bytes readable) and inside it.
            for _ in 0..<4 {
                let start = Int(g.next() % UInt64(count))
                let end = start + 1 + Int(g.next() % UInt64(count - start))
                for kind in [WordSegment.Kind.letter, .number, .ideographic] {
                    let s = WordSegment(start: start, end: end, kind: kind)
                    let got = buf.withUnsafeBufferPointer { Analyzer.isSimpleWord($0, s) }
                    if got != Self.simpleByBytes(buf, s) { mismatches += 1 }
                    if got { simple += 1 }
                    checked += 1
                }
            }
        }
        #expect(mismatches == 0)
        #expect(simple > checked / 10)
    }

    @Test func isASCIIMatchesTheByteLoop() {
        var g = Bytes(state: 3)
        var mismatches = 0, nonASCII = 0
        for _ in 0..<40_000 {
            let count = Int(g.next() % 30)
            let buf = (0..<count).map { _ in g.next() % 40 == 0 ? UInt8(0x80 | g.next() % 0x80) : UInt8(0x20 + g.next() % 0x5F) }
            let start = count == 0 ? 0 : Int(g.next() % UInt64(count + 1))
            let end = start + (count == start ? 0 : Int(g.next() % UInt64(count - start + 1)))
            let expected = buf[start..<end].allSatisfy { $0 < 0x80 }
            if !expected { nonASCII += 1 }
            buf.withUnsafeBufferPointer { b in
                let token = UnsafeBufferPointer(rebasing: b[start..<end])
                if Analyzer.isASCII(token, readable: count - start) != expected { mismatches += 1 }
                if Analyzer.isASCII(token) != expected { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(nonASCII > 1_000)
    }

    /// `NoiseFilter.lineEnd` (memchr) against the byte loop it replaced, from every offset.
    @Test func noiseFilterLineEndMatchesTheByteLoop() {
        let text = Array("line one\r\n\nthird line, longer than the others by far\nlast without LF".utf8)
        text.withUnsafeBufferPointer { buf in
            for i in 0...buf.count {
                var e = i
                while e < buf.count, buf[e] != 0x0A { e += 1 }
                #expect(NoiseFilter.lineEnd(buf, from: i) == e, "from \(i)")
            }
        }
        #expect([UInt8]().withUnsafeBufferPointer { NoiseFilter.lineEnd($0, from: 0) } == 0)
    }

    /// Words of every length up to 12, capitalized or not, at the very end of the text (fewer
    /// than eight bytes readable after their start) and before more text: the indexing path's
    /// terms are those of `tokens`.
    @Test func indexTermsOfShortWordsAtEveryOffset() {
        let analyzer = Analyzer(), reference = Analyzer()
        var texts: [String] = []
        for n in 1...12 {
            let word = String("abcdefghijkl".prefix(n))
            let mixed = String(word.enumerated().map { $0.offset % 3 == 1 ? Character($0.element.uppercased()) : $0.element })
            for w in [word, word.capitalized, word.uppercased(), "9" + word.dropFirst(), word + "7", mixed, mixed + "_" + word.uppercased(),
                      "Re-" + mixed, word + "@Example.COM", "x" + String(repeating: "Q", count: n + 6)] {
                texts += [w, "x " + w, w + " tail text", "Über " + w, w + ".", "a " + w + "\n", String(repeating: "z", count: 9) + " " + w]
            }
        }
        var mismatches = 0
        for text in texts {
            let r = analyzer.indexTerms(text)
            let tokens = reference.tokens(text)
            let got = (0..<r.terms.count).map { "\(r.terms.term($0))@\(r.terms.positions[$0])" }
            let expected = tokens.map { "\($0.term)@\($0.position)" }
            if got != expected { mismatches += 1 }
            let spans = analyzer.lastSpans()
            if spans.map(\.start) != tokens.map(\.start) || spans.map(\.end) != tokens.map(\.end) { mismatches += 1 }
        }
        #expect(mismatches == 0)
        #expect(analyzer.stats == reference.stats)
    }
}
