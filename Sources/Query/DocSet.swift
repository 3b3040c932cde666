/// A set of documents of one index snapshot: a bitset per segment (local doc numbers). What
/// every query node evaluates to; AND, OR and NOT are word-wise.
struct DocSet: Sendable, Equatable {
    var bits: [[UInt64]]

    /// The empty set for segments of these sizes.
    init(empty counts: [UInt32]) {
        bits = counts.map { [UInt64](repeating: 0, count: (Int($0) + 63) / 64) }
    }

    init(bits: [[UInt64]]) { self.bits = bits }

    @inline(__always) func contains(_ segment: Int, _ doc: UInt32) -> Bool {
        let w = Int(doc >> 6)
        guard segment < bits.count, w < bits[segment].count else { return false }
        return bits[segment][w] & (1 << UInt64(doc & 63)) != 0
    }

    @inline(__always) mutating func insert(_ segment: Int, _ doc: UInt32) {
        let w = Int(doc >> 6)
        guard segment < bits.count, w < bits[segment].count else { return }
        bits[segment][w] |= 1 << UInt64(doc & 63)
    }

    /// Docs 0..<count of a segment.
    mutating func insertAll(_ segment: Int, count: Int) {
        guard segment < bits.count else { return }
        let n = min(count, bits[segment].count * 64)
        for w in 0..<(n >> 6) { bits[segment][w] = ~0 }
        if n & 63 != 0 { bits[segment][n >> 6] |= (1 << UInt64(n & 63)) - 1 }
    }

    mutating func formIntersection(_ other: DocSet) {
        for s in bits.indices where s < other.bits.count {
            for w in bits[s].indices where w < other.bits[s].count { bits[s][w] &= other.bits[s][w] }
        }
    }

    mutating func formUnion(_ other: DocSet) {
        for s in bits.indices where s < other.bits.count {
            for w in bits[s].indices where w < other.bits[s].count { bits[s][w] |= other.bits[s][w] }
        }
    }

    /// self − other.
    mutating func subtract(_ other: DocSet) {
        for s in bits.indices where s < other.bits.count {
            for w in bits[s].indices where w < other.bits[s].count { bits[s][w] &= ~other.bits[s][w] }
        }
    }

    var count: Int { bits.reduce(0) { $0 + $1.reduce(0) { $0 + $1.nonzeroBitCount } } }

    var isEmpty: Bool { bits.allSatisfy { $0.allSatisfy { $0 == 0 } } }

    /// Calls `body` with every (segment, doc) in order.
    func forEach(_ body: (Int, UInt32) throws -> Void) rethrows {
        for (s, words) in bits.enumerated() {
            for (w, word) in words.enumerated() where word != 0 {
                var x = word
                while x != 0 {
                    let b = x.trailingZeroBitCount
                    try body(s, UInt32(w * 64 + b))
                    x &= x - 1
                }
            }
        }
    }
}
