import KilnCore
import KilnStorage

/// One aggregate of a GROUP BY (after `avg` is split into `sum` and `count`).
public struct AggregateCall: Sendable, Equatable, CustomStringConvertible {
    /// `count_star`, `count`, `sum`, `min`, `max`.
    public var function: String
    public var argument: BoundExpression?
    /// The type of the running state and of the result.
    public var type: SQLType
    public var distinct: Bool

    public var description: String { "\(function)(\(argument?.description ?? "*"))" }
}

/// One bound of a window frame (offsets are constants).
public enum FrameBound: Sendable, Equatable {
    case unboundedPreceding
    case preceding(Int64)
    case currentRow
    case following(Int64)
    case unboundedFollowing
}

/// `ROWS` or `RANGE` frame of a window; RANGE has no offsets (yet).
public struct WindowFrameSpec: Sendable, Equatable {
    public var rows: Bool
    public var start: FrameBound
    public var end: FrameBound
    /// RANGE UNBOUNDED PRECEDING .. CURRENT ROW (all rows are peers without ORDER BY).
    public static let standard = WindowFrameSpec(rows: false, start: .unboundedPreceding, end: .currentRow)
}

/// `generate_series(start, stop, step)` over the columns of each row of an input (a function
/// in FROM that reads the items before it: `FROM t, generate_series(1, t.n) g`).
public struct LateralSeries: Sendable, Equatable, CustomStringConvertible {
    public var start: BoundExpression
    public var stop: BoundExpression
    public var step: BoundExpression
    /// The values' type: smallint, integer, bigint or timestamp (with an interval step).
    public var type: SQLType
    /// LEFT JOIN LATERAL: a row none of whose values meets `residual` (an empty series) still
    /// appears once, its value NULL.
    public var preserve: Bool
    /// The ON condition of a LEFT JOIN, over the input's columns, then the value.
    public var residual: BoundExpression?

    public init(start: BoundExpression, stop: BoundExpression, step: BoundExpression, type: SQLType, preserve: Bool, residual: BoundExpression?) {
        (self.start, self.stop, self.step, self.type, self.preserve, self.residual) = (start, stop, step, type, preserve, residual)
    }

    public var expressions: [BoundExpression] { [start, stop, step] + (residual.map { [$0] } ?? []) }

    public var columnsUsed: Set<Int> { expressions.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) } }

    /// `map` renumbers the input's columns; `value` is the value's column before and after.
    public func remapColumns(value: (old: Int, new: Int), _ map: (Int) -> Int) -> LateralSeries {
        var copy = self
        copy.start = start.remapColumns(map)
        copy.stop = stop.remapColumns(map)
        copy.step = step.remapColumns(map)
        copy.residual = residual?.remapColumns { $0 == value.old ? value.new : map($0) }
        return copy
    }

    public var description: String {
        "generate_series(\(start), \(stop), \(step))\(preserve ? " preserving rows" : "")\(residual.map { " if \($0)" } ?? "")"
    }
}

/// A window function call: `function(arguments) OVER (PARTITION BY partition ORDER BY order frame)`.
public struct WindowCall: Sendable, Equatable, CustomStringConvertible {
    /// `row_number`, `rank`, `dense_rank`, `count_star`, `count`, `sum`, `avg`, `min`, `max`,
    /// `first_value`, `last_value`, `lag`, `lead`.
    public var function: String
    /// The value argument; for lag/lead also the default (NULL when absent).
    public var arguments: [BoundExpression]
    /// lag/lead: the row offset.
    public var offset: Int64
    public var type: SQLType
    public var partition: [BoundExpression]
    public var order: [BoundExpression]
    public var orderKeys: [(descending: Bool, nullsFirst: Bool)]
    public var frame: WindowFrameSpec

    public static func == (a: WindowCall, b: WindowCall) -> Bool {
        a.function == b.function && a.arguments == b.arguments && a.offset == b.offset && a.type == b.type && a.sameWindow(as: b)
    }

    /// Whether both calls see the same partitions, order and frame (one window node serves both).
    public func sameWindow(as other: WindowCall) -> Bool {
        partition == other.partition && order == other.order && frame == other.frame
            && orderKeys.map(\.descending) == other.orderKeys.map(\.descending) && orderKeys.map(\.nullsFirst) == other.orderKeys.map(\.nullsFirst)
    }

    public var description: String {
        "\(function)(\(arguments.map(\.description).joined(separator: ", "))) over (partition [\(partition.map(\.description).joined(separator: ", "))] order [\(order.map(\.description).joined(separator: ", "))])"
    }

    public func remapColumns(_ map: (Int) -> Int) -> WindowCall {
        var copy = self
        copy.arguments = arguments.map { $0.remapColumns(map) }
        copy.partition = partition.map { $0.remapColumns(map) }
        copy.order = order.map { $0.remapColumns(map) }
        return copy
    }

    public var columnsUsed: Set<Int> {
        (arguments + partition + order).reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
    }
}

public struct SortKey: Sendable, Equatable {
    public var column: Int
    public var descending: Bool
    public var nullsFirst: Bool

    public init(column: Int, descending: Bool, nullsFirst: Bool) {
        self.column = column
        self.descending = descending
        self.nullsFirst = nullsFirst
    }
}

/// A physical query plan. Each node knows its output columns.
/// Which rows of a table a scan reads.
public enum ScanAccess: Sendable {
    /// Every row the snapshot sees.
    case full
    /// The rows the snapshot sees whose key in `index` equals one of `keys` (each a value per
    /// key column; expressions without columns: constants and parameters), found through the
    /// index (`k = $1`, or `k IN (1, 2, 3)`).
    case lookup(TableIndex, keys: [[BoundExpression]])
    /// The rows the snapshot sees among those `ctid = v` names (`v`: constants and
    /// parameters of type tid), found by their identity (`UPDATE ... WHERE ctid = $1`).
    case tids([BoundExpression])
    /// Rows `range` of the table, all of them (the rows a statement just appended, which its
    /// CHECK constraints test).
    case rows(Range<Int>)
}

public indirect enum PlanNode: Sendable {
    /// Reads `columns` of `table` (the output is those columns in that order).
    case tableScan(table: Table, columns: [Int], access: ScanAccess = .full)
    /// `generate_series(start, stop, step)` as a one-column table.
    case seriesScan(start: BoundExpression, stop: BoundExpression, step: BoundExpression, type: SQLType)
    /// For each input row, the row once per value of a series computed from its columns, the
    /// value appended (`LateralSeries`). Output: the input's columns, then the value.
    case seriesExpand(PlanNode, series: LateralSeries)
    /// One row with no columns (`SELECT 1`).
    case singleRow
    case filter(PlanNode, predicate: BoundExpression)
    case project(PlanNode, expressions: [BoundExpression], names: [String])
    /// Output: the group keys, then the aggregates.
    case aggregate(PlanNode, keys: [BoundExpression], aggregates: [AggregateCall])
    case sort(PlanNode, keys: [SortKey])
    case limit(PlanNode, limit: BoundExpression?, offset: BoundExpression?)
    /// Inner equi-join: the build side goes into a hash table, the probe side streams past it.
    /// Output: the probe's columns, then the build's. No keys: a cross join.
    /// Probe rows with at least one build row of equal keys that meets `residual` (over the
    /// probe's columns, then the build's), once each; with `anti`, the probe rows with none
    /// (IN, EXISTS, NOT EXISTS). Output: the probe's columns.
    case semiJoin(probe: PlanNode, build: PlanNode, probeKeys: [BoundExpression], buildKeys: [BoundExpression], residual: BoundExpression?, anti: Bool)
    /// Window functions over one window (same partitions, order and frame). Output: the
    /// input's columns, then one per call.
    case window(PlanNode, calls: [WindowCall])
    /// The rows of every input, one after another (UNION ALL); inputs have equal column types.
    case unionAll([PlanNode])
    /// `preserveProbe`: a LEFT join (probe rows without a match appear once, build columns NULL);
    /// its `residual` (over the probe's columns, then the build's) decides which key matches count.
    case hashJoin(probe: PlanNode, build: PlanNode, probeKeys: [BoundExpression], buildKeys: [BoundExpression], preserveProbe: Bool,
                  residual: BoundExpression? = nil)
    /// A plan computed once per execution and read by every node that carries the same `id`
    /// (a WITH query referenced more than once): the first reference runs `plan` into a
    /// buffer, every reference reads the buffer. Rewriting passes leave `plan` alone (it was
    /// optimised on its own, `SharedPlans`), as one reference's context must not change what
    /// the others read. `source`: the plan as bound, before that optimisation (what
    /// `SharedPlans.pushReferenceFilters` filters and optimises again).
    case shared(id: Int, plan: PlanNode, source: PlanNode)

    /// The same node over `transform`ed inputs (the walk the planner's rewriting passes share
    /// for the nodes they do not rewrite).
    public func mapInputs(_ transform: (PlanNode) -> PlanNode) -> PlanNode {
        switch self {
        case .tableScan, .seriesScan, .singleRow, .shared: return self
        case .filter(let input, let predicate): return .filter(transform(input), predicate: predicate)
        case .project(let input, let expressions, let names): return .project(transform(input), expressions: expressions, names: names)
        case .aggregate(let input, let keys, let aggregates): return .aggregate(transform(input), keys: keys, aggregates: aggregates)
        case .sort(let input, let keys): return .sort(transform(input), keys: keys)
        case .limit(let input, let limit, let offset): return .limit(transform(input), limit: limit, offset: offset)
        case .window(let input, let calls): return .window(transform(input), calls: calls)
        case .seriesExpand(let input, let series): return .seriesExpand(transform(input), series: series)
        case .unionAll(let inputs): return .unionAll(inputs.map(transform))
        case .semiJoin(let probe, let build, let pk, let bk, let residual, let anti):
            return .semiJoin(probe: transform(probe), build: transform(build), probeKeys: pk, buildKeys: bk, residual: residual, anti: anti)
        case .hashJoin(let probe, let build, let pk, let bk, let preserve, let residual):
            return .hashJoin(probe: transform(probe), build: transform(build), probeKeys: pk, buildKeys: bk, preserveProbe: preserve, residual: residual)
        }
    }

    /// For each of the `used` output columns of a projection computing `expressions`, the
    /// input column it passes through; nil when one of them is not a plain column.
    public static func sources(of used: Set<Int>, through expressions: [BoundExpression]) -> [Int: Int]? {
        var mapping: [Int: Int] = [:]
        for column in used {
            guard column < expressions.count, case .column(let source) = expressions[column].kind else { return nil }
            mapping[column] = source
        }
        return mapping
    }

    /// Output column types and nullability.
    public var outputTypes: [(SQLType, Bool)] {
        switch self {
        case .tableScan(let table, let columns, _): return columns.map { (table.scanColumn($0).type, !table.scanColumn($0).notNull) }
        case .seriesScan(_, _, _, let type): return [(type, false)]
        case .singleRow: return []
        case .filter(let input, _), .sort(let input, _), .limit(let input, _, _): return input.outputTypes
        case .project(_, let expressions, _): return expressions.map { ($0.type, $0.nullable) }
        case .aggregate(_, let keys, let aggregates):
            return keys.map { ($0.type, $0.nullable) } + aggregates.map { ($0.type, $0.function != "count" && $0.function != "count_star") }
        case .semiJoin(let probe, _, _, _, _, _):
            return probe.outputTypes
        case .window(let input, let calls):
            return input.outputTypes + calls.map { ($0.type, !["row_number", "rank", "dense_rank", "count", "count_star"].contains($0.function)) }
        case .seriesExpand(let input, let series):
            return input.outputTypes + [(series.type, series.preserve)]
        case .unionAll(let inputs):
            var types = inputs[0].outputTypes
            for input in inputs.dropFirst() {
                for (index, (_, nullable)) in input.outputTypes.enumerated() where nullable { types[index].1 = true }
            }
            return types
        case .hashJoin(let probe, let build, _, _, let preserveProbe, _):
            return probe.outputTypes + build.outputTypes.map { ($0.0, $0.1 || preserveProbe) }
        case .shared(_, let plan, _):
            return plan.outputTypes
        }
    }

    /// An indented description for `EXPLAIN`.
    public func explain(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        switch self {
        case .tableScan(let table, let columns, let access):
            var via = ""
            if case .lookup(let index, let keys) = access {
                via = " using \(index.key.name) " + keys.map { "(\($0.map(\.description).joined(separator: ", ")))" }.joined(separator: " ")
            }
            if case .rows(let range) = access { via = " rows \(range.lowerBound)..<\(range.upperBound)" }
            if case .tids(let keys) = access { via = " by ctid " + keys.map(\.description).joined(separator: ", ") }
            return "\(pad)Scan \(table.name)\(via) [\(columns.map { table.scanColumn($0).name }.joined(separator: ", "))]"
        case .seriesScan(let a, let b, let c, _): return "\(pad)GenerateSeries(\(a), \(b), \(c))"
        case .singleRow: return "\(pad)Result"
        case .filter(let input, let p): return "\(pad)Filter \(p)\n" + input.explain(indent: indent + 1)
        case .project(let input, let e, _): return "\(pad)Project [\(e.map(\.description).joined(separator: ", "))]\n" + input.explain(indent: indent + 1)
        case .aggregate(let input, let k, let a):
            return "\(pad)HashAggregate keys=[\(k.map(\.description).joined(separator: ", "))] aggregates=[\(a.map(\.description).joined(separator: ", "))]\n" + input.explain(indent: indent + 1)
        case .sort(let input, let keys):
            return "\(pad)Sort [\(keys.map { "#\($0.column)\($0.descending ? " DESC" : "")" }.joined(separator: ", "))]\n" + input.explain(indent: indent + 1)
        case .limit(let input, let l, let o):
            return "\(pad)Limit \(l?.description ?? "ALL") offset \(o?.description ?? "0")\n" + input.explain(indent: indent + 1)
        case .semiJoin(let probe, let build, let pk, let bk, let residual, let anti):
            let keys = zip(pk, bk).map { "\($0) = build.\($1)" }.joined(separator: ", ")
            return "\(pad)Hash\(anti ? "Anti" : "Semi")Join [\(keys.isEmpty ? "cross" : keys)]\(residual.map { " if \($0)" } ?? "")\n"
                + probe.explain(indent: indent + 1) + "\n" + build.explain(indent: indent + 1)
        case .window(let input, let calls):
            return "\(pad)Window [\(calls.map(\.description).joined(separator: ", "))]\n" + input.explain(indent: indent + 1)
        case .seriesExpand(let input, let series):
            return "\(pad)SeriesExpand \(series)\n" + input.explain(indent: indent + 1)
        case .unionAll(let inputs):
            return "\(pad)Append\n" + inputs.map { $0.explain(indent: indent + 1) }.joined(separator: "\n")
        case .hashJoin(let probe, let build, let pk, let bk, let preserveProbe, let residual):
            let keys = zip(pk, bk).map { "\($0) = build.\($1)" }.joined(separator: ", ")
            return "\(pad)Hash\(preserveProbe ? "Left" : "")Join [\(keys.isEmpty ? "cross" : keys)]\(residual.map { " if \($0)" } ?? "")\n" + probe.explain(indent: indent + 1) + "\n" + build.explain(indent: indent + 1)
        case .shared(let id, let plan, _):
            return "\(pad)Shared \(id)\n" + plan.explain(indent: indent + 1)
        }
    }
}

/// A bound SELECT: the plan plus the result's column names.
public struct BoundQuery: Sendable {
    public var plan: PlanNode
    public var columnNames: [String]
    public var columnTypes: [SQLType] { plan.outputTypes.map(\.0) }
    /// Types of `$n` parameters as inferred from their use (index 0 is `$1`).
    public var parameterTypes: [SQLType]
    /// The statement's applied subqueries (`__apply_<id>` calls), if any.
    public var applies: ApplyRegistry? = nil
    /// Each optimizer pass's time on this statement (EXPLAIN ANALYZE reports them).
    public var optimizerTimings: [Optimizer.Timing] = []

    public init(plan: PlanNode, columnNames: [String], parameterTypes: [SQLType], applies: ApplyRegistry? = nil) {
        self.plan = plan
        self.columnNames = columnNames
        self.parameterTypes = parameterTypes
        self.applies = applies
    }
}
