import ArgumentParser
import Catalog
import Foundation
import IndexEngine
import Ingest
import MailsiftCore
import Query
import Server

/// A load generator for the daemon (tools/bench-serve.sh runs it): N clients search over the
/// socket for a fixed time while one more adds messages, and the latency percentiles come out.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Measure a running daemon: concurrent searches (and adds) over its socket; prints req/s and latency percentiles.",
        shouldDisplay: false
    )

    @Option(help: "The daemon's Unix socket.")
    var socket: String?

    @Option(help: "Instead of --socket: run the webmail (or --kind imap: BODY) searches in this process, on one thread, against the user's index in this data directory (the engine's cost without HTTP; prints µs per search and the costliest words).")
    var inProcess: String?

    @Option(help: "The user to search.")
    var user: String

    @Option(help: "Concurrent search clients.")
    var clients = 8

    @Option(help: "Seconds to run.")
    var seconds = 20.0

    @Option(help: "webmail (a word query, no snippets, POSTed as JSON), webmail-get (the same as GET /v1/users/U/search?query=…), snippets (webmail with 20 snippets), imap (BODY word in --mailbox), text (TEXT word in --mailbox: headers and body, as Dovecot's TEXT and hdr: searches) or health (GET /health: the cost of HTTP alone).")
    var kind = "webmail"

    @Option(help: "Mailbox for imap queries (default: the user's largest).")
    var mailbox: String?

    @Option(help: "Comma-separated words to query (default: a built-in list of mailing-list words).")
    var words: String?

    @Option(help: "A directory of messages to add while searching (one file each; Maildir cur/new inside is fine).")
    var addFrom: String?

    @Option(help: "Messages added per second (0: as fast as the daemon takes them).")
    var addRate = 50.0

    @Option(help: "Searches per second offered by all clients together (open loop: each search is due at a fixed time and its latency counts from then, so a late answer also delays and counts against the next ones). 0: each client sends its next search as soon as the last is answered (closed loop, the saturation throughput).")
    var rate = 0.0

    static let defaultWords = ["btrfs", "balance", "scrub", "snapshot", "subvolume", "deadlock", "patch", "commit", "extent",
                               "qgroup", "raid", "device", "transaction", "inode", "compression", "metadata", "chunk", "mount",
                               "kernel", "regression", "warning", "lockdep", "fsync", "relocation", "send", "receive", "quota",
                               "checksum", "csum", "discard", "trim", "writeback", "free", "space", "tree", "log", "reflink",
                               "dedupe", "zoned", "filesystem", "error", "crash", "bug", "fix", "test", "performance"]

    func run() throws {
        let list = words.map { $0.split(separator: ",").map(String.init) } ?? Self.defaultWords
        guard !list.isEmpty, clients > 0, seconds > 0 else { throw ValidationError("need words, clients and seconds") }
        if let inProcess { return try runInProcess(dataRoot: inProcess, words: list) }
        guard let socket else { throw ValidationError("give --socket (or --in-process DATA)") }
        let user = self.user.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? self.user
        let deadline = Date().addingTimeInterval(seconds)
        let totals = Totals()
        let group = DispatchGroup()
        let kind = self.kind, searchRate = rate
        let clients = self.clients
        var chosen = self.mailbox
        if kind == "imap" || kind == "text", chosen == nil {
            // The user's largest mailbox (a search of a mailbox that does not exist is free).
            let status = try HTTPClient(.unix(socket)).get("/v1/users/\(user)/status")
            let obj = (try? JSONSerialization.jsonObject(with: Data(status.body))) as? [String: Any]
            let boxes = obj?["mailboxes"] as? [[String: Any]] ?? []
            chosen = boxes.max { ($0["messages"] as? Int ?? 0) < ($1["messages"] as? Int ?? 0) }?["name"] as? String
            guard chosen != nil else { throw ValidationError("user \(self.user) has no mailbox: \(status.text)") }
        }
        let mailbox = chosen ?? "INBOX"
        if kind == "imap" || kind == "text" { print("mailbox: \(mailbox)") }
        // The searches: every client a connection, this thread driving them all (below,
        // once the adding thread runs).
        // Every request's bytes made once (a String built per request cost the client more
        // CPU than some searches cost the daemon).
        func request(_ w: String) -> [UInt8] {
            if kind == "health" { return Array("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8) }
            if kind == "webmail-get" {
                var allowed = CharacterSet.urlQueryAllowed
                allowed.remove(charactersIn: "&+=?#")
                let q = w.addingPercentEncoding(withAllowedCharacters: allowed) ?? w
                return Array("GET /v1/users/\(user)/search?query=\(q)&limit=20&snippets=false HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
            }
            let body: String
            switch kind {
            case "imap": body = "{\"imap\":\"BODY \(w)\",\"mailbox\":\"\(mailbox)\"}"
            case "text": body = "{\"imap\":\"TEXT \(w)\",\"mailbox\":\"\(mailbox)\"}"
            case "snippets": body = "{\"query\":\"\(w)\",\"limit\":20,\"snippets\":true}"
            default: body = "{\"query\":\"\(w)\",\"limit\":20,\"snippets\":false}"
            }
            return Array(("POST /v1/users/\(user)/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
        }
        let requests = list.map(request)
        let driver = LoadDriver(socket: socket, clients: clients, request: { c, k in
            requests[(c * 7 + k) % requests.count]
        }, rate: searchRate, duration: .nanoseconds(Int64(seconds * 1e9)))
        if let dir = addFrom {
            group.enter()
            let files = Self.files(under: dir)
            let rate = addRate
            let adder: @Sendable () -> Void = {
                defer { group.leave() }
                let client = HTTPClient(.unix(socket))
                var k = 0
                let start = Date()
                while Date() < deadline, k < files.count {
                    if rate > 0 {
                        let due = start.addingTimeInterval(Double(k) / rate)
                        if due > deadline { break }
                        if due > Date() { Thread.sleep(until: due) }
                    }
                    guard let data = FileManager.default.contents(atPath: files[k]) else { k += 1; continue }
                    let r = try? client.request("PUT", "/v1/users/\(user)/messages?mailbox=Load&uid=\(k + 1)", body: Array(data))
                    totals.lock.lock()
                    if r?.status == 202 { totals.added += 1 } else { totals.addErrors += 1 }
                    totals.lock.unlock()
                    k += 1
                }
            }
            if !startThread(name: "ms-load-add", adder) {
                group.leave()
                FileHandle.standardError.write(Data("load: cannot start the thread that adds messages; searching only\n".utf8))
            }
        }
        let outcome = driver.run()
        totals.lock.lock()
        totals.latencies += outcome.latencies
        totals.errors += outcome.errors
        totals.firstError = outcome.firstError
        totals.lock.unlock()
        group.wait()
        let latencies = totals.latencies.sorted()
        let (errors, added, addErrors, firstError) = (totals.errors, totals.added, totals.addErrors, totals.firstError)
        func pct(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            return String(format: "%.3f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))])
        }
        print("kind: \(kind), clients: \(clients), seconds: \(seconds)" + (rate > 0 ? String(format: ", offered: %.0f/s (open loop)", rate) : " (closed loop)"))
        print(String(format: "searches: %d ok, %d errors, %.0f/s", latencies.count, errors, Double(latencies.count) / seconds))
        print("latency ms: p50 \(pct(0.50)) p90 \(pct(0.90)) p99 \(pct(0.99)) max \(pct(1.0))")
        if addFrom != nil { print(String(format: "adds: %d accepted (%.0f/s), %d errors", added, Double(added) / seconds, addErrors)) }
        if let firstError { print("first error: \(firstError)") }
        if errors > 0 || addErrors > 0 { throw ExitCode(1) }
    }

    /// The webmail searches the daemon would run (top 20 by relevance, no snippets unless
    /// --kind snippets), straight on the engine: per-search time of the engine alone.
    func runInProcess(dataRoot: String, words: [String]) throws {
        let dir = try UserDirectory(dataRoot: dataRoot, user: user)
        guard dir.exists else { throw ValidationError("no index for \(user) in \(dataRoot)") }
        let engine = QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath))
        var options = SearchOptions()
        options.limit = 20
        options.snippets = kind == "snippets"
        options.sourcePaths = false
        // imap: BODY word in the mailbox (--mailbox, default: the user's largest), as the
        // daemon's IMAP route runs it.
        let imap = kind == "imap" || kind == "text"
        let key = kind == "text" ? "TEXT" : "BODY"
        let nodes = try words.map { try imap ? IMAPSearchParser.parse("\(key) \($0)").criteria : WebmailQueryParser.parse($0) }
        var box = mailbox ?? ""
        if imap, mailbox == nil {
            box = try Catalog(path: dir.catalogPath).mailboxStatuses().max { $0.messages < $1.messages }?.name ?? "INBOX"
        }
        func run(_ node: QueryNode) throws {
            if imap { _ = try engine.uids(node, mailbox: box, options: SearchOptions()) } else { _ = try engine.search(node, options: options) }
        }
        for node in nodes { try run(node) }  // warm: pages mapped, bitmaps cached
        var perWord = [[Double]](repeating: [], count: words.count)
        var all: [Double] = []
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int64(seconds * 1000))
        var k = 0
        while clock.now < end {
            let i = k % nodes.count
            k += 1
            let t = clock.now
            try run(nodes[i])
            let us = (clock.now - t) / .microseconds(1)
            perWord[i].append(us)
            all.append(us)
        }
        all.sort()
        func pct(_ p: Double) -> String { String(format: "%.0f", all[min(all.count - 1, Int(Double(all.count) * p))]) }
        let mean = all.reduce(0, +) / Double(max(1, all.count))
        print("kind: \(kind), in process, 1 thread, seconds: \(seconds)")
        print(String(format: "searches: %d, %.0f/s, mean %.0f µs", all.count, Double(all.count) / seconds, mean) + "; µs p50 \(pct(0.5)) p90 \(pct(0.9)) p99 \(pct(0.99))")
        let costly = words.indices.map { (words[$0], perWord[$0].reduce(0, +) / Double(max(1, perWord[$0].count))) }.sorted { $0.1 > $1.1 }
        print("costliest (mean µs): " + costly.prefix(8).map { "\($0.0) \(String(format: "%.0f", $0.1))" }.joined(separator: ", "))
    }

    final class Totals: @unchecked Sendable {
        let lock = NSLock()
        var latencies: [Double] = []
        var errors = 0
        var firstError: String?
        var added = 0
        var addErrors = 0
    }

    static func files(under dir: String) -> [String] {
        var out: [String] = []
        if let e = FileManager.default.enumerator(atPath: dir) {
            while let p = e.nextObject() as? String {
                var isDir: ObjCBool = false
                let full = dir + "/" + p
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { out.append(full) }
            }
        }
        return out.sorted()
    }
}
