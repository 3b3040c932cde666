import Foundation
import Ingest
import Server
import Testing
import TestSupport

/// A search's time budget holds for the whole request: IMAP criteria without a mailbox are
/// evaluated in each of the user's mailboxes, and with thousands of mailboxes that once took
/// the budget per mailbox (the http fuzz target ran 13-23 s on one request whose budget was
/// 2 s, after its adds had made many mailboxes). Here the budget (20 ms) is far above what one
/// mailbox costs and far below what 400 do: a budget per mailbox answers 200, the request's
/// budget refuses with 429. The criteria hold a UID set, which keeps the evaluation per
/// mailbox (without one, all the mailboxes are searched in one pass). (Time is printed, not asserted. `respond` is awaited: blocking a
/// test's thread on it could starve the cooperative pool the request itself runs on.)
@Suite struct SearchBudgetTests {
    @Test(.timeLimit(.minutes(5)))
    func allMailboxSearchKeepsOneBudget() async throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-budget-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let boxes = 400
        do {
            let index = try LiveIndex(dataRoot: tmp, user: "u")
            let raws = (0..<7).map { k in
                Array("From: a\(k)@example.com\r\nSubject: box note \(k)\r\nMessage-ID: <\(k)@example.com>\r\n\r\nxylophone taxi box\(k) extra text\r\n".utf8)
            }
            _ = try index.accept((0..<boxes).map { k in
                IncomingMessage(mailbox: "box\(k)", uid: 1, internalDate: 0, content: .raw(raws[k % raws.count]))
            })
            _ = try index.drain()
        }
        let http = HTTPBytes(dataRoot: tmp, token: "t", queryTimeBudget: 0.02)
        let auth = "Authorization: Bearer t\n\n"
        let start = ContinuousClock.now
        let status = await http.respond(Array("POST /v1/users/u/search\n\(auth){\"imap\": \"RETURN (COUNT) UID 1:* BODY x\"}".utf8))
        print("all-mailbox IMAP search over \(boxes) mailboxes, 20 ms budget: status \(status) after \(ContinuousClock.now - start)")
        #expect(status == 429)
    }
}
