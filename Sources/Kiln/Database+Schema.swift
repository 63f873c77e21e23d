import KilnCore
import KilnSQL
import KilnStorage
import KilnPlanner

/// CREATE TABLE with constraints, ALTER TABLE ... ADD / DROP CONSTRAINT, CREATE / DROP INDEX.
extension Database {
    /// PostgreSQL's system column names, which no user column may take (Kiln has `ctid`).
    static let systemColumns: Set<String> = ["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"]

    func runCreateTable(_ name: String, _ definitions: [ColumnDefinition], _ constraints: [TableConstraint], ifNotExists: Bool,
                        position: Int) throws(DatabaseError) -> QueryResult {
        if name.contains(".") {
            throw DatabaseError(SQLState("42501"), "permission denied to create \"\(name)\"", position: position,
                                detail: "System catalog modifications are currently disallowed.")
        }
        var seen = Set<String>()
        for column in definitions where !seen.insert(column.name).inserted {
            throw DatabaseError(.duplicateColumn, "column \"\(column.name)\" specified more than once", position: column.position)
        }
        for column in definitions where Database.systemColumns.contains(column.name) {
            throw DatabaseError(.duplicateColumn, "column name \"\(column.name)\" conflicts with a system column name", position: column.position)
        }
        // A primary key's columns are NOT NULL.
        var primary = Set<String>()
        for constraint in constraints { if case .primaryKey(let columns) = constraint.kind { primary.formUnion(columns) } }
        let columns = definitions.map { ColumnInfo(name: $0.name, type: Database.storageType($0.type.type), notNull: $0.notNull || primary.contains($0.name)) }
        let table = Table(name: name, columns: columns)
        var declared = TableConstraints(columns: columns.count)
        for (index, column) in definitions.enumerated() {
            if let value = column.defaultValue {
                if column.generated != nil {
                    throw DatabaseError(.syntaxError, "both default and identity specified for column \"\(column.name)\" of table \"\(name)\"", position: column.position)
                }
                _ = try bindDefault(value.text, for: columns[index], position: value.expression.position)
                declared.defaults[index] = value.text
            }
        }
        if relationExists(name) {
            if ifNotExists { return .command("CREATE TABLE") }
            throw DatabaseError(.duplicateTable, "relation \"\(name)\" already exists", position: position)
        }
        for (index, column) in definitions.enumerated() {
            guard let generated = column.generated else { continue }
            guard [SQLType.smallint, .integer, .bigint].contains(columns[index].type) else {
                throw DatabaseError(.invalidParameterValue, "identity column type must be smallint, integer, or bigint", position: column.position)
            }
            declared.defaults[index] = try makeColumnSequence(table: name, column: column.name, type: columns[index].type, generated: generated, position: column.position)
            if case .identity(true, _) = generated { declared.alwaysGenerated.append(index) }
        }
        for constraint in constraints { try add(constraint, to: &declared, table: table) }
        table.setConstraints(declared)
        // Inside a block, other sessions do not see the table until COMMIT (as in PostgreSQL):
        // they could otherwise commit rows into a table whose creation is not in the WAL yet.
        if let transaction, transaction.explicit { table.setCreator(transaction.id) }
        if try catalog.create(table, ifNotExists: ifNotExists, position: position) {
            pendingChanges.append(.createTable(table))
            if !declared.isEmpty { pendingChanges.append(.constraints(table, declared)) }
            transaction?.undo.append(.createTable(table))
        }
        return .command("CREATE TABLE")
    }

    /// `CREATE TABLE name [(columns)] AS query [WITH [NO] DATA]`: a table with the query's
    /// columns (names from `columns` first, then the query's; a literal of unknown type is
    /// text, as in PostgreSQL), filled with its rows unless WITH NO DATA. The table and its
    /// rows are one statement: both are undone together, and both reach the WAL at commit.
    func runCreateTableAs(_ name: String, _ columns: [String]?, _ query: SelectStatement, withData: Bool, ifNotExists: Bool,
                          parameters: [Value], position: Int) throws(DatabaseError) -> QueryResult {
        if ifNotExists, relationExists(name) { return .command("CREATE TABLE AS") }
        var binder = makeBinder()
        let bound = try binder.bind(query)
        let types = bound.columnTypes
        if let columns, columns.count > types.count {
            throw DatabaseError(.syntaxError, "too many column names were specified", position: position)
        }
        let definitions = types.enumerated().map { index, type in
            let columnName = columns.flatMap { index < $0.count ? $0[index] : nil } ?? bound.columnNames[index]
            return ColumnDefinition(name: columnName, type: TypeName(type: type == .unknown ? .text : type, position: position), notNull: false, position: position)
        }
        _ = try runCreateTable(name, definitions, [], ifNotExists: false, position: position)
        guard withData else { return .command("CREATE TABLE AS") }
        let inserted = try runInsertSelect(name, nil, query, returning: [], parameters: parameters, position: position)
        let count = inserted.commandTag.split(separator: " ").last.map(String.init) ?? "0"
        return .command("SELECT \(count)")
    }

    func runAlterTable(_ name: String, _ actions: [AlterTableAction], ifExists: Bool, position: Int) throws(DatabaseError) -> QueryResult {
        guard let table = catalog.table(name) else {
            if ifExists { return .command("ALTER TABLE") }
            throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
        }
        var constraints = table.constraints
        for action in actions {
            switch action {
            case .addConstraint(let constraint):
                if case .primaryKey(let columns) = constraint.kind {
                    // PostgreSQL makes the columns NOT NULL; Kiln's column definitions are fixed,
                    // so the columns must be NOT NULL already or hold no NULL.
                    for column in columns {
                        guard let index = table.columnIndex(column) else { continue }
                        if !table.columns[index].notNull, try columnHasNull(table, index) {
                            throw DatabaseError(.notNullViolation, "column \"\(column)\" of relation \"\(name)\" contains null values", position: constraint.position)
                        }
                    }
                }
                try add(constraint, to: &constraints, table: table)
            case .dropConstraint(let constraintName, let ifExists, let at):
                if let index = constraints.keys.firstIndex(where: { $0.name == constraintName && $0.isConstraint }) {
                    try checkNotReferenced(table, key: constraints.keys[index], position: at)
                    constraints.keys.remove(at: index)
                } else if let index = constraints.checks.firstIndex(where: { $0.name == constraintName }) {
                    constraints.checks.remove(at: index)
                } else if let index = constraints.foreignKeys.firstIndex(where: { $0.name == constraintName }) {
                    constraints.foreignKeys.remove(at: index)
                } else if !ifExists {
                    throw DatabaseError(.undefinedObject, "constraint \"\(constraintName)\" of relation \"\(name)\" does not exist", position: at)
                }
            }
        }
        try setConstraints(table, constraints)
        return .command("ALTER TABLE")
    }

    func runCreateIndex(_ indexName: String?, table tableName: String, columns: [String], unique: Bool, ifNotExists: Bool,
                        position: Int) throws(DatabaseError) -> QueryResult {
        guard let table = catalog.table(tableName) else {
            throw DatabaseError(.undefinedTable, "relation \"\(tableName)\" does not exist", position: position)
        }
        if let indexName, relationNameTaken(indexName) {
            if ifNotExists { return .command("CREATE INDEX") }
            throw DatabaseError(.duplicateTable, "relation \"\(indexName)\" already exists", position: position)
        }
        var constraints = table.constraints
        let keyColumns = try resolve(columns, in: table, position: position)
        let name = indexName ?? uniqueName(table.name + "_" + columns.joined(separator: "_") + "_idx")
        constraints.keys.append(KeyConstraint(name: name, columns: keyColumns, kind: unique ? .uniqueIndex : .index))
        try setConstraints(table, constraints)
        return .command("CREATE INDEX")
    }

    func runDropIndex(_ names: [String], ifExists: Bool, position: Int) throws(DatabaseError) -> QueryResult {
        for name in names {
            guard let table = catalog.allTables.first(where: { $0.index(named: name) != nil }), let index = table.index(named: name) else {
                if ifExists { continue }
                throw DatabaseError(.undefinedObject, "index \"\(name)\" does not exist", position: position)
            }
            if index.key.isConstraint {
                throw DatabaseError(.dependentObjectsStillExist, "cannot drop index \(name) because constraint \(name) on table \(table.name) requires it", position: position,
                                    hint: "You can drop constraint \(name) on table \(table.name) instead.")
            }
            if let key = table.constraints.foreignKeys.first(where: { $0.columns == index.key.columns }),
               table.constraints.keys.filter({ $0.columns == index.key.columns }).count == 1 {
                throw DatabaseError(.dependentObjectsStillExist, "cannot drop index \(name) because constraint \(key.name) on table \(table.name) uses it", position: position,
                                    hint: "Drop constraint \(key.name) on table \(table.name) first.")
            }
            var constraints = table.constraints
            constraints.keys.removeAll { $0.name == name }
            try setConstraints(table, constraints)
        }
        return .command("DROP INDEX")
    }

    /// Makes `constraints` the table's, after checking that its rows satisfy any new key or
    /// check; logged with the transaction, undone by its rollback.
    func setConstraints(_ table: Table, _ constraints: TableConstraints) throws(DatabaseError) {
        let old = table.constraints
        table.setConstraints(constraints)
        // Plans made before (prepared statements') may read an index that changed.
        catalog.bumpVersion()
        do throws(DatabaseError) {
            try validateExistingRows(table, old: old)
        } catch {
            table.setConstraints(old)
            throw error
        }
        pendingChanges.append(.constraints(table, constraints))
        transaction?.undo.append(.constraints(table, old))
    }

    /// A name no table, view or index uses yet: `base`, else `base1`, `base2`, ...
    func uniqueName(_ base: String) -> String {
        Database.firstFree({ Database.identifier(base, suffix: $0) }, taken: relationNameTaken)
    }

    /// The first of `candidate(0)`, `candidate(1)`, ... that `taken` does not hold.
    static func firstFree(_ candidate: (Int) -> String, taken: (String) -> Bool) -> String {
        var suffix = 0
        while taken(candidate(suffix)) { suffix += 1 }
        return candidate(suffix)
    }

    /// `base` with `suffix` (none for 0) within PostgreSQL's 63 characters of a name.
    static func identifier(_ base: String, suffix: Int) -> String {
        guard suffix > 0 else { return String(base.prefix(63)) }
        return String(base.prefix(63 - String(suffix).count)) + String(suffix)
    }

    /// Whether a table, view or sequence has this name (they share PostgreSQL's pg_class).
    func relationExists(_ name: String) -> Bool {
        catalog.table(name) != nil || catalog.view(name) != nil || catalog.sequence(name) != nil
    }

    func relationNameTaken(_ name: String) -> Bool {
        catalog.table(name) != nil || catalog.view(name) != nil || catalog.allTables.contains { $0.constraints.names.contains(name) }
    }

    func resolve(_ names: [String], in table: Table, position: Int) throws(DatabaseError) -> [Int] {
        var columns: [Int] = []
        for name in names {
            guard let index = table.columnIndex(name) else {
                throw DatabaseError(.undefinedColumn, "column \"\(name)\" named in key does not exist", position: position)
            }
            if columns.contains(index) {
                throw DatabaseError(.duplicateColumn, "column \"\(name)\" appears twice in primary key constraint", position: position)
            }
            columns.append(index)
        }
        return columns
    }

    /// Adds one declared constraint to `constraints` (names as PostgreSQL makes them up).
    func add(_ constraint: TableConstraint, to constraints: inout TableConstraints, table: Table) throws(DatabaseError) {
        func taken(_ name: String) -> Bool {
            constraints.names.contains(name) || relationNameTaken(name)
        }
        func name(_ base: String) -> String {
            constraint.name ?? Database.firstFree({ Database.identifier(base, suffix: $0) }, taken: taken)
        }
        if let given = constraint.name, taken(given) {
            throw DatabaseError(.duplicateObject, "constraint \"\(given)\" for relation \"\(table.name)\" already exists", position: constraint.position)
        }
        switch constraint.kind {
        case .primaryKey(let names):
            if constraints.primaryKey != nil {
                throw DatabaseError(.invalidTableDefinition, "multiple primary keys for table \"\(table.name)\" are not allowed", position: constraint.position)
            }
            let columns = try resolve(names, in: table, position: constraint.position)
            constraints.keys.append(KeyConstraint(name: name(table.name + "_pkey"), columns: columns, kind: .primaryKey))
        case .unique(let names):
            let columns = try resolve(names, in: table, position: constraint.position)
            constraints.keys.append(KeyConstraint(name: name(table.name + "_" + names.joined(separator: "_") + "_key"), columns: columns, kind: .unique))
        case .check(let expression, let text):
            let bound = try bindCheck(text, table: table, position: expression.position)
            // PostgreSQL names a check after the one column it reads, if it reads one.
            let used = bound.columnsUsed
            let base = used.count == 1 ? table.name + "_" + table.columns[used.first!].name + "_check" : table.name + "_check"
            constraints.checks.append(CheckConstraint(name: name(base), text: text))
        case .foreignKey(let names, let referencedName, let referencedNames, let onDelete, let onUpdate):
            for action in [onDelete, onUpdate] where action != .noAction && action != .restrict {
                throw DatabaseError(.featureNotSupported, "ON DELETE / ON UPDATE \(action.rawValue) is not supported yet", position: constraint.position,
                                    hint: "Foreign keys support NO ACTION and RESTRICT.")
            }
            let columns = try resolve(names, in: table, position: constraint.position)
            let referencedTable = referencedName == table.name ? table : catalog.table(referencedName)
            guard let referenced = referencedTable else {
                throw DatabaseError(.undefinedTable, "relation \"\(referencedName)\" does not exist", position: constraint.position)
            }
            let referencedKeys = referenced === table ? constraints.keys : referenced.constraints.keys
            let referencedColumns: [Int]
            if let referencedNames {
                referencedColumns = try resolve(referencedNames, in: referenced, position: constraint.position)
            } else {
                guard let primary = referencedKeys.first(where: { $0.kind == .primaryKey }) else {
                    throw DatabaseError(.invalidForeignKey, "there is no primary key for referenced table \"\(referenced.name)\"", position: constraint.position)
                }
                referencedColumns = primary.columns
            }
            guard referencedColumns.count == columns.count else {
                throw DatabaseError(.invalidForeignKey, "number of referencing and referenced columns for foreign key disagree", position: constraint.position)
            }
            guard referencedKeys.contains(where: { $0.isUnique && Set($0.columns) == Set(referencedColumns) && $0.columns.count == referencedColumns.count }) else {
                throw DatabaseError(.invalidForeignKey, "there is no unique constraint matching given keys for referenced table \"\(referenced.name)\"", position: constraint.position)
            }
            for (column, target) in zip(columns, referencedColumns) {
                let from = table.columns[column], to = referenced.columns[target]
                guard IndexSelection.compatible(from.type, to.type) else {
                    throw DatabaseError(.datatypeMismatch, "foreign key constraint cannot be implemented", position: constraint.position,
                                        detail: "Key columns \"\(from.name)\" and \"\(to.name)\" are of incompatible types: \(from.type.description) and \(to.type.description).")
                }
            }
            let keyName = name(table.name + "_" + names.joined(separator: "_") + "_fkey")
            constraints.foreignKeys.append(ForeignKey(name: keyName, columns: columns, table: referenced.name, referencedColumns: referencedColumns,
                                                      restrict: onDelete == .restrict))
            // The referencing columns get an index: a delete of a referenced row finds its
            // referencing rows (and other transactions' uncommitted ones) through it.
            if !constraints.keys.contains(where: { $0.columns == columns }) {
                let indexName = Database.firstFree({ keyName + "_index" + ($0 == 0 ? "" : String($0)) }, taken: taken)
                constraints.keys.append(KeyConstraint(name: indexName, columns: columns, kind: .index))
            }
        }
    }

    /// A DEFAULT expression bound as the value of `column` (of its type).
    func bindDefault(_ text: String, for column: ColumnInfo, position: Int?) throws(DatabaseError) -> BoundExpression {
        let expression = try Database.parseExpression(text, position: position)
        if Binder.containsAggregate(expression) || Binder.subqueryPosition(expression) != nil {
            throw DatabaseError(.featureNotSupported, "cannot use column references, aggregates or subqueries in a DEFAULT expression", position: position)
        }
        var binder = makeBinder()
        let bound = try binder.bindValuesRow([expression], columns: [column])
        guard case .project(_, let expressions, _) = bound.plan, let value = expressions.first else {
            throw DatabaseError.internalError("a DEFAULT expression did not bind to one value")
        }
        return value
    }

    /// A CHECK expression bound over `table`'s row (column i: table column i).
    func bindCheck(_ text: String, table: Table, position: Int?) throws(DatabaseError) -> BoundExpression {
        let expression = try Database.parseExpression(text, position: position)
        if Binder.containsAggregate(expression) {
            throw DatabaseError(.groupingError, "aggregate functions are not allowed in check constraints", position: position)
        }
        if Binder.subqueryPosition(expression) != nil {
            throw DatabaseError(.featureNotSupported, "cannot use subquery in check constraint", position: position)
        }
        var binder = makeBinder()
        let (expressions, _) = try binder.bindReturning([.expression(expression, alias: nil)], table: table, qualifier: table.name, offset: 0)
        guard let bound = expressions.first, bound.type == .boolean || bound.type == .unknown else {
            throw DatabaseError(.datatypeMismatch, "argument of CHECK must be type boolean, not type \(expressions.first?.type.description ?? "unknown")", position: position)
        }
        return bound
    }

    static func parseExpression(_ text: String, position: Int?) throws(DatabaseError) -> Expression {
        guard case .select(let select)? = try Parser.parse("SELECT " + text).first, select.items.count == 1,
              case .expression(let expression, _) = select.items[0] else {
            throw DatabaseError(.syntaxError, "syntax error in \"\(text)\"", position: position)
        }
        return expression
    }

    func columnHasNull(_ table: Table, _ column: Int) throws(DatabaseError) -> Bool {
        try table.load(columns: [column])
        for segment in table.segments {
            for row in 0..<segment.count where !segment.columns[column].isValid(row) && (segment.deletes?.markers[row] ?? 0) == 0 { return true }
        }
        return false
    }

    /// A unique key that a foreign key of any table references cannot go.
    func checkNotReferenced(_ table: Table, key: KeyConstraint, position: Int) throws(DatabaseError) {
        for other in catalog.allTables {
            for foreign in other.constraints.foreignKeys where foreign.table == table.name && Set(foreign.referencedColumns) == Set(key.columns) {
                throw DatabaseError(.dependentObjectsStillExist, "cannot drop constraint \(key.name) on table \(table.name) because other objects depend on it", position: position,
                                    detail: "constraint \(foreign.name) on table \(other.name) depends on index \(key.name)")
            }
        }
    }
}
