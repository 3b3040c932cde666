// TNEF (application/ms-tnef, winmail.dat): the message body Outlook put inside (PR_BODY, PR_HTML,
// PR_RTF_COMPRESSED, attBody) and the names and sizes of the embedded attachments.
// Every read is bounds-checked; a malformed attribute or property ends the walk with what was found.

/// One attachment inside a TNEF stream.
public struct TNEFAttachment: Sendable, Hashable {
    public var name: String
    /// Bytes of attAttachData (0 when absent).
    public var size: Int
    public init(name: String, size: Int) {
        self.name = name
        self.size = size
    }
}

/// What a TNEF stream (winmail.dat) holds that is worth indexing.
public struct TNEFContent: Sendable {
    /// Which property the body text came from.
    public enum BodySource: String, Sendable {
        /// PR_BODY (0x1000) or, failing that, the message-level attBody attribute.
        case plainText
        /// PR_HTML (0x1013), converted with HTMLText.toText.
        case html
        /// PR_RTF_COMPRESSED (0x1009), decompressed and converted to text.
        case rtf
    }

    /// The message body as plain text; nil when the stream carries none (or only whitespace).
    public var bodyText: String?
    public var bodySource: BodySource?
    /// bodyText was cut at ExtractionLimits.maxOutputBytes (or the decompressed RTF at maxInputBytes).
    public var bodyTruncated: Bool
    public var attachments: [TNEFAttachment]

    public init(bodyText: String? = nil, bodySource: BodySource? = nil, bodyTruncated: Bool = false, attachments: [TNEFAttachment] = []) {
        self.bodyText = bodyText
        self.bodySource = bodySource
        self.bodyTruncated = bodyTruncated
        self.attachments = attachments
    }
}

extension AttachmentExtractor {
    /// Body text and attachment list of a TNEF stream. 8-bit strings are decoded with `decodeCharset(bytes, label)`,
    /// the label coming from PR_MESSAGE_CODEPAGE / attOemCodepage (PT_STRING8 values) or PR_INTERNET_CPID
    /// (PR_HTML bytes), e.g. "windows-1251", "koi8-r". Body preference: PR_BODY (or attBody) when not blank,
    /// else PR_HTML through HTMLText.toText, else PR_RTF_COMPRESSED through the RTF converter.
    /// Output is bounded by `limits.maxOutputBytes`; decompressed RTF by `limits.maxInputBytes`.
    public static func tnefContent(_ data: [UInt8], limits: ExtractionLimits = ExtractionLimits(),
                                   decodeCharset: ([UInt8], String) -> String) -> TNEFContent {
        TNEF.parse(data, wantBody: true, limits: limits, decodeCharset: decodeCharset)
    }
}

enum TNEF {
    static let signature: UInt32 = 0x223E_9F78
    static let signatureBytes: [UInt8] = [0x78, 0x9F, 0x3E, 0x22]

    // Attribute ids (type in the high word).
    static let attBody: UInt32 = 0x0002_8004
    static let attMAPIProps: UInt32 = 0x0006_9003
    static let attAttachRenddata: UInt32 = 0x0006_9002
    static let attAttachTitle: UInt32 = 0x0001_8010
    static let attAttachData: UInt32 = 0x0006_800F
    static let attAttachment: UInt32 = 0x0006_9005
    static let attOemCodepage: UInt32 = 0x0006_9007

    // MAPI property ids and types.
    static let prBody: UInt16 = 0x1000
    static let prRTFCompressed: UInt16 = 0x1009
    static let prHTML: UInt16 = 0x1013
    static let prInternetCPID: UInt16 = 0x3FDE
    static let prMessageCodepage: UInt16 = 0x3FFD
    static let prAttachFilename: UInt16 = 0x3704
    static let prAttachLongFilename: UInt16 = 0x3707
    static let ptLong: UInt16 = 0x0003
    static let ptString8: UInt16 = 0x001E
    static let ptUnicode: UInt16 = 0x001F
    static let ptBinary: UInt16 = 0x0102
    static let ptObject: UInt16 = 0x000D

    struct Attachment {
        var title: String?
        var longName: String?
        var mapiShortName: String?
        var size = 0
        var name: String { longName ?? title ?? mapiShortName ?? "" }
    }

    /// Little-endian cursor with bounds-checked reads over `bytes[pos..<end]`.
    struct Reader {
        let bytes: [UInt8]
        var pos: Int
        let end: Int
        init(_ bytes: [UInt8], from: Int = 0, to: Int? = nil) {
            self.bytes = bytes
            self.end = max(0, min(to ?? bytes.count, bytes.count))
            self.pos = max(0, min(from, self.end))
        }
        var remaining: Int { end - pos }
        mutating func u8() -> UInt8? {
            guard pos < end else { return nil }
            defer { pos += 1 }
            return bytes[pos]
        }
        mutating func u16() -> UInt16? {
            guard remaining >= 2 else { return nil }
            defer { pos += 2 }
            return UInt16(bytes[pos]) | UInt16(bytes[pos + 1]) << 8
        }
        mutating func u32() -> UInt32? {
            guard remaining >= 4 else { return nil }
            defer { pos += 4 }
            return UInt32(bytes[pos]) | UInt32(bytes[pos + 1]) << 8 | UInt32(bytes[pos + 2]) << 16 | UInt32(bytes[pos + 3]) << 24
        }
        mutating func skip(_ n: Int) -> Bool {
            guard n >= 0, n <= remaining else { return false }
            pos += n
            return true
        }
        mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, n <= remaining else { return nil }
            defer { pos += n }
            return bytes[pos..<(pos + n)]
        }
    }

    /// Message-level MAPI values relevant to the body (slices of the TNEF stream).
    struct MessageProps {
        var body: (type: UInt16, value: ArraySlice<UInt8>)?
        var html: (type: UInt16, value: ArraySlice<UInt8>)?
        var rtf: ArraySlice<UInt8>?
        var internetCPID: UInt32?
        var messageCodepage: UInt32?
    }

    static func attachments(_ data: [UInt8], decodeCharset: ([UInt8], String) -> String) -> [(name: String, size: Int)] {
        parse(data, wantBody: false, limits: ExtractionLimits(), decodeCharset: decodeCharset).attachments.map { (name: $0.name, size: $0.size) }
    }

    static func parse(_ data: [UInt8], wantBody: Bool, limits: ExtractionLimits,
                      decodeCharset: ([UInt8], String) -> String) -> TNEFContent {
        var r = Reader(data)
        guard r.u32() == signature, r.u16() != nil else { return TNEFContent() }
        var list: [Attachment] = []
        var oemCodepage: UInt32?
        var codepage = "windows-1252"
        var current: Attachment?
        var props = MessageProps()
        var attBodyValue: ArraySlice<UInt8>?

        func finishCurrent() {
            if let a = current { list.append(a) }
            current = nil
        }

        while r.remaining >= 9 {
            guard let _ = r.u8(), let id = r.u32(), let len32 = r.u32(), len32 <= UInt32(Int32.max) else { break }
            let len = Int(len32)
            guard let payload = r.take(len) else { break } // truncated stream: keep what we have
            _ = r.skip(2) // checksum
            switch id {
            case attOemCodepage:
                var p = Reader(data, from: payload.startIndex, to: payload.endIndex)
                if let cp = p.u32(), cp != 0 {
                    oemCodepage = cp
                    codepage = codepageLabel(cp)
                }
            case attBody:
                if wantBody && attBodyValue == nil { attBodyValue = payload }
            case attMAPIProps:
                if wantBody { collectMessageProps(data, payload, into: &props) }
            case attAttachRenddata:
                finishCurrent()
                current = Attachment()
            case attAttachTitle:
                if current == nil { current = Attachment() }
                if current?.title != nil { finishCurrent(); current = Attachment() }
                let s = decode8bit(payload, codepage, decodeCharset)
                current?.title = s.isEmpty ? nil : s
            case attAttachData:
                if current == nil { current = Attachment() }
                current?.size = len
            case attAttachment:
                if current == nil { current = Attachment() }
                let names = mapiNames(data, payload, codepage: codepage, decodeCharset: decodeCharset)
                if let long = names.long, !long.isEmpty { current?.longName = long }
                if let short = names.short, !short.isEmpty { current?.mapiShortName = short }
            default:
                break
            }
        }
        finishCurrent()
        var content = TNEFContent()
        content.attachments = list.filter { !$0.name.isEmpty || $0.size > 0 }.map { TNEFAttachment(name: $0.name, size: $0.size) }
        if wantBody {
            // PT_STRING8 values are in the message codepage; PR_HTML bytes in the Internet codepage.
            let string8Label = (props.messageCodepage ?? oemCodepage).map(codepageLabel) ?? codepage
            let htmlLabel = props.internetCPID.map(codepageLabel)
            if let body = bestBody(props, attBody: attBodyValue, string8Label: string8Label, htmlLabel: htmlLabel,
                                   limits: limits, decodeCharset: decodeCharset) {
                content.bodyText = body.text
                content.bodySource = body.source
                content.bodyTruncated = body.truncated
            }
        }
        return content
    }

    // MARK: - Body

    static func bestBody(_ props: MessageProps, attBody: ArraySlice<UInt8>?, string8Label: String, htmlLabel: String?,
                         limits: ExtractionLimits,
                         decodeCharset: ([UInt8], String) -> String) -> (text: String, source: TNEFContent.BodySource, truncated: Bool)? {
        let limit = max(0, limits.maxOutputBytes)
        if let body = props.body {
            let (text, truncated) = decodeString(body.value, type: body.type, label: string8Label, limit: limit, decodeCharset)
            if !isBlank(text) { return (text, .plainText, truncated) }
        }
        if let body = attBody {
            let (text, truncated) = decodeString(body, type: ptString8, label: string8Label, limit: limit, decodeCharset)
            if !isBlank(text) { return (text, .plainText, truncated) }
        }
        if let html = props.html {
            let utf8 = htmlUTF8(html.value, type: html.type, string8Label: string8Label, htmlLabel: htmlLabel, decodeCharset)
            let (text, truncated) = HTMLText.toText(utf8, maxOutputBytes: limit)
            if !isBlank(text) { return (text, .html, truncated) }
        }
        if let rtf = props.rtf, let decompressed = CompressedRTF.decompress(Array(rtf), maxOutput: limits.maxInputBytes) {
            var rtf = decompressed.rtf
            while rtf.last == 0 { rtf.removeLast() } // Outlook pads the RTF with NULs after the final brace
            let result = RTFText.extract(rtf, limits: limits, decodeCharset: decodeCharset)
            if !isBlank(result.text) {
                return (result.text, .rtf, decompressed.truncated || result.status == .truncated)
            }
        }
        return nil
    }

    static func isBlank(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
    }

    /// A PT_STRING8 / PT_UNICODE / PT_BINARY text value as a String of at most `limit` UTF-8 bytes.
    static func decodeString(_ value: ArraySlice<UInt8>, type: UInt16, label: String, limit: Int,
                             _ decodeCharset: ([UInt8], String) -> String) -> (String, Bool) {
        // Every code unit / byte yields at least one UTF-8 byte (two input bytes at least one for
        // multi-byte charsets), so a bounded prefix of the input suffices.
        let inputCap = limit > (Int.max - 16) / 4 ? Int.max : limit * 4 + 16
        var cut = false
        var v = value
        if v.count > inputCap {
            v = v.prefix(inputCap)
            cut = true
        }
        let s: String
        if type == ptUnicode {
            s = decodeUTF16LE(v)
        } else {
            s = decode8bit(v, label, decodeCharset)
        }
        var sink = ExtractionSink(limit: limit)
        sink.append(s)
        return (String(decoding: sink.bytes, as: UTF8.self), cut || sink.isFull)
    }

    /// PR_HTML as UTF-8 bytes for HTMLText. Binary HTML is in the Internet codepage (PR_INTERNET_CPID),
    /// else the charset its <meta> declares, else the message codepage.
    static func htmlUTF8(_ value: ArraySlice<UInt8>, type: UInt16, string8Label: String, htmlLabel: String?,
                         _ decodeCharset: ([UInt8], String) -> String) -> [UInt8] {
        if type == ptUnicode { return Array(decodeUTF16LE(value).utf8) }
        var v = value
        if type == ptString8, let nul = v.firstIndex(of: 0) { v = v[..<nul] }
        while let last = v.last, last == 0 { v = v.dropLast() }
        let bytes = Array(v)
        if bytes.allSatisfy({ $0 < 0x80 }) { return bytes }
        let label: String
        if type == ptString8 {
            label = string8Label
        } else {
            label = htmlLabel ?? HTMLText.sniffCharset(bytes) ?? string8Label
        }
        if label == "utf-8" || label == "utf8" { return bytes }
        return Array(decodeCharset(bytes, label).utf8)
    }

    /// Windows codepage number → charset label for `decodeCharset`.
    static func codepageLabel(_ cp: UInt32) -> String {
        switch cp {
        case 65001: return "utf-8"
        case 1200: return "utf-16le"
        case 1201: return "utf-16be"
        case 20127: return "us-ascii"
        case 20866: return "koi8-r"
        case 21866: return "koi8-u"
        case 28591...28599: return "iso-8859-\(cp - 28590)"
        case 28603: return "iso-8859-13"
        case 28605: return "iso-8859-15"
        case 38598: return "iso-8859-8-i"
        case 50220, 50221, 50222: return "iso-2022-jp"
        case 50225: return "iso-2022-kr"
        case 51932, 20932: return "euc-jp"
        case 51949: return "euc-kr"
        case 52936: return "hz-gb-2312"
        case 54936: return "gb18030"
        case 932: return "shift_jis"
        case 936: return "gbk"
        case 949: return "euc-kr"
        case 950: return "big5"
        case 437: return "ibm437"
        case 850: return "ibm850"
        case 852: return "ibm852"
        case 866: return "ibm866"
        case 10000: return "macintosh"
        case 10007: return "x-mac-cyrillic"
        case 0: return "windows-1252"
        default: return "windows-\(cp)"
        }
    }

    // MARK: - MAPI property streams

    /// Walks a MAPI property stream (attMAPIProps, attAttachment) inside `data[payload range]`: a u32 count, then per
    /// property a u16 type, u16 id, for ids >= 0x8000 a named-property GUID + kind + (u32 id | u32 length + UTF-16
    /// name, padded), for multi-valued or variable-length types a u32 value count, then the values — fixed ones
    /// padded to 4 bytes, variable ones as u32 length + bytes padded to 4. `visit(id, baseType, named, multi, value)`
    /// sees every value and returns false to stop. The walk stops at the first malformed or unknown-typed property.
    static func forEachMAPIValue(_ data: [UInt8], _ payload: ArraySlice<UInt8>,
                                 _ visit: (_ id: UInt16, _ type: UInt16, _ named: Bool, _ multi: Bool, _ value: ArraySlice<UInt8>) -> Bool) {
        var r = Reader(data, from: payload.startIndex, to: payload.endIndex)
        guard let count = r.u32() else { return }
        var index: UInt32 = 0
        while index < count && r.remaining > 0 {
            index += 1
            guard let type = r.u16(), let pid = r.u16() else { return }
            let named = pid >= 0x8000
            if named {
                guard r.skip(16), let kind = r.u32() else { return }
                if kind == 0 {
                    guard r.skip(4) else { return }
                } else {
                    guard let nameLen = r.u32(), nameLen <= UInt32(r.remaining), r.skip(Int(nameLen)) else { return }
                    guard r.skip(pad4(Int(nameLen))) else { return }
                }
            }
            let multi = type & 0x1000 != 0
            let base = type & 0x0FFF
            let variable = base == ptString8 || base == ptUnicode || base == ptBinary || base == ptObject
            var valueCount = 1
            if multi || variable {
                guard let c = r.u32(), c <= UInt32(r.remaining) else { return }
                valueCount = Int(c)
            }
            let size: Int
            if variable {
                size = -1
            } else {
                switch base {
                case 0x0002, 0x000B: size = 2                        // PT_I2, PT_BOOLEAN (padded to 4)
                case 0x0001, 0x0003, 0x0004, 0x000A: size = 4        // PT_NULL, PT_LONG, PT_FLOAT, PT_ERROR
                case 0x0005, 0x0006, 0x0007, 0x0014, 0x0040: size = 8 // PT_DOUBLE, PT_CURRENCY, PT_APPTIME, PT_I8, PT_SYSTIME
                case 0x0048: size = 16                               // PT_CLSID
                default: return                                      // unknown size: cannot continue
                }
            }
            var k = 0
            while k < valueCount {
                k += 1
                let value: ArraySlice<UInt8>
                if variable {
                    // The last value's padding may be missing at the very end of the stream.
                    guard let l = r.u32(), l <= UInt32(r.remaining), let v = r.take(Int(l)) else { return }
                    guard r.skip(pad4(Int(l))) || r.remaining == 0 else { return }
                    value = v
                } else {
                    guard let v = r.take(size), r.skip(pad4(size)) else { return }
                    value = v
                }
                if !visit(pid, base, named, multi, value) { return }
            }
        }
    }

    static func collectMessageProps(_ data: [UInt8], _ payload: ArraySlice<UInt8>, into props: inout MessageProps) {
        forEachMAPIValue(data, payload) { id, type, named, multi, value in
            if named || multi { return true }
            switch (id, type) {
            case (prBody, ptString8), (prBody, ptUnicode):
                if props.body == nil { props.body = (type, value) }
            case (prHTML, ptBinary), (prHTML, ptString8), (prHTML, ptUnicode):
                if props.html == nil { props.html = (type, value) }
            case (prRTFCompressed, ptBinary):
                if props.rtf == nil { props.rtf = value }
            case (prInternetCPID, ptLong):
                var v = Reader(data, from: value.startIndex, to: value.endIndex)
                if let cp = v.u32(), cp != 0 { props.internetCPID = cp }
            case (prMessageCodepage, ptLong):
                var v = Reader(data, from: value.startIndex, to: value.endIndex)
                if let cp = v.u32(), cp != 0 { props.messageCodepage = cp }
            default:
                break
            }
            return true
        }
    }

    /// PR_ATTACH_LONG_FILENAME (0x3707) and PR_ATTACH_FILENAME (0x3704) from an attAttachment property list.
    static func mapiNames(_ data: [UInt8], _ payload: ArraySlice<UInt8>, codepage: String,
                          decodeCharset: ([UInt8], String) -> String) -> (long: String?, short: String?) {
        var long: String?
        var short: String?
        forEachMAPIValue(data, payload) { id, type, named, multi, value in
            if named || multi || (id != prAttachLongFilename && id != prAttachFilename) { return true }
            let s: String
            if type == ptUnicode {
                s = decodeUTF16LE(value)
            } else if type == ptString8 {
                s = decode8bit(value, codepage, decodeCharset)
            } else {
                return true
            }
            if id == prAttachLongFilename { long = s } else { short = s }
            return long == nil || short == nil
        }
        return (long, short)
    }

    // MARK: - Strings

    static func decode8bit(_ bytes: ArraySlice<UInt8>, _ codepage: String, _ decodeCharset: ([UInt8], String) -> String) -> String {
        var b = bytes
        if let nul = b.firstIndex(of: 0) { b = b[..<nul] }
        if b.isEmpty { return "" }
        if b.allSatisfy({ $0 < 0x80 }) { return String(decoding: b, as: UTF8.self) }
        return decodeCharset(Array(b), codepage)
    }

    static func decodeUTF16LE(_ bytes: ArraySlice<UInt8>) -> String {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = bytes.startIndex
        while i + 1 < bytes.endIndex {
            let u = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
            if u == 0 { break }
            units.append(u)
            i += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    @inline(__always) static func pad4(_ n: Int) -> Int { (4 - n % 4) % 4 }
}
