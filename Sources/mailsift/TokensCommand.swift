import Analysis
import ArgumentParser
import Foundation
import Ingest
import MIME

/// `mailsift tokens`: show how text (or a message's text) is analyzed for the index or as a query.
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Show the tokens Mailsift derives from text, a query, or a message file.",
        discussion: """
            Each token: term, position, kind, the diacritic-folded form when it differs, and the \
            UTF-8 byte range it came from. --query analyzes as a query does (no noise skipping).
            """
    )

    @Argument(help: "Text to analyze (joined with spaces), unless --message is given.")
    var text: [String] = []

    @Option(help: "Analyze the subject and body text of this message file instead.")
    var message: String?

    @Flag(help: "Analyze as a query.")
    var query = false

    @Flag(help: "Print JSON Lines.")
    var json = false

    func validate() throws {
        if text.isEmpty && message == nil { throw ValidationError("give text to analyze, or --message FILE") }
        if !text.isEmpty && message != nil { throw ValidationError("give either text or --message, not both") }
    }

    func run() throws {
        var input = text.joined(separator: " ")
        if let message {
            guard let first = try MessageFiles.read(message).first else { throw ValidationError("\(message): no message") }
            let doc = MessageParser().parse(first.bytes)
            input = ([doc.subject ?? ""] + doc.body.map(\.text)).joined(separator: "\n")
        }
        let analyzer = Analyzer()
        let tokens = query ? analyzer.queryTokens(input) : analyzer.tokens(input)
        for t in tokens {
            if json {
                var obj: [String: Any] = ["term": t.term, "position": t.position, "kind": "\(t.kind)", "start": t.start, "end": t.end]
                if let f = t.folded { obj["folded"] = f }
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(t.position)\t\(t.term)\t\(t.kind)\(t.folded.map { "\t~\($0)" } ?? "")\t[\(t.start),\(t.end))")
            }
        }
        let s = analyzer.stats
        if !json, s.noiseBlocks > 0 || s.longTokens > 0 {
            print("# skipped: \(s.noiseBlocks) noise blocks (\(s.noiseBytes) bytes), \(s.longTokens) over-long words")
        }
    }
}
