import Foundation
import IndexEngine
import IndexFormat
import Ingest
import Testing
import TestSupport

/// The per-segment term filter never hides a term the segment has (every key of a real
/// segment's dictionary passes) and turns most absent ones away (the lookups it saves).
@Suite struct TermFilterTests {
    static let corpus = spamAssassinFolder("easy_ham")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus)))
    func presentKeysPassAbsentOnesMostlyDoNot() throws {
        let tmp = scratchPath("termfilter")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        _ = try UserIndexer(dataRoot: tmp, user: "f").index(try corpusMessages(Self.corpus, count: 300))
        let reader = try IndexReader(directory: try UserDirectory(dataRoot: tmp, user: "f"))
        let segment = try #require(reader.segments.first?.reader)
        let filter = try #require(segment.termFilter())
        func mayContainTerm(_ key: [UInt8]) -> Bool { filter.mayContain(TermKeyHashes(key)) }
        var keys: [[UInt8]] = []
        let cursor = TermCursor(segment.terms)
        while try cursor.next() { keys.append(Array(cursor.key)) }
        #expect(keys.count > 10_000)
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
        _ = try UserIndexer(dataRoot: tmp, user: "f").index(try corpusMessages(Self.corpus, count: 300))
        let reader = try IndexReader(directory: try UserDirectory(dataRoot: tmp, user: "f"))
        let segment = try #require(reader.segments.first?.reader)
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
}
