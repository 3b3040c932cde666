import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MailsiftCore

/// The users of a mail server's storage and where each one's mail is.
///
/// - `dovecot`: what Dovecot's common `mail_location`s leave on disk. Under ROOT, each
///   directory is a user whose mail is `<dir>/Maildir` (home directories, `maildir:~/Maildir`),
///   or `<dir>` itself when it holds `cur/` (`maildir:/var/vmail/%u`), or `<dir>/mail` (mbox,
///   `mbox:~/mail`); a directory holding none of those but user directories is a domain
///   (`/var/vmail/%d/%n`), whose users are named `user@domain`.
/// - `flat`: each directory under ROOT is a user, and everything under it is that user's mail.
public enum MailServerLayout: String, Sendable, CaseIterable {
    case dovecot
    case flat

    public struct User: Sendable, Hashable {
        /// The user name the index is kept under.
        public var name: String
        /// The directory (or file) holding the user's mail.
        public var mail: String
    }

    /// Users under `root`, sorted by name. Names that are not valid user names (see
    /// `UserDirectory.validate`) never come out of here: directory names are checked.
    public func users(under root: String) -> [User] {
        var out: [User] = []
        for name in Self.subdirectories(root) {
            let dir = root + "/" + name
            switch self {
            case .flat:
                out.append(User(name: name, mail: dir))
            case .dovecot:
                if let mail = Self.dovecotMail(dir) {
                    out.append(User(name: name, mail: mail))
                } else {
                    // A domain directory: its subdirectories are users (user@domain).
                    for sub in Self.subdirectories(dir) {
                        if let mail = Self.dovecotMail(dir + "/" + sub) { out.append(User(name: sub + "@" + name, mail: mail)) }
                    }
                }
            }
        }
        return out.sorted { $0.name < $1.name }
    }

    /// Where a Dovecot user directory keeps its mail, or nil when it does not look like one.
    static func dovecotMail(_ dir: String) -> String? {
        if isDirectory(dir + "/Maildir") { return dir + "/Maildir" }
        if isDirectory(dir + "/cur") || isDirectory(dir + "/new") { return dir }
        if isDirectory(dir + "/mail") { return dir + "/mail" }
        return nil
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Visible subdirectories (not `.x`, which are Maildir++ folders or tool state), sorted.
    static func subdirectories(_ dir: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { !$0.hasPrefix(".") && isDirectory(dir + "/" + $0) }.sorted()
    }
}

/// A Maildir folder's `dovecot-uidlist`: the UIDs Dovecot gave its messages, so an index
/// built from the files answers with the UIDs IMAP clients know.
///
/// Version 3 (Dovecot 1.0 and later): a header `3 V<uidvalidity> N<nextuid> G<guid> ...`,
/// then per message `<uid> [<key><value> ...] :<base name>`. Version 1: a header
/// `1 <uidvalidity> <nextuid>` and lines `<uid> <base name>`. The base name is the file
/// name before the `:2,` flags (which change as flags do). Lines that do not parse are
/// skipped: a message without a UID is simply numbered after the known ones.
public struct DovecotUIDList: Sendable {
    public var uidValidity: Int64?
    public var nextUID: Int64?
    public var guid: String?
    /// Base file name → UID.
    public var uids: [String: Int64] = [:]

    public init() {}

    /// The list of a Maildir folder (the directory holding cur/new), or nil without one.
    public static func load(folder: String) -> DovecotUIDList? {
        guard let data = FileManager.default.contents(atPath: folder + "/dovecot-uidlist"), data.count <= 256 << 20 else { return nil }
        return parse(String(decoding: data, as: UTF8.self))
    }

    public static func parse(_ text: String) -> DovecotUIDList {
        var list = DovecotUIDList()
        var lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })[...]
        guard let header = lines.popFirst() else { return list }
        let fields = header.split(separator: " ")
        let version = fields.first.flatMap { Int($0) } ?? 0
        if version == 1, fields.count >= 3 {
            list.uidValidity = Int64(fields[1])
            list.nextUID = Int64(fields[2])
        } else {
            for f in fields.dropFirst() {
                switch f.first {
                case "V": list.uidValidity = Int64(f.dropFirst())
                case "N": list.nextUID = Int64(f.dropFirst())
                case "G": list.guid = String(f.dropFirst())
                default: break
                }
            }
        }
        for line in lines {
            guard let space = line.firstIndex(of: " "), let uid = Int64(line[..<space]), uid > 0, uid <= Int64(UInt32.max) else { continue }
            let rest = line[line.index(after: space)...]
            let name: Substring
            if version == 1 {
                name = rest
            } else if let colon = rest.firstIndex(of: ":") {
                name = rest[rest.index(after: colon)...]
            } else {
                continue
            }
            guard !name.isEmpty else { continue }
            list.uids[baseName(String(name))] = uid
        }
        return list
    }

    /// A Maildir file name without its `:2,` info part (Dovecot's uidlist key).
    public static func baseName(_ fileName: String) -> String {
        if let colon = fileName.utf8.firstIndex(of: 0x3A) { return String(fileName[..<colon]) }
        return fileName
    }
}
