import KilnCore
import KilnSQL
import KilnPlanner

/// One parsed statement, ready to be described and executed any number of times.
///
/// Parsing happens once; a query is bound again at each execution only when the catalog
/// changed since it was last bound (its tables may be gone or different).
public final class PreparedStatement: @unchecked Sendable {
    /// The whole text the statement came from (error positions count in it).
    public let sql: String
    let statement: Statement
    /// Parameter types the client declared (`.unknown`: left to the statement).
    public let declaredParameterTypes: [SQLType]

    /// What running the statement does, as far as a protocol layer must know beforehand.
    public enum Kind: Sendable, Equatable {
        /// Produces rows (SELECT, VALUES, EXPLAIN, SHOW).
        case query
        /// A command with a tag only.
        case command
        /// `COPY ... FROM STDIN`: the caller supplies the data (see `Database.copyIn`).
        case copyIn
        /// `COPY ... TO STDOUT`: the result's `copyData` holds the rows.
        case copyOut
    }

    public let kind: Kind

    /// What Describe reports: parameter types (unknowns resolved to text) and result columns.
    public struct Description: Sendable {
        public var parameterTypes: [SQLType]
        /// nil when the statement returns no rows.
        public var columns: [QueryResult.Column]?
    }

    // `@unchecked Sendable`: the cache below is only touched by the `Database` executing the
    // statement, and a `Database` is used by one thread at a time.
    var described: (catalogVersion: Int, description: Description)?

    /// What a cached plan was made under; any change makes it stale.
    struct PlanKey: Equatable {
        var catalogVersion: Int
        var parameterTypes: [SQLType]
        /// `Database.settingsVersion` (a setting may change how a plan is made and run).
        var settings: Int
    }

    /// A query's plan from its last execution (compiled code included), for the next ones.
    var cachedPlan: (key: PlanKey, plan: QueryExecutor.ExecutablePlan, columns: [QueryResult.Column])?

    /// An UPDATE's or DELETE's target table, plan and RETURNING list from its last execution.
    var cachedModify: (key: PlanKey, table: AnyObject, plan: QueryExecutor.ExecutablePlan, returning: Returning?)?

    /// An INSERT ... VALUES's bound rows from its last execution (`Database.insertValuesPlan`).
    var cachedInsert: (key: PlanKey, plan: Database.InsertValuesPlan)?

    /// A simple query run as its cached shape: the shape's prepared statement and literals.
    var shape: (prepared: PreparedStatement, literals: StatementShape)?

    /// Parsed for one execution (a simple query's statement): nothing is described or cached.
    let oneShot: Bool

    init(sql: String, statement: Statement, declaredParameterTypes: [SQLType], kind: Kind, oneShot: Bool = false) {
        self.sql = sql
        self.statement = statement
        self.declaredParameterTypes = declaredParameterTypes
        self.kind = kind
        self.oneShot = oneShot
    }

    /// Whether the statement is a transaction control command (BEGIN, COMMIT, ROLLBACK).
    public var transactionControl: TransactionControl? {
        switch statement {
        case .begin: return .begin
        case .commit: return .commit
        case .rollback: return .rollback
        case .rollbackToSavepoint: return .rollbackToSavepoint
        default: return nil
        }
    }

    public enum TransactionControl: Sendable { case begin, commit, rollback, rollbackToSavepoint }
}

extension Database {
    /// Parses `sql` into its statements without running them (a syntax error anywhere fails all).
    public func parse(_ sql: String) throws(DatabaseError) -> [PreparedStatement] {
        if let shaped = shapedStatement(sql) { return [shaped] }
        return try parseUnshaped(sql)
    }

    /// `parse` without the statement cache: each statement as written.
    func parseUnshaped(_ sql: String) throws(DatabaseError) -> [PreparedStatement] {
        do {
            return try Parser.parse(sql).map { statement throws(DatabaseError) in
                PreparedStatement(sql: sql, statement: statement, declaredParameterTypes: [], kind: try kind(of: statement), oneShot: true)
            }
        } catch {
            var located = error
            located.sql = sql
            throw located
        }
    }

    /// Prepares exactly one statement (an empty string is an empty statement: nil).
    /// - Parameter parameterTypes: types the client declares for `$1...`; `.unknown` leaves one open.
    /// - Throws: 42601 when `sql` holds more than one statement.
    public func prepare(_ sql: String, parameterTypes: [SQLType] = []) throws(DatabaseError) -> PreparedStatement? {
        // Not through the statement cache: a shaped statement's literals become parameters,
        // which a client's Parse of `INSERT ... VALUES (1, 'x')` (pgjdbc's plain Statement)
        // does not bind.
        let statements = try parseUnshaped(sql)
        guard statements.count <= 1 else {
            throw DatabaseError(.syntaxError, "cannot insert multiple commands into a prepared statement")
        }
        guard let first = statements.first else { return nil }
        let prepared = PreparedStatement(sql: sql, statement: first.statement, declaredParameterTypes: parameterTypes, kind: first.kind)
        _ = try describe(prepared)
        return prepared
    }

    func kind(of statement: Statement) throws(DatabaseError) -> PreparedStatement.Kind {
        switch statement {
        case .select, .show, .explain, .fetch(_, _, false, _): return .query
        case .copyFrom(_, _, let file, _, _) where file == nil: return .copyIn
        case .copyTo(_, let file, _, _) where file == nil: return .copyOut
        case .execute(let name, _, _): return preparedStatements[name]?.kind ?? .command
        default: return .command
        }
    }

    /// How many columns a COPY statement reads or writes (for CopyInResponse / CopyOutResponse).
    public func copyColumnCount(_ prepared: PreparedStatement) throws(DatabaseError) -> Int {
        do throws(DatabaseError) {
            switch prepared.statement {
            case .copyFrom(let table, let columns, _, _, let position):
                return try insertTarget(table, columns, position: position).1.count
            case .copyTo(let query, _, _, _):
                var binder = makeBinder(parameterTypes: [])
                return try binder.bind(query).columnNames.count
            default:
                return 0
            }
        } catch {
            var located = error
            located.sql = prepared.sql
            throw located
        }
    }

    /// Parameter types and result columns, bound against the current catalog.
    public func describe(_ prepared: PreparedStatement) throws(DatabaseError) -> PreparedStatement.Description {
        if let cached = prepared.described, cached.catalogVersion == catalog.version { return cached.description }
        return try onStatementStack { () throws(DatabaseError) in try describeInPlace(prepared) }
    }

    private func describeInPlace(_ prepared: PreparedStatement) throws(DatabaseError) -> PreparedStatement.Description {
        do {
            var binder = makeBinder(parameterTypes: prepared.declaredParameterTypes)
            var columns: [QueryResult.Column]?
            switch prepared.statement {
            case .select(var select):
                select.locking = []  // the same columns, locked or not
                let bound = try binder.bind(select)
                columns = zip(bound.columnNames, bound.columnTypes).map { QueryResult.Column(name: $0, type: $1) }
            case .insertSelect(let tableName, let names, let query, let returning, let position):
                let (table, targets) = try insertTarget(tableName, names, position: position)
                _ = try bindInsertQuery(query, into: table, targets: targets, binder: &binder)
                columns = try Returning(returning, table: table, qualifier: Returning.qualifier(tableName), offset: 0, binder: &binder)?.columns
            case .insertValues(let tableName, let names, let rows, let returning, let position):
                let (table, targets) = try insertTarget(tableName, names, position: position)
                for row in rows where row.count == targets.count {
                    _ = try binder.bindValuesRow(row, columns: targets.map { table.columns[$0] })
                }
                columns = try Returning(returning, table: table, qualifier: Returning.qualifier(tableName), offset: 0, binder: &binder)?.columns
            case .upsert(let upsert):
                let (table, targets) = try insertTarget(upsert.table, upsert.columns, position: upsert.position)
                switch upsert.source {
                case .values(let rows):
                    for row in rows where row.count == targets.count {
                        _ = try binder.bindValuesRow(try Database.replacingDefaults(row, table: table, targets: targets), columns: targets.map { table.columns[$0] })
                    }
                case .select(let query):
                    _ = try bindInsertQuery(query, into: table, targets: targets, binder: &binder)
                }
                columns = try Returning(upsert.returning, table: table, qualifier: upsert.alias ?? Returning.qualifier(upsert.table), offset: 0, binder: &binder)?.columns
            case .delete(let delete):
                columns = try bindDelete(delete, binder: &binder).2?.columns
            case .update(let update):
                columns = try bindUpdate(update, binder: &binder).2?.columns
            case .explain:
                columns = [QueryResult.Column(name: "QUERY PLAN", type: .text)]
            case .show("all", _):
                columns = ["name", "setting", "description"].map { QueryResult.Column(name: $0, type: .text) }
            case .show(let name, _):
                columns = [QueryResult.Column(name: name, type: .text)]
            case .execute(let name, _, _):
                if let inner = preparedStatements[name] { columns = try describe(inner).columns }
            case .declareCursor(_, let query, _, _):
                _ = try binder.bind(query)
            case .fetch(let name, _, false, _):
                columns = cursorColumns(name)
            default:
                break
            }
            let description = PreparedStatement.Description(parameterTypes: binder.parameterTypes.map { $0 == .unknown ? .text : $0 }, columns: columns)
            prepared.described = (catalog.version, description)
            return description
        } catch {
            var located = error
            located.sql = prepared.sql
            throw located
        }
    }

    /// Runs a prepared statement with `parameters` (one value per `$n`; `.text` values are
    /// converted to the parameter's type with its input function).
    public func execute(_ prepared: PreparedStatement, _ parameters: [Value] = []) throws(DatabaseError) -> QueryResult {
        try refuseWhileDelivering()
        return try onStatementStack { () throws(DatabaseError) in try executeInPlace(prepared, parameters) }
    }

    private func executeInPlace(_ prepared: PreparedStatement, _ parameters: [Value]) throws(DatabaseError) -> QueryResult {
        if let (cached, literals) = prepared.shape {
            do throws(DatabaseError) {
                let values: [Value]
                do throws(DatabaseError) { values = try literals.values(as: try describe(cached).parameterTypes) } catch {
                    var located = error
                    located.sql = prepared.sql
                    throw located
                }
                return try executeInPlace(cached, values)
            } catch where error.sql == prepared.sql {
                throw error
            } catch {
                var located = error
                located.sql = prepared.sql
                located.position = error.position.map(literals.originalPosition)
                throw located
            }
        }
        do throws(DatabaseError) {
            if prepared.oneShot && parameters.isEmpty {
                // A simple query's statement runs once: describing it would bind it twice.
                currentSQL = prepared.sql
                return try execute(prepared.statement, parameters: [])
            }
            let description = try describe(prepared)
            guard parameters.count == description.parameterTypes.count else {
                throw DatabaseError(SQLState("08P01"), "bind message supplies \(parameters.count) parameters, but prepared statement requires \(description.parameterTypes.count)")
            }
            statementParameterTypes = description.parameterTypes
            currentSQL = prepared.sql
            executingPrepared = prepared
            defer {
                statementParameterTypes = []
                executingPrepared = nil
            }
            if case .select(let select) = prepared.statement, select.locking.isEmpty { return try runPreparedQuery(prepared, select, parameters: parameters) }
            return try execute(prepared.statement, parameters: parameters)
        } catch {
            var located = error
            located.sql = prepared.sql
            throw located
        }
    }
}

extension Database {
    /// A prepared query's hot path: the plan (and its compiled code) from the last execution
    /// runs with the new parameter values; binding, planning, lowering and compilation happen
    /// only the first time and again after the catalog, the parameter types or a setting changed.
    func runPreparedQuery(_ prepared: PreparedStatement, _ select: SelectStatement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        cancellation.reset()
        if let transaction, transaction.failed {
            throw DatabaseError(.inFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        do throws(DatabaseError) {
            return try readInTransaction { () throws(DatabaseError) -> QueryResult in
                try runCachedPlan(prepared, select, parameters: parameters)
            }
        } catch {
            if !error.isWouldWait { failTransactionBlock() }
            throw error
        }
    }

    /// `runPreparedQuery` for a caller that holds the statement lock already (SQL EXECUTE).
    func runCachedPlan(_ prepared: PreparedStatement, _ select: SelectStatement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        let key = PreparedStatement.PlanKey(catalogVersion: catalog.version, parameterTypes: statementParameterTypes, settings: settingsVersion)
        if prepared.cachedPlan?.key != key {
            var binder = makeBinder()
            let bound = try binder.bind(select)
            let plan = try executor.plan(bound, policy: jitPolicy)
            prepared.cachedPlan = (key, plan, zip(bound.columnNames, bound.columnTypes).map { QueryResult.Column(name: $0, type: $1) })
        }
        let cached = prepared.cachedPlan!
        return try queryResult(cached.columns) { body throws(DatabaseError) in
            try executor.run(cached.plan, parameters: parameters, memoryLimit: memoryLimit, body)
        }
    }
}
