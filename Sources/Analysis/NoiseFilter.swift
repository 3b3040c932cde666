#if canImport(Glibc)
import Glibc
#endif

/// Finds text not worth indexing: PGP armour and runs of base64 or uuencoded lines left in
/// bodies. Returns the ranges to keep.
enum NoiseFilter {
    static func keptRanges(_ buf: UnsafeBufferPointer<UInt8>, stats: inout AnalysisStats) -> [Range<Int>] {
        var kept: [Range<Int>] = []
        var keepStart = 0
        var i = 0
        let n = buf.count
        // The start of a run of encoded-looking lines, and how many lines it has.
        var runStart = -1
        var runLines = 0
        var runLongest = 0

        func skip(_ range: Range<Int>) {
            if range.lowerBound > keepStart { kept.append(keepStart..<range.lowerBound) }
            keepStart = max(keepStart, range.upperBound)
            stats.noiseBlocks += 1
            stats.noiseBytes += range.count
        }
        func closeRun(at end: Int) {
            if runStart >= 0, runLines >= 2 || runLongest >= 200 { skip(runStart..<end) }
            runStart = -1
            runLines = 0
            runLongest = 0
        }

        while i < n {
            let e = lineEnd(buf, from: i)
            let next = e < n ? e + 1 : n
            var contentEnd = e
            while contentEnd > i, buf[contentEnd - 1] == 0x0D || buf[contentEnd - 1] == 0x20 || buf[contentEnd - 1] == 0x09 { contentEnd -= 1 }
            let line = i..<contentEnd

            if startsWith(buf, line, "-----BEGIN PGP ") {
                closeRun(at: i)
                if startsWith(buf, line, "-----BEGIN PGP SIGNED MESSAGE-----") {
                    // The armour header and its "Hash:" lines, up to the blank line; the signed text stays.
                    var j = next
                    while j < n {
                        let f = lineEnd(buf, from: j)
                        let blank = f == j || (f == j + 1 && buf[j] == 0x0D)
                        j = f < n ? f + 1 : n
                        if blank { break }
                    }
                    skip(i..<j)
                    i = j
                    continue
                }
                // A signature, key or message block: skip to the END line (or the end of text).
                var j = next
                var end = n
                while j < n {
                    let f = lineEnd(buf, from: j)
                    let isEnd = startsWith(buf, j..<f, "-----END PGP ")
                    j = f < n ? f + 1 : n
                    if isEnd { end = j; break }
                }
                skip(i..<end)
                i = end
                continue
            }

            if isEncodedLine(buf, line) {
                if runStart < 0 { runStart = i }
                runLines += 1
                runLongest = max(runLongest, line.count)
            } else {
                closeRun(at: i)
            }
            i = next
        }
        closeRun(at: n)
        if keepStart < n { kept.append(keepStart..<n) }
        return kept
    }

    /// Where the line starting at `i` ends: its LF, or the end of the text (memchr).
    @inline(__always)
    static func lineEnd(_ buf: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        guard let base = buf.baseAddress, i < buf.count else { return buf.count }
        guard let hit = memchr(base + i, 0x0A, buf.count - i) else { return buf.count }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    static func startsWith(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ prefix: StaticString) -> Bool {
        let p = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard r.count >= p.count else { return false }
        for k in 0..<p.count where buf[r.lowerBound + k] != p[k] { return false }
        return true
    }

    /// A base64 line (≥ 40 chars of the base64 alphabet with digits and both cases) or a
    /// uuencoded line ("M" followed by 60 chars of 0x20-0x60).
    static func isEncodedLine(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard r.count >= 40 else { return false }
        var upper = false, lower = false, digit = false
        var base64 = true
        for k in r {
            let b = buf[k]
            switch b {
            case 0x41...0x5A: upper = true
            case 0x61...0x7A: lower = true
            case 0x30...0x39: digit = true
            case 0x2B, 0x2F, 0x3D: break
            default: base64 = false
            }
            if !base64 { break }
        }
        if base64 { return upper && lower && digit }
        if buf[r.lowerBound] == 0x4D, r.count == 61 {
            for k in r where !(buf[k] >= 0x20 && buf[k] <= 0x60) { return false }
            return true
        }
        return false
    }
}
