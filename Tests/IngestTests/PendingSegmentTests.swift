import Foundation
import IndexEngine
import Ingest
import MailsiftCore
import Testing
import TestSupport

/// Accepted messages that no drain has indexed yet are searched in pending segments, built
/// per accept and leveled like a binary counter. Whatever the order of accepts and partial
/// drains, a snapshot holds every acknowledged message exactly once, and the pending
/// segments stay few (about log2 of the queue).
@Suite struct PendingSegmentTests {
    static let corpus = spamAssassinFolder("easy_ham")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func everyAcceptedMessageOnceInFewPendingSegments() throws {
        let tmp = scratchPath("pending")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted().filter { !$0.hasPrefix(".") }.prefix(70)
        let raws = try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + $0))) }
        let index = try LiveIndex(dataRoot: tmp, user: "p")
        var accepted: [Int64] = []
        var most = 0
        for (i, raw) in raws.enumerated() {
            accepted += try index.accept([IncomingMessage(mailbox: "INBOX", uid: Int64(i + 1), internalDate: Int64(i), content: .raw(raw))])
            // Partial drains now and then: the oldest parts lose rows and are rebuilt.
            if i % 23 == 22 {
                let drained = try index.drain(limit: 9)
                #expect(drained == 9)
            }
            let docs = try index.snapshot().liveDocuments().map(\.id)
            #expect(docs.count == accepted.count, "after accept \(i)")
            #expect(Set(docs) == Set(accepted), "after accept \(i)")
            let parts = index.pendingSegmentCount
            most = max(most, parts)
            // Each part holds more than twice the rows of the next: at most log2(queue) + 1
            // parts, and never over 6.
            let queued = index.queuedCount
            #expect(parts <= min(6, Int.bitWidth - queued.leadingZeroBitCount), "after accept \(i): \(parts) parts for \(queued) queued")
        }
        #expect(index.queuedCount > 32)
        #expect(most >= 2)
        let queued = index.queuedCount
        #expect(try index.drain() == queued)
        #expect(index.pendingSegmentCount == 0)
        let committed = try index.snapshot().liveDocuments().map(\.id)
        #expect(committed.sorted() == accepted.sorted())
    }
}
