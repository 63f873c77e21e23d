#if canImport(Glibc)
import Glibc
#endif
import KilnCore
import KilnStorage
import KilnPlanner

/// Operator state shared by a pipeline's sink and the next pipeline's source, and the cursors
/// that sources read batches from.
public class RuntimeState {
    /// The runtime this state belongs to (it owns its states, so it outlives them).
    unowned(unsafe) var owner: QueryRuntime?
    /// Starts (or restarts) reading; returns the cursor handle compiled code passes to `next`.
    func open(_ runtime: QueryRuntime) throws(DatabaseError) {}
    /// Fills the batch descriptor with the next batch (count 0 at the end).
    func next() -> UnsafeMutableRawPointer { fatalError("not a source") }
    func finish(_ runtime: QueryRuntime) {}
    /// Rows this source will hand out, once open (the statement's progress; table scans are
    /// counted before the query runs instead).
    var expectedRows: Int { 0 }
}

/// Scans a table in morsels that never cross a segment.
final class TableScanState: RuntimeState {
    static let morselRows = VersionMarker.granule
    let table: Table
    /// Table column indexes (`Table.rowIDColumn`: the row's `RowID`).
    let columns: [Int]
    let batch: UnsafeMutableRawPointer
    /// The row ranges this scan reads (row group, first row, rows); `local`: the reading
    /// transaction's own inserted rows (row IDs with `RowID.localBit`).
    var ranges: [(segment: Segment, start: Int, count: Int, index: Int, local: Bool)] = []
    var rangeIndex = 0
    var row = 0
    var snapshot = Snapshot.latest
    let access: StateAccess
    /// The row IDs of the current morsel, when the scan reads them.
    let rowIDs: UnsafeMutablePointer<Int64>
    /// Morsels with deleted rows are compacted here (`kiln_rt_visible`).
    var visibleBatch: VisibleBatch?
    /// Per scanned column: its cell width, and whether it can be NULL (the compaction copies
    /// validity only then).
    let widths: [Int]
    let nullable: [Bool]

    init(table: Table, columns: [Int], access: StateAccess = .full) {
        self.table = table
        self.columns = columns
        self.access = access
        widths = columns.map { table.scanColumn($0).type.physical.byteWidth }
        nullable = columns.map { !table.scanColumn($0).notNull }
        batch = .allocate(byteCount: BatchLayout.size(columns: columns.count), alignment: 16)
        batch.initializeMemory(as: UInt8.self, repeating: 0, count: BatchLayout.size(columns: columns.count))
        rowIDs = .allocate(capacity: TableScanState.morselRows)
    }
    deinit {
        batch.deallocate()
        rowIDs.deallocate()
    }

    override var expectedRows: Int { ranges.reduce(0) { $0 + $1.count } }

    override func open(_ runtime: QueryRuntime) throws(DatabaseError) {
        let stored = columns.filter { $0 >= 0 }
        // Columns of persisted row groups are mapped when first scanned; `emit` checks the
        // blocks each morsel reads.
        try table.map(columns: stored)
        snapshot = runtime.snapshot
        ranges = []
        rangeIndex = 0
        row = 0
        switch access {
        case .full:
            // The rows this statement's snapshot sees: a prefix of the table (rows are appended
            // in commit order), then the transaction's own uncommitted rows.
            var remaining = table.visibleRows(at: snapshot.timestamp)
            for (index, segment) in table.segments.enumerated() where remaining > 0 {
                let n = min(segment.count, remaining)
                ranges.append((segment, 0, n, index, false))
                remaining -= n
            }
            if let local = snapshot.localRows(of: table) {
                try local.load(columns: stored)
                for (index, segment) in local.segments.enumerated() { ranges.append((segment, 0, segment.count, index, true)) }
            }
        case .rows(let range):
            var base = 0
            for (index, segment) in table.segments.enumerated() {
                defer { base += segment.count }
                let from = max(range.lowerBound, base), to = min(range.upperBound, base + segment.count)
                if from < to { ranges.append((segment, from - base, to - from, index, false)) }
            }
        case .tids(let slots):
            var ids = Set<Int64>()
            for slot in slots {
                if case .tid(let id)? = runtime.parameterValue(slot, as: .tid), id >= 0 { ids.insert(id) }
            }
            let sorted = ids.sorted()
            try addRows(sorted.filter { $0 & RowID.localBit == 0 }.map(RowID.init), local: sorted.filter { $0 & RowID.localBit != 0 }.map(RowID.init), stored: stored)
        case .lookup(let index, let keySlots):
            try index.build(table)
            var rows = Set<RowID>()
            var pending: [PendingEntry] = []
            for slots in keySlots {
                var key: [Value] = []
                for (position, slot) in slots.enumerated() {
                    guard let value = runtime.parameterValue(slot, as: table.columns[index.key.columns[position]].type) else { break }
                    key.append(value)
                }
                // A key without an exact value of the key columns' types matches no row.
                guard key.count == slots.count else { continue }
                let found = index.lookup(table, key)
                rows.formUnion(found.rows)
                for entry in found.pending where !pending.contains(where: { $0.rows === entry.rows && $0.row == entry.row }) { pending.append(entry) }
            }
            let local = snapshot.localRows(of: table)
            try addRows(Array(rows), local: pending.filter { $0.rows === local }.map(\.row), stored: stored)
        }
    }

    /// One range per row (`.lookup`, `.tids`): the `committed` rows the snapshot sees (a prefix
    /// of each row group), in table order, then rows `local` of the transaction's own
    /// uncommitted rows, in the order given.
    private func addRows(_ committed: [RowID], local: [RowID], stored: [Int]) throws(DatabaseError) {
        var visible = table.visibleRows(at: snapshot.timestamp)
        var limits: [Int] = []
        for segment in table.segments {
            limits.append(min(segment.count, visible))
            visible = max(0, visible - segment.count)
        }
        for id in committed.sorted(by: { $0.value < $1.value }) where id.segment < limits.count && id.row < limits[id.segment] {
            ranges.append((table.segments[id.segment], id.row, 1, id.segment, false))
        }
        guard !local.isEmpty, let rows = snapshot.localRows(of: table) else { return }
        try rows.load(columns: stored)
        for id in local where id.segment < rows.segments.count && id.row < rows.segments[id.segment].count {
            ranges.append((rows.segments[id.segment], id.row, 1, id.segment, true))
        }
    }

    /// Joins this scan feeds that drop every row whose column (a position in `columns`) lies
    /// outside their build's key range (`KeyRangeFilter`): morsels entirely outside are skipped.
    var keyFilters: [(column: Int, join: HashJoinState)] = []
    /// Morsels skipped by `keyFilters` (EXPLAIN ANALYZE).
    private(set) var skippedMorsels = 0

    /// Whether some join of `keyFilters` can match no row of the `n` rows from `first` of
    /// `segment`: every value of its column lies outside the join's key range.
    private func skips(_ segment: Segment, first: Int, rows n: Int) -> Bool {
        for (position, join) in keyFilters {
            // Not finished (no build ran before this scan): nothing is known, nothing skipped.
            guard join.keyRangeKnown else { continue }
            guard let range = join.keyRange else { return true }
            let data = segment.columns[columns[position]]
            // A damaged block is not skipped: `emit` reports it.
            do throws(DatabaseError) { try data.check(rows: first..<(first + n)) } catch { return false }
            // Cells of NULLs hold some value of the type: they may only widen the morsel's range.
            var low = Int64.max, high = Int64.min
            switch data.width {
            case 2:
                let values = (data.values + first * 2).assumingMemoryBound(to: Int16.self)
                var l = Int16.max, h = Int16.min
                for i in 0..<n { l = min(l, values[i]); h = max(h, values[i]) }
                (low, high) = (Int64(l), Int64(h))
            case 4:
                let values = (data.values + first * 4).assumingMemoryBound(to: Int32.self)
                var l = Int32.max, h = Int32.min
                for i in 0..<n { l = min(l, values[i]); h = max(h, values[i]) }
                (low, high) = (Int64(l), Int64(h))
            default:
                let values = (data.values + first * 8).assumingMemoryBound(to: Int64.self)
                for i in 0..<n { low = min(low, values[i]); high = max(high, values[i]) }
            }
            if high < range.lowerBound || low > range.upperBound { return true }
        }
        return false
    }

    /// Set when the scan is one worker's share of a parallel scan: the dispatcher hands out
    /// the morsels, shared by the workers' scans of the same table.
    var dispatcher: MorselDispatcher?
    /// A parallel pipeline's sort buffer, told of each morsel taken (its records' order tags).
    var morselSink: SortState?

    override func next() -> UnsafeMutableRawPointer {
        if let dispatcher {
            while true {
                guard let morsel = dispatcher.take({ ranges.map(\.count) }) else {
                    batch.storeBytes(of: 0, as: Int64.self)
                    return batch
                }
                let range = ranges[morsel.range]
                if !keyFilters.isEmpty, !range.local, skips(range.segment, first: range.start + morsel.row, rows: morsel.rows) {
                    skippedMorsels += 1
                    continue
                }
                morselSink?.morselStarted(morsel.index)
                return emit(range, row: morsel.row, rows: morsel.rows)
            }
        }
        while true {
            while rangeIndex < ranges.count, row >= ranges[rangeIndex].count {
                rangeIndex += 1
                row = 0
            }
            guard rangeIndex < ranges.count else {
                batch.storeBytes(of: 0, as: Int64.self)
                return batch
            }
            let range = ranges[rangeIndex]
            let n = min(TableScanState.morselRows, range.count - row)
            defer { row += n }
            if !keyFilters.isEmpty, !range.local, skips(range.segment, first: range.start + row, rows: n) {
                skippedMorsels += 1
                continue
            }
            return emit(range, row: row, rows: n)
        }
    }

    /// The batch of `n` rows from `row` of `range`.
    private func emit(_ range: (segment: Segment, start: Int, count: Int, index: Int, local: Bool), row: Int, rows n: Int) -> UnsafeMutableRawPointer {
        let (segment, start, _, index, local) = range
        let first = start + row
        batch.storeBytes(of: Int64(n), toByteOffset: BatchLayout.count, as: Int64.self)
        batch.storeBytes(of: Int64(first), toByteOffset: BatchLayout.firstRow, as: Int64.self)
        var versions: UnsafeMutableRawPointer?
        if let deletes = segment.deletes, deletes.any(in: first..<(first + n)) { versions = UnsafeMutableRawPointer(deletes.markers + first) }
        batch.storeBytes(of: versions, toByteOffset: BatchLayout.versions, as: UnsafeMutableRawPointer?.self)
        for (position, column) in columns.enumerated() {
            if column < 0 {  // Table.rowIDColumn, Table.tidColumn
                let base = RowID(segment: index, row: first).value | (local ? RowID.localBit : 0)
                for i in 0..<n { rowIDs[i] = base + Int64(i) }
                // Indexed by first row + row like every column; never NULL, so never read.
                batch.storeBytes(of: UnsafeMutableRawPointer(rowIDs), toByteOffset: BatchLayout.values(position), as: UnsafeMutableRawPointer.self)
                batch.storeBytes(of: UnsafeMutableRawPointer(TableScanState.allValid), toByteOffset: BatchLayout.validity(position), as: UnsafeMutableRawPointer.self)
                continue
            }
            let data = segment.columns[column]
            do throws(DatabaseError) { try data.check(rows: first..<(first + n)) } catch {
                // A damaged block: the statement fails (XX001) and the scan ends here.
                owner?.raise(error)
                batch.storeBytes(of: 0, toByteOffset: BatchLayout.count, as: Int64.self)
                return batch
            }
            batch.storeBytes(of: data.values + first * data.width, toByteOffset: BatchLayout.values(position), as: UnsafeMutableRawPointer.self)
            batch.storeBytes(of: UnsafeMutableRawPointer(data.validity), toByteOffset: BatchLayout.validity(position), as: UnsafeMutableRawPointer.self)
        }
        return batch
    }

    /// A validity bitmap for a whole row group with every bit set (the row ID column's).
    nonisolated(unsafe) static let allValid: UnsafeMutablePointer<UInt64> = {
        let words = Table.segmentCapacity / 64
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bits.initialize(repeating: ~0, count: words)
        return bits
    }()

    /// The slow path of `kiln_mid.visible`: the current morsel has delete markers. Returns the
    /// batch itself when the snapshot sees every row, else a copy of the rows it sees.
    func visible() -> UnsafeMutableRawPointer {
        guard let markers = batch.load(fromByteOffset: BatchLayout.versions, as: UnsafeMutableRawPointer?.self)?.assumingMemoryBound(to: UInt64.self) else {
            return batch
        }
        let n = Int(batch.load(fromByteOffset: BatchLayout.count, as: Int64.self))
        let first = Int(batch.load(fromByteOffset: BatchLayout.firstRow, as: Int64.self))
        let compacted = visibleBatch ?? VisibleBatch(columns: columns.count)
        visibleBatch = compacted
        var kept = 0
        let snapshot = self.snapshot, rows = compacted.rows
        for i in 0..<n where !snapshot.isDeleted(markers[i]) {
            rows[kept] = Int32(i)
            kept += 1
        }
        if kept == n { return batch }
        compacted.fill(from: batch, widths: widths, nullable: nullable, first: first, kept: kept)
        return compacted.batch
    }
}

/// The visible rows of a morsel with deletes, copied out column by column (values and validity),
/// in the layout of a table scan's batch (first row 0, no versions).
final class VisibleBatch {
    let batch: UnsafeMutableRawPointer
    let rows: UnsafeMutablePointer<Int32>
    let values: [UnsafeMutableRawPointer]
    let validity: [UnsafeMutablePointer<UInt64>]

    init(columns: Int) {
        let capacity = TableScanState.morselRows
        batch = .allocate(byteCount: BatchLayout.size(columns: columns), alignment: 16)
        batch.initializeMemory(as: UInt8.self, repeating: 0, count: BatchLayout.size(columns: columns))
        rows = .allocate(capacity: capacity)
        values = (0..<columns).map { _ in .allocate(byteCount: capacity * 16, alignment: 16) }
        validity = (0..<columns).map { _ in .allocate(capacity: capacity / 64) }
    }
    deinit {
        batch.deallocate()
        rows.deallocate()
        for v in values { v.deallocate() }
        for v in validity { v.deallocate() }
    }

    /// Gathers the `kept` rows listed in `rows` from `source` (a table scan's batch) column by
    /// column: a typed gather per width, and validity bits only for nullable columns (the code
    /// never reads a NOT NULL column's bitmap).
    func fill(from source: UnsafeMutableRawPointer, widths: [Int], nullable: [Bool], first: Int, kept: Int) {
        batch.storeBytes(of: Int64(kept), toByteOffset: BatchLayout.count, as: Int64.self)
        batch.storeBytes(of: Int64(0), toByteOffset: BatchLayout.firstRow, as: Int64.self)
        batch.storeBytes(of: nil, toByteOffset: BatchLayout.versions, as: UnsafeMutableRawPointer?.self)
        for (column, width) in widths.enumerated() {
            let from = source.load(fromByteOffset: BatchLayout.values(column), as: UnsafeMutableRawPointer.self)
            let to = values[column]
            switch width {
            case 1: VisibleBatch.gather(UInt8.self, from, to, rows, kept)
            case 2: VisibleBatch.gather(UInt16.self, from, to, rows, kept)
            case 4: VisibleBatch.gather(UInt32.self, from, to, rows, kept)
            case 8: VisibleBatch.gather(UInt64.self, from, to, rows, kept)
            default: VisibleBatch.gather(Int128.self, from, to, rows, kept)
            }
            batch.storeBytes(of: to, toByteOffset: BatchLayout.values(column), as: UnsafeMutableRawPointer.self)
            let bits = source.load(fromByteOffset: BatchLayout.validity(column), as: UnsafeMutablePointer<UInt64>.self)
            guard nullable[column] else {
                batch.storeBytes(of: UnsafeMutableRawPointer(bits), toByteOffset: BatchLayout.validity(column), as: UnsafeMutableRawPointer.self)
                continue
            }
            let toBits = validity[column]
            toBits.update(repeating: 0, count: (kept + 63) / 64)
            for i in 0..<kept {
                let bit = first + Int(rows[i])
                toBits[i >> 6] |= ((bits[bit >> 6] >> UInt64(bit & 63)) & 1) << UInt64(i & 63)
            }
            batch.storeBytes(of: UnsafeMutableRawPointer(toBits), toByteOffset: BatchLayout.validity(column), as: UnsafeMutableRawPointer.self)
        }
    }

    @inline(__always)
    static func gather<T>(_ type: T.Type, _ from: UnsafeMutableRawPointer, _ to: UnsafeMutableRawPointer, _ rows: UnsafeMutablePointer<Int32>, _ kept: Int) {
        let source = from.assumingMemoryBound(to: T.self), target = to.assumingMemoryBound(to: T.self)
        for i in 0..<kept { target[i] = source[Int(rows[i])] }
    }
}

/// `generate_series(start, stop, step)` in batches of generated values.
final class SeriesState: RuntimeState {
    static let batchRows = 2048
    let type: SQLType
    let slots: (Int, Int, Int)
    let batch: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer
    let validity: UnsafeMutablePointer<UInt64>
    var current: Int64 = 0
    var stop: Int64 = 0
    var step: Int64 = 1
    /// A timestamp series' step (months and days move by the calendar).
    var interval = Interval()
    var exhausted = false

    init(type: SQLType, start: Int, stop: Int, step: Int) {
        self.type = type
        slots = (start, stop, step)
        batch = .allocate(byteCount: BatchLayout.size(columns: 1), alignment: 16)
        batch.initializeMemory(as: UInt8.self, repeating: 0, count: BatchLayout.size(columns: 1))
        values = .allocate(byteCount: SeriesState.batchRows * 8, alignment: 16)
        validity = .allocate(capacity: SeriesState.batchRows / 64)
        validity.initialize(repeating: ~0, count: SeriesState.batchRows / 64)
    }
    deinit {
        batch.deallocate()
        values.deallocate()
        validity.deallocate()
    }

    override func open(_ runtime: QueryRuntime) throws(DatabaseError) {
        let a = runtime.parameterInteger(slots.0), b = runtime.parameterInteger(slots.1)
        if type == .timestamp {
            guard let a, let b, let interval = runtime.parameterInterval(slots.2) else { exhausted = true; return }
            current = a
            stop = b
            step = try SeriesState.direction(of: interval)
            self.interval = interval
            exhausted = false
            return
        }
        let c = runtime.parameterInteger(slots.2)
        guard let a, let b, let c else { exhausted = true; return }
        try SeriesState.checkStep(c)
        current = a
        stop = b
        step = c
        exhausted = false
    }

    override var expectedRows: Int {
        guard !exhausted, step != 0 else { return 0 }
        if type == .timestamp {
            let span = (Int128(stop) - Int128(current)) * Int128(step)
            return span < 0 ? 0 : Int(clamping: span / max(1, Int128(interval.comparableMicros.magnitude)) + 1)
        }
        return Int(clamping: SeriesState.count(from: current, to: stop, by: step))
    }

    /// How many values an integer series from `start` to `stop` by `step` (not 0) has: exact
    /// in 128 bits (clamped to 64), so that stepping that many times never overflows.
    static func count(from start: Int64, to stop: Int64, by step: Int64) -> UInt64 {
        let span = step > 0 ? Int128(stop) - Int128(start) : Int128(start) - Int128(stop)
        return span < 0 ? 0 : UInt64(clamping: span / Int128(step.magnitude) + 1)
    }

    /// PostgreSQL refuses a zero step (22023).
    static func checkStep(_ step: Int64) throws(DatabaseError) {
        if step == 0 { throw DatabaseError(.invalidParameterValue, "step size cannot equal zero") }
    }

    /// A timestamp series' direction: its interval step's sign as intervals compare with zero
    /// (30-day months); a zero step is refused.
    static func direction(of interval: Interval) throws(DatabaseError) -> Int64 {
        let sign = Int64(interval.comparableMicros.signum())
        try checkStep(sign)
        return sign
    }

    override func next() -> UnsafeMutableRawPointer {
        var n = 0
        while n < SeriesState.batchRows, !exhausted, step > 0 ? current <= stop : current >= stop {
            if type == .bigint || type == .timestamp { values.storeBytes(of: current, toByteOffset: n * 8, as: Int64.self) }
            else { values.storeBytes(of: Int32(truncatingIfNeeded: current), toByteOffset: n * 4, as: Int32.self) }
            n += 1
            if type == .timestamp {
                // Past the last timestamp there is no next value: the series ends.
                guard let next = DateMath.add(timestamp: current, interval: interval) else { exhausted = true; break }
                current = next
                continue
            }
            let (nextValue, overflow) = current.addingReportingOverflow(step)
            if overflow || (type == .integer && Int32(exactly: nextValue) == nil) { exhausted = true }
            current = nextValue
        }
        batch.storeBytes(of: Int64(n), toByteOffset: BatchLayout.count, as: Int64.self)
        batch.storeBytes(of: Int64(0), toByteOffset: BatchLayout.firstRow, as: Int64.self)
        batch.storeBytes(of: values, toByteOffset: BatchLayout.values(0), as: UnsafeMutableRawPointer.self)
        batch.storeBytes(of: UnsafeMutableRawPointer(validity), toByteOffset: BatchLayout.validity(0), as: UnsafeMutableRawPointer.self)
        return batch
    }
}

/// One row, no columns.
final class SingleRowState: RuntimeState {
    let batch = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
    var done = false
    deinit { batch.deallocate() }
    override func open(_ runtime: QueryRuntime) { done = false }
    override func next() -> UnsafeMutableRawPointer {
        batch.storeBytes(of: done ? 0 : 1, as: Int64.self)
        done = true
        return batch
    }
}

/// A source over the records of a record store.
class RecordSourceState: RuntimeState {
    static let batchRows = 1 << 12
    let batch = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 16)
    var position = 0
    deinit { batch.deallocate() }

    var sourceRecords: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) { fatalError("abstract") }

    override func open(_ runtime: QueryRuntime) { position = 0 }

    override var expectedRows: Int { sourceRecords.1 }

    override func next() -> UnsafeMutableRawPointer {
        let (pointers, count) = sourceRecords
        let n = min(RecordSourceState.batchRows, count - position)
        batch.storeBytes(of: Int64(max(0, n)), toByteOffset: BatchLayout.count, as: Int64.self)
        batch.storeBytes(of: UnsafeMutableRawPointer(pointers + position), toByteOffset: BatchLayout.records, as: UnsafeMutableRawPointer.self)
        position += max(0, n)
        return batch
    }
}

/// Hash table of groups: entries are `[next ptr][hash][record]`, the record holding the group
/// keys then the aggregate states in `layout`.
final class HashAggregateState: RecordSourceState {
    let keyCount: Int
    let aggregates: [AggregateCall]
    let layout: RecordLayout
    let table: ChainedHashTable
    let scratch: UnsafeMutableRawPointer
    let template: UnsafeMutableRawPointer
    var records: UnsafeMutablePointer<UnsafeMutableRawPointer?>?

    init(keyCount: Int, aggregates: [AggregateCall], layout: RecordLayout, expectedGroups: Int = 0, budget: MemoryBudget?) {
        self.keyCount = keyCount
        self.aggregates = aggregates
        self.layout = layout
        table = ChainedHashTable(recordSize: layout.size, budget: budget, expectedEntries: expectedGroups)
        scratch = .allocate(byteCount: layout.size, alignment: 16)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: layout.size)
        template = .allocate(byteCount: layout.size, alignment: 16)
        template.initializeMemory(as: UInt8.self, repeating: 0, count: layout.size)
        super.init()
        for (index, aggregate) in aggregates.enumerated() where aggregate.function != "count" && aggregate.function != "count_star" {
            template.storeBytes(of: 1, toByteOffset: keyCount + index, as: UInt8.self)
        }
        if keyCount == 0 { insert(hash: 0) }
    }

    deinit {
        scratch.deallocate()
        template.deallocate()
        records?.deallocate()
    }

    /// The header compiled probes read (see `HashTableLayout`).
    var header: UnsafeMutableRawPointer { table.header }

    /// Whether two records (groups, or a group and `scratch`) have the same keys.
    func keysEqual(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer) -> Bool {
        for key in 0..<keyCount {
            let nullA = a.load(fromByteOffset: key, as: UInt8.self)
            let nullB = b.load(fromByteOffset: key, as: UInt8.self)
            if nullA != nullB { return false }
            if nullA != 0 { continue }
            let offset = layout.offsets[key]
            let type = layout.types[key]
            if type.physical == .string {
                if !KilnString.equal(a.loadUnaligned(fromByteOffset: offset, as: Int128.self), b.loadUnaligned(fromByteOffset: offset, as: Int128.self)) { return false }
            } else if type == .dynamicNumeric {
                // 1.5 and 1.50 are one key (the first one seen shows).
                if PackedNumeric.key(a.loadUnaligned(fromByteOffset: offset, as: Int128.self)) != PackedNumeric.key(b.loadUnaligned(fromByteOffset: offset, as: Int128.self)) { return false }
            } else if memcmp(a + offset, b + offset, type.physical.byteWidth) != 0 {
                return false
            }
        }
        return true
    }

    /// The group whose keys equal `record`'s, if this state has it.
    func group(hash: UInt64, keysOf record: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        var entry = table.bucket(hash)
        while let e = entry {
            if e.load(fromByteOffset: 8, as: UInt64.self) == hash, keysEqual(e + 16, record) { return e + 16 }
            entry = e.load(as: UnsafeMutableRawPointer?.self)
        }
        return nil
    }

    /// The group record for the keys in `scratch`, created if new.
    func find(hash: UInt64) -> UnsafeMutableRawPointer {
        group(hash: hash, keysOf: scratch) ?? insert(hash: hash)
    }

    /// A new group with the keys in `scratch` and the aggregates' initial states.
    @discardableResult
    func insert(hash: UInt64) -> UnsafeMutableRawPointer {
        let record = table.insert(hash: hash) + 16
        record.copyMemory(from: template, byteCount: layout.size)
        for key in 0..<keyCount {
            record.storeBytes(of: scratch.load(fromByteOffset: key, as: UInt8.self), toByteOffset: key, as: UInt8.self)
            let offset = layout.offsets[key]
            (record + offset).copyMemory(from: scratch + offset, byteCount: layout.types[key].physical.byteWidth)
        }
        return record
    }

    /// After a partitioned parallel merge: the groups, one state per partition (this state's
    /// own table then holds none of them).
    var parts: [HashAggregateState] = []
    /// This state's entries by partition, for a partitioned merge (`partitionLists`).
    var partitioned: [[UnsafeMutableRawPointer]]?

    override var sourceRecords: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) {
        if parts.isEmpty {
            if records == nil { records = table.recordPointers() }
            return (records!, table.entries.count)
        }
        let count = parts.reduce(0) { $0 + $1.table.entries.count }
        if records == nil {
            let all = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, count))
            var index = 0
            for part in parts {
                let entries = part.table.entries
                for i in 0..<entries.count { all[index + i] = entries.record(i) + 16 }
                index += entries.count
            }
            records = all
        }
        return (records!, count)
    }
}

/// Records to sort; `finish` sorts them with the ORDER BY keys.
final class SortState: RecordSourceState {
    let layout: RecordLayout
    let keys: [SortKey]
    private(set) var store: RecordStore
    /// Top-N (ORDER BY ... LIMIT): parameter slots of the limit and offset.
    let limitSlot: Int?
    let offsetSlot: Int?
    /// How many leading rows are ever read (limit + offset); nil: all.
    var keep: Int?

    let budget: MemoryBudget?

    init(layout: RecordLayout, keys: [SortKey], limit: Int?, offset: Int?, budget: MemoryBudget?) {
        self.budget = budget
        self.layout = layout
        self.keys = keys
        limitSlot = limit
        offsetSlot = offset
        store = RecordStore(recordSize: layout.size, budget: budget)
    }

    func prepare(_ runtime: QueryRuntime) {
        guard let limitSlot, let limit = runtime.parameterInteger(limitSlot), limit >= 0 else { return }
        let offset = offsetSlot.flatMap { runtime.parameterInteger($0) } ?? 0
        let (sum, overflow) = limit.addingReportingOverflow(max(0, offset))
        if !overflow, sum < Int64(Int32.max) { keep = Int(sum) }
    }

    /// A parallel worker's buffer: each record's place in the serial scan's order (the morsel
    /// in the high 32 bits, the record's rank within the morsel's output in the low ones).
    var tags: [Int64]?
    var nextTag: Int64 = 0
    /// After a parallel pipeline: every worker's records in order (`mergeTagged`).
    var merged: (pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>, count: Int)?

    deinit { merged?.pointers.deallocate() }

    /// A new record to fill. With a top-N bound, whenever the buffer holds many more rows than
    /// can ever be read, it keeps only the best `keep` (so memory stays O(N)).
    func append() -> UnsafeMutableRawPointer {
        if let keep, store.count >= max(2 * keep, 4096) { compact(keep) }
        if tags != nil {
            tags!.append(nextTag)
            nextTag += 1
        }
        return store.append()
    }

    func replace(_ store: RecordStore, tags: [Int64]) {
        self.store = store
        self.tags = tags
    }

    func compact(_ keep: Int) {
        if tags != nil { return compactTagged(keep) }
        sortRecords()
        let kept = RecordStore(recordSize: layout.size, budget: budget)
        for index in 0..<min(keep, store.count) {
            kept.append().copyMemory(from: store.record(index), byteCount: layout.size)
        }
        store = kept
    }

    override func finish(_ runtime: QueryRuntime) {
        if let keep, store.count > keep { compact(keep) } else { sortRecords() }
    }

    /// A stable sort of the buffer, as the comparator sees only the key fields.
    func sortRecords() {
        RecordComparator.stableSort(UnsafeMutableBufferPointer(start: store.pointers, count: store.count), layout: layout, keys: keys)
    }

    override var sourceRecords: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) { merged ?? (store.pointers, store.count) }
}

/// Compares records field by field with SQL ordering (NULLS FIRST/LAST, DESC).
public enum RecordComparator {
    /// Sorts record pointers by `keys`; records with equal keys keep their order.
    static func stableSort(_ buffer: UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>, layout: RecordLayout, keys: [SortKey]) {
        guard !keys.isEmpty else { return }
        if let order = NormalizedSort.order(count: buffer.count, record: { buffer[$0]! }, layout: layout, keys: keys) {
            let records = Array(buffer)
            for (index, position) in order.enumerated() { buffer[index] = records[position] }
            return
        }
        var indexed = Array(buffer.enumerated())
        indexed.sort { a, b in
            let order = compare(a.element!, b.element!, layout: layout, keys: keys)
            return order != 0 ? order < 0 : a.offset < b.offset
        }
        for (index, item) in indexed.enumerated() { buffer[index] = item.element }
    }

    public static func compare(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, layout: RecordLayout, keys: [SortKey]) -> Int {
        for key in keys {
            let nullA = a.load(fromByteOffset: key.column, as: UInt8.self) != 0
            let nullB = b.load(fromByteOffset: key.column, as: UInt8.self) != 0
            if nullA || nullB {
                if nullA && nullB { continue }
                return (nullA ? -1 : 1) * (key.nullsFirst ? 1 : -1)
            }
            let offset = layout.offsets[key.column]
            var order: Int
            switch layout.types[key.column] {
            case .boolean: order = Int(a.load(fromByteOffset: offset, as: UInt8.self)) - Int(b.load(fromByteOffset: offset, as: UInt8.self))
            case .smallint: order = sign(a.loadUnaligned(fromByteOffset: offset, as: Int16.self), b.loadUnaligned(fromByteOffset: offset, as: Int16.self))
            case .integer, .date: order = sign(a.loadUnaligned(fromByteOffset: offset, as: Int32.self), b.loadUnaligned(fromByteOffset: offset, as: Int32.self))
            case .bigint, .timestamp, .tid: order = sign(a.loadUnaligned(fromByteOffset: offset, as: Int64.self), b.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            case .real: order = floatOrder(Double(a.loadUnaligned(fromByteOffset: offset, as: Float.self)), Double(b.loadUnaligned(fromByteOffset: offset, as: Float.self)))
            case .double: order = floatOrder(a.loadUnaligned(fromByteOffset: offset, as: Double.self), b.loadUnaligned(fromByteOffset: offset, as: Double.self))
            case .numeric: order = sign(a.loadUnaligned(fromByteOffset: offset, as: Int128.self), b.loadUnaligned(fromByteOffset: offset, as: Int128.self))
            case .dynamicNumeric:
                // Packed: the bits' order without the display scale is the values' (1.5 = 1.50).
                order = sign(PackedNumeric.key(a.loadUnaligned(fromByteOffset: offset, as: Int128.self)),
                             PackedNumeric.key(b.loadUnaligned(fromByteOffset: offset, as: Int128.self)))
            case .interval:
                order = sign(Interval(packed: a.loadUnaligned(fromByteOffset: offset, as: Int128.self)).comparableMicros,
                             Interval(packed: b.loadUnaligned(fromByteOffset: offset, as: Int128.self)).comparableMicros)
            case .text, .varchar, .unknown:
                order = KilnString.compare(a.loadUnaligned(fromByteOffset: offset, as: Int128.self), b.loadUnaligned(fromByteOffset: offset, as: Int128.self))
            }
            if order != 0 { return key.descending ? -order : order }
        }
        return 0
    }

    static func sign<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }

    /// PostgreSQL orders NaN above every other value.
    static func floatOrder(_ a: Double, _ b: Double) -> Int {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : (a.isNaN ? 1 : -1) }
        return sign(a, b)
    }
}

/// The query result, as records.
final class OutputState: RuntimeState {
    let layout: RecordLayout
    let store: RecordStore
    init(layout: RecordLayout, budget: MemoryBudget?) {
        self.layout = layout
        store = RecordStore(recordSize: layout.size, budget: budget)
    }
}

/// LIMIT/OFFSET row counting.
final class LimitState: RuntimeState {
    let limitSlot: Int?
    let offsetSlot: Int?
    var limit = Int64.max
    var toSkip: Int64 = 0
    var emitted: Int64 = 0

    init(limit: Int?, offset: Int?) {
        limitSlot = limit
        offsetSlot = offset
    }

    func prepare(_ runtime: QueryRuntime) throws(DatabaseError) {
        if let limitSlot {
            if let l = runtime.parameterInteger(limitSlot) {
                if l < 0 { throw DatabaseError(.invalidRowCountInLimit, "LIMIT must not be negative") }
                limit = l
            }
        }
        if let offsetSlot, let o = runtime.parameterInteger(offsetSlot) {
            if o < 0 { throw DatabaseError(.invalidRowCountInOffset, "OFFSET must not be negative") }
            toSkip = o
        }
    }

    /// Whether the current row is emitted; raises the stop flag once the limit is reached.
    func step(_ context: UnsafeMutableRawPointer) -> Bool {
        if emitted >= limit {
            ContextFlags.store(context, ContextLayout.stop, 1)
            return false
        }
        if toSkip > 0 { toSkip -= 1; return false }
        emitted += 1
        if emitted >= limit { ContextFlags.store(context, ContextLayout.stop, 1) }
        return true
    }
}

/// Entries `[next][hash][record]` chained from a power-of-two directory, with the header
/// `[directory][mask]` that compiled probes read (`HashTableLayout`): an aggregation's groups.
/// Entries never move; the directory doubles when the entries outnumber its slots.
final class ChainedHashTable {
    let entries: RecordStore
    private(set) var directory: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private(set) var mask: Int
    let header = UnsafeMutableRawPointer.allocate(byteCount: HashTableLayout.headerSize, alignment: 16)
    let budget: MemoryBudget?

    /// Directories start at 1024 slots, or at the power of two that holds
    /// `expectedEntries` (the planner's estimate, at most 2^22 slots: a wrong guess costs
    /// 32 MB at worst, and the table still doubles past it).
    static let largestInitialSlots = 1 << 22

    init(recordSize: Int, budget: MemoryBudget?, expectedEntries: Int = 0) {
        self.budget = budget
        entries = RecordStore(recordSize: 16 + recordSize, budget: budget)
        var slots = 1024
        while slots < expectedEntries, slots < ChainedHashTable.largestInitialSlots { slots *= 2 }
        budget?.charge(slots * 8)
        mask = slots - 1
        directory = .allocate(capacity: mask + 1)
        directory.initialize(repeating: nil, count: mask + 1)
        header.initializeMemory(as: UInt8.self, repeating: 0, count: HashTableLayout.headerSize)
        publish()
    }

    deinit {
        directory.deallocate()
        header.deallocate()
    }

    private func publish() {
        header.storeBytes(of: UnsafeMutableRawPointer(directory), as: UnsafeMutableRawPointer.self)
        header.storeBytes(of: Int64(mask), toByteOffset: 8, as: Int64.self)
    }

    /// The addresses of the entries' records, in insertion order (the caller deallocates).
    func recordPointers() -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        let count = entries.count
        let array = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, count))
        for index in 0..<count { array[index] = entries.record(index) + 16 }
        return array
    }

    /// The first entry of `hash`'s bucket.
    @inline(__always)
    func bucket(_ hash: UInt64) -> UnsafeMutableRawPointer? { directory[Int(truncatingIfNeeded: hash) & mask] }

    /// A new zeroed entry for `hash`, linked at the head of its bucket.
    func insert(hash: UInt64) -> UnsafeMutableRawPointer {
        if entries.count > mask { rebuild(mask: mask * 2 + 1) }
        let entry = entries.append()
        entry.storeBytes(of: hash, toByteOffset: 8, as: UInt64.self)
        let slot = Int(truncatingIfNeeded: hash) & mask
        entry.storeBytes(of: directory[slot], as: UnsafeMutableRawPointer?.self)
        directory[slot] = entry
        return entry
    }

    /// A new directory with `newMask + 1` slots, every entry linked into it.
    private func rebuild(mask newMask: Int) {
        budget?.charge((newMask + 1) * 8)
        let newDirectory = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: newMask + 1)
        newDirectory.initialize(repeating: nil, count: newMask + 1)
        for index in 0..<entries.count {
            let entry = entries.record(index)
            let slot = Int(truncatingIfNeeded: entry.load(fromByteOffset: 8, as: UInt64.self)) & newMask
            entry.storeBytes(of: newDirectory[slot], as: UnsafeMutableRawPointer?.self)
            newDirectory[slot] = entry
        }
        directory.deallocate()
        budget?.release((mask + 1) * 8)
        directory = newDirectory
        mask = newMask
        publish()
    }
}

/// A join's hash table (`JoinHashTable`): the build pipeline appends entries
/// `[next][hash][keys, columns]`, the probe walks a bucket's chain comparing hash and keys
/// (inline code). Duplicate keys are kept: every match joins. As a source it yields the
/// entries' records (a mark join's outer rows), in insertion order unless the table was
/// clustered.
final class HashJoinState: RecordSourceState {
    let table: JoinHashTable
    var records: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    /// An entry with no successor whose record has every field NULL (LEFT joins' non-match).
    let nullEntry: UnsafeMutableRawPointer

    /// Set when a scan skips morsels by this join's keys (`KeyRangeFilter`): the build's first
    /// key field. `keyRange` then holds its least and greatest value once the build is done
    /// (nil: no key that is not NULL, so no probe row matches).
    let layout: RecordLayout
    var recordsKeyRange = false
    private(set) var keyRange: ClosedRange<Int64>?
    private(set) var keyRangeKnown = false

    init(layout: RecordLayout, budget: MemoryBudget?) {
        self.layout = layout
        table = JoinHashTable(recordSize: layout.size, budget: budget)
        nullEntry = .allocate(byteCount: 16 + layout.size, alignment: 16)
        nullEntry.initializeMemory(as: UInt8.self, repeating: 0, count: 16 + layout.size)
        (nullEntry + 16).initializeMemory(as: UInt8.self, repeating: 1, count: layout.types.count)
    }

    deinit {
        nullEntry.deallocate()
        records?.deallocate()
    }

    var header: UnsafeMutableRawPointer { table.header }

    override var sourceRecords: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) {
        if records == nil { records = table.recordPointers() }
        return (records!, table.count)
    }

    /// The build is complete: the entries go into the directory the probes read.
    override func finish(_ runtime: QueryRuntime) {
        table.link()
        if recordsKeyRange {
            keyRange = table.range(ofField: layout.offsets[0], nullByte: 0, physical: layout.types[0].physical)
            keyRangeKnown = true
        }
    }

    /// A new chunk for the build's entries; returns its first entry.
    func grow() -> UnsafeMutableRawPointer { table.grow() }
}
