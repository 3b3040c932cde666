import Testing
@testable import IndexFormat
import TestSupport

@Suite struct PostingsCorruptionTests {
    /// A small segment exercising singletons, tails, packed blocks and long positions.
    static func smallSegment(seed: UInt64 = 3) throws -> (docs: [UInt8], positions: [UInt8], infos: [TermPostingsInfo], terms: [TermInput]) {
        var rng = SplitMix64(seed: seed)
        let terms = [
            PostingsConformance.randomTerm(docFreq: 1, space: 100, rng: &rng),
            PostingsConformance.randomTerm(docFreq: 5, space: 100, rng: &rng),
            PostingsConformance.randomTerm(docFreq: 300, space: 1000, rng: &rng),
            PostingsConformance.randomTerm(docFreq: 140, space: 1 << 30, rng: &rng),
        ]
        var w = PostingsWriter()
        var infos: [TermPostingsInfo] = []
        for t in terms { infos.append(try w.add(docIDs: t.docIDs, freqs: t.freqs, positions: t.positions)) }
        let f = w.finish()
        return (f.docs, f.positions, infos, terms)
    }

    /// Walks everything an iterator offers, bounded; returns nil if it threw. Checks the
    /// invariants that must hold even on garbage: docs strictly increasing, at most docFreq.
    @discardableResult
    static func exercise(_ reader: PostingsReader, _ info: TermPostingsInfo, rng: inout SplitMix64) -> Int? {
        do {
            var it = try reader.iterator(info)
            var n = 0
            var prev: UInt32? = nil
            while it.doc != PostingsIterator.noMoreDocs {
                if let p = prev { #expect(it.doc > p, "docs must increase") }
                prev = it.doc
                n += 1
                #expect(n <= Int(info.docFreq), "more docs than docFreq")
                if n > Int(info.docFreq) { return n }
                _ = it.freq
                if rng.next() % 3 == 0 { _ = try it.positions() }
                if rng.next() % 5 == 0 {
                    _ = try it.advance(to: it.doc &+ 1 &+ UInt32(rng.next() % 5000))  // doc < UInt32.max here
                } else {
                    _ = try it.next()
                }
            }
            return n
        } catch {
            #expect(error.code == .corrupt || error.code == .limitExceeded)
            return nil
        }
    }

    @Test func everyFlippedByteIsRejectedByFraming() throws {
        let seg = try Self.smallSegment()
        #expect(seg.docs.count < 5000 && seg.positions.count < 20000)
        for (which, file) in [seg.docs, seg.positions].enumerated() {
            for i in 0..<file.count {
                var g = file
                g[i] ^= UInt8(1 << (i % 8))
                let other = which == 0 ? seg.positions : seg.docs
                let (d, p) = which == 0 ? (g, other) : (other, g)
                d.withUnsafeBytes { dr in
                    p.withUnsafeBytes { pr in
                        _ = #expect(throws: IndexFormatError.self, "file \(which) flip at \(i)") {
                            _ = try PostingsReader(docs: dr, positions: pr)
                        }
                    }
                }
            }
        }
        // Swapped files are the wrong kind.
        seg.docs.withUnsafeBytes { dr in
            seg.positions.withUnsafeBytes { pr in
                _ = #expect(throws: IndexFormatError.self) { _ = try PostingsReader(docs: pr, positions: dr) }
            }
        }
    }

    /// Bypassing the checksum: mutated content fed straight to the iterator must throw or
    /// return something, never trap, hang or allocate without bound.
    @Test(arguments: [11, 12, 13, 14] as [UInt64]) func mutatedContentNeverTraps(seed: UInt64) throws {
        let seg = try Self.smallSegment(seed: seed)
        var rng = SplitMix64(seed: seed * 7919)
        let header = 4 + 1 + 8 + 4  // "MSFT", length, name, version: both names are 8 and 9 bytes
        let docsContent = Array(seg.docs[(header)..<(seg.docs.count - 16)])
        let posContent = Array(seg.positions[(header + 1)..<(seg.positions.count - 16)])
        var threw = 0
        for case_ in 0..<1500 {
            var d = docsContent
            var p = posContent
            var infos = seg.infos
            switch case_ % 6 {
            case 0:  // a few random byte flips
                for _ in 0..<(1 + rng.next() % 4) where !d.isEmpty { d[Int(rng.next() % UInt64(d.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 1:
                for _ in 0..<(1 + rng.next() % 4) where !p.isEmpty { p[Int(rng.next() % UInt64(p.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 2:  // truncation
                d = Array(d.prefix(Int(rng.next() % UInt64(d.count + 1))))
                p = Array(p.prefix(Int(rng.next() % UInt64(p.count + 1))))
            case 3:  // garbage
                d = (0..<d.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if rng.next() % 2 == 0 { p = (0..<p.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            case 4:  // absurd bytes: 0xFF runs (widths 255, huge varints) at a random place
                let at = Int(rng.next() % UInt64(d.count))
                for k in at..<min(d.count, at + Int(1 + rng.next() % 12)) { d[k] = 0xFF }
            default:  // mutated term infos
                let t = Int(rng.next() % UInt64(infos.count))
                switch rng.next() % 4 {
                case 0: infos[t].docFreq = UInt32(truncatingIfNeeded: rng.next() >> (rng.next() % 64))
                case 1: infos[t].totalTermFreq = rng.next() >> (rng.next() % 64)
                case 2: infos[t].docsOffset = rng.next() >> (rng.next() % 64)
                default: infos[t].positionsOffset = rng.next() >> (rng.next() % 64)
                }
            }
            d.withUnsafeBytes { dr in
                p.withUnsafeBytes { pr in
                    let reader = PostingsReader(unverifiedDocs: dr, docsBase: header, positions: pr, positionsBase: header + 1)
                    for info in infos where Self.exercise(reader, info, rng: &rng) == nil { threw += 1 }
                    var its: [PostingsIterator] = []
                    for info in infos { if let it = try? reader.iterator(info) { its.append(it) } }
                    _ = try? PostingsReader.intersect(&its)
                }
            }
        }
        #expect(threw > 100, "mutations should often be detected")
    }

    @Test func specificCorruptions() throws {
        let seg = try Self.smallSegment()
        let header = 17
        let d = Array(seg.docs[header..<(seg.docs.count - 16)])
        let p = Array(seg.positions[(header + 1)..<(seg.positions.count - 16)])
        let big = seg.infos[2]  // 300 docs: two packed blocks, a tail
        func code(_ d: [UInt8], _ p: [UInt8], _ info: TermPostingsInfo) -> IndexFormatError.Code? {
            d.withUnsafeBytes { dr -> IndexFormatError.Code? in
                p.withUnsafeBytes { pr -> IndexFormatError.Code? in
                    let reader = PostingsReader(unverifiedDocs: dr, positions: pr)
                    do {
                        var it = try reader.iterator(info)
                        while it.doc != PostingsIterator.noMoreDocs { _ = try it.positions(); _ = try it.next() }
                        return nil
                    } catch let e as IndexFormatError { return e.code } catch { return nil }
                }
            }
        }
        #expect(code(d, p, big) == nil)
        // The first skip entry: [len varint][lastDelta varint][docWidth][freqWidth]...
        var r = d.withUnsafeBytes { raw in
            var r = ByteReader(raw, offset: Int(big.docsOffset))
            _ = try? r.varint()
            _ = try? r.varint()
            return r.offset
        }
        var bad = d
        bad[r] = 33  // doc bit width > 32
        #expect(code(bad, p, big) == .corrupt)
        bad = d
        bad[r + 1] = 32  // freq bit width > 31
        #expect(code(bad, p, big) == .corrupt)
        bad = d
        bad[r] = d[r] &+ 1  // wrong width: last doc disagrees with the skip entry
        #expect(code(bad, p, big) == .corrupt)
        r = Int(big.docsOffset) + 1
        bad = d
        bad[r] = 0  // last doc delta below 127: docs could not increase
        #expect(code(bad, p, big) == .corrupt)
        // Offsets beyond the files.
        var info = big
        info.docsOffset = UInt64(d.count + 1)
        #expect(code(d, p, info) == .corrupt)
        info = big
        info.positionsOffset = UInt64(p.count + 1)
        #expect(code(d, p, info) == .corrupt)
        info = big
        info.totalTermFreq = UInt64.max
        #expect(code(d, p, info) == .corrupt)
        // Truncated at every length: throws, never traps.
        for cut in 0..<d.count { _ = code(Array(d.prefix(cut)), p, big) }
        for cut in 0..<p.count { _ = code(d, Array(p.prefix(cut)), big) }
    }

    @Test func termInfoDecodeRejectsGarbage() {
        var rng = SplitMix64(seed: 4)
        var ok = 0
        for _ in 0..<5000 {
            let bytes = (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                if let info = try? TermPostingsInfo.decode(&r) {
                    ok += 1
                    #expect(info.docFreq >= 1 && info.totalTermFreq >= UInt64(info.docFreq))
                }
            }
        }
        #expect(ok > 0)
        for bad: [UInt8] in [[0], [0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0], [1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0], [2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0, 0]] {
            bad.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                #expect(throws: IndexFormatError.self) { _ = try TermPostingsInfo.decode(&r) }
            }
        }
    }
}

@Suite struct PostingsEdgeCaseTests {
    @Test func invalidInputIsRejectedAtWriteTime() {
        var w = PostingsWriter()
        func code(_ docs: [UInt32], _ freqs: [UInt32], _ pos: [[UInt32]]) -> PostingsInputError.Code? {
            do { _ = try w.add(docIDs: docs, freqs: freqs, positions: pos); return nil } catch { return error.code }
        }
        #expect(code([], [], []) == .empty)
        #expect(code([1, 2], [1], [[0], [0]]) == .countMismatch)
        #expect(code([2, 2], [1, 1], [[0], [0]]) == .docIDsNotIncreasing)
        #expect(code([3, 2], [1, 1], [[0], [0]]) == .docIDsNotIncreasing)
        #expect(code([UInt32.max], [1], [[0]]) == .docIDReserved)
        #expect(code([1], [0], [[]]) == .freqOutOfRange)
        #expect(code([1], [2], [[0]]) == .positionsCountMismatch)
        #expect(code([1], [2], [[5, 4]]) == .positionsDecreasing)
        // Nothing was written by the refused calls.
        let f = w.finish()
        #expect(f.docs.count == 4 + 1 + 8 + 4 + 16)
        #expect(f.positions.count == 4 + 1 + 9 + 4 + 16)
    }

    @Test func extremeDocIDsAndPositions() throws {
        let maxDoc = PostingsFormat.maxDocID
        // A full block ending exactly at UInt32.max - 1, plus a tail term, a singleton, doc 0.
        let blockDocs = (0..<UInt32(256)).map { maxDoc - 255 + $0 }
        let longPositions = (0..<UInt32(5000)).map { $0 * 200 }  // up to ~1M
        let terms = [
            TermInput(docIDs: [0], freqs: [1], positions: [[0]]),
            TermInput(docIDs: [maxDoc], freqs: [3], positions: [[0, 1_000_000, UInt32.max]]),
            TermInput(docIDs: [0, 1, maxDoc], freqs: [1, 2, 1], positions: [[1_000_000], [0, 0], [UInt32.max]]),
            TermInput(docIDs: blockDocs, freqs: [UInt32](repeating: 1, count: 256), positions: [[UInt32]](repeating: [7], count: 256)),
            TermInput(docIDs: [0, 5, 1_000_000], freqs: [1, 5000, 1], positions: [[3], longPositions, [1_000_000]]),
            TermInput(docIDs: Array(0..<UInt32(128)), freqs: [UInt32](repeating: 1, count: 128), positions: [[UInt32]](repeating: [0], count: 128)),
        ]
        try MailsiftPostingsV1().withSegment(terms) { open in
            for (ti, t) in terms.enumerated() {
                var it = try open(ti)
                for i in t.docIDs.indices {
                    #expect(it.doc == t.docIDs[i])
                    #expect(it.freq == t.freqs[i])
                    #expect(try it.positions() == t.positions[i])
                    #expect(try it.positions() == t.positions[i], "asking twice")
                    _ = try it.next()
                }
                #expect(it.doc == PostingsIterator.noMoreDocs)
                var a = try open(ti)
                #expect(try a.advance(to: maxDoc) == (t.docIDs.last == maxDoc ? maxDoc : PostingsIterator.noMoreDocs))
                var b = try open(ti)
                #expect(try b.advance(to: .max) == PostingsIterator.noMoreDocs)
            }
        }
    }

    @Test func termInfoRoundTripAndSingletons() throws {
        let infos = [
            TermPostingsInfo(docFreq: 1, totalTermFreq: 1, docsOffset: 0, positionsOffset: 0),
            TermPostingsInfo(docFreq: 1, totalTermFreq: 7, docsOffset: UInt64(PostingsFormat.maxDocID), positionsOffset: 1 << 40),
            TermPostingsInfo(docFreq: .max, totalTermFreq: .max, docsOffset: .max, positionsOffset: .max),
            TermPostingsInfo(docFreq: 300, totalTermFreq: 300, docsOffset: 12345, positionsOffset: 99),
        ]
        var w = ByteWriter()
        for i in infos { i.encode(into: &w) }
        #expect(w.count < 60)
        // (A typed-throws closure here crashes the 6.3.1 compiler in IRGen; decode with try?.)
        let (decoded, atEnd) = w.bytes.withUnsafeBytes { raw -> ([TermPostingsInfo], Bool) in
            var r = ByteReader(raw)
            var out: [TermPostingsInfo] = []
            for _ in infos {
                guard let d = try? TermPostingsInfo.decode(&r) else { break }
                out.append(d)
            }
            return (out, r.isAtEnd)
        }
        #expect(decoded == infos)
        #expect(atEnd)
        #expect(infos[1].singletonDocID == PostingsFormat.maxDocID)
        #expect(infos[3].singletonDocID == nil)
        // A singleton writes nothing to the postings file.
        var pw = PostingsWriter()
        _ = try pw.add(docIDs: [42], freqs: [1], positions: [[3]])
        #expect(pw.finish().docs.count == 4 + 1 + 8 + 4 + 16)
    }
}

/// `PostingsReader.shortListDocs`: for lists under one packed block (singletons and varint
/// tails) the same docs as an iterator, nil (false) for longer lists, and a bad varint or
/// out-of-range doc is an error, not a crash.
@Suite struct ShortListDocsTests {
    @Test func sameDocsAsTheIterator() throws {
        var rng = SplitMix64(seed: 77)
        let sizes = [1, 1, 2, 3, 17, 64, 127, 128, 129, 300]
        let terms = sizes.map { PostingsConformance.randomTerm(docFreq: $0, space: UInt64($0) * 40 + 5, rng: &rng) }
        var writer = PostingsWriter()
        let infos = try terms.map { try writer.add(docIDs: $0.docIDs, freqs: $0.freqs, positions: $0.positions) }
        let files = writer.finish()
        try files.docs.withUnsafeBytes { d in
            try files.positions.withUnsafeBytes { p in
                let reader = try PostingsReader(docs: d, positions: p)
                for (term, info) in zip(terms, infos) {
                    var docs: [UInt32] = []
                    let short = try reader.shortListDocs(info) { docs.append($0) }
                    #expect(short == (term.docIDs.count < 128))
                    if short { #expect(docs == term.docIDs) } else { #expect(docs.isEmpty) }
                }
                // A tail whose bytes are cut off or whose doc IDs run out of range.
                let tail = try #require(zip(sizes, infos).first { $0.0 == 17 }?.1)
                let cut = TermPostingsInfo(docFreq: tail.docFreq, totalTermFreq: tail.totalTermFreq,
                                           docsOffset: UInt64(d.count - 2), positionsOffset: tail.positionsOffset)
                #expect(throws: IndexFormatError.self) { _ = try reader.shortListDocs(cut) { _ in } }
                let beyond = TermPostingsInfo(docFreq: 1, totalTermFreq: 1, docsOffset: UInt64(PostingsFormat.maxDocID) + 1, positionsOffset: 0)
                #expect(throws: IndexFormatError.self) { _ = try reader.shortListDocs(beyond) { _ in } }
                let badCounts = TermPostingsInfo(docFreq: 5, totalTermFreq: 4, docsOffset: 0, positionsOffset: 0)
                #expect(throws: IndexFormatError.self) { _ = try reader.shortListDocs(badCounts) { _ in } }
            }
        }
    }
}
