import KilnCore

/// Who holds a row's lock: one transaction exclusively (FOR UPDATE, FOR NO KEY UPDATE), or
/// any number sharing it (FOR SHARE, FOR KEY SHARE).
struct RowLock {
    var exclusive: UInt64?
    var shared: [UInt64] = []
}

/// Row locks: a `SELECT ... FOR UPDATE | SHARE` locks the rows it returns until its
/// transaction ends; an UPDATE or DELETE of a row another transaction locked waits for it,
/// as it waits for one that deleted the row. Locks live in memory only (a crash ends every
/// transaction that held one). The caller holds the exclusive statement lock.
extension Table {
    /// The running transaction other than `transaction` whose lock on `row` conflicts with
    /// taking it (`exclusive`: for FOR UPDATE, UPDATE and DELETE), or nil.
    public func lockHolder(_ row: RowID, besides transaction: UInt64, exclusive: Bool) -> UInt64? {
        guard let lock = rowLocks[row.value] else { return nil }
        if let owner = lock.exclusive, owner != transaction { return owner }
        if exclusive, let other = lock.shared.first(where: { $0 != transaction }) { return other }
        return nil
    }

    /// What a transaction held on a row before it locked it.
    public enum PriorLock { case none, shared, exclusive }

    /// Locks `row` for `transaction` (after `lockHolder` found no conflict); returns what the
    /// transaction held before.
    @discardableResult
    public func lock(_ row: RowID, by transaction: UInt64, exclusive: Bool) -> PriorLock {
        var lock = rowLocks[row.value] ?? RowLock()
        let prior: PriorLock = lock.exclusive == transaction ? .exclusive : lock.shared.contains(transaction) ? .shared : .none
        if exclusive {
            lock.exclusive = transaction
            lock.shared.removeAll { $0 == transaction }
        } else if prior == .none {
            lock.shared.append(transaction)
        }
        rowLocks[row.value] = lock
        return prior
    }

    /// Takes back `transaction`'s lock on `row` (to a shared one with `keepingShared`).
    public func unlock(_ row: RowID, by transaction: UInt64, keepingShared: Bool) {
        guard var lock = rowLocks[row.value] else { return }
        if lock.exclusive == transaction { lock.exclusive = nil }
        lock.shared.removeAll { $0 == transaction }
        if keepingShared { lock.shared.append(transaction) }
        rowLocks[row.value] = lock.exclusive == nil && lock.shared.isEmpty ? nil : lock
    }

    /// Whether any transaction holds a lock on a row of the table.
    public var hasRowLocks: Bool { !rowLocks.isEmpty }
}
