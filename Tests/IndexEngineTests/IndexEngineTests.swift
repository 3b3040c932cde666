import Catalog
import Foundation
import IndexEngine
import IndexFormat
import Ingest
import MailsiftCore
import Query
import Testing
import TestSupport

/// The index end to end: writing, committing, reading, searching, deleting, recovering.
@Suite struct IndexEngineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = root.appendingPathComponent("corpus/samples").path

    func tempData() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-index-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func search(_ data: String, _ user: String, _ q: String, mailbox: String? = nil) throws -> [SearchHit] {
        let dir = try UserDirectory(dataRoot: data, user: user)
        return try SimpleSearch(q).run(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath), mailbox: mailbox)
    }

    @Test func indexesSamplesAndFindsWordsPhrasesAndAddresses() throws {
        let data = tempData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let report = try UserIndexer(dataRoot: data, user: "anna@example.org").index([Self.samples])
        #expect(report.added == 9)
        #expect(try search(data, "anna@example.org", "Quartalsübersicht").map(\.subject) == ["Quartalsübersicht Q3"])
        #expect(try search(data, "anna@example.org", "quartalsubersicht").count == 1)  // accent-insensitive via folded terms
        #expect(try search(data, "anna@example.org", "会議").count == 1)
        #expect(try search(data, "anna@example.org", "\"maintenance window\"").count == 1)
        #expect(try search(data, "anna@example.org", "\"window maintenance\"").isEmpty)
        #expect(try search(data, "anna@example.org", "anna.rossi@example.org").count == 1)
        #expect(try search(data, "anna@example.org", "invoice march").count == 1)
        #expect(try search(data, "anna@example.org", "invoice nonexistentword").isEmpty)
        // Attachment names and text are searchable too.
        #expect(try search(data, "anna@example.org", "hosting").count == 1)
        // Hits carry mailbox, uid and source path.
        let hit = try #require(try search(data, "anna@example.org", "second").first)
        #expect(hit.mailbox == "08-two-messages")
        #expect(hit.path?.hasSuffix("08-two-messages.mbox#2") == true)
        // Users are separate.
        #expect(throws: (any Error).self) { _ = try search(data, "someone-else", "second") }
    }

    @Test func rerunIsIncrementalAndRemovesVanishedMail() throws {
        let data = tempData()
        let mail = tempData()
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: mail)
        }
        for name in ["01-latin1-qp.eml", "02-alternative-attachment.eml", "03-iso-2022-jp.eml"] {
            try FileManager.default.copyItem(atPath: Self.samples + "/" + name, toPath: mail + "/" + name)
        }
        let first = try UserIndexer(dataRoot: data, user: "u").index([mail])
        #expect(first.added == 3)
        let second = try UserIndexer(dataRoot: data, user: "u").index([mail])
        #expect(second.added == 0)
        #expect(second.unchanged == 3)
        try FileManager.default.removeItem(atPath: mail + "/03-iso-2022-jp.eml")
        try FileManager.default.copyItem(atPath: Self.samples + "/04-koi8r-raw-header.eml", toPath: mail + "/04.eml")
        let third = try UserIndexer(dataRoot: data, user: "u").index([mail])
        #expect(third.added == 1)
        #expect(third.removed == 1)
        #expect(try search(data, "u", "会議").isEmpty)
        #expect(try search(data, "u", "неделю").count == 1)
        let dir = try UserDirectory(dataRoot: data, user: "u")
        #expect(try IndexReader(directory: dir).documentCount == 3)
        #expect(try Catalog(path: dir.catalogPath).messageCount() == 3)
    }

    @Test func mergingKeepsEveryLiveDocumentAndDropsDeletedOnes() throws {
        let data = tempData()
        let mail = tempData()
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: mail)
        }
        let indexer = try UserIndexer(dataRoot: data, user: "u")
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.samples).sorted()
        for name in names {  // one commit, so one segment, per file
            try FileManager.default.copyItem(atPath: Self.samples + "/" + name, toPath: mail + "/" + name)
            _ = try indexer.index([mail])
        }
        let dir = try UserDirectory(dataRoot: data, user: "u")
        // Eight commits make eight small segments, which the tiered policy merges as the eighth lands.
        let afterPolicy = try IndexReader(directory: dir).segments.count
        #expect(afterPolicy >= 1 && afterPolicy < names.count)
        try FileManager.default.removeItem(atPath: mail + "/01-latin1-qp.eml")
        #expect(try indexer.index([mail]).removed == 1)
        try indexer.compact()
        let reader = try IndexReader(directory: dir)
        #expect(reader.segments.count == 1)
        #expect(reader.segments[0].deletions.deletedCount == 0)
        #expect(reader.documentCount == 8)
        #expect(try search(data, "u", "Quartalsübersicht").isEmpty)
        #expect(try search(data, "u", "\"maintenance window\"").count == 1)
        #expect(try search(data, "u", "会議").count == 1)
        #expect(try search(data, "u", "second").first?.mailbox == "08-two-messages")
        // Every term of every document survived with its postings: same hits as before merging.
        for q in ["invoice", "hosting", "неделю", "frank", "deployment", "first"] {
            #expect(try search(data, "u", q).count == 1, "\(q)")
        }
    }

    @Test func maildirFoldersFlagsAndInternalDates() throws {
        let data = tempData()
        let maildir = tempData()
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: maildir)
        }
        let fm = FileManager.default
        for dir in ["cur", "new", "tmp", ".Sent/cur", ".Lists.btrfs/new"] {
            try fm.createDirectory(atPath: maildir + "/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: Self.samples + "/01-latin1-qp.eml", toPath: maildir + "/cur/1700000001.M1P1.host:2,FS")
        try fm.copyItem(atPath: Self.samples + "/03-iso-2022-jp.eml", toPath: maildir + "/new/1700000002.M2P2.host")
        try fm.copyItem(atPath: Self.samples + "/05-flowed-forward.eml", toPath: maildir + "/.Sent/cur/1700000003.M3P3.host:2,S")
        try fm.copyItem(atPath: Self.samples + "/04-koi8r-raw-header.eml", toPath: maildir + "/.Lists.btrfs/new/1700000004.M4P4.host")
        try fm.copyItem(atPath: Self.samples + "/02-alternative-attachment.eml", toPath: maildir + "/tmp/1700000005.M5P5.host")  // in delivery
        try fm.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_600_000_000)],
                             ofItemAtPath: maildir + "/cur/1700000001.M1P1.host:2,FS")
        let report = try UserIndexer(dataRoot: data, user: "u").index([maildir])
        #expect(report.added == 4)
        let dir = try UserDirectory(dataRoot: data, user: "u")
        let catalog = try Catalog(path: dir.catalogPath)
        #expect(try catalog.mailboxes().map(\.name) == ["INBOX", "Lists/btrfs", "Sent"])
        let inbox = try #require(try search(data, "u", "Quartalsübersicht").first)
        #expect(inbox.mailbox == "INBOX")
        #expect(inbox.internalDate == 1_600_000_000)  // the file's modification time, as Dovecot reports
        #expect(try catalog.message(inbox.docid)?.flags == (MessageFlags.flagged.rawValue | MessageFlags.seen.rawValue))
        #expect(try search(data, "u", "deployment").first?.mailbox == "Sent")
        #expect(try search(data, "u", "неделю", mailbox: "Lists/btrfs").count == 1)
        #expect(try search(data, "u", "неделю", mailbox: "INBOX").isEmpty)
    }

    @Test func nonASCIIPathsAndFileSourcesStayIncremental() throws {
        let data = tempData()
        let base = tempData()
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: base)
        }
        let fm = FileManager.default
        let dir = base + "/zoë/Maildir"
        try fm.createDirectory(atPath: dir + "/cur", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.samples + "/01-latin1-qp.eml", toPath: dir + "/cur/1.host:2,S")
        try fm.copyItem(atPath: Self.samples + "/08-two-messages.mbox", toPath: base + "/inbox")
        try fm.copyItem(atPath: Self.samples + "/08-two-messages.mbox", toPath: base + "/inbox.old")
        let indexer = try UserIndexer(dataRoot: data, user: "u")
        #expect(try indexer.index([dir]).added == 1)
        #expect(try indexer.index([base + "/inbox"]).added == 2)
        #expect(try indexer.index([base + "/inbox.old"]).added == 2)
        // Reruns: nothing new, nothing removed, no duplicates (a non-ASCII path; a file source
        // does not claim its sibling "inbox.old").
        let again = try indexer.index([dir])
        #expect(again.added == 0 && again.removed == 0 && again.unchanged == 1)
        let mbox = try indexer.index([base + "/inbox"])
        #expect(mbox.added == 0 && mbox.removed == 0 && mbox.unchanged == 2)
        #expect(try IndexReader(directory: try UserDirectory(dataRoot: data, user: "u")).documentCount == 5)
    }

    @Test func anUnreadableNewestManifestIsAnErrorNotAFallback() throws {
        let data = tempData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        do {
            let indexer = try UserIndexer(dataRoot: data, user: "u")
            _ = try indexer.index([Self.samples + "/01-latin1-qp.eml"])
            _ = try indexer.index([Self.samples + "/03-iso-2022-jp.eml"])
        }  // the writer (and its lock) is gone
        let dir = try UserDirectory(dataRoot: data, user: "u")
        let newest = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.segmentsPath)
            .filter { $0.hasPrefix("manifest-") }.sorted().last)
        let path = dir.segmentsPath + "/" + newest
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: MailsiftError.self) { _ = try IndexReader(directory: dir) }
        // A writer refuses to start from an older generation (which would lose the newest commit).
        #expect(throws: MailsiftError.self) { _ = try UserIndexer(dataRoot: data, user: "u") }
        // The catalog is untouched: nothing was expunged by a fallback to an older generation.
        #expect(try Catalog(path: dir.catalogPath).messageCount() == 2)
    }

    @Test func secondWriterIsRefused() throws {
        let data = tempData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let dir = try UserDirectory(dataRoot: data, user: "u")
        let w = try IndexWriter(directory: dir)
        #expect(throws: MailsiftError.self) { _ = try IndexWriter(directory: dir) }
        _ = w
    }

    @Test func corruptionIsReportedWithTheFile() throws {
        let data = tempData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try UserIndexer(dataRoot: data, user: "u").index([Self.samples])
        let dir = try UserDirectory(dataRoot: data, user: "u")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.segmentsPath).filter { $0.hasPrefix("seg_") }
        #expect(files.count >= 5)
        for name in files {
            let path = dir.segmentsPath + "/" + name
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            var bad = original
            bad[bad.count / 2] ^= 0x5A
            try bad.write(to: URL(fileURLWithPath: path))
            let result = Result { () throws(MailsiftError) -> IndexReader in try IndexReader(directory: dir) }
            switch result {
            case .success: Issue.record("flipped byte in \(name) not detected")
            case .failure(let e):
                #expect(e.code == .corrupt)
                #expect(e.message.contains(name))
            }
            // Truncated.
            try original.prefix(original.count - 3).write(to: URL(fileURLWithPath: path))
            #expect(throws: MailsiftError.self) { _ = try IndexReader(directory: dir) }
            try original.write(to: URL(fileURLWithPath: path))
        }
        #expect(try IndexReader(directory: dir).documentCount == 9)
    }

    @Test func readersKeepTheirSnapshotWhileTheWriterCommits() throws {
        let data = tempData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let indexer = try UserIndexer(dataRoot: data, user: "u")
        _ = try indexer.index([Self.samples + "/01-latin1-qp.eml"])
        let dir = try UserDirectory(dataRoot: data, user: "u")
        let snapshot = try IndexReader(directory: dir)
        #expect(snapshot.documentCount == 1)
        _ = try indexer.index([Self.samples + "/02-alternative-attachment.eml"])
        _ = try indexer.index([Self.samples + "/03-iso-2022-jp.eml"])
        #expect(snapshot.documentCount == 1)
        #expect(try SimpleSearch("Quartalsübersicht").run(reader: snapshot, catalog: try Catalog(path: dir.catalogPath)).count == 1)
        #expect(try IndexReader(directory: dir).documentCount == 3)
    }
}

/// Readers search while one writer indexes, commits and merges: every search sees a
/// consistent snapshot (never an error, never fewer documents than an earlier snapshot).
@Suite struct ConcurrencyTests {
    @Test func readersSearchWhileTheWriterIndexesAndMerges() async throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("mailsift-concurrent-\(UUID().uuidString)").path
        let mail = base + "/mail"
        try fm.createDirectory(atPath: mail, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: base) }
        let samples = IndexEngineTests.samples
        let names = try fm.contentsOfDirectory(atPath: samples).filter { $0.hasSuffix(".eml") }.sorted()
        let indexer = try UserIndexer(dataRoot: base + "/data", user: "u", ramBudget: 1 << 20)
        _ = try indexer.index([mail])  // an empty first generation
        let dir = try UserDirectory(dataRoot: base + "/data", user: "u")
        let rounds = 24

        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    var searches = 0
                    var lastCount = 0
                    let catalog = try Catalog(path: dir.catalogPath)
                    while searches < 200 {
                        let reader = try IndexReader(directory: dir)
                        #expect(reader.documentCount >= lastCount)
                        lastCount = reader.documentCount
                        let hits = try SimpleSearch("\"maintenance window\"").run(reader: reader, catalog: catalog, limit: 1000)
                        #expect(hits.count <= reader.documentCount)
                        searches += 1
                    }
                    return searches
                }
            }
            // The writer runs here, in the parent task, while the readers run in the group.
            for round in 0..<rounds {
                for name in names { try FileManager.default.copyItem(atPath: "\(samples)/\(name)", toPath: "\(mail)/\(round)-\(name)") }
                _ = try indexer.index([mail])  // commits; the tiered policy merges every 8
                await Task.yield()
            }
            for try await _ in group {}
        }
        let final = try IndexReader(directory: dir)
        #expect(final.documentCount == rounds * names.count)
        #expect(final.segments.count < rounds)
    }
}

/// A one-field document for writer tests: body "word<id % 7> every", subject "doc <id>".
func smallDocument(_ id: Int64) -> IndexDocument {
    IndexDocument(id: id, fields: [IndexDocument.FieldTerms(field: .body, terms: [("word\(id % 7)", 0), ("every", 1)])],
                  stored: [(.subject, "doc \(id)")],
                  values: DocumentValues(id: id, internalDate: 0, sentDate: 0, size: 0, mailbox: 1, uid: id))
}

/// One writer kept open across commits, merges and deletes (as the daemon keeps it): deletes
/// by catalog id find documents wherever merges moved them.
@Suite struct WriterDeleteAcrossMergesTests {
    func doc(_ id: Int64) -> IndexDocument { smallDocument(id) }

    func liveIDs(_ dir: UserDirectory) throws -> Set<Int64> {
        var ids = Set<Int64>()
        for (segment, deletions) in try IndexReader(directory: dir).segments {
            for d in 0..<segment.documentCount where !deletions.isDeleted(d) { ids.insert(try segment.id(of: d)) }
        }
        return ids
    }

    @Test func deletesFindDocumentsMovedByMerges() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-wdel-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let dir = try UserDirectory(dataRoot: data, user: "u")
        try dir.create()
        let writer = try IndexWriter(directory: dir)
        var live = Set<Int64>()
        var next: Int64 = 1
        var rng = SplitMix64(seed: 5)
        for round in 0..<40 {
            for _ in 0..<(1 + Int(rng.next() % 30)) {
                try writer.add(doc(next))
                live.insert(next)
                next += 1
            }
            // Delete a few live ids, old and new (some in segments merged since the map was built).
            var gone = Set<Int64>()
            for _ in 0..<Int(rng.next() % 6) { if let id = live.randomElement(using: &rng) { gone.insert(id) } }
            gone.insert(next + 1000)  // unknown: ignored
            #expect(try writer.delete(ids: gone) == gone.count - 1, "round \(round)")
            live.subtract(gone)
            try writer.commit()
            try writer.maybeMerge(mergeFactor: 3)
        }
        #expect(try IndexReader(directory: dir).segments.count < 40)
        #expect(try liveIDs(dir) == live)
    }
}

/// A commit removes what it replaced: after merges and deletes the segments directory holds
/// exactly the newest manifest's files (the disk is the live index, even for a mailbox that
/// never commits again), and readers opening meanwhile never fail: one that loses the race
/// to a commit reopens with the newer manifest.
@Suite struct ReplacedFilesTests {
    func doc(_ id: Int64) -> IndexDocument { smallDocument(id) }

    /// The files the newest manifest names (segments, their deletions, itself).
    func named(_ dir: UserDirectory) throws -> Set<String> {
        let reader = try IndexReader(directory: dir)
        var names: Set<String> = [Manifest.fileName(reader.manifest.generation)]
        for entry in reader.manifest.segments {
            for kind in SegmentFiles.kinds { names.insert("\(entry.name).\(kind)") }
            if entry.deletionsGeneration > 0 { names.insert("\(entry.name).del-\(entry.deletionsGeneration)") }
        }
        return names
    }

    /// A new user's directory under a scratch path, and its writer.
    func freshWriter(_ name: String) throws -> (data: String, dir: UserDirectory, writer: IndexWriter) {
        let data = scratchPath(name)
        let dir = try UserDirectory(dataRoot: data, user: "u")
        try dir.create()
        return (data, dir, try IndexWriter(directory: dir))
    }

    @Test func commitsLeaveOnlyTheLiveGeneration() throws {
        let (data, dir, writer) = try freshWriter("replaced")
        defer { try? FileManager.default.removeItem(atPath: data) }
        var id: Int64 = 1
        for round in 0..<12 {
            for _ in 0..<20 {
                try writer.add(doc(id))
                id += 1
            }
            _ = try writer.delete(ids: [id - 3, id - 17])
            try writer.commit()
            try writer.maybeMerge(mergeFactor: 3)
            let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: dir.segmentsPath))
            #expect(onDisk == (try named(dir)), "round \(round)")
        }
        try writer.forceMerge()
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: dir.segmentsPath))
        #expect(onDisk == (try named(dir)))
        #expect(try IndexReader(directory: dir).segments.count == 1)
        #expect(try IndexReader(directory: dir).documentCount == 12 * 18)
    }

    @Test func readersOpenWhileCommitsReplaceFiles() throws {
        let (data, dir, writer) = try freshWriter("replaced-race")
        defer { try? FileManager.default.removeItem(atPath: data) }
        try writer.add(doc(1))
        try writer.commit()
        let state = Locked((done: false, opened: 0, failed: 0))
        // Own threads, not the global queue: under a parallel test run the pool can be busy
        // until the writer is done, and then no reader overlaps a commit at all.
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                defer { group.leave() }
                var last = 0
                while !state.withLock({ $0.done }) {
                    do {
                        let r = try IndexReader(directory: dir, verifyChecksums: false)
                        // Commits only add documents here: a reader never sees fewer.
                        let fewer = r.documentCount < last
                        last = r.documentCount
                        state.withLock {
                            $0.opened += 1
                            if fewer { $0.failed += 1 }
                        }
                    } catch {
                        state.withLock { $0.failed += 1 }
                    }
                }
            }.start()
        }
        // At least 150 commits, and on until the readers have opened 20 times while commits
        // went on (bounded, so a starved machine fails the expectation below instead of hanging).
        var id: Int64 = 2
        var commits = 0
        while commits < 150 || (state.withLock { $0.opened } < 20 && commits < 5_000) {
            try writer.add(doc(id))
            id += 1
            try writer.commit()
            try writer.maybeMerge(mergeFactor: 2)
            commits += 1
        }
        state.withLock { $0.done = true }
        group.wait()
        #expect(state.withLock { $0.failed } == 0)
        #expect(state.withLock { $0.opened } >= 20)
        #expect(try IndexReader(directory: dir).documentCount == commits + 1)
    }
}

/// Day numbers of times in seconds: floor division by 86,400 for every Int64 (a damaged
/// segment's sent date near Int64.min made the old `(t - 86_399) / 86_400` overflow).
@Suite struct DayNumberTests {
    @Test func floorsForEveryInt64() {
        let cases: [(Int64, Int64)] = [(0, 0), (1, 0), (86_399, 0), (86_400, 1), (-1, -1), (-86_400, -1), (-86_401, -2),
                                       (1_700_000_000, 19_675), (-1_700_000_000, -19_676)]
        for (t, day) in cases { #expect(DocumentValues.day(ofSeconds: t) == day, "\(t)") }
        // The extremes: no trap, and the floor of the exact quotient.
        #expect(DocumentValues.day(ofSeconds: .min) == Int64.min / 86_400 - 1)
        #expect(DocumentValues.day(ofSeconds: .max) == Int64.max / 86_400)
        // Against the old formula wherever it did not overflow.
        var rng = SplitMix64(seed: 3)
        for _ in 0..<10_000 {
            let t = Int64(bitPattern: rng.next()) >> Int64(rng.next() % 40)
            let old = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
            #expect(DocumentValues.day(ofSeconds: t) == old, "\(t)")
        }
    }
}
