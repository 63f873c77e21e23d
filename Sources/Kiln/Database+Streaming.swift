import KilnCore
import KilnRuntime
import KilnPlanner
import KilnSQL

/// Where a statement's result set goes while the query produces it: its columns first, then
/// its rows in batches, in result order. Nothing of the result is kept (memory stays bounded
/// whatever its size); a callback that throws stops the query with that error.
///
/// The callbacks run on the statement's thread while it holds the session (and the shared
/// statement lock): they must not run statements on the same `Database` (that is refused
/// with 55006), and a slow one holds back the query, not memory.
public struct RowStream {
    public var columns: ([QueryResult.Column]) throws(DatabaseError) -> Void
    public var rows: ([[Value]]) throws(DatabaseError) -> Void
    /// `COPY ... TO STDOUT`: its lines (each ending with a newline, the header first) as they
    /// are made; without it they are kept in the result's `copyData`.
    public var copyData: (([String]) throws(DatabaseError) -> Void)?
    /// After each statement that succeeded: its result (tag, `copyData`, timings; no rows).
    public var finished: ((QueryResult) throws(DatabaseError) -> Void)?

    public init(columns: @escaping ([QueryResult.Column]) throws(DatabaseError) -> Void,
                rows: @escaping ([[Value]]) throws(DatabaseError) -> Void,
                copyData: (([String]) throws(DatabaseError) -> Void)? = nil,
                finished: ((QueryResult) throws(DatabaseError) -> Void)? = nil) {
        self.columns = columns
        self.rows = rows
        self.copyData = copyData
        self.finished = finished
    }
}

extension Database {
    /// Runs every statement in `sql`, handing each result set to `stream` as it is produced
    /// (the results returned have `streamed` set and no rows; their tags count the rows).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [Value] = [], streaming stream: RowStream) throws(DatabaseError) -> [QueryResult] {
        try refuseWhileDelivering()
        return try onStatementStack { () throws(DatabaseError) in try executeInPlace(sql, parameters, stream: stream) }
    }

    /// Runs a prepared statement, handing its result set to `stream` as it is produced.
    @discardableResult
    public func execute(_ prepared: PreparedStatement, _ parameters: [Value] = [], streaming stream: RowStream) throws(DatabaseError) -> QueryResult {
        try refuseWhileDelivering()
        return try streamed(stream, prepared.statement) { () throws(DatabaseError) in try execute(prepared, parameters) }
    }

    /// Runs a query and calls `body` with each row as the query produces it, without keeping
    /// the result (a row iterator in bounded memory). Returns the number of rows.
    @discardableResult
    public func forEachRow(_ sql: String, _ parameters: [Value] = [], _ body: (Row) throws(DatabaseError) -> Void) throws(DatabaseError) -> Int {
        try withoutActuallyEscaping(body) { body throws(DatabaseError) -> Int in
            var columns: [QueryResult.Column] = []
            var count = 0
            let stream = RowStream(columns: { columns = $0 }, rows: { rows throws(DatabaseError) in
                for values in rows { try body(Row(columns: columns, values: values)) }
                count += rows.count
            })
            try execute(sql, parameters, streaming: stream)
            return count
        }
    }

    /// Runs one statement with `stream` as the destination of its query's rows; a result set
    /// made another way (SHOW, EXPLAIN, RETURNING) goes to the stream when it is done.
    ///
    /// Only a SELECT's own query (and a FETCH's rows) streams: other statements run queries of
    /// their own (COPY's, INSERT's, the checks of constraints, DECLARE's), whose rows are not the
    /// statement's result.
    func streamed(_ stream: RowStream, _ statement: Statement, _ run: () throws(DatabaseError) -> QueryResult) throws(DatabaseError) -> QueryResult {
        switch statement {
        case .select, .fetch(_, _, false, _): rowStream = stream
        case .copyTo(_, nil, _, _): copyOutStream = stream.copyData
        default: break
        }
        defer {
            rowStream = nil
            copyOutStream = nil
        }
        var result = try run()
        if result.hasResultSet, !result.streamed {
            try deliver { () throws(DatabaseError) in
                try stream.columns(result.columns)
                if !result.rows.isEmpty { try stream.rows(result.rows) }
            }
            result.rows = []
            result.streamed = true
        }
        if let finished = stream.finished {
            try deliver { () throws(DatabaseError) in try finished(result) }
        }
        return result
    }

    /// Runs a SELECT's plan (`run` calls the executor with the body it is given): its rows are
    /// kept in the result, or, when the statement streams, handed to the stream as the output
    /// pipeline fills batches (the executor suspends it at a morsel boundary to deliver them).
    func queryResult(_ columns: [QueryResult.Column],
                     _ run: ((QueryRuntime, PipelinePlan) throws(DatabaseError) -> [[Value]]) throws(DatabaseError) -> ([[Value]], QueryResult.Timings)) throws(DatabaseError) -> QueryResult {
        guard let stream = rowStream else {
            let (rows, timings) = try run { runtime, plan in runtime.outputRows(layout: plan.outputLayout) }
            var result = QueryResult(columns: columns, rows: rows, commandTag: "SELECT \(rows.count)", hasResultSet: true)
            result.timings = timings
            return result
        }
        rowStream = nil
        try deliver { () throws(DatabaseError) in try stream.columns(columns) }
        var delivered = 0
        executor.outputStream = { [unowned self] runtime, plan throws(DatabaseError) in
            let rows = runtime.outputRows(layout: plan.outputLayout)
            delivered += rows.count
            try deliver { () throws(DatabaseError) in try stream.rows(rows) }
        }
        defer { executor.outputStream = nil }
        let (_, timings) = try run { [unowned self] runtime, plan throws(DatabaseError) in
            let rows = runtime.outputRows(layout: plan.outputLayout)
            delivered += rows.count
            if !rows.isEmpty { try deliver { () throws(DatabaseError) in try stream.rows(rows) } }
            return []
        }
        var result = QueryResult(columns: columns, rows: [], commandTag: "SELECT \(delivered)", hasResultSet: true)
        result.streamed = true
        result.timings = timings
        return result
    }

    /// A result known whole before any row may go out (a locking SELECT's rows, known once
    /// they are locked): handed to the session's row stream when it has one.
    func completeResult(_ columns: [QueryResult.Column], rows: [[Value]]) throws(DatabaseError) -> QueryResult {
        guard let stream = rowStream else {
            return QueryResult(columns: columns, rows: rows, commandTag: "SELECT \(rows.count)", hasResultSet: true)
        }
        rowStream = nil
        try deliver { () throws(DatabaseError) in try stream.columns(columns) }
        if !rows.isEmpty { try deliver { () throws(DatabaseError) in try stream.rows(rows) } }
        var result = QueryResult(columns: columns, rows: [], commandTag: "SELECT \(rows.count)", hasResultSet: true)
        result.streamed = true
        return result
    }

    /// Runs a stream's callback with the session marked busy.
    func deliver(_ body: () throws(DatabaseError) -> Void) throws(DatabaseError) {
        deliveringRows = true
        defer { deliveringRows = false }
        try body()
    }

    /// A statement started from a stream's callback would wait for itself (the statement lock).
    func refuseWhileDelivering() throws(DatabaseError) {
        if deliveringRows {
            throw DatabaseError(SQLState("55006"), "cannot run a statement on this session while it delivers another statement's rows",
                                hint: "Use another Database session, or collect the rows first.")
        }
    }
}
