import Catalog
import Foundation
import Glibc
import IndexEngine
import Ingest
import MailsiftCore
import Testing
import TestSupport

/// Storage faults (`StorageFaults`): failed, short and ENOSPC writes, EIO on create, fsync,
/// rename, directory fsync and read, each at a segment file, a deletions file or the
/// manifest, injected while a rescan commits new mail and a deletion. Each surfaces as a
/// clear I/O error; the last committed generation stays readable with every checksum right;
/// and the next run, with the disk healthy again, ends with every message indexed exactly once.
@Suite(.serialized) struct StorageFaultTests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/easy_ham").path

    struct Fault: CustomStringConvertible, Sendable {
        var operation: StorageFaults.Operation
        var path: String
        var errno: Int32
        /// Matching calls let through first.
        var after = 0
        var description: String { "\(operation) \(path.isEmpty ? "any" : path)\(after > 0 ? " after \(after)" : "") \(String(cString: strerror(errno)))" }
    }

    static let faults: [Fault] = [
        Fault(operation: .create, path: ".terms", errno: ENOSPC),
        Fault(operation: .write, path: ".stored", errno: ENOSPC),
        Fault(operation: .write, path: ".pos", errno: EIO),
        Fault(operation: .fsync, path: ".docs", errno: EIO),
        Fault(operation: .create, path: ".del-", errno: EIO),
        Fault(operation: .write, path: ".del-", errno: ENOSPC),
        Fault(operation: .create, path: "manifest-", errno: ENOSPC),
        Fault(operation: .write, path: "manifest-", errno: ENOSPC),
        Fault(operation: .fsync, path: "manifest-", errno: EIO),
        Fault(operation: .rename, path: "manifest-", errno: EIO),
        Fault(operation: .syncDirectory, path: "segments", errno: EIO),
    ]

    /// A scratch directory of this process, with `mail` holding the first `count` corpus
    /// messages (and `data` for the index, not created).
    static func scratch(_ name: String, messages count: Int) throws -> (tmp: String, mail: String, data: String, files: [String]) {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-\(name)-\(getpid())-\(UUID().uuidString)").path
        let mail = tmp + "/mail"
        try FileManager.default.createDirectory(atPath: mail, withIntermediateDirectories: true)
        let files = Array(try FileManager.default.contentsOfDirectory(atPath: corpus).sorted().filter { !$0.hasPrefix(".") }.prefix(count))
        return (tmp, mail, tmp + "/data", files)
    }

    static func copy(_ names: [String], to mail: String) throws {
        for name in names { try FileManager.default.copyItem(atPath: corpus + "/" + name, toPath: mail + "/" + name) }
    }

    /// Runs `body` with `fault` injected under `tmp` and returns the error it threw, checked
    /// to be the fault's: reached once, an I/O error naming the errno.
    static func failure(of fault: Fault, under tmp: String, _ body: () throws(MailsiftError) -> Void) throws -> MailsiftError {
        let before = StorageFaults.injected
        StorageFaults.inject(fault.operation, under: tmp, path: fault.path, after: fault.after, errno: fault.errno)
        var failure: MailsiftError?
        do { try body() } catch { failure = error }
        StorageFaults.clear()
        #expect(StorageFaults.injected == before + 1, "the fault was never reached: \(fault)")
        let error = try #require(failure, "no error surfaced for \(fault)")
        #expect(error.code == .io, "\(fault): \(error)")
        #expect(error.message.contains(String(cString: strerror(fault.errno))), "\(fault): \(error.message)")
        return error
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)), arguments: faults)
    func faultLeavesLastGenerationAndLosesNothing(_ fault: Fault) throws {
        let (tmp, mail, data, files) = try Self.scratch("faults", messages: 100)
        defer {
            StorageFaults.clear()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let (first, second) = (Array(files.prefix(60)), Array(files.suffix(40)))
        try Self.copy(first, to: mail)
        // Generation 1: the first 60 messages.
        do {
            let r = try UserIndexer(dataRoot: data, user: "f", ramBudget: 4 << 20).index([mail])
            #expect(r.added == 60)
        }
        // The second run adds 40 and loses one; the disk fails during its commit.
        try Self.copy(second, to: mail)
        try FileManager.default.removeItem(atPath: mail + "/" + first[0])
        _ = try Self.failure(of: fault, under: tmp) { () throws(MailsiftError) in
            _ = try UserIndexer(dataRoot: data, user: "f", ramBudget: 4 << 20).index([mail])
        }

        // What is on disk opens, checksums and all: generation 1, or 2 when the fault came
        // after the commit point (a directory fsync after the manifest's rename).
        let dir = try UserDirectory(dataRoot: data, user: "f")
        let reader = try IndexReader(directory: dir, verifyChecksums: true)
        let live = try reader.liveDocuments()
        #expect([60, 99].contains(live.count), "\(fault): \(live.count) documents")
        #expect(Set(live.map(\.id)).count == live.count)

        // The disk is back: the next run finishes the job, each message exactly once.
        let r = try UserIndexer(dataRoot: data, user: "f", ramBudget: 4 << 20).index([mail])
        #expect(r.failed == 0)
        let final = try IndexReader(directory: dir, verifyChecksums: true)
        let docs = try final.liveDocuments()
        #expect(docs.count == 99, "\(fault): \(docs.count) documents after recovery")
        #expect(Set(docs.map(\.id)).count == docs.count)
        let catalog = try Catalog(path: dir.catalogPath)
        #expect(try catalog.liveDocids() == Set(docs.map(\.id)))
        let sources = try catalog.sources(under: mail + "/")
        #expect(Set(sources.keys) == Set((first.dropFirst() + second).map { mail + "/" + $0 }))
    }


    /// With build threads, full buffers are written on their own thread while indexing goes
    /// on (`IndexWriter(backgroundFlush:)`). A disk fault in such a flush surfaces from the
    /// run as the same clear I/O error; nothing of the run is committed; the next run indexes
    /// every message exactly once, into the same documents as one thread writing in line.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)),
          arguments: [Fault(operation: .write, path: ".pos", errno: EIO, after: 2), Fault(operation: .create, path: ".stored", errno: ENOSPC, after: 1),
                      Fault(operation: .fsync, path: ".terms", errno: EIO, after: 3)])
    func backgroundFlushFaultSurfacesAndLosesNothing(_ fault: Fault) throws {
        let (tmp, mail, data, files) = try Self.scratch("bgflush", messages: 300)
        defer {
            StorageFaults.clear()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        try Self.copy(files, to: mail)
        // 2 MiB: buffers go to their own thread at 1 MiB, a few dozen messages each.
        _ = try Self.failure(of: fault, under: tmp) { () throws(MailsiftError) in
            _ = try UserIndexer(dataRoot: data, user: "b", ramBudget: 2 << 20, threads: 2).index([mail])
        }
        let dir = try UserDirectory(dataRoot: data, user: "b")
        #expect(try IndexReader(directory: dir, verifyChecksums: true).liveDocuments().isEmpty)

        // No tiered merge at the end: eight or more flushes would fold into one segment, and
        // the count below is how this test knows the run flushed often enough to matter.
        let r = try UserIndexer(dataRoot: data, user: "b", ramBudget: 2 << 20, threads: 2).index([mail], merge: false)
        #expect(r.added == 300 && r.failed == 0)
        let reader = try IndexReader(directory: dir, verifyChecksums: true)
        let docs = try reader.liveDocuments()
        #expect(docs.count == 300 && Set(docs.map(\.id)).count == 300)
        #expect(reader.segments.count > 3, "\(reader.segments.count) segments: too few flushes to test")
        #expect(try Catalog(path: dir.catalogPath).liveDocids() == Set(docs.map(\.id)))

        // The same documents as one thread that flushes in line, with the same budget.
        _ = try UserIndexer(dataRoot: data, user: "one", ramBudget: 2 << 20, threads: 1).index([mail])
        let one = try IndexReader(directory: try UserDirectory(dataRoot: data, user: "one"))
        #expect(try one.liveDocuments().count == 300)
        // Postings and positions per field, summed over segments (segmentation aside, the same).
        func totals(_ r: IndexReader) throws -> [UInt8: [UInt64]] {
            var out: [UInt8: [UInt64]] = [:]
            for (segment, _) in r.segments {
                for (key, s) in try segment.fieldStatistics() {
                    let t = out[key] ?? [0, 0]
                    out[key] = [t[0] + s.postings, t[1] + s.positions]
                }
            }
            return out
        }
        let a = try totals(reader), b = try totals(one)
        #expect(a == b)
        #expect((a[Field.body.rawValue]?[1] ?? 0) > 10_000)
    }
    /// EIO whenever a segment file is opened for reading: a clear error naming the file, and the
    /// index opens again once the disk answers.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func readErrorIsClearAndPasses() throws {
        let tmp = scratchPath("readfault")
        defer {
            StorageFaults.clear()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let mail = tmp + "/mail"
        try FileManager.default.createDirectory(atPath: mail, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted().prefix(20) {
            try FileManager.default.copyItem(atPath: Self.corpus + "/" + name, toPath: mail + "/" + name)
        }
        _ = try UserIndexer(dataRoot: tmp + "/data", user: "r").index([mail])
        let dir = try UserDirectory(dataRoot: tmp + "/data", user: "r")
        // For good (a single failure is retried: a commit may have replaced the files meanwhile).
        StorageFaults.inject(.read, under: tmp, path: ".stored", times: .max, errno: EIO)
        #expect {
            _ = try IndexReader(directory: dir)
        } throws: { error in
            guard let e = error as? MailsiftError else { return false }
            return e.code == .io && e.message.contains(".stored") && e.message.contains("Input/output error")
        }
        StorageFaults.clear()
        #expect(try IndexReader(directory: dir).liveDocuments().count == 20)
    }

    /// The daemon's path: messages acknowledged into the queue, then a drain whose commit
    /// meets each fault. The drain fails with the fault's error, searches still see every
    /// acknowledged message (the queue holds them), the next drain (or a restart's) indexes them.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)), arguments: [faults[1], faults[6], faults[9], faults[10]])
    func daemonDrainFaultKeepsEveryAcknowledgedMessage(_ fault: Fault) throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-drainfault-\(getpid())-\(UUID().uuidString)").path
        defer {
            StorageFaults.clear()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted().filter { !$0.hasPrefix(".") }.prefix(40)
        let raws = try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + $0))) }
        func all(_ index: LiveIndex) throws -> Int {
            try index.snapshot().liveDocuments().count
        }
        do {
            let index = try LiveIndex(dataRoot: tmp, user: "d")
            _ = try index.accept(raws.prefix(20).enumerated().map { IncomingMessage(mailbox: "INBOX", uid: Int64($0.offset + 1), internalDate: 0, content: .raw($0.element)) })
            #expect(try index.drain() == 20)
            _ = try index.accept(raws.suffix(20).enumerated().map { IncomingMessage(mailbox: "INBOX", uid: Int64($0.offset + 21), internalDate: 0, content: .raw($0.element)) })
            StorageFaults.inject(fault.operation, under: tmp, path: fault.path, after: fault.after, errno: fault.errno)
            #expect(throws: MailsiftError.self, "\(fault)") { _ = try index.drain() }
            StorageFaults.clear()
            // Acknowledged means searchable, fault or not.
            #expect(try all(index) == 40, "\(fault)")
            // The next drain finishes (nothing, when the fault came after the commit point).
            let drained = try index.drain()
            let after = try all(index)
            let queued = try index.catalog.queueIndex().count
            #expect(after == 40, "\(fault): \(after) after a second drain of \(drained); queued \(queued)")
        }
        // A restart finds all 40, indexed once.
        let index = try LiveIndex(dataRoot: tmp, user: "d")
        _ = try index.drain()
        let docs = try IndexReader(directory: try UserDirectory(dataRoot: tmp, user: "d"), verifyChecksums: true).liveDocuments()
        #expect(docs.count == 40 && Set(docs.map(\.id)).count == 40, "\(fault): \(docs.count) committed, \(Set(docs.map(\.id)).count) ids")
        #expect(try all(index) == 40)
    }
}

/// Faults in the daemon's other changes: an expunge (and a mailbox deletion) whose index
/// commit fails, and a merge that fails midway. The catalog's removal is durable, so the
/// expunged messages leave searches at once whatever the disk does; the index drops them at
/// the next change, a retried expunge or a restart. A failed merge leaves every message once.
/// (In StorageFaultTests' serialized suite: the faults and their counter are process-wide.)
extension StorageFaultTests {
    static func raws(_ n: Int) throws -> [[UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted().filter { !$0.hasPrefix(".") }.prefix(n)
        return try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + $0))) }
    }

    static func incoming(_ raws: ArraySlice<[UInt8]>, firstUID: Int, mailbox: String = "INBOX") -> [IncomingMessage] {
        raws.enumerated().map { IncomingMessage(mailbox: mailbox, uid: Int64(firstUID + $0.offset), internalDate: 0, content: .raw($0.element)) }
    }

    static func committed(_ tmp: String) throws -> [Int64] {
        try IndexReader(directory: try UserDirectory(dataRoot: tmp, user: "d"), verifyChecksums: true).liveDocuments().map(\.id)
    }

    enum Then: String, CaseIterable, CustomStringConvertible, Sendable {
        case retry, drain, restart
        var description: String { rawValue }
    }

    static let changeCases: [(Fault, Then)] = [
        (Self.faults[4], .retry), (Self.faults[5], .drain), (Self.faults[7], .restart),
        (Self.faults[9], .retry), (Self.faults[10], .drain),
    ]

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)), arguments: changeCases)
    func expungeFaultHidesAtOnceAndSettlesLater(_ fault: Fault, _ then: Then) throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-expungefault-\(getpid())-\(UUID().uuidString)").path
        defer {
            StorageFaults.clear()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let raws = try Self.raws(30)
        var expunged: Set<Int64> = []
        do {
            let index = try LiveIndex(dataRoot: tmp, user: "d")
            let ids = try index.accept(Self.incoming(raws.prefix(20), firstUID: 1))
            #expect(try index.drain() == 20)
            let box = try #require(try index.catalog.existingMailbox(name: "INBOX", guid: nil))
            StorageFaults.inject(fault.operation, under: tmp, path: fault.path, after: fault.after, errno: fault.errno)
            #expect(throws: MailsiftError.self, "\(fault)") { _ = try index.expunge(mailbox: box) { $0 <= 5 } }
            StorageFaults.clear()
            expunged = Set(ids.prefix(5))
            // Gone from searches at once: the catalog removed them durably.
            let seen = Set(try index.snapshot().liveDocuments().map(\.id))
            #expect(seen.count == 15 && seen.isDisjoint(with: expunged), "\(fault): \(seen.count) seen")
            let unsettled = index.hasUnsettledDeletions
            #expect(try unsettled || Set(Self.committed(tmp)).isDisjoint(with: expunged), "\(fault)")
            switch then {
            case .retry:
                #expect(try index.expunge(mailbox: box) { $0 <= 5 } == 0)
                #expect(!index.hasUnsettledDeletions)
                #expect(Set(try Self.committed(tmp)) == Set(ids.suffix(15)), "\(fault)")
            case .drain:
                _ = try index.accept(Self.incoming(raws.suffix(10), firstUID: 21))
                #expect(try index.drain() == 10)
                #expect(!index.hasUnsettledDeletions)
                let after = try Self.committed(tmp)
                #expect(after.count == 25 && Set(after).isDisjoint(with: expunged), "\(fault): \(after.count) committed")
            case .restart:
                break
            }
        }
        // After a restart: the expunged messages are in neither the catalog nor the index, the
        // rest are indexed once.
        let index = try LiveIndex(dataRoot: tmp, user: "d")
        let docs = try Self.committed(tmp)
        #expect(Set(docs).count == docs.count && Set(docs).isDisjoint(with: expunged), "\(fault) \(then)")
        #expect(docs.count == (then == .drain ? 25 : 15), "\(fault) \(then): \(docs.count)")
        #expect(Set(try index.snapshot().liveDocuments().map(\.id)) == Set(docs))
        #expect(try index.catalog.liveDocids() == Set(docs))
    }

    /// A merge that fails at its new segment, its manifest or the directory sync leaves the
    /// last commit searched, every message once, and the next merge succeeds.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)),
          arguments: [Self.faults[0], Self.faults[2], Self.faults[7], Self.faults[9],
                      // The directory sync after the manifest's rename: the merge is committed.
                      Fault(operation: .syncDirectory, path: "segments", errno: EIO, after: 1)])
    func mergeFaultLeavesEveryMessageOnce(_ fault: Fault) throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-mergefault-\(getpid())-\(UUID().uuidString)").path
        defer {
            StorageFaults.clear()
            try? FileManager.default.removeItem(atPath: tmp)
        }
        let raws = try Self.raws(32)
        let dir = try UserDirectory(dataRoot: tmp, user: "d")
        do {
        let index = try LiveIndex(dataRoot: tmp, user: "d")
        // Four commits of 8: four small segments, a full tier of the live index's merge factor 4.
        for k in 0..<4 {
            _ = try index.accept(Self.incoming(raws[(k * 8)..<(k * 8 + 8)], firstUID: k * 8 + 1))
            #expect(try index.drain() == 8)
        }
        #expect(try IndexReader(directory: dir).segments.count == 4)
        StorageFaults.inject(fault.operation, under: tmp, path: fault.path, after: fault.after, errno: fault.errno)
        #expect(throws: MailsiftError.self, "\(fault)") { _ = try index.maybeMerge() }
        StorageFaults.clear()
        #expect(try index.snapshot().liveDocuments().count == 32, "\(fault)")
        // A later change works on the rolled-back writer, and the merge happens now.
        let box = try #require(try index.catalog.existingMailbox(name: "INBOX", guid: nil))
        #expect(try index.expunge(mailbox: box) { $0 == 1 } == 1)
        _ = try index.maybeMerge()
        let docs = try Self.committed(tmp)
        #expect(docs.count == 31 && Set(docs).count == 31, "\(fault): \(docs.count)")
        #expect(try IndexReader(directory: dir).segments.count == 1, "\(fault)")
        }
        let reopened = try LiveIndex(dataRoot: tmp, user: "d")
        #expect(try reopened.snapshot().liveDocuments().count == 31)
    }
}
