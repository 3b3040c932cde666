import IndexFormat
import MailsiftCore

/// The in-memory part of a segment being written: an inverted index per field, stored text and
/// document values, flushed to immutable files when the RAM budget is reached or on commit.
struct SegmentBuilder {
    /// One term's postings so far (positions flat; `freqs[i]` of them belong to `docs[i]`).
    struct Accumulator {
        var docs: [UInt32] = []
        var freqs: [UInt32] = []
        var positions: [UInt32] = []
    }

    private var termIndex = [[String: Int32]](repeating: [:], count: 16)
    private var accumulators: [Accumulator] = []
    private var stored: StoredFieldsWriter
    private var values: [[UInt64]] = []
    private(set) var documentCount: UInt32 = 0
    /// Rough bytes held, for the RAM budget (arrays, dictionary entries, stored text).
    private(set) var estimatedBytes = 0
    private(set) var ids: [Int64] = []

    init(storedCompressionLevel: Int32 = 0) {
        stored = StoredFieldsWriter(compressionLevel: storedCompressionLevel)
    }

    mutating func add(_ doc: IndexDocument) {
        let local = documentCount
        for field in doc.fields {
            let f = Int(field.field.rawValue)
            for (term, position) in field.terms {
                guard !term.isEmpty, term.utf8.count <= 255 else { continue }
                var slot: Int
                if let existing = termIndex[f][term] {
                    slot = Int(existing)
                } else {
                    slot = accumulators.count
                    termIndex[f][term] = Int32(slot)
                    accumulators.append(Accumulator())
                    // Dictionary entry, accumulator and its three arrays' first allocations.
                    estimatedBytes += term.utf8.count + 224
                }
                accumulators[slot].add(doc: local, position: position)
                estimatedBytes += 10  // a position, and a doc and freq for a term's first use in a doc
            }
        }
        let text = doc.stored.map { (UInt8($0.field.rawValue), $0.text) }
        estimatedBytes += text.reduce(0) { $0 + $1.1.utf8.count } / 2  // compressed as it goes
        _ = stored.add(document: text)
        values.append(doc.values.row)
        ids.append(doc.id)
        estimatedBytes += 64
        documentCount += 1
    }

    /// Writes the segment's files (complete, framed byte arrays in `SegmentFiles.kinds` order).
    mutating func build() throws(IndexFormatError) -> [[UInt8]] {
        var postings = PostingsWriter()
        var dictionary = TermDictionaryWriter()
        var flatPositions: [[UInt32]] = []
        for f in 0..<termIndex.count where !termIndex[f].isEmpty {
            // The dictionary needs bytewise order of the UTF-8 terms. Swift's String `<` is that
            // order for NFC text (all our terms) and much faster (memcmp for ASCII); check it,
            // and fall back to a bytewise sort should an odd term ever break it.
            var sorted = termIndex[f].sorted { $0.key < $1.key }
            if zip(sorted, sorted.dropFirst()).contains(where: { !$0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                sorted.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            }
            for (term, slot) in sorted {
                let acc = accumulators[Int(slot)]
                flatPositions.removeAll(keepingCapacity: true)
                var p = 0
                for freq in acc.freqs {
                    flatPositions.append(Array(acc.positions[p..<(p + Int(freq))]))
                    p += Int(freq)
                }
                let info: TermPostingsInfo
                do {
                    info = try postings.add(docIDs: acc.docs, freqs: acc.freqs, positions: flatPositions)
                } catch {
                    throw IndexFormatError(.limitExceeded, "postings of a term: \(error)")
                }
                try dictionary.add([UInt8(f)] + Array(term.utf8), info)
            }
        }
        let (docs, positions) = postings.finish()
        var valuesWriter = DocValuesWriter(columns: DocumentValues.columns)
        for row in values { valuesWriter.add(row) }
        return [dictionary.finish(), docs, positions, stored.finish(), valuesWriter.finish()]
    }
}

extension SegmentBuilder.Accumulator {
    @inline(__always)
    mutating func add(doc: UInt32, position: UInt32) {
        guard docs.last == doc else {
            docs.append(doc)
            freqs.append(1)
            positions.append(position)
            return
        }
        // Positions of one document arrive field by field, so mostly in order: insert in place.
        let freq = Int(freqs[freqs.count - 1])
        let start = positions.count - freq
        var i = positions.count
        while i > start, positions[i - 1] > position { i -= 1 }
        if i > start, positions[i - 1] == position { return }  // same term at the same position twice
        positions.insert(position, at: i)
        freqs[freqs.count - 1] += 1
    }
}
