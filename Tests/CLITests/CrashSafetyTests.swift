import Foundation
import Testing
import TestSupport

/// `kill -9` at random instants of indexing, commit and merge: the index always opens, and a
/// rerun brings it to exactly the messages of the source, each once (seeded, many rounds).
@Suite(.serialized) struct CrashSafetyTests {
    @Test func killedIndexerAlwaysRecovers() throws {
        let fm = FileManager.default
        let base = scratchPath("crash")
        let mail = base + "/mail", data = base + "/data"
        try? fm.removeItem(atPath: base)
        try fm.createDirectory(atPath: mail, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: base) }
        let samples = ParseCommandTests.root.appendingPathComponent("corpus/samples").path
        let names = try fm.contentsOfDirectory(atPath: samples).filter { $0.hasSuffix(".eml") }.sorted()
        for copy in 0..<60 {
            for name in names { try fm.copyItem(atPath: "\(samples)/\(name)", toPath: "\(mail)/\(copy)-\(name)") }
        }
        let expected = 60 * names.count

        var rng = SplitMix64(seed: 20_261_129)
        var killedMidway = 0
        // How long a full re-index of the source takes here, so kills land inside a run
        // whatever the machine's speed.
        let warmup = Date()
        _ = try ParseCommandTests.run(["index", "--data", data, "--user", "crash", "--no-extract", "--ram-budget", "1", mail])
        let fullRun = max(0.05, Date().timeIntervalSince(warmup))
        // MAILSIFT_CRASH_ROUNDS=N for a longer run (tools, before a release).
        let rounds = ProcessInfo.processInfo.environment["MAILSIFT_CRASH_ROUNDS"].flatMap(Int.init) ?? 20
        for round in 0..<rounds {
            // A fresh source change each round: remove a few files, add them back later.
            if round % 3 == 1 {
                for k in 0..<5 { try? fm.removeItem(atPath: "\(mail)/\(k)-\(names[k % names.count])") }
            } else if round % 3 == 2 {
                for k in 0..<5 {
                    let dst = "\(mail)/\(k)-\(names[k % names.count])"
                    if !fm.fileExists(atPath: dst) { try fm.copyItem(atPath: "\(samples)/\(names[k % names.count])", toPath: dst) }
                }
            }
            // New modification times: every file counts as changed, so each round re-indexes
            // (deletes and adds) everything and the kill lands mid-work.
            let stamp = Date(timeIntervalSince1970: TimeInterval(1_700_000_000 + round * 100))
            for f in try fm.contentsOfDirectory(atPath: mail) {
                try fm.setAttributes([.modificationDate: stamp], ofItemAtPath: "\(mail)/\(f)")
            }
            let p = Process()
            p.executableURL = ParseCommandTests.binary
            p.arguments = ["index", "--data", data, "--user", "crash", "--no-extract", "--ram-budget", "1", mail]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(Double(rng.next() % 1000) / 1000 * fullRun * 1_000_000))
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                killedMidway += 1
            }
            p.waitUntilExit()
            // Whatever instant it died at, the index opens.
            let stats = try ParseCommandTests.run(["stats", "--data", data, "--user", "crash"])
            #expect(stats.status == 0, "round \(round): \(stats.err)")
        }
        // Recovery: a complete run, then every message exactly once, and verify passes.
        let final = try ParseCommandTests.run(["index", "--data", data, "--user", "crash", "--no-extract", mail])
        #expect(final.status == 0, "\(final.err)")
        let files = try fm.contentsOfDirectory(atPath: mail).count
        #expect(files <= expected)
        let verify = try ParseCommandTests.run(["verify", "--data", data, "--user", "crash"])
        #expect(verify.status == 0, "\(verify.out) \(verify.err)")
        #expect(verify.out.contains("\(files) documents"), "\(verify.out)")
        #expect(killedMidway * 4 >= rounds, "most rounds should be killed while running (\(killedMidway) of \(rounds))")
        print("crash safety: \(rounds) rounds, \(killedMidway) killed mid-run, recovered to \(files) documents")
    }
}
