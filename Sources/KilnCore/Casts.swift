/// SQL casts between Kiln's types, with PostgreSQL's rules and messages.
///
/// This is the one definition of cast semantics: the binder folds literal casts with it, the
/// interpreter and compiled code call it (through the runtime) for casts that are not inlined.
public enum Casts {
    public static func invalidInput(_ type: SQLType, _ text: String) -> DatabaseError {
        DatabaseError(.invalidTextRepresentation, "invalid input syntax for type \(typeWord(type)): \"\(text)\"")
    }

    static func typeWord(_ type: SQLType) -> String {
        switch type {
        case .double: return "double precision"
        case .numeric, .dynamicNumeric: return "numeric"
        case .varchar: return "character varying"
        case .timestamp: return "timestamp"
        default: return type.description
        }
    }

    static func outOfRange(_ type: SQLType) -> DatabaseError {
        DatabaseError(.numericValueOutOfRange, "\(type == .smallint ? "smallint" : type == .bigint ? "bigint" : "integer") out of range")
    }

    /// Parses text as a value of `type` (the input function of the type).
    public static func parse(_ text: Substring, as type: SQLType) throws(DatabaseError) -> Value {
        switch type {
        case .boolean:
            switch text.trimmingSpaces.lowercased() {
            case "t", "true", "yes", "y", "on", "1", "tr", "tru", "ye": return .bool(true)
            case "f", "false", "no", "n", "off", "0", "fa", "fal", "fals", "of": return .bool(false)
            default: throw invalidInput(type, String(text))
            }
        case .smallint, .integer, .bigint:
            let trimmed = text.trimmingSpaces
            guard let value = Int64(trimmed) else {
                if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }), trimmed.dropFirst().allSatisfy(\.isNumber) {
                    throw DatabaseError(.numericValueOutOfRange, "value \"\(text)\" is out of range for type \(type)")
                }
                throw invalidInput(type, String(text))
            }
            return try fromInt64(value, to: type, text: String(text))
        case .real, .double:
            let trimmed = String(text.trimmingSpaces)
            let lowered = trimmed.lowercased()
            let value: Double
            switch lowered {
            case "nan": value = .nan
            case "infinity", "+infinity", "inf", "+inf": value = .infinity
            case "-infinity", "-inf": value = -.infinity
            default:
                guard let parsed = Double(trimmed), !lowered.contains("x"), !lowered.hasPrefix("nan"), !lowered.contains("inf") else { throw invalidInput(type, String(text)) }
                value = parsed
                if value.isInfinite { throw DatabaseError(.numericValueOutOfRange, "\"\(trimmed)\" is out of range for type \(type)") }
            }
            return type == .real ? .float32(Float(value)) : .float64(value)
        case .numeric, .dynamicNumeric:
            let trimmed = text.trimmingSpaces
            guard let (m, s) = DecimalMath.parse(trimmed) else {
                let shape = trimmed.drop { $0 == "-" || $0 == "+" }
                if !shape.isEmpty, shape.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), shape.filter({ $0 == "." }).count <= 1 {
                    throw DatabaseError(.numericValueOutOfRange, "numeric field overflow")
                }
                throw invalidInput(type, String(text))
            }
            guard case .numeric(let precision, let scale) = type else { return try dynamicNumeric(m, scale: s) }
            return try fitNumeric(m, scale: s, precision: precision, targetScale: scale)
        case .varchar(let n):
            return .text(try fitVarchar(String(text), n))
        case .text, .unknown:
            return .text(String(text))
        case .date:
            if let days = DateMath.parseDate(text) { return .date(days) }
            if DateMath.looksLikeDate(text) {
                throw DatabaseError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
            }
            if let micros = DateMath.parseTimestamp(text) { return .date(Int32((micros - (micros % DateMath.microsPerDay + DateMath.microsPerDay) % DateMath.microsPerDay) / DateMath.microsPerDay)) }
            throw DatabaseError(.invalidDatetimeFormat, "invalid input syntax for type date: \"\(text)\"")
        case .timestamp:
            guard let micros = DateMath.parseTimestamp(text) else {
                if DateMath.looksLikeDate(text.split(separator: " ").first ?? text) {
                    throw DatabaseError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
                }
                throw DatabaseError(.invalidDatetimeFormat, "invalid input syntax for type timestamp: \"\(text)\"")
            }
            return .timestamp(micros)
        case .interval:
            guard let interval = try Interval.parse(text) else {
                throw DatabaseError(.invalidDatetimeFormat, "invalid input syntax for type interval: \"\(text)\"")
            }
            return .interval(interval)
        case .tid:
            guard let id = TupleID.parse(text) else { throw invalidInput(type, String(text)) }
            return .tid(id)
        }
    }

    /// Rounds and range-checks a decimal for NUMERIC(precision, scale).
    public static func fitNumeric(_ mantissa: Int128, scale: Int, precision: Int?, targetScale: Int) throws(DatabaseError) -> Value {
        guard let rescaled = DecimalMath.rescale(mantissa, from: scale, to: targetScale),
              DecimalMath.fits(rescaled, precision: precision) else {
            if let precision {
                throw DatabaseError(.numericValueOutOfRange, "numeric field overflow",
                                    detail: "A field with precision \(precision), scale \(targetScale) must round to an absolute value less than 10^\(precision - targetScale).")
            }
            throw DatabaseError(.numericValueOutOfRange, "value overflows numeric format")
        }
        return .numeric(rescaled, scale: targetScale)
    }

    /// A value of unconstrained `numeric` (`SQLType.dynamicNumeric`): its own scale, checked to
    /// fit the packed form (at most 34 significant digits).
    public static func dynamicNumeric(_ mantissa: Int128, scale: Int) throws(DatabaseError) -> Value {
        _ = try PackedNumeric.pack(mantissa, scale: scale)
        return .numeric(mantissa, scale: scale)
    }

    /// A double as unconstrained `numeric`: PostgreSQL's `float8_numeric` reads the value
    /// printed with 15 significant digits (`%.15g`, DBL_DIG), so 0.1 stays 0.1 and 1/3.0 has
    /// 15 digits. (float4: 6 digits, FLT_DIG.)
    static func floatToDynamicNumeric(_ value: Double, significantDigits: Int) throws(DatabaseError) -> Value {
        guard value.isFinite else { throw DatabaseError(.featureNotSupported, "cannot convert \(value.isNaN ? "NaN" : "infinity") to numeric") }
        guard var (m, s) = DecimalMath.parse(Substring(String(value))) else { throw DatabaseError(.numericValueOutOfRange, "value overflows numeric format") }
        let digits = DecimalMath.digitCount(m.magnitude)
        if m != 0, digits > significantDigits {
            let drop = min(digits - significantDigits, s)
            guard let rounded = DecimalMath.rescale(m, from: s, to: s - drop) else { throw DatabaseError(.numericValueOutOfRange, "value overflows numeric format") }
            (m, s) = (rounded, s - drop)
        }
        // %g drops trailing zeros of the fraction.
        while s > 0, m % 10 == 0 { m /= 10; s -= 1 }
        return try dynamicNumeric(m, scale: s)
    }

    public static func fitVarchar(_ text: String, _ limit: Int?) throws(DatabaseError) -> String {
        guard let limit, text.count > limit else { return text }
        // PostgreSQL truncates trailing spaces silently; anything else is an error on assignment.
        let head = String(text.prefix(limit))
        if text.dropFirst(limit).allSatisfy({ $0 == " " }) { return head }
        throw DatabaseError(.stringDataRightTruncation, "value too long for type character varying(\(limit))")
    }

    static func fromInt64(_ value: Int64, to type: SQLType, text: String? = nil) throws(DatabaseError) -> Value {
        switch type {
        case .smallint:
            guard let v = Int16(exactly: value) else { throw text.map { DatabaseError(.numericValueOutOfRange, "value \"\($0)\" is out of range for type smallint") } ?? outOfRange(.smallint) }
            return .int16(v)
        case .integer:
            guard let v = Int32(exactly: value) else { throw text.map { DatabaseError(.numericValueOutOfRange, "value \"\($0)\" is out of range for type integer") } ?? outOfRange(.integer) }
            return .int32(v)
        default:
            return .int64(value)
        }
    }

    /// Rounds half to even, as PostgreSQL's float -> integer casts (rint).
    static func roundFloat(_ value: Double, to type: SQLType) throws(DatabaseError) -> Value {
        let rounded = value.rounded(.toNearestOrEven)
        guard rounded.isFinite, rounded >= -9.223372036854775808e18, rounded < 9.223372036854775808e18 else { throw outOfRange(type) }
        return try fromInt64(Int64(rounded), to: type)
    }

    /// Casts a value of `from` to `to`.
    public static func cast(_ value: Value, from: SQLType, to: SQLType) throws(DatabaseError) -> Value {
        if value.isNull { return .null }
        if from == to { return value }
        switch value {
        case .text(let s):
            return try parse(Substring(s), as: to)
        case .bool(let b):
            switch to {
            case .integer: return .int32(b ? 1 : 0)
            case .text, .varchar: return .text(b ? "true" : "false")
            default: break
            }
        case .int16(let v): return try castInteger(Int64(v), to: to)
        case .int32(let v): return try castInteger(Int64(v), to: to)
        case .int64(let v): return try castInteger(v, to: to)
        case .float32(let v):
            if to.isString { return .text(value.text!) }
            if to == .dynamicNumeric { return try floatToDynamicNumeric(Double(v), significantDigits: 6) }
            return try castFloat(Double(v), to: to)
        case .float64(let v):
            if to.isString { return .text(value.text!) }
            return try castFloat(v, to: to)
        case .numeric(let m, let s):
            switch to {
            case .smallint, .integer, .bigint:
                guard let rounded = DecimalMath.rescale(m, from: s, to: 0), let v = Int64(exactly: rounded) else { throw outOfRange(to) }
                return try fromInt64(v, to: to)
            case .real: return .float32(Float(DecimalMath.toDouble(m, scale: s)))
            case .double: return .float64(DecimalMath.toDouble(m, scale: s))
            case .numeric(let p, let targetScale): return try fitNumeric(m, scale: s, precision: p, targetScale: targetScale)
            case .dynamicNumeric: return try dynamicNumeric(m, scale: s)
            case .text: return .text(value.text!)
            case .varchar(let n): return .text(try fitVarchar(value.text!, n))
            default: break
            }
        case .date(let d):
            switch to {
            case .timestamp: return .timestamp(Int64(d) * DateMath.microsPerDay)
            case .text: return .text(value.text!)
            case .varchar(let n): return .text(try fitVarchar(value.text!, n))
            default: break
            }
        case .timestamp(let t):
            switch to {
            case .date:
                var day = t / DateMath.microsPerDay
                if t % DateMath.microsPerDay < 0 { day -= 1 }
                return .date(Int32(day))
            case .text: return .text(value.text!)
            case .varchar(let n): return .text(try fitVarchar(value.text!, n))
            default: break
            }
        case .interval, .tid:
            if to.isString { return .text(value.text!) }
        case .null: return .null
        }
        throw DatabaseError(.cannotCoerce, "cannot cast type \(from) to \(to)")
    }

    static func castInteger(_ v: Int64, to: SQLType) throws(DatabaseError) -> Value {
        switch to {
        case .smallint, .integer, .bigint: return try fromInt64(v, to: to)
        case .real: return .float32(Float(v))
        case .double: return .float64(Double(v))
        case .numeric(let p, let s): return try fitNumeric(Int128(v), scale: 0, precision: p, targetScale: s)
        case .dynamicNumeric: return .numeric(Int128(v), scale: 0)
        case .boolean: return .bool(v != 0)
        case .text: return .text(String(v))
        case .varchar(let n): return .text(try fitVarchar(String(v), n))
        default: throw DatabaseError(.cannotCoerce, "cannot cast type integer to \(to)")
        }
    }

    static func castFloat(_ v: Double, to: SQLType) throws(DatabaseError) -> Value {
        switch to {
        case .smallint, .integer, .bigint: return try roundFloat(v, to: to)
        case .real:
            let f = Float(v)
            if f.isInfinite && v.isFinite { throw DatabaseError(.numericValueOutOfRange, "value out of range: overflow") }
            return .float32(f)
        case .double: return .float64(v)
        case .numeric(let p, let s):
            guard v.isFinite else { throw DatabaseError(.featureNotSupported, "cannot convert \(v.isNaN ? "NaN" : "infinity") to numeric") }
            guard let m = DecimalMath.fromDouble(v, scale: s) else { throw DatabaseError(.numericValueOutOfRange, "numeric field overflow") }
            return try fitNumeric(m, scale: s, precision: p, targetScale: s)
        case .dynamicNumeric: return try floatToDynamicNumeric(v, significantDigits: 15)
        default: throw DatabaseError(.cannotCoerce, "cannot cast type double precision to \(to)")
        }
    }
}
