import Foundation
import Testing
import TestSupport

/// The `mailsift` executable end to end: arguments, exit codes, JSON Lines output.
@Suite struct ParseCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary built beside this test bundle.
    static var binary: URL { mailsiftBinary }

    static func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func jsonLinesForTheSamples() throws {
        let r = try Self.run(["parse", "--json", "--no-extract", "corpus/samples"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 9)  // eight files, one of them an mbox of two
        var subjects: [String] = []
        for line in lines {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let doc = obj?["document"] as? [String: Any]
            subjects.append(doc?["subject"] as? String ?? "")
            #expect(obj?["origin"] is String)
        }
        #expect(subjects.contains("Quartalsübersicht Q3"))
        #expect(subjects.contains("会議の資料"))
        #expect(subjects.contains("second"))
    }

    @Test func humanOutputAndStats() throws {
        let r = try Self.run(["parse", "corpus/samples/04-koi8r-raw-header.eml"])
        #expect(r.status == 0)
        #expect(r.out.contains("Subject: Отчёт за неделю"))
        #expect(r.out.contains("rawEightBitHeader"))
        let s = try Self.run(["parse", "--stats", "corpus/samples"])
        #expect(s.out.contains("messages: 9"))
    }

    @Test func badArgumentsAndMissingFiles() throws {
        let none = try Self.run(["parse"])
        #expect(none.status != 0)
        let pretty = try Self.run(["parse", "--pretty", "corpus/samples"])
        #expect(pretty.status != 0)
        #expect(pretty.err.contains("--pretty goes with --json"))
        let missing = try Self.run(["parse", "/nonexistent/mailsift-test.eml"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("cannot open /nonexistent/mailsift-test.eml"))
    }

    @Test func tokensOfTextAndQueries() throws {
        let r = try Self.run(["tokens", "--json", "Write to anna.rossi@infomaniak.ch"])
        #expect(r.status == 0, "\(r.err)")
        let terms = try r.out.split(separator: "\n").map { line -> String in
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return obj?["term"] as? String ?? ""
        }
        #expect(terms == ["write", "to", "anna.rossi@infomaniak.ch", "infomaniak.ch", "anna", "rossi", "infomaniak", "ch"])
        let m = try Self.run(["tokens", "--message", "corpus/samples/03-iso-2022-jp.eml"])
        #expect(m.out.contains("会議"))
        #expect(try Self.run(["tokens"]).status != 0)
    }

    @Test func indexSearchStatsVerifyEndToEnd() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let index = try Self.run(["index", "--data", data, "--user", "cli@example.org", "--no-extract", "corpus/samples"])
        #expect(index.status == 0, "\(index.err)")
        #expect(index.out.hasPrefix("indexed 9 messages"))
        let search = try Self.run(["search", "--data", data, "--user", "cli@example.org", "--json", "\"maintenance window\""])
        #expect(search.status == 0)
        let lines = search.out.split(separator: "\n")
        #expect(lines.count == 1)
        let hit = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(hit?["mailbox"] as? String == "INBOX")
        #expect((hit?["uid"] as? Int ?? 0) > 0)
        #expect((hit?["path"] as? String)?.hasSuffix("corpus/samples/05-flowed-forward.eml") == true)
        // The webmail language, ranked, with a snippet; IMAP criteria, exact, as UIDs and ESEARCH.
        let web = try Self.run(["search", "--data", data, "--user", "cli@example.org", "--json", "--", "from:müller -invoice"])
        let webHit = try JSONSerialization.jsonObject(with: Data(web.out.split(separator: "\n").first.map { Array($0.utf8) } ?? [])) as? [String: Any]
        #expect(webHit?["subject"] as? String == "Quartalsübersicht Q3")
        #expect((webHit?["snippet"] as? [String: Any])?["marked"] != nil)
        let imap = try Self.run(["search", "--data", data, "--user", "cli@example.org", "--imap", "--mailbox", "INBOX", "BODY ntenan"])
        #expect(imap.out == "* SEARCH 5\n", "\(imap.out)\(imap.err)")
        let esearch = try Self.run(["search", "--data", data, "--user", "cli@example.org", "--imap", "--mailbox", "INBOX", "RETURN (MIN COUNT) TEXT example"])
        #expect(esearch.out.hasPrefix("* ESEARCH UID MIN 1 COUNT "), "\(esearch.out)")
        let bad = try Self.run(["search", "--data", data, "--user", "cli@example.org", "--imap", "--mailbox", "INBOX", "FROM"])
        #expect(bad.status != 0 && bad.err.contains("BAD"))
        #expect(try Self.run(["stats", "--data", data, "--user", "cli@example.org"]).out.contains("documents: 9 (catalog: 9, queued: 0)"))
        #expect(try Self.run(["verify", "--data", data, "--user", "cli@example.org"]).out.hasPrefix("OK: generation"))
        let again = try Self.run(["index", "--data", data, "--user", "cli@example.org", "--no-extract", "corpus/samples"])
        #expect(again.out.contains("indexed 0 messages"))
        #expect(again.out.contains("8 unchanged") || again.out.contains("9 unchanged"))
        let compact = try Self.run(["compact", "--data", data, "--user", "cli@example.org"])
        #expect(compact.status == 0, "\(compact.err)")
        #expect(compact.out.contains("into 1"))
        #expect(try Self.run(["verify", "--data", data, "--user", "cli@example.org"]).status == 0)
    }

    @Test func helpNamesTheCommands() throws {
        let r = try Self.run(["--help"])
        #expect(r.status == 0)
        #expect(r.out.contains("parse"))
        #expect(r.out.contains("tokens"))
        #expect(r.out.contains("Full-text search for mail."))
    }
}
