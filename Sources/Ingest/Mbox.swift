import MIME

/// Splits an mbox file into messages.
///
/// A message starts at a `From ` line at the start of the file or after a blank line (the
/// rule mutt and Dovecot apply, which keeps a stray "From " inside a body from splitting it).
/// `>From ` quoting is undone in the mboxrd way (one `>` removed from `>+From ` lines).
public enum Mbox {
    /// True when `bytes` starts like an mbox: a `From ` line with a sender and a date.
    public static func looksLikeMbox(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 5, bytes.starts(with: fromPrefix) else { return false }
        let line = bytes.prefix(512).prefix { $0 != 0x0A }
        return line.count > 10
    }

    /// The messages of an mbox, with the `From ` line removed and its date as internal date.
    public static func split(_ bytes: [UInt8], origin: String) -> [SourceMessage] {
        var out: [SourceMessage] = []
        var starts: [(lineStart: Int, bodyStart: Int)] = []
        let n = bytes.count
        var i = 0
        var previousBlank = true
        while i < n {
            var e = i
            while e < n, bytes[e] != 0x0A { e += 1 }
            let next = e < n ? e + 1 : n
            var contentEnd = e
            if contentEnd > i, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if previousBlank, contentEnd - i >= 5, bytes[i..<(i + 5)].elementsEqual(fromPrefix) {
                starts.append((i, next))
            }
            previousBlank = contentEnd == i
            i = next
        }
        if starts.isEmpty { return [SourceMessage(bytes: bytes, origin: origin)] }
        for (k, s) in starts.enumerated() {
            let isLast = k + 1 == starts.count
            var end = isLast ? n : starts[k + 1].lineStart
            // The blank line before the next "From " (or ending the file) belongs to the format,
            // not to the message.
            if endsWithBlankLine(bytes, from: s.bodyStart, to: end) || !isLast {
                if end > s.bodyStart, bytes[end - 1] == 0x0A { end -= 1; if end > s.bodyStart, bytes[end - 1] == 0x0D { end -= 1 } }
            }
            let fromLine = String(decoding: bytes[s.lineStart..<s.bodyStart], as: UTF8.self)
            out.append(SourceMessage(bytes: unquoteFromLines(bytes[s.bodyStart..<max(s.bodyStart, end)]),
                                     origin: "\(origin)#\(k + 1)", internalDate: fromLineDate(fromLine)))
        }
        return out
    }

    static let fromPrefix: [UInt8] = Array("From ".utf8)

    /// True when `bytes[from..<to]` ends with an empty line ("\n\n" or "\r\n\r\n").
    static func endsWithBlankLine(_ bytes: [UInt8], from: Int, to: Int) -> Bool {
        var e = to
        guard e > from, bytes[e - 1] == 0x0A else { return false }
        e -= 1
        if e > from, bytes[e - 1] == 0x0D { e -= 1 }
        return e > from && bytes[e - 1] == 0x0A
    }

    /// `From sender Thu Aug 22 13:17:22 2002` → that instant (UTC when no zone is given).
    public static func fromLineDate(_ line: String) -> Int64? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3 else { return nil }
        return MailDate.parse(fields.dropFirst(2).joined(separator: " "))?.secondsSinceEpoch
    }

    /// mboxrd: `>From ` → `From `, `>>From ` → `>From `.
    static func unquoteFromLines(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var atLineStart = true
        var i = s.startIndex
        while i < s.endIndex {
            let b = s[i]
            if atLineStart, b == 0x3E {
                var j = i
                while j < s.endIndex, s[j] == 0x3E { j += 1 }
                if s.endIndex - j >= 5, s[j..<(j + 5)].elementsEqual(fromPrefix) {
                    i += 1  // drop one '>'
                    atLineStart = false
                    continue
                }
            }
            out.append(b)
            atLineStart = b == 0x0A
            i += 1
        }
        return out
    }
}
