/// An aggregate's own input order (`string_agg(x, ',' ORDER BY y DESC)`), kept in its state.
///
/// Each value enters the aggregate as a record (`ordered_record`): its sort key, encoded so
/// that comparing bytes compares the keys (`encode`), then the value. The state appends the
/// records in arrival order, as any string_agg does, so the aggregation itself (hash tables,
/// DISTINCT, every execution mode) is unchanged; the final step (`ordered_records_concat`)
/// sorts the records by key, stably, and concatenates their values.
///
/// A record is text: the key in hexadecimal (whose byte order is the key's), `:`, the
/// value's length in bytes, `:`, the value.
public enum AggregateOrder {
    /// The record of `value` with sort keys `keys`; `directions` holds two letters per key:
    /// `a`/`d` (ascending or descending), then `f`/`l` (NULLs first or last).
    public static func record(directions: String, value: String, keys: [Value]) -> String {
        var bytes: [UInt8] = []
        let flags = Array(directions.utf8)
        for (index, key) in keys.enumerated() {
            let descending = flags.indices.contains(2 * index) && flags[2 * index] == UInt8(ascii: "d")
            let nullsFirst = flags.indices.contains(2 * index + 1) && flags[2 * index + 1] == UInt8(ascii: "f")
            if key.isNull {
                bytes.append(nullsFirst ? 0 : 2)
                continue
            }
            bytes.append(1)
            let start = bytes.count
            encode(key, into: &bytes)
            if descending {
                for i in start..<bytes.count { bytes[i] = ~bytes[i] }
            }
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2 + value.utf8.count + 8)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 15)])
        }
        text.append(UInt8(ascii: ":"))
        text.append(contentsOf: String(value.utf8.count).utf8)
        text.append(UInt8(ascii: ":"))
        text.append(contentsOf: value.utf8)
        return String(decoding: text, as: UTF8.self)
    }

    /// The values of the records in `state`, in key order (records with equal keys in the
    /// order they arrived), concatenated.
    public static func concatenate(_ state: String) throws(DatabaseError) -> String {
        let bytes = Array(state.utf8)
        var records: [(key: Range<Int>, value: Range<Int>)] = []
        var at = 0
        func field(endingAt colon: UInt8) throws(DatabaseError) -> Range<Int> {
            let start = at
            while at < bytes.count, bytes[at] != colon { at += 1 }
            guard at < bytes.count else { throw DatabaseError.internalError("malformed ordered aggregate state") }
            defer { at += 1 }
            return start..<at
        }
        while at < bytes.count {
            let key = try field(endingAt: UInt8(ascii: ":"))
            var length = 0
            for digit in bytes[try field(endingAt: UInt8(ascii: ":"))] { length = length * 10 + Int(digit) - 48 }
            guard length >= 0, at + length <= bytes.count else { throw DatabaseError.internalError("malformed ordered aggregate state") }
            records.append((key, at..<(at + length)))
            at += length
        }
        let order = records.indices.sorted { a, b in
            let x = bytes[records[a].key], y = bytes[records[b].key]
            if x.elementsEqual(y) { return a < b }
            return x.lexicographicallyPrecedes(y)
        }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for index in order { result.append(contentsOf: bytes[records[index].value]) }
        return String(decoding: result, as: UTF8.self)
    }

    /// Appends `value`'s order-preserving encoding: byte-wise comparison of two encodings of
    /// one type is the SQL order of the values (PostgreSQL's: NaN above every number, -0 equal
    /// to 0, 1.5 equal to 1.50, intervals by their span, text in the C collation). Variable
    /// length encodings end in a byte below every byte they hold, so that a key followed by
    /// another still compares as the pair.
    static func encode(_ value: Value, into bytes: inout [UInt8]) {
        func bigEndian(_ bits: UInt64) {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        func signed(_ v: Int64) { bigEndian(UInt64(bitPattern: v) ^ (1 << 63)) }
        func float(_ v: Double) {
            if v.isNaN { return bigEndian(UInt64.max) }
            let bits = (v == 0 ? 0.0 : v).bitPattern
            bigEndian(bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63))
        }
        switch value {
        case .null: break
        case .bool(let b): bytes.append(b ? 1 : 0)
        case .int16(let v): signed(Int64(v))
        case .int32(let v): signed(Int64(v))
        case .int64(let v), .timestamp(let v), .tid(let v): signed(v)
        case .date(let v): signed(Int64(v))
        case .float32(let v): float(Double(v))
        case .float64(let v): float(v)
        case .text(let s):
            bytes.append(contentsOf: s.utf8)
            bytes.append(0)
        case .interval(let i):
            // PostgreSQL's interval order: a month counts 30 days, a day 24 hours.
            let span = (Int128(i.months) * 30 + Int128(i.days)) * 86_400_000_000 + Int128(i.micros)
            signed(Int64(truncatingIfNeeded: span >> 64))
            bigEndian(UInt64(truncatingIfNeeded: span))
        case .numeric(let mantissa, let scale):
            // Sign class (negative, zero, positive), then for |v| = 0.d1d2... x 10^e: e, then
            // the digits without trailing zeros, ended by 0; a negative's |v| part inverted.
            if mantissa == 0 { return bytes.append(1) }
            bytes.append(mantissa < 0 ? 0 : 2)
            var digits = Array(String(mantissa.magnitude).utf8)
            let exponent = Int64(digits.count) - Int64(scale)
            while digits.last == UInt8(ascii: "0") { digits.removeLast() }
            let start = bytes.count
            signed(exponent)
            bytes.append(contentsOf: digits)
            bytes.append(0)
            if mantissa < 0 {
                for i in start..<bytes.count { bytes[i] = ~bytes[i] }
            }
        }
    }
}
