import KilnCore

/// One result row: values by position or by column name.
public struct Row: Sendable, CustomStringConvertible {
    public let columns: [QueryResult.Column]
    public let values: [Value]

    public subscript(index: Int) -> Value { values[index] }

    /// The value of the first column named `name` (nil when there is none).
    public subscript(name: String) -> Value? {
        columns.firstIndex { $0.name == name }.map { values[$0] }
    }

    /// The value at `index` converted to `T`.
    /// - Throws: `DatabaseError` 22023 when the value does not convert (NULL into a non-optional,
    ///   out-of-range integers, a string where a number is expected).
    public func get<T: SQLValueConvertible>(_ index: Int, as type: T.Type = T.self) throws(DatabaseError) -> T {
        guard index < values.count else {
            throw DatabaseError(.invalidParameterValue, "row has \(values.count) columns; there is no column \(index)")
        }
        return try T.convert(values[index], column: columns[index].name)
    }

    public var description: String { values.map(\.description).joined(separator: "|") }
}

/// A Swift type that a SQL value converts to (for typed rows and `Decodable`).
public protocol SQLValueConvertible {
    /// Converts `value`, or throws a 22023 error naming `column`.
    static func convert(_ value: Value, column: String) throws(DatabaseError) -> Self
}

func conversionError(_ value: Value, _ type: Any.Type, _ column: String) -> DatabaseError {
    DatabaseError(.invalidParameterValue, value.isNull ? "column \"\(column)\" is NULL; read it as an Optional" : "column \"\(column)\": cannot convert \(value) to \(type)")
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Self {
        if value.isNull { return .none }
        return .some(try Wrapped.convert(value, column: column))
    }
}

extension Int64: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Int64 {
        switch value {
        case .int16(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .int64(let v): return v
        case .numeric(let m, let s):
            if let integral = DecimalMath.rescale(m, from: s, to: 0), DecimalMath.rescale(integral, from: 0, to: s) == m, let v = Int64(exactly: integral) { return v }
        default: break
        }
        throw conversionError(value, Int64.self, column)
    }
}

extension Int: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Int { Int(try Int64.convert(value, column: column)) }
}

extension Int32: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Int32 {
        guard let v = Int32(exactly: try Int64.convert(value, column: column)) else { throw conversionError(value, Int32.self, column) }
        return v
    }
}

extension Int16: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Int16 {
        guard let v = Int16(exactly: try Int64.convert(value, column: column)) else { throw conversionError(value, Int16.self, column) }
        return v
    }
}

extension Double: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Double {
        switch value {
        case .float64(let v): return v
        case .float32(let v): return Double(v)
        case .int16(let v): return Double(v)
        case .int32(let v): return Double(v)
        case .int64(let v): return Double(v)
        case .numeric(let m, let s): return DecimalMath.toDouble(m, scale: s)
        default: throw conversionError(value, Double.self, column)
        }
    }
}

extension Float: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Float {
        if case .float32(let v) = value { return v }
        return Float(try Double.convert(value, column: column))
    }
}

extension Bool: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Bool {
        guard case .bool(let b) = value else { throw conversionError(value, Bool.self, column) }
        return b
    }
}

extension String: SQLValueConvertible {
    /// Any non-NULL value converts to its PostgreSQL text form.
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> String {
        guard let text = value.text else { throw conversionError(value, String.self, column) }
        return text
    }
}

extension Value: SQLValueConvertible {
    public static func convert(_ value: Value, column: String) throws(DatabaseError) -> Value { value }
}
