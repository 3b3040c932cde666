import Foundation
import Testing
@testable import MIME
import TestSupport

/// Mutated and truncated messages (seeded) never crash, never hang, and stay within limits.
@Suite struct MutationTests {
    /// Seeds: the project's samples, plus a slice of the shared fixtures when present.
    static func seeds() -> [[UInt8]] {
        var out: [[UInt8]] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: TestPaths.samples.path))?.sorted() ?? [] {
            out.append(TestPaths.bytes(TestPaths.samples.appendingPathComponent(name)))
        }
        if let shared = TestPaths.shared {
            for rel in ["mime-fixtures/james-mime4j/core/src/test/resources/mimetools-testmsgs",
                        "mime-fixtures/enmime/testdata/low-quality", "mime-fixtures/stalwart-mail-parser/resources/eml/malformed"] {
                let dir = shared.appendingPathComponent(rel)
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted().prefix(12) {
                    let b = TestPaths.bytes(dir.appendingPathComponent(name))
                    if !b.isEmpty, b.count < 200_000 { out.append(b) }
                }
            }
        }
        return out
    }

    static let tokens: [[UInt8]] = [
        "\r\n", "\n", "--", "=?utf-8?B?", "?=", "Content-Type: multipart/mixed; boundary=x\r\n", "--x\r\n", "--x--",
        "Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n", "=", "=\r\n", "<", ">",
        "\"", "(", ")", ";", "charset=iso-2022-jp", "\u{1B}$B", "begin 644 a\n", "\0", "\u{FF}",
        "Content-Type: message/rfc822\n\n", "<html><script>", "&#x110000;", "filename*0*=utf-8''%",
    ].map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        let ops = 1 + Int(rng.next() % 8)
        for _ in 0..<ops {
            let pos = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
            switch rng.next() % 6 {
            case 0 where !b.isEmpty: b[pos] = UInt8(truncatingIfNeeded: rng.next())
            case 1: b.insert(contentsOf: tokens[Int(rng.next() % UInt64(tokens.count))], at: pos)
            case 2 where !b.isEmpty: b.removeSubrange(pos..<min(b.count, pos + Int(rng.next() % 64)))
            case 3 where !b.isEmpty:
                let len = min(b.count - pos, Int(rng.next() % 256))
                b.insert(contentsOf: b[pos..<(pos + len)], at: Int(rng.next() % UInt64(b.count)))
            case 4: b = Array(b.prefix(pos))  // truncation
            default: b.insert(contentsOf: tokens[Int(rng.next() % UInt64(tokens.count))], at: b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count)))
            }
        }
        return b
    }

    @Test func mutatedMessagesStayWithinLimits() {
        var limits = ParserLimits()
        limits.maxParts = 200
        limits.maxDepth = 10
        limits.maxTextBytes = 1 << 20
        limits.extractAttachments = false  // subprocesses are tested elsewhere; keep this loop fast
        let parser = MessageParser(limits: limits)
        var rng = SplitMix64(seed: 20_261_129)
        let seeds = Self.seeds()
        #expect(!seeds.isEmpty)
        var parsed = 0
        for seed in seeds {
            for _ in 0..<40 {
                let input = Self.mutate(seed, &rng)
                let doc = parser.parse(input)
                CorpusWalkTests.checkInvariants(doc, limits: limits, origin: "mutation #\(parsed)")
                #expect(doc.rawSize == input.count)
                parsed += 1
            }
        }
        #expect(parsed == seeds.count * 40)
    }

    @Test func truncatedAtEveryPrefixOfASample() {
        let sample = TestPaths.sample("02-alternative-attachment.eml")
        let parser = MessageParser()
        for cut in stride(from: 0, through: sample.count, by: 7) {
            let doc = parser.parse(Array(sample.prefix(cut)))
            CorpusWalkTests.checkInvariants(doc, limits: ParserLimits(), origin: "prefix \(cut)")
        }
    }

    @Test func pathologicalInputsFinish() {
        let parser = MessageParser()
        let cases: [[UInt8]] = [
            Array(repeating: 0x0A, count: 1 << 20),
            Array(repeating: 0x3D, count: 1 << 20),
            Array(("Subject: " + String(repeating: "=?utf-8?q?a?= ", count: 50_000) + "\n\n").utf8),
            Array(("Content-Type: multipart/mixed; boundary=a\n\n" + String(repeating: "--a\n", count: 100_000)).utf8),
            Array(("To: " + String(repeating: "a@b, ", count: 100_000) + "\n\n").utf8),
            Array((String(repeating: "X-H: v\n", count: 200_000) + "\nbody").utf8),
        ]
        for c in cases {
            let doc = parser.parse(c)
            CorpusWalkTests.checkInvariants(doc, limits: ParserLimits(), origin: "pathological \(c.count)")
        }
    }
}
