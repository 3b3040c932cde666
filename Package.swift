// swift-tools-version: 6.1
// Mailsift: full-text search for mail. Module graph and import rules: docs/architecture.md.
import PackageDescription

let package = Package(
    name: "Mailsift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mailsift", targets: ["mailsift"]),
        .library(name: "MIME", targets: ["MIME"]),
        .library(name: "Ingest", targets: ["Ingest"]),
        .library(name: "Analysis", targets: ["Analysis"]),
        .library(name: "IndexFormat", targets: ["IndexFormat"]),
        .library(name: "IndexEngine", targets: ["IndexEngine"]),
        .library(name: "Query", targets: ["Query"]),
        .library(name: "Catalog", targets: ["Catalog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // C shims: system ICU and LZ4 behind plain-C headers (Foundation bundles its own ICU,
        // whose headers clash with the system's inside a Swift module).
        .target(
            name: "CICUShim",
            linkerSettings: [
                .linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata"),
            ]
        ),
        .target(name: "CLZ4", linkerSettings: [.linkedLibrary("lz4")]),
        .target(name: "CPrefetch"),
        .target(name: "CCRC32C"),
        .target(name: "CByteSearch"),

        .target(name: "CThreads"),
        .target(name: "MailsiftCore", dependencies: ["CThreads"]),
        .target(name: "Analysis", dependencies: ["MailsiftCore", "CICUShim", "CByteSearch"]),
        .target(name: "IndexFormat", dependencies: ["MailsiftCore", "CLZ4", "CCRC32C", "CByteSearch"]),
        .target(name: "Catalog", dependencies: ["MailsiftCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(
            name: "MIME",
            dependencies: [
                "MailsiftCore", "CICUShim",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "IndexEngine",
            dependencies: ["IndexFormat", "MailsiftCore", "CPrefetch", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "Query", dependencies: ["Analysis", "IndexEngine", "IndexFormat", "Catalog", "MailsiftCore"]),
        .target(name: "Ingest", dependencies: ["MIME", "Analysis", "IndexEngine", "Catalog", "MailsiftCore"]),
        .target(
            name: "Server",
            dependencies: [
                "Query", "Ingest", "IndexEngine", "Catalog", "MailsiftCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "mailsift",
            dependencies: [
                "MIME", "Ingest", "Analysis", "Query", "IndexEngine", "Catalog", "MailsiftCore", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fuzz targets (tools/fuzz): entry points over bytes for every parser and reader. The
        // executable replays inputs in a normal build; built with -DFUZZING and
        // -sanitize=fuzzer,address (tools/fuzz/run.sh) it is a libFuzzer binary.
        .target(
            name: "FuzzTargets",
            dependencies: ["MIME", "Ingest", "Analysis", "Query", "IndexEngine", "IndexFormat", "Catalog", "MailsiftCore", "Server"]
        ),
        .executableTarget(name: "mailsift-fuzz", dependencies: ["FuzzTargets"]),

        // Helpers shared by the test targets (seeded generators); not part of any product.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ShimTests", dependencies: ["CICUShim", "CLZ4", "TestSupport"]),
        .testTarget(
            name: "MIMETests",
            dependencies: ["MIME", "Ingest", "TestSupport", "CICUShim"],
            exclude: ["Golden"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "MailsiftCoreTests", dependencies: ["MailsiftCore", "CThreads"]),
        .testTarget(name: "IndexFormatTests", dependencies: ["IndexFormat", "TestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "MailsiftCore"]),
        .testTarget(
            name: "IndexEngineTests",
            dependencies: ["IndexEngine", "IndexFormat", "Ingest", "Query", "Catalog", "MailsiftCore", "TestSupport"],
            exclude: ["Frozen"]
        ),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "MIME", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["mailsift", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "IndexEngine", "MIME", "Analysis", "MailsiftCore", "TestSupport"]),
        .testTarget(
            name: "QueryTests",
            dependencies: ["Query", "Ingest", "IndexEngine", "Catalog", "MIME", "Analysis", "MailsiftCore", "TestSupport"]
        ),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Query", "MIME", "Analysis", "mailsift", "TestSupport"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "IndexEngine", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
