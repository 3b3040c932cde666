import Foundation
@testable import IndexEngine
import IndexFormat
import Ingest
import MailsiftCore
import Testing

/// A large merge splits its terms pass at keys into ranges that threads claim one at a time,
/// and compresses stored blocks several at a time: the files must be the very bytes one
/// thread writes, on real mail with deletions.
@Suite struct ParallelMergeTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ham = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/easy_ham").path
    static let samples = repositoryRoot.appendingPathComponent("corpus/samples").path

    func temp() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-pmerge-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func splitMergeWritesTheSameBytesAsOneThread() throws {
        let data = try temp(), mail = try temp(), out = try temp()
        defer { for d in [data, mail, out] { try? FileManager.default.removeItem(atPath: d) } }
        // Real mail when the shared corpus is there (400 messages), else the bundled samples.
        let source = FileManager.default.fileExists(atPath: Self.ham) ? Self.ham : Self.samples
        let names = try FileManager.default.contentsOfDirectory(atPath: source).sorted().filter { !$0.hasPrefix(".") }.prefix(400)
        let indexer = try UserIndexer(dataRoot: data, user: "u")
        // Four commits: four segments (the tiered policy merges at eight).
        for (k, chunk) in stride(from: 0, to: names.count, by: max(1, names.count / 4)).map({ names[$0..<min(names.count, $0 + max(1, names.count / 4))] }).enumerated() {
            for name in chunk { try FileManager.default.copyItem(atPath: source + "/" + name, toPath: mail + "/\(k)-" + name) }
            _ = try indexer.index([mail])
        }
        // Deletions, so the merge renumbers and drops documents (and terms only they had).
        let files = try FileManager.default.contentsOfDirectory(atPath: mail).sorted()
        for (i, f) in files.enumerated() where i % 7 == 3 { try FileManager.default.removeItem(atPath: mail + "/" + f) }
        #expect(try indexer.index([mail]).removed > 0)
        let dir = try UserDirectory(dataRoot: data, user: "u")
        let reader = try IndexReader(directory: dir)
        #expect(reader.segments.count > 1)
        let inputs = reader.segments.map { (reader: $0.reader, deletions: $0.deletions) }
        // The split keys exist: several ranges really run on other threads and are appended.
        let keys = try SegmentMerger.splitKeys(inputs, splitAbove: 0, parts: 4)
        #expect(keys.count >= 2)
        for (a, b) in zip(keys, keys.dropFirst()) {
            #expect(a.withUnsafeBytes { x in b.withUnsafeBytes { termKeyCompare(x, $0) } } < 0)
        }

        func merged(_ name: String, parallel: Bool, parts: Int = SegmentMerger.defaultParts) throws -> [[UInt8]] {
            let output = try SegmentOutput(directory: out, name: name)
            let count = try SegmentMerger.merge(inputs, storedCompressionLevel: 4, into: output, parallel: parallel, splitAbove: 0, parts: parts)
            try output.finish()
            #expect(Int(count) == reader.documentCount)
            return try SegmentFiles.kinds.map { kind in Array(try Data(contentsOf: URL(fileURLWithPath: SegmentFiles.path(out, name, kind)))) }
        }
        let one = try merged("seg_one", parallel: false)
        let split = try merged("seg_split", parallel: true)
        // Two ranges (one scratch part) and more ranges than the ham's dictionary has blocks.
        let halves = try merged("seg_halves", parallel: true, parts: 2)
        let many = try merged("seg_many", parallel: true, parts: 64)
        for (k, kind) in SegmentFiles.kinds.enumerated() {
            for (label, other) in [("split", split), ("halves", halves), ("many", many)] {
                let same = one[k] == other[k]  // (a Bool: the arrays are megabytes)
                #expect(same, "\(label) \(kind): \(one[k].count) vs \(other[k].count) bytes")
            }
        }
        // And the split segment reads back: every live document's terms are found.
        let entry = Manifest.SegmentEntry(name: "seg_split", documentCount: UInt32(reader.documentCount), deletionsGeneration: 0,
                                          deletedCount: 0, fileSizes: split.map { UInt64($0.count) })
        let segment = try SegmentReader(directory: out, entry: entry)
        #expect(segment.terms.termCount > 0)
        // No scratch file is left next to the segments.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".split-") }.isEmpty)
    }
}
