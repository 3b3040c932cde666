import Analysis
import Catalog
import Foundation
import IndexEngine
import Ingest
import MailsiftCore
import MIME
@testable import Query
import Testing
import TestSupport

/// IMAP SEARCH semantics on real mail against a brute-force reference: every message of a
/// sample of ../shared/corpus is decoded and each criterion applied literally as RFC 9051
/// says (a case-insensitive substring of the decoded field; dates by day; sizes strictly);
/// Mailsift's answer must be exactly the reference's, for 150+ seeded criteria.
@Suite(.serialized) struct IMAPSemanticsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared/corpus").path

    /// One message as the reference sees it.
    struct RefDoc {
        var docid: Int64
        var fields: [TextField: [String]]
        /// The same, case-folded once.
        var folded: [TextField: [[UInt8]]] = [:]
        var headers: [(name: String, value: String)]
        var sentDay: Int64?
        var arrivalDay: Int64
        var size: Int64
    }

    /// The sample: SpamAssassin hard ham and spam (HTML, broken charsets, CJK spam) and the
    /// non-English messages of the MIME fixtures and the spam corpora, copied into a tree
    /// with seeded modification times (internal dates), some at a day's edges.
    static func buildCorpus(_ dir: String, rng: inout SplitMix64) throws -> [String] {
        let fm = FileManager.default
        var picks: [(String, String)] = []
        for (folder, n) in [("spamassassin-public-corpus/hard_ham", 110), ("spamassassin-public-corpus/spam_2", 70)] {
            let names = try fm.contentsOfDirectory(atPath: shared + "/" + folder).filter { !$0.hasPrefix(".") && $0 != "cmds" }.sorted()
            for name in names.prefix(n) { picks.append((shared + "/" + folder + "/" + name, folder.replacingOccurrences(of: "/", with: "_"))) }
        }
        let tsv = try String(contentsOfFile: shared + "/NON-ENGLISH.tsv", encoding: .utf8)
        var seen = Set<String>()
        for line in tsv.split(separator: "\n") where !line.hasPrefix("#") {
            let cols = line.split(separator: "\t")
            guard cols.count == 3, !cols[2].hasPrefix("lkml"), seen.insert(String(cols[2])).inserted else { continue }
            let path = shared + "/" + cols[2]
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            if let data = fm.contents(atPath: path), data.starts(with: Array("From ".utf8)) { continue }  // mbox files: one message per file here
            picks.append((path, "nonenglish"))
            if seen.count >= 150 { break }
        }
        var files: [String] = []
        let base: Int64 = 1_014_000_000  // 2002-02-18
        for (k, (source, box)) in picks.enumerated() {
            let folder = dir + "/" + box
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let dest = folder + "/\(k)"
            try fm.copyItem(atPath: source, toPath: dest)
            // Days apart, some a second either side of midnight UTC.
            let day = base / 86_400 + Int64(rng.next() % 400)
            let second: Int64 = [0, 1, 86_399, 43_200, Int64(rng.next() % 86_400)][Int(rng.next() % 5)]
            let t = day * 86_400 + second
            try fm.setAttributes([.modificationDate: Date(timeIntervalSince1970: TimeInterval(t))], ofItemAtPath: dest)
            files.append(dest)
        }
        return files
    }

    static func days(_ t: Int64) -> Int64 { t >= 0 ? t / 86_400 : (t - 86_399) / 86_400 }

    static func reference(_ files: [String], catalog: Catalog, root: String) throws -> [RefDoc] {
        let sources = try catalog.sources(under: root + "/")
        var limits = ParserLimits()
        limits.extractAttachments = true
        let parser = MessageParser(limits: limits)
        var docs: [RefDoc] = []
        for file in files {
            guard let row = sources[file], let message = try catalog.message(row.docid) else { continue }
            let bytes = try MessageFiles.read(file)[0].bytes
            let doc = parser.parse(bytes)
            var fields: [TextField: [String]] = [:]
            fields[.from] = [doc.from.display]
            fields[.to] = [doc.to.display]
            fields[.cc] = [doc.cc.display]
            fields[.bcc] = [doc.bcc.display]
            fields[.subject] = [doc.subject ?? ""]
            let body = (doc.body.map(\.text) + doc.alternatives.map(\.text)).joined(separator: "\n")
            let attachments = doc.attachments.compactMap(\.text).joined(separator: "\n")
            fields[.body] = [body, attachments]
            let headerText = doc.headers.map { "\($0.name): \($0.value)\n" }.joined()
            fields[.text] = [headerText, body, attachments]
            var sentDay: Int64?
            if let d = doc.date { sentDay = days(d.secondsSinceEpoch + Int64(d.offsetMinutes) * 60) }
            var ref = RefDoc(docid: row.docid, fields: fields, headers: doc.headers.map { ($0.name, $0.value) },
                             sentDay: sentDay, arrivalDay: days(message.internalDate), size: message.size)
            ref.folded = fields.mapValues { $0.map { Array(TextNormalizer.caseFold($0).utf8) } }
            docs.append(ref)
        }
        return docs
    }

    /// Case-insensitive substring, literally: both sides Unicode-case-folded, then bytes.
    static func contains(_ text: String, _ key: String) -> Bool {
        contains(folded: Array(TextNormalizer.caseFold(text).utf8), key)
    }

    static func contains(folded h: [UInt8], _ key: String) -> Bool {
        let n = Array(TextNormalizer.caseFold(key).utf8)
        if n.isEmpty { return true }
        guard n.count <= h.count else { return false }
        outer: for i in 0...(h.count - n.count) {
            for j in 0..<n.count where h[i + j] != n[j] { continue outer }
            return true
        }
        return false
    }

    /// RFC 9051 §6.4.4, applied to one decoded message.
    static func matches(_ node: QueryNode, _ d: RefDoc) -> Bool {
        switch node {
        case .all: return true
        case .and(let c): return c.allSatisfy { matches($0, d) }
        case .or(let c): return c.contains { matches($0, d) }
        case .not(let n): return !matches(n, d)
        case .text(let f, let s, _): return (d.folded[f] ?? []).contains { contains(folded: $0, s) }
        case .header(let name, let value):
            return d.headers.contains { $0.name.lowercased() == name.lowercased() && (value.isEmpty || contains($0.value, value)) }
        case .date(let f, let c, let day):
            let mine = f == .arrival ? d.arrivalDay : (d.sentDay ?? d.arrivalDay)
            let target = day.daysSinceEpoch
            switch c {
            case .before: return mine < target
            case .on: return mine == target
            case .since: return mine >= target
            }
        case .size(let larger, let n): return larger ? d.size > n : d.size < n
        case .flag(_, let set): return !set  // files carry no flags here
        default: return false
        }
    }

    static func day(_ days: Int64) -> SearchDay {
        // civil_from_days
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let dd = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return SearchDay(year: Int(m <= 2 ? y + 1 : y), month: Int(m), day: Int(dd))
    }

    /// A random slice of `text` of 2...maxLength characters (nil when too short); `spanning`
    /// asks for one with a non-alphanumeric character strictly inside.
    static func slice(_ text: String, _ rng: inout SplitMix64, maxLength: Int = 12, spanning: Bool = false, nonASCII: Bool = false) -> String? {
        let chars = Array(text)
        guard chars.count >= 3 else { return nil }
        for _ in 0..<60 {
            let len = 2 + Int(rng.next() % UInt64(maxLength - 1))
            guard chars.count > len else { continue }
            let start = Int(rng.next() % UInt64(chars.count - len))
            let s = String(chars[start..<(start + len)])
            if s.contains(where: { $0.isNewline }) { continue }
            if spanning, !s.dropFirst().dropLast().contains(where: { !$0.isLetter && !$0.isNumber }) { continue }
            if nonASCII, !s.unicodeScalars.contains(where: { $0.value > 0x7F }) { continue }
            if !spanning, !nonASCII, !s.contains(where: { $0.isLetter }) { continue }
            return s
        }
        return nil
    }

    static func criteria(_ docs: [RefDoc], _ rng: inout SplitMix64) -> [QueryNode] {
        var out: [QueryNode] = []
        func pick() -> RefDoc { docs[Int(rng.next() % UInt64(docs.count))] }
        let textFields: [TextField] = [.from, .to, .cc, .subject, .body, .body, .body, .text]
        // Substrings inside words and across words, some upper-cased.
        while out.count < 60 {
            let f = textFields[Int(rng.next() % UInt64(textFields.count))]
            guard let text = pick().fields[f]?.first(where: { !$0.isEmpty }), var s = slice(text, &rng) else { continue }
            if rng.next() % 3 == 0 { s = s.uppercased() }
            out.append(.text(f, s, .substring))
        }
        // Phrases across punctuation and spacing.
        var n = 0
        while n < 20 {
            let f = textFields[Int(rng.next() % UInt64(textFields.count))]
            guard let text = pick().fields[f]?.first(where: { !$0.isEmpty }), let s = slice(text, &rng, maxLength: 16, spanning: true) else { continue }
            out.append(.text(f, s, .substring))
            n += 1
        }
        // Non-ASCII substrings (CJK, Cyrillic, accented Latin…).
        n = 0
        var tries = 0
        while n < 25, tries < 5000 {
            tries += 1
            let f: TextField = [.subject, .body, .from][Int(rng.next() % 3)]
            guard let text = pick().fields[f]?.first(where: { !$0.isEmpty }), let s = slice(text, &rng, maxLength: 6, nonASCII: true) else { continue }
            out.append(.text(f, s, .substring))
            n += 1
        }
        // Headers present, absent, and with values.
        for name in ["X-Mailer", "List-Id", "X-Spam-Status", "Content-Type", "X-Nonexistent-Header", "Reply-To", "MIME-Version"] {
            out.append(.header(name: name, value: ""))
        }
        n = 0
        while n < 10 {
            let d = pick()
            guard !d.headers.isEmpty else { continue }
            let h = d.headers[Int(rng.next() % UInt64(d.headers.count))]
            guard let s = slice(h.value, &rng, maxLength: 10) else { continue }
            out.append(.header(name: rng.next() % 2 == 0 ? h.name.lowercased() : h.name.uppercased(), value: s))
            n += 1
        }
        // OR with NOT, nested NOT.
        let leaves = Array(out.prefix(40))
        for k in 0..<15 {
            let a = leaves[(k * 7) % leaves.count], b = leaves[(k * 11 + 3) % leaves.count], c = leaves[(k * 5 + 1) % leaves.count]
            switch k % 5 {
            case 0: out.append(.or([a, .not(b)]))
            case 1: out.append(.not(.or([a, b])))
            case 2: out.append(.and([.not(.not(a)), .or([.not(b), c])]))
            case 3: out.append(.not(.and([a, .not(b)])))
            default: out.append(.or([.and([a, b]), .not(c)]))
            }
        }
        // Dates at day edges, both kinds, and sizes around real sizes.
        for _ in 0..<16 {
            let d = pick()
            let sent = rng.next() % 2 == 0
            guard let base = sent ? d.sentDay : d.arrivalDay else { continue }
            let day = Self.day(base + Int64(rng.next() % 3) - 1)
            let c: DateComparison = [.before, .on, .since][Int(rng.next() % 3)]
            out.append(.date(sent ? .sent : .arrival, c, day))
        }
        for _ in 0..<6 {
            let d = pick()
            out.append(.size(larger: rng.next() % 2 == 0, d.size + Int64(rng.next() % 3) - 1))
        }
        out.append(.and([.size(larger: true, 2000), .text(.body, "the", .substring), .not(.header(name: "X-Mailer", value: ""))]))
        // Words nobody wrote.
        for s in ["zqxjvkw", "Qwfpgjluy", "ß-Ünicodé-nope", "猫猫猫猫猫"] { out.append(.text(.text, s, .substring)) }
        return out
    }

    @Test func criteriaMatchTheBruteForceReference() throws {
        guard FileManager.default.fileExists(atPath: Self.shared) else { return }  // corpus not present
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-imap-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let mail = tmp + "/mail"
        var rng = SplitMix64(seed: 2026)
        let files = try Self.buildCorpus(mail, rng: &rng)
        let indexer = try UserIndexer(dataRoot: tmp + "/data", user: "ref")
        let report = try indexer.index([mail])
        #expect(report.added == files.count)
        let dir = try UserDirectory(dataRoot: tmp + "/data", user: "ref")
        let catalog = try Catalog(path: dir.catalogPath)
        let docs = try Self.reference(files, catalog: catalog, root: mail)
        #expect(docs.count == files.count)
        let engine = QueryEngine(reader: try IndexReader(directory: dir), catalog: catalog)
        let criteria = Self.criteria(docs, &rng)
        #expect(criteria.count >= 150)
        var nonEmpty = 0
        for c in criteria {
            let want = Set(docs.filter { Self.matches(c, $0) }.map(\.docid))
            var options = SearchOptions()
            options.limit = Int.max / 2
            options.snippets = false
            options.sort = .uid
            let got = Set(try engine.search(c, options: options).hits.map(\.docid))
            #expect(got == want, "\(c): missing \(want.subtracting(got).sorted().prefix(5)), extra \(got.subtracting(want).sorted().prefix(5))")
            // The same when keys expand to too many terms to narrow by (the path of common
            // words on a large index: own-term hits, the rest confirmed on stored text).
            options.limits.maxExpandedTerms = 1
            options.limits.maxNarrowingTerms = 1
            let wide = Set(try engine.search(c, options: options).hits.map(\.docid))
            #expect(wide == want, "\(c) (no narrowing): missing \(want.subtracting(wide).sorted().prefix(5)), extra \(wide.subtracting(want).sorted().prefix(5))")
            if !want.isEmpty { nonEmpty += 1 }
        }
        // The criteria must mostly find something, or the comparison proves little.
        #expect(nonEmpty * 10 >= criteria.count * 7, "only \(nonEmpty) of \(criteria.count) criteria match anything")
        // Every mailbox at once (one evaluation over all of them) answers as each alone, also
        // for keys that are each mailbox's own (UIDs: evaluated per mailbox).
        let names = try catalog.mailboxStatuses().map(\.name) + ["inbox", "no-such-box"]
        #expect(names.count >= 5)
        let ownKeys: [QueryNode] = [try IMAPSearchParser.parse("UID 1:40").criteria,
                                    .and([criteria[0], try IMAPSearchParser.parse("UID 3:*").criteria]),
                                    .or([try IMAPSearchParser.parse("5:9").criteria, criteria[1]])]
        #expect(ownKeys.allSatisfy(QueryEngine.hasMailboxRelativeKeys))
        for c in criteria + ownKeys {
            let each = try names.map { try engine.uids(c, mailbox: $0) }
            let together = try engine.uidsByMailbox(c, mailboxes: names)
            #expect(together == each, "\(c)")
        }
    }
}
