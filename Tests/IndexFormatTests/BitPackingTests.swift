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
