import Testing
@testable import IndexFormat
import TestSupport

@Suite struct TermDictionaryTests {
    static let words = ["a", "ab", "abc", "mail", "mailbox", "mailing", "über", "ünter", "日本", "日本語", "ß", "x", "zzz", "a\u{301}", "🙂", "re", "reply"]

    /// Distinct sorted keys over 9 fields: short shared-prefix words, random ASCII, UTF-8,
    /// empty terms (the bare field byte) and long terms up to 255 bytes.
    static func randomKeys(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        var set = Set<[UInt8]>()
        for f in 0..<9 where rng.next() % 3 == 0 { set.insert([UInt8(f)]) }  // empty terms
        while set.count < n {
            let field = UInt8(rng.next() % 9)
            var term: [UInt8]
            switch rng.next() % 5 {
            case 0: term = Array(words[Int(rng.next() % UInt64(words.count))].utf8)
            case 1: term = Array(words[Int(rng.next() % UInt64(words.count))].utf8) + Array(words[Int(rng.next() % UInt64(words.count))].utf8)
            case 2: term = (0..<(1 + Int(rng.next() % 12))).map { _ in UInt8(97 + rng.next() % 26) }
            case 3: term = (0..<(200 + Int(rng.next() % 56))).map { _ in UInt8(97 + rng.next() % 3) }  // long, up to 255
            default: term = (0..<(1 + Int(rng.next() % 6))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            set.insert([field] + term)
        }
        return set.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Valid infos as the postings codec defines them: docFreq >= 1, totalTermFreq >=
    /// docFreq, a singleton's docsOffset a doc ID; about half singletons, some huge values.
    static func info(_ i: Int, _ rng: inout SplitMix64) -> TermPostingsInfo {
        let df: UInt32 = rng.next() % 2 == 0 ? 1 : 1 + UInt32(truncatingIfNeeded: rng.next() >> (33 + rng.next() % 31))
        let ttf = UInt64(df) + (rng.next() >> (rng.next() % 64)) % (1 << 40)
        let docs = df == 1 ? rng.next() % UInt64(UInt32.max - 1) : rng.next() >> (rng.next() % 64)
        return TermPostingsInfo(docFreq: df, totalTermFreq: ttf, docsOffset: docs, positionsOffset: rng.next() >> (rng.next() % 64))
    }

    static func build(_ keys: [[UInt8]], perBlock: Int, seed: UInt64 = 1) throws -> ([UInt8], [TermPostingsInfo]) {
        var rng = SplitMix64(seed: seed)
        var w = TermDictionaryWriter(maxTermsPerBlock: perBlock)
        var infos: [TermPostingsInfo] = []
        for (i, k) in keys.enumerated() {
            let inf = info(i, &rng)
            infos.append(inf)
            try w.add(k, inf)
        }
        #expect(w.termCount == keys.count)
        return (w.finish(), infos)
    }

    static func hasSubstring(_ hay: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        if needle.isEmpty { return true }
        guard hay.count >= needle.count else { return false }
        let h = Array(hay)
        for i in 0...(h.count - needle.count) where Array(h[i..<(i + needle.count)]) == needle { return true }
        return false
    }

    @Test(arguments: [1, 2, 7, 32, 64, 128])
    func roundTripAgainstBruteForce(perBlock: Int) throws {
        let keys = Self.randomKeys(3000, seed: UInt64(perBlock))
        let (file, infos) = try Self.build(keys, perBlock: perBlock)
        var rng = SplitMix64(seed: 99)
        try file.withUnsafeBytes { raw in
            let d = try TermDictionary(raw)
            #expect(d.termCount == keys.count)
            for (k, inf) in zip(keys, infos) { #expect(try d.lookup(k) == inf) }
            // Absent keys: random ones, one past every key, each key's proper prefixes.
            let present = Set(keys)
            var absent: [[UInt8]] = [[], [255, 255], [9], [0, 0, 0, 0]]
            for _ in 0..<500 {
                let k = keys[Int(rng.next() % UInt64(keys.count))]
                absent.append(k + [0])
                absent.append(Array(k.prefix(Int(rng.next() % UInt64(k.count + 1)))))
                absent.append([UInt8(rng.next() % 10)] + (0..<Int(rng.next() % 5)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
            for k in absent where !present.contains(k) { #expect(try d.lookup(k) == nil, "\(k)") }

            // Every key in order.
            var all: [[UInt8]] = []
            try d.enumerate(prefix: []) { k, _ in all.append(Array(k)); return true }
            #expect(all == keys)

            // Prefix enumeration against a filter.
            var prefixes: [[UInt8]] = (0..<10).map { [UInt8($0)] } + [[], [3, 97], [255]]
            for _ in 0..<200 {
                let k = keys[Int(rng.next() % UInt64(keys.count))]
                prefixes.append(Array(k.prefix(Int(rng.next() % UInt64(k.count + 1)))))
            }
            for p in prefixes {
                var got: [([UInt8], TermPostingsInfo)] = []
                try d.enumerate(prefix: p) { k, i in got.append((Array(k), i)); return true }
                let want = keys.indices.filter { keys[$0].starts(with: p) }
                #expect(got.map(\.0) == want.map { keys[$0] }, "prefix \(p)")
                #expect(got.map(\.1) == want.map { infos[$0] })
            }
            // Early stop.
            var n = 0
            try d.enumerateAll(field: 2) { _, _ in n += 1; return n < 3 }
            #expect(n == min(3, keys.filter { $0.first == 2 }.count))

            // Substring search against brute force.
            var needles: [[UInt8]] = [[], [97], [97, 98], Array("mail".utf8), Array("日本".utf8), Array("ü".utf8), [0xFF, 0xFE, 0xFD], Array(repeating: 97, count: 30)]
            for _ in 0..<100 {
                let k = keys[Int(rng.next() % UInt64(keys.count))]
                guard k.count > 1 else { continue }
                let s = 1 + Int(rng.next() % UInt64(k.count - 1))
                let e = s + 1 + Int(rng.next() % UInt64(min(6, k.count - s)))
                needles.append(Array(k[s..<e]))
            }
            for field in UInt8(0)...9 {
                for needle in needles {
                    let want = keys.indices.filter { keys[$0].first == field && Self.hasSubstring(keys[$0].dropFirst(), needle) }
                    let got = try d.terms(field: field, containing: needle, limit: .max)
                    #expect(got.map(\.0) == want.map { Array(keys[$0].dropFirst()) }, "field \(field) needle \(needle)")
                    #expect(got.map(\.1) == want.map { infos[$0] })
                    let limited = try d.terms(field: field, containing: needle, limit: 2)
                    #expect(limited.map(\.0) == Array(got.prefix(2)).map(\.0))
                }
            }
            #expect(try d.terms(field: 1, containing: [], limit: 0).isEmpty)

            // Sorted batch lookups equal one lookup per key: present and absent keys mixed,
            // runs of neighbours (one block) and scattered ones, keys below the first and
            // past the last, an overlong key.
            var batches: [[[UInt8]]] = [[], keys, Array(keys.prefix(1)), Array(keys.suffix(3)) + [[255, 255]], [[]] + Array(keys.prefix(5))]
            for _ in 0..<40 {
                var batch = Set<[UInt8]>()
                let start = Int(rng.next() % UInt64(keys.count))
                for k in keys[start..<min(keys.count, start + Int(rng.next() % 300))] where rng.next() % 3 != 0 { batch.insert(k) }
                for _ in 0..<Int(rng.next() % 50) { batch.insert(absent[Int(rng.next() % UInt64(absent.count))]) }
                for _ in 0..<Int(rng.next() % 20) { batch.insert(keys[Int(rng.next() % UInt64(keys.count))]) }
                if rng.next() % 5 == 0 { batch.insert([3] + [UInt8](repeating: 97, count: 300)) }
                batches.append(batch.sorted { $0.lexicographicallyPrecedes($1) })
            }
            for batch in batches {
                let got = try d.lookupSorted(batch)
                #expect(got == (try batch.map { try d.lookup($0) }), "batch of \(batch.count)")
            }
        }
    }

    /// A cursor walks every key in order with its info, across blocks; a file written with
    /// drains in between is byte for byte the file written whole.
    @Test(arguments: [1, 3, 64])
    func cursorWalksEverything(perBlock: Int) throws {
        let keys = Self.randomKeys(3000, seed: UInt64(perBlock))
        let (file, infos) = try Self.build(keys, perBlock: perBlock)
        var rng = SplitMix64(seed: 1)
        var drained = TermDictionaryWriter(maxTermsPerBlock: perBlock)
        var pieces: [UInt8] = []
        for (i, k) in keys.enumerated() {
            try drained.add(k, Self.info(i, &rng))
            if i % 100 == 0 { pieces += drained.drain() }
        }
        #expect(pieces + drained.finish() == file)
        try file.withUnsafeBytes { raw in
            let d = try TermDictionary(raw)
            let cursor = TermCursor(d)
            var i = 0
            while try cursor.next() {
                #expect(Array(cursor.key) == keys[i])
                #expect(cursor.info == infos[i])
                i += 1
            }
            #expect(i == keys.count)
            #expect(try cursor.next() == false)
        }
    }

    @Test func emptyDictionary() throws {
        var w = TermDictionaryWriter()
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let d = try TermDictionary(raw)
            #expect(d.termCount == 0)
            #expect(try d.lookup([1, 2]) == nil)
            #expect(try d.lookup([]) == nil)
            var n = 0
            try d.enumerate(prefix: []) { _, _ in n += 1; return true }
            #expect(n == 0)
            #expect(try d.terms(field: 0, containing: [], limit: 10).isEmpty)
        }
    }

    @Test func rejectsNonIncreasingAndOverlongKeys() throws {
        let i = TermPostingsInfo(docFreq: 1, totalTermFreq: 1, docsOffset: 0, positionsOffset: 0)
        var w = TermDictionaryWriter()
        try w.add([1, 97, 98], i)
        #expect(throws: IndexFormatError.self) { try w.add([1, 97, 98], i) }  // equal
        #expect(throws: IndexFormatError.self) { try w.add([1, 97], i) }  // a prefix sorts first
        #expect(throws: IndexFormatError.self) { try w.add([0, 200], i) }
        #expect(throws: IndexFormatError.self) { try w.add([2] + [UInt8](repeating: 1, count: TermDictionaryFormat.maxKeyLength), i) }
        try w.add([1, 97, 98, 0], i)  // the writer is still usable after refusals
        let file = w.finish()
        try file.withUnsafeBytes { raw in
            let d = try TermDictionary(raw)
            #expect(d.termCount == 2)
            #expect(try d.lookup([1, 97, 98, 0]) == i)
        }
    }

    @Test func everyByteFlipIsRejected() throws {
        let (file, _) = try Self.build(Self.randomKeys(150, seed: 5), perBlock: 8)
        for at in 0..<file.count {
            var g = file
            g[at] ^= 0x01
            _ = g.withUnsafeBytes { raw in
                #expect(throws: IndexFormatError.self, "flip at \(at)") { _ = try TermDictionary(raw) }
            }
        }
    }

    /// With the checksum recomputed, corrupt content must throw or give some answer, never
    /// trap or hang.
    @Test func mutatedContentNeverTraps() throws {
        let keys = Self.randomKeys(400, seed: 6)
        let (file, _) = try Self.build(keys, perBlock: 16)
        var outcomes = (opened: 0, refused: 0)
        for m in CodecTestSupport.mutations(of: file, format: "terms", count: 3000, seed: 77) {
            m.withUnsafeBytes { raw in
                do {
                    let d = try TermDictionary(raw)
                    outcomes.opened += 1
                    for k in keys.prefix(40) { _ = try? d.lookup(k) }
                    _ = try? d.lookup([4, 0xFF])
                    var n = 0
                    try? d.enumerate(prefix: []) { _, _ in n += 1; return true }
                    try? d.enumerateAll(field: 3) { _, _ in true }
                    for f in UInt8(0)..<10 { _ = try? d.terms(field: f, containing: [97], limit: 100) }
                    _ = try? d.terms(field: 2, containing: [], limit: .max)
                } catch {
                    outcomes.refused += 1
                }
            }
        }
        #expect(outcomes.opened + outcomes.refused == 3000)
    }
}
