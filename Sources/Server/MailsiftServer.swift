import Catalog
import Foundation
import Hummingbird
import HummingbirdCore
import IndexEngine
import Ingest
import Logging
import MailsiftCore
import NIOCore
import NIOPosix
import Query
import ServiceLifecycle
import Synchronization

/// An error a request gets: an HTTP status, a code and a message, rendered as JSON (or as
/// Solr's XML on the Solr routes).
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func from(_ e: MailsiftError) -> APIError {
        switch e.code {
        case .invalidInput: return APIError(.badRequest, "invalid_input", e.message)
        case .notFound: return APIError(.notFound, "not_found", e.message)
        case .limitExceeded: return APIError(.tooManyRequests, "limit_exceeded", e.message)
        case .unsupported: return APIError(.badRequest, "unsupported", e.message)
        default: return APIError(.internalServerError, e.code.name, e.message)
        }
    }
}

/// The daemon: HTTP/1.1 on a Unix socket and/or TCP, the native JSON API under `/v1`, the
/// Solr-compatible routes under `/solr/<core>/` for Dovecot, `/health` and `/metrics`, and
/// the indexing workers. SIGTERM / SIGINT stop accepting, finish requests, stop the workers
/// after their batch (what is queued stays durable for the next start) and exit.
public final class MailsiftServer: Sendable {
    public let configuration: ServerConfiguration
    let registry: UserRegistry
    let indexer: Indexer
    let metrics = ServerMetrics()
    let pool: NIOThreadPool
    /// Adds and changes run apart from searches: a burst of slow searches never holds them up.
    let writePool = NIOThreadPool(numberOfThreads: 2)
    let logger: Logger
    private let searchesInFlight = Atomic<Int>(0)

    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "mailsift")) {
        self.configuration = configuration
        self.logger = logger
        registry = UserRegistry(dataRoot: configuration.dataRoot, capacity: configuration.openUsers, ramBudget: configuration.ramBudget)
        indexer = Indexer(registry: registry, workers: configuration.indexWorkers, batch: configuration.indexBatch,
                          commitDelay: configuration.commitDelay, indexNice: configuration.indexNice, metrics: metrics, logger: logger)
        pool = NIOThreadPool(numberOfThreads: max(1, configuration.searchThreads))
    }

    /// Makes NIO's event loop threads Swift Concurrency's global executor: a request's handler
    /// then runs on the thread that read it, and its answer is written from there (without
    /// it, each request went from the event loop to Swift's pool and back). Call once, first
    /// thing in the process: `mailsift serve` does.
    public static func runTasksOnEventLoops() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() async throws {
        if let token = configuration.token, token.isEmpty { throw MailsiftError(.invalidInput, "the token file is empty") }
        let tcp = try configuration.listen.map { (l) throws(MailsiftError) in try Self.hostPort(l) }
        if let (host, _) = tcp {
            let loopback = host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
            if configuration.token == nil && !(loopback && configuration.insecureLoopback) {
                throw MailsiftError(.invalidInput, "TCP needs --token-file (or --insecure-loopback on a loopback address)")
            }
        }
        guard configuration.socketPath != nil || configuration.listen != nil else {
            throw MailsiftError(.invalidInput, "nothing to listen on: give --socket or --listen")
        }
        try FileManager.default.createDirectory(atPath: configuration.dataRoot, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        pool.start()
        writePool.start()
        try indexer.start()
        var services: [any Service] = []
        if let path = configuration.socketPath {
            // A socket left by a previous run (bind would fail on it).
            var st = stat()
            if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
            let app = Application(router: makeRouter(authenticate: false), server: Self.http1,
                                  configuration: .init(address: .unixDomainSocket(path: path), serverName: "mailsift"),
                                  onServerRunning: { _ in chmod(path, 0o660) }, logger: logger)
            services.append(app)
        }
        if let (host, port) = tcp {
            let app = Application(router: makeRouter(authenticate: configuration.token != nil), server: Self.http1,
                                  configuration: .init(address: .hostname(host, port: port), serverName: "mailsift"), logger: logger)
            services.append(app)
        }
        services.append(IndexerService(indexer: indexer, registry: registry))
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("mailsift serve", metadata: ["data": "\(configuration.dataRoot)", "socket": "\(configuration.socketPath ?? "-")",
                                                 "listen": "\(configuration.listen ?? "-")"])
        try await group.run()
        try await pool.shutdownGracefully()
        try await writePool.shutdownGracefully()
    }

    /// HTTP/1.1 with `Expect: 100-continue` answered, idle connections closed after 60 s.
    static var http1: HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()], idleTimeout: .seconds(60)))
    }

    static func hostPort(_ s: String) throws(MailsiftError) -> (String, Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw MailsiftError(.invalidInput, "--listen wants HOST:PORT, got \(s)")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    // MARK: - Routing

    func makeRouter(authenticate: Bool) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics, logger: logger))
        if authenticate, let token = configuration.token { router.add(middleware: TokenMiddleware(token: token)) }
        router.get("/health") { _, _ in
            let body = "{\"status\":\"ok\",\"openUsers\":\(self.registry.openCount),\"indexing\":\(self.indexer.pendingUsers)}"
            return Self.json(body)
        }
        router.get("/metrics") { _, _ in
            self.updateGauges()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
        let v1 = router.group("v1/users/:user")
        v1.post("messages") { request, context in try await self.add(request, context) }
        v1.put("messages") { request, context in try await self.addRaw(request, context) }
        v1.post("expunge") { request, context in try await self.expunge(request, context) }
        v1.post("flags") { request, context in try await self.flags(request, context) }
        v1.post("mailboxes/rename") { request, context in try await self.renameMailbox(request, context) }
        v1.post("mailboxes/delete") { request, context in try await self.deleteMailbox(request, context) }
        v1.post("search") { request, context in try await self.search(request, context) }
        v1.get("search") { request, context in try await self.searchGet(request, context) }
        v1.get("status") { request, context in try await self.status(request, context) }
        v1.delete("") { request, context in try await self.deleteUser(request, context) }
        v1.post("release") { _, context in
            // An external writer (mailsift reindex, export, repair) wants this user: the daemon
            // closes its index once requests in flight finish, unless messages are queued.
            let user = try self.user(context)
            guard self.registry.release(user) else {
                throw APIError(.conflict, "queue_not_empty", "messages are queued for \(user): retry once they are indexed")
            }
            return Self.json("{\"released\":true}")
        }
        v1.post("reopen") { _, context in
            // The external writer is done with a user it had released: requests open it again
            // at once (else only once the writer's lock has been seen taken and let go, or the
            // hold of `UserRegistry.holdTime` is over).
            let user = try self.user(context)
            self.registry.endHold(user)
            return Self.json("{\"reopened\":true}")
        }
        let solr = router.group("solr/:core")
        solr.get("select") { request, context in try await self.solrSelect(request, context) }
        solr.post("update") { request, context in try await self.solrUpdate(request, context) }
        return router
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        if let fast = value as? FastJSONEncodable {
            var out = JSONOutput()
            fast.write(to: &out)
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out.bytes)))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Request bodies up to this size are parsed on the event loop; larger ones (batches of
    /// messages) on the write pool, so a 64 MB batch never holds up the loop's other requests.
    static let inlineParseBytes = 256 << 10

    func decode<T: Decodable & Sendable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let buffer = try await body(&request)
        return try await blocking(write: true, inline: buffer.readableBytes <= Self.inlineParseBytes) {
            do { return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)) } catch {
                throw APIError(.badRequest, "invalid_json", "the request body is not the JSON this route takes: \(error)")
            }
        }
    }

    func body(_ request: inout Request) async throws -> ByteBuffer {
        do { return try await request.collectBody(upTo: configuration.maxBodyBytes) } catch {
            throw APIError(.contentTooLarge, "too_large", "the request body is larger than \(configuration.maxBodyBytes) bytes")
        }
    }

    func user(_ context: BasicRequestContext) throws -> String {
        guard let raw = context.parameters.get("user") else { throw APIError(.badRequest, "invalid_input", "no user") }
        let user = raw.removingPercentEncoding ?? raw
        do { try UserDirectory.validate(user) } catch { throw APIError.from(error) }
        return user
    }

    /// Runs blocking work (SQLite, index files, queries) on a worker pool (searches' unless
    /// `write`), not on an event loop; `inline`: here, for the short searches that would
    /// spend more on the hand-offs than on the work.
    func blocking<T: Sendable>(write: Bool = false, inline: Bool = false, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            if inline { return try body() }
            return try await (write ? writePool : pool).runIfActive(body)
        } catch let e as MailsiftError {
            throw APIError.from(e)
        } catch let e as QueryError {
            throw APIError(.badRequest, "invalid_query", e.description)
        }
    }

    /// The user's index for a search: at once when open, else opened on the worker pool.
    func searchIndex(_ user: String) async throws -> LiveIndex {
        if let open = registry.openIndex(user) { return open }
        return try await blocking { try self.registry.index(user, create: false) }
    }

    func updateGauges() {
        let open = registry.all()
        metrics.openUsers.set(Double(open.count))
        metrics.queueDepth.set(Double(open.reduce(0) { $0 + $1.queuedCount }))
        metrics.segments.set(Double(open.reduce(0) { $0 + ($1.snapshot().segments.count) }))
        metrics.busySearches.set(Double(searchesInFlight.load(ordering: .relaxed)))
    }

    // MARK: - Native API

    func accept(_ user: String, _ messages: [IncomingMessage]) async throws -> [Int64] {
        let index = try await blocking(write: true) { try self.registry.index(user, create: true) }
        if index.queuedCount + messages.count > configuration.maxQueuedPerUser {
            throw APIError(.tooManyRequests, "queue_full", "\(index.queuedCount) messages are waiting to be indexed for this user; retry later")
        }
        let ids = try await blocking(write: true) {
            self.indexer.markQueued(user, index.directory)
            return try index.accept(messages)
        }
        indexer.schedule(user)
        return ids
    }

    func add(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let body = try await decode(AddRequest.self, request)
        var messages: [IncomingMessage] = []
        for m in body.messages {
            guard let raw = Data(base64Encoded: m.raw, options: .ignoreUnknownCharacters) else {
                throw APIError(.badRequest, "invalid_input", "uid \(m.uid): raw is not base64")
            }
            guard m.mailbox != nil || m.mailboxGuid != nil else { throw APIError(.badRequest, "invalid_input", "uid \(m.uid): no mailbox") }
            messages.append(IncomingMessage(mailbox: m.mailbox, mailboxGUID: m.mailboxGuid, uidValidity: m.uidValidity, uid: m.uid,
                                            internalDate: m.internalDate ?? Int64(Date().timeIntervalSince1970),
                                            flags: try Self.flags(m.flags ?? []), keywords: m.keywords ?? [], content: .raw([UInt8](raw))))
        }
        let ids = try await accept(user, messages)
        return try Self.json(AddResponse(accepted: ids.count, docids: ids), status: .accepted)
    }

    /// `PUT /v1/users/{user}/messages?mailbox=INBOX&uid=5[&internalDate=…][&flags=seen,flagged]`: the body is the message.
    func addRaw(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let q = request.uri.queryParameters
        let mailbox = q.get("mailbox"), guid = q.get("mailboxGuid")
        guard mailbox != nil || guid != nil else { throw APIError(.badRequest, "invalid_input", "mailbox or mailboxGuid is required") }
        guard let uid = q.get("uid").flatMap({ Int64($0) }) else { throw APIError(.badRequest, "invalid_input", "uid is required") }
        var request = request
        let buffer = try await body(&request)
        let flags = try Self.flags(q.get("flags").map { $0.split(separator: ",").map(String.init) } ?? [])
        let keywords = q.get("keywords").map { $0.split(separator: ",").map(String.init) } ?? []
        let message = IncomingMessage(mailbox: mailbox, mailboxGUID: guid, uidValidity: q.get("uidValidity").flatMap { Int64($0) }, uid: uid,
                                      internalDate: q.get("internalDate").flatMap { Int64($0) } ?? Int64(Date().timeIntervalSince1970),
                                      flags: flags, keywords: keywords, content: .raw(Array(buffer.readableBytesView)))
        let ids = try await accept(user, [message])
        return try Self.json(AddResponse(accepted: ids.count, docids: ids), status: .accepted)
    }

    static func flags(_ names: [String]) throws -> MessageFlags {
        var f = MessageFlags()
        for n in names {
            switch n.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "\\")) {
            case "seen": f.insert(.seen)
            case "answered": f.insert(.answered)
            case "flagged": f.insert(.flagged)
            case "deleted": f.insert(.deleted)
            case "draft": f.insert(.draft)
            case "recent": f.insert(.recent)
            default: throw APIError(.badRequest, "invalid_input", "unknown flag \(n) (keywords go in keywords)")
            }
        }
        return f
    }

    static func uidSet(_ text: String) throws -> SequenceSet {
        do {
            guard case .uids(let set) = try IMAPSearchParser.parse("UID " + text).criteria else { throw QueryError("not a UID set", at: 0) }
            return set
        } catch {
            throw APIError(.badRequest, "invalid_input", "uids: not an IMAP UID set (1:5,9,20:*): \(text)")
        }
    }

    func mailboxID(_ index: LiveIndex, name: String?, guid: String?) throws -> Int64 {
        guard name != nil || guid != nil else { throw APIError(.badRequest, "invalid_input", "mailbox or mailboxGuid is required") }
        guard let id = try index.catalog.existingMailbox(name: name, guid: guid) else {
            throw APIError(.notFound, "not_found", "no mailbox \(name ?? guid ?? "")")
        }
        return id
    }

    /// The user's open index, a mailbox of it, and a test of UIDs against a UID set (`*`
    /// being the mailbox's highest UID).
    func uidTarget(_ user: String, _ name: String?, _ guid: String?, _ set: SequenceSet) throws -> (LiveIndex, Int64, (Int64) -> Bool) {
        let index = try registry.index(user, create: false)
        let box = try mailboxID(index, name: name, guid: guid)
        let largest = UInt32(clamping: try index.catalog.highestUID(mailbox: box))
        return (index, box, { set.contains(UInt32(clamping: $0), largest: largest) })
    }

    func expunge(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let body = try await decode(ExpungeRequest.self, request)
        let set = try Self.uidSet(body.uids)
        let n = try await blocking(write: true) {
            let (index, box, matches) = try self.uidTarget(user, body.mailbox, body.mailboxGuid, set)
            return try index.expunge(mailbox: box, where: matches)
        }
        return try Self.json(CountResponse(count: n))
    }

    func flags(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let body = try await decode(FlagsRequest.self, request)
        let set = try Self.uidSet(body.uids)
        let flags = try Self.flags(body.flags ?? [])
        guard let mode = FlagMode(rawValue: body.mode ?? "add") else { throw APIError(.badRequest, "invalid_input", "mode: set, add or remove") }
        let n = try await blocking(write: true) {
            let (index, box, matches) = try self.uidTarget(user, body.mailbox, body.mailboxGuid, set)
            return try index.changeFlags(mailbox: box, where: matches, flags: flags, keywords: body.keywords ?? [], mode: mode)
        }
        return try Self.json(CountResponse(count: n))
    }

    func renameMailbox(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let body = try await decode(MailboxRenameRequest.self, request)
        guard !body.to.isEmpty, body.to.utf8.count <= 1024 else { throw APIError(.badRequest, "invalid_input", "to: 1-1024 bytes") }
        try await blocking(write: true) {
            let index = try self.registry.index(user, create: false)
            try index.catalog.renameMailbox(try self.mailboxID(index, name: body.mailbox, guid: body.mailboxGuid), to: body.to)
        }
        return try Self.json(CountResponse(count: 1))
    }

    func deleteMailbox(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let body = try await decode(MailboxDeleteRequest.self, request)
        let n = try await blocking(write: true) {
            let index = try self.registry.index(user, create: false)
            return try index.deleteMailbox(try self.mailboxID(index, name: body.mailbox, guid: body.mailboxGuid))
        }
        return try Self.json(CountResponse(count: n))
    }

    func deleteUser(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        try await blocking(write: true) {
            let dir = try UserDirectory(dataRoot: self.configuration.dataRoot, user: user)
            guard dir.exists else { throw MailsiftError(.notFound, "no index for user \(user)") }
            // Through the open index: it waits for indexing in progress and refuses later work.
            let index = try self.registry.index(user, create: false)
            self.registry.forget(user)
            try index.remove()
            self.indexer.unmark(dir)
        }
        return try Self.json(CountResponse(count: 1))
    }

    func status(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let response = try await blocking {
            let index = try self.registry.index(user, create: false)
            let boxes = try index.catalog.mailboxStatuses()
            let snapshot = index.snapshot()
            return StatusResponse(user: user, messages: boxes.reduce(0) { $0 + $1.messages }, queued: index.queuedCount,
                                  segments: snapshot.manifest.segments.count,
                                  mailboxes: boxes.map { .init(name: $0.name, guid: $0.guid, uidValidity: $0.uidValidity, messages: $0.messages,
                                                               highestUid: $0.highestUID) })
        }
        return try Self.json(response)
    }

    /// Counts a search in flight; over the limit the request gets 429 at once.
    func searchSlot<T>(_ body: () async throws -> T) async throws -> T {
        let now = searchesInFlight.wrappingAdd(1, ordering: .relaxed).newValue
        defer { searchesInFlight.wrappingSubtract(1, ordering: .relaxed) }
        if now > configuration.maxConcurrentSearches {
            throw APIError(.tooManyRequests, "busy", "more than \(configuration.maxConcurrentSearches) searches are running; retry")
        }
        return try await body()
    }

    func searchOptions(mailboxes: [String]?) -> SearchOptions {
        var o = SearchOptions(mailboxes: mailboxes)
        o.limits.timeBudget = configuration.queryTimeBudget
        return o
    }

    func search(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        return try await search(user, try await decode(SearchRequest.self, request))
    }

    /// `GET /v1/users/{user}/search?query=…` (or `imap=…&mailbox=…`): the search of the POST
    /// form, its fields as query parameters (`mailboxes` comma-separated; `snippets`
    /// true/false), for clients that send no body.
    func searchGet(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try user(context)
        let q = request.uri.queryParameters
        func int(_ name: String) throws -> Int? {
            guard let v = q.get(name) else { return nil }
            guard let n = Int(v) else { throw APIError(.badRequest, "invalid_input", "\(name) must be an integer") }
            return n
        }
        var body = SearchRequest()
        body.imap = q.get("imap")
        body.query = q.get("query") ?? q.get("q")
        body.mailbox = q.get("mailbox")
        body.mailboxes = q.get("mailboxes").map { $0.split(separator: ",").map(String.init) }
        body.sort = q.get("sort")
        body.offset = try int("offset")
        body.limit = try int("limit")
        if let v = q.get("snippets") {
            guard let b = Bool(v) else { throw APIError(.badRequest, "invalid_input", "snippets must be true or false") }
            body.snippets = b
        }
        return try await search(user, body)
    }

    func search(_ user: String, _ body: SearchRequest) async throws -> Response {
        try await searchSlot {
            if let imap = body.imap {
                let command: IMAPSearchCommand
                do { command = try IMAPSearchParser.parse(imap) } catch let e as QueryError { throw APIError(.badRequest, "invalid_query", e.description) }
                if let charset = command.charset, !["UTF-8", "US-ASCII"].contains(charset.uppercased()) {
                    throw APIError(.badRequest, "badcharset", "[BADCHARSET (UTF-8 US-ASCII)] charset \(charset) is not supported")
                }
                let index = try await searchIndex(user)
                // One mailbox: its UIDs. Several, or none named (all of the user's): the UIDs of
                // each, the criteria evaluated per mailbox (`*` and sequence numbers are).
                let single = body.mailbox
                let response: IMAPSearchResponse = try await blocking {
                    let engine = QueryEngine(reader: index.snapshot(), catalog: index.catalog)
                    // One time budget for the request, however many mailboxes it spans.
                    let started = ContinuousClock.now
                    func answer(_ mailbox: String) throws -> IMAPSearchResponse {
                        var options = self.searchOptions(mailboxes: [mailbox])
                        let left = options.limits.timeBudget - (ContinuousClock.now - started) / .seconds(1)
                        guard left > 0 else {
                            throw MailsiftError(.limitExceeded, "the search ran past its time budget of \(options.limits.timeBudget) s")
                        }
                        options.limits.timeBudget = left
                        if command.returnOptions.contains(.relevancy) {
                            let scored = try engine.uidsWithRelevancy(command.criteria, mailbox: mailbox, options: options)
                            return IMAPSearchResponse(uids: scored.map(\.uid),
                                                      esearch: IMAPSearchParser.esearchData(scored.map(\.uid), options: command.returnOptions,
                                                                                            relevancy: scored.map(\.relevancy)),
                                                      relevancy: scored.map(\.relevancy))
                        }
                        let uids = try engine.uids(command.criteria, mailbox: mailbox, options: options)
                        return IMAPSearchResponse(uids: uids,
                                                  esearch: command.returnOptions.isEmpty ? nil : IMAPSearchParser.esearchData(uids, options: command.returnOptions))
                    }
                    if let single { return try answer(single) }
                    let names = try body.mailboxes ?? index.catalog.mailboxStatuses().map(\.name)
                    var all = IMAPSearchResponse(uids: [], mailboxes: [])
                    if !command.returnOptions.contains(.relevancy) {
                        // Evaluated once for all the mailboxes when the criteria allow it.
                        let each = try engine.uidsByMailbox(command.criteria, mailboxes: names, options: self.searchOptions(mailboxes: names))
                        for (name, uids) in zip(names, each) {
                            var one = IMAPSearchResponse(uids: uids, esearch: command.returnOptions.isEmpty ? nil
                                                             : IMAPSearchParser.esearchData(uids, options: command.returnOptions))
                            one.mailbox = name
                            all.mailboxes?.append(one)
                        }
                        return all
                    }
                    for name in names {
                        var one = try answer(name)
                        one.mailbox = name
                        all.mailboxes?.append(one)
                    }
                    return all
                }
                return try Self.json(response)
            }
            guard let text = body.query else { throw APIError(.badRequest, "invalid_input", "give imap (with mailbox) or query") }
            let node: QueryNode
            do { node = try WebmailQueryParser.parse(text) } catch let e as QueryError { throw APIError(.badRequest, "invalid_query", e.description) }
            var options = searchOptions(mailboxes: body.mailboxes ?? body.mailbox.map { [$0] })
            if let s = body.sort {
                guard let sort = SearchSort(rawValue: s) else { throw APIError(.badRequest, "invalid_input", "sort: relevance, newest, oldest or uid") }
                options.sort = sort
            }
            options.offset = max(0, body.offset ?? 0)
            options.limit = min(max(0, body.limit ?? 50), 10_000)
            options.snippets = body.snippets ?? true
            options.sourcePaths = false
            let frozen = options
            // A word query on an open index costs about what the two hops to a search thread
            // and back would: it runs here, on the event loop (anything else goes to the pool).
            let inline = configuration.inlineWordSearches && !options.snippets && node.isWordLookup ? registry.openIndex(user) : nil
            let index: LiveIndex
            if let inline { index = inline } else { index = try await searchIndex(user) }
            let response = try await blocking(inline: inline != nil) {
                let results = try QueryEngine(reader: index.snapshot(), catalog: index.catalog).search(node, options: frozen)
                return WebmailSearchResponse(total: results.total, hits: results.hits.map { h in
                    .init(mailbox: h.mailbox, uid: h.uid, internalDate: h.internalDate, date: h.sentDate, size: h.size, from: h.from,
                          subject: h.subject, score: h.score,
                          snippet: h.snippet.map { .init(field: $0.field, text: $0.text, marked: $0.marked,
                                                         highlights: $0.highlights.map { [$0.lowerBound, $0.upperBound] }) })
                })
            }
            return try Self.json(response)
        }
    }
}

/// Stops the indexing workers when the service group shuts down (after the HTTP servers).
struct IndexerService: Service {
    let indexer: Indexer
    let registry: UserRegistry

    func run() async throws {
        try? await gracefulShutdown()
        indexer.stop()
    }
}

/// Renders errors as JSON (Solr routes: Solr's XML) and counts requests by route and status.
struct ErrorAndMetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = Self.routeName(request.uri.path)
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let e: APIError
            switch error {
            case let a as APIError: e = a
            case let m as MailsiftError: e = APIError.from(m)
            case let h as HTTPError: e = APIError(h.status, "http", h.body ?? "\(h.status)")
            default: e = APIError(.internalServerError, "internal", "\(error)")
            }
            if e.status.code >= 500 {
                metrics.error("http")
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            if route.hasPrefix("solr") {
                response = Response(status: e.status, headers: [.contentType: "application/xml; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: SolrProtocol.errorResponse(code: e.status.code, message: e.message))))
            } else {
                response = (try? MailsiftServer.json(ErrorResponse(error: .init(code: e.code, message: e.message)), status: e.status))
                    ?? MailsiftServer.json("{}", status: e.status)
            }
        }
        metrics.request(route: route, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }

    /// A route's name for metrics, without user names or cores: one of the routes' names, else
    /// "other" (a name per path would let any request, even one refused, add metrics).
    static func routeName(_ path: String) -> String {
        let parts = path.split(separator: "/")
        let name: String
        if parts.first == "v1", parts.count >= 4 { name = "v1_" + parts[3...].joined(separator: "_") }
        else if parts.first == "v1", parts.count == 3 { name = "v1_user" }
        else if parts.first == "solr", parts.count >= 3 { name = "solr_" + parts[2] }
        else { name = parts.first.map(String.init) ?? "" }
        return routeNames.contains(name) ? name : "other"
    }

    static let routeNames: Set<String> = ["health", "metrics", "v1_user", "v1_messages", "v1_expunge", "v1_flags", "v1_mailboxes_rename",
                                           "v1_mailboxes_delete", "v1_search", "v1_status", "v1_release", "v1_reopen", "solr_select", "solr_update"]
}

/// TCP clients must present the token: `Authorization: Bearer <token>`, or HTTP Basic with the
/// token as password (what Dovecot sends for `http://user:token@host/...`).
struct TokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let auth = request.headers[.authorization] else { throw APIError(.unauthorized, "unauthorized", "a bearer token is required") }
        var presented: String?
        if auth.lowercased().hasPrefix("bearer ") {
            presented = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if auth.lowercased().hasPrefix("basic "), let data = Data(base64Encoded: String(auth.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") {
            presented = String(text[text.index(after: colon)...])
        }
        guard let presented, Self.constantTimeEqual(Array(presented.utf8), Array(token.utf8)) else {
            throw APIError(.unauthorized, "unauthorized", "the token does not match")
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}
