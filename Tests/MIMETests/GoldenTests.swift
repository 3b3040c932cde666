import Foundation
import Testing
@testable import MIME

/// Golden tests: each fixture's document, rendered in a stable form, must equal the JSON file
/// under Tests/MIMETests/Golden/ whose expected content was checked by hand against the raw
/// message. `MAILSIFT_UPDATE_GOLDEN=1 swift test --filter GoldenTests` rewrites them (then
/// review the diff before committing).
@Suite struct GoldenTests {
    /// Fixtures and the feature each one covers. Paths under ../shared/corpus ("shared:") or the
    /// project's corpus/samples ("samples:").
    static let fixtures: [(path: String, covers: String)] = [
        ("samples:01-latin1-qp.eml", "RFC 2047 B and Q words, quoted-printable, ISO-8859-1"),
        ("samples:02-alternative-attachment.eml", "alternative picks text/plain, RFC 2231 continued filename"),
        ("samples:03-iso-2022-jp.eml", "ISO-2022-JP header words and body"),
        ("samples:04-koi8r-raw-header.eml", "raw 8-bit KOI8-R header read with the body charset"),
        ("samples:05-flowed-forward.eml", "format=flowed DelSp=yes, message/rfc822"),
        ("samples:06-broken-lf.eml", "no blank line, missing end boundary, bad base64, unknown charset"),
        ("samples:07-calendar-vcard.eml", "text/calendar and vCard text"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/multi_charset/japanese_attachment_long_name.eml", "RFC 2231 long Japanese filename"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/multi_charset/japanese_iso_2022.eml", "ISO-2022-JP"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/multi_charset/japanese_shift_jis.eml", "Shift_JIS"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/plain_emails/raw_email.eml", "EUC-KR"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/error_emails/content_transfer_encoding_empty.eml", "Big5 double-encoded through Latin-1, empty CTE"),
        ("shared:mime-fixtures/mailcore2/unittest/data/summary/input/4851-chinese.eml", "GB2312"),
        ("shared:mime-fixtures/mailcore2/unittest/data/summary/input/4850-russian.eml", "windows-1251"),
        ("shared:mime-fixtures/cpython-test-email/data/msg_15.txt", "nested multipart reusing its parent's boundary (Outlook Express Mac)"),
        ("shared:mime-fixtures/zbateson-mail-mime-parser/tests/_data/emails/m0006.txt", "UTF-7"),
        ("shared:mime-fixtures/stalwart-mail-parser/resources/eml/thirdparty/005.eml", "UTF-16"),
        ("shared:mime-fixtures/cyrus-imapd/cassandane/data/mime/headers-koi8r.bin", "raw 8-bit KOI8-R headers"),
        ("shared:mime-fixtures/cyrus-imapd/cassandane/data/mime/utf8-domain.bin", "RFC 6532 UTF-8 headers and domain"),
        ("shared:mime-fixtures/stalwart-server/tests/resources/smtp/messages/idn_from.eml", "RFC 6532 UTF-8 domain in From, punycode Message-ID"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/error_emails/empty_group_lists.eml", "address groups"),
        ("shared:mime-fixtures/mimekit/UnitTests/TestData/partial/message-partial.0.eml", "message/partial as text"),
        ("shared:mime-fixtures/zbateson-mail-mime-parser/tests/_data/emails/m0018.txt", "uuencode"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/error_emails/content_transfer_encoding_x_uuencode.eml", "x-uuencode CTE"),
        ("shared:mime-fixtures/james-mime4j/core/src/test/resources/mimetools-testmsgs/x-gzip64.msg", "x-gzip64 CTE"),
        ("shared:mime-fixtures/mimekit/UnitTests/TestData/tnef/ukr.eml", "TNEF winmail.dat"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/attachment_emails/attachment_pdf.eml", "PDF text via pdftotext"),
        ("shared:mime-fixtures/php-mime-mail-parser/tests/mails/issue274.eml", "DOCX and ODT text"),
        ("shared:mime-fixtures/postal-mime/test/fixtures/calendar-event.eml", "Google Calendar invitation"),
        ("shared:mime-fixtures/cpython-test-email/data/msg_02.txt", "multipart/digest"),
        ("shared:mime-fixtures/ruby-mail/spec/fixtures/emails/mime_emails/raw_email11.eml", "alternative of text/plain and text/enriched"),
        ("shared:mime-fixtures/flanker/tests/fixtures/messages/enclosed-global.eml", "message/global"),
        ("shared:mime-fixtures/flanker/tests/fixtures/messages/torture.eml", "MIME torture test"),
        ("shared:mime-fixtures/mimekit/UnitTests/TestData/messages/delivery-status.txt", "DSN"),
        ("shared:mime-fixtures/postal-mime/test/fixtures/arf.eml", "ARF feedback report"),
        ("shared:mime-fixtures/enmime/testdata/low-quality/bad-final-boundary.raw", "bad final boundary"),
        ("shared:mime-fixtures/enmime/testdata/low-quality/unk-charset-part.raw", "unknown charset"),
        ("shared:mime-fixtures/enmime/testdata/low-quality/html-only-inline.raw", "HTML-only message"),
        ("shared:mime-fixtures/enmime/testdata/low-quality/missing-content-type.raw", "missing Content-Type"),
        ("shared:mime-fixtures/enmime/testdata/low-quality/malformed-base64-attach.raw", "malformed base64"),
        ("shared:mime-fixtures/mimekit/UnitTests/TestData/messages/multipart-related-mhtml.txt", "multipart/related MHTML"),
        ("shared:mime-fixtures/notmuch/test/corpora/lkml/cur/1382298793.002329:2,", "format=flowed list mail"),
        ("shared:mime-fixtures/flanker/tests/fixtures/messages/enclosed-endless.eml", "3,039 HTML alternatives"),
        ("shared:mime-fixtures/mu/testdata/testdir/cur/encrypted!2,S", "PGP/MIME encrypted"),
    ]

    static var goldenDir: URL { TestPaths.projectRoot.appendingPathComponent("Tests/MIMETests/Golden") }

    static func resolve(_ path: String) -> URL? {
        if path.hasPrefix("samples:") { return TestPaths.samples.appendingPathComponent(String(path.dropFirst(8))) }
        guard let shared = TestPaths.shared else { return nil }
        return shared.appendingPathComponent(String(path.dropFirst(7)))
    }

    static func goldenName(_ path: String) -> String {
        let rel = path.split(separator: ":", maxSplits: 1).last.map(String.init) ?? path
        let parts = rel.split(separator: "/")
        let name = parts.count >= 2 ? "\(parts[parts.count - 2])-\(parts[parts.count - 1])" : rel
        let prefix = rel.hasPrefix("mime-fixtures/") ? String(parts[1]) + "-" : "samples-"
        return (prefix + name).map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }.reduce("") { $0 + String($1) } + ".json"
    }

    @Test(arguments: fixtures.map(\.path))
    func matchesGolden(_ path: String) throws {
        guard let url = Self.resolve(path) else { return }  // shared corpus absent: nothing to compare
        let bytes = TestPaths.bytes(url)
        try #require(!bytes.isEmpty, "fixture \(path) is missing or empty")
        let rendered = try GoldenRendering.render(MessageParser().parse(bytes), source: path)
        let golden = Self.goldenDir.appendingPathComponent(Self.goldenName(path))
        if ProcessInfo.processInfo.environment["MAILSIFT_UPDATE_GOLDEN"] == "1" {
            try rendered.write(to: golden, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(rendered == expected, "golden \(golden.lastPathComponent) differs; rerun with MAILSIFT_UPDATE_GOLDEN=1 and review the diff")
    }

    @Test func atLeastFortyFixtures() {
        #expect(Self.fixtures.count >= 40)
        #expect(Set(Self.fixtures.map { Self.goldenName($0.path) }).count == Self.fixtures.count)
    }
}

/// The stable, reviewable form of a document used by the golden files.
enum GoldenRendering {
    struct Doc: Encodable {
        var source: String
        var subject: String?
        var from: [String]
        var to: [String]
        var cc: [String]
        var date: String?
        var messageID: String?
        var parts: [String]
        var body: [Segment]
        var alternatives: [Segment]
        var attachments: [Att]
        var defects: [String]
    }
    struct Segment: Encodable { var part: String; var origin: String; var text: String }
    struct Att: Encodable {
        var part: String; var filename: String?; var type: String; var size: Int; var sha256: String?
        var extraction: String; var text: String?
    }

    static func clip(_ s: String, _ n: Int) -> String {
        s.count <= n ? s : String(s.prefix(n)) + "…[\(s.count) chars]"
    }

    static func addr(_ a: MailAddress) -> String {
        let g = a.group.map { "[\($0)] " } ?? ""
        if let n = a.name { return g + "\(n) <\(a.address)>" }
        return g + "<\(a.address)>"
    }

    static func render(_ d: MailDocument, source: String) throws -> String {
        let doc = Doc(
            source: source, subject: d.subject, from: d.from.map(addr), to: d.to.map(addr), cc: d.cc.map(addr),
            date: d.date?.iso8601, messageID: d.messageID,
            parts: d.parts.map { p in
                var s = "\(p.part.isEmpty ? "-" : p.part) \(p.mediaType) \(p.role.rawValue)"
                if let c = p.charset { s += " charset=\(c)" }
                if let f = p.filename { s += " filename=\(f)" }
                return s
            },
            body: d.body.map { Segment(part: $0.part, origin: $0.origin.rawValue, text: clip($0.text, 600)) },
            alternatives: d.alternatives.prefix(5).map { Segment(part: $0.part, origin: $0.origin.rawValue, text: clip($0.text, 200)) }
                + (d.alternatives.count > 5 ? [Segment(part: "…", origin: "", text: "\(d.alternatives.count - 5) more")] : []),
            attachments: d.attachments.map {
                Att(part: $0.part, filename: $0.filename, type: $0.mediaType, size: $0.size, sha256: $0.sha256.map { String($0.prefix(16)) },
                    extraction: $0.extraction.rawValue, text: $0.text.map { clip($0, 300) })
            },
            defects: d.defects.map { "\($0.kind.rawValue)@\($0.part.isEmpty ? "top" : $0.part)" }
        )
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(doc), as: UTF8.self) + "\n"
    }
}
