import KilnCore
import Synchronization

/// A row a running transaction inserted into its local table (see `Table.localOf`), indexed
/// under its key until the transaction commits or rolls back.
public struct PendingEntry {
    public let owner: UInt64
    public let rows: Table
    public let row: RowID
}

/// The hash index behind a key of a table: the hash of a row's key cells -> its `RowID`s.
/// Every version of a key is listed (an UPDATE adds the new version, the old one stays until
/// `Table.compact`); readers and the unique check decide with the rows' delete markers which
/// are live. Rows with a NULL in the key are not listed (NULLs are distinct). Rows of running
/// transactions' local tables are in `pending`, with their owner.
///
/// Built from the table on first use (opening a database does not read key columns), then kept
/// up to date by the table's appends and truncations. `@unchecked Sendable`: changed only under
/// the exclusive statement lock; readers (shared lock) only read, and build under `state`.
public final class TableIndex: @unchecked Sendable {
    public let key: KeyConstraint
    /// The key columns' types.
    public let types: [SQLType]
    private var first: [UInt64: Int64] = [:]
    private var more: [UInt64: [Int64]] = [:]
    private var pending: [UInt64: [PendingEntry]] = [:]
    /// Whether `first` and `more` list the table's rows.
    private let built = Mutex(false)

    init(key: KeyConstraint, table: Table) {
        self.key = key
        types = key.columns.map { table.columns[$0].type }
    }

    public var isBuilt: Bool { built.withLock { $0 } }

    /// Lists every row of `table` (once; later calls return at once).
    public func build(_ table: Table) throws(DatabaseError) {
        try built.withLock { (done: inout Bool) throws(DatabaseError) in
            guard !done else { return }
            try table.load(columns: key.columns)
            first = [:]
            more = [:]
            for (index, segment) in table.segments.enumerated() {
                // Deleted versions are listed too: older snapshots' lookups still find them.
                for row in 0..<segment.count {
                    if let hash = hash(segment, row) { insert(hash, RowID(segment: index, row: row).value) }
                }
            }
            done = true
        }
    }

    /// Forgets the rows (the table's rows moved: `Table.compact`); the next use builds again.
    func invalidate() {
        built.withLock { done in
            done = false
            first = [:]
            more = [:]
        }
    }

    private func insert(_ hash: UInt64, _ id: Int64) {
        if let existing = first[hash] {
            if existing == id { return }
            if more[hash]?.contains(id) == true { return }
            more[hash, default: []].append(id)
        } else {
            first[hash] = id
        }
    }

    private func remove(_ hash: UInt64, _ id: Int64) {
        if first[hash] == id {
            if var others = more[hash], !others.isEmpty {
                first[hash] = others.removeFirst()
                more[hash] = others.isEmpty ? nil : others
            } else {
                first[hash] = nil
            }
        } else if var others = more[hash], let at = others.firstIndex(of: id) {
            others.remove(at: at)
            more[hash] = others.isEmpty ? nil : others
        }
    }

    /// Adds row `row` of `table` (a row of the table itself).
    func add(_ table: Table, _ id: RowID) {
        guard isBuilt, let (segment, row) = table.locate(id), let hash = hash(segment, row) else { return }
        insert(hash, id.value)
    }

    func remove(_ table: Table, _ id: RowID) {
        guard isBuilt, let (segment, row) = table.locate(id), let hash = hash(segment, row) else { return }
        remove(hash, id.value)
    }

    func addPending(_ entry: PendingEntry) {
        guard let (segment, row) = entry.rows.locate(entry.row), let hash = hash(segment, row) else { return }
        if pending[hash]?.contains(where: { $0.rows === entry.rows && $0.row == entry.row }) == true { return }
        pending[hash, default: []].append(entry)
    }

    func removePending(_ rows: Table, _ id: RowID) {
        guard let (segment, row) = rows.locate(id), let hash = hash(segment, row), var entries = pending[hash] else { return }
        entries.removeAll { $0.rows === rows && $0.row == id }
        pending[hash] = entries.isEmpty ? nil : entries
    }

    /// The rows of `table` and the pending rows whose key equals the key of row `row` of
    /// `segment` (which itself is left out); nil when that key has a NULL.
    public func matches(_ table: Table, _ segment: Segment, _ row: Int) -> (rows: [RowID], pending: [PendingEntry])? {
        guard let hash = hash(segment, row) else { return nil }
        var rows: [RowID] = []
        for id in ids(hash) {
            guard let (other, otherRow) = table.locate(RowID(id)), !(other === segment && otherRow == row), equal(other, otherRow, segment, row) else { continue }
            rows.append(RowID(id))
        }
        var entries: [PendingEntry] = []
        for entry in pending[hash] ?? [] {
            guard let (other, otherRow) = entry.rows.locate(entry.row), !(other === segment && otherRow == row), equal(other, otherRow, segment, row) else { continue }
            entries.append(entry)
        }
        return (rows, entries)
    }

    /// The rows and pending rows whose key is `values` (each of its column's type); empty when
    /// a value is NULL.
    public func lookup(_ table: Table, _ values: [Value]) -> (rows: [RowID], pending: [PendingEntry]) {
        guard values.count == types.count, !values.contains(where: \.isNull) else { return ([], []) }
        let arena = StringArena()
        var cells = [Int128](repeating: 0, count: values.count)
        for (index, value) in values.enumerated() {
            withUnsafeMutableBytes(of: &cells[index]) { ValueCodec.store(value, as: types[index], at: $0.baseAddress!, arena: arena) }
        }
        var hash: UInt64 = 0
        for (index, cell) in cells.enumerated() { hash = Hashing.combine(hash, cellHash(cell, types[index])) }
        let matches = { (segment: Segment, row: Int) -> Bool in
            for (index, column) in self.key.columns.enumerated() {
                let data = segment.columns[column]
                guard data.isValid(row), self.cellEqual(self.cell(data, row), cells[index], self.types[index]) else { return false }
            }
            return true
        }
        var rows: [RowID] = []
        for id in ids(hash) {
            guard let (segment, row) = table.locate(RowID(id)), matches(segment, row) else { continue }
            rows.append(RowID(id))
        }
        var entries: [PendingEntry] = []
        for entry in pending[hash] ?? [] {
            guard let (segment, row) = entry.rows.locate(entry.row), matches(segment, row) else { continue }
            entries.append(entry)
        }
        return withExtendedLifetime(arena) { (rows, entries) }
    }

    private func ids(_ hash: UInt64) -> [Int64] {
        guard let id = first[hash] else { return [] }
        return [id] + (more[hash] ?? [])
    }

    // MARK: - Key cells

    /// A column's cell at `row`, widened to 16 bytes (zero-extended).
    @inline(__always)
    func cell(_ data: ColumnSegment, _ row: Int) -> Int128 {
        let pointer = data.values + row * data.width
        switch data.width {
        case 1: return Int128(pointer.load(as: UInt8.self))
        case 2: return Int128(pointer.loadUnaligned(as: UInt16.self))
        case 4: return Int128(pointer.loadUnaligned(as: UInt32.self))
        case 8: return Int128(pointer.loadUnaligned(as: UInt64.self))
        default: return pointer.loadUnaligned(as: Int128.self)
        }
    }

    @inline(__always)
    func cellHash(_ cell: Int128, _ type: SQLType) -> UInt64 {
        if type.physical == .string { return KilnString.hash(cell) }
        // An unconstrained numeric's key leaves its display scale out (1.5 = 1.50).
        let bits = UInt128(bitPattern: type == .dynamicNumeric ? PackedNumeric.key(cell) : cell)
        return Hashing.fold(UInt64(truncatingIfNeeded: bits), UInt64(truncatingIfNeeded: bits >> 64))
    }

    @inline(__always)
    func cellEqual(_ a: Int128, _ b: Int128, _ type: SQLType) -> Bool {
        type.physical == .string ? KilnString.equal(a, b) : type == .dynamicNumeric ? PackedNumeric.key(a) == PackedNumeric.key(b) : a == b
    }

    /// The hash of a row's key; nil when a key column is NULL.
    func hash(_ segment: Segment, _ row: Int) -> UInt64? {
        var hash: UInt64 = 0
        for (index, column) in key.columns.enumerated() {
            let data = segment.columns[column]
            guard data.isValid(row) else { return nil }
            hash = Hashing.combine(hash, cellHash(cell(data, row), types[index]))
        }
        return hash
    }

    func equal(_ a: Segment, _ rowA: Int, _ b: Segment, _ rowB: Int) -> Bool {
        for (index, column) in key.columns.enumerated() {
            let x = a.columns[column], y = b.columns[column]
            guard x.isValid(rowA), y.isValid(rowB), cellEqual(cell(x, rowA), cell(y, rowB), types[index]) else { return false }
        }
        return true
    }

    /// The key of row `row` of `segment` as PostgreSQL prints it in a 23505 detail: `(a, b)=(1, x)`.
    public func describe(_ table: Table, _ segment: Segment, _ row: Int) -> String {
        let names = key.columns.map { table.columns[$0].name }.joined(separator: ", ")
        let values = key.columns.map { segment.columns[$0].value(at: row).text ?? "null" }.joined(separator: ", ")
        return "(\(names))=(\(values))"
    }
}
