extension StringProtocol {
    /// Byte-wise substring test on UTF-8. Foundation's `contains(_: String)` goes through
    /// NSString and locale-aware search, which showed up in profiles of the header path.
    @inline(__always)
    func containsBytes(_ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard let first = n.first else { return true }
        let hay = self.utf8
        var i = hay.startIndex
        while i != hay.endIndex {
            if hay[i] == first {
                var j = i
                var k = 0
                while k < n.count, j != hay.endIndex, hay[j] == n[k] {
                    k += 1
                    j = hay.index(after: j)
                }
                if k == n.count { return true }
            }
            i = hay.index(after: i)
        }
        return false
    }
}
