/// Terms with their positions, their bytes end to end in one buffer: what analysis hands the
/// index for one field of one message. Three flat arrays instead of a `String` per term, so
/// building, moving and freeing a message's terms costs no reference counting per term.
public struct TermList: Sendable {
    /// The terms' UTF-8 bytes, end to end.
    public private(set) var bytes: [UInt8] = []
    /// Where each term ends in `bytes` (it starts where the previous one ends).
    public private(set) var ends: [UInt32] = []
    public private(set) var positions: [UInt32] = []

    public init() {}

    /// A list from its three arrays as `bytes`, `ends` and `positions` describe them (an
    /// analyzer fills them in scratch memory and hands them over at once). Ends must be
    /// non-decreasing, the last at `bytes.count` (no stray bytes a later append would glue
    /// onto its term), with one position per end; otherwise the list is empty.
    public init(bytes: [UInt8], ends: [UInt32], positions: [UInt32]) {
        var previous: UInt32 = 0
        for end in ends {
            guard end >= previous else { return }
            previous = end
        }
        guard ends.count == positions.count, Int(previous) == bytes.count else { return }
        self.bytes = bytes
        self.ends = ends
        self.positions = positions
    }

    public init(_ terms: [(term: String, position: UInt32)]) {
        for (term, position) in terms { append(term, position: position) }
    }

    public var count: Int { ends.count }
    public var isEmpty: Bool { ends.isEmpty }

    /// The range of term `i` in `bytes`.
    @inline(__always)
    public func range(_ i: Int) -> Range<Int> {
        (i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])
    }

    public func term(_ i: Int) -> String {
        String(decoding: bytes[range(i)], as: UTF8.self)
    }

    /// Past 4 GiB of term bytes a field takes no more terms (offsets are 32-bit; no message
    /// the parser lets through comes near).
    @inline(__always)
    private func fits(_ n: Int) -> Bool { bytes.count + n <= Int(UInt32.max) }

    public mutating func append(_ term: String, position: UInt32) {
        var t = term
        t.withUTF8 { append($0, position: position) }
    }

    @inline(__always)
    public mutating func append(_ term: UnsafeBufferPointer<UInt8>, position: UInt32) {
        guard fits(term.count) else { return }
        bytes.append(contentsOf: term)
        ends.append(UInt32(bytes.count))
        positions.append(position)
    }

    /// Empties the list, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
    }
}
