/// text/plain; format=flowed (RFC 3676): joins soft-broken lines so that words split across
/// lines (with DelSp=yes, even inside a word) come back together.
enum FlowedText {
    /// Works on the UTF-8 bytes (every byte it looks for is ASCII, so lines and their pieces
    /// stay valid UTF-8): splitting the text into Characters had cost 5% of indexing LKML.
    /// The same output as that Character-wise version, except where a combining mark follows
    /// a quote mark or the stuffing space, or a Prepend character precedes a line's final
    /// space: the bytes decide there (RFC 3676 speaks of octets), a Character did before.
    static func unflow(_ text: String, delSp: Bool) -> String {
        var text = text
        return text.withUTF8 { unflow(bytes: $0, delSp: delSp) }
    }

    static func unflow(bytes: UnsafeBufferPointer<UInt8>, delSp: Bool) -> String {
        let newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), quote = UInt8(ascii: ">"), space = UInt8(ascii: " ")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var paragraph: [UInt8] = []
        var paragraphDepth = -1
        func flush() {
            guard paragraphDepth >= 0 else { return }
            if paragraphDepth > 0 {
                out.append(contentsOf: repeatElement(quote, count: paragraphDepth))
                out.append(space)
            }
            out.append(contentsOf: paragraph)
            out.append(newline)
            paragraph.removeAll(keepingCapacity: true)
            paragraphDepth = -1
        }
        var lineStart = 0
        // The text's final line break ends its last line (no empty line after it).
        let end = bytes.last == newline ? bytes.count - 1 : bytes.count
        while lineStart <= end {
            var lineEnd = lineStart
            while lineEnd < end, bytes[lineEnd] != newline { lineEnd += 1 }
            var a = lineStart, b = lineEnd
            let endsInLineBreak = lineEnd < bytes.count
            lineStart = lineEnd + 1
            // A CRLF's CR, and then one more CR (as Swift's Characters split "\r\r\n": "\r",
            // "\r\n"); without a line break, one trailing CR.
            if b > a, bytes[b - 1] == cr {
                b -= 1
                if endsInLineBreak, b > a, bytes[b - 1] == cr { b -= 1 }
            }
            var depth = 0
            while a < b, bytes[a] == quote { depth += 1; a += 1 }
            if a < b, bytes[a] == space { a += 1 }  // space-stuffing
            let isSignature = b - a == 3 && bytes[a] == UInt8(ascii: "-") && bytes[a + 1] == UInt8(ascii: "-") && bytes[a + 2] == space
            let flowed = !isSignature && b > a && bytes[b - 1] == space
            if paragraphDepth >= 0, depth != paragraphDepth { flush() }
            paragraphDepth = depth
            if flowed {
                paragraph.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[a..<(delSp ? b - 1 : b)]))
            } else {
                paragraph.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[a..<b]))
                flush()
            }
        }
        flush()
        if out.last == newline, bytes.last != newline {
            out.removeLast()
            if out.last == cr { out.removeLast() }  // (a CR before it made one Character "\r\n")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
