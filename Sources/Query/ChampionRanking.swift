import IndexEngine
import MailsiftCore

/// A ranked page of a one-word query read off each segment's champion list
/// (`SegmentReader.topDocuments`): the documents with the largest sums of the word's weighted
/// field frequencies, kept with the segment. With one word, a match's BM25F score is
/// `idf · sum / (k1 + sum)` and so follows the sum, so each segment's best matches are the
/// first matches on its list; the list's documents are checked against the matches (deletions,
/// mailbox and other filters) and scored with the same operations as the other rankings, so
/// the page is the same, bit for bit. Where a list cannot decide (it ends before the page is
/// full and does not hold all of the segment's matches), nil: the caller ranks the usual way.
extension Execution {
    func championTop(_ k: Int, term: ResolvedTerm, matches: DocSet, bases: [Int], depth: Int) throws(MailsiftError) -> [Entry]? {
        // (The score grows with the sum only for a positive idf.)
        guard k > 0, k <= depth, term.idf > 0 else { return nil }
        var top = TopEntries(k)
        for (s, segment) in segments.enumerated() where s < matches.bits.count {
            let words = matches.bits[s]
            var inSegment = 0
            for w in words { inSegment += w.nonzeroBitCount }
            guard inSegment > 0 else { continue }
            var sources: [SegmentReader.WindowSource] = []
            for (i, f) in term.fields.enumerated() {
                let w = Self.fieldWeights[f] ?? 1
                for info in term.infos[s][i] { sources.append(.init(info: info, weight: w, normed: f == .body)) }
            }
            guard !sources.isEmpty else { return nil }
            let list = try segment.topDocuments(sources, b: Self.b, depth: depth, checkpoint: checkDeadline)
            var taken = 0
            // After the k-th match, the ones whose sum is within rounding of its sum: the
            // score's division can order two nearly equal sums the other way by an ulp.
            var floor = -Double.infinity
            var decided = false
            for ranked in list {
                if ranked.sum < floor {
                    decided = true
                    break
                }
                let d = Int(ranked.doc)
                guard d >> 6 < words.count, words[d >> 6] & (1 << UInt64(d & 63)) != 0 else { continue }
                // As `saturate` adds it to a score of 0.
                var score = 0.0
                score += term.idf * ranked.sum / (Self.k1 + ranked.sum)
                top.offer(Entry(segment: s, doc: ranked.doc, key: score, tie: Int64(bases[s] + d)))
                taken += 1
                if taken == k { floor = ranked.sum * (1 - 1e-9) }
            }
            // Every match of the segment listed and offered; or the page's share settled.
            guard decided || taken == inSegment || (taken >= k && list.count < depth) else { return nil }
        }
        return top.sorted()
    }
}
