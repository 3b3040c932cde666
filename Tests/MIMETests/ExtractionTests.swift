import Foundation
import Testing
@testable import MIME
import TestSupport

// MARK: - Helpers

private func fixture(_ name: String) throws -> [UInt8] {
    let base = try #require(Bundle.module.resourceURL)
    let url = base.appendingPathComponent("Fixtures/extraction/\(name)")
    return [UInt8](try Data(contentsOf: url))
}

/// Latin-1 decoder, plus a tiny windows-1251 table for the Cyrillic letters А..я.
private func testDecoder(_ bytes: [UInt8], _ label: String) -> String {
    var s = String.UnicodeScalarView()
    for b in bytes {
        if label == "windows-1251", b >= 0xC0, let u = Unicode.Scalar(0x0410 + UInt32(b - 0xC0)) {
            s.append(u)
        } else {
            s.append(Unicode.Scalar(b))
        }
    }
    return String(s)
}

private final class LabelRecorder: @unchecked Sendable {
    var labels: [String] = []
}

private func run(_ mediaType: String, _ filename: String?, _ data: [UInt8],
                 limits: ExtractionLimits = ExtractionLimits()) -> ExtractionResult {
    AttachmentExtractor.extract(mediaType: mediaType, filename: filename, data: data, limits: limits,
                                decodeCharset: testDecoder)
}

// MARK: - OOXML

@Suite struct OOXMLExtractionTests {
    @Test func docxByMediaType() throws {
        let r = run("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.docx", try fixture("sample.docx"))
        #expect(r.status == .ok)
        #expect(r.text.contains("Quarterly pelican report\n"))
        #expect(r.text.contains("Revenue\tFish & Chips <tasty> €5 ☺"))
        #expect(r.text.contains("line one\nline two"))
        #expect(r.text.contains("chosen"))
        #expect(!r.text.contains("fallbackdup"))
        #expect(!r.text.contains("HYPERLINK"))
        #expect(r.text.contains("Привет мир"))
        #expect(r.text.contains("Confidential walrus header"))
        // The tab-stop definition in w:pPr/w:tabs must not produce a tab.
        #expect(!r.text.contains("\tQuarterly"))
    }

    @Test func docxByExtensionAndMagic() throws {
        let data = try fixture("sample.docx")
        #expect(run("application/octet-stream", "report.DOCX", data).text.contains("pelican"))
        #expect(run("", nil, data).text.contains("pelican"))
        #expect(run("application/msword", nil, data).text.contains("pelican"))
    }

    @Test func xlsx() throws {
        let r = run("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", nil, try fixture("sample.xlsx"))
        #expect(r.status == .ok)
        #expect(r.text.contains("Item\tCost\n"))
        #expect(r.text.contains("Giraffe food\t42.5\n"))
        #expect(r.text.contains("Inline okapi\tTRUE\t42.5\n"))
        #expect(r.text.contains("Second sheet kiwi"))
        #expect(!r.text.contains("PHONETIC"))
        #expect(!r.text.contains("SUM("))
    }

    @Test func pptxSlidesInNumericOrder() throws {
        let r = run("application/octet-stream", "deck.pptx", try fixture("sample.pptx"))
        #expect(r.status == .ok)
        let t = r.text
        let a = try #require(t.range(of: "Opening slide aardvark"))
        let b = try #require(t.range(of: "Second slide narwhal\nbullet two"))
        let c = try #require(t.range(of: "Tenth slide flamingo"))
        let n = try #require(t.range(of: "Speaker notes wombat"))
        #expect(a.lowerBound < b.lowerBound)
        #expect(b.lowerBound < c.lowerBound)
        #expect(c.lowerBound < n.lowerBound)
    }
}

// MARK: - ODF

@Suite struct ODFExtractionTests {
    @Test func odt() throws {
        let r = run("application/vnd.oasis.opendocument.text", nil, try fixture("sample.odt"))
        #expect(r.status == .ok)
        #expect(r.text.contains("Heading hedgehog\n"))
        #expect(r.text.contains("Alpha   beta\tgamma\ndelta span & more\n"))
        #expect(r.text.contains("List item lemur"))
        #expect(!r.text.contains("not text"))
    }

    @Test func ods() throws {
        let r = run("application/octet-stream", "sheet.ods", try fixture("sample.ods"))
        #expect(r.status == .ok)
        #expect(r.text == "Name\tAnimal\nBob\tCapybara\n")
    }
}

// MARK: - ZIP bombs and limits

@Suite struct ZipLimitTests {
    @Test func bombDeclaringHugeEntryIsRejectedQuickly() throws {
        let data = try fixture("bomb.docx")
        let start = Date()
        let r = run("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bomb.docx", data)
        #expect(r.status == .limitExceeded)
        #expect(r.text.isEmpty)
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func bombLyingAboutItsSizeIsStoppedWhileReading() throws {
        let data = try fixture("bomb-lying.docx")
        let start = Date()
        let r = run("application/octet-stream", nil, data)
        #expect(r.status == .limitExceeded)
        #expect(r.detail?.contains("expands beyond") == true)
        #expect(Date().timeIntervalSince(start) < 5)
        // With a tighter expansion budget it stops even earlier.
        var limits = ExtractionLimits()
        limits.maxExpandedBytes = 1 << 20
        #expect(run("application/octet-stream", nil, data, limits: limits).status == .limitExceeded)
    }

    @Test func compressionRatioLimit() throws {
        // bomb.docx with a huge budget still trips the per-entry ratio.
        var limits = ExtractionLimits()
        limits.maxExpandedBytes = 1 << 40
        let r = run("", "x.docx", try fixture("bomb.docx"), limits: limits)
        #expect(r.status == .limitExceeded)
        #expect(r.detail?.contains("ratio") == true)
    }

    @Test func entryCountAndExpansionBudget() throws {
        let data = try fixture("sample.docx")
        var few = ExtractionLimits()
        few.maxZipEntries = 2
        #expect(run("", "a.docx", data, limits: few).status == .limitExceeded)
        var tiny = ExtractionLimits()
        tiny.maxExpandedBytes = 100
        #expect(run("", "a.docx", data, limits: tiny).status == .limitExceeded)
    }

    /// Patches a 32-bit field of the central-directory record of `entry` (field offset relative to "PK\u{1}\u{2}").
    private func patchCentralDirectory(_ zip: [UInt8], entry: String, field: Int, value: UInt32) -> [UInt8] {
        var z = zip
        let name = Array(entry.utf8)
        var i = 0
        while i + 46 < z.count {
            if z[i] == 0x50, z[i + 1] == 0x4B, z[i + 2] == 0x01, z[i + 3] == 0x02 {
                let n = Int(z[i + 28]) | Int(z[i + 29]) << 8
                if i + 46 + n <= z.count, Array(z[(i + 46)..<(i + 46 + n)]) == name {
                    for k in 0..<4 { z[i + field + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
                }
            }
            i += 1
        }
        return z
    }

    @Test func craftedCentralDirectoryDoesNotCrashOrHang() throws {
        let docx = try fixture("sample.docx")
        let type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        // Local header offset far beyond the end of the file.
        let farOffset = patchCentralDirectory(docx, entry: "word/document.xml", field: 42, value: 0xFFFF_FF00)
        #expect(run(type, nil, farOffset).status == .failed)
        // Compressed size shortened: the deflate stream never terminates within the entry.
        let shortData = patchCentralDirectory(docx, entry: "word/document.xml", field: 20, value: 10)
        #expect(run(type, nil, shortData).status == .failed)
        // Compressed size larger than the file.
        let longData = patchCentralDirectory(docx, entry: "word/document.xml", field: 20, value: 0x7FFF_FFFF)
        #expect(run(type, nil, longData).status == .failed)
        // Header document.xml readable but the header part is broken: text so far is kept.
        let brokenHeader = patchCentralDirectory(docx, entry: "word/header1.xml", field: 42, value: 0xFFFF_FF00)
        let r = run(type, nil, brokenHeader)
        #expect(r.status == .ok)
        #expect(r.text.contains("pelican"))
        #expect(r.detail?.contains("header1") == true)
    }

    @Test func inputSizeLimit() throws {
        var limits = ExtractionLimits()
        limits.maxInputBytes = 10
        let r = run("application/pdf", nil, Array(repeating: 0x41, count: 11), limits: limits)
        #expect(r.status == .limitExceeded)
    }

    @Test func outputTruncation() throws {
        var limits = ExtractionLimits()
        limits.maxOutputBytes = 30
        let r = run("", "a.docx", try fixture("sample.docx"), limits: limits)
        #expect(r.status == .truncated)
        #expect(r.text.utf8.count <= 30)
        #expect(r.text.hasPrefix("Quarterly pelican"))
    }

    @Test func nonOfficeZipAndBrokenZip() throws {
        // Rename every entry of the docx so no office part is left: a plain ZIP is unsupported.
        var plain = try fixture("sample.docx")
        for i in 0..<(plain.count - 4) where plain[i] == 0x77 && plain[i + 1] == 0x6F && plain[i + 2] == 0x72 && plain[i + 3] == 0x64 {
            plain[i] = 0x78 // "word/" -> "xord/"
        }
        #expect(run("application/zip", "x.zip", plain).status == .unsupported)
        let r = run("application/zip", "x.zip", [0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 100))
        #expect(r.status == .failed)
    }
}

// MARK: - PDF

@Suite(.serialized) struct PDFExtractionTests {
    @Test func handMadePDF() throws {
        let r = run("application/pdf", "x.pdf", try fixture("sample.pdf"))
        #expect(r.status == .ok, "\(r.detail ?? "")")
        #expect(r.text.contains("Mailsift quarterly zebra report"))
    }

    @Test func flankerPDFByMagic() throws {
        let r = run("application/octet-stream", nil, try fixture("flanker-test.pdf"))
        #expect(r.status == .ok)
        #expect(r.text.contains("Test."))
    }

    @Test func truncatedOutput() throws {
        var limits = ExtractionLimits()
        limits.maxOutputBytes = 8
        let r = run("application/pdf", nil, try fixture("sample.pdf"), limits: limits)
        #expect(r.status == .truncated)
        #expect(r.text == "Mailsift")
    }

    @Test func garbagePDFFails() throws {
        let r = run("application/pdf", nil, Array("%PDF-1.4\nthis is not a pdf\n".utf8))
        #expect(r.status == .failed || r.status == .empty)
        let half = try fixture("sample.pdf").prefix(200)
        let r2 = run("application/pdf", nil, Array(half))
        #expect([.failed, .empty, .ok].contains(r2.status))
    }

    @Test func tempFilesAreRemoved() throws {
        // A directory of this test's own, so parallel tests extracting PDFs cannot interfere.
        let dir = scratchPath("tmp-test")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var limits = ExtractionLimits()
        limits.temporaryDirectory = dir
        let r = run("application/pdf", nil, try fixture("sample.pdf"), limits: limits)
        #expect(r.status == .ok)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func pdftotextWallClockTimeout() throws {
        var limits = ExtractionLimits()
        limits.timeoutSeconds = 0.0001
        let r = run("application/pdf", nil, try fixture("sample.pdf"), limits: limits)
        #expect(r.status == .timedOut)
    }

    @Test func absurdLimitsDoNotTrap() throws {
        var limits = ExtractionLimits()
        limits.timeoutSeconds = .nan
        limits.maxOutputBytes = -5
        #expect(run("application/pdf", nil, try fixture("sample.pdf"), limits: limits).status == .truncated)
        // An address-space limit too small to even load pdftotext: it fails, nothing traps.
        var tiny = ExtractionLimits()
        tiny.memoryLimitBytes = -1
        let r = run("application/pdf", nil, try fixture("sample.pdf"), limits: tiny)
        #expect(r.status == .failed, "\(r.status) \(r.detail ?? "")")
        var zipLimits = ExtractionLimits()
        zipLimits.maxZipEntries = -1
        zipLimits.maxCompressionRatio = -3
        zipLimits.maxExpandedBytes = -7
        #expect(run("", "a.docx", try fixture("sample.docx"), limits: zipLimits).status == .limitExceeded)
    }

    @Test func subprocessTimeoutKillsChild() throws {
        let start = Date()
        guard case .success(let out) = ExtractionSubprocess.run(["/bin/sleep", "30"], timeout: 0.3, maxOutput: 100) else {
            Issue.record("spawn failed"); return
        }
        #expect(out.timedOut)
        #expect(out.signal == SIGKILL)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func subprocessOutputIsBoundedWithoutDeadlock() throws {
        let start = Date()
        guard case .success(let out) = ExtractionSubprocess.run(["/usr/bin/yes", "mailsift"], timeout: 10, maxOutput: 1 << 20) else {
            Issue.record("spawn failed"); return
        }
        #expect(out.overflowed)
        #expect(out.stdout.count == 1 << 20)
        #expect(!out.timedOut)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func subprocessEnvironmentIsEmpty() throws {
        guard case .success(let out) = ExtractionSubprocess.run(["/usr/bin/env"], timeout: 5, maxOutput: 4096) else {
            Issue.record("spawn failed"); return
        }
        #expect(out.exitCode == 0)
        #expect(out.stdout.isEmpty)
    }
}

// MARK: - RTF

@Suite struct RTFExtractionTests {
    @Test func cyrillicCodepageUnicodeAndEscapes() throws {
        let recorder = LabelRecorder()
        let r = AttachmentExtractor.extract(mediaType: "text/rtf", filename: nil, data: try fixture("sample.rtf"),
                                            limits: ExtractionLimits()) { bytes, label in
            recorder.labels.append(label)
            return testDecoder(bytes, label)
        }
        #expect(r.status == .ok)
        #expect(recorder.labels.contains("windows-1251"))
        #expect(r.text.contains("Привет абв\n"))
        #expect(r.text.contains("Euro € sign and café done\n"))
        #expect(r.text.contains("Escapes {braces} and \\backslash\ttabbed\nnext line\n"))
        #expect(r.text.contains("link text"))
        #expect(r.text.contains("Emoji 😀 done"))
        for hidden in ["Hidden title", "Nobody", "should not appear", "HYPERLINK", "89504e47", "Times New Roman", "Hand 1.0"] {
            #expect(!r.text.contains(hidden), "\(hidden)")
        }
    }

    @Test func defaultCodepageAndMagic() throws {
        let rtf = Array(#"{\rtf1 caf\'e9 na\'efve\par}"#.utf8)
        let recorder = LabelRecorder()
        let r = AttachmentExtractor.extract(mediaType: "application/octet-stream", filename: nil, data: rtf,
                                            limits: ExtractionLimits()) { bytes, label in
            recorder.labels.append(label)
            return testDecoder(bytes, label)
        }
        #expect(r.text == "café naïve\n")
        #expect(recorder.labels == ["windows-1252"])
    }

    @Test func deepNestingAndBinAreBounded() throws {
        var deep = Array(#"{\rtf1 "#.utf8)
        deep += Array(repeating: 0x7B, count: 100_000)
        deep += Array("deep".utf8)
        deep += Array(repeating: 0x7D, count: 100_001)
        let r = run("text/rtf", nil, deep)
        #expect(r.text == "deep")
        let bin = Array(#"{\rtf1 before{\*\objdata \bin5 {{{{{}after}"#.utf8)
        #expect(run("text/rtf", nil, bin).text == "beforeafter")
        let hugeBin = Array(#"{\rtf1 x\bin99999999999999999999 y}"#.utf8)
        #expect(run("text/rtf", nil, hugeBin).text == "x")
    }
}

// MARK: - Calendar / vCard

@Suite struct CalendarExtractionTests {
    @Test func ics() throws {
        let r = run("text/calendar", "invite.ics", try fixture("invite.ics"))
        #expect(r.status == .ok)
        let lines = r.text
        #expect(lines.contains("Budget review with the otter team\n"))
        #expect(lines.contains("Room 42, Building B\n"))
        #expect(lines.contains("Agenda:\n1. Numbers\n2. Coffee; cake\nThis line is folded across two lines.\n"))
        #expect(lines.contains("Doe, Jane <jane.doe@example.com>\n"))
        #expect(lines.contains("Bob Smith <bob@example.org>\n"))
        #expect(lines.contains("Finance, Quarterly\n"))
        #expect(!lines.contains("ignored html"))
        #expect(!lines.contains("fixture-1"))
        #expect(!lines.contains("REQ-PARTICIPANT"))
    }

    @Test func vcard() throws {
        let r = run("text/x-vcard", nil, try fixture("contact.vcf"))
        #expect(r.status == .ok)
        let t = r.text
        for expected in ["Anna Müller\n", "Müller Anna Dr.\n", "Annie\n", "Example GmbH Research\n", "Chief Beekeeper\n",
                         "anna@example.de\n", "+49 170 1234567\n", "Hauptstraße 5, Berlin, 10115, Germany\n",
                         "Met at the\nconference, 2023\n", "https://example.de/anna\n", "Jörg Schröder\n", "Soft linebreak continues\n"] {
            #expect(t.contains(expected), "\(expected)")
        }
        #expect(!t.contains("/9j/"))
        #expect(run("application/octet-stream", "card.VCF", try fixture("contact.vcf")).text == t)
    }
}

// MARK: - TNEF

/// Builds a TNEF stream: signature, key, then (level, id, length, data, checksum) attributes.
func tnef(_ attributes: [(UInt8, UInt32, [UInt8])]) -> [UInt8] {
    func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
    var out = le32(0x223E_9F78) + [0x01, 0x00]
    for (level, id, data) in attributes {
        out += [level] + le32(id) + le32(UInt32(data.count)) + data
        let sum = data.reduce(0) { ($0 + Int($1)) & 0xFFFF }
        out += [UInt8(sum & 0xFF), UInt8(sum >> 8)]
    }
    return out
}

@Suite struct TNEFTests {
    @Test func mailcore2Winmail() throws {
        let data = try fixture("winmail-mailcore2.dat")
        let list = AttachmentExtractor.tnefAttachments(data)
        #expect(list.count == 1)
        #expect(list.first?.size == 202_240)
        let name = try #require(list.first?.name)
        // PR_ATTACH_LONG_FILENAME from the attAttachment MAPI properties wins over attAttachTitle "gir-li~1.doc".
        #expect(name == "GIR - LINUX.doc")
        let r = run("application/ms-tnef", "winmail.dat", data)
        #expect(r.status == .ok)
        #expect(r.text.hasSuffix("\n" + name + "\n"))
        // Also found by file name and by magic.
        #expect(run("application/octet-stream", "WINMAIL.DAT", data).text == r.text)
        #expect(run("application/octet-stream", nil, data).text == r.text)
    }

    @Test func syntheticWithLongFilename() {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        var longName: [UInt8] = []
        for u in "Quartalsbericht März.xlsx".utf16 { longName += le16(u) }
        longName += [0, 0]
        var props: [UInt8] = le32(3)
        // PT_LONG attach num
        props += le16(0x0003); props += le16(0x0E21); props += le32(7)
        // PT_BINARY, padded to 4
        props += le16(0x0102); props += le16(0x3709); props += le32(1); props += le32(3); props += [1, 2, 3, 0]
        // PT_UNICODE PR_ATTACH_LONG_FILENAME
        props += le16(0x001F); props += le16(0x3707); props += le32(1); props += le32(UInt32(longName.count)); props += longName
        while props.count % 4 != 0 { props.append(0) }
        let stream = tnef([
            (1, 0x0009_8008, Array("IPM.Microsoft Mail.Note\0".utf8)),
            (2, 0x0006_9002, Array(repeating: 0, count: 14)),
            (2, 0x0001_8010, Array("QUARTA~1.XLS\0".utf8)),
            (2, 0x0006_800F, Array(repeating: 0x55, count: 1234)),
            (2, 0x0006_9005, props),
            (2, 0x0006_9002, Array(repeating: 0, count: 14)),
            (2, 0x0001_8010, [0x63, 0x61, 0x66, 0xE9, 0x2E, 0x74, 0x78, 0x74, 0x00]), // "café.txt" in windows-1252
            (2, 0x0006_800F, Array("hello".utf8)),
        ])
        let list = AttachmentExtractor.tnefAttachments(stream)
        #expect(list.map(\.name) == ["Quartalsbericht März.xlsx", "café.txt"])
        #expect(list.map(\.size) == [1234, 5])
        // Truncated in the middle of the second attachment's data: the first is still reported.
        let cut = AttachmentExtractor.tnefAttachments(Array(stream.prefix(stream.count - 6)))
        #expect(cut.first?.name == "Quartalsbericht März.xlsx")
        // A length field pointing past the end.
        var bad = tnef([(2, 0x0001_8010, Array("a.txt\0".utf8))])
        bad += [2, 0x0F, 0x80, 0x06, 0x00, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3]
        #expect(AttachmentExtractor.tnefAttachments(bad).map(\.name) == ["a.txt"])
    }
}

// MARK: - Dispatch, robustness

@Suite struct ExtractionRobustnessTests {
    @Test func unsupportedTypes() {
        #expect(run("text/plain", "a.txt", Array("hello".utf8)).status == .unsupported)
        #expect(run("image/png", "a.png", [0x89, 0x50, 0x4E, 0x47]).status == .unsupported)
        #expect(run("application/octet-stream", nil, Array(repeating: 7, count: 64)).status == .unsupported)
        #expect(run("application/msword", "old.doc", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]).status == .unsupported)
        #expect(run("application/pdf; name=\"x.pdf\"", nil, []).status == .empty)
    }

    @Test func truncatedAndGarbageInputNeverCrash() throws {
        let cases: [(String, String)] = [
            ("sample.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            ("sample.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ("sample.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
            ("sample.odt", "application/vnd.oasis.opendocument.text"),
            ("sample.rtf", "text/rtf"),
            ("invite.ics", "text/calendar"),
            ("contact.vcf", "text/vcard"),
            ("winmail-mailcore2.dat", "application/ms-tnef"),
            ("sample.pdf", "application/pdf"),
        ]
        var rng = SystemRandomNumberGenerator()
        for (name, type) in cases {
            let data = try fixture(name)
            var variants: [[UInt8]] = []
            for cut in [1, 7, 30, data.count / 3, data.count / 2, data.count - 1] where cut > 0 && cut < data.count {
                variants.append(Array(data.prefix(cut)))
            }
            var flipped = data
            for _ in 0..<20 {
                let i = Int.random(in: 0..<flipped.count, using: &rng)
                flipped[i] = UInt8.random(in: 0...255, using: &rng)
            }
            variants.append(flipped)
            variants.append((0..<512).map { _ in UInt8.random(in: 0...255, using: &rng) })
            if type == "application/pdf" { variants = Array(variants.prefix(3)) + [variants[variants.count - 1]] }
            for v in variants {
                let r = run(type, name, v)
                #expect(ExtractionStatus.allCasesForTest.contains(r.status))
            }
        }
        // Garbage TNEF and XML scanner edge cases.
        #expect(AttachmentExtractor.tnefAttachments([0x78, 0x9F, 0x3E, 0x22, 1]).isEmpty)
        #expect(AttachmentExtractor.tnefAttachments([]).isEmpty)
        #expect(run("application/ms-tnef", nil, [1, 2, 3]).status == .failed)
    }

    @Test func xmlScanner() {
        var text = ""
        var starts: [String] = []
        XMLTextScanner.scan(Array(#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "no">]><a b="1>2" c='&lt;q&gt;'><!-- <t>no</t> --><t>x &amp;&#65;&#x42;&bogus; &e;</t><![CDATA[<raw>]]><e/>"#.utf8)) { ev in
            switch ev {
            case .start(let name, let attrs, _):
                starts.append(name)
                if name == "a" {
                    #expect(XMLTextScanner.attribute("b", in: attrs) == "1>2")
                    #expect(XMLTextScanner.attribute("c", in: attrs) == "<q>")
                }
            case .text(let b): text += String(decoding: b, as: UTF8.self)
            case .end: break
            }
            return true
        }
        #expect(starts == ["a", "t", "e"])
        #expect(text == "x &AB&bogus; &e;<raw>")
    }

    @Test func sinkCutsOnScalarBoundary() {
        var sink = ExtractionSink(limit: 5)
        sink.append("Приве")
        let r = sink.result()
        #expect(r.status == .truncated)
        #expect(r.text == "Пр")
    }
}

extension ExtractionStatus {
    static let allCasesForTest: [ExtractionStatus] = [.ok, .truncated, .empty, .unsupported, .failed, .limitExceeded, .timedOut]
}
