import Crypto
import Foundation
import MailsiftCore

/// Where one user's index lives: `DATA/users/<h[0..2]>/<sha256(user name)>/`. The user name
/// never becomes a path component (no traversal, no odd bytes on disk); it is stored inside.
public struct UserDirectory: Sendable {
    public let dataRoot: String
    public let user: String
    public let path: String

    /// Checks a user name: 1-1024 bytes, no control characters.
    public static func validate(_ user: String) throws(MailsiftError) {
        guard !user.isEmpty, user.utf8.count <= 1024, !user.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw MailsiftError(.invalidInput, "user names are 1-1024 bytes without control characters")
        }
    }

    public init(dataRoot: String, user: String) throws(MailsiftError) {
        try Self.validate(user)
        self.dataRoot = dataRoot
        self.user = user
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var digits: [UInt8] = []
        digits.reserveCapacity(64)
        for b in SHA256.hash(data: Array(user.utf8)) {
            digits.append(hex[Int(b >> 4)])
            digits.append(hex[Int(b & 15)])
        }
        let digest = String(decoding: digits, as: UTF8.self)
        path = "\(dataRoot)/users/\(digest.prefix(2))/\(digest)"
    }

    public var catalogPath: String { path + "/catalog.sqlite" }
    public var segmentsPath: String { path + "/segments" }
    public var lockPath: String { path + "/write.lock" }
    public var exists: Bool { FileManager.default.fileExists(atPath: catalogPath) }

    /// Creates the user's directories (0700) and makes their entries durable, so the first
    /// commit of a new user survives a power loss.
    public func create() throws(MailsiftError) {
        if FileManager.default.fileExists(atPath: segmentsPath) { return }
        try DurableFiles.makeDirectory(segmentsPath)
        var dir = segmentsPath
        while dir.count > dataRoot.count, dir.hasPrefix(dataRoot) {
            dir = (dir as NSString).deletingLastPathComponent
            try DurableFiles.syncDirectory(dir)
        }
    }
}
