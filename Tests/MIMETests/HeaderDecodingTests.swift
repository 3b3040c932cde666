import Foundation
import Ingest
import Testing
@testable import MIME
import TestSupport

@Suite struct EncodedWordTests {
    func decode(_ s: String) -> String {
        var flags = EncodedWords.Flags()
        return EncodedWords.decodeWords(s, flags: &flags)
    }

    @Test func bAndQ() {
        #expect(decode("=?UTF-8?B?SsO8cmdlbg==?=") == "Jürgen")
        #expect(decode("=?iso-8859-1?q?caf=E9_au_lait?=") == "café au lait")
        #expect(decode("Re: =?ISO-8859-1?Q?Quartals=FCbersicht?= Q3") == "Re: Quartalsübersicht Q3")
    }

    /// The "=?" marker is found after other "=" signs, never past the value's end.
    @Test func markerAfterOtherEqualsSigns() {
        func header(_ s: String) -> String {
            var flags = EncodedWords.Flags()
            return EncodedWords.decodeHeader(Array(s.utf8), fallbackCharset: nil, flags: &flags)
        }
        #expect(header("v=1; a=rsa-sha256; b==?utf-8?q?caf=C3=A9?=") == "v=1; a=rsa-sha256; b=café")
        #expect(header("x=y==?utf-8?b?w6k=?=") == "x=y=é")
        #expect(header("a=b c=") == "a=b c=")
        #expect(header("ends with =") == "ends with =")
        #expect(header("=") == "=")
        #expect(header("") == "")
    }

    @Test func adjacentWordsJoinWithoutTheirWhitespace() {
        #expect(decode("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab")
        #expect(decode("=?utf-8?q?a?=\t  =?utf-8?q?b?=") == "ab")
        // Whitespace next to plain text stays.
        #expect(decode("=?utf-8?q?a?= b") == "a b")
    }

    @Test func multibyteCharacterSplitAcrossWords() {
        // "ü" (C3 BC) split between two B words: joined as bytes before conversion.
        #expect(decode("=?UTF-8?B?w6=?= =?UTF-8?B?vA==?=") == "ü")
        // ISO-2022-JP split across words keeps its shift state.
        let jis = "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= =?ISO-2022-JP?B?GyRCJE4lYSE8JWsbKEI=?="
        #expect(decode(jis) == "日本語のメール")
    }

    @Test func languageSuffixAndCase() {
        #expect(decode("=?US-ASCII*EN?Q?Keith_Moore?=") == "Keith Moore")
        #expect(decode("=?utf-8?b?w7w=?=") == "ü")
    }

    @Test func brokenWordsAreSalvagedOrKept() {
        // Q text with a raw space (illegal, common).
        #expect(decode("=?utf-8?Q?hello world?=") == "hello world")
        // Glued to text on both sides.
        #expect(decode("abc=?utf-8?Q?=C3=BC?=def") == "abcüdef")
        // Not an encoded word at all.
        #expect(decode("what =? is this") == "what =? is this")
        #expect(decode("=?utf-8?X?abc?=") == "=?utf-8?X?abc?=")
        #expect(decode("=?utf-8?B?") == "=?utf-8?B?")
        // Missing final "=".
        #expect(decode("=?utf-8?Q?tail?") == "tail")
        // Unknown charset: decoded by guessing, flagged.
        var flags = EncodedWords.Flags()
        #expect(EncodedWords.decodeWords("=?x-nonsense?Q?plain?=", flags: &flags) == "plain")
    }

    @Test func rawEightBitHeaderUsesFallback() {
        var flags = EncodedWords.Flags()
        let koi: [UInt8] = [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]  // "Привет"
        #expect(EncodedWords.decodeHeader(koi, fallbackCharset: "koi8-r", flags: &flags) == "Привет")
        #expect(flags.contains(.rawEightBit))
        var f2 = EncodedWords.Flags()
        #expect(EncodedWords.decodeHeader(Array("Grüße".utf8), fallbackCharset: "koi8-r", flags: &f2) == "Grüße")
        #expect(!f2.contains(.rawEightBit))
    }
}

@Suite struct ParameterTests {
    func parse(_ s: String) -> ParameterizedValue { ParameterizedValue.parse(s, fallbackCharset: nil) }

    @Test func basics() {
        let ct = parse("Text/Plain; charset=\"UTF-8\"; format=flowed")
        #expect(ct.value == "text/plain")
        #expect(ct.parameter("charset") == "UTF-8")
        #expect(ct.parameter("format") == "flowed")
    }

    @Test func rfc2231ContinuationsAndEncoding() {
        let d = parse("attachment; filename*0*=UTF-8''Rechnung%20M%C3%A4rz; filename*1=\"-2024.csv\"")
        #expect(d.value == "attachment")
        #expect(d.parameter("filename") == "Rechnung März-2024.csv")
        let e = parse("attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt")
        #expect(e.parameter("filename") == "Grüße.txt")
        // Sections out of order are sorted.
        let f = parse("inline; name*1=\"world.txt\"; name*0=\"hello-\"")
        #expect(f.parameter("name") == "hello-world.txt")
    }

    @Test func encodedWordFilenameAndQuotes() {
        let p = parse("application/pdf; name=\"=?utf-8?B?0J7RgtGH0ZHRgi5wZGY=?=\"")
        #expect(p.parameter("name") == "Отчёт.pdf")
        let q = parse("text/plain; name=\"a \\\"quoted\\\" name.txt\"")
        #expect(q.parameter("name") == "a \"quoted\" name.txt")
    }

    @Test func lenientForms() {
        #expect(parse("text/plain;; charset=us-ascii (Plain Text)").parameter("charset") == "us-ascii")
        #expect(parse("multipart/mixed; boundary=\"unterminated").parameter("boundary") == "unterminated")
        #expect(parse("text/html; charset=").parameter("charset") == "")
        #expect(parse("text/plain; name=my file.txt").parameter("name") == "my file.txt")
        #expect(parse("").value == "")
        let dup = parse("text/plain; charset=utf-8; charset=koi8-r")
        #expect(dup.parameter("charset") == "utf-8")
    }
}

/// The byte-wise main value (ASCII without CR) equals the character-wise one it stands for.
@Suite struct ParameterMainValueTests {
    @Test func asciiValueEqualsTheCharacterWisePath() {
        let alphabet = Array("Text/PLAIN multipart-Mixed ;\t\"\n()=xY09.+_".utf8)
        var rng = SplitMix64(seed: 8)
        for _ in 0..<5_000 {
            let bytes = (0..<Int(rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            var want = String(decoding: bytes, as: UTF8.self)
            if let paren = want.firstIndex(of: "(") { want = String(want[..<paren]) }
            want = want.filter { $0 != " " && $0 != "\t" && $0 != "\"" && $0 != "\r" && $0 != "\n" }.lowercased()
            #expect(ParameterizedValue.asciiValue(bytes[...]) == want, "\(bytes)")
        }
        #expect(ParameterizedValue.parse("Text/HTML (a comment); Charset=\"UTF-8\"", fallbackCharset: nil).value == "text/html")
        #expect(ParameterizedValue.parse("text/plain; CHARSET=utf-8", fallbackCharset: nil).parameters.first?.name == "charset")
    }
}

@Suite struct TransferDecodingTests {
    @Test func base64Lenient() {
        #expect(TransferDecoding.base64(Array("SGVsbG8=".utf8)[...]).bytes == Array("Hello".utf8))
        #expect(TransferDecoding.base64(Array("SGVs\r\nbG8".utf8)[...]).bytes == Array("Hello".utf8))  // no padding
        let garbage = TransferDecoding.base64(Array("SGV*sbG8=!!".utf8)[...])
        #expect(garbage.bytes == Array("Hello".utf8))
        #expect(garbage.invalidCount == 3)
        // Two encodings concatenated.
        #expect(TransferDecoding.base64(Array("SGk=SGk=".utf8)[...]).bytes == Array("HiHi".utf8))
    }

    @Test func quotedPrintable() {
        let qp = TransferDecoding.quotedPrintable(Array("caf=C3=A9 =\r\nau lait   \r\nnext=3d=\nline".utf8)[...])
        #expect(String(decoding: qp.bytes, as: UTF8.self) == "café au lait\r\nnext=line")
        // An encoded space at the end of a line is data; literal trailing blanks are padding.
        let sig = TransferDecoding.quotedPrintable(Array("--=20\r\nabout=20 \t\r\nend ".utf8)[...])
        #expect(String(decoding: sig.bytes, as: UTF8.self) == "-- \r\nabout \r\nend")
        let broken = TransferDecoding.quotedPrintable(Array("50% =ZZ off=".utf8)[...])
        #expect(String(decoding: broken.bytes, as: UTF8.self) == "50% =ZZ off")
        #expect(broken.invalidCount == 1)
    }

    @Test func uuencode() {
        // "Hello, world!\n" uuencoded by GNU sharutils.
        let text = "Before\nbegin 644 hello.txt\n.2&5L;&\\L('=O<FQD(0H`\n`\nend\nAfter\n"
        let found = TransferDecoding.extractUUBlocks(Array(text.utf8))
        #expect(found?.files.first?.name == "hello.txt")
        #expect(found.map { String(decoding: $0.files[0].bytes, as: UTF8.self) } == "Hello, world!\n")
        #expect(found.map { String(decoding: $0.text, as: UTF8.self) } == "Before\nAfter\n")
        #expect(TransferDecoding.extractUUBlocks(Array("begin here\nno uu\n".utf8)) == nil)
    }
}

@Suite struct StructureTests {
    func split(_ s: String, _ boundary: String) -> [String]? {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            MultipartSplitter.split(buf, body: 0..<buf.count, boundary: Array(boundary.utf8))?.parts.map {
                String(decoding: UnsafeBufferPointer(rebasing: buf[$0]), as: UTF8.self)
            }
        }
    }

    @Test func multipartWithPreambleEpilogueAndPrefixBoundary() {
        let body = "preamble\r\n--b\r\nA\r\n--bc\r\nstill A\r\n--b  \r\nB\r\n--b--\r\nepilogue"
        #expect(split(body, "b") == ["A\r\n--bc\r\nstill A", "B"])
    }

    @Test func missingCloseDelimiterRunsToEnd() {
        #expect(split("--x\nfirst\n--x\nsecond\n", "x") == ["first", "second\n"])
        #expect(split("no delimiters at all", "x") == nil)
    }

    @Test func headerBlockFoldingAndObsoleteSyntax() {
        let msg = "From  Someone Mon Jan  1\r\nSubject : folded\r\n  value\nX-Empty:\r\nTo: a@b\r\n\r\nbody"
        let bytes = Array(msg.utf8)
        let r = bytes.withUnsafeBufferPointer { HeaderBlockParser.parse($0, range: 0..<$0.count, limits: ParserLimits(), skipMboxFromLine: true) }
        #expect(r.fields.map(\.name) == ["Subject", "X-Empty", "To"])
        #expect(r.fields.map(\.kind) == [.subject, .other, .to])
        #expect(String(decoding: r.fields[0].value, as: UTF8.self) == "folded  value")
        #expect(String(decoding: bytes[r.bodyStart...], as: UTF8.self) == "body")
        #expect(r.defects.isEmpty)
    }

    @Test func headerWithoutBlankLine() {
        let bytes = Array("Subject: x\nthis is body text\nmore".utf8)
        let r = bytes.withUnsafeBufferPointer { HeaderBlockParser.parse($0, range: 0..<$0.count, limits: ParserLimits(), skipMboxFromLine: false) }
        #expect(r.fields.count == 1)
        #expect(r.defects == [.missingHeaderBodySeparator])
        #expect(String(decoding: bytes[r.bodyStart...], as: UTF8.self) == "this is body text\nmore")
    }

    @Test func formatFlowed() {
        #expect(FlowedText.unflow("a long \r\nline\r\n", delSp: false) == "a long line\n")
        #expect(FlowedText.unflow("deploy \nment\n", delSp: true) == "deployment\n")
        #expect(FlowedText.unflow("two \nwords", delSp: false) == "two words")
        #expect(FlowedText.unflow("> quoted \n> text\nplain\n", delSp: false) == "> quoted text\nplain\n")
        #expect(FlowedText.unflow("-- \nsig\n", delSp: false) == "-- \nsig\n")
        #expect(FlowedText.unflow(" >stuffed\n", delSp: false) == ">stuffed\n")
        #expect(FlowedText.unflow("", delSp: false) == "")
        #expect(FlowedText.unflow("\n\n", delSp: true) == "\n\n")
        // Octets, not Characters (RFC 3676): a quote mark with a combining mark is a quote.
        #expect(FlowedText.unflow(">\u{301}x\n", delSp: false) == "> \u{301}x\n")
    }

    /// The byte-wise unflowing answers as the Character-wise one it replaced (kept here as the
    /// reference) on 3,000 random texts of the pieces format=flowed mail is made of, with
    /// both DelSp values (no combining marks after a quote mark or stuffing space: there the
    /// two differ on purpose, see `FlowedText.unflow`).
    @Test func formatFlowedMatchesCharacterwiseReference() {
        func reference(_ text: String, delSp: Bool) -> String {
            var out = ""
            var paragraph = ""
            var paragraphDepth = -1
            func flush() {
                guard paragraphDepth >= 0 else { return }
                if paragraphDepth > 0 { out += String(repeating: ">", count: paragraphDepth) + " " }
                out += paragraph
                out += "\n"
                paragraph = ""
                paragraphDepth = -1
            }
            var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            if lines.last?.isEmpty == true { lines.removeLast() }
            for rawLine in lines {
                var line = rawLine
                if line.last == "\r" { line = line.dropLast() }
                var depth = 0
                while line.first == ">" { depth += 1; line = line.dropFirst() }
                if line.first == " " { line = line.dropFirst() }
                let isSignature = line == "-- "
                let flowed = !isSignature && line.last == " "
                if paragraphDepth >= 0, depth != paragraphDepth { flush() }
                paragraphDepth = depth
                if flowed { paragraph += delSp ? line.dropLast() : line } else { paragraph += line; flush() }
            }
            flush()
            if out.utf8.last == 0x0A, text.utf8.last != 0x0A { out.removeLast() }
            return out
        }
        let pieces = ["word", " ", "  ", ">", "> ", "\n", "\r\n", "\r", "-- ", "-", "é", "日本", "x ", "\t", "🙂"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for i in 0..<3_000 {
            let text = (0..<(next() % 40)).map { _ in pieces[next() % pieces.count] }.joined()
            for delSp in [false, true] {
                #expect(Array(FlowedText.unflow(text, delSp: delSp).utf8) == Array(reference(text, delSp: delSp).utf8),
                        "text \(i): \(text.debugDescription), delSp \(delSp)")
            }
        }
    }
}

/// Message ids from bytes against the UTF8View walk they replaced: random values of ids,
/// blanks, stray brackets and multi-byte characters, and the id fields of real mail.
@Suite struct MessageIDTests {
    static func reference(_ value: String) -> [String] {
        var ids: [String] = []
        let utf8 = value.utf8
        var i = utf8.startIndex
        while i != utf8.endIndex, ids.count < 10_000 {
            guard let open = utf8[i...].firstIndex(of: 0x3C) else { break }
            let after = utf8.index(after: open)
            guard let close = utf8[after...].firstIndex(of: 0x3E) else { break }
            var id = [UInt8]()
            for b in utf8[after..<close] where !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A) { id.append(b) }
            if !id.isEmpty { ids.append(String(decoding: id, as: UTF8.self)) }
            i = utf8.index(after: close)
        }
        return ids
    }

    @Test func sameIdsAsTheCharacterWalk() {
        #expect(MessageParser.messageIDs("<a@b> <c@d>\r\n\t<e\r\n f@g>") == ["a@b", "c@d", "ef@g"])
        #expect(MessageParser.messageIDs("<> < > x <unclosed") == [])
        var rng = SplitMix64(seed: 7)
        let pieces = ["<", ">", " ", "\t", "\r\n", "a", "@", "é", "日", "x.y", "<<", ">>", "\u{301}"]
        var values: [String] = []
        for _ in 0..<3_000 {
            values.append((0..<Int(rng.next() % 24)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined())
        }
        if let shared = TestPaths.shared {
            for file in MessageFiles.files(under: [shared.appendingPathComponent("mime-fixtures").path]).prefix(300) {
                for message in (try? MessageFiles.read(file)) ?? [] {
                    let doc = MessageParser().parse(message.bytes)
                    values += doc.headers.filter { ["message-id", "references", "in-reply-to"].contains($0.name.lowercased()) }.map(\.value)
                }
            }
        }
        var found = 0
        for value in values {
            let want = Self.reference(value)
            #expect(MessageParser.messageIDs(value) == want, "\(value.debugDescription)")
            found += want.count
        }
        #expect(found > 1_000)
    }
}
