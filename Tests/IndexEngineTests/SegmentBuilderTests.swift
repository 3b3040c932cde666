import Foundation
@testable import IndexEngine
import IndexFormat
import MailsiftCore
import Testing
import TestSupport

/// The in-memory side of indexing against brute force: the slice pool's streams, and the
/// segment a builder writes for random documents (terms in any order, repeated at the same
/// position, long and short lists, many fields).
@Suite struct SegmentBuilderTests {
    @Test func slicePoolStreamsRoundTrip() {
        var rng = SplitMix64(seed: 11)
        let pool = ByteSlicePool()
        var streams: [(start: UInt32, upto: UInt32, values: [UInt32])] = []
        for _ in 0..<3000 {
            let s = pool.newStream()
            streams.append((s, s, []))
        }
        // Interleaved appends, so every stream's slices are scattered over many pages.
        for _ in 0..<200_000 {
            let k = Int(rng.next() % UInt64(streams.count))
            let v: UInt32 = rng.next() % 4 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(rng.next() % 200)
            pool.appendVarint(v, &streams[k].upto)
            streams[k].values.append(v)
        }
        for s in streams {
            var r = ByteSlicePool.Reader(pool: pool, start: s.start, end: s.upto)
            var got: [UInt32] = []
            while !r.atEnd { got.append(r.varint()) }
            #expect(got == s.values)
        }
    }

    @Test(arguments: [1, 2] as [UInt64])
    func writtenSegmentMatchesBruteForce(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let vocabulary = (0..<400).map { i in i % 50 == 0 ? "long-term-\(i)-" + String(repeating: "x", count: 40) : "t\(i)" } + ["é", "日本", "the"]
        // Expected: (field, term) → doc → positions (deduplicated, sorted).
        var expected: [String: [UInt32: Set<UInt32>]] = [:]
        var builder = SegmentBuilder()
        let docCount = 700
        for d in 0..<docCount {
            var fields: [IndexDocument.FieldTerms] = []
            for field in [Field.subject, .body, .to] where rng.next() % 4 != 0 {
                var terms: [(term: String, position: UInt32)] = []
                let n = Int(rng.next() % 60)
                for i in 0..<n {
                    // Zipf-ish: low indexes (long lists) far more often.
                    let r = Int(rng.next() % UInt64(vocabulary.count))
                    let term = vocabulary[rng.next() % 2 == 0 ? r / 8 : r]
                    let position = rng.next() % 10 == 0 ? UInt32(rng.next() % 40) : UInt32(i)
                    terms.append((term, position))
                    if rng.next() % 20 == 0 { terms.append((term, position)) }  // stacked twice
                    expected["\(field.rawValue)/\(term)", default: [:]][UInt32(d), default: []].insert(position)
                }
                if rng.next() % 3 == 0 { terms.shuffle(using: &rng) }
                fields.append(IndexDocument.FieldTerms(field: field, terms: terms))
            }
            builder.add(IndexDocument(id: Int64(d), fields: fields, stored: [(.subject, "doc \(d)")],
                                      values: DocumentValues(id: Int64(d), internalDate: 0, sentDate: 0, size: 0, mailbox: 1, uid: Int64(d))))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-builder-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try SegmentOutput(directory: dir, name: "seg_test")
        try builder.write(to: out)
        try out.finish()
        let entry = Manifest.SegmentEntry(name: "seg_test", documentCount: UInt32(docCount), deletionsGeneration: 0, deletedCount: 0, fileSizes: out.sizes)
        let reader = try SegmentReader(directory: dir, entry: entry)
        #expect(reader.terms.termCount == expected.count)
        for (key, docs) in expected {
            let parts = key.split(separator: "/", maxSplits: 1)
            let field = UInt8(parts[0]) ?? 0
            let info = try #require(try reader.terms.lookup([field] + Array(parts[1].utf8)), "\(key)")
            var it = try reader.postings.iterator(info)
            var got: [UInt32: [UInt32]] = [:]
            while it.doc != PostingsIterator.noMoreDocs {
                got[it.doc] = try it.positions()
                _ = try it.next()
            }
            #expect(got == docs.mapValues { $0.sorted() }, "\(key)")
        }
    }
}
