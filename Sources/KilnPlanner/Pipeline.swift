import KilnCore
import KilnStorage

/// The fixed-width layout of a materialised tuple: a null byte per field, then the fields.
///
/// Hash-table entries, sort buffers and result buffers all store tuples in this layout, and
/// compiled code and the interpreter address fields by these offsets.
public struct RecordLayout: Sendable, Equatable {
    public let types: [SQLType]
    public let offsets: [Int]
    /// Offset of field i's null byte is `i` (fields follow the null bytes).
    public let size: Int

    public init(types: [SQLType]) {
        self.types = types
        var offset = (types.count + 7) / 8 * 8
        var offsets: [Int] = []
        for type in types {
            let width = type.physical.byteWidth
            offset = (offset + width - 1) / width * width
            offsets.append(offset)
            offset += width
        }
        self.offsets = offsets
        size = max(8, (offset + 15) / 16 * 16)
    }
}

/// Which rows a table scan's state reads (`ScanAccess` with its keys lifted to parameter slots).
public enum StateAccess: Sendable {
    case full
    /// Per key looked up, its slots; the scan converts each to its key column's type when it opens.
    case lookup(TableIndex, slots: [[Int]])
    case rows(Range<Int>)
    /// Per row identity named, its slot (converted to tid when the scan opens).
    case tids(slots: [Int])
}

/// Runtime state shared by a pipeline's sink and the next pipeline's source.
public enum PipelineState: Sendable {
    /// A table scan cursor over `columns` of `table`.
    case tableScan(table: Table, columns: [Int], access: StateAccess = .full)
    /// A generate_series cursor; its bounds are parameters.
    case series(type: SQLType, start: Int, stop: Int, step: Int)
    /// The cursor of a `LateralSeries`: its series restarts for every input row (each worker
    /// of a parallel pipeline has its own).
    case seriesCursor(type: SQLType)
    /// A one-row source.
    case singleRow
    /// A hash table of groups: keys then aggregate states.
    /// `expectedGroups`: the planner's estimate, which sizes the table's directory up front
    /// (no rebuilds while it fills; 0: start small).
    case hashAggregate(keyCount: Int, aggregates: [AggregateCall], layout: RecordLayout, expectedGroups: Int = 0)
    /// Records collected for sorting (no keys: just buffered, for UNION ALL). With `limit`
    /// (and `offset`) parameter slots, only the first limit + offset rows are kept (top-N).
    case sortBuffer(layout: RecordLayout, keys: [SortKey], limit: Int?, offset: Int?)
    /// Records collected, sorted by partition and order, then completed with window function
    /// results (fields `functions[i].resultColumn`).
    case windowBuffer(layout: RecordLayout, partition: [Int], order: [SortKey], functions: [WindowFunctionSlot])
    /// A LIMIT/OFFSET counter; limit and offset are parameters (nil: none).
    case limitCounter(limit: Int?, offset: Int?)
    /// The query result.
    case output(layout: RecordLayout)
    /// A join's hash table: entries hold the keys, then the build side's columns.
    case hashJoin(keyCount: Int, layout: RecordLayout)
}

/// One window function of a window buffer: which record fields it reads and writes.
public struct WindowFunctionSlot: Sendable {
    public var function: String
    /// The value argument (and lag/lead's default) fields.
    public var argumentColumns: [Int]
    public var resultColumn: Int
    /// lag/lead's row offset.
    public var offset: Int64
    public var frame: WindowFrameSpec
}

/// How a join probe treats matches: every match (inner), every match or one all-NULL row
/// (left), the probe row once if some match meets the residual condition (semi), the probe
/// row once if none does (anti). `mark`: the stream ends at the probe, which sets the mark
/// (the last build column) of every entry a probe row matches and meets the residual for;
/// a later pipeline reads the marked or unmarked entries (a semi or anti join that built its
/// hash table on the outer side).
public enum JoinMode: Int, Sendable {
    case inner, left, semi, anti, mark

    var label: String { ["", "Left", "Semi", "Anti", "Mark"][rawValue] }
}

/// Where a pipeline's tuples come from.
public enum PipelineSource: Sendable {
    case scan(state: Int)
    case series(state: Int)
    case singleRow(state: Int)
    case hashAggregate(state: Int)
    case sort(state: Int)
    /// The entries of a join's hash table, in insertion order (keys, then the stored columns).
    case hashJoinEntries(state: Int)
}

/// A pipelineable operator inside one fused loop.
public enum PipelineOperator: Sendable {
    case filter(BoundExpression)
    case project([BoundExpression])
    case limit(state: Int)
    /// For each row, every build row with equal keys (all of them when there are no keys):
    /// the stream continues with the build row's columns appended (inner, left), or with the
    /// probe row alone (semi, anti; `residual` reads the probe's columns, then the build's).
    case hashJoinProbe(state: Int, keys: [BoundExpression], buildTypes: [(SQLType, Bool)], mode: JoinMode, residual: BoundExpression?)
    /// For each row, the row once per value of its series (cursor `state`), the value
    /// appended; with `series.preserve`, once with a NULL value if no value counted.
    case seriesExpand(state: Int, series: LateralSeries)
}

/// Where a pipeline's tuples go.
public enum PipelineSink: Sendable {
    case hashAggregate(state: Int, keys: [BoundExpression], aggregates: [AggregateCall])
    case sort(state: Int)
    case output(state: Int)
    /// `storeColumns`: false when only the keys matter (semi joins).
    case hashJoinBuild(state: Int, keys: [BoundExpression], storeColumns: Bool)
    /// Marks the entries the preceding mark probe (`JoinMode.mark`) found, where `residual`
    /// (over the probe's columns, then the entry's) is true.
    case hashJoinMark(state: Int, residual: BoundExpression?)
}

/// One pipeline: a source, operators fused into its loop, and a sink.
public struct Pipeline: Sendable {
    public var id: Int
    public var source: PipelineSource
    public var sourceTypes: [(SQLType, Bool)]
    public var operators: [PipelineOperator]
    public var sink: PipelineSink

    /// The state the sink fills (several pipelines may fill one: a UNION ALL's inputs).
    public var sinkState: Int {
        switch sink {
        case .hashAggregate(let state, _, _), .sort(let state), .output(let state), .hashJoinBuild(let state, _, _), .hashJoinMark(let state, _): return state
        }
    }

    /// `pipeline N: scan(t) -> filter -> hashAggSink` for EXPLAIN (PIPELINES).
    public func summary(states: [PipelineState]) -> String {
        var parts: [String] = []
        switch source {
        case .scan(let s):
            if case .tableScan(let table, _, _) = states[s] { parts.append("scan(\(table.name))") } else { parts.append("scan") }
        case .series: parts.append("generateSeries")
        case .singleRow: parts.append("singleRow")
        case .hashAggregate: parts.append("hashAggSource")
        case .sort: parts.append("sortSource")
        case .hashJoinEntries(let s): parts.append("hashJoinEntries(state \(s))")
        }
        for op in operators {
            switch op {
            case .filter(let p): parts.append("filter(\(p))")
            case .project: parts.append("project")
            case .seriesExpand(let s, let series): parts.append("seriesExpand(state \(s), \(series))")
            case .hashJoinProbe(let s, let keys, _, let mode, let residual):
                let by = keys.isEmpty ? ", cross" : ", by " + keys.map(\.description).joined(separator: ", ")
                parts.append("hash\(mode.label)JoinProbe(state \(s)\(by)\(residual.map { ", if \($0)" } ?? ""))")
            case .limit(let s):
                if case .limitCounter(let l, let o) = states[s] {
                    parts.append("limit(\(l.map { "$\($0)" } ?? "all")\(o.map { ", offset $\($0)" } ?? ""))")
                } else { parts.append("limit") }
            }
        }
        switch sink {
        case .hashAggregate(_, let keys, _): parts.append("hashAggSink(by \(keys.map(\.description).joined(separator: ", ")))")
        case .sort: parts.append("sortSink")
        case .output: parts.append("output")
        case .hashJoinBuild(let state, let keys, _):
            parts.append("hashJoinBuildSink(state \(state)\(keys.isEmpty ? "" : ", by " + keys.map(\.description).joined(separator: ", ")))")
        case .hashJoinMark(let state, let residual):
            parts.append("hashJoinMarkSink(state \(state)\(residual.map { ", if \($0)" } ?? ""))")
        }
        return "pipeline \(id): " + parts.joined(separator: " -> ")
    }
}

/// A query cut into pipelines, in execution order, plus the states they share.
public struct PipelinePlan: Sendable {
    public var pipelines: [Pipeline]
    public var states: [PipelineState]
    /// Values of the parameter block slots (literals lifted out of the plan; `$n` are filled per execution).
    public var parameterSlots: [ParameterSlot]
    public var outputLayout: RecordLayout
    public var columnNames: [String]
    /// Scans that skip morsels outside the key range of a join they feed (`KeyRangeFilter`).
    public var keyRangeFilters: [KeyRangeFilter] = []
}

/// One slot of the parameter block.
public enum ParameterSlot: Sendable, Equatable {
    case literal(Value, SQLType)
    /// The statement's `$n`, cast to the type the binder inferred.
    case statementParameter(Int, SQLType)
    /// Outer column `i` of an applied subquery (see `ApplyPlan`): the value of the current call.
    case outerValue(Int, SQLType)
    /// The running transaction's start time (CURRENT_TIMESTAMP), filled per execution.
    case transactionTime
}
