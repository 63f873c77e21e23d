import KilnCore
import KilnSQL

/// SQL cursors: `DECLARE`, `FETCH`, `MOVE`, `CLOSE`.
///
/// A cursor's query runs at DECLARE and its rows are kept, so FETCH moves freely in both
/// directions (every cursor can scroll). Without `WITH HOLD` a cursor lives until the end of
/// the transaction block that declared it, as in PostgreSQL.
struct Cursor {
    var result: QueryResult
    /// 0 before the first row, 1...count on a row, count + 1 after the last.
    var position = 0
    var holdable: Bool
}

extension Database {
    /// The result columns of the cursor `name` (the protocol describes a cursor as a portal).
    public func cursorColumns(_ name: String) -> [QueryResult.Column]? { cursors[name]?.result.columns }

    func declareCursor(_ name: String, _ query: SelectStatement, hold: Bool, parameters: [Value], position: Int) throws(DatabaseError) -> QueryResult {
        guard hold || inTransactionBlock else {
            throw DatabaseError(SQLState("25P01"), "DECLARE CURSOR can only be used in transaction blocks", position: position)
        }
        guard cursors[name] == nil else { throw DatabaseError(SQLState("42P03"), "cursor \"\(name)\" already exists", position: position) }
        let result = try perform(.select(query), parameters: parameters)
        cursors[name] = Cursor(result: result, holdable: hold)
        return .command("DECLARE CURSOR")
    }

    func fetch(_ name: String, _ direction: FetchDirection, move: Bool, position: Int) throws(DatabaseError) -> QueryResult {
        guard var cursor = cursors[name] else { throw DatabaseError(SQLState("34000"), "cursor \"\(name)\" does not exist", position: position) }
        let count = cursor.result.rows.count
        var rows: [Int] = []
        func step(_ delta: Int, _ limit: Int?) {
            var remaining = limit ?? Int.max
            while remaining > 0 {
                let next = cursor.position + delta
                guard next >= 0, next <= count + 1 else { break }
                cursor.position = next
                guard next >= 1, next <= count else { break }
                rows.append(next)
                remaining -= 1
            }
        }
        func jump(to target: Int) {
            cursor.position = max(0, min(count + 1, target))
            if cursor.position >= 1, cursor.position <= count { rows.append(cursor.position) }
        }
        switch direction {
        case .forward(0), .relative(0): jump(to: cursor.position)
        case .forward(let n): step(1, n)
        case .backward(0): jump(to: cursor.position)
        case .backward(let n): step(-1, n)
        case .absolute(let n): jump(to: n >= 0 ? n : count + 1 + n)
        case .relative(let n): jump(to: cursor.position + n)
        }
        cursors[name] = cursor
        if move { return .command("MOVE \(rows.count)") }
        return QueryResult(columns: cursor.result.columns, rows: rows.map { cursor.result.rows[$0 - 1] }, commandTag: "FETCH \(rows.count)", hasResultSet: true)
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
