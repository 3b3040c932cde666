#if canImport(Glibc)
import Glibc
#endif

/// The name of a `readdir` entry, read in place up to its NUL. A dirent is only as long as its
/// name (`d_reclen`), so copying the whole `d_name` array can read past the end of readdir's
/// buffer (AddressSanitizer reported it).
public func directoryEntryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
    String(cString: UnsafeRawPointer(entry).advanced(by: directoryEntryNameOffset).assumingMemoryBound(to: CChar.self))
}

private let directoryEntryNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
