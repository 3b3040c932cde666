import Foundation
@testable import IndexEngine
import Testing
import TestSupport

/// The term text's substring search with its trigram filter against a plain scan: the words
/// of the project's sample mail and MIME fixtures as terms (with long runs built from them,
/// so occurrences straddle the filter's 1 KiB chunks and its 64-byte overlap).
@Suite struct TermTextTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let terms: [[UInt8]] = {
        var words = Set<[UInt8]>()
        for folder in ["corpus/samples", "Tests/MIMETests/Fixtures"] {
            let dir = root.appendingPathComponent(folder)
            for p in FileManager.default.enumerator(atPath: dir.path)?.compactMap({ $0 as? String }) ?? [] {
                let bytes = (try? Data(contentsOf: dir.appendingPathComponent(p))).map { Array($0) } ?? []
                for w in bytes.split(whereSeparator: { $0 <= 0x20 || $0 == 0x7F }) where w.count <= 255 {
                    words.insert(w.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 })
                }
            }
        }
        var list = words.sorted { $0.lexicographicallyPrecedes($1) }
        // Long terms (up to 255 bytes) of repeated pieces: occurrences across chunk edges.
        var rng = SplitMix64(seed: 5)
        for _ in 0..<300 {
            var t: [UInt8] = []
            while t.count < 100 + Int(rng.next() % 150) { t += list[Int(rng.next() % UInt64(list.count))] }
            list.append(Array(t.prefix(255)))
        }
        return list.sorted { $0.lexicographicallyPrecedes($1) }
    }()

    static func plain(_ terms: [[UInt8]], _ needle: [UInt8]) -> [Int] {
        terms.indices.filter { i in
            terms[i].withUnsafeBufferPointer { t in
                guard t.count >= needle.count else { return false }
                return (0...(t.count - needle.count)).contains { a in
                    var j = 0
                    while j < needle.count, t[a + j] == needle[j] { j += 1 }
                    return j == needle.count
                }
            }
        }
    }

    @Test func filteredSearchFindsWhatAPlainScanFinds() throws {
        let terms = Self.terms
        try #require(terms.count > 5_000, "corpus/samples and Tests/MIMETests/Fixtures are missing")
        let text = SegmentReader.TermText(terms: terms)
        #expect(text.bytes.count > 100 * 1024)
        var rng = SplitMix64(seed: 11)
        var needles: [[UInt8]] = [Array("e".utf8), Array("th".utf8), Array("the".utf8), Array("mail".utf8), Array("zzzq".utf8),
                                  Array("content-type".utf8), Array("=?utf-8?".utf8)]
        for _ in 0..<120 {
            let t = terms[Int(rng.next() % UInt64(terms.count))]
            let a = Int(rng.next() % UInt64(t.count))
            let n = 1 + Int(rng.next() % UInt64(min(90, t.count - a)))
            var needle = Array(t[a..<(a + n)])
            if rng.next() % 4 == 0 { needle[Int(rng.next() % UInt64(needle.count))] ^= 0x04 }  // mostly absent
            if !needle.contains(0) { needles.append(needle) }
        }
        // Needles starting just before a chunk's end and running into the next: their first
        // trigrams lie in one chunk, the rest in the filter's overlap.
        for b in stride(from: 1024, to: text.bytes.count - 100, by: 1024 * 7) {
            for (back, length) in [(3, 12), (10, 40), (40, 90), (1, 5)] {
                let piece = Array(text.bytes[(b - back)..<(b - back + length)])
                if !piece.contains(0) { needles.append(piece) }
            }
        }
        var found = 0
        for needle in needles {
            let want = Self.plain(terms, needle)
            #expect(text.terms(containing: needle, limit: .max - 1) == want, "\(String(decoding: needle, as: UTF8.self))")
            let limited = text.terms(containing: needle, limit: 3)
            #expect(limited == Array(want.prefix(4)))
            if !want.isEmpty { found += 1 }
        }
        #expect(found > needles.count / 2)
    }
}
