import Glibc

/// Values of unconstrained NUMERIC (`SQLType.dynamicNumeric`): each value keeps its own display
/// scale, as PostgreSQL's `dscale` (`1.5` stays `1.5`, `1.50` stays `1.50`, and a quotient
/// has the scale `select_div_scale` gives it), in the same 16 bytes as every other decimal.
///
/// The layout makes the bits' signed order the values' order once the scale is masked off
/// (`key`), so sorting, min/max and zone maps read the bits as they are; equality and hashing
/// compare `key`s (1.5 = 1.50):
/// - bits 0-6: the display scale (0...38);
/// - a positive value `M * 10^(E - 33)`, with a 34-digit coefficient `10^33 <= M < 10^34`:
///   `M` in bits 7-119 and `E + 64` in bits 120-126 (bit 127 clear);
/// - zero: no bits but the scale;
/// - a negative value: the positive layout of its magnitude, negated, plus the scale.
public enum PackedNumeric {
    /// The bits that hold the display scale.
    public static var scaleMask: Int128 { 0x7F }
    /// Significant digits a value may have (the coefficient's).
    public static let maxSignificantDigits = 34
    // Computed, not stored: a stored static costs a `swift_once` check per row.
    private static var coefficientMask: Int128 { (1 << 113) - 1 }

    /// The bits equality and hashing compare: the value without its display scale.
    @inline(__always)
    public static func key(_ packed: Int128) -> Int128 { packed & ~scaleMask }

    /// The packed form of `mantissa / 10^scale`, displayed with `scale` digits.
    /// - Throws: 22003 when the value has more than 34 significant digits or the scale is out of range.
    public static func pack(_ mantissa: Int128, scale: Int) throws(DatabaseError) -> Int128 {
        guard (0...DecimalMath.maxPrecision).contains(scale) else {
            throw DatabaseError(.numericValueOutOfRange, "numeric scale \(scale) is out of range (0 to \(DecimalMath.maxPrecision))")
        }
        if mantissa == 0 { return Int128(scale) }
        let magnitude = mantissa.magnitude
        let digits = DecimalMath.digitCount(magnitude)
        var coefficient: UInt128
        if digits > maxSignificantDigits {
            let cut = UInt128(DecimalMath.pow10(digits - maxSignificantDigits))
            guard magnitude % cut == 0 else {
                throw DatabaseError(.numericValueOutOfRange, "numeric value \(DecimalMath.format(mantissa, scale: scale)) has more than \(maxSignificantDigits) significant digits")
            }
            coefficient = magnitude / cut
        } else {
            coefficient = magnitude * UInt128(DecimalMath.pow10(maxSignificantDigits - digits))
        }
        let exponent = digits - 1 - scale
        let positive = Int128(exponent + 64) << 120 | Int128(coefficient) << 7
        return (mantissa < 0 ? -positive : positive) | Int128(scale)
    }

    /// `pack`, rounding a value with more than 34 significant digits to 34 (half away from
    /// zero) instead of failing: for paths that store values already checked (`Casts`), so
    /// that no value is ever lost to an error there.
    public static func packRounding(_ mantissa: Int128, scale: Int) -> Int128 {
        var (m, s) = (mantissa, scale)
        if s > DecimalMath.maxPrecision { (m, s) = (DecimalMath.rescale(m, from: s, to: DecimalMath.maxPrecision) ?? 0, DecimalMath.maxPrecision) }
        if s < 0 { (m, s) = (DecimalMath.rescale(m, from: s, to: 0) ?? 0, 0) }
        if let packed = try? pack(m, scale: s) { return packed }
        // More than 34 digits: keep the leading 34, rounded, and the exponent.
        let digits = DecimalMath.digitCount(m.magnitude)
        let cut = DecimalMath.pow10(digits - maxSignificantDigits)
        var coefficient = m.magnitude / UInt128(cut)
        if (m.magnitude % UInt128(cut)) * 2 >= UInt128(cut) { coefficient += 1 }
        var exponent = digits - 1 - s
        if coefficient == UInt128(DecimalMath.pow10(maxSignificantDigits)) { coefficient /= 10; exponent += 1 }
        let positive = Int128(exponent + 64) << 120 | Int128(coefficient) << 7
        return (m < 0 ? -positive : positive) | Int128(s)
    }

    /// The value as a mantissa at its display scale.
    public static func unpack(_ packed: Int128) -> (mantissa: Int128, scale: Int) {
        let scale = Int(packed & scaleMask)
        let base = key(packed)
        if base == 0 { return (0, scale) }
        let magnitude = base < 0 ? -base : base
        let exponent = Int(magnitude >> 120) - 64
        let coefficient = (magnitude >> 7) & coefficientMask
        // The value's digits at the display scale: the coefficient shifted by (E - 33 + scale).
        let shift = exponent - (maxSignificantDigits - 1) + scale
        // A packed value's digits end where its scale does: the division is exact (no 128-bit divide).
        let mantissa = shift >= 0 ? coefficient * DecimalMath.pow10(shift)
            : DecimalMath.exactQuotient(UInt128(coefficient), byPow10: -shift).map { Int128($0) } ?? coefficient / DecimalMath.pow10(-shift)
        return (base < 0 ? -mantissa : mantissa, scale)
    }

    /// PostgreSQL's `select_div_scale`: the scale of `x / y` (and of avg, variance), at least
    /// 16 significant digits counted from the operands' leading base-10000 digit groups, and at
    /// least either operand's scale.
    public static func divisionScale(_ x: Int128, scale xs: Int, _ y: Int128, scale ys: Int) -> Int {
        let (weight1, first1) = leadingGroup(x, scale: xs)
        let (weight2, first2) = leadingGroup(y, scale: ys)
        var quotientWeight = weight1 - weight2
        if first1 <= first2 { quotientWeight -= 1 }
        return min(max(16 - quotientWeight * 4, xs, ys, 0), DecimalMath.maxPrecision)
    }

    /// The weight (power of 10000) and the value of a decimal's first non-zero base-10000
    /// digit, as PostgreSQL stores numerics; (0, 0) for zero.
    static func leadingGroup(_ mantissa: Int128, scale: Int) -> (weight: Int, digit: Int) {
        let magnitude = mantissa.magnitude
        if magnitude == 0 { return (0, 0) }
        let leading = DecimalMath.digitCount(magnitude) - 1 - scale
        let weight = leading >= 0 ? leading / 4 : -((-leading + 3) / 4)
        // value / 10000^weight = magnitude / 10^(scale + 4 * weight)
        let shift = scale + 4 * weight
        if shift < 0 { return (weight, Int(magnitude * UInt128(DecimalMath.pow10(-shift)))) }
        // Most values fit 64 bits, where division is one instruction.
        if magnitude <= UInt128(UInt64.max) { return (weight, Int(UInt64(magnitude) / UInt64(DecimalMath.pow10(min(shift, 19))))) }
        // The quotient has at most four digits: estimated in floating point, then corrected by
        // multiplying back (a 128-bit division costs tens of nanoseconds).
        let power = UInt128(DecimalMath.pow10(shift))
        var digit = UInt128(max(0, (DecimalMath.approximate(magnitude) / DecimalMath.approximate(power)).rounded(.down)))
        while digit > 0, digit * power > magnitude { digit -= 1 }
        while (digit + 1) * power <= magnitude { digit += 1 }
        return (weight, Int(digit))
    }
}

extension DecimalMath {
    /// The nearest-ish Double of a 128-bit magnitude, through its 64-bit halves (the generic
    /// conversion is slow): for estimates that are corrected exactly afterwards.
    @inline(__always)
    static func approximate(_ x: UInt128) -> Double {
        Double(UInt64(truncatingIfNeeded: x >> 64)) * 0x1p64 + Double(UInt64(truncatingIfNeeded: x))
    }

    /// Decimal digits of a magnitude (1 for zero): from its bit length, `floor(bits * log10(2))`
    /// (1233 / 4096 is close enough for 128 bits), plus one when the value reaches that power.
    @inline(__always)
    public static func digitCount(_ value: UInt128) -> Int {
        let bits = 128 - value.leadingZeroBitCount
        let estimate = (bits * 1233) >> 12
        return value >= UInt128(pow10(estimate)) ? estimate + 1 : max(estimate, 1)
    }

    /// `a + b` or `a - b` at the larger of the two scales, as PostgreSQL's numeric addition.
    public static func add(_ a: Int128, scale sa: Int, _ b: Int128, scale sb: Int, subtract: Bool = false) throws(DatabaseError) -> (Int128, Int) {
        let scale = max(sa, sb)
        guard let x = rescale(a, from: sa, to: scale), let y = rescale(b, from: sb, to: scale) else { throw DatabaseError.numericOutOfRange("numeric") }
        let (sum, overflow) = subtract ? x.subtractingReportingOverflow(y) : x.addingReportingOverflow(y)
        if overflow { throw DatabaseError.numericOutOfRange("numeric") }
        return (sum, scale)
    }

    /// `a * b` at the sum of the scales, as PostgreSQL's numeric multiplication.
    public static func multiply(_ a: Int128, scale sa: Int, _ b: Int128, scale sb: Int) throws(DatabaseError) -> (Int128, Int) {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow, sa + sb <= maxPrecision else { throw DatabaseError.numericOutOfRange("numeric") }
        return (product, sa + sb)
    }

    /// Exact variance or standard deviation of `count` values from their sum and sum of
    /// squares, as PostgreSQL's numeric_stddev_internal: `n * Q - S * S` (zero or less: 0), over
    /// `n * (n - 1)` (sample) or `n * n`, at the scale its division picks; the deviation is the
    /// square root of that quotient, at the same scale. `count` is at least 1 (2 for a sample).
    public static func variance(count n: Int64, sum: Int128, scale sumScale: Int, squares: Int128, scale squaresScale: Int,
                                sample: Bool, root: Bool) throws(DatabaseError) -> (Int128, Int) {
        // S * S has twice the sum's scale; both terms at the larger of that and Q's.
        let scale = max(2 * sumScale, squaresScale)
        guard case (let sumSquared, false) = sum.multipliedReportingOverflow(by: sum),
              let alignedSquared = rescale(sumSquared, from: 2 * sumScale, to: scale),
              let q = rescale(squares, from: squaresScale, to: scale),
              case (let nQ, false) = Int128(n).multipliedReportingOverflow(by: q),
              case (let numerator, false) = nQ.subtractingReportingOverflow(alignedSquared),
              case (let denominator, false) = Int128(n).multipliedReportingOverflow(by: Int128(sample ? n - 1 : n)) else {
            throw DatabaseError.numericOutOfRange("numeric")
        }
        if numerator <= 0 { return (0, 0) }
        let (variance, varianceScale) = try divide(numerator, scale: scale, by: denominator, scale: 0)
        return root ? (try squareRoot(variance, scale: varianceScale), varianceScale) : (variance, varianceScale)
    }

    /// The square root of a non-negative `value / 10^scale` at the same scale, rounded half
    /// up (PostgreSQL's `sqrt_var`): the integer square root of `value * 10^(scale + 2)`, one
    /// digit more than wanted, in 256-bit arithmetic.
    public static func squareRoot(_ value: Int128, scale: Int) throws(DatabaseError) -> Int128 {
        guard value >= 0 else { throw DatabaseError(SQLState("2201F"), "cannot take square root of a negative number") }
        if value == 0 { return 0 }
        guard scale + 2 <= maxPrecision else { throw DatabaseError.numericOutOfRange("numeric") }
        let target = value.magnitude.multipliedFullWidth(by: UInt128(pow10(scale + 2)))
        // Newton's iteration from above: from an estimate at least the root, it falls to floor(sqrt).
        let estimate = (approximate(target.high) * 0x1p128 + approximate(target.low)).squareRoot()
        guard estimate < 0x1p127 else { throw DatabaseError.numericOutOfRange("numeric") }
        var root = UInt128(estimate * (1 + 0x1p-40)) + 2
        while true {
            let (quotient, _) = root.dividingFullWidth(target)
            let next = root / 2 + quotient / 2 + (root & quotient & 1)
            if next >= root { break }
            root = next
        }
        // One digit beyond the scale, rounded away.
        return Int128((root + 5) / 10)
    }

    /// `base ^ exponent` as PostgreSQL 15's numeric power: an integer exponent exactly, rounded
    /// to max(16, the base's scale) digits; another through the logarithm, at 16 significant
    /// digits or the operands' scales. (Kiln computes that case in double precision, so its
    /// last digit may differ from PostgreSQL's.)
    public static func power(_ base: Int128, scale bs: Int, _ exponent: Int128, scale es: Int) throws(DatabaseError) -> (Int128, Int) {
        var overflow: DatabaseError { .numericOutOfRange("numeric") }
        let unit = pow10(es)
        if exponent % unit == 0, let e = Int32(exactly: exponent / unit) {
            let scale = max(16, bs)
            if base == 0 {
                if e < 0 { throw DatabaseError(.invalidArgumentForPower, "zero raised to a negative power is undefined") }
                return (e == 0 ? pow10(scale) : 0, scale)
            }
            // |base|^|e| exactly, at |e| times the base's scale.
            var product: Int128 = 1, productScale = 0
            for _ in 0..<e.magnitude {
                let (next, failed) = product.multipliedReportingOverflow(by: base)
                guard !failed else { throw overflow }
                product = next
                productScale += bs
                // Trailing zeros past the wanted scale go, so that the digits stay in range.
                while productScale > scale + 1, product % 10 == 0 { product /= 10; productScale -= 1 }
                if productScale > maxPrecision { guard let r = rescale(product, from: productScale, to: maxPrecision) else { throw overflow }; (product, productScale) = (r, maxPrecision) }
            }
            if e >= 0 {
                guard let r = rescale(product, from: productScale, to: min(scale, maxPrecision)) else { throw overflow }
                return (r, min(scale, maxPrecision))
            }
            guard let q = divide(1, scale: 0, by: product, scale: productScale, resultScale: min(scale, maxPrecision)) else { throw overflow }
            return (q, min(scale, maxPrecision))
        }
        let b = toDouble(base, scale: bs), x = toDouble(exponent, scale: es)
        if base < 0 { throw DatabaseError(.invalidArgumentForPower, "a negative number raised to a non-integer power yields a complex result") }
        if base == 0 {
            if exponent < 0 { throw DatabaseError(.invalidArgumentForPower, "zero raised to a negative power is undefined") }
            return (0, 16)
        }
        let result = pow(b, x)
        guard result.isFinite else { throw overflow }
        let weight = log10(b) * x
        let scale = min(max(16 - Int(weight.rounded(.towardZero)), bs, es, 0), maxPrecision)
        guard let m = fromDouble(result, scale: scale) else { throw overflow }
        return (m, scale)
    }

    /// `a / b` at PostgreSQL's scale for the pair (`PackedNumeric.divisionScale`), rounded half
    /// away from zero.
    public static func divide(_ a: Int128, scale sa: Int, by b: Int128, scale sb: Int) throws(DatabaseError) -> (Int128, Int) {
        if b == 0 { throw DatabaseError.divisionByZero }
        let scale = PackedNumeric.divisionScale(a, scale: sa, b, scale: sb)
        guard let quotient = divide(a, scale: sa, by: b, scale: sb, resultScale: scale) else { throw DatabaseError.numericOutOfRange("numeric") }
        return (quotient, scale)
    }
}
