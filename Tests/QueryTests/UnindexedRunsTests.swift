import Catalog
import Foundation
import IndexEngine
import Ingest
import IndexFormat
import Analysis
@testable import Query
import TestSupport
import MailsiftCore
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

/// IMAP BODY on real spam (base64 and HTML runs, odd characters: many messages keep
/// unindexed runs), several segments: the answers equal a brute-force check of every live
/// message's stored body and attachment text, for keys taken from the runs themselves (only
/// there, or also in terms) and for words. The runs are checked from the per-segment folded
/// copy kept after the first search (`Execution.foldedRuns`), so this also holds it to the
/// stored text.
@Suite struct FoldedRunsTests {
    static let corpus = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/spam_2").path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func bodySearchEqualsBruteForce() throws {
        let tmp = scratchPath("foldedruns")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        _ = try UserIndexer(dataRoot: tmp, user: "r", ramBudget: 2 << 20).index(try corpusMessages(Self.corpus, count: 600), merge: false)
        let dir = try UserDirectory(dataRoot: tmp, user: "r")
        let reader = try IndexReader(directory: dir)
        #expect(reader.segments.count > 1)
        // Brute force: every live message's stored body and attachment text, folded.
        var texts: [(uid: Int64, folded: [UInt8])] = []
        var runs: [String] = []
        for (segment, deletions) in reader.segments {
            for d in 0..<segment.documentCount where !deletions.isDeleted(d) {
                var all: [UInt8] = []
                for (f, text) in try segment.stored.document(d) {
                    if f == Field.body.rawValue || f == Field.attachmentText.rawValue { all += Execution.foldPiecewise(text) + [0x0A] }
                    if f == Field.unindexed.rawValue { runs += text.split(separator: "\n").map(String.init) }
                }
                texts.append((try segment.value(.uid, d), all))
            }
        }
        #expect(runs.count > 50, "messages with runs: \(runs.count)")
        // Keys: pieces of runs (word characters only, 4-12 of them), and plain words.
        var rng = SplitMix64(seed: 9)
        var keys = ["the", "money", "click", "remove", "viagra", "qqqzzz"]
        for _ in 0..<40 {
            let run = Array(runs[Int(rng.next() % UInt64(runs.count))].unicodeScalars.filter { Execution.isWordScalar($0) })
            guard run.count >= 4 else { continue }
            let n = 4 + Int(rng.next() % UInt64(min(9, run.count - 3)))
            let at = Int(rng.next() % UInt64(run.count - n + 1))
            keys.append(String(String.UnicodeScalarView(run[at..<(at + n)])))
        }
        let engine = QueryEngine(reader: reader, catalog: try Catalog(path: dir.catalogPath))
        var o = SearchOptions()
        o.limit = 10_000
        o.sort = .uid
        o.snippets = false
        var found = 0
        for key in keys {
            let needle = Array(TextNormalizer.caseFold(key).utf8)
            let expected = texts.filter { t in t.folded.withUnsafeBufferPointer { h in needle.withUnsafeBufferPointer { ByteSearch.firstIndex(of: $0, in: h) != nil } } }.map(\.uid).sorted()
            // Twice: the first search builds the folded runs, the second uses them.
            for _ in 0..<2 {
                let got = try engine.search(.text(.body, key, .substring), options: o).hits.map(\.uid).sorted()
                #expect(got == expected, "BODY \(key): \(got.count) vs \(expected.count)")
            }
            if !expected.isEmpty { found += 1 }
        }
        #expect(found >= 25)
    }
}
