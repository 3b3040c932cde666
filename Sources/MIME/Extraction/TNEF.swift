// TNEF (application/ms-tnef, winmail.dat): names and sizes of the embedded attachments.

enum TNEF {
    static let signature: UInt32 = 0x223E_9F78
    static let attAttachRenddata: UInt32 = 0x0006_9002
    static let attAttachTitle: UInt32 = 0x0001_8010
    static let attAttachData: UInt32 = 0x0006_800F
    static let attAttachment: UInt32 = 0x0006_9005
    static let attOemCodepage: UInt32 = 0x0006_9007

    struct Attachment {
        var title: String?
        var longName: String?
        var mapiShortName: String?
        var size = 0
        var name: String { longName ?? title ?? mapiShortName ?? "" }
    }

    /// Little-endian cursor with bounds-checked reads.
    struct Reader {
        let bytes: [UInt8]
        var pos: Int
        let end: Int
        init(_ bytes: [UInt8], from: Int = 0, to: Int? = nil) {
            self.bytes = bytes
            self.pos = from
            self.end = min(to ?? bytes.count, bytes.count)
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

    static func attachments(_ data: [UInt8], decodeCharset: ([UInt8], String) -> String) -> [(name: String, size: Int)] {
        var r = Reader(data)
        guard r.u32() == signature, r.u16() != nil else { return [] }
        var list: [Attachment] = []
        var codepage = "windows-1252"
        var current: Attachment?

        func finishCurrent() {
            if let a = current { list.append(a) }
            current = nil
        }

        while r.remaining >= 9 {
            guard let _ = r.u8(), let id = r.u32(), let len32 = r.u32() else { break }
            let len = Int(len32)
            guard let payload = r.take(len) else { break } // truncated stream: keep what we have
            _ = r.skip(2) // checksum
            switch id {
            case attOemCodepage:
                var p = Reader(Array(payload))
                if let cp = p.u32(), cp != 0 { codepage = RTFText.codepageLabel(Int(cp)) }
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
                let props = mapiNames(Array(payload), codepage: codepage, decodeCharset: decodeCharset)
                if let long = props.long, !long.isEmpty { current?.longName = long }
                if let short = props.short, !short.isEmpty { current?.mapiShortName = short }
            default:
                break
            }
        }
        finishCurrent()
        return list.filter { !$0.name.isEmpty || $0.size > 0 }.map { (name: $0.name, size: $0.size) }
    }

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

    /// Walks a MAPI property list (attAttachment) for PR_ATTACH_LONG_FILENAME (0x3707) and PR_ATTACH_FILENAME (0x3704).
    /// Stops at the first malformed or unknown property.
    static func mapiNames(_ data: [UInt8], codepage: String, decodeCharset: ([UInt8], String) -> String) -> (long: String?, short: String?) {
        var r = Reader(data)
        var long: String?
        var short: String?
        guard let count = r.u32() else { return (nil, nil) }
        var index: UInt32 = 0
        while index < count && r.remaining > 0 {
            index += 1
            guard let type = r.u16(), let pid = r.u16() else { break }
            if pid >= 0x8000 { // named property: GUID, kind, id or name
                guard r.skip(16), let kind = r.u32() else { break }
                if kind == 0 {
                    guard r.skip(4) else { break }
                } else {
                    guard let nameLen = r.u32(), nameLen <= UInt32(r.remaining), r.skip(Int(nameLen)), r.skip(pad4(Int(nameLen))) else { break }
                }
            }
            let multi = type & 0x1000 != 0
            let base = type & 0x0FFF
            var valueCount = 1
            let variable = base == 0x001E || base == 0x001F || base == 0x0102 || base == 0x000D
            if multi || variable {
                guard let c = r.u32(), c <= UInt32(r.remaining) else { break }
                valueCount = Int(c)
            }
            var ok = true
            for _ in 0..<valueCount {
                if variable {
                    guard let l = r.u32(), let v = r.take(Int(l)), r.skip(pad4(Int(l))) || r.remaining == 0 else { ok = false; break }
                    if !multi && (pid == 0x3707 || pid == 0x3704) {
                        let s: String
                        if base == 0x001F { s = decodeUTF16LE(v) } else if base == 0x001E { s = decode8bit(v, codepage, decodeCharset) } else { continue }
                        if pid == 0x3707 { long = s } else { short = s }
                    }
                } else {
                    let size: Int
                    switch base {
                    case 0x0002, 0x0003, 0x0004, 0x000A, 0x000B, 0x0001: size = 4
                    case 0x0005, 0x0006, 0x0007, 0x0014, 0x0040: size = 8
                    case 0x0048: size = 16
                    default: ok = false; size = 0
                    }
                    if !ok || !r.skip(size) { ok = false; break }
                }
            }
            if !ok { break }
            if long != nil && short != nil { break }
        }
        return (long, short)
    }

    @inline(__always) static func pad4(_ n: Int) -> Int { (4 - n % 4) % 4 }
}
