import ArgumentParser
import Foundation
import IndexEngine
import Ingest
import MailsiftCore
import Server
#if canImport(Glibc)
import Glibc
#endif

/// `mailsift reindex`: every user of a mail server's storage (Ingest/BulkReindex.swift).
struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Index every user of a mail server's storage, several users at a time.",
        discussion: """
            Layouts: dovecot (ROOT/<user>/Maildir, ROOT/<user> holding cur/, ROOT/<user>/mail with \
            mbox files, or ROOT/<domain>/<user>/... as user@domain; dovecot-uidlist gives the UIDs) \
            and flat (each directory under ROOT is a user). Incremental unless --full; resumable: \
            rerun the same command after an interruption. Exit status 0 when every user is done, \
            3 when some were busy (another writer, such as a running daemon, holds them) or failed.
            """
    )

    @Option(help: "Data directory holding the user indexes (default: $MAILSIFT_DATA).")
    var data: String?

    @Option(help: "The mail storage root: one directory per user (or per domain).")
    var usersRoot: String

    @Option(help: "dovecot or flat.")
    var layout = "dovecot"

    @Option(help: "Users indexed at once, each with its own writer.")
    var jobs = 1

    @Option(help: "Threads that parse and analyze one user's messages (default: cores / jobs, at least 1).")
    var threads: Int?

    @Flag(help: "Rebuild each user into fresh segments and swap them in (searches use the old index until then).")
    var full = false

    @Option(help: "Writer memory of all jobs together, MiB.")
    var memory = 1024

    @Option(help: "Commit a user's index every this many added messages (what an interrupted run keeps).")
    var commitEvery = 5_000

    @Option(help: "Only this user (repeat for several).")
    var user: [String] = []

    @Flag(name: .customLong("no-extract"), help: "Do not extract text from attachments.")
    var noExtract = false

    @Option(help: "A running daemon's socket, asked to release users it holds (default: DATA/mailsift.sock when there).")
    var daemonSocket: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    @Option(help: "Seconds between progress lines when the output is not a terminal.")
    var progressInterval = 10.0

    func validate() throws {
        if data == nil, ProcessInfo.processInfo.environment["MAILSIFT_DATA"] == nil { throw ValidationError("give --data DIR or set MAILSIFT_DATA") }
        if MailServerLayout(rawValue: layout) == nil { throw ValidationError("--layout is dovecot or flat") }
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs is 1...256") }
        if let threads, threads < 1 || threads > 64 { throw ValidationError("--threads is 1...64") }
        if memory < 16 || memory > 1 << 20 { throw ValidationError("--memory is in MiB, 16 or more") }
        if !(progressInterval > 0) { throw ValidationError("--progress-interval must be positive") }
        if commitEvery < 1 { throw ValidationError("--commit-every must be 1 or more") }
    }

    func run() throws {
        // A 32nd of the memory budget (32 MiB at the default 1 GiB): the heaps' pads stay a
        // small part of the budget whatever the number of jobs.
        IndexWriter.padHeaps(min(32 << 20, max(1 << 20, (memory << 20) / 32)))
        var options = BulkReindex.Options(dataRoot: data ?? ProcessInfo.processInfo.environment["MAILSIFT_DATA"] ?? "", usersRoot: usersRoot)
        options.layout = MailServerLayout(rawValue: layout) ?? .dovecot
        options.jobs = jobs
        options.threadsPerJob = threads ?? max(1, availableCores / jobs)
        options.full = full
        options.memory = memory << 20
        options.commitEvery = commitEvery
        options.users = user
        options.extractAttachments = !noExtract
        var st = stat()
        let socket = daemonSocket ?? options.dataRoot + "/mailsift.sock"
        if stat(socket, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK {
            // POST /v1/users/{user}/{action} on the daemon's socket; its status, nil if unreachable.
            let ask: @Sendable (String, String) -> Int? = { user, action in
                let client = HTTPClient(.unix(socket))
                defer { client.close() }
                let path = "/v1/users/" + (user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? user) + "/" + action
                return (try? client.post(path, json: "{}"))?.status
            }
            // release: 200 released, 409 messages still queued; reopen: the daemon may open the
            // user again at once.
            options.release = { user in ask(user, "release") == 200 }
            options.reopen = { user in _ = ask(user, "reopen") }
        }
        let job = BulkReindex(options)
        let tty = isatty(STDERR_FILENO) != 0
        let done = DispatchSemaphore(value: 0)
        // Progress on standard error: a live line on a terminal, periodic lines otherwise.
        let printer: @Sendable () -> Void = {
            let interval = tty ? 0.5 : progressInterval
            while done.wait(timeout: .now() + interval) == .timedOut {
                let line = Self.describe(job.progress())
                FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K" + line : line + "\n").utf8))
            }
        }
        if !startThread(name: "ms-progress", printer) {
            FileHandle.standardError.write(Data("reindex: cannot start the progress thread; the summary comes at the end\n".utf8))
        }
        let summary: BulkReindex.Summary
        do { summary = try job.run() } catch {
            done.signal()
            throw error
        }
        done.signal()
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Report(summary: summary, peakMemoryMiB: Self.peakMemoryMiB())), as: UTF8.self))
        } else {
            for u in summary.users where u.status != "done" { print("\(u.user): \(u.status): \(u.error ?? "")") }
            let ok = summary.users.filter { $0.status == "done" }
            let unchanged = ok.reduce(0) { $0 + $1.unchanged }, moved = ok.reduce(0) { $0 + $1.moved }
            let removed = ok.reduce(0) { $0 + $1.removed }, unreadable = ok.reduce(0) { $0 + $1.unreadable }
            print(String(format: "%d of %d users in %.1f s (%d jobs): %d messages added (%.1f MB), %.0f msg/s, %.1f MB/s; %d unchanged, %d moved, %d removed, %d unreadable; peak memory %d MiB",
                         ok.count, summary.users.count, summary.seconds, summary.jobs, summary.added, Double(summary.bytes) / 1e6,
                         summary.seconds > 0 ? Double(summary.added) / summary.seconds : 0, summary.seconds > 0 ? Double(summary.bytes) / 1e6 / summary.seconds : 0,
                         unchanged, moved, removed, unreadable, Self.peakMemoryMiB()))
        }
        if !summary.ok { throw ExitCode(3) }
    }

    struct Report: Encodable {
        var summary: BulkReindex.Summary
        var peakMemoryMiB: Int

        enum CodingKeys: String, CodingKey { case usersRoot, layout, full, jobs, users, seconds, added, bytes, ok, peakMemoryMiB }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(summary.usersRoot, forKey: .usersRoot)
            try c.encode(summary.layout, forKey: .layout)
            try c.encode(summary.full, forKey: .full)
            try c.encode(summary.jobs, forKey: .jobs)
            try c.encode(summary.users, forKey: .users)
            try c.encode(summary.seconds, forKey: .seconds)
            try c.encode(summary.added, forKey: .added)
            try c.encode(summary.bytes, forKey: .bytes)
            try c.encode(summary.ok, forKey: .ok)
            try c.encode(peakMemoryMiB, forKey: .peakMemoryMiB)
        }
    }

    /// One progress line: a bar over the message files, rates, users and the time left.
    static func describe(_ p: BulkReindex.Progress) -> String {
        let fraction = p.filesTotal > 0 ? min(1, Double(p.messages) / Double(p.filesTotal)) : (p.usersTotal > 0 ? Double(p.usersDone) / Double(p.usersTotal) : 0)
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = p.seconds > 0 ? Double(p.added) / p.seconds : 0
        let mbps = p.seconds > 0 ? Double(p.bytes) / 1e6 / p.seconds : 0
        var eta = "--"
        if fraction > 0.001, fraction < 1 {
            let left = Int(p.seconds / fraction * (1 - fraction))
            eta = left >= 3600 ? "\(left / 3600)h\(left % 3600 / 60)m" : left >= 60 ? "\(left / 60)m\(left % 60)s" : "\(left)s"
        }
        return String(format: "[%@] %3.0f%% %d/%d users, %d messages, %.0f msg/s, %.1f MB/s, ETA %@", bar, fraction * 100,
                      p.usersDone, p.usersTotal, p.messages, rate, mbps, eta)
    }

    static func peakMemoryMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) / 1024
    }
}
