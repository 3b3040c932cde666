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

struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Bring a user's index back in line with its catalog, from the messages' mail files.",
        discussion: """
            An index that does not open or fails a checksum is moved aside and rebuilt; missing \
            messages are indexed again, extra documents deleted. Messages without a source file \
            (fed through the daemon) are listed: feed them again (Dovecot: doveadm fts rescan), or \
            give --drop-unrecoverable to expunge them from the catalog.
            """
    )

    @OptionGroup var options: IndexOptions

    @Flag(help: "Expunge messages that cannot be restored from a file from the catalog.")
    var dropUnrecoverable = false

    func run() throws {
        let r = try UserRepair.repair(dataRoot: options.dataRoot, user: options.user, dropUnrecoverable: dropUnrecoverable)
        if let aside = r.brokenSegments { print("the index did not open or failed a checksum: rebuilt (old segments kept in \(aside))") }
        print("\(r.reindexed) messages indexed again from their files, \(r.deleted) stray documents deleted")
        if !r.unrecoverable.isEmpty {
            print("\(r.unrecoverable.count) messages have no readable source file\(r.dropped > 0 ? " and were expunged from the catalog" : " (feed them again, or --drop-unrecoverable)"):")
            for (mailbox, uid) in r.unrecoverable.prefix(50) { print("  \(mailbox) UID \(uid)") }
            if r.unrecoverable.count > 50 { print("  ...") }
            if r.dropped == 0 { throw ExitCode(1) }
        }
    }
}
