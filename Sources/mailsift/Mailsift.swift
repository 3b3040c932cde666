import ArgumentParser

struct Mailsift: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailsift",
        abstract: "Full-text search for mail.",
        version: "0.1.0",
        subcommands: [ParseCommand.self, TokensCommand.self, IndexCommand.self, SearchCommand.self, StatsCommand.self, VerifyCommand.self, CompactCommand.self, ReindexCommand.self, ExportCommand.self, ImportCommand.self, RepairCommand.self, ServeCommand.self, LoadCommand.self]
    )
}
