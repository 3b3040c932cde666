import Foundation
import Testing
@testable import Analysis
import TestSupport

/// The ASCII fast path must give exactly ICU's segmentation: same boundaries, same kinds.
/// Every test compares against `WordSegmenter.icuSegments`, i.e. ICU on the same text.
@Suite struct ASCIIWordSegmenterTests {
    // MARK: Hand-checked cases (expected values printed by ICU 72 and checked by hand)

    static let tricky: [(String, [String])] = [
        ("Q3", ["Q3/number"]),
        ("ab12", ["ab12/number"]),
        ("12ab", ["12ab/letter"]),
        ("a_b", ["a_b/letter"]),
        ("_x_", ["_x_/letter"]),
        ("3.14", ["3.14/number"]),
        ("v2.1.0", ["v2.1.0/number"]),
        ("1,000.5", ["1,000.5/number"]),
        ("x.y.z", ["x.y.z/letter"]),
        ("l'ete", ["l'ete/letter"]),
        ("anna.rossi@infomaniak.ch", ["anna.rossi@infomaniak.ch/letter"]),
        ("a:b", ["a/letter", "b/letter"]),
        ("e-mail", ["e/letter", "mail/letter"]),
        ("_", []),
        ("__", ["__/letter"]),
        ("1_", ["1_/number"]),
        ("_1", ["_1/number"]),
        ("a_", ["a_/letter"]),
        ("1__", ["1__/letter"]),
        ("a1_", ["a1_/number"]),
        ("@", ["@/letter"]),
        ("foo@bar", ["foo@bar/letter"]),
        ("a..b", ["a/letter", "b/letter"]),
        ("1..2", ["1/number", "2/number"]),
        ("a.1", ["a/letter", "1/number"]),
        ("1.a", ["1/number", "a/letter"]),
        ("a,b", ["a/letter", "b/letter"]),
        ("1,2", ["1,2/number"]),
        ("1;2", ["1;2/number"]),
        ("a;b", ["a/letter", "b/letter"]),
        ("a'b", ["a'b/letter"]),
        ("1'2", ["1'2/number"]),
        ("a.", ["a/letter"]),
        ("1.", ["1/number"]),
        (".a", ["a/letter"]),
        ("a.b.", ["a.b/letter"]),
        ("1.2,3;4'5", ["1.2,3;4'5/number"]),
        ("a_.b", ["a_/letter", "b/letter"]),
        ("_.b", ["b/letter"]),
        ("a.b_c", ["a.b_c/letter"]),
        ("\"quoted\"", ["quoted/letter"]),
        ("It's 5 o'clock.", ["It's/letter", "5/number", "o'clock/letter"]),
        ("don't", ["don't/letter"]),
        ("x=y+2", ["x/letter", "y/letter", "2/number"]),
        ("C:\\path\\file.txt", ["C/letter", "path/letter", "file.txt/letter"]),
        ("http://example.com/a_b?x=1&y=2", ["http/letter", "example.com/letter", "a_b/letter", "x/letter", "1/number", "y/letter", "2/number"]),
        ("2024-05-01", ["2024/number", "05/number", "01/number"]),
        ("10:30am", ["10/number", "30am/letter"]),
        ("$1,000,000.00", ["1,000,000.00/number"]),
        ("#tag", ["tag/letter"]),
        ("a\tb\nc\r\nd\u{0B}e\u{0C}f", ["a/letter", "b/letter", "c/letter", "d/letter", "e/letter", "f/letter"]),
        ("Hello, world!", ["Hello/letter", "world/letter"]),
        ("", []),
    ]

    @Test func trickyCasesMatchHandCheckedICUOutput() {
        let seg = WordSegmenter()
        for (text, expected) in Self.tricky {
            #expect(Self.render(text, Self.fast(text)) == expected, "fast path: \(text.debugDescription)")
            #expect(Self.render(text, Self.icu(seg, text)) == expected, "ICU: \(text.debugDescription)")
            #expect(Self.render(text, seg.segments(text)) == expected, "segments: \(text.debugDescription)")
        }
    }

    @Test func rangeIsRespectedAndClamped() {
        var text = "ab 12 cd"
        text.withUTF8 { buf in
            var out: [WordSegment] = []
            ASCIIWordSegmenter.segments(buf, range: 3..<100, into: &out)
            #expect(out == [WordSegment(start: 3, end: 5, kind: .number), WordSegment(start: 6, end: 8, kind: .letter)])
            out.removeAll()
            // A range ending inside a word must not look past its end; a negative start is clamped.
            ASCIIWordSegmenter.segments(buf, range: -5..<1, into: &out)
            #expect(out == [WordSegment(start: 0, end: 1, kind: .letter)])
        }
    }

    // MARK: Differential: random ASCII, fast path vs ICU

    /// One representative (or a few) of every class the rules distinguish, plus neighbours.
    static let classAlphabet: [UInt8] = Array("aZ@9_.',;:\"- \n\r\t/x#".utf8) + [0x0B, 0x0C, 0x00, 0x7F]

    @Test func randomASCIIMatchesICU() {
        let seg = WordSegmenter()
        var rng = SplitMix64(seed: 0x6D61_696C_7369_6674)
        var bytes: [UInt8] = []
        var mismatches: [String] = []
        var compared = 0
        for round in 0..<220_000 {
            bytes.removeAll(keepingCapacity: true)
            let length = Int(rng.next() % 41)
            for _ in 0..<length {
                let r = rng.next()
                if round % 2 == 0 {
                    bytes.append(Self.classAlphabet[Int(r % UInt64(Self.classAlphabet.count))])
                } else {
                    // Any ASCII, weighted towards printable text.
                    bytes.append(r % 8 == 0 ? UInt8(r >> 8 & 0x7F) : UInt8(0x20 + (r >> 8) % 95))
                }
            }
            compared += 1
            bytes.withUnsafeBufferPointer { buf in
                var fastOut: [WordSegment] = []
                ASCIIWordSegmenter.segments(buf, range: 0..<buf.count, into: &fastOut)
                let icuOut = seg.icuSegments(buf, base: 0)
                if fastOut != icuOut || seg.segments(utf8: buf) != icuOut, mismatches.count < 20 {
                    let text = String(decoding: buf, as: UTF8.self)
                    mismatches.append("\(text.debugDescription): fast \(Self.render(text, fastOut)) icu \(Self.render(text, icuOut))")
                }
            }
        }
        #expect(compared >= 200_000)
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// The bit-mask segmenter against the byte-at-a-time definition (itself checked against
    /// ICU above) on texts past its 64-byte windows: words and middle characters across
    /// window edges, ranges starting and ending anywhere, and bytes ≥ 0x80.
    @Test func bitMaskVersionMatchesTheScalarOne() {
        var rng = SplitMix64(seed: 0x6269_746D_6173_6B73)
        var bytes: [UInt8] = []
        var mismatches: [String] = []
        var words = 0
        for round in 0..<20_000 {
            bytes.removeAll(keepingCapacity: true)
            let length = Int(rng.next() % 300)
            // Long runs of one byte sometimes, so words and gaps span whole windows.
            let runny = round % 3 == 0
            var last: UInt8 = 0x61
            for _ in 0..<length {
                let r = rng.next()
                let b: UInt8
                if runny && r % 4 != 0 {
                    b = last
                } else if round % 5 == 4 {
                    b = UInt8(truncatingIfNeeded: r >> 8)  // any byte, ≥ 0x80 included
                } else {
                    b = Self.classAlphabet[Int(r % UInt64(Self.classAlphabet.count))]
                }
                bytes.append(b)
                last = b
            }
            let a = length == 0 ? 0 : Int(rng.next() % UInt64(length + 1))
            let b = a + Int(rng.next() % UInt64(length - a + 1))
            for range in [0..<length, a..<b, a..<(length + 5)] {
                bytes.withUnsafeBufferPointer { buf in
                    var fast: [WordSegment] = [], scalar: [WordSegment] = []
                    ASCIIWordSegmenter.segments(buf, range: range, into: &fast)
                    ASCIIWordSegmenter.segmentsScalar(buf, range: range, into: &scalar)
                    words += scalar.count
                    if fast != scalar, mismatches.count < 3 {
                        mismatches.append("\(bytes) \(range): \(fast) vs \(scalar)")
                    }
                }
            }
        }
        #expect(words > 500_000)
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    // MARK: Mixed ASCII / non-ASCII: segments(utf8:) vs ICU on the whole text

    static let pieces: [String] = [
        "hello", "e-mail", "anna.rossi@infomaniak.ch", "3.14", "v2.1.0", "ab12", "_x_", "don't", "a:b", "1,000",
        "l'été", "café", "naïve", "Straße", "crème brûlée", "e\u{0301}", "\u{0301}", "a\u{0308}b", "\u{200D}",
        "日本語のメールを送ります", "中文邮件测试", "カタカナ", "ひらがな", "한국어", "Привет", "мир,", "مرحبا",
        "ภาษาไทยง่ายนิดเดียว", "שלום", "ב\"ה", "😀", "👩\u{200D}💻", "🇫🇷", "\u{00A0}", "\u{2028}", "\u{0085}",
        "\u{00AD}", "x\u{00AD}y", "·", "١٢٣", "½", "ｆｕｌｌ", "１２３", "…", "—", "€5", "5€",
        ".", ",", "'", "_", "@", ":", "\"", "-", "(", ")",
    ]
    static let glue: [String] = ["", "", " ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}", "\r", ".", "_", "'", ","]

    @Test func mixedTextMatchesICU() {
        let seg = WordSegmenter()
        var rng = SplitMix64(seed: 42)
        var mismatches: [String] = []
        for _ in 0..<30_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 12) {
                text += Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))]
                text += Self.glue[Int(rng.next() % UInt64(Self.glue.count))]
            }
            if let m = Self.compare(seg, text), mismatches.count < 20 { mismatches.append(m) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    // MARK: Real mail

    static var sharedCorpus: URL {
        if let env = ProcessInfo.processInfo.environment["MAILSIFT_SHARED_CORPUS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        // #filePath is <repo>/Tests/AnalysisTests/<file>: the shared corpus sits beside the repo.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/corpus").standardized
    }

    @Test func spamAssassinSampleMatchesICU() throws {
        let dir = Self.sharedCorpus.appendingPathComponent("spamassassin-public-corpus/easy_ham")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            print("ASCIIWordSegmenterTests: \(dir.path) absent, skipping")
            return
        }
        let seg = WordSegmenter()
        var mismatches: [String] = []
        var files = 0
        for name in names.sorted().prefix(2000) {
            guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else { continue }
            files += 1
            if let m = Self.compare(seg, String(decoding: data, as: UTF8.self)), mismatches.count < 20 {
                mismatches.append("\(name): \(m)")
            }
        }
        #expect(files > 0)
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// Env-gated: MAILSIFT_DIFF_CORPUS=/dir compares `segments(utf8:)` (fast path wherever the text is
    /// ASCII) with ICU over every file under /dir. Run by tools/diff-segmenter.sh in a release build.
    @Test func diffCorpusMatchesICU() throws {
        guard let root = ProcessInfo.processInfo.environment["MAILSIFT_DIFF_CORPUS"], !root.isEmpty else { return }
        let seg = WordSegmenter()
        var files = 0, bytes = 0, asciiFiles = 0, segmentsCompared = 0, mismatchCount = 0
        var reports: [String] = []
        for dir in root.split(separator: ":").map(String.init) {
            guard let walker = FileManager.default.enumerator(atPath: dir) else {
                Issue.record("cannot read \(dir)")
                continue
            }
            while let rel = walker.nextObject() as? String {
                let path = dir + "/" + rel
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                      let data = FileManager.default.contents(atPath: path) else { continue }
                var text = String(decoding: data, as: UTF8.self)
                files += 1
                text.withUTF8 { buf in
                    bytes += buf.count
                    if !buf.contains(where: { $0 >= 0x80 }) { asciiFiles += 1 }
                    let mine = seg.segments(utf8: buf)
                    let reference = seg.icuSegments(buf, base: 0)
                    segmentsCompared += reference.count
                    if mine != reference {
                        mismatchCount += 1
                        if reports.count < 20 { reports.append("\(path): \(Self.firstDifference(buf, mine, reference))") }
                    }
                }
            }
        }
        print("diff-segmenter: \(files) files (\(asciiFiles) pure ASCII), \(bytes) bytes, \(segmentsCompared) ICU segments, \(mismatchCount) mismatching files")
        for r in reports { print("diff-segmenter: MISMATCH \(r)") }
        #expect(files > 0)
        #expect(mismatchCount == 0, "\(reports.joined(separator: "\n"))")
    }

    /// Env-gated throughput: MAILSIFT_SEGMENTER_BENCH=/dir (or a colon list) reads pure-ASCII files
    /// under it up to ~20 MB and times the fast path and ICU over them, file by file.
    @Test func benchmarkFastPathVersusICU() throws {
        guard let root = ProcessInfo.processInfo.environment["MAILSIFT_SEGMENTER_BENCH"], !root.isEmpty else { return }
        var texts: [[UInt8]] = []
        var total = 0
        outer: for dir in root.split(separator: ":").map(String.init) {
            guard let walker = FileManager.default.enumerator(atPath: dir) else { continue }
            while let rel = walker.nextObject() as? String {
                guard let data = FileManager.default.contents(atPath: dir + "/" + rel) else { continue }
                let b = [UInt8](data)
                guard !b.isEmpty, !b.contains(where: { $0 >= 0x80 }) else { continue }
                texts.append(b)
                total += b.count
                if total >= 20_000_000 { break outer }
            }
        }
        let seg = WordSegmenter()
        let clock = ContinuousClock()
        func time(_ body: () -> Int) -> (Duration, Int) {
            var best = Duration.seconds(1_000_000), count = 0
            for _ in 0..<3 {
                let t0 = clock.now
                count = body()
                best = min(best, clock.now - t0)
            }
            return (best, count)
        }
        let (fastTime, fastCount) = time {
            var n = 0, out: [WordSegment] = []
            for t in texts {
                t.withUnsafeBufferPointer { buf in
                    out.removeAll(keepingCapacity: true)
                    ASCIIWordSegmenter.segments(buf, range: 0..<buf.count, into: &out)
                    n += out.count
                }
            }
            return n
        }
        let (wholeTime, wholeCount) = time {
            var n = 0
            for t in texts { n += t.withUnsafeBufferPointer { seg.segments(utf8: $0).count } }
            return n
        }
        let (icuTime, icuCount) = time {
            var n = 0
            for t in texts { n += t.withUnsafeBufferPointer { seg.icuSegments($0, base: 0).count } }
            return n
        }
        func mbps(_ d: Duration) -> String {
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            return String(format: "%.1f MB/s", Double(total) / 1e6 / s)
        }
        print("segmenter-bench: \(texts.count) files, \(total) bytes, \(icuCount) words")
        print("segmenter-bench: ASCIIWordSegmenter \(mbps(fastTime)) (\(fastTime)); segments(utf8:) \(mbps(wholeTime)) (\(wholeTime)); ICU \(mbps(icuTime)) (\(icuTime))")
        #expect(fastCount == icuCount && wholeCount == icuCount)
    }

    // MARK: Helpers

    static func fast(_ text: String) -> [WordSegment] {
        var copy = text
        return copy.withUTF8 { buf in
            var out: [WordSegment] = []
            ASCIIWordSegmenter.segments(buf, range: 0..<buf.count, into: &out)
            return out
        }
    }

    static func icu(_ seg: WordSegmenter, _ text: String) -> [WordSegment] {
        var copy = text
        return copy.withUTF8 { seg.icuSegments($0, base: 0) }
    }

    /// nil when `segments(utf8:)` equals ICU on the whole text, else a description of the first difference.
    static func compare(_ seg: WordSegmenter, _ text: String) -> String? {
        var copy = text
        return copy.withUTF8 { buf in
            let mine = seg.segments(utf8: buf)
            let reference = seg.icuSegments(buf, base: 0)
            return mine == reference ? nil : "\(text.prefix(200).debugDescription): \(firstDifference(buf, mine, reference))"
        }
    }

    static func firstDifference(_ buf: UnsafeBufferPointer<UInt8>, _ mine: [WordSegment], _ reference: [WordSegment]) -> String {
        var k = 0
        while k < mine.count && k < reference.count && mine[k] == reference[k] { k += 1 }
        func describe(_ s: WordSegment?) -> String {
            guard let s, s.start >= 0, s.start <= s.end, s.end <= buf.count else { return "none" }
            return "\(String(decoding: UnsafeBufferPointer(rebasing: buf[s.start..<s.end]), as: UTF8.self).debugDescription)@\(s.start)/\(s.kind)"
        }
        let at = (k < reference.count ? reference[k].start : k < mine.count ? mine[k].start : 0)
        let lo = max(0, at - 40), hi = min(buf.count, at + 40)
        let context = String(decoding: UnsafeBufferPointer(rebasing: buf[lo..<hi]), as: UTF8.self)
        return "segment #\(k): mine \(describe(k < mine.count ? mine[k] : nil)) icu \(describe(k < reference.count ? reference[k] : nil)) (counts \(mine.count)/\(reference.count)); context \(context.debugDescription)"
    }

    static func render(_ text: String, _ segments: [WordSegment]) -> [String] {
        let bytes = Array(text.utf8)
        return segments.map { s in
            guard s.start >= 0, s.start <= s.end, s.end <= bytes.count else { return "bad \(s.start)..<\(s.end)" }
            return "\(String(decoding: bytes[s.start..<s.end], as: UTF8.self))/\(s.kind)"
        }
    }
}
