import KilnCore
import KilnSQL
import KilnStorage
import KilnPlanner
import KilnRuntime
import KilnAuth
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Statements of many sessions over one catalog: queries share a read lock, statements that
/// change tables or the catalog take it exclusively.
final class StatementLock: @unchecked Sendable {
    // `@unchecked Sendable`: a pthread rwlock is made for use across threads.
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    /// The sessions' transactions (weakly), so that a compaction under the exclusive lock can
    /// renumber the rows their undo logs name. Changed under `registry`'s own lock.
    private let registry = Monitor()
    private var running: [UInt64: Weak] = [:]
    private struct Weak { weak var transaction: Transaction? }

    /// Past this many entries, `register` drops those of ended transactions (then it waits
    /// until twice as many: amortised, not a copy of the table per statement).
    private var pruneAt = 32

    func register(_ transaction: Transaction) {
        registry.withLock {
            running[transaction.id] = Weak(transaction: transaction)
            if running.count > pruneAt {
                running = running.filter { $0.value.transaction != nil }
                pruneAt = max(32, 2 * running.count)
            }
        }
    }

    func transactions(besides id: UInt64) -> [Transaction] {
        registry.withLock { running.values.compactMap(\.transaction).filter { $0.id != id } }
    }
    init() { pthread_rwlock_init(lock, nil) }
    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }
    /// - Parameter waiting: false: when another statement holds the lock exclusively, throws
    ///   `DatabaseError.wouldWait` at once instead of waiting (`Database.mustNotWait`).
    func withReadLock<R>(waiting: Bool = true, _ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        if waiting {
            pthread_rwlock_rdlock(lock)
        } else if !StatementLock.briefly({ pthread_rwlock_tryrdlock(lock) }) {
            throw DatabaseError.wouldWait
        }
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
    /// - Parameter waiting: false: when another statement holds the lock, throws
    ///   `DatabaseError.wouldWait` at once instead of waiting.
    func withWriteLock<R>(waiting: Bool = true, _ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        if waiting {
            pthread_rwlock_wrlock(lock)
        } else if !StatementLock.briefly({ pthread_rwlock_trywrlock(lock) }) {
            throw DatabaseError.wouldWait
        }
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Tries `attempt` (a pthread try-lock) for up to `briefWait`, yielding between tries: the
    /// holder is most often another brief statement, done in microseconds, and handing the
    /// statement to another thread would cost more than that.
    private static func briefly(_ attempt: () -> Int32) -> Bool {
        if attempt() == 0 { return true }
        let deadline = ContinuousClock.now.advanced(by: briefWait)
        repeat {
            sched_yield()
            if attempt() == 0 { return true }
        } while ContinuousClock.now < deadline
        return false
    }

    /// How long a thread that must not wait tries for the lock before it gives up.
    static let briefWait = Duration.microseconds(50)
}

/// Lets another thread stop the statement a session runs (a client's cancel request, a
/// statement timeout). Compiled and interpreted pipelines check the context's error flag
/// between batches, so a cancelled query stops within one morsel.
public final class QueryCancellation: Sendable {
    public enum Reason: Int, Sendable {
        case userRequest = 1
        case statementTimeout = 2
    }

    private let requested = Atomic<Int>(0)
    /// The error flag of the running query's context, while one runs.
    private let errorFlag = Mutex<FlagPointer?>(nil)

    struct FlagPointer: @unchecked Sendable {
        // `@unchecked Sendable`: the pointer is only written through while `errorFlag` is held,
        // and the runtime unregisters it (under the same lock) before freeing it.
        var pointer: UnsafeMutablePointer<Int32>
    }

    init() {}

    /// The error flags of parallel helpers' contexts running the statement's pipeline (behind a
    /// pthread monitor: ThreadSanitizer sees its ordering).
    private let workerMonitor = Monitor()
    nonisolated(unsafe) private var workerFlags: [FlagPointer] = []

    /// Stops the running statement, if any; its error is 57014.
    public func cancel(_ reason: Reason = .userRequest) {
        requested.store(reason.rawValue, ordering: .sequentiallyConsistent)
        errorFlag.withLock { flag in
            // Atomic: the running pipeline reads the flag with atomic loads between batches.
            if let flag { ContextFlags.set(flag.pointer) }
        }
        workerMonitor.withLock {
            for flag in workerFlags { ContextFlags.set(flag.pointer) }
        }
    }

    /// A parallel helper's context joins the statement: a cancel reaches it too (at once, when
    /// one came already).
    func attachWorker(_ flag: UnsafeMutablePointer<Int32>) {
        workerMonitor.withLock { workerFlags.append(FlagPointer(pointer: flag)) }
        if requested.load(ordering: .sequentiallyConsistent) != 0 { ContextFlags.set(flag) }
    }

    /// The helper is done (before its context is freed).
    func detachWorker(_ flag: UnsafeMutablePointer<Int32>) {
        workerMonitor.withLock { workerFlags.removeAll { $0.pointer == flag } }
    }

    /// Forgets a cancel that arrived between statements (PostgreSQL ignores those too).
    func reset() { requested.store(0, ordering: .sequentiallyConsistent) }

    func attach(_ flag: UnsafeMutablePointer<Int32>?) {
        errorFlag.withLock { $0 = flag.map(FlagPointer.init) }
        if flag != nil, requested.load(ordering: .sequentiallyConsistent) != 0 { cancel(Reason(rawValue: requested.load(ordering: .sequentiallyConsistent)) ?? .userRequest) }
    }

    /// The error for a cancelled statement, or nil when it was not cancelled.
    var error: DatabaseError? {
        switch Reason(rawValue: requested.load(ordering: .sequentiallyConsistent)) {
        case .userRequest: return DatabaseError(SQLState("57014"), "canceling statement due to user request")
        case .statementTimeout: return DatabaseError(SQLState("57014"), "canceling statement due to statement timeout")
        case nil: return nil
        }
    }
}

extension Database {
    /// A binder for this session: its catalog, parameter types, user and settings.
    func makeBinder(parameterTypes: [SQLType]? = nil) -> Binder {
        var binder = Binder(catalog: catalog, parameterTypes: parameterTypes ?? statementParameterTypes)
        binder.session = SessionInfo(user: settings["session_authorization"] ?? Role.bootstrapName, database: databaseName, settings: settings,
                                     processID: processID, store: store)
        return binder
    }

    /// Whether `statement` changes tables or the catalog (and so runs alone).
    func writes(_ statement: Statement) -> Bool {
        switch statement {
        case .execute(let name, _, _):
            // EXECUTE runs its prepared statement: an INSERT writes.
            return preparedStatements[name].map { writes($0.statement) } ?? false
        case .select(let select):
            // SELECT ... FOR UPDATE locks rows: it runs as a write (in the conflict loop).
            return !select.locking.isEmpty
        case .explain, .set, .reset, .show, .begin, .commit, .rollback, .copyTo, .deallocate, .discard, .prepare,
             .declareCursor, .fetch, .closeCursor, .savepoint, .releaseSavepoint, .rollbackToSavepoint:
            return false
        case .createTable, .createTableAs, .dropTable, .createView, .dropView, .insertValues, .insertSelect, .copyFrom, .analyze, .alterTable, .createIndex, .dropIndex, .vacuum, .createSequence, .dropSequence, .upsert,
             .createRole, .alterRole, .dropRole, .checkpoint, .delete, .update, .truncate:
            return true
        }
    }

    /// Adds a login role; `password` is a `SCRAM-SHA-256$...` verifier or a password to derive one from.
    /// A role that exists already (a database directory keeps the roles of earlier runs) gets
    /// the password and LOGIN.
    public func createUser(_ name: String, password: String) throws(DatabaseError) {
        let role = Role(name: name, passwordVerifier: Database.verifier(password), canLogin: true)
        var position = 0
        try statementLock.withWriteLock { () throws(DatabaseError) in
            if catalog.role(name) != nil {
                try catalog.alterRole(name, position: nil) { existing in
                    existing.passwordVerifier = role.passwordVerifier
                    existing.canLogin = true
                }
            } else {
                try catalog.create(role, position: nil)
            }
            if let store, let created = catalog.role(name) { position = try store.log([.putRole(created)]) }
        }
        try store?.waitDurable(position, synchronous: true)
    }

    /// Takes back what a statement did in memory when its commit could not be logged: its
    /// appended rows go (catalog changes stay in memory until the database is reopened).
    func undoUnlogged(_ changes: [LoggedChange]) {
        for change in changes.reversed() {
            if case .insert(let table, let rows) = change, table.rowCount == rows.upperBound { table.truncate(to: rows.lowerBound) }
        }
    }

    /// What the catalog keeps of a password: PostgreSQL's SCRAM-SHA-256 verifier form.
    static func verifier(_ password: String) -> String {
        (SCRAMVerifier(parsing: password) ?? SCRAMVerifier(password: password)).description
    }

    func runRoleStatement(_ statement: Statement) throws(DatabaseError) -> QueryResult {
        func verifier(_ password: String??) -> String?? {
            guard let password else { return nil }
            guard let text = password else { return .some(nil) }
            return .some(Database.verifier(text))
        }
        switch statement {
        case .createRole(let name, let options, let position):
            try catalog.create(Role(name: name, passwordVerifier: verifier(options.password) ?? nil, canLogin: options.login ?? false,
                                    isSuperuser: options.superuser ?? false), position: position)
            if let role = catalog.role(name) { pendingChanges.append(.putRole(role)) }
            return .command("CREATE ROLE")
        case .alterRole(let name, let options, let position):
            let password = verifier(options.password)
            try catalog.alterRole(name, position: position) { role in
                if let password { role.passwordVerifier = password }
                if let login = options.login { role.canLogin = login }
                if let superuser = options.superuser { role.isSuperuser = superuser }
            }
            if let role = catalog.role(name) { pendingChanges.append(.putRole(role)) }
            return .command("ALTER ROLE")
        case .dropRole(let names, let ifExists, let position):
            for name in names where catalog.role(name) != nil || !ifExists {
                try catalog.dropRole(name, ifExists: ifExists, position: position)
                pendingChanges.append(.dropRole(name))
            }
            return .command("DROP ROLE")
        default:
            throw DatabaseError.internalError("not a role statement")
        }
    }

    // MARK: - Prepared statements (SQL PREPARE and the protocol's named statements share them)

    /// The prepared statement called `name`, if any.
    public func preparedStatement(named name: String) -> PreparedStatement? { preparedStatements[name] }

    /// Keeps `statement` under `name` until DEALLOCATE; 42P05 when the name is taken.
    public func addPreparedStatement(_ statement: PreparedStatement, named name: String) throws(DatabaseError) {
        guard preparedStatements[name] == nil else {
            throw DatabaseError(SQLState("42P05"), "prepared statement \"\(name)\" already exists")
        }
        preparedStatements[name] = statement
    }

    /// Forgets the prepared statement `name` (all when nil); 26000 when there is none.
    public func deallocate(_ name: String?) throws(DatabaseError) {
        guard let name else {
            preparedStatements.removeAll()
            return
        }
        guard preparedStatements.removeValue(forKey: name) != nil else {
            throw DatabaseError(SQLState("26000"), "prepared statement \"\(name)\" does not exist")
        }
    }

    func runPrepare(_ name: String, _ types: [TypeName], _ statement: Statement, sql: String) throws(DatabaseError) -> QueryResult {
        let prepared = PreparedStatement(sql: sql, statement: statement, declaredParameterTypes: types.map { Database.storageType($0.type) }, kind: try kind(of: statement))
        _ = try describe(prepared)
        try addPreparedStatement(prepared, named: name)
        return .command("PREPARE")
    }

    func runExecute(_ name: String, _ arguments: [Expression], position: Int) throws(DatabaseError) -> QueryResult {
        guard let prepared = preparedStatements[name] else {
            throw DatabaseError(SQLState("26000"), "prepared statement \"\(name)\" does not exist", position: position)
        }
        let types = try describe(prepared).parameterTypes
        guard arguments.count == types.count else {
            throw DatabaseError(.syntaxError, "wrong number of parameters for prepared statement \"\(name)\"", position: position,
                                detail: "Expected \(types.count) parameters but got \(arguments.count).")
        }
        var values: [Value] = []
        if !arguments.isEmpty {
            // The arguments are expressions: evaluate them as one row converted to the parameter types.
            var binder = makeBinder(parameterTypes: [])
            let columns = types.enumerated().map { ColumnInfo(name: "$\($0.offset + 1)", type: $0.element, notNull: false) }
            let bound = try binder.bindValuesRow(arguments, columns: columns)
            let (rows, _) = try executor.run(bound, parameters: [], policy: .interpreted, memoryLimit: memoryLimit) { runtime, plan throws(DatabaseError) in
                runtime.outputRows(layout: plan.outputLayout)
            }
            values = rows.first ?? []
        }
        statementParameterTypes = types
        defer { statementParameterTypes = [] }
        if case .select(let select) = prepared.statement, select.locking.isEmpty { return try runCachedPlan(prepared, select, parameters: values) }
        return try perform(prepared.statement, parameters: values)
    }
}
