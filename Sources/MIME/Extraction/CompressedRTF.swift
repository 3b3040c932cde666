// PR_RTF_COMPRESSED (MS-OXRTFCP): "LZFu" LZ77 with a 4 KiB ring dictionary pre-filled with a fixed
// 207-byte RTF prefix, and the uncompressed "MELA" variant. Bounds-checked; output capped by the caller.

enum CompressedRTF {
    static let compressedMagic: UInt32 = 0x7546_5A4C   // "LZFu"
    static let uncompressedMagic: UInt32 = 0x414C_454D // "MELA"

    /// The dictionary's initial contents (MS-OXRTFCP 3.1.3.1), 207 bytes.
    static let prefix: [UInt8] = Array((
        "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
            + "\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n"
            + "\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
    ).utf8)

    static let crcTable: [UInt32] = (0..<256).map { (i: Int) -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        return c
    }

    /// CRC-32 as MS-OXRTFCP computes it (initial value 0, no final inversion).
    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0
        crcTable.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }

    struct Output {
        var rtf: [UInt8]
        /// Stopped at `maxOutput` before the end marker / declared size.
        var truncated: Bool
    }

    /// Decompresses a PR_RTF_COMPRESSED value. Returns nil for an unknown format, a header that does not fit,
    /// or (when `verifyCRC`) a CRC mismatch. A stream that ends without the end marker yields what was decoded.
    static func decompress(_ data: [UInt8], maxOutput: Int, verifyCRC: Bool = true) -> Output? {
        var r = TNEF.Reader(data)
        guard let compSize = r.u32(), let rawSize = r.u32(), let magic = r.u32(), let crcValue = r.u32() else { return nil }
        let cap = max(0, maxOutput)
        // compSize counts the bytes after its own field; tolerate a stream shorter than declared.
        let declaredEnd = compSize >= 12 ? 4 + Int(min(compSize, UInt32(Int32.max))) : data.count
        let end = min(data.count, declaredEnd)
        guard end >= 16 else { return nil }
        switch magic {
        case uncompressedMagic:
            let available = end - 16
            let n = min(Int(min(rawSize, UInt32(Int32.max))), available)
            let take = min(n, cap)
            return Output(rtf: Array(data[16..<(16 + take)]), truncated: take < n)
        case compressedMagic:
            if verifyCRC && crc(data[16..<end]) != crcValue { return nil }
            return lzfu(data, from: 16, to: end, expected: Int(min(rawSize, UInt32(Int32.max))), cap: cap)
        default:
            return nil
        }
    }

    private static func lzfu(_ data: [UInt8], from start: Int, to end: Int, expected: Int, cap: Int) -> Output {
        var dict = [UInt8](repeating: 0, count: 4096)
        for (k, b) in prefix.enumerated() { dict[k] = b }
        var write = prefix.count
        var out: [UInt8] = []
        out.reserveCapacity(min(cap, expected, 1 << 20))
        var i = start
        while i < end {
            let flags = data[i]
            i += 1
            var bit = 0
            while bit < 8 {
                if i >= end { return Output(rtf: out, truncated: false) }
                if flags & (1 << bit) == 0 {
                    if out.count >= cap { return Output(rtf: out, truncated: true) }
                    let c = data[i]
                    i += 1
                    out.append(c)
                    dict[write] = c
                    write = (write + 1) & 0xFFF
                } else {
                    guard i + 1 < end else { return Output(rtf: out, truncated: false) }
                    let ref = Int(data[i]) << 8 | Int(data[i + 1])
                    i += 2
                    let offset = ref >> 4
                    let length = (ref & 0xF) + 2
                    if offset == write { return Output(rtf: out, truncated: false) } // end marker
                    var k = 0
                    while k < length {
                        if out.count >= cap { return Output(rtf: out, truncated: true) }
                        let c = dict[(offset + k) & 0xFFF]
                        out.append(c)
                        dict[write] = c
                        write = (write + 1) & 0xFFF
                        k += 1
                    }
                }
                bit += 1
            }
        }
        return Output(rtf: out, truncated: false)
    }
}
