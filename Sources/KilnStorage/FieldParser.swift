import KilnCore
#if canImport(Glibc)
import Glibc
#endif

/// Parsers for the common spellings of COPY fields, straight from the bytes without building a
/// `String`. Each returns nil for anything else; `CopyLoader` then takes `Casts.parse`, the
/// types' one input function, so errors and edge cases behave exactly as everywhere else.
public enum FieldParser {
    static func characterCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for b in bytes where b & 0xC0 != 0x80 { count += 1 }
        return count
    }

    /// Plain decimal integers (optional sign); nil for anything else or overflow.
    @inline(__always)
    static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let count = bytes.count
        guard count > 0 else { return nil }
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") { negative = bytes[0] == UInt8(ascii: "-"); index = 1 }
        guard index < count, count - index <= 18 else { return nil }
        var value: Int64 = 0
        while index < count {
            let d = bytes[index] &- 48
            guard d < 10 else { return nil }
            value = value * 10 + Int64(d)
            index += 1
        }
        return negative ? -value : value
    }

    /// Decimal text with at most `scale` fraction digits and 18 digits in all, as a mantissa
    /// at `scale` (nil when it does not fit in 18 digits either).
    @inline(__always)
    static func shortDecimal(_ bytes: UnsafeBufferPointer<UInt8>, scale: Int) -> Int64? {
        let count = bytes.count
        guard count > 0, count <= 20 else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") { negative = bytes[0] == UInt8(ascii: "-"); index = 1 }
        var value: Int64 = 0
        var digits = 0
        var fraction = -1
        while index < count {
            let b = bytes[index]
            let d = b &- 48
            if d < 10 {
                value = value &* 10 &+ Int64(d)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            } else {
                guard b == UInt8(ascii: "."), fraction < 0 else { return nil }
                fraction = 0
            }
            index += 1
        }
        let have = max(0, fraction)
        guard digits > 0, have <= scale, digits + scale - have <= 18 else { return nil }
        for _ in have..<scale { value &*= 10 }
        return negative ? -value : value
    }

    /// Decimal text with at most `scale` fraction digits, as a mantissa at `scale`.
    @inline(__always)
    static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, scale: Int) -> Int128? {
        var index = 0
        let count = bytes.count
        guard count > 0, count < 36 else { return nil }
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") { negative = bytes[0] == UInt8(ascii: "-"); index = 1 }
        var value: Int128 = 0
        var digits = 0
        var fraction = -1
        while index < count {
            let b = bytes[index]
            if b == UInt8(ascii: ".") {
                guard fraction < 0 else { return nil }
                fraction = 0
            } else {
                let d = b &- 48
                guard d < 10 else { return nil }
                value = value * 10 + Int128(d)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            }
            index += 1
        }
        guard digits > 0 else { return nil }
        let have = max(0, fraction)
        guard have <= scale else { return nil }  // rounding: the general path
        value *= DecimalMath.pow10(scale - have)
        return negative ? -value : value
    }

    /// `strtod` over a NUL-terminated copy; nil unless the whole field is a finite number.
    @inline(__always)
    static func double(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let count = bytes.count
        guard count > 0, count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Double? in
            for index in 0..<count {
                let b = bytes[index]
                // Only plain numeric syntax here; words like NaN/Infinity take the general path.
                guard (b >= 48 && b <= 57) || b == 46 || b == 45 || b == 43 || b == 101 || b == 69 else { return nil }
                buffer[index] = CChar(bitPattern: b)
            }
            buffer[count] = 0
            var endPointer: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &endPointer)
            guard endPointer == buffer.baseAddress! + count, value.isFinite else { return nil }
            return value
        }
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with `T`); nil otherwise.
    @inline(__always)
    static func timestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard bytes.count >= 19, bytes.count <= 26, bytes[10] == 32 || bytes[10] == 84, bytes[13] == 58, bytes[16] == 58,
              let day = date(UnsafeBufferPointer(rebasing: bytes[0..<10])) else { return nil }
        var fields = [0, 0, 0]
        for (index, start) in [11, 14, 17].enumerated() {
            let a = bytes[start] &- 48, b = bytes[start + 1] &- 48
            guard a < 10, b < 10 else { return nil }
            fields[index] = Int(a) * 10 + Int(b)
        }
        guard fields[0] < 24, fields[1] < 60, fields[2] < 60 else { return nil }
        var micros: Int64 = 0
        if bytes.count > 19 {
            guard bytes[19] == 46, bytes.count > 20 else { return nil }
            var digits = 0
            for index in 20..<bytes.count {
                let d = bytes[index] &- 48
                guard d < 10 else { return nil }
                micros = micros * 10 + Int64(d)
                digits += 1
            }
            for _ in digits..<6 { micros *= 10 }
        }
        return Int64(day) * DateMath.microsPerDay + Int64(fields[0] * 3600 + fields[1] * 60 + fields[2]) * DateMath.microsPerSecond + micros
    }

    /// `YYYY-MM-DD` with a valid day; nil otherwise.
    @inline(__always)
    static func date(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard bytes.count == 10, bytes[4] == 45, bytes[7] == 45 else { return nil }
        let p = bytes.baseAddress!
        let y0 = p[0] &- 48, y1 = p[1] &- 48, y2 = p[2] &- 48, y3 = p[3] &- 48
        let m0 = p[5] &- 48, m1 = p[6] &- 48, d0 = p[8] &- 48, d1 = p[9] &- 48
        guard y0 < 10, y1 < 10, y2 < 10, y3 < 10, m0 < 10, m1 < 10, d0 < 10, d1 < 10 else { return nil }
        let year = Int(y0) * 1000 + Int(y1) * 100 + Int(y2) * 10 + Int(y3)
        let month = Int(m0) * 10 + Int(m1)
        let day = Int(d0) * 10 + Int(d1)
        guard month >= 1, month <= 12, day >= 1, day <= 28 || day <= DateMath.daysInMonth(year: year, month: month) else { return nil }
        // `DateMath.days` for years 0...9999 (no negative eras), here so it inlines.
        let y = month <= 2 ? year - 1 : year
        let era = y >= 0 ? y / 400 : -1
        let yoe = y - era * 400
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        return Int32(era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468)
    }
}
