import KilnCore
import KilnStorage

extension Database {
    /// Runs a query and returns its rows with their column names.
    public func rows(_ sql: String, _ parameters: [Value] = []) throws(DatabaseError) -> [Row] {
        guard let result = try execute(sql, parameters).last else { return [] }
        return result.rows.map { Row(columns: result.columns, values: $0) }
    }

    /// Runs a query and converts each row to a tuple of Swift types:
    /// `try db.query("SELECT k, v FROM t", as: (Int32, Double?).self)`.
    public func query<each T: SQLValueConvertible>(_ sql: String, _ parameters: [Value] = [], as types: (repeat each T).Type) throws(DatabaseError) -> [(repeat each T)] {
        var result: [(repeat each T)] = []
        for row in try rows(sql, parameters) {
            var index = 0
            func next<U: SQLValueConvertible>(_ type: U.Type) throws(DatabaseError) -> U {
                defer { index += 1 }
                return try row.get(index, as: U.self)
            }
            result.append((repeat try next((each T).self)))
        }
        return result
    }

    /// Runs a query and decodes each row into `T`, matching property names to column names.
    public func query<T: Decodable>(_ sql: String, _ parameters: [Value] = [], decoding type: T.Type) throws(DatabaseError) -> [T] {
        var decoded: [T] = []
        for row in try rows(sql, parameters) {
            do {
                decoded.append(try T(from: RowDecoder(row: row)))
            } catch let error as DatabaseError {
                throw error
            } catch {
                throw DatabaseError(.invalidParameterValue, "could not decode \(T.self): \(error)")
            }
        }
        return decoded
    }

    /// Reads a fixed-width column of a table in place, one contiguous chunk per segment.
    ///
    /// `body` gets the values and a validity check for each chunk; the buffers are valid only
    /// during the call (no copy is made).
    /// - Throws: 42P01/42703 for unknown names; 42804 when `T` does not match the column's
    ///   storage (Int32 for INTEGER/DATE, Int64 for BIGINT/TIMESTAMP, Double, Float, Int16,
    ///   UInt8 for BOOLEAN).
    public func withColumn<T>(table name: String, column: String, as type: T.Type,
                              _ body: (UnsafeBufferPointer<T>, (Int) -> Bool) throws -> Void) throws {
        guard let table = catalog.table(name) else { throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist") }
        guard let index = table.columnIndex(column) else {
            throw DatabaseError(.undefinedColumn, "column \"\(column)\" of relation \"\(name)\" does not exist")
        }
        let physical = table.columns[index].type.physical
        let matches: Bool
        switch physical {
        case .bool: matches = T.self == UInt8.self
        case .int16: matches = T.self == Int16.self
        case .int32: matches = T.self == Int32.self
        case .int64: matches = T.self == Int64.self
        case .float32: matches = T.self == Float.self
        case .float64: matches = T.self == Double.self
        case .int128, .string: matches = false
        }
        guard matches else {
            throw DatabaseError(.datatypeMismatch, "column \"\(column)\" is \(table.columns[index].type) and cannot be read as \(T.self)")
        }
        try table.load(columns: [index])
        for segment in table.segments {
            let data = segment.columns[index]
            // safe because the segment's array holds `count` values of T and outlives the call.
            let buffer = UnsafeBufferPointer(start: data.values.assumingMemoryBound(to: T.self), count: segment.count)
            try body(buffer) { data.isValid($0) }
        }
    }
}
