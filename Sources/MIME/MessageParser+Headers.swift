extension MessageParser {
    /// The charset to read raw 8-bit (non-UTF-8) header bytes with: the message's declared
    /// charset when it has one, else ICU's guess over all such bytes of the header.
    func headerFallbackCharset(_ fields: [RawHeaderField]) -> String? {
        var eightBit: [UInt8] = []
        var anyNonASCII = false
        for f in fields where !Charset.allASCII(f.value) {
            anyNonASCII = true
            if Charset.validUTF8(f.value) == nil {
                eightBit += f.value
                eightBit.append(0x0A)
            }
        }
        guard anyNonASCII else { return nil }
        if let ct = fields.first(where: { $0.kind == .contentType }),
           let cs = ParameterizedValue.parse(String(decoding: ct.value, as: UTF8.self), fallbackCharset: nil).parameter("charset"),
           let label = Charset.normalizeLabel(cs), label != "utf-8", Charset.isKnown(label) {
            return label
        }
        guard !eightBit.isEmpty else { return nil }
        if let guess = Charset.detect(eightBit), guess.confidence >= 10 { return guess.name }
        return "windows-1252"
    }

    func decodeFields(_ fields: [RawHeaderField], fallback: String?, path: String, ctx: inout Context) -> [HeaderField] {
        var out: [HeaderField] = []
        out.reserveCapacity(fields.count)
        var flags = EncodedWords.Flags()
        for f in fields {
            out.append(HeaderField(name: f.name, value: EncodedWords.decodeHeader(f.value, fallbackCharset: fallback, flags: &flags)))
        }
        if flags.contains(.rawEightBit) { ctx.defect(.rawEightBitHeader, path, fallback) }
        if flags.contains(.unknownCharset) { ctx.defect(.unknownCharset, path, "in an encoded word") }
        if flags.contains(.charsetGuessed) { ctx.defect(.charsetGuessed, path, "in a header") }
        return out
    }

    func contentType(_ fields: [RawHeaderField], fallback: String?) -> ParameterizedValue {
        guard let f = fields.first(where: { $0.kind == .contentType }) else {
            return ParameterizedValue(value: "", parameters: [])
        }
        return ParameterizedValue.parse(String(decoding: f.value, as: UTF8.self), fallbackCharset: fallback)
    }

    /// Addresses, subject, date and ids of a message header.
    func envelopeOf(_ fields: [RawHeaderField], decoded: [HeaderField], fallback: String?, path: String, ctx: inout Context) -> MailDocument {
        var doc = MailDocument()
        var seen: UInt16 = 0  // one bit per single-instance field below
        func firstOf(_ bit: UInt16) -> Bool {
            defer { seen |= bit }
            return seen & bit == 0
        }
        for (raw, field) in zip(fields, decoded) {
            let kind = raw.kind
            switch kind {
            case .from, .sender, .replyTo, .to, .cc, .bcc, .resentFrom:
                // Address headers are parsed before RFC 2047 decoding, so an encoded comma or
                // angle bracket in a display name cannot split an address.
                var flags = EncodedWords.Flags()
                let text = Charset.allASCII(raw.value) ? String(decoding: raw.value, as: UTF8.self)
                    : (Charset.validUTF8(raw.value) ?? Charset.decode(raw.value, label: nil, fallback: fallback).0)
                // An empty group ("undisclosed-recipients:;") has no mailboxes: no entry.
                let list = AddressParser.parseList(text).filter { !($0.address.isEmpty && $0.group != nil) }.map { a -> MailAddress in
                    var a = a
                    if let n = a.name { a.name = EncodedWords.decodeWords(n, flags: &flags) }
                    if let g = a.group { a.group = EncodedWords.decodeWords(g, flags: &flags) }
                    return a
                }
                switch kind {
                case .from: if !firstOf(1) { ctx.defect(.duplicateField, path, "From") }; doc.from += list
                case .sender: if firstOf(2) { doc.sender = list }
                case .replyTo: if firstOf(4) { doc.replyTo = list }
                case .to: doc.to += list
                case .cc: doc.cc += list
                case .bcc: doc.bcc += list
                default: break
                }
            case .subject:
                if firstOf(8) { doc.subject = field.value } else { ctx.defect(.duplicateField, path, "Subject") }
            case .date:
                if firstOf(16) {
                    doc.date = MailDate.parse(field.value)
                    if doc.date == nil { ctx.defect(.invalidDate, path, String(field.value.prefix(80))) }
                } else {
                    ctx.defect(.duplicateField, path, "Date")
                }
            case .messageID:
                if firstOf(32) { doc.messageID = Self.messageIDs(field.value).first ?? Self.trimmedNonEmpty(field.value) }
            case .inReplyTo:
                if firstOf(64) { doc.inReplyTo = Self.messageIDs(field.value) }
            case .references:
                if firstOf(128) { doc.references = Self.messageIDs(field.value) }
            case .listID:
                if firstOf(256) { doc.listID = Self.messageIDs(field.value).first ?? Self.trimmedNonEmpty(field.value) }
            default:
                break
            }
        }
        return doc
    }

    /// `<id>` tokens of a Message-ID, In-Reply-To or References value, brackets removed.
    static func messageIDs(_ value: String) -> [String] {
        // Over the contiguous bytes (the UTF8View's indices cost ~1% of an LKML index run,
        // whose References fields are long); an id without blanks is made from its bytes as
        // they are.
        var copy = value
        return copy.withUTF8 { b -> [String] in
            var ids: [String] = []
            var id: [UInt8] = []
            let n = b.count
            var i = 0
            while i < n, ids.count < 10_000 {
                var open = i
                while open < n, b[open] != 0x3C { open += 1 }
                guard open < n else { break }
                var close = open + 1
                var blanks = false
                while close < n, b[close] != 0x3E {
                    let c = b[close]
                    if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { blanks = true }
                    close += 1
                }
                guard close < n else { break }
                if !blanks {
                    if close > open + 1 { ids.append(String(decoding: UnsafeBufferPointer(rebasing: b[(open + 1)..<close]), as: UTF8.self)) }
                } else {
                    id.removeAll(keepingCapacity: true)
                    for c in b[(open + 1)..<close] where !(c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A) { id.append(c) }
                    if !id.isEmpty { ids.append(String(decoding: id, as: UTF8.self)) }
                }
                i = close + 1
            }
            return ids
        }
    }

    static func trimmedNonEmpty(_ s: String) -> String? {
        let t = s.trimmingCharacters(inSet: " \t\r\n")
        return t.isEmpty ? nil : t
    }

    /// An attached message's main headers, as a reader sees them, become body text.
    func appendEmbeddedHeaders(_ env: MailDocument, path: String, ctx: inout Context) {
        var lines: [String] = []
        if !env.from.isEmpty { lines.append("From: " + env.from.display) }
        if !env.to.isEmpty { lines.append("To: " + env.to.display) }
        if !env.cc.isEmpty { lines.append("Cc: " + env.cc.display) }
        if let s = env.subject { lines.append("Subject: " + s) }
        if let d = env.date { lines.append("Date: " + d.iso8601) }
        guard !lines.isEmpty else { return }
        appendText(lines.joined(separator: "\n"), origin: .embeddedHeaders, path: path, ctx: &ctx)
    }
}

extension String {
    /// Trims any of the given ASCII characters from both ends (no Foundation needed).
    func trimmingCharacters(inSet chars: String) -> String {
        let set = Set(chars.unicodeScalars)
        var s = Substring(self)
        while let f = s.unicodeScalars.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.unicodeScalars.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
