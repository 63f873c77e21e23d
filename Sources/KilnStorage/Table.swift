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
    var isPersisted: Bool { columns.allSatisfy { $0.extent?.rows == count } }

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

    public let name: String
    /// Assigned when the catalog adds the table (PostgreSQL's `pg_class.oid`).
    public internal(set) var oid: Int32 = 0
    public let columns: [ColumnInfo]
    public private(set) var segments: [Segment] = []
    public let arena = StringArena()
    let statisticsStore = Mutex<TableStatistics?>(nil)

    public init(name: String, columns: [ColumnInfo]) {
        self.name = name
        self.columns = columns
    }

    public var rowCount: Int { segments.reduce(0) { $0 + $1.count } }

    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }

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

    func notNullViolation(_ column: ColumnInfo) -> DatabaseError {
        DatabaseError(.notNullViolation, "null value in column \"\(column.name)\" of relation \"\(name)\" violates not-null constraint")
    }

    /// Removes rows appended after `rowCount` rows (undo of a failed statement).
    public func truncate(to rows: Int) {
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
