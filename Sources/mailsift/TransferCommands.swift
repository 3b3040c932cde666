import ArgumentParser
import Foundation
import Ingest

/// `mailsift export` / `mailsift import`: one user's index as a single file (docs/format.md,
/// "User archive"), for moving users between servers.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write one user's index (catalog and last commit) to a single file.",
        discussion: "Takes the user's write lock: stop the daemon (or let it release the user) first."
    )

    @OptionGroup var options: IndexOptions

    @Argument(help: "The archive file to write.")
    var file: String

    func run() throws {
        let start = ContinuousClock.now
        let bytes = try UserTransfer.export(dataRoot: options.dataRoot, user: options.user, to: file)
        print(String(format: "exported %@ to %@: %.1f MB in %@", options.user, file, Double(bytes) / 1e6, "\(ContinuousClock.now - start)"))
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add a user's index from an archive written by export (every checksum checked first)."
    )

    @Option(help: "Data directory holding the user indexes (default: $MAILSIFT_DATA).")
    var data: String?

    @Option(help: "The user name to import as (default: the name in the archive).")
    var user: String?

    @Flag(help: "Replace the user's existing index.")
    var replace = false

    @Argument(help: "The archive file.")
    var file: String

    func run() throws {
        guard let root = data ?? ProcessInfo.processInfo.environment["MAILSIFT_DATA"] else { throw ValidationError("give --data DIR or set MAILSIFT_DATA") }
        let name = try UserTransfer.importArchive(file, dataRoot: root, as: user, replace: replace)
        print("imported \(name) into \(root)")
    }
}
