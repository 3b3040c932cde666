import Foundation
import Glibc
import Testing
import TestSupport

/// Message bombs through the command-line indexer, each in a process of its own whose peak
/// memory (VmHWM) is measured: 1 GB of header, a 200 MB base64 line, a text part of one
/// 50 MB word, zip bombs inside a docx and an odt (honest about their size and lying), and a
/// PDF whose form XObjects draw each other 2^32 times (pdftotext would never finish). Each
/// message is indexed as far as the limits allow, its defect says which limit it hit, and the
/// process stays within `memoryBound`.
@Suite(.serialized) struct HostileInputTests {
    /// The parser looks at 256 MiB of a message; its copies and the index writer's buffers
    /// come on top. Measured peaks are in the test output and in docs/security.md.
    /// Under AddressSanitizer (tools/sanitizers.sh sets ASAN_OPTIONS) allocations carry
    /// redzones and a quarantine: three times the bound.
    static let memoryBound = (1_400 << 10) * (ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil ? 1 : 3)  // KiB

    /// Runs the binary with `args`; its exit status, output and peak resident memory in KiB.
    static func spawn(_ args: [String]) throws -> (status: Int32, out: String, maxRSS: Int) {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-out-\(getpid())-\(UUID().uuidString)").path
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([mailsiftBinary.path] + args).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, mailsiftBinary.path, &actions, nil, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        // The child's own high-water mark (VmHWM belongs to its address space, which exec
        // made new), sampled every 20 ms until it exits. (ru_maxrss would not do: Linux
        // carries the spawning process's peak across exec.)
        var status: Int32 = 0
        var peak = 0
        while true {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
                peak = max(peak, kib)
            }
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno != EINTR) { break }
            usleep(20_000)
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exit, out, peak)
    }

    /// Writes `count` bytes of `fill` after `head` and before `tail`, a MiB at a time.
    static func write(_ path: String, head: String, fill: UInt8, count: Int, tail: String) throws {
        guard let f = fopen(path, "wb") else { throw POSIXError(.EIO) }
        defer { fclose(f) }
        fputs(head, f)
        let chunk = [UInt8](repeating: fill, count: 1 << 20)
        var left = count
        while left > 0 {
            let n = min(left, chunk.count)
            _ = chunk.withUnsafeBytes { fwrite($0.baseAddress, 1, n, f) }
            left -= n
        }
        fputs(tail, f)
    }

    /// A message with one attachment, base64.
    static func attached(_ type: String, _ name: String, _ data: [UInt8]) -> String {
        "From: a@example.com\r\nSubject: \(name)\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
            + "--z\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n"
            + "--z\r\nContent-Type: \(type)\r\nContent-Disposition: attachment; filename=\"\(name)\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Data(data).base64EncodedString(options: .lineLength76Characters) + "\r\n--z--\r\n"
    }

    /// A PDF whose page draws form X0, which draws X1 twice, ..., X31 draws a word: 2^32 words.
    static func spinningPDF(depth: Int = 32) -> [UInt8] {
        var objects: [String] = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /X 6 0 R >> >> >>",
            "<< /Length 5 >>\nstream\n/X Do\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        for level in 0..<depth {
            let last = level == depth - 1
            let content = last ? "BT /F1 12 Tf 72 720 Td (spin) Tj ET" : "/X Do /X Do"
            let resources = last ? "<< /Font << /F1 5 0 R >> >>" : "<< /XObject << /X \(7 + level) 0 R >> >>"
            objects.append("<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources \(resources) /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream")
        }
        var out = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (k, o) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(k + 1) 0 obj\n\(o)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for o in offsets { out += String(format: "%010d 00000 n \n", o) }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(out.utf8)
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/MIMETests/Fixtures/extraction/\(name)")))
    }

    struct Bomb: CustomStringConvertible, Sendable {
        var name: String
        /// Defect kinds the parse must report (any of them).
        var defects: Set<String>
        var description: String { name }
    }

    static let bombs: [Bomb] = [
        Bomb(name: "1 GB header", defects: ["headerTooLarge", "messageTooLarge"]),
        Bomb(name: "200 MB base64 line", defects: ["partTooLarge"]),
        Bomb(name: "one 50 MB word", defects: ["textTruncated"]),
        Bomb(name: "zip bombs in docx and odt", defects: ["extractionLimit"]),
        Bomb(name: "pdf that keeps pdftotext busy", defects: ["extractionTimedOut", "extractionFailed", "extractionLimit"]),
    ]

    static func make(_ bomb: Bomb, at path: String) throws {
        switch bomb.name {
        case "1 GB header":
            try write(path, head: "From: a@example.com\r\nSubject: ", fill: 0x61, count: 1 << 30, tail: "\r\n\r\nbody\r\n")
        case "200 MB base64 line":
            try write(path, head: "From: a@example.com\r\nSubject: b64\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                      fill: 0x51, count: 200 << 20, tail: "\r\n")
        case "one 50 MB word":
            try write(path, head: "From: a@example.com\r\nSubject: word\r\nContent-Type: text/plain\r\n\r\nbefore ", fill: 0x61, count: 50 << 20,
                      tail: " after\r\n")
        case "zip bombs in docx and odt":
            var m = "From: a@example.com\r\nSubject: bombs\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
            for (name, type) in [("bomb.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                                 ("bomb-lying.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                                 ("bomb.odt", "application/vnd.oasis.opendocument.text"), ("bomb-lying.odt", "application/vnd.oasis.opendocument.text")] {
                m += "--z\r\nContent-Type: \(type)\r\nContent-Disposition: attachment; filename=\"\(name)\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                m += Data(try fixture(name)).base64EncodedString(options: .lineLength76Characters) + "\r\n"
            }
            m += "--z--\r\n"
            try m.write(toFile: path, atomically: false, encoding: .utf8)
        default:
            try attached("application/pdf", "spin.pdf", spinningPDF()).write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    @Test(.timeLimit(.minutes(5)), arguments: bombs)
    func bombIsIndexedWithinLimits(_ bomb: Bomb) throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-bomb-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let file = tmp + "/bomb.eml"
        try Self.make(bomb, at: file)
        let index = try Self.spawn(["index", "--data", tmp + "/data", "--user", "u", "--threads", "1", file])
        #expect(index.status == 0, "\(bomb): \(index.out)")
        #expect(index.out.contains("indexed 1 messages"), "\(bomb): \(index.out)")
        #expect(index.maxRSS < Self.memoryBound, "\(bomb): peak \(index.maxRSS / 1024) MiB")
        print("hostile input \(bomb): indexed, peak RSS \(index.maxRSS / 1024) MiB")
        // The defect names the limit.
        let parse = try Self.spawn(["parse", "--json", file])
        #expect(parse.status == 0)
        let object = (try? JSONSerialization.jsonObject(with: Data(parse.out.utf8))) as? [String: Any]
        let defects = (object?["document"] as? [String: Any])?["defects"] as? [[String: Any]] ?? []
        let kinds = Set(defects.compactMap { $0["kind"] as? String })
        #expect(!kinds.isDisjoint(with: bomb.defects), "\(bomb): defects \(kinds.sorted())")
        #expect(parse.maxRSS < Self.memoryBound, "\(bomb): parse peak \(parse.maxRSS / 1024) MiB")
        // The index answers, and the message is found.
        let search = try Self.spawn(["search", "--data", tmp + "/data", "--user", "u", "--json", "--imap", "ALL"])
        #expect(search.status == 0)
        #expect(search.out.split(separator: "\n").count == 1, "\(bomb): \(search.out.prefix(300))")
        // Its size is the file's, also where only the beginning was read (IMAP LARGER/SMALLER).
        let size = try #require((try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value)
        let exact = try Self.spawn(["search", "--data", tmp + "/data", "--user", "u", "--json", "--imap", "LARGER \(size - 1) SMALLER \(size + 1)"])
        #expect(exact.out.split(separator: "\n").count == 1, "\(bomb): size \(size): \(exact.out.prefix(300))")
    }
}
