import KilnCore

/// A key of a table: a primary key, a unique constraint, or an index (CREATE [UNIQUE] INDEX).
/// Each is backed by a `TableIndex`.
public struct KeyConstraint: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case primaryKey = 0, unique = 1, uniqueIndex = 2, index = 3
    }
    public var name: String
    public var columns: [Int]
    public var kind: Kind

    public init(name: String, columns: [Int], kind: Kind) {
        self.name = name
        self.columns = columns
        self.kind = kind
    }

    public var isUnique: Bool { kind != .index }
    /// A constraint (ALTER TABLE ... DROP CONSTRAINT) rather than a bare index (DROP INDEX).
    public var isConstraint: Bool { kind == .primaryKey || kind == .unique }
}

/// `CHECK (expression)`; the expression is kept as SQL text and bound when rows are written.
public struct CheckConstraint: Sendable, Equatable {
    public var name: String
    public var text: String
    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

/// `FOREIGN KEY (columns) REFERENCES table (referenced)`, NO ACTION / RESTRICT.
public struct ForeignKey: Sendable, Equatable {
    public var name: String
    public var columns: [Int]
    /// The referenced table's name and key columns (a unique key of it).
    public var table: String
    public var referencedColumns: [Int]
    /// RESTRICT rather than NO ACTION (the same while constraints are not deferrable).
    public var restrict: Bool

    public init(name: String, columns: [Int], table: String, referencedColumns: [Int], restrict: Bool) {
        self.name = name
        self.columns = columns
        self.table = table
        self.referencedColumns = referencedColumns
        self.restrict = restrict
    }
}

/// Everything a table declares beyond its columns' names, types and NOT NULL.
public struct TableConstraints: Sendable, Equatable {
    /// Per column, its DEFAULT expression's SQL text (nil: NULL).
    public var defaults: [String?]
    public var keys: [KeyConstraint] = []
    public var checks: [CheckConstraint] = []
    public var foreignKeys: [ForeignKey] = []
    /// Columns `GENERATED ALWAYS AS IDENTITY` (an INSERT may not give them a value).
    public var alwaysGenerated: [Int] = []

    public init(columns: Int) { defaults = Array(repeating: nil, count: columns) }

    public var isEmpty: Bool { defaults.allSatisfy { $0 == nil } && keys.isEmpty && checks.isEmpty && foreignKeys.isEmpty && alwaysGenerated.isEmpty }
    public var primaryKey: KeyConstraint? { keys.first { $0.kind == .primaryKey } }

    /// Every name a constraint or index of the table uses.
    public var names: [String] { keys.map(\.name) + checks.map(\.name) + foreignKeys.map(\.name) }

    func encode(into writer: inout BinaryWriter) {
        writer.u32(UInt32(defaults.count))
        for value in defaults { writer.optionalString(value) }
        writer.u32(UInt32(keys.count))
        for key in keys {
            writer.string(key.name)
            writer.u8(key.kind.rawValue)
            writer.u32(UInt32(key.columns.count))
            for column in key.columns { writer.u32(UInt32(column)) }
        }
        writer.u32(UInt32(checks.count))
        for check in checks {
            writer.string(check.name)
            writer.string(check.text)
        }
        writer.u32(UInt32(foreignKeys.count))
        for key in foreignKeys {
            writer.string(key.name)
            writer.u32(UInt32(key.columns.count))
            for column in key.columns { writer.u32(UInt32(column)) }
            writer.string(key.table)
            for column in key.referencedColumns { writer.u32(UInt32(column)) }
            writer.bool(key.restrict)
        }
        writer.u32(UInt32(alwaysGenerated.count))
        for column in alwaysGenerated { writer.u32(UInt32(column)) }
    }

    static func decode(_ reader: inout BinaryReader, columns: Int) throws(DatabaseError) -> TableConstraints {
        var constraints = TableConstraints(columns: columns)
        func column(_ reader: inout BinaryReader) throws(DatabaseError) -> Int {
            let value = Int(try reader.u32())
            guard value < columns else { throw reader.corrupted("a constraint names column \(value) of a table with \(columns)") }
            return value
        }
        guard Int(try reader.u32()) == columns else { throw reader.corrupted("a table's defaults do not match its columns") }
        for index in 0..<columns { constraints.defaults[index] = try reader.optionalString() }
        for _ in 0..<Int(try reader.u32()) {
            let name = try reader.string()
            guard let kind = KeyConstraint.Kind(rawValue: try reader.u8()) else { throw reader.corrupted("an unknown kind of key") }
            var keyColumns: [Int] = []
            for _ in 0..<Int(try reader.u32()) { keyColumns.append(try column(&reader)) }
            constraints.keys.append(KeyConstraint(name: name, columns: keyColumns, kind: kind))
        }
        for _ in 0..<Int(try reader.u32()) {
            constraints.checks.append(CheckConstraint(name: try reader.string(), text: try reader.string()))
        }
        for _ in 0..<Int(try reader.u32()) {
            let name = try reader.string()
            var keyColumns: [Int] = []
            for _ in 0..<Int(try reader.u32()) { keyColumns.append(try column(&reader)) }
            let table = try reader.string()
            var referenced: [Int] = []
            for _ in keyColumns { referenced.append(Int(try reader.u32())) }
            constraints.foreignKeys.append(ForeignKey(name: name, columns: keyColumns, table: table, referencedColumns: referenced, restrict: try reader.bool()))
        }
        for _ in 0..<Int(try reader.u32()) { constraints.alwaysGenerated.append(try column(&reader)) }
        return constraints
    }
}
