import Catalog
import Foundation
import IndexEngine

extension FuzzTargets {
    /// Writes every target's built-in seeds to DIR/TARGET/builtin-N.
    public static func writeSeeds(to dir: String) {
        let fm = FileManager.default
        for name in names {
            let sub = dir + "/" + name
            try? fm.createDirectory(atPath: sub, withIntermediateDirectories: true)
            for (k, seed) in seeds(name).enumerated() { _ = fm.createFile(atPath: sub + "/builtin-\(k)", contents: Data(seed)) }
        }
    }

    /// Built-in seed inputs per target (tools/fuzz/run.sh adds files from ../shared/corpus).
    public static func seeds(_ name: String) -> [[UInt8]] {
        func utf8(_ list: [String]) -> [[UInt8]] { list.map { Array($0.utf8) } }
        func tagged(_ tag: UInt8, _ list: [String]) -> [[UInt8]] { list.map { [tag] + Array($0.utf8) } }
        switch name {
        case "message", "document":
            return utf8(SampleMail.messages)
        case "charset":
            var out = utf8(["utf-8\nplain text", "us-ascii\nabc", "iso-8859-1\nt\u{E9}t\u{E9}", "utf-7\n+AGEAYgBj-", "unknown-charset\nabc",
                            "cp1252\nsmart quotes", "UTF-16LE\na\u{0}b\u{0}", "\nno label"])
            out.append(Array("iso-8859-1\n".utf8) + [0x74, 0xE9, 0x74, 0xE9])
            out.append(Array("iso-2022-jp\n".utf8) + [0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C, 0x1B, 0x28, 0x42])
            out.append(Array("shift_jis\n".utf8) + [0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA])
            out.append(Array("gb18030\n".utf8) + [0xC4, 0xE3, 0xBA, 0xC3, 0x81, 0x30, 0x81, 0x30])
            out.append(Array("koi8-r\n".utf8) + [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4])
            return out
        case "html":
            return utf8([
                "<html><head><meta charset=\"koi8-r\"><title>t</title><style>a{}</style></head><body><p>Hello &amp; <b>world</b>&#x263A;</p></body></html>",
                "<table><tr><td>a</td><td>b</td></tr></table><!-- comment --><script>if (a < b) {}</script><br/>x&nbsp;y&unknown;",
                "<pre>  keep   spaces </pre><ul><li>one<li>two</ul><a href=\"http://x\">link</a>",
            ])
        case "attachment":
            return [
                [4] + Array("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\f0 Hello {\\b world}\\par \\u8364? \\'e9}".utf8),
                [5] + Array("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY;LANGUAGE=en:Plan\r\nDESCRIPTION:line one\\nline two\r\n two\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".utf8),
                [6, 0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00, 0x01, 0x06, 0x90, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00],
            ]
        case "analysis":
            return utf8([
                "Hello, World! e-mail alice@example.com https://example.com/a/b?c=d foo_bar 3.14 v2.6.32-rc1",
                "東京都港区で会議があります。日本語のテキスト", "한국어 텍스트와 English mixed", "Straße café naïve ﬁle Ⅻ ½ CO₂",
                "vi\u{200B}agra s\u{00AD}oft", "مرحبا بالعالم", "ภาษาไทยไม่มีช่องว่าง",
            ])
        case "imap":
            return utf8([
                "BODY hello", "OR FROM alice SUBJECT report", "UID 1:5,7,9:* NOT SEEN", "HEADER X-Mailer \"Apple Mail\"",
                "SENTBEFORE 1-Jan-2020 SINCE 5-Feb-2019", "RETURN (MIN MAX COUNT) TEXT \"quarterly report\"",
                "(FROM \"a b\" LARGER 100 SMALLER 5000) KEYWORD $Junk", "CHARSET UTF-8 TEXT {6}\r\nStraße", "NOT (OR BCC x CC y) ALL",
                "MODSEQ 5 FUZZY BODY x", "$ 1,2 OLDER 3600 YOUNGER 60",
            ])
        case "webmail":
            return utf8([
                "from:alice subject:\"quarterly report\" -spam", "btr* OR scrub~1", "(x AND (y OR z)) NOT w",
                "before:2020-01-01 after:2019-02-03 has:attachment larger:1M", "\"exact phrase\" 日本語", "to:bob@example.org in:INBOX",
                "filename:report.pdf body:deadlock",
            ])
        case "solr":
            return tagged(0, [
                "fl=uid,score&rows=4352&sort=uid+asc&q=%7B!lucene+q.op%3DAND%7Dsubject:hello&fq=%2Bbox:4f9e0c1a+%2Buser:bob",
                "q=body:%22exact+phrase%22+OR+from:alice&fq=%2Bbox:x+%2Buser:u&fl=uid,box&rows=10&wt=xml",
                "fl=uid&rows=1&sort=uid+desc&q=box:abc+AND+user:bob",
            ]) + tagged(1, [
                "<update><add><doc><field name=\"id\">5/4f9e0c1a/bob</field><field name=\"uid\">5</field><field name=\"box\">4f9e0c1a</field><field name=\"user\">bob</field><field name=\"subject\">Hello</field><field name=\"body\">text</field></doc></add></update>",
                "<delete><id>5/4f9e0c1a/bob</id><query>user:bob</query></delete>", "<commit/>", "<optimize/>",
            ]) + tagged(2, ["5/4f9e0c1a/bob", "4294967295/x/y/z"])
        case "search":
            return tagged(0, ["report", "from:alice", "subject:\"btrfs scrub\"", "Straße", "日本語", "vi* OR patc~1", "-report has:attachment"])
                + tagged(1, ["BODY scrub", "OR SUBJECT report FROM bob", "TEXT \"checksum errors\"", "HEADER Message-ID one@", "NOT BODY x"])
                + tagged(4, ["planning"])
        case "http":
            let auth = "Authorization: Bearer fuzz-token\n"
            return utf8([
                "GET /health\n\n",
                "POST /v1/users/fuzz/search\n\(auth)Content-Type: application/json\n\n{\"query\":\"hello\",\"limit\":5,\"snippets\":true}",
                "POST /v1/users/fuzz/search\n\(auth)\n{\"imap\":\"RETURN (COUNT) BODY x\",\"mailbox\":\"INBOX\"}",
                "PUT /v1/users/fuzz/messages?mailbox=INBOX&uid=7\n\(auth)\nFrom: a@b\nSubject: hi\n\nbody",
                "POST /v1/users/fuzz/messages\n\(auth)\n{\"messages\":[{\"mailbox\":\"INBOX\",\"uid\":8,\"raw\":\"U3ViamVjdDogeAoKYm9keQ==\"}]}",
                "POST /v1/users/fuzz/expunge\n\(auth)\n{\"mailbox\":\"INBOX\",\"uids\":\"1:5,8\"}",
                "POST /v1/users/fuzz/flags\n\(auth)\n{\"mailbox\":\"INBOX\",\"uids\":\"1:*\",\"flags\":[\"\\\\Seen\"],\"mode\":\"add\"}",
                "GET /v1/users/fuzz/status\n\(auth)\n",
                "GET /solr/dovecot/select?fl=uid,score&rows=10&sort=uid+asc&q=body:hello&fq=%2Bbox:abc+%2Buser:fuzz\n\(auth)\n",
                "POST /solr/dovecot/update\n\(auth)Content-Type: text/xml\n\n<update><add><doc><field name=\"id\">1/abc/fuzz</field><field name=\"uid\">1</field><field name=\"box\">abc</field><field name=\"user\">fuzz</field><field name=\"body\">x</field></doc></add></update>",
                "GET /v1/users/..%2F..%2Fetc/status\n\(auth)\n", "GET /v1/users/fuzz/status\nAuthorization: Bearer wrong\n\n",
                "GET /metrics\n\n",
            ])
        case "segment":
            guard let seed = State.segment else { return [] }
            var out = seed.files.enumerated().map { [UInt8($0.offset)] + $0.element }
            out.append([250] + SegmentBytes.manifest(for: seed.files, documentCount: seed.documentCount))
            var deletions = Deletions(documentCount: seed.documentCount)
            deletions.delete(1)
            out.append([251] + deletions.encode())
            return out
        case "catalog":
            // A consistent copy (the live file's recent pages may still be in its WAL).
            let copy = State.scratch + "/catalog-seed.sqlite"
            unlink(copy)
            guard let path = State.index?.catalogPath, let catalog = try? Catalog(path: path), (try? catalog.backup(to: copy)) != nil,
                  let data = FileManager.default.contents(atPath: copy) else { return [] }
            return [Array(data)]
        case "archive":
            return State.archive.map { [$0] } ?? []
        default:
            return []
        }
    }
}
