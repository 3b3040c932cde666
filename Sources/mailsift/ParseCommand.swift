import ArgumentParser
import Foundation
import Ingest
import MIME

/// `mailsift parse`: show what Mailsift reads in messages (for people, or as JSON for tools).
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse messages (files, mbox files or directories) and print the documents.",
        discussion: """
            Each file is one message, or an mbox of several; directories are walked recursively \
            (Maildir cur/ and new/ included). --json prints one JSON object per message per line.
            --stats prints only totals, timings and defect counts (for walking whole corpora).
            """
    )

    @Argument(help: "Message files, mbox files or directories.")
    var paths: [String]

    @Flag(help: "Print one JSON object per message (JSON Lines).")
    var json = false

    @Flag(help: "With --json: indent the JSON.")
    var pretty = false

    @Flag(help: "Print only totals: messages, bytes, throughput, defects by kind, slowest messages.")
    var stats = false

    @Flag(name: .customLong("no-extract"), help: "Do not extract text from attachments (PDF, Office, RTF…).")
    var noExtract = false

    @Option(help: "Print at most this many characters of each text segment (human output).")
    var maxText = 2000

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one file or directory") }
        if pretty && !json { throw ValidationError("--pretty goes with --json") }
        if maxText < 0 { throw ValidationError("--max-text must be ≥ 0") }
    }

    func run() throws {
        var limits = ParserLimits()
        limits.extractAttachments = !noExtract
        let parser = MessageParser(limits: limits)
        let files = MessageFiles.files(under: paths)
        var summary = ParseSummary()
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        var failures = 0
        for file in files {
            let messages: [SourceMessage]
            do {
                messages = try MessageFiles.read(file)
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("mailsift: \(error)\n".utf8))
                continue
            }
            for message in messages {
                let start = ContinuousClock.now
                let doc = parser.parse(message.bytes)
                let elapsed = ContinuousClock.now - start
                if stats {
                    summary.add(doc, origin: message.origin, elapsed: elapsed)
                } else if json {
                    let record = ParsedRecord(origin: message.origin, internalDate: message.internalDate, document: doc)
                    var data = try encoder.encode(record)
                    data.append(0x0A)
                    FileHandle.standardOutput.write(data)
                } else {
                    print(HumanRendering.render(doc, origin: message.origin, maxText: maxText))
                }
            }
        }
        if stats { print(summary.report()) }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct ParsedRecord: Encodable {
    var origin: String
    var internalDate: Int64?
    var document: MailDocument
}

/// Totals for `parse --stats`.
struct ParseSummary {
    var messages = 0
    var bytes = 0
    var total: Duration = .zero
    var defects: [DefectKind: Int] = [:]
    var messagesWithDefects = 0
    var attachments = 0
    var extraction: [String: Int] = [:]
    var slowest: [(Duration, String)] = []

    mutating func add(_ doc: MailDocument, origin: String, elapsed: Duration) {
        messages += 1
        bytes += doc.rawSize
        total += elapsed
        if !doc.defects.isEmpty { messagesWithDefects += 1 }
        for kind in Set(doc.defects.map(\.kind)) { defects[kind, default: 0] += 1 }
        attachments += doc.attachments.count
        for a in doc.attachments { extraction[a.extraction.rawValue, default: 0] += 1 }
        slowest.append((elapsed, origin))
        if slowest.count > 64 {
            slowest.sort { $0.0 > $1.0 }
            slowest.removeLast(slowest.count - 10)
        }
    }

    func report() -> String {
        let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        var lines: [String] = []
        lines.append("messages: \(messages)")
        lines.append("bytes: \(bytes)")
        lines.append(String(format: "parse time: %.3f s (%.1f MB/s, %.0f messages/s, one core)",
                            seconds, seconds > 0 ? Double(bytes) / 1e6 / seconds : 0, seconds > 0 ? Double(messages) / seconds : 0))
        lines.append("messages with defects: \(messagesWithDefects)")
        for (kind, n) in defects.sorted(by: { $0.value > $1.value }) { lines.append("  \(kind.rawValue): \(n)") }
        lines.append("attachments: \(attachments)")
        for (status, n) in extraction.sorted(by: { $0.value > $1.value }) { lines.append("  extraction \(status): \(n)") }
        lines.append("slowest:")
        for (d, origin) in slowest.sorted(by: { $0.0 > $1.0 }).prefix(5) { lines.append("  \(d) \(origin)") }
        return lines.joined(separator: "\n")
    }
}
