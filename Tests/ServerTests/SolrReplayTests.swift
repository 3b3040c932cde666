import Foundation
import Server
import Testing
import TestSupport

/// Dovecot's own traffic, replayed: the requests a real Dovecot 2.3.19 sent while 30 messages
/// were appended (`../shared/dovecot/captures/solr-traffic.log`), then every search it sent,
/// answered by the daemon and compared with what Dovecot *without* fts answers for the same
/// IMAP criterion (the ground truth, `comparison-table.txt`).
@Suite(.serialized) struct SolrReplayTests {
    static let captures = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/dovecot/captures").path

    struct Captured {
        var mark: String
        var method: String
        var path: String
        var body: [UInt8]
    }

    /// The log's requests in order, each with the step (MARK) it belongs to.
    static func requests() throws -> [Captured] {
        let log = try String(contentsOfFile: captures + "/solr-traffic.log", encoding: .utf8)
        var out: [Captured] = []
        var mark = ""
        let lines = log.components(separatedBy: "\n")
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if line.hasPrefix("######## MARK #") {
                mark = line.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
            } else if line.hasPrefix("=== #"), i + 1 < lines.count {
                let request = lines[i + 1].split(separator: " ")
                guard request.count == 3 else { i += 1; continue }
                var c = Captured(mark: mark, method: String(request[0]), path: String(request[1]), body: [])
                var j = i + 2
                while j < lines.count, !lines[j].hasPrefix("-- body"), !lines[j].hasPrefix("-- response"), !lines[j].hasPrefix("=== #") { j += 1 }
                if j < lines.count, lines[j].hasPrefix("-- body") {
                    var body: [String] = []
                    j += 1
                    while j < lines.count, !lines[j].hasPrefix("-- response") { body.append(lines[j]); j += 1 }
                    c.body = Array(body.joined(separator: "\n").utf8)
                }
                out.append(c)
                i = j
                continue
            }
            i += 1
        }
        return out
    }

    /// Criterion → the UIDs Dovecot without fts answers (the fts column where both agree).
    static func truth() throws -> [String: [Int]] {
        let table = try String(contentsOfFile: captures + "/comparison-table.txt", encoding: .utf8)
        var out: [String: [Int]] = [:]
        for line in table.split(separator: "\n").dropFirst() {
            guard let agree = line.range(of: #"  (True|False)  "#, options: .regularExpression) else { continue }
            let criterion = line[..<agree.lowerBound].trimmingCharacters(in: .whitespaces)
            let rest = String(line[agree.upperBound...])
            let list = rest.range(of: "oracle=").map { String(rest[$0.upperBound...]) } ?? rest
            out[criterion] = Self.numbers(list.components(separatedBy: "]")[0])
        }
        return out
    }

    static func numbers(_ s: String) -> [Int] {
        s.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }

    static func uids(_ xml: String) -> [Int] {
        xml.components(separatedBy: "<long name=\"uid\">").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
    }

    @Test func dovecotTrafficAnsweredIMAPExact() throws {
        let daemon = try Daemon(name: "solr")
        let c = daemon.client()
        let all = try Self.requests()
        #expect(all.count > 100)
        // Section A: the appends (last-UID lookups, adds, commits), as sent.
        for r in all where r.mark.hasPrefix("A ") {
            let resp = try c.request(r.method, r.path, body: r.body, headers: [("Content-Type", "text/xml")])
            #expect(resp.status == 200, "\(r.method) \(r.path): \(resp.text)")
        }
        let box = "07aa092a73cd0b6bfc12000083ecc375"
        let lastUID = try c.get("/solr/dovecot/select?wt=xml&fl=uid&rows=1&sort=uid+desc&q=box:\(box)+AND+user:alice")
        #expect(Self.uids(lastUID.text) == [30])

        // Section B: each search criterion's requests.
        let truth = try Self.truth()
        var byCriterion: [String: [Captured]] = [:]
        for r in all where r.mark.hasPrefix("B search: ") && r.method == "GET" && r.path.contains("%7b!lucene") {
            byCriterion[String(r.mark.dropFirst("B search: ".count)), default: []].append(r)
        }
        // Dovecot sends HEADER keys as "maybe" queries and re-checks every hit itself: a
        // superset is right. FUZZY is ours to define (RFC 6203): it must find at least the
        // exact matches. Where Dovecot's fts input differs from the raw mail (HTML decoded
        // before indexing, §9.4) the answer follows the text Dovecot sent.
        let maybe: Set<String> = ["HEADER X-Foo zebra", "HEADER X-Foo \"\"", "HEADER Message-ID msg001", "HEADER Subject hello",
                                  "HEADER Reply-To replies", "FUZZY BODY budgit", "FUZZY BODY budget"]
        let fromDovecotText: [String: [Int]] = ["TEXT café": [5, 25], "BODY nbsp": []]
        // Keys Dovecot evaluates itself besides the text key (dates, flags): the text part alone.
        let textPart: [String: String] = ["BODY budget SINCE 1-Jan-2024": "BODY budget", "OR BODY budget SEEN": "BODY budget",
                                          "UNSEEN BODY budget": "BODY budget"]
        var compared = 0
        for (criterion, requests) in byCriterion.sorted(by: { $0.key < $1.key }) {
            var union = Set<Int>()
            for r in requests {
                let resp = try c.get(r.path)
                #expect(resp.status == 200, "\(criterion): \(resp.text)")
                union.formUnion(Self.uids(resp.text))
            }
            let key = textPart[criterion] ?? criterion
            guard let expected = fromDovecotText[key] ?? truth[key] else {
                Issue.record("no ground truth for \(criterion)")
                continue
            }
            if maybe.contains(criterion) {
                #expect(union.isSuperset(of: expected), "\(criterion): \(union.sorted()) misses some of \(expected)")
            } else {
                #expect(union.sorted() == expected, "\(criterion)")
            }
            compared += 1
        }
        #expect(compared >= 50)

        // Expunge as Dovecot sends it (Expect: 100-continue, then the body), then a search.
        let delete = "<delete><id>3/\(box)/alice</id><id>4/\(box)/alice</id><id>999/\(box)/nobody</id></delete>"
        let raw = Array(("POST /solr/dovecot/update HTTP/1.1\r\nHost: 127.0.0.1:8983\r\nContent-Type: text/xml\r\n" +
            "Content-Length: \(delete.utf8.count)\r\nExpect: 100-continue\r\n\r\n").utf8)
        let expecting = daemon.client()
        try expecting.sendRaw(raw)
        // The 100 arrives before the body is sent (else Dovecot would wait 2 s).
        let continueLine = try expecting.readInterim()
        #expect(continueLine.hasPrefix("HTTP/1.1 100"))
        try expecting.sendRaw(Array(delete.utf8))
        #expect(try expecting.readRaw(method: "POST").status == 200)
        let afterDelete = try c.get("/solr/dovecot/select?wt=xml&fl=uid,score&rows=31&sort=uid+asc&q=%7b!lucene+q.op%3dAND%7dto:alice&fq=%2Bbox:\(box)+%2Buser:alice")
        #expect(Set(Self.uids(afterDelete.text)).isDisjoint(with: [3, 4]))
        #expect(Self.uids(afterDelete.text).count == (truth["TO alice"]?.count ?? 0) - 2)

        // A chunked add (Dovecot streams <add> batches), overwriting uid 1 by id.
        let add = "<add><doc><field name=\"uid\">1</field><field name=\"box\">\(box)</field><field name=\"user\">alice</field>" +
            "<field name=\"id\">1/\(box)/alice</field><field name=\"body\">zqchunked replacement &amp; more\n</field>" +
            "<field name=\"subject\"></field><field name=\"hdr\">X-Test: 1\n</field></doc></add>"
        var chunked = Array("POST /solr/dovecot/update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n".utf8)
        for piece in Array(add.utf8).chunked(17) {
            chunked += Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]
        }
        chunked += Array("0\r\n\r\n".utf8)
        let chunkClient = daemon.client()
        try chunkClient.sendRaw(chunked)
        #expect(try chunkClient.readRaw(method: "POST").status == 200)
        let found = try c.get("/solr/dovecot/select?wt=xml&fl=uid&rows=31&sort=uid+asc&q=%7b!lucene+q.op%3dAND%7dbody:zqchunked&fq=%2Bbox:\(box)+%2Buser:alice")
        #expect(Self.uids(found.text) == [1])
        // The new version has no Subject header: SUBJECT "" no longer matches it.
        let hasSubject = try c.get("/solr/dovecot/select?wt=xml&fl=uid&rows=31&sort=uid+asc&q=%7b!lucene+q.op%3dAND%7dsubject:%22%22&fq=%2Bbox:\(box)+%2Buser:alice")
        #expect(!Self.uids(hasSubject.text).contains(1) && Self.uids(hasSubject.text).contains(2))
        let oldText = try c.get("/solr/dovecot/select?wt=xml&fl=uid&rows=31&sort=uid+asc&q=%7b!lucene+q.op%3dAND%7dsubject:hello&fq=%2Bbox:\(box)+%2Buser:alice")
        #expect(!Self.uids(oldText.text).contains(1))

        // Multi-mailbox form (virtual mailboxes): every doc carries its box.
        let multi = try c.get("/solr/dovecot/select?wt=xml&fl=box,uid,score&rows=100000&sort=box+asc,uid+asc&q=%7b!lucene+q.op%3dAND%7dbody:budget&fq=%2Buser:alice")
        #expect(multi.text.contains("<str name=\"box\">\(box)</str>"))
        // Malformed requests: Solr-style XML errors, never a crash.
        #expect(try c.get("/solr/dovecot/select?q=%7b!lucene%7dbody:(unbalanced").status == 400)
        #expect(try c.get("/solr/dovecot/select?q=body:x").status == 400)  // no user
        #expect(try c.request("POST", "/solr/dovecot/update", body: Array("<add><doc>".utf8)).status == 400)
        #expect(try c.request("POST", "/solr/dovecot/update", body: Array("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><add/>".utf8)).status == 400)
        // An unknown user has no hits (Dovecot asks before anything is indexed).
        #expect(Self.uids(try c.get("/solr/dovecot/select?wt=xml&fl=uid&rows=1&sort=uid+desc&q=box:\(box)+AND+user:zed").text).isEmpty)
        #expect(daemon.stop() == 0)
    }
}

extension Array {
    func chunked(_ n: Int) -> [[Element]] {
        stride(from: 0, to: count, by: n).map { Array(self[$0..<Swift.min(count, $0 + n)]) }
    }
}
