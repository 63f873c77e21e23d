import Synchronization
/// Fixed-size records in chunks that never move, plus an array of their addresses.
///
/// Hash-table entries, sort buffers and result buffers are record stores; compiled code holds
/// record pointers only while the store lives.
public final class RecordStore {
    public let recordSize: Int
    /// The query's memory budget, charged for every chunk.
    let budget: MemoryBudget?
    private var chunks: [UnsafeMutableRawPointer] = []
    private var used = 0
    private var chunkCapacity: Int
    public private(set) var pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    public private(set) var count = 0
    private var pointerCapacity = 1024

    public init(recordSize: Int, budget: MemoryBudget? = nil) {
        self.recordSize = recordSize
        self.budget = budget
        chunkCapacity = max(1, (1 << 16) / recordSize)
        pointers = .allocate(capacity: pointerCapacity)
        used = chunkCapacity
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
        pointers.deallocate()
    }

    /// A new zeroed record.
    public func append() -> UnsafeMutableRawPointer {
        if used == chunkCapacity {
            budget?.charge(chunkCapacity * recordSize)
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkCapacity * recordSize, alignment: 16)
            chunks.append(chunk)
            used = 0
        }
        let record = chunks[chunks.count - 1] + used * recordSize
        used += 1
        record.initializeMemory(as: UInt8.self, repeating: 0, count: recordSize)
        if count == pointerCapacity {
            budget?.charge(pointerCapacity * 8)
            let grown = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: pointerCapacity * 2)
            grown.update(from: pointers, count: count)
            pointers.deallocate()
            pointers = grown
            pointerCapacity *= 2
        }
        pointers[count] = record
        count += 1
        return record
    }

    public func record(_ index: Int) -> UnsafeMutableRawPointer { pointers[index]! }

    /// Forgets every record (a streamed result's delivered rows): the first chunk is kept for
    /// the next ones, the others go back to the budget.
    public func removeAll() {
        for chunk in chunks.dropFirst() {
            chunk.deallocate()
            budget?.release(chunkCapacity * recordSize)
        }
        chunks = Array(chunks.prefix(1))
        used = chunks.isEmpty ? chunkCapacity : 0
        count = 0
    }
}

/// The memory a query's operators may hold (hash tables, sort and window buffers, results).
///
/// Every record chunk and hash directory is charged; going past the limit raises SQLSTATE
/// 53200 through `exceeded` (the pipeline stops at its next batch), instead of the machine's
/// OOM killer ending the process. `SET memory_limit` sets it (default: 3/4 of physical memory).
public final class MemoryBudget: @unchecked Sendable {
    // `@unchecked Sendable`: the counters are atomics; `exceeded` is set before the query runs.
    public let limit: Int
    /// What every worker of one query charges (they share one limit).
    private final class Counter: Sendable {
        let used = Atomic<Int>(0)
        let reported = Atomic<Bool>(false)
    }
    private let counter: Counter
    public var used: Int { counter.used.load(ordering: .relaxed) }
    /// Called once per query, on the worker whose charge first passes the limit.
    public var exceeded: ((Int) -> Void)?

    public init(limit: Int) {
        self.limit = limit
        counter = Counter()
    }

    /// A parallel worker's budget: it charges the same counter against the same limit.
    public init(sharing other: MemoryBudget) {
        limit = other.limit
        counter = other.counter
    }

    public func charge(_ bytes: Int) {
        let used = counter.used.add(bytes, ordering: .relaxed).newValue
        if used > limit, counter.reported.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            exceeded?(used)
        }
    }

    /// Memory given back (a structure replaced by a smaller one).
    public func release(_ bytes: Int) { counter.used.subtract(bytes, ordering: .relaxed) }

    /// `1536MB`, `2GB`: PostgreSQL's memory units.
    public static func format(_ bytes: Int) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)GB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)MB" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10)kB" }
        return "\(bytes)B"
    }

    /// Parses `4GB`, `512 MB`, `100000kB`, `1TB` or a byte count.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.filter { $0 != " " }
        let units: [(String, Int)] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10), ("B", 1)]
        for (unit, scale) in units where trimmed.hasSuffix(unit) {
            guard let n = Int(trimmed.dropLast(unit.count)), n > 0 else { return nil }
            let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
            return overflow ? nil : bytes
        }
        guard let n = Int(trimmed), n > 0 else { return nil }
        return n
    }

    /// 3/4 of the machine's physical memory.
    public static var defaultLimit: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 8 << 30 }
        return pages * size / 4 * 3
    }
}

#if canImport(Glibc)
import Glibc
#endif
