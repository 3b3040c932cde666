import Testing
@testable import IndexFormat
import TestSupport

@Suite struct BitPackingTests {
    func mask(_ width: Int) -> UInt32 { width == 32 ? .max : (UInt32(1) << UInt32(width)) - 1 }

    func roundTrip(_ values: [UInt32], width: Int) throws -> [UInt32] {
        var w = ByteWriter()
        BitPacking.pack(values, width: width, into: &w)
        #expect(w.count == 16 * width)
        var out: [UInt32] = []
        try w.bytes.withUnsafeBytes { raw in
            try BitPacking.unpack(width: width, from: raw, into: &out)
        }
        return out
    }

    @Test(arguments: 0...32) func roundTripsEveryWidth(width: Int) throws {
        var rng = SplitMix64(seed: UInt64(1000 + width))
        let m = mask(width)
        var blocks: [[UInt32]] = [
            [UInt32](repeating: 0, count: 128),
            [UInt32](repeating: m, count: 128),
            (0..<128).map { $0 % 2 == 0 ? m : 0 },
            (0..<128).map { UInt32($0) & m },
            (0..<128).map { $0 == 127 ? m : 0 },
            (0..<128).map { $0 == 0 ? m : 0 },
        ]
        for _ in 0..<50 {
            // Random values masked to the width, some shifted down so widths vary inside a block.
            blocks.append((0..<128).map { _ in UInt32(truncatingIfNeeded: rng.next() >> (rng.next() % 40)) & m })
        }
        for block in blocks {
            #expect(try roundTrip(block, width: width) == block)
        }
    }

    @Test func packMasksBitsAboveTheWidth() throws {
        let values = [UInt32](repeating: 0xFFFF_FFFF, count: 128)
        #expect(try roundTrip(values, width: 5) == [UInt32](repeating: 31, count: 128))
    }

    @Test func bitsNeeded() {
        #expect(BitPacking.bitsNeeded(UInt32(0)) == 0)
        #expect(BitPacking.bitsNeeded(UInt32(1)) == 1)
        #expect(BitPacking.bitsNeeded(UInt32(2)) == 2)
        #expect(BitPacking.bitsNeeded(UInt32(255)) == 8)
        #expect(BitPacking.bitsNeeded(UInt32(256)) == 9)
        #expect(BitPacking.bitsNeeded(UInt32.max) == 32)
        #expect(BitPacking.bitsNeeded([3, 8, 1] as [UInt32]) == 4)
        for width in 0...32 {
            #expect(BitPacking.bitsNeeded(mask(width)) == width)
        }
    }

    @Test func checkedUnpackRejectsBadWidthAndShortInput() {
        let bytes = [UInt8](repeating: 0xAB, count: 40)
        bytes.withUnsafeBytes { raw in
            var out: [UInt32] = []
            #expect(throws: IndexFormatError.self) { try BitPacking.unpack(width: 33, from: raw, into: &out) }
            #expect(throws: IndexFormatError.self) { try BitPacking.unpack(width: -1, from: raw, into: &out) }
            #expect(throws: IndexFormatError.self) { try BitPacking.unpack(width: 3, from: raw, into: &out) }  // needs 48
            #expect(throws: IndexFormatError.self) { try BitPacking.unpack(width: 2, from: raw, offset: 9, into: &out) }
            #expect(throws: Never.self) { try BitPacking.unpack(width: 2, from: raw, offset: 8, into: &out) }
        }
    }

    @Test func gapsAndPrefixSumRoundTrip() {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<200 {
            var docs: [UInt32] = []
            var d = rng.next() % 1000
            for _ in 0..<128 {
                docs.append(UInt32(d))
                d += 1 + rng.next() % (rng.next() % 2 == 0 ? 3 : 100_000)
            }
            let floor = rng.next() % 2 == 0 ? 0 : UInt64(docs[0])
            let (g, end) = BitPacking.gaps(docs, floor: floor)
            #expect(end == UInt64(docs[127]) + 1)
            var buf = g
            let got = buf.withUnsafeMutableBufferPointer { b in
                BitPacking.prefixSum(b.baseAddress!, count: 128, floor: floor)
            }
            #expect(got == end)
            #expect(buf == docs)
        }
        // Overflow shows in the returned floor rather than trapping.
        var big = [UInt32](repeating: .max, count: 4)
        let f = big.withUnsafeMutableBufferPointer { BitPacking.prefixSum($0.baseAddress!, count: 4, floor: 0) }
        #expect(f > UInt64(UInt32.max))
    }
}

/// Rice coding of position blocks: round trips, the size choice, and corrupt bits refused.
@Suite struct RiceCodingTests {
    @Test func roundTripsOverDistributions() {
        var rng = SplitMix64(seed: 41)
        for round in 0..<2000 {
            let values: [UInt32] = (0..<128).map { _ in
                switch round % 5 {
                case 0: return UInt32(rng.next() % 4)
                case 1: return UInt32(rng.next() % 300)                       // positions in a message
                case 2: return rng.next() % 50 == 0 ? UInt32(rng.next() % 100_000) : UInt32(rng.next() % 20)  // outliers
                case 3: return UInt32(truncatingIfNeeded: rng.next())         // anything
                default: return 0
                }
            }
            let (k, bytes) = RiceCoding.best(values)
            var w = ByteWriter()
            RiceCoding.encode(values, k: k, into: &w)
            #expect(w.count == bytes)
            var out = [UInt32](repeating: 0, count: 128)
            let ok = w.bytes.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { RiceCoding.decode(raw, k: k, count: 128, into: $0.baseAddress!) } }
            #expect(ok && out == values, "round \(round)")
            // One byte short never decodes (nor reads past the end).
            if w.count > 0 {
                let short = Array(w.bytes.dropLast())
                let bad = short.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { RiceCoding.decode(raw, k: k, count: 128, into: $0.baseAddress!) } }
                #expect(!bad || short.count * 8 >= RiceCoding.cost(values, k: k))
            }
        }
    }

    /// The word-at-a-time encoder writes the bytes of the definition (one bit at a time,
    /// from each byte's least significant bit), and `best` picks the k of the smallest cost
    /// among log2(mean) - 2 ... + 1, as an exhaustive count over those gives.
    @Test func encoderAndChoiceMatchTheDefinition() {
        var rng = SplitMix64(seed: 77)
        for round in 0..<600 {
            let count = round == 0 ? 0 : round % 7 == 0 ? Int(rng.next() % 130) : 128
            let values: [UInt32] = (0..<count).map { _ in
                switch round % 6 {
                case 0: return UInt32(rng.next() % 8)
                case 1: return UInt32(rng.next() % 2_000)
                case 2: return rng.next() % 30 == 0 ? UInt32(rng.next() % 5_000_000) : UInt32(rng.next() % 40)
                case 3: return UInt32(truncatingIfNeeded: rng.next())
                case 4: return UInt32(rng.next() % 70)  // quotients past 32 at k = 0
                default: return 0
                }
            }
            for k in [0, 1, 3, 7, 12, 24] where k == 0 || round % 3 == 0 {
                // Blocks of huge quotients (2^32 at k = 0) would take too long bit by bit.
                guard RiceCoding.cost(values, k: k) < 1 << 16 else { continue }
                var bits: [Bool] = []
                for v in values {
                    bits += [Bool](repeating: true, count: Int(v >> UInt32(k)))
                    bits.append(false)
                    for b in 0..<k { bits.append((v >> UInt32(b)) & 1 == 1) }
                }
                var expected = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
                for (i, bit) in bits.enumerated() where bit { expected[i / 8] |= 1 << UInt8(i % 8) }
                var w = ByteWriter()
                w.u8(0xAB)  // the encoder appends after what is there
                RiceCoding.encode(values, k: k, into: &w)
                #expect(w.bytes == [0xAB] + expected, "round \(round) k \(k)")
            }
            let sum = values.reduce(UInt64(0)) { $0 + UInt64($1) }
            let mean = values.isEmpty ? 0 : sum / UInt64(values.count)
            let guess = min(24, mean == 0 ? 0 : 63 - mean.leadingZeroBitCount)
            var best = (k: 0, bytes: Int.max)
            for k in max(0, guess - 2)...min(24, guess + 1) {
                let bytes = (RiceCoding.cost(values, k: k) + 7) / 8
                if bytes < best.bytes { best = (k, bytes) }
            }
            let chosen = RiceCoding.best(values)
            #expect(chosen.k == best.k && chosen.bytes == best.bytes, "round \(round)")
        }
    }

    /// Positions shaped like mail (small deltas, a large first position per message) take
    /// Rice blocks and fewer bytes than one width per block, and read back the same.
    @Test func positionsFileUsesRiceWhenSmaller() throws {
        var rng = SplitMix64(seed: 8)
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [[UInt32]] = []
        var packedBytes = 0
        var chunk: [UInt32] = []
        for d in 0..<400 {
            var p: UInt32 = UInt32(rng.next() % 2000)
            var list: [UInt32] = []
            for _ in 0..<(3 + Int(rng.next() % 8)) {
                list.append(p)
                p += 1 + UInt32(rng.next() % 40)
            }
            docs.append(UInt32(d))
            freqs.append(UInt32(list.count))
            positions.append(list)
            var prev: UInt32 = 0
            for x in list {
                chunk.append(x - prev)
                prev = x
                if chunk.count == 128 {
                    packedBytes += 1 + 16 * BitPacking.bitsNeeded(chunk)
                    chunk.removeAll()
                }
            }
        }
        var writer = PostingsWriter()
        let info = try writer.add(docIDs: docs, freqs: freqs, positions: positions)
        let files = writer.finish()
        let fullBlocks = Int(info.totalTermFreq / 128)
        #expect(fullBlocks > 10)
        let headerAndFooter = 4 + 1 + PostingsFormat.positionsFormatName.utf8.count + 4 + FileFraming.footerSize
        let tail = files.positions.count - headerAndFooter
        #expect(tail < packedBytes, "Rice blocks should be smaller: \(tail) vs packed \(packedBytes) + tail")
        try files.docs.withUnsafeBytes { d in
            try files.positions.withUnsafeBytes { p in
                let reader = try PostingsReader(docs: d, positions: p)
                var it = try reader.iterator(info)
                var k = 0
                while it.doc != PostingsIterator.noMoreDocs {
                    #expect(try it.positions() == positions[k])
                    k += 1
                    _ = try it.next()
                }
                #expect(k == docs.count)
            }
        }
    }
}
