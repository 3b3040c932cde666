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
            let sources = Self.sources(term, segment: s)
            guard !sources.isEmpty else { return nil }
            let list = try segment.topDocuments(sources, b: Self.b, depth: depth, checkpoint: checkDeadline)
            let picked = Self.championPick(list, k: k, depth: depth, matches: inSegment, idf: term.idf) { d in
                let d = Int(d)
                return d >> 6 < words.count && words[d >> 6] & (1 << UInt64(d & 63)) != 0
            }
            guard let picked else { return nil }
            for (doc, score) in picked { top.offer(Entry(segment: s, doc: doc, key: score, tie: Int64(bases[s] + Int(doc)))) }
        }
        return top.sorted()
    }

    /// One segment's share of a page from its champion list (largest sum first): its matches
    /// in list order, each scored as `saturate` scores it, until `k` are taken and then on
    /// while a score could still reach the `k`-th best's (rounding can order two nearly equal
    /// sums' scores the other way, so the stop is on the scores: once one is below the lowest
    /// of the first `k` by more than rounding, no later one can reach it). nil when the list
    /// cannot decide: it ends first, holds `depth` entries (so there may be more) and not
    /// every one of the segment's `matches`.
    static func championPick(_ list: [SegmentReader.RankedDocument], k: Int, depth: Int, matches: Int, idf: Double,
                             isMatch: (UInt32) -> Bool) -> [(doc: UInt32, score: Double)]? {
        var picked: [(doc: UInt32, score: Double)] = []
        var lowest = Double.infinity
        for ranked in list {
            guard isMatch(ranked.doc) else { continue }
            // As `saturate` adds it to a score of 0.
            var score = 0.0
            score += saturation(ranked.sum, idf: idf)
            if picked.count >= k, score < lowest * (1 - 1e-12) { return picked }
            if picked.count < k { lowest = min(lowest, score) }
            picked.append((ranked.doc, score))
        }
        // The list ran out: complete (every document with the word is on it, so the matches
        // left have sum 0 and score 0), or every match taken.
        return picked.count == matches || (picked.count >= k && list.count < depth) ? picked : nil
    }
}
