import KilnCore

/// The outcome of one statement: a result set (columns and rows) or a command tag only.
public struct QueryResult: Sendable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var type: SQLType
    }
    public var columns: [Column]
    public var rows: [[Value]]
    /// PostgreSQL's command tag (`SELECT 3`, `INSERT 0 5`, `CREATE TABLE`).
    public var commandTag: String
    /// Whether the statement produces a result set (SELECT, EXPLAIN, SHOW).
    public var hasResultSet: Bool
    /// The rows went to a `RowStream` as the query produced them; `rows` is empty.
    public var streamed = false
    /// `COPY ... TO STDOUT`: the rows in the COPY format, one string per row (header first),
    /// each ending with a newline.
    public var copyData: [String]?
    /// Compilation and execution time, when the statement ran a query.
    public var timings: Timings?

    public struct Timings: Sendable {
        public var compileMilliseconds: Double
        public var executeMilliseconds: Double
        public var mode: String
        /// Bytes the query's hash tables and buffers held at most (its memory budget's charge).
        public var memoryBytes: Int = 0
        /// Per pipeline: rows, time, morsels per program; the code's compile times.
        public var profile: ExecutionProfile?
    }

    static func command(_ tag: String) -> QueryResult {
        QueryResult(columns: [], rows: [], commandTag: tag, hasResultSet: false)
    }
}
