import CKilnSystem
/// Exact decimal arithmetic on scaled 128-bit integers: the value is `mantissa / 10^scale`.
///
/// One definition shared by the interpreter, the runtime and constant folding; compiled code
/// calls into the same routines for the rare operations (division, rescaling with rounding).
public enum DecimalMath {
    /// The largest number of decimal digits a mantissa may hold.
    public static let maxPrecision = 38

    /// 10^n for n in 0...38 (clamped), from a table in C (`kiln_pow10_low`/`high`): decimal
    /// arithmetic asks for powers of ten per row.
    @inline(__always)
    public static func pow10(_ n: Int) -> Int128 {
        let i = Int32(truncatingIfNeeded: max(0, min(38, n)))
        return Int128(Int64(bitPattern: kiln_pow10_high(i))) << 64 | Int128(kiln_pow10_low(i))
    }

    /// `value / 10^n` when 10^n divides it: a shift and one wrapping multiplication by the
    /// inverse of 5^n modulo 2^128, checked by multiplying back, instead of a 128-bit division
    /// (which costs tens of nanoseconds). nil when the division is not exact.
    @inline(__always)
    public static func exactQuotient(_ value: UInt128, byPow10 n: Int) -> UInt128? {
        guard n >= 0, n <= maxPrecision, value & ((UInt128(1) << n) - 1) == 0 else { return nil }
        let i = Int32(truncatingIfNeeded: n)
        let inverse = UInt128(kiln_inverse5_high(i)) << 64 | UInt128(kiln_inverse5_low(i))
        let quotient = (value >> n) &* inverse
        let (back, overflow) = quotient.multipliedReportingOverflow(by: UInt128(pow10(n)))
        return !overflow && back == value ? quotient : nil
    }

    /// Changes the scale, rounding half away from zero as PostgreSQL does. Returns nil on overflow.
    public static func rescale(_ value: Int128, from: Int, to: Int) -> Int128? {
        if to == from { return value }
        // Beyond 10^38 (`pow10`'s largest): any non-zero value overflows, or rounds to zero.
        if to - from > maxPrecision { return value == 0 ? 0 : nil }
        if from - to > maxPrecision { return 0 }
        if to > from {
            let (result, overflow) = value.multipliedReportingOverflow(by: pow10(to - from))
            return overflow ? nil : result
        }
        let divisor = pow10(from - to)
        let quotient = value / divisor
        let remainder = value % divisor
        if remainder.magnitude * 2 >= divisor.magnitude {
            return value < 0 ? quotient - 1 : quotient + 1
        }
        return quotient
    }

    /// True when `value` at `scale` fits NUMERIC(precision, scale).
    public static func fits(_ value: Int128, precision: Int?) -> Bool {
        guard let precision else { return value.magnitude < UInt128(pow10(38)) }
        return value.magnitude < UInt128(pow10(precision))
    }

    /// Parses a decimal literal such as `-12.345`, `1e3`, `.5`. Returns mantissa and scale.
    public static func parse(_ text: Substring) -> (Int128, Int)? {
        var digits: Int128 = 0
        var scale = 0
        var negative = false
        var sawDigit = false
        var sawPoint = false
        var exponent = 0
        var index = text.startIndex
        while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
        var end = text.endIndex
        while end > index, text[text.index(before: end)] == " " { end = text.index(before: end) }
        if index < end, text[index] == "-" || text[index] == "+" {
            negative = text[index] == "-"
            index = text.index(after: index)
        }
        var significant = 0
        while index < end {
            let c = text[index]
            if let d = c.wholeNumberValue, c.isASCII {
                sawDigit = true
                if digits != 0 || d != 0 { significant += 1 }
                if significant > 38 { return nil }
                digits = digits * 10 + Int128(d)
                if sawPoint { scale += 1 }
            } else if c == "." && !sawPoint {
                sawPoint = true
            } else if (c == "e" || c == "E") && sawDigit {
                guard let e = Int(text[text.index(after: index)..<end]), abs(e) < 1000 else { return nil }
                exponent = e
                index = end
                break
            } else {
                return nil
            }
            index = text.index(after: index)
        }
        guard sawDigit else { return nil }
        scale -= exponent
        if scale > 38 || scale < -38 { return nil }
        if scale < 0 {
            guard let scaled = rescale(digits, from: 0, to: -scale) else { return nil }
            digits = scaled
            scale = 0
        }
        return (negative ? -digits : digits, scale)
    }

    /// Formats a scaled value with exactly `scale` fraction digits.
    public static func format(_ value: Int128, scale: Int) -> String {
        let negative = value < 0
        var digits = String(value.magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return negative ? "-" + digits : digits
    }

    /// Division with the result at `resultScale`, rounded half away from zero.
    /// The caller checks for a zero divisor; nil means the result overflows.
    public static func divide(_ lhs: Int128, scale lhsScale: Int, by rhs: Int128, scale rhsScale: Int, resultScale: Int) -> Int128? {
        // result = lhs/10^ls / (rhs/10^rs) * 10^r = lhs * 10^(r + rs - ls) / rhs
        let shift = resultScale + rhsScale - lhsScale
        var numerator = lhs
        var denominator = rhs
        // Shifts past 10^38 (`pow10`'s largest): digit by digit, or a quotient that rounds to zero.
        if shift + 1 > maxPrecision { return divideWide(lhs, rhs, shift: shift) }
        if -shift > maxPrecision { return 0 }
        if shift >= 0 {
            let (n, overflow) = lhs.multipliedReportingOverflow(by: pow10(shift))
            if overflow { return divideWide(lhs, rhs, shift: shift) }
            numerator = n
        } else {
            let (d, overflow) = rhs.multipliedReportingOverflow(by: pow10(-shift))
            if overflow { return 0 }
            denominator = d
        }
        // One division; the remainder rounds half away from zero.
        let (quotient, remainder) = numerator.magnitude.quotientAndRemainder(dividingBy: denominator.magnitude)
        let rounded = remainder >= denominator.magnitude - remainder ? quotient + 1 : quotient
        guard rounded <= UInt128(Int128.max) else { return nil }
        return (lhs < 0) != (rhs < 0) ? -Int128(rounded) : Int128(rounded)
    }

    /// `lhs * 10^shift / rhs` rounded half away from zero when the shifted numerator does not
    /// fit 128 bits: long division in steps of up to 10^37, each remainder times the step's
    /// power (256 bits) divided by the divisor. nil when the quotient overflows.
    private static func divideWide(_ lhs: Int128, _ rhs: Int128, shift: Int) -> Int128? {
        let negative = (lhs < 0) != (rhs < 0)
        let divisor = rhs.magnitude
        var quotient = lhs.magnitude / divisor
        var remainder = lhs.magnitude % divisor
        var left = shift
        while left > 0 {
            let step = min(left, 37)
            let power = UInt128(pow10(step))
            let (scaled, overflow) = quotient.multipliedReportingOverflow(by: power)
            if overflow { return nil }
            // remainder < divisor, so the 256-bit product's quotient fits 128 bits.
            let (digits, rest) = divisor.dividingFullWidth(remainder.multipliedFullWidth(by: power))
            let (sum, carry) = scaled.addingReportingOverflow(digits)
            if carry { return nil }
            quotient = sum
            remainder = rest
            left -= step
        }
        // Half away from zero: the remainder is at least half the divisor.
        if remainder >= divisor - remainder {
            let (up, carry) = quotient.addingReportingOverflow(1)
            if carry { return nil }
            quotient = up
        }
        guard quotient <= UInt128(Int128.max) else { return nil }
        return negative ? -Int128(quotient) : Int128(quotient)
    }

    /// The value as the nearest Double (for casts to floating point).
    ///
    /// When the mantissa has at most 53 bits and the scale at most 22, both operands of the
    /// division are exact doubles, so IEEE division rounds correctly; compiled code does the
    /// same inline. Otherwise the decimal text is parsed (also correctly rounded).
    public static func toDouble(_ value: Int128, scale: Int) -> Double {
        if value.magnitude < (UInt128(1) << 53), scale <= 22 {
            return Double(Int64(value)) / pow10Double(scale)
        }
        return Double(format(value, scale: scale)) ?? .nan
    }

    static func pow10Double(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<n { result *= 10 }
        return result
    }

    /// Converts a Double to a scaled decimal, rounding half away from zero. nil when out of range or not finite.
    public static func fromDouble(_ value: Double, scale: Int) -> Int128? {
        guard value.isFinite else { return nil }
        // Go through the shortest decimal representation, as PostgreSQL's float8 -> numeric does.
        guard let (mantissa, s) = parse(Substring(String(value))) else { return nil }
        return rescale(mantissa, from: s, to: scale)
    }
}
