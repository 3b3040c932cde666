import Analysis
import Foundation
import Testing
@testable import Ingest
import MIME
import MailsiftCore
import TestSupport

@Suite struct MboxTests {
    @Test func splitsOnFromLinesAfterBlankLines() {
        let mbox = """
            From alice@example.com Sat Jan  6 10:00:00 2024
            Subject: one

            Body one.
            From here on this line starts with From but follows no blank line.

            From bob@example.com Sun Jan  7 11:00:00 2024
            Subject: two

            >From quoted
            >>From twice quoted
            Body two.

            """
        let messages = Mbox.split(Array(mbox.utf8), origin: "box")
        #expect(messages.count == 2)
        #expect(messages.map(\.origin) == ["box#1", "box#2"])
        let one = String(decoding: messages[0].bytes, as: UTF8.self)
        #expect(one == "Subject: one\n\nBody one.\nFrom here on this line starts with From but follows no blank line.\n")
        let two = String(decoding: messages[1].bytes, as: UTF8.self)
        #expect(two == "Subject: two\n\nFrom quoted\n>From twice quoted\nBody two.\n")
        // asctime date of the From_ line: 2024-01-06T10:00:00Z
        #expect(messages[0].internalDate == 1_704_535_200)
        #expect(messages[1].internalDate == 1_704_625_200)
    }

    @Test func crlfMboxAndSingleMessage() {
        let mbox = "From a@b Mon Jan  1 00:00:00 2001\r\nSubject: x\r\n\r\nbody\r\n\r\nFrom c@d Mon Jan  1 00:00:00 2001\r\nSubject: y\r\n\r\nz\r\n"
        let messages = Mbox.split(Array(mbox.utf8), origin: "m")
        #expect(messages.count == 2)
        #expect(String(decoding: messages[0].bytes, as: UTF8.self) == "Subject: x\r\n\r\nbody\r\n")
        #expect(Mbox.split(Array("no separator at all".utf8), origin: "s").count == 1)
        #expect(!Mbox.looksLikeMbox(Array("Subject: x\n\nbody".utf8)))
    }
}

@Suite struct MessageFilesTests {
    @Test func maildirFlags() {
        #expect(MessageFiles.maildirFlags("/m/cur/1234.M5P6.host:2,FRS") == ["F", "R", "S"])
        #expect(MessageFiles.maildirFlags("/m/cur/1234.M5P6.host:2,") == [])
        #expect(MessageFiles.maildirFlags("/m/new/1234.M5P6.host") == [])
        #expect(MessageFiles.maildirFlags("/m/cur/x:2,Sa") == ["S"])  // Dovecot keyword letters are lowercase
    }

    @Test func readsFilesMboxesAndDirectories() throws {
        let dir = URL(fileURLWithPath: scratchPath("ingest"))
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("cur"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("Subject: a\n\nA\n".utf8).write(to: dir.appendingPathComponent("cur/1.host:2,S"))
        try Data("From x@y Mon Jan  1 00:00:00 2001\nSubject: b\n\nB\n\nFrom x@y Mon Jan  1 00:00:01 2001\nSubject: c\n\nC\n".utf8)
            .write(to: dir.appendingPathComponent("box.mbox"))
        try Data("ignored".utf8).write(to: dir.appendingPathComponent("dovecot-uidlist"))
        try Data("ignored".utf8).write(to: dir.appendingPathComponent(".hidden"))
        // A known modification time becomes the internal date.
        let mtime = Date(timeIntervalSince1970: 1_700_000_000)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: dir.appendingPathComponent("cur/1.host:2,S").path)

        let files = MessageFiles.files(under: [dir.path])
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["box.mbox", "1.host:2,S"])
        let all = try files.flatMap { try MessageFiles.read($0) }
        #expect(all.count == 3)
        let subjects = all.map { MessageParser().parse($0.bytes).subject }
        #expect(subjects == ["b", "c", "a"])
        let maildir = all.first { $0.origin.hasSuffix(":2,S") }
        #expect(maildir?.internalDate == 1_700_000_000)
        #expect(maildir?.maildirFlags == ["S"])
    }

    @Test func unreadableFilesAreClearErrors() {
        #expect(throws: MailsiftError.self) { try MessageFiles.read("/nonexistent/mailsift/file") }
        #expect(throws: MailsiftError.self) { try MessageFiles.read("/tmp") }  // a directory
    }
}

/// The fold-hazard table (what decides which text gets an `unindexed` run) answers as the
/// per-character definition does, for every character of the Basic Multilingual Plane, and
/// flags the characters it exists for.
@Suite struct FoldHazardTableTests {
    @Test func tableEqualsTheDefinition() {
        var hazards = 0
        for v in UInt32(0x80)..<0x10000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let want = DocumentBuilder.isFoldHazard(s)
            #expect(DocumentBuilder.foldHazard(s) == want, "U+\(String(v, radix: 16))")
            if want { hazards += 1 }
        }
        #expect(hazards > 500)
        for s: Unicode.Scalar in ["\u{200B}", "\u{AD}", "\u{2082}", "\u{2122}", "\u{2460}", "\u{2103}"] {
            #expect(DocumentBuilder.foldHazard(s), "U+\(String(s.value, radix: 16))")
        }
        for s: Unicode.Scalar in ["é", "京", "Ж", "\u{301}", "\u{E000}", "\u{0378}"] {
            #expect(!DocumentBuilder.foldHazard(s), "U+\(String(s.value, radix: 16))")
        }
        // Beyond the table: the definition itself.
        #expect(DocumentBuilder.foldHazard("\u{1D400}") == DocumentBuilder.isFoldHazard("\u{1D400}"))
    }
}

/// The byte-wise path helpers of the indexer's walk answer as the character-wise ones they
/// replaced for real paths (ASCII, Maildir++ folders, mbox files, non-ASCII names).
/// The stored header block and the indexed-header filter, built from bytes, against the String
/// operations they replace, over the header fields of real mail and names made to be awkward.
@Suite struct HeaderBytesTests {
    static func reference(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : $0 }))
    }

    static var realFields: [(name: String, value: String)] {
        var out: [(String, String)] = []
        let folders = [corpusFolder("mime-fixtures"), spamAssassinFolder("easy_ham")]
        for folder in folders where FileManager.default.fileExists(atPath: folder) {
            for file in MessageFiles.files(under: [folder]).prefix(400) {
                for message in (try? MessageFiles.read(file)) ?? [] {
                    out += MessageParser().parse(message.bytes).headers.map { ($0.name, $0.value) }
                }
            }
        }
        return out
    }

    @Test func indexedHeaderFilterMatchesLowercasedSet() {
        var names = Array(DocumentBuilder.indexedHeaders)
        names += names.map { $0.uppercased() } + names.map { $0.prefix(1).uppercased() + $0.dropFirst() }
        names += ["", "To", "Received", "Message-ID", "X-Original-To-Long", "List-Id ", "list_id", "resent-from-x",
                  "\u{212A}eywords", "Reply-To\u{301}", "Sénder", "SENDER\u{0}", "organisation", "Delivered-To-Delivered-To"]
        let real = Self.realFields.map(\.name)
        #expect(real.count > 1_000)
        var matched = 0
        for name in names + real {
            let want = DocumentBuilder.indexedHeaders.contains(name.lowercased())
            #expect(DocumentBuilder.isIndexedHeader(name) == want, "\(name.debugDescription)")
            if want { matched += 1 }
        }
        #expect(DocumentBuilder.isIndexedHeader("\u{212A}eywords"))  // the Kelvin sign lowercases to k
        #expect(matched > DocumentBuilder.indexedHeaders.count * 3)
    }

    @Test func oneLineMatchesScalarReplacement() {
        var values = Self.realFields.map(\.value)
        // CR and LF at every offset around the 8-byte steps, next to multi-byte characters.
        for k in 0..<20 {
            let pad = String(repeating: "a", count: k)
            values += [pad + "\n", pad + "\r\n" + "x", "é" + pad + "\r", pad + "→\n→", pad]
        }
        var changed = 0
        for value in values {
            let want = Self.reference(value)
            #expect(DocumentBuilder.oneLine(value) == want, "\(value.debugDescription)")
            var bytes: [UInt8] = [0x41]
            DocumentBuilder.appendOneLine(value, to: &bytes)
            #expect(bytes == [0x41] + Array(want.utf8), "\(value.debugDescription)")
            if want != value { changed += 1 }
        }
        #expect(changed >= 60)
    }

    /// The byte walk of `hasFoldHazards` (ASCII skipped eight bytes at a time, scalars decoded
    /// from their lead bytes) against the scalar walk it replaced, over the texts of the
    /// corpus' non-English mail and hazards at every offset around the eight-byte steps.
    @Test func foldHazardsMatchTheScalarWalk() throws {
        func reference(_ text: String) -> Bool { text.unicodeScalars.contains { $0.value >= 0x80 && DocumentBuilder.foldHazard($0) } }
        var texts: [String] = []
        let list = corpusFolder("NON-ENGLISH.tsv")
        if let rows = try? String(contentsOfFile: list, encoding: .utf8) {
            for row in rows.split(separator: "\n") where !row.hasPrefix("#") && !row.hasPrefix("script") {
                guard let path = row.split(separator: "\t").last, let data = FileManager.default.contents(atPath: corpusFolder(String(path))) else { continue }
                let doc = MessageParser().parse(Array(data))
                texts += [doc.subject ?? "", doc.body.map(\.text).joined(separator: "\n")] + doc.headers.map(\.value)
            }
        }
        for k in 0..<20 {
            let pad = String(repeating: "a", count: k)
            for hazard in ["\u{200B}", "\u{AD}", "\u{2122}", "\u{2082}", "\u{1D400}", "é", "ж", "中", "😀", "\u{FEFF}"] {
                texts += [pad + hazard, hazard + pad, pad + hazard + pad + "é"]
            }
        }
        // Every two-byte scalar and one in every 37 above, after ASCII: each decoded from its
        // own bytes (2, 3 and 4 of them), hazards among them in every width.
        var hazardWidths = Set<Int>()
        for v in Array(UInt32(0x80)..<0x800) + Array(stride(from: UInt32(0x800), to: 0x110000, by: 37)) {
            guard let scalar = Unicode.Scalar(v) else { continue }
            let text = "ab" + String(Character(scalar))
            let want = reference(text)
            if DocumentBuilder.hasFoldHazards(text) != want { Issue.record("U+\(String(v, radix: 16))") }
            if want { hazardWidths.insert(String(scalar).utf8.count) }
        }
        #expect(hazardWidths == [2, 3, 4])
        var hazardous = 0
        for text in texts {
            let want = reference(text)
            #expect(DocumentBuilder.hasFoldHazards(text) == want, "\(text.prefix(80).debugDescription)")
            if want { hazardous += 1 }
        }
        #expect(texts.count > 1_000)
        #expect(hazardous > 100 && hazardous < texts.count - 100)
    }

    @Test func storedHeadersAreOneLineEach() throws {
        let raw = Array("From: a@example.org\r\nSubject: =?utf-8?q?two=0D=0Alines?=\r\nX-Note: caf\u{e9}\r\n\r\nbody\r\n".utf8)
        let doc = MessageParser().parse(raw)
        let built = DocumentBuilder.build(doc, id: 1, mailbox: 1, uid: 1, internalDate: 0, size: Int64(raw.count), analyzer: Analyzer())
        let stored = try #require(built.stored.first { $0.field == .headers }?.text)
        let want = doc.headers.map { $0.name + ": " + Self.reference($0.value) + "\n" }.joined()
        #expect(stored == want)
        #expect(stored.contains("Subject: two  lines\n"))
        #expect(stored.split(separator: "\n").count == doc.headers.count)
    }
}

@Suite struct PathHelperTests {
    // The character-wise definitions, as they were.
    static func lastComponent(_ path: String) -> Substring {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return p }
        return p[p.index(after: slash)...]
    }

    static func maildirFolder(_ path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let dir = path[..<slash]
        guard let up = dir.lastIndex(of: "/") else { return nil }
        let sub = dir[dir.index(after: up)...]
        guard sub == "cur" || sub == "new" else { return nil }
        return String(dir[..<up])
    }

    static func baseName(_ path: String) -> String {
        let name = lastComponent(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, name.index(after: dot) != name.endIndex else { return String(name) }
        return String(name[..<dot])
    }

    static func pathExtension(_ path: String) -> Substring {
        let name = lastComponent(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, name.index(after: dot) != name.endIndex else { return "" }
        return name[name.index(after: dot)...]
    }

    static func mailboxName(file: String, root: String, isDirectory: Bool, isMbox: Bool) -> String {
        guard isDirectory else { return isMbox ? baseName(file) : "INBOX" }
        var rel = String(file.dropFirst(root.count)).split(separator: "/").dropLast().map(String.init)
        if let last = rel.last, ["cur", "new", "tmp"].contains(last) { rel.removeLast() }
        if isMbox { rel.append(baseName(file)) }
        rel = rel.flatMap { part -> [String] in part.hasPrefix(".") ? part.dropFirst().split(separator: ".").map(String.init) : [part] }
        return rel.isEmpty ? "INBOX" : rel.joined(separator: "/")
    }

    @Test func byteWiseHelpersEqualTheCharacterWiseOnes() {
        let parts = ["", "/", "//", "Maildir", "cur", "new", "tmp", ".Sent", ".Lists.linux-kernel", "1700000000.M1P2.host:2,S",
                     "f:2,", "mail.mbox", "archive.", ".hidden", "名前", "フォルダ", "é", "ü.eml", "a.b.c", "x:y:z", "inbox"]
        var rng = SplitMix64(seed: 3)
        var paths = ["", "/", "//", "a", "a/", "trailing///", "/srv/mail/u/Maildir/cur/1.M1P1.h:2,S", "/srv/mail/u/Maildir/.Sent/new/f",
                     "/srv/mail/u/mail/inbox.mbox", "/r/.A.B/cur/x:2,RS"]
        for _ in 0..<3_000 {
            let n = Int(rng.next() % 7)
            paths.append((0..<n).map { _ in parts[Int(rng.next() % UInt64(parts.count))] }.joined(separator: "/"))
        }
        for p in paths {
            #expect(UserIndexer.lastComponent(p) == Self.lastComponent(p), "\(p)")
            #expect(UserIndexer.maildirFolder(p) == Self.maildirFolder(p), "\(p)")
            #expect(UserIndexer.baseName(p) == Self.baseName(p), "\(p)")
            #expect(UserIndexer.pathExtension(p) == Self.pathExtension(p), "\(p)")
            #expect(DovecotUIDList.baseName(String(UserIndexer.lastComponent(p))) == { (s: String) in
                s.firstIndex(of: ":").map { String(s[..<$0]) } ?? s }(String(Self.lastComponent(p))), "\(p)")
            for root in ["/srv/mail/u/Maildir", "/r", ""] where p.hasPrefix(root) {
                for isMbox in [false, true] {
                    #expect(UserIndexer.mailboxName(file: p, root: root, isDirectory: true, isMbox: isMbox)
                            == Self.mailboxName(file: p, root: root, isDirectory: true, isMbox: isMbox), "\(p) under \(root)")
                }
            }
        }
    }
}
