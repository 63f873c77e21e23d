import KilnCore
import KilnPlanner
import KilnStorage

/// Window functions: the records a pipeline appended (input columns, partition keys, order
/// keys, arguments) are sorted by partition and order, then each function's result is written
/// into its field of every record; the next pipeline reads the records in that order.
///
/// Frames: ROWS with offsets, RANGE from UNBOUNDED PRECEDING or CURRENT ROW (its peers) to
/// CURRENT ROW (its peers) or UNBOUNDED FOLLOWING. Running and whole-partition frames are
/// computed incrementally (prefix sums and minima); sliding frames of min/max and floating
/// sums are recomputed per row, as PostgreSQL does for aggregates without an inverse.
final class WindowState: RecordSourceState {
    let layout: RecordLayout
    let partition: [SortKey]
    let order: [SortKey]
    let functions: [WindowFunctionSlot]
    let store: RecordStore

    init(layout: RecordLayout, partition: [Int], order: [SortKey], functions: [WindowFunctionSlot], budget: MemoryBudget?) {
        self.layout = layout
        self.partition = partition.map { SortKey(column: $0, descending: false, nullsFirst: false) }
        self.order = order
        self.functions = functions
        store = RecordStore(recordSize: layout.size, budget: budget)
    }

    override var sourceRecords: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) { (store.pointers, store.count) }

    override func finish(_ runtime: QueryRuntime) {
        let count = store.count
        let buffer = UnsafeMutableBufferPointer(start: store.pointers, count: count)
        let layout = layout, partition = partition, order = order
        // Whether two sorted rows (by index) are of one partition; of one partition and peers.
        let samePartition: (Int, Int) -> Bool
        let samePeers: (Int, Int) -> Bool
        if let keys = NormalizedSort.Keys(count: count, record: { buffer[$0]! }, layout: layout, keys: partition + order),
           let partitionBytes = NormalizedSort.bytes(of: partition, layout: layout) {
            // Sorted by normalized keys, whose bytes then tell partitions and peers apart.
            let positions = keys.sortedPositions()
            let records = Array(buffer)
            for (index, position) in positions.enumerated() { buffer[index] = records[position] }
            samePartition = { keys.equal(positions[$0], positions[$1], prefix: partitionBytes) }
            samePeers = { keys.equal(positions[$0], positions[$1], prefix: keys.bytes) }
        } else {
            RecordComparator.stableSort(buffer, layout: layout, keys: partition + order)
            samePartition = { RecordComparator.compare(buffer[$0]!, buffer[$1]!, layout: layout, keys: partition) == 0 }
            samePeers = { RecordComparator.compare(buffer[$0]!, buffer[$1]!, layout: layout, keys: order) == 0 }
        }
        var start = 0
        do {
            while start < count {
                var end = start + 1
                while end < count, samePartition(start, end) { end += 1 }
                let rows = Array(buffer[start..<end].map { $0! })
                let (peerEnds, peerStarts) = peers(rows.count, first: start, samePeers: samePeers)
                for function in functions {
                    try compute(function, rows: rows, peerEnds: peerEnds, peerStarts: peerStarts, arena: runtime.arena)
                }
                start = end
            }
        } catch {
            runtime.raise(error)
        }
    }

    /// For each of a partition's `count` rows (sorted, from index `first`): the index one past
    /// its last peer, and of its first peer (within the partition).
    func peers(_ count: Int, first: Int, samePeers: (Int, Int) -> Bool) -> (end: [Int], start: [Int]) {
        var ends = [Int](repeating: count, count: count), starts = [Int](repeating: 0, count: count)
        var groupStart = 0
        for index in 1...max(1, count) {
            if index == count || !samePeers(first + groupStart, first + index) {
                for member in groupStart..<min(index, count) { ends[member] = index; starts[member] = groupStart }
                groupStart = index
            }
        }
        return (ends, starts)
    }

    func value(_ row: UnsafeMutableRawPointer, _ column: Int) -> Value {
        if row.load(fromByteOffset: column, as: UInt8.self) != 0 { return .null }
        return ValueCodec.load(layout.types[column], at: row + layout.offsets[column])
    }

    func write(_ value: Value, _ row: UnsafeMutableRawPointer, _ column: Int, arena: StringArena) {
        if value.isNull {
            row.storeBytes(of: 1, toByteOffset: column, as: UInt8.self)
        } else {
            row.storeBytes(of: 0, toByteOffset: column, as: UInt8.self)
            ValueCodec.store(value, as: layout.types[column], at: row + layout.offsets[column], arena: arena)
        }
    }

    /// The frame [start, end) of row `index` (of `count` rows).
    func frame(_ spec: WindowFrameSpec, index: Int, count: Int, peerStart: Int, peerEnd: Int) -> (Int, Int) {
        func position(_ bound: FrameBound, isEnd: Bool) -> Int {
            switch bound {
            case .unboundedPreceding: return 0
            case .unboundedFollowing: return count
            case .currentRow: return spec.rows ? index + (isEnd ? 1 : 0) : (isEnd ? peerEnd : peerStart)
            case .preceding(let n): return max(0, min(count, index - Int(clamping: n) + (isEnd ? 1 : 0)))
            case .following(let n): return max(0, min(count, index + Int(clamping: min(n, Int64(count))) + (isEnd ? 1 : 0)))
            }
        }
        let start = position(spec.start, isEnd: false), end = position(spec.end, isEnd: true)
        return (start, max(start, end))
    }

    func compute(_ function: WindowFunctionSlot, rows: [UnsafeMutableRawPointer], peerEnds: [Int], peerStarts: [Int],
                 arena: StringArena) throws(DatabaseError) {
        let count = rows.count
        let result = function.resultColumn
        let resultType = layout.types[result]
        switch function.function {
        case "row_number":
            for (index, row) in rows.enumerated() { write(.int64(Int64(index + 1)), row, result, arena: arena) }
            return
        case "rank":
            for (index, row) in rows.enumerated() { write(.int64(Int64(peerStarts[index] + 1)), row, result, arena: arena) }
            return
        case "dense_rank":
            var rank: Int64 = 0
            for (index, row) in rows.enumerated() {
                if peerStarts[index] == index { rank += 1 }
                write(.int64(rank), row, result, arena: arena)
            }
            return
        case "lag", "lead":
            let values = rows.map { value($0, function.argumentColumns[0]) }
            let lag = function.function == "lag"
            for (index, row) in rows.enumerated() {
                let (target, overflow) = lag ? index.subtractingReportingOverflow(Int(clamping: function.offset))
                                                                    : index.addingReportingOverflow(Int(clamping: function.offset))
                let inside = !overflow && target >= 0 && target < count
                let v = inside ? values[target] : (function.argumentColumns.count > 1 ? value(row, function.argumentColumns[1]) : .null)
                write(v, row, result, arena: arena)
            }
            return
        default:
            break
        }
        // Aggregates and first/last_value over each row's frame.
        let argumentType = function.argumentColumns.first.map { layout.types[$0] } ?? .bigint
        let values = function.argumentColumns.isEmpty ? [Value](repeating: .int64(1), count: count) : rows.map { value($0, function.argumentColumns[0]) }
        var frames: [(Int, Int)] = []
        for index in 0..<count {
            frames.append(frame(function.frame, index: index, count: count, peerStart: peerStarts[index], peerEnd: peerEnds[index]))
        }
        let running = frames.allSatisfy { $0.0 == 0 }
        var aggregate = WindowAggregate(function: function.function, argumentType: argumentType, resultType: resultType, values: values)
        for (index, row) in rows.enumerated() {
            let (start, end) = frames[index]
            write(try aggregate.value(start, end, running: running), row, result, arena: arena)
        }
    }
}

/// An aggregate over frames of one partition's values.
struct WindowAggregate {
    /// The function, resolved once (not a string compared per row).
    enum Function {
        case countStar, count, firstValue, lastValue, min, max, sum, avg, unsupported(String)

        init(_ name: String) {
            switch name {
            case "count_star": self = .countStar
            case "count": self = .count
            case "first_value": self = .firstValue
            case "last_value": self = .lastValue
            case "min": self = .min
            case "max": self = .max
            case "sum": self = .sum
            case "avg": self = .avg
            default: self = .unsupported(name)
            }
        }
    }

    let function: Function
    let argumentType: SQLType
    let resultType: SQLType
    let values: [Value]
    /// Prefix counts of non-NULL values; prefix sums (exact types) for sum/avg.
    var counts: [Int] = [0]
    var exactSums: [Int128] = [0]
    var exactOverflow: [Bool] = [false]
    /// Running float sums and running minima/maxima (for frames starting at the partition).
    var floatSums: [Double] = [0]
    var extremes: [Value] = [.null]
    /// Prefix sums of intervals, field by field (wide enough for any partition).
    var intervalSums: [(months: Int64, days: Int64, micros: Int128)] = [(0, 0, 0)]
    /// Unconstrained numerics: the scale `exactSums` are at (the partition's largest), and
    /// the largest scale of the values before each row (a running frame's sum shows it).
    var commonScale = 0
    var prefixScales: [Int] = [0]

    init(function: String, argumentType: SQLType, resultType: SQLType, values: [Value]) {
        self.function = Function(function)
        self.argumentType = argumentType
        self.resultType = resultType
        self.values = values
        var count = 0, exact: Int128 = 0, overflow = false, float = 0.0, extreme = Value.null
        if argumentType == .dynamicNumeric {
            for case .numeric(_, let s) in values { commonScale = max(commonScale, s) }
        }
        var prefixScale = 0
        let extremeWanted: Bool?  // true: the least, false: the greatest, nil: neither
        switch self.function {
        case .min: extremeWanted = true
        case .max: extremeWanted = false
        default: extremeWanted = nil
        }
        for v in values {
            if !v.isNull {
                count += 1
                if case .interval(let i) = v {
                    let last = intervalSums[intervalSums.count - 1]
                    intervalSums.append((last.months + Int64(i.months), last.days + Int64(i.days), last.micros + Int128(i.micros)))
                } else if var (m, s) = WindowAggregate.exact(v) {
                    if argumentType == .dynamicNumeric {
                        // Each value's own scale: summed at the partition's largest.
                        if let aligned = DecimalMath.rescale(m, from: s, to: commonScale) { m = aligned } else { overflow = true }
                        prefixScale = max(prefixScale, s)
                    }
                    let (sum, o) = exact.addingReportingOverflow(m)
                    exact = sum
                    overflow = overflow || o
                } else if let d = WindowAggregate.float(v) {
                    float += d
                }
                if let extremeWanted { extreme = WindowAggregate.better(v, than: extreme, extremeWanted) }
            }
            if argumentType == .interval, v.isNull { intervalSums.append(intervalSums[intervalSums.count - 1]) }
            counts.append(count)
            exactSums.append(exact)
            exactOverflow.append(overflow)
            prefixScales.append(prefixScale)
            floatSums.append(float)
            extremes.append(extreme)
        }
    }

    static func exact(_ v: Value) -> (Int128, Int)? {
        switch v {
        case .int16(let x): return (Int128(x), 0)
        case .int32(let x): return (Int128(x), 0)
        case .int64(let x): return (Int128(x), 0)
        case .numeric(let m, let s): return (m, s)
        default: return nil
        }
    }

    static func float(_ v: Value) -> Double? {
        switch v {
        case .float32(let x): return Double(x)
        case .float64(let x): return x
        default: return nil
        }
    }

    static func better(_ v: Value, than current: Value, _ wantLess: Bool) -> Value {
        if current.isNull { return v }
        guard let order = try? ScalarFunctions.compare(v, current) else { return current }
        // Equal decimals (2 and 2.0): the later one, as PostgreSQL's numeric_larger/smaller.
        if order == 0, v.isDecimal { return v }
        return (wantLess ? order < 0 : order > 0) ? v : current
    }

    /// The value over [start, end); `running`: every frame starts at the partition's start.
    mutating func value(_ start: Int, _ end: Int, running: Bool) throws(DatabaseError) -> Value {
        let n = counts[end] - counts[start]
        switch function {
        case .countStar: return .int64(Int64(end - start))
        case .count: return .int64(Int64(n))
        case .firstValue: return start < end ? values[start] : .null
        case .lastValue: return start < end ? values[end - 1] : .null
        case .min, .max:
            if n == 0 { return .null }
            if running { return extremes[end] }
            var best = Value.null
            let least = if case .min = function { true } else { false }
            for v in values[start..<end] where !v.isNull { best = WindowAggregate.better(v, than: best, least) }
            return best
        case .sum where argumentType == .interval, .avg where argumentType == .interval:
            if n == 0 { return .null }
            let a = intervalSums[start], b = intervalSums[end]
            guard let months = Int32(exactly: b.months - a.months), let days = Int32(exactly: b.days - a.days),
                  let micros = Int64(exactly: b.micros - a.micros) else { throw DatabaseError.intervalOutOfRange }
            let sum = Interval(months: months, days: days, micros: micros)
            if case .sum = function { return .interval(sum) }
            guard let average = sum.scaled(by: Double(n), dividing: true) else { throw DatabaseError.intervalOutOfRange }
            return .interval(average)
        case .sum, .avg:
            if n == 0 { return .null }
            let sum: Value
            let isAverage = if case .avg = function { true } else { false }
            let sumType: SQLType = isAverage
                ? (argumentType.isFloat ? .double : argumentType == .dynamicNumeric ? .dynamicNumeric : .numeric(precision: nil, scale: argumentType.scale)) : resultType
            if argumentType.isFloat {
                var total = 0.0
                if running { total = floatSums[end] } else { for v in values[start..<end] { total += WindowAggregate.float(v) ?? 0 } }
                sum = sumType == .real ? .float32(Float(total)) : .float64(total)
            } else {
                if exactOverflow[end] != exactOverflow[start] { throw DatabaseError.numericOutOfRange("numeric") }
                let total = exactSums[end] - exactSums[start]
                switch sumType {
                case .bigint:
                    guard let x = Int64(exactly: total) else { throw DatabaseError(.numericValueOutOfRange, "bigint out of range") }
                    sum = .int64(x)
                case .dynamicNumeric:
                    // The frame's values' largest scale, as PostgreSQL's sum shows.
                    var scale = running ? prefixScales[end] : 0
                    if !running { for case .numeric(_, let s) in values[start..<end] { scale = max(scale, s) } }
                    sum = .numeric(DecimalMath.rescale(total, from: commonScale, to: scale) ?? total, scale: scale)
                default:
                    sum = .numeric(total, scale: argumentType.scale)
                }
            }
            if !isAverage { return sum }
            return try ScalarFunctions.evaluate("avg_final", [sum, .int64(Int64(n))], argumentTypes: [sumType, .bigint], resultType: resultType)
        case .unsupported(let name):
            throw DatabaseError(.featureNotSupported, "window function \(name) is not supported")
        }
    }
}
