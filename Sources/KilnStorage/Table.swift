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

    /// A segment with room for at least one more row.
    func writableSegment(reserving extra: Int = 1) -> Segment {
        if let last = segments.last, last.count < Table.segmentCapacity {
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

    /// The value at a global row index (slow path for tests and small results).
    public func value(row: Int, column: Int) -> Value {
        var row = row
        for segment in segments {
            if row < segment.count { return segment.columns[column].value(at: row) }
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
    /// The column names given in CREATE VIEW, if any.
    public let columns: [String]?
    public let query: any Sendable
    /// The view's result columns when it was created.
    public let columnNames: [String]
    public let columnTypes: [SQLType]
    public init(name: String, columns: [String]?, query: any Sendable, columnNames: [String], columnTypes: [SQLType]) {
        self.name = name
        self.columns = columns
        self.query = query
        self.columnNames = columnNames
        self.columnTypes = columnTypes
    }
}

public final class Catalog: Sendable {
    private let tables = Mutex<[String: Table]>([:])
    private let views = Mutex<[String: View]>([:])
    private let roles = Mutex<[String: Role]>([:])
    private let versionCounter = Atomic<Int>(0)

    /// Changes whenever a table or view is created or dropped: bound plans older than it are stale.
    public var version: Int { versionCounter.load(ordering: .acquiring) }

    func bumpVersion() { versionCounter.add(1, ordering: .releasing) }

    public func view(_ name: String) -> View? { views.withLock { $0[name] } }

    public var viewNames: [String] { views.withLock { $0.keys.sorted() } }

    /// Adds (or with `replace`, replaces) a view; its name must not be a table's.
    public func create(_ view: View, replace: Bool, position: Int?) throws(DatabaseError) {
        if table(view.name) != nil || (!replace && self.view(view.name) != nil) {
            throw DatabaseError(.duplicateTable, "relation \"\(view.name)\" already exists", position: position)
        }
        if let old = self.view(view.name) {
            // As in PostgreSQL, a replacement may only add columns at the end.
            if view.columnNames.count < old.columnNames.count {
                throw DatabaseError(.invalidTableDefinition, "cannot drop columns from view", position: position)
            }
            for (index, name) in old.columnNames.enumerated() {
                if view.columnNames[index] != name {
                    throw DatabaseError(.invalidTableDefinition, "cannot change name of view column \"\(name)\" to \"\(view.columnNames[index])\"", position: position)
                }
                if view.columnTypes[index] != old.columnTypes[index] {
                    throw DatabaseError(.invalidTableDefinition, "cannot change data type of view column \"\(name)\" from \(old.columnTypes[index]) to \(view.columnTypes[index])", position: position)
                }
            }
        }
        views.withLock { $0[view.name] = view }
        bumpVersion()
    }

    public func dropView(_ name: String, ifExists: Bool, position: Int?) throws(DatabaseError) {
        if table(name) != nil {
            throw DatabaseError(.wrongObjectType, "\"\(name)\" is not a view", position: position, hint: "Use DROP TABLE to remove a table.")
        }
        let dropped = views.withLock { $0.removeValue(forKey: name) != nil }
        if dropped { bumpVersion() }
        if !dropped && !ifExists {
            throw DatabaseError(.undefinedTable, "view \"\(name)\" does not exist", position: position)
        }
    }

    public init() {}

    public func table(_ name: String) -> Table? { tables.withLock { $0[name] } }

    public var tableNames: [String] { tables.withLock { $0.keys.sorted() } }

    public func create(_ table: Table, ifNotExists: Bool, position: Int?) throws(DatabaseError) -> Bool {
        if view(table.name) != nil {
            if ifNotExists { return false }
            throw DatabaseError(.duplicateTable, "relation \"\(table.name)\" already exists", position: position)
        }
        let created = tables.withLock { map -> Bool in
            if map[table.name] != nil { return false }
            map[table.name] = table
            return true
        }
        if !created && !ifNotExists {
            throw DatabaseError(.duplicateTable, "relation \"\(table.name)\" already exists", position: position)
        }
        if created { bumpVersion() }
        return created
    }

    public func drop(_ name: String, ifExists: Bool, position: Int?) throws(DatabaseError) {
        if view(name) != nil {
            throw DatabaseError(.wrongObjectType, "\"\(name)\" is not a table", position: position, hint: "Use DROP VIEW to remove a view.")
        }
        let dropped = tables.withLock { $0.removeValue(forKey: name) != nil }
        if dropped { bumpVersion() }
        if !dropped && !ifExists {
            throw DatabaseError(.undefinedTable, "table \"\(name)\" does not exist", position: position)
        }
    }
}

/// A login role (`CREATE ROLE name LOGIN PASSWORD '...'`): what `kiln serve` authenticates.
public struct Role: Sendable, Equatable {
    public var name: String
    /// The password verifier in PostgreSQL's `SCRAM-SHA-256$...` form; nil: no password.
    public var passwordVerifier: String?
    public var canLogin: Bool
    public var isSuperuser: Bool

    public init(name: String, passwordVerifier: String? = nil, canLogin: Bool = true, isSuperuser: Bool = false) {
        self.name = name
        self.passwordVerifier = passwordVerifier
        self.canLogin = canLogin
        self.isSuperuser = isSuperuser
    }
}

extension Catalog {
    public func role(_ name: String) -> Role? { roles.withLock { $0[name] } }

    public var roleNames: [String] { roles.withLock { $0.keys.sorted() } }

    /// Adds a role; 42710 when one of that name exists.
    public func create(_ role: Role, position: Int?) throws(DatabaseError) {
        let added = roles.withLock { map -> Bool in
            if map[role.name] != nil { return false }
            map[role.name] = role
            return true
        }
        if !added { throw DatabaseError(.duplicateObject, "role \"\(role.name)\" already exists", position: position) }
    }

    /// Changes a role in place; 42704 when there is none of that name.
    public func alterRole(_ name: String, position: Int?, _ change: (inout Role) -> Void) throws(DatabaseError) {
        let found = roles.withLock { map -> Bool in
            guard var role = map[name] else { return false }
            change(&role)
            map[name] = role
            return true
        }
        if !found { throw DatabaseError(SQLState("42704"), "role \"\(name)\" does not exist", position: position) }
    }

    public func dropRole(_ name: String, ifExists: Bool, position: Int?) throws(DatabaseError) {
        let dropped = roles.withLock { $0.removeValue(forKey: name) != nil }
        if !dropped && !ifExists { throw DatabaseError(SQLState("42704"), "role \"\(name)\" does not exist", position: position) }
    }
}
