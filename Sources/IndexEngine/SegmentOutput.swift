import Foundation
import IndexFormat
import MailsiftCore
#if canImport(Glibc)
import Glibc
#endif

/// The files of a segment being written, one per kind, filled a piece at a time as the codecs
/// `drain` their buffers (so a flush or merge holds about `chunkSize` per file, not the
/// segment), then fsync'd. A segment that fails midway is removed. In memory (`memory:`), the
/// files are byte arrays instead (pending segments: no file to create, map and unlink).
final class SegmentOutput {
    /// Codecs are drained once they hold this much.
    static let chunkSize = 1 << 20

    let name: String
    /// The segment's directory (nil in memory).
    let directory: String?
    private let paths: [String]
    private var fds: [Int32] = []
    private(set) var sizes: [UInt64]
    /// Fsyncs running on their own threads (`syncInBackground`).
    private var backgroundSyncs: [(kinds: [Int], pass: BackgroundPass)] = []
    /// Whether `finish` fsyncs (not for pending segments, which the queue can rebuild).
    private let durable: Bool
    /// The segment's path without a kind (errors, fault injection).
    var label: String { directory.map { $0 + "/" + name } ?? "pending:" + name }
    /// The files' bytes, when in memory.
    private(set) var buffers: [[UInt8]]?
    /// Writes may come from two threads at once (a merge writes stored text and values on
    /// one while the terms and postings go on another), each to its own files.
    private let writeLock = NSLock()
    /// Whether the files are byte arrays (a constant: read by writing threads without the lock).
    private let inMemory: Bool

    /// A segment built in memory: `buffers` holds each file's bytes after `finish`.
    init(memory name: String) {
        self.name = name
        directory = nil
        durable = false
        inMemory = true
        paths = SegmentFiles.kinds.map { "pending:\(name).\($0)" }
        sizes = [UInt64](repeating: 0, count: paths.count)
        buffers = [[UInt8]](repeating: [], count: paths.count)
    }

    init(directory: String, name: String, durable: Bool = true) throws(MailsiftError) {
        self.name = name
        self.directory = directory
        self.durable = durable
        inMemory = false
        paths = SegmentFiles.kinds.map { SegmentFiles.path(directory, name, $0) }
        sizes = [UInt64](repeating: 0, count: paths.count)
        for path in paths {
            let fd = StorageFaults.fail(.create, path) ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let e = DurableFiles.error("create", path)
                abandon()
                throw e
            }
            fds.append(fd)
        }
    }

    deinit { closeAll() }

    /// Appends to file `kind` (an index into `SegmentFiles.kinds`).
    func write(_ kind: Int, _ bytes: [UInt8]) throws(MailsiftError) {
        guard !bytes.isEmpty else { return }
        // Each file has one writing thread: the write itself needs no lock, only the shared
        // arrays do (so two threads' writes to their own files overlap).
        if !inMemory {
            try DurableFiles.writeAll(fds[kind], bytes, path: paths[kind])
            writeLock.lock()
            sizes[kind] += UInt64(bytes.count)
            writeLock.unlock()
            return
        }
        writeLock.lock()
        defer { writeLock.unlock() }
        buffers?[kind] += bytes
        sizes[kind] += UInt64(bytes.count)
    }

    /// Writes out what the term and postings codecs hold once it reaches `chunkSize`.
    func drainIfFull(_ postings: inout PostingsWriter, _ dictionary: inout TermDictionaryWriter) throws(MailsiftError) {
        if postings.bufferedBytes >= Self.chunkSize {
            let (d, p) = postings.drain()
            try write(1, d)
            try write(2, p)
        }
        if dictionary.bufferedBytes >= Self.chunkSize { try write(0, dictionary.drain()) }
    }

    /// Writes the ends of the term and postings files.
    func finish(_ postings: consuming PostingsWriter, _ dictionary: inout TermDictionaryWriter) throws(MailsiftError) {
        let (docs, positions) = postings.finish()
        try write(0, dictionary.finish())
        try write(1, docs)
        try write(2, positions)
    }

    /// Fsyncs files of `kinds`, complete before the others, on a thread of its own: the
    /// caller goes on computing while the disk catches up (a flush's helper has written the
    /// stored text and values and joins on the terms). `finish` waits for it, rethrows its
    /// error and skips those files; closing waits for it too.
    func syncInBackground(_ kinds: [Int]) {
        guard durable, !inMemory else { return }
        let pass = BackgroundPass(Unchecked(kinds.map { (fds[$0], paths[$0]) }), label: label, inline: true) { files throws in
            for (fd, path) in files.value where StorageFaults.fail(.fsync, path) || fsync(fd) != 0 {
                throw DurableFiles.error("fsync", path)
            }
        }
        writeLock.lock()
        backgroundSyncs.append((kinds, pass))
        writeLock.unlock()
    }

    /// Waits for the background fsyncs; returns the files they synced and their first error.
    private func joinBackgroundSyncs() -> (kinds: Set<Int>, error: MailsiftError?) {
        writeLock.lock()
        let syncs = backgroundSyncs
        backgroundSyncs = []
        writeLock.unlock()
        var kinds = Set<Int>()
        var error: MailsiftError?
        for (synced, pass) in syncs {
            do { try pass.wait() } catch let e { error = error ?? (e as? MailsiftError ?? MailsiftError(.io, "fsync: \(e)")) }
            kinds.formUnion(synced)
        }
        return (kinds, error)
    }

    /// Fsyncs and closes every file (the directory is synced by the commit).
    func finish() throws(MailsiftError) {
        let (synced, error) = joinBackgroundSyncs()
        if let error { throw error }
        for (kind, (fd, path)) in zip(fds, paths).enumerated() where durable && !synced.contains(kind) {
            if StorageFaults.fail(.fsync, path) || fsync(fd) != 0 { throw DurableFiles.error("fsync", path) }
        }
        closeAll()
    }

    /// Writes the segment with `body`, then finishes it; on any error, abandons whatever was
    /// written and rethrows (flushes, merges and in-memory segments all write this way).
    func complete<T>(_ body: () throws(MailsiftError) -> T) throws(MailsiftError) -> T {
        do {
            let value = try body()
            try finish()
            return value
        } catch {
            abandon()
            throw error
        }
    }

    /// Closes and removes whatever was written.
    func abandon() {
        closeAll()
        if buffers != nil {
            buffers = nil
            return
        }
        for path in paths { unlink(path) }
    }

    private func closeAll() {
        // Never close a file a background fsync is still syncing.
        _ = joinBackgroundSyncs()
        for fd in fds { close(fd) }
        fds = []
    }
}

