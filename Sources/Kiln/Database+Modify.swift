import KilnCore
import KilnSQL
import KilnStorage
import KilnPlanner
import KilnRuntime

/// UPDATE, DELETE and TRUNCATE: a query finds the target rows (their `RowID`s, and for UPDATE
/// the new versions), then each row is marked deleted by the transaction (MVCC: the old
/// version stays for older snapshots) and UPDATE appends the new versions.
extension Database {
    /// Where rows inserted now go: the table itself outside a block (the statement commits at
    /// its end), the transaction's own local rows inside one (appended at COMMIT).
    func writeTarget(_ table: Table) -> Table {
        guard let transaction, transaction.explicit else { return table }
        return transaction.localRows(of: table)
    }

    /// Checks the rows appended from `before` on to `rows` (the table or the transaction's
    /// local rows of `table`) against the table's constraints (taking them back on error),
    /// then records them for the WAL and for undo.
    func noteAppend(to table: Table, from before: Int, in rows: Table) throws(DatabaseError) {
        do throws(DatabaseError) { try enforceConstraints(table, rows: rows, from: before) } catch {
            rows.truncate(to: before)
            throw error
        }
        guard let transaction else { return }
        if rows === table {
            pendingChanges.append(.insert(table, rows: before..<table.rowCount))
            transaction.undo.append(.append(table, count: before))
        } else {
            transaction.undo.append(.localAppend(rows, count: before))
        }
    }

    /// The table an UPDATE / DELETE / TRUNCATE changes.
    func modifyTarget(_ name: String, verb: String, position: Int) throws(DatabaseError) -> Table {
        if catalog.view(name) != nil {
            throw DatabaseError(SQLState("55000"), "cannot \(verb) view \"\(name)\"", position: position,
                                detail: "Views are not automatically updatable in Kiln.")
        }
        guard let table = catalog.table(name) else {
            if SystemCatalog.table(named: name, catalog: catalog, session: SessionInfo()) != nil {
                throw DatabaseError(SQLState("42501"), "permission denied for table \(name)", position: position)
            }
            throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
        }
        return table
    }

    func runInsertValues(_ tableName: String, _ columnNames: [String]?, _ rows: [[Expression]], returning items: [SelectItem], parameters: [Value],
                         position: Int) throws(DatabaseError) -> QueryResult {
        let plan = try insertValuesPlan(tableName, columnNames, rows, returning: items, position: position)
        let table = writeTarget(plan.target)
        let before = table.rowCount
        var returned: [[Value]] = []
        do throws(DatabaseError) {
            for row in plan.rows {
                returned += try append(row.bound, into: table, targets: row.targets, parameters: parameters, returning: plan.returning)
            }
        } catch {
            table.truncate(to: before)
            throw error
        }
        try noteAppend(to: plan.target, from: before, in: table)
        return Returning.result(plan.returning, rows: returned, tag: "INSERT 0 \(table.rowCount - before)")
    }

    /// An INSERT ... VALUES bound: its target, each row's values with the defaults of the
    /// columns it leaves out added (and the RETURNING list attached), and that list.
    struct InsertValuesPlan {
        let target: Table
        let rows: [(bound: BoundQuery, targets: [Int])]
        let returning: Returning?
    }

    /// `InsertValuesPlan` of the statement; a prepared statement's from its last run while the
    /// catalog, the parameter types and the settings are as they were (a single-row INSERT
    /// then binds nothing: the short path of single-row writes).
    func insertValuesPlan(_ tableName: String, _ columnNames: [String]?, _ rows: [[Expression]], returning items: [SelectItem],
                          position: Int) throws(DatabaseError) -> InsertValuesPlan {
        let key = PreparedStatement.PlanKey(catalogVersion: catalog.version, parameterTypes: statementParameterTypes, settings: settingsVersion)
        if let cached = executingPrepared?.cachedInsert, cached.key == key { return cached.plan }
        let (target, targets) = try insertTarget(tableName, columnNames, position: position)
        let returning = try insertReturning(items, target, tableName)
        let defaults = try defaultValues(target, besides: targets)
        var bound: [(bound: BoundQuery, targets: [Int])] = []
        for written in rows {
            let row = try Database.replacingDefaults(written, table: target, targets: targets)
            guard row.count <= targets.count else {
                throw DatabaseError(.syntaxError, "INSERT has more expressions than target columns", position: row[targets.count].position)
            }
            guard row.count == targets.count else {
                throw DatabaseError(.syntaxError, "INSERT has more target columns than expressions", position: position)
            }
            var binder = makeBinder()
            var values = try binder.bindValuesRow(row, columns: targets.map { target.columns[$0] })
            let allTargets = Database.add(defaults, to: &values.plan, targets: targets)
            if let returning { values.plan = returning.attach(to: values.plan, table: target, targets: allTargets) }
            bound.append((values, allTargets))
        }
        let plan = InsertValuesPlan(target: target, rows: bound, returning: returning)
        executingPrepared?.cachedInsert = (key, plan)
        return plan
    }

    func runInsertSelect(_ tableName: String, _ columnNames: [String]?, _ query: SelectStatement, returning items: [SelectItem], parameters: [Value],
                         position: Int) throws(DatabaseError) -> QueryResult {
        let (target, targets) = try insertTarget(tableName, columnNames, position: position)
        if let column = targets.first(where: { target.constraints.alwaysGenerated.contains($0) }) {
            throw Database.identityAlways(target.columns[column].name, position: position)
        }
        let table = writeTarget(target)
        let returning = try insertReturning(items, target, tableName)
        let before = table.rowCount
        let returned: [[Value]]
        do throws(DatabaseError) {
            returned = try insert(query, into: table, targets: targets, parameters: parameters, returning: returning)
        } catch {
            table.truncate(to: before)
            throw error
        }
        try noteAppend(to: target, from: before, in: table)
        return Returning.result(returning, rows: returned, tag: "INSERT 0 \(table.rowCount - before)")
    }

    /// An INSERT's RETURNING list, bound over the new row; nil (and no binder made) without one.
    func insertReturning(_ items: [SelectItem], _ target: Table, _ tableName: String) throws(DatabaseError) -> Returning? {
        guard !items.isEmpty else { return nil }
        var binder = makeBinder()
        return try Returning(items, table: target, qualifier: Returning.qualifier(tableName), offset: 0, binder: &binder)
    }

    /// A VALUES row with each `DEFAULT` replaced by its column's default (NULL when none); a
    /// value given for a GENERATED ALWAYS identity column is 428C9.
    static func replacingDefaults(_ row: [Expression], table: Table, targets: [Int]) throws(DatabaseError) -> [Expression] {
        var replaced = row
        for (index, value) in row.enumerated() where index < targets.count {
            let column = targets[index]
            if case .function(Parser.defaultMarker, _, _, _, _) = value.kind {
                if let text = table.constraints.defaults[column] {
                    replaced[index] = try Database.parseExpression(text, position: value.position)
                } else {
                    replaced[index] = Expression(.null, at: value.position)
                }
            } else if table.constraints.alwaysGenerated.contains(column) {
                throw identityAlways(table.columns[column].name, position: value.position)
            }
        }
        return replaced
    }

    static func identityAlways(_ column: String, position: Int?, update: Bool = false) -> DatabaseError {
        DatabaseError(SQLState("428C9"), update ? "column \"\(column)\" can only be updated to DEFAULT" : "cannot insert a non-DEFAULT value into column \"\(column)\"",
                      position: position, detail: "Column \"\(column)\" is an identity column defined as GENERATED ALWAYS.")
    }

    /// The bound DEFAULT expressions of `table`'s columns that are not in `targets` and have one.
    func defaultValues(_ table: Table, besides targets: [Int]) throws(DatabaseError) -> [(column: Int, value: BoundExpression)] {
        var values: [(Int, BoundExpression)] = []
        for (column, text) in table.constraints.defaults.enumerated() where !targets.contains(column) {
            guard let text else { continue }
            values.append((column, try bindDefault(text, for: table.columns[column], position: nil)))
        }
        return values
    }

    /// `plan` (the values of `targets`) with the default values added after them; returns the
    /// targets then the defaults' columns.
    static func add(_ defaults: [(column: Int, value: BoundExpression)], to plan: inout PlanNode, targets: [Int]) -> [Int] {
        guard !defaults.isEmpty else { return targets }
        if case .project(let input, let expressions, let names) = plan {
            plan = .project(input, expressions: expressions + defaults.map(\.value), names: names + defaults.map { "default\($0.column)" })
        } else {
            let types = plan.outputTypes
            plan = .project(plan, expressions: types.enumerated().map { .column($0.offset, type: $0.element.0, nullable: $0.element.1) } + defaults.map(\.value),
                            names: types.indices.map { "c\($0)" } + defaults.map { "default\($0.column)" })
        }
        return targets + defaults.map(\.column)
    }

    /// DELETE's query: each target row's `RowID`, then (with RETURNING) the list over the row.
    func bindDelete(_ delete: DeleteStatement, binder: inout Binder) throws(DatabaseError) -> (Table, BoundQuery, Returning?) {
        let table = try modifyTarget(delete.table, verb: "delete from", position: delete.position)
        let qualifier = delete.alias ?? Returning.qualifier(delete.table)
        var select = SelectStatement()
        select.position = delete.position
        select.items = [.expression(Expression(.column([qualifier, Binder.rowIDName]), at: delete.position), alias: nil)]
        if !delete.returning.isEmpty {
            for column in table.columns { select.items.append(.expression(Expression(.column([qualifier, column.name]), at: delete.position), alias: nil)) }
        }
        select.from = [.table(name: delete.table, alias: delete.alias, position: delete.position)] + delete.using
        select.whereClause = delete.whereClause
        binder.rowIDTable = delete.table
        var bound = try binder.bind(select)
        let returning = try Returning.add(delete.returning, to: &bound, table: table, qualifier: qualifier, binder: &binder)
        return (table, bound, returning)
    }

    /// An UPDATE's or DELETE's table, plan and RETURNING list: a prepared statement's from its
    /// last run while the catalog, the parameter types and the settings are as they were.
    func modifyPlan(_ bind: (inout Binder) throws(DatabaseError) -> (Table, BoundQuery, Returning?)) throws(DatabaseError) -> (Table, QueryExecutor.ExecutablePlan, Returning?) {
        let key = PreparedStatement.PlanKey(catalogVersion: catalog.version, parameterTypes: statementParameterTypes, settings: settingsVersion)
        if let cached = executingPrepared?.cachedModify, cached.key == key, let table = cached.table as? Table {
            return (table, cached.plan, cached.returning)
        }
        var binder = makeBinder()
        let (table, bound, returning) = try bind(&binder)
        let plan = try executor.plan(bound, policy: jitPolicy)
        executingPrepared?.cachedModify = (key, table, plan, returning)
        return (table, plan, returning)
    }

    func runDelete(_ delete: DeleteStatement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        let (table, bound, returning) = try modifyPlan { binder throws(DatabaseError) in try bindDelete(delete, binder: &binder) }
        var count = 0
        var returned: [[Value]] = []
        var deleted: [Int64] = []
        try forEachTargetRow(bound, parameters: parameters) { records, n, offsets, rows throws(DatabaseError) in
            var kept: [Int] = []
            for i in 0..<n {
                // safe because every record pointer comes from the output's live record store.
                let id = records[i]!.load(fromByteOffset: offsets[0], as: Int64.self)
                if try deleteRow(id, of: table) {
                    kept.append(i)
                    deleted.append(id)
                }
            }
            count = kept.count
            if let returning {
                let all = rows()
                returned = kept.map { Array(all[$0][returning.first...]) }
            }
        }
        try checkReferencedRows(table, deleted: deleted)
        return Returning.result(returning, rows: returned, tag: "DELETE \(count)")
    }

    /// UPDATE's query: each target row's `RowID`, its new version (converted to the column
    /// types), then (with RETURNING) the list over the new version.
    func bindUpdate(_ update: UpdateStatement, binder: inout Binder) throws(DatabaseError) -> (Table, BoundQuery, Returning?) {
        let table = try modifyTarget(update.table, verb: "update", position: update.position)
        let qualifier = update.alias ?? Returning.qualifier(update.table)
        var values: [Int: Assignment] = [:]
        for assignment in update.assignments {
            guard let column = table.columnIndex(assignment.column) else {
                throw DatabaseError(.undefinedColumn, "column \"\(assignment.column)\" of relation \"\(table.name)\" does not exist", position: assignment.position)
            }
            if values[column] != nil {
                throw DatabaseError(.syntaxError, "multiple assignments to same column \"\(assignment.column)\"", position: assignment.position)
            }
            if table.constraints.alwaysGenerated.contains(column), assignment.value != nil {
                throw Database.identityAlways(assignment.column, position: assignment.position, update: true)
            }
            values[column] = assignment
        }
        var select = SelectStatement()
        select.position = update.position
        select.items = [.expression(Expression(.column([qualifier, Binder.rowIDName]), at: update.position), alias: nil)]
        for (index, column) in table.columns.enumerated() {
            var value: Expression
            if let assignment = values[index] {
                // `SET col = DEFAULT`: the column's default.
                if let given = assignment.value {
                    value = given
                } else if let text = table.constraints.defaults[index] {
                    value = try Database.parseExpression(text, position: assignment.position)
                } else {
                    value = Expression(.null, at: assignment.position)
                }
                if case .null = value.kind {
                    // An untyped NULL takes the column's type (a SELECT list would make it text).
                    value = Expression(.cast(value, TypeName(type: column.type, position: value.position)), at: value.position)
                } else if case .string = value.kind, column.type.physical != .string {
                    // A quoted literal is of unknown type until assigned: PostgreSQL reads it
                    // with the column type's input function (`SET k = 'abc'` is 22P02). (Text
                    // columns take it as it is, so that assignment checks VARCHAR(n)'s length.)
                    value = Expression(.cast(value, TypeName(type: column.type, position: value.position)), at: value.position)
                }
            } else {
                value = Expression(.column([qualifier, column.name]), at: update.position)
            }
            select.items.append(.expression(value, alias: nil))
        }
        select.from = [.table(name: update.table, alias: update.alias, position: update.position)] + update.from
        select.whereClause = update.whereClause
        binder.rowIDTable = update.table
        var bound = try binder.bind(select)
        // The new values take their columns' types, as INSERT's do.
        let types = bound.plan.outputTypes
        var conversions = [BoundExpression.column(0, type: types[0].0, nullable: types[0].1)]
        for (index, column) in table.columns.enumerated() {
            let source = BoundExpression.column(index + 1, type: types[index + 1].0, nullable: types[index + 1].1)
            conversions.append(try binder.assign(source, to: column, position: values[index]?.position ?? update.position))
        }
        bound.plan = .project(bound.plan, expressions: conversions, names: [Binder.rowIDName] + table.columns.map(\.name))
        let returning = try Returning.add(update.returning, to: &bound, table: table, qualifier: qualifier, binder: &binder)
        return (table, bound, returning)
    }

    func runUpdate(_ update: UpdateStatement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        let (table, bound, returning) = try modifyPlan { binder throws(DatabaseError) in try bindUpdate(update, binder: &binder) }
        let rows = writeTarget(table)
        let before = rows.rowCount
        var count = 0
        var returned: [[Value]] = []
        var deleted: [Int64] = []
        try forEachTargetRow(bound, parameters: parameters) { records, n, offsets, outputRows throws(DatabaseError) in
            var kept: [UnsafeMutableRawPointer?] = []
            var keptIndexes: [Int] = []
            kept.reserveCapacity(n)
            for i in 0..<n {
                // safe because every record pointer comes from the output's live record store.
                let record = records[i]!
                // A row the statement updated already (an UPDATE ... FROM matching it twice) keeps its first new version.
                let id = record.load(fromByteOffset: offsets[0], as: Int64.self)
                if try deleteRow(id, of: table) {
                    kept.append(record)
                    keptIndexes.append(i)
                    deleted.append(id)
                }
            }
            count = kept.count
            do throws(DatabaseError) {
                try kept.withUnsafeBufferPointer { buffer throws(DatabaseError) in
                    guard let base = buffer.baseAddress else { return }
                    try rows.appendRecords(base, count: buffer.count, fields: table.columns.indices.map { $0 + 1 }, offsets: offsets)
                }
            } catch {
                rows.truncate(to: before)
                throw error
            }
            if let returning {
                let all = outputRows()
                returned = keptIndexes.map { Array(all[$0][returning.first...]) }
            }
        }
        try noteAppend(to: table, from: before, in: rows)
        try checkReferencedRows(table, deleted: deleted)
        return Returning.result(returning, rows: returned, tag: "UPDATE \(count)")
    }

    /// TRUNCATE as an MVCC delete of every row the transaction sees (older snapshots still
    /// see the rows; the space is not reclaimed yet).
    func runTruncate(_ names: [String], position: Int) throws(DatabaseError) -> QueryResult {
        var tables: [Table] = []
        for name in names { tables.append(try modifyTarget(name, verb: "truncate", position: position)) }
        for table in tables {
            if let (child, _) = references(to: table).first(where: { pair in !tables.contains { $0 === pair.0 } }) {
                throw DatabaseError(.featureNotSupported, "cannot truncate a table referenced in a foreign key constraint", position: position,
                                    detail: "Table \"\(child.name)\" references \"\(table.name)\".",
                                    hint: "Truncate table \"\(child.name)\" at the same time, or use TRUNCATE ... CASCADE.")
            }
        }
        let snapshot = executor.snapshot
        for table in tables {
            for id in table.liveRowIDs(at: snapshot) { _ = try deleteRow(id.value, of: table) }
            if let local = snapshot.localRows(of: table) {
                for id in local.liveRowIDs(at: snapshot) { _ = try deleteRow(id.value | RowID.localBit, of: table) }
            }
        }
        return .command("TRUNCATE TABLE")
    }

    /// Runs the query that finds an UPDATE's or DELETE's rows and hands over its records (and
    /// a way to read them all as values, for RETURNING).
    private func forEachTargetRow(_ plan: QueryExecutor.ExecutablePlan, parameters: [Value],
                                  _ body: (UnsafePointer<UnsafeMutableRawPointer?>, Int, [Int], () -> [[Value]]) throws(DatabaseError) -> Void) throws(DatabaseError) {
        _ = try executor.run(plan, parameters: parameters, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
            let offsets = plan.outputLayout.offsets
            try runtime.withOutputRecords { records, count throws(DatabaseError) in
                try body(records, count, offsets) { runtime.outputRows(layout: plan.outputLayout) }
            }
        }
    }

    /// Marks one row deleted by the session's transaction; false when this statement did so
    /// already. Another running transaction's delete makes the statement wait for it.
    func deleteRow(_ id: Int64, of table: Table) throws(DatabaseError) -> Bool {
        guard let transaction else { throw DatabaseError.internalError("a write outside a transaction") }
        do {
            return try markDeleted(id, of: table, by: transaction, statementMark: 0)
        } catch let conflict as WriteConflict {
            conflictingTransaction = conflict.other
            conflictIsRowLock = conflict.lock
            throw DatabaseError(.serializationFailure, "row is being changed by another transaction")
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError.internalError("\(error)")
        }
    }
}

/// A RETURNING list, bound over the row an INSERT, UPDATE or DELETE wrote or deleted.
struct Returning {
    var expressions: [BoundExpression]
    var names: [String]
    /// The output column where the list starts.
    var first = 0

    /// nil when `items` is empty.
    init?(_ items: [SelectItem], table: Table, qualifier: String, offset: Int, binder: inout Binder) throws(DatabaseError) {
        guard !items.isEmpty else { return nil }
        (expressions, names) = try binder.bindReturning(items, table: table, qualifier: qualifier, offset: offset)
    }

    /// An UPDATE's or DELETE's list, bound over the row that follows the `RowID` in `bound`'s
    /// output and added to its columns; nil when `items` is empty.
    static func add(_ items: [SelectItem], to bound: inout BoundQuery, table: Table, qualifier: String, binder: inout Binder) throws(DatabaseError) -> Returning? {
        guard var returning = try Returning(items, table: table, qualifier: qualifier, offset: 1, binder: &binder) else { return nil }
        bound.plan = returning.append(to: bound.plan)
        return returning
    }

    /// The name a table's columns are qualified with when the statement gives no alias.
    static func qualifier(_ table: String) -> String { String(table.split(separator: ".").last ?? Substring(table)) }

    /// `plan` (rows whose first columns are what the list reads) with the list's columns added.
    mutating func append(to plan: PlanNode) -> PlanNode {
        let types = plan.outputTypes
        first = types.count
        let passed = types.enumerated().map { BoundExpression.column($0.offset, type: $0.element.0, nullable: $0.element.1) }
        return .project(plan, expressions: passed + expressions, names: types.indices.map { "c\($0)" } + names)
    }

    /// An INSERT's `plan` (the target columns' values) as the whole new row (columns not
    /// inserted are NULL), then the list.
    func attach(to plan: PlanNode, table: Table, targets: [Int]) -> PlanNode {
        let types = plan.outputTypes
        var row: [BoundExpression] = []
        for (index, column) in table.columns.enumerated() {
            if let position = targets.firstIndex(of: index) {
                row.append(.column(position, type: types[position].0, nullable: types[position].1))
            } else {
                row.append(.constant(.null, type: column.type))
            }
        }
        return .project(.project(plan, expressions: row, names: table.columns.map(\.name)),
                        expressions: table.columns.enumerated().map { .column($0.offset, type: $0.element.type, nullable: true) } + expressions,
                        names: table.columns.map(\.name) + names)
    }

    var columns: [QueryResult.Column] { zip(names, expressions).map { QueryResult.Column(name: $0, type: $1.type) } }

    static func result(_ returning: Returning?, rows: [[Value]], tag: String) -> QueryResult {
        guard let returning else { return .command(tag) }
        return QueryResult(columns: returning.columns, rows: rows, commandTag: tag, hasResultSet: true)
    }
}
