import KilnCore

/// How catalog objects are written in WAL records and checkpoint metadata (one encoding for both).
enum CatalogCoding {
    static func encode(table: Table, into writer: inout BinaryWriter) {
        writer.i32(table.oid)
        writer.string(table.name)
        writer.u32(UInt32(table.columns.count))
        for column in table.columns {
            writer.string(column.name)
            writer.type(column.type)
            writer.bool(column.notNull)
        }
    }

    static func decodeTable(_ reader: inout BinaryReader) throws(DatabaseError) -> (oid: Int32, table: Table) {
        let oid = try reader.i32()
        let name = try reader.string()
        let count = Int(try reader.u32())
        var columns: [ColumnInfo] = []
        for _ in 0..<count {
            let columnName = try reader.string()
            let type = try reader.type()
            columns.append(ColumnInfo(name: columnName, type: type, notNull: try reader.bool()))
        }
        return (oid, Table(name: name, columns: columns))
    }

    static func encode(view: View, into writer: inout BinaryWriter) {
        writer.i32(view.oid)
        writer.string(view.name)
        writer.bool(view.columns != nil)
        if let columns = view.columns {
            writer.u32(UInt32(columns.count))
            for column in columns { writer.string(column) }
        }
        writer.string(view.definition)
        writer.u32(UInt32(view.columnNames.count))
        for (name, type) in zip(view.columnNames, view.columnTypes) {
            writer.string(name)
            writer.type(type)
        }
    }

    static func decodeView(_ reader: inout BinaryReader) throws(DatabaseError) -> StoredView {
        let oid = try reader.i32()
        let name = try reader.string()
        var columns: [String]?
        if try reader.bool() {
            var list: [String] = []
            for _ in 0..<Int(try reader.u32()) { list.append(try reader.string()) }
            columns = list
        }
        let definition = try reader.string()
        var names: [String] = [], types: [SQLType] = []
        for _ in 0..<Int(try reader.u32()) {
            names.append(try reader.string())
            types.append(try reader.type())
        }
        return StoredView(oid: oid, name: name, columns: columns, definition: definition, columnNames: names, columnTypes: types)
    }

    static func encode(role: Role, into writer: inout BinaryWriter) {
        writer.i32(role.oid)
        writer.string(role.name)
        writer.optionalString(role.passwordVerifier)
        writer.bool(role.canLogin)
        writer.bool(role.isSuperuser)
    }

    static func decodeRole(_ reader: inout BinaryReader) throws(DatabaseError) -> Role {
        let oid = try reader.i32()
        var role = Role(name: try reader.string(), passwordVerifier: try reader.optionalString(), canLogin: try reader.bool(), isSuperuser: try reader.bool())
        role.oid = oid
        return role
    }

    /// A statistics value: a presence flag, then the text or the 16-byte physical cell.
    static func encode(_ value: Value?, type: SQLType, into writer: inout BinaryWriter) {
        guard let value, !value.isNull else { return writer.bool(false) }
        writer.bool(true)
        if type.physical == .string {
            if case .text(let text) = value { writer.string(text) } else { writer.string("") }
            return
        }
        var cell = Int128(0)
        withUnsafeMutableBytes(of: &cell) { ValueCodec.store(value, as: type, at: $0.baseAddress!, arena: scratchArena) }
        withUnsafeBytes(of: cell) { writer.raw($0) }
    }

    static func decodeValue(_ reader: inout BinaryReader, type: SQLType) throws(DatabaseError) -> Value? {
        guard try reader.bool() else { return nil }
        if type.physical == .string { return .text(try reader.string()) }
        let bytes = try reader.bytes(16)
        return ValueCodec.load(type, at: bytes.baseAddress!)
    }

    static func encode(_ statistics: TableStatistics?, table: Table, into writer: inout BinaryWriter) {
        guard let statistics, statistics.columns.count == table.columns.count else { return writer.bool(false) }
        writer.bool(true)
        writer.int(statistics.rows)
        for (column, info) in zip(statistics.columns, table.columns) {
            writer.double(column.distinct)
            writer.double(column.nullFraction)
            encode(column.min, type: info.type, into: &writer)
            encode(column.max, type: info.type, into: &writer)
        }
    }

    static func decodeStatistics(_ reader: inout BinaryReader, table: Table) throws(DatabaseError) -> TableStatistics? {
        guard try reader.bool() else { return nil }
        let rows = try reader.int()
        var columns: [ColumnStatistics] = []
        for info in table.columns {
            let distinct = try reader.double()
            let nullFraction = try reader.double()
            let low = try decodeValue(&reader, type: info.type)
            let high = try decodeValue(&reader, type: info.type)
            columns.append(ColumnStatistics(distinct: distinct, nullFraction: nullFraction, min: low, max: high))
        }
        return TableStatistics(rows: rows, columns: columns)
    }

    static func encode(_ extent: ColumnExtent, into writer: inout BinaryWriter) {
        writer.int(extent.offset)
        writer.int(extent.length)
        writer.u32(extent.checksum)
        writer.int(extent.rows)
        writer.int(extent.nullCount)
        writer.u8(extent.codec)
        writer.int(extent.validityOffset)
        writer.bool(extent.longStrings)
        writer.bool(extent.minimum != nil)
        if let minimum = extent.minimum, let maximum = extent.maximum {
            withUnsafeBytes(of: minimum) { writer.raw($0) }
            withUnsafeBytes(of: maximum) { writer.raw($0) }
        }
        writer.u32(UInt32(extent.blockChecksums.count))
        for checksum in extent.blockChecksums { writer.u32(checksum) }
    }

    /// - Parameter version: the metadata's version (block checksums since 4).
    static func decodeExtent(_ reader: inout BinaryReader, version: UInt32) throws(DatabaseError) -> ColumnExtent {
        var extent = ColumnExtent(offset: try reader.int(), length: try reader.int(), checksum: try reader.u32(), rows: try reader.int(),
                                  nullCount: try reader.int(), codec: try reader.u8(), validityOffset: try reader.int(),
                                  longStrings: try reader.bool(), minimum: nil, maximum: nil)
        if try reader.bool() {
            extent.minimum = try reader.bytes(16).loadUnaligned(as: Int128.self)
            extent.maximum = try reader.bytes(16).loadUnaligned(as: Int128.self)
        }
        if version >= 4 {
            let blocks = Int(try reader.u32())
            guard blocks == (extent.length + ColumnExtent.checksumBlock - 1) / ColumnExtent.checksumBlock || blocks == 0 else {
                throw reader.corrupted("a column extent's block checksums do not match its length")
            }
            extent.blockChecksums.reserveCapacity(blocks)
            for _ in 0..<blocks { extent.blockChecksums.append(try reader.u32()) }
        }
        return extent
    }

    /// Never used for strings (their statistics values are written as text).
    static let scratchArena = StringArena()
}

/// A view as a database directory keeps it: its SQL text, parsed again when the database opens.
public struct StoredView: Sendable {
    public let oid: Int32
    public let name: String
    public let columns: [String]?
    public let definition: String
    public let columnNames: [String]
    public let columnTypes: [SQLType]

    /// The catalog's view, given the parsed query.
    public func view(query: any Sendable) -> View {
        var view = View(name: name, columns: columns, query: query, columnNames: columnNames, columnTypes: columnTypes, definition: definition)
        view.oid = oid
        return view
    }
}
