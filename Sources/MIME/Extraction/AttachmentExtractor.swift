// Entry point: picks an extractor for an attachment by media type, filename extension or magic bytes.

public enum AttachmentExtractor {
    enum Format: Equatable { case pdf, zipDocument, rtf, calendar, tnef }

    /// Chooses the extractor from the media type (lowercased "type/subtype") and, when the type is
    /// generic (application/octet-stream, missing), from the filename extension or magic bytes.
    /// `decodeCharset(bytes, label)` converts legacy-charset bytes to String (provided by the caller).
    public static func extract(mediaType: String, filename: String?, data: [UInt8], limits: ExtractionLimits,
                               decodeCharset: ([UInt8], String) -> String) -> ExtractionResult {
        if data.count > limits.maxInputBytes {
            return .status(.limitExceeded, "input is \(data.count) bytes; limit \(limits.maxInputBytes)")
        }
        guard let format = detect(mediaType: mediaType, filename: filename, data: data) else {
            return .status(.unsupported, "no extractor for \(normalizedType(mediaType).isEmpty ? "unknown type" : normalizedType(mediaType))")
        }
        if data.isEmpty { return .status(.empty, "no data") }
        switch format {
        case .pdf:
            return PDFText.extract(data, limits: limits)
        case .zipDocument:
            return OfficeText.extract(data, limits: limits)
        case .rtf:
            return RTFText.extract(data, limits: limits, decodeCharset: decodeCharset)
        case .calendar:
            return CalendarText.extract(data, limits: limits, decodeCharset: decodeCharset)
        case .tnef:
            // Body text first (PR_BODY, else PR_HTML, else PR_RTF_COMPRESSED), then one line per attachment name.
            let content = TNEF.parse(data, wantBody: true, limits: limits, decodeCharset: decodeCharset)
            var sink = ExtractionSink(limit: limits.maxOutputBytes)
            if let body = content.bodyText {
                sink.append(body)
                sink.newlineIfNeeded()
            }
            let names = content.attachments.filter { !$0.name.isEmpty }
            if content.bodyText != nil && !names.isEmpty { sink.append(0x0A) }
            for a in names {
                sink.append(a.name)
                sink.append(0x0A)
            }
            if content.bodyText == nil && content.attachments.isEmpty && !data.starts(with: TNEF.signatureBytes) {
                return .status(.failed, "not a TNEF stream")
            }
            var result = sink.result()
            if content.bodyTruncated && result.status == .ok { result.status = .truncated }
            return result
        }
    }

    /// TNEF (application/ms-tnef, winmail.dat): the names (and sizes) of the attachments inside.
    /// Names are decoded as UTF-8 when ASCII, otherwise as Latin-1 (the caller may re-decode).
    public static func tnefAttachments(_ data: [UInt8]) -> [(name: String, size: Int)] {
        TNEF.attachments(data, decodeCharset: { bytes, _ in extractionLatin1(bytes) })
    }

    /// TNEF attachment names with a caller-provided decoder for 8-bit names (label from attOemCodepage, default windows-1252).
    public static func tnefAttachments(_ data: [UInt8], decodeCharset: ([UInt8], String) -> String) -> [(name: String, size: Int)] {
        TNEF.attachments(data, decodeCharset: decodeCharset)
    }

    // MARK: - Detection

    static func normalizedType(_ mediaType: String) -> String {
        var t = Substring(mediaType)
        if let semi = t.firstIndex(of: ";") { t = t[..<semi] }
        return String(t).lowercased().filter { $0 != " " && $0 != "\t" && $0 != "\r" && $0 != "\n" }
    }

    static let genericTypes: Set<String> = [
        "", "application/octet-stream", "application/x-download", "application/download", "application/unknown",
        "binary/octet-stream", "application/force-download", "application/binary", "application/x-unknown",
        "application/zip", "application/x-zip-compressed", "application/x-zip", "application/vnd.ms-office",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    ]

    static func detect(mediaType: String, filename: String?, data: [UInt8]) -> Format? {
        let type = normalizedType(mediaType)
        switch type {
        case "application/pdf", "application/x-pdf", "application/acrobat", "text/pdf":
            return .pdf
        case "text/rtf", "application/rtf", "application/x-rtf":
            return .rtf
        case "text/calendar", "application/ics", "text/x-vcalendar", "application/x-ical",
             "text/vcard", "text/x-vcard", "text/directory", "application/vcard":
            return .calendar
        case "application/ms-tnef", "application/vnd.ms-tnef", "application/x-tnef":
            return .tnef
        default:
            break
        }
        if type.hasPrefix("application/vnd.openxmlformats-officedocument.")
            || type.hasPrefix("application/vnd.oasis.opendocument.")
            || (type.hasPrefix("application/vnd.ms-") && type.hasSuffix(".macroenabled.12")) {
            return .zipDocument
        }
        let generic = genericTypes.contains(type)
        if !generic && type.hasPrefix("text/") { return nil } // plain text and friends: the caller's job
        if let f = byExtension(filename) { return f }
        return byMagic(data)
    }

    static func byExtension(_ filename: String?) -> Format? {
        guard let name = filename?.lowercased() else { return nil }
        if name == "winmail.dat" || name.hasSuffix("/winmail.dat") { return .tnef }
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let ext = name[name.index(after: dot)...].trimmingExtensionQuotes(" \"'")
        switch ext {
        case "pdf": return .pdf
        case "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "ppsx", "ppsm", "potx", "potm",
             "odt", "ods", "odp", "odg", "ott", "ots", "otp":
            return .zipDocument
        case "rtf": return .rtf
        case "ics", "ical", "icalendar", "ifb", "vcs", "vcf", "vcard": return .calendar
        case "tnef": return .tnef
        default: return nil
        }
    }

    static func byMagic(_ data: [UInt8]) -> Format? {
        if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .zipDocument }
        if data.starts(with: [0x78, 0x9F, 0x3E, 0x22]) { return .tnef }
        // Skip a BOM and leading whitespace for the text formats.
        var i = 0
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < data.count && i < 1024 && (data[i] == 0x20 || data[i] == 0x09 || data[i] == 0x0D || data[i] == 0x0A) { i += 1 }
        if data.extractionHasBytes(Array("{\\rtf".utf8), at: i) { return .rtf }
        let head = data[i..<min(data.count, i + 16)].map(asciiLowerByte)
        if head.starts(with: Array("begin:vcalendar".utf8)) || head.starts(with: Array("begin:vcard".utf8)) { return .calendar }
        // %PDF- may be preceded by junk; readers accept it within the first 1024 bytes.
        let pdf = Array("%PDF-".utf8)
        var j = 0
        let limit = min(data.count, 1024)
        while j < limit {
            if data[j] == 0x25 && data.extractionHasBytes(pdf, at: j) { return .pdf }
            j += 1
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingExtensionQuotes(_ set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
