/// Values derived from immutable data (a segment's files), kept by key up to `capacity` in
/// total cost (array elements, bytes, entries: the caller's unit); the value that would pass
/// it empties the cache first (the keys a segment sees change with the queries). Not
/// thread-safe: hold it in a `Locked`.
public struct CappedCache<Key: Hashable, Value> {
    private var entries: [Key: (value: Value, cost: Int)] = [:]
    private var size = 0
    public let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    public var count: Int { entries.count }

    public func value(_ key: Key) -> Value? { entries[key]?.value }

    public mutating func keep(_ key: Key, _ value: Value, cost: Int) {
        if size + cost > capacity { (entries, size) = ([:], 0) }
        if let old = entries.updateValue((value, cost), forKey: key) { size -= old.cost }
        size += cost
    }

    /// An array's cost is its element count.
    public mutating func keep<Element>(_ key: Key, _ value: Value) where Value == [Element] {
        keep(key, value, cost: value.count)
    }
}
