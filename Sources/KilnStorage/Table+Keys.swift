import KilnCore

/// What `Table.indexAppended` found.
public enum KeyCheck {
    case ok
    /// 23505.
    case violation(DatabaseError)
    /// A running transaction (this id) holds a row with the same key (its uncommitted insert,
    /// or its uncommitted delete of the row): the writer waits for it, then tries again.
    case wait(UInt64)
}

/// Keeping the table's indexes in step with its rows, and the unique check of new rows.
extension Table {
    /// Calls `body` with each row (segment index, segment, row) from global row `start` on.
    func forEachRow(from start: Int, _ body: (Int, Segment, Int) -> Void) {
        var base = 0
        for (index, segment) in segments.enumerated() {
            defer { base += segment.count }
            guard base + segment.count > start else { continue }
            for row in max(0, start - base)..<segment.count { body(index, segment, row) }
        }
    }

    /// Lists rows from `start` on in `index` (rows of the table itself).
    func addToIndex(_ index: TableIndex, from start: Int) {
        forEachRow(from: start) { segmentIndex, _, row in index.add(self, RowID(segment: segmentIndex, row: row)) }
    }

    /// Removes rows from `start` on from the indexes (before a truncation): this table's own,
    /// or, for a local table, its rows pending in its table's indexes.
    func forgetRows(from start: Int) {
        if let (table, _) = localOf {
            guard !table.indexes.isEmpty else { return }
            forEachRow(from: start) { segmentIndex, _, row in
                for index in table.indexes { index.removePending(self, RowID(segment: segmentIndex, row: row)) }
            }
            return
        }
        for index in indexes where index.isBuilt {
            forEachRow(from: start) { segmentIndex, _, row in index.remove(self, RowID(segment: segmentIndex, row: row)) }
        }
    }

    /// After a commit appended `local`'s rows from row `before` on: they are listed as rows of
    /// the table now, no longer as pending.
    func moveIndexEntries(of local: Table, from before: Int) {
        guard !indexes.isEmpty else { return }
        local.forEachRow(from: 0) { segmentIndex, _, row in
            for index in indexes { index.removePending(local, RowID(segment: segmentIndex, row: row)) }
        }
        for index in indexes where index.isBuilt { addToIndex(index, from: before) }
    }

    /// Builds the indexes that are not built yet (reads the key columns).
    public func buildIndexes() throws(DatabaseError) {
        for index in indexes { try index.build(self) }
    }

    /// Lists the rows `rows` got from row `before` on (`rows` is this table, or a local table of
    /// it) in the indexes, checking each unique key against the rows listed before: a live
    /// row, or a row of the same transaction, with the same key is a violation; a row another
    /// running transaction inserted or deleted makes the writer wait. `transaction`: the
    /// writer's id. On `.violation` or `.wait`, the caller truncates `rows` to `before`
    /// (which takes the entries added here back). Versions whose delete committed before
    /// `oldestSnapshot` (no snapshot sees them) leave the index on the way.
    public func indexAppended(_ rows: Table, from before: Int, transaction: UInt64, oldestSnapshot: UInt64 = 0) throws(DatabaseError) -> KeyCheck {
        guard !indexes.isEmpty else { return .ok }
        try buildIndexes()
        let marker = VersionMarker.transactionBit | transaction
        let local = rows !== self
        var result = KeyCheck.ok
        rows.forEachRow(from: before) { segmentIndex, segment, row in
            guard case .ok = result else { return }
            let id = RowID(segment: segmentIndex, row: row)
            for index in indexes {
                if index.key.isUnique, let (matches, pending) = index.matches(self, segment, row) {
                    for match in matches {
                        let other = self.marker(match)
                        if other != 0, other & VersionMarker.transactionBit == 0, other < oldestSnapshot {
                            index.remove(self, match)
                            continue
                        }
                        if other == 0 {
                            result = .violation(duplicate(index, segment, row))
                            return
                        }
                        if other != marker && other & VersionMarker.transactionBit != 0 {
                            result = .wait(other & ~VersionMarker.transactionBit)
                            return
                        }
                    }
                    for entry in pending {
                        if entry.owner != transaction {
                            result = .wait(entry.owner)
                            return
                        }
                        if entry.rows.marker(entry.row) == 0 {
                            result = .violation(duplicate(index, segment, row))
                            return
                        }
                    }
                }
                if local {
                    index.addPending(PendingEntry(owner: transaction, rows: rows, row: id))
                } else {
                    index.add(self, id)
                }
            }
        }
        return result
    }

    func duplicate(_ index: TableIndex, _ segment: Segment, _ row: Int) -> DatabaseError {
        DatabaseError(SQLState("23505"), "duplicate key value violates unique constraint \"\(index.key.name)\"",
                      detail: "Key \(index.describe(self, segment, row)) already exists.")
    }
}
