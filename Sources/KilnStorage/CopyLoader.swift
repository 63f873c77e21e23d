import KilnCore

/// Writes COPY records into a table. Each target column's conversion is chosen once, when the
/// load starts (`Conversion`), and values go straight into the current segment's column arrays
/// through pointers cached per segment: no `SQLType` switch, no `Value`, no reference counting
/// per field. Anything unusual in a field (rounding, exponents, `NaN`, over-long text) goes
/// through `Casts.parse`, the types' one input function, so errors and edge cases are exactly
/// PostgreSQL's.
public final class CopyLoader {
    /// How a column's text becomes its physical value.
    enum Conversion: UInt8 {
        case smallint, integer, bigint, real, double
        /// `numeric(p, s)` with p <= 18: the mantissa is parsed as an `Int64`.
        case shortDecimal
        case decimal, date, timestamp, text, varchar
        /// Unconstrained `numeric`: the field's own scale, packed (`PackedNumeric`).
        case packedDecimal
        /// Everything else (boolean, interval, ...): `Casts.parse`.
        case general
    }

    /// One target column, plain data so the per-field loop copies it without reference counting.
    struct Target {
        var conversion: Conversion
        /// The table column this field fills.
        var column: Int
        var scale: Int
        /// Exclusive bound on a decimal mantissa's magnitude (10^precision); the varchar limit.
        var limit: Int128
        var width: Int
        var values: UnsafeMutableRawPointer
        var validity: UnsafeMutablePointer<UInt64>
    }

    let table: Table
    let tableName: String
    let arena: StringArena
    var targets: UnsafeMutableBufferPointer<Target>
    /// Table columns that no field fills: NULL in every row.
    let untargeted: [Int]
    var segment: Segment
    var row = 0
    /// Rows this load appended, and the table's size before it (for the undo).
    public private(set) var count = 0
    let rowsBefore: Int

    /// - Parameters:
    ///   - columns: the table column each field fills, in field order.
    ///   - name: the table's name as the statement spelled it (for error context).
    public init(table: Table, columns: [Int], name: String) {
        self.table = table
        tableName = name
        arena = table.arena
        rowsBefore = table.rowCount
        untargeted = table.columns.indices.filter { !columns.contains($0) }
        segment = table.writableSegment(reserving: 1 << 16)
        targets = .allocate(capacity: columns.count)
        for (index, column) in columns.enumerated() {
            var target = Target(conversion: .general, column: column, scale: 0, limit: 0, width: 0,
                                values: segment.columns[column].values, validity: segment.columns[column].validity)
            switch table.columns[column].type {
            case .smallint: target.conversion = .smallint
            case .integer: target.conversion = .integer
            case .bigint: target.conversion = .bigint
            case .real: target.conversion = .real
            case .double: target.conversion = .double
            case .numeric(let precision, let scale):
                target.scale = scale
                target.limit = DecimalMath.pow10(precision ?? 38)
                target.conversion = (precision ?? 38) <= 18 ? .shortDecimal : .decimal
            case .dynamicNumeric: target.conversion = .packedDecimal
            case .date: target.conversion = .date
            case .timestamp: target.conversion = .timestamp
            case .text, .unknown: target.conversion = .text
            case .varchar(let limit):
                if let limit {
                    target.conversion = .varchar
                    target.limit = Int128(limit)
                } else {
                    target.conversion = .text
                }
            default: target.conversion = .general
            }
            targets[index] = target
        }
        row = segment.count
        refreshPointers()
    }

    deinit { targets.deallocate() }

    /// Re-reads the column arrays' addresses (after the segment grew or was replaced) and marks
    /// the free rows of the target columns valid ahead: a NULL field clears its bit, so the
    /// per-field loop writes no validity. (Every writer of a row sets or clears its bit, so the
    /// bits of rows past `count` mean nothing.)
    func refreshPointers() {
        let firstWord = (segment.count + 63) / 64
        let words = (segment.capacity + 63) / 64
        for index in targets.indices {
            let data = segment.columns[targets[index].column]
            targets[index].values = data.values
            targets[index].validity = data.validity
            targets[index].width = data.width
            for row in segment.count..<min(segment.capacity, firstWord * 64) { data.setValid(row) }
            if words > firstWord { (data.validity + firstWord).update(repeating: ~0, count: words - firstWord) }
        }
    }

    /// Makes room for one more row: grows the segment (towards what the rest of the input is
    /// expected to hold, when the reader knows its size) or starts a new one.
    func makeRoom(expectedRemaining: Int) {
        if segment.capacity < Table.segmentCapacity {
            segment.reserve(min(Table.segmentCapacity, max(segment.capacity * 2, segment.count + expectedRemaining)))
        }
        if segment.count >= segment.capacity {
            segment = table.writableSegment(reserving: max(1 << 16, min(Table.segmentCapacity, expectedRemaining)))
        }
        row = segment.count
        refreshPointers()
    }

    /// Appends the reader's current record; on error the table still holds the rows appended
    /// before (call `undo`).
    @inline(__always)
    public func append(_ reader: CopyReader) throws(DatabaseError) {
        let fields = reader.fieldCount
        if fields != targets.count {
            let message = fields < targets.count
                ? "missing data for column \"\(table.columns[targets[fields].column].name)\""
                : "extra data after last expected column"
            throw located(DatabaseError(.badCopyFileFormat, message), reader: reader, field: nil)
        }
        if segment.count >= segment.capacity { makeRoom(expectedRemaining: reader.expectedRemainingRecords) }
        let row = segment.count
        for index in 0..<fields {
            let target = targets[index]
            if reader.isNull(index) {
                try setNull(target.column, row: row, reader: reader, field: index)
                continue
            }
            let bytes = reader.field(index)
            if store(bytes, target, row: row) { continue }
            do throws(DatabaseError) {
                try storeGeneral(bytes, column: target.column, row: row)
            } catch {
                throw located(error, reader: reader, field: index)
            }
        }
        for column in untargeted { try setNull(column, row: row, reader: reader, field: nil) }
        segment.count = row + 1
        count += 1
    }

    /// The fast conversions; false when the field needs the general path.
    @inline(__always)
    func store(_ bytes: UnsafeBufferPointer<UInt8>, _ target: Target, row: Int) -> Bool {
        let destination = target.values + row &* target.width
        switch target.conversion {
        case .smallint:
            guard let v = FieldParser.integer(bytes), let x = Int16(exactly: v) else { return false }
            destination.storeBytes(of: x, as: Int16.self)
        case .integer:
            guard let v = FieldParser.integer(bytes), let x = Int32(exactly: v) else { return false }
            destination.storeBytes(of: x, as: Int32.self)
        case .bigint:
            guard let v = FieldParser.integer(bytes) else { return false }
            destination.storeBytes(of: v, as: Int64.self)
        case .double:
            guard let v = FieldParser.double(bytes) else { return false }
            destination.storeBytes(of: v, as: Double.self)
        case .real:
            guard let v = FieldParser.double(bytes) else { return false }
            destination.storeBytes(of: Float(v), as: Float.self)
        case .shortDecimal:
            guard let v = FieldParser.shortDecimal(bytes, scale: target.scale), Int128(v.magnitude) < target.limit else { return false }
            destination.storeBytes(of: Int128(v), as: Int128.self)
        case .decimal:
            guard let v = FieldParser.decimal(bytes, scale: target.scale), Int128(v.magnitude) < target.limit else { return false }
            destination.storeBytes(of: v, as: Int128.self)
        case .packedDecimal:
            // Unconstrained numeric: the field's own scale, packed (anything unusual, or more
            // than 34 digits, takes the input function and its errors).
            let fraction = bytes.firstIndex(of: UInt8(ascii: ".")).map { bytes.count - $0 - 1 } ?? 0
            guard let v = FieldParser.decimal(bytes, scale: fraction), let packed = try? PackedNumeric.pack(v, scale: fraction) else { return false }
            destination.storeBytes(of: packed, as: Int128.self)
        case .date:
            guard let d = FieldParser.date(bytes) else { return false }
            destination.storeBytes(of: d, as: Int32.self)
        case .timestamp:
            guard let t = FieldParser.timestamp(bytes) else { return false }
            destination.storeBytes(of: t, as: Int64.self)
        case .varchar:
            // Bytes bound characters from above: only long fields need counting.
            if Int128(bytes.count) > target.limit, Int128(FieldParser.characterCount(bytes)) > target.limit { return false }
            destination.storeBytes(of: KilnString.make(UnsafeRawBufferPointer(bytes), arena: arena), as: Int128.self)
        case .text:
            destination.storeBytes(of: KilnString.make(UnsafeRawBufferPointer(bytes), arena: arena), as: Int128.self)
        case .general:
            return false
        }
        return true
    }

    /// PostgreSQL's input function for the column's type, with its errors (sets validity).
    func storeGeneral(_ bytes: UnsafeBufferPointer<UInt8>, column: Int, row: Int) throws(DatabaseError) {
        let type = table.columns[column].type
        let value = try Casts.parse(Substring(String(decoding: bytes, as: UTF8.self)), as: type)
        if value.isNull {
            if table.columns[column].notNull { throw table.notNullViolation(table.columns[column]) }
            segment.columns[column].setRaw(row, from: nil)
            return
        }
        segment.columns[column].set(row, value, arena: arena)
    }

    func setNull(_ column: Int, row: Int, reader: CopyReader, field: Int?) throws(DatabaseError) {
        if table.columns[column].notNull {
            throw located(table.notNullViolation(table.columns[column]), reader: reader, field: field)
        }
        segment.columns[column].setRaw(row, from: nil)
    }

    /// The error with the file's line and, when known, the column and its text.
    func located(_ error: DatabaseError, reader: CopyReader, field: Int?) -> DatabaseError {
        var located = error
        located.line = reader.recordLine
        var context = "COPY \(tableName), line \(reader.recordLine)"
        if let field {
            context += ", column \(table.columns[targets[field].column].name): \"\(reader.string(field))\""
        }
        located.context = context
        return located
    }

    /// Removes every row this load appended.
    public func undo() {
        table.truncate(to: rowsBefore)
    }
}
