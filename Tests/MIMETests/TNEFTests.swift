import Foundation
import Testing
@testable import MIME
import TestSupport

// TNEF (winmail.dat) message bodies: PR_BODY / PR_HTML / PR_RTF_COMPRESSED / attBody, and MS-OXRTFCP decompression.

// MARK: - Helpers

private func tnefFixture(_ name: String) throws -> [UInt8] {
    let base = try #require(Bundle.module.resourceURL)
    let url = base.appendingPathComponent("Fixtures/extraction/\(name)")
    return [UInt8](try Data(contentsOf: url))
}

/// Latin-1, plus windows-1251 and KOI8-R tables for the Cyrillic letters; records the labels it was asked for.
private final class TNEFTestDecoder: @unchecked Sendable {
    var labels: [String] = []
    static let koi8Lower = Array("юабцдефгхийклмнопярстужвьызшэщчъ".unicodeScalars)

    func decode(_ bytes: [UInt8], _ label: String) -> String {
        labels.append(label)
        var s = String.UnicodeScalarView()
        for b in bytes {
            if label == "windows-1251", b >= 0xC0, let u = Unicode.Scalar(0x0410 + UInt32(b - 0xC0)) {
                s.append(u)
            } else if label == "koi8-r", b >= 0xC0 {
                let lower = Self.koi8Lower[Int(b & 0x1F)]
                if b >= 0xE0, let upper = Unicode.Scalar(lower.value - 0x20) { s.append(upper) } else { s.append(lower) }
            } else {
                s.append(Unicode.Scalar(b))
            }
        }
        return String(s)
    }
}

private func parseTNEF(_ data: [UInt8], limits: ExtractionLimits = ExtractionLimits()) -> (TNEFContent, [String]) {
    let decoder = TNEFTestDecoder()
    let c = AttachmentExtractor.tnefContent(data, limits: limits, decodeCharset: decoder.decode)
    return (c, decoder.labels)
}

private func extractTNEF(_ data: [UInt8], limits: ExtractionLimits = ExtractionLimits()) -> ExtractionResult {
    let decoder = TNEFTestDecoder()
    return AttachmentExtractor.extract(mediaType: "application/ms-tnef", filename: "winmail.dat", data: data,
                                       limits: limits, decodeCharset: decoder.decode)
}

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
private func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
private func utf16z(_ s: String) -> [UInt8] { s.utf16.flatMap(le16) + [0, 0] }


/// MAPI property list builder (attMAPIProps / attAttachment payloads).
private struct MAPIProps {
    var count: UInt32 = 0
    var bytes: [UInt8] = []

    private mutating func pad() { while bytes.count % 4 != 0 { bytes.append(0) } }

    mutating func long(_ id: UInt16, _ v: UInt32) {
        count += 1
        bytes += le16(0x0003) + le16(id) + le32(v)
    }
    mutating func bool(_ id: UInt16, _ v: Bool) {
        count += 1
        bytes += le16(0x000B) + le16(id) + le16(v ? 1 : 0) + [0, 0]
    }
    mutating func variable(_ type: UInt16, _ id: UInt16, _ value: [UInt8]) {
        count += 1
        bytes += le16(type) + le16(id) + le32(1) + le32(UInt32(value.count)) + value
        pad()
    }
    mutating func namedString(_ name: String, _ value: String) {
        count += 1
        let n = utf16z(name)
        bytes += le16(0x001F) + le16(0x8001) + Array(repeating: 0xAB, count: 16) + le32(1) + le32(UInt32(n.count)) + n
        pad()
        let v = utf16z(value)
        bytes += le32(1) + le32(UInt32(v.count)) + v
        pad()
    }
    mutating func namedLong(_ lid: UInt32, _ v: UInt32) {
        count += 1
        bytes += le16(0x0003) + le16(0x8002) + Array(repeating: 0xCD, count: 16) + le32(0) + le32(lid) + le32(v)
    }
    mutating func multiString8(_ id: UInt16, _ values: [String]) {
        count += 1
        bytes += le16(0x101E) + le16(id) + le32(UInt32(values.count))
        for s in values {
            let v = Array(s.utf8) + [0]
            bytes += le32(UInt32(v.count)) + v
            pad()
        }
    }
    mutating func multiLong(_ id: UInt16, _ values: [UInt32]) {
        count += 1
        bytes += le16(0x1003) + le16(id) + le32(UInt32(values.count)) + values.flatMap(le32)
    }
    mutating func systime(_ id: UInt16) {
        count += 1
        bytes += le16(0x0040) + le16(id) + Array(repeating: 0x11, count: 8)
    }
    var payload: [UInt8] { le32(count) + bytes }
}

/// An LZFu stream that uses only literals (plus the end marker), with a correct header and CRC.
private func lzfuLiterals(_ rtf: [UInt8]) -> [UInt8] {
    var body: [UInt8] = []
    var write = 207
    var i = 0
    while true {
        var flags: UInt8 = 0
        var run: [UInt8] = []
        var bit = 0
        var done = false
        while bit < 8 {
            if i < rtf.count {
                run.append(rtf[i])
                i += 1
                write = (write + 1) & 0xFFF
            } else {
                flags |= 1 << UInt8(bit)
                let ref = UInt16(write) << 4
                run += [UInt8(ref >> 8), UInt8(ref & 0xFF)]
                done = true
                break
            }
            bit += 1
        }
        body.append(flags)
        body += run
        if done { break }
    }
    let crc = CompressedRTF.crc(body[...])
    return le32(UInt32(body.count + 12)) + le32(UInt32(rtf.count)) + Array("LZFu".utf8) + le32(crc) + body
}

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

private func mutateTNEF(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var d = input
    switch rng.below(5) {
    case 0: // truncate
        d = Array(d.prefix(rng.below(d.count + 1)))
    case 1: // flip a few bytes
        for _ in 0..<(1 + rng.below(8)) where !d.isEmpty { d[rng.below(d.count)] = UInt8(truncatingIfNeeded: rng.next()) }
    case 2: // overwrite a 32-bit word with an extreme value (lengths, counts)
        if d.count >= 4 {
            let at = rng.below(d.count - 3)
            let v: [UInt32] = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, UInt32(d.count), 0x1000]
            let w = le32(v[rng.below(v.count)])
            for k in 0..<4 { d[at + k] = w[k] }
        }
    case 3: // delete a range
        if !d.isEmpty {
            let a = rng.below(d.count)
            let b = min(d.count, a + 1 + rng.below(64))
            d.removeSubrange(a..<b)
        }
    default: // duplicate a range
        if !d.isEmpty {
            let a = rng.below(d.count)
            let b = min(d.count, a + 1 + rng.below(256))
            d.insert(contentsOf: d[a..<b], at: rng.below(d.count))
        }
    }
    return d
}

/// The PR_RTF_COMPRESSED value of a fixture, found with the library's own MAPI walker.
private func compressedRTF(of data: [UInt8]) -> [UInt8]? {
    var r = TNEF.Reader(data, from: 6)
    var found: [UInt8]?
    while r.remaining >= 9, found == nil {
        guard let _ = r.u8(), let id = r.u32(), let len = r.u32(), let payload = r.take(Int(len)) else { break }
        _ = r.skip(2)
        if id == TNEF.attMAPIProps {
            TNEF.forEachMAPIValue(data, payload) { pid, type, _, _, value in
                if pid == 0x1009 && type == 0x0102 { found = Array(value); return false }
                return true
            }
        }
    }
    return found
}

// MARK: - Real winmail.dat files

@Suite struct TNEFContentTests {
    @Test func ukrainianHTMLBodyInKOI8R() throws {
        let data = try tnefFixture("tnef-ukr.dat")
        let (c, labels) = parseTNEF(data)
        #expect(c.bodySource == .html)
        let body = try #require(c.bodyText)
        #expect(body.contains("шостий"))
        #expect(body.contains("RR Test 1"))
        #expect(body.contains("{EMAILSIGNATURE}"))
        #expect(!body.contains("<p>") && !body.contains("font-size"))
        // PR_INTERNET_CPID 20866 decides the charset of the binary PR_HTML.
        #expect(labels.contains("koi8-r"))
        #expect(c.attachments.isEmpty)
        #expect(c.bodyTruncated == false)

        let r = extractTNEF(data)
        #expect(r.status == .ok)
        #expect(r.text.contains("шостий"))
        #expect(r.text.contains("RR Test 1"))
    }

    @Test func richTextBodyFromCompressedRTF() throws {
        let data = try tnefFixture("tnef-rich-text.dat")
        let (c, _) = parseTNEF(data)
        #expect(c.bodySource == .rtf)
        let body = try #require(c.bodyText)
        #expect(body.contains("You've made this a Christmas to remember"))
        #expect(body.contains("Springtime feeling's in the middle of December"))
        #expect(body.contains("So I headed up to Tahoe for a Christmas on the slopes"))
        #expect(!body.contains("\\par") && !body.contains("fonttbl") && !body.contains("Times New Roman"))
        #expect(!body.contains("\0"))
        #expect(body.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("Oh! What a Christmas to remember"))
        #expect(c.attachments.map(\.name) == ["kitten-playing-with-a-christmas-tree.jpg", "Untitled Attachment", "Untitled Attachment"])
        // The fixture drops the kitten's 375 KB attAttachData (see the fixtures README).
        #expect(c.attachments.map(\.size) == [0, 89, 89])

        let r = extractTNEF(data)
        #expect(r.status == .ok)
        #expect(r.text.hasPrefix(body))
        #expect(r.text.hasSuffix("\n\nkitten-playing-with-a-christmas-tree.jpg\nUntitled Attachment\nUntitled Attachment\n"))
        // The old API still lists the attachments only.
        #expect(AttachmentExtractor.tnefAttachments(data).map(\.name) == c.attachments.map(\.name))
    }

    @Test func mailcore2HTMLEncapsulatedRTF() throws {
        let data = try tnefFixture("winmail-mailcore2.dat")
        let (c, _) = parseTNEF(data)
        #expect(c.bodySource == .rtf)
        let body = try #require(c.bodyText)
        #expect(body.contains("Bonjou"))
        #expect(body.contains("voilà les print ecran"))
        #expect(body.contains("Qu'elle est la procédure pour exporter la base ves Linux SVP."))
        #expect(body.contains("info@gir.fr"))
        #expect(!body.contains("htmltag") && !body.contains("<DIV"))
        #expect(c.attachments == [TNEFAttachment(name: "GIR - LINUX.doc", size: 202_240)])

        let r = extractTNEF(data)
        #expect(r.status == .ok)
        #expect(r.text.contains("Bonjou"))
        #expect(r.text.hasSuffix("\n\nGIR - LINUX.doc\n"))
    }

    @Test func outputIsBounded() throws {
        for name in ["tnef-ukr.dat", "tnef-rich-text.dat", "winmail-mailcore2.dat"] {
            let data = try tnefFixture(name)
            var limits = ExtractionLimits()
            limits.maxOutputBytes = 25
            let (c, _) = parseTNEF(data, limits: limits)
            #expect((c.bodyText?.utf8.count ?? 0) <= 25, "\(name)")
            #expect(c.bodyTruncated, "\(name)")
            let r = extractTNEF(data, limits: limits)
            #expect(r.status == .truncated, "\(name)")
            #expect(r.text.utf8.count <= 25, "\(name)")
            // A decompressed-RTF budget smaller than the RTF: still text, marked truncated.
            // (rich-text.dat's text starts after 6000 bytes of RTF tables: no body then.)
            var small = ExtractionLimits()
            small.maxInputBytes = 6000
            let (cut, _) = parseTNEF(data, limits: small)
            switch name {
            case "winmail-mailcore2.dat":
                #expect(cut.bodyTruncated)
                #expect(cut.bodyText?.contains("Bonjou") == true)
            case "tnef-rich-text.dat":
                #expect(cut.bodyText == nil)
            default:
                #expect(!cut.bodyTruncated)
            }
        }
    }

    // MARK: - Synthetic streams

    @Test func plainBodyWinsAndCodepages() {
        var props = MAPIProps()
        props.namedString("x-custom", "named values come first")
        props.namedLong(0x8501, 7)
        props.multiString8(0x3A2A, ["one", "three", "seven!!"])
        props.multiLong(0x3A50, [1, 2, 3])
        props.bool(0x0E1F, true)
        props.systime(0x0039)
        props.long(0x3FFD, 1251) // PR_MESSAGE_CODEPAGE: PT_STRING8 values
        props.long(0x3FDE, 20866) // PR_INTERNET_CPID: binary HTML
        props.variable(0x0102, 0x1013, Array("<p>html body</p>".utf8))
        props.variable(0x001E, 0x1000, [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x20] + Array("body\r\n".utf8) + [0])
        let stream = tnef([(1, 0x0006_9007, le32(1252) + le32(0)), (1, 0x0006_9003, props.payload)])
        let (c, labels) = parseTNEF(stream)
        #expect(c.bodySource == .plainText)
        #expect(c.bodyText == "Привет body\r\n")
        #expect(labels == ["windows-1251"])

        // PT_UNICODE PR_BODY needs no decoder.
        var u = MAPIProps()
        u.variable(0x001F, 0x1000, utf16z("Grüße aus Köln"))
        let (cu, lu) = parseTNEF(tnef([(1, 0x0006_9003, u.payload)]))
        #expect(cu.bodyText == "Grüße aus Köln")
        #expect(lu.isEmpty)

        // Without PR_MESSAGE_CODEPAGE the attOemCodepage labels 8-bit strings.
        var o = MAPIProps()
        o.variable(0x001E, 0x1000, [0xE4, 0x0D, 0x0A, 0])
        let (co, lo) = parseTNEF(tnef([(1, 0x0006_9007, le32(1253) + le32(0)), (1, 0x0006_9003, o.payload)]))
        #expect(lo == ["windows-1253"])
        #expect(co.bodyText == "\u{E4}\r\n")
    }

    @Test func fallbacks() {
        // Blank PR_BODY → PR_HTML (PT_UNICODE here).
        var p = MAPIProps()
        p.variable(0x001E, 0x1000, Array(" \r\n\t".utf8) + [0])
        p.variable(0x001F, 0x1013, utf16z("<div>Hallo &amp; tsch&uuml;ss</div>"))
        let (c, _) = parseTNEF(tnef([(1, 0x0006_9003, p.payload)]))
        #expect(c.bodySource == .html)
        #expect(c.bodyText?.contains("Hallo & tschüss") == true)

        // attBody at message level when there is no PR_BODY.
        let withAttBody = tnef([(1, 0x0002_8004, Array("legacy attBody text\0".utf8))])
        let (b, _) = parseTNEF(withAttBody)
        #expect(b.bodySource == .plainText)
        #expect(b.bodyText == "legacy attBody text")

        // Only compressed RTF.
        var q = MAPIProps()
        q.variable(0x0102, 0x1009, lzfuLiterals(Array("{\\rtf1\\ansi\\ansicpg1252 Caf\\'e9 \\b bold\\b0\\par end}".utf8)))
        let (rc, _) = parseTNEF(tnef([(1, 0x0006_9003, q.payload)]))
        #expect(rc.bodySource == .rtf)
        #expect(rc.bodyText?.contains("Café bold\nend") == true)

        // Nothing usable: nil body, and extract reports .empty for a bare TNEF header.
        let empty = tnef([(1, 0x0009_8008, Array("IPM.Note\0".utf8))])
        #expect(parseTNEF(empty).0.bodyText == nil)
        #expect(extractTNEF(empty).status == .empty)
        #expect(extractTNEF(Array("not tnef at all".utf8)).status == .failed)
    }

    @Test func malformedPropertyStopsTheWalkButKeepsEarlierValues() {
        var p = MAPIProps()
        p.variable(0x001F, 0x1000, utf16z("kept body"))
        var payload = p.payload
        payload[0] = 3 // claims three properties
        payload += le16(0x00FE) + le16(0x1234) + [1, 2, 3, 4] // unknown type: walk stops here
        payload += le16(0x001F) + le16(0x1013) + le32(1) + le32(0xFFFF_FF00) // would-be huge value
        let (c, _) = parseTNEF(tnef([(1, 0x0006_9003, payload)]))
        #expect(c.bodyText == "kept body")

        // A value length past the end of the attribute.
        var q = MAPIProps()
        q.long(0x3FDE, 65001)
        var bad = q.payload
        bad[0] = 2
        bad += le16(0x001E) + le16(0x1000) + le32(1) + le32(1000) + Array("short".utf8)
        #expect(parseTNEF(tnef([(1, 0x0006_9003, bad)])).0.bodyText == nil)
    }

    // MARK: - MS-OXRTFCP

    @Test func compressedRTFSpecExamples() throws {
        #expect(CompressedRTF.prefix.count == 207)
        // MS-OXRTFCP 4.1 and 4.2.
        let simple: [UInt8] = [
            0x2D, 0x00, 0x00, 0x00, 0x2B, 0x00, 0x00, 0x00, 0x4C, 0x5A, 0x46, 0x75, 0xF1, 0xC5, 0xC7, 0xA7,
            0x03, 0x00, 0x0A, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0A, 0xF3, 0x20,
            0x68, 0x65, 0x6C, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xB0, 0x6C, 0x64, 0x7D, 0x0A, 0x80, 0x0F, 0xA0,
        ]
        let a = try #require(CompressedRTF.decompress(simple, maxOutput: 1 << 20))
        #expect(String(decoding: a.rtf, as: UTF8.self) == "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n")
        #expect(!a.truncated)
        let crossing: [UInt8] = [
            0x1A, 0x00, 0x00, 0x00, 0x1C, 0x00, 0x00, 0x00, 0x4C, 0x5A, 0x46, 0x75, 0xE2, 0xD4, 0x4B, 0x51,
            0x41, 0x00, 0x04, 0x20, 0x57, 0x58, 0x59, 0x5A, 0x0D, 0x6E, 0x7D, 0x01, 0x0E, 0xB0,
        ]
        let b = try #require(CompressedRTF.decompress(crossing, maxOutput: 1 << 20))
        #expect(String(decoding: b.rtf, as: UTF8.self) == "{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}")
        // Output cap.
        let capped = try #require(CompressedRTF.decompress(crossing, maxOutput: 10))
        #expect(capped.rtf.count == 10 && capped.truncated)
        // CRC mismatch is rejected unless verification is off.
        var corrupt = simple
        corrupt[40] ^= 0x01
        #expect(CompressedRTF.decompress(corrupt, maxOutput: 1 << 20) == nil)
        #expect(CompressedRTF.decompress(corrupt, maxOutput: 1 << 20, verifyCRC: false) != nil)
        // Unknown magic, short header.
        var unknown = simple
        unknown[8] = 0x58
        #expect(CompressedRTF.decompress(unknown, maxOutput: 1 << 20) == nil)
        #expect(CompressedRTF.decompress(Array(simple.prefix(15)), maxOutput: 1 << 20) == nil)
        // Round trip through the literal-only encoder used by the synthetic tests.
        let text = Array("{\\rtf1 literal only, long enough to need several control bytes}".utf8)
        #expect(CompressedRTF.decompress(lzfuLiterals(text), maxOutput: 1 << 20)?.rtf == text)
    }

    @Test func uncompressedMELA() throws {
        let rtf = Array("{\\rtf1 stored as is}".utf8)
        let mela = le32(UInt32(rtf.count + 12)) + le32(UInt32(rtf.count)) + Array("MELA".utf8) + le32(0) + rtf
        #expect(CompressedRTF.decompress(mela, maxOutput: 1 << 20)?.rtf == rtf)
        // A raw size larger than the data: what is there.
        var lying = mela
        lying[4] = 0xFF
        lying[5] = 0xFF
        #expect(CompressedRTF.decompress(lying, maxOutput: 1 << 20)?.rtf == rtf)
        var p = MAPIProps()
        p.variable(0x0102, 0x1009, mela)
        #expect(parseTNEF(tnef([(1, 0x0006_9003, p.payload)])).0.bodyText == "stored as is")
    }

    // MARK: - Robustness

    @Test func truncatedTNEFNeverCrashes() throws {
        for name in ["tnef-ukr.dat", "tnef-rich-text.dat", "winmail-mailcore2.dat"] {
            let data = try tnefFixture(name)
            var cut = 0
            let step = max(1, data.count / 150)
            while cut <= data.count {
                let prefix = Array(data.prefix(cut))
                let c = parseTNEF(prefix).0
                _ = extractTNEF(prefix)
                if let t = c.bodyText { #expect(t.utf8.count <= ExtractionLimits().maxOutputBytes) }
                cut += step
            }
        }
    }

    @Test func mutatedTNEFNeverCrashes() throws {
        var rng = SplitMix64(seed: 0x4D41_494C_5349_4654)
        var limits = ExtractionLimits()
        limits.maxOutputBytes = 4096
        for name in ["tnef-ukr.dat", "tnef-rich-text.dat", "winmail-mailcore2.dat"] {
            let data = try tnefFixture(name)
            for _ in 0..<150 {
                var d = mutateTNEF(data, &rng)
                if rng.below(3) == 0 { d = mutateTNEF(d, &rng) }
                let c = parseTNEF(d, limits: limits).0
                #expect((c.bodyText?.utf8.count ?? 0) <= 4096)
                let r = extractTNEF(d, limits: limits)
                #expect(r.text.utf8.count <= 4096)
            }
        }
        // Pure garbage behind a valid signature.
        for _ in 0..<200 {
            var d = le32(0x223E_9F78) + [1, 0]
            for _ in 0..<rng.below(600) { d.append(UInt8(truncatingIfNeeded: rng.next())) }
            _ = parseTNEF(d, limits: limits)
            _ = extractTNEF(d, limits: limits)
        }
    }

    @Test func mutatedCompressedRTFNeverCrashes() throws {
        var rng = SplitMix64(seed: 0x525446_4C5A46)
        var streams: [[UInt8]] = []
        for name in ["tnef-rich-text.dat", "winmail-mailcore2.dat"] {
            streams.append(try #require(compressedRTF(of: try tnefFixture(name))))
        }
        #expect(streams[0].count == 4979 && streams[1].count == 2441)
        for s in streams {
            let whole = try #require(CompressedRTF.decompress(s, maxOutput: 1 << 24))
            #expect(whole.rtf.starts(with: Array("{\\rtf1".utf8)))
            for _ in 0..<300 {
                let d = mutateTNEF(s, &rng)
                // Without the CRC check the decoder itself sees the garbage.
                if let out = CompressedRTF.decompress(d, maxOutput: 100_000, verifyCRC: false) {
                    #expect(out.rtf.count <= 100_000)
                }
                _ = CompressedRTF.decompress(d, maxOutput: 100_000)
                // And embedded in a TNEF stream, through the RTF converter.
                var p = MAPIProps()
                p.variable(0x0102, 0x1009, d)
                _ = parseTNEF(tnef([(1, 0x0006_9003, p.payload)]))
            }
        }
        // Random bytes behind an LZFu header with a matching CRC.
        for _ in 0..<200 {
            var body: [UInt8] = []
            for _ in 0..<rng.below(2000) { body.append(UInt8(truncatingIfNeeded: rng.next())) }
            let crc = CompressedRTF.crc(body[...])
            let s = le32(UInt32(body.count + 12)) + le32(UInt32(rng.below(1 << 20))) + Array("LZFu".utf8) + le32(crc) + body
            let out = try #require(CompressedRTF.decompress(s, maxOutput: 50_000))
            #expect(out.rtf.count <= 50_000)
            // Each input byte yields at most 17 output bytes (a 2-byte reference copies up to 17).
            #expect(out.rtf.count <= body.count * 17)
        }
    }
}
