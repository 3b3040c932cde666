import Foundation
import Query
import Server
import XCTest

/// The Solr wire protocol as Dovecot 2.3 fts_solr speaks it (docs: SOLR-PROTOCOL.md).
final class SolrProtocolTests: XCTestCase {
    static let g1 = "07aa092a73cd0b6bfc12000083ecc375"
    static let g2 = "184a3a09bfcd0b6bfc12000083ecc375"
    static let fq = "+box:\(g1) +user:alice"

    private func t(_ f: TextField, _ v: String) -> QueryNode { .text(f, v, .substring) }

    /// The text part of a Dovecot search `q` (prefix added), with the single-mailbox fq.
    private func text(_ q: String, file: StaticString = #filePath, line: UInt = #line) throws -> QueryNode? {
        let r = try SolrQuery.parse(q: "{!lucene q.op=AND}" + q, fq: [Self.fq])
        XCTAssertEqual(r.user, "alice", file: file, line: line)
        XCTAssertEqual(r.boxes, [Self.g1], file: file, line: line)
        XCTAssertFalse(r.lastUIDQuery, file: file, line: line)
        return r.text
    }

    private func assertRejected(_ q: String, fq: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SolrQuery.parse(q: q, fq: fq), "accepted: \(q.prefix(60))", file: file, line: line)
    }

    private func update(_ s: String) throws -> [SolrUpdateCommand] {
        try SolrProtocol.parseUpdate(Array(s.utf8))
    }

    // MARK: - §3 request shapes

    func testLastUIDShape() throws {
        let s = try SolrSelect.parse(query: "wt=xml&fl=uid&rows=1&sort=uid+desc&q=box:\(Self.g1)+AND+user:alice")
        XCTAssertEqual(s.q, "box:\(Self.g1) AND user:alice")
        XCTAssertEqual(s.fl, ["uid"])
        XCTAssertEqual(s.rows, 1)
        XCTAssertEqual(s.fq, [])
        XCTAssertEqual(s.sort.map(\.field), ["uid"])
        XCTAssertEqual(s.sort.map(\.ascending), [false])
        let r = try s.query()
        XCTAssertTrue(r.lastUIDQuery)
        XCTAssertEqual(r.user, "alice")
        XCTAssertEqual(r.boxes, [Self.g1])
        XCTAssertNil(r.text)
    }

    func testLastUIDEscapedAndPublicUser() throws {
        let escaped = try SolrQuery.parse(q: "box:\(Self.g1) AND user:a\\-b", fq: [])
        XCTAssertEqual(escaped.user, "a-b")
        XCTAssertTrue(escaped.lastUIDQuery)
        let pub = try SolrQuery.parse(q: "box:\(Self.g1) AND user:\"\"", fq: [])
        XCTAssertEqual(pub.user, "")
        XCTAssertTrue(pub.lastUIDQuery)
    }

    func testSingleMailboxSearch() throws {
        let s = try SolrSelect.parse(query:
            "wt=xml&fl=uid,score&rows=31&sort=uid+asc&q=%7b!lucene+q.op%3dAND%7dbody:budget&fq=%2Bbox:\(Self.g1)+%2Buser:alice")
        XCTAssertEqual(s.q, "{!lucene q.op=AND}body:budget")
        XCTAssertEqual(s.fq, ["+box:\(Self.g1) +user:alice"])
        XCTAssertEqual(s.fl, ["uid", "score"])
        XCTAssertEqual(s.rows, 31)
        XCTAssertTrue(s.wants("score"))
        XCTAssertFalse(s.wants("box"))
        let r = try s.query()
        XCTAssertEqual(r, SolrQuery(user: "alice", boxes: [Self.g1], lastUIDQuery: false, text: t(.body, "budget")))
    }

    func testMultiMailboxFilter() throws {
        let s = try SolrSelect.parse(query:
            "wt=xml&fl=box,uid,score&rows=100000&sort=box+asc,uid+asc&q=%7b!lucene+q.op%3dAND%7dbody:budget"
            + "&fq=%2Buser:alice+%2B(box:\(Self.g2)+OR+box:\(Self.g1))")
        XCTAssertEqual(s.fq, ["+user:alice +(box:\(Self.g2) OR box:\(Self.g1))"])
        XCTAssertEqual(s.sort.map(\.field), ["box", "uid"])
        XCTAssertTrue(s.wants("box"))
        let r = try s.query()
        XCTAssertEqual(r.boxes, [Self.g2, Self.g1])
        XCTAssertEqual(r.user, "alice")
        XCTAssertEqual(r.text, t(.body, "budget"))
        // More than 10 boxes: Dovecot drops the list.
        let all = try SolrQuery.parse(q: "{!lucene q.op=AND}body:budget", fq: ["+user:alice"])
        XCTAssertEqual(all.boxes, [])
    }

    // MARK: - §5.1 mapping table

    func testMappingTable() throws {
        let rows: [(String, QueryNode)] = [
            ("body:budget", t(.body, "budget")),
            ("(hdr:budget OR body:budget)", t(.text, "budget")),
            ("subject:hello", t(.subject, "hello")),
            ("from:bob", t(.from, "bob")),
            ("to:alice", t(.to, "alice")),
            ("cc:carol", t(.cc, "carol")),
            ("bcc:secret\\-watcher", t(.bcc, "secret-watcher")),
            ("from:Bob\\ Builder", t(.from, "Bob Builder")),
            ("hdr:zebra", t(.text, "zebra")),
            ("hdr:x\\-foo", t(.text, "x-foo")),
            ("hdr:msg001", t(.text, "msg001")),
            ("-body:budget", .not(t(.body, "budget"))),
            ("-(hdr:budget OR body:budget)", .not(t(.text, "budget"))),
            ("body:budget AND body:approved", .and([t(.body, "budget"), t(.body, "approved")])),
            ("body:walrus OR body:xylophone", .or([t(.body, "walrus"), t(.body, "xylophone")])),
            ("subject:lunch", t(.subject, "lunch")),
            ("body:budget AND from:carol", .and([t(.body, "budget"), t(.from, "carol")])),
            ("body:budget~", .fuzzy(t(.body, "budget"))),
            ("(hdr:café OR body:café)", t(.text, "café")),
            ("subject:Привет", t(.subject, "Привет")),
            ("body:東京", t(.body, "東京")),
            ("body:🎉", t(.body, "🎉")),
            ("(hdr:a\\ <\\ b OR body:a\\ <\\ b)", t(.text, "a < b")),
            ("body:C\\:\\\\temp", t(.body, "C:\\temp")),
            ("body:\\(a\\+b\\)\\*\\[c\\]", t(.body, "(a+b)*[c]")),
            ("body:john.doe@example.com", t(.body, "john.doe@example.com")),
            ("body:state\\-of\\-the\\-art", t(.body, "state-of-the-art")),
        ]
        for (q, want) in rows {
            XCTAssertEqual(try text(q), want, q)
        }
    }

    func testFuzzyOnlyWithoutEscapes() throws {
        XCTAssertEqual(try text("body:a\\~"), t(.body, "a~"))  // an escaped tilde is literal
        XCTAssertEqual(try text("(hdr:budget~ OR body:budget~)"), .fuzzy(t(.text, "budget")))
    }

    func testPercentEncodedUTF8() throws {
        let s = try SolrSelect.parse(query: "q=%7b!lucene+q.op%3dAND%7d(hdr:caf%c3%a9+OR+body:caf%C3%A9)&fq=%2Bbox:\(Self.g1)+%2Buser:alice")
        XCTAssertEqual(try s.query().text, t(.text, "café"))
        let spaced = try SolrSelect.parse(query: "q=%7b!lucene+q.op%3dAND%7dbody:brown%5c%20fox")
        XCTAssertEqual(spaced.q, "{!lucene q.op=AND}body:brown\\ fox")
        XCTAssertEqual(try SolrQuery.parse(q: spaced.q, fq: []).text, t(.body, "brown fox"))
    }

    // MARK: - §9.1 OR with negations

    func testOrWithNegationIsIMAPNot() throws {
        XCTAssertEqual(try text("-body:budget OR body:walrus"), .or([.not(t(.body, "budget")), t(.body, "walrus")]))
        XCTAssertEqual(try text("-body:budget OR -from:carol"), .or([.not(t(.body, "budget")), .not(t(.from, "carol"))]))
        XCTAssertEqual(try text("body:a AND -body:b"), .and([t(.body, "a"), .not(t(.body, "b"))]))
        XCTAssertEqual(try text("body:a NOT body:b"), .and([t(.body, "a"), .not(t(.body, "b"))]))
    }

    // MARK: - §9.2 empty values

    func testEmptyValues() throws {
        XCTAssertEqual(try text("subject:\"\""), .text(.subject, "", .substring))
        XCTAssertEqual(try text("-subject:\"\""), .not(.text(.subject, "", .substring)))
        XCTAssertEqual(try text("from:\"\""), .text(.from, "", .substring))
        XCTAssertEqual(try text("hdr:\"\""), .all)
        XCTAssertEqual(try text("body:\"\""), .all)
    }

    // MARK: - General syntax

    func testGeneralSyntax() throws {
        XCTAssertEqual(try text("*:*"), .all)
        XCTAssertEqual(try text("body:a body:b"), .and([t(.body, "a"), t(.body, "b")]))  // q.op=AND
        XCTAssertEqual(try text("body:a && body:b || body:c"), .or([.and([t(.body, "a"), t(.body, "b")]), t(.body, "c")]))
        XCTAssertEqual(try text("(body:a OR body:b) AND -(from:c)"), .and([.or([t(.body, "a"), t(.body, "b")]), .not(t(.from, "c"))]))
        XCTAssertEqual(try text("body:(a OR b)"), .or([t(.body, "a"), t(.body, "b")]))
        XCTAssertEqual(try text("body:\"brown fox\""), t(.body, "brown fox"))
        XCTAssertEqual(try text("+body:a +body:b"), .and([t(.body, "a"), t(.body, "b")]))
        // Without the prefix the default operator is OR, as in Solr; `+` is required.
        XCTAssertEqual(try SolrQuery.parse(q: "body:a body:b", fq: []).text, .or([t(.body, "a"), t(.body, "b")]))
        XCTAssertEqual(try SolrQuery.parse(q: "+body:a body:b", fq: []).text, t(.body, "a"))
        // Depth 32 is fine, 33 is not.
        let ok = String(repeating: "(", count: 32) + "body:a" + String(repeating: ")", count: 32)
        XCTAssertEqual(try SolrQuery.parse(q: ok, fq: []).text, t(.body, "a"))
    }

    func testRejectedQueries() {
        for q in ["", "{!lucene q.op=AND}", "{!lucene q.op=AND", "{!edismax}body:a", "foo:bar", "BODY:a", "budget",
                  "body:", "body:a)", "(body:a", "body:a\\", "body:bud*", "body:[a TO b]", "body:/re/", "AND body:a",
                  "body:a AND", "()", "body:\"abc", "body:a OR box:\(Self.g1)", "-box:\(Self.g1)",
                  "user:a AND user:b", "box:a AND box:b"] {
            assertRejected(q)
        }
        assertRejected(String(repeating: "(", count: 33) + "body:a" + String(repeating: ")", count: 33))
        assertRejected(String(repeating: "(", count: 10_000) + "body:a" + String(repeating: ")", count: 10_000))
        assertRejected(String(repeating: "(", count: 10_000))
        assertRejected("body:" + String(repeating: "x", count: 100_000))
        assertRejected(Array(repeating: "body:a", count: 5000).joined(separator: " OR "))
    }

    // MARK: - select parameters

    func testSelectParameters() throws {
        XCTAssertEqual(try SolrSelect.parse(query: "q=a&q=b").q, "b")
        XCTAssertEqual(try SolrSelect.parse(query: "fq=x&fq=y").fq, ["x", "y"])
        XCTAssertEqual(try SolrSelect.parse(query: "q=%C3%A9%c3%a9+x%20y").q, "éé x y")
        XCTAssertEqual(try SolrSelect.parse(query: "rows=99999999999999999999").rows, Int(Int32.max))
        XCTAssertEqual(try SolrSelect.parse(query: "rows=-3").rows, 0)
        XCTAssertEqual(try SolrSelect.parse(query: "wt=json").rows, 10)
        for bad in ["q=%zz", "q=%4", "q=abc%", "q=%ff", "rows=ten", "sort=uid", "sort=uid+up",
                    String(repeating: "a", count: (1 << 20) + 1)] {
            XCTAssertThrowsError(try SolrSelect.parse(query: bad), bad.prefix(40).description)
        }
    }

    // MARK: - /update bodies

    static let addBody = """
        <add><doc><field name="uid">1</field><field name="box">\(g1)</field><field name="user">alice</field>\
        <field name="id">1/\(g1)/alice</field><field name="body">Hello Alice,
        this is a plain hello world message about the quarterly budget.
        -- 
        Bob

        </field><field name="from">"Bob Builder" &lt;bob@lab.example&gt;
        </field><field name="cc"></field><field name="subject">a &amp; b &#233; &#x1F389;
        </field></doc><doc><field name="uid">2</field><field name="box">\(g1)</field><field name="user">alice</field>\
        <field name="id">2/\(g1)/alice</field><field name="body">
        </field></doc></add>
        """

    func testAddParsing() throws {
        let commands = try update(Self.addBody)
        XCTAssertEqual(commands.count, 1)
        guard case .add(let docs)? = commands.first else { return XCTFail("not an add") }
        XCTAssertEqual(docs.count, 2)
        let d = docs[0]
        XCTAssertEqual(d.fields["body"], "Hello Alice,\nthis is a plain hello world message about the quarterly budget.\n-- \nBob\n\n")
        XCTAssertEqual(d.fields["from"], "\"Bob Builder\" <bob@lab.example>\n")
        XCTAssertEqual(d.fields["cc"], "")
        XCTAssertEqual(d.fields["subject"], "a & b é 🎉\n")
        XCTAssertEqual(d.uid, 1)
        XCTAssertEqual(d.box, Self.g1)
        XCTAssertEqual(d.user, "alice")
        XCTAssertEqual(d.parsedID?.uid, 1)
        XCTAssertEqual(d.parsedID?.box, Self.g1)
        XCTAssertEqual(d.parsedID?.user, "alice")
        XCTAssertEqual(docs[1].fields["body"], "\n")
    }

    func testChunkBoundaryIndependence() throws {
        // The body is parsed whole, after de-chunking: any split and re-join gives the same result.
        let bytes = Array(Self.addBody.utf8)
        let whole = try SolrProtocol.parseUpdate(bytes)
        for size in [1, 2, 3, 7, 64, 8184] {
            var joined: [UInt8] = []
            var k = 0
            while k < bytes.count {
                joined += bytes[k..<min(bytes.count, k + size)]
                k += size
            }
            XCTAssertEqual(try SolrProtocol.parseUpdate(joined), whole)
        }
    }

    func testDeleteCommitAndWrapper() throws {
        XCTAssertEqual(try update("<delete><id>3/\(Self.g1)/alice</id><id>4/\(Self.g1)/alice</id></delete>"),
                       [.delete(ids: ["3/\(Self.g1)/alice", "4/\(Self.g1)/alice"])])
        XCTAssertEqual(try update("<commit softCommit=\"true\" waitSearcher=\"true\"/>"), [.commit])
        XCTAssertEqual(try update("<commit softCommit=\"true\" waitSearcher=\"false\"/>"), [.commit])
        let wrapped = try update("<update><add overwrite=\"true\" commitWithin=\"1000\"><doc><field name=\"id\">5/\(Self.g1)</field>"
            + "<field name=\"id\">6/\(Self.g1)</field></doc></add><delete><id>1/\(Self.g1)/a</id></delete><commit/><optimize/></update>")
        XCTAssertEqual(wrapped.count, 4)
        guard case .add(let docs) = wrapped[0] else { return XCTFail("not an add") }
        XCTAssertEqual(docs[0].parsedID?.uid, 6)  // a repeated field keeps the last value
        XCTAssertEqual(docs[0].parsedID?.user, "")  // public namespace id "<uid>/<guid>"
        XCTAssertEqual(Array(wrapped[1...]), [.delete(ids: ["1/\(Self.g1)/a"]), .commit, .optimize])
    }

    func testDocumentIDs() {
        XCTAssertEqual(SolrDocument.parseID("7/\(Self.g1)/alice")?.uid, 7)
        XCTAssertEqual(SolrDocument.parseID("7/\(Self.g1)/us/er")?.user, "us/er")
        XCTAssertEqual(SolrDocument.parseID("7/\(Self.g1)")?.user, "")
        for bad in ["", "7", "0/\(Self.g1)/a", "x/\(Self.g1)", "7//a", "4294967296/\(Self.g1)", "-1/g"] {
            XCTAssertNil(SolrDocument.parseID(bad), bad)
        }
    }

    func testRejectedUpdates() {
        let hostile: [String] = [
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
                + "<add><doc><field name=\"body\">&lol2;</field></doc></add>",
            "<!DOCTYPE add [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><add><doc><field name=\"body\">&x;</field></doc></add>",
            "", "  ", "<add>", "not xml", "<commit/><commit/>", "<foo/>",
            "<add><doc><field name=\"a\">x</doc></add>",
            "<add><doc><field name=\"a\">&undefined;</field></doc></add>",
            "<add><doc><field name=\"a\">&#0;</field></doc></add>",
            "<add><doc><field name=\"a\">\u{1}</field></doc></add>",
            "<add><doc><field>x</field></doc></add>",
            "<add><doc><field name=\"a\" update=\"set\">x</field></doc></add>",
            "<add><doc><doc/></doc></add>",
            "<delete><query>*:*</query></delete>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><commit/>",
            String(repeating: "<update>", count: 10_000),
        ]
        for h in hostile {
            XCTAssertThrowsError(try update(h), String(h.prefix(50)))
        }
        XCTAssertThrowsError(try SolrProtocol.parseUpdate([0x3C, 0xFF, 0x3E]))
        // A processing instruction without data crashes FoundationXML's XMLParser on Linux; here it is skipped.
        XCTAssertEqual(try update("<?p?><commit/><?q?>"), [.commit])
        let eleven = "<add>" + String(repeating: "<doc><field name=\"id\">1/g</field></doc>", count: 11) + "</add>"
        XCTAssertThrowsError(try SolrProtocol.parseUpdate(Array(eleven.utf8), maxDocuments: 10))
        XCTAssertNoThrow(try SolrProtocol.parseUpdate(Array(eleven.utf8), maxDocuments: 11))
    }

    func testLargeBody() throws {
        // Over libxml2's 10 MB single-buffer limit.
        let text = String(repeating: "lorem &amp; ipsum dolor sit amet\n", count: 330_000)
        let body = "<add><doc><field name=\"id\">1/\(Self.g1)/a</field><field name=\"body\">\(text)</field></doc></add>"
        guard case .add(let docs)? = try SolrProtocol.parseUpdate(Array(body.utf8)).first else { return XCTFail("not an add") }
        XCTAssertEqual(docs.first?.fields["body"]?.utf8.count, 330_000 * "lorem & ipsum dolor sit amet\n".utf8.count)
    }

    // MARK: - Responses

    func testSelectResponse() {
        let xml = SolrProtocol.selectResponse(docs: [(uid: 7, box: "g<&>\"'", score: 1.5), (uid: 9, box: nil, score: nil)], numFound: 2)
        XCTAssertEqual(xml, """
            <?xml version="1.0" encoding="UTF-8"?>
            <response>
            <lst name="responseHeader"><int name="status">0</int><int name="QTime">0</int></lst>
            <result name="response" numFound="2" start="0"><doc><long name="uid">7</long><float name="score">1.5</float>\
            <str name="box">g&lt;&amp;&gt;&quot;&apos;</str></doc><doc><long name="uid">9</long></doc></result>
            </response>

            """)
    }

    func testUpdateAndErrorResponses() {
        XCTAssertTrue(SolrProtocol.updateResponse().contains(
            "<lst name=\"responseHeader\"><int name=\"status\">0</int><int name=\"QTime\">0</int></lst>"))
        let err = SolrProtocol.errorResponse(code: 400, message: "undefined field <x> & \u{1}")
        XCTAssertTrue(err.contains(
            "<lst name=\"error\"><str name=\"msg\">undefined field &lt;x&gt; &amp; \u{FFFD}</str><int name=\"code\">400</int></lst>"), err)
    }
}
