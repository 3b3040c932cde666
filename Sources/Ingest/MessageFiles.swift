import Foundation
import MailsiftCore

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
            guard let walker = fm.enumerator(atPath: path) else { continue }
            var found: [String] = []
            while let rel = walker.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if isIgnored(name) {
                    if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { walker.skipDescendants() }
                    continue
                }
                if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular {
                    found.append(path.hasSuffix("/") ? path + rel : path + "/" + rel)
                }
            }
            out += found.sorted()
        }
        return out
    }

    /// Reads one file: an mbox gives its messages, any other file one message.
    public static func read(_ path: String, maxBytes: Int = 1 << 30) throws(MailsiftError) -> [SourceMessage] {
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            bytes = Array(try handle.read(upToCount: maxBytes) ?? Data())
        } catch {
            throw MailsiftError(.io, "cannot read \(path)", cause: Underlying(error.localizedDescription))
        }
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        let mtime = (attrs?[.modificationDate] as? Date).map { Int64($0.timeIntervalSince1970) }
        if Mbox.looksLikeMbox(bytes) {
            let messages = Mbox.split(bytes, origin: path)
            if messages.count > 1 { return messages }
            // A single message with a leading "From " line (corpus files often have one).
            var single = messages
            if single.count == 1 { single[0].origin = path; single[0].internalDate = single[0].internalDate ?? mtime }
            return single
        }
        return [SourceMessage(bytes: bytes, origin: path, internalDate: mtime, maildirFlags: maildirFlags(path))]
    }

    /// Flags from a Maildir file name: `1234.M5P6.host:2,FRS` → F, R, S.
    public static func maildirFlags(_ path: String) -> [Character] {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let r = name.range(of: ":2,", options: .backwards) else { return [] }
        return name[r.upperBound...].filter { $0.isLetter && $0.isUppercase }
    }
}
