// Attachment text extraction: shared types and the bounded output buffer.

/// Resource bounds for attachment text extraction.
public struct ExtractionLimits: Sendable {
    /// Larger inputs are rejected with `.limitExceeded` before any work is done.
    public var maxInputBytes = 64 << 20
    /// Extracted text is truncated at this many UTF-8 bytes (status `.truncated`).
    public var maxOutputBytes = 8 << 20
    /// ZIP containers: total number of uncompressed bytes read from all entries.
    public var maxExpandedBytes = 256 << 20
    /// ZIP containers: maximum number of entries in the central directory.
    public var maxZipEntries = 10_000
    /// ZIP containers: per entry, uncompressed size / compressed size.
    public var maxCompressionRatio = 200
    /// pdftotext wall-clock time.
    public var timeoutSeconds: Double = 10
    /// pdftotext address-space limit.
    public var memoryLimitBytes = 512 << 20
    /// Where extractors put their private temporary files (nil: $TMPDIR, else /tmp).
    public var temporaryDirectory: String?
    public init() {}
}

public enum ExtractionStatus: String, Sendable, Codable {
    case ok, truncated, empty, unsupported, failed, limitExceeded, timedOut
}

public struct ExtractionResult: Sendable {
    public var text: String
    public var status: ExtractionStatus
    public var detail: String?

    public init(text: String, status: ExtractionStatus, detail: String? = nil) {
        self.text = text
        self.status = status
        self.detail = detail
    }

    static func status(_ status: ExtractionStatus, _ detail: String? = nil) -> ExtractionResult {
        ExtractionResult(text: "", status: status, detail: detail)
    }
}

/// Append-only UTF-8 buffer that stops growing at `limit` bytes (cut on a scalar boundary).
struct ExtractionSink {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var truncated = false

    init(limit: Int) {
        self.limit = max(0, limit)
        bytes.reserveCapacity(Swift.min(self.limit, 1 << 16))
    }

    var isFull: Bool { truncated }
    var count: Int { bytes.count }
    var lastByte: UInt8? { bytes.last }

    mutating func append(_ byte: UInt8) {
        if truncated { return }
        if bytes.count >= limit { truncated = true; return }
        bytes.append(byte)
    }

    /// Appends UTF-8 bytes (the caller guarantees they are well-formed UTF-8 or accepts replacement).
    mutating func append<C: Collection>(utf8 chunk: C) where C.Element == UInt8 {
        if truncated { return }
        let room = limit - bytes.count
        let n = chunk.count
        if n <= room {
            bytes.append(contentsOf: chunk)
            return
        }
        bytes.append(contentsOf: chunk.prefix(room))
        truncated = true
        trimIncompleteScalar()
    }

    mutating func append(_ string: String) {
        append(utf8: string.utf8)
    }

    mutating func append(scalar: Unicode.Scalar) {
        if truncated { return }
        var buf: [UInt8] = []
        buf.reserveCapacity(4)
        UTF8.encode(scalar) { buf.append($0) }
        append(utf8: buf)
    }

    /// Appends a newline unless the buffer is empty or already ends with one.
    mutating func newlineIfNeeded() {
        if let last = bytes.last, last != 0x0A { append(0x0A) }
    }

    /// Removes a trailing partial UTF-8 sequence after a cut.
    private mutating func trimIncompleteScalar() {
        var i = bytes.count - 1
        var back = 0
        while i >= 0 && back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let need: Int
                if b < 0x80 { need = 1 } else if b & 0xE0 == 0xC0 { need = 2 } else if b & 0xF0 == 0xE0 { need = 3 } else if b & 0xF8 == 0xF0 { need = 4 } else { need = 1 }
                if bytes.count - i < need { bytes.removeSubrange(i...) }
                return
            }
            i -= 1
            back += 1
        }
    }

    func result(detail: String? = nil) -> ExtractionResult {
        let text = String(decoding: bytes, as: UTF8.self)
        let blank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0x0C }
        if blank && !truncated {
            return ExtractionResult(text: "", status: .empty, detail: detail)
        }
        return ExtractionResult(text: text, status: truncated ? .truncated : .ok, detail: detail)
    }
}

/// Signals that a resource bound was hit while reading a container.
struct ExtractionLimitError: Error {
    let detail: String
}

extension Array where Element == UInt8 {
    /// Whether `prefix` occurs at `offset`.
    func extractionHasBytes(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
        guard offset >= 0, prefix.count <= count - offset else { return false }
        var i = 0
        while i < prefix.count {
            if self[offset + i] != prefix[i] { return false }
            i += 1
        }
        return true
    }
}

@inline(__always) func asciiLowerByte(_ b: UInt8) -> UInt8 {
    (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
}

/// Latin-1 decoding; used where a caller-provided decoder is not available.
func extractionLatin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var s = String.UnicodeScalarView()
    for b in bytes { s.append(Unicode.Scalar(b)) }
    return String(s)
}
