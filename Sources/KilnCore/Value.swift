/// One SQL value, as the embedded API, constant folding and the result printer see it.
///
/// Compiled code and the interpreter never use this enum per row: they work on raw column
/// memory and registers. `Value` is for the edges (literals, parameters, results).
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    /// A decimal `mantissa / 10^scale`.
    case numeric(Int128, scale: Int)
    case text(String)
    /// Days since 1970-01-01.
    case date(Int32)
    /// Microseconds since 1970-01-01 00:00:00.
    case timestamp(Int64)
    case interval(Interval)
    /// A row's identity (`tid`): a `RowID` value.
    case tid(Int64)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// PostgreSQL's text output for the value (what psql prints); nil for NULL.
    public var text: String? {
        switch self {
        case .null: return nil
        case .bool(let b): return b ? "t" : "f"
        case .int16(let v): return String(v)
        case .int32(let v): return String(v)
        case .int64(let v): return String(v)
        case .float32(let v): return FloatFormat.format(Double(v), digits: 9, isFloat4: true, raw: v)
        case .float64(let v): return FloatFormat.format(v, digits: 17, isFloat4: false, raw: 0)
        case .numeric(let m, let s): return DecimalMath.format(m, scale: s)
        case .text(let s): return s
        case .date(let d): return DateMath.formatDate(d)
        case .timestamp(let t): return DateMath.formatTimestamp(t)
        case .interval(let i): return i.description
        case .tid(let id): return TupleID.format(id)
        }
    }

    public var description: String { text ?? "NULL" }
}

/// PostgreSQL's float output: the shortest text that reads back as the same value.
public enum FloatFormat {
    public static func format(_ value: Double, digits: Int, isFloat4: Bool, raw: Float) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        // Swift's description is the shortest round-trip representation, as PostgreSQL 12+ prints.
        let text = isFloat4 ? "\(raw)" : "\(value)"
        return normalize(text, exponentThreshold: isFloat4 ? 7 : 15)
    }

    /// Converts Swift's `1.5e-05` / `100.0` forms to PostgreSQL's `1.5e-05` / `100`.
    static func normalize(_ text: String, exponentThreshold: Int) -> String {
        var mantissa = text
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(text[..<e])
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var negative = false
        if mantissa.hasPrefix("-") { negative = true; mantissa.removeFirst() }
        var digits = mantissa.replacingAll(".", with: "")
        var pointPosition = (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count) + exponent
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointPosition -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let decimalExponent = pointPosition - 1
        var result: String
        if decimalExponent < -4 || decimalExponent >= exponentThreshold {
            let head = digits.prefix(1)
            let tail = digits.dropFirst()
            result = String(head) + (tail.isEmpty ? "" : "." + tail)
            result += "e" + (decimalExponent < 0 ? "-" : "+") + (abs(decimalExponent) < 10 ? "0" : "") + String(abs(decimalExponent))
        } else if pointPosition <= 0 {
            result = "0." + String(repeating: "0", count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            result = digits + String(repeating: "0", count: pointPosition - digits.count)
        } else {
            let index = digits.index(digits.startIndex, offsetBy: pointPosition)
            result = String(digits[..<index]) + "." + String(digits[index...])
        }
        return negative ? "-" + result : result
    }
}

extension String {
    /// Replaces every occurrence of `target` (Foundation-free).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (line ends included).
    public var trimmed: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension Value {
    /// Whether the value is a decimal (`numeric`).
    public var isDecimal: Bool {
        if case .numeric = self { return true }
        return false
    }

    /// Whether a non-NULL value has the representation columns of `type` store (a value of
    /// another case would need a cast first).
    public func fits(_ type: SQLType) -> Bool {
        switch (self, type) {
        case (.bool, .boolean), (.int16, .smallint), (.int32, .integer), (.int64, .bigint), (.float32, .real), (.float64, .double),
             (.date, .date), (.timestamp, .timestamp), (.interval, .interval), (.tid, .tid): return true
        case (.numeric(_, let scale), .numeric(_, let columnScale)): return scale == columnScale
        case (.text(let text), .varchar(let limit)): return limit.map { text.count <= $0 } ?? true
        case (.text, .text): return true
        default: return false
        }
    }
}

/// PostgreSQL's `tid` text form `(block,offset)` for a row's identity. A `RowID` value (row
/// group << 20 | row, bit 62 for a transaction's own uncommitted rows) maps to block
/// `value >> 14` and offset `(value & 0x3FFF) + 1` (offsets count from 1, as PostgreSQL's
/// do), plus 0x8000 for an uncommitted row: both parts stay in the ranges PostgreSQL's `tid`
/// input accepts (a 32-bit block, a 16-bit offset).
public enum TupleID {
    /// Marks a transaction's own uncommitted rows (`RowID.localBit`).
    public static let localBit: Int64 = 1 << 62

    public static func format(_ id: Int64) -> String {
        let (block, offset) = parts(id)
        return "(\(block),\(offset))"
    }

    public static func parts(_ id: Int64) -> (block: UInt32, offset: UInt16) {
        if id < 0 {
            let named = -1 - id
            return (UInt32(truncatingIfNeeded: named >> 16), UInt16(truncatingIfNeeded: named))
        }
        let plain = id & ~localBit
        return (UInt32(truncatingIfNeeded: plain >> 14), UInt16(plain & 0x3FFF) + 1 | (id & localBit != 0 ? 0x8000 : 0))
    }

    /// The row identity of `(block,offset)`; one that can name no row (offset 0, or past a
    /// block) is kept as a negative value, which no row has.
    public static func make(block: UInt32, offset: UInt16) -> Int64 {
        let row = Int64(offset & 0x7FFF)
        guard row >= 1, row <= 0x4000 else { return -1 - (Int64(block) << 16 | Int64(offset)) }
        return Int64(block) << 14 | (row - 1) | (offset & 0x8000 != 0 ? localBit : 0)
    }

    /// The row identity `(block,offset)` names; nil for text that is not a `tid`.
    public static func parse(_ text: Substring) -> Int64? {
        let trimmed = text.trimmed
        guard trimmed.hasPrefix("("), trimmed.hasSuffix(")") else { return nil }
        let parts = trimmed.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let block = UInt32(parts[0].trimmed), let offset = UInt16(parts[1].trimmed) else { return nil }
        return make(block: block, offset: offset)
    }
}
