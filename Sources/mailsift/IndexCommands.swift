import ArgumentParser
import Catalog
import Foundation
import IndexEngine
import Ingest
import MIME
import MailsiftCore
import Query

/// Options every index command shares.
struct IndexOptions: ParsableArguments {
    @Option(help: "Data directory holding the user indexes (default: $MAILSIFT_DATA).")
    var data: String?

    @Option(help: "The user whose index to use.")
    var user: String

    var dataRoot: String {
        data ?? ProcessInfo.processInfo.environment["MAILSIFT_DATA"] ?? ""
    }

    func validate() throws {
        if dataRoot.isEmpty { throw ValidationError("give --data DIR or set MAILSIFT_DATA") }
    }

    func directory() throws -> UserDirectory { try UserDirectory(dataRoot: dataRoot, user: user) }
}

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index mail from Maildirs, message trees, mbox and .eml files into a user's index.",
        discussion: "Incremental: a rerun indexes only new and changed messages and removes vanished ones."
    )

    @OptionGroup var options: IndexOptions

    @Argument(help: "Maildir, directory of message files, mbox file or .eml file.")
    var sources: [String]

    @Option(help: "Writer RAM budget in MiB (with several threads a buffer is flushed at half of it, while the next one fills).")
    var ramBudget = 1024

    @Flag(name: .customLong("no-extract"), help: "Do not extract text from attachments.")
    var noExtract = false

    @Flag(help: "Merge the index into one segment afterwards (after a bulk import).")
    var compact = false

    @Option(help: "Threads that parse and analyze messages (default: one per core); the same documents and matches with any number.")
    var threads = availableCores

    func validate() throws {
        if sources.isEmpty { throw ValidationError("give at least one source") }
        if ramBudget < 1 || ramBudget > 1 << 20 { throw ValidationError("--ram-budget is in MiB, 1 or more") }
        if threads < 1 || threads > 64 { throw ValidationError("--threads is 1 to 64") }
    }

    func run() throws {
        IndexWriter.padHeaps(32 << 20)
        let indexer = try UserIndexer(dataRoot: options.dataRoot, user: options.user, ramBudget: ramBudget << 20,
                                      extractAttachments: !noExtract, threads: threads)
        let r = try indexer.index(sources, merge: !compact)
        print(String(format: "indexed %d messages (%.1f MB) in %.2f s: %.0f msg/s; %d unchanged, %d removed, %d unreadable",
                     r.added, Double(r.bytes) / 1e6, r.seconds, r.messagesPerSecond, r.unchanged, r.removed, r.failed))
        if compact {
            let start = ContinuousClock.now
            try indexer.compact()
            print("compacted into one segment in \(ContinuousClock.now - start)")
        }
    }
}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a user's index: a webmail query (from:anna invoice \"a phrase\" after:2024/01/01), or IMAP SEARCH criteria with --imap.",
        discussion: "docs/queries.md describes both languages. With --imap the criteria are RFC 9051 search keys (FROM \"anna\" SINCE 1-Feb-2024 NOT SEEN); text keys match as case-insensitive substrings, exactly; RETURN (MIN MAX COUNT ALL) prints ESEARCH data."
    )

    @OptionGroup var options: IndexOptions

    @Argument(help: "The query.")
    var query: [String]

    @Flag(help: "The query is IMAP SEARCH criteria (what follows SEARCH).")
    var imap = false

    @Option(name: .customLong("mailbox"), help: "Only these mailboxes (repeat for several; default all).")
    var mailboxes: [String] = []

    @Option(help: "Order: relevance, newest, oldest, uid (default: relevance, uid with --imap).")
    var sort: String?

    @Option(help: "Skip this many results.")
    var offset = 0

    @Option(help: "At most this many results.")
    var limit = 50

    @Flag(help: "One JSON object per hit.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "A passage with the matching words for each hit.")
    var snippets = true

    @Option(help: "Run the query this many times in process and print the median time (for measuring).")
    var repeatCount: Int?

    @Flag(help: ArgumentHelp("With --repeat-count: rank by scoring every match (no pruning), to compare.", visibility: .hidden))
    var exhaustive = false

    func run() throws {
        let dir = try options.directory()
        guard dir.exists else { throw ValidationError("no index for user \(options.user) under \(options.dataRoot)") }
        let catalog = try Catalog(path: dir.catalogPath)
        // One search: the files' framing is checked, not every byte summed (that is what
        // `mailsift verify` does; on a 100 MB index, summing was most of a search's time).
        let engine = QueryEngine(reader: try IndexReader(directory: dir, verifyChecksums: false), catalog: catalog)
        defer {
            if let n = repeatCount, n > 0, let node = try? (imap ? IMAPSearchParser.parse(query.joined(separator: " ")).criteria : WebmailQueryParser.parse(query.joined(separator: " "))) {
                var times: [Duration] = []
                var o = SearchOptions(mailboxes: mailboxes.isEmpty ? nil : mailboxes)
                o.limit = limit
                o.snippets = snippets
                o.sourcePaths = false  // as the daemon searches (its hits carry no source path)
                o.exhaustiveRanking = exhaustive
                for _ in 0..<n {
                    let start = ContinuousClock.now
                    _ = try? engine.search(node, options: o)
                    times.append(ContinuousClock.now - start)
                }
                times.sort()
                print("# median \(times[times.count / 2]) over \(n) runs (p90 \(times[times.count * 9 / 10]))")
            }
        }
        let text = query.joined(separator: " ")
        var searchOptions = SearchOptions(mailboxes: mailboxes.isEmpty ? nil : mailboxes)
        searchOptions.offset = offset
        searchOptions.limit = limit
        searchOptions.snippets = snippets
        let node: QueryNode
        var returnOptions: [ESearchReturn] = []
        do {
            if imap {
                let command = try IMAPSearchParser.parse(text)
                if let charset = command.charset, !["UTF-8", "US-ASCII"].contains(charset.uppercased()) {
                    throw ValidationError("BAD [BADCHARSET (UTF-8 US-ASCII)] charset \(charset) is not supported")
                }
                node = command.criteria
                returnOptions = command.returnOptions
                searchOptions.sort = .uid
            } else {
                node = try WebmailQueryParser.parse(text)
            }
        } catch let e as QueryError {
            throw ValidationError("BAD query: \(e.message) at byte \(e.offset)")
        }
        if let sort {
            guard let s = SearchSort(rawValue: sort) else { throw ValidationError("--sort: relevance, newest, oldest or uid") }
            searchOptions.sort = s
        }
        if imap, !returnOptions.isEmpty || !json {
            // IMAP answers: UIDs of one mailbox (SEARCH / ESEARCH data).
            guard mailboxes.count == 1 else { throw ValidationError("--imap without --json needs exactly one --mailbox (UIDs are per mailbox)") }
            if returnOptions.contains(.relevancy) {
                let scored = try engine.uidsWithRelevancy(node, mailbox: mailboxes[0], options: searchOptions)
                print("* ESEARCH UID " + IMAPSearchParser.esearchData(scored.map(\.uid), options: returnOptions, relevancy: scored.map(\.relevancy)))
                return
            }
            let uids = try engine.uids(node, mailbox: mailboxes[0], options: searchOptions)
            if returnOptions.isEmpty {
                print("* SEARCH" + uids.map { " \($0)" }.joined())
            } else {
                print("* ESEARCH UID " + IMAPSearchParser.esearchData(uids, options: returnOptions))
            }
            return
        }
        let results = try engine.search(node, options: searchOptions)
        for h in results.hits {
            if json {
                var obj: [String: Any] = ["mailbox": h.mailbox, "uid": h.uid, "docid": h.docid, "from": h.from, "subject": h.subject,
                                          "internalDate": h.internalDate, "size": h.size, "score": h.score]
                if let p = h.path { obj["path"] = p }
                if let d = h.sentDate { obj["date"] = d }
                if let sn = h.snippet {
                    obj["snippet"] = ["field": sn.field, "text": sn.text, "marked": sn.marked,
                                      "highlights": sn.highlights.map { [$0.lowerBound, $0.upperBound] }]
                }
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(h.mailbox)\t\(h.uid)\t\(MailDate.utcTimestamp(h.sentDate ?? h.internalDate))\t\(h.from.prefix(40))\t\(h.subject.prefix(80))")
                if let sn = h.snippet, !sn.text.isEmpty {
                    // The passage with the matches in [brackets], on one line.
                    let bytes = Array(sn.text.utf8)
                    var line = "", at = 0
                    for r in sn.highlights where r.lowerBound >= at && r.upperBound <= bytes.count {
                        line += String(decoding: bytes[at..<r.lowerBound], as: UTF8.self) + "[" + String(decoding: bytes[r], as: UTF8.self) + "]"
                        at = r.upperBound
                    }
                    line += String(decoding: bytes[at...], as: UTF8.self)
                    print("    " + line.split(whereSeparator: \.isNewline).joined(separator: " "))
                }
            }
        }
        if !json { print("# \(results.hits.count) of \(results.total) hit\(results.total == 1 ? "" : "s")") }
    }
}

/// Options of the commands that take one user or, without --user, every user of the data directory.
struct UsersOptions: ParsableArguments {
    @Option(help: "Data directory holding the user indexes (default: $MAILSIFT_DATA).")
    var data: String?

    @Option(help: "Only this user (default: every user in the data directory).")
    var user: String?

    var dataRoot: String { data ?? ProcessInfo.processInfo.environment["MAILSIFT_DATA"] ?? "" }

    func validate() throws {
        if dataRoot.isEmpty { throw ValidationError("give --data DIR or set MAILSIFT_DATA") }
    }

    /// The users asked for, with their directories: one, or all (their names from each catalog).
    func users() throws -> [(name: String, directory: UserDirectory)] {
        if let user {
            let dir = try UserDirectory(dataRoot: dataRoot, user: user)
            guard dir.exists else { throw ValidationError("no index for user \(user) under \(dataRoot)") }
            return [(user, dir)]
        }
        var out: [(String, UserDirectory)] = []
        let fm = FileManager.default
        let base = dataRoot + "/users"
        for shard in ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted() {
            for hash in ((try? fm.contentsOfDirectory(atPath: base + "/" + shard)) ?? []).sorted() {
                let catalogPath = base + "/" + shard + "/" + hash + "/catalog.sqlite"
                guard fm.fileExists(atPath: catalogPath), let name = try? Catalog(path: catalogPath).meta("user"),
                      let dir = try? UserDirectory(dataRoot: dataRoot, user: name), dir.catalogPath == catalogPath else { continue }
                out.append((name, dir))
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Messages, mailboxes, segments and bytes per file kind, per user and in total.",
        discussion: "With --user and without --json, also the terms and postings of each field."
    )

    @OptionGroup var options: UsersOptions

    @Flag(help: "One JSON object: the users and the totals.")
    var json = false

    struct UserStats: Codable {
        var user: String
        var messages = 0
        var documents = 0
        var queued = 0
        var mailboxes = 0
        var segments = 0
        var generation: UInt64 = 0
        /// Seconds since 1970 of the last commit (the manifest's modification time).
        var lastCommit: Int64?
        var bytes: [String: Int] = [:]
        var error: String?
    }

    func run() throws {
        var rows: [UserStats] = []
        for (name, dir) in try options.users() {
            var st = UserStats(user: name)
            do {
                let catalog = try Catalog(path: dir.catalogPath)
                let reader = try IndexReader(directory: dir, verifyChecksums: false)  // counting, not checking (verify sums)
                st.messages = try catalog.messageCount()
                st.documents = reader.documentCount
                st.queued = (try? catalog.queueIndex().count) ?? 0
                st.mailboxes = try catalog.mailboxes().count
                st.segments = reader.segments.count
                st.generation = reader.manifest.generation
                let manifest = dir.segmentsPath + "/" + Manifest.fileName(reader.manifest.generation)
                var sb = stat()
                if stat(manifest, &sb) == 0 { st.lastCommit = Int64(sb.st_mtim.tv_sec) }
                for (segment, _) in reader.segments {
                    for (kind, bytes) in segment.fileBytes { st.bytes[kind, default: 0] += bytes }
                }
                st.bytes["catalog"] = (try? FileManager.default.attributesOfItem(atPath: dir.catalogPath)[.size] as? Int) ?? 0
                if options.user != nil, !json {
                    printDetails(name, st, reader)
                    return
                }
            } catch {
                st.error = "\(error)"
            }
            rows.append(st)
        }
        var total = UserStats(user: "(total)")
        for r in rows {
            total.messages += r.messages
            total.documents += r.documents
            total.queued += r.queued
            total.mailboxes += r.mailboxes
            total.segments += r.segments
            for (k, v) in r.bytes { total.bytes[k, default: 0] += v }
            total.lastCommit = max(total.lastCommit ?? 0, r.lastCommit ?? 0)
        }
        if json {
            struct Out: Encodable { var users: [UserStats]; var total: UserStats }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Out(users: rows, total: total)), as: UTF8.self))
            return
        }
        print("user\tmessages\tqueued\tmailboxes\tsegments\tindex bytes\tcatalog bytes\tlast commit")
        for r in rows + [total] {
            let index = r.bytes.filter { $0.key != "catalog" }.values.reduce(0, +)
            let when = r.lastCommit.map { MailDate.utcTimestamp(Int64($0)) } ?? "-"
            print("\(r.user)\t\(r.messages)\t\(r.queued)\t\(r.mailboxes)\t\(r.segments)\t\(index)\t\(r.bytes["catalog"] ?? 0)\t\(r.error.map { "error: \($0)" } ?? when)")
        }
    }

    func printDetails(_ name: String, _ st: UserStats, _ reader: IndexReader) {
        print("user: \(name)")
        print("generation: \(st.generation)")
        print("documents: \(st.documents) (catalog: \(st.messages), queued: \(st.queued))")
        print("mailboxes: \(st.mailboxes)")
        print("segments: \(st.segments)")
        for kind in SegmentFiles.kinds { print("  \(kind): \(st.bytes[kind, default: 0]) bytes") }
        print("fields: terms, postings, positions, docs bytes, positions bytes")
        var rows: [UInt8: SegmentReader.FieldStatistics] = [:]
        for (segment, _) in reader.segments {
            for (field, fs) in (try? segment.fieldStatistics()) ?? [:] { rows[field, default: .init()].add(fs) }
        }
        for field in Field.allCases {
            var r = rows[field.rawValue, default: .init()]
            r.add(rows[field.variantKeyByte, default: .init()])  // diacritic-folded variants
            print("  \(field.name): \(r.terms) terms, \(r.postings) postings, \(r.positions) positions, \(r.docsBytes) B docs, \(r.positionsBytes) B positions")
        }
        print("  catalog: \(st.bytes["catalog"] ?? 0) bytes")
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum, and that the catalog and the index agree (one user or all).",
        discussion: "Exit status 0 when everything checks, 1 when a user has a problem (each is listed)."
    )

    @OptionGroup var options: UsersOptions

    func run() throws {
        var failed = 0
        let users = try options.users()
        for (name, dir) in users {
            let problems = Self.check(dir)
            if problems.isEmpty { continue }
            failed += 1
            for p in problems { print("\(name): PROBLEM: \(p)") }
        }
        if failed > 0 {
            print("\(failed) of \(users.count) users have problems (mailsift repair --user U rebuilds from the mail files)")
            throw ExitCode(1)
        }
        if users.count == 1, let (_, dir) = users.first, let reader = try? IndexReader(directory: dir) {
            print("OK: generation \(reader.manifest.generation), \(reader.segments.count) segments, \(reader.documentCount) documents, checksums verified")
        } else {
            print("OK: \(users.count) users, checksums verified, catalogs and indexes agree")
        }
    }

    /// What is wrong with a user's index (empty: nothing).
    static func check(_ dir: UserDirectory) -> [String] {
        var problems: [String] = []
        let catalog: Catalog
        do { catalog = try Catalog(path: dir.catalogPath) } catch { return ["catalog: \(error)"] }
        problems += ((try? catalog.integrityCheck()) ?? ["integrity check failed"]).map { "catalog: \($0)" }
        let reader: IndexReader
        do { reader = try IndexReader(directory: dir) } catch { return problems + ["index: \(error)"] }
        do { return problems + (try IndexAgreement(catalog: catalog, reader: reader)).problems } catch {
            return problems + ["index: \(error)"]
        }
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge a user's index into one segment, dropping deleted documents."
    )

    @OptionGroup var options: IndexOptions

    func run() throws {
        let dir = try options.directory()
        guard dir.exists else { throw ValidationError("no index for user \(options.user) under \(options.dataRoot)") }
        IndexWriter.padHeaps(32 << 20)
        let writer = try IndexWriter(directory: dir)
        let before = writer.manifest.segments.count
        let start = ContinuousClock.now
        try writer.forceMerge(maxSegments: 1)
        print("compacted \(before) segment\(before == 1 ? "" : "s") into \(writer.manifest.segments.count) in \(ContinuousClock.now - start)")
    }
}

