import Foundation

/// Where the tests find mail: the project's own `corpus/` and, when present, `../shared/corpus`.
enum TestPaths {
    static let projectRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samples = projectRoot.appendingPathComponent("corpus/samples")
    static let shared: URL? = {
        if let env = ProcessInfo.processInfo.environment["MAILSIFT_SHARED_CORPUS"] { return URL(fileURLWithPath: env) }
        let url = projectRoot.appendingPathComponent("../shared/corpus").standardizedFileURL
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    static func bytes(_ url: URL) -> [UInt8] {
        (try? Data(contentsOf: url)).map { Array($0) } ?? []
    }

    static func sample(_ name: String) -> [UInt8] { bytes(samples.appendingPathComponent(name)) }
}
