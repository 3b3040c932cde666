import Testing
@testable import IndexFormat
import TestSupport

// One conformance suite for every postings format (as Lucene's BasePostingsFormatTestCase):
// a format plugs in through `PostingsImplementation`, and `PostingsConformance.run` checks it
// against brute force on seeded random terms.

/// One term's postings as the indexer hands them over.
struct TermInput {
    var docIDs: [UInt32]
    var freqs: [UInt32]
    var positions: [[UInt32]]
}

/// What the suite needs from an iterator (PostingsIterator's own API).
protocol ConformanceIterator {
    var doc: UInt32 { get }
    var freq: UInt32 { mutating get }
    mutating func next() throws(IndexFormatError) -> UInt32
    mutating func advance(to target: UInt32) throws(IndexFormatError) -> UInt32
    mutating func positions() throws(IndexFormatError) -> [UInt32]
}

extension PostingsIterator: ConformanceIterator {}

/// A postings format under test.
protocol PostingsImplementation {
    associatedtype Iterator: ConformanceIterator
    var name: String { get }
    /// Writes `terms` as one segment, then calls `body` with a function that opens term `i`'s
    /// iterator; iterators are valid only inside `body` (they may point into the segment).
    func withSegment<R>(_ terms: [TermInput], _ body: (_ open: (Int) throws -> Iterator) throws -> R) throws -> R
    func intersect(_ iterators: inout [Iterator]) throws -> [UInt32]
}

/// This module's format, version 1.
struct MailsiftPostingsV1: PostingsImplementation {
    var name: String { "mailsift postings v1" }

    func withSegment<R>(_ terms: [TermInput], _ body: (_ open: (Int) throws -> PostingsIterator) throws -> R) throws -> R {
        var writer = PostingsWriter()
        var infos: [TermPostingsInfo] = []
        for t in terms {
            let info = try writer.add(docIDs: t.docIDs, freqs: t.freqs, positions: t.positions)
            // Through the term dictionary's encoding, as in a real segment.
            var w = ByteWriter()
            info.encode(into: &w)
            let decoded = try w.bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                return try TermPostingsInfo.decode(&r)
            }
            #expect(decoded == info)
            infos.append(decoded)
        }
        let files = writer.finish()
        return try files.docs.withUnsafeBytes { d in
            try files.positions.withUnsafeBytes { p in
                let reader = try PostingsReader(docs: d, positions: p)
                return try body { i in try reader.iterator(infos[i]) }
            }
        }
    }

    func intersect(_ iterators: inout [PostingsIterator]) throws -> [UInt32] {
        try PostingsReader.intersect(&iterators)
    }
}

/// The same format written the way merges write it: doc by doc through `startTerm`/`addDoc`/
/// `finishTerm`, the files drained after every term and put back together.
struct MailsiftPostingsV1Streamed: PostingsImplementation {
    var name: String { "mailsift postings v1 (streamed, drained)" }

    func withSegment<R>(_ terms: [TermInput], _ body: (_ open: (Int) throws -> PostingsIterator) throws -> R) throws -> R {
        var writer = PostingsWriter()
        var infos: [TermPostingsInfo] = []
        var docs: [UInt8] = [], positions: [UInt8] = []
        for t in terms {
            writer.startTerm()
            for (d, p) in zip(t.docIDs, t.positions) {
                try p.withUnsafeBufferPointer { buf throws(PostingsInputError) in try writer.addDoc(d, positions: buf) }
            }
            infos.append(try writer.finishTerm())
            let drained = writer.drain()
            docs += drained.docs
            positions += drained.positions
        }
        let rest = writer.finish()
        docs += rest.docs
        positions += rest.positions
        return try docs.withUnsafeBytes { d in
            try positions.withUnsafeBytes { p in
                let reader = try PostingsReader(docs: d, positions: p)
                return try body { i in try reader.iterator(infos[i]) }
            }
        }
    }

    func intersect(_ iterators: inout [PostingsIterator]) throws -> [UInt32] {
        try PostingsReader.intersect(&iterators)
    }
}

enum PostingsConformance {
    /// A random term: `docFreq` docs spread over `space` doc IDs (dense when space ≈ docFreq),
    /// freqs mostly 1-3 with occasional long ones (crossing positions blocks).
    static func randomTerm(docFreq: Int, space: UInt64, rng: inout SplitMix64) -> TermInput {
        var docs = Set<UInt32>()
        if UInt64(docFreq) * 2 >= space {
            // Dense: walk the space with small gaps.
            var d = rng.next() % 3
            while docs.count < docFreq {
                docs.insert(UInt32(d))
                d += 1 + rng.next() % max(1, (space / UInt64(docFreq)) * 2 - 1)
            }
        } else {
            while docs.count < docFreq { docs.insert(UInt32(rng.next() % space)) }
        }
        let sorted = docs.sorted()
        var freqs: [UInt32] = []
        var positions: [[UInt32]] = []
        for _ in sorted {
            let r = rng.next() % 100
            let f: UInt32 = r < 60 ? 1 : r < 90 ? UInt32(2 + rng.next() % 3) : r < 99 ? UInt32(5 + rng.next() % 60) : UInt32(100 + rng.next() % 400)
            var p: UInt32 = UInt32(rng.next() % 50)
            var ps: [UInt32] = []
            for _ in 0..<f {
                ps.append(p)
                p += UInt32(rng.next() % (rng.next() % 8 == 0 ? 5000 : 20))  // 0 allowed: stacked tokens
            }
            freqs.append(f)
            positions.append(ps)
        }
        return TermInput(docIDs: sorted, freqs: freqs, positions: positions)
    }

    static func lowerBound(_ a: [UInt32], _ target: UInt32) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func run<P: PostingsImplementation>(_ impl: P, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var terms: [TermInput] = []
        // Block boundaries, singletons, and long lists dense and sparse.
        let shapes: [(Int, UInt64)] = [
            (1, 10), (1, 1 << 31), (2, 1000), (127, 200), (128, 128), (128, 1 << 30), (129, 500), (255, 100_000),
            (256, 256), (257, 1 << 31), (1000, 1500), (5000, 1 << 20),
            (100_000, 110_000), (100_000, 50_000_000), (Int(rng.next() % 3000) + 1, 1 << 24),
        ]
        for (df, space) in shapes { terms.append(randomTerm(docFreq: df, space: space, rng: &rng)) }

        try impl.withSegment(terms) { open in
            for (ti, term) in terms.enumerated() {
                let label = "\(impl.name) seed \(seed) term \(ti) df \(term.docIDs.count)"
                // 1. A full walk with next(): docs and freqs, positions of a sample of docs (the
                //    others' positions must be skipped correctly).
                var it = try open(ti)
                let posEvery = term.docIDs.count > 2000 ? 37 : 1
                for i in term.docIDs.indices {
                    #expect(it.doc == term.docIDs[i], "\(label) doc #\(i)")
                    guard it.doc == term.docIDs[i] else { return }
                    #expect(it.freq == term.freqs[i], "\(label) freq #\(i)")
                    if i % posEvery == 0 || term.freqs[i] > 50 {
                        #expect(try it.positions() == term.positions[i], "\(label) positions #\(i)")
                    }
                    _ = try it.next()
                }
                #expect(it.doc == PostingsIterator.noMoreDocs, "\(label)")
                #expect(try it.next() == PostingsIterator.noMoreDocs, "\(label)")
                #expect(try it.advance(to: 5) == PostingsIterator.noMoreDocs, "\(label)")
                #expect(it.freq == 0)
                #expect(try it.positions() == [])

                // 2. advance(to:) to random ascending targets mixed with next() and positions().
                for round in 0..<3 {
                    var it2 = try open(ti)
                    var expectIndex = 0
                    let last = term.docIDs[term.docIDs.count - 1]
                    for step in 0..<400 {
                        let current = expectIndex < term.docIDs.count ? term.docIDs[expectIndex] : PostingsIterator.noMoreDocs
                        let kind = rng.next() % 8
                        if kind == 0 {
                            let got = try it2.next()
                            expectIndex = min(expectIndex + 1, term.docIDs.count)
                            let want = expectIndex < term.docIDs.count ? term.docIDs[expectIndex] : PostingsIterator.noMoreDocs
                            #expect(got == want, "\(label) round \(round) step \(step) next")
                        } else {
                            var target: UInt32
                            switch kind {
                            case 1: target = current  // equal to the current doc: stays
                            case 2: target = current == .max ? .max : current &- UInt32(rng.next() % 3)  // below: stays
                            case 3: target = UInt32(min(UInt64(last) + 1 + rng.next() % 10, UInt64(UInt32.max)))  // beyond the end
                            case 4:  // exactly a later doc
                                let j = min(term.docIDs.count - 1, expectIndex + Int(rng.next() % 300))
                                target = term.docIDs[j]
                            default:  // a random target a little ahead, often between docs
                                let span = UInt64(last) / UInt64(max(1, term.docIDs.count)) * UInt64(1 + rng.next() % 200)
                                target = UInt32(min(UInt64(current == .max ? last : current) + 1 + rng.next() % max(1, span), UInt64(UInt32.max)))
                            }
                            let got = try it2.advance(to: target)
                            if current != .max, target > current {
                                expectIndex = max(expectIndex, lowerBound(term.docIDs, target))
                            }
                            let want = expectIndex < term.docIDs.count ? term.docIDs[expectIndex] : PostingsIterator.noMoreDocs
                            #expect(got == want, "\(label) round \(round) step \(step) advance(to: \(target)) from \(current)")
                            guard got == want else { return }
                        }
                        if expectIndex < term.docIDs.count, rng.next() % 4 == 0 {
                            #expect(it2.freq == term.freqs[expectIndex], "\(label) freq after advance")
                            #expect(try it2.positions() == term.positions[expectIndex], "\(label) positions after advance")
                        }
                        if expectIndex >= term.docIDs.count { break }
                    }
                }
            }

            // 3. Intersections against brute-force set intersection.
            for _ in 0..<25 {
                let k = 1 + Int(rng.next() % 3)
                let picks = (0..<k).map { _ in Int(rng.next() % UInt64(terms.count)) }
                var its = try picks.map { try open($0) }
                var want = Set(terms[picks[0]].docIDs)
                for p in picks.dropFirst() { want.formIntersection(terms[p].docIDs) }
                let got = try impl.intersect(&its)
                #expect(got == want.sorted(), "\(impl.name) intersect \(picks)")
            }
        }
    }
}

@Suite struct PostingsConformanceTests {
    @Test(arguments: [1, 2, 3] as [UInt64]) func mailsiftV1(seed: UInt64) throws {
        try PostingsConformance.run(MailsiftPostingsV1(), seed: seed)
    }

    @Test(arguments: [4, 5] as [UInt64]) func mailsiftV1Streamed(seed: UInt64) throws {
        try PostingsConformance.run(MailsiftPostingsV1Streamed(), seed: seed)
    }

    /// Streaming and draining change nothing in the bytes: the same terms give the same files
    /// (and the same infos) whether added whole or doc by doc with drains in between.
    @Test func streamedFilesAreIdentical() throws {
        var rng = SplitMix64(seed: 77)
        let terms = (0..<300).map { i in
            PostingsConformance.randomTerm(docFreq: [1, 2, 5, 127, 128, 129, 300, 1000][i % 8], space: 5000, rng: &rng)
        }
        var whole = PostingsWriter(), streamed = PostingsWriter()
        var docs: [UInt8] = [], positions: [UInt8] = []
        for (i, t) in terms.enumerated() {
            let a = try whole.add(docIDs: t.docIDs, freqs: t.freqs, positions: t.positions)
            streamed.startTerm()
            for (d, p) in zip(t.docIDs, t.positions) {
                try p.withUnsafeBufferPointer { buf throws(PostingsInputError) in try streamed.addDoc(d, positions: buf) }
            }
            #expect(try streamed.finishTerm() == a)
            if i % 7 == 0 {
                let drained = streamed.drain()
                docs += drained.docs
                positions += drained.positions
            }
        }
        let w = whole.finish(), s = streamed.finish()
        #expect(docs + s.docs == w.docs)
        #expect(positions + s.positions == w.positions)
    }

    /// 200 random terms of assorted doc freqs (around the 128-doc block size) written whole:
    /// the terms, their infos and the two files.
    static func writtenTerms(seed: UInt64) throws -> (terms: [TermInput], infos: [TermPostingsInfo], files: (docs: [UInt8], positions: [UInt8])) {
        var rng = SplitMix64(seed: seed)
        let terms = (0..<200).map { i in
            PostingsConformance.randomTerm(docFreq: [1, 2, 5, 127, 128, 129, 300, 1000][i % 8], space: 5000, rng: &rng)
        }
        var whole = PostingsWriter()
        var infos: [TermPostingsInfo] = []
        for t in terms { infos.append(try whole.add(docIDs: t.docIDs, freqs: t.freqs, positions: t.positions)) }
        return (terms, infos, whole.finish())
    }

    /// A reader over written files, for `body`.
    static func withReader(_ files: (docs: [UInt8], positions: [UInt8]), _ body: (PostingsReader) throws -> Void) throws {
        try files.docs.withUnsafeBytes { d in
            try files.positions.withUnsafeBytes { p in try body(try PostingsReader(docs: d, positions: p)) }
        }
    }

    /// The merge path: docs copied with their positions as stored deltas
    /// (`positionDeltas` → `addDoc(_:deltas:)`) give the same files and infos as positions
    /// added whole; the deltas are the differences of `positions(into:)`.
    @Test func deltasCopyGivesTheSameFiles() throws {
        let (_, infos, w) = try Self.writtenTerms(seed: 91)
        var copy = PostingsWriter()
        try Self.withReader(w) { reader in
            var positions: [UInt32] = [], deltas: [UInt32] = []
            for info in infos {
                var it = try reader.iterator(info)
                copy.startTerm()
                while it.doc != PostingsIterator.noMoreDocs {
                    try it.positions(into: &positions)
                    try it.positionDeltas(into: &deltas)
                    #expect(deltas == zip(positions, [0] + positions.dropLast()).map { $0 - $1 })
                    try deltas.withUnsafeBufferPointer { buf throws(PostingsInputError) in try copy.addDoc(it.doc, deltas: buf) }
                    _ = try it.next()
                }
                #expect(try copy.finishTerm() == info)
            }
        }
        let c = copy.finish()
        #expect(c.docs == w.docs)
        #expect(c.positions == w.positions)
        var e = PostingsWriter()
        e.startTerm()
        #expect(throws: PostingsInputError(.freqOutOfRange, index: 0)) {
            try [UInt32]().withUnsafeBufferPointer { p throws(PostingsInputError) in try e.addDoc(1, deltas: p) }
        }
        // Deltas adding up past 32 bits are refused (the reader would refuse the file).
        var o = PostingsWriter()
        o.startTerm()
        #expect(throws: PostingsInputError(.positionOverflow, index: 0)) {
            try [UInt32.max, 1].withUnsafeBufferPointer { p throws(PostingsInputError) in try o.addDoc(1, deltas: p) }
        }
    }

    /// A merge's bulk path: `nextDocs` reads a block of docs with all their position deltas,
    /// `addDocs` takes them (here in uneven stretches, so a stretch crosses the writer's doc
    /// blocks): the same data as the per-doc calls and the same files.
    @Test func bulkCopyGivesTheSameFiles() throws {
        let (terms, infos, w) = try Self.writtenTerms(seed: 92)
        var copy = PostingsWriter()
        try Self.withReader(w) { reader in
            var docs: [UInt32] = [], freqs: [UInt32] = [], deltas: [UInt32] = []
            for (info, t) in zip(infos, terms) {
                var it = try reader.iterator(info)
                copy.startTerm()
                var seen: [UInt32] = [], seenFreqs: [UInt32] = [], seenDeltas: [UInt32] = []
                var cut = 0
                while true {
                    let (n, count) = try it.nextDocs(docs: &docs, freqs: &freqs, deltas: &deltas)
                    if n == 0 { break }
                    let sum = freqs[0..<n].reduce(0) { $0 + Int($1) }
                    #expect(sum == count)
                    seen += docs[0..<n]
                    seenFreqs += freqs[0..<n]
                    seenDeltas += deltas[0..<count]
                    // Handed over in two pieces, cut at a doc that varies.
                    let m = n == 1 ? 1 : 1 + cut % (n - 1)
                    cut += 37
                    let split = freqs[0..<m].reduce(0) { $0 + Int($1) }
                    try docs.withUnsafeBufferPointer { (db) throws(PostingsInputError) in
                        try freqs.withUnsafeBufferPointer { (fb) throws(PostingsInputError) in
                            try deltas.withUnsafeBufferPointer { (pb) throws(PostingsInputError) in
                                try copy.addDocs(UnsafeBufferPointer(rebasing: db[0..<m]), freqs: UnsafeBufferPointer(rebasing: fb[0..<m]),
                                                 deltas: UnsafeBufferPointer(rebasing: pb[0..<split]))
                                try copy.addDocs(UnsafeBufferPointer(rebasing: db[m..<n]), freqs: UnsafeBufferPointer(rebasing: fb[m..<n]),
                                                 deltas: UnsafeBufferPointer(rebasing: pb[split..<count]))
                            }
                        }
                    }
                }
                var expected: [UInt32] = []
                for ps in t.positions {
                    var prev: UInt32 = 0
                    for p in ps {
                        expected.append(p - prev)
                        prev = p
                    }
                }
                #expect(seen == t.docIDs)
                #expect(seenFreqs == t.freqs)
                #expect(seenDeltas == expected)
                #expect(try copy.finishTerm() == info)
            }
        }
        let c = copy.finish()
        #expect(c.docs == w.docs)
        #expect(c.positions == w.positions)

        // The per-doc checks, with the doc's index in the term.
        func refused(_ docs: [UInt32], _ freqs: [UInt32], _ deltas: [UInt32], before: [UInt32] = []) -> PostingsInputError? {
            var x = PostingsWriter()
            x.startTerm()
            do {
                for d in before { try [UInt32(0)].withUnsafeBufferPointer { (p) throws(PostingsInputError) in try x.addDoc(d, deltas: p) } }
                try docs.withUnsafeBufferPointer { (db) throws(PostingsInputError) in
                    try freqs.withUnsafeBufferPointer { (fb) throws(PostingsInputError) in
                        try deltas.withUnsafeBufferPointer { (pb) throws(PostingsInputError) in try x.addDocs(db, freqs: fb, deltas: pb) }
                    }
                }
                return nil
            } catch { return error }
        }
        #expect(refused([1, 2], [1, 1], [0, 0]) == nil)
        #expect(refused([1, 1], [1, 1], [0, 0]) == PostingsInputError(.docIDsNotIncreasing, index: 1))
        #expect(refused([4], [1], [0], before: [2, 4]) == PostingsInputError(.docIDsNotIncreasing, index: 2))
        #expect(refused([1, 2], [1, 0], [0]) == PostingsInputError(.freqOutOfRange, index: 1))
        #expect(refused([PostingsFormat.maxDocID + 1], [1], [0]) == PostingsInputError(.docIDReserved, index: 0))
        #expect(refused([1, 2], [1, 2], [0, 0]) == PostingsInputError(.positionsCountMismatch, index: 1))
        #expect(refused([1], [1], [0, 0]) == PostingsInputError(.positionsCountMismatch, index: 1))
        #expect(refused([1], [2], [UInt32.max, 1]) == PostingsInputError(.positionOverflow, index: 0))
        #expect(refused([1, 2], [1], [0]) == PostingsInputError(.countMismatch, index: 0))
    }

    /// Bad streamed input is refused with the doc's index, and the writer stays refused.
    @Test func streamedInputIsChecked() throws {
        var w = PostingsWriter()
        w.startTerm()
        try [UInt32(3)].withUnsafeBufferPointer { p throws(PostingsInputError) in try w.addDoc(5, positions: p) }
        #expect(throws: PostingsInputError(.docIDsNotIncreasing, index: 1)) {
            try [UInt32(1)].withUnsafeBufferPointer { p throws(PostingsInputError) in try w.addDoc(5, positions: p) }
        }
        #expect(throws: PostingsInputError.self) { try w.finishTerm() }
        var v = PostingsWriter()
        v.startTerm()
        #expect(throws: PostingsInputError(.positionsDecreasing, index: 0)) {
            try [UInt32(4), 2].withUnsafeBufferPointer { p throws(PostingsInputError) in try v.addDoc(1, positions: p) }
        }
        var e = PostingsWriter()
        e.startTerm()
        #expect(throws: PostingsInputError(.empty)) { try e.finishTerm() }
    }

    /// Intersecting a term with itself, with a list of one doc, and with a disjoint list.
    @Test func intersectEdges() throws {
        let a = TermInput(docIDs: [1, 5, 9, 300], freqs: [1, 1, 1, 1], positions: [[0], [0], [0], [0]])
        let b = TermInput(docIDs: [9], freqs: [2], positions: [[1, 2]])
        let c = TermInput(docIDs: [2, 4, 6], freqs: [1, 1, 1], positions: [[0], [0], [0]])
        let impl = MailsiftPostingsV1()
        try impl.withSegment([a, b, c]) { open in
            var its = [try open(0), try open(0)]
            #expect(try impl.intersect(&its) == a.docIDs)
            its = [try open(0), try open(1)]
            #expect(try impl.intersect(&its) == [9])
            its = [try open(0), try open(2)]
            #expect(try impl.intersect(&its) == [])
            its = [try open(2)]
            #expect(try impl.intersect(&its) == c.docIDs)
            its = []
            #expect(try impl.intersect(&its) == [])
        }
    }

    /// The bulk API returns the same docs as next().
    @Test func nextBlockMatchesNext() throws {
        var rng = SplitMix64(seed: 9)
        let terms = [PostingsConformance.randomTerm(docFreq: 10_000, space: 30_000, rng: &rng),
                     PostingsConformance.randomTerm(docFreq: 3, space: 30_000, rng: &rng),
                     PostingsConformance.randomTerm(docFreq: 1, space: 30_000, rng: &rng)]
        try MailsiftPostingsV1().withSegment(terms) { open in
            for (ti, term) in terms.enumerated() {
                var it = try open(ti)
                var got: [UInt32] = []
                let buf = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)
                defer { buf.deallocate() }
                // Mix: a few next() calls, then bulk, and a small buffer once.
                _ = try it.next()
                got.append(term.docIDs[0])
                while true {
                    let n = try it.nextBlock(into: UnsafeMutableBufferPointer(rebasing: buf[0..<(got.count % 3 == 0 ? 7 : 128)]))
                    if n == 0 { break }
                    got += buf[0..<n]
                }
                #expect(got == term.docIDs)
                #expect(it.doc == PostingsIterator.noMoreDocs)
            }
        }
    }
}

@Suite struct PostingsFormatExampleTests {
    /// The worked example in docs/format-postings.md.
    @Test func documentedTailBytes() throws {
        var w = PostingsWriter()
        let info = try w.add(docIDs: [5, 6, 7, 300], freqs: [1, 1, 2, 1], positions: [[0], [0], [0, 1], [0]])
        let f = w.finish()
        let content = Array(f.docs[(4 + 1 + 8 + 4)..<(f.docs.count - 16)])
        #expect(info.docsOffset == 0)
        #expect(content == [0x0B, 0x01, 0x00, 0x00, 0xC9, 0x04])
    }
}
