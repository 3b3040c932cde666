import Foundation
import IndexEngine
import IndexFormat
import MailsiftCore
import Ingest
import Testing
import TestSupport

/// The per-segment term filter is built once the segment's dictionary searches pay for it,
/// never hides a term the segment has (every key of a real segment's dictionary passes) and
/// turns most absent ones away (the lookups it saves).
@Suite struct TermFilterTests {
    static let corpus = spamAssassinFolder("easy_ham")

    /// The one segment of an index of the corpus's first `count` messages, made at `path`.
    static func segment(of count: Int, at path: String) throws -> SegmentReader {
        _ = try UserIndexer(dataRoot: path, user: "f").index(try corpusMessages(corpus, count: count))
        let reader = try IndexReader(directory: try UserDirectory(dataRoot: path, user: "f"))
        return try #require(reader.segments.first?.reader)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func presentKeysPassAbsentOnesMostlyDoNot() throws {
        let tmp = scratchPath("termfilter")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let segment = try Self.segment(of: 300, at: tmp)
        var keys: [[UInt8]] = []
        let cursor = TermCursor(segment.terms)
        while try cursor.next() { keys.append(Array(cursor.key)) }
        #expect(keys.count > 10_000)
        // No filter until the segment has searched its dictionary a 64th of its keys' times
        // (a one-shot query does not pay for reading every key); then one.
        #expect(segment.filterAfterLookups == keys.count / 64)
        #expect(segment.termFilter() == nil)
        for k in keys.prefix(segment.filterAfterLookups - 1) { _ = try segment.lookup(k, hashes: TermKeyHashes(k)) }
        #expect(segment.termFilter() == nil)
        _ = try segment.lookup(keys[keys.count - 1], hashes: TermKeyHashes(keys[keys.count - 1]))
        let filter = try #require(segment.termFilter())
        func mayContainTerm(_ key: [UInt8]) -> Bool { filter.mayContain(TermKeyHashes(key)) }
        #expect(keys.allSatisfy { mayContainTerm($0) })
        // Absent keys: each present key with a byte appended that makes it new.
        let present = Set(keys)
        var absent = 0, passed = 0
        for k in keys.prefix(20_000) {
            let probe = k + [0x7e, 0x71]
            guard !present.contains(probe) else { continue }
            absent += 1
            if mayContainTerm(probe) { passed += 1 }
        }
        #expect(absent > 10_000)
        #expect(Double(passed) / Double(absent) < 0.03, "\(passed) of \(absent) absent keys passed")
    }

    /// A segment remembers its term lookups (present and absent keys alike): remembered
    /// answers equal the dictionary's, on the first and the second asking, and the memory
    /// stays within its cap when more keys are asked than it keeps.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func rememberedLookupsEqualTheDictionary() throws {
        let tmp = scratchPath("lookups")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let segment = try Self.segment(of: 300, at: tmp)
        var keys: [[UInt8]] = []
        let cursor = TermCursor(segment.terms)
        while try cursor.next() { keys.append(Array(cursor.key)) }
        #expect(keys.count > 10_000)
        // Present keys, each followed by an absent one (a byte appended): more than it keeps.
        var probes: [[UInt8]] = []
        for k in keys { probes += [k, k + [0x7e, 0x71]] }
        for round in 0..<2 {
            var found = 0
            for k in probes {
                let remembered = try segment.lookup(k, hashes: TermKeyHashes(k))
                #expect(remembered == (try segment.terms.lookup(k)), "round \(round)")
                if remembered != nil { found += 1 }
            }
            #expect(found >= keys.count, "round \(round)")
            #expect(segment.rememberedLookups > 0 && segment.rememberedLookups <= 16_384)
        }
    }

    /// Substring search of a segment's terms answers the same on its first searches (the
    /// dictionary scanned) as once the term text is built, limits included (nil past it).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func substringTermsAreTheSameScannedOrFromTheTermText() throws {
        let tmp = scratchPath("substring-terms")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let segment = try Self.segment(of: 200, at: tmp)
        let body = Field.body.rawValue
        var keys: [[UInt8]] = []
        let cursor = TermCursor(segment.terms)
        while try cursor.next() { if cursor.key.first == body { keys.append(Array(cursor.key)) } }
        #expect(keys.count > 5_000)
        let needles: [[UInt8]] = ["e", "th", "mail", "spam", "zzzqx", "ing", "http", ""].map { Array($0.utf8) } + [[0x61, 0]]
        // Each (needle, limit) on a segment opened afresh: its first searches scan the
        // dictionary, the next ones use the term text; all must give `want`.
        let directory = try UserDirectory(dataRoot: tmp, user: "f")
        for needle in needles {
            let want = needle.contains(0) ? [] : keys.filter { k in
                needle.isEmpty || k.count > needle.count && (1...(k.count - needle.count)).contains { Array(k[$0..<($0 + needle.count)]) == needle }
            }
            for limit in [Int.max, 50, 3] {
                let fresh = try #require(try IndexReader(directory: directory).segments.first?.reader)
                for round in 0..<(SegmentReader.termTextAfterScans + 2) {
                    let got = try fresh.terms(body, containing: needle, limit: limit)
                    let what = "round \(round), \(String(decoding: needle, as: UTF8.self)), limit \(limit)"
                    if want.count > limit {
                        #expect(got == nil, "\(what)")
                    } else {
                        let found = try #require(got, "\(what)")
                        let same = found.map(\.0) == want
                        #expect(same, "\(what): \(found.count) terms, \(want.count) wanted")
                        #expect(try found.allSatisfy { try fresh.terms.lookup($0.0) == $0.1 })
                    }
                }
            }
        }
    }
}
