#if canImport(Glibc)
import Glibc
#endif

/// One header field as it appeared, unfolded but not yet decoded.
struct RawHeaderField {
    /// Field name as written (case preserved).
    var name: String
    /// The fields the parser interprets, recognized once by their bytes.
    var kind: FieldKind
    /// Unfolded value bytes: line breaks of folding removed, the folding whitespace kept.
    var value: [UInt8]
}

/// Splits the header section of an entity into fields.
///
/// Accepts CRLF, bare LF and a mix; folding; whitespace before the colon (obsolete syntax);
/// raw 8-bit bytes. A line that is neither a field nor a continuation ends the header section
/// (a message with no blank line before the body), and is reported as a defect.
struct HeaderBlockParser {
    struct Result {
        var fields: [RawHeaderField]
        /// Offset of the first body byte.
        var bodyStart: Int
        var defects: [DefectKind]
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, limits: ParserLimits, skipMboxFromLine: Bool) -> Result {
        var fields: [RawHeaderField] = []
        var defects: [DefectKind] = []
        var pos = range.lowerBound
        let end = range.upperBound
        var headerBytes = 0
        var current: RawHeaderField?
        var stopCollecting = false

        @inline(__always) func lineEnd(from start: Int) -> (contentEnd: Int, next: Int) {
            // The LF by memchr (header lines run to a hundred bytes and more: Received, DKIM).
            var i = end
            if start < end, let base = bytes.baseAddress, let hit = memchr(base + start, 0x0A, end - start) {
                i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
            var contentEnd = i
            if contentEnd > start, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            return (contentEnd, i < end ? i + 1 : end)
        }

        func flush() {
            if let f = current {
                if fields.count < limits.maxHeaderFields {
                    fields.append(f)
                } else if !defects.contains(.tooManyHeaderFields) {
                    defects.append(.tooManyHeaderFields)
                }
            }
            current = nil
        }

        if skipMboxFromLine, end - pos >= 5, bytes[pos] == 0x46, bytes[pos + 1] == 0x72, bytes[pos + 2] == 0x6F,
           bytes[pos + 3] == 0x6D, bytes[pos + 4] == 0x20 {
            // An mbox "From " separator left at the top of a single-message file.
            pos = lineEnd(from: pos).next
        }

        while pos < end {
            let (contentEnd, next) = lineEnd(from: pos)
            if contentEnd == pos {
                // Blank line: end of the header section.
                flush()
                return Result(fields: fields, bodyStart: next, defects: defects)
            }
            let first = bytes[pos]
            headerBytes += next - pos
            if headerBytes > limits.maxHeaderBytes, !stopCollecting {
                stopCollecting = true
                defects.append(.headerTooLarge)
                flush()
            }
            if first == 0x20 || first == 0x09 {
                // Continuation of the previous field.
                if !stopCollecting, current != nil {
                    current?.value.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pos..<contentEnd]))
                } else if current == nil, fields.isEmpty, !stopCollecting {
                    // Leading whitespace before any field: ignore the line but note it.
                    if !defects.contains(.malformedHeaderLine) { defects.append(.malformedHeaderLine) }
                }
                pos = next
                continue
            }
            // A field name: printable ASCII up to the colon, optionally followed by blanks (obsolete).
            var i = pos
            while i < contentEnd {
                let b = bytes[i]
                if b == 0x3A || b <= 0x20 || b >= 0x7F { break }
                i += 1
            }
            let nameEnd = i
            while i < contentEnd, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
            if i < contentEnd, bytes[i] == 0x3A, nameEnd > pos {
                flush()
                if !stopCollecting {
                    let nameBytes = UnsafeBufferPointer(rebasing: bytes[pos..<nameEnd])
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    var valueStart = i + 1
                    // Drop the single conventional space after the colon; keep the rest as written.
                    while valueStart < contentEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
                    current = RawHeaderField(name: name, kind: FieldKind(nameBytes),
                                             value: Array(UnsafeBufferPointer(rebasing: bytes[valueStart..<contentEnd])))
                }
                pos = next
                continue
            }
            // Not a header line. If it is an mbox ">From " or "From " inside the header, skip it;
            // otherwise the header section ended without its blank line.
            if isFromLine(bytes, pos, contentEnd) {
                if !defects.contains(.malformedHeaderLine) { defects.append(.malformedHeaderLine) }
                pos = next
                continue
            }
            flush()
            if fields.isEmpty {
                defects.append(.missingHeaders)
            } else {
                defects.append(.missingHeaderBodySeparator)
            }
            return Result(fields: fields, bodyStart: pos, defects: defects)
        }
        flush()
        return Result(fields: fields, bodyStart: end, defects: defects)
    }

    private static func isFromLine(_ bytes: UnsafeBufferPointer<UInt8>, _ pos: Int, _ end: Int) -> Bool {
        var i = pos
        while i < end, bytes[i] == 0x3E { i += 1 }
        return end - i >= 5 && bytes[i] == 0x46 && bytes[i + 1] == 0x72 && bytes[i + 2] == 0x6F && bytes[i + 3] == 0x6D && bytes[i + 4] == 0x20
    }
}

/// Header fields with a meaning to the parser; everything else is `.other`.
enum FieldKind: UInt8 {
    case from, sender, replyTo, to, cc, bcc, resentFrom, subject, date, messageID, inReplyTo, references, listID
    case contentType, contentTransferEncoding, contentDisposition, other

    static let names: [(String, FieldKind)] = [
        ("from", .from), ("sender", .sender), ("reply-to", .replyTo), ("to", .to), ("cc", .cc), ("bcc", .bcc),
        ("resent-from", .resentFrom), ("subject", .subject), ("date", .date), ("message-id", .messageID),
        ("in-reply-to", .inReplyTo), ("references", .references), ("list-id", .listID), ("content-type", .contentType),
        ("content-transfer-encoding", .contentTransferEncoding), ("content-disposition", .contentDisposition),
    ]
    static let byLength: [[([UInt8], FieldKind)]] = {
        var table = [[([UInt8], FieldKind)]](repeating: [], count: 32)
        for (name, kind) in names { table[name.utf8.count].append((Array(name.utf8), kind)) }
        return table
    }()

    /// Case-insensitive match of the field name's bytes, without building a string.
    init(_ name: UnsafeBufferPointer<UInt8>) {
        self = .other
        guard name.count < FieldKind.byLength.count else { return }
        for (candidate, kind) in FieldKind.byLength[name.count] {
            var equal = true
            for i in 0..<candidate.count where (name[i] >= 0x41 && name[i] <= 0x5A ? name[i] | 0x20 : name[i]) != candidate[i] {
                equal = false
                break
            }
            if equal { self = kind; return }
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes without leading and trailing blanks (SP, HTAB, CR, LF).
    func trimmedBlanks() -> ArraySlice<UInt8> {
        var lo = startIndex, hi = endIndex
        while lo < hi, isBlank(self[lo]) { lo += 1 }
        while hi > lo, isBlank(self[hi - 1]) { hi -= 1 }
        return self[lo..<hi]
    }
}

@inline(__always) func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
