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
