import Analysis
import Catalog
import Foundation
import IndexEngine
import IndexFormat
import Ingest
import MailsiftCore
import MIME
import Query
import Server

/// The fuzz targets (tools/fuzz/README.md): each takes any bytes and drives one parser or
/// reader the way mail, a query, a request or a damaged file would. A target returns normally
/// for every input (errors are answers); a trap, a sanitizer report, a hang or a leak is a
/// finding. Invariants that must hold for every input are checked with `check`, which traps.
public enum FuzzTargets {
    public static let names = ["message", "document", "charset", "html", "attachment", "analysis", "imap", "webmail", "solr",
                               "search", "http", "segment", "catalog", "archive"]

    /// Runs target `name` on `data`; false for an unknown name.
    @discardableResult
    public static func run(_ name: String, _ data: [UInt8]) -> Bool {
        switch name {
        case "message": message(data)
        case "document": document(data)
        case "charset": charset(data)
        case "html": html(data)
        case "attachment": attachment(data)
        case "analysis": analysis(data)
        case "imap": imap(data)
        case "webmail": webmail(data)
        case "solr": solr(data)
        case "search": search(data)
        case "http": http(data)
        case "segment": segment(data)
        case "catalog": catalog(data)
        case "archive": archive(data)
        default: return false
        }
        return true
    }

    /// Builds what target `name` shares across inputs (before fuzzing starts).
    public static func prepare(_ name: String) {
        switch name {
        case "search", "catalog", "archive": _ = State.index
        case "segment": _ = State.segment
        case "http": _ = State.http
        case "document", "analysis": _ = State.analyzer.tokens("warm up")
        default: break
        }
    }

    /// An invariant every input must keep; a violation is a finding (the fuzzer keeps the input).
    static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { preconditionFailure("fuzz invariant: \(message())") }
    }

    /// Parser limits for fuzzing: as in production, except that PDFs are not handed to
    /// `pdftotext` (a process per input; its own limits are tested in ExtractionTests).
    static var limits: ParserLimits {
        var l = ParserLimits()
        l.timeBudgetSeconds = 10
        return l
    }

    // MARK: - Mail

    /// A whole message: MIME structure, headers, charsets, transfer encodings, attachments.
    static func message(_ data: [UInt8]) {
        let doc = MessageParser(limits: limits).parse(data)
        check(doc.body.count + doc.alternatives.count + doc.attachments.count <= 2 * limits.maxParts + 2, "more parts than the limit")
    }

    /// A message all the way to the engine's document (analysis, stored text, unindexed runs).
    static func document(_ data: [UInt8]) {
        let doc = MessageParser(limits: limits).parse(data)
        let built = DocumentBuilder.build(doc, id: 1, mailbox: 1, uid: 1, internalDate: 0, size: Int64(data.count), analyzer: State.analyzer)
        for field in built.fields {
            for i in 0..<field.terms.count { check(!field.terms.range(i).isEmpty, "an empty term in \(field.field)") }
        }
    }

    /// A charset label (the first line, at most 64 bytes) and bytes in it.
    static func charset(_ data: [UInt8]) {
        let newline = data.prefix(64).firstIndex(of: 0x0A) ?? 0
        let label = String(decoding: data[..<newline], as: UTF8.self)
        let bytes = Array(data[min(data.count, newline + 1)...])
        let (text, _) = Charset.decode(bytes, label: label.isEmpty ? nil : label)
        check(text.utf8.count <= 4 * bytes.count + 16, "decoding \(bytes.count) bytes gave \(text.utf8.count)")
        _ = Charset.normalizeLabel(label)
        _ = Charset.detect(bytes)
    }

    static func html(_ data: [UInt8]) {
        let (text, _) = HTMLText.toText(data, maxOutputBytes: 1 << 20)
        check(text.utf8.count <= (1 << 20) + 4, "HTML text past its limit: \(text.utf8.count)")
        _ = HTMLText.sniffCharset(data)
    }

    /// The first byte picks the type (every extractor but PDF's, which runs pdftotext).
    static let attachmentTypes = [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text", "application/rtf", "text/calendar", "application/ms-tnef",
    ]

    static func attachment(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let type = attachmentTypes[Int(first) % attachmentTypes.count]
        var limits = ExtractionLimits()
        limits.maxOutputBytes = 1 << 20
        limits.maxExpandedBytes = 16 << 20
        let result = AttachmentExtractor.extract(mediaType: type, filename: nil, data: Array(data.dropFirst()), limits: limits,
                                                 decodeCharset: { Charset.decode($0, label: $1).0 })
        check(result.text.utf8.count <= (1 << 20) + 4, "\(type): \(result.text.utf8.count) bytes of text past the limit")
        _ = AttachmentExtractor.tnefAttachments(Array(data.dropFirst()))
    }

    // MARK: - Text and queries

    static func analysis(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        let n = text.utf8.count
        for tokens in [State.analyzer.tokens(text), State.analyzer.queryTokens(text)] {
            for t in tokens {
                check(t.start >= 0 && t.start <= t.end && t.end <= n, "token range \(t.start)..<\(t.end) of \(n) bytes")
                check(!t.term.isEmpty, "an empty term")
            }
        }
    }

    static func imap(_ data: [UInt8]) {
        _ = try? IMAPSearchParser.parse(String(decoding: data, as: UTF8.self))
    }

    static func webmail(_ data: [UInt8]) {
        _ = try? WebmailQueryParser.parse(String(decoding: data, as: UTF8.self))
    }

    /// The first byte picks: a select query string, an update body, or a document id.
    static func solr(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let rest = Array(data.dropFirst())
        switch first % 3 {
        case 0:
            if let select = try? SolrSelect.parse(query: String(decoding: rest, as: UTF8.self)) { _ = try? select.query() }
        case 1:
            _ = try? SolrProtocol.parseUpdate(rest, maxDocuments: 1_000)
        default:
            _ = SolrDocument.parseID(String(decoding: rest, as: UTF8.self))
        }
    }

    /// A query (first byte even: webmail, odd: IMAP SEARCH) run on a small real index.
    static func search(_ data: [UInt8]) {
        guard let first = data.first, let engine = State.engine else { return }
        let text = String(decoding: data.dropFirst(), as: UTF8.self)
        var options = SearchOptions()
        options.limit = 20
        options.limits.timeBudget = 2
        if first % 2 == 0 {
            guard let node = try? WebmailQueryParser.parse(text) else { return }
            options.snippets = first % 4 == 0
            if let results = try? engine.search(node, options: options) {
                check(results.hits.count <= 20 && results.hits.count <= results.total, "\(results.hits.count) hits of \(results.total)")
            }
        } else {
            guard let command = try? IMAPSearchParser.parse(text) else { return }
            _ = try? engine.uids(command.criteria, mailbox: "INBOX", options: options)
        }
    }

    // MARK: - Requests and files

    /// A request through the daemon's router (see `HTTPBytes`); the token is `fuzz-token`.
    static func http(_ data: [UInt8]) {
        guard let server = State.http else { return }
        let status = server.respondBlocking(data)
        check(status == 0 || (100..<600).contains(status), "status \(status)")
    }

    /// A segment whose file `data[0] % 5` is replaced by the rest (checksums not checked, so
    /// the readers see the damage); `data[0] >= 250`: the rest as a manifest and deletions.
    static func segment(_ data: [UInt8]) {
        guard let first = data.first, let seed = State.segment else { return }
        let rest = Array(data.dropFirst())
        if first >= 250 {
            SegmentBytes.decodeManifestAndDeletions(rest)
            return
        }
        var files = seed.files
        files[Int(first) % files.count] = rest
        _ = try? SegmentBytes.exercise(files, documentCount: seed.documentCount)
    }

    /// Bytes as an `export` archive, read by `import` into a fresh directory: refused or read,
    /// and nothing written outside that directory.
    static func archive(_ data: [UInt8]) {
        let input = State.scratch + "/archive-in", out = State.scratch + "/archive-out"
        let into = out + "/user"
        try? FileManager.default.removeItem(atPath: out)
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: input, contents: Data(data)) else { return }
        _ = try? UserArchive.read(input, into: into)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        check(left.isEmpty || left == ["user"], "the archive wrote \(left) beside its directory")
        try? FileManager.default.removeItem(atPath: out)
    }

    /// Bytes as a user's catalog database: opened and read as `stats`, `verify` and searches do.
    static func catalog(_ data: [UInt8]) {
        let path = State.scratch + "/catalog-\(getpid()).sqlite"
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
        guard FileManager.default.createFile(atPath: path, contents: Data(data)) else { return }
        defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) } }
        guard let catalog = try? Catalog(path: path) else { return }
        _ = try? catalog.meta("user")
        _ = try? catalog.mailboxes()
        _ = try? catalog.mailboxNames()
        _ = try? catalog.messageCount()
        _ = try? catalog.messageStates()
        _ = try? catalog.liveDocids()
        _ = try? catalog.sources(under: "/")
        _ = try? catalog.messages([1, 2, 3, -1, Int64.max])
        _ = try? catalog.integrityCheck()
    }
}
