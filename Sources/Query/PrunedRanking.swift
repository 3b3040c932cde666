import Foundation
import IndexEngine
import IndexFormat
import MailsiftCore

/// Block-max pruning for a ranked page: documents are taken in windows of 128 (by doc id);
/// each window gets an upper bound of the BM25F score any of its documents can have, from the
/// per-window maxima of each query term's summed postings (`SegmentReader.windowMaxima`, cached with
/// the segment). Windows are scored exactly in decreasing order of their bound until the
/// bound falls below the page's last score: a common word over 50,000 messages scores a few
/// thousand of them. The scores are computed in the same order of operations as the
/// exhaustive ranking, so the page is the same, bit for bit.
extension Execution {
    /// A query term's postings in every segment and field, its total postings and its BM25
    /// idf (from its largest document frequency in any of its fields, over every segment),
    /// looked up once for all the rankings.
    func resolve(_ alternatives: [String], _ fields: [Field]) throws(MailsiftError) -> ResolvedTerm {
        var infos: [[[TermPostingsInfo]]] = []
        var fieldDF = [Int](repeating: 0, count: fields.count)
        for segment in segments {
            var perField: [[TermPostingsInfo]] = []
            for (i, f) in fields.enumerated() {
                var list: [TermPostingsInfo] = []
                for term in alternatives { list += try lookupBoth(segment, f, term) }
                fieldDF[i] += list.reduce(0) { $0 + Int($1.docFreq) }
                perField.append(list)
            }
            infos.append(perField)
        }
        // At most the live documents: the dictionary's counts include deleted documents and
        // both key spaces (a word and its variant), and past n the idf went negative (then a
        // larger frequency ranked lower, and the window bounds were not bounds).
        let live = max(1, engine.reader.documentCount)
        let df = min(fieldDF.max() ?? 0, live)
        let n = Double(live)
        let idf = df > 0 ? log(1 + (n - Double(df) + 0.5) / (Double(df) + 0.5)) : 0
        return ResolvedTerm(fields: fields, infos: infos, idf: idf, postings: fieldDF.reduce(0, +))
    }

    /// A query term's posting lists in a segment as the rankings sum them: field order (with
    /// its weight; the body's normalized by length), then alternatives, then key bytes.
    static func sources(_ term: ResolvedTerm, segment s: Int) -> [SegmentReader.WindowSource] {
        var list: [SegmentReader.WindowSource] = []
        for (i, f) in term.fields.enumerated() {
            let w = fieldWeights[f] ?? 1
            for info in term.infos[s][i] { list.append(.init(info: info, weight: w, normed: f == .body)) }
        }
        return list
    }

    func rankedTop(_ k: Int, terms queryTerms: [ResolvedTerm], matches: DocSet, bases: [Int]) throws(MailsiftError) -> [Entry] {
        let idfs = queryTerms.map(\.idf)
        struct Window { var bound: Double; var segment: Int; var window: Int }
        typealias Source = SegmentReader.WindowSource
        // Per segment, per query term: its postings in field order (then alternatives, then
        // key bytes), as the exhaustive path accumulates them.
        var sources: [[[Source]]] = []
        var windows: [Window] = []
        for (s, segment) in segments.enumerated() {
            let words = s < matches.bits.count ? matches.bits[s] : []
            let any = words.contains { $0 != 0 }
            var perTerm: [[Source]] = []
            var maxima: [[Float]] = []
            for term in queryTerms {
                let list = Self.sources(term, segment: s)
                perTerm.append(list)
                maxima.append(any && !list.isEmpty ? try segment.windowMaxima(list, b: Self.b, checkpoint: checkDeadline) : [])
            }
            sources.append(perTerm)
            // A window of 128 documents is two words of the match bitmap.
            var w = 0
            while 2 * w < words.count {
                defer { w += 1 }
                guard words[2 * w] != 0 || (2 * w + 1 < words.count && words[2 * w + 1] != 0) else { continue }
                var bound = 0.0
                for (t, m) in maxima.enumerated() where w < m.count {
                    let tf = Double(m[w])
                    if tf > 0 { bound += Self.saturation(tf, idf: idfs[t]) }
                }
                windows.append(Window(bound: bound * (1 + 1e-9), segment: s, window: w))
            }
        }
        // Taken best bound first from a heap: a page usually needs a few dozen of the
        // hundreds of windows, and sorting them all had cost more than scoring those.
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < windows.count, windows[l].bound > windows[best].bound { best = l }
                if r < windows.count, windows[r].bound > windows[best].bound { best = r }
                if best == i { return }
                windows.swapAt(i, best)
                i = best
            }
        }
        for i in stride(from: windows.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        func popBest() -> Window? {
            guard let first = windows.first else { return nil }
            windows.swapAt(0, windows.count - 1)
            windows.removeLast()
            siftDown(0)
            return first
        }
        var top = TopEntries(k)
        // One window's term frequencies and scores, by doc - window start (reset as used).
        var tf = [Double](repeating: 0, count: 128)
        var scores = [Double](repeating: 0, count: 128)
        // Windows are taken by bound, a batch at a time, and each batch is scored in doc
        // order so the postings iterators only move forward within it.
        var iterators = [[PostingsIterator?]](repeating: [], count: segments.count)
        var batch: [Window] = []
        // The first batch as large as the page: with each window bounded by its best
        // document's score (one term), the page's documents are in the page's count of best
        // windows, and one batch settles it.
        let batchSize = max(8, min(32, k))
        while let first = windows.first, first.bound >= top.threshold {
            try checkDeadline()
            batch.removeAll(keepingCapacity: true)
            while batch.count < batchSize, let w = windows.first, w.bound >= top.threshold, let best = popBest() { batch.append(best) }
            batch.sort { ($0.segment, $0.window) < ($1.segment, $1.window) }
            for i in iterators.indices { iterators[i].removeAll(keepingCapacity: true) }
            for win in batch {
                let s = win.segment
                let words = matches.bits[s]
                let low = UInt32(win.window << 7), high = low + 128
                let lowWord = words[2 * win.window]
                let highWord = 2 * win.window + 1 < words.count ? words[2 * win.window + 1] : 0
                let segment = segments[s]
                // Taken out while in use: a second reference would make every block the
                // iterators decode copy their buffers first.
                var its: [PostingsIterator?] = []
                swap(&its, &iterators[s])
                var slot = 0
                for (t, list) in sources[s].enumerated() {
                    for source in list {
                        let inverseNorms = source.normed ? try segment.inverseBodyNorms(b: Self.b) : []
                        do {
                            if slot == its.count { its.append(nil) }
                            var it = try its[slot].take() ?? segment.postings.iterator(source.info)
                            var d = it.doc >= low ? it.doc : try it.advance(to: low)
                            // The window's postings, each scored when its doc is a match.
                            while d < high {
                                let j = Int(d - low)
                                if (j < 64 ? lowWord >> UInt64(j) : highWord >> UInt64(j - 64)) & 1 != 0 {
                                    let scale = source.normed ? source.weight * inverseNorms[Int(d)] : source.weight
                                    tf[j] += scale * Double(it.freq)
                                }
                                d = try it.next()
                            }
                            its[slot] = it
                        } catch {
                            throw MailsiftError(.corrupt, "segment \(segment.name): \(error)")
                        }
                        slot += 1
                    }
                    Self.saturate(&tf, into: &scores, idf: idfs[t])
                }
                swap(&its, &iterators[s])
                for (half, word) in [lowWord, highWord].enumerated() {
                    var x = word
                    while x != 0 {
                        let j = half << 6 | x.trailingZeroBitCount
                        x &= x - 1
                        let d = low + UInt32(j)
                        // (A score equal to the worst kept one can still win on its tie.)
                        if scores[j] >= top.threshold { top.offer(Entry(segment: s, doc: d, key: scores[j], tie: Int64(bases[s] + Int(d)))) }
                    }
                }
                for j in 0..<128 { scores[j] = 0 }
            }
        }
        return top.sorted()
    }
}
