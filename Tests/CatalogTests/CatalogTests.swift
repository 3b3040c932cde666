import Catalog
import Foundation
import MailsiftCore
import Testing

@Suite struct CatalogTests {
    func tempPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-catalog-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("catalog.sqlite").path
    }

    @Test func mailboxesMessagesAndSources() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let c = try Catalog(path: path)
        let inbox = try c.mailboxID("INBOX")
        #expect(try c.mailboxID("INBOX") == inbox)
        let added = try c.addMessages([
            NewMessage(mailboxID: inbox, internalDate: 100, size: 10, sourcePath: "/m/a", sourceMTime: 1),
            NewMessage(mailboxID: inbox, internalDate: 200, size: 20, flags: MessageFlags.seen.rawValue, sourcePath: "/m/b", sourceMTime: 2),
            NewMessage(mailboxID: inbox, uid: 10, internalDate: 300, size: 30, sourcePath: "/other/c"),
        ])
        let ids = added.map(\.docid)
        #expect(added.map(\.uid) == [1, 2, 10])
        #expect(ids.count == 3)
        #expect(try c.message(ids[0])?.uid == 1)
        #expect(try c.message(ids[1])?.uid == 2)
        #expect(try c.message(ids[2])?.uid == 10)
        #expect(try c.mailboxes().first?.nextUID == 11)
        #expect(try c.sources(under: "/m/").keys.sorted() == ["/m/a", "/m/b"])
        try c.expunge(docids: [ids[0]])
        #expect(try c.messageCount() == 2)
        #expect(try c.liveDocids() == Set([ids[1], ids[2]]))
        #expect(try c.integrityCheck().isEmpty)
        // Reopening keeps everything (migrations are idempotent).
        let again = try Catalog(path: path)
        #expect(try again.message(ids[1])?.flags == MessageFlags.seen.rawValue)
        #expect(try again.message(ids[1])?.mailbox == "INBOX")
    }

    @Test func maildirFlags() {
        #expect(MessageFlags(maildir: ["F", "R", "S"]) == [.flagged, .answered, .seen])
        #expect(MessageFlags(maildir: ["T", "D", "x"]) == [.deleted, .draft])
    }

    @Test func unopenablePathIsAClearError() {
        #expect(throws: MailsiftError.self) { _ = try Catalog(path: "/nonexistent-dir/x/catalog.sqlite") }
    }
}
