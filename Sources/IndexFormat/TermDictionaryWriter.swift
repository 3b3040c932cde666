/// The term dictionary ("terms" file, version 1): every indexed term of a segment, sorted,
/// mapped to where its postings are. Layout (docs/format-terms.md):
///
/// ```
/// header ("terms", 1)
/// block 0 | block 1 | ... | block B-1          prefix-compressed keys, then their infos
/// index:  blockStarts (B+1) × u32 | keyStarts (B+1) × u32 | first keys, concatenated
/// trailer (24 bytes): indexOffset u64 | termCount u64 | blockCount u32 | maxTermsPerBlock u32
/// footer (CRC-32C)
/// ```
///
/// A key is one field-id byte followed by the term's UTF-8 bytes, so each field's terms form
/// one contiguous key range (prefix and substring scans stay inside it).
public enum TermDictionaryFormat {
    public static let name = "terms"
    /// 2: infos hold offsets as deltas within a block (`TermPostingsInfo.encodeDelta`).
    public static let version: UInt32 = 2
    public static let versions: ClosedRange<UInt32> = 1...2
    /// Longest key accepted (field byte + term). The analyzer caps tokens far below this
    /// (64 bytes by default); the cap lets readers decode keys into one fixed buffer.
    public static let maxKeyLength = 1024
    /// Terms per block written by default. Measured (terms-bench, 64.8k SpamAssassin ham
    /// terms, keys + index bytes per term / lookups per second): 32 → 6.41 B, 1.9 M/s;
    /// 64 → 6.02 B, 1.55 M/s; 128 → 5.83 B, 1.1 M/s; substring scans cost the same at all
    /// three. 64 keeps lookups far above what queries need for ~6% less than 32.
    public static let defaultTermsPerBlock = 64
    /// Readers refuse blocks claiming more entries than this (bounds work on corrupt data).
    public static let maxTermsPerBlockLimit = 4096
    static let trailerSize = 24
}

/// Builds a term dictionary in memory from keys given in strictly increasing byte order.
public struct TermDictionaryWriter: Sendable {
    public let maxTermsPerBlock: Int

    private var out = ByteWriter(capacity: 1 << 16)
    private let contentStart: Int
    /// The block being filled: its keys section and its infos section, kept apart so a
    /// reader can scan keys without decoding infos (substring scans decode almost none).
    private var blockKeys = ByteWriter(capacity: 4096)
    private var blockInfos = ByteWriter(capacity: 4096)
    private var blockTerms = 0
    private var previousOffsets: (docs: UInt64, positions: UInt64) = (0, 0)
    private var previousKey: [UInt8] = []
    private var hasPrevious = false

    private var blockStarts: [UInt32] = []
    private var firstKeys = ByteWriter()
    private var keyStarts: [UInt32] = []
    public private(set) var termCount = 0

    /// `maxTermsPerBlock` is clamped to 1...TermDictionaryFormat.maxTermsPerBlockLimit.
    public init(maxTermsPerBlock: Int = TermDictionaryFormat.defaultTermsPerBlock) {
        self.maxTermsPerBlock = min(max(1, maxTermsPerBlock), TermDictionaryFormat.maxTermsPerBlockLimit)
        FileFraming.header(format: TermDictionaryFormat.name, version: TermDictionaryFormat.version, into: &out)
        contentStart = out.count
    }

    /// Adds `key` ([fieldID] + term bytes). Keys must come in strictly increasing bytewise
    /// order: the reader's binary search and prefix compression both rely on it.
    public mutating func add(_ key: [UInt8], _ info: TermPostingsInfo) throws(IndexFormatError) {
        try key.withUnsafeBufferPointer { (k) throws(IndexFormatError) in try add(k, info) }
    }

    /// The same from a buffer (the caller may reuse it: the writer keeps its own copy of the
    /// previous key; sharing the caller's array had made each key a new allocation).
    public mutating func add(_ key: UnsafeBufferPointer<UInt8>, _ info: TermPostingsInfo) throws(IndexFormatError) {
        guard key.count <= TermDictionaryFormat.maxKeyLength else {
            throw IndexFormatError(.limitExceeded, "term key of \(key.count) bytes exceeds \(TermDictionaryFormat.maxKeyLength)")
        }
        var shared = 0
        if hasPrevious {
            // An out-of-order key is an impossible value for this file: `corrupt`, no offset.
            let ordered = previousKey.withUnsafeBufferPointer { previous -> Bool in
                let n = min(previous.count, key.count)
                while shared < n && previous[shared] == key[shared] { shared += 1 }
                return shared < n ? previous[shared] < key[shared] : previous.count < key.count
            }
            guard ordered else {
                throw IndexFormatError(.corrupt, "term keys must be strictly increasing (key #\(termCount) of \(key.count) bytes is not above the previous one)")
            }
        }
        // u32 offsets keep the index at 8 bytes per block; a 4 GiB term file is far beyond
        // any mail segment, so refuse here (with room for this key, its info of at most
        // four 10-byte varints and the block header) rather than widen every entry.
        let projected = (out.count - contentStart) + blockKeys.count + blockInfos.count + key.count + 80
        guard projected <= Int(UInt32.max), firstKeys.count + key.count <= Int(UInt32.max) else {
            throw IndexFormatError(.limitExceeded, "term dictionary content exceeds 4 GiB")
        }
        if blockTerms == maxTermsPerBlock { flushBlock() }
        if blockTerms == 0 {
            // A block's first key is stored whole (so a block decodes on its own) and copied
            // into the sparse index for the binary search.
            keyStarts.append(UInt32(firstKeys.count))
            firstKeys.bytes.append(contentsOf: key)
            shared = 0
        }
        blockKeys.varint(UInt64(shared))
        blockKeys.varint(UInt64(key.count - shared))
        blockKeys.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: key[shared...]))
        info.encodeDelta(into: &blockInfos, previous: &previousOffsets)
        blockTerms += 1
        termCount += 1
        previousKey.removeAll(keepingCapacity: true)
        previousKey.append(contentsOf: key)
        hasPrevious = true
    }

    private mutating func flushBlock() {
        guard blockTerms > 0 else { return }
        let start = out.count - contentStart
        blockStarts.append(UInt32(start))
        out.varint(UInt64(blockTerms))
        out.varint(UInt64(blockKeys.count))
        out.bytes += blockKeys.bytes
        out.bytes += blockInfos.bytes
        blockKeys.bytes.removeAll(keepingCapacity: true)
        blockInfos.bytes.removeAll(keepingCapacity: true)
        blockTerms = 0
        previousOffsets = (0, 0)
    }

    /// Bytes buffered and not yet drained.
    public var bufferedBytes: Int { out.bytes.count }

    /// Hands over the file's bytes written so far (see `ByteWriter.drain`).
    public mutating func drain() -> [UInt8] { out.drain() }

    /// The complete framed file, or its rest after what was drained. The writer should not be
    /// used afterwards.
    public mutating func finish() -> [UInt8] {
        flushBlock()
        let indexOffset = out.count - contentStart
        for s in blockStarts { out.u32(s) }
        out.u32(UInt32(truncatingIfNeeded: indexOffset))
        for s in keyStarts { out.u32(s) }
        out.u32(UInt32(truncatingIfNeeded: firstKeys.count))
        out.bytes += firstKeys.bytes
        out.u64(UInt64(indexOffset))
        out.u64(UInt64(termCount))
        out.u32(UInt32(truncatingIfNeeded: blockStarts.count))
        out.u32(UInt32(maxTermsPerBlock))
        FileFraming.finish(&out)
        return out.bytes
    }
}
