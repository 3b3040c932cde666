import Foundation
import Ingest
import Testing
@testable import MIME

/// Every message of the corpora parses to a document within its limits. The shared corpora
/// (MIME fixtures of 18 parsers, two spam corpora) are walked when ../shared/corpus is there;
/// the project's own samples always. The big archives (Enron, LKML) are walked by
/// tools/walk-corpus.sh with a release build.
@Suite(.serialized) struct CorpusWalkTests {
    static var sharedFolders: [String] {
        guard let shared = TestPaths.shared else { return [] }
        return ["mime-fixtures", "spamassassin-public-corpus", "csdmc2010-spam"].map { shared.appendingPathComponent($0).path }
    }

    @Test func projectSamplesParseClean() throws {
        let files = MessageFiles.files(under: [TestPaths.samples.path])
        #expect(files.count >= 8)
        var messages = 0
        for file in files {
            for message in try MessageFiles.read(file) {
                let doc = MessageParser().parse(message.bytes)
                Self.checkInvariants(doc, limits: ParserLimits(), origin: message.origin)
                #expect(doc.subject != nil, "\(message.origin)")
                messages += 1
            }
        }
        #expect(messages == files.count + 1)  // the mbox holds two
    }

    @Test(.enabled(if: TestPaths.shared != nil, "../shared/corpus is not here"), arguments: sharedFolders)
    func sharedCorpusParses(_ folder: String) throws {
        var limits = ParserLimits()
        // The per-message bound: a message that hits it carries .timeLimit and fails this test.
        limits.timeBudgetSeconds = 30
        let parser = MessageParser(limits: limits)
        var defects: [DefectKind: Int] = [:]
        var messages = 0
        for file in MessageFiles.files(under: [folder]) {
            for message in try MessageFiles.read(file) {
                let doc = parser.parse(message.bytes)
                Self.checkInvariants(doc, limits: limits, origin: message.origin)
                #expect(!doc.defects.contains { $0.kind == .timeLimit }, "\(message.origin) hit the time bound")
                for k in Set(doc.defects.map(\.kind)) { defects[k, default: 0] += 1 }
                messages += 1
            }
        }
        #expect(messages > 1000)
        let report = defects.sorted { $0.value > $1.value }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
        print("corpus \(URL(fileURLWithPath: folder).lastPathComponent): \(messages) messages; defects by kind: \(report)")
    }

    /// What must hold for any document, whatever the input.
    static func checkInvariants(_ doc: MailDocument, limits: ParserLimits, origin: String) {
        #expect(doc.parts.count <= limits.maxParts + 1, "\(origin)")
        let textBytes = doc.body.reduce(0) { $0 + $1.text.utf8.count }
        #expect(textBytes <= limits.maxTextBytes, "\(origin)")
        let partNames = Set(doc.parts.map(\.part))
        for seg in doc.body {
            #expect(partNames.contains(seg.part), "\(origin): body segment of unknown part \(seg.part)")
        }
        for a in doc.attachments {
            #expect(a.size >= 0)
            if let t = a.text { #expect(t.utf8.count <= limits.extraction.maxOutputBytes + 4, "\(origin)") }
        }
        for d in doc.defects {
            #expect(d.part.isEmpty || partNames.contains(d.part) || doc.attachments.contains { $0.part == d.part }
                    || partNames.contains(where: { d.part.hasPrefix($0) }), "\(origin): defect at unknown part \(d.part)")
        }
    }
}
