import Foundation
import Server
import Testing
import TestSupport

/// One user's mail never reaches another user's answer, whatever the name or route: names
/// with `../`, `/`, NUL, control and zero-width characters, Unicode look-alikes, other cases,
/// spaces, percent-encoding twice, over-long names; Solr selects whose query text names
/// another user; Solr deletes with ids naming another user's mailbox. (TCP without a token:
/// `DaemonLimitTests`.)
@Suite(.serialized) struct IsolationTests {
    static let guid = "4f9e0c1a2b3c4d5e6f708192a3b4c5d6"

    static func solrAdd(_ user: String, uid: Int, body: String) -> String {
        "<add><doc><field name=\"id\">\(uid)/\(guid)/\(user)</field><field name=\"uid\">\(uid)</field><field name=\"box\">\(guid)</field>"
            + "<field name=\"user\">\(user)</field><field name=\"subject\">note \(uid)</field><field name=\"body\">\(body)</field></doc></add>"
    }

    /// The UIDs a Solr select answers; nil when it is refused (400).
    static func select(_ c: HTTPClient, q: String, user: String) throws -> [Int]? {
        let query = "fl=uid,score&rows=100&sort=uid+asc&q=\(q)&fq=%2Bbox:\(guid)+%2Buser:\(user)"
        let r = try c.get("/solr/dovecot/select?" + query)
        if r.status == 400 { return nil }
        #expect(r.status == 200, "\(r.text)")
        return r.text.components(separatedBy: "<long name=\"uid\">").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }.sorted()
    }

    @Test func otherUsersMailIsUnreachable() throws {
        let daemon = try Daemon(name: "isolation")
        let c = daemon.client()
        let raws = try NativeAPITests.messages(20)
        #expect(try c.postJSON("/v1/users/alice/messages", NativeAPITests.batch(raws, mailbox: "INBOX", firstUID: 1)).status == 202)
        try daemon.waitIndexed("alice")
        #expect(try c.imap("alice", "INBOX", "ALL") == Array(1...20))
        let word = try #require(NativeAPITests.words(NativeAPITests.foldedSubjects(raws), count: 1).first)

        let names = ["../alice", "alice/../alice", "./alice", "alice/", "/alice", "alice\u{0}", "alice\u{0}bob", "ALICE", "Alice", "alice ",
                     " alice", "\u{430}lice", "alice\u{200B}", "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}", "alice%00", "%61lice",
                     String(repeating: "a", count: 1_025), "alice\r\nX-User: alice", "alic\u{0065}\u{0301}"]
        for name in names {
            let path = "/v1/users/" + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name)
            for (route, body) in [("/search", ["imap": "ALL", "mailbox": "INBOX"] as [String: Any]),
                                  ("/search", ["query": word, "limit": 50] as [String: Any])] {
                let r = try c.postJSON(path + route, body)
                if r.status == 200 {
                    #expect(r.uids.isEmpty, "\(name.debugDescription): \(r.text.prefix(200))")
                    #expect((r.json["total"] as? Int ?? 0) == 0, "\(name.debugDescription): \(r.text.prefix(200))")
                } else {
                    #expect([400, 404].contains(r.status), "\(name.debugDescription): \(r.status) \(r.text.prefix(200))")
                }
            }
            let status = try c.get(path + "/status")
            if status.status == 200 {
                let boxes = status.json["mailboxes"] as? [[String: Any]] ?? []
                #expect(boxes.allSatisfy { ($0["messages"] as? Int ?? 0) == 0 }, "\(name.debugDescription): \(status.text.prefix(200))")
            }
        }
        // Alice's mail is where it was.
        #expect(try c.imap("alice", "INBOX", "ALL") == Array(1...20))

        // Solr: the same mailbox GUID for two users, a query naming the other user, deletes
        // with the other user's ids.
        var xml = "<update>"
        for uid in 1...3 { xml += Self.solrAdd("carol", uid: uid, body: "carol secret \(uid)") }
        for uid in 1...2 { xml += Self.solrAdd("dave", uid: uid, body: "dave text \(uid)") }
        xml += "</update>"
        #expect(try c.request("POST", "/solr/dovecot/update", body: Array(xml.utf8), headers: [("Content-Type", "text/xml")]).status == 200)
        try daemon.waitIndexed("carol")
        try daemon.waitIndexed("dave")
        let carol = try Self.select(c, q: "body:secret", user: "carol")
        #expect(carol == [1, 2, 3], "\(String(describing: carol))")
        #expect(try Self.select(c, q: "body:secret", user: "dave") == [])
        // A query naming another user than its filter is refused ("conflicting user filters").
        #expect(try Self.select(c, q: "%7B!lucene+q.op%3DAND%7Dbody:secret+user:carol", user: "dave") ?? [] == [])
        #expect(try Self.select(c, q: "user:carol", user: "dave") ?? [] == [])
        // Dave deleting "his" uid 1 in the shared GUID leaves carol's uid 1.
        let delete = "<delete><id>1/\(Self.guid)/dave</id></delete>"
        #expect(try c.request("POST", "/solr/dovecot/update", body: Array(delete.utf8), headers: [("Content-Type", "text/xml")]).status == 200)
        #expect(try Self.select(c, q: "body:secret", user: "carol") == [1, 2, 3])
        #expect(try Self.select(c, q: "body:text", user: "dave") == [2])
    }
}
