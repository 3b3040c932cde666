extension AddressParser {
    /// The common shapes of address lists, parsed without tokenizing: `a@b`, `Name <a@b>`,
    /// `"Last, First" <a@b>`, comma-separated, ASCII, no comments, groups, routes or escapes.
    /// Returns nil for anything else, which then goes through the full RFC 5322 parser.
    /// A differential test checks that both give the same answer wherever this one answers.
    static func fastParseList(_ value: String) -> [MailAddress]? {
        var result: [MailAddress]?
        value.utf8.withContiguousStorageIfAvailable { bytes in
            result = fastParse(bytes)
        }
        return result
    }

    private static func fastParse(_ b: UnsafeBufferPointer<UInt8>) -> [MailAddress]? {
        // Bail out on anything the fast path does not model.
        for c in b {
            switch c {
            case 0x28, 0x29, 0x3A, 0x3B, 0x5C, 0x5B, 0x5D, 0x3D: return nil  // ( ) : ; \ [ ] =
            case 0x80...: return nil
            case 0..<0x09, 0x0B, 0x0C, 0x0E..<0x20, 0x7F: return nil
            default: continue
            }
        }
        var out: [MailAddress] = []
        var start = 0
        var inQuote = false
        var i = 0
        let n = b.count
        while i <= n {
            if i < n, b[i] == 0x22 { inQuote.toggle() }
            if i == n || (b[i] == 0x2C && !inQuote) {
                if inQuote { return nil }
                if let item = item(b, start, i) {
                    if case .some(let a) = item { out.append(a) }
                } else {
                    return nil
                }
                start = i + 1
            }
            i += 1
        }
        return out
    }

    /// One list element: nil when the fast path does not apply, .some(nil) for an empty element.
    private static func item(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> MailAddress?? {
        var lo = s, hi = e
        while lo < hi, isWS(b[lo]) { lo += 1 }
        while hi > lo, isWS(b[hi - 1]) { hi -= 1 }
        if lo == hi { return .some(nil) }
        var lt = -1, gt = -1, ats = 0, quotes = 0
        for k in lo..<hi {
            switch b[k] {
            case 0x3C: if lt >= 0 { return nil }; lt = k
            case 0x3E: if gt >= 0 { return nil }; gt = k
            case 0x40: ats += 1
            case 0x22: quotes += 1
            default: break
            }
        }
        if lt < 0 {
            // Bare addr-spec: one '@', no blanks, no quotes, no '>'.
            guard gt < 0, ats == 1, quotes == 0 else { return nil }
            for k in lo..<hi where isWS(b[k]) { return nil }
            guard let addr = addrSpec(b, lo, hi) else { return nil }
            return .some(MailAddress(name: nil, address: addr))
        }
        // Name <addr-spec>, with the '>' last and exactly one '@' inside the brackets.
        guard gt == hi - 1, gt > lt else { return nil }
        var alo = lt + 1, ahi = gt
        while alo < ahi, isWS(b[alo]) { alo += 1 }
        while ahi > alo, isWS(b[ahi - 1]) { ahi -= 1 }
        var innerAts = 0
        for k in alo..<ahi {
            if b[k] == 0x40 { innerAts += 1 }
            if isWS(b[k]) || b[k] == 0x22 || b[k] == 0x2C { return nil }
        }
        guard innerAts == 1, ats == 1, let addr = addrSpec(b, alo, ahi) else { return nil }
        // The display name: one quoted string, or words without quotes.
        var nlo = lo, nhi = lt
        while nhi > nlo, isWS(b[nhi - 1]) { nhi -= 1 }
        var name: String?
        if quotes == 2 {
            guard nhi - nlo >= 2, b[nlo] == 0x22, b[nhi - 1] == 0x22 else { return nil }
            nlo += 1
            nhi -= 1
        } else if quotes != 0 {
            return nil
        }
        if nhi > nlo {
            name = collapseBlanks(UnsafeBufferPointer(rebasing: b[nlo..<nhi]))
        }
        if quotes == 0, let n = name, n.utf8.contains(0x2E) || n.utf8.contains(0x40) || n.utf8.contains(0x2C) {
            return nil  // obs-phrase forms: leave to the full parser
        }
        return .some(MailAddress(name: name, address: addr))
    }

    /// `local@domain` with the domain lowercased (and punycode decoded); nil for odd shapes.
    private static func addrSpec(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> String? {
        var at = -1
        for k in lo..<hi where b[k] == 0x40 { at = k }
        guard at > lo, at < hi - 1 else { return nil }
        // Obsolete dots (`b..sanders@enron.com`, common in Enron) are kept as written, as the
        // full parser does.
        for k in lo..<hi where b[k] == 0x3C || b[k] == 0x3E || b[k] == 0x22 { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hi - lo)
        for k in lo...at { bytes.append(b[k]) }
        for k in (at + 1)..<hi {
            let c = b[k]
            bytes.append(c >= 0x41 && c <= 0x5A ? c | 0x20 : c)
        }
        let domainStart = at - lo + 1
        if bytes.count - domainStart >= 4 {
            for k in domainStart...(bytes.count - 4) where bytes[k] == 0x78 && bytes[k + 1] == 0x6E && bytes[k + 2] == 0x2D && bytes[k + 3] == 0x2D {
                return nil  // IDN: the full parser decodes it
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always) private static func isWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
}

extension AddressParser {
    /// Blank runs to one space, trimmed (the full parser's rule for display names); nil when empty.
    static func collapseBlanks(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var pendingSpace = false
        for c in bytes {
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(0x20); pendingSpace = false }
            out.append(c)
        }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }
}
