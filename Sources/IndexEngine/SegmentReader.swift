import IndexFormat
import MailsiftCore

/// One segment, memory-mapped and checked: immutable, shared by every query and thread.
public final class SegmentReader: Sendable {
    public let name: String
    public let documentCount: UInt32
    let files: [MappedFile]
    public let terms: TermDictionary
    public let postings: PostingsReader
    public let stored: StoredFieldsReader
    public let values: DocValuesReader
    /// For each of `DocumentValues.columns`, its index in this segment's values (nil: absent).
    let columnMap: [Int?]

    /// Opens and verifies every file of the segment (checksums, formats, sizes).
    public init(directory: String, entry: Manifest.SegmentEntry) throws(MailsiftError) {
        name = entry.name
        documentCount = entry.documentCount
        var files: [MappedFile] = []
        for (k, kind) in SegmentFiles.kinds.enumerated() {
            let path = SegmentFiles.path(directory, entry.name, kind)
            let file = try MappedFile(path: path)
            if k < entry.fileSizes.count, UInt64(file.bytes.count) != entry.fileSizes[k] {
                throw MailsiftError(.corrupt, "\(path): \(file.bytes.count) bytes, the manifest says \(entry.fileSizes[k])")
            }
            files.append(file)
        }
        self.files = files
        func wrap<T>(_ k: Int, _ body: () throws(IndexFormatError) -> T) throws(MailsiftError) -> T {
            do { return try body() } catch {
                throw MailsiftError(.corrupt, "\(files[k].path): \(error)")
            }
        }
        terms = try wrap(0) { () throws(IndexFormatError) in try TermDictionary(files[0].bytes) }
        // Each postings file checked on its own, so an error names the right file.
        let v = PostingsFormat.version
        let docs = try wrap(1) { () throws(IndexFormatError) in try FileFraming.open(files[1].bytes, format: PostingsFormat.docsFormatName, supported: v...v) }
        let pos = try wrap(2) { () throws(IndexFormatError) in try FileFraming.open(files[2].bytes, format: PostingsFormat.positionsFormatName, supported: v...v) }
        postings = PostingsReader(unverifiedDocs: UnsafeRawBufferPointer(rebasing: files[1].bytes[docs.content]), docsBase: docs.content.lowerBound,
                                  positions: UnsafeRawBufferPointer(rebasing: files[2].bytes[pos.content]), positionsBase: pos.content.lowerBound)
        stored = try wrap(3) { () throws(IndexFormatError) in try StoredFieldsReader(files[3].bytes) }
        values = try wrap(4) { () throws(IndexFormatError) in try DocValuesReader(files[4].bytes) }
        // Columns by name; the first six have been there since version 1.
        let names = values.columnNames
        guard names.count >= 6, Array(names.prefix(6)) == Array(DocumentValues.columns.prefix(6)) else {
            throw MailsiftError(.corrupt, "\(files[4].path): columns \(names), expected \(DocumentValues.columns)")
        }
        columnMap = DocumentValues.columns.map { names.firstIndex(of: $0) }
        guard stored.documentCount == Int(entry.documentCount), values.documentCount == Int(entry.documentCount) else {
            throw MailsiftError(.corrupt, "segment \(entry.name): files disagree on the document count")
        }
    }

    /// The catalog id of a document of this segment.
    public func id(of doc: UInt32) throws(MailsiftError) -> Int64 {
        try value(.id, doc)
    }

    /// A per-document value (a column the segment predates reads as its default).
    public func value(_ column: DocumentValues.Column, _ doc: UInt32) throws(MailsiftError) -> Int64 {
        do {
            guard let c = columnMap[column.rawValue] else {
                let sent = column == .sentDay ? try value(.sentDate, doc) : 0
                return DocumentValues.defaultValue(column, sentDate: sent)
            }
            return DocumentValues.value(try values.value(column: c, doc: doc))
        } catch let e as MailsiftError {
            throw e
        } catch {
            throw MailsiftError(.corrupt, "\(files[4].path): \(error)")
        }
    }

    public var fileBytes: [(kind: String, bytes: Int)] {
        zip(SegmentFiles.kinds, files).map { ($0, $1.bytes.count) }
    }

    /// What one field takes in a segment.
    public struct FieldStatistics: Sendable {
        public var terms = 0
        public var postings: UInt64 = 0
        public var positions: UInt64 = 0
        public var docsBytes: UInt64 = 0
        public var positionsBytes: UInt64 = 0
        public init() {}
        public mutating func add(_ o: FieldStatistics) {
            terms += o.terms
            postings += o.postings
            positions += o.positions
            docsBytes += o.docsBytes
            positionsBytes += o.positionsBytes
        }
    }

    /// Per field (by id): terms, postings, positions, and the bytes its postings take in the
    /// docs and positions files. Terms are written in key order, field by field, so a term's
    /// bytes run from its offset to the next written term's (singletons write no docs bytes).
    public func fieldStatistics() throws(MailsiftError) -> [UInt8: FieldStatistics] {
        var rows: [UInt8: FieldStatistics] = [:]
        var previousPositions: (field: UInt8, offset: UInt64)?
        var previousDocs: (field: UInt8, offset: UInt64)?
        do {
            try terms.enumerate(prefix: []) { key, info in
                guard let field = key.first else { return true }
                if let p = previousPositions { rows[p.field, default: .init()].positionsBytes += info.positionsOffset &- p.offset }
                if info.docFreq > 1 {
                    if let p = previousDocs { rows[p.field, default: .init()].docsBytes += info.docsOffset &- p.offset }
                    previousDocs = (field, info.docsOffset)
                }
                rows[field, default: .init()].terms += 1
                rows[field, default: .init()].postings += UInt64(info.docFreq)
                rows[field, default: .init()].positions += info.totalTermFreq
                previousPositions = (field, info.positionsOffset)
                return true
            }
        } catch {
            throw MailsiftError(.corrupt, "\(files[0].path): \(error)")
        }
        // The last term's bytes run to the end of the content.
        if let p = previousPositions { rows[p.field, default: .init()].positionsBytes += UInt64(postings.positions.count) &- p.offset }
        if let p = previousDocs { rows[p.field, default: .init()].docsBytes += UInt64(postings.docs.count) &- p.offset }
        return rows
    }
}
