import Analysis
import Catalog
import Foundation
import IndexEngine
import Ingest
import MailsiftCore
import MIME
import Query
import Server

/// What the targets share across inputs, built on first use: a scratch directory, an
/// analyzer, a small real index to search, a segment to damage, a daemon to ask. The fuzzer
/// runs one input at a time on one thread.
enum State {
    nonisolated(unsafe) static let analyzer = Analyzer()

    static let scratch: String = {
        let path = scratchPath(getpid())
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Removed when the process exits normally (a crash leaves it, with the input's traces).
        atexit { try? FileManager.default.removeItem(atPath: State.scratchPath(getpid())) }
        return path
    }()

    static func scratchPath(_ pid: pid_t) -> String { NSTemporaryDirectory() + "mailsift-fuzz-\(pid)" }

    /// The sample messages indexed into one user's INBOX.
    nonisolated(unsafe) static let index: (engine: QueryEngine, catalogPath: String)? = {
        let mail = scratch + "/mail"
        try? FileManager.default.createDirectory(atPath: mail, withIntermediateDirectories: true)
        for (k, m) in SampleMail.messages.enumerated() {
            _ = FileManager.default.createFile(atPath: mail + "/\(k + 1).eml", contents: Data(m.utf8))
        }
        do {
            let data = scratch + "/index"
            _ = try UserIndexer(dataRoot: data, user: "fuzz", ramBudget: 4 << 20).index([mail])
            let dir = try UserDirectory(dataRoot: data, user: "fuzz")
            return (QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath)), dir.catalogPath)
        } catch {
            FileHandle.standardError.write(Data("fuzz: cannot build the sample index: \(error)\n".utf8))
            return nil
        }
    }()

    static var engine: QueryEngine? { index?.engine }

    /// The sample index as an `export` archive.
    static let archive: [UInt8]? = {
        guard index != nil, let dir = try? UserDirectory(dataRoot: scratch + "/index", user: "fuzz") else { return nil }
        let copy = scratch + "/archive-catalog.sqlite"
        unlink(copy)
        guard let catalog = try? Catalog(path: dir.catalogPath), (try? catalog.backup(to: copy)) != nil else { return nil }
        var files = [(name: "catalog.sqlite", source: copy)]
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.segmentsPath)) ?? []).sorted() {
            files.append((name: "segments/" + name, source: dir.segmentsPath + "/" + name))
        }
        let path = scratch + "/seed.archive"
        guard (try? UserArchive.write(user: "fuzz", files: files, to: path)) != nil,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return Array(data)
    }()

    /// A segment of the sample messages, as files.
    static let segment: (files: [[UInt8]], documentCount: UInt32)? = {
        let parser = MessageParser()
        let docs = SampleMail.messages.enumerated().map { k, m in
            DocumentBuilder.build(parser.parse(Array(m.utf8)), id: Int64(k + 1), mailbox: 1, uid: Int64(k + 1), internalDate: 0,
                                  size: Int64(m.utf8.count), analyzer: analyzer)
        }
        guard let files = try? SegmentBytes.build(docs) else { return nil }
        return (files, UInt32(docs.count))
    }()

    static let http: HTTPBytes? = HTTPBytes(dataRoot: scratch + "/daemon", token: "fuzz-token")
}

/// Messages written for the targets: plain, multipart with attachments, HTML, encoded words,
/// legacy charsets, CJK, a nested message, an mbox-style From line.
enum SampleMail {
    static let messages: [String] = [
        """
        From: Alice Example <alice@example.com>
        To: bob@example.org, "Carol, C." <carol@example.net>
        Subject: Quarterly report and the btrfs scrub
        Date: Mon, 6 Jan 2025 10:00:00 +0100
        Message-ID: <one@example.com>

        Hello Bob, the quarterly report is attached. Scrub found 3 checksum errors on /dev/sdb.
        See https://example.com/reports/q4?x=1 and mail carol@example.net.
        """,
        """
        From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>
        To: alice@example.com
        Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=
        Date: Tue, 7 Jan 2025 08:30:00 +0000
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="b1"

        --b1
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: quoted-printable

        Sch=F6ne Gr=FC=DFe, die Stra=DFe ist gesperrt.
        --b1
        Content-Type: text/html; charset=utf-8

        <html><head><style>p{color:red}</style></head><body><p>Sch&ouml;ne Gr&uuml;&szlig;e &amp; <b>bold</b></p><script>x()</script></body></html>
        --b1--
        """,
        """
        From: tanaka@example.jp
        To: alice@example.com
        Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=
        Date: Wed, 8 Jan 2025 09:00:00 +0900
        MIME-Version: 1.0
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: base64

        5pel5pys6Kqe44Gu44Oh44O844Or44Gn44GZ44CC5p2x5Lqs6YO95riv5Yy6
        """,
        """
        From: bob@example.org
        To: alice@example.com
        Subject: Re: patch v2 for the deadlock
        Date: Thu, 9 Jan 2025 12:00:00 -0500
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        --outer
        Content-Type: text/plain

        The patch is inline and attached.
        --outer
        Content-Type: text/x-diff; name="fix.patch"
        Content-Disposition: attachment; filename="fix.patch"

        --- a/fs/btrfs/inode.c
        +++ b/fs/btrfs/inode.c
        @@ -1,3 +1,3 @@
        -spin_lock(&a);
        +spin_lock(&b);
        --outer
        Content-Type: message/rfc822

        From: carol@example.net
        Subject: the forwarded one
        Content-Type: text/calendar; charset=utf-8

        BEGIN:VCALENDAR
        BEGIN:VEVENT
        SUMMARY:Release planning
        LOCATION:Room 4
        END:VEVENT
        END:VCALENDAR
        --outer
        Content-Type: application/rtf; name="note.rtf"
        Content-Transfer-Encoding: 7bit

        {\\rtf1\\ansi{\\fonttbl\\f0\\fswiss Helvetica;}\\f0\\pard Meeting notes \\b bold\\b0 and \\u233? caf\\'e9.\\par}
        --outer--
        """,
        """
        From: "Spammer" <win@lottery.example>
        To: undisclosed-recipients:;
        Subject: =?utf-8?q?=F0=9F=92=B0_You_WON_=E2=82=AC1,000,000?=
        Content-Type: text/html; charset=windows-1252

        <div>Click <a href="http://x.example/?id=1">here</a>&nbsp;to claim &#8364;1.000.000 &euro; v&#x69;agra</div>
        """,
        """
        From: ivan@example.ru
        To: alice@example.com
        Subject: =?KOI8-R?B?8NLJ18XU?=
        Content-Type: text/plain; charset=koi8-r
        Content-Transfer-Encoding: 8bit

        \u{440}\u{443}\u{441}\u{441}\u{43A}\u{438}\u{439} text with a long word aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        """,
    ]
}
