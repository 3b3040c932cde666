import Foundation
import Server
import TestSupport

/// `mailsift serve` as a real child process on a temporary Unix socket.
final class Daemon {
    let base: String
    let data: String
    let socket: String
    let extraArguments: [String]
    private(set) var process: Process?
    let log: String

    /// A new daemon on a fresh directory, or (`reuse`) on a stopped daemon's data.
    init(name: String, arguments: [String] = [], reuse: Daemon? = nil) throws {
        base = reuse?.base ?? scratchPath(name)
        if reuse == nil { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        // The directory is this object's to remove now, not the stopped daemon's.
        keep = false
        reuse?.keep = true
        data = base + "/data"
        socket = base + "/s.sock"
        log = base + "/daemon.log"
        extraArguments = arguments
        try start()
    }

    /// Whether another Daemon object took over the directory (then this one leaves it).
    private var keep = false

    deinit {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
        if !keep { try? FileManager.default.removeItem(atPath: base) }
    }

    /// Starts the process and waits until `/health` answers.
    func start() throws {
        let p = Process()
        p.executableURL = mailsiftBinary
        p.arguments = ["serve", "--data", data, "--socket", socket, "--log-level", "warning"] + extraArguments
        FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try p.run()
        process = p
        let client = HTTPClient(.unix(socket))
        client.timeoutSeconds = 5
        for _ in 0..<600 {
            if let r = try? client.get("/health"), r.status == 200 { return }
            guard p.isRunning else { break }
            usleep(50_000)
        }
        throw HTTPClient.Failure(description: "the daemon did not start: \(logText)")
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func client() -> HTTPClient { HTTPClient(.unix(socket)) }

    /// SIGTERM, then waits; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return -1 }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    /// `kill -9`.
    func crash() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// Waits until every accepted message is indexed (status says nothing is queued).
    func waitIndexed(_ user: String, timeout: Double = 60) throws {
        let c = client()
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let r = try c.get("/v1/users/\(user)/status")
            if r.status == 200, let obj = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any], obj["queued"] as? Int == 0 { return }
            usleep(20_000)
        }
        throw HTTPClient.Failure(description: "\(user): still queued after \(timeout) s")
    }
}

extension HTTPClient.Response {
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    var uids: [Int] { (json["uids"] as? [Int]) ?? [] }
}

extension HTTPClient {
    /// IMAP SEARCH through the daemon: the matching UIDs.
    func imap(_ user: String, _ mailbox: String, _ criteria: String) throws -> [Int] {
        let body = try JSONSerialization.data(withJSONObject: ["imap": criteria, "mailbox": mailbox])
        let r = try request("POST", "/v1/users/\(user)/search", body: Array(body), headers: [("Content-Type", "application/json")])
        guard r.status == 200 else { throw Failure(description: "search \(criteria): \(r.status) \(r.text)") }
        return r.uids
    }

    func postJSON(_ path: String, _ object: Any) throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: object)
        return try request("POST", path, body: Array(body), headers: [("Content-Type", "application/json")])
    }
}
