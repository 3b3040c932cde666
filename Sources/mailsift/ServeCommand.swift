import ArgumentParser
import Foundation
import Logging
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: the JSON API and Dovecot's Solr routes over HTTP on a Unix socket (and TCP when asked).",
        discussion: "docs/api.md describes the API, docs/dovecot.md the Dovecot setup. SIGTERM stops it cleanly; accepted messages not yet indexed are indexed at the next start."
    )

    @Option(help: "Data directory holding the user indexes (default: $MAILSIFT_DATA).")
    var data: String?

    @Option(help: "Unix socket path (default: DATA/mailsift.sock; mode 0660).")
    var socket: String?

    @Option(help: "Also listen on TCP HOST:PORT (needs --token-file, or --insecure-loopback on a loopback address).")
    var listen: String?

    @Option(help: "File holding the bearer token TCP clients must send (or the Basic auth password).")
    var tokenFile: String?

    @Flag(help: "Allow TCP without a token on a loopback address.")
    var insecureLoopback = false

    @Option(help: "Indexing worker threads (0: accept and search only; messages stay queued, durable and searchable, until a start with workers).")
    var indexWorkers = 1

    @Option(help: "Seconds a user's first queued message waits for more before a commit (queued messages are durable and searchable meanwhile).")
    var commitDelay = 1.0

    @Option(help: "Nice value (0-19) of the indexing workers and their merges: with the cores busy, searches go first (queued messages stay searchable).")
    var indexNice: Int32 = 10

    @Option(help: "Search and catalog threads.")
    var searchThreads = 4

    @Flag(inversion: .prefixedNo, help: "Run word searches without snippets on the event loop that read them (short; saves two thread hand-offs each); --no-inline-word-searches sends every search to the search threads.")
    var inlineWordSearches = true

    @Option(help: "User indexes held open at once.")
    var openUsers = 256

    @Option(help: "Largest request body in bytes.")
    var maxBody = 64 << 20

    @Option(help: "Searches at once before answering 429.")
    var maxSearches = 64

    @Option(help: "Accepted, not yet indexed messages per user before adds get 429.")
    var maxQueued = 100_000

    @Option(help: "Time budget of one query, seconds.")
    var queryTimeout = 10.0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        let root = data ?? ProcessInfo.processInfo.environment["MAILSIFT_DATA"] ?? ""
        guard !root.isEmpty else { throw ValidationError("give --data DIR or set MAILSIFT_DATA") }
        var config = ServerConfiguration(dataRoot: root)
        config.socketPath = socket ?? root + "/mailsift.sock"
        config.listen = listen
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw ValidationError("cannot read \(tokenFile)") }
            config.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        config.insecureLoopback = insecureLoopback
        config.indexWorkers = max(0, indexWorkers)
        config.commitDelay = commitDelay.isFinite ? min(max(0, commitDelay), 3600) : 1
        config.indexNice = indexNice  // (the indexer keeps it within 0...19)
        config.searchThreads = max(1, searchThreads)
        config.inlineWordSearches = inlineWordSearches
        config.openUsers = max(1, openUsers)
        config.maxBodyBytes = max(1024, maxBody)
        config.maxConcurrentSearches = max(1, maxSearches)
        config.maxQueuedPerUser = max(1, maxQueued)
        config.queryTimeBudget = queryTimeout
        var logger = Logger(label: "mailsift") { LineLogHandler(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        try await MailsiftServer(configuration: config, logger: logger).run()
    }
}
