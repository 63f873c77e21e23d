@_exported import KilnCore
import KilnSQL
import KilnStorage
import KilnPlanner
import KilnRuntime

/// An embedded Kiln database (in memory).
///
/// ```swift
/// let db = try Database()
/// try db.execute("CREATE TABLE t (k INTEGER, v DOUBLE PRECISION)")
/// let rows = try db.query("SELECT k, sum(v) FROM t WHERE v > $1 GROUP BY k", [.float64(0)])
/// ```
/// Not thread-safe: use one `Database` per thread, or serialise calls.
public final class Database {
    public let catalog = Catalog()
    let executor: QueryExecutor
    /// Session settings (`SET name = value`).
    public private(set) var settings: [String: String] = ["jit": "on", "jit_simd": "on", "server_version": "16.0", "datestyle": "ISO, MDY",
                                                          "memory_limit": MemoryBudget.format(MemoryBudget.defaultLimit)]

    /// Bytes a query's hash tables and buffers may hold (`SET memory_limit = '4GB'`).
    public var memoryLimit: Int { settings["memory_limit"].flatMap(MemoryBudget.parse) ?? MemoryBudget.defaultLimit }

    /// Whether queries run as native code (`SET jit = on`, the default) or in the interpreter.
    public var usesNativeCode: Bool { !["off", "false"].contains(settings["jit"]?.lowercased() ?? "on") }

    /// Whether compiled scans use SIMD filter kernels (`SET jit_simd = on`, the default).
    public var usesSIMD: Bool { !["off", "false"].contains(settings["jit_simd"]?.lowercased() ?? "on") }

    public init() throws(DatabaseError) {
        do { executor = try QueryExecutor() } catch {
            throw DatabaseError.internalError("could not initialise the compiler: \(error)")
        }
    }

    /// Runs every statement in `sql`; returns one result per statement.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [Value] = []) throws(DatabaseError) -> [QueryResult] {
        do {
            let statements = try Parser.parse(sql)
            var results: [QueryResult] = []
            for statement in statements { results.append(try execute(statement, parameters: parameters)) }
            return results
        } catch {
            var located = error
            located.sql = sql
            throw located
        }
    }

    /// Runs one query and returns its rows.
    public func query(_ sql: String, _ parameters: [Value] = []) throws(DatabaseError) -> [[Value]] {
        try execute(sql, parameters).last?.rows ?? []
    }

    func execute(_ statement: Statement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        switch statement {
        case .createTable(let name, let columns, let ifNotExists, let position):
            var seen = Set<String>()
            for column in columns {
                if !seen.insert(column.name).inserted {
                    throw DatabaseError(.duplicateColumn, "column \"\(column.name)\" specified more than once", position: column.position)
                }
            }
            let table = Table(name: name, columns: columns.map { ColumnInfo(name: $0.name, type: Database.storageType($0.type.type), notNull: $0.notNull) })
            _ = try catalog.create(table, ifNotExists: ifNotExists, position: position)
            return .command("CREATE TABLE")
        case .dropTable(let names, let ifExists, let position):
            for name in names { try catalog.drop(name, ifExists: ifExists, position: position) }
            return .command("DROP TABLE")
        case .createView(let name, let columns, let query, let orReplace, let position):
            // Bind once now so that a view that cannot run is rejected at CREATE.
            var binder = Binder(catalog: catalog)
            let bound = try binder.bind(query)
            if let columns, columns.count > bound.columnNames.count {
                throw DatabaseError(.syntaxError, "CREATE VIEW specifies more column names than columns", position: position)
            }
            let names = (columns ?? []) + bound.columnNames.dropFirst(columns?.count ?? 0)
            var seen = Set<String>()
            for column in names where !seen.insert(column).inserted {
                throw DatabaseError(.duplicateColumn, "column \"\(column)\" specified more than once", position: position)
            }
            try catalog.create(View(name: name, columns: columns, query: query, columnNames: Array(names), columnTypes: bound.columnTypes), replace: orReplace, position: position)
            return .command("CREATE VIEW")
        case .dropView(let names, let ifExists, let position):
            for name in names { try catalog.dropView(name, ifExists: ifExists, position: position) }
            return .command("DROP VIEW")
        case .select(let select):
            var binder = Binder(catalog: catalog)
            let bound = try binder.bind(select)
            let (rows, timings) = try executor.run(bound, parameters: parameters, compiled: usesNativeCode, simd: usesSIMD, memoryLimit: memoryLimit) { runtime, lowered throws(DatabaseError) in
                runtime.outputRows(layout: lowered.plan.outputLayout)
            }
            var result = QueryResult(columns: zip(bound.columnNames, bound.columnTypes).map { QueryResult.Column(name: $0, type: $1) },
                                     rows: rows, commandTag: "SELECT \(rows.count)", hasResultSet: true)
            result.timings = timings
            return result
        case .insertValues(let tableName, let columnNames, let rows, let position):
            let (table, targets) = try insertTarget(tableName, columnNames, position: position)
            let before = table.rowCount
            do throws(DatabaseError) {
                for row in rows {
                    guard row.count <= targets.count else {
                        throw DatabaseError(.syntaxError, "INSERT has more expressions than target columns", position: row[targets.count].position)
                    }
                    guard row.count == targets.count else {
                        throw DatabaseError(.syntaxError, "INSERT has more target columns than expressions", position: position)
                    }
                    var binder = Binder(catalog: catalog)
                    let bound = try binder.bindValuesRow(row, columns: targets.map { table.columns[$0] })
                    try append(bound, into: table, targets: targets, parameters: parameters)
                }
            } catch {
                table.truncate(to: before)
                throw error
            }
            return .command("INSERT 0 \(table.rowCount - before)")
        case .insertSelect(let tableName, let columnNames, let query, let position):
            let (table, targets) = try insertTarget(tableName, columnNames, position: position)
            let before = table.rowCount
            do throws(DatabaseError) {
                try insert(query, into: table, targets: targets, parameters: parameters)
            } catch {
                table.truncate(to: before)
                throw error
            }
            return .command("INSERT 0 \(table.rowCount - before)")
        case .explain(let mode, let inner):
            return try explain(mode, inner, parameters: parameters)
        case .set(let name, let value, let position):
            if name == "jit" || name == "jit_simd" {
                guard ["on", "off", "true", "false", "auto"].contains(value.lowercased()) else {
                    throw DatabaseError(.invalidParameterValue, "invalid value for parameter \"jit\": \"\(value)\"", position: position)
                }
            }
            if name == "memory_limit" {
                guard let bytes = MemoryBudget.parse(value) else {
                    throw DatabaseError(.invalidParameterValue, "invalid value for parameter \"memory_limit\": \"\(value)\"", position: position,
                                        hint: "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
                }
                settings[name] = MemoryBudget.format(bytes)
                return .command("SET")
            }
            settings[name] = value
            return .command("SET")
        case .reset(let name):
            settings[name] = name == "jit" || name == "jit_simd" ? "on" : name == "memory_limit" ? MemoryBudget.format(MemoryBudget.defaultLimit) : nil
            return .command("RESET")
        case .show(let name, let position):
            guard let value = settings[name] else {
                throw DatabaseError(.undefinedObject, "unrecognized configuration parameter \"\(name)\"", position: position)
            }
            return QueryResult(columns: [.init(name: name, type: .text)], rows: [[.text(value)]], commandTag: "SHOW", hasResultSet: true)
        case .analyze(let names, let position):
            for name in names where catalog.table(name) == nil {
                throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
            }
            for name in names.isEmpty ? catalog.tableNames : names { catalog.table(name)?.analyze() }
            return .command("ANALYZE")
        case .begin: return .command("BEGIN")
        case .commit: return .command("COMMIT")
        case .rollback: return .command("ROLLBACK")
        case .copyFrom(let table, let columns, let file, let options, let position):
            return try copyFrom(table, columns: columns, file: file, options: options, position: position)
        case .copyTo(let query, let file, let options, _):
            return try copyTo(query, file: file, options: options, parameters: parameters)
        }
    }

    /// The type a declared column stores. Unconstrained NUMERIC keeps 16 fraction digits
    /// (PostgreSQL keeps any scale; Kiln's decimals have a static scale per column).
    static func storageType(_ declared: SQLType) -> SQLType {
        if case .numeric(nil, 0) = declared { return .numeric(precision: nil, scale: 16) }
        return declared
    }

    func insertTarget(_ name: String, _ columns: [String]?, position: Int) throws(DatabaseError) -> (Table, [Int]) {
        guard let table = catalog.table(name) else {
            throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
        }
        guard let columns else { return (table, Array(table.columns.indices)) }
        var targets: [Int] = []
        for column in columns {
            guard let index = table.columnIndex(column) else {
                throw DatabaseError(.undefinedColumn, "column \"\(column)\" of relation \"\(name)\" does not exist", position: position)
            }
            if targets.contains(index) {
                throw DatabaseError(.duplicateColumn, "column \"\(column)\" specified more than once", position: position)
            }
            targets.append(index)
        }
        return (table, targets)
    }

    /// Runs `query` with its columns converted to the target columns' types and appends the rows.
    func insert(_ query: SelectStatement, into table: Table, targets: [Int], parameters: [Value]) throws(DatabaseError) {
        var binder = Binder(catalog: catalog)
        var bound = try binder.bind(query)
        let types = bound.plan.outputTypes
        guard types.count == targets.count else {
            throw DatabaseError(.syntaxError, types.count > targets.count ? "INSERT has more expressions than target columns" : "INSERT has more target columns than expressions", position: query.position)
        }
        var conversions: [BoundExpression] = []
        for (index, target) in targets.enumerated() {
            let column = table.columns[target]
            let source = BoundExpression.column(index, type: types[index].0, nullable: types[index].1)
            conversions.append(try binder.assign(source, to: column, position: query.position))
        }
        bound.plan = .project(bound.plan, expressions: conversions, names: targets.map { table.columns[$0].name })
        try append(bound, into: table, targets: targets, parameters: parameters)
    }

    /// Runs a query whose columns have the target columns' types and appends its rows.
    func append(_ bound: BoundQuery, into table: Table, targets: [Int], parameters: [Value]) throws(DatabaseError) {
        let layout = RecordLayout(types: targets.map { table.columns[$0].type })
        _ = try executor.run(bound, parameters: parameters, compiled: usesNativeCode, simd: usesSIMD, memoryLimit: memoryLimit) { runtime, _ throws(DatabaseError) in
            let fieldForColumn = Dictionary(uniqueKeysWithValues: targets.enumerated().map { ($1, $0) })
            try runtime.withOutputRecords { records, count throws(DatabaseError) in
                try table.appendRecords(records, count: count, fields: table.columns.indices.map { fieldForColumn[$0] }, offsets: layout.offsets)
            }
        }
    }
}
