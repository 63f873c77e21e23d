@_exported import KilnCore
#if canImport(Glibc)
import Glibc
#endif
import KilnSQL
import KilnStorage
import KilnPlanner
import KilnRuntime

/// An embedded Kiln database: in memory, or kept in a database directory (`Database(path:)`).
///
/// ```swift
/// let db = try Database()                      // or: try Database(path: "/var/lib/kiln/sales")
/// try db.execute("CREATE TABLE t (k INTEGER, v DOUBLE PRECISION)")
/// let rows = try db.query("SELECT k, sum(v) FROM t WHERE v > $1 GROUP BY k", [.float64(0)])
/// ```
/// A `Database` is one session: use it from one thread at a time. More sessions over the same
/// tables come from `Database(sharing:)`; they may run on different threads at once.
public final class Database {
    public let catalog: Catalog
    let executor: QueryExecutor
    /// Shared by every session over `catalog`.
    let statementLock: StatementLock
    /// Session settings (`SET name = value`).
    public private(set) var settings = Database.defaultSettings {
        didSet {
            settingsVersion &+= 1
            applyExecutionSettings()
        }
    }

    /// The settings a session starts with (and RESET returns to): the defaults, with the
    /// worker pool's thread count.
    var sessionDefaults: [String: String] {
        var defaults = Database.defaultSettings
        defaults["threads"] = String(executor.workers.defaultThreads)
        return defaults
    }

    /// Workers a query's pipelines may run on (`SET threads`, `kiln --threads`).
    public var threads: Int { settings["threads"].flatMap { Int($0) } ?? WorkerPool.cores }

    /// Hands the settings the executor reads per run to it.
    func applyExecutionSettings() {
        if settings["threads"] == nil { settings["threads"] = String(executor.workers.defaultThreads) }
        executor.threads = threads
        executor.morselRows = settings["parallel_morsel_rows"].flatMap { Int($0) } ?? MorselDispatcher.maximumRows
        memoryLimit = settings["memory_limit"].flatMap(MemoryBudget.parse) ?? MemoryBudget.defaultLimit
    }
    /// Moves whenever a setting changes (cached plans and the server's reported settings
    /// compare it, not the settings).
    public private(set) var settingsVersion = 0
    /// Statements kept by PREPARE or the protocol's Parse, by name.
    var preparedStatements: [String: PreparedStatement] = [:]
    /// The database name clients connected with (`current_database()`, `pg_database`).
    public var databaseName = "kiln"
    /// The server's process ID for this session (`pg_backend_pid()`, BackendKeyData).
    public var processID: Int32 = 0
    /// Open SQL cursors by name.
    var cursors: [String: Cursor] = [:]
    /// The running transaction: an explicit block's, or the implicit one of the statement
    /// being run (nil between statements outside a block).
    var transaction: Transaction? {
        didSet { CatalogVisibility.transaction = transaction?.id ?? 0 }
    }
    /// Between BEGIN and COMMIT / ROLLBACK.
    var inTransactionBlock: Bool { transaction?.explicit ?? false }
    /// Set with the error a statement throws when it met a row another running transaction
    /// deleted: the transaction to wait for before the statement runs again.
    var conflictingTransaction: UInt64?
    /// The conflict was another transaction's row lock (`WriteConflict.lock`).
    var conflictIsRowLock = false
    /// A conflict met by a statement that could not wait (`mustNotWait`): the statement's next
    /// run, where it may wait, waits for that transaction first instead of meeting it again.
    var deferredConflict: (other: UInt64, rowLock: Bool)?
    /// This session's last value of each sequence (currval) and of any (lastval).
    var sequenceValues: [String: Int64] = [:]
    var lastSequenceValue: Int64?
    /// The WAL position of the statement's last sequence reservation: the statement's result
    /// waits for it to be durable (a value given out is never given out again after a crash).
    var sequenceLogPosition = 0
    /// Set by a caller that answers its client only once the commit is durable (the server):
    /// under `synchronous_commit = on` a commit then does not wait for its WAL sync here; the
    /// log position it needs is kept for `takeAwaitedDurability` and `whenDurable`, so that the
    /// thread can run other sessions' statements while the sync runs.
    public var defersDurabilityWait = false
    private var awaitedDurability = 0
    /// Set by a caller whose thread must not wait (a server's event loop, running a statement
    /// `runsBriefly` chose): a statement that would wait for the statement lock or for another
    /// transaction throws `DatabaseError.wouldWait` instead, having changed nothing, and the
    /// caller runs it again on a thread that may wait.
    public var mustNotWait = false
    /// The prepared statement running (its UPDATE or DELETE plan is kept for the next run).
    var executingPrepared: PreparedStatement?
    /// The simple protocol's statement cache: normalised text -> prepared statement (nil: a
    /// shape that could not be prepared).
    var statementShapes: [StatementShape.Key: PreparedStatement?] = [:]
    /// The text of the statement being executed (PREPARE keeps it for error positions).
    var currentSQL = ""
    /// The stream a `COPY ... FROM STDIN` reads (set by `copyIn`).
    var copyInput: UnsafeMutablePointer<FILE>?
    /// Set by `close()` (or the deinitializer): the session counts no more among the open ones.
    var isClosed = false
    /// Where the next query's rows go as they are produced (one statement's, taken by its run).
    var rowStream: RowStream?
    /// Where the next `COPY ... TO STDOUT` sends its lines as it makes them (nil: its result keeps them).
    var copyOutStream: (([String]) throws(DatabaseError) -> Void)?
    /// Set while a stream's callbacks run: the session is busy delivering rows.
    var deliveringRows = false
    /// Runs statements for callers with small stacks (`onStatementStack`).
    let runner = StatementRunner()
    /// The database directory's WAL and data file (nil: in memory). Shared by every session.
    public let store: DurableStore?
    /// What the running write statement changed, logged to the WAL when it succeeds.
    var pendingChanges: [LoggedChange] = []

    /// Settings every session starts with; PostgreSQL's names, lower case.
    public static let defaultSettings: [String: String] = [
        "jit": "auto", "jit_sync": "off", "jit_tier": "auto", "jit_above_rows": "100000", "jit_switch_after_morsels": "-1", "jit_simd": "on", "memory_limit": MemoryBudget.format(MemoryBudget.defaultLimit),
        "server_version": "16.0", "server_version_num": "160000", "server_encoding": "UTF8", "client_encoding": "UTF8",
        "datestyle": "ISO, MDY", "intervalstyle": "postgres", "timezone": "UTC", "integer_datetimes": "on",
        "standard_conforming_strings": "on", "application_name": "", "default_transaction_read_only": "off",
        "in_hot_standby": "off", "is_superuser": "on", "session_authorization": Role.bootstrapName, "search_path": "\"$user\", public",
        "transaction_isolation": "read committed", "default_transaction_isolation": "read committed", "extra_float_digits": "1", "statement_timeout": "0", "max_identifier_length": "63",
        "synchronous_commit": "on", "work_mem": "4MB", "max_wal_size": MemoryBudget.format(DurableStore.defaultMaxWALSize),
        "code_cache_size": MemoryBudget.format(PersistentCodeCache.defaultCapacity),
        "parallel_morsel_rows": String(MorselDispatcher.maximumRows),
    ].merging(Optimizer.passes.map { (Optimizer.settingName($0), "on") }) { current, _ in current }

    /// Lets another thread cancel the statement this session runs.
    public var cancellation: QueryCancellation { executor.cancellation }
    /// How far the statement this session runs has got (another thread may read it).
    public var progress: StatementProgress { executor.progress }

    /// Parameter types of the prepared statement being executed (the binder types `$n` by them).
    var statementParameterTypes: [SQLType] = []

    /// Bytes a query's hash tables and buffers may hold (`SET memory_limit = '4GB'`).
    /// Bytes a statement's operators may hold (`memory_limit`; read by every execution, so
    /// parsed when the setting changes).
    public private(set) var memoryLimit = MemoryBudget.defaultLimit

    /// Whether queries may run as native code (`SET jit = on | auto`) or only in the interpreter (`off`).
    public var usesNativeCode: Bool { jitPolicy.mode != .off }

    /// Whether compiled scans use SIMD filter kernels (`SET jit_simd = on`, the default).
    public var usesSIMD: Bool { jitPolicy.simd }

    /// How this session's queries get native code, from its `jit*` settings.
    public var jitPolicy: JITPolicy {
        func flag(_ name: String) -> Bool? { settings[name].map { !["off", "false"].contains($0.lowercased()) } }
        var policy = JITPolicy()
        switch settings["jit"]?.lowercased() {
        case "off", "false": policy.mode = .off
        case "on", "true": policy.mode = .on
        default: policy.mode = .auto
        }
        policy.sync = flag("jit_sync") ?? false
        policy.simd = flag("jit_simd") ?? true
        policy.tiers = settings["jit_tier"].flatMap { JITPolicy.Tiers(rawValue: $0.lowercased()) } ?? .adaptive
        policy.aboveRows = settings["jit_above_rows"].flatMap { Int($0) } ?? policy.aboveRows
        if let k = settings["jit_switch_after_morsels"].flatMap({ Int($0) }), k >= 0 { policy.switchAfterMorsels = k }
        return policy
    }

    /// - Parameter workers: the threads that help run parallel pipelines (the process's pool
    ///   unless given; `SET threads` says how many of them a query uses).
    public init(workers: WorkerPool = .shared) throws(DatabaseError) {
        catalog = Catalog()
        statementLock = StatementLock()
        store = nil
        executor = try Database.sessionExecutor(persistentCode: nil)
        executor.workers = workers
        attachSessionFunctions()
        applyExecutionSettings()
    }

    /// Opens the database kept in directory `path`, creating it on first use: the last
    /// checkpoint is opened (table data is read when queries first touch it) and the WAL's
    /// commits since are replayed. Another process that has the directory open makes this fail
    /// with 55006. Closing the last session over it (`close()`) checkpoints and releases it.
    public init(path: String, workers: WorkerPool = .shared) throws(DatabaseError) {
        let catalog = Catalog()
        self.catalog = catalog
        statementLock = StatementLock()
        store = try DurableStore(path: path, catalog: catalog) { stored throws(DatabaseError) in
            guard case .select(let query)? = try Parser.parse(stored.definition).first else {
                throw StorageError.corrupted(file: path + "/data.kiln", offset: 0, "view \"\(stored.name)\" has no query")
            }
            return stored.view(query: query)
        }
        store?.attach()
        executor = try Database.sessionExecutor(persistentCode: PersistentCodeCache(directory: path + "/code"))
        executor.workers = workers
        attachSessionFunctions()
        applyExecutionSettings()
    }

    deinit { close() }

    /// A session's executor, counted among the compile service's open sessions.
    private static func sessionExecutor(persistentCode: PersistentCodeCache?) throws(DatabaseError) -> QueryExecutor {
        let executor: QueryExecutor
        do { executor = try QueryExecutor() } catch {
            throw DatabaseError.internalError("could not initialise the compiler: \(error)")
        }
        executor.persistentCode = persistentCode
        executor.service.sessionOpened()
        return executor
    }

    /// A new session over the same tables as `other`, with its own settings and prepared statements.
    public init(sharing other: Database) throws(DatabaseError) {
        catalog = other.catalog
        statementLock = other.statementLock
        store = other.store
        store?.attach()
        executor = try Database.sessionExecutor(persistentCode: other.executor.persistentCode)
        executor.workers = other.executor.workers
        attachSessionFunctions()
        applyExecutionSettings()
    }

    /// Statements' sequence functions run in this session (its currval and lastval).
    private func attachSessionFunctions() {
        executor.sessionFunction = { [unowned self] name, arguments throws(DatabaseError) in try self.sequenceFunction(name, arguments) }
    }

    /// Sets a session setting as `SET` would (validated the same way).
    /// - Parameter force: set a setting that SQL cannot change (a server sets `session_authorization`).
    public func set(_ name: String, _ value: String, force: Bool = false) throws(DatabaseError) {
        if force {
            settings[name.lowercased()] = value
            return
        }
        _ = try execute(.set(name: name.lowercased(), value: value, position: 0), parameters: [])
    }

    /// Runs every statement in `sql`; returns one result per statement.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [Value] = []) throws(DatabaseError) -> [QueryResult] {
        try refuseWhileDelivering()
        return try onStatementStack { () throws(DatabaseError) in try executeInPlace(sql, parameters) }
    }

    /// Runs every statement in `sql`; with `stream`, each result set goes there as it is produced.
    func executeInPlace(_ sql: String, _ parameters: [Value], stream: RowStream? = nil) throws(DatabaseError) -> [QueryResult] {
        do {
            let statements = try Parser.parse(sql)
            currentSQL = sql
            var results: [QueryResult] = []
            for statement in statements {
                results.append(try withStatementTimeout { () throws(DatabaseError) in
                    guard let stream else { return try execute(statement, parameters: parameters) }
                    return try streamed(stream, statement) { () throws(DatabaseError) in try execute(statement, parameters: parameters) }
                })
            }
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

    /// Runs one statement under the shared statement lock (exclusive when it changes tables).
    /// A statement that changes the database commits when it succeeds: its changes go to the
    /// WAL under the lock, and the commit returns once they are on disk (waited for after the
    /// lock is released, so that one sync serves several sessions' commits).
    func execute(_ statement: Statement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        cancellation.reset()
        progress.reset()
        switch statement {
        case .begin(let modes): return try begin(modes)
        case .commit: return try commitBlock()
        case .rollback: return try rollbackBlock()
        case .rollbackToSavepoint(let name, let position):
            do throws(DatabaseError) { return try rollbackToSavepoint(name, position: position) } catch {
                failTransactionBlock()
                throw error
            }
        default: break
        }
        if let transaction, transaction.failed {
            throw DatabaseError(.inFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        // (only the statement that met it, run again at once, waits for a deferred conflict)
        let deferred = mustNotWait ? nil : deferredConflict
        deferredConflict = nil
        do {
            return try executeInTransaction(statement, parameters: parameters, waitingFirst: deferred)
        } catch {
            if !error.isWouldWait { failTransactionBlock() }
            throw error
        }
    }

    /// Runs a statement that only reads under the shared statement lock, with the snapshot of
    /// the session's transaction (an implicit one, ended at once, outside a block).
    func readInTransaction<R>(_ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        let transaction = currentTransaction()
        defer {
            if !transaction.explicit {
                self.transaction = nil
                transactions.end(transaction.id, committed: true)
            }
        }
        let result = try statementLock.withReadLock(waiting: !mustNotWait) { () throws(DatabaseError) in
            executor.snapshot = statementSnapshot(transaction)
            defer { releaseStatementSnapshot(transaction) }
            return try body()
        }
        try waitForSequences()
        return result
    }

    /// Waits until the sequence values the statement reserved are durable.
    func waitForSequences() throws(DatabaseError) {
        guard sequenceLogPosition > 0 else { return }
        defer { sequenceLogPosition = 0 }
        try awaitDurable(sequenceLogPosition)
    }

    /// Makes a commit at log position `position` durable before the caller hears of it: waits,
    /// or (`defersDurabilityWait`) leaves the wait to the caller.
    func awaitDurable(_ position: Int) throws(DatabaseError) {
        guard let store, position > 0 else { return }
        let synchronous = synchronousCommit
        if synchronous && defersDurabilityWait {
            awaitedDurability = max(awaitedDurability, position)
            return
        }
        try store.waitDurable(position, synchronous: synchronous)
    }

    /// The log position the statements run since the last call need on disk before their
    /// results may reach the client (`defersDurabilityWait`); nil when none.
    public func takeAwaitedDurability() -> Int? {
        defer { awaitedDurability = 0 }
        return awaitedDurability > 0 ? awaitedDurability : nil
    }

    /// Calls `done` once the log is durable up to `position` (nil), or with the error that
    /// stopped it; on the thread that completes the sync, or at once. With `syncHere` (the
    /// caller would be idle), a sync that nobody runs yet runs on the calling thread.
    public func whenDurable(_ position: Int, syncHere: Bool, _ done: @escaping @Sendable (DatabaseError?) -> Void) {
        guard let store else { return done(nil) }
        store.whenDurable(position, syncHere: syncHere, done)
    }

    /// Runs one statement in the session's transaction (an implicit one, committed at its end,
    /// outside a block). A write that meets a row another running transaction deleted undoes
    /// its work, waits for that transaction outside the lock, and runs again (READ COMMITTED),
    /// or fails with 40001 when the other committed (REPEATABLE READ).
    /// - Parameter waitingFirst: a conflict the statement met where it could not wait: it
    ///   waits for that transaction before its first run here.
    private func executeInTransaction(_ statement: Statement, parameters: [Value],
                                      waitingFirst: (other: UInt64, rowLock: Bool)? = nil) throws(DatabaseError) -> QueryResult {
        guard writes(statement) else {
            return try readInTransaction { () throws(DatabaseError) in try perform(statement, parameters: parameters) }
        }
        if let waitingFirst {
            // Only where the other's outcome does not matter: REPEATABLE READ learns whether a
            // row changed from the row itself (the other may have ended meanwhile, its outcome
            // no longer kept), so it runs again at once.
            let transaction = currentTransaction()
            if transaction.isolation == .readCommitted || waitingFirst.rowLock {
                _ = try transactions.wait(transaction.id, for: waitingFirst.other)
            }
        }
        while true {
            let transaction = currentTransaction()
            let mark = transaction.undo.count
            var position = 0
            conflictingTransaction = nil
            conflictIsRowLock = false
            do throws(DatabaseError) {
                let result = try statementLock.withWriteLock(waiting: !mustNotWait) { () throws(DatabaseError) in
                    pendingChanges = []
                    defer {
                        pendingChanges = []
                        releaseStatementSnapshot(transaction)
                    }
                    executor.snapshot = statementSnapshot(transaction)
                    let result: QueryResult
                    do throws(DatabaseError) {
                        result = try perform(statement, parameters: parameters)
                    } catch {
                        if conflictingTransaction != nil || !transaction.explicit {
                            undo(transaction, to: mark)
                        }
                        if !transaction.explicit && conflictingTransaction == nil { rollback(transaction) }
                        throw error
                    }
                    if transaction.explicit {
                        // Catalog changes reach the WAL with the block's commit.
                        transaction.changes += pendingChanges
                        if pendingChanges.contains(where: { if case .insert = $0 { return false } else { return true } }) {
                            transactions.noteCatalogChange(transaction.id)
                        }
                    } else {
                        position = try commit(transaction)
                    }
                    return result
                }
                try awaitDurable(position)
                try waitForSequences()
                return result
            } catch {
                guard let other = conflictingTransaction else { throw error }
                conflictingTransaction = nil
                if mustNotWait {
                    // (undone; the implicit transaction stays for the statement's next run,
                    // which waits for `other` first)
                    deferredConflict = (other, conflictIsRowLock)
                    throw DatabaseError.wouldWait
                }
                try waitForConflict(transaction, other: other, rowLock: conflictIsRowLock)
                // The other transaction ended: run the statement again (READ COMMITTED: with a
                // snapshot that sees its commit).
            }
        }
    }

    /// Waits outside the statement lock for `other`, whose row a statement of `transaction`
    /// met; 40001 when it committed and `transaction` is REPEATABLE READ (unless `other` only
    /// held a row lock).
    private func waitForConflict(_ transaction: Transaction, other: UInt64, rowLock: Bool) throws(DatabaseError) {
        let committed = try transactions.wait(transaction.id, for: other)
        if committed && transaction.isolation == .repeatableRead && !rowLock {
            if !transaction.explicit { try statementLock.withWriteLock { () throws(DatabaseError) in rollback(transaction) } }
            throw DatabaseError(.serializationFailure, "could not serialize access due to concurrent update")
        }
    }

    /// Runs one statement; the caller holds the statement lock.
    func perform(_ statement: Statement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        switch statement {
        case .createTable(let name, let columns, let constraints, let ifNotExists, let position):
            return try runCreateTable(name, columns, constraints, ifNotExists: ifNotExists, position: position)
        case .createTableAs(let name, let columns, let query, let withData, let ifNotExists, let position):
            return try runCreateTableAs(name, columns, query, withData: withData, ifNotExists: ifNotExists, parameters: parameters, position: position)
        case .alterTable(let name, let actions, let ifExists, let position):
            return try runAlterTable(name, actions, ifExists: ifExists, position: position)
        case .createIndex(let name, let table, let columns, let unique, let ifNotExists, let position):
            return try runCreateIndex(name, table: table, columns: columns, unique: unique, ifNotExists: ifNotExists, position: position)
        case .dropIndex(let names, let ifExists, let position):
            return try runDropIndex(names, ifExists: ifExists, position: position)
        case .createSequence(let name, let options, let ifNotExists, let position):
            return try runCreateSequence(name, options, ifNotExists: ifNotExists, position: position)
        case .dropSequence(let names, let ifExists, let position):
            return try runDropSequence(names, ifExists: ifExists, position: position)
        case .dropTable(let names, let ifExists, let position):
            for name in names where catalog.table(name) != nil || !ifExists {
                let dropped = catalog.table(name)
                if let dropped, let (child, key) = references(to: dropped).first(where: { !names.contains($0.0.name) }) {
                    throw DatabaseError(.dependentObjectsStillExist, "cannot drop table \(name) because other objects depend on it",
                                        detail: "constraint \(key.name) on table \(child.name) depends on table \(name)",
                                        hint: "Drop the foreign key constraint first (DROP ... CASCADE is not supported yet).")
                }
                try catalog.drop(name, ifExists: ifExists, position: position)
                pendingChanges.append(.dropTable(name))
                if let dropped { transaction?.undo.append(.dropTable(dropped)) }
                for sequence in ownedSequences(of: name) { dropSequence(sequence) }
            }
            return .command("DROP TABLE")
        case .createView(let name, let columns, let query, let definition, let orReplace, let position):
            // Bind once now so that a view that cannot run is rejected at CREATE.
            var binder = makeBinder()
            let bound = try binder.bind(query)
            if let columns, columns.count > bound.columnNames.count {
                throw DatabaseError(.syntaxError, "CREATE VIEW specifies more column names than columns", position: position)
            }
            let names = (columns ?? []) + bound.columnNames.dropFirst(columns?.count ?? 0)
            var seen = Set<String>()
            for column in names where !seen.insert(column).inserted {
                throw DatabaseError(.duplicateColumn, "column \"\(column)\" specified more than once", position: position)
            }
            let replaced = catalog.view(name)
            try catalog.create(View(name: name, columns: columns, query: query, columnNames: Array(names), columnTypes: bound.columnTypes,
                                    definition: definition), replace: orReplace, position: position)
            if let replaced { transaction?.undo.append(.dropView(replaced)) }
            if let view = catalog.view(name) {
                pendingChanges.append(.createView(view))
                transaction?.undo.append(.createView(view))
            }
            return .command("CREATE VIEW")
        case .dropView(let names, let ifExists, let position):
            for name in names where catalog.view(name) != nil || !ifExists {
                let dropped = catalog.view(name)
                try catalog.dropView(name, ifExists: ifExists, position: position)
                pendingChanges.append(.dropView(name))
                if let dropped { transaction?.undo.append(.dropView(dropped)) }
            }
            return .command("DROP VIEW")
        case .select(let select) where !select.locking.isEmpty:
            return try runLockingSelect(select, parameters: parameters)
        case .select(let select):
            var binder = makeBinder()
            let bound = try binder.bind(select)
            let columns = zip(bound.columnNames, bound.columnTypes).map { QueryResult.Column(name: $0, type: $1) }
            return try queryResult(columns) { body throws(DatabaseError) in
                try executor.run(bound, parameters: parameters, policy: jitPolicy, memoryLimit: memoryLimit, body)
            }
        case .insertValues(let tableName, let columnNames, let rows, let returning, let position):
            return try runInsertValues(tableName, columnNames, rows, returning: returning, parameters: parameters, position: position)
        case .insertSelect(let tableName, let columnNames, let query, let returning, let position):
            return try runInsertSelect(tableName, columnNames, query, returning: returning, parameters: parameters, position: position)
        case .delete(let delete):
            return try runDelete(delete, parameters: parameters)
        case .update(let update):
            return try runUpdate(update, parameters: parameters)
        case .upsert(let upsert):
            return try runUpsert(upsert, parameters: parameters)
        case .truncate(let tables, let position):
            return try runTruncate(tables, position: position)
        case .savepoint(let name, _):
            return try savepoint(name)
        case .releaseSavepoint(let name, let position):
            return try releaseSavepoint(name, position: position)
        case .explain(let mode, let inner):
            return try explain(mode, inner, parameters: parameters)
        case .set("transaction_isolation", let value, let position):
            // SET TRANSACTION: the running block's level, before its first query.
            guard let level = try Database.isolation(value, position: position) else { return .command("SET") }
            if let transaction, transaction.explicit {
                if transaction.snapshot != nil && transaction.isolation != level {
                    throw DatabaseError(.activeTransaction, "SET TRANSACTION ISOLATION LEVEL must be called before any query", position: position)
                }
                transaction.isolation = level
            }
            return .command("SET")
        case .set(let name, let value, let position):
            if name == "default_transaction_isolation" { _ = try Database.isolation(value, position: position) }
            settings[name] = try Database.validatedSetting(name, value, position: position)
            // Database-wide, as ALTER SYSTEM would make them in PostgreSQL.
            if name == "max_wal_size", let bytes = settings[name].flatMap(MemoryBudget.parse) {
                store?.maxWALSize.store(bytes, ordering: .relaxed)
            }
            if name == "code_cache_size", let bytes = settings[name].flatMap(MemoryBudget.parse) {
                executor.persistentCode?.capacity.store(bytes, ordering: .relaxed)
            }
            return .command("SET")
        case .reset(let name):
            if name == "all" {
                settings = sessionDefaults
            } else {
                settings[name] = sessionDefaults[name]
            }
            return .command("RESET")
        case .show("all", _):
            return QueryResult(columns: [.init(name: "name", type: .text), .init(name: "setting", type: .text), .init(name: "description", type: .text)],
                               rows: settings.sorted { $0.key < $1.key }.map { [.text($0.key), .text($0.value), .text("")] },
                               commandTag: "SHOW", hasResultSet: true)
        case .show("transaction_isolation", _):
            let level = transaction?.isolation.rawValue ?? settings["default_transaction_isolation"] ?? "read committed"
            return QueryResult(columns: [.init(name: "transaction_isolation", type: .text)], rows: [[.text(level)]], commandTag: "SHOW", hasResultSet: true)
        case .show(let name, let position):
            guard let value = settings[name] else {
                throw DatabaseError(.undefinedObject, "unrecognized configuration parameter \"\(name)\"", position: position)
            }
            return QueryResult(columns: [.init(name: name, type: .text)], rows: [[.text(value)]], commandTag: "SHOW", hasResultSet: true)
        case .analyze(let names, let position):
            for name in names where catalog.table(name) == nil {
                throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
            }
            for name in names.isEmpty ? catalog.tableNames : names { try catalog.table(name)?.analyze() }
            return .command("ANALYZE")
        case .vacuum(let names, let analyze, let position):
            if let transaction, transaction.explicit {
                throw DatabaseError(SQLState("25001"), "VACUUM cannot run inside a transaction block", position: position)
            }
            for name in names where catalog.table(name) == nil {
                throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
            }
            let tables = names.isEmpty ? catalog.allTables : names.compactMap { catalog.table($0) }
            try vacuum(tables)
            if analyze { for table in tables { try table.analyze() } }
            return .command("VACUUM")
        case .checkpoint:
            // In memory there is nothing to write (as in DuckDB).
            try store?.checkpoint()
            return .command("CHECKPOINT")
        case .begin(let modes):
            return try begin(modes)
        case .commit:
            return try commitBlock()
        case .rollback:
            return try rollbackBlock()
        case .rollbackToSavepoint(let name, let position):
            return try rollbackToSavepoint(name, position: position)
        case .declareCursor(let name, let query, let hold, let position):
            return try declareCursor(name, query, hold: hold, parameters: parameters, position: position)
        case .fetch(let name, let direction, let move, let position):
            return try fetch(name, direction, move: move, position: position)
        case .closeCursor(let name, let position):
            return try closeCursor(name, position: position)
        case .copyFrom(let table, let columns, let file, let options, let position):
            return try copyFrom(table, columns: columns, file: file, options: options, position: position)
        case .copyTo(let query, let file, let options, _):
            return try copyTo(query, file: file, options: options, parameters: parameters)
        case .createRole, .alterRole, .dropRole:
            return try runRoleStatement(statement)
        case .prepare(let name, let types, let inner, _):
            return try runPrepare(name, types, inner, sql: currentSQL)
        case .execute(let name, let arguments, let position):
            return try runExecute(name, arguments, position: position)
        case .deallocate(let name, _):
            try deallocate(name)
            return .command(name == nil ? "DEALLOCATE ALL" : "DEALLOCATE")
        case .discard(let what):
            if what == "all" {
                preparedStatements.removeAll()
                cursors.removeAll()
                settings = Database.defaultSettings
            }
            return .command("DISCARD \(what == "temporary" ? "TEMP" : what.uppercased())")
        }
    }

    /// The type a declared column stores. Unconstrained NUMERIC keeps each value's scale, as
    /// PostgreSQL's (`SQLType.dynamicNumeric`). (Catalogs written before it hold such columns
    /// as `numeric(0,16)`: 16 fraction digits, a static scale; they stay so.)
    static func storageType(_ declared: SQLType) -> SQLType {
        if case .numeric(nil, 0) = declared { return .dynamicNumeric }
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

    /// The values of a one-row VALUES list whose expressions are constants once the parameters
    /// are in and constant operations are folded, each of its target column's type; nil when
    /// any is not (it then runs as a query, which also reports any error).
    static func constantRow(_ bound: BoundQuery, parameters: [Value], transactionTime: Int64, types: [SQLType]) -> [Value]? {
        guard case .project(.singleRow, let expressions, _) = bound.plan, bound.applies?.plans.isEmpty ?? true, expressions.count == types.count else { return nil }
        func substitute(_ e: BoundExpression) -> BoundExpression? {
            switch e.kind {
            case .constant: return e
            case .parameter(let n):
                guard n >= 1, n <= parameters.count, let value = try? QueryExecutor.parameterValue(parameters[n - 1], as: e.type) else { return nil }
                return .constant(value, type: e.type)
            case .call(BoundExpression.transactionTimeName, let arguments) where arguments.isEmpty:
                // CURRENT_TIMESTAMP, now(): the transaction's start, as the pipeline's slot holds it.
                return .constant(.timestamp(transactionTime), type: e.type)
            case .call(let name, let arguments):
                var substituted: [BoundExpression] = []
                for argument in arguments {
                    guard let s = substitute(argument) else { return nil }
                    substituted.append(s)
                }
                return BoundExpression(.call(name, substituted), type: e.type, nullable: e.nullable)
            default: return nil
            }
        }
        var row: [Value] = []
        row.reserveCapacity(expressions.count)
        for (expression, type) in zip(expressions, types) {
            guard let substituted = substitute(expression) else { return nil }
            let value: Value
            if case .constant(let constant) = substituted.kind {
                // A constant or a parameter (most single-row INSERTs): nothing to fold.
                value = constant
            } else {
                guard case .constant(let folded) = ConstantFolding.fold(substituted).kind else { return nil }
                value = folded
            }
            guard value.isNull || value.fits(type) else { return nil }
            row.append(value)
        }
        return row
    }

    /// Runs `query` with its columns converted to the target columns' types and appends the
    /// rows; returns the RETURNING list's rows.
    func insert(_ query: SelectStatement, into table: Table, targets: [Int], parameters: [Value], returning: Returning?) throws(DatabaseError) -> [[Value]] {
        var binder = makeBinder()
        var bound = try bindInsertQuery(query, into: table, targets: targets, binder: &binder)
        let allTargets = Database.add(try defaultValues(table.localOf?.table ?? table, besides: targets), to: &bound.plan, targets: targets)
        if let returning { bound.plan = returning.attach(to: bound.plan, table: table, targets: allTargets) }
        return try append(bound, into: table, targets: allTargets, parameters: parameters, returning: returning)
    }

    /// INSERT ... SELECT's query with its columns converted to the target columns' types.
    func bindInsertQuery(_ query: SelectStatement, into table: Table, targets: [Int], binder: inout Binder) throws(DatabaseError) -> BoundQuery {
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
        return bound
    }

    /// Runs a query whose columns have the target columns' types and appends its rows. With
    /// RETURNING, the plan ends in the whole new row then the list (`Returning.attach`); the
    /// list's values are returned.
    @discardableResult
    func append(_ bound: BoundQuery, into table: Table, targets: [Int], parameters: [Value], returning: Returning? = nil) throws(DatabaseError) -> [[Value]] {
        if returning == nil, let row = Database.constantRow(bound, parameters: parameters, transactionTime: executor.transactionTime,
                                                           types: targets.map { table.columns[$0].type }) {
            // The short path of single-row writes: values known at planning time go straight
            // into the table, with no pipeline to plan and run.
            var values = [Value](repeating: .null, count: table.columns.count)
            for (index, target) in targets.enumerated() { values[target] = row[index] }
            try table.append(row: values)
            return []
        }
        var returned: [[Value]] = []
        _ = try executor.run(bound, parameters: parameters, policy: jitPolicy, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
            let offsets = plan.outputLayout.offsets
            // With RETURNING the records hold the whole row (field i: column i).
            let fieldForColumn = returning == nil ? Dictionary(uniqueKeysWithValues: targets.enumerated().map { ($1, $0) })
                : Dictionary(uniqueKeysWithValues: table.columns.indices.map { ($0, $0) })
            try runtime.withOutputRecords { records, count throws(DatabaseError) in
                try table.appendRecords(records, count: count, fields: table.columns.indices.map { fieldForColumn[$0] }, offsets: offsets)
            }
            if returning != nil {
                returned = runtime.outputRows(layout: plan.outputLayout).map { Array($0[table.columns.count...]) }
            }
        }
        return returned
    }
}
