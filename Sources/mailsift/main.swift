import ArgumentParser
import Foundation
import Server

/// Parses the command line and runs the command (what `@main` on an `AsyncParsableCommand`
/// does), in a function of its own so that `run()` resolves to the async requirement.
func runMailsift() async {
    do {
        var command = try Mailsift.parseAsRoot()
        if var asyncCommand = command as? AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    } catch {
        Mailsift.exit(withError: error)
    }
}

// The daemon runs its request handlers on the event loops' own threads (no hop to Swift's
// cooperative pool and back for every request); installed before any task starts.
if CommandLine.arguments.dropFirst().first == "serve" {
    MailsiftServer.runTasksOnEventLoops()
}
await runMailsift()
