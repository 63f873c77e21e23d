import Glibc

/// PostgreSQL's mathematical functions: the double precision ones (`math_<name>`, with
/// PostgreSQL's errors for arguments out of their domain and results out of range), and the
/// exact numeric ones (`numeric_<name>`: floor, ceil, trunc, sign, sqrt at PostgreSQL's scale).
extension SQLState {
    public static let invalidArgumentForLogarithm = SQLState("2201E")
    public static let invalidArgumentForWidthBucket = SQLState("2201G")
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
        switch name {
        case "int_gcd", "int_lcm":
            guard let a = args[0].integerValue, let b = args[1].integerValue else { return .null }
            return try integerGCD(a, b, least: name == "int_lcm", type: resultType)
        case "width_bucket_float":
            guard case .float64(let x) = args[0], case .float64(let low) = args[1], case .float64(let high) = args[2], case .int32(let count) = args[3] else { return .null }
            return .int32(try widthBucket(x, low, high, count))
        case "width_bucket_numeric":
            guard case .numeric(let x, let sx) = args[0], case .numeric(let l, let sl) = args[1], case .numeric(let h, let sh) = args[2], case .int32(let count) = args[3] else { return .null }
            return .int32(try widthBucket(x, sx, l, sl, h, sh, count))
        case "numeric_gcd", "numeric_lcm":
            guard case .numeric(let a, let sa) = args[0], case .numeric(let b, let sb) = args[1] else { return .null }
            let scale = max(sa, sb)
            guard let x = DecimalMath.rescale(a, from: sa, to: scale), let y = DecimalMath.rescale(b, from: sb, to: scale) else {
                throw DatabaseError.numericOutOfRange("numeric")
            }
            guard let result = divisorOrMultiple(x.magnitude, y.magnitude, least: name == "numeric_lcm"), let value = Int128(exactly: result) else {
                throw DatabaseError.numericOutOfRange("numeric")
            }
            return try typedDecimal(value, scale: scale, as: resultType)
        case "numeric_div":
            // div(a, b): the quotient truncated toward zero, exactly (scales aligned first).
            guard case .numeric(let a, let sa) = args[0], case .numeric(let b, let sb) = args[1] else { return .null }
            let scale = max(sa, sb)
            guard let x = DecimalMath.rescale(a, from: sa, to: scale), let y = DecimalMath.rescale(b, from: sb, to: scale) else {
                throw DatabaseError.numericOutOfRange("numeric")
            }
            guard y != 0 else { throw DatabaseError.divisionByZero }
            return try typedDecimal(x / y, scale: 0, as: resultType)
        default:
            break
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

extension Value {
    /// A smallint, integer or bigint as Int64 (nil otherwise).
    var integerValue: Int64? {
        switch self {
        case .int16(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .int64(let v): return v
        default: return nil
        }
    }
}

extension ScalarFunctions {
    /// gcd(a, b) (or lcm with `least`) of integers of `type`, as PostgreSQL: never negative,
    /// gcd(0, 0) = 0, lcm(0, x) = 0, 22003 when the answer does not fit (gcd(min, 0) = 2^31).
    static func integerGCD(_ a: Int64, _ b: Int64, least: Bool, type: SQLType) throws(DatabaseError) -> Value {
        let result = divisorOrMultiple(a.magnitude, b.magnitude, least: least)
        if type == .bigint {
            guard let result, let value = Int64(exactly: result) else { throw DatabaseError(.numericValueOutOfRange, "bigint out of range") }
            return .int64(value)
        }
        guard let result, let value = Int32(exactly: result) else { throw DatabaseError(.numericValueOutOfRange, "integer out of range") }
        return .int32(value)
    }

    /// The greatest common divisor of two magnitudes (Euclid), or with `least` their least
    /// common multiple (0 when either is 0; nil when it passes the type).
    static func divisorOrMultiple<T: FixedWidthInteger & UnsignedInteger>(_ x: T, _ y: T, least: Bool) -> T? {
        var (p, q) = (x, y)
        while q != 0 { (p, q) = (q, p % q) }
        guard least else { return p }
        if x == 0 || y == 0 { return 0 }
        let (product, overflow) = (x / p).multipliedReportingOverflow(by: y)
        return overflow ? nil : product
    }

    /// width_bucket(x, low, high, count) over double precision, as PostgreSQL computes it: 0
    /// below the range, count + 1 at or past its end, else the bucket from 1 (a reversed range
    /// counts downward).
    static func widthBucket(_ x: Double, _ low: Double, _ high: Double, _ count: Int32) throws(DatabaseError) -> Int32 {
        try checkWidthBucket(count, nan: x.isNaN || low.isNaN || high.isNaN, infinite: low.isInfinite || high.isInfinite, equal: low == high)
        let ascending = low < high
        if ascending ? x < low : x > low { return 0 }
        if ascending ? x >= high : x <= high { return try bucketPastEnd(count) }
        let (from, to, value) = ascending ? (low, high, x) : (-low, -high, -x)
        var fraction = Double(count) * ((value - from) / (to - from))
        if (to - from).isInfinite { fraction = Double(count) * ((value / 2 - from / 2) / (to / 2 - from / 2)) }
        // The quotient may round to 1.0, which would be past the last bucket.
        return min(Int32(fraction), count - 1) + 1
    }

    /// width_bucket over numerics, exactly: the operand and bounds at one scale, then an
    /// integer division.
    static func widthBucket(_ x: Int128, _ sx: Int, _ low: Int128, _ sl: Int, _ high: Int128, _ sh: Int, _ count: Int32) throws(DatabaseError) -> Int32 {
        try checkWidthBucket(count, nan: false, infinite: false, equal: ScalarFunctions.compare(.numeric(low, scale: sl), .numeric(high, scale: sh)) == 0)
        let scale = max(sx, sl, sh)
        guard let v = DecimalMath.rescale(x, from: sx, to: scale), let l = DecimalMath.rescale(low, from: sl, to: scale),
              let h = DecimalMath.rescale(high, from: sh, to: scale) else {
            return try widthBucket(Double(x) / pow(10, Double(sx)), Double(low) / pow(10, Double(sl)), Double(high) / pow(10, Double(sh)), count)
        }
        let ascending = l < h
        if ascending ? v < l : v > l { return 0 }
        if ascending ? v >= h : v <= h { return try bucketPastEnd(count) }
        let (offset, span) = ascending ? (v - l, h - l) : (l - v, l - h)
        guard case (let scaled, false) = offset.multipliedReportingOverflow(by: Int128(count)) else {
            return try widthBucket(Double(x) / pow(10, Double(sx)), Double(low) / pow(10, Double(sl)), Double(high) / pow(10, Double(sh)), count)
        }
        return Int32(scaled / span) + 1
    }

    static func checkWidthBucket(_ count: Int32, nan: Bool, infinite: Bool, equal: Bool) throws(DatabaseError) {
        if count <= 0 { throw DatabaseError(.invalidArgumentForWidthBucket, "count must be greater than zero") }
        if nan { throw DatabaseError(.invalidArgumentForWidthBucket, "operand, lower bound, and upper bound cannot be NaN") }
        if infinite { throw DatabaseError(.invalidArgumentForWidthBucket, "lower and upper bounds must be finite") }
        if equal { throw DatabaseError(.invalidArgumentForWidthBucket, "lower bound cannot equal upper bound") }
    }

    static func bucketPastEnd(_ count: Int32) throws(DatabaseError) -> Int32 {
        guard count < Int32.max else { throw DatabaseError(.numericValueOutOfRange, "integer out of range") }
        return count + 1
    }
}
