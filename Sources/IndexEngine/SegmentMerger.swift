import Foundation
import IndexFormat
import MailsiftCore
#if canImport(Glibc)
import Glibc
#endif

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
/// Threads: stored text and values (recompressed with LZ4-HC) are written on their own thread
/// while this one merges the terms and postings; a large merge also splits the terms at keys
/// (`TermDictionary.blockKey(nearPositionsOffset:)`, equal shares of the largest input's
/// positions between them) into ranges: this thread merges the first, then it and one more
/// thread per other core claim the others one at a time into scratch files, which this one
/// appends after its own in key order, shifting their offsets. The files are the same, byte
/// for byte, as one thread writes (a term's encoding never depends on the terms before it).
enum SegmentMerger {
    /// Inputs with fewer positions bytes than this merge their terms on one thread.
    static let defaultSplitAbove = 4 << 20
    /// Ranges a split terms pass is cut into: enough that threads claiming them one at a
    /// time finish together, few enough that each range's scratch files stay large.
    static let defaultParts = 8

    /// `parallel`: split the terms pass (above `splitAbove` positions bytes, into `parts`
    /// ranges merged by this thread and one more per other core) and compress stored blocks
    /// on every core; otherwise two threads (stored text and the terms).
    static func merge(_ inputs: [(reader: SegmentReader, deletions: Deletions)], storedCompressionLevel: Int32,
                      into out: SegmentOutput, parallel: Bool = true, splitAbove: Int = defaultSplitAbove,
                      parts: Int = defaultParts) throws(MailsiftError) -> UInt32 {
        do {
            return try run(inputs, storedCompressionLevel: storedCompressionLevel, out: out, parallel: parallel,
                           splitAbove: parallel ? splitAbove : .max, parts: parts)
        } catch let e as MailsiftError {
            throw e
        } catch {
            throw MailsiftError(.corrupt, "merging into \(out.name): \(error)")
        }
    }

    private static func run(_ inputs: [(reader: SegmentReader, deletions: Deletions)], storedCompressionLevel: Int32,
                            out: SegmentOutput, parallel: Bool, splitAbove: Int, parts: Int) throws -> UInt32 {
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
        let storedPass = BackgroundPass(Unchecked((inputs, out)), label: out.label, inline: true) { [parallel] captured in
            let (inputs, out) = captured.value
            var stored = StoredFieldsWriter(compressionLevel: storedCompressionLevel, headFields: SegmentBuilder.storedHeadFields)
            // LZ4-HC is most of this pass: blocks are compressed a few at a time on every core.
            if parallel, storedCompressionLevel > 0 { stored.parallelism = availableCores }
            var values = DocValuesWriter(columns: DocumentValues.columns)
            var row: [UInt64] = []
            for (reader, deletions) in inputs {
                // An input without deletions: its compressed blocks are copied as they are
                // (decoding every document to strings and compressing it again was most of a
                // compaction's CPU; LZ4-HC over LZ4 saved LKML's stored text only 5%).
                let copied = deletions.deletedCount == 0 && reader.documentCount > 0
                    ? try stored.appendBlocks(of: reader.stored, drainAt: SegmentOutput.chunkSize) { try out.write(3, $0) } : false
                for d in 0..<reader.documentCount where !deletions.isDeleted(d) {
                    if !copied { _ = stored.add(document: try reader.stored.document(d)) }
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
            try mergeTerms(inputs, remap: remap, out: out, splitAbove: splitAbove, parts: parts,
                           helpers: max(1, availableCores - 1))
        } catch {
            // The stored pass writes to the same output: it ends before the output is dropped.
            try? storedPass.wait()
            throw error
        }
        try storedPass.wait()
        return next
    }

    /// The terms pass: dictionaries merged key by key, postings renumbered. Large inputs with
    /// the output on disk split it at `parts - 1` keys into ranges of about equal positions
    /// bytes: this thread merges the first straight into `out`; it and `helpers` other threads
    /// then claim the rest one at a time (so an uneven range does not leave a core idle) into
    /// scratch files, appended by this thread in key order as they are done.
    private static func mergeTerms(_ inputs: [(reader: SegmentReader, deletions: Deletions)], remap: [[UInt32]],
                                   out: SegmentOutput, splitAbove: Int, parts: Int, helpers: Int) throws {
        var postings = PostingsWriter()
        var dictionary = TermDictionaryWriter()
        // Only an output on disk has a directory for the other ranges' scratch files.
        let keys = out.directory == nil ? [] : try splitKeys(inputs, splitAbove: splitAbove, parts: parts)
        // Part j + 1 of the split: [keys[j], keys[j + 1]), the last one unbounded. Unsplit:
        // none, and the first range (below keys.first) is everything.
        let scratch = keys.indices.map { j in
            TermsPart(directory: out.directory ?? "", name: out.name + ".split-\(j + 1)", from: keys[j],
                      below: j + 1 < keys.count ? keys[j + 1] : nil)
        }
        let claims = Locked((next: 0, failed: false))
        let work = Unchecked((inputs, remap, scratch, claims))
        @Sendable func claimAndRun(_ captured: Unchecked<([(reader: SegmentReader, deletions: Deletions)], [[UInt32]], [TermsPart], Locked<(next: Int, failed: Bool)>)>) throws {
            let (inputs, remap, scratch, claims) = captured.value
            while let j = claims.withLock({ c -> Int? in
                guard !c.failed, c.next < scratch.count else { return nil }
                c.next += 1
                return c.next - 1
            }) {
                // Every claimed part signals, run or failed: the appending thread waits on it.
                defer { scratch[j].finished.signal() }
                do { try scratch[j].run(inputs, remap: remap) } catch {
                    claims.withLock { $0.failed = true }
                    throw error
                }
            }
        }
        // Inline when no thread can be had: the parts are claimed and merged here, then appended.
        let passes = (0..<min(helpers, scratch.count)).map { _ in BackgroundPass(work, label: out.label, inline: true, claimAndRun) }
        var failure: Error?
        do {
            try mergeRange(inputs, remap: remap, from: nil, below: keys.first, into: &postings) { key, info, postings in
                try dictionary.add(key, info)
                try out.drainIfFull(&postings, &dictionary)
            }
            try claimAndRun(work)
            // Every part is claimed now: each is appended as soon as it and those before it are
            // done, while other threads may still be merging later ones.
            for part in scratch {
                part.finished.wait()
                if claims.withLock({ $0.failed }) { break }
                try part.append(into: &postings, &dictionary, out: out)
            }
        } catch {
            claims.withLock { $0.failed = true }
            failure = error
        }
        for pass in passes {
            do { try pass.wait() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
        try out.finish(postings, &dictionary)
    }

    /// Keys splitting the terms pass into up to `parts` ranges of about equal positions bytes
    /// (taken from the largest input's dictionary), increasing; none below `splitAbove` bytes.
    static func splitKeys(_ inputs: [(reader: SegmentReader, deletions: Deletions)], splitAbove: Int, parts: Int) throws -> [[UInt8]] {
        let positionsBytes = inputs.reduce(0) { $0 + $1.reader.postings.positions.count }
        guard parts > 1, positionsBytes >= splitAbove,
              let largest = inputs.max(by: { $0.reader.postings.positions.count < $1.reader.postings.positions.count }) else { return [] }
        let total = largest.reader.postings.positions.count
        var keys: [[UInt8]] = []
        for i in 1..<parts {
            guard let key = try largest.reader.terms.blockKey(nearPositionsOffset: UInt64(total / parts * i)) else { continue }
            if let last = keys.last, last.withUnsafeBytes({ a in key.withUnsafeBytes { termKeyCompare(a, $0) } }) >= 0 { continue }
            keys.append(key)
        }
        return keys
    }

    /// Merges the terms in [from, below) (nil: unbounded) of every input, in key order, into
    /// `postings`, handing each term's key and postings info to `emit`.
    static func mergeRange(_ inputs: [(reader: SegmentReader, deletions: Deletions)], remap: [[UInt32]],
                           from: [UInt8]?, below: [UInt8]?, into postings: inout PostingsWriter,
                           emit: ([UInt8], TermPostingsInfo, inout PostingsWriter) throws -> Void) throws {
        // Terms: a k-way merge of the inputs' dictionaries (k is small: a linear scan for the
        // smallest key beats a heap).
        let cursors = inputs.map { TermCursor($0.reader.terms) }
        var live = [Bool](repeating: false, count: inputs.count)
        for k in cursors.indices { live[k] = try from.map { try cursors[k].seek($0) } ?? cursors[k].next() }
        var scratch: [UInt32] = []
        var docs: [UInt32] = [], freqs: [UInt32] = []
        var key: [UInt8] = []
        var sources: [Int] = []
        var spare = PostingsIterator.Buffers()
        while true {
            var minIndex = -1
            for k in cursors.indices where live[k] {
                if minIndex < 0 || termKeyCompare(cursors[k].key, cursors[minIndex].key) < 0 { minIndex = k }
            }
            guard minIndex >= 0 else { break }
            if let below, below.withUnsafeBytes({ termKeyCompare(cursors[minIndex].key, $0) }) >= 0 { break }
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: cursors[minIndex].key)
            sources.removeAll(keepingCapacity: true)
            for k in cursors.indices where live[k] && (k == minIndex || termKeyCompare(cursors[k].key, cursors[minIndex].key) == 0) {
                sources.append(k)
            }
            postings.startTerm()
            var any = false
            for k in sources {
                var it = try inputs[k].reader.postings.iterator(cursors[k].info, recycling: &spare)
                defer { it.recycle(into: &spare) }
                // A decoded block of docs at a time, with all their positions: renumbered,
                // deleted docs (and their positions) dropped, handed over in one call.
                while true {
                    let (n, count) = try it.nextDocs(docs: &docs, freqs: &freqs, deltas: &scratch)
                    guard n > 0 else { break }
                    let kept = try Self.renumber(n, count, remap: remap[k], docs: &docs, freqs: &freqs, deltas: &scratch)
                    guard kept.docs > 0 else { continue }
                    try postings.addDocs(docs, freqs: freqs, count: kept.docs, deltas: scratch, positions: kept.positions)
                    any = true
                }
            }
            for k in sources { live[k] = try cursors[k].next() }
            // A term whose every posting was of a deleted doc is dropped.
            guard any else {
                postings.abandonEmptyTerm()
                continue
            }
            try emit(key, try postings.finishTerm(), &postings)
        }
    }
}

extension SegmentMerger {
    /// Maps the first `n` docs in `docs` (with their freqs and `count` position deltas) to
    /// their numbers in the merged segment, in place, dropping deleted ones (`.max` in
    /// `remap`) with their positions. Returns how many docs and positions are left.
    static func renumber(_ n: Int, _ count: Int, remap: [UInt32], docs: inout [UInt32], freqs: inout [UInt32],
                         deltas: inout [UInt32]) throws(IndexFormatError) -> (docs: Int, positions: Int) {
        try remap.withUnsafeBufferPointer { (map) throws(IndexFormatError) -> (docs: Int, positions: Int) in
            try docs.withUnsafeMutableBufferPointer { (d) throws(IndexFormatError) -> (docs: Int, positions: Int) in
                try freqs.withUnsafeMutableBufferPointer { (f) throws(IndexFormatError) -> (docs: Int, positions: Int) in
                    try deltas.withUnsafeMutableBufferPointer { (p) throws(IndexFormatError) -> (docs: Int, positions: Int) in
                        var kept = 0, read = 0, written = 0
                        for j in 0..<n {
                            let old = Int(d[j]), freq = Int(f[j])
                            guard old < map.count else {
                                throw IndexFormatError(.corrupt, "a posting names document \(old) of a \(map.count)-document segment")
                            }
                            let new = map[old]
                            if new != .max {
                                d[kept] = new
                                f[kept] = f[j]
                                guard freq <= count - read else { throw IndexFormatError(.corrupt, "a block's freqs add up to more than \(count) positions") }
                                if written != read, let base = p.baseAddress {
                                    (base + written).update(from: base + read, count: freq)  // overlapping moves are allowed
                                }
                                written += freq
                                kept += 1
                            }
                            read += freq
                        }
                        guard read == count else { throw IndexFormatError(.corrupt, "a block's freqs add up to \(read) positions, not \(count)") }
                        return (kept, written)
                    }
                }
            }
        }
    }
}

/// One range of a split terms pass ([from, below), nil: unbounded): its postings and
/// positions content and its dictionary entries (key, info relative to its own content), in
/// scratch files next to the segment, created when the range is claimed. Each is unlinked as
/// soon as it is created: a crash leaves nothing behind.
final class TermsPart: @unchecked Sendable {
    let directory: String
    let name: String
    let from: [UInt8]
    let below: [UInt8]?
    /// Signalled once when the claiming thread is done with the range (merged or failed).
    let finished = DispatchSemaphore(value: 0)
    private var files: (docs: ScratchFile, positions: ScratchFile, terms: ScratchFile)?

    init(directory: String, name: String, from: [UInt8], below: [UInt8]?) {
        self.directory = directory
        self.name = name
        self.from = from
        self.below = below
    }

    /// A term's postings info written after `shift` bytes of content by another writer,
    /// relative to its own content before.
    static func shifted(_ info: TermPostingsInfo, by shift: (docs: Int, positions: Int)) -> TermPostingsInfo {
        var info = info
        // A single posting's docsOffset is its doc id, not an offset.
        if info.docFreq > 1 { info.docsOffset += UInt64(shift.docs) }
        info.positionsOffset += UInt64(shift.positions)
        return info
    }

    /// Merges the range (on the thread that claimed it).
    func run(_ inputs: [(reader: SegmentReader, deletions: Deletions)], remap: [[UInt32]]) throws {
        let docs = try ScratchFile(directory + "/" + name + "-docs")
        let positions = try ScratchFile(directory + "/" + name + "-pos")
        let terms = try ScratchFile(directory + "/" + name + "-terms")
        files = (docs, positions, terms)
        var postings = PostingsWriter()
        var headers = postings.headerCounts  // header bytes still to drop from the output
        var entries = ByteWriter()
        func spill(_ d: [UInt8], _ p: [UInt8]) throws(MailsiftError) {
            let dropD = min(headers.docs, d.count), dropP = min(headers.positions, p.count)
            headers = (headers.docs - dropD, headers.positions - dropP)
            try docs.append(dropD == 0 ? d : Array(d[dropD...]))
            try positions.append(dropP == 0 ? p : Array(p[dropP...]))
        }
        try SegmentMerger.mergeRange(inputs, remap: remap, from: from, below: below, into: &postings) { key, info, postings in
            entries.varint(UInt64(key.count))
            entries.bytes += key
            info.encode(into: &entries)
            if entries.bytes.count >= SegmentOutput.chunkSize { try terms.append(entries.drain()) }
            if postings.bufferedBytes >= SegmentOutput.chunkSize {
                let (d, p) = postings.drain()
                try spill(d, p)
            }
        }
        let (d, p) = postings.unframedRest()
        try spill(d, p)
        try terms.append(entries.drain())
    }

    /// Appends the range after those before it: its content through `postings` (so the
    /// footers' checksums cover it), its terms into `dictionary` with offsets shifted past the
    /// content before it, then drops its scratch files. (Called once, after `finished`.)
    func append(into postings: inout PostingsWriter, _ dictionary: inout TermDictionaryWriter, out: SegmentOutput) throws {
        guard let (docs, positions, terms) = files else { throw MailsiftError(.corrupt, "merging into \(out.name): a part of the terms pass never ran") }
        let shift = postings.contentCounts
        for (file, isDocs) in [(docs, true), (positions, false)] {
            let bytes = try file.map()
            var at = 0
            while at < bytes.count {
                let end = min(bytes.count, at + SegmentOutput.chunkSize)
                let chunk = Array(bytes[at..<end])
                if isDocs { postings.appendContent(docs: chunk, positions: []) } else { postings.appendContent(docs: [], positions: chunk) }
                try out.drainIfFull(&postings, &dictionary)
                at = end
            }
        }
        var r = ByteReader(try terms.map())
        var key: [UInt8] = []
        while !r.isAtEnd {
            let n = Int(try r.varint())
            key.removeAll(keepingCapacity: true)
            for _ in 0..<n { key.append(try r.u8()) }
            try dictionary.add(key, Self.shifted(try TermPostingsInfo.decode(&r), by: shift))
            try out.drainIfFull(&postings, &dictionary)
        }
        // Closed (unmapped, gone) now: the parts' mappings would otherwise all count in the
        // process's memory until the last one is appended.
        files = nil
    }
}

/// A file for intermediate bytes: created exclusively, unlinked at once, appended to, then
/// mapped for reading; closed (and so gone) with the object.
final class ScratchFile {
    let path: String
    private let fd: Int32
    private var size = 0
    private var mapping: UnsafeRawBufferPointer?

    init(_ path: String) throws(MailsiftError) {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFiles.error("create", path) }
        unlink(path)
    }

    deinit {
        if let m = mapping, let base = m.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), m.count) }
        close(fd)
    }

    func append(_ bytes: [UInt8]) throws(MailsiftError) {
        guard !bytes.isEmpty else { return }
        try DurableFiles.writeAll(fd, bytes, path: path)
        size += bytes.count
    }

    /// The bytes appended, mapped read-only (appending afterwards is not allowed).
    func map() throws(MailsiftError) -> UnsafeRawBufferPointer {
        if let mapping { return mapping }
        guard size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else { throw DurableFiles.error("mmap", path) }
        let m = UnsafeRawBufferPointer(start: p, count: size)
        mapping = m
        return m
    }
}

/// A value handed to another thread whose owner guarantees the use is safe (here: readers
/// that take concurrent reads, an output that locks its writes).
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Work on a thread of its own; `wait` joins it and rethrows its error. The thread lets go
/// of its input before `wait` returns (a flush's helpers hold the whole buffer, which the
/// writer frees and trims right after).
///
/// When no thread can be had (`startThread` fails, or a `.thread` fault for `label`), the work
/// runs here and now with `inline`; otherwise it does not run, `started` is false and `wait`
/// returns at once: the caller does the work itself (nothing waits for a thread that never ran).
final class BackgroundPass: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var failure: Error?
    /// Whether the work ran or runs (on a thread of its own, or inline).
    private(set) var started = true

    /// A value a thread takes and drops itself (a closure cannot drop what it captured).
    final class Slot<Value>: @unchecked Sendable {
        var value: Value?
        init(_ value: Value) { self.value = value }
    }

    /// `label`: the output the work is for (a path), for fault injection.
    init<Input>(_ input: Unchecked<Input>, label: String, inline: Bool = false,
                _ work: @escaping @Sendable (Unchecked<Input>) throws -> Void) {
        let slot = Slot(input)
        let run: @Sendable () -> Void = { [self] in
            if let input = slot.value {
                slot.value = nil
                do { try work(input) } catch { failure = error }
            }
            done.signal()
        }
        if StorageFaults.check(.thread, label) == nil, startThread(name: "ms-pass", run) { return }
        if inline {
            run()
        } else {
            slot.value = nil
            started = false
            done.signal()
        }
    }

    func wait() throws {
        done.wait()
        if let failure { throw failure }
    }
}
