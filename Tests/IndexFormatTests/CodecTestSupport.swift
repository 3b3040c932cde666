@testable import IndexFormat
import TestSupport

/// Helpers shared by the term dictionary, stored fields and doc values tests.
enum CodecTestSupport {
    /// `file` with its footer recomputed, so a reader gets past the checksum and meets the
    /// (mutated) content itself.
    static func reframed(_ file: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.bytes = Array(file.prefix(max(0, file.count - FileFraming.footerSize)))
        FileFraming.finish(&w)
        return w.bytes
    }

    /// Length of the header of a file of format `name`.
    static func headerSize(_ name: String) -> Int { 4 + 1 + name.utf8.count + 4 }

    /// Seeded corruptions of the content between header and footer (flips, random bytes,
    /// zeroed and 0xFF runs, truncations, insertions), each with a valid footer.
    static func mutations(of file: [UInt8], format name: String, count: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        let h = headerSize(name)
        let body = Array(file[h..<(file.count - FileFraming.footerSize)])
        var out: [[UInt8]] = []
        for _ in 0..<count {
            var c = body
            let kind = rng.next() % 6
            let at = c.isEmpty ? 0 : Int(rng.next() % UInt64(c.count))
            switch kind {
            case 0 where !c.isEmpty: c[at] ^= UInt8(1 << (rng.next() % 8))
            case 1 where !c.isEmpty:
                for _ in 0..<(1 + rng.next() % 4) { c[Int(rng.next() % UInt64(c.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 2 where !c.isEmpty:
                let n = min(c.count - at, 1 + Int(rng.next() % 16))
                let v: UInt8 = rng.next() % 2 == 0 ? 0 : 0xFF
                for k in at..<(at + n) { c[k] = v }
            case 3: c = Array(c.prefix(at))  // truncation at the end
            case 4: c.removeFirst(min(c.count, 1 + Int(rng.next() % 8)))  // bytes lost up front
            default:
                let n = 1 + Int(rng.next() % 8)
                c.insert(contentsOf: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            }
            out.append(reframed(Array(file[..<h]) + c + [UInt8](repeating: 0, count: FileFraming.footerSize)))
        }
        return out
    }
}
