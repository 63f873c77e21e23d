import KilnCore

#if canImport(Glibc)
import Glibc
#endif

/// A join's hash table: entries `[next][hash][record]` chained from a power-of-two directory
/// with a 16-bit tag per slot, behind the header compiled code reads (`HashTableLayout`).
///
/// The build only appends, and compiled code does it itself: it takes the entry at the
/// header's cursor and moves the cursor on, and calls the runtime (`grow`) only when the
/// current chunk is full. Nothing reads the table before the build ends, so `link` makes the
/// directory once, at its final size, when it does.
final class JoinHashTable {
    let entrySize: Int
    let budget: MemoryBudget?
    let header = UnsafeMutableRawPointer.allocate(byteCount: HashTableLayout.headerSize, alignment: 16)
    private(set) var directory: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Per slot, one bit (of 16, chosen by the hash's top four bits) per entry in its chain.
    private(set) var tags: UnsafeMutablePointer<UInt16>
    private(set) var mask = 0
    /// Zeroed chunks in insertion order with the entries each holds (`used`; the last one's
    /// entries reach up to the header's cursor).
    private var chunks: [(base: UnsafeMutableRawPointer, capacity: Int, used: Int)] = []
    /// Entries in all chunks but the last.
    private var completed = 0

    init(recordSize: Int, budget: MemoryBudget?) {
        entrySize = HashTableLayout.entrySize(recordSize: recordSize)
        self.budget = budget
        directory = .allocate(capacity: 1)
        directory.initialize(to: nil)
        tags = .allocate(capacity: 1)
        tags.initialize(to: 0)
        budget?.charge(10)
        header.initializeMemory(as: UInt8.self, repeating: 0, count: HashTableLayout.headerSize)
        publish()
    }

    deinit {
        for chunk in chunks { free(chunk.base) }
        directory.deallocate()
        tags.deallocate()
        header.deallocate()
    }

    private func publish() {
        header.storeBytes(of: UnsafeMutableRawPointer(directory), toByteOffset: HashTableLayout.directory, as: UnsafeMutableRawPointer.self)
        header.storeBytes(of: Int64(mask), toByteOffset: HashTableLayout.mask, as: Int64.self)
        header.storeBytes(of: UnsafeMutableRawPointer(tags), toByteOffset: HashTableLayout.tags, as: UnsafeMutableRawPointer.self)
    }

    private var cursor: UnsafeMutableRawPointer? {
        header.load(fromByteOffset: HashTableLayout.cursor, as: UnsafeMutableRawPointer?.self)
    }

    private func setCursor(_ cursor: UnsafeMutableRawPointer, remaining: Int) {
        header.storeBytes(of: cursor, toByteOffset: HashTableLayout.cursor, as: UnsafeMutableRawPointer.self)
        header.storeBytes(of: Int64(remaining), toByteOffset: HashTableLayout.remaining, as: Int64.self)
    }

    /// How many entries chunk `index` holds.
    private func filled(_ index: Int) -> Int {
        index < chunks.count - 1 ? chunks[index].used : (cursor! - chunks[index].base) / entrySize
    }

    var count: Int { chunks.isEmpty ? 0 : completed + filled(chunks.count - 1) }

    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt16 { 1 << UInt16(truncatingIfNeeded: hash >> 60) }

    /// The current chunk is full: a new zeroed one, twice as large as the last up to 4 MiB.
    /// Returns its first entry; the cursor moves past it.
    func grow() -> UnsafeMutableRawPointer {
        if !chunks.isEmpty {
            let last = chunks.count - 1
            chunks[last].used = filled(last)
            completed += chunks[last].used
        }
        let bytes = (64 << 10) << min(chunks.count, 6)
        let capacity = max(1, bytes / entrySize)
        budget?.charge(capacity * entrySize)
        // calloc: large chunks come as fresh zero pages, with no pass to clear them.
        let base = calloc(capacity, entrySize)!
        chunks.append((base, capacity, 0))
        setCursor(base + entrySize, remaining: capacity - 1)
        return base
    }

    /// Takes the entries another worker's table built for the same join (a parallel build):
    /// its chunks join this table's, ahead of the chunk being filled; `other` is left empty.
    func absorb(_ other: JoinHashTable) {
        guard !other.chunks.isEmpty else { return }
        let otherLast = other.chunks.count - 1
        other.chunks[otherLast].used = other.filled(otherLast)
        if chunks.isEmpty {
            chunks = other.chunks
            completed = other.completed
            let cursor = other.cursor!
            setCursor(cursor, remaining: Int(other.header.load(fromByteOffset: HashTableLayout.remaining, as: Int64.self)))
        } else {
            chunks.insert(contentsOf: other.chunks, at: chunks.count - 1)
            completed += other.count
        }
        other.chunks = []
        other.completed = 0
    }

    /// Calls `body` with every entry, in insertion order.
    @inline(__always)
    private func forEachEntry(_ body: (UnsafeMutableRawPointer) -> Void) {
        for index in chunks.indices {
            let base = chunks[index].base
            for position in 0..<filled(index) { body(base + position * entrySize) }
        }
    }

    /// The addresses of the entries' records, in insertion order (in slot order once
    /// `cluster` has moved them; the caller deallocates).
    func recordPointers() -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        let array = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, count))
        var index = 0
        forEachEntry { entry in
            array[index] = entry + HashTableLayout.entryRecord
            index += 1
        }
        return array
    }

    /// The end of the build: every entry is linked into a directory sized once for all of
    /// them, with the slots' tags. When most entries share their slot's tag with an earlier
    /// one (duplicate keys: long chains, Q13's orders by customer), the entries first move so
    /// that those of one slot lie next to each other (`cluster`): a chain walk then reads
    /// consecutive memory instead of one cache miss per entry.
    /// The least and greatest value of the records' integer field at `offset` (its null
    /// byte at `nullByte`), NULLs left out; nil when no record has a value.
    func range(ofField offset: Int, nullByte: Int, physical: PhysicalType) -> ClosedRange<Int64>? {
        var low = Int64.max, high = Int64.min
        forEachEntry { entry in
            let record = entry + HashTableLayout.entryRecord
            guard record.load(fromByteOffset: nullByte, as: UInt8.self) == 0 else { return }
            let value: Int64
            switch physical {
            case .int16: value = Int64(record.load(fromByteOffset: offset, as: Int16.self))
            case .int32: value = Int64(record.load(fromByteOffset: offset, as: Int32.self))
            default: value = record.load(fromByteOffset: offset, as: Int64.self)
            }
            low = min(low, value)
            high = max(high, value)
        }
        return low <= high ? low...high : nil
    }

    func link() {
        let count = self.count
        var size = 1024
        while size < count { size *= 2 }
        budget?.release((mask + 1) * 10)
        budget?.charge(size * 10)
        directory.deallocate()
        tags.deallocate()
        directory = .allocate(capacity: size)
        directory.initialize(repeating: nil, count: size)
        tags = .allocate(capacity: size)
        tags.initialize(repeating: 0, count: size)
        mask = size - 1
        publish()
        var repeated = 0
        let tags = self.tags, mask = self.mask
        forEachEntry { entry in
            let hash = entry.load(fromByteOffset: HashTableLayout.entryHash, as: UInt64.self)
            let s = Int(truncatingIfNeeded: hash) & mask
            let tag = JoinHashTable.tag(hash)
            if tags[s] & tag != 0 { repeated += 1 }
            tags[s] |= tag
        }
        if count >= 4096, repeated * 2 > count { cluster() }
        // Clustered entries lie in slot order: the directory is then written front to back.
        let directory = self.directory
        forEachEntry { entry in
            let s = Int(truncatingIfNeeded: entry.load(fromByteOffset: HashTableLayout.entryHash, as: UInt64.self)) & mask
            entry.storeBytes(of: directory[s], as: UnsafeMutableRawPointer?.self)
            directory[s] = entry
        }
    }

    /// Moves the entries into one block in which those of each slot are contiguous (a
    /// counting sort by slot).
    private func cluster() {
        let count = self.count, size = mask + 1, mask = self.mask, entrySize = self.entrySize
        let starts = UnsafeMutablePointer<UInt32>.allocate(capacity: size + 1)
        starts.initialize(repeating: 0, count: size + 1)
        defer { starts.deallocate() }
        @inline(__always) func slot(_ entry: UnsafeMutableRawPointer) -> Int {
            Int(truncatingIfNeeded: entry.load(fromByteOffset: HashTableLayout.entryHash, as: UInt64.self)) & mask
        }
        forEachEntry { starts[slot($0) + 1] += 1 }
        for index in 0..<size { starts[index + 1] += starts[index] }
        budget?.charge(count * entrySize)
        let block = malloc(max(1, count * entrySize))!
        // Entries are 16-byte multiples at 16-byte aligned addresses: copied in 16-byte words.
        let words = entrySize / 16
        forEachEntry { entry in
            let s = slot(entry)
            let target = block + Int(starts[s]) * entrySize
            starts[s] += 1
            for w in 0..<words {
                (target + 16 * w).storeBytes(of: (entry + 16 * w).load(as: SIMD2<UInt64>.self), as: SIMD2<UInt64>.self)
            }
        }
        for chunk in chunks {
            free(chunk.base)
            budget?.release(chunk.capacity * entrySize)
        }
        chunks = [(block, count, count)]
        completed = 0
        // The block is full: a later entry starts a new chunk.
        setCursor(block + count * entrySize, remaining: 0)
    }
}
