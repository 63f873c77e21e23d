import Glibc

/// PostgreSQL's mathematical functions: the double precision ones (`math_<name>`, with
/// PostgreSQL's errors for arguments out of their domain and results out of range), and the
/// exact numeric ones (`numeric_<name>`: floor, ceil, trunc, sign, sqrt at PostgreSQL's scale).
extension SQLState {
    public static let invalidArgumentForLogarithm = SQLState("2201E")
}

extension ScalarFunctions {
    /// Functions of this file; nil when `name` is none of them.
    static func mathFunction(_ name: String, _ args: [Value], resultType: SQLType) throws(DatabaseError) -> Value? {
        // random(): uniform in [0, 1), from the system's generator (no setseed yet).
        if name == "random" { return .float64(Double.random(in: 0..<1)) }
        if name.hasPrefix("math_") {
            guard case .float64(let x) = args[0] else { return .null }
            return .float64(try doubleFunction(String(name.dropFirst(5)), x))
        }
        guard name.hasPrefix("numeric_") else { return nil }
        guard case .numeric(let m, let s) = args[0] else { return .null }
        switch name {
        case "numeric_floor", "numeric_ceil", "numeric_trunc":
            // trunc(x, n): n digits after the point (before it when negative).
            var digits = 0
            if args.count > 1 {
                guard case .int32(let n) = args[1] else { return .null }
                digits = Int(n)
            }
            let scale = max(digits, 0)
            if digits >= s {
                // Nothing to cut: the value at the result's scale (trunc(1.5, 3) is 1.500).
                guard let value = DecimalMath.rescale(m, from: s, to: scale) else { throw DatabaseError.numericOutOfRange("numeric") }
                return try typedDecimal(value, scale: scale, as: resultType)
            }
            let cut = s - digits
            var (q, remainder) = cut > DecimalMath.maxPrecision ? (0, m) : m.quotientAndRemainder(dividingBy: DecimalMath.pow10(cut))
            if name == "numeric_floor", remainder < 0 { q -= 1 }
            if name == "numeric_ceil", remainder > 0 { q += 1 }
            // Digits before the point (n < 0) come back as zeros.
            guard -digits <= DecimalMath.maxPrecision, case (let value, false) = q.multipliedReportingOverflow(by: DecimalMath.pow10(max(0, -digits))) else {
                if q == 0 { return try typedDecimal(0, scale: scale, as: resultType) }
                throw DatabaseError.numericOutOfRange("numeric")
            }
            return try typedDecimal(value, scale: scale, as: resultType)
        case "numeric_sign":
            return try typedDecimal(m > 0 ? 1 : m < 0 ? -1 : 0, scale: 0, as: resultType)
        case "numeric_sqrt":
            guard m >= 0 else { throw DatabaseError(.invalidArgumentForPower, "cannot take square root of a negative number") }
            // PostgreSQL's numeric_sqrt: at least 16 significant digits, from the argument's
            // leading base-10000 digit group, and at least its own scale.
            let weight = PackedNumeric.leadingGroup(m, scale: s).weight
            let scale = max(16 - (2 * weight + 1), s, 0)
            guard scale + 2 <= DecimalMath.maxPrecision, let value = DecimalMath.rescale(m, from: s, to: scale) else {
                throw DatabaseError.numericOutOfRange("numeric")
            }
            return try typedDecimal(try DecimalMath.squareRoot(value, scale: scale), scale: scale, as: resultType)
        default:
            return nil
        }
    }

    /// A double precision function of `x`, as PostgreSQL's float8 functions.
    static func doubleFunction(_ name: String, _ x: Double) throws(DatabaseError) -> Double {
        func checked(_ result: Double) throws(DatabaseError) -> Double {
            if result.isInfinite, x.isFinite { throw DatabaseError(.numericValueOutOfRange, "value out of range: overflow") }
            if result == 0, x != 0, name == "exp" { throw DatabaseError(.numericValueOutOfRange, "value out of range: underflow") }
            return result
        }
        switch name {
        case "round": return x.rounded(.toNearestOrEven)
        case "floor": return x.rounded(.down)
        case "ceil": return x.rounded(.up)
        case "trunc": return x.rounded(.towardZero)
        case "sign": return x > 0 ? 1 : x < 0 ? -1 : 0
        case "sqrt":
            guard x >= 0 || x.isNaN else { throw DatabaseError(.invalidArgumentForPower, "cannot take square root of a negative number") }
            return x.squareRoot()
        case "cbrt": return Glibc.cbrt(x)
        case "exp": return try checked(Glibc.exp(x))
        case "ln", "log":
            if x == 0 { throw DatabaseError(.invalidArgumentForLogarithm, "cannot take logarithm of zero") }
            if x < 0 { throw DatabaseError(.invalidArgumentForLogarithm, "cannot take logarithm of a negative number") }
            return name == "ln" ? Glibc.log(x) : Glibc.log10(x)
        case "degrees": return try checked(x * (180 / Double.pi))
        case "radians": return x * (Double.pi / 180)
        case "sin", "cos", "tan":
            guard x.isFinite else { throw DatabaseError(.numericValueOutOfRange, "input is out of range") }
            return name == "sin" ? Glibc.sin(x) : name == "cos" ? Glibc.cos(x) : Glibc.tan(x)
        case "asin", "acos":
            guard x >= -1, x <= 1 else { throw DatabaseError(.numericValueOutOfRange, "input is out of range") }
            return name == "asin" ? Glibc.asin(x) : Glibc.acos(x)
        case "atan": return Glibc.atan(x)
        default: throw DatabaseError(.undefinedFunction, "function \(name) is not implemented in the runtime")
        }
    }
}
