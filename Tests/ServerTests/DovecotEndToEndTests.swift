import Foundation
import Testing
import TestSupport

/// A real Dovecot 2.3 with fts_solr pointed at the daemon, against a second Dovecot without
/// fts on the same messages: every IMAP SEARCH answer must be equal (tools/dovecot-e2e.py
/// drives both over IMAP). Runs where Dovecot is installed and the tests run as root (CI:
/// tools/setup.sh installs dovecot-imapd and dovecot-solr).
@Suite struct DovecotEndToEndTests {
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot") && getuid() == 0
            && FileManager.default.fileExists(atPath: repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus").path)
    }

    @Test(.enabled(if: available, "needs Dovecot (tools/setup.sh), root and ../shared/corpus"))
    func searchesThroughMailsiftEqualDovecotsOwn() throws {
        let (status, text) = try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                                            ["python3", repositoryRoot.appendingPathComponent("tools/dovecot-e2e.py").path, "--mailsift", mailsiftBinary.path])
        let failures = text.split(separator: "\n").filter { $0.contains(" FAIL ") || $0.hasPrefix("FAIL") || $0.contains("Traceback") }
        #expect(status == 0, "\(failures.joined(separator: "\n"))\n\(text.suffix(2000))")
        // A broad set of criteria was compared, twice (after the appends and after an expunge).
        let summary = text.split(separator: "\n").last { $0.hasSuffix(" failed") } ?? ""
        let passed = Int(summary.split(separator: " ").first ?? "") ?? 0
        #expect(passed >= 200, "\(summary)")
    }
}
