import Catalog
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IndexEngine
import MailsiftCore

/// Moving one user's index between servers as a single file (`IndexEngine.UserArchive`).
public enum UserTransfer {
    /// Writes `user`'s index to `path`: a consistent copy of the catalog (SQLite's online
    /// backup) and the files of the last commit, taken under the user's write lock (so no
    /// writer changes them meanwhile; a running daemon holding the user makes this fail as
    /// busy). Returns the bytes written.
    public static func export(dataRoot: String, user: String, to path: String) throws(MailsiftError) -> Int {
        let dir = try UserDirectory(dataRoot: dataRoot, user: user)
        guard dir.exists else { throw MailsiftError(.notFound, "no index for user \(user) under \(dataRoot)") }
        let lock = try WriteLock(path: dir.lockPath)
        defer { lock.unlock() }
        let reader = try IndexReader(directory: dir)
        let copy = dataRoot + "/.export-\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1000)).sqlite"
        defer { unlink(copy) }
        try Catalog(path: dir.catalogPath).backup(to: copy)
        var files: [(String, String)] = [("catalog.sqlite", copy)]
        files.append(("segments/" + Manifest.fileName(reader.manifest.generation), dir.segmentsPath + "/" + Manifest.fileName(reader.manifest.generation)))
        for entry in reader.manifest.segments {
            for kind in SegmentFiles.kinds { files.append(("segments/\(entry.name).\(kind)", SegmentFiles.path(dir.segmentsPath, entry.name, kind))) }
            if entry.deletionsGeneration > 0 {
                let name = "\(entry.name).del-\(entry.deletionsGeneration)"
                files.append(("segments/" + name, dir.segmentsPath + "/" + name))
            }
        }
        return try UserArchive.write(user: user, files: files, to: path)
    }

    /// Reads an archive into `dataRoot` as `user` (default: the name it was exported under).
    /// Every checksum is checked and the index opened before it is moved into place; an
    /// existing user is refused unless `replace`, and then swapped out under its write lock.
    /// Returns the user name.
    public static func importArchive(_ path: String, dataRoot: String, as name: String? = nil, replace: Bool = false) throws(MailsiftError) -> String {
        let staging = dataRoot + "/.import-\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1000))"
        do { try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw MailsiftError(.io, "cannot create \(staging)", cause: Underlying("\(error)"))
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let archived = try UserArchive.read(path, into: staging + "/raw")
        let user = name ?? archived
        let dir = try UserDirectory(dataRoot: dataRoot, user: user)
        // Staged as the user's directory under the staging root, so it opens as an index.
        let probe = try UserDirectory(dataRoot: staging, user: user)
        do {
            try FileManager.default.createDirectory(atPath: (probe.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch { throw MailsiftError(.io, "cannot create \(probe.path)", cause: Underlying("\(error)")) }
        guard rename(staging + "/raw", probe.path) == 0 else { throw DurableFiles.error("rename", staging + "/raw") }
        // The copy must open and agree with itself before it replaces anything.
        do {
            let catalog = try Catalog(path: probe.catalogPath)
            try catalog.setMeta("user", user)
            guard try IndexAgreement(catalog: catalog, reader: try IndexReader(directory: probe)).agrees else {
                throw MailsiftError(.corrupt, "\(path): its catalog and index disagree")
            }
        }
        let parent = (dir.path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw MailsiftError(.io, "cannot create \(parent)", cause: Underlying("\(error)"))
        }
        var lock: WriteLock?
        var trash: String?
        if FileManager.default.fileExists(atPath: dir.path) {
            guard replace else { throw MailsiftError(.invalidInput, "user \(user) already has an index here (give --replace to overwrite it)") }
            lock = try WriteLock(path: dir.lockPath)
            let t = dataRoot + "/.import-trash-\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1000))"
            guard rename(dir.path, t) == 0 else { throw DurableFiles.error("rename", dir.path) }
            trash = t
        }
        guard rename(probe.path, dir.path) == 0 else {
            let e = DurableFiles.error("rename", probe.path)
            if let trash { rename(trash, dir.path) }
            throw e
        }
        try DurableFiles.syncDirectory(parent)
        lock?.unlock()
        if let trash { try? FileManager.default.removeItem(atPath: trash) }
        return user
    }
}
