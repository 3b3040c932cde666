import Testing
@testable import MIME
import TestSupport

@Suite struct CharsetTests {
    @Test(arguments: charsetVectors.indices)
    func decodesEachFamily(_ i: Int) {
        let v = charsetVectors[i]
        let (text, outcome) = Charset.decode(v.bytes, label: v.label)
        #expect(text == v.text, "label \(v.label) decoded via \(outcome.used)")
        #expect(outcome.substitutions == 0)
        #expect(!outcome.unknownLabel)
    }

    @Test func mislabelsMapToTheSuperset() {
        #expect(Charset.normalizeLabel("ISO-8859-1") == "windows-1252")
        #expect(Charset.normalizeLabel(" \"gb2312\" ") == "gb18030")
        #expect(Charset.normalizeLabel("ks_c_5601-1987") == "windows-949")
        #expect(Charset.normalizeLabel("Shift_JIS") == "windows-31j")
        #expect(Charset.normalizeLabel("iso_8859-2") == "iso-8859-2")
        #expect(Charset.normalizeLabel("iso8859-7") == "iso-8859-7")
        #expect(Charset.normalizeLabel("unknown-8bit") == nil)
        #expect(Charset.normalizeLabel("") == nil)
    }

    @Test func unknownLabelFallsBackToDetection() {
        // KOI8-R bytes under a made-up label: ICU's detector recognizes Russian.
        let text = "Добрый день! Высылаю вам отчёт о работе нашего отдела за прошлую неделю. " +
            "Мы закончили перенос почтовых ящиков на новые серверы и проверили поиск по всем письмам. " +
            "Если у вас есть вопросы, пожалуйста, напишите мне или позвоните в любое время. С уважением, Иван французских"
        let bytes = text.data(koi8r: true)
        let (decoded, outcome) = Charset.decode(bytes, label: "x-foo-bar")
        #expect(outcome.unknownLabel)
        #expect(outcome.guessed)
        #expect(decoded == text, "detected: \(String(describing: Charset.detect(bytes)))")
    }

    @Test func undeclaredUTF8AndLatin1() {
        let utf8 = Array("naïve café".utf8)
        #expect(Charset.decode(utf8, label: nil).0 == "naïve café")
        // Invalid as UTF-8, no label: a guess, never a dropped part.
        let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9, 0x20, 0x61, 0x75, 0x20, 0x6C, 0x61, 0x69, 0x74]
        let (text, outcome) = Charset.decode(latin1, label: nil)
        #expect(text.hasPrefix("caf"))
        #expect(text.utf8.count >= latin1.count)
        #expect(outcome.guessed)
    }

    @Test func invalidUTF8UnderUTF8LabelIsRepairedNotDropped() {
        var bytes = Array("Hello wörld, this is mostly fine text. ".utf8)
        bytes += [0xFF]
        bytes += Array(" More text after the bad byte.".utf8)
        let (text, outcome) = Charset.decode(bytes, label: "utf-8")
        #expect(text.contains("Hello wörld"))
        #expect(text.contains("More text after the bad byte."))
        #expect(outcome.guessed)
    }

    @Test func emptyAndGarbage() {
        #expect(Charset.decode([UInt8](), label: "koi8-r").0 == "")
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let n = Int(rng.next() % 300)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for label in [nil, "utf-8", "iso-2022-jp", "utf-16", "utf-7", "gb18030", "bogus"] as [String?] {
                let (text, _) = Charset.decode(bytes, label: label)
                #expect(text.utf8.count <= bytes.count * 4 + 8)
            }
        }
    }
}

extension String {
    /// KOI8-R bytes of a Russian string, for tests (the table covers Cyrillic letters and ASCII).
    func data(koi8r: Bool) -> [UInt8] {
        let upper = "юабцдефгхийклмнопярстужвьызшэщчъ"
        var out: [UInt8] = []
        for ch in self {
            if let a = ch.asciiValue { out.append(a); continue }
            let lower = Character(ch.lowercased())
            if lower == "ё" { out.append(ch == "ё" ? 0xA3 : 0xB3); continue }
            guard let idx = upper.firstIndex(of: lower) else { out.append(0x3F); continue }
            let base: UInt8 = ch == lower ? 0xC0 : 0xE0
            out.append(base + UInt8(upper.distance(from: upper.startIndex, to: idx)))
        }
        return out
    }
}

