import ArgumentParser
import CMalloc
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

/// glibc's allocator, tuned for an indexer: large buffers (term tables, block lists, segment
/// files built in memory) come and go many times a second, and by default each one over the
/// dynamic mmap threshold is mapped fresh and unmapped when freed, then page-faulted in again
/// (indexing LKML spent 2.4-2.7 s of system time). Allocations up to 64 MiB stay in the heap,
/// up to 256 MiB of free heap is kept rather than returned, and the heap grows 16 MiB at a
/// time: LKML `index --compact` system time 2.4 → 2.1 s, peak RSS +30 MB. Skipped when the
/// operator tunes malloc through its environment variables (MALLOC_*_).
func tuneAllocator() {
    guard !ProcessInfo.processInfo.environment.keys.contains(where: { $0.hasPrefix("MALLOC_") }) else { return }
    ms_tune_malloc(64 << 20, 256 << 20, 16 << 20)
}

tuneAllocator()

// The daemon runs its request handlers on the event loops' own threads (no hop to Swift's
// cooperative pool and back for every request); installed before any task starts.
if CommandLine.arguments.dropFirst().first == "serve" {
    MailsiftServer.runTasksOnEventLoops()
}
await runMailsift()
