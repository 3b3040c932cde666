import Foundation
import Testing
@testable import MIME

/// The address fast path must give exactly the full RFC 5322 parser's answer wherever it
/// answers at all (differential test over written cases and real headers).
@Suite struct AddressFastPathTests {
    static let written = [
        "a@b.com", "Anna Rossi <anna.rossi@Example.ORG>", "\"Doe, John\" <john@example.com>, a@b.c",
        "  spaced  name   <x@y.z> ,  ,b@c.d  ", "<only@bracket.s>", "\"\" <empty@name.q>", "Name <a@B.C>, Other <d@E.F>",
        "John Q. Public <jqp@x.y>", "first.last@sub.domain.tld", "ab@xn--bcher-kva.example", "a@b, c@d, e@f, g@h",
        "\"quoted only\"", "name <a@b> trailing", "x@y z@w", "a@@b", "<a@b> <c@d>", ".a@b", "a.@b", "a..b@c", "a@b.",
        "Name <a@b>,", ",,,", "b..sanders@enron.com, r..meyer@enron.com", "Name <b..s@x.com>", "a@b..c", "", "\"unterminated <a@b>", "<a@b", "a@b>", "Bob <bob@ex.com>, \"Alice, A.\" <alice@ex.com>",
    ]

    static func realHeaders() -> [String] {
        guard let shared = TestPaths.shared else { return [] }
        var values: [String] = []
        let dirs = ["mime-fixtures", "spamassassin-public-corpus/easy_ham", "csdmc2010-spam/TRAINING"]
        for dir in dirs {
            let root = shared.appendingPathComponent(dir)
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
            var files = 0
            while let rel = walker.nextObject() as? String, files < 1500 {
                let bytes = TestPaths.bytes(root.appendingPathComponent(rel))
                guard !bytes.isEmpty else { continue }
                files += 1
                let doc = bytes.withUnsafeBufferPointer {
                    HeaderBlockParser.parse($0, range: 0..<$0.count, limits: ParserLimits(), skipMboxFromLine: true)
                }
                for f in doc.fields where [.from, .to, .cc, .replyTo, .sender].contains(f.kind) {
                    if let s = String(validating: f.value, as: UTF8.self) { values.append(s) }
                }
            }
        }
        return values
    }

    @Test func fastPathAgreesWithFullParser() {
        var answered = 0
        let all = Self.written + Self.realHeaders()
        for value in all {
            guard let fast = AddressParser.fastParseList(value) else { continue }
            answered += 1
            #expect(fast == AddressParser.fullParseList(value), "\(value)")
        }
        #expect(answered > Self.written.count / 3)
        print("address fast path answered \(answered) of \(all.count) header values")
    }
}
