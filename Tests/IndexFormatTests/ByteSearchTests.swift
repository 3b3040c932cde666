import Foundation
import Testing
@testable import IndexFormat
import TestSupport

/// The vector substring search (C target CByteSearch) against a plain reference, at every
/// implementation level the processor has, over the project's sample mail.
@Suite(.serialized) struct ByteSearchTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The project's sample messages and MIME fixtures, concatenated: headers, base64,
    /// quoted-printable, ISO-2022-JP, KOI8-R, PDF and Office attachments.
    static let mail: [UInt8] = {
        var out: [UInt8] = []
        for folder in ["corpus/samples", "Tests/MIMETests/Fixtures"] {
            let dir = root.appendingPathComponent(folder)
            let paths = (FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? []).sorted()
            for p in paths { out += (try? Data(contentsOf: dir.appendingPathComponent(p))).map { Array($0) } ?? [] }
        }
        return out
    }()

    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    static func reference(_ needle: [UInt8], _ hay: ArraySlice<UInt8>, ignoringCase: Bool) -> Int? {
        let m = needle.count, n = hay.count
        guard m > 0 else { return 0 }
        guard m <= n else { return nil }
        let h = Array(hay)
        outer: for i in 0...(n - m) {
            for j in 0..<m {
                let b = ignoringCase ? lower(h[i + j]) : h[i + j]
                if b != needle[j] { continue outer }
            }
            return i
        }
        return nil
    }

    func find(_ needle: [UInt8], _ hay: ArraySlice<UInt8>, ignoringCase: Bool) -> Int? {
        let h = Array(hay)
        return h.withUnsafeBufferPointer { hb in
            needle.withUnsafeBufferPointer { nb in
                ignoringCase ? ByteSearch.firstIndexIgnoringASCIICase(of: nb, in: hb) : ByteSearch.firstIndex(of: nb, in: hb)
            }
        }
    }

    /// Needles cut from the mail (found, some with their case changed), and mutated copies
    /// (mostly not found), on windows of every length around the vector widths.
    @Test func agreesWithTheReferenceAtEveryLevel() throws {
        let mail = Self.mail
        try #require(mail.count > 10_000, "corpus/samples and Tests/MIMETests/Fixtures are missing")
        let top = ByteSearch.forceLevel(2)
        defer { ByteSearch.forceLevel(2) }
        var checked = 0
        for level in 0...top {
            #expect(ByteSearch.forceLevel(level) == level)
            var rng = SplitMix64(seed: 77 + UInt64(level))
            for round in 0..<3_000 {
                let hayLength = round < 200 ? round : Int(rng.next() % 3_000)
                let start = Int(rng.next() % UInt64(mail.count - hayLength))
                let hay = mail[start..<(start + hayLength)]
                let m = 1 + Int(rng.next() % 40)
                var needle: [UInt8]
                if rng.next() % 4 == 0 || hayLength < m {
                    let at = Int(rng.next() % UInt64(mail.count - m))
                    needle = Array(mail[at..<(at + m)])  // usually elsewhere
                } else {
                    let at = start + Int(rng.next() % UInt64(hayLength - m + 1))
                    needle = Array(mail[at..<(at + m)])
                }
                if rng.next() % 3 == 0 { needle[Int(rng.next() % UInt64(m))] ^= 0x01 }
                #expect(find(needle, hay, ignoringCase: false) == Self.reference(needle, hay, ignoringCase: false),
                        "level \(level), needle \(needle), hay at \(start) length \(hayLength)")
                let lowered = needle.map(Self.lower)
                #expect(find(lowered, hay, ignoringCase: true) == Self.reference(lowered, hay, ignoringCase: true),
                        "level \(level), lowered needle \(lowered), hay at \(start) length \(hayLength)")
                let nonASCII = Array(hay).withUnsafeBufferPointer { ByteSearch.containsNonASCII($0) }
                #expect(nonASCII == hay.contains { $0 >= 0x80 })
                checked += 1
            }
        }
        #expect(checked == 3_000 * (top + 1))
    }

    /// A match in the last bytes, just past each vector width, is found; a needle longer
    /// than the hay or starting past its end is not; `from` is honoured.
    @Test func edges() {
        let top = ByteSearch.forceLevel(2)
        defer { ByteSearch.forceLevel(2) }
        for level in 0...top {
            ByteSearch.forceLevel(level)
            for n in [1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 64, 65, 100] {
                for m in 1...min(n, 34) {
                    var hay = [UInt8](repeating: UInt8(ascii: "a"), count: n)
                    let needle = [UInt8](repeating: UInt8(ascii: "b"), count: m)
                    #expect(find(needle, hay[...], ignoringCase: false) == nil)
                    for j in (n - m)..<n { hay[j] = UInt8(ascii: "B") }
                    #expect(find(needle, hay[...], ignoringCase: false) == nil, "level \(level) n \(n) m \(m)")
                    #expect(find(needle, hay[...], ignoringCase: true) == n - m, "level \(level) n \(n) m \(m)")
                    for j in (n - m)..<n { hay[j] = UInt8(ascii: "b") }
                    #expect(find(needle, hay[...], ignoringCase: false) == n - m, "level \(level) n \(n) m \(m)")
                }
                let hay = [UInt8](repeating: 0x41, count: n)
                #expect(find([UInt8](repeating: 0x41, count: n + 1), hay[...], ignoringCase: false) == nil)
                hay.withUnsafeBufferPointer { hb in
                    [UInt8(0x41)].withUnsafeBufferPointer { nb in
                        #expect(ByteSearch.firstIndex(of: nb, in: hb, from: n - 1) == n - 1)
                        #expect(ByteSearch.firstIndex(of: nb, in: hb, from: n) == nil)
                        #expect(ByteSearch.firstIndex(of: nb, in: hb, from: n + 5) == nil)
                    }
                }
            }
            // Bytes 0x80-0xFF are not letters: "é" (C3 A9) does not match "ã" (C3 A3) or
            // the ASCII letters their bytes would be with the case bit changed.
            let latin = Array("CAFÉ Ã".utf8)
            #expect(find(Array("café".utf8), latin[...], ignoringCase: true) == nil)
            #expect(find(Array("caf".utf8) + [0xC3, 0x89], latin[...], ignoringCase: true) == 0)
            #expect(find([0xE3], latin[...], ignoringCase: true) == nil)
        }
    }
}
