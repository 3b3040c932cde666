import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// Parses raw RFC 5322 / MIME bytes into a ``MailDocument``. Never throws and never traps on
/// input: anything wrong becomes a ``Defect`` and the parser salvages what it can, within
/// ``ParserLimits``.
public struct MessageParser: Sendable {
    public var limits: ParserLimits

    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
    }

    public func parse(_ bytes: [UInt8]) -> MailDocument {
        var ctx = Context(limits: limits)
        var effective = bytes.count
        if effective > limits.maxMessageBytes {
            effective = limits.maxMessageBytes
            ctx.out.defects.append(Defect(kind: .messageTooLarge, part: "", detail: "\(bytes.count) bytes"))
        }
        _ = ctx.admitPart("")
        bytes.withUnsafeBufferPointer { buf in
            parseMessage(buf, range: 0..<effective, prefix: "", depth: 0, topLevel: true, ctx: &ctx)
        }
        if !ctx.out.body.contains(where: { !$0.text.allSatisfy(\.isWhitespace) }) {
            for (part, text) in ctx.tnefBodies { appendText(text, origin: .tnef, path: part, ctx: &ctx) }
        }
        var doc = ctx.doc
        doc.rawSize = bytes.count
        doc.body = ctx.out.body
        doc.alternatives = ctx.out.alternatives
        doc.attachments = ctx.out.attachments
        doc.parts = ctx.out.parts
        doc.defects = ctx.out.defects
        return doc
    }

    // MARK: - Parse state

    /// What a subtree of parts produced; alternatives are parsed into their own and merged.
    struct Collected {
        var body: [TextSegment] = []
        var alternatives: [TextSegment] = []
        var attachments: [Attachment] = []
        var parts: [PartInfo] = []
        var defects: [Defect] = []

        mutating func merge(_ other: Collected) {
            body += other.body
            alternatives += other.alternatives
            attachments += other.attachments
            parts += other.parts
            defects += other.defects
        }
    }

    struct Context {
        let limits: ParserLimits
        let deadline: ContinuousClock.Instant
        var doc = MailDocument()
        var out = Collected()
        var partCount = 0
        var decodedBytes = 0
        var textBytes = 0
        var stopped = false  // a global limit was hit: no more parts
        /// Message bodies found inside TNEF attachments, used when the message has no other body text.
        var tnefBodies: [(part: String, text: String)] = []

        init(limits: ParserLimits) {
            self.limits = limits
            self.deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(max(0, limits.timeBudgetSeconds) * 1000)))
        }

        mutating func defect(_ kind: DefectKind, _ part: String, _ detail: String? = nil) {
            // One defect of a kind per part is enough to tell what happened.
            if out.defects.contains(where: { $0.kind == kind && $0.part == part }) { return }
            out.defects.append(Defect(kind: kind, part: part, detail: detail))
        }

        /// Counts a part against the limits; false when parsing must stop.
        mutating func admitPart(_ path: String) -> Bool {
            if stopped { return false }
            partCount += 1
            if partCount > limits.maxParts {
                defect(.tooManyParts, path, "\(limits.maxParts)")
                stopped = true
                return false
            }
            if partCount & 15 == 0 || partCount < 3, ContinuousClock.now > deadline {
                defect(.timeLimit, path)
                stopped = true
                return false
            }
            return true
        }
    }

    static func join(_ prefix: String, _ n: Int) -> String { prefix.isEmpty ? String(n) : prefix + "." + String(n) }

    // MARK: - Messages and entities

    /// Parses a message (top level or attached): its header, then its body entity.
    func parseMessage(_ buf: UnsafeBufferPointer<UInt8>, range: Range<Int>, prefix: String, depth: Int, topLevel: Bool, ctx: inout Context) {
        let header = HeaderBlockParser.parse(buf, range: range, limits: limits, skipMboxFromLine: topLevel)
        for d in header.defects { ctx.defect(d, prefix) }
        let fallback = headerFallbackCharset(header.fields)
        let decoded = decodeFields(header.fields, fallback: fallback, path: prefix, ctx: &ctx)
        let envelope = envelopeOf(header.fields, decoded: decoded, fallback: fallback, path: prefix, ctx: &ctx)
        if topLevel {
            var doc = envelope
            doc.headers = decoded
            ctx.doc = doc
        } else {
            appendEmbeddedHeaders(envelope, path: prefix, ctx: &ctx)
        }
        let ct = contentType(header.fields, fallback: fallback)
        let isMultipart = ct.value.hasPrefix("multipart/")
        let path = isMultipart ? prefix : Self.join(prefix, 1)
        var sink = Collected()
        swap(&sink, &ctx.out)
        parseEntity(buf, fields: header.fields, decoded: decoded, body: header.bodyStart..<range.upperBound,
                    path: path, depth: depth, defaultType: "text/plain", ctx: &ctx)
        swap(&sink, &ctx.out)
        ctx.out.merge(sink)
    }

    /// Parses one entity's body given its already-split header.
    func parseEntity(_ buf: UnsafeBufferPointer<UInt8>, fields: [RawHeaderField], decoded: [HeaderField], body: Range<Int>,
                     path: String, depth: Int, defaultType: String, ctx: inout Context) {
        var ct = contentType(fields, fallback: nil)
        for d in ct.defects { ctx.defect(d, path) }
        if ct.value.isEmpty || !ct.value.containsBytes("/") || ct.value.hasPrefix("/") || ct.value.hasSuffix("/") {
            if fields.contains(where: { $0.kind == .contentType }) { ctx.defect(.invalidContentType, path, ct.value) }
            ct.value = defaultType
        }
        let cte = fields.first(where: { $0.kind == .contentTransferEncoding }).map {
            String(decoding: $0.value, as: UTF8.self).trimmingCharacters(inSet: " \t\"").lowercased()
        }
        let disposition = fields.first(where: { $0.kind == .contentDisposition }).map {
            ParameterizedValue.parse(String(decoding: $0.value, as: UTF8.self), fallbackCharset: nil)
        }
        let filename = (disposition?.parameter("filename") ?? ct.parameter("name")).flatMap { $0.isEmpty ? nil : $0 }
        var info = PartInfo(part: path, mediaType: ct.value, charset: ct.parameter("charset"), transferEncoding: cte,
                            disposition: disposition.map { $0.value.isEmpty ? nil : $0.value } ?? nil,
                            filename: filename, role: .body, encodedSize: body.count, headers: decoded)

        if ct.value.hasPrefix("multipart/") {
            info.role = .container
            ctx.out.parts.append(info)
            if depth >= limits.maxDepth {
                ctx.defect(.tooDeep, path)
                return
            }
            parseMultipart(buf, body: body, contentType: ct, path: path, depth: depth, ctx: &ctx)
            return
        }

        if ct.value == "message/partial" {
            // Fragment 1 starts with the inner message's header: parse it as a (truncated)
            // message. Later fragments are continuations of encoded data: recorded, not indexed.
            if ct.parameter("number")?.trimmingCharacters(inSet: " ") == "1", depth < limits.maxDepth {
                info.role = .message
                ctx.out.parts.append(info)
                parseMessage(buf, range: body, prefix: path, depth: depth + 1, topLevel: false, ctx: &ctx)
            } else {
                info.role = .attachment
                ctx.out.parts.append(info)
                let id = ct.parameter("id") ?? "?"
                ctx.out.attachments.append(Attachment(part: path, filename: filename, mediaType: ct.value, size: body.count, sha256: nil,
                                                      inline: false, text: nil, extraction: .unsupported,
                                                      extractionDetail: "fragment \(ct.parameter("number") ?? "?") of \(ct.parameter("total") ?? "?") (id \(id))"))
            }
            return
        }

        if ct.value == "message/rfc822" || ct.value == "message/global" || ct.value == "message/news" {
            info.role = .message
            let partIndex = ctx.out.parts.count
            ctx.out.parts.append(info)
            if depth >= limits.maxDepth {
                ctx.defect(.tooDeep, path)
                return
            }
            let encoding = cte ?? "7bit"
            var size = body.count
            if encoding.containsBytes("base64") || encoding.containsBytes("quoted") {
                // RFC 2046 §5.2.1 forbids it, but it happens: decode, then parse the decoded bytes.
                ctx.defect(.invalidTransferEncoding, path, encoding)
                let decodedBytes = decodeTransfer(buf, body: body, encoding: encoding, path: path, ctx: &ctx)
                size = decodedBytes.count
                decodedBytes.withUnsafeBufferPointer { inner in
                    parseMessage(inner, range: 0..<inner.count, prefix: path, depth: depth + 1, topLevel: false, ctx: &ctx)
                }
            } else {
                parseMessage(buf, range: body, prefix: path, depth: depth + 1, topLevel: false, ctx: &ctx)
            }
            if ctx.out.parts.indices.contains(partIndex), filename != nil {
                ctx.out.attachments.append(Attachment(part: path, filename: filename, mediaType: ct.value, size: size,
                                                      sha256: nil, inline: false, text: nil, extraction: .ok,
                                                      extractionDetail: "parsed as an attached message"))
            }
            return
        }

        parseLeaf(buf, body: body, contentType: ct, transferEncoding: cte ?? "7bit", disposition: disposition?.value,
                  filename: filename, info: info, ctx: &ctx)
    }

    // MARK: - Multipart

    func parseMultipart(_ buf: UnsafeBufferPointer<UInt8>, body: Range<Int>, contentType ct: ParameterizedValue,
                        path: String, depth: Int, presplit: [Range<Int>]? = nil, ctx: inout Context) {
        var boundary = ct.parameter("boundary").map { Array($0.utf8) } ?? []
        var children: [Range<Int>]
        var after: [Range<Int>] = []
        if let presplit {
            children = presplit
        } else {
            if boundary.isEmpty {
                ctx.defect(.missingBoundaryParameter, path)
                // Salvage: the first line that looks like a delimiter names the boundary.
                if let guessed = MultipartSplitter.guessBoundary(buf, body: body) { boundary = guessed }
            }
            let split = boundary.isEmpty ? nil : MultipartSplitter.split(buf, body: body, boundary: boundary)
            guard let split, !split.parts.isEmpty else {
                ctx.defect(.missingStartBoundary, path)
                // Read the whole body as one text part so its words are still found.
                var ctText = ParameterizedValue(value: "text/plain", parameters: [])
                ctText.parameters = ct.parameters.filter { $0.name == "charset" }
                let info = PartInfo(part: Self.join(path, 1), mediaType: "text/plain", charset: nil, transferEncoding: nil,
                                    disposition: nil, filename: nil, role: .body, encodedSize: body.count, headers: [])
                if ctx.admitPart(info.part) {
                    parseLeaf(buf, body: body, contentType: ctText, transferEncoding: "8bit", disposition: nil, filename: nil, info: info, ctx: &ctx)
                }
                return
            }
            if !split.closed { ctx.defect(.missingEndBoundary, path) }
            children = split.parts
            after = split.trailing
            if ct.value == "multipart/report", let text = Self.meaningfulPreamble(buf, split.preamble) {
                // Some reports carry their human-readable text in the preamble instead of a first part.
                appendText(text, origin: .plain, path: path, ctx: &ctx)
            }
        }
        let subtype = ct.value.dropFirst("multipart/".count)
        let childDefault = subtype == "digest" ? "message/rfc822" : "text/plain"
        let isAlternative = subtype == "alternative"

        var alternatives: [Collected] = []
        var k = 0
        while k < children.count {
            let range = children[k]
            let childPath = Self.join(path, k + 1)
            guard ctx.admitPart(childPath) else { break }
            let header = HeaderBlockParser.parse(buf, range: range, limits: limits, skipMboxFromLine: false)
            var sink = Collected()
            swap(&sink, &ctx.out)
            for d in header.defects where d != .missingHeaders { ctx.defect(d, childPath) }
            let decoded = decodeFields(header.fields, fallback: nil, path: childPath, ctx: &ctx)
            let childCT = contentType(header.fields, fallback: nil)
            if presplit == nil, childCT.value.hasPrefix("multipart/"), !boundary.isEmpty,
               childCT.parameter("boundary").map({ Array($0.utf8) == boundary }) == true, depth + 1 < limits.maxDepth {
                // A nested multipart reusing this boundary: the parts that follow, up to the close
                // delimiter, are its children; parts after the close delimiter continue this one.
                ctx.defect(.reusedBoundary, childPath)
                ctx.out.parts.append(PartInfo(part: childPath, mediaType: childCT.value, charset: nil, transferEncoding: nil, disposition: nil,
                                              filename: nil, role: .container, encodedSize: range.count, headers: decoded))
                parseMultipart(buf, body: range, contentType: childCT, path: childPath, depth: depth + 1,
                               presplit: Array(children[(k + 1)...]), ctx: &ctx)
                swap(&sink, &ctx.out)
                if isAlternative { alternatives.append(sink) } else { ctx.out.merge(sink) }
                children = Array(children[...k]) + after
                after = []
                k += 1
                continue
            }
            parseEntity(buf, fields: header.fields, decoded: decoded, body: header.bodyStart..<range.upperBound,
                        path: childPath, depth: depth + 1, defaultType: childDefault, ctx: &ctx)
            swap(&sink, &ctx.out)
            if isAlternative {
                alternatives.append(sink)
            } else {
                ctx.out.merge(sink)
            }
            k += 1
        }
        if isAlternative { mergeAlternatives(alternatives, ctx: &ctx) }
    }

    /// Preamble text worth indexing: not blank and not the usual "This is a multi-part message" line.
    static func meaningfulPreamble(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
        guard !range.isEmpty, range.count < 1 << 20 else { return nil }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self)
        let words = text.split(whereSeparator: { $0.isWhitespace })
        guard words.count > 12 else { return nil }
        return text
    }

    /// multipart/alternative: the plain-text alternative is the body, or the richest one that
    /// has text when the plain one is empty; the others' text goes to `alternatives`.
    /// Attachments of every alternative are kept.
    func mergeAlternatives(_ alts: [Collected], ctx: inout Context) {
        func hasText(_ c: Collected) -> Bool { c.body.contains { !$0.text.allSatisfy(\.isWhitespace) } }
        let plain = alts.firstIndex { c in hasText(c) && c.body.contains { $0.origin == .plain } }
        let chosen = plain ?? alts.lastIndex(where: hasText)
        for (i, var alt) in alts.enumerated() {
            if i != chosen {
                // Not shown as the body, but still searchable: an HTML version can hold words
                // its plain-text twin lacks, and IMAP BODY search covers every text part.
                let dropped = Set(alt.body.map(\.part))
                alt.alternatives += alt.body
                alt.body = []
                for j in alt.parts.indices where alt.parts[j].role == .body && dropped.contains(alt.parts[j].part) {
                    alt.parts[j].role = .alternative
                }
            }
            ctx.out.merge(alt)
        }
    }

    // MARK: - Leaf parts

    func decodeTransfer(_ buf: UnsafeBufferPointer<UInt8>, body: Range<Int>, encoding: String, path: String, ctx: inout Context) -> [UInt8] {
        let raw = Array(UnsafeBufferPointer(rebasing: buf[body]))
        var bytes: [UInt8]
        switch encoding {
        case "7bit", "8bit", "binary", "", "7-bit", "8-bit", "none", "text", "plain":
            bytes = raw
        case "x-gzip64", "gzip64":
            let d = TransferDecoding.base64(raw[...])
            if d.invalidCount > 0 { ctx.defect(.invalidBase64, path, "\(d.invalidCount) bad bytes") }
            do {
                bytes = try Inflate.gunzip(d.bytes, cap: limits.maxPartBytes)
            } catch {
                ctx.defect(error.isLimit ? .partTooLarge : .corruptCompressedData, path, error.description)
                bytes = []
            }
        case _ where encoding.containsBytes("base64") || encoding == "b":
            let d = TransferDecoding.base64(raw[...])
            if d.invalidCount > 0 { ctx.defect(.invalidBase64, path, "\(d.invalidCount) bad bytes") }
            bytes = d.bytes
        case _ where encoding.containsBytes("quoted") || encoding == "qp" || encoding == "q":
            let d = TransferDecoding.quotedPrintable(raw[...])
            if d.invalidCount > 0 { ctx.defect(.invalidQuotedPrintable, path, "\(d.invalidCount) bad escapes") }
            bytes = d.bytes
        case _ where encoding.containsBytes("uue") || encoding.containsBytes("uuencode"):
            bytes = TransferDecoding.uudecodeBody(raw[...]).bytes
        default:
            ctx.defect(.unknownTransferEncoding, path, encoding)
            bytes = raw
        }
        if bytes.count > limits.maxPartBytes {
            ctx.defect(.partTooLarge, path, "\(bytes.count) bytes")
            bytes.removeSubrange(limits.maxPartBytes...)
        }
        return bytes
    }

    static let inlineTextTypes: Set<String> = [
        "text/plain", "text/html", "text/enriched", "text/richtext", "text/x-aol", "text/rfc822-headers",
        "message/delivery-status", "message/global-delivery-status", "message/disposition-notification",
        "message/global-disposition-notification", "message/feedback-report",
        "text/markdown", "text/x-markdown", "text/watch-html",
    ]

    func parseLeaf(_ buf: UnsafeBufferPointer<UInt8>, body: Range<Int>, contentType ct: ParameterizedValue, transferEncoding: String,
                   disposition: String?, filename: String?, info: PartInfo, ctx: inout Context) {
        var info = info
        let type = ct.value
        let isInlineType = Self.inlineTextTypes.contains(type)
        let isAttachment = disposition == "attachment" || !isInlineType || (filename != nil && disposition != "inline")
        info.role = isAttachment ? .attachment : .body
        ctx.out.parts.append(info)
        if ctx.decodedBytes > limits.maxTotalDecodedBytes {
            ctx.defect(.partTooLarge, info.part, "total decoded bytes over the limit")
            ctx.out.parts[ctx.out.parts.count - 1].role = .skipped
            return
        }
        let data = decodeTransfer(buf, body: body, encoding: transferEncoding, path: info.part, ctx: &ctx)
        ctx.decodedBytes += data.count
        if isAttachment {
            addAttachment(data, mediaType: type, contentType: ct, filename: filename, inline: disposition == "inline", path: info.part, ctx: &ctx)
        } else {
            addBodyText(data, contentType: ct, path: info.part, ctx: &ctx)
        }
    }

    func decodeText(_ data: [UInt8], label: String?, path: String, ctx: inout Context) -> String {
        var (text, outcome) = Charset.decode(data, label: label)
        if outcome.unknownLabel { ctx.defect(.unknownCharset, path, label) }
        else if outcome.guessed, label != nil, !Charset.allASCII(data) { ctx.defect(.charsetGuessed, path, "\(label ?? "") → \(outcome.used)") }
        if outcome.substitutions > 0 { ctx.defect(.invalidCharsetData, path, "\(outcome.substitutions) replaced") }
        if data.withUnsafeBufferPointer({ $0.firstIndex(of: 0) != nil }) {
            ctx.defect(.nulBytes, path)
            text = String(decoding: text.utf8.filter { $0 != 0 }, as: UTF8.self)
        }
        return text
    }

    func addBodyText(_ data: [UInt8], contentType ct: ParameterizedValue, path: String, ctx: inout Context) {
        var data = data
        var uuFiles: [TransferDecoding.UUFile] = []
        if ct.value == "text/plain", let found = TransferDecoding.extractUUBlocks(data) {
            data = found.text
            uuFiles = found.files
        }
        var text: String
        var origin = TextSegment.Origin.plain
        switch ct.value {
        case "text/html", "text/x-aol", "text/watch-html":
            let label = ct.parameter("charset") ?? HTMLText.sniffCharset(data)
            let decoded = decodeText(data, label: label, path: path, ctx: &ctx)
            text = HTMLText.toText(Array(decoded.utf8), maxOutputBytes: limits.maxTextBytes).text
            origin = .html
        case "text/enriched", "text/richtext":
            text = Self.stripEnriched(decodeText(data, label: ct.parameter("charset"), path: path, ctx: &ctx))
            origin = .enriched
        default:
            text = decodeText(data, label: ct.parameter("charset"), path: path, ctx: &ctx)
            if ct.parameter("format")?.lowercased() == "flowed" {
                text = FlowedText.unflow(text, delSp: ct.parameter("delsp")?.lowercased() == "yes")
            }
        }
        appendText(text, origin: origin, path: path, ctx: &ctx)
        for (k, file) in uuFiles.enumerated() {
            addAttachment(file.bytes, mediaType: MediaTypes.guess(filename: file.name), contentType: nil, filename: file.name, inline: false,
                          path: "\(path).uu\(k + 1)", ctx: &ctx)
        }
    }

    func appendText(_ text: String, origin: TextSegment.Origin, path: String, ctx: inout Context) {
        var text = Self.normalizingLineBreaks(text)
        let room = limits.maxTextBytes - ctx.textBytes
        if room <= 0 {
            ctx.defect(.textTruncated, path)
            return
        }
        if text.utf8.count > room {
            ctx.defect(.textTruncated, path)
            text = String(decoding: text.utf8.prefix(room), as: UTF8.self)
        }
        ctx.textBytes += text.utf8.count
        ctx.out.body.append(TextSegment(part: path, origin: origin, text: text))
    }

    func addAttachment(_ data: [UInt8], mediaType: String, contentType ct: ParameterizedValue?, filename: String?, inline: Bool,
                       path: String, ctx: inout Context) {
        var att = Attachment(part: path, filename: filename, mediaType: mediaType, size: data.count, sha256: nil, inline: inline,
                             text: nil, extraction: .unsupported, extractionDetail: nil)
        if limits.hashAttachments, !data.isEmpty {
            att.sha256 = SHA256.hash(data: data).map { Self.hexDigits[Int($0 >> 4)] + Self.hexDigits[Int($0 & 15)] }.joined()
        }
        let lowerName = filename?.lowercased() ?? ""
        let isTNEF = mediaType == "application/ms-tnef" || mediaType == "application/vnd.ms-tnef" || lowerName == "winmail.dat"
        if isTNEF {
            // Outlook's winmail.dat: the message body (often the only copy of a rich-text mail)
            // and the names of the files inside.
            let content = AttachmentExtractor.tnefContent(data, limits: limits.extraction,
                                                          decodeCharset: { bytes, label in Charset.decode(bytes, label: label).0 })
            let inner = content.attachments
            let names = inner.map(\.name).joined(separator: "\n")
            att.text = [content.bodyText ?? "", names].filter { !$0.isEmpty }.joined(separator: "\n\n")
            att.extraction = (att.text ?? "").isEmpty ? .empty : (content.bodyTruncated ? .truncated : .ok)
            if let body = content.bodyText { ctx.tnefBodies.append((path, body)) }
            ctx.out.attachments.append(att)
            for (k, file) in inner.enumerated() {
                ctx.out.attachments.append(Attachment(part: "\(path).tnef\(k + 1)", filename: file.name, mediaType: MediaTypes.guess(filename: file.name),
                                                      size: file.size, sha256: nil, inline: false, text: nil, extraction: .unsupported,
                                                      extractionDetail: "inside TNEF"))
            }
            return
        }
        let isPlainText = mediaType.hasPrefix("text/") && mediaType != "text/calendar" && mediaType != "text/vcard"
            && mediaType != "text/x-vcard" && mediaType != "text/directory" && mediaType != "text/rtf" && mediaType != "text/x-vcalendar"
        if isPlainText {
            let decoded = decodeText(data, label: ct?.parameter("charset"), path: path, ctx: &ctx)
            var text = decoded
            if mediaType == "text/html" {
                text = HTMLText.toText(Array(decoded.utf8), maxOutputBytes: limits.extraction.maxOutputBytes).text
            } else if text.utf8.count > limits.extraction.maxOutputBytes {
                text = String(decoding: text.utf8.prefix(limits.extraction.maxOutputBytes), as: UTF8.self)
                att.extraction = .truncated
            }
            att.text = text
            if att.extraction != .truncated { att.extraction = text.isEmpty ? .empty : .ok }
        } else if limits.extractAttachments {
            if ContinuousClock.now > ctx.deadline {
                ctx.defect(.timeLimit, path)
                att.extraction = .timedOut
            } else {
                let result = AttachmentExtractor.extract(mediaType: mediaType, filename: filename, data: data, limits: limits.extraction,
                                                         decodeCharset: { bytes, label in Charset.decode(bytes, label: label).0 })
                att.extraction = result.status
                att.extractionDetail = result.detail
                if !result.text.isEmpty { att.text = result.text }
                switch result.status {
                case .failed: ctx.defect(.extractionFailed, path, result.detail)
                case .timedOut: ctx.defect(.extractionTimedOut, path, result.detail)
                case .limitExceeded: ctx.defect(.extractionLimit, path, result.detail)
                default: break
                }
            }
        }
        ctx.out.attachments.append(att)
    }

    static let hexDigits = (0..<16).map { String($0, radix: 16) }

    /// Body text uses "\n" line breaks whatever the transfer encoding kept (CRLF, LF).
    static func normalizingLineBreaks(_ text: String) -> String {
        var copy = text
        return copy.withUTF8 { src -> String in
            guard let base = src.baseAddress, memchr(base, 0x0D, src.count) != nil else { return text }
            var out = [UInt8]()
            out.reserveCapacity(src.count)
            var i = 0
            while i < src.count {
                let b = src[i]
                if b == 0x0D {
                    out.append(0x0A)  // CRLF → LF; a lone CR is a line break too
                    if i + 1 < src.count, src[i + 1] == 0x0A { i += 1 }
                } else {
                    out.append(b)
                }
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// text/enriched (RFC 1896): drop formatting commands, `<<` is a literal `<`.
    static func stripEnriched(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        var inTag = false
        var prevLT = false
        for ch in s {
            if inTag {
                if ch == ">" { inTag = false }
                continue
            }
            if ch == "<" {
                if prevLT { out.append("<"); prevLT = false; continue }
                prevLT = true
                continue
            }
            if prevLT { inTag = ch != ">"; prevLT = false; if inTag { continue } }
            out.append(ch)
        }
        return out
    }
}
