import Foundation
import Testing
@testable import MIME
import TestSupport

/// 2002-08-12T10:11:12Z (`date -u -d '2002-08-12 10:11:12' +%s`).
private let wallClock: Int64 = 1_029_147_072

@Suite struct MailDateTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var seconds: Int64
        var offset: Int
        var known: Bool
        var testDescription: String { input }
        init(_ input: String, _ seconds: Int64, _ offset: Int, _ known: Bool) {
            self.input = input; self.seconds = seconds; self.offset = offset; self.known = known
        }
    }

    static let cases: [Case] = [
        // RFC 5322 proper
        Case("Mon, 12 Aug 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("Mon, 12 Aug 2002 10:11:12 -0430", wallClock + 16200, -270, true),
        Case("Mon, 12 Aug 2002 10:11:12 +0000", wallClock, 0, true),
        Case("Mon, 12 Aug 2002 10:11:12 -0000", wallClock, 0, false),
        Case("12 Aug 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("Mon 12 Aug 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("Mon, 12 Aug 2002 10:11 +0200", wallClock - 7200 - 12, 120, true),
        Case("Fri, 23 Aug 2002 2:32:53 -0400", 1_030_084_373, -240, true),
        Case("Wed, 29 May 2002 16:54:6 +0300", 1_022_680_446, 180, true),
        // CFWS / comments
        Case("Mon, 12 Aug 2002 10:11:12 +0200 (CEST)", wallClock - 7200, 120, true),
        Case("(x) Mon,(y) 12 (z) Aug 2002 10:11:12 +0200 (a (nested \\) one) b)", wallClock - 7200, 120, true),
        Case("Wed, 20 Sep 1995 00:19:00 (EDT) -0400", 811_570_740, -240, true),
        Case("Mon, 16 Sep 2002 03:27:38 (GMT)", 1_032_146_858, 0, false),
        // obsolete years
        Case("Thu, 19 Sep 91 12:41:43 EDT", 685_298_503, -240, true),
        Case("Mon, 12 Aug 02 10:11:12 GMT", wallClock, 0, true),
        Case("Mon, 12 Aug 102 10:11:12 GMT", wallClock, 0, true),
        Case("Mon, 12 Aug 0102 10:11:12 GMT", wallClock, 0, true),  // zero-padded tm_year
        Case("Wed, 11 Feb 98 11:51 CST", 887_219_460, -360, true),
        // obsolete and named zones
        Case("Tue, 6 Jun 2000 03:20:11 UT", 960_261_611, 0, true),
        Case("Mon, 12 Aug 2002 10:11:12 PST", wallClock + 8 * 3600, -480, true),
        Case("Mon, 12 Aug 2002 10:11:12 pdt", wallClock + 7 * 3600, -420, true),
        Case("Mon, 12 Aug 2002 10:11:12 MDT", wallClock + 6 * 3600, -360, true),
        Case("Mon, 12 Aug 2002 10:11:12 CEST", wallClock - 7200, 120, true),
        Case("Mon, 12 Aug 2002 10:11:12 CET", wallClock - 3600, 60, true),
        Case("Mon, 12 Aug 2002 10:11:12 JST", wallClock - 9 * 3600, 540, true),
        Case("Mon, 12 Aug 2002 10:11:12 KST", wallClock - 9 * 3600, 540, true),
        Case("Mon, 12 Aug 2002 10:11:12 IST", wallClock, 0, false),
        Case("Mon, 12 Aug 2002 10:11:12 XYZT", wallClock, 0, false),
        Case("Tue, 28 May 02 01:25:09 GMT Daylight Time", 1_022_549_109, 0, true),
        // military zones are -0000
        Case("Mon, 12 Aug 2002 10:11:12 A", wallClock, 0, false),
        Case("Mon, 12 Aug 2002 10:11:12 m", wallClock, 0, false),
        // missing zone
        Case("Mon, 12 Aug 2002 10:11:12", wallClock, 0, false),
        // month spellings
        Case("12 AUGUST 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("12 august 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("12 Sept 2002 10:11:12 +0000", wallClock + 31 * 86400, 0, true),
        // real-world junk
        Case("Tue Aug 12 10:11:12 2002", wallClock, 0, false),
        Case("Wed Sep 30 19:56:38 2020 +1000", 1_601_459_798, 600, true),
        Case("Tue Aug 12 10:11:12 CEST 2002", wallClock - 7200, 120, true),
        Case("12-Aug-2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("2002-08-12 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("2002-08-12T10:11:12Z", wallClock, 0, true),
        Case("2002-08-12T10:11:12.345Z", wallClock, 0, true),
        Case("2002-09-24T02:35:59-08:00", 1_032_863_759, -480, true),
        Case("Mon, 12 Aug 2002 10:11:12 +02:00", wallClock - 7200, 120, true),
        Case("Mon, 12 Aug 2002 10:11:12 +0200 junk here", wallClock - 7200, 120, true),
        Case("Mon, 12 Aug 2002 10:11:12 +0200 -0500", wallClock - 7200, 120, true),
        Case("Mon, 12 Aug 2002 10.11.12 +0200", wallClock - 7200, 120, true),
        Case("Aug 12 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("Aug 12, 2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("2002 Aug 12 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("May 8, 2005 1:17 PM", 1_115_558_220, 0, false),
        Case("02 Aug 01 3:11:43 AM", 996_721_903, 0, false),
        Case("03 Jul 01 12:47:50 AM", 994_121_270, 0, false),
        Case("1/1/1904; 12:00:00 AM", -2_082_844_800, 0, false),
        Case("Thursday, January 20, 2011, 7:44 PM<br>", 1_295_552_640, 0, false),
        Case("Tuesday, July 9, 2002<br><br>", 1_026_172_800, 0, false),
        Case(" 8 Dec 1991 09:11 (Sunday)", 692_183_460, 0, false),
        Case("\tMon,\r\n 12 Aug 2002\r\n 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("12.08.2002 10:11:12 +0200", wallClock - 7200, 120, true),
        Case("08/12/2002 10:11:12 +0200", wallClock - 7200, 120, true),
        // ranges: leap day, leap second, extremes
        Case("29 Feb 2000 00:00:00 +0000", 951_782_400, 0, true),
        Case("31 Dec 2016 23:59:60 +0000", 1_483_228_799, 0, true),
        Case("1 Jan 1970 00:00:00 +0000", 0, 0, true),
        Case("1 Jan 1000 00:00:00 +0000", -30_610_224_000, 0, true),
        Case("31 Dec 9999 23:59:59 +0000", 253_402_300_799, 0, true),
    ]

    @Test(arguments: cases)
    func parses(_ c: Case) throws {
        let date = try #require(MailDate.parse(c.input))
        #expect(date.secondsSinceEpoch == c.seconds)
        #expect(date.offsetMinutes == c.offset)
        #expect(date.zoneKnown == c.known)
    }

    @Test(arguments: [
        "", "   ", "Whenever", "Not supplied", "____________________", "x__________________",
        "(Mon, 12 Aug 2002 10:11:12 +0200)",                // all comment
        "Mon, 12 Aug 10:11:12 +0200",                       // hour is not a year
        "Mon, 32 Aug 2002 10:11:12 +0200",                  // day out of range
        "Mon, 31 Sep 2002 10:11:12 +0200",                  // no such day in September
        "Thu, 29 Feb 2001 10:11:12 +0200",                  // not a leap year
        "Mon, 12 Foo 2002 10:11:12 +0200",                  // no month
        "Mon, 12 Aug 2002 24:11:12 +0200",                  // hour
        "Mon, 12 Aug 2002 10:60:12 +0200",                  // minute
        "Mon, 12 Aug 2002 10:11:61 +0200",                  // second
        "Mon, 12 Aug 0999 10:11:12 +0200",                  // year too small
        "Mon, 12 Aug 12002 10:11:12 +0200",                 // year too large
        "Mon, 12 Aug 99999999999999999999999999999999 10:11:12",
        "Mon, 99999999999999999999999 Aug 2002 10:11:12",
        "2002-13-12T10:11:12Z",
        "2002-00-12T10:11:12Z",
    ])
    func rejects(_ input: String) {
        #expect(MailDate.parse(input) == nil)
    }

    @Test func hugeNumbersInZoneAndTimeDoNotTrap() {
        let d = MailDate.parse("12 Aug 2002 10:11:12 +99999999999999999999999999")
        #expect(d?.zoneKnown == false)
        #expect(d?.secondsSinceEpoch == wallClock)
        // The over-long "hour" is skipped; `11:12` is then the first plausible time.
        let skipped = MailDate.parse("12 Aug 2002 99999999999999999999:11:12")
        #expect(skipped?.secondsSinceEpoch == Int64(1_029_150_720))
        #expect(MailDate.parse("12 Aug 2002 10:11:12 +2500")?.zoneKnown == false)
        let long = String(repeating: "9", count: 100_000)
        #expect(MailDate.parse(long) == nil)
        #expect(MailDate.parse("12 Aug 2002 10:11:12 " + long) != nil)
        #expect(MailDate.parse(String(repeating: "(", count: 100_000)) == nil)
    }

    @Test func iso8601Rendering() throws {
        #expect(try #require(MailDate.parse("Mon, 12 Aug 2002 10:11:12 +0200")).iso8601 == "2002-08-12T10:11:12+02:00")
        #expect(try #require(MailDate.parse("Mon, 12 Aug 2002 10:11:12 -0430")).iso8601 == "2002-08-12T10:11:12-04:30")
        #expect(try #require(MailDate.parse("Mon, 12 Aug 2002 10:11:12 +0000")).iso8601 == "2002-08-12T10:11:12+00:00")
        #expect(try #require(MailDate.parse("Mon, 12 Aug 2002 10:11:12 -0000")).iso8601 == "2002-08-12T10:11:12-00:00")
        #expect(try #require(MailDate.parse("1 Jan 2000 00:30:00 +0100")).iso8601 == "2000-01-01T00:30:00+01:00")
        #expect(try #require(MailDate.parse("31 Dec 1969 23:59:59 +0000")).iso8601 == "1969-12-31T23:59:59+00:00")
        #expect(MailDate(secondsSinceEpoch: .max, offsetMinutes: .max, zoneKnown: true).iso8601.isEmpty == false)
        #expect(MailDate(secondsSinceEpoch: .min, offsetMinutes: .min, zoneKnown: true).iso8601.isEmpty == false)
    }

    @Test func civilRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 3_000_000, by: 997) {
            let (y, m, d) = MailDate.civilFromDays(days)
            #expect(MailDate.daysFromCivil(year: y, month: Int64(m), day: Int64(d)) == days)
        }
        #expect(MailDate.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(MailDate.daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
    }

    @Test func codableShape() {
        let a = MailDate(secondsSinceEpoch: 1, offsetMinutes: 60, zoneKnown: true)
        #expect(a == MailDate(secondsSinceEpoch: 1, offsetMinutes: 60, zoneKnown: true))
        #expect(a != MailDate(secondsSinceEpoch: 1, offsetMinutes: 60, zoneKnown: false))
    }

    @Test func fuzzNeverTrapsAndKeepsInvariants() {
        var rng = SplitMix64(seed: 0x5EED_DA7E)
        let pieces = ["Mon", "Aug", "august", ",", " ", " ", ":", ".", "-", "+", "/", "(", ")", "\\",
                      "GMT", "EST", "Z", "T", "AM", "PM", "0", "1", "2", "9", "12", "2002", "60",
                      "99999999999", "+0200", "-0000", "é", "\u{0}", "\t", "\r\n", "x"]
        for _ in 0..<5_000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...24, using: &rng) { s += pieces.randomElement(using: &rng)! }
            guard let d = MailDate.parse(s) else { continue }
            #expect(abs(d.offsetMinutes) < 24 * 60)
            #expect(d.zoneKnown || d.offsetMinutes == 0)
            #expect(d.secondsSinceEpoch >= -30_610_224_000 - 86_400 && d.secondsSinceEpoch <= 253_402_300_799 + 86_400)
            #expect(d.iso8601.utf8.count == 25)
        }
    }

    /// The CLI's UTC timestamps equal Foundation's `ISO8601DateFormatter` output (what they
    /// replaced) across 1583-2099, leap days and the ends of days included.
    @Test func utcTimestampEqualsFoundationsFormatter() {
        let f = ISO8601DateFormatter()
        var rng = SplitMix64(seed: 7)
        // 1583-01-01 (Foundation's formatter is Julian before the 1582 reform; this is proleptic
        // Gregorian) to 2099-12-31, before and after 1970.
        var samples: [Int64] = [0, -1, 86_399, 86_400, wallClock, 951_782_400, 951_868_799, 4_102_444_799, -12_212_553_600]
        for _ in 0..<2_000 { samples.append(Int64(rng.next() % (4_102_444_800 + 12_212_553_600)) - 12_212_553_600) }
        for s in samples {
            #expect(MailDate.utcTimestamp(s) == f.string(from: Date(timeIntervalSince1970: TimeInterval(s))), "\(s)")
        }
    }
}
