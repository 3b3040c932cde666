import Foundation
import IndexFormat
import MailsiftCore

/// Merges segments into one: live documents renumbered in order, deleted ones dropped, term
/// dictionaries merged key by key with their postings concatenated. Merging keeps the segment
/// count (and with it the per-segment dictionary overhead) small and reclaims deletions.
///
/// Streams: the inputs' dictionaries are walked with cursors, each term's postings go doc by
/// doc from the input iterators to the output writer, and every codec is drained to disk every
/// `SegmentOutput.chunkSize`. Memory held: a doc-number map per input (4 bytes a document),
/// the values (8 bytes a document and column), one doc's positions and the current term's
/// compressed doc blocks; never the inputs' or the output's files.
///
/// Two threads: stored text and values (recompressed with LZ4-HC, about half the work) are
/// written on their own thread while this one merges the terms and postings.
enum SegmentMerger {
    static func merge(_ inputs: [(reader: SegmentReader, deletions: Deletions)], storedCompressionLevel: Int32,
                      into out: SegmentOutput) throws(MailsiftError) -> UInt32 {
        do {
            return try run(inputs, storedCompressionLevel: storedCompressionLevel, out: out)
        } catch let e as MailsiftError {
            throw e
        } catch {
            throw MailsiftError(.corrupt, "merging into \(out.name): \(error)")
        }
    }

    private static func run(_ inputs: [(reader: SegmentReader, deletions: Deletions)], storedCompressionLevel: Int32,
                            out: SegmentOutput) throws -> UInt32 {
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

        // Stored text and values, document by document, on their own thread (readers and the
        // output take concurrent use; the other files are the terms pass's).
        let storedPass = BackgroundPass(Unchecked((inputs, out))) { captured in
            let (inputs, out) = captured.value
            var stored = StoredFieldsWriter(compressionLevel: storedCompressionLevel, headFields: SegmentBuilder.storedHeadFields)
            var values = DocValuesWriter(columns: DocumentValues.columns)
            var row: [UInt64] = []
            for (reader, deletions) in inputs {
                for d in 0..<reader.documentCount where !deletions.isDeleted(d) {
                    _ = stored.add(document: try reader.stored.document(d))
                    row.removeAll(keepingCapacity: true)
                    // By name: columns an input predates get their defaults.
                    for c in DocumentValues.Column.allCases {
                        row.append(UInt64(bitPattern: try reader.value(c, d)) &+ (1 << 63))
                    }
                    values.add(row)
                    if stored.bufferedBytes >= SegmentOutput.chunkSize { try out.write(3, stored.drain()) }
                }
            }
            try out.write(3, stored.finish())
            try out.write(4, values.finish())
        }
        do {
            try mergeTerms(inputs, remap: remap, out: out)
        } catch {
            // The stored pass writes to the same output: it ends before the output is dropped.
            try? storedPass.wait()
            throw error
        }
        try storedPass.wait()
        return next
    }

    /// The terms pass: dictionaries merged key by key, postings renumbered.
    private static func mergeTerms(_ inputs: [(reader: SegmentReader, deletions: Deletions)], remap: [[UInt32]],
                                   out: SegmentOutput) throws {
        // Terms: a k-way merge of the inputs' dictionaries (k is small: a linear scan for the
        // smallest key beats a heap).
        let cursors = inputs.map { TermCursor($0.reader.terms) }
        var live = [Bool](repeating: false, count: inputs.count)
        for k in cursors.indices { live[k] = try cursors[k].next() }
        var postings = PostingsWriter()
        var dictionary = TermDictionaryWriter()
        var scratch: [UInt32] = []
        var key: [UInt8] = []
        var sources: [Int] = []
        while true {
            var minIndex = -1
            for k in cursors.indices where live[k] {
                if minIndex < 0 || termKeyCompare(cursors[k].key, cursors[minIndex].key) < 0 { minIndex = k }
            }
            guard minIndex >= 0 else { break }
            key = Array(cursors[minIndex].key)
            sources.removeAll(keepingCapacity: true)
            for k in cursors.indices where live[k] && (k == minIndex || termKeyCompare(cursors[k].key, cursors[minIndex].key) == 0) {
                sources.append(k)
            }
            postings.startTerm()
            var any = false
            for k in sources {
                var it = try inputs[k].reader.postings.iterator(cursors[k].info)
                var d = it.doc
                while d != PostingsIterator.noMoreDocs {
                    guard Int(d) < remap[k].count else {
                        throw IndexFormatError(.corrupt, "a posting names document \(d) of a \(remap[k].count)-document segment")
                    }
                    let newDoc = remap[k][Int(d)]
                    if newDoc != .max {
                        try it.positions(into: &scratch)
                        try scratch.withUnsafeBufferPointer { p throws(PostingsInputError) in try postings.addDoc(newDoc, positions: p) }
                        any = true
                    }
                    d = try it.next()
                }
            }
            for k in sources { live[k] = try cursors[k].next() }
            // A term whose every posting was of a deleted doc is dropped.
            guard any else {
                postings.abandonEmptyTerm()
                continue
            }
            try dictionary.add(key, try postings.finishTerm())
            try out.drainIfFull(&postings, &dictionary)
        }
        try out.finish(postings, &dictionary)
    }
}

/// A value handed to another thread whose owner guarantees the use is safe (here: readers
/// that take concurrent reads, an output that locks its writes).
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Work on a thread of its own; `wait` joins it and rethrows its error.
final class BackgroundPass: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var failure: Error?

    init<Input>(_ input: Unchecked<Input>, _ work: @escaping @Sendable (Unchecked<Input>) throws -> Void) {
        let thread = Thread { [self] in
            do { try work(input) } catch { failure = error }
            done.signal()
        }
        thread.start()
    }

    func wait() throws {
        done.wait()
        if let failure { throw failure }
    }
}
