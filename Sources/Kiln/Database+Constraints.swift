import KilnCore
import KilnStorage
import KilnPlanner

/// Enforcing a table's keys, CHECK constraints and foreign keys on the rows a statement
/// writes (NOT NULL is checked by the appends themselves).
extension Database {
    /// Checks the rows appended to `rows` (the table, or the transaction's local rows of it)
    /// from row `before` on against `table`'s constraints, and lists them in its indexes. On
    /// error the caller truncates `rows` to `before`.
    func enforceConstraints(_ table: Table, rows: Table, from before: Int) throws(DatabaseError) {
        guard rows.rowCount > before, !table.constraints.isEmpty, let transaction else { return }
        try resolve(table.indexAppended(rows, from: before, transaction: transaction.id, oldestSnapshot: transactions.oldestSnapshot))
        if !table.constraints.checks.isEmpty { try checkRows(table, rows: rows, range: before..<rows.rowCount) }
        if !table.constraints.foreignKeys.isEmpty { try checkReferences(table, rows: rows, from: before) }
    }

    /// A key check's outcome: a violation throws; a row of another running transaction makes
    /// the statement wait for it (`executeInTransaction` undoes, waits and runs it again).
    func resolve(_ check: KeyCheck) throws(DatabaseError) {
        switch check {
        case .ok: return
        case .violation(let error): throw error
        case .wait(let other): try waitFor(other)
        }
    }

    func waitFor(_ other: UInt64) throws(DatabaseError) -> Never {
        conflictingTransaction = other
        throw DatabaseError(.serializationFailure, "row is being changed by another transaction")
    }

    // MARK: - CHECK

    /// Tests `table`'s CHECK constraints on rows `range` of `rows`: a few rows by folding each
    /// check over their values, more (or a check that does not fold) by a query over them.
    func checkRows(_ table: Table, rows: Table, range: Range<Int>, validating: Bool = false) throws(DatabaseError) {
        for check in table.constraints.checks {
            let bound = try bindCheck(check.text, table: table, position: nil)
            if range.count <= 16, !validating {
                var decided = true
                for row in range {
                    let values = table.columns.indices.map { rows.value(row: row, column: $0) }
                    guard case .constant(let result) = ConstantFolding.fold(Database.substitute(bound, values)).kind else {
                        decided = false
                        break
                    }
                    if result == .bool(false) { throw checkViolation(table, check, values) }
                }
                if decided { continue }
            }
            // NULL passes a check: the rows that fail are those where it is false.
            let failed = BoundExpression(.call("not", [BoundExpression(.call("coalesce", [bound, .constant(.bool(true), type: .boolean)]), type: .boolean, nullable: false)]),
                                         type: .boolean, nullable: false)
            let scan = PlanNode.tableScan(table: rows, columns: Array(table.columns.indices), access: .rows(range))
            let query = BoundQuery(plan: .filter(scan, predicate: failed), columnNames: table.columns.map(\.name), parameterTypes: [])
            let (found, _) = try executor.run(query, parameters: [], policy: jitPolicy, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
                runtime.outputRows(layout: plan.outputLayout)
            }
            if let values = found.first {
                if validating {
                    throw DatabaseError(.checkViolation, "check constraint \"\(check.name)\" of relation \"\(table.name)\" is violated by some row")
                }
                throw checkViolation(table, check, values)
            }
        }
    }

    func checkViolation(_ table: Table, _ check: CheckConstraint, _ values: [Value]) -> DatabaseError {
        DatabaseError(.checkViolation, "new row for relation \"\(table.name)\" violates check constraint \"\(check.name)\"",
                      detail: "Failing row contains (\(values.map { $0.text ?? "null" }.joined(separator: ", "))).")
    }

    /// `e` with column i replaced by `values[i]` (and `$n` by `parameters[n - 1]`, when it converts).
    static func substitute(_ e: BoundExpression, _ values: [Value], parameters: [Value] = []) -> BoundExpression {
        switch e.kind {
        case .column(let i): return .constant(values[i], type: e.type)
        case .parameter(let n):
            guard n >= 1, n <= parameters.count, let value = try? QueryExecutor.parameterValue(parameters[n - 1], as: e.type) else { return e }
            return .constant(value, type: e.type)
        case .constant, .slot, .outer: return e
        case .call(let name, let arguments):
            return BoundExpression(.call(name, arguments.map { substitute($0, values, parameters: parameters) }), type: e.type, nullable: e.nullable)
        }
    }

    // MARK: - Foreign keys

    /// The referenced table's unique index over a foreign key's referenced columns, built, and
    /// where each of the key's columns sits in it.
    func referencedIndex(_ key: ForeignKey) throws(DatabaseError) -> (Table, TableIndex, [Int]) {
        guard let parent = catalog.anyTable(key.table),
              let index = parent.indexes.first(where: { $0.key.isUnique && $0.key.columns.count == key.referencedColumns.count && Set($0.key.columns) == Set(key.referencedColumns) }) else {
            throw DatabaseError.internalError("the key that foreign key \"\(key.name)\" references is missing")
        }
        try index.build(parent)
        return (parent, index, index.key.columns.map { column in key.referencedColumns.firstIndex(of: column)! })
    }

    /// Every row appended to `rows` from `before` on (skipping rows already deleted, when
    /// validating a new key over old rows) must reference a row of each referenced table.
    func checkReferences(_ table: Table, rows: Table, from before: Int, validating: Bool = false) throws(DatabaseError) {
        guard let transaction else { return }
        for key in table.constraints.foreignKeys {
            let (parent, index, order) = try referencedIndex(key)
            for row in before..<rows.rowCount {
                if validating, let (segment, at) = rows.locate(rowIndex: row), let marker = segment.deletes?.markers[at],
                   marker != 0, marker & VersionMarker.transactionBit == 0 || marker == transaction.marker { continue }
                let values = key.columns.map { rows.value(row: row, column: $0) }
                if values.contains(where: \.isNull) { continue }
                var keyValues: [Value] = []
                for (position, column) in order.enumerated() {
                    guard let converted = try? Casts.cast(values[column], from: table.columns[key.columns[column]].type, to: index.types[position]) else {
                        throw missingReference(table, key, values)
                    }
                    keyValues.append(converted)
                }
                if try !present(keyValues, in: parent, index: index, transaction: transaction) { throw missingReference(table, key, values) }
            }
        }
    }

    /// Whether a live row of `parent` has key `values` in `index`: one nobody deleted, or one
    /// the transaction inserted and still has. A row another running transaction deleted
    /// makes the statement wait for it.
    func present(_ values: [Value], in parent: Table, index: TableIndex, transaction: Transaction) throws(DatabaseError) -> Bool {
        let found = index.lookup(parent, values)
        var waitFor: UInt64?
        for id in found.rows {
            let marker = parent.marker(id)
            if marker == 0 { return true }
            if marker & VersionMarker.transactionBit != 0, marker != transaction.marker { waitFor = marker & ~VersionMarker.transactionBit }
        }
        for entry in found.pending where entry.owner == transaction.id && entry.rows.marker(entry.row) == 0 { return true }
        if let waitFor { try self.waitFor(waitFor) }
        return false
    }

    func missingReference(_ table: Table, _ key: ForeignKey, _ values: [Value]) -> DatabaseError {
        let columns = key.columns.map { table.columns[$0].name }.joined(separator: ", ")
        return DatabaseError(.foreignKeyViolation, "insert or update on table \"\(table.name)\" violates foreign key constraint \"\(key.name)\"",
                             detail: "Key (\(columns))=(\(values.map { $0.text ?? "null" }.joined(separator: ", "))) is not present in table \"\(key.table)\".")
    }

    /// The foreign keys of every table that reference `table`.
    func references(to table: Table) -> [(Table, ForeignKey)] {
        catalog.everyTable.flatMap { child in child.constraints.foreignKeys.filter { $0.table == table.name }.map { (child, $0) } }
    }

    /// After a statement deleted rows `deleted` of `table` (their `RowID`s; an UPDATE's old
    /// versions): no row of a referencing table may still reference a key that is gone (an
    /// UPDATE that kept a key keeps its references).
    func checkReferencedRows(_ table: Table, deleted: [Int64]) throws(DatabaseError) {
        guard !deleted.isEmpty, let transaction else { return }
        let referencing = references(to: table)
        guard !referencing.isEmpty else { return }
        let local = transaction.localRows(of: table)
        for (_, key) in referencing { try table.load(columns: key.referencedColumns) }
        for id in deleted {
            let rowID = RowID(id)
            let source = id & RowID.localBit != 0 ? local : table
            guard let (segment, row) = source.locate(rowID) else { continue }
            for (child, key) in referencing {
                let values = key.referencedColumns.map { segment.columns[$0].value(at: row) }
                if values.contains(where: \.isNull) { continue }
                let (_, parentIndex, order) = try referencedIndex(key)
                if try present(order.map { values[$0] }, in: table, index: parentIndex, transaction: transaction) { continue }
                guard let childIndex = child.indexes.first(where: { $0.key.columns == key.columns }) else {
                    throw DatabaseError.internalError("the index of foreign key \"\(key.name)\" is missing")
                }
                try childIndex.build(child)
                var childValues: [Value] = []
                for (position, value) in values.enumerated() {
                    guard let converted = try? Casts.cast(value, from: table.columns[key.referencedColumns[position]].type, to: childIndex.types[position]) else { continue }
                    childValues.append(converted)
                }
                guard childValues.count == values.count else { continue }
                let found = childIndex.lookup(child, childValues)
                var referenced = false
                for childRow in found.rows {
                    let marker = child.marker(childRow)
                    if marker == 0 { referenced = true; break }
                    if marker & VersionMarker.transactionBit != 0, marker != transaction.marker { try waitFor(marker & ~VersionMarker.transactionBit) }
                }
                for entry in found.pending where !referenced {
                    if entry.owner != transaction.id { try waitFor(entry.owner) }
                    if entry.rows.marker(entry.row) == 0 { referenced = true }
                }
                if referenced {
                    let columns = key.referencedColumns.map { table.columns[$0].name }.joined(separator: ", ")
                    throw DatabaseError(.foreignKeyViolation, "update or delete on table \"\(table.name)\" violates foreign key constraint \"\(key.name)\" on table \"\(child.name)\"",
                                        detail: "Key (\(columns))=(\(values.map { $0.text ?? "null" }.joined(separator: ", "))) is still referenced from table \"\(child.name)\".")
                }
            }
        }
    }

    // MARK: - New constraints over existing rows

    /// After ALTER TABLE ... ADD or CREATE UNIQUE INDEX: the table's rows must satisfy the keys,
    /// checks and foreign keys that `old` did not have.
    func validateExistingRows(_ table: Table, old: TableConstraints) throws(DatabaseError) {
        guard let transaction else { return }
        let constraints = table.constraints
        let added = constraints.keys.contains { !old.keys.contains($0) } || constraints.checks.contains { !old.checks.contains($0) }
            || constraints.foreignKeys.contains { !old.foreignKeys.contains($0) }
        if added, transactions.othersRunning(besides: transaction.id) {
            // PostgreSQL's ALTER TABLE waits for the transactions using the table; their
            // uncommitted rows are not in a new index, so Kiln refuses rather than miss them.
            throw DatabaseError(SQLState("55006"), "cannot add a constraint or index to table \"\(table.name)\" while other transactions are running",
                                hint: "Retry when the other sessions' transactions have ended.")
        }
        for key in constraints.keys where key.isUnique && !old.keys.contains(key) {
            guard let index = table.index(named: key.name) else { continue }
            try index.build(table)
            for segment in table.segments {
                for row in 0..<segment.count {
                    let marker = segment.deletes?.markers[row] ?? 0
                    if marker != 0, marker & VersionMarker.transactionBit == 0 || marker == transaction.marker { continue }
                    guard let (matches, _) = index.matches(table, segment, row) else { continue }
                    for match in matches {
                        let other = table.marker(match)
                        if other == 0 || (other & VersionMarker.transactionBit != 0 && other != transaction.marker) {
                            throw DatabaseError(.uniqueViolation, "could not create unique index \"\(key.name)\"",
                                                detail: "Key \(index.describe(table, segment, row)) is duplicated.")
                        }
                    }
                }
            }
        }
        // The transaction's own uncommitted rows of the table go into the new indexes.
        if let local = transaction.local.first(where: { $0.table === table })?.rows, local.rowCount > 0,
           constraints.keys.contains(where: { !old.keys.contains($0) }) {
            try resolve(table.indexAppended(local, from: 0, transaction: transaction.id))
        }
        // The new checks and foreign keys only, over every row.
        var newOnes = constraints
        newOnes.checks = constraints.checks.filter { !old.checks.contains($0) }
        newOnes.foreignKeys = constraints.foreignKeys.filter { !old.foreignKeys.contains($0) }
        guard !newOnes.checks.isEmpty || !newOnes.foreignKeys.isEmpty else { return }
        table.setConstraints(newOnes)
        defer { table.setConstraints(constraints) }
        if !newOnes.checks.isEmpty { try checkRows(table, rows: table, range: 0..<table.rowCount, validating: true) }
        if !newOnes.foreignKeys.isEmpty { try checkReferences(table, rows: table, from: 0, validating: true) }
    }
}
