#if canImport(Glibc)
import Glibc
#endif
import KilnCore
import KilnPlanner
import KilnStorage
import Synchronization

/// Hands the morsels of a parallel table scan to its workers: each worker's scan of the same
/// table takes the next morsel with one atomic add, so a worker that runs faster (native code,
/// a less loaded core) takes more of them, and none waits for another.
public final class MorselDispatcher: @unchecked Sendable {
    // `@unchecked Sendable`: `morsels` is written once under `monitor`, before any index is taken.
    // (A pthread monitor, not a `Mutex`: ThreadSanitizer sees its ordering.)
    public struct Morsel: Sendable {
        /// Its place in the scan's order (the serial scan hands the morsels out in this order).
        public var index: Int
        public var range: Int
        public var row: Int
        public var rows: Int
    }
    /// The largest morsel: a table scan's batch.
    public static let maximumRows = TableScanState.morselRows
    /// Rows per morsel (at most the scan's batch size).
    public let morselRows: Int
    private let monitor = Monitor()
    private var prepared = false
    private var morsels: [Morsel] = []
    private let nextIndex = Atomic<Int>(0)
    /// Set when a worker fails or the statement is cancelled: no more morsels go out.
    private let stopped = Atomic<Bool>(false)
    /// Checked per morsel: the statement's own stop (a cancel sets the main context's flag).
    private let shouldStop: @Sendable () -> Bool

    public init(morselRows: Int, shouldStop: @escaping @Sendable () -> Bool) {
        self.morselRows = max(1, min(morselRows, TableScanState.morselRows))
        self.shouldStop = shouldStop
    }

    /// The next morsel, nil when none is left. `ranges` gives the rows of the scan's ranges
    /// (every worker's scan has the same ranges; the first to ask cuts them into morsels).
    func take(_ ranges: () -> [Int]) -> Morsel? {
        monitor.withLock {
            guard !prepared else { return }
            for (range, count) in ranges().enumerated() {
                var row = 0
                while row < count {
                    let rows = min(morselRows, count - row)
                    morsels.append(Morsel(index: morsels.count, range: range, row: row, rows: rows))
                    row += rows
                }
            }
            prepared = true
        }
        guard !stopped.load(ordering: .relaxed), !shouldStop() else { return nil }
        let index = nextIndex.add(1, ordering: .relaxed).oldValue
        return index < morsels.count ? morsels[index] : nil
    }

    /// No morsel goes out any more (a worker failed).
    public func stop() { stopped.store(true, ordering: .relaxed) }
}

extension QueryRuntime {
    /// Whether per-worker aggregations of these calls merge exactly (`HashAggregateState.mergeable`).
    public static func aggregatesMerge(_ aggregates: [AggregateCall]) -> Bool { HashAggregateState.mergeable(aggregates) }
}

extension HashAggregateState {
    /// Whether per-worker aggregations of these calls combine into the answer one worker would
    /// give: counts, sums, min and max (exactly; float sums up to rounding: the workers'
    /// partial sums are added, so the last bits depend on which rows each worker took, as in
    /// PostgreSQL's parallel aggregates and in the SIMD kernels' lanes). DISTINCT, string_agg
    /// (its order) and interval min / max are left out.
    public static func mergeable(_ aggregates: [AggregateCall]) -> Bool {
        aggregates.allSatisfy { call in
            guard !call.distinct, call.type != .interval else { return false }
            switch call.function {
            case "count_star", "count": return true
            // An unconstrained numeric's sum aligns scales (the runtime's addition).
            case "sum": return [.int64, .int128, .float32, .float64].contains(call.type.physical) && call.type != .dynamicNumeric
            case "min", "max": return true
            default: return false
            }
        }
    }

    /// Folds another worker's groups into this state: a group this state has already gets
    /// the other's aggregate states combined into its own, a new group is copied.
    func merge(_ other: HashAggregateState) throws(DatabaseError) {
        let entries = other.table.entries
        for index in 0..<entries.count {
            let entry = entries.record(index)
            try add(hash: entry.load(fromByteOffset: 8, as: UInt64.self), record: entry + 16)
        }
    }

    /// This state's entries by partition of their hash (made once).
    func partitionLists(_ count: Int) -> [[UnsafeMutableRawPointer]] {
        if let partitioned, partitioned.count == count { return partitioned }
        var lists = Array(repeating: [UnsafeMutableRawPointer](), count: count)
        let entries = table.entries
        for index in 0..<entries.count {
            let entry = entries.record(index)
            lists[PartitionedMerge.partition(entry.load(fromByteOffset: 8, as: UInt64.self))].append(entry)
        }
        partitioned = lists
        return lists
    }

    /// Adds one group of another state: combined into this state's group of the same keys,
    /// or copied as a new group.
    func add(hash: UInt64, record source: UnsafeMutableRawPointer) throws(DatabaseError) {
        if let target = group(hash: hash, keysOf: source) {
            try combine(into: target, from: source)
        } else {
            let record = table.insert(hash: hash) + 16
            record.copyMemory(from: source, byteCount: layout.size)
        }
    }

    /// Combines the aggregate states of one group (see `mergeable` for the calls handled).
    private func combine(into target: UnsafeMutableRawPointer, from source: UnsafeMutableRawPointer) throws(DatabaseError) {
        for (index, call) in aggregates.enumerated() {
            let field = keyCount + index
            let offset = layout.offsets[field]
            if call.function == "count_star" || call.function == "count" {
                let sum = target.load(fromByteOffset: offset, as: Int64.self) &+ source.load(fromByteOffset: offset, as: Int64.self)
                target.storeBytes(of: sum, toByteOffset: offset, as: Int64.self)
                continue
            }
            // sum, min, max: a NULL state (no input yet) takes the other's; a NULL other changes nothing.
            guard source.load(fromByteOffset: field, as: UInt8.self) == 0 else { continue }
            let width = call.type.physical.byteWidth
            if target.load(fromByteOffset: field, as: UInt8.self) != 0 {
                (target + offset).copyMemory(from: source + offset, byteCount: width)
                target.storeBytes(of: 0, toByteOffset: field, as: UInt8.self)
                continue
            }
            if call.function == "sum" {
                if call.type.physical == .float64 {
                    let sum = target.load(fromByteOffset: offset, as: Double.self) + source.load(fromByteOffset: offset, as: Double.self)
                    target.storeBytes(of: sum, toByteOffset: offset, as: Double.self)
                } else if call.type.physical == .float32 {
                    let sum = target.load(fromByteOffset: offset, as: Float.self) + source.load(fromByteOffset: offset, as: Float.self)
                    target.storeBytes(of: sum, toByteOffset: offset, as: Float.self)
                } else if call.type.physical == .int64 {
                    let (sum, overflow) = target.load(fromByteOffset: offset, as: Int64.self).addingReportingOverflow(source.load(fromByteOffset: offset, as: Int64.self))
                    if overflow { throw QueryRuntime.inlineError(3) }
                    target.storeBytes(of: sum, toByteOffset: offset, as: Int64.self)
                } else {
                    let (sum, overflow) = target.loadUnaligned(fromByteOffset: offset, as: Int128.self).addingReportingOverflow(source.loadUnaligned(fromByteOffset: offset, as: Int128.self))
                    if overflow { throw QueryRuntime.inlineError(4) }
                    target.storeBytes(of: sum, toByteOffset: offset, as: Int128.self)
                }
                continue
            }
            let order: Int
            switch call.type.physical {
            case .bool: order = Int(source.load(fromByteOffset: offset, as: UInt8.self)) - Int(target.load(fromByteOffset: offset, as: UInt8.self))
            case .int16: order = compare(source.load(fromByteOffset: offset, as: Int16.self), target.load(fromByteOffset: offset, as: Int16.self))
            case .int32: order = compare(source.load(fromByteOffset: offset, as: Int32.self), target.load(fromByteOffset: offset, as: Int32.self))
            case .int64: order = compare(source.load(fromByteOffset: offset, as: Int64.self), target.load(fromByteOffset: offset, as: Int64.self))
            case .int128 where call.type == .dynamicNumeric:
                order = compare(PackedNumeric.key(source.loadUnaligned(fromByteOffset: offset, as: Int128.self)), PackedNumeric.key(target.loadUnaligned(fromByteOffset: offset, as: Int128.self)))
            case .int128: order = compare(source.loadUnaligned(fromByteOffset: offset, as: Int128.self), target.loadUnaligned(fromByteOffset: offset, as: Int128.self))
            case .string: order = KilnString.compare(source.loadUnaligned(fromByteOffset: offset, as: Int128.self), target.loadUnaligned(fromByteOffset: offset, as: Int128.self))
            case .float32: order = floatOrder(Double(source.load(fromByteOffset: offset, as: Float.self)), Double(target.load(fromByteOffset: offset, as: Float.self)))
            case .float64: order = floatOrder(source.load(fromByteOffset: offset, as: Double.self), target.load(fromByteOffset: offset, as: Double.self))
            }
            if call.function == "min" ? order < 0 : order > 0 {
                (target + offset).copyMemory(from: source + offset, byteCount: width)
            }
        }
    }

    private func compare<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a == b ? 0 : 1 }

    /// PostgreSQL's float order: NaN above every number.
    private func floatOrder(_ a: Double, _ b: Double) -> Int {
        if a.isNaN { return b.isNaN ? 0 : 1 }
        if b.isNaN { return -1 }
        return compare(a, b)
    }
}

/// A parallel aggregation's groups merged by partition, each partition by one worker with no
/// lock: partition `p` gathers the groups of every worker's state whose hash falls in it into
/// a state of its own; the main state then presents the partitions' groups as its own.
public final class PartitionedMerge: @unchecked Sendable {
    /// Partitions of every partitioned merge (several per worker, so that none waits long for the last).
    public static let count = 64
    /// The partition of a group's hash (its top bits: the tables' directories use the low ones).
    @inline(__always)
    static func partition(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: (hash >> 40) % UInt64(count)) }

    // `@unchecked Sendable`: each partition's state is touched by the one worker merging it;
    // the sources are only read; `failure` is behind its mutex.
    public let partitions: Int
    private let main: HashAggregateState
    private let sources: [HashAggregateState]
    private let parts: [HashAggregateState]
    private let failure = Failure()
    private final class Failure: @unchecked Sendable {
        // `@unchecked Sendable`: `error` is only touched under `monitor`.
        let monitor = Monitor()
        nonisolated(unsafe) var error: DatabaseError?
        func record(_ failure: DatabaseError) { monitor.withLock { if error == nil { error = failure } } }
        var first: DatabaseError? { monitor.withLock { error } }
    }

    init(main: HashAggregateState, sources: [HashAggregateState], partitions: Int, budget: MemoryBudget) {
        self.main = main
        self.sources = sources
        self.partitions = partitions
        let groups = sources.reduce(0) { $0 + $1.table.entries.count }
        parts = (0..<partitions).map { _ in
            let share = MemoryBudget(sharing: budget)
            let part = HashAggregateState(keyCount: main.keyCount, aggregates: main.aggregates, layout: main.layout,
                                          expectedGroups: groups / partitions, budget: share)
            return part
        }
        let failure = self.failure
        for part in parts {
            part.table.budget?.exceeded = { used in
                failure.record(DatabaseError(.outOfMemory, "out of memory", detail: "The query needs more than memory_limit (\(MemoryBudget.format(budget.limit))) for its hash tables and buffers; \(MemoryBudget.format(used)) were requested."))
            }
        }
    }

    /// Merges partition `p` (one worker per partition, any number at once): the entries each
    /// source listed for it (`HashAggregateState.partitionEntries`, made by each worker for its
    /// own state as it finished).
    public func merge(_ p: Int) {
        let part = parts[p]
        do throws(DatabaseError) {
            for source in sources {
                for entry in source.partitionLists(PartitionedMerge.count)[p] {
                    try part.add(hash: entry.load(fromByteOffset: 8, as: UInt64.self), record: entry + 16)
                }
            }
        } catch {
            failure.record(error)
        }
    }

    /// Once every partition is merged: the main state's groups are the partitions'.
    public func finish() throws(DatabaseError) {
        if let error = failure.first { throw error }
        main.parts = parts
        main.records?.deallocate()
        main.records = nil
    }
}

extension QueryRuntime {
    /// A partitioned merge of aggregation state `index` over this runtime's and `workers'`
    /// states, when it has groups enough to pay for one (nil: merge them one by one).
    public func partitionedMerge(_ index: Int, workers: [QueryRuntime], minimumGroups: Int) -> PartitionedMerge? {
        guard let main = states[index] as? HashAggregateState, main.keyCount > 0 else { return nil }
        let sources = [main] + workers.compactMap { $0.states[index] as? HashAggregateState }
        guard sources.reduce(0, { $0 + $1.table.entries.count }) >= minimumGroups else { return nil }
        // Workers list their groups as they finish; a state that has not (the estimate was
        // small) is listed here, before the partitions are merged in parallel.
        for source in sources { _ = source.partitionLists(PartitionedMerge.count) }
        return PartitionedMerge(main: main, sources: sources, partitions: PartitionedMerge.count, budget: budget)
    }

    /// A worker that finished its share of a parallel aggregation lists its groups by
    /// partition (in parallel with the others), ready for a partitioned merge.
    public func preparePartitions(_ index: Int) {
        guard let state = states[index] as? HashAggregateState, state.keyCount > 0 else { return }
        _ = state.partitionLists(PartitionedMerge.count)
    }
}

extension SortState {
    /// Starts tagging this buffer's records with their place in the serial scan's order (a
    /// parallel pipeline's sort: each worker's buffer; see `mergeTagged`).
    func startTagging() { tags = [] }

    /// The scan of this buffer's pipeline took morsel `index`: its records' tags start there.
    func morselStarted(_ index: Int) { nextTag = Int64(index) << 32 }

    /// A top-N buffer's compaction when its records are tagged: the best `keep` by the sort
    /// keys, ties by tag (as the serial buffer would keep them: by insertion order).
    func compactTagged(_ keep: Int) {
        let tags = self.tags ?? []
        let order = NormalizedSort.order(count: store.count, record: store.record, tags: tags, layout: layout, keys: keys)
            ?? (0..<store.count).sorted { a, b in
                let c = RecordComparator.compare(store.record(a), store.record(b), layout: layout, keys: keys)
                return c != 0 ? c < 0 : tags[a] < tags[b]
            }
        let kept = RecordStore(recordSize: layout.size, budget: budget)
        var keptTags: [Int64] = []
        for index in order.prefix(keep) {
            kept.append().copyMemory(from: store.record(index), byteCount: layout.size)
            keptTags.append(tags[index])
        }
        replace(kept, tags: keptTags)
    }

    /// Merges the tagged buffers of every worker of a parallel pipeline (this one's included)
    /// into this buffer's order: by the sort keys, ties by tag, which is exactly the order one
    /// worker's stable sort gives (insertion order = the scan's order); a top-N keeps its best.
    func mergeTagged(_ others: [SortState]) {
        var all: [(record: UnsafeMutableRawPointer, tag: Int64)] = []
        for state in [self] + others {
            let tags = state.tags ?? []
            for index in 0..<state.store.count { all.append((state.store.record(index), tags[index])) }
        }
        let layout = self.layout, keys = self.keys
        if let order = NormalizedSort.order(count: all.count, record: { all[$0].record }, tags: all.map(\.tag), layout: layout, keys: keys) {
            all = order.map { all[$0] }
        } else {
            all.sort { a, b in
                let c = RecordComparator.compare(a.record, b.record, layout: layout, keys: keys)
                return c != 0 ? c < 0 : a.tag < b.tag
            }
        }
        if let keep, all.count > keep { all.removeLast(all.count - keep) }
        let pointers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, all.count))
        for (index, item) in all.enumerated() { pointers[index] = item.record }
        merged = (pointers, all.count)
        tags = nil
    }
}

extension HashJoinState {
    /// Takes the entries another worker built for the same join (before `finish` links them).
    func absorb(_ other: HashJoinState) { table.absorb(other.table) }
}
