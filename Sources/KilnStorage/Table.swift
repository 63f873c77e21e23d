import KilnCore
import Synchronization

/// A column of a table as the catalog describes it.
public struct ColumnInfo: Sendable, Equatable {
    public var name: String
    public var type: SQLType
    public var notNull: Bool
    public init(name: String, type: SQLType, notNull: Bool) {
        self.name = name
        self.type = type
        self.notNull = notNull
    }
}

/// One horizontal slice of a table: a `ColumnSegment` per column, up to `Table.segmentCapacity` rows.
public final class Segment {
    public let columns: [ColumnSegment]
    public internal(set) var count = 0
    var capacity: Int
    /// Rows' delete markers (MVCC), allocated at the first delete in this row group.
    public private(set) var deletes: DeleteMarkers?
    /// Whether a committed delete is not in the data file yet.
    var deletesDirty = false

    init(types: [SQLType], capacity: Int) {
        self.capacity = capacity
        columns = types.map { ColumnSegment(type: $0, capacity: capacity) }
    }

    /// A row group of the data file: its columns are read when first used.
    init(types: [SQLType], extents: [ColumnExtent], rows: Int, file: DurableFile) {
        capacity = rows
        count = rows
        columns = zip(types, extents).map { ColumnSegment(type: $0, extent: $1, file: file) }
    }

    /// Whether memory and the data file agree on this row group (a checkpoint skips it).
    var isPersisted: Bool { !deletesDirty && columns.allSatisfy { $0.extent?.rows == count } }

    /// Sets row `row`'s delete marker (0: live again).
    func setMarker(_ row: Int, _ marker: UInt64) {
        if deletes == nil {
            if marker == 0 { return }
            deletes = DeleteMarkers()
        }
        deletes?.set(row, marker)
        if marker != 0 && marker & VersionMarker.transactionBit == 0 { deletesDirty = true }
    }

    /// Restores the committed deletes of a row group read from the data file.
    func restoreDeletes(_ rows: [Int]) {
        for row in rows { setMarker(row, VersionMarker.recovered) }
        deletesDirty = false
    }

    var isWritable: Bool { columns.allSatisfy(\.isWritable) }

    func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        var newCapacity = capacity
        while newCapacity < rows { newCapacity *= 2 }
        newCapacity = min(newCapacity, Table.segmentCapacity)
        for column in columns { column.grow(to: newCapacity, count: count) }
        capacity = newCapacity
    }
}

/// An in-memory columnar table: segments of column arrays plus an arena for long strings.
///
/// `@unchecked Sendable`: the catalog serialises writers (statements run one at a time per
/// database in this version); readers see segments that do not move while a query runs.
public final class Table: @unchecked Sendable {
    /// Rows per segment; a morsel never crosses a segment.
    public static let segmentCapacity = 1 << 20
    /// The scan column index of a row's identity (`RowID`), which UPDATE and DELETE read.
    public static let rowIDColumn = -1
    /// The scan column index of the system column `ctid`: the same `RowID`, typed `tid`.
    public static let tidColumn = -2

    public let name: String
    /// Assigned when the catalog adds the table (PostgreSQL's `pg_class.oid`).
    public internal(set) var oid: Int32 = 0
    public let columns: [ColumnInfo]
    public private(set) var segments: [Segment] = []
    /// Long strings' bytes (replaced by `compact`, which copies the live rows' strings).
    public private(set) var arena = StringArena()
    let statisticsStore = Mutex<TableStatistics?>(nil)
    /// Rows every snapshot sees; later commits that appended rows, oldest first (rows are
    /// appended in commit order, so a snapshot sees a prefix of the table).
    private var baseRows = -1
    private var commits: [(timestamp: UInt64, rows: Int)] = []

    /// Defaults, keys, checks and foreign keys (`setConstraints`).
    public private(set) var constraints: TableConstraints
    /// One index per key of `constraints`.
    public private(set) var indexes: [TableIndex] = []
    /// For a transaction's local table (its uncommitted rows of `table`): the table and the
    /// transaction, whose rows the table's indexes list as pending.
    public private(set) var localOf: (table: Table, transaction: UInt64)?
    /// Row locks of running transactions (`SELECT ... FOR UPDATE | SHARE`), by `RowID` value;
    /// read and changed only under the exclusive statement lock (`Table+RowLocks.swift`).
    var rowLocks: [Int64: RowLock] = [:]
    /// The running transaction that created the table in a block (0: committed); only it sees
    /// the table until it commits (`Catalog.visible`).
    let creator = Atomic<UInt64>(0)

    public func setCreator(_ transaction: UInt64) { creator.store(transaction, ordering: .releasing) }

    public func isVisible(to transaction: UInt64) -> Bool {
        let owner = creator.load(ordering: .acquiring)
        return owner == 0 || owner == transaction
    }

    public init(name: String, columns: [ColumnInfo]) {
        self.name = name
        self.columns = columns
        constraints = TableConstraints(columns: columns.count)
    }

    /// The local table of `transaction`'s uncommitted rows of `table`.
    public init(localRowsOf table: Table, transaction: UInt64) {
        name = table.name
        columns = table.columns
        constraints = TableConstraints(columns: columns.count)
        localOf = (table, transaction)
    }

    /// Replaces the table's constraints; keys that stay keep their index.
    public func setConstraints(_ new: TableConstraints) {
        constraints = new
        indexes = new.keys.map { key in indexes.first { $0.key == key } ?? TableIndex(key: key, table: self) }
    }

    public func index(named name: String) -> TableIndex? { indexes.first { $0.key.name == name } }

    public var rowCount: Int { segments.reduce(0) { $0 + $1.count } }

    /// The columns a scan reads: the table's, or `rowIDColumn` (a row's `RowID` as bigint).
    public func scanColumn(_ index: Int) -> ColumnInfo {
        index == Table.rowIDColumn ? ColumnInfo(name: "ctid", type: .bigint, notNull: true)
            : index == Table.tidColumn ? ColumnInfo(name: "ctid", type: .tid, notNull: true) : columns[index]
    }

    /// How many rows (a prefix of the table) snapshot `timestamp` sees.
    public func visibleRows(at timestamp: UInt64) -> Int {
        for commit in commits.reversed() where commit.timestamp <= timestamp { return commit.rows }
        return baseRows < 0 ? rowCount : baseRows
    }

    /// Notes a commit at `timestamp` that appended rows from `rowsBefore` on (the table now
    /// has `rowCount` rows); commits older than `oldest` (the oldest snapshot in use) fold into
    /// the prefix everyone sees.
    public func noteCommit(_ timestamp: UInt64, rowsBefore: Int, oldestSnapshot oldest: UInt64) {
        if baseRows < 0 { baseRows = rowsBefore }
        commits.append((timestamp, rowCount))
        while let first = commits.first, first.timestamp <= oldest {
            baseRows = first.rows
            commits.removeFirst()
        }
    }

    /// Forgets the commit history: every row is visible to every snapshot (opening a
    /// database, or a table no running transaction can have a snapshot of).
    func resetCommits() {
        baseRows = -1
        commits = []
    }

    /// Rows deleted by committed transactions (their versions stay until `compact`).
    public var deletedRows: Int { segments.reduce(0) { $0 + ($1.deletes?.committed ?? 0) } }

    /// Whether enough of the table is deleted versions that `compact` pays.
    public var needsCompaction: Bool {
        // Compaction moves rows; a locked row keeps its place until its lock goes.
        guard rowLocks.isEmpty else { return false }
        let deleted = deletedRows
        return deleted >= 1024 && deleted * 4 >= rowCount
    }

    /// Whether compacting pays while snapshots from `oldest` on are in use: versions deleted by
    /// a commit at or before `oldest` (dead for every snapshot) are at least 1,024 and a quarter
    /// of the table.
    public func compactionPays(oldestSnapshot oldest: UInt64) -> Bool {
        guard needsCompaction else { return false }
        var dead = 0
        for segment in segments {
            guard let deletes = segment.deletes, deletes.committed > 0 else { continue }
            for row in 0..<segment.count {
                let marker = deletes.markers[row]
                if marker != 0 && marker & VersionMarker.transactionBit == 0 && marker <= oldest { dead += 1 }
            }
        }
        return dead >= 1024 && dead * 4 >= rowCount
    }

    /// Garbage collection: rewrites the table with only its live rows (and a new arena with
    /// only their long strings), so that deleted versions stop taking memory. Rows get new
    /// `RowID`s: the caller holds the statement lock exclusively, no other transaction runs (no
    /// snapshot or undo entry names a row), and a database directory checkpoints at once (the
    /// WAL names rows by the old layout until then).
    /// `keepingDeletesAfter`: other transactions run, with snapshots from `oldest` on. Versions
    /// deleted by a commit after it stay with their markers (an older snapshot still sees them),
    /// and so do rows a running transaction marked; the commits' row prefixes are renumbered.
    /// Returns the new `RowID` of each kept row that a running transaction marked (its undo
    /// log names the old one). nil: no other transaction runs, every deleted version goes.
    @discardableResult
    public func compact(keepingDeletesAfter oldest: UInt64? = nil) throws(DatabaseError) -> [Int64: Int64] {
        try load(columns: Array(columns.indices))
        let fresh = Table(name: name, columns: columns)
        // The old global index of every row kept, ascending, and the marked rows' new places.
        var kept: [Int] = []
        var moved: [Int64: Int64] = [:]
        if let oldest {
            var base = 0
            for (segmentIndex, segment) in segments.enumerated() {
                for row in 0..<segment.count {
                    let marker = segment.deletes?.markers[row] ?? 0
                    let running = marker & VersionMarker.transactionBit != 0
                    guard marker == 0 || running || marker > oldest else { continue }
                    if running {
                        let new = kept.count
                        moved[RowID(segment: segmentIndex, row: row).value] = RowID(segment: new / Table.segmentCapacity, row: new % Table.segmentCapacity).value
                    }
                    kept.append(base + row)
                }
                base += segment.count
            }
        }
        try fresh.append(contentsOf: self, keepingDeletesAfter: oldest)
        segments = fresh.segments
        arena = fresh.arena
        if oldest == nil {
            resetCommits()
        } else {
            // A snapshot saw a prefix of the old rows; it sees the kept rows of that prefix.
            func renumber(_ rows: Int) -> Int {
                var low = 0, high = kept.count
                while low < high {
                    let middle = (low + high) / 2
                    if kept[middle] < rows { low = middle + 1 } else { high = middle }
                }
                return low
            }
            if baseRows >= 0 { baseRows = renumber(baseRows) }
            commits = commits.map { ($0.timestamp, renumber($0.rows)) }
        }
        for index in indexes { index.invalidate() }
        if var statistics {
            statistics.rows = rowCount
            setStatistics(statistics)
        }
        return moved
    }

    /// The segment and row of a `RowID`, when the table has that row.
    public func locate(_ id: RowID) -> (Segment, Int)? {
        guard id.segment >= 0, id.segment < segments.count, id.row < segments[id.segment].count else { return nil }
        return (segments[id.segment], id.row)
    }

    /// The segment and row of global row `index` (rows counted across row groups).
    public func locate(rowIndex index: Int) -> (Segment, Int)? {
        var row = index
        for segment in segments {
            if row < segment.count { return (segment, row) }
            row -= segment.count
        }
        return nil
    }

    /// The delete marker of a row (0: live).
    public func marker(_ id: RowID) -> UInt64 {
        guard let (segment, row) = locate(id) else { return 0 }
        return segment.deletes?.markers[row] ?? 0
    }

    /// Sets a row's delete marker (a delete, its commit, or its undo).
    public func setMarker(_ id: RowID, _ marker: UInt64) {
        guard let (segment, row) = locate(id) else { return }
        segment.setMarker(row, marker)
    }

    /// The rows `snapshot` sees, in order.
    public func liveRowIDs(at snapshot: Snapshot) -> [RowID] {
        var ids: [RowID] = []
        var remaining = visibleRows(at: snapshot.timestamp)
        for (index, segment) in segments.enumerated() where remaining > 0 {
            let n = min(segment.count, remaining)
            remaining -= n
            for row in 0..<n where !(segment.deletes.map { snapshot.isDeleted($0.markers[row]) } ?? false) {
                ids.append(RowID(segment: index, row: row))
            }
        }
        return ids
    }

    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// Maps columns `columns` of every row group that was not read yet, leaving the checks of
    /// blocks with their own checksums to the scan that reads them (`ColumnSegment.check(rows:)`).
    public func map(columns: [Int]) throws(DatabaseError) {
        for segment in segments {
            for column in columns { try segment.columns[column].map(checkAll: false) }
        }
    }

    /// Reads columns `columns` of every row group that was not read yet (checking checksums).
    public func load(columns: [Int]) throws(DatabaseError) {
        for segment in segments {
            for column in columns { try segment.columns[column].load() }
        }
    }

    /// Makes the last row group writable when it came from the data file and has room, so
    /// that appends fill it rather than start a small one.
    public func prepareForAppend() throws(DatabaseError) {
        guard let last = segments.last, last.count < Table.segmentCapacity, !last.isWritable else { return }
        for column in last.columns { try column.makeWritable(count: last.count, arena: arena) }
    }

    /// Adds a row group read from the data file (opening a database).
    func restore(_ segment: Segment) { segments.append(segment) }

    /// A segment with room for at least one more row.
    func writableSegment(reserving extra: Int = 1) -> Segment {
        if let last = segments.last, last.count < Table.segmentCapacity, last.isWritable {
            last.reserve(min(Table.segmentCapacity, last.count + extra))
            return last
        }
        let segment = Segment(types: columns.map(\.type), capacity: min(Table.segmentCapacity, max(1024, extra)))
        segments.append(segment)
        return segment
    }

    /// Appends one row of values already coerced to the column types; checks NOT NULL.
    public func append(row: [Value]) throws(DatabaseError) {
        for (index, column) in columns.enumerated() where column.notNull && row[index].isNull {
            throw notNullViolation(column)
        }
        try prepareForAppend()
        let segment = writableSegment()
        for (index, value) in row.enumerated() { segment.columns[index].set(segment.count, value, arena: arena) }
        segment.count += 1
    }

    /// Appends materialised records column by column (INSERT ... SELECT).
    /// - Parameters:
    ///   - records: `count` record pointers.
    ///   - fields: for each table column, the field index in the record (nullByte at that index,
    ///     value at `offsets[field]`), or nil when the column gets NULL.
    public func appendRecords(_ records: UnsafePointer<UnsafeMutableRawPointer?>, count: Int, fields: [Int?], offsets: [Int]) throws(DatabaseError) {
        try prepareForAppend()
        var done = 0
        while done < count {
            let segment = writableSegment(reserving: count - done)
            let batch = min(count - done, segment.capacity - segment.count)
            let start = segment.count
            for (columnIndex, column) in columns.enumerated() {
                let data = segment.columns[columnIndex]
                let width = data.width
                guard let field = fields[columnIndex] else {
                    if column.notNull { throw notNullViolation(column) }
                    for row in 0..<batch { data.setRaw(start + row, from: nil) }
                    continue
                }
                let offset = offsets[field]
                let isString = column.type.physical == .string
                for row in 0..<batch {
                    // safe because every record pointer comes from a live record store.
                    let record = records[done + row]!
                    if record.load(fromByteOffset: field, as: UInt8.self) != 0 {
                        if column.notNull { throw notNullViolation(column) }
                        data.setRaw(start + row, from: nil)
                        continue
                    }
                    let destination = data.values + (start + row) * width
                    switch width {
                    case 1: destination.storeBytes(of: record.load(fromByteOffset: offset, as: UInt8.self), as: UInt8.self)
                    case 2: destination.storeBytes(of: record.loadUnaligned(fromByteOffset: offset, as: UInt16.self), as: UInt16.self)
                    case 4: destination.storeBytes(of: record.loadUnaligned(fromByteOffset: offset, as: UInt32.self), as: UInt32.self)
                    case 8: destination.storeBytes(of: record.loadUnaligned(fromByteOffset: offset, as: UInt64.self), as: UInt64.self)
                    default:
                        var value = record.loadUnaligned(fromByteOffset: offset, as: Int128.self)
                        if isString, KilnString.length(value) > KilnString.inlineCapacity {
                            value = KilnString.withBytes(value) { KilnString.make($0, arena: arena) }
                        }
                        destination.storeBytes(of: value, as: Int128.self)
                    }
                    data.setValid(start + row)
                }
            }
            segment.count += batch
            done += batch
        }
    }

    /// Appends the rows of `other` (same columns) that carry no delete marker: a committing
    /// transaction's own rows. Long strings are copied into this table's arena.
    public func append(contentsOf other: Table, keepingDeletesAfter oldest: UInt64? = nil) throws(DatabaseError) {
        try prepareForAppend()
        let before = rowCount
        defer { if other.localOf?.table === self { moveIndexEntries(of: other, from: before) } }
        for source in other.segments {
            var rows: [Int] = []
            var kept: [(index: Int, marker: UInt64)] = []
            rows.reserveCapacity(source.count)
            for row in 0..<source.count {
                let marker = source.deletes?.markers[row] ?? 0
                if marker == 0 {
                    rows.append(row)
                } else if let oldest, marker & VersionMarker.transactionBit != 0 || marker > oldest {
                    kept.append((rows.count, marker))
                    rows.append(row)
                }
            }
            let first = rowCount
            var done = 0
            while done < rows.count {
                let segment = writableSegment(reserving: rows.count - done)
                let batch = min(rows.count - done, segment.capacity - segment.count)
                for (index, column) in columns.enumerated() {
                    let from = source.columns[index], to = segment.columns[index]
                    let isString = column.type.physical == .string
                    for i in 0..<batch {
                        let row = rows[done + i]
                        guard from.isValid(row) else {
                            to.setRaw(segment.count + i, from: nil)
                            continue
                        }
                        let cell = from.values + row * from.width
                        if isString {
                            var value = cell.load(as: Int128.self)
                            if KilnString.length(value) > KilnString.inlineCapacity {
                                value = KilnString.withBytes(value) { KilnString.make($0, arena: arena) }
                            }
                            withUnsafeBytes(of: &value) { to.setRaw(segment.count + i, from: $0.baseAddress) }
                        } else {
                            to.setRaw(segment.count + i, from: cell)
                        }
                    }
                }
                segment.count += batch
                done += batch
            }
            // Versions kept for older snapshots keep their delete markers.
            for (index, marker) in kept {
                guard let (segment, row) = locate(rowIndex: first + index) else { continue }
                segment.setMarker(row, marker)
            }
        }
    }

    func notNullViolation(_ column: ColumnInfo) -> DatabaseError {
        DatabaseError(.notNullViolation, "null value in column \"\(column.name)\" of relation \"\(name)\" violates not-null constraint")
    }

    /// Removes rows appended after `rowCount` rows (undo of a failed statement).
    public func truncate(to rows: Int) {
        forgetRows(from: rows)
        var remaining = rows
        var kept: [Segment] = []
        for segment in segments {
            if remaining <= 0 { break }
            if segment.count > remaining { segment.count = remaining }
            remaining -= segment.count
            kept.append(segment)
        }
        segments = kept
    }

    /// Appends rows in `ColumnCodec`'s layout, one buffer per column (WAL replay).
    func appendEncoded(_ columnsData: [UnsafeRawBufferPointer], rows: Int, origin: (file: String, offset: Int)) throws(DatabaseError) {
        guard rows >= 0, rows <= Table.segmentCapacity * 64 else {
            throw StorageError.corrupted(file: origin.file, offset: origin.offset, "an insert record of \(rows) rows")
        }
        guard columnsData.count == columns.count else {
            throw StorageError.corrupted(file: origin.file, offset: origin.offset, "an insert record has \(columnsData.count) columns, table \"\(name)\" has \(columns.count)")
        }
        try prepareForAppend()
        var done = 0
        while done < rows {
            let segment = writableSegment(reserving: rows - done)
            let batch = min(rows - done, segment.capacity - segment.count)
            for (index, data) in columnsData.enumerated() {
                try ColumnCodec.decode(data, rows: rows, range: done..<(done + batch), into: segment.columns[index], at: segment.count, arena: arena, origin: origin)
            }
            segment.count += batch
            done += batch
        }
        for index in indexes where index.isBuilt { addToIndex(index, from: rowCount - rows) }
    }

    /// The value at a global row index (slow path for tests and small results; NULL for a
    /// column that cannot be read).
    public func value(row: Int, column: Int) -> Value {
        var row = row
        for segment in segments {
            if row < segment.count {
                guard (try? segment.columns[column].load()) != nil else { return .null }
                return segment.columns[column].value(at: row)
            }
            row -= segment.count
        }
        return .null
    }
}

/// The set of tables of one database.
///
/// `Sendable` through a mutex around the name -> table map.
/// A view: a stored query (the parser's AST, opaque to storage) bound anew at each use.
public struct View: Sendable {
    public let name: String
    /// Assigned when the catalog adds the view.
    public internal(set) var oid: Int32 = 0
    /// The column names given in CREATE VIEW, if any.
    public let columns: [String]?
    public let query: any Sendable
    /// The view's result columns when it was created.
    public let columnNames: [String]
    public let columnTypes: [SQLType]
    /// The query's SQL text as written (what a database directory keeps; parsed again on open).
    public let definition: String
    public init(name: String, columns: [String]?, query: any Sendable, columnNames: [String], columnTypes: [SQLType], definition: String) {
        self.definition = definition
        self.name = name
        self.columns = columns
        self.query = query
        self.columnNames = columnNames
        self.columnTypes = columnTypes
    }
}
