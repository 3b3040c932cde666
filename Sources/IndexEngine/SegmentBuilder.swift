import IndexFormat
#if canImport(Glibc)
import Glibc
#endif
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

    private var table = TermTable()
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
            let f = field.field.rawValue
            for (term, position) in field.terms {
                var t = term
                let (slot, inserted) = t.withUTF8 { bytes -> (Int32, Bool) in
                    guard !bytes.isEmpty, bytes.count <= 255 else { return (-1, false) }
                    return table.findOrInsert(field: f, key: bytes, newSlot: Int32(accumulators.count))
                }
                guard slot >= 0 else { continue }
                if inserted {
                    accumulators.append(Accumulator())
                    // Table entry, key bytes, accumulator and its three arrays' first allocations.
                    estimatedBytes += term.utf8.count + 200
                }
                accumulators[Int(slot)].add(doc: local, position: position)
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
        // Keys in bytewise order (field byte first): sort the slots by their key bytes.
        let order = table.arena.withUnsafeBufferPointer { arena -> [Int] in
            var order = Array(0..<table.count)
            guard let base = arena.baseAddress else { return order }
            let keys = table.keys
            order.sort { (a: Int, b: Int) -> Bool in
                let ka = keys[a], kb = keys[b]
                if ka.field != kb.field { return ka.field < kb.field }
                let la = Int(ka.length), lb = Int(kb.length)
                let c = memcmp(base + Int(ka.offset), base + Int(kb.offset), Swift.min(la, lb))
                return c != 0 ? c < 0 : la < lb
            }
            return order
        }
        var key: [UInt8] = []
        for slot in order {
            let k = table.keys[slot]
            key.removeAll(keepingCapacity: true)
            key.append(k.field)
            key += table.key(slot)
            let info: TermPostingsInfo
            do {
                info = try accumulators.withUnsafeBufferPointer { accs throws(PostingsInputError) in
                    let acc = accs[slot]
                    return try postings.add(docIDs: acc.docs, freqs: acc.freqs, flatPositions: acc.positions)
                }
            } catch {
                throw IndexFormatError(.limitExceeded, "postings of a term: \(error)")
            }
            try dictionary.add(key, info)
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
        // Positions of one document mostly arrive in order: append; otherwise insert in place.
        if let last = positions.last, position > last {
            positions.append(position)
            freqs[freqs.count - 1] += 1
            return
        }
        let freq = Int(freqs[freqs.count - 1])
        let start = positions.count - freq
        var i = positions.count
        while i > start, positions[i - 1] > position { i -= 1 }
        if i > start, positions[i - 1] == position { return }  // same term at the same position twice
        positions.insert(position, at: i)
        freqs[freqs.count - 1] += 1
    }
}
