import Catalog
import Foundation
import IndexEngine
import Ingest
@testable import Query
import Testing

/// IMAP substring search through the `unindexed` runs: text the dictionary has no term for
/// (long tokens, base64 runs, characters outside words that fold to letters or digits) is
/// still found, exactly, without reading the whole body.
@Suite struct UnindexedRunsTests {
    @Test func keysInTextWithoutTermsAreFound() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-runs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let long = String(repeating: "q", count: 70) + "needlezz" + String(repeating: "r", count: 10)
        let bodies = [
            "Emissions of CO\u{2082} rose; see Acme\u{2122} and item \u{2460}x.\r\n",          // hazards only
            "A hash \(long) follows.\r\nAnd H\u{2082}O too.\r\n",                              // long token and a hazard
            "Plain words only here.\r\n",
        ]
        try FileManager.default.createDirectory(atPath: tmp + "/mail", withIntermediateDirectories: true)
        for (k, body) in bodies.enumerated() {
            let text = "From: a@example.com\r\nSubject: m\(k)\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
            try text.write(toFile: tmp + "/mail/\(k).eml", atomically: true, encoding: .utf8)
        }
        _ = try UserIndexer(dataRoot: tmp + "/data", user: "u").index([tmp + "/mail"])
        let dir = try UserDirectory(dataRoot: tmp + "/data", user: "u")
        let engine = QueryEngine(reader: try IndexReader(directory: dir), catalog: try Catalog(path: dir.catalogPath))
        func body(_ key: String) throws -> [Int64] {
            var o = SearchOptions()
            o.limit = 100
            o.sort = .uid
            o.snippets = false
            return try engine.search(.text(.body, key, .substring), options: o).hits.map(\.uid).sorted()
        }
        let uids = try engine.search(.all, options: { var o = SearchOptions(); o.sort = .uid; o.snippets = false; return o }()).hits
        #expect(uids.count == 3)
        #expect(try body("co2") == [1])          // CO + subscript two
        #expect(try body("acmetm") == [1])       // Acme + trade mark sign
        #expect(try body("1x") == [1])           // circled one + x
        #expect(try body("needlezz") == [2])     // inside a token too long to index
        #expect(try body("h2o") == [2])
        #expect(try body("words") == [3])
        #expect(try body("co3").isEmpty && body("needlezy").isEmpty)
    }
}
