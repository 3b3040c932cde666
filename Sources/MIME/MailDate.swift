// RFC 5322 `Date:` header parsing, deliberately lenient.
//
// Real mail carries every date format ever invented: RFC 822 two-digit years, asctime
// output from Unix `date`, ISO 8601 from web forms, zone abbreviations, AM/PM, trailing
// comments and junk. Instead of a strict grammar we tokenize the value into numbers,
// words and punctuation and then assign the tokens to fields by shape and position.
// Everything works on UTF-8 bytes and plain integers; no Foundation, no calendars.

/// A parsed mail date: a UTC instant plus the zone offset as written.
public struct MailDate: Sendable, Hashable, Codable {
    /// The instant, in seconds since 1970-01-01T00:00:00Z.
    public var secondsSinceEpoch: Int64
    /// Zone offset as written (`+0200` → 120). 0 when the zone is unknown.
    public var offsetMinutes: Int
    /// False for `-0000`, military single-letter zones, unknown zone names and a missing
    /// zone; the time is then interpreted as UTC.
    public var zoneKnown: Bool

    public init(secondsSinceEpoch: Int64, offsetMinutes: Int, zoneKnown: Bool) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.offsetMinutes = offsetMinutes
        self.zoneKnown = zoneKnown
    }

    /// Parses a `Date:` header value (without the `Date:` name). Returns nil when no
    /// plausible calendar date can be found. Never traps, whatever the input.
    public static func parse(_ value: String) -> MailDate? {
        // A real date fits in well under 200 bytes; bounding the scan keeps pathological
        // header values (megabytes of junk) cheap.
        let tokens = DateTokenizer.tokenize(value.utf8.prefix(1024))
        var interpreter = DateInterpreter(tokens)
        return interpreter.interpret()
    }

    /// Seconds since 1970 as RFC 3339 in UTC (`2024-02-01T09:30:00Z`, what Foundation's
    /// `ISO8601DateFormatter` prints), without creating a formatter: an ICU date formatter per
    /// result line was a tenth of a one-shot `mailsift search`.
    public static func utcTimestamp(_ seconds: Int64) -> String {
        let s = MailDate(secondsSinceEpoch: seconds, offsetMinutes: 0, zoneKnown: true).iso8601
        return s.hasSuffix("+00:00") ? String(s.dropLast(6)) + "Z" : s
    }

    /// RFC 3339 rendering in the zone as written, e.g. `2002-08-12T10:11:12+02:00`.
    /// An unknown zone renders as `-00:00`, RFC 3339's spelling of "UTC, local offset
    /// unknown" (the same meaning as RFC 5322's `-0000`).
    public var iso8601: String {
        // Clamp so hand-built values (parse never produces these) cannot overflow the
        // arithmetic below; ±10^15 s is about ±31 million years.
        let offset = Int64(max(-100_000, min(100_000, offsetMinutes)))
        let limit: Int64 = 1_000_000_000_000_000
        let seconds = max(-limit, min(limit, secondsSinceEpoch)) + offset * 60
        let days = floorDiv(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = Self.civilFromDays(days)
        var out = pad(y, 4) + "-" + pad(Int64(m), 2) + "-" + pad(Int64(d), 2)
        out += "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay % 3600 / 60, 2)
        out += ":" + pad(secondOfDay % 60, 2)
        if !zoneKnown && offset == 0 { return out + "-00:00" }
        let magnitude = abs(offset)
        out += offset < 0 ? "-" : "+"
        return out + pad(magnitude / 60, 2) + ":" + pad(magnitude % 60, 2)
    }
}

// MARK: - Calendar arithmetic (proleptic Gregorian, Howard Hinnant's algorithms)

extension MailDate {
    /// Days since 1970-01-01 for a civil date. Shifting the year to start in March puts the
    /// leap day at the end, so the day-of-year is a closed-form expression.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400                                        // [0, 399]
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1  // [0, 365]
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Inverse of `daysFromCivil`.
    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), Int(month), Int(day))
    }
    }

private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(abs(value))
    let padding = String(repeating: "0", count: max(0, width - digits.count))
    return (value < 0 ? "-" : "") + padding + digits
}

private func isLeapYear(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

private func daysInMonth(_ m: Int, year: Int) -> Int {
    switch m {
    case 2: return isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

// MARK: - Tokenizer

private enum DateToken: Equatable {
    /// `value` holds at most the first 9 digits so it can never overflow; `digits` is the
    /// real length, which is how over-long numbers get rejected later.
    case number(value: Int, digits: Int)
    /// Lowercased ASCII letters. Words longer than 12 letters match nothing we know, so
    /// they are stored as an empty word rather than copied.
    case word(String)
    case plus, minus, colon, dot, slash
}

private enum DateTokenizer {
    static func tokenize<S: Sequence<UInt8>>(_ bytes: S) -> [DateToken] {
        var tokens: [DateToken] = []
        var number: (value: Int, digits: Int)?
        var word: [UInt8] = []
        var wordLength = 0
        var commentDepth = 0
        var escaped = false

        func flush() {
            if let n = number { tokens.append(.number(value: n.value, digits: n.digits)) }
            number = nil
            if wordLength > 0 {
                tokens.append(.word(wordLength <= 12 ? String(decoding: word, as: UTF8.self) : ""))
            }
            word.removeAll(keepingCapacity: true)
            wordLength = 0
        }

        for b in bytes {
            // Comments (CFWS) may nest and contain quoted-pairs; unbalanced ones run to
            // the end. A depth counter instead of recursion keeps deep nesting harmless.
            if commentDepth > 0 {
                if escaped { escaped = false }
                else if b == UInt8(ascii: "\\") { escaped = true }
                else if b == UInt8(ascii: "(") { commentDepth += 1 }
                else if b == UInt8(ascii: ")") { commentDepth -= 1 }
                continue
            }
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if wordLength > 0 { flush() }
                var n = number ?? (0, 0)
                if n.digits < 9 { n.value = n.value * 10 + Int(b - UInt8(ascii: "0")) }
                n.digits = min(n.digits + 1, 1_000)
                number = n
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                if number != nil { flush() }
                if wordLength < 12 { word.append(b | 0x20) }
                wordLength += 1
            default:
                flush()
                switch b {
                case UInt8(ascii: "("): commentDepth = 1
                case UInt8(ascii: "+"): tokens.append(.plus)
                case UInt8(ascii: "-"): tokens.append(.minus)
                case UInt8(ascii: ":"): tokens.append(.colon)
                case UInt8(ascii: "."): tokens.append(.dot)
                case UInt8(ascii: "/"): tokens.append(.slash)
                default: break  // whitespace, commas and any other junk just separate tokens
                }
            }
        }
        flush()
        return tokens
    }
}

// MARK: - Interpretation

private struct DateInterpreter {
    let tokens: [DateToken]
    var year: (value: Int, digits: Int)?
    var month: Int?
    var day: Int?
    var hour: Int?, minute = 0, second = 0
    var isPM: Bool?
    var zone: (offset: Int, known: Bool)?
    /// Numbers not claimed by a time, numeric date or zone: day and year candidates,
    /// assigned once the whole value has been seen (their order varies by format).
    var loose: [(value: Int, digits: Int)] = []

    init(_ tokens: [DateToken]) { self.tokens = tokens }

    func number(at i: Int) -> (value: Int, digits: Int)? {
        guard i < tokens.count, case let .number(v, d) = tokens[i] else { return nil }
        return (v, d)
    }

    func token(at i: Int) -> DateToken? { i < tokens.count ? tokens[i] : nil }

    mutating func interpret() -> MailDate? {
        var i = 0
        while i < tokens.count {
            switch tokens[i] {
            case let .number(v, d):
                if let next = matchTime(at: i) { i = next; continue }
                if year == nil, month == nil, day == nil, let next = matchNumericDate(at: i) {
                    i = next; continue
                }
                loose.append((v, d))
                i += 1
            case let .word(w):
                interpretWord(w)
                i += 1
            case .plus, .minus:
                // A sign only starts a zone after the time; before it, `-` is a date
                // separator (`12-Aug-2002`, `2002-08-12`).
                if hour != nil, zone == nil, let next = matchNumericZone(at: i) { i = next; continue }
                i += 1
            case .colon, .dot, .slash:
                i += 1
            }
        }
        return build()
    }

    mutating func interpretWord(_ w: String) {
        if let m = Self.monthNumber(w) {
            if month == nil { month = m }
        } else if w == "am" || w == "pm" {
            if hour != nil, isPM == nil { isPM = (w == "pm") }
        } else if hour != nil, zone == nil {
            if let offset = Self.namedZones[w] {
                zone = (offset, true)
            } else if w.utf8.count == 1, w != "t" {
                // RFC 5322 §4.3: RFC 822 defined the military zones with the wrong sign,
                // so their offset is meaningless; treat them as -0000.
                zone = (0, false)
            }
            // Other words (weekday names, "Daylight", unknown zones) are skipped so that a
            // following numeric zone can still be picked up.
        }
    }

    /// `h:mm[:ss[.fraction]]`; also `h.mm[.ss]` once a date part has been seen (before
    /// that, dots more likely separate a numeric date).
    mutating func matchTime(at i: Int) -> Int? {
        guard hour == nil, let h = number(at: i), h.digits <= 2, let sep = token(at: i + 1),
              sep == .colon || (sep == .dot && (month != nil || year != nil)),
              let m = number(at: i + 2), m.digits <= 2
        else { return nil }
        var next = i + 3
        var s = 0
        if token(at: next) == sep, let sec = number(at: next + 1), sec.digits <= 2 {
            s = sec.value
            next += 2
            // ISO 8601 fractional seconds carry nothing we keep.
            if sep == .colon, token(at: next) == .dot, number(at: next + 1) != nil { next += 2 }
        }
        hour = h.value
        minute = m.value
        second = s
        return next
    }

    /// `y-m-d`, `m/d/y`, `d.m.y` and friends; the first number with four digits decides
    /// that the order is year-first, otherwise US order for slashes and day-first for
    /// dashes and dots, with the >12 rule overriding either.
    mutating func matchNumericDate(at i: Int) -> Int? {
        guard let a = number(at: i), let sep = token(at: i + 1),
              sep == .minus || sep == .slash || sep == .dot,
              let b = number(at: i + 2), token(at: i + 3) == sep, let c = number(at: i + 4),
              a.digits <= 4, b.digits <= 2, c.digits <= 4
        else { return nil }
        if a.digits == 4 {
            year = a; month = b.value; day = c.value
        } else {
            guard a.digits <= 2, c.digits == 4 || (c.digits == 2 && sep != .dot) else { return nil }
            let dayFirst = sep == .slash ? a.value > 12 : b.value <= 12
            year = c
            month = dayFirst ? b.value : a.value
            day = dayFirst ? a.value : b.value
        }
        return i + 5
    }

    /// `+hhmm`, `-hh:mm`, `+h`, `+hmm`. A malformed offset still marks the zone as seen
    /// (but unknown) so that junk after it is not misread as another zone.
    mutating func matchNumericZone(at i: Int) -> Int? {
        guard let n = number(at: i + 1) else { return nil }
        let negative = tokens[i] == .minus
        var next = i + 2
        var hours = 0, minutes = 0
        switch n.digits {
        case 1, 2:
            hours = n.value
            if token(at: next) == .colon, let m = number(at: next + 1), m.digits == 2 {
                minutes = m.value
                next += 2
            }
        case 3, 4:
            hours = n.value / 100
            minutes = n.value % 100
        default:
            zone = (0, false)
            return next
        }
        guard hours <= 23, minutes <= 59 else {
            zone = (0, false)
            return next
        }
        let offset = hours * 60 + minutes
        // RFC 5322: -0000 means "UTC, but the local zone is not known".
        zone = (negative ? -offset : offset, !(negative && offset == 0))
        return next
    }

    mutating func build() -> MailDate? {
        for n in loose {
            if n.digits >= 3 || n.value > 31 || n.value == 0 {
                if year == nil { year = n }
            } else if day == nil {
                day = n.value
            } else if year == nil {
                year = n
            }
        }
        guard let rawYear = year, let month, let day else { return nil }
        let fullYear: Int
        switch rawYear.digits {
        case 1, 2: fullYear = rawYear.value + (rawYear.value < 50 ? 2000 : 1900)  // RFC 5322 §4.3
        case 3: fullYear = rawYear.value + 1900
        // `0102`: a buggy mailer printed `tm_year` (years since 1900) zero-padded. Common
        // in 2002-era spam; no real mail is dated in the second century.
        case 4: fullYear = (100...199).contains(rawYear.value) ? rawYear.value + 1900 : rawYear.value
        default: return nil
        }
        guard (1000...9999).contains(fullYear), (1...12).contains(month),
              day >= 1, day <= daysInMonth(month, year: fullYear)
        else { return nil }

        var h = hour ?? 0  // a date without a time means midnight
        if let isPM, (1...12).contains(h) { h = h % 12 + (isPM ? 12 : 0) }
        let s = second == 60 ? 59 : second  // leap seconds: keep the instant in range
        guard h <= 23, minute <= 59, s <= 59 else { return nil }

        let zone = self.zone ?? (0, false)
        let days = MailDate.daysFromCivil(year: Int64(fullYear), month: Int64(month), day: Int64(day))
        let seconds = days * 86_400 + Int64(h * 3600 + minute * 60 + s) - Int64(zone.offset * 60)
        return MailDate(secondsSinceEpoch: seconds, offsetMinutes: zone.offset, zoneKnown: zone.known)
    }

    static func monthNumber(_ w: String) -> Int? {
        let months = ["january", "february", "march", "april", "may", "june", "july",
                      "august", "september", "october", "november", "december"]
        let bytes = Array(w.utf8)
        guard bytes.count >= 3 else { return nil }
        for (index, name) in months.enumerated() {
            let nameBytes = Array(name.utf8)
            // Accept the three-letter abbreviation, any longer prefix of the full name
            // ("Sept", "August") — but not "marching".
            if bytes.count <= nameBytes.count, nameBytes.starts(with: bytes) { return index + 1 }
        }
        return nil
    }

    /// RFC 5322 obsolete zones plus a few unambiguous, widely seen abbreviations.
    /// Deliberately absent: ambiguous names such as IST (India/Ireland/Israel) and AST.
    static let namedZones: [String: Int] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0,
        "est": -300, "edt": -240, "cst": -360, "cdt": -300,
        "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
        "akst": -540, "akdt": -480, "hst": -600,
        "bst": 60, "west": 60, "cet": 60, "cest": 120, "met": 60, "mest": 120,
        "eet": 120, "eest": 180, "msk": 180,
        "hkt": 480, "sgt": 480, "awst": 480, "jst": 540, "kst": 540,
        "acst": 570, "aest": 600, "aedt": 660, "nzst": 720, "nzdt": 780,
    ]
}
