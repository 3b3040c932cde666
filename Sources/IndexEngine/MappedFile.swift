import MailsiftCore
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file, valid for the object's lifetime. Readers share
/// one map per file across threads; the kernel pages it in on demand.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: `bytes` is immutable after init and the mapping is read-only; munmap runs
    // once, in deinit, when no reference (and so no reader) remains.
    public let bytes: UnsafeRawBufferPointer
    public let path: String
    /// Whether `bytes` is a heap copy (`init(copying:)`) rather than a mapping.
    private let owned: Bool

    /// Bytes held in memory under a file's interface (a pending segment built in memory).
    public init(copying source: [UInt8], path: String) {
        self.path = path
        owned = true
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, source.count), alignment: 16)
        source.withUnsafeBytes { if let b = $0.baseAddress, let d = p.baseAddress { d.copyMemory(from: b, byteCount: source.count) } }
        bytes = UnsafeRawBufferPointer(start: p.baseAddress, count: source.count)
    }

    public init(path: String) throws(MailsiftError) {
        self.path = path
        owned = false
        let fd = StorageFaults.fail(.read, path) ? -1 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableFiles.error("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DurableFiles.error("stat", path) }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw DurableFiles.error("mmap", path)
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if owned {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
