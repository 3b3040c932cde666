import IndexEngine
import IndexFormat
import MailsiftCore

/// A ranked page by term-at-a-time accumulation: each query term's postings, in each of its
/// fields, are read block by block (docs and freqs together) and added into a dense array
/// indexed by the match's rank among the segment's matches (a popcount over the match
/// bitmap). One sequential pass per posting list, no per-document merging or skipping, and
/// arrays the size of the matches.
///
/// The sums are taken in the same order as the exhaustive ranking's (per document: field,
/// then alternative, then key byte; per term: idf · tf / (k1 + tf)), so scores and pages are
/// the same, bit for bit (PrunedRankingTests compares them).
extension Execution {
    /// One query term's BM25 saturation added to each score (`score += idf · tf / (k1 + tf)`
    /// where tf > 0) and the term frequencies reset: the same operations in the same order
    /// in every ranking, on raw buffers (an array write per element re-checked uniqueness).
    /// A term's BM25 saturation of a (weighted, normalized) frequency: the one formula every
    /// ranking and bound uses, so their scores agree bit for bit.
    @inline(__always)
    static func saturation(_ tf: Double, idf: Double) -> Double { idf * tf / (k1 + tf) }

    static func saturate(_ tf: inout [Double], into scores: inout [Double], idf: Double) {
        tf.withUnsafeMutableBufferPointer { t in
            scores.withUnsafeMutableBufferPointer { s in
                for i in 0..<min(t.count, s.count) where t[i] > 0 {
                    s[i] += saturation(t[i], idf: idf)
                    t[i] = 0
                }
            }
        }
    }

    func denseTop(_ k: Int, terms queryTerms: [ResolvedTerm], matches: DocSet, bases: [Int]) throws(MailsiftError) -> [Entry] {
        var top = TopEntries(k)
        let docs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)
        let freqs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 128)
        defer {
            docs.deallocate()
            freqs.deallocate()
        }
        for (s, segment) in segments.enumerated() where s < matches.bits.count {
            let words = matches.bits[s]
            // Rank of each word's first match among the segment's matches.
            var prefix = [Int](repeating: 0, count: words.count)
            var m = 0
            for (w, word) in words.enumerated() {
                prefix[w] = m
                m += word.nonzeroBitCount
            }
            guard m > 0 else { continue }
            try checkDeadline()
            var scores = [Double](repeating: 0, count: m)
            var tf = [Double](repeating: 0, count: m)
            for term in queryTerms {
                for (fi, f) in term.fields.enumerated() {
                    let weight = Self.fieldWeights[f] ?? 1
                    for info in term.infos[s][fi] {
                        let norms: [Double] = f == .body ? try segment.inverseBodyNorms(b: Self.b) : []
                        do {
                            var it = try segment.postings.iterator(info)
                            try words.withUnsafeBufferPointer { (bits) throws(IndexFormatError) in
                                try tf.withUnsafeMutableBufferPointer { (acc) throws(IndexFormatError) in
                                    try norms.withUnsafeBufferPointer { (norm) throws(IndexFormatError) in
                                        while true {
                                            let n = try it.nextBlock(into: docs, freqs: freqs)
                                            if n == 0 { break }
                                            for j in 0..<n {
                                                let d = Int(docs[j])
                                                let w = d >> 6
                                                guard w < bits.count else { continue }
                                                let bit: UInt64 = 1 << UInt64(d & 63)
                                                let word = bits[w]
                                                guard word & bit != 0 else { continue }
                                                let r = prefix[w] + (word & (bit &- 1)).nonzeroBitCount
                                                let scale = norm.isEmpty ? weight : weight * (d < norm.count ? norm[d] : 1)
                                                acc[r] += scale * Double(freqs[j])
                                            }
                                        }
                                    }
                                }
                            }
                        } catch {
                            throw MailsiftError(.corrupt, "segment \(segment.name): \(error)")
                        }
                    }
                }
                Self.saturate(&tf, into: &scores, idf: term.idf)
            }
            var r = 0
            for (w, word) in words.enumerated() where word != 0 {
                var x = word
                while x != 0 {
                    let d = UInt32(truncatingIfNeeded: w << 6 | x.trailingZeroBitCount)
                    // (Docs come in increasing tie order: one scoring as the worst kept beats it.)
                    if scores[r] >= top.threshold { top.offer(Entry(segment: s, doc: d, key: scores[r], tie: Int64(bases[s] + Int(d)))) }
                    r += 1
                    x &= x - 1
                }
            }
        }
        return top.sorted()
    }
}

/// The best `k` entries by relevance (score, then the later doc), kept in a heap whose root
/// is the worst of them.
struct TopEntries {
    let k: Int
    private var heap: [Entry] = []

    init(_ k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(min(self.k, 1 << 16))
    }

    @inline(__always) static func before(_ a: Entry, _ b: Entry) -> Bool { (a.key, a.tie) > (b.key, b.tie) }

    /// The score an entry needs to be considered (the worst kept one's, once `k` are kept).
    var threshold: Double { heap.count < k || k == 0 ? -.infinity : heap[0].key }

    mutating func offer(_ e: Entry) {
        if heap.count < k {
            heap.append(e)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard Self.before(heap[p], heap[i]) else { break }
                heap.swapAt(p, i)
                i = p
            }
        } else if k > 0, Self.before(e, heap[0]) {
            heap[0] = e
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var worst = i
                if l < heap.count, Self.before(heap[worst], heap[l]) { worst = l }
                if r < heap.count, Self.before(heap[worst], heap[r]) { worst = r }
                if worst == i { break }
                heap.swapAt(i, worst)
                i = worst
            }
        }
    }

    func sorted() -> [Entry] { heap.sorted(by: Self.before) }
}
