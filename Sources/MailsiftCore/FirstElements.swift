/// The first `k` of `items` in the order `before` gives, in that order: a heap of the `k`
/// best so far (its root the worst of them), O(n log k) instead of sorting everything.
@inlinable
public func firstElements<S: Sequence>(_ k: Int, of items: S, by before: (S.Element, S.Element) -> Bool) -> [S.Element] {
    guard k > 0 else { return [] }
    var heap: [S.Element] = []
    heap.reserveCapacity(min(k, items.underestimatedCount))
    // Max-heap by `before`: parent is "after" (worse than or equal to) its children.
    func siftDown(_ i0: Int) {
        var i = i0
        while true {
            let l = 2 * i + 1, r = l + 1
            var worst = i
            if l < heap.count, before(heap[worst], heap[l]) { worst = l }
            if r < heap.count, before(heap[worst], heap[r]) { worst = r }
            if worst == i { return }
            heap.swapAt(i, worst)
            i = worst
        }
    }
    for item in items {
        if heap.count < k {
            heap.append(item)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard before(heap[p], heap[i]) else { break }
                heap.swapAt(p, i)
                i = p
            }
        } else if before(item, heap[0]) {
            heap[0] = item
            siftDown(0)
        }
    }
    heap.sort(by: before)
    return heap
}
