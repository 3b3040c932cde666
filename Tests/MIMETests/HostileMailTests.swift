import CICUShim
import Foundation
import MIME
import Testing

/// Hostile mail parsed in process: every charset label ICU knows (and invalid ones), 100,000
/// parts, 10,000 levels of nesting. Each is parsed as far as the limits allow, the limit hit is
/// recorded as a defect, and nothing traps. (The large bombs, 1 GB of header, a 200 MB base64
/// line, a 50 MB word, zip bombs and a PDF that keeps pdftotext busy, go through the
/// command-line indexer with their memory measured: CLITests/HostileInputTests.)
@Suite struct HostileMailTests {
    /// Every converter name and alias ICU has, plus labels nobody has.
    static var labels: [String] {
        var out: [String] = []
        for i in 0..<msicu_converter_count() {
            guard let name = msicu_converter_name(i) else { continue }
            out.append(String(cString: name))
            for k in 0..<msicu_alias_count(name) {
                if let alias = msicu_alias(name, k) { out.append(String(cString: alias)) }
            }
        }
        return out
    }

    static let invalidLabels = ["", " ", "x-unknown", "utf-8\u{0}", "../../etc/passwd", String(repeating: "a", count: 10_000), "utf-8; q=1",
                                "\"utf-8\"", "ＵＴＦ-８", "utf-8\r\nX-Injected: yes", "%75tf-8", "unicode-1-1-utf-7", "x-user-defined"]

    /// Bytes meant to trip converters: every byte value, escape sequences of ISO-2022, UTF-16
    /// surrogates alone, shift sequences of UTF-7 and HZ, and truncated multibyte sequences.
    static let nasty: [UInt8] = Array(0...255) + [0x1B, 0x24, 0x42, 0x30, 0x21, 0x1B, 0x28, 0x42, 0x1B, 0x24, 0x29, 0x43, 0x0E, 0x21, 0x0F,
                                                  0x2B, 0x41, 0x47, 0x45, 0x2D, 0x7E, 0x7B, 0x7E, 0x7D, 0x00, 0xD8, 0x00, 0xDC, 0xFF, 0xFE,
                                                  0xE3, 0x81, 0xF0, 0x9F, 0x98, 0x81, 0x81, 0x30, 0x81]

    @Test func everyCharsetLabelICUKnowsAndInvalidOnes() throws {
        let labels = Self.labels
        #expect(labels.count > 1_000)
        var unknown: Set<String> = []
        for label in labels + Self.invalidLabels {
            let (text, outcome) = Charset.decode(Self.nasty, label: label)
            // Every byte becomes at most a few characters of valid UTF-8 (a Swift String).
            #expect(text.utf8.count <= 4 * Self.nasty.count + 16, "\(label.prefix(40))")
            if outcome.unknownLabel { unknown.insert(label) }
            // The same label in a message: a text part and an encoded word in the subject.
            let safe = String(label.unicodeScalars.filter { $0.value >= 0x21 && $0.value < 0x7F && $0 != "\"" && $0 != "?" }.prefix(200))
            var message = Array("Subject: =?\(safe)?B?\(Data(Self.nasty.prefix(60)).base64EncodedString())?=\r\nContent-Type: text/plain; charset=\"\(safe)\"\r\n\r\n".utf8)
            message += Self.nasty
            let doc = MessageParser().parse(message)
            #expect(doc.body.count == 1, "\(safe)")
        }
        // Labels that are no charset are reported as unknown (the text is then decoded by a
        // guess), never taken for some charset they resemble.
        // ("x-unknown" is a known way of saying "undeclared".)
        for label in ["../../etc/passwd", String(repeating: "a", count: 10_000), "ＵＴＦ-８", "%75tf-8", "utf-8\r\nX-Injected: yes"] {
            #expect(unknown.contains(label), "not reported unknown: \(label.prefix(40))")
        }
        let icuUnknown = unknown.subtracting(Self.invalidLabels)
        #expect(icuUnknown.isEmpty, "ICU's own labels unknown to the decoder: \(icuUnknown.sorted().prefix(10))")
    }

    @Test func hundredThousandPartsStopAtTheLimit() {
        var m = Array("Content-Type: multipart/mixed; boundary=b\r\n\r\n".utf8)
        let part = Array("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n".utf8)
        for _ in 0..<100_000 { m += part }
        m += Array("--b--\r\n".utf8)
        let limits = ParserLimits()
        let doc = MessageParser(limits: limits).parse(m)
        #expect(doc.defects.contains { $0.kind == .tooManyParts })
        #expect(doc.body.count + doc.alternatives.count + doc.attachments.count <= limits.maxParts)
        #expect(doc.body.count > 1_000)
    }

    @Test func tenThousandLevelsOfNestingStopAtTheLimit() {
        var m: [UInt8] = []
        for i in 0..<10_000 { m += Array("Content-Type: multipart/mixed; boundary=\"b\(i)\"\r\n\r\n--b\(i)\r\n".utf8) }
        m += Array("Content-Type: text/plain\r\n\r\ndeepest words\r\n".utf8)
        for i in stride(from: 9_999, through: 0, by: -1) { m += Array("--b\(i)--\r\n".utf8) }
        let doc = MessageParser().parse(m)
        #expect(doc.defects.contains { $0.kind == .tooDeep })
        // Nested messages as deep too (message/rfc822 inside message/rfc822).
        var n: [UInt8] = []
        for _ in 0..<10_000 { n += Array("Content-Type: message/rfc822\r\n\r\n".utf8) }
        n += Array("Subject: inner\r\n\r\nbody\r\n".utf8)
        let nested = MessageParser().parse(n)
        #expect(nested.defects.contains { $0.kind == .tooDeep })
    }
}
