/// text/plain; format=flowed (RFC 3676): joins soft-broken lines so that words split across
/// lines (with DelSp=yes, even inside a word) come back together.
enum FlowedText {
    static func unflow(_ text: String, delSp: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var paragraph = ""
        var paragraphDepth = -1
        func flush() {
            guard paragraphDepth >= 0 else { return }
            if paragraphDepth > 0 { out += String(repeating: ">", count: paragraphDepth) + " " }
            out += paragraph
            out += "\n"
            paragraph = ""
            paragraphDepth = -1
        }
        // "\r\n" is one Character in Swift: split on both forms.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last?.isEmpty == true { lines.removeLast() }  // the text's final line break
        for rawLine in lines {
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            var depth = 0
            while line.first == ">" { depth += 1; line = line.dropFirst() }
            if line.first == " " { line = line.dropFirst() }  // space-stuffing
            let isSignature = line == "-- "
            let flowed = !isSignature && line.last == " "
            if paragraphDepth >= 0, depth != paragraphDepth { flush() }
            paragraphDepth = depth
            if flowed {
                paragraph += delSp ? line.dropLast() : line
            } else {
                paragraph += line
                flush()
            }
        }
        flush()
        if out.utf8.last == 0x0A, text.utf8.last != 0x0A { out.removeLast() }
        return out
    }
}
