/// Compiled queries, the least recently used evicted beyond `capacity` entries or
/// `byteCapacity` estimated bytes. Plans still running an evicted entry keep it alive until
/// they finish.
struct CodeCache<Key: Hashable, Code> {
    private var entries: [Key: (code: Code, lastUse: Int, bytes: Int)] = [:]
    private var clock = 0
    private(set) var capacity: Int
    let byteCapacity: Int
    private(set) var bytes = 0
    private(set) var statistics = CodeCacheStatistics()

    init(capacity: Int, byteCapacity: Int = .max) {
        self.capacity = max(1, capacity)
        self.byteCapacity = byteCapacity
    }

    mutating func lookup(_ key: Key) -> Code? {
        clock += 1
        guard let entry = entries[key] else {
            statistics.misses += 1
            return nil
        }
        entries[key] = (entry.code, clock, entry.bytes)
        statistics.hits += 1
        return entry.code
    }

    /// The entry, without counting a use.
    func contains(_ key: Key) -> Code? { entries[key]?.code }

    mutating func insert(_ key: Key, _ code: Code, bytes: Int) {
        clock += 1
        if let old = entries[key] { self.bytes -= old.bytes }
        entries[key] = (code, clock, bytes)
        self.bytes += bytes
        evict()
    }

    /// Updates an entry's size (its code grew by a tier).
    mutating func charge(_ key: Key, bytes: Int) {
        guard let entry = entries[key] else { return }
        self.bytes += bytes - entry.bytes
        entries[key] = (entry.code, entry.lastUse, bytes)
        evict()
    }

    mutating func resize(_ newCapacity: Int) {
        capacity = max(1, newCapacity)
        evict()
    }

    private mutating func evict() {
        while entries.count > capacity || (bytes > byteCapacity && entries.count > 1),
              let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            bytes -= entries[oldest]?.bytes ?? 0
            entries[oldest] = nil
            statistics.evictions += 1
        }
        statistics.entries = entries.count
    }
}

/// What the code cache did so far.
struct CodeCacheStatistics: Equatable {
    var hits = 0
    var misses = 0
    var evictions = 0
    var entries = 0
}

