import KilnCore
import KilnSQL

/// SQL cursors: `DECLARE`, `FETCH`, `MOVE`, `CLOSE`.
///
/// A cursor's query runs at DECLARE, its rows going to a `ResultStore` as they are made
/// (bounded memory: past `work_mem` they spill to a temporary file), so FETCH moves freely in
/// both directions (every cursor can scroll). Without `WITH HOLD` a cursor lives until the end
/// of the transaction block that declared it, as in PostgreSQL.
struct Cursor {
    var store: ResultStore
    /// 0 before the first row, 1...count on a row, count + 1 after the last.
    var position = 0
    var holdable: Bool
}

extension Database {
    /// The result columns of the cursor `name` (the protocol describes a cursor as a portal).
    public func cursorColumns(_ name: String) -> [QueryResult.Column]? { cursors[name]?.store.columns }

    func declareCursor(_ name: String, _ query: SelectStatement, hold: Bool, parameters: [Value], position: Int) throws(DatabaseError) -> QueryResult {
        guard hold || inTransactionBlock else {
            throw DatabaseError(SQLState("25P01"), "DECLARE CURSOR can only be used in transaction blocks", position: position)
        }
        guard cursors[name] == nil else { throw DatabaseError(SQLState("42P03"), "cursor \"\(name)\" already exists", position: position) }
        let store = try keptResult(parameters: parameters) { () throws(DatabaseError) in try perform(.select(query), parameters: parameters) }
        cursors[name] = Cursor(store: store, holdable: hold)
        return .command("DECLARE CURSOR")
    }

    /// Runs `run` (a query's statement) with its result set going to a new `ResultStore` as
    /// the query makes it; the caller holds the statement lock.
    func keptResult(parameters: [Value], _ run: () throws(DatabaseError) -> QueryResult) throws(DatabaseError) -> ResultStore {
        var store: ResultStore?
        let memory = workMemoryBytes
        let outer = rowStream
        rowStream = RowStream(columns: { store = ResultStore(columns: $0, memoryBytes: memory) },
                              rows: { rows throws(DatabaseError) in try store?.append(rows) })
        defer { rowStream = outer }
        let result = try run()
        // A result set made whole (not through the stream) is kept the same way.
        let kept = store ?? ResultStore(columns: result.columns, memoryBytes: memory)
        if !result.streamed { try kept.append(result.rows) }
        try kept.finish()
        return kept
    }

    func fetch(_ name: String, _ direction: FetchDirection, move: Bool, position: Int) throws(DatabaseError) -> QueryResult {
        guard var cursor = cursors[name] else { throw DatabaseError(SQLState("34000"), "cursor \"\(name)\" does not exist", position: position) }
        let count = cursor.store.count
        // The rows passed over, as 0-based row numbers: a run read forwards or backwards.
        var run = 0..<0
        var backward = false
        func step(forward: Bool, _ limit: Int?) {
            let wanted = limit ?? Int.max
            backward = !forward
            if forward {
                guard cursor.position <= count else { return }
                let available = count - cursor.position
                let taken = min(wanted, available)
                run = cursor.position..<(cursor.position + taken)
                cursor.position = wanted > available ? count + 1 : cursor.position + taken
            } else {
                guard cursor.position >= 1 else { return }
                let available = cursor.position - 1
                let taken = min(wanted, available)
                run = (cursor.position - 1 - taken)..<(cursor.position - 1)
                cursor.position = wanted > available ? 0 : cursor.position - taken
            }
        }
        func jump(to target: Int) {
            cursor.position = max(0, min(count + 1, target))
            if cursor.position >= 1, cursor.position <= count { run = (cursor.position - 1)..<cursor.position }
        }
        switch direction {
        case .forward(0), .relative(0), .backward(0): jump(to: cursor.position)
        case .forward(let n): step(forward: true, n)
        case .backward(let n): step(forward: false, n)
        case .absolute(let n): jump(to: n >= 0 ? n : count + 1 + n)
        case .relative(let n): jump(to: cursor.position + n)
        }
        cursors[name] = cursor
        if move { return .command("MOVE \(run.count)") }
        let store = cursor.store
        func batch(_ range: Range<Int>) throws(DatabaseError) -> [[Value]] {
            backward ? try store.rows(range).reversed() : try store.rows(range)
        }
        // Batches in the order read: forwards from the run's start, backwards from its end.
        func batches(of size: Int) -> [Range<Int>] {
            stride(from: 0, to: run.count, by: size).map { done in
                let n = min(size, run.count - done)
                return backward ? (run.upperBound - done - n)..<(run.upperBound - done) : (run.lowerBound + done)..<(run.lowerBound + done + n)
            }
        }
        let tag = "FETCH \(run.count)"
        guard let stream = rowStream else {
            return QueryResult(columns: store.columns, rows: try batch(run), commandTag: tag, hasResultSet: true)
        }
        // FETCH ALL of a large cursor goes out a batch at a time.
        rowStream = nil
        try deliver { () throws(DatabaseError) in try stream.columns(store.columns) }
        for range in batches(of: executor.outputFlushRecords) {
            let rows = try batch(range)
            try deliver { () throws(DatabaseError) in try stream.rows(rows) }
        }
        var result = QueryResult(columns: store.columns, rows: [], commandTag: tag, hasResultSet: true)
        result.streamed = true
        return result
    }

    func closeCursor(_ name: String?, position: Int) throws(DatabaseError) -> QueryResult {
        if let name {
            guard cursors.removeValue(forKey: name) != nil else {
                throw DatabaseError(SQLState("34000"), "cursor \"\(name)\" does not exist", position: position)
            }
        } else {
            cursors.removeAll()
        }
        return .command(name == nil ? "CLOSE CURSOR ALL" : "CLOSE CURSOR")
    }
}
