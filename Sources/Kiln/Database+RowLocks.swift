import KilnCore
import KilnSQL
import KilnPlanner
import KilnStorage

/// `SELECT ... FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF t] [NOWAIT | SKIP LOCKED]`.
///
/// The statement runs as a write (under the exclusive statement lock, in the conflict loop of
/// `executeInTransaction`). Its query runs without LIMIT and OFFSET and also reads the `ctid`
/// of each locked table; then the rows are locked in result order until LIMIT + OFFSET
/// rows hold their lock, as PostgreSQL's LockRows below its Limit does. A row another running
/// transaction locked, updated or deleted makes the statement wait for it and run again
/// (`WriteConflict`), or fail at once with 55P03 (NOWAIT), or leaves it out (SKIP LOCKED). A
/// row changed by a commit the snapshot does not see is 40001 (REPEATABLE READ). Locks last
/// until the transaction ends, or until ROLLBACK TO a savepoint before them (they are in the
/// undo log, as an aborted subtransaction's locks go in PostgreSQL).
extension Database {
    func runLockingSelect(_ select: SelectStatement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        guard let first = select.locking.first, let transaction else { throw DatabaseError.internalError("a locking SELECT outside a transaction") }
        try Database.checkLockable(select, first)
        var targets: [(table: Table, locking: RowLocking)] = []
        var query = select
        query.locking = []
        query.limit = nil
        query.offset = nil
        // Each locked table reference's `ctid` (its rows' identities) after the select list.
        for (name, qualifier, locking) in try lockTargets(select) {
            guard let table = catalog.table(name), !select.with.contains(where: { $0.name == name }) else {
                throw DatabaseError(.featureNotSupported, "FOR \(locking.strength.rawValue) cannot be applied to \"\(qualifier)\"", position: locking.position,
                                    detail: "Only rows of tables can be locked, not of views, WITH queries or system catalogs.")
            }
            targets.append((table, locking))
            query.items.append(.expression(Expression(.column([qualifier, "ctid"]), at: locking.position), alias: nil))
        }
        let (limit, offset) = try limitAndOffset(select, parameters: parameters)
        var binder = makeBinder()
        let bound = try binder.bind(query)
        if Database.hasWindow(bound.plan) {
            throw DatabaseError(.featureNotSupported, "FOR \(first.strength.rawValue) is not allowed with window functions", position: first.position)
        }
        let (rows, _) = try executor.run(bound, parameters: parameters, policy: jitPolicy, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
            runtime.outputRows(layout: plan.outputLayout)
        }
        let width = bound.columnNames.count - targets.count
        var locked: [[Value]] = []
        let wanted = limit.map { $0 + offset }
        for row in rows {
            if let wanted, locked.count >= wanted { break }
            var keep = true
            for (index, target) in targets.enumerated() {
                guard case .tid(let id) = row[width + index] else { throw DatabaseError.internalError("a locking SELECT's row has no row identity") }
                if try !lockRow(id, of: target.table, target.locking, transaction: transaction) { keep = false }
            }
            if keep { locked.append(Array(row.prefix(width))) }
        }
        let columns = zip(bound.columnNames.prefix(width), bound.columnTypes.prefix(width)).map { QueryResult.Column(name: $0, type: $1) }
        return try completeResult(columns, rows: Array(locked.dropFirst(offset)))
    }

    /// Locks one row for the transaction; false when SKIP LOCKED leaves it out.
    private func lockRow(_ id: Int64, of table: Table, _ locking: RowLocking, transaction: Transaction) throws(DatabaseError) -> Bool {
        // The transaction's own uncommitted rows: no other transaction sees them.
        if id & RowID.localBit != 0 { return true }
        let row = RowID(id)
        let marker = table.marker(row)
        var holder: UInt64?
        var lockOnly = false
        if marker & VersionMarker.transactionBit != 0 {
            if marker != transaction.marker { holder = marker & ~VersionMarker.transactionBit }
        } else if marker != 0 {
            // Changed by a commit this snapshot does not see.
            throw DatabaseError(.serializationFailure, "could not serialize access due to concurrent update")
        }
        if holder == nil, let other = table.lockHolder(row, besides: transaction.id, exclusive: locking.strength.exclusive) {
            holder = other
            lockOnly = true
        }
        if let holder {
            switch locking.waiting {
            case .skipLocked:
                return false
            case .noWait:
                throw DatabaseError(.lockNotAvailable, "could not obtain lock on row in relation \"\(table.name)\"")
            case .wait:
                conflictingTransaction = holder
                conflictIsRowLock = lockOnly
                throw DatabaseError(.serializationFailure, "row is being changed by another transaction")
            }
        }
        let prior = table.lock(row, by: transaction.id, exclusive: locking.strength.exclusive)
        if prior == .none || (prior == .shared && locking.strength.exclusive) {
            transaction.undo.append(.rowLock(table, row, wasShared: prior == .shared))
            transaction.rowLockUndos += 1
        }
        return true
    }

    /// Releases the row locks of a committing transaction (under the statement lock); its
    /// undo log names every lock it holds (a rollback releases them by undoing).
    func releaseRowLocks(_ transaction: Transaction) {
        guard transaction.rowLockUndos > 0 else { return }
        for case .rowLock(let table, let row, _) in transaction.undo { table.unlock(row, by: transaction.id, keepingShared: false) }
    }

    /// PostgreSQL's restrictions: each result row must be rows of tables (no set operation,
    /// DISTINCT, grouping or aggregate).
    private static func checkLockable(_ select: SelectStatement, _ locking: RowLocking) throws(DatabaseError) {
        let clause = "FOR \(locking.strength.rawValue)"
        func refuse(_ what: String) -> DatabaseError {
            DatabaseError(.featureNotSupported, "\(clause) is not allowed with \(what)", position: locking.position)
        }
        if select.setOperation != nil { throw refuse("UNION/INTERSECT/EXCEPT") }
        if select.distinct { throw refuse("DISTINCT clause") }
        if !select.groupBy.isEmpty || select.groupingSets != nil { throw refuse("GROUP BY clause") }
        if select.having != nil { throw refuse("HAVING clause") }
        for item in select.items {
            if case .expression(let expression, _) = item, Binder.containsAggregate(expression) { throw refuse("aggregate functions") }
        }
    }

    /// Whether a plan computes window functions (whose rows are not the table's).
    private static func hasWindow(_ plan: PlanNode) -> Bool {
        if case .window = plan { return true }
        var found = false
        _ = plan.mapInputs { input in
            found = found || hasWindow(input)
            return input
        }
        return found
    }

    /// The table references whose rows are locked (table, name in the query, how): those each
    /// clause's `OF` names, or every table of the FROM clause. A reference several clauses
    /// name takes the strongest lock, and NOWAIT, else SKIP LOCKED, if any clause asks for it
    /// (PostgreSQL's rules). PostgreSQL's errors for the nullable side of an outer join,
    /// subqueries and functions (Kiln does not lock inside a subquery).
    private func lockTargets(_ select: SelectStatement) throws(DatabaseError) -> [(table: String, qualifier: String, locking: RowLocking)] {
        var tables: [(name: String, qualifier: String, nullable: Bool)] = []
        var others: [String] = []
        func collect(_ reference: TableReference, nullable: Bool) {
            switch reference {
            case .table(let name, let alias, _):
                tables.append((name, alias ?? String(name.split(separator: ".").last ?? Substring(name)), nullable))
            case .join(let left, let right, let kind, _, _):
                collect(left, nullable: nullable || kind == .right || kind == .full)
                collect(right, nullable: nullable || kind == .left || kind == .full)
            case .subquery(_, let alias, _, _), .lateral(_, let alias, _, _):
                others.append(alias)
            case .function(let name, _, let alias, _, _):
                others.append(alias ?? name)
            }
        }
        for reference in select.from { collect(reference, nullable: false) }
        var chosen: [(name: String, qualifier: String, nullable: Bool, locking: RowLocking)] = []
        for locking in select.locking {
            let clause = "FOR \(locking.strength.rawValue)"
            var named = tables
            if !locking.tables.isEmpty {
                named = []
                for name in locking.tables {
                    let short = String(name.split(separator: ".").last ?? Substring(name))
                    guard let match = tables.first(where: { $0.qualifier == short }) else {
                        if others.contains(short) {
                            throw DatabaseError(.featureNotSupported, "\(clause) cannot be applied to a subquery or a function in FROM", position: locking.position)
                        }
                        throw DatabaseError(.undefinedTable, "relation \"\(name)\" in \(clause) clause not found in FROM clause", position: locking.position)
                    }
                    named.append(match)
                }
            } else if !others.isEmpty {
                throw DatabaseError(.featureNotSupported, "\(clause) cannot be applied to a subquery or a function in FROM", position: locking.position,
                                    hint: "Name the tables to lock with \(clause) OF.")
            }
            if named.contains(where: \.nullable) {
                throw DatabaseError(.featureNotSupported, "\(clause) cannot be applied to the nullable side of an outer join", position: locking.position)
            }
            for table in named {
                guard let index = chosen.firstIndex(where: { $0.qualifier == table.qualifier }) else {
                    chosen.append((table.name, table.qualifier, table.nullable, locking))
                    continue
                }
                var merged = chosen[index].locking
                if locking.strength.rank > merged.strength.rank { merged.strength = locking.strength }
                if locking.waiting.rawValue > merged.waiting.rawValue { merged.waiting = locking.waiting }
                chosen[index].locking = merged
            }
        }
        guard !chosen.isEmpty else {
            throw DatabaseError(.featureNotSupported, "FOR \(select.locking[0].strength.rawValue) needs a table in FROM", position: select.locking[0].position)
        }
        return chosen.map { ($0.name, $0.qualifier, $0.locking) }
    }

    /// The statement's LIMIT (nil: none) and OFFSET, evaluated with its parameters.
    private func limitAndOffset(_ select: SelectStatement, parameters: [Value]) throws(DatabaseError) -> (Int?, Int) {
        guard select.limit != nil || select.offset != nil else { return (nil, 0) }
        var values = SelectStatement()
        values.position = select.position
        values.items = [.expression(select.limit ?? Expression(.null, at: select.position), alias: nil),
                        .expression(select.offset ?? Expression(.integer("0"), at: select.position), alias: nil)]
        var binder = makeBinder()
        let bound = try binder.bind(values)
        let (rows, _) = try executor.run(bound, parameters: parameters, policy: .interpreted, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
            runtime.outputRows(layout: plan.outputLayout)
        }
        func count(_ value: Value?) -> Int? {
            switch value {
            case .int16(let v)?: return Int(v)
            case .int32(let v)?: return Int(v)
            case .int64(let v)?: return Int(v)
            case .numeric(let m, let scale)?: return Int(m / DecimalMath.pow10(scale))
            default: return nil
            }
        }
        let limit = count(rows.first?[0])
        let offset = count(rows.first?[1]) ?? 0
        if let limit, limit < 0 { throw DatabaseError(.invalidRowCountInLimit, "LIMIT must not be negative") }
        if offset < 0 { throw DatabaseError(.invalidRowCountInOffset, "OFFSET must not be negative") }
        return (limit, offset)
    }
}
