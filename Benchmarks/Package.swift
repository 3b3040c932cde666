// swift-tools-version: 6.1
// Mailsift benchmarks (ordo-one/benchmark). Run: `cd Benchmarks && swift package benchmark`.
// Corpora: ../shared/corpus (the Enron archive is unpacked by tools/walk-corpus.sh into
// /tmp/mailsift-corpus, or set MAILSIFT_BENCH_CORPUS to a directory of messages).
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which depends on where the repo is cloned.
let mailsift = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let mailsiftIdentity = mailsift.lastPathComponent.lowercased()

let package = Package(
    name: "MailsiftBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MIMEBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MIME", package: mailsiftIdentity),
                .product(name: "Ingest", package: mailsiftIdentity),
            ],
            path: "Benchmarks/MIMEBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AnalysisBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Analysis", package: mailsiftIdentity),
                .product(name: "MIME", package: mailsiftIdentity),
                .product(name: "Ingest", package: mailsiftIdentity),
            ],
            path: "Benchmarks/AnalysisBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "IndexBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "IndexFormat", package: mailsiftIdentity),
                .product(name: "Ingest", package: mailsiftIdentity),
            ],
            path: "Benchmarks/IndexBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "QueryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Query", package: mailsiftIdentity),
                .product(name: "Ingest", package: mailsiftIdentity),
                .product(name: "IndexEngine", package: mailsiftIdentity),
                .product(name: "Catalog", package: mailsiftIdentity),
            ],
            path: "Benchmarks/QueryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
