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
    static func segments<Out: SegmentAppender>(_ utf8: UnsafeBufferPointer<UInt8>, range: Range<Int>, into out: inout Out) {
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
    private static let letter: UInt8 = 0
    private static let numeric: UInt8 = 1
    private static let extendNumLet: UInt8 = 2
    private static let midNumLet: UInt8 = 3
    private static let midNum: UInt8 = 4
    private static let other: UInt8 = 5

    @inline(__always)
    private static func wordClass(_ b: UInt8) -> UInt8 {
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
