import Foundation
import Testing
import TestSupport

/// `mailsift reindex` over a Dovecot-layout tree of real mail (made here from the SpamAssassin
/// corpus): interrupted and resumed, it ends with exactly the index a single pass builds; an
/// incremental rescan follows added, renamed, moved and deleted files; `--full` rebuilds to
/// the same answers.
@Suite(.serialized) struct ReindexTests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus").path
    static let fm = FileManager.default

    /// Users alice, bob, carol (home directories with Maildir, an INBOX and a .Sent folder,
    /// dovecot-uidlists), and dave@example.org (a domain directory, no uidlist).
    static func makeTree(_ root: String) throws {
        let users = [("alice", "easy_ham"), ("bob", "hard_ham"), ("carol", "spam")]
        for (user, source) in users {
            let files = try fm.contentsOfDirectory(atPath: corpus + "/" + source).filter { !$0.hasPrefix(".") && $0 != "cmds" }.sorted().prefix(120)
            let maildir = root + "/" + user + "/Maildir"
            for sub in ["cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"] {
                try fm.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true)
            }
            var lists: [String: [String]] = ["": [], ".Sent": []]
            for (i, file) in files.enumerated() {
                let folder = i % 4 == 0 ? ".Sent" : ""
                let base = "17\(String(format: "%08d", i)).M\(i)P1.host"
                let name = i % 3 == 0 ? base : base + ":2,S"
                let dir = maildir + (folder.isEmpty ? "" : "/" + folder) + (i % 3 == 0 ? "/new/" : "/cur/")
                try fm.copyItem(atPath: corpus + "/" + source + "/" + file, toPath: dir + name)
                lists[folder]?.append("\(1000 + i) :\(base)")
            }
            for (folder, lines) in lists {
                let text = "3 V1234567 N5000 G0123456789abcdef0123456789abcdef\n" + lines.joined(separator: "\n") + "\n"
                try text.write(toFile: maildir + (folder.isEmpty ? "" : "/" + folder) + "/dovecot-uidlist", atomically: false, encoding: .utf8)
            }
        }
        let dave = root + "/example.org/dave/Maildir/cur"
        try fm.createDirectory(atPath: dave, withIntermediateDirectories: true)
        for (i, file) in try fm.contentsOfDirectory(atPath: corpus + "/spam_2").filter { !$0.hasPrefix(".") }.sorted().prefix(60).enumerated() {
            try fm.copyItem(atPath: corpus + "/spam_2/" + file, toPath: dave + "/\(1_600_000_000 + i).M\(i)P9.host:2,")
        }
    }

    static func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        try ParseCommandTests.run(args, environment: environment)
    }

    static let users = ["alice", "bob", "carol", "dave@example.org"]
    static let queries: [(imap: Bool, text: String)] = [
        (true, "ALL"), (true, "BODY the"), (true, "FROM com"), (true, "SUBJECT re"), (true, "ANSWERED"), (true, "SEEN"),
        (true, "OR BODY money NOT BODY the"), (false, "free"), (false, "linux OR razor"),
    ]

    /// Everything a user's index answers to the queries: per hit its mailbox, UID, source
    /// path, subject, size and dates (the order of IMAP answers is by UID, of webmail by score).
    static func answers(_ data: String, _ user: String) throws -> [String] {
        var out: [String] = []
        for q in queries {
            let r = try run(["search", "--data", data, "--user", user, "--json", "--limit", "100000", "--no-snippets"] + (q.imap ? ["--imap"] : []) + [q.text])
            #expect(r.status == 0, "\(user) \(q.text): \(r.err)")
            var hits: [String] = []
            for line in r.out.split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
                let fields = ["mailbox", "uid", "path", "subject", "size", "internalDate", "date"].map { "\(o[$0] ?? "-")" }
                hits.append(fields.joined(separator: "|"))
            }
            // Sets of hits: BM25's statistics (body length norms, document frequencies with
            // deletions) are per segment, so scores depend on how the index is segmented.
            out.append(q.text + ": " + hits.sorted().joined(separator: "\n"))
        }
        return out
    }

    /// The first difference between two users' answers, or nil (a short failure message).
    static func difference(_ a: [String], _ b: [String]) -> String? {
        for (x, y) in zip(a, b) where x != y {
            let xs = x.split(separator: "\n"), ys = y.split(separator: "\n")
            for (l, r) in zip(xs, ys) where l != r { return "\(l)\n  vs \(r)" }
            return "\(xs.count) vs \(ys.count) hits: \(x.prefix(80))"
        }
        return a.count == b.count ? nil : "\(a.count) vs \(b.count) queries"
    }

    static func summary(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func interruptedResumedEqualsSinglePassAndRescanFollowsChanges() throws {
        let base = scratchPath("reindex")
        try? Self.fm.removeItem(atPath: base)
        defer { try? Self.fm.removeItem(atPath: base) }
        let root = base + "/vmail", resumed = base + "/resumed", single = base + "/single"
        try Self.makeTree(root)

        // Killed (no cleanup, as kill -9) after 300 of the 420 messages, two users at a time,
        // committing every 50: the third user is cut off midway.
        let killed = try Self.run(["reindex", "--data", resumed, "--users-root", root, "--jobs", "2", "--progress-interval", "0.05",
                                   "--commit-every", "50"],
                                  environment: ["MAILSIFT_FAULT_EXIT_AFTER_MESSAGES": "300"])
        #expect(killed.status == 9, "\(killed.err)\n\(killed.out)")
        let journal = try Self.summary(String(decoding: try #require(Self.fm.contents(atPath: resumed + "/.reindex/journal.json")), as: UTF8.self))
        let doneBefore = (journal["done"] as? [[String: Any]] ?? []).compactMap { $0["user"] as? String }
        #expect(doneBefore.count >= 1 && doneBefore.count < 4, "\(doneBefore)")
        #expect(killed.err.contains("users,"), "progress lines: \(killed.err)")

        // Resumed: the finished users are not redone; the rest completes.
        let again = try Self.run(["reindex", "--data", resumed, "--users-root", root, "--jobs", "2", "--json"])
        #expect(again.status == 0, "\(again.err)\n\(again.out)")
        let s = try Self.summary(again.out)
        let users = s["users"] as? [[String: Any]] ?? []
        #expect(Set(users.compactMap { $0["user"] as? String }) == Set(Self.users))
        #expect(users.allSatisfy { $0["status"] as? String == "done" })
        // A user cut off midway kept its commits: the rerun found them unchanged.
        #expect(users.contains { !doneBefore.contains($0["user"] as? String ?? "") && ($0["unchanged"] as? Int ?? 0) >= 50 }, "\(users)")
        #expect(!Self.fm.fileExists(atPath: resumed + "/.reindex/journal.json"))
        #expect(Self.fm.fileExists(atPath: resumed + "/.reindex/last-run.json"))

        // The same as one uninterrupted pass, user by user and query by query.
        let one = try Self.run(["reindex", "--data", single, "--users-root", root, "--jobs", "1", "--json"])
        #expect(one.status == 0, "\(one.err)\n\(one.out)")
        #expect(try Self.summary(one.out)["added"] as? Int == 420)
        for user in Self.users {
            let a = try Self.answers(resumed, user), b = try Self.answers(single, user)
            #expect(Self.difference(a, b) == nil, "\(user): \(Self.difference(a, b) ?? "")")
            let r = try Self.run(["verify", "--data", resumed, "--user", user])
            #expect(r.status == 0, "\(user): \(r.out) \(r.err)")
        }
        // Dovecot's UIDs and folders: alice's Sent holds the uidlist's UIDs 1000, 1004, ...
        let sent = try Self.run(["search", "--data", resumed, "--user", "alice", "--imap", "--mailbox", "Sent", "ALL"])
        #expect(sent.out.hasPrefix("* SEARCH 1000 1004 1008"), "\(sent.out)")

        // Changes: a new message, a message renamed new/ → cur/ with flags, one deleted, one
        // moved from INBOX to Sent (a new file there, with no UID yet).
        let inbox = root + "/alice/Maildir"
        let newName = try #require(try Self.fm.contentsOfDirectory(atPath: inbox + "/new").sorted().first)
        try Self.fm.moveItem(atPath: inbox + "/new/" + newName, toPath: inbox + "/cur/" + newName + ":2,RS")
        let curNames = try Self.fm.contentsOfDirectory(atPath: inbox + "/cur").sorted()
        try Self.fm.removeItem(atPath: inbox + "/cur/" + curNames[0])
        try Self.fm.moveItem(atPath: inbox + "/cur/" + curNames[1], toPath: inbox + "/.Sent/cur/1800000001.M1P2.host:2,S")
        let extra = try #require(try Self.fm.contentsOfDirectory(atPath: Self.corpus + "/easy_ham_2").sorted().first)
        try Self.fm.copyItem(atPath: Self.corpus + "/easy_ham_2/" + extra, toPath: inbox + "/new/1800000002.M2P2.host")
        let rescan = try Self.run(["reindex", "--data", resumed, "--users-root", root, "--json"])
        #expect(rescan.status == 0, "\(rescan.err)")
        let alice = try #require((try Self.summary(rescan.out)["users"] as? [[String: Any]])?.first { $0["user"] as? String == "alice" })
        #expect(alice["added"] as? Int == 2)
        #expect(alice["moved"] as? Int == 1)
        #expect(alice["removed"] as? Int == 2)
        #expect(alice["unchanged"] as? Int == 117)
        // The renamed message kept its UID and took the new flags (\Answered from R).
        let answered = try Self.run(["search", "--data", resumed, "--user", "alice", "--imap", "--mailbox", "INBOX", "ANSWERED"])
        let movedUID = 1000 + (Int(newName.prefix(10).dropFirst(2)) ?? -1)
        #expect(answered.out == "* SEARCH \(movedUID)\n", "\(answered.out)")
        // And the rescanned index answers as a fresh single pass over the changed tree.
        let fresh = base + "/fresh"
        #expect(try Self.run(["reindex", "--data", fresh, "--users-root", root, "--user", "alice"]).status == 0)
        let rescanned = try Self.answers(resumed, "alice"), freshly = try Self.answers(fresh, "alice")
        #expect(Self.difference(rescanned, freshly) == nil, "\(Self.difference(rescanned, freshly) ?? "")")

        // Files Dovecot had not listed were numbered from the uidlist's next UID (N5000); once
        // Dovecot lists the new INBOX message under its own UID, a rescan takes that UID.
        let before = try Self.run(["search", "--data", resumed, "--user", "alice", "--imap", "--mailbox", "INBOX", "ALL"])
        #expect(before.out.contains(" 5000"), "\(before.out)")
        let uidlist = inbox + "/dovecot-uidlist"
        try (try String(contentsOfFile: uidlist, encoding: .utf8) + "7777 :1800000002.M2P2.host\n").write(toFile: uidlist, atomically: false, encoding: .utf8)
        #expect(try Self.run(["reindex", "--data", resumed, "--users-root", root, "--user", "alice"]).status == 0)
        let after = try Self.run(["search", "--data", resumed, "--user", "alice", "--imap", "--mailbox", "INBOX", "ALL"])
        #expect(after.out.hasSuffix(" 7777\n") && !after.out.contains(" 5000"), "\(after.out)")

        // --full: rebuilt into fresh segments and swapped in, same answers.
        let full = try Self.run(["reindex", "--data", resumed, "--users-root", root, "--user", "bob", "--full", "--json"])
        #expect(full.status == 0, "\(full.err)")
        let rebuilt = try Self.answers(resumed, "bob"), once = try Self.answers(single, "bob")
        #expect(Self.difference(rebuilt, once) == nil, "\(Self.difference(rebuilt, once) ?? "")")
        #expect(try Self.run(["verify", "--data", resumed, "--user", "bob"]).status == 0)
    }

    /// export → import (under another name) answers like the original; a damaged archive is
    /// refused and leaves nothing behind; stats and verify cover every user.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func exportImportStatsAndVerifyEveryUser() throws {
        let base = scratchPath("export")
        try? Self.fm.removeItem(atPath: base)
        defer { try? Self.fm.removeItem(atPath: base) }
        let root = base + "/vmail", data = base + "/data", other = base + "/other"
        try Self.makeTree(root)
        #expect(try Self.run(["reindex", "--data", data, "--users-root", root, "--jobs", "2"]).status == 0)
        let archive = base + "/carol.msx"
        let exported = try Self.run(["export", "--data", data, "--user", "carol", archive])
        #expect(exported.status == 0, "\(exported.err)")
        let imported = try Self.run(["import", "--data", other, "--user", "carol2", archive])
        #expect(imported.status == 0, "\(imported.err)")
        let a = try Self.answers(data, "carol"), b = try Self.answers(other, "carol2")
        #expect(Self.difference(a, b) == nil, "\(Self.difference(a, b) ?? "")")
        // Importing over an existing user needs --replace.
        #expect(try Self.run(["import", "--data", other, "--user", "carol2", archive]).status != 0)
        #expect(try Self.run(["import", "--data", other, "--user", "carol2", "--replace", archive]).status == 0)
        // One flipped byte anywhere fails a checksum; nothing is left in the data directory.
        var bytes = try #require(Self.fm.contents(atPath: archive))
        for at in [40, bytes.count / 2, bytes.count - 6] {
            var damaged = bytes
            damaged[at] ^= 0x20
            try damaged.write(to: URL(fileURLWithPath: base + "/damaged.msx"))
            let r = try Self.run(["import", "--data", other, "--user", "broken", base + "/damaged.msx"])
            #expect(r.status != 0, "byte \(at)")
        }
        bytes.removeLast(10)  // truncated
        try bytes.write(to: URL(fileURLWithPath: base + "/damaged.msx"))
        #expect(try Self.run(["import", "--data", other, "--user", "broken", base + "/damaged.msx"]).status != 0)
        #expect(try Self.fm.contentsOfDirectory(atPath: other).filter { $0.hasPrefix(".") }.isEmpty)
        // stats over every user, as JSON with totals; verify over every user.
        let stats = try Self.run(["stats", "--data", data, "--json"])
        let obj = try Self.summary(stats.out)
        let users = obj["users"] as? [[String: Any]] ?? []
        #expect(Set(users.compactMap { $0["user"] as? String }) == Set(Self.users))
        #expect((obj["total"] as? [String: Any])?["messages"] as? Int == 420)
        let verify = try Self.run(["verify", "--data", data])
        #expect(verify.status == 0 && verify.out.contains("4 users"), "\(verify.out)")

        // A flipped byte in a segment: verify names the user, repair rebuilds it from the mail
        // files, and it answers as before.
        let before = try Self.answers(data, "alice")
        let aliceRoot = try #require(try Self.fm.subpathsOfDirectory(atPath: data + "/users").first { path in
            Self.fm.fileExists(atPath: data + "/users/" + path + "/catalog.sqlite")
                && (try? String(contentsOfFile: data + "/users/" + path + "/catalog.sqlite", encoding: .isoLatin1))?.contains("alice") == true
        })
        let segments = data + "/users/" + aliceRoot + "/segments"
        let pos = try #require(try Self.fm.contentsOfDirectory(atPath: segments).first { $0.hasSuffix(".pos") })
        var file = try #require(Self.fm.contents(atPath: segments + "/" + pos))
        file[file.count / 2] ^= 0x01
        try file.write(to: URL(fileURLWithPath: segments + "/" + pos))
        let broken = try Self.run(["verify", "--data", data])
        #expect(broken.status == 1 && broken.out.contains("alice: PROBLEM"), "\(broken.out)")
        let repair = try Self.run(["repair", "--data", data, "--user", "alice"])
        #expect(repair.status == 0 && repair.out.contains("120 messages indexed again"), "\(repair.out) \(repair.err)")
        #expect(try Self.run(["verify", "--data", data]).status == 0)
        let after = try Self.answers(data, "alice")
        #expect(Self.difference(before, after) == nil, "\(Self.difference(before, after) ?? "")")
    }
}
