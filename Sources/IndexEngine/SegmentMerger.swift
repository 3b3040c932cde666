import IndexFormat
import MailsiftCore

/// Merges segments into one: live documents renumbered in order, deleted ones dropped, term
/// dictionaries merged key by key with their postings concatenated. Merging keeps the segment
/// count (and with it the per-segment dictionary overhead) small and reclaims deletions.
enum SegmentMerger {
    static func merge(_ inputs: [(reader: SegmentReader, deletions: Deletions)], storedCompressionLevel: Int32) throws(IndexFormatError)
        -> (files: [[UInt8]], documentCount: UInt32) {
        // New doc numbers: live docs of each input, in order.
        var remap: [[UInt32]] = []
        var next: UInt32 = 0
        for (reader, deletions) in inputs {
            var m = [UInt32](repeating: .max, count: Int(reader.documentCount))
            for d in 0..<reader.documentCount where !deletions.isDeleted(d) {
                m[Int(d)] = next
                next += 1
            }
            remap.append(m)
        }

        // Stored text and values, document by document.
        var stored = StoredFieldsWriter(compressionLevel: storedCompressionLevel)
        var values = DocValuesWriter(columns: DocumentValues.columns)
        for (reader, deletions) in inputs {
            let columns = reader.values.columnNames.count
            guard reader.values.columnNames == DocumentValues.columns else {
                throw IndexFormatError(.corrupt, "segment \(reader.name): unexpected value columns \(reader.values.columnNames)")
            }
            for d in 0..<reader.documentCount where !deletions.isDeleted(d) {
                _ = stored.add(document: try reader.stored.document(d))
                var row: [UInt64] = []
                for c in 0..<columns { row.append(try reader.values.value(column: c, doc: d)) }
                values.add(row)
            }
        }

        // Every input's keys, in order (per-segment arrays, merged k ways).
        var keys: [[(key: [UInt8], info: TermPostingsInfo)]] = []
        for (reader, _) in inputs {
            var list: [(key: [UInt8], info: TermPostingsInfo)] = []
            list.reserveCapacity(reader.terms.termCount)
            do {
                try reader.terms.enumerate(prefix: []) { key, info in
                    list.append((Array(key), info))
                    return true
                }
            } catch let e as IndexFormatError { throw e } catch { throw IndexFormatError(.corrupt, "\(error)") }
            keys.append(list)
        }
        var cursor = [Int](repeating: 0, count: inputs.count)
        var postings = PostingsWriter()
        var dictionary = TermDictionaryWriter()
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = [], scratch: [UInt32] = []
        while true {
            // The smallest current key (k is small: a linear scan beats a heap).
            var minKey: [UInt8]?
            for k in keys.indices where cursor[k] < keys[k].count {
                let key = keys[k][cursor[k]].key
                if minKey == nil || key.lexicographicallyPrecedes(minKey ?? []) { minKey = key }
            }
            guard let key = minKey else { break }
            docs.removeAll(keepingCapacity: true)
            freqs.removeAll(keepingCapacity: true)
            positions.removeAll(keepingCapacity: true)
            for k in keys.indices where cursor[k] < keys[k].count && keys[k][cursor[k]].key == key {
                let info = keys[k][cursor[k]].info
                cursor[k] += 1
                var it = try inputs[k].reader.postings.iterator(info)
                var d = it.doc
                while d != PostingsIterator.noMoreDocs {
                    guard Int(d) < remap[k].count else {
                        throw IndexFormatError(.corrupt, "a posting names document \(d) of a \(remap[k].count)-document segment")
                    }
                    let newDoc = remap[k][Int(d)]
                    if newDoc != .max {
                        docs.append(newDoc)
                        freqs.append(it.freq)
                        try it.positions(into: &scratch)
                        positions += scratch
                    }
                    d = try it.next()
                }
            }
            guard !docs.isEmpty else { continue }  // every posting was of a deleted doc
            let info: TermPostingsInfo
            do { info = try postings.add(docIDs: docs, freqs: freqs, flatPositions: positions) } catch {
                throw IndexFormatError(.corrupt, "merging \(key.count)-byte key: \(error)")
            }
            try dictionary.add(key, info)
        }
        let (docsFile, positionsFile) = postings.finish()
        return ([dictionary.finish(), docsFile, positionsFile, stored.finish(), values.finish()], next)
    }
}
