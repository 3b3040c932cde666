import Foundation
import IndexFormat
import MailsiftCore
#if canImport(Glibc)
import Glibc
#endif

/// File operations with the durability the commit protocol needs: new files are written
/// completely and fsync'd before anything refers to them; renames are followed by an fsync of
/// the directory. Every failure is a clear `MailsiftError(.io)` naming the path.
public enum DurableFiles {
    /// Writes `bytes` to a new file at `path` (which must not exist) and fsyncs it.
    public static func create(_ path: String, _ bytes: [UInt8]) throws(MailsiftError) {
        // Mail text: readable by the service's user only.
        let fd = StorageFaults.fail(.create, path) ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw error("create", path) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        guard !StorageFaults.fail(.fsync, path), fsync(fd) == 0 else { throw error("fsync", path) }
    }

    /// Writes all of `bytes` at the descriptor's offset (retrying short writes and EINTR).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(MailsiftError) {
        var written = 0
        if let e = StorageFaults.check(.write, path) {
            // A short write, then the error: half the bytes reach the file.
            let half = bytes.count / 2
            _ = bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress, half) }
            errno = e
            throw error("write", path)
        }
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + written }, bytes.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            written += n
        }
    }

    /// Atomically replaces `to` with `from`, then makes the rename durable.
    public static func rename(_ from: String, _ to: String) throws(MailsiftError) {
        guard !StorageFaults.fail(.rename, to), Glibc.rename(from, to) == 0 else { throw error("rename to \(to)", from) }
        try syncDirectory((to as NSString).deletingLastPathComponent)
    }

    public static func syncDirectory(_ path: String) throws(MailsiftError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open directory", path) }
        defer { close(fd) }
        guard !StorageFaults.fail(.syncDirectory, path), fsync(fd) == 0 else { throw error("fsync directory", path) }
    }

    public static func makeDirectory(_ path: String) throws(MailsiftError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw MailsiftError(.io, "cannot create directory \(path)", cause: Underlying("\(error)"))
        }
    }

    public static func error(_ what: String, _ path: String) -> MailsiftError {
        MailsiftError(.io, "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// An exclusive advisory lock (flock) on a file: one writer per user index. Released on
/// `unlock` or when the process dies, so a crashed writer never leaves a stale lock.
public final class WriteLock: @unchecked Sendable {
    // @unchecked: the descriptor is only closed once, in unlock() or deinit, guarded by `closed`.
    private var fd: Int32
    private var closed = false
    public let path: String

    public init(path: String) throws(MailsiftError) {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFiles.error("open lock", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(fd)
            if busy { throw MailsiftError(.limitExceeded, "another writer is using this index (\(path) is locked)") }
            throw DurableFiles.error("lock", path)
        }
    }

    public func unlock() {
        guard !closed else { return }
        closed = true
        flock(fd, LOCK_UN)
        close(fd)
    }

    deinit { unlock() }
}
