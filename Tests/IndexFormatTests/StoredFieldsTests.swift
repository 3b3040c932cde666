import Foundation
import Testing
@testable import IndexFormat
import TestSupport

@Suite struct StoredFieldsTests {
    static let samples = ["", "Re: Meeting tomorrow", "alice@example.com, Bob <bob@example.org>", "Grüße aus München", "日本語のメール本文です。",
                          "e\u{301}", "é", "🙂👍🏽 family: 👨‍👩‍👧", "line one\r\nline two\n\ttabbed", "\u{0}nul inside"]

    static func randomDocs(_ n: Int, seed: UInt64, huge: Bool = true) -> [[(UInt8, String)]] {
        var rng = SplitMix64(seed: seed)
        var docs: [[(UInt8, String)]] = []
        for i in 0..<n {
            var fields: [(UInt8, String)] = []
            for _ in 0..<Int(rng.next() % 6) {
                let id = UInt8(truncatingIfNeeded: rng.next())
                var v: String
                switch rng.next() % 4 {
                case 0: v = samples[Int(rng.next() % UInt64(samples.count))]
                case 1: v = (0..<Int(rng.next() % 400)).map { _ in samples[Int(rng.next() % UInt64(samples.count))] }.joined(separator: " ")
                case 2: v = String(String.UnicodeScalarView((0..<Int(rng.next() % 300)).compactMap { _ in Unicode.Scalar(UInt32(rng.next() % 0x2_0000)) }))
                default: v = ""
                }
                if huge, i % 97 == 13, fields.isEmpty { v = String(repeating: "huge value ✉️ ", count: 1_000_000 / 16) }
                fields.append((id, v))
            }
            docs.append(fields)
        }
        return docs
    }

    /// Compares by UTF-8 bytes: String == would accept a canonically equivalent change.
    static func same(_ a: [(UInt8, String)], _ b: [(UInt8, String)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && Array($0.1.utf8) == Array($1.1.utf8) }
    }

    static func build(_ docs: [[(UInt8, String)]], level: Int, target: Int = StoredFieldsFormat.defaultTargetBlockSize) throws -> [UInt8] {
        var w = StoredFieldsWriter(compressionLevel: Int32(level), targetBlockSize: target)
        for (i, d) in docs.enumerated() { #expect(w.add(document: d) == UInt32(i)) }
        #expect(w.truncatedDocuments == 0)
        return w.finish()
    }

    @Test(arguments: [0, 9])
    func roundTrip(level: Int) throws {
        let docs = Self.randomDocs(600, seed: UInt64(level) + 1)
        let file = try Self.build(docs, level: level)
        var rng = SplitMix64(seed: 3)
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.documentCount == docs.count)
            #expect(r.blockCount > 1)
            for (i, d) in docs.enumerated() { #expect(Self.same(try r.document(UInt32(i)), d), "doc \(i)") }
            for _ in 0..<500 {  // random order defeats the one-block cache
                let i = Int(rng.next() % UInt64(docs.count))
                #expect(Self.same(try r.document(UInt32(i)), docs[i]))
            }
            #expect(throws: IndexFormatError.self) { _ = try r.document(UInt32(docs.count)) }
            #expect(throws: IndexFormatError.self) { _ = try r.document(.max) }
        }
    }

    /// Document `i` read through `reader` with only `pick`: the first value of each picked field
    /// of the whole document (read through `whole`), in order.
    static func expectSelected(_ reader: StoredFieldsReader, whole: StoredFieldsReader, doc i: Int, _ pick: Set<UInt8>) throws {
        let got = try reader.document(UInt32(i), only: pick)
        var taken = Set<UInt8>()
        let want = try whole.document(UInt32(i)).filter { pick.contains($0.0) && taken.insert($0.0).inserted }
        #expect(got.map(\.0) == want.map(\.0) && got.map(\.1) == want.map(\.1), "doc \(i)")
    }

    /// Reading a few fields (from the start of a large block, decoded partly) gives exactly
    /// those fields of the whole document, for every document and several field choices.
    @Test func selectedFieldsEqualTheWholeDocument() throws {
        let docs = Self.randomDocs(400, seed: 9, huge: false)
        var w = StoredFieldsWriter(compressionLevel: 9, targetBlockSize: 200_000)
        for d in docs { _ = w.add(document: d) }
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            var rng = SplitMix64(seed: 3)
            for (i, d) in docs.enumerated() {
                let ids = Set(d.map(\.0))
                let pick: Set<UInt8> = Set(ids.filter { _ in rng.next() % 2 == 0 }).union([UInt8(truncatingIfNeeded: rng.next())])
                // A fresh reader each time, so the partial path (no cached block) runs.
                try Self.expectSelected(try StoredFieldsReader(raw), whole: r, doc: i, pick)
            }
        }
    }

    /// One reader walking documents in order with a few fields each (a scan of stored text):
    /// the first document of a block is decoded partly, the next one decompresses the block
    /// whole and the rest read it cached; every answer equals the whole document's fields.
    @Test func selectedFieldsInOrderFromOneReader() throws {
        let docs = Self.randomDocs(400, seed: 12, huge: false)
        var w = StoredFieldsWriter(compressionLevel: 9, targetBlockSize: 200_000)
        for d in docs { _ = w.add(document: d) }
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let whole = try StoredFieldsReader(raw)
            let scan = try StoredFieldsReader(raw)
            #expect(scan.blockCount > 1)
            var rng = SplitMix64(seed: 4)
            for (i, d) in docs.enumerated() {
                let pick: Set<UInt8> = Set(d.map(\.0).filter { _ in rng.next() % 3 != 0 })
                try Self.expectSelected(scan, whole: whole, doc: i, pick)
            }
        }
    }

    /// Head fields live in each block's own head part: a document reads back as its head
    /// fields, then the others, each in the order added; selecting fields reads the same
    /// values whichever parts they come from, and the file is valid across block sizes.
    @Test(arguments: [64, 4096, 200_000])
    func headFieldsComeFirstAndSelectExactly(target: Int) throws {
        let docs = Self.randomDocs(500, seed: UInt64(target), huge: false).enumerated().map { i, d in
            // Ids 0…7 (the head holds 1…5) so every document mixes both parts.
            d.map { (UInt8($0.0 % 8), $0.1) } + (i % 3 == 0 ? [(5, "Re: subject \(i)"), (1, "Sender \(i) <s\(i)@example.org>")] : [])
        }
        let head: Set<UInt8> = [1, 2, 3, 4, 5]
        var w = StoredFieldsWriter(compressionLevel: 0, targetBlockSize: target, headFields: head)
        for d in docs { _ = w.add(document: d) }
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.version == 2 && r.headFields == 0b111110)
            var rng = SplitMix64(seed: 11)
            for (i, d) in docs.enumerated() {
                let expected = d.filter { head.contains($0.0) } + d.filter { !head.contains($0.0) }
                #expect(Self.same(try r.document(UInt32(i)), expected), "doc \(i)")
                for pick: Set<UInt8> in [[5, 1], [6], [1, 6, 7], Set((0..<8).filter { _ in rng.next() % 2 == 0 })] {
                    let fresh = try StoredFieldsReader(raw)
                    var taken = Set<UInt8>()
                    let want = expected.filter { pick.contains($0.0) && taken.insert($0.0).inserted }
                    #expect(Self.same(try fresh.document(UInt32(i), only: pick), want), "doc \(i) fields \(pick.sorted())")
                }
            }
        }
    }

    /// Head parts are kept decompressed per block (up to 1 MiB a reader, then it starts
    /// over): one reader asked for head fields in a shuffled order, three times over more head
    /// bytes than it keeps, answers as fresh readers do for each document.
    @Test func keptHeadBlocksAnswerAsFreshReads() throws {
        let head: Set<UInt8> = [1, 2]
        let docs = (0..<6_000).map { i -> [(UInt8, String)] in
            [(1, "Sender \(i) <s\(i)@example.org> " + String(repeating: "ü", count: i % 97)),
             (2, "Subject \(i) " + String(repeating: "x", count: (i * 7) % 211)), (9, "body \(i)")]
        }
        var w = StoredFieldsWriter(compressionLevel: 0, targetBlockSize: 4096, headFields: head)
        for d in docs { _ = w.add(document: d) }
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let kept = try StoredFieldsReader(raw)
            var order = Array(0..<docs.count)
            var rng = SplitMix64(seed: 5)
            #expect(docs.reduce(0) { $0 + $1[0].1.utf8.count + $1[1].1.utf8.count } > 1 << 20)
            for _ in 0..<3 {
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                for i in order.prefix(2_500) {
                    let pick: Set<UInt8> = i % 2 == 0 ? [1, 2] : [2]
                    let want = docs[i].filter { pick.contains($0.0) }
                    #expect(Self.same(try kept.document(UInt32(i), only: pick), want), "doc \(i)")
                    #expect(Self.same(try StoredFieldsReader(raw).document(UInt32(i), only: pick), want), "doc \(i), fresh")
                }
            }
        }
    }

    /// A merge copies the compressed blocks of an input without deletions: documents added,
    /// then another file's blocks appended, then more documents read back exactly as one
    /// writer adding all of them one by one (head and rest parts, selected fields); a file
    /// with other head fields is refused and leaves the writer unchanged; a damaged block is
    /// refused, not copied.
    @Test func appendedBlocksReadAsAddedDocuments() throws {
        let head: Set<UInt8> = [1, 2, 3, 4, 5]
        let docs = Self.randomDocs(900, seed: 77, huge: false).map { d in d.map { (UInt8($0.0 % 8), $0.1) } }
        let (a, b, c) = (Array(docs[..<250]), Array(docs[250..<700]), Array(docs[700...]))
        var source = StoredFieldsWriter(compressionLevel: 0, targetBlockSize: 2048, headFields: head)
        for d in b { _ = source.add(document: d) }
        let sourceFile = source.finish()
        var whole = StoredFieldsWriter(compressionLevel: 4, targetBlockSize: 2048, headFields: head)
        for d in docs { _ = whole.add(document: d) }
        let wholeFile = whole.finish()
        try sourceFile.withUnsafeBytes { src in
            let sourceReader = try StoredFieldsReader(src)
            var w = StoredFieldsWriter(compressionLevel: 4, targetBlockSize: 2048, headFields: head)
            for d in a { _ = w.add(document: d) }
            var other = StoredFieldsWriter(compressionLevel: 4, targetBlockSize: 2048, headFields: [1])
            #expect(try other.appendBlocks(of: sourceReader) == false)
            #expect(other.documentCount == 0)
            // Drained as it copies (a merge's chunks): the pieces and the rest make the file.
            var drained: [UInt8] = []
            var pieces = 0
            #expect(try w.appendBlocks(of: sourceReader, drainAt: 4096) { drained += $0; pieces += 1 })
            #expect(pieces > 3)
            #expect(w.documentCount == 700)
            for d in c { _ = w.add(document: d) }
            let merged = drained + w.finish()
            try merged.withUnsafeBytes { m in
                try wholeFile.withUnsafeBytes { wf in
                    let r = try StoredFieldsReader(m), expected = try StoredFieldsReader(wf)
                    #expect(r.documentCount == docs.count)
                    for i in 0..<docs.count {
                        #expect(Self.same(try r.document(UInt32(i)), try expected.document(UInt32(i))), "doc \(i)")
                        #expect(Self.same(try r.document(UInt32(i), only: [2, 6]), try expected.document(UInt32(i), only: [2, 6])), "doc \(i)")
                    }
                }
            }
        }
        // A block that no longer decompresses to its declared size (the rest part's raw size
        // in block 3's index entry, off by one; the checksum not checked on opening).
        let indexStart = try sourceFile.withUnsafeBytes { try StoredFieldsReader($0).indexStart }
        var damaged = sourceFile
        damaged[indexStart + 3 * StoredFieldsFormat.indexEntrySize + 12] ^= 1
        try damaged.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw, verifyChecksum: false)
            var w = StoredFieldsWriter(compressionLevel: 0, targetBlockSize: 2048, headFields: head)
            #expect(throws: IndexFormatError.self) { _ = try w.appendBlocks(of: r) }
        }
    }

    /// Version 1 files (one part per block, 24-byte entries and trailer) still read: a file
    /// laid out by hand as format-terms.md describes version 1.
    @Test func readsVersionOne() throws {
        let docs: [[(UInt8, String)]] = [[(5, "Subject one"), (6, "body one")], [], [(1, "Anna <a@example.org>"), (6, "Grüße")], [(9, "X: y")]]
        var out = ByteWriter()
        FileFraming.header(format: StoredFieldsFormat.name, version: 1, into: &out)
        let contentStart = out.count
        var index = ByteWriter()
        for (first, blockDocs) in [(0, Array(docs[0..<3])), (3, Array(docs[3...]))] {
            var data = ByteWriter()
            var ends: [UInt32] = []
            for d in blockDocs {
                data.varint(UInt64(d.count))
                for (id, v) in d { data.u8(id); data.string(v) }
                ends.append(UInt32(data.count))
            }
            var raw = ByteWriter()
            for e in ends { raw.u32(e) }
            raw.bytes += data.bytes
            index.u32(UInt32(first)); index.u32(UInt32(raw.count)); index.u32(UInt32(raw.count))
            index.u8(StoredFieldsFormat.codecRaw); index.u8(0); index.u8(0); index.u8(0)
            index.u64(UInt64(out.count - contentStart))
            out.bytes += raw.bytes
        }
        let indexOffset = out.count - contentStart
        out.bytes += index.bytes
        out.u64(UInt64(indexOffset)); out.u64(UInt64(docs.count)); out.u32(2); out.u32(0)
        FileFraming.finish(&out)
        try out.bytes.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.version == 1 && r.headFields == 0 && r.blockCount == 2)
            for (i, d) in docs.enumerated() {
                #expect(Self.same(try r.document(UInt32(i)), d))
                #expect(Self.same(try r.document(UInt32(i), only: [5, 1]), d.filter { [5, 1].contains($0.0) }))
            }
        }
    }

    /// Draining while adding (as merges do) writes the same file as building it whole.
    @Test func drainedFileIsIdentical() throws {
        let docs = Self.randomDocs(300, seed: 5, huge: false)
        let (file, drained) = Self.wholeAndDrained(docs, StoredFieldsWriter(targetBlockSize: 4096),
                                                   StoredFieldsWriter(targetBlockSize: 4096), drainEvery: 13)
        #expect(drained == file)
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.documentCount == docs.count)
        }
    }

    /// Blocks compressed several at a time on other threads (what merges do for LZ4-HC),
    /// drained midway: the file a single thread writes, byte for byte.
    @Test(arguments: [0, 4, 9])
    func parallelCompressionWritesTheSameFile(level: Int) throws {
        let docs = Self.randomDocs(500, seed: 9, huge: false)
        let one = StoredFieldsWriter(compressionLevel: Int32(level), targetBlockSize: 4096, headFields: [1, 5])
        var many = one
        many.parallelism = 3
        let (file, drained) = Self.wholeAndDrained(docs, one, many, drainEvery: 41)
        #expect(drained == file)
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.documentCount == docs.count)
            for i in stride(from: 0, to: docs.count, by: 37) { #expect(Self.same(try r.document(UInt32(i)), docs[i])) }
        }
    }

    /// `docs` through `whole` (finished at the end) and through `drained` (drained every
    /// `drainEvery` documents, the pieces concatenated): both files.
    static func wholeAndDrained(_ docs: [[(UInt8, String)]], _ whole: StoredFieldsWriter, _ drained: StoredFieldsWriter,
                                drainEvery: Int) -> (whole: [UInt8], drained: [UInt8]) {
        var whole = whole, drained = drained
        var pieces: [UInt8] = []
        for (i, d) in docs.enumerated() {
            _ = whole.add(document: d)
            _ = drained.add(document: d)
            if i % drainEvery == 0 { pieces += drained.drain() }
        }
        return (whole.finish(), pieces + drained.finish())
    }

    /// LZ4-HC keeps one match-table state per thread, fast-reset between blocks: a block
    /// compresses to the same bytes after other blocks as on a fresh thread.
    @Test func hcCompressionDoesNotDependOnEarlierBlocks() throws {
        let docs = Self.randomDocs(120, seed: 21, huge: false)
        let warmed = Self.hcFile(docs)  // this thread compressed other blocks first (here or in earlier tests)
        final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }
        let fresh = Box()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            fresh.bytes = Self.hcFile(docs)
            done.signal()
        }
        thread.start()
        done.wait()
        #expect(fresh.bytes == warmed)
        #expect(Self.hcFile(Array(docs.reversed())) != warmed)  // (the comparison can fail)
    }

    static func hcFile(_ docs: [[(UInt8, String)]]) -> [UInt8] {
        var w = StoredFieldsWriter(compressionLevel: 4, targetBlockSize: 2048)
        for d in docs { _ = w.add(document: d) }
        return w.finish()
    }

    @Test func tinyBlocksIncompressibleAndEmpty() throws {
        // One document per block, and text LZ4 cannot shrink (stored raw).
        var rng = SplitMix64(seed: 8)
        let docs: [[(UInt8, String)]] = (0..<50).map { i in
            i % 5 == 0 ? [] : [(UInt8(i), String(String.UnicodeScalarView((0..<40).compactMap { _ in Unicode.Scalar(UInt32(0x4E00 + rng.next() % 0x5000)) })))]
        }
        let file = try Self.build(docs, level: 0, target: 1)
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.blockCount == 50)
            for (i, d) in docs.enumerated() { #expect(Self.same(try r.document(UInt32(i)), d)) }
        }
        var w = StoredFieldsWriter()
        let empty = w.finish()
        try empty.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.documentCount == 0)
            #expect(throws: IndexFormatError.self) { _ = try r.document(0) }
        }
    }

    @Test func cutsDocumentOverBlockLimit() throws {
        var w = StoredFieldsWriter()
        w.add(document: [(1, "small")])
        // 3-byte scalars so the cut must back off to a boundary.
        let big = String(repeating: "€", count: StoredFieldsFormat.maxBlockRawSize / 3 + 10)
        #expect(w.add(document: [(5, "head"), (6, big), (7, "tail")]) == 1)
        #expect(w.truncatedDocuments == 1)
        #expect(w.add(document: [(2, String(repeating: "y", count: 8_000_000))]) == 2)
        #expect(w.add(document: [(2, String(repeating: "z", count: 9_000_000))]) == 3)
        #expect(w.truncatedDocuments == 1)
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let r = try StoredFieldsReader(raw)
            #expect(r.documentCount == 4)
            let cut = try r.document(1)
            #expect(cut.map(\.0) == [5, 6])  // nothing left for the third field
            #expect(cut.first?.1 == "head")
            let kept = cut.last?.1 ?? ""
            #expect(kept.unicodeScalars.allSatisfy { $0 == "€" })
            #expect(kept.utf8.count % 3 == 0 && kept.utf8.count > StoredFieldsFormat.maxBlockRawSize - 64)
            #expect(try r.document(3).first?.1.utf8.count == 9_000_000)
            #expect(try r.document(0).first?.1 == "small")
        }
    }

    @Test func concurrentReaders() async throws {
        let docs = Self.randomDocs(400, seed: 21, huge: false)
        let file = try Self.build(docs, level: 0, target: 4096)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: file.count, alignment: 16)
        defer { raw.deallocate() }
        file.withUnsafeBytes { raw.copyMemory(from: $0) }
        let r = try StoredFieldsReader(UnsafeRawBufferPointer(raw))
        let ok = await withTaskGroup(of: Bool.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(t))
                    for _ in 0..<300 {
                        let i = Int(rng.next() % UInt64(docs.count))
                        guard let d = try? r.document(UInt32(i)), Self.same(d, docs[i]) else { return false }
                    }
                    return true
                }
            }
            return await group.allSatisfy { $0 }
        }
        #expect(ok)
    }

    @Test func everyByteFlipIsRejected() throws {
        let file = try Self.build(Self.randomDocs(12, seed: 4, huge: false), level: 0, target: 512)
        for at in 0..<file.count {
            var g = file
            g[at] ^= 0x80
            _ = g.withUnsafeBytes { raw in
                #expect(throws: IndexFormatError.self, "flip at \(at)") { _ = try StoredFieldsReader(raw) }
            }
        }
    }

    @Test(arguments: [0, 9])
    func mutatedContentNeverTraps(level: Int) throws {
        let docs = Self.randomDocs(60, seed: 9, huge: false)
        let file = try Self.build(docs, level: level, target: 1024)
        var opened = 0
        for m in CodecTestSupport.mutations(of: file, format: "stored", count: 2000, seed: 31 + UInt64(level)) {
            m.withUnsafeBytes { raw in
                guard let r = try? StoredFieldsReader(raw) else { return }
                opened += 1
                for i in 0..<min(r.documentCount, 80) { _ = try? r.document(UInt32(i)) }
            }
        }
        #expect(opened > 0)
    }
}
