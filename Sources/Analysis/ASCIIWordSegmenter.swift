import CByteSearch

/// Word segmentation of pure-ASCII text without ICU, giving exactly what ICU 72's root word
/// break rules (UAX #29 as written in icu4c/source/data/brkitr/rules/word.txt) give for it.
///
/// Most mail is ASCII; ICU would first need a UTF-16 copy and then runs a general DFA per code
/// unit. Restricted to ASCII, the rules collapse to a few character classes (found by probing
/// ICU 72 exhaustively with every 1-3 character string over all 128 ASCII characters and every
/// string up to 6 characters over one representative of each class):
///
/// | class        | ASCII                       | UAX #29 Word_Break in ICU's root rules          |
/// |--------------|-----------------------------|-------------------------------------------------|
/// | letter       | A-Z a-z @                   | ALetter; ICU adds '@' so e-mail addresses hold  |
/// | numeric      | 0-9                         | Numeric                                         |
/// | extendNumLet | _                           | ExtendNumLet                                    |
/// | midNumLet    | . '                         | MidNumLet, Single_Quote (both sides: WB6/7, WB11/12) |
/// | midNum       | , ;                         | MidNum (digits only: WB11/12)                   |
/// | other        | everything else             | ':' is MidLetter in Unicode but ICU's root rules drop it; '"' (Double_Quote) only matters next to Hebrew; whitespace, CR/LF/VT/FF break |
///
/// Rule status (ICU reports the status of the rule that matched a segment's end): a segment
/// ending in a letter is a letter word (200s), ending in a digit a number (100s), ending in '_'
/// takes the status of the pair before it (digit '_' → number, letter '_' or '_' '_' → letter).
/// A lone '_' has no status and, like punctuation, is not a word.
enum ASCIIWordSegmenter {
    /// Appends to `out` the word segments of `utf8[range]`, which should hold only ASCII bytes
    /// (a byte ≥ 0x80 is treated as punctuation, so it never crashes, but the answer would then
    /// not be ICU's). Offsets are into `utf8`. The range is clamped to the buffer.
    ///
    /// Word bytes (letters, '@', digits, '_') are found 64 at a time as a bit mask (SSE2,
    /// `ms_word_bits64`); a word is a run of them, joined to the next run across one middle
    /// character (WB6/7, WB11/12) when the bytes on both sides call for it, and its kind
    /// follows from its last bytes. The same segments as `segmentsScalar`, with a loop turn
    /// per word instead of per byte.
    static func segments<Out: SegmentAppender>(_ utf8: UnsafeBufferPointer<UInt8>, range: Range<Int>, into out: inout Out) {
        let lo = max(range.lowerBound, 0)
        let hi = min(range.upperBound, utf8.count)
        guard lo < hi, let p = utf8.baseAddress else { return }
        var bits = WordBits(p: p, lo: lo, hi: hi)
        var i = lo
        while true {
            let start = bits.next(from: i, word: true)
            guard start < hi else { return }
            var end = bits.next(from: start &+ 1, word: false)
            // WB6/7 (letter (MidNumLet|Single_Quote) letter) and WB11/12 (digit (MidNum|
            // MidNumLet|Single_Quote) digit): the word goes on past one middle character.
            while end &+ 1 < hi {
                let c = wordClass(p[end])
                guard c == midNumLet || c == midNum else { break }
                let prev = wordClass(p[end &- 1]), next = wordClass(p[end &+ 1])
                guard next == prev, prev == numeric || (prev == letter && c == midNumLet) else { break }
                end = bits.next(from: end &+ 2, word: false)
            }
            // The kind: that of the last byte; a trailing '_' takes the byte before it
            // (digit: number, else letter); a lone '_' is no word.
            let last = wordClass(p[end &- 1])
            if last == letter {
                out.append(WordSegment(start: start, end: end, kind: .letter))
            } else if last == numeric {
                out.append(WordSegment(start: start, end: end, kind: .number))
            } else if end &- start > 1 {
                out.append(WordSegment(start: start, end: end, kind: wordClass(p[end &- 2]) == numeric ? .number : .letter))
            }
            i = end
        }
    }

    /// Which bytes of `p[lo..<hi]` are word bytes, a 64-byte window at a time: bit k of
    /// `bits` is byte `base + k`; bytes at or past `hi` read as non-word.
    private struct WordBits {
        let p: UnsafePointer<UInt8>
        let lo: Int
        let hi: Int
        var base = Int.min
        var bits: UInt64 = 0

        init(p: UnsafePointer<UInt8>, lo: Int, hi: Int) {
            self.p = p
            self.lo = lo
            self.hi = hi
        }

        @inline(__always)
        mutating func load(_ at: Int) {
            guard at != base else { return }
            base = at
            let n = min(64, hi &- at)
            if n == 64 {
                bits = ms_word_bits64(p + at)
            } else {
                var m: UInt64 = 0
                for k in 0..<n where ASCIIWordSegmenter.wordClass(p[at &+ k]) <= ASCIIWordSegmenter.extendNumLet { m |= 1 << UInt64(k) }
                bits = m
            }
        }

        /// The first word byte (`word`) or other byte (`!word`) at or after `i`, or `hi`.
        @inline(__always)
        mutating func next(from i: Int, word: Bool) -> Int {
            var i = i
            while i < hi {
                let at = lo &+ ((i &- lo) & ~63)
                load(at)
                let m = (word ? bits : ~bits) >> UInt64(i &- at)
                if m != 0 { return min(hi, i &+ m.trailingZeroBitCount) }
                i = at &+ 64
            }
            return hi
        }
    }

    /// The same segments as `segments`, a byte at a time: the definition the bit-mask version
    /// is tested against.
    static func segmentsScalar<Out: SegmentAppender>(_ utf8: UnsafeBufferPointer<UInt8>, range: Range<Int>, into out: inout Out) {
        let lo = max(range.lowerBound, 0)
        let hi = min(range.upperBound, utf8.count)
        guard lo < hi, let p = utf8.baseAddress else { return }
        var i = lo
        while i < hi {
            let first = wordClass(p[i])
            // Words start only at a letter, a digit or '_' (WB5-WB13b are the only "don't break"
            // rules that apply to ASCII, and all of them begin with one of these).
            guard first <= extendNumLet else {
                i &+= 1
                continue
            }
            let start = i
            var prev = first
            var kind = first == letter ? Kind.letter : first == numeric ? Kind.number : Kind.none
            i &+= 1
            while i < hi {
                let c = wordClass(p[i])
                if c <= extendNumLet {
                    // WB5, WB8, WB9, WB10, WB13a, WB13b: letters, digits and '_' in any order.
                    kind = c == letter ? .letter : c == numeric ? .number : (prev == numeric ? .number : .letter)
                    prev = c
                    i &+= 1
                    continue
                }
                // WB6/7 (letter (MidLetter|MidNumLet|Single_Quote) letter) and WB11/12 (digit
                // (MidNum|MidNumLet|Single_Quote) digit) need one character of lookahead.
                if c <= midNum, i &+ 1 < hi {
                    let next = wordClass(p[i &+ 1])
                    if next == prev, prev == numeric || (prev == letter && c == midNumLet) {
                        kind = prev == letter ? .letter : .number
                        i &+= 2
                        continue
                    }
                }
                break
            }
            switch kind {
            case .letter: out.append(WordSegment(start: start, end: i, kind: .letter))
            case .number: out.append(WordSegment(start: start, end: i, kind: .number))
            case .none: break
            }
        }
    }

    /// The segment's ICU status so far; `.none` for a lone '_' (ICU status 0: not a word).
    private enum Kind { case none, letter, number }

    // Classes ordered so that "word character" and "middle character" are single comparisons.
    static let letter: UInt8 = 0
    static let numeric: UInt8 = 1
    static let extendNumLet: UInt8 = 2
    static let midNumLet: UInt8 = 3
    static let midNum: UInt8 = 4
    static let other: UInt8 = 5

    @inline(__always)
    static func wordClass(_ b: UInt8) -> UInt8 {
        // Case-fold ASCII letters with | 0x20 so one range test covers A-Z and a-z.
        let folded = b | 0x20
        if folded >= 0x61 && folded <= 0x7A || b == 0x40 { return letter }   // a-z A-Z @
        if b >= 0x30 && b <= 0x39 { return numeric }                           // 0-9
        switch b {
        case 0x5F: return extendNumLet                                          // _
        case 0x2E, 0x27: return midNumLet                                       // . '
        case 0x2C, 0x3B: return midNum                                          // , ;
        default: return other
        }
    }
}
