import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MailsiftCore
import MIME

/// Reads messages from files and directories: single-message files (.eml, Maildir entries,
/// one file per message trees), mbox files, and directories of any of those, recursively.
public enum MessageFiles {
    /// Names that are never mail in a mail store or corpus.
    static func isIgnored(_ name: String) -> Bool {
        if name.hasPrefix(".") { return true }
        let lower = name.lowercased()
        if lower.hasPrefix("dovecot") || lower == "maildirfolder" || lower == "subscriptions" || lower.hasPrefix("license")
            || lower.hasPrefix("copying") || lower.hasPrefix("readme") { return true }
        for ext in [".md", ".tsv", ".label", ".json", ".py", ".zst", ".gz", ".tar", ".zip", ".sh", ".c", ".h", ".swift"] where lower.hasSuffix(ext) {
            return true
        }
        return false
    }

    /// Every file under `paths` (files as given; directories recursively, sorted, ignored names skipped).
    public static func files(under paths: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                out.append(path)  // reported as unreadable by the reader
                continue
            }
            if !isDir.boolValue {
                out.append(path)
                continue
            }
            var found: [String] = []
            walk(path.hasSuffix("/") ? String(path.dropLast()) : path, into: &found)
            out += found.sorted()
        }
        return out
    }

    /// Appends the mail files under `dir`, recursively. readdir's entry types, so no stat per
    /// file (Foundation's enumerator built an attribute dictionary for each: 8% of a bulk run);
    /// symbolic links are not followed (as before: neither file nor directory).
    static func walk(_ dir: String, into found: inout [String]) {
        guard let d = opendir(dir) else { return }
        defer { closedir(d) }
        // A Maildir's tmp/ holds deliveries in progress, not mail.
        var isMaildir: Bool?
        while let entry = readdir(d) {
            let name = directoryEntryName(entry)
            if name == "." || name == ".." { continue }
            let full = dir + "/" + name
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : (st.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : UInt8(DT_LNK)
            }
            if type == UInt8(DT_DIR) {
                // Maildir++ folders are dot-directories (.Sent, .Lists.btrfs): walk them;
                // skip version-control and tool directories.
                if [".git", ".hg", ".svn", ".cache"].contains(name) || (!name.hasPrefix(".") && isIgnored(name)) { continue }
                if name == "tmp" {
                    if isMaildir == nil { isMaildir = access(dir + "/cur", F_OK) == 0 }
                    if isMaildir == true { continue }
                }
                walk(full, into: &found)
            } else if type == UInt8(DT_REG), !isIgnored(name) {
                found.append(full)
            }
        }
    }

    /// Reads one file: an mbox gives its messages, any other file one message.
    public static func read(_ path: String, maxBytes: Int = 1 << 30) throws(MailsiftError) -> [SourceMessage] {
        try readWithMTime(path, maxBytes: maxBytes).messages
    }

    /// `read`, also giving the file's modification time (seconds) from the same fstat. A file
    /// that is one message is read up to `maxMessageBytes` + 1 bytes (the parser looks at no
    /// more, and notes that there was more): a 1 GB message costs no 1 GB of memory. An mbox
    /// is read whole; one larger than `maxBytes` is refused.
    public static func readWithMTime(_ path: String, maxBytes: Int = 1 << 30,
                                     maxMessageBytes: Int = ParserLimits().maxMessageBytes) throws(MailsiftError) -> (messages: [SourceMessage], mtime: Int64) {
        // Plain POSIX I/O: one open, one fstat, one read for most files (bulk jobs read
        // millions of small files; Foundation's attribute dictionaries cost more than parsing).
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MailsiftError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw MailsiftError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw MailsiftError(.invalidInput, "\(path) is not a regular file") }
        let size = Int(st.st_size)
        var bytes = try readUpTo(fd, min(size, max(0, maxMessageBytes) + 1), path: path)
        if bytes.count < size, Mbox.looksLikeMbox(bytes) {
            if size > maxBytes { throw MailsiftError(.limitExceeded, "\(path) is an mbox larger than \(maxBytes) bytes") }
            bytes += try readUpTo(fd, size - bytes.count, path: path)
        }
        let mtime = Int64(st.st_mtim.tv_sec)
        if Mbox.looksLikeMbox(bytes) {
            let messages = Mbox.split(bytes, origin: path)
            if messages.count > 1 { return (messages, mtime) }
            // A single message with a leading "From " line (corpus files often have one).
            var single = messages
            // (its Maildir flags still come from the file name).
            if single.count == 1 {
                single[0].origin = path
                single[0].internalDate = single[0].internalDate ?? mtime
                single[0].maildirFlags = maildirFlags(path)
            }
            return (single, mtime)
        }
        // (A message cut at the read limit keeps the file's size: IMAP LARGER sees 1 GB.)
        let stored: Int64? = bytes.count < size ? Int64(size) : nil
        return ([SourceMessage(bytes: bytes, origin: path, internalDate: mtime, maildirFlags: maildirFlags(path), storedSize: stored)], mtime)
    }

    /// Up to `count` bytes from the descriptor's offset (fewer if the file shrank meanwhile).
    static func readUpTo(_ fd: Int32, _ count: Int, path: String) throws(MailsiftError) -> [UInt8] {
        // Straight into uninitialized storage (no zero fill: bulk jobs read every byte of
        // millions of files once).
        // (Never a zero capacity: that would write into the empty-array singleton.)
        guard count > 0 else { return [] }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            var got = 0
            while got < count {
                let n = Glibc.read(fd, buf.baseAddress.map { $0 + got }, count - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }  // file shrank while reading
                got += n
            }
            initialized = failure == 0 ? got : 0
        }
        if failure != 0 { throw MailsiftError(.io, "cannot read \(path): \(String(cString: strerror(failure)))") }
        return bytes
    }

    /// Flags from a Maildir file name: `1234.M5P6.host:2,FRS` → F, R, S.
    public static func maildirFlags(_ path: String) -> [Character] {
        // Bytes, from the end: the info part follows the last ":2," of the last component.
        let u = Array(path.utf8)
        var i = u.count - 3
        while i >= 0 {
            if u[i] == UInt8(ascii: "/") { return [] }
            if u[i] == UInt8(ascii: ":"), u[i + 1] == UInt8(ascii: "2"), u[i + 2] == UInt8(ascii: ",") {
                return u[(i + 3)...].filter { $0 >= 0x41 && $0 <= 0x5A }.map { Character(Unicode.Scalar($0)) }
            }
            i -= 1
        }
        return []
    }
}
