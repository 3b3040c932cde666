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
    private var values = DocValuesWriter(columns: DocumentValues.columns)
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
        values.add(doc.values.row)
        ids.append(doc.id)
        estimatedBytes += 64
        documentCount += 1
    }

    /// Writes the segment's files into `out`, a term at a time: each term's accumulated
    /// postings are released once encoded, and the codecs' buffers are drained to disk every
    /// `SegmentOutput.chunkSize`, so a flush needs little beyond what the buffer already holds.
    /// The builder is spent afterwards.
    mutating func write(to out: SegmentOutput) throws(MailsiftError) {
        var postings = PostingsWriter()
        var dictionary = TermDictionaryWriter()
        // Keys in bytewise order (field byte first): sort the slots by their key bytes.
        let order = table.arena.withUnsafeBufferPointer { arena -> [Int32] in
            var order = (0..<Int32(table.count)).map { $0 }
            guard let base = arena.baseAddress else { return order }
            let keys = table.keys
            order.sort { (a: Int32, b: Int32) -> Bool in
                let ka = keys[Int(a)], kb = keys[Int(b)]
                if ka.field != kb.field { return ka.field < kb.field }
                let la = Int(ka.length), lb = Int(kb.length)
                let c = memcmp(base + Int(ka.offset), base + Int(kb.offset), Swift.min(la, lb))
                return c != 0 ? c < 0 : la < lb
            }
            return order
        }
        var key: [UInt8] = []
        for s in order {
            let slot = Int(s)
            let k = table.keys[slot]
            key.removeAll(keepingCapacity: true)
            key.append(k.field)
            key += table.key(slot)
            let acc = accumulators[slot]
            accumulators[slot] = Accumulator()  // released as soon as written
            do {
                let info = try postings.add(docIDs: acc.docs, freqs: acc.freqs, flatPositions: acc.positions)
                try dictionary.add(key, info)
            } catch {
                throw MailsiftError(.corrupt, "building segment \(out.name): \(error)")
            }
            if postings.bufferedBytes >= SegmentOutput.chunkSize {
                let (d, p) = postings.drain()
                try out.write(1, d)
                try out.write(2, p)
            }
            if dictionary.bufferedBytes >= SegmentOutput.chunkSize { try out.write(0, dictionary.drain()) }
        }
        accumulators = []
        let (docs, positions) = postings.finish()
        try out.write(0, dictionary.finish())
        try out.write(1, docs)
        try out.write(2, positions)
        try out.write(3, stored.finish())
        try out.write(4, values.finish())
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
