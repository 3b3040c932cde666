import Foundation
@testable import Server
import Testing

/// The hand-written JSON of the search answers must mean what JSONEncoder's meant.
@Suite struct JSONOutputTests {
    static let hard = ["", "plain", "quote \" and \\ backslash", "line\nbreak\r\ttab", "\u{0}\u{1}\u{1F}\u{7F}",
                       "Grüße, 東京, 🙂, \u{2028}\u{2029}", "</script>", "a/b"]

    func parse(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func webmailAnswerEqualsEncoder() throws {
        var hits: [WebmailSearchResponse.Hit] = []
        for (k, s) in Self.hard.enumerated() {
            hits.append(.init(mailbox: s, uid: Int64(k), internalDate: 1_700_000_000 + Int64(k), date: k % 2 == 0 ? nil : -5,
                              size: 1234, from: s + "x", subject: "s" + s, score: [0, 1, 2.5, 1e-9, 123456.789, 3e20][k % 6],
                              snippet: k % 3 == 0 ? nil : .init(field: "body", text: s, marked: "<b>" + s + "</b>", highlights: [[0, 3], [5, 9]])))
        }
        for answer in [WebmailSearchResponse(total: 0, hits: []), WebmailSearchResponse(total: 77, hits: hits)] {
            var out = JSONOutput()
            answer.write(to: &out)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let expected = try parse(Array(try encoder.encode(answer)))
            #expect(try parse(out.bytes) == expected)
        }
    }

    @Test func imapAnswerEqualsEncoder() throws {
        let one = IMAPSearchResponse(uids: [1, 2, 4_000_000_000], esearch: "MIN 1 MAX 4000000000 COUNT 3", relevancy: [100, 1, 50])
        var named = IMAPSearchResponse(uids: [])
        named.mailbox = "INBOX/\"odd\"\\name"
        let many = IMAPSearchResponse(uids: [0, 9, 10, 99, 100, 999_999, 1_000_000, UInt32.max] + Array(1...3_000))
        let answers = [IMAPSearchResponse(uids: []), one, IMAPSearchResponse(uids: [], mailboxes: [named, one]), many,
                       IMAPSearchResponse(uids: [7], mailboxes: [many, named])]
        for answer in answers {
            var out = JSONOutput()
            answer.write(to: &out)
            let encoder = JSONEncoder()
            let expected = try parse(Array(try encoder.encode(answer)))
            #expect(try parse(out.bytes) == expected)
        }
        var out = JSONOutput()
        IMAPSearchResponse(uids: [0, 10, 4_294_967_295]).write(to: &out)
        #expect(String(decoding: out.bytes, as: UTF8.self) == #"{"uids":[0,10,4294967295]}"#)
    }
}
