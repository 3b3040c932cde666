#if canImport(Glibc)
import Glibc
#endif

/// Content-Transfer-Encoding decoders (RFC 2045 §6), lenient with real-world damage.
enum TransferDecoding {
    struct Decoded {
        var bytes: [UInt8]
        /// Bytes that were not part of the encoding and were skipped or kept literally.
        var invalidCount: Int
    }

    static let base64Table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        // URL-safe variants show up in broken mailers; accept them.
        t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    /// Base64: skips line breaks and garbage, tolerates missing padding, and restarts after
    /// padding in the middle (concatenated encodings).
    static func base64(_ input: ArraySlice<UInt8>) -> Decoded {
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3 + 3)
        var invalid = 0
        base64Table.withUnsafeBufferPointer { table in
            input.withUnsafeBufferPointer { src in
                var acc: UInt32 = 0
                var n = 0
                for b in src {
                    let v = table[Int(b)]
                    if v == 0xFF {
                        if b == 0x3D {  // '=': end of a quantum
                            if n == 2 { out.append(UInt8(truncatingIfNeeded: acc >> 4)) }
                            else if n == 3 { out.append(UInt8(truncatingIfNeeded: acc >> 10)); out.append(UInt8(truncatingIfNeeded: acc >> 2)) }
                            acc = 0; n = 0
                        } else if !(b == 0x0A || b == 0x0D || b == 0x20 || b == 0x09) {
                            invalid += 1
                        }
                        continue
                    }
                    acc = acc << 6 | UInt32(v)
                    n += 1
                    if n == 4 {
                        out.append(UInt8(truncatingIfNeeded: acc >> 16))
                        out.append(UInt8(truncatingIfNeeded: acc >> 8))
                        out.append(UInt8(truncatingIfNeeded: acc))
                        acc = 0; n = 0
                    }
                }
                // Missing padding: decode what is there.
                if n == 2 { out.append(UInt8(truncatingIfNeeded: acc >> 4)) }
                else if n == 3 { out.append(UInt8(truncatingIfNeeded: acc >> 10)); out.append(UInt8(truncatingIfNeeded: acc >> 2)) }
                else if n == 1 { invalid += 1 }
            }
        }
        return Decoded(bytes: out, invalidCount: invalid)
    }

    /// Quoted-printable: soft line breaks, `=XX` in either case, trailing whitespace stripped,
    /// broken escapes kept literally.
    static func quotedPrintable(_ input: ArraySlice<UInt8>) -> Decoded {
        var out = [UInt8]()
        out.reserveCapacity(input.count)
        var invalid = 0
        input.withUnsafeBufferPointer { src in
            let n = src.count
            var i = 0
            // Output before this index came from escapes or earlier lines: never trimmed.
            var protected = 0
            while i < n {
                let b = src[i]
                if b == 0x3D {
                    // Soft line break: "=" then optional blanks then (CR)LF.
                    var j = i + 1
                    while j < n, src[j] == 0x20 || src[j] == 0x09 { j += 1 }
                    if j < n, src[j] == 0x0A { i = j + 1; protected = out.count; continue }
                    if j + 1 < n, src[j] == 0x0D, src[j + 1] == 0x0A { i = j + 2; protected = out.count; continue }
                    if j == n { i = n; continue }  // "=" at the very end
                    if i + 2 < n, let h = hexValue(src[i + 1]), let l = hexValue(src[i + 2]) {
                        out.append(h << 4 | l)
                        protected = out.count  // an encoded "=20" is data (RFC 2045 §6.7 rule 3)
                        i += 3
                        continue
                    }
                    invalid += 1
                    out.append(b)
                    i += 1
                    continue
                }
                if b == 0x0A || (b == 0x0D && i + 1 < n && src[i + 1] == 0x0A) {
                    // Transport padding: literal blanks at the end of an encoded line are not data.
                    var k = out.count
                    while k > protected, out[k - 1] == 0x20 || out[k - 1] == 0x09 { k -= 1 }
                    if k < out.count { out.removeSubrange(k...) }
                    // A hard line break is kept as written (CRLF stays CRLF, like base64 data).
                    if b == 0x0D { out.append(0x0D); i += 1 }
                    out.append(0x0A)
                    protected = out.count
                    i += 1
                    continue
                }
                out.append(b)
                i += 1
            }
            // Trailing blanks at the very end are padding too.
            var k = out.count
            while k > protected, out[k - 1] == 0x20 || out[k - 1] == 0x09 { k -= 1 }
            if k < out.count { out.removeSubrange(k...) }
        }
        return Decoded(bytes: out, invalidCount: invalid)
    }

    /// One uuencoded file found in text.
    struct UUFile {
        var name: String
        var bytes: [UInt8]
    }

    /// Decodes the body of a `Content-Transfer-Encoding: x-uuencode` part (the `begin` line optional).
    static func uudecodeBody(_ input: ArraySlice<UInt8>) -> (name: String?, bytes: [UInt8]) {
        let lines = splitLines(input)
        var name: String?
        var started = false
        var out = [UInt8]()
        for line in lines {
            if !started, line.starts(with: "begin ".utf8) {
                name = beginLineName(line)
                started = true
                continue
            }
            if line.elementsEqual("end".utf8) || line.starts(with: "end ".utf8) { break }
            if line.isEmpty { continue }
            if !uudecodeLine(line, into: &out) && started == false { continue }
            started = true
        }
        return (name, out)
    }

    /// Finds uuencoded blocks (`begin 644 name` … `end`) embedded in plain text. Returns the text
    /// with those blocks removed, and the files.
    static func extractUUBlocks(_ text: [UInt8]) -> (text: [UInt8], files: [UUFile])? {
        // Cheap pre-check: most text has no "begin " at a line start.
        guard containsLineStart(text, "begin ") else { return nil }
        var files: [UUFile] = []
        var kept = [UInt8]()
        kept.reserveCapacity(text.count)
        var i = 0
        let n = text.count
        while i < n {
            var e = i
            while e < n, text[e] != 0x0A { e += 1 }
            let next = e < n ? e + 1 : n
            let line = trimCR(text[i..<e])
            if line.starts(with: "begin ".utf8), let name = beginLineName(line), isUUMode(line) {
                // Decode until "end"; stop at the first line that is not uuencoded.
                var data = [UInt8]()
                var j = next
                var ok = false
                while j < n {
                    var f = j
                    while f < n, text[f] != 0x0A { f += 1 }
                    let l = trimCR(text[j..<f])
                    j = f < n ? f + 1 : n
                    if l.elementsEqual("end".utf8) { ok = true; break }
                    if l.isEmpty || l.elementsEqual("`".utf8) { continue }
                    if !uudecodeLine(l, into: &data) { break }
                }
                if ok || !data.isEmpty {
                    files.append(UUFile(name: name, bytes: data))
                    i = j
                    continue
                }
            }
            kept.append(contentsOf: text[i..<next])
            i = next
        }
        return files.isEmpty ? nil : (kept, files)
    }

    private static func isUUMode(_ line: ArraySlice<UInt8>) -> Bool {
        // "begin" SP octal-mode SP name
        let rest = line.dropFirst(6)
        let mode = rest.prefix { $0 != 0x20 }
        return !mode.isEmpty && mode.count <= 4 && mode.allSatisfy { $0 >= 0x30 && $0 <= 0x37 }
    }

    private static func beginLineName(_ line: ArraySlice<UInt8>) -> String? {
        let rest = line.dropFirst(6).drop { $0 == 0x20 }
        guard let sp = rest.firstIndex(of: 0x20) else { return nil }
        let name = rest[(sp + 1)...].drop { $0 == 0x20 }
        guard !name.isEmpty else { return nil }
        return Charset.decode(Array(name), label: nil).0
    }

    /// Decodes one uuencoded line; false when the line is not valid uuencode.
    private static func uudecodeLine(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        guard let first = line.first else { return false }
        let count = Int((first &- 0x20) & 0x3F)
        if count == 0 { return true }
        let body = line.dropFirst()
        let needed = (count + 2) / 3 * 4
        guard body.count >= needed - 1, body.count <= needed + 2 else { return false }
        guard body.allSatisfy({ $0 >= 0x20 && $0 <= 0x60 }) else { return false }
        var produced = 0
        var it = body.makeIterator()
        while produced < count {
            var v: UInt32 = 0
            for _ in 0..<4 { v = v << 6 | UInt32(((it.next() ?? 0x60) &- 0x20) & 0x3F) }
            for shift in [16, 8, 0] where produced < count {
                out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift)))
                produced += 1
            }
        }
        return true
    }

    static func splitLines(_ input: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = input.startIndex
        var i = start
        while i < input.endIndex {
            if input[i] == 0x0A {
                lines.append(trimCR(input[start..<i]))
                start = i + 1
            }
            i += 1
        }
        if start < input.endIndex { lines.append(trimCR(input[start..<input.endIndex])) }
        return lines
    }

    @inline(__always) static func trimCR(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if let l = s.last, l == 0x0D { return s.dropLast() }
        return s
    }

    static func containsLineStart(_ text: [UInt8], _ prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        guard text.count >= p.count else { return false }
        if text.starts(with: p) { return true }
        // memchr (vectorized in glibc) jumps from line break to line break.
        return text.withUnsafeBufferPointer { hay in
            guard let base = hay.baseAddress else { return false }
            var offset = 0
            while offset < hay.count {
                guard let hit = memchr(base + offset, 0x0A, hay.count - offset) else { return false }
                let i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if hay.count - (i + 1) >= p.count {
                    var k = 0
                    while k < p.count, hay[i + 1 + k] == p[k] { k += 1 }
                    if k == p.count { return true }
                }
                offset = i + 1
            }
            return false
        }
    }
}
