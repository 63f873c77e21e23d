import KilnCore
import KilnSQL
import KilnStorage
import KilnPlanner

/// `INSERT ... ON CONFLICT`: each proposed row is checked against the arbiter keys; a row
/// without a conflict is inserted, one with a conflict is skipped (DO NOTHING) or updates the
/// existing row (DO UPDATE: a new version, as UPDATE makes). Row at a time, under the
/// statement lock: a conflicting row of another running transaction makes the statement wait
/// for it and run again, as any write does.
extension Database {
    func runUpsert(_ upsert: UpsertStatement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        let (target, targets) = try insertTarget(upsert.table, upsert.columns, position: upsert.position)
        guard let transaction else { throw DatabaseError.internalError("a write outside a transaction") }
        let arbiters = try arbiterIndexes(upsert, table: target)
        let qualifier = upsert.alias ?? Returning.qualifier(upsert.table)
        var binder = makeBinder()
        // DO UPDATE: its SET values and WHERE over (existing row, excluded row).
        var assignments: [(column: Int, value: BoundExpression)] = []
        var condition: BoundExpression?
        if case .update(let sets, let whereClause) = upsert.action {
            var seen = Set<Int>()
            let rows = [(target, qualifier), (target, "excluded")]
            for assignment in sets {
                guard let column = target.columnIndex(assignment.column) else {
                    throw DatabaseError(.undefinedColumn, "column \"\(assignment.column)\" of relation \"\(target.name)\" does not exist", position: assignment.position)
                }
                guard seen.insert(column).inserted else {
                    throw DatabaseError(.syntaxError, "multiple assignments to same column \"\(assignment.column)\"", position: assignment.position)
                }
                if target.constraints.alwaysGenerated.contains(column), assignment.value != nil {
                    throw Database.identityAlways(assignment.column, position: assignment.position, update: true)
                }
                var value = assignment.value ?? Expression(.null, at: assignment.position)
                if assignment.value == nil, let text = target.constraints.defaults[column] { value = try Database.parseExpression(text, position: assignment.position) }
                let bound = try binder.bindOverRows([value], tables: rows, clause: "ON CONFLICT DO UPDATE")[0]
                assignments.append((column, try binder.assign(bound, to: target.columns[column], position: assignment.position)))
            }
            if let whereClause {
                condition = try binder.bindOverRows([whereClause], tables: rows, clause: "WHERE")[0]
            }
        }
        let returning = try Returning(upsert.returning, table: target, qualifier: qualifier, offset: 0, binder: &binder)
        let proposed = try proposedRows(upsert, table: target, targets: targets, parameters: parameters)
        let rows = writeTarget(target)
        var count = 0
        var returned: [[Value]] = []
        // Rows this statement inserted or updated (a second proposal for one is 21000).
        var touched = Set<Int64>()
        for row in proposed {
            guard let (existing, existingValues) = try conflict(row, arbiters: arbiters, table: target, transaction: transaction) else {
                let before = rows.rowCount
                try rows.append(row: row)
                try noteAppend(to: target, from: before, in: rows)
                touched.insert(Database.rowID(of: before, in: rows, table: target))
                count += 1
                if let returning { returned.append(try evaluate(returning.expressions, over: row, parameters: parameters)) }
                continue
            }
            guard case .update = upsert.action else { continue }
            if touched.contains(existing) {
                throw DatabaseError(.cardinalityViolation, "ON CONFLICT DO UPDATE command cannot affect row a second time",
                                    hint: "Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
            }
            let both = existingValues + row
            if let condition, try evaluate([condition], over: both, parameters: parameters)[0] != .bool(true) { continue }
            var updated = existingValues
            let values = try evaluate(assignments.map(\.value), over: both, parameters: parameters)
            for (index, assignment) in assignments.enumerated() { updated[assignment.column] = values[index] }
            guard try deleteRow(existing, of: target) else { continue }
            let before = rows.rowCount
            try rows.append(row: updated)
            try noteAppend(to: target, from: before, in: rows)
            try checkReferencedRows(target, deleted: [existing])
            touched.insert(Database.rowID(of: before, in: rows, table: target))
            count += 1
            if let returning { returned.append(try evaluate(returning.expressions, over: updated, parameters: parameters)) }
        }
        return Returning.result(returning, rows: returned, tag: "INSERT 0 \(count)")
    }

    /// The unique keys a proposed row is checked against: the one the conflict target names,
    /// or (DO NOTHING without a target) every unique key.
    func arbiterIndexes(_ upsert: UpsertStatement, table: Table) throws(DatabaseError) -> [TableIndex] {
        if let name = upsert.constraint {
            guard let index = table.index(named: name), index.key.isUnique else {
                throw DatabaseError(.undefinedObject, "constraint \"\(name)\" for table \"\(table.name)\" does not exist", position: upsert.position)
            }
            return [index]
        }
        if let names = upsert.conflictColumns {
            var columns: [Int] = []
            for name in names {
                guard let column = table.columnIndex(name) else {
                    throw DatabaseError(.undefinedColumn, "column \"\(name)\" does not exist", position: upsert.position)
                }
                columns.append(column)
            }
            let matching = table.indexes.filter { $0.key.isUnique && Set($0.key.columns) == Set(columns) && $0.key.columns.count == Set(columns).count }
            guard !matching.isEmpty else {
                throw DatabaseError(.invalidColumnReference, "there is no unique or exclusion constraint matching the ON CONFLICT specification", position: upsert.position)
            }
            return matching
        }
        if case .update = upsert.action {
            throw DatabaseError(.syntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name", position: upsert.position,
                                hint: "For example, ON CONFLICT (column_name).")
        }
        return table.indexes.filter(\.key.isUnique)
    }

    /// The rows the INSERT proposes, whole (table column order, defaults filled in).
    func proposedRows(_ upsert: UpsertStatement, table: Table, targets: [Int], parameters: [Value]) throws(DatabaseError) -> [[Value]] {
        let defaults = try defaultValues(table, besides: targets)
        var bounds: [BoundQuery] = []
        switch upsert.source {
        case .values(let rows):
            for written in rows {
                guard written.count == targets.count else {
                    throw DatabaseError(.syntaxError, written.count > targets.count ? "INSERT has more expressions than target columns" : "INSERT has more target columns than expressions",
                                        position: upsert.position)
                }
                let row = try Database.replacingDefaults(written, table: table, targets: targets)
                var binder = makeBinder()
                bounds.append(try binder.bindValuesRow(row, columns: targets.map { table.columns[$0] }))
            }
        case .select(let query):
            if let column = targets.first(where: { table.constraints.alwaysGenerated.contains($0) }) {
                throw Database.identityAlways(table.columns[column].name, position: upsert.position)
            }
            var binder = makeBinder()
            bounds.append(try bindInsertQuery(query, into: table, targets: targets, binder: &binder))
        }
        var proposed: [[Value]] = []
        for var bound in bounds {
            let allTargets = Database.add(defaults, to: &bound.plan, targets: targets)
            let values: [[Value]]
            if let row = Database.constantRow(bound, parameters: parameters, transactionTime: executor.transactionTime,
                                              types: allTargets.map { table.columns[$0].type }) {
                values = [row]
            } else {
                (values, _) = try executor.run(bound, parameters: parameters, policy: jitPolicy, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
                    runtime.outputRows(layout: plan.outputLayout)
                }
            }
            for value in values {
                var row = [Value](repeating: .null, count: table.columns.count)
                for (index, column) in allTargets.enumerated() { row[column] = value[index] }
                proposed.append(row)
            }
        }
        return proposed
    }

    /// The live row (its `RowID`, local ones with `RowID.localBit`, and its values) that has a
    /// proposed row's key in one of `arbiters`, if any. A row another running transaction
    /// inserted or deleted makes the statement wait for it; under REPEATABLE READ, a conflict
    /// with a row the snapshot does not see is 40001.
    func conflict(_ row: [Value], arbiters: [TableIndex], table: Table, transaction: Transaction) throws(DatabaseError) -> (Int64, [Value])? {
        for index in arbiters {
            try index.build(table)
            let key = index.key.columns.map { row[$0] }
            if key.contains(where: \.isNull) { continue }
            let found = index.lookup(table, key)
            for id in found.rows {
                let marker = table.marker(id)
                if marker == transaction.marker || (marker != 0 && marker & VersionMarker.transactionBit == 0) { continue }
                if marker != 0 { try waitFor(marker & ~VersionMarker.transactionBit) }
                if transaction.isolation == .repeatableRead, let snapshot = transaction.snapshot,
                   Database.globalRow(id, in: table) >= table.visibleRows(at: snapshot) {
                    throw DatabaseError(.serializationFailure, "could not serialize access due to concurrent update")
                }
                guard let (segment, at) = table.locate(id) else { continue }
                // (reads every column of a persisted row: mapped and checked first)
                try table.load(columns: Array(table.columns.indices))
                return (id.value, table.columns.indices.map { segment.columns[$0].value(at: at) })
            }
            for entry in found.pending {
                if entry.owner != transaction.id { try waitFor(entry.owner) }
                guard entry.rows.marker(entry.row) == 0, let (segment, at) = entry.rows.locate(entry.row) else { continue }
                return (entry.row.value | RowID.localBit, table.columns.indices.map { segment.columns[$0].value(at: at) })
            }
        }
        return nil
    }

    /// Row `id`'s index among all of `table`'s rows.
    static func globalRow(_ id: RowID, in table: Table) -> Int {
        table.segments.prefix(id.segment).reduce(0) { $0 + $1.count } + id.row
    }

    /// The `RowID` of row `index` of `rows` (the table, or the transaction's local rows of it).
    static func rowID(of index: Int, in rows: Table, table: Table) -> Int64 {
        guard let (segment, row) = rows.locate(rowIndex: index), let segmentIndex = rows.segments.firstIndex(where: { $0 === segment }) else { return -1 }
        return RowID(segment: segmentIndex, row: row).value | (rows === table ? 0 : RowID.localBit)
    }

    /// Bound expressions over `values` (column i: values[i]): folded when they can be, else
    /// run as a one-row query (which raises what a row would raise).
    func evaluate(_ expressions: [BoundExpression], over values: [Value], parameters: [Value]) throws(DatabaseError) -> [Value] {
        let substituted = expressions.map { ConstantFolding.fold(Database.substitute($0, values, parameters: parameters)) }
        var folded: [Value] = []
        for expression in substituted {
            guard case .constant(let value) = expression.kind, value.isNull || value.fits(expression.type) || expression.type == .unknown else { break }
            folded.append(value)
        }
        if folded.count == substituted.count { return folded }
        let query = BoundQuery(plan: .project(.singleRow, expressions: substituted, names: substituted.indices.map { "c\($0)" }), columnNames: substituted.indices.map { "c\($0)" }, parameterTypes: [])
        let (rows, _) = try executor.run(query, parameters: parameters, policy: jitPolicy, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
            runtime.outputRows(layout: plan.outputLayout)
        }
        return rows.first ?? substituted.map { _ in .null }
    }
}
