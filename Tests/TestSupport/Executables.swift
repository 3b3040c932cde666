import Foundation

/// The repository's root (for fixtures and `corpus/`).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `mailsift` binary built beside the running test bundle.
public var mailsiftBinary: URL {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent(), dir.deletingLastPathComponent().deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("mailsift")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return repositoryRoot.appendingPathComponent(".build/debug/mailsift")
}

/// A fresh path under the temporary directory for one test's files, unique to this call: the
/// suites run in parallel in one process, so a name and the process ID alone can collide (a
/// daemon test named "reindex" once deleted ReindexTests' directory under it).
public func scratchPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))").path
}

/// Runs a program to its end: its exit status and its standard output and error together.
public func runProgram(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// A folder of the shared corpus (`mime-fixtures`, `enron-inbox`, …).
public func corpusFolder(_ name: String) -> String {
    repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/" + name).path
}

/// A folder of the shared SpamAssassin corpus (`easy_ham`, `spam_2`, …).
public func spamAssassinFolder(_ name: String) -> String {
    repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/spamassassin-public-corpus/" + name).path
}

/// The first `count` messages of a corpus folder in name order (no dot files, no `cmds`), as
/// paths; copied into `maildir` (with their names, or `0000.eml`… when `numbered`) when given.
public func corpusMessages(_ folder: String, count: Int, copyingTo maildir: String? = nil, numbered: Bool = false) throws -> [String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") && $0 != "cmds" }.sorted().prefix(count)
    guard let maildir else { return names.map { folder + "/" + $0 } }
    try FileManager.default.createDirectory(atPath: maildir, withIntermediateDirectories: true)
    return try names.enumerated().map { i, name in
        let target = maildir + "/" + (numbered ? String(format: "%04d.eml", i) : name)
        try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: target)
        return target
    }
}
