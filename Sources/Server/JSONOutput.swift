/// A JSON writer for the search answers, the daemon's hottest responses: Foundation's
/// JSONEncoder spent about a tenth of a webmail search's CPU on a 20-hit page. Keys are
/// written in sorted order, as the encoder's `.sortedKeys` wrote them; strings are escaped
/// per RFC 8259 (quotation mark, reverse solidus and control characters; everything else
/// as UTF-8).
struct JSONOutput {
    var bytes: [UInt8] = []
    /// Whether the current object or array already holds a member (a comma comes first).
    private var needsComma: [Bool] = []

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma.removeLast() }
    mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma.removeLast() }

    /// A member's key; its value follows.
    mutating func key(_ k: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        pendingValue = true
    }

    /// A key was written: its value takes no comma.
    private var pendingValue = false

    private mutating func separate() {
        if pendingValue {
            pendingValue = false
            return
        }
        guard !needsComma.isEmpty else { return }
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func string(_ s: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            // Runs that need no escaping are copied whole.
            var run = 0
            for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i]))
                run = i + 1
                switch c {
                case UInt8(ascii: "\""): escape(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): escape(UInt8(ascii: "\\"))
                case 0x0A: escape(UInt8(ascii: "n"))
                case 0x0D: escape(UInt8(ascii: "r"))
                case 0x09: escape(UInt8(ascii: "t"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    escape(UInt8(ascii: "u"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(UInt8(ascii: "0"))
                    hex.withUTF8Buffer { h in
                        bytes.append(h[Int(c >> 4)])
                        bytes.append(h[Int(c & 15)])
                    }
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A reverse solidus and `c` (byte by byte: an array literal here allocated per call).
    private mutating func escape(_ c: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(c)
    }

    mutating func int<T: BinaryInteger>(_ v: T) {
        separate()
        guard let n = Int64(exactly: v) else { bytes.append(contentsOf: String(v).utf8); return }
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(n.magnitude)
    }

    /// An array of unsigned numbers (an IMAP answer's UIDs: up to millions).
    mutating func uintArray<T: FixedWidthInteger & UnsignedInteger>(_ values: [T]) {
        beginArray()
        bytes.reserveCapacity(bytes.count + values.count * 7 + 1)
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            appendDigits(UInt64(v))
        }
        if !values.isEmpty { needsComma[needsComma.count - 1] = true }
        endArray()
    }

    /// The decimal digits of `m`, through a stack buffer (one append, not one per digit).
    private mutating func appendDigits(_ m: UInt64) {
        var m = m
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            guard let d = digits.baseAddress else { return }
            var at = 20
            repeat {
                at -= 1
                d[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
                m /= 10
            } while m > 0
            bytes.append(contentsOf: UnsafeBufferPointer(start: d + at, count: 20 - at))
        }
    }

    /// A finite number as Swift prints it (shortest round-trip form); JSON has no NaN or
    /// infinity, so those are written as 0.
    mutating func double(_ v: Double) {
        separate()
        guard v.isFinite else { bytes.append(UInt8(ascii: "0")); return }
        if v == v.rounded(), abs(v) < 1e15 {
            pendingValue = true  // the comma, if any, is written already
            int(Int64(v))
        } else {
            bytes.append(contentsOf: v.description.utf8)
        }
    }

    mutating func null() {
        separate()
        let null: StaticString = "null"
        null.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }
}

/// A response written by `JSONOutput` rather than JSONEncoder.
protocol FastJSONEncodable {
    func write(to out: inout JSONOutput)
}

extension WebmailSearchResponse: FastJSONEncodable {
    func write(to out: inout JSONOutput) {
        out.beginObject()
        out.key("hits")
        out.beginArray()
        for h in hits {
            out.beginObject()
            if let d = h.date { out.key("date"); out.int(d) }
            out.key("from"); out.string(h.from)
            out.key("internalDate"); out.int(h.internalDate)
            out.key("mailbox"); out.string(h.mailbox)
            out.key("score"); out.double(h.score)
            out.key("size"); out.int(h.size)
            if let s = h.snippet {
                out.key("snippet")
                out.beginObject()
                out.key("field"); out.string(s.field)
                out.key("highlights")
                out.beginArray()
                for r in s.highlights {
                    out.beginArray()
                    for v in r { out.int(v) }
                    out.endArray()
                }
                out.endArray()
                out.key("marked"); out.string(s.marked)
                out.key("text"); out.string(s.text)
                out.endObject()
            }
            out.key("subject"); out.string(h.subject)
            out.key("uid"); out.int(h.uid)
            out.endObject()
        }
        out.endArray()
        out.key("total"); out.int(total)
        out.endObject()
    }
}

extension IMAPSearchResponse: FastJSONEncodable {
    func write(to out: inout JSONOutput) {
        out.beginObject()
        if let e = esearch { out.key("esearch"); out.string(e) }
        if let m = mailbox { out.key("mailbox"); out.string(m) }
        if let boxes = mailboxes {
            out.key("mailboxes")
            out.beginArray()
            for b in boxes { b.write(to: &out) }
            out.endArray()
        }
        if let r = relevancy {
            out.key("relevancy")
            out.beginArray()
            for v in r { out.int(v) }
            out.endArray()
        }
        out.key("uids")
        out.uintArray(uids)
        out.endObject()
    }
}
