import CICUShim
import CLZ4
import Testing
import TestSupport

/// The C shims link against the system ICU and LZ4 and behave as the Swift code expects.
@Suite struct ShimTests {
    @Test func lz4RoundTripFastAndHC() {
        var rng = SplitMix64(seed: 42)
        for size in [0, 1, 17, 4096, 100_000] {
            // Compressible but not trivial: words from a small vocabulary.
            let words = ["mail", "search", "index", "posting", "segment", "\n", "the", "a"]
            var text = [UInt8]()
            while text.count < size { text += Array(words[Int(rng.next() % UInt64(words.count))].utf8) + [0x20] }
            text = Array(text.prefix(size))
            for level in [0, 9] {
                let bound = mslz4_compress_bound(Int32(text.count))
                var compressed = [UInt8](repeating: 0, count: Int(bound) + 1)
                let n = text.withUnsafeBufferPointer { src in
                    compressed.withUnsafeMutableBufferPointer { dst in
                        mslz4_compress(src.baseAddress, Int32(src.count), dst.baseAddress, Int32(dst.count), Int32(level))
                    }
                }
                #expect(size == 0 || n > 0)
                if size > 4096 { #expect(Int(n) < size / 2) }
                var back = [UInt8](repeating: 0, count: size + 1)
                let m = compressed.withUnsafeBufferPointer { src in
                    back.withUnsafeMutableBufferPointer { dst in
                        mslz4_decompress(src.baseAddress, n, dst.baseAddress, Int32(dst.count))
                    }
                }
                #expect(Int(m) == size)
                #expect(Array(back.prefix(size)) == text)
            }
        }
    }

    @Test func lz4RejectsCorruptInput() {
        let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x02]
        var out = [UInt8](repeating: 0, count: 64)
        let m = garbage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in mslz4_decompress(src.baseAddress, Int32(src.count), dst.baseAddress, 64) }
        }
        #expect(m < 0)
    }

    @Test func icuConvertsKOI8R() {
        // "Привет" in KOI8-R.
        let input: [UInt8] = [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
        var out = [UInt8](repeating: 0, count: 64)
        var produced: Int32 = 0
        var subs: Int32 = 0
        let rc = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                msicu_convert_to_utf8("koi8-r", src.baseAddress, Int32(src.count), dst.baseAddress, 64, &produced, &subs)
            }
        }
        #expect(rc == MSICU_OK)
        #expect(String(decoding: out.prefix(Int(produced)), as: UTF8.self) == "Привет")
        #expect(subs == 0)
    }

    @Test func icuReportsSmallBufferAndUnknownCharset() {
        let input = Array("héllo wörld".utf8)
        var out = [UInt8](repeating: 0, count: 4)
        var produced: Int32 = 0
        var subs: Int32 = 0
        let rc = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                msicu_convert_to_utf8("utf-8", src.baseAddress, Int32(src.count), dst.baseAddress, 4, &produced, &subs)
            }
        }
        #expect(rc == MSICU_BUFFER_TOO_SMALL)
        #expect(Int(produced) == input.count)
        #expect(msicu_charset_known("no-such-charset-x") == 0)
        #expect(msicu_charset_known("ISO-2022-JP") == 1)
    }
}
