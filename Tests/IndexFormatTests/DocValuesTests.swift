import Testing
@testable import IndexFormat
import TestSupport

@Suite struct DocValuesTests {
    /// One column per bit width 0...64 (values spanning exactly that width above a random
    /// minimum), plus mail-like columns.
    static func columns(docs n: Int, seed: UInt64) -> (names: [String], rows: [[UInt64]]) {
        var rng = SplitMix64(seed: seed)
        var names: [String] = []
        var cols: [[UInt64]] = []
        for w in 0...64 {
            let span: UInt64 = w == 64 ? .max : (1 << UInt64(w)) - 1
            let lo: UInt64 = w == 64 ? 0 : rng.next() % (UInt64.max - span)
            var c = (0..<n).map { _ in lo &+ (span == 0 ? 0 : (w == 64 ? rng.next() : rng.next() % (span &+ 1))) }
            if n >= 2 { c[0] = lo; c[n - 1] = lo &+ span }  // the extremes fix the width
            names.append("w\(w)")
            cols.append(c)
        }
        names += ["internalDate", "size", "flags", "constant"]
        cols.append((0..<n).map { _ in 1_000_000_000 + rng.next() % 700_000_000 })
        cols.append((0..<n).map { _ in rng.next() % 30_000_000 })
        cols.append((0..<n).map { _ in rng.next() % 64 })
        cols.append([UInt64](repeating: 42, count: n))
        return (names, (0..<n).map { d in cols.map { $0[d] } })
    }

    @Test(arguments: [0, 1, 2, 7, 1000, 4099])
    func roundTrip(docs n: Int) throws {
        let (names, rows) = Self.columns(docs: n, seed: UInt64(n))
        var w = DocValuesWriter(columns: names)
        for (i, r) in rows.enumerated() { #expect(w.add(r) == UInt32(i)) }
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let d = try DocValuesReader(raw)
            #expect(d.documentCount == n)
            #expect(d.columnNames == names)
            #expect(d.columnIndex(named: "size") == 66)
            #expect(d.columnIndex(named: "nope") == nil)
            for (doc, r) in rows.enumerated() {
                for c in 0..<names.count { #expect(try d.value(column: c, doc: UInt32(doc)) == r[c]) }
            }
            if n >= 2 {
                #expect(d.columns[0].width == 0)
                #expect(d.columns[64].width == 64)
                #expect(d.columns[17].width == 17)
                #expect(d.columns[names.count - 1].width == 0)
            }
            #expect(throws: IndexFormatError.self) { _ = try d.value(column: names.count, doc: 0) }
            #expect(throws: IndexFormatError.self) { _ = try d.value(column: -1, doc: 0) }
            #expect(throws: IndexFormatError.self) { _ = try d.value(column: 0, doc: UInt32(n)) }
        }
    }

    @Test func dateColumnIsCompact() throws {
        var rng = SplitMix64(seed: 2)
        var w = DocValuesWriter(columns: ["internalDate"])
        for _ in 0..<40_000 { w.add([1_000_000_000 + rng.next() % 800_000_000]) }  // 25 years of seconds
        let file = w.finish()
        #expect(file.count <= 40_000 * 4 + 100)
    }

    @Test func noColumns() throws {
        var w = DocValuesWriter(columns: [])
        for _ in 0..<5 { w.add([]) }
        try w.finish().withUnsafeBytes { raw in
            let d = try DocValuesReader(raw)
            #expect(d.documentCount == 5)
            #expect(throws: IndexFormatError.self) { _ = try d.value(column: 0, doc: 0) }
        }
    }

    @Test func everyByteFlipIsRejected() throws {
        let (names, rows) = Self.columns(docs: 3, seed: 1)
        var w = DocValuesWriter(columns: Array(names.suffix(6)))
        for r in rows { w.add(Array(r.suffix(6))) }
        let file = w.finish()
        for at in 0..<file.count {
            var g = file
            g[at] ^= 0x10
            _ = g.withUnsafeBytes { raw in
                #expect(throws: IndexFormatError.self, "flip at \(at)") { _ = try DocValuesReader(raw) }
            }
        }
    }

    @Test func mutatedContentNeverTraps() throws {
        let (names, rows) = Self.columns(docs: 50, seed: 3)
        var w = DocValuesWriter(columns: names)
        for r in rows { w.add(r) }
        let file = w.finish()
        var opened = 0
        for m in CodecTestSupport.mutations(of: file, format: "docvalues", count: 3000, seed: 5) {
            m.withUnsafeBytes { raw in
                guard let d = try? DocValuesReader(raw) else { return }
                opened += 1
                for c in 0..<d.columnNames.count {
                    for doc in 0..<min(d.documentCount, 60) { _ = try? d.value(column: c, doc: UInt32(doc)) }
                }
            }
        }
        #expect(opened > 0)
    }
}

@Suite struct CodecLayoutTests {
    /// The byte examples in docs/format-terms.md.
    @Test func docValuesBitOrderExample() throws {
        var w = DocValuesWriter(columns: ["c"])
        for v: UInt64 in [5, 1, 6, 0] { w.add([v]) }
        let file = w.finish()
        let h = CodecTestSupport.headerSize("docvalues")
        #expect(Array(file[h..<(h + 10)]) == [0x8D, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func termsBlockExample() throws {
        var w = TermDictionaryWriter()
        let info = TermPostingsInfo(docFreq: 1, totalTermFreq: 1, docsOffset: 0, positionsOffset: 0)
        for t in ["mail", "mailbox", "mailing"] { try w.add([5] + Array(t.utf8), info) }
        let file = w.finish()
        let h = CodecTestSupport.headerSize("terms")
        let want: [UInt8] = [0x03, 0x11, 0x00, 0x05, 0x05] + Array("mail".utf8) + [0x05, 0x03] + Array("box".utf8) + [0x05, 0x03] + Array("ing".utf8)
        #expect(Array(file[h..<(h + want.count)]) == want)
    }
}
