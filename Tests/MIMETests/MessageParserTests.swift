import Foundation
import Testing
@testable import MIME

/// What the parser reads in the project's own samples (corpus/samples, made by corpus/make-samples.py).
@Suite struct MessageParserSampleTests {
    let parser = MessageParser()

    @Test func latin1QuotedPrintable() {
        let doc = parser.parse(TestPaths.sample("01-latin1-qp.eml"))
        #expect(doc.subject == "Quartalsübersicht Q3")
        #expect(doc.from == [MailAddress(name: "Jürgen Müller", address: "juergen.mueller@example.ch")])
        #expect(doc.to.map(\.address) == ["anna.rossi@example.org", "john@example.com"])
        #expect(doc.to.map(\.name) == ["Anna Rossi", "Doe, John"])
        #expect(doc.date?.iso8601 == "2024-10-01T09:30:00+02:00")
        #expect(doc.messageID == "q3-summary-1@example.ch")
        #expect(doc.bodyText.contains("Übersicht für das dritte Quartal. Grüße aus Zürich!"))
        #expect(doc.defects.isEmpty)
    }

    @Test func alternativePicksPlainAndKeepsAttachment() {
        let doc = parser.parse(TestPaths.sample("02-alternative-attachment.eml"))
        #expect(doc.body.count == 1)
        #expect(doc.body[0].part == "1.1")
        #expect(doc.body[0].origin == .plain)
        #expect(doc.parts.map(\.part) == ["", "1", "1.1", "1.2", "2"])
        #expect(doc.parts.first(where: { $0.part == "1.2" })?.role == .alternative)
        let att = try? #require(doc.attachments.first)
        #expect(att?.filename == "Rechnung März-2024.csv")
        #expect(att?.mediaType == "text/csv")
        #expect(att?.text?.contains("mailbox hosting;12.50") == true)
        #expect(att?.size == 53)
        #expect(att?.sha256?.count == 64)
        // The preamble is not body text.
        #expect(!doc.bodyText.contains("multi-part message"))
    }

    @Test func isoJapanese() {
        let doc = parser.parse(TestPaths.sample("03-iso-2022-jp.eml"))
        #expect(doc.subject == "会議の資料")
        #expect(doc.from.first?.name == "山田太郎")
        #expect(doc.bodyText == "会議の資料を送ります。よろしくお願いします。\n")
    }

    @Test func koi8WithRawHeader() {
        let doc = parser.parse(TestPaths.sample("04-koi8r-raw-header.eml"))
        #expect(doc.subject == "Отчёт за неделю")
        #expect(doc.bodyText.contains("Привет! Отчёт за неделю во вложении."))
        #expect(doc.defects.map(\.kind) == [.rawEightBitHeader])
    }

    @Test func flowedAndForwardedMessage() {
        let doc = parser.parse(TestPaths.sample("05-flowed-forward.eml"))
        #expect(doc.body.map(\.part) == ["1", "2", "2.1"])
        #expect(doc.body[0].text.contains("the deployment window moves to Saturday."))
        #expect(doc.body[1].origin == .embeddedHeaders)
        #expect(doc.body[1].text.contains("Subject: deployment window"))
        #expect(doc.body[2].text.contains("Saturday 02:00-04:00 UTC"))
        #expect(doc.parts.map(\.role) == [.container, .body, .message, .body])
    }

    @Test func brokenMessageIsSalvagedWithDefects() {
        let doc = parser.parse(TestPaths.sample("06-broken-lf.eml"))
        #expect(doc.subject == "broken structure")
        #expect(doc.body.map(\.text) == ["This body has garbage !! inside base64", "café au lait\n"])
        let kinds = Set(doc.defects.map(\.kind))
        #expect(kinds == [.missingHeaderBodySeparator, .missingEndBoundary, .invalidBase64, .unknownCharset])
    }

    @Test func calendarAndVCardText() {
        let doc = parser.parse(TestPaths.sample("07-calendar-vcard.eml"))
        #expect(doc.attachments.count == 2)
        let cal = doc.attachments.first { $0.mediaType == "text/calendar" }?.text ?? ""
        #expect(cal.contains("Quarterly review"))
        #expect(cal.contains("Room Matterhorn, 3rd floor"))
        #expect(cal.contains("Frank Ocean"))
        #expect(cal.contains("erin@example.com"))
        let card = doc.attachments.first { $0.filename == "frank.vcf" }?.text ?? ""
        #expect(card.contains("Example Corp"))
        #expect(card.contains("frank@example.com"))
    }

    @Test func nestedDepthLimitAndPartLimit() {
        // 100 nested multiparts: parsing stops at the depth limit with a defect, no stack overflow.
        var msg = "Content-Type: multipart/mixed; boundary=b0\n\n"
        for i in 0..<100 { msg += "--b\(i)\nContent-Type: multipart/mixed; boundary=b\(i + 1)\n\n" }
        msg += "deep text\n"
        let doc = parser.parse(Array(msg.utf8))
        #expect(doc.defects.contains { $0.kind == .tooDeep })
        var limits = ParserLimits()
        limits.maxParts = 5
        var wide = "Content-Type: multipart/mixed; boundary=w\n\n"
        for i in 0..<50 { wide += "--w\nContent-Type: text/plain\n\npart \(i)\n" }
        wide += "--w--\n"
        let doc2 = MessageParser(limits: limits).parse(Array(wide.utf8))
        #expect(doc2.defects.contains { $0.kind == .tooManyParts })
        #expect(doc2.body.count == 4)
    }

    @Test func textLimitTruncates() {
        var limits = ParserLimits()
        limits.maxTextBytes = 100
        let msg = "Subject: big\n\n" + String(repeating: "word ", count: 1000)
        let doc = MessageParser(limits: limits).parse(Array(msg.utf8))
        #expect(doc.bodyText.utf8.count == 100)
        #expect(doc.defects.map(\.kind) == [.textTruncated])
    }

    @Test func emptyAndHeaderOnlyInput() {
        #expect(parser.parse([]).parts.count == 1)
        let doc = parser.parse(Array("Subject: only a header".utf8))
        #expect(doc.subject == "only a header")
        #expect(doc.bodyText == "")
    }

    @Test func base64EncodedAttachedMessage() {
        let inner = "Subject: inner\r\nFrom: x@y.z\r\n\r\nsecret words inside\r\n"
        let b64 = Data(inner.utf8).base64EncodedString()
        let msg = "Subject: outer\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n\(b64)\n--q--\n"
        let doc = parser.parse(Array(msg.utf8))
        #expect(doc.subject == "outer")
        #expect(doc.bodyText.contains("secret words inside"))
        #expect(doc.bodyText.contains("Subject: inner"))
    }

    @Test func enrichedText() {
        let msg = "Content-Type: text/enriched\n\n<bold>Important</bold> <<not a tag> and <italic>more</italic>\n"
        let doc = parser.parse(Array(msg.utf8))
        #expect(doc.body.first?.origin == .enriched)
        #expect(doc.bodyText == "Important <not a tag> and more\n")
    }

    @Test func doubleEncodedBig5IsRepaired() {
        // "大家說英語" in Big5, read as Latin-1 and written as UTF-8 by some gateway, labelled Big5.
        let big5: [UInt8] = [0xA4, 0x6A, 0xAE, 0x61, 0xBB, 0xA1, 0xAD, 0x5E, 0xBB, 0x79]
        let mojibake = Array(String(String.UnicodeScalarView(big5.map { Unicode.Scalar($0) })).utf8)
        let msg = Array("Content-Type: text/plain; charset=big5\n\n".utf8) + mojibake
        #expect(parser.parse(msg).bodyText == "大家說英語")
    }

    @Test func uuencodedFileInPlainBody() {
        let msg = "Subject: uu\n\nHere it is:\nbegin 644 hello.txt\n.2&5L;&\\L('=O<FQD(0H`\n`\nend\nbye\n"
        let doc = parser.parse(Array(msg.utf8))
        #expect(doc.bodyText == "Here it is:\nbye\n")
        #expect(doc.attachments.first?.filename == "hello.txt")
        #expect(doc.attachments.first?.size == 14)
    }
}
