import IndexFormat
import MailsiftCore
#if canImport(Glibc)
import Glibc
#endif

/// One user's index as a single file, for moving users between servers (`mailsift export`,
/// `mailsift import`). Layout (docs/format.md, "User archive"), all integers little-endian:
///
/// ```
/// magic "MSEXPORT" | version u32 (1) | user name length u16 | user name (UTF-8)
/// per file:  1 u8 | path length u16 | path (UTF-8, relative to the user directory)
///            | size u64 | bytes | CRC-32C u32 of the bytes
/// end:       0 u8 | file count u32 | CRC-32C u32 of every byte before it
/// ```
///
/// Paths are `catalog.sqlite` or `segments/<name>` (one level, no `..`): a reader refuses
/// anything else, so an archive can never write outside the user's directory.
public enum UserArchive {
    public static let magic = Array("MSEXPORT".utf8)
    public static let version: UInt32 = 1
    static let chunk = 1 << 20

    /// Writes `files` (path in the archive, file to read) as an archive for `user` at `path`
    /// (created 0600, fsync'd). Returns the bytes written.
    @discardableResult
    public static func write(user: String, files: [(name: String, source: String)], to path: String) throws(MailsiftError) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFiles.error("create", path) }
        defer { close(fd) }
        var total: UInt32 = 0
        var written = 0
        func put(_ bytes: [UInt8]) throws(MailsiftError) {
            try DurableFiles.writeAll(fd, bytes, path: path)
            total = CRC32C.checksum(bytes, continuing: total)
            written += bytes.count
        }
        var head = ByteWriter()
        head.bytes += magic
        head.u32(version)
        let name = Array(user.utf8)
        guard name.count <= Int(UInt16.max) else { throw MailsiftError(.invalidInput, "user name too long") }
        head.u16(UInt16(name.count))
        head.bytes += name
        try put(head.bytes)
        for (entry, source) in files {
            try validate(entry)
            let src = open(source, O_RDONLY | O_CLOEXEC)
            guard src >= 0 else { throw DurableFiles.error("open", source) }
            defer { close(src) }
            var st = stat()
            guard fstat(src, &st) == 0 else { throw DurableFiles.error("stat", source) }
            var e = ByteWriter()
            e.u8(1)
            let p = Array(entry.utf8)
            e.u16(UInt16(p.count))
            e.bytes += p
            e.u64(UInt64(st.st_size))
            try put(e.bytes)
            var crc: UInt32 = 0
            var left = Int(st.st_size)
            var buffer = [UInt8](repeating: 0, count: chunk)
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(src, $0.baseAddress, min(chunk, left)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw MailsiftError(.io, "\(source) ended \(left) bytes early (changed while exporting?)") }
                let piece = Array(buffer[0..<n])
                try put(piece)
                crc = CRC32C.checksum(piece, continuing: crc)
                left -= n
            }
            var c = ByteWriter()
            c.u32(crc)
            try put(c.bytes)
        }
        var end = ByteWriter()
        end.u8(0)
        end.u32(UInt32(files.count))
        try put(end.bytes)
        var c = ByteWriter()
        c.u32(total)
        try DurableFiles.writeAll(fd, c.bytes, path: path)
        guard fsync(fd) == 0 else { throw DurableFiles.error("fsync", path) }
        return written + 4
    }

    /// Reads an archive into `directory` (which must not exist; created 0700), checking every
    /// checksum; a failure removes what was written. Returns the user name it holds.
    public static func read(_ path: String, into directory: String) throws(MailsiftError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableFiles.error("open", path) }
        defer { close(fd) }
        var total: UInt32 = 0
        var offset = 0
        func take(_ n: Int, checksum: Bool = true) throws(MailsiftError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress.map { $0 + got }, n - got) }
                if r < 0, errno == EINTR { continue }
                guard r > 0 else { throw MailsiftError(.corrupt, "\(path): ends at byte \(offset + got), inside a record") }
                got += r
            }
            if checksum { total = CRC32C.checksum(out, continuing: total) }
            offset += n
            return out
        }
        func u(_ bytes: [UInt8]) -> UInt64 { bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } }
        guard try take(8) == magic else { throw MailsiftError(.invalidInput, "\(path) is not a Mailsift user archive") }
        let v = UInt32(u(try take(4)))
        guard v == version else { throw MailsiftError(.formatTooNew, "\(path): archive version \(v) (this build reads \(version))") }
        let nameLength = Int(u(try take(2)))
        let user = String(decoding: try take(nameLength), as: UTF8.self)
        try DurableFiles.makeDirectory(directory)
        var done = false
        defer { if !done { removeTree(directory) } }
        try DurableFiles.makeDirectory(directory + "/segments")
        var count = 0
        while true {
            let kind = try take(1)[0]
            if kind == 0 { break }
            guard kind == 1 else { throw MailsiftError(.corrupt, "\(path): unknown record kind \(kind) at byte \(offset - 1)") }
            let name = String(decoding: try take(Int(u(try take(2)))), as: UTF8.self)
            try validate(name)
            let size = u(try take(8))
            let target = directory + "/" + name
            let out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard out >= 0 else { throw DurableFiles.error("create", target) }
            defer { close(out) }
            var crc: UInt32 = 0
            var left = size
            while left > 0 {
                let piece = try take(Int(min(UInt64(chunk), left)))
                crc = CRC32C.checksum(piece, continuing: crc)
                try DurableFiles.writeAll(out, piece, path: target)
                left -= UInt64(piece.count)
            }
            guard UInt32(u(try take(4))) == crc else { throw MailsiftError(.corrupt, "\(path): \(name) fails its checksum") }
            guard fsync(out) == 0 else { throw DurableFiles.error("fsync", target) }
            count += 1
        }
        guard Int(u(try take(4))) == count else { throw MailsiftError(.corrupt, "\(path): file count does not match") }
        let expected = total
        guard UInt32(u(try take(4, checksum: false))) == expected else { throw MailsiftError(.corrupt, "\(path): archive checksum mismatch") }
        try DurableFiles.syncDirectory(directory + "/segments")
        try DurableFiles.syncDirectory(directory)
        done = true
        return user
    }

    /// Archive paths: the catalog, or one file directly under segments/.
    static func validate(_ name: String) throws(MailsiftError) {
        if name == "catalog.sqlite" { return }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "segments", !parts[1].isEmpty, parts[1] != ".", parts[1] != "..",
              parts[1].utf8.count <= 255, !parts[1].contains("\0") else {
            throw MailsiftError(.invalidInput, "archive path \"\(name)\" is not a user index file")
        }
    }

    static func removeTree(_ path: String) {
        if let names = try? FileManagerShim.contents(path) {
            for n in names { removeTree(path + "/" + n) }
        }
        unlink(path)
        rmdir(path)
    }
}

/// Directory listing without Foundation (IndexEngine stays Foundation-light on this path).
enum FileManagerShim {
    static func contents(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = directoryEntryName(e)
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
