/// Finds the body parts of a multipart entity (RFC 2046 §5.1.1).
enum MultipartSplitter {
    struct Split {
        /// Each part's bytes: from after its delimiter line to before the line break that
        /// precedes the next delimiter.
        var parts: [Range<Int>]
        /// The close delimiter `--boundary--` was found.
        var closed: Bool
        /// Text before the first delimiter.
        var preamble: Range<Int>
        /// Parts delimited by the same boundary after the close delimiter. Normally empty; a
        /// nested multipart that reuses its parent's boundary leaves the parent's remaining
        /// parts here.
        var trailing: [Range<Int>] = []
    }

    /// Splits `body` at lines `--boundary` (trailing blanks allowed) and `--boundary--`.
    /// A part runs to the end of the body when the close delimiter is missing.
    static func split(_ buf: UnsafeBufferPointer<UInt8>, body: Range<Int>, boundary: [UInt8]) -> Split? {
        guard !boundary.isEmpty, boundary.count <= 998 else { return nil }
        var parts: [Range<Int>] = []
        var trailing: [Range<Int>] = []
        var partStart: Int?
        var closed = false
        var preambleEnd: Int?
        var lineStart = body.lowerBound
        let end = body.upperBound
        let b0 = boundary[0]
        boundary.withUnsafeBufferPointer { bnd in
            while lineStart < end {
                // Fast reject: a delimiter line starts with "--" and the boundary's first byte.
                var isDelimiter = false
                var isClose = false
                var next = lineStart
                if end - lineStart >= 2 + bnd.count, buf[lineStart] == 0x2D, buf[lineStart + 1] == 0x2D, buf[lineStart + 2] == b0 {
                    var match = true
                    for k in 0..<bnd.count where buf[lineStart + 2 + k] != bnd[k] { match = false; break }
                    if match {
                        var j = lineStart + 2 + bnd.count
                        if j + 1 < end, buf[j] == 0x2D, buf[j + 1] == 0x2D { isClose = true; j += 2 }
                        // Only blanks may follow on the line (else it is a longer boundary or text).
                        var k = j
                        while k < end, buf[k] == 0x20 || buf[k] == 0x09 || buf[k] == 0x0D { k += 1 }
                        if k >= end || buf[k] == 0x0A {
                            isDelimiter = true
                            next = k < end ? k + 1 : end
                        }
                    }
                }
                if isDelimiter {
                    if preambleEnd == nil { preambleEnd = lineStart }
                    if let s = partStart {
                        // The line break before the delimiter belongs to the delimiter.
                        var e = lineStart
                        if e > s, buf[e - 1] == 0x0A { e -= 1 }
                        if e > s, buf[e - 1] == 0x0D { e -= 1 }
                        if closed { trailing.append(s..<max(s, e)) } else { parts.append(s..<max(s, e)) }
                    }
                    if isClose {
                        if closed { partStart = nil; break }  // a second close: the reuse is over
                        closed = true
                        partStart = nil
                    } else {
                        partStart = next
                    }
                    lineStart = next
                    continue
                }
                // Next line.
                var i = lineStart
                while i < end, buf[i] != 0x0A { i += 1 }
                lineStart = i < end ? i + 1 : end
            }
        }
        if let s = partStart {
            // An unterminated last part that holds nothing but blanks is no part at all.
            var blank = true
            for i in s..<end where !(buf[i] == 0x20 || buf[i] == 0x09 || buf[i] == 0x0D || buf[i] == 0x0A) { blank = false; break }
            if !blank || (parts.isEmpty && !closed) {
                if closed { trailing.append(s..<end) } else { parts.append(s..<end) }
            }
        }
        if parts.isEmpty && !closed { return nil }
        return Split(parts: parts, closed: closed, preamble: body.lowerBound..<(preambleEnd ?? body.lowerBound), trailing: trailing)
    }

    /// For a multipart without a boundary parameter: the first `--xyz` line within the first
    /// 64 KiB that recurs later is taken as the boundary.
    static func guessBoundary(_ buf: UnsafeBufferPointer<UInt8>, body: Range<Int>) -> [UInt8]? {
        var lineStart = body.lowerBound
        let limit = min(body.upperBound, body.lowerBound + 65_536)
        while lineStart < limit {
            var i = lineStart
            while i < body.upperBound, buf[i] != 0x0A { i += 1 }
            var e = i
            if e > lineStart, buf[e - 1] == 0x0D { e -= 1 }
            if e - lineStart > 3, e - lineStart < 200, buf[lineStart] == 0x2D, buf[lineStart + 1] == 0x2D {
                let candidate = Array(UnsafeBufferPointer(rebasing: buf[(lineStart + 2)..<e]))
                if !candidate.allSatisfy({ $0 == 0x2D }) { return candidate }
            }
            lineStart = i < body.upperBound ? i + 1 : body.upperBound
        }
        return nil
    }
}
