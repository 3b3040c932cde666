import Foundation
import IndexEngine
import IndexFormat
import MailsiftCore

/// Block-max pruning for a ranked page: documents are taken in windows of 128 (by doc id);
/// each window gets an upper bound of the BM25F score any of its documents can have, from the
/// per-window maxima of each query term's postings (`SegmentReader.windowMaxima`, cached with
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
        let df = fieldDF.max() ?? 0
        let n = Double(max(1, engine.reader.documentCount))
        let idf = df > 0 ? log(1 + (n - Double(df) + 0.5) / (Double(df) + 0.5)) : 0
        return ResolvedTerm(fields: fields, infos: infos, idf: idf, postings: fieldDF.reduce(0, +))
    }

    func rankedTop(_ k: Int, terms queryTerms: [ResolvedTerm], matchDocs: [[UInt32]], bases: [Int]) throws(MailsiftError) -> [Entry] {
        let idfs = queryTerms.map(\.idf)
        struct Window { var bound: Double; var segment: Int; var window: Int }
        struct Source { var info: TermPostingsInfo; var scale: Double; var body: Bool }
        // Per segment, per query term: its postings in field order (then alternatives, then
        // key bytes), as the exhaustive path accumulates them.
        var sources: [[[Source]]] = []
        var windows: [Window] = []
        for (s, segment) in segments.enumerated() {
            var perTerm: [[Source]] = []
            var maxima: [[(Double, [Float])]] = []
            for term in queryTerms {
                var list: [Source] = []
                var bounds: [(Double, [Float])] = []
                for (i, f) in term.fields.enumerated() {
                    let w = Self.fieldWeights[f] ?? 1
                    for info in term.infos[s][i] {
                        list.append(Source(info: info, scale: w, body: f == .body))
                        if !matchDocs[s].isEmpty {
                            let norms = f == .body ? try segment.inverseBodyNorms(b: Self.b) : nil
                            bounds.append((w, try segment.windowMaxima(info, norms: norms)))
                        }
                    }
                }
                perTerm.append(list)
                maxima.append(bounds)
            }
            sources.append(perTerm)
            // Each window with matches once: from a window's first match, gallop to the first
            // match past it.
            let docs = matchDocs[s]
            var i = 0
            while i < docs.count {
                let w = Int(docs[i] >> 7)
                i = Self.gallop(docs, after: i, to: UInt32((w + 1) << 7))
                var bound = 0.0
                for (t, bounds) in maxima.enumerated() {
                    var tf = 0.0
                    for (weight, m) in bounds where w < m.count { tf += weight * Double(m[w]) }
                    if tf > 0 { bound += idfs[t] * tf / (Self.k1 + tf) }
                }
                windows.append(Window(bound: bound * (1 + 1e-9), segment: s, window: w))
            }
        }
        windows.sort { $0.bound > $1.bound }
        var top: [Entry] = []  // the best `k` so far, kept sorted best first (k is a page)
        let before: (Entry, Entry) -> Bool = { ($0.key, $0.tie) > ($1.key, $1.tie) }
        // Windows are taken by bound, a batch at a time, and each batch is scored in doc
        // order so the postings iterators only move forward within it.
        var next = 0
        while next < windows.count {
            if top.count == k, let worst = top.last, windows[next].bound < worst.key { break }
            try checkDeadline()
            var batch: [Window] = []
            while next < windows.count, batch.count < 32 {
                if top.count == k, let worst = top.last, windows[next].bound < worst.key { break }
                batch.append(windows[next])
                next += 1
            }
            batch.sort { ($0.segment, $0.window) < ($1.segment, $1.window) }
            var iterators = [[PostingsIterator?]](repeating: [], count: segments.count)
            for win in batch {
                let s = win.segment
                let docs = matchDocs[s]
                // The window's matches: docs in [w·128, (w+1)·128).
                let lowDoc = UInt32(win.window << 7), highDoc = UInt32((win.window + 1) << 7)
                var lo = 0, hi = docs.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if docs[mid] < lowDoc { lo = mid + 1 } else { hi = mid }
                }
                var end = lo
                while end < docs.count, docs[end] < highDoc { end += 1 }
                guard end > lo else { continue }
                let local = docs[lo..<end]
                var scores = [Double](repeating: 0, count: local.count)
                var tf = [Double](repeating: 0, count: local.count)
                let segment = segments[s]
                // Taken out while in use: a second reference would make every block the
                // iterators decode copy their buffers first.
                var its: [PostingsIterator?] = []
                swap(&its, &iterators[s])
                var slot = 0
                for (t, list) in sources[s].enumerated() {
                    for source in list {
                        let inverseNorms = source.body ? try segment.inverseBodyNorms(b: Self.b) : []
                        do {
                            if slot == its.count { its.append(nil) }
                            var it = try its[slot].take() ?? segment.postings.iterator(source.info)
                            for (j, d) in local.enumerated() {
                                let pd = it.doc >= d ? it.doc : try it.advance(to: d)
                                if pd == PostingsIterator.noMoreDocs { break }
                                guard pd == d else { continue }
                                let scale = source.body ? source.scale * inverseNorms[Int(d)] : source.scale
                                tf[j] += scale * Double(it.freq)
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
                for (j, d) in local.enumerated() {
                    let e = Entry(segment: s, doc: d, key: scores[j], tie: Int64(bases[s] + Int(d)))
                    if top.count == k, let worst = top.last, !before(e, worst) { continue }
                    // Insert in order (k is a page: small).
                    var at = top.count
                    while at > 0, before(e, top[at - 1]) { at -= 1 }
                    top.insert(e, at: at)
                    if top.count > k { top.removeLast() }
                }
            }
        }
        return top
    }
}
