import KilnCore
#if canImport(Glibc)
import Glibc
#endif
import KilnSQL
import KilnStorage

/// A session's transaction: an explicit block (BEGIN ... COMMIT / ROLLBACK) or the implicit
/// one of a single statement. Rows it inserts inside a block wait in `local` tables until it
/// commits (then they are appended, in commit order, so a snapshot always sees a prefix of a
/// table); rows it deletes carry its marker until commit stamps them with the commit
/// timestamp; `undo` takes both back (ROLLBACK, ROLLBACK TO SAVEPOINT, a statement retried
/// after waiting for another writer).
final class Transaction {
    enum Isolation: String {
        case readCommitted = "read committed"
        case repeatableRead = "repeatable read"
    }

    enum Undo {
        /// A row of `table` this transaction marked deleted.
        case delete(Table, RowID)
        /// Rows appended to a local table (rows before: `count`).
        case localAppend(Table, count: Int)
        /// Rows appended straight to a table by a statement outside a block.
        case append(Table, count: Int)
        case createTable(Table)
        case dropTable(Table)
        case createView(View)
        case dropView(View)
        /// The table's constraints before an ALTER TABLE / CREATE INDEX / DROP INDEX.
        case constraints(Table, TableConstraints)
        case createSequence(SQLSequence)
        case dropSequence(SQLSequence)
        /// A row lock the transaction took (`wasShared`: it held a shared lock before, which an
        /// exclusive one replaced). Undone by ROLLBACK TO SAVEPOINT and a failed statement, as
        /// PostgreSQL's aborted subtransaction releases its locks.
        case rowLock(Table, RowID, wasShared: Bool)
    }

    struct Savepoint {
        var name: String
        var undo: Int
        var changes: Int
    }

    let id: UInt64
    let explicit: Bool
    /// When it started (CURRENT_TIMESTAMP), microseconds since 1970-01-01 UTC.
    let startTime: Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }()
    var isolation: Isolation
    /// REPEATABLE READ: the snapshot of the first statement, kept to the end.
    var snapshot: UInt64?
    var failed = false
    var undo: [Undo] = []
    /// Local tables by target table, in the order the transaction first inserted into them.
    var local: [(table: Table, rows: Table)] = []
    /// Catalog changes waiting for the commit's WAL record.
    var changes: [LoggedChange] = []
    var savepoints: [Savepoint] = []
    /// Whether the transaction changed the catalog (a checkpoint waits for it to end).
    var changedCatalog = false

    var marker: UInt64 { VersionMarker.transactionBit | id }

    init(id: UInt64, explicit: Bool, isolation: Isolation) {
        self.id = id
        self.explicit = explicit
        self.isolation = isolation
    }

    /// The table holding this transaction's uncommitted rows of `table`.
    func localRows(of table: Table) -> Table {
        if let existing = local.first(where: { $0.table === table }) { return existing.rows }
        let rows = Table(localRowsOf: table, transaction: id)
        local.append((table, rows))
        return rows
    }

    var localMap: [ObjectIdentifier: Table] {
        Dictionary(uniqueKeysWithValues: local.map { (ObjectIdentifier($0.table), $0.rows) })
    }

    /// Entries of `undo` that are row locks (a transaction that only locked has no writes).
    var rowLockUndos = 0

    var hasWrites: Bool { undo.count > rowLockUndos || !changes.isEmpty }
}

/// Raised inside a statement that met a row another running transaction deleted: the
/// statement's work is undone, it waits for that transaction outside the statement lock,
/// then runs again (READ COMMITTED) or fails with 40001 if the other committed (REPEATABLE READ).
struct WriteConflict: Error {
    let other: UInt64
    /// The other holds a row lock only: once it ends, the statement runs again (REPEATABLE
    /// READ too; a change it made shows in the row's marker then).
    var lock = false
}

extension Database {
    /// The session's transaction status as the protocol reports it.
    public enum TransactionStatus: Sendable { case idle, inBlock, failed }

    public var transactionStatus: TransactionStatus {
        guard let transaction, transaction.explicit else { return .idle }
        return transaction.failed ? .failed : .inBlock
    }

    var transactions: TransactionManager { catalog.transactions }

    /// Fails the running block after an error outside a statement (the server's protocol
    /// errors): it refuses statements until ROLLBACK.
    public func failTransactionBlock() {
        guard let transaction, transaction.explicit, !transaction.failed else { return }
        transaction.failed = true
        // As in PostgreSQL, the failed part (since the last savepoint) is undone at once, so
        // that sessions waiting for its rows go on before this one's ROLLBACK.
        // On a thread that must not wait, with the lock busy, the undo is left to ROLLBACK.
        let mark = transaction.savepoints.last?.undo ?? 0
        guard transaction.undo.count > mark else { return }
        do throws(DatabaseError) {
            try statementLock.withWriteLock(waiting: !mustNotWait) { () throws(DatabaseError) in
                undo(transaction, to: mark)
                transaction.changes.removeSubrange((transaction.savepoints.last?.changes ?? 0)...)
            }
        } catch {
            return
        }
        transactions.released(transaction.id)
    }

    /// Rolls back the running transaction, if any (a session that closes).
    func rollbackOnClose() {
        guard let transaction else { return }
        try? statementLock.withWriteLock { () throws(DatabaseError) in rollback(transaction) }
    }

    /// The isolation new transactions get (`default_transaction_isolation`).
    var defaultIsolation: Transaction.Isolation {
        settings["default_transaction_isolation"] == "repeatable read" ? .repeatableRead : .readCommitted
    }

    /// The running transaction, or a new implicit one for a single statement.
    func currentTransaction() -> Transaction {
        if let transaction { return transaction }
        let started = Transaction(id: transactions.begin(), explicit: false, isolation: defaultIsolation)
        statementLock.register(started)
        transaction = started
        return started
    }

    /// The snapshot of the statement about to run in `transaction`: READ COMMITTED takes a new
    /// one per statement, REPEATABLE READ keeps its first.
    func statementSnapshot(_ transaction: Transaction) -> Snapshot {
        let timestamp: UInt64
        if transaction.isolation == .repeatableRead, let kept = transaction.snapshot {
            timestamp = kept
        } else {
            timestamp = transactions.snapshot(for: transaction.id)
            transactions.hold(transaction.id, snapshot: timestamp)
            transaction.snapshot = timestamp
        }
        executor.transactionTime = transaction.startTime
        return Snapshot(timestamp: timestamp, marker: transaction.marker, local: transaction.localMap)
    }

    /// After a statement of a READ COMMITTED block: its snapshot is not needed any more (the
    /// next statement takes a new one), so garbage collection need not keep versions for it.
    func releaseStatementSnapshot(_ transaction: Transaction) {
        guard transaction.isolation == .readCommitted, transaction.explicit, self.transaction === transaction else { return }
        transactions.release(snapshotOf: transaction.id)
    }

    func begin(_ modes: TransactionModes) throws(DatabaseError) -> QueryResult {
        if let transaction, transaction.explicit {
            // PostgreSQL warns and goes on.
            return .command("BEGIN")
        }
        let isolation = try Database.isolation(modes.isolation, position: modes.isolationPosition) ?? defaultIsolation
        if let implicit = transaction { transactions.end(implicit.id, committed: false) }
        let started = Transaction(id: transactions.begin(), explicit: true, isolation: isolation)
        statementLock.register(started)
        transaction = started
        return .command("BEGIN")
    }

    /// PostgreSQL's isolation level names; SERIALIZABLE is refused (Kiln's snapshot isolation
    /// is not serializable, and must not pass for it).
    static func isolation(_ name: String?, position: Int?) throws(DatabaseError) -> Transaction.Isolation? {
        switch name?.lowercased() {
        case nil, "": return nil
        case "read committed", "read uncommitted": return .readCommitted
        case "repeatable read": return .repeatableRead
        case "serializable":
            throw DatabaseError(.featureNotSupported, "SERIALIZABLE isolation is not supported", position: position,
                                detail: "Kiln runs transactions under snapshot isolation, which allows write skew; it does not run them as SERIALIZABLE.",
                                hint: "Use REPEATABLE READ (snapshot isolation) or READ COMMITTED.")
        default:
            throw DatabaseError(.invalidParameterValue, "invalid value for parameter \"transaction_isolation\": \"\(name ?? "")\"", position: position)
        }
    }

    /// COMMIT of an explicit block (a failed block rolls back, as in PostgreSQL).
    func commitBlock() throws(DatabaseError) -> QueryResult {
        guard let transaction, transaction.explicit else { return .command("COMMIT") }
        if transaction.failed {
            try statementLock.withWriteLock(waiting: !mustNotWait) { () throws(DatabaseError) in rollback(transaction) }
            return .command("ROLLBACK")
        }
        let position = try statementLock.withWriteLock(waiting: !mustNotWait) { () throws(DatabaseError) in try commit(transaction) }
        try awaitDurable(position)
        return .command("COMMIT")
    }

    func rollbackBlock() throws(DatabaseError) -> QueryResult {
        if let transaction {
            try statementLock.withWriteLock(waiting: !mustNotWait) { () throws(DatabaseError) in rollback(transaction) }
        }
        return .command("ROLLBACK")
    }

    /// Commits `transaction` (the caller holds the statement lock exclusively): its local rows
    /// are appended to their tables, its deletes stamped with the commit timestamp, and the
    /// whole goes to the WAL as one commit. Returns the WAL position to wait for.
    func commit(_ transaction: Transaction) throws(DatabaseError) -> Int {
        self.transaction = nil
        releaseRowLocks(transaction)
        defer { cursors = cursors.filter { $0.value.holdable } }
        guard transaction.hasWrites || !pendingChanges.isEmpty else {
            transactions.end(transaction.id, committed: true)
            return 0
        }
        let timestamp = transactions.nextCommitTimestamp()
        // Tables the block created become everyone's.
        for case .createTable(let table) in transaction.undo { table.setCreator(0) }
        var logged = transaction.changes + pendingChanges
        var appended: [(Table, Int)] = []
        var deleted: [ObjectIdentifier: (Table, [RowID])] = [:]
        var deleteOrder: [ObjectIdentifier] = []
        do throws(DatabaseError) {
            for (table, rows) in transaction.local where catalog.table(table.name) === table {
                let before = table.rowCount
                try table.append(contentsOf: rows)
                if table.rowCount > before {
                    appended.append((table, before))
                    logged.append(.insert(table, rows: before..<table.rowCount))
                }
            }
        } catch {
            for (table, before) in appended { table.truncate(to: before) }
            rollback(transaction)
            throw error
        }
        for case .delete(let table, let row) in transaction.undo {
            table.setMarker(row, timestamp)
            let key = ObjectIdentifier(table)
            if deleted[key] == nil {
                deleted[key] = (table, [])
                deleteOrder.append(key)
            }
            deleted[key]?.1.append(row)
        }
        // Deletes name rows that existed before this commit's inserts: log them first.
        let deletes = deleteOrder.compactMap { deleted[$0] }.filter { catalog.table($0.0.name) === $0.0 }.map { LoggedChange.delete($0.0, rows: $0.1) }
        logged = logged.filter { if case .insert = $0 { return false } else { return true } } + deletes
            + logged.filter { if case .insert = $0 { return true } else { return false } }
        var position = 0
        if let store {
            do throws(DatabaseError) { position = try store.log(logged) } catch {
                for (table, before) in appended { table.truncate(to: before) }
                undoUnlogged(pendingChanges)
                for case .delete(let table, let row) in transaction.undo { table.setMarker(row, transaction.marker) }
                rollback(transaction)
                throw error
            }
        }
        let oldest = transactions.oldestSnapshot
        var firstRow: [ObjectIdentifier: (Table, Int)] = [:]
        for change in logged {
            if case .insert(let table, let rows) = change {
                let key = ObjectIdentifier(table)
                firstRow[key] = (table, min(firstRow[key]?.1 ?? rows.lowerBound, rows.lowerBound))
            }
        }
        for (table, before) in firstRow.values { table.noteCommit(timestamp, rowsBefore: before, oldestSnapshot: oldest) }
        if !deleted.isEmpty {
            position = collectGarbage(in: deleted.values.map(\.0), transaction: transaction, position: position)
        }
        transactions.end(transaction.id, committed: true)
        return position
    }

    /// Garbage collection after a commit that deleted rows, when no other transaction runs
    /// (none can need an old version): tables that are a quarter or more deleted versions are
    /// compacted; a database directory checkpoints at once, which makes the new layout the
    /// durable one. Returns the WAL position the commit waits for (0 once checkpointed).
    private func collectGarbage(in tables: [Table], transaction: Transaction, position: Int) -> Int {
        // With other transactions running, only what no snapshot of theirs can see goes, and
        // only from tables none of them has marked rows of (`Table.compactable`).
        let others = transactions.othersRunning(besides: transaction.id)
        let oldest = transactions.oldestSnapshot(besides: transaction.id)
        let compacting = tables.filter { catalog.table($0.name) === $0 && (others ? $0.compactionPays(oldestSnapshot: oldest) : $0.needsCompaction) }
        guard !compacting.isEmpty else { return position }
        if let store {
            // The checkpoint must be able to run (no other block's uncommitted schema change).
            guard !transactions.catalogChangesPending(besides: transaction.id), store.failure == nil else { return position }
        }
        do throws(DatabaseError) {
            for table in compacting {
                let moved = try table.compact(keepingDeletesAfter: others ? oldest : nil)
                // Rows other running transactions marked moved: their undo logs follow.
                guard !moved.isEmpty else { continue }
                for other in statementLock.transactions(besides: transaction.id) {
                    for index in other.undo.indices {
                        if case .delete(let marked, let row) = other.undo[index], marked === table, let new = moved[row.value] {
                            other.undo[index] = .delete(table, RowID(new))
                        }
                    }
                }
            }
            try store?.checkpoint(committing: transaction.id)
            return store == nil ? position : 0
        } catch {
            // The memory's row layout no longer matches what the WAL would replay onto.
            store?.stopWrites(error)
            return position
        }
    }

    /// VACUUM: compacts the tables that have deleted versions, when no other transaction runs
    /// (one could still need them; PostgreSQL's VACUUM likewise keeps what a snapshot sees). A
    /// database directory checkpoints, which makes the new layout durable.
    func vacuum(_ tables: [Table]) throws(DatabaseError) {
        guard let transaction, !transactions.othersRunning(besides: transaction.id) else { return }
        let compacting = tables.filter { $0.deletedRows > 0 && !$0.hasRowLocks }
        guard !compacting.isEmpty else { return }
        if store != nil, transactions.catalogChangesPending(besides: transaction.id) { return }
        do throws(DatabaseError) {
            for table in compacting { try table.compact() }
            try store?.checkpoint(committing: transaction.id)
        } catch {
            store?.stopWrites(error)
            throw error
        }
    }

    /// Takes back everything `transaction` did and ends it.
    func rollback(_ transaction: Transaction) {
        undo(transaction, to: 0)  // releases the row locks too
        transaction.local = []
        if self.transaction === transaction { self.transaction = nil }
        cursors = cursors.filter { $0.value.holdable }
        transactions.end(transaction.id, committed: false)
    }

    /// Undoes `transaction`'s work after its first `mark` undo entries.
    func undo(_ transaction: Transaction, to mark: Int) {
        while transaction.undo.count > mark {
            switch transaction.undo.removeLast() {
            case .delete(let table, let row):
                if table.marker(row) == transaction.marker { table.setMarker(row, 0) }
            case .localAppend(let rows, let count), .append(let rows, let count):
                rows.truncate(to: count)
            case .createTable(let table):
                catalog.undoCreate(table)
            case .dropTable(let table):
                catalog.undoDrop(table)
            case .createView(let view):
                catalog.undoCreate(view)
            case .dropView(let view):
                catalog.undoDrop(view)
            case .constraints(let table, let old):
                table.setConstraints(old)
                catalog.bumpVersion()
            case .createSequence(let sequence):
                catalog.remove(sequence: sequence)
            case .dropSequence(let sequence):
                catalog.restore(sequence)
            case .rowLock(let table, let row, let wasShared):
                table.unlock(row, by: transaction.id, keepingShared: wasShared)
                transaction.rowLockUndos -= 1
            }
        }
    }

    /// The running block, for a statement that needs one (`statement` names it in the error).
    func block(for statement: String) throws(DatabaseError) -> Transaction {
        guard let transaction, transaction.explicit else {
            throw DatabaseError(.noActiveTransaction, "\(statement) can only be used in transaction blocks")
        }
        return transaction
    }

    /// The latest savepoint called `name` in `transaction`.
    func savepointIndex(_ name: String, in transaction: Transaction, position: Int) throws(DatabaseError) -> Int {
        guard let index = transaction.savepoints.lastIndex(where: { $0.name == name }) else {
            throw DatabaseError(.invalidSavepoint, "savepoint \"\(name)\" does not exist", position: position)
        }
        return index
    }

    func savepoint(_ name: String) throws(DatabaseError) -> QueryResult {
        let transaction = try block(for: "SAVEPOINT")
        transaction.savepoints.append(.init(name: name, undo: transaction.undo.count, changes: transaction.changes.count))
        return .command("SAVEPOINT")
    }

    func releaseSavepoint(_ name: String, position: Int) throws(DatabaseError) -> QueryResult {
        let transaction = try block(for: "RELEASE SAVEPOINT")
        transaction.savepoints.removeSubrange(try savepointIndex(name, in: transaction, position: position)...)
        return .command("RELEASE")
    }

    func rollbackToSavepoint(_ name: String, position: Int) throws(DatabaseError) -> QueryResult {
        let transaction = try block(for: "ROLLBACK TO SAVEPOINT")
        let index = try savepointIndex(name, in: transaction, position: position)
        let savepoint = transaction.savepoints[index]
        try statementLock.withWriteLock { () throws(DatabaseError) in
            undo(transaction, to: savepoint.undo)
            transaction.changes.removeSubrange(savepoint.changes...)
        }
        // The savepoint stays (it can be rolled back to again); later ones go.
        transaction.savepoints.removeSubrange((index + 1)...)
        transaction.failed = false
        transactions.released(transaction.id)
        return .command("ROLLBACK")
    }

    /// Marks row `id` of `table` deleted by `transaction` (the statement lock is held
    /// exclusively). Returns false when this statement deleted it already (an UPDATE ... FROM
    /// whose join matched it twice). Throws `WriteConflict` when another running transaction
    /// deleted or updated it, and 40001 when one that committed after this REPEATABLE READ
    /// transaction's snapshot did.
    func markDeleted(_ id: Int64, of table: Table, by transaction: Transaction, statementMark: Int) throws -> Bool {
        let row = RowID(id)
        if id & RowID.localBit != 0 {
            let rows = transaction.localRows(of: table)
            guard rows.locate(row) != nil else { throw DatabaseError.internalError("row \(id) of the transaction's own rows is missing") }
            if rows.marker(row) != 0 { return false }
            rows.setMarker(row, transaction.marker)
            transaction.undo.append(.delete(rows, row))
            return true
        }
        let marker = table.marker(row)
        if marker == transaction.marker { return false }
        if marker & VersionMarker.transactionBit != 0 {
            throw WriteConflict(other: marker & ~VersionMarker.transactionBit)
        }
        if let holder = table.lockHolder(row, besides: transaction.id, exclusive: true) {
            throw WriteConflict(other: holder, lock: true)
        }
        if marker != 0 {
            // Committed after this snapshot (a row the snapshot sees is not deleted for it).
            throw DatabaseError(.serializationFailure, "could not serialize access due to concurrent update")
        }
        table.setMarker(row, transaction.marker)
        transaction.undo.append(.delete(table, row))
        return true
    }
}
