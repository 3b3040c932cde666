import Testing
@testable import IndexFormat
import TestSupport

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        // RFC 3720 appendix B.4 and the common check value.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([]) == 0)
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksumWithTables($0) } == 0xE306_9283)
    }

    /// The instruction and the tables agree at every length, alignment and continuation (the
    /// instruction takes 8 bytes at a time, then single bytes).
    @Test func instructionAgreesWithTables() {
        var rng = SplitMix64(seed: 32)
        let data = (0..<4_200).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { all in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1_000, 4_000] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    let seed = UInt32(truncatingIfNeeded: rng.next())
                    #expect(CRC32C.checksum(slice, continuing: seed) == CRC32C.checksumWithTables(slice, continuing: seed),
                            "start \(start), length \(length)")
                }
            }
        }
        print("CRC-32C with the processor's instruction: \(CRC32C.usesHardware)")
    }

    /// Opening without summing still checks the framing (magic, name, version, footer), and
    /// only summing sees a flipped content byte.
    @Test func openWithoutSummingChecksFramingOnly() throws {
        var w = ByteWriter()
        FileFraming.header(format: "probe", version: 1, into: &w)
        w.bytes += Array("some content bytes".utf8)
        FileFraming.finish(&w)
        var flipped = w.bytes
        flipped[16] ^= 0x04  // content (the header is 14 bytes)
        try flipped.withUnsafeBytes { raw in
            #expect(throws: IndexFormatError.self) { _ = try FileFraming.open(raw, format: "probe", supported: 1...1) }
            let (v, content) = try FileFraming.open(raw, format: "probe", supported: 1...1, verifyChecksum: false)
            #expect(v == 1 && content.count == "some content bytes".utf8.count)
            #expect(throws: IndexFormatError.self) { _ = try FileFraming.open(raw, format: "other", supported: 1...1, verifyChecksum: false) }
        }
        var footer = w.bytes
        footer[footer.count - 16] ^= 0x01  // the footer's magic
        try footer.withUnsafeBytes { raw in
            #expect(throws: IndexFormatError.self) { _ = try FileFraming.open(raw, format: "probe", supported: 1...1, verifyChecksum: false) }
        }
    }

    @Test func incrementalEqualsWhole() {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<100 {
            let data = (0..<Int(rng.next() % 5000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let cut = data.isEmpty ? 0 : Int(rng.next() % UInt64(data.count))
            let first = CRC32C.checksum(Array(data[..<cut]))
            #expect(CRC32C.checksum(Array(data[cut...]), continuing: first) == CRC32C.checksum(data))
        }
    }
}

@Suite struct VarIntTests {
    @Test func roundTripsSeededValues() throws {
        var rng = SplitMix64(seed: 5)
        var values: [UInt64] = [0, 1, 127, 128, 255, 16383, 16384, UInt64(UInt32.max), UInt64.max, UInt64.max - 1, 1 << 63]
        for _ in 0..<10_000 { values.append(rng.next() >> (rng.next() % 64)) }
        var w = ByteWriter()
        for v in values { w.varint(v) }
        try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            for v in values {
                let got = try r.varint()
                #expect(got == v)
            }
            #expect(r.isAtEnd)
        }
    }

    @Test func rejectsTruncatedAndOverlong() {
        for bad: [UInt8] in [[0x80], [0xFF, 0xFF], Array(repeating: 0xFF, count: 10) + [0x01], Array(repeating: 0x80, count: 11), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]] {
            bad.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                #expect(throws: IndexFormatError.self) { _ = try r.varint() }
            }
        }
    }
}

@Suite struct FramingTests {
    func file(_ content: [UInt8], format: String = "postings", version: UInt32 = 1) -> [UInt8] {
        var w = ByteWriter()
        FileFraming.header(format: format, version: version, into: &w)
        w.append(content)
        FileFraming.finish(&w)
        return w.bytes
    }

    @Test func opensWhatItWrote() throws {
        let f = file(Array("hello".utf8))
        try f.withUnsafeBytes { raw in
            let (version, content) = try FileFraming.open(raw, format: "postings", supported: 1...1)
            #expect(version == 1)
            #expect(Array(raw[content]) == Array("hello".utf8))
        }
    }

    @Test func everyFlippedByteIsDetected() {
        let f = file(Array("some content of a file".utf8))
        for i in 0..<f.count {
            var g = f
            g[i] ^= 0x40
            g.withUnsafeBytes { raw in
                #expect(throws: IndexFormatError.self, "flip at \(i)") { _ = try FileFraming.open(raw, format: "postings", supported: 1...1) }
            }
        }
    }

    @Test func truncationWrongKindAndVersions() {
        let f = file([1, 2, 3], version: 3)
        for cut in [0, 5, f.count - 1, f.count - 16] {
            Array(f.prefix(cut)).withUnsafeBytes { raw in
                #expect(throws: IndexFormatError.self) { _ = try FileFraming.open(raw, format: "postings", supported: 1...3) }
            }
        }
        func code(_ supported: ClosedRange<UInt32>, _ format: String = "postings") -> IndexFormatError.Code? {
            f.withUnsafeBytes { raw -> IndexFormatError.Code? in
                do { _ = try FileFraming.open(raw, format: format, supported: supported); return nil } catch let e as IndexFormatError { return e.code } catch { return nil }
            }
        }
        #expect(code(1...2) == .formatTooNew)
        #expect(code(4...5) == .formatTooOld)
        #expect(code(1...3, "terms") == .wrongFormat)
        #expect(code(1...3) == nil)
    }
}
