import CICUShim

/// A word found by UAX #29 segmentation: its UTF-8 byte range in the text and what it is.
public struct WordSegment: Sendable, Hashable, BitwiseCopyable {
    public enum Kind: UInt8, Sendable, BitwiseCopyable {
        case number        // ICU rule status 100-199
        case letter        // 200-299 (words of alphabetic scripts, also letters mixed with digits)
        case kana          // 300-399
        case ideographic   // 400-499 (Han; dictionary-segmented)
    }
    /// UTF-8 byte offsets into the analyzed text.
    public var start: Int
    public var end: Int
    public var kind: Kind
}

/// Where segmenters put segments: an array, or the analyzer's reused scratch memory.
protocol SegmentAppender {
    mutating func append(_ segment: WordSegment)
}

extension Array: SegmentAppender where Element == WordSegment {}
extension ScratchBuffer: SegmentAppender where Element == WordSegment {}

/// Splits text into words as ICU's word break iterator does (UAX #29 plus dictionary
/// segmentation for Chinese, Japanese, Thai, Khmer, Lao and Burmese).
///
/// Holds an ICU iterator: create one per thread or task; it is not `Sendable`.
public final class WordSegmenter {
    private let breaker: OpaquePointer?
    private var utf16: [UInt16] = []
    private var utf8OffsetOf16: [Int32] = []
    private var starts = [Int32](repeating: 0, count: 4096)
    private var ends = [Int32](repeating: 0, count: 4096)
    private var statuses = [Int32](repeating: 0, count: 4096)

    public init(locale: String = "") {
        breaker = msicu_wordbreaker_open(locale)
    }

    deinit {
        msicu_wordbreaker_close(breaker)
    }

    /// Word segments of `text`, in order, with UTF-8 offsets.
    public func segments(_ text: String) -> [WordSegment] {
        var copy = text
        return copy.withUTF8 { segments(utf8: $0) }
    }

    /// Word segments of valid UTF-8 bytes, in order.
    ///
    /// Pure-ASCII parts go through `ASCIIWordSegmenter`, which gives ICU's answer without the
    /// UTF-16 copy and the general state machine; the rest goes through ICU. The text is cut only
    /// at ASCII whitespace (SP HT LF VT FF CR): no rule joins anything across it (ICU always
    /// breaks before it, and after it starts afresh, the way it does after any boundary), so
    /// segmenting the pieces separately gives the same words as segmenting the whole.
    public func segments(utf8: UnsafeBufferPointer<UInt8>) -> [WordSegment] {
        var out: [WordSegment] = []
        // Mail has about 7-9 bytes per word (Enron, LKML): one reservation saves most regrowth
        // without holding much more than the result needs.
        out.reserveCapacity(utf8.count / 8 + 8)
        segments(utf8: utf8, range: 0..<utf8.count, into: &out)
        return out
    }

    /// The word segments of `utf8[range]` appended to `out`, with offsets into `utf8` (the
    /// analyzer's path: into memory it reuses, no array per text).
    func segments<Out: SegmentAppender>(utf8: UnsafeBufferPointer<UInt8>, range: Range<Int>, into out: inout Out) {
        guard let p = utf8.baseAddress, range.lowerBound >= 0, range.upperBound <= utf8.count, !range.isEmpty else { return }
        let n = range.upperBound
        // Most mail is all ASCII: one word-at-a-time check, then one fast-path call for everything.
        if Self.isAllASCII(UnsafeBufferPointer(rebasing: utf8[range])) {
            ASCIIWordSegmenter.segments(utf8, range: range, into: &out)
            return
        }
        // Maximal runs of whitespace-separated stretches of the same kind (ASCII or not), with
        // the whitespace between them: one fast-path or ICU call per run, not per stretch.
        var runStart = range.lowerBound, runEnd = range.lowerBound
        var runIsASCII = true
        var i = range.lowerBound
        while i < n {
            while i < n && Self.isASCIIWhitespace(p[i]) { i &+= 1 }
            guard i < n else { break }
            let stretchStart = i
            var highBits: UInt8 = 0
            while i < n && !Self.isASCIIWhitespace(p[i]) {
                highBits |= p[i]
                i &+= 1
            }
            let ascii = highBits < 0x80
            if ascii != runIsASCII {
                flush(utf8, run: runStart..<runEnd, ascii: runIsASCII, into: &out)
                runStart = stretchStart
                runIsASCII = ascii
            }
            runEnd = i
        }
        flush(utf8, run: runStart..<runEnd, ascii: runIsASCII, into: &out)
    }

    private func flush<Out: SegmentAppender>(_ utf8: UnsafeBufferPointer<UInt8>, run: Range<Int>, ascii: Bool, into out: inout Out) {
        guard !run.isEmpty else { return }
        if ascii {
            ASCIIWordSegmenter.segments(utf8, range: run, into: &out)
        } else {
            for s in icuSegments(UnsafeBufferPointer(rebasing: utf8[run]), base: run.lowerBound) { out.append(s) }
        }
    }

    private static func isAllASCII(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let n = utf8.count
        var i = 0
        var bits: UInt64 = 0
        while i &+ 8 <= n {
            bits |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < n {
            bits |= UInt64(base[i])
            i &+= 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    /// SP, HT, LF, VT, FF, CR: Word_Break WSegSpace, Other (HT) or Newline/LF/CR; verified against ICU
    /// that no word segment contains one.
    @inline(__always)
    private static func isASCIIWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || (b >= 0x09 && b <= 0x0D)
    }

    /// ICU over the whole buffer: UTF-8 → UTF-16, segment, map offsets back to UTF-8.
    func icuSegments(_ utf8: UnsafeBufferPointer<UInt8>, base: Int) -> [WordSegment] {
        guard let breaker, !utf8.isEmpty, utf8.count < Int(Int32.max) / 2 else { return [] }
        // UTF-16 copy plus, for each UTF-16 unit, the UTF-8 offset where its scalar starts.
        // Decoded by hand (no intermediate String); a malformed byte becomes one U+FFFD.
        utf16.removeAll(keepingCapacity: true)
        utf8OffsetOf16.removeAll(keepingCapacity: true)
        utf8OffsetOf16.reserveCapacity(utf8.count + 1)
        utf16.reserveCapacity(utf8.count)
        var i = 0
        let n8 = utf8.count
        while i < n8 {
            let b0 = utf8[i]
            var v: UInt32 = 0xFFFD
            var width = 1
            if b0 < 0x80 {
                v = UInt32(b0)
            } else if b0 >= 0xC2, b0 < 0xE0, i + 1 < n8, utf8[i + 1] & 0xC0 == 0x80 {
                v = UInt32(b0 & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
                width = 2
            } else if b0 >= 0xE0, b0 < 0xF0, i + 2 < n8, utf8[i + 1] & 0xC0 == 0x80, utf8[i + 2] & 0xC0 == 0x80 {
                let c = UInt32(b0 & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6 | UInt32(utf8[i + 2] & 0x3F)
                if c >= 0x800, !(0xD800...0xDFFF).contains(c) { v = c; width = 3 }
            } else if b0 >= 0xF0, b0 < 0xF5, i + 3 < n8, utf8[i + 1] & 0xC0 == 0x80, utf8[i + 2] & 0xC0 == 0x80, utf8[i + 3] & 0xC0 == 0x80 {
                let c = UInt32(b0 & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12 | UInt32(utf8[i + 2] & 0x3F) << 6 | UInt32(utf8[i + 3] & 0x3F)
                if c >= 0x10000, c <= 0x10FFFF { v = c; width = 4 }
            }
            if v < 0x10000 {
                utf16.append(UInt16(v))
                utf8OffsetOf16.append(Int32(i))
            } else {
                utf16.append(UInt16(0xD800 + ((v - 0x10000) >> 10)))
                utf16.append(UInt16(0xDC00 + ((v - 0x10000) & 0x3FF)))
                utf8OffsetOf16.append(Int32(i))
                utf8OffsetOf16.append(Int32(i))
            }
            i += width
        }
        utf8OffsetOf16.append(Int32(i))
        var out: [WordSegment] = []
        var offset = 0
        while offset < utf16.count {
            var consumed: Int32 = 0
            let n = utf16.withUnsafeBufferPointer { text in
                starts.withUnsafeMutableBufferPointer { st in
                    ends.withUnsafeMutableBufferPointer { en in
                        statuses.withUnsafeMutableBufferPointer { sts in
                            msicu_word_segments(breaker, text.baseAddress.map { $0 + offset }, Int32(text.count - offset),
                                                st.baseAddress, en.baseAddress, sts.baseAddress, Int32(st.count), &consumed)
                        }
                    }
                }
            }
            guard n >= 0 else { break }
            for k in 0..<Int(n) {
                let a = offset + Int(starts[k]), b = offset + Int(ends[k])
                let status = statuses[k]
                let kind: WordSegment.Kind = status < 200 ? .number : status < 300 ? .letter : status < 400 ? .kana : .ideographic
                out.append(WordSegment(start: base + Int(utf8OffsetOf16[a]), end: base + Int(utf8OffsetOf16[b]), kind: kind))
            }
            // A full batch ends at a segment end: continue from there (a boundary, so no context is lost
            // except for dictionary runs, which a batch of 4096 words never splits in practice).
            if consumed <= 0 { break }
            offset += Int(consumed)
            if Int(n) < starts.count { break }
        }
        return out
    }
}
