import Testing
@testable import MIME
import TestSupport

private func A(_ name: String?, _ address: String, group: String? = nil) -> MailAddress {
    MailAddress(name: name, address: address, group: group)
}

@Suite struct AddressParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var expected: [MailAddress]
        var testDescription: String { input }
        init(_ input: String, _ expected: [MailAddress]) { self.input = input; self.expected = expected }
    }

    static let cases: [Case] = [
        // basics
        Case("a@b", [A(nil, "a@b")]),
        Case("a@b, \"Doe, John\" <j@d.org>", [A(nil, "a@b"), A("Doe, John", "j@d.org")]),
        Case("John Doe <john@Example.COM>", [A("John Doe", "john@example.com")]),
        Case("  John   \t Doe\r\n <john@x.com>  ", [A("John Doe", "john@x.com")]),
        Case("\"Joe\" Q. Public <jqp@x.com>", [A("Joe Q. Public", "jqp@x.com")]),
        Case("Mr. FoRK <fork@x.com>", [A("Mr. FoRK", "fork@x.com")]),
        // comments: as name when there is no phrase, ignored otherwise
        Case("joe@x (Joe Q)", [A("Joe Q", "joe@x")]),
        Case("Pamela@Blinkese.com ()", [A(nil, "Pamela@blinkese.com")]),
        Case("Art Vandelay <art@vandelay.com> (Vandelay Industries)", [A("Art Vandelay", "art@vandelay.com")]),
        Case("Pete(A wonderful \\) chap) <pete(his account)@silly.test(his host)>", [A("Pete", "pete@silly.test")]),
        Case("x@y (a (b) \\) c)", [A("a (b) ) c", "x@y")]),
        Case("ysato@etl.go.jp (Yutaka Sato =?ISO-2022-JP?B?GyRAOjRGI0stGyhK?= )",
             [A("Yutaka Sato =?ISO-2022-JP?B?GyRAOjRGI0stGyhK?=", "ysato@etl.go.jp")]),
        // quoted strings and quoted-pairs
        Case("\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", [A("Giant; \"Big\" Box", "sysservices@example.net")]),
        Case("\"john doe\"@x.com", [A(nil, "\"john doe\"@x.com")]),
        Case("\"john\"@x.com", [A(nil, "john@x.com")]),
        Case("\"john\".\"doe\"@x.com", [A(nil, "john.doe@x.com")]),
        Case("\"a\\\"b\"@x.com", [A(nil, "\"a\\\"b\"@x.com")]),
        Case("<\"quoted \\\\ slash\"@x.com>", [A(nil, "\"quoted \\\\ slash\"@x.com")]),
        // groups
        Case("Team: a@b, c@d;", [A(nil, "a@b", group: "Team"), A(nil, "c@d", group: "Team")]),
        Case("Team: a@b, c@d; e@f", [A(nil, "a@b", group: "Team"), A(nil, "c@d", group: "Team"), A(nil, "e@f")]),
        Case("undisclosed-recipients:;", [A("undisclosed-recipients", "", group: "undisclosed-recipients")]),
        Case("(Empty list)(start)Undisclosed recipients  :(nobody(that I know))  ;",
             [A("Undisclosed recipients", "", group: "Undisclosed recipients")]),
        Case("List 1: addr1@test.com, addr2@test.com; List 2: addr3@test.com",
             [A(nil, "addr1@test.com", group: "List 1"), A(nil, "addr2@test.com", group: "List 1"),
              A(nil, "addr3@test.com", group: "List 2")]),
        Case(": a@b;", [A(nil, "a@b")]),
        Case(":;", []),
        // obsolete routes
        Case("<@relay1,@relay2:user@host>", [A(nil, "user@host")]),
        Case("Joe <@relay1.example:joe@host.example>", [A("Joe", "joe@host.example")]),
        // missing commas, semicolons as separators
        Case("<a@b> <c@d>", [A(nil, "a@b"), A(nil, "c@d")]),
        Case("A <a@b> B <c@d>", [A("A", "a@b"), A("B", "c@d")]),
        Case("<linux-xfs@oss.sgi.com>; <ilmari@ping.uio.no>", [A(nil, "linux-xfs@oss.sgi.com"), A(nil, "ilmari@ping.uio.no")]),
        Case("jeremyhu@apple.com; X11-users@lists.apple.com", [A(nil, "jeremyhu@apple.com"), A(nil, "X11-users@lists.apple.com")]),
        // null address, no domain, bare names
        Case("<>", []),
        Case("Mailer <>", [A("Mailer", "")]),
        Case("<>, a@b", [A(nil, "a@b")]),
        Case("root", [A(nil, "root")]),
        Case("<root>", [A(nil, "root")]),
        Case("Gary Lawrence Murphy; Mr. FoRK; fork@example.com",
             [A("Gary Lawrence Murphy", ""), A("Mr. FoRK", ""), A(nil, "fork@example.com")]),
        Case("John Doe john@x.com", [A("John Doe", "john@x.com")]),
        Case("john . doe @ x . com", [A(nil, "john.doe@x.com")]),
        Case("a@b c@d", [A(nil, "a@b"), A(nil, "c@d")]),
        Case("a@b.com Joe Smith <js@y>", [A(nil, "a@b.com"), A("Joe Smith", "js@y")]),
        Case("a@b.com trailing junk", [A(nil, "a@b.com")]),
        Case("web@jefren.com Subject: HAWAII", [A(nil, "web@jefren.com")]),
        Case("\"\"@argote.ch", [A(nil, "\"\"@argote.ch")]),
        // obs-phrase with `.` and `@`
        Case("john.doe@x.com <john@x.com>", [A("john.doe@x.com", "john@x.com")]),
        Case("Dr. J. R. Smith <jrs@x.com>", [A("Dr. J. R. Smith", "jrs@x.com")]),
        // unclosed quote / comment / angle
        Case("Joe <joe@x.com", [A("Joe", "joe@x.com")]),
        Case("\"Joe <joe@x.com>", [A("Joe <joe@x.com>", "")]),
        Case("joe@x.com (Joe", [A("Joe", "joe@x.com")]),
        Case("a@b, \"unclosed", [A(nil, "a@b"), A("unclosed", "")]),
        // UTF-8 (RFC 6532)
        Case("Jürgen Müller <jürgen@münchen.DE>", [A("Jürgen Müller", "jürgen@münchen.de")]),
        Case("\"山田 太郎\" <山田@例え.テスト>", [A("山田 太郎", "山田@例え.テスト")]),
        // IDN
        Case("x@XN--MNCHEN-3YA.de", [A(nil, "x@münchen.de")]),
        Case("x@xn--r8jz45g.xn--zckzah", [A(nil, "x@例え.テスト")]),
        Case("x@xn--zz-invalid!.de", [A(nil, "x@xn--zz-invalid!.de")]),
        // literal, junk
        Case("x@[192.168.0.1]", [A(nil, "x@[192.168.0.1]")]),
        Case("Stephen_Reilly@dell.com [mailto:Stephen_Reilly@dell.com]", [A(nil, "Stephen_Reilly@dell.com")]),
        Case(",,, a@b ,,;", [A(nil, "a@b")]),
        Case("<a@b> trailing junk", [A(nil, "a@b")]),
        Case(">>> a@b", [A(nil, "a@b")]),
        Case("", []),
        Case("   ", []),
        Case("(just a comment)", []),
        Case(",;:<>\"\"()[]", []),
    ]

    @Test(arguments: cases)
    func parses(_ c: Case) {
        #expect(AddressParser.parseList(c.input) == c.expected)
    }

    @Test func punycode() {
        #expect(AddressParser.decodePunycodeDomain("xn--bcher-kva.example") == "bücher.example")
        #expect(AddressParser.decodePunycodeDomain("www.xn--mnchen-3ya.de") == "www.münchen.de")
        #expect(AddressParser.decodePunycodeDomain("xn--eckwd4c7cu47r2wf.jp") == "ドメイン名例.jp")
        #expect(AddressParser.decodePunycodeDomain("example.com") == "example.com")
        #expect(AddressParser.decodePunycodeDomain("") == "")
        #expect(AddressParser.decodePunycodeDomain("xn--") == "xn--")
        #expect(AddressParser.decodePunycodeDomain("xn--99999999999999.com") == "xn--99999999999999.com")
        #expect(AddressParser.decodePunycodeDomain("xn--a-ü.com") == "xn--a-ü.com")
        #expect(AddressParser.decodePunycodeDomain("xn--" + String(repeating: "9", count: 5000)).hasPrefix("xn--"))
        // RFC 3492 §7.1 sample (L): Japanese, mixed with ASCII
        #expect(Punycode.decode(Array("3B-ww4c5e180e575a65lsy2b".utf8)[...]) == "3年B組金八先生")
        // (A) Arabic (Egyptian)
        #expect(Punycode.decode(Array("egbpdaj6bu4bxfgehfvwxn".utf8)[...])
                == "\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}")
    }

    @Test func manyAddressesAndHugeValues() {
        let many = (0..<10_000).map { "\"User \($0)\" <user\($0)@example.com>" }.joined(separator: ", ")
        let parsed = AddressParser.parseList(many)
        #expect(parsed.count == 10_000)
        #expect(parsed.last == A("User 9999", "user9999@example.com"))

        let bare = String(repeating: "a@b,", count: 250_000)  // 1 MB
        #expect(AddressParser.parseList(bare).count == 250_000)
        // Pathological single tokens: deep comment nesting, unclosed quotes/angles, one atom.
        #expect(AddressParser.parseList(String(repeating: "(", count: 1_000_000)).isEmpty)
        let deep = AddressParser.parseList("a@b " + String(repeating: "(", count: 500_000) + String(repeating: ")", count: 500_000))
        #expect(deep.count == 1 && deep.first?.address == "a@b")
        #expect(AddressParser.parseList("<" + String(repeating: "x", count: 1_000_000)).first?.address.utf8.count == 1_000_000)
        #expect(AddressParser.parseList("\"" + String(repeating: "\\\"", count: 500_000)).count == 1)
        #expect(AddressParser.parseList(String(repeating: "a ", count: 500_000)).count == 1)
        #expect(AddressParser.parseList(String(repeating: "<", count: 1_000_000)).isEmpty)
        #expect(AddressParser.parseList(String(repeating: "@", count: 1_000_000)).isEmpty)
        #expect(AddressParser.parseList(String(repeating: "a:", count: 500_000)).count == 500_000)
    }

    @Test func fuzzNeverTrapsAndKeepsInvariants() {
        var rng = SplitMix64(seed: 0xADD2_E55)
        let pieces = ["a", "Joe", "x.com", "xn--mnchen-3ya", "xn--9", "@", "@", ".", ",", ",", ";", ":",
                      "<", ">", "\"", "\\", "(", ")", "[", "]", " ", " ", "\t", "\r\n", "é", "山",
                      "=?utf-8?q?x?=", "\u{0}", "\u{7F}", "--", "9"]
        for _ in 0..<5_000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...30, using: &rng) { s += pieces.randomElement(using: &rng)! }
            for a in AddressParser.parseList(s) {
                #expect(a.name != nil || !a.address.isEmpty, "\(s)")
                #expect(a.name?.isEmpty != true)
                #expect(a.group?.isEmpty != true)
            }
        }
        // Random bytes, including invalid UTF-8 (decoded with replacement characters).
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for a in AddressParser.parseList(String(decoding: bytes, as: UTF8.self)) {
                #expect(a.name != nil || !a.address.isEmpty)
            }
        }
    }
}
