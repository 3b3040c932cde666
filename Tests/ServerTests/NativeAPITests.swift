import Analysis
import Foundation
import MIME
import Server
import Testing
import TestSupport

/// The daemon as a process, driven over its Unix socket with real mail (SpamAssassin
/// easy_ham): every native API call, answers checked against the messages' own text.
@Suite(.serialized) struct NativeAPITests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/easy_ham").path

    static func messages(_ n: Int) throws -> [[UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix(".") && $0 != "cmds" }.sorted()
        return try names.prefix(n).map { Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + $0))) }
    }

    /// Messages' subjects as the parser decodes them, case-folded.
    static func foldedSubjects(_ raws: [[UInt8]]) -> [String] {
        let parser = MessageParser()
        return raws.map { TextNormalizer.caseFold(parser.parse($0).subject ?? "") }
    }

    /// Seeded words (ASCII letters, 5+) from the subjects.
    static func words(_ subjects: [String], count: Int) -> [String] {
        var all = Set<String>()
        for s in subjects {
            for w in s.split(whereSeparator: { !($0.isASCII && $0.isLetter) }) where w.count >= 5 { all.insert(String(w)) }
        }
        var rng = SplitMix64(seed: 6)
        var sorted = all.sorted()
        var out: [String] = []
        while out.count < count, !sorted.isEmpty { out.append(sorted.remove(at: Int(rng.next() % UInt64(sorted.count)))) }
        return out
    }

    static func batch(_ raws: [[UInt8]], mailbox: String, firstUID: Int, flags: [String] = []) -> [String: Any] {
        ["messages": raws.enumerated().map { k, raw in
            ["mailbox": mailbox, "uid": firstUID + k, "internalDate": 1_700_000_000 + k, "flags": flags,
             "raw": Data(raw).base64EncodedString()] as [String: Any]
        }]
    }

    @Test func everyCallOnRealMail() throws {
        let daemon = try Daemon(name: "api", arguments: ["--max-body", "2000000"])
        let c = daemon.client()
        let raws = try Self.messages(80)
        let subjects = Self.foldedSubjects(raws)

        // Adds: INBOX by batches (JSON), Archive one by one (raw PUT).
        for start in stride(from: 0, to: 60, by: 20) {
            let r = try c.postJSON("/v1/users/alice/messages", Self.batch(Array(raws[start..<start + 20]), mailbox: "INBOX", firstUID: start + 1))
            #expect(r.status == 202, "\(r.text)")
            #expect(r.json["accepted"] as? Int == 20)
        }
        for k in 60..<80 {
            let r = try c.request("PUT", "/v1/users/alice/messages?mailbox=Archive&uid=\(k - 59)&flags=seen,flagged&keywords=work", body: raws[k])
            #expect(r.status == 202, "\(r.text)")
        }

        // Searches right away (queued or indexed, whichever) and after indexing: the same
        // answers, equal to the subjects' own text.
        let words = Self.words(subjects, count: 12)
        #expect(words.count == 12)
        func check(_ when: String) throws {
            for w in words {
                let inbox = subjects[0..<60].enumerated().filter { $0.element.contains(w) }.map { $0.offset + 1 }
                let archive = subjects[60..<80].enumerated().filter { $0.element.contains(w) }.map { $0.offset + 1 }
                #expect(try c.imap("alice", "INBOX", "SUBJECT \(w)") == inbox, "\(when): SUBJECT \(w) in INBOX")
                #expect(try c.imap("alice", "Archive", "SUBJECT \(w)") == archive, "\(when): SUBJECT \(w) in Archive")
            }
            #expect(try c.imap("alice", "INBOX", "ALL") == Array(1...60))
            #expect(try c.imap("alice", "Archive", "FLAGGED KEYWORD work") == Array(1...20))
        }
        try check("at once")
        try daemon.waitIndexed("alice")
        try check("indexed")

        // An accepted message is found by the very next search, every time.
        for k in 0..<10 {
            let token = "zqvisible\(k)x"
            let raw = Array("From: t@example.com\r\nSubject: probe \(token)\r\n\r\nbody \(token)\r\n".utf8)
            #expect(try c.request("PUT", "/v1/users/alice/messages?mailbox=Probe&uid=\(k + 1)", body: raw).status == 202)
            #expect(try c.imap("alice", "Probe", "BODY \(token)") == [k + 1])
        }

        // IMAP over several mailboxes (or all): UIDs per mailbox.
        let multi = try c.postJSON("/v1/users/alice/search", ["imap": "SUBJECT \(words[0])"]).json["mailboxes"] as? [[String: Any]] ?? []
        #expect(multi.map { $0["mailbox"] as? String ?? "" } == ["Archive", "INBOX", "Probe"])
        #expect(multi.first { $0["mailbox"] as? String == "INBOX" }?["uids"] as? [Int] == subjects[0..<60].enumerated().filter { $0.element.contains(words[0]) }.map { $0.offset + 1 })

        // ESEARCH return options.
        let r = try c.postJSON("/v1/users/alice/search", ["imap": "RETURN (MIN MAX COUNT) ALL", "mailbox": "INBOX"])
        #expect(r.json["esearch"] as? String == "MIN 1 MAX 60 COUNT 60")

        // Webmail search: ranked hits with snippets.
        let w = try c.postJSON("/v1/users/alice/search", ["query": "subject:\(words[0])", "limit": 5])
        #expect(w.status == 200)
        let hits = w.json["hits"] as? [[String: Any]] ?? []
        #expect(!hits.isEmpty && hits.allSatisfy { ($0["subject"] as? String).map { TextNormalizer.caseFold($0).contains(words[0]) } ?? false })

        // Overwrite by UID: the old text is gone, the new one found.
        let before = try c.imap("alice", "INBOX", "ALL").count
        let replacement = Array("From: r@example.com\r\nSubject: zqreplaced\r\n\r\nnew text\r\n".utf8)
        #expect(try c.request("PUT", "/v1/users/alice/messages?mailbox=INBOX&uid=10", body: replacement).status == 202)
        #expect(try c.imap("alice", "INBOX", "SUBJECT zqreplaced") == [10])
        #expect(try c.imap("alice", "INBOX", "ALL").count == before)
        if !subjects[9].isEmpty {
            #expect(!(try c.imap("alice", "INBOX", "SUBJECT \"\(subjects[9].prefix(20).replacingOccurrences(of: "\"", with: ""))\"").contains(10)))
        }

        // Expunge and flags.
        #expect(try c.postJSON("/v1/users/alice/expunge", ["mailbox": "INBOX", "uids": "1:5,60"]).json["count"] as? Int == 6)
        #expect(try c.imap("alice", "INBOX", "ALL") == Array(6...59))
        #expect(try c.postJSON("/v1/users/alice/flags", ["mailbox": "INBOX", "uids": "7,9", "flags": ["\\Flagged"], "mode": "add"]).status == 200)
        #expect(try c.imap("alice", "INBOX", "FLAGGED") == [7, 9])
        _ = try c.postJSON("/v1/users/alice/flags", ["mailbox": "INBOX", "uids": "9", "flags": ["flagged"], "mode": "remove"])
        #expect(try c.imap("alice", "INBOX", "FLAGGED") == [7])

        // Mailboxes: rename keeps the messages, delete removes them.
        #expect(try c.postJSON("/v1/users/alice/mailboxes/rename", ["mailbox": "Archive", "to": "Old/2002"]).status == 200)
        #expect(try c.imap("alice", "Old/2002", "ALL") == Array(1...20))
        #expect(try c.postJSON("/v1/users/alice/mailboxes/delete", ["mailbox": "Probe"]).json["count"] as? Int == 10)
        let status = try c.get("/v1/users/alice/status").json
        let boxes = (status["mailboxes"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0["messages"] as? Int ?? -1, $0["highestUid"] as? Int ?? -1) }
        #expect(boxes.map(\.0) == ["INBOX", "Old/2002"])
        #expect(boxes.first?.1 == 54 && boxes.first?.2 == 59)

        // Errors: clear codes, never a crash.
        #expect(try c.request("POST", "/v1/users/alice/search", body: Array("{not json".utf8)).status == 400)
        #expect(try c.postJSON("/v1/users/alice/search", ["imap": "BODY (", "mailbox": "INBOX"]).json["error"] != nil)
        #expect(try c.postJSON("/v1/users/alice/search", ["imap": "BODY (", "mailbox": "INBOX"]).status == 400)
        #expect(try c.postJSON("/v1/users/nobody/search", ["imap": "ALL", "mailbox": "INBOX"]).status == 404)
        #expect(try c.postJSON("/v1/users/alice/expunge", ["mailbox": "Nope", "uids": "1"]).status == 404)
        #expect(try c.postJSON("/v1/users/alice/expunge", ["mailbox": "INBOX", "uids": "x"]).status == 400)
        #expect(try c.request("PUT", "/v1/users/alice/messages?mailbox=INBOX&uid=0", body: raws[0]).status == 400)
        #expect(try c.request("PUT", "/v1/users/alice/messages?mailbox=INBOX&uid=1", body: [UInt8](repeating: 65, count: 2_100_000)).status == 413)
        #expect(try c.request("PUT", "/v1/users/%01bad/messages?mailbox=INBOX&uid=1", body: raws[0]).status == 400)
        #expect(try c.get("/v1/nothing").status == 404)
        // Any bytes are a message (best effort), never an error.
        #expect(try c.request("PUT", "/v1/users/alice/messages?mailbox=Junk&uid=1", body: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).status == 202)
        #expect(try c.imap("alice", "Junk", "ALL") == [1])

        // Health and metrics.
        #expect(try c.get("/health").status == 200)
        let metrics = try c.get("/metrics").text
        #expect(metrics.contains("mailsift_http_requests_total{route=\"v1_search\",status=\"200\"}"))
        #expect(metrics.contains("mailsift_indexed_messages_total"))

        // Deleting the user.
        #expect(try c.request("DELETE", "/v1/users/alice").status == 200)
        #expect(try c.get("/v1/users/alice/status").status == 404)
        #expect(daemon.stop() == 0)
    }

    /// Acknowledged adds survive `kill -9` at any moment: after a restart every acknowledged
    /// message is searchable and gets indexed.
    @Test func killedDaemonLosesNothingAcknowledged() throws {
        let daemon = try Daemon(name: "kill", arguments: ["--index-workers", "1"])
        let raws = try Self.messages(120)
        var acknowledged: [Int] = []
        var rng = SplitMix64(seed: 99)
        for round in 0..<4 {
            let c = daemon.client()
            let start = round * 30
            for k in start..<start + 30 {
                let r = try c.request("PUT", "/v1/users/bob/messages?mailbox=INBOX&uid=\(k + 1)", body: raws[k])
                if r.status == 202 { acknowledged.append(k + 1) }
            }
            usleep(UInt32(rng.next() % 200_000))
            daemon.crash()
            try daemon.start()
            #expect(try daemon.client().imap("bob", "INBOX", "ALL") == acknowledged, "round \(round)")
        }
        try daemon.waitIndexed("bob")
        let c = daemon.client()
        #expect(try c.imap("bob", "INBOX", "ALL") == acknowledged)
        let subjects = Self.foldedSubjects(Array(raws.prefix(acknowledged.count)))
        for w in Self.words(subjects, count: 5) {
            #expect(try c.imap("bob", "INBOX", "SUBJECT \(w)") == subjects.enumerated().filter { $0.element.contains(w) }.map { $0.offset + 1 })
        }
        #expect(daemon.stop() == 0)
    }

    /// Many clients searching while others add: every answer is a consistent snapshot (the
    /// ALL count never goes down and never exceeds what was acknowledged) and nothing fails.
    @Test func concurrentSearchesWhileAdding() throws {
        let daemon = try Daemon(name: "conc")
        let raws = try Self.messages(200)
        let writers = 2, readers = 6
        let acknowledged = Atomic(0)
        let failures = Atomic(0)
        let group = DispatchGroup()
        let socket = daemon.socket
        for w in 0..<writers {
            DispatchQueue.global().async(group: group) {
                let c = HTTPClient(.unix(socket))
                for k in stride(from: w, to: raws.count, by: writers) {
                    if (try? c.request("PUT", "/v1/users/carol/messages?mailbox=INBOX&uid=\(k + 1)", body: raws[k]))?.status == 202 {
                        acknowledged.add(1)
                    } else {
                        failures.add(1)
                    }
                }
            }
        }
        for _ in 0..<readers {
            DispatchQueue.global().async(group: group) {
                let c = HTTPClient(.unix(socket))
                var last = 0
                for _ in 0..<60 {
                    let floor = acknowledged.load()
                    guard let all = try? c.imap("carol", "INBOX", "ALL") else {
                        // The user's index may not exist before the first add is answered.
                        if floor > 0 { failures.add(1) }
                        continue
                    }
                    if all.count < last || all.count < floor || all.count > raws.count { failures.add(1) }
                    last = all.count
                    if (try? c.postJSON("/v1/users/carol/search", ["query": "the list", "limit": 3]))?.status != 200, floor > 0 { failures.add(1) }
                }
            }
        }
        group.wait()
        #expect(failures.load() == 0)
        #expect(acknowledged.load() == raws.count)
        #expect(try daemon.client().imap("carol", "INBOX", "ALL") == Array(1...raws.count))
        #expect(daemon.stop() == 0)
    }
}

/// With indexing off, everything lives in the queue and its pending segments: each add is
/// found at once, overwrites and expunges apply, and a restart with workers indexes it all to
/// the same answers.
@Suite(.serialized) struct PendingQueueTests {
    @Test func queuedMessagesAnswerLikeIndexedOnes() throws {
        let daemon = try Daemon(name: "queue", arguments: ["--index-workers", "0"])
        let c = daemon.client()
        let raws = try NativeAPITests.messages(60)
        var subjects = NativeAPITests.foldedSubjects(raws)
        for (k, raw) in raws.enumerated() {
            #expect(try c.request("PUT", "/v1/users/dana/messages?mailbox=INBOX&uid=\(k + 1)", body: raw).status == 202)
            #expect(try c.imap("dana", "INBOX", "ALL").count == k + 1)
        }
        // Overwrite five (still queued) and expunge three.
        for k in [3, 17, 30, 44, 59] {
            let raw = Array("From: o@example.com\r\nSubject: zqover \(k)\r\n\r\nx\r\n".utf8)
            #expect(try c.request("PUT", "/v1/users/dana/messages?mailbox=INBOX&uid=\(k + 1)", body: raw).status == 202)
            subjects[k] = "zqover \(k)"
            // The queued version it overwrote is gone at once (no second copy of the UID).
            #expect(try c.imap("dana", "INBOX", "ALL") == Array(1...60))
        }
        #expect(try c.postJSON("/v1/users/dana/expunge", ["mailbox": "INBOX", "uids": "8,9,50"]).status == 200)
        let gone: Set<Int> = [8, 9, 50]
        let words = NativeAPITests.words(subjects, count: 10) + ["zqover"]
        func answers() throws -> [[Int]] {
            try words.map { w in try c.imap("dana", "INBOX", "SUBJECT \(w)") }
        }
        let expected = words.map { w in subjects.enumerated().filter { $0.element.contains(w) && !gone.contains($0.offset + 1) }.map { $0.offset + 1 } }
        #expect(try answers() == expected)
        let status = try c.get("/v1/users/dana/status").json
        #expect(status["queued"] as? Int == 57)
        #expect(daemon.stop() == 0)

        // Indexed now: the same answers from segments.
        let indexing = try Daemon(name: "queue", arguments: [], reuse: daemon)
        try indexing.waitIndexed("dana")
        #expect(try indexing.client().imap("dana", "INBOX", "ALL").count == 57)
        let c2 = indexing.client()
        #expect(try words.map { w in try c2.imap("dana", "INBOX", "SUBJECT \(w)") } == expected)
        #expect(indexing.stop() == 0)
    }
}

/// Word searches run on the event loop that read them (`--inline-word-searches`, the
/// default): the same answers, byte for byte, as the search threads give, for words, AND, OR,
/// NOT and filters (inline) and for phrases, prefixes and snippets (search threads either way).
@Suite(.serialized) struct InlineSearchTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: NativeAPITests.corpus)))
    func inlineAnswersEqualSearchThreads() throws {
        let daemon = try Daemon(name: "inline")
        let raws = try NativeAPITests.messages(150)
        let c = daemon.client()
        #expect(try c.postJSON("/v1/users/erin/messages", NativeAPITests.batch(Array(raws[..<100]), mailbox: "INBOX", firstUID: 1)).status == 202)
        #expect(try c.postJSON("/v1/users/erin/messages", NativeAPITests.batch(Array(raws[100...]), mailbox: "Lists", firstUID: 1, flags: ["seen"])).status == 202)
        try daemon.waitIndexed("erin")
        let words = NativeAPITests.words(NativeAPITests.foldedSubjects(raws), count: 12)
        #expect(words.count == 12)
        var queries: [[String: Any]] = []
        for (k, w) in words.enumerated() {
            let next = words[(k + 1) % words.count]
            for q in [w, "\(w) OR \(next)", "\(w) -\(next)", "\(w) in:Lists", "\(w) is:unread", "\"\(w) \(next)\"", "\(w.prefix(4))*"] {
                queries.append(["query": q, "limit": 7, "snippets": false])
            }
            queries.append(["query": w, "limit": 5, "snippets": true])
            queries.append(["query": w, "limit": 5, "offset": 3, "sort": "newest", "snippets": false])
        }
        func answers(_ client: HTTPClient) throws -> [String] {
            try queries.map { q in
                let r = try client.postJSON("/v1/users/erin/search", q)
                return "\(r.status) \(r.text)"
            }
        }
        let inline = try answers(c)
        // Some queries find messages, and all are answered.
        #expect(inline.allSatisfy { $0.hasPrefix("200 ") })
        #expect(inline.filter { !$0.contains("\"total\":0") }.count > queries.count / 3)
        // The GET form answers the same, its fields as query parameters.
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&+=?")
        let viaGet = try queries.map { q in
            var params: [String] = []
            for key in ["query", "limit", "offset", "sort", "snippets"] {
                if let v = q[key] { params.append(key + "=" + "\(v)".addingPercentEncoding(withAllowedCharacters: allowed)!) }
            }
            let r = try c.get("/v1/users/erin/search?" + params.joined(separator: "&"))
            return "\(r.status) \(r.text)"
        }
        #expect(viaGet == inline)
        let bad = try c.get("/v1/users/erin/search?query=x&limit=many")
        #expect(bad.status == 400 && bad.text.contains("limit"))
        #expect(daemon.stop() == 0)
        let pooled = try Daemon(name: "inline", arguments: ["--no-inline-word-searches"], reuse: daemon)
        #expect(try answers(pooled.client()) == inline)
        #expect(pooled.stop() == 0)
    }
}

/// A thread-safe counter for the concurrency test.
final class Atomic: @unchecked Sendable {
    private var value: Int
    private let lock = NSLock()
    init(_ v: Int) { value = v }
    func add(_ n: Int) { lock.lock(); value += n; lock.unlock() }
    func load() -> Int { lock.lock(); defer { lock.unlock() }; return value }
}

/// Limits a mail operator counts on: open users stay bounded however many exist, and TCP
/// needs the token.
@Suite(.serialized) struct DaemonLimitTests {
    static func openFiles(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// The nice value of each of the process's threads (/proc/PID/task/TID/stat, field 19,
    /// counted after the command name's closing parenthesis).
    static func threadNiceValues(_ pid: Int32) -> [Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { tid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil  // fields[0] is field 3 (state)
        }
    }

    @Test func indexingWorkersRunAtTheirNiceValue() throws {
        let daemon = try Daemon(name: "nice", arguments: ["--index-workers", "2", "--index-nice", "7"])
        guard let pid = daemon.process?.processIdentifier else { throw HTTPClient.Failure(description: "no daemon") }
        // The workers set their value when they start; the daemon answered /health already.
        var values: [Int] = []
        for _ in 0..<100 {
            values = Self.threadNiceValues(pid)
            if values.filter({ $0 == 7 }).count == 2 { break }
            usleep(20_000)
        }
        #expect(values.filter { $0 == 7 }.count == 2, "\(values)")
        #expect(values.contains(0))  // the rest (event loops, searches) keep the default
    }

    @Test func openUsersStayBounded() throws {
        let daemon = try Daemon(name: "lru", arguments: ["--open-users", "3"])
        let c = daemon.client()
        let raw = Array("From: a@example.com\r\nSubject: hello zqlru\r\n\r\nbody\r\n".utf8)
        guard let pid = daemon.process?.processIdentifier else { throw HTTPClient.Failure(description: "no daemon") }
        var most = 0
        for u in 0..<24 {
            #expect(try c.request("PUT", "/v1/users/user\(u)/messages?mailbox=INBOX&uid=1", body: raw).status == 202)
            try daemon.waitIndexed("user\(u)")
            most = max(most, Self.openFiles(pid))
        }
        // Every user still answers (reopened on demand), and the open set stays small.
        for u in 0..<24 {
            #expect(try c.imap("user\(u)", "INBOX", "SUBJECT zqlru") == [1])
            most = max(most, Self.openFiles(pid))
        }
        let metrics = try c.get("/metrics").text
        let open = metrics.split(separator: "\n").first { $0.hasPrefix("mailsift_open_users_count ") }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect(open != nil && open! <= 4)
        // A user index holds the catalog (3 files), the write lock and its segment files while
        // open: 24 users all open would be well over 100.
        #expect(most > 0 && most < 80, "open files peaked at \(most)")
        #expect(daemon.stop() == 0)
    }

    @Test func tcpNeedsTheToken() throws {
        let base = scratchPath("token")
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        // Without a token TCP is refused at start.
        let refused = Process()
        refused.executableURL = mailsiftBinary
        refused.arguments = ["serve", "--data", base + "/d0", "--socket", base + "/s0.sock", "--listen", "127.0.0.1:0"]
        refused.standardError = FileHandle.nullDevice
        refused.standardOutput = FileHandle.nullDevice
        try refused.run()
        refused.waitUntilExit()
        #expect(refused.terminationStatus != 0)

        try "s3cret-token\n".write(toFile: base + "/token", atomically: true, encoding: .utf8)
        let port = 20_000 + Int(getpid() % 20_000)
        let daemon = try Daemon(name: "tcp", arguments: ["--listen", "127.0.0.1:\(port)", "--token-file", base + "/token"])
        let tcp = HTTPClient(.tcp(host: "127.0.0.1", port: port))
        var up = false
        for _ in 0..<100 where !up {
            up = (try? tcp.get("/health")) != nil
            if !up { usleep(50_000) }
        }
        #expect(try tcp.get("/health").status == 401)
        #expect(try tcp.request("GET", "/health", headers: [("Authorization", "Bearer wrong")]).status == 401)
        #expect(try tcp.request("GET", "/health", headers: [("Authorization", "Bearer s3cret-token")]).status == 200)
        let basic = Data("dovecot:s3cret-token".utf8).base64EncodedString()
        #expect(try tcp.request("GET", "/solr/dovecot/select?q=box:x+AND+user:nobody", headers: [("Authorization", "Basic \(basic)")]).status == 200)
        // The Unix socket needs no token.
        #expect(try daemon.client().get("/health").status == 200)
        #expect(daemon.stop() == 0)
    }
}

/// `mailsift reindex` while the daemon serves the same data directory: the daemon holds the
/// user's writer; the reindex asks it to release the user (POST /release), indexes it, and
/// the daemon's next search sees the reindexed mail.
@Suite struct ReindexWithDaemonTests {
    /// A daemon that has opened alice (10 messages added through the API, indexed) and the
    /// root of a mail tree where alice's Maildir holds 20 other messages.
    static func aliceOpenWithMaildir(_ name: String) throws -> (Daemon, root: String) {
        let daemon = try Daemon(name: name)
        let raws = try NativeAPITests.messages(30)
        let r = try daemon.client().postJSON("/v1/users/alice/messages", NativeAPITests.batch(Array(raws[0..<10]), mailbox: "Archive", firstUID: 1))
        #expect(r.status == 202, "\(r.text)")
        try daemon.waitIndexed("alice")
        let root = daemon.base + "/vmail"
        let cur = root + "/alice/Maildir/cur"
        try FileManager.default.createDirectory(atPath: cur, withIntermediateDirectories: true)
        for k in 10..<30 { try Data(raws[k]).write(to: URL(fileURLWithPath: cur + "/\(1_700_000_000 + k).M\(k)P1.host:2,S")) }
        return (daemon, root)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: NativeAPITests.corpus)))
    func reindexReleasesTheDaemonsUser() throws {
        let (daemon, root) = try Self.aliceOpenWithMaildir("reindex")
        let c = daemon.client()
        let run = Process()
        run.executableURL = mailsiftBinary
        run.arguments = ["reindex", "--data", daemon.data, "--users-root", root, "--json", "--daemon-socket", daemon.socket]
        let out = Pipe()
        run.standardOutput = out
        try run.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        #expect(run.terminationStatus == 0, "\(text)")
        #expect(text.contains("\"status\" : \"done\""), "\(text)")
        // The daemon reopens alice and answers from both the API's and the files' messages.
        let all = try c.postJSON("/v1/users/alice/search", ["query": "", "limit": 100, "snippets": false])
        #expect(all.status == 200, "\(all.text)")
        #expect(all.json["total"] as? Int == 30, "\(all.text)")
        let inbox = try c.postJSON("/v1/users/alice/search", ["imap": "ALL", "mailbox": "INBOX"])
        #expect((inbox.json["uids"] as? [Int])?.count == 20, "\(inbox.text)")
    }
}

extension ReindexWithDaemonTests {
    /// Clients searching the user without pause all through the reindex: the daemon must not
    /// reopen the released user before the reindex has had its lock (it did, within a
    /// millisecond, and the reindex gave up with "busy"). Searches meanwhile are answered or
    /// refused as busy (429), nothing else.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: NativeAPITests.corpus)))
    func reindexGetsTheUserUnderSteadySearches() throws {
        let (daemon, root) = try Self.aliceOpenWithMaildir("reindex-busy")
        let stop = Atomic(0), answered = Atomic(0), refused = Atomic(0), other = Atomic(0)
        let group = DispatchGroup()
        let socket = daemon.socket
        for _ in 0..<2 {
            DispatchQueue.global().async(group: group) {
                let c = HTTPClient(.unix(socket))
                while stop.load() == 0 {
                    switch (try? c.postJSON("/v1/users/alice/search", ["query": "the", "limit": 5, "snippets": false]))?.status {
                    case 200: answered.add(1)
                    case 429: refused.add(1)
                    default: other.add(1)
                    }
                }
            }
        }
        // The clients are searching before the reindex starts.
        while answered.load() < 20 { usleep(1_000) }
        let result = try runProgram(mailsiftBinary, ["reindex", "--data", daemon.data, "--users-root", root, "--json", "--daemon-socket", socket])
        stop.add(1)
        group.wait()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\"status\" : \"done\""), "\(result.output)")
        #expect(other.load() == 0, "\(answered.load()) answered, \(refused.load()) refused, \(other.load()) other")
        // Reopened at once when it saw the reindex's lock come and go, else when the hold
        // (5 s) is over.
        var all = try daemon.client().postJSON("/v1/users/alice/search", ["query": "", "limit": 100, "snippets": false])
        for _ in 0..<100 where all.status == 429 {
            usleep(100_000)
            all = try daemon.client().postJSON("/v1/users/alice/search", ["query": "", "limit": 100, "snippets": false])
        }
        #expect(all.json["total"] as? Int == 30, "\(all.text)")
    }
}

/// `mailsift load` (the load benchmark's client, tools/bench-serve.sh) against a real daemon:
/// closed and open loop, searches and adds, and an error is counted and makes it fail.
@Suite struct LoadToolTests {
    static func load(_ args: [String]) throws -> (status: Int32, out: String) {
        let r = try runProgram(mailsiftBinary, ["load"] + args)
        return (r.status, r.output)
    }

    /// "searches: N ok, E errors, R/s" → (N, E).
    static func counts(_ out: String) -> (ok: Int, errors: Int)? {
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("searches: ") }) else { return nil }
        let parts = line.split(separator: " ")
        guard parts.count >= 5, let ok = Int(parts[1]), let errors = Int(parts[3]) else { return nil }
        return (ok, errors)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: NativeAPITests.corpus)))
    func loadMeasuresTheDaemon() throws {
        let daemon = try Daemon(name: "load")
        let raws = try NativeAPITests.messages(60)
        let r = try daemon.client().postJSON("/v1/users/carol/messages", NativeAPITests.batch(Array(raws[0..<40]), mailbox: "INBOX", firstUID: 1))
        #expect(r.status == 202, "\(r.text)")
        try daemon.waitIndexed("carol")
        // Messages to add during the run, one file each.
        let adds = daemon.base + "/adds"
        try FileManager.default.createDirectory(atPath: adds, withIntermediateDirectories: true)
        for k in 40..<60 { try Data(raws[k]).write(to: URL(fileURLWithPath: adds + "/\(k).eml")) }

        let closed = try Self.load(["--socket", daemon.socket, "--user", "carol", "--clients", "4", "--seconds", "1",
                                    "--words", "razor,the,spamassassin", "--add-from", adds, "--add-rate", "20"])
        #expect(closed.status == 0, "\(closed.out)")
        let c = try #require(Self.counts(closed.out), "\(closed.out)")
        #expect(c.ok > 20 && c.errors == 0, "\(closed.out)")
        #expect(closed.out.contains("(closed loop)") && closed.out.contains("latency ms: p50 "), "\(closed.out)")
        #expect(closed.out.contains("adds: ") && closed.out.contains(" 0 errors"), "\(closed.out)")

        // Open loop at 200/s for 1 s: about 200 searches, none lost.
        let open = try Self.load(["--socket", daemon.socket, "--user", "carol", "--clients", "8", "--seconds", "1", "--rate", "200",
                                  "--kind", "imap", "--mailbox", "INBOX"])
        #expect(open.status == 0, "\(open.out)")
        let o = try #require(Self.counts(open.out), "\(open.out)")
        #expect(o.ok >= 180 && o.ok <= 201 && o.errors == 0, "\(open.out)")

        // A user name the daemon refuses: every search an error, and the run fails.
        let bad = try Self.load(["--socket", daemon.socket, "--user", "..", "--clients", "2", "--seconds", "0.3", "--words", "x"])
        #expect(bad.status != 0, "\(bad.out)")
        let b = try #require(Self.counts(bad.out), "\(bad.out)")
        #expect(b.ok == 0 && b.errors > 0 && bad.out.contains("first error: 4"), "\(bad.out)")
    }
}
