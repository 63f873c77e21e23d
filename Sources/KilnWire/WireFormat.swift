import KilnCore
import NIOCore

/// Values in PostgreSQL's text and binary wire formats.
///
/// Text is each type's output function (`Value.text`). Binary follows PostgreSQL's send/recv
/// functions: big-endian integers and IEEE floats, dates as days and timestamps as
/// microseconds since 2000-01-01, intervals as (microseconds, days, months), numerics as
/// base-10000 digit groups.
public enum WireFormat {
    /// Days from 1970-01-01 (Kiln's date epoch) to 2000-01-01 (PostgreSQL's).
    static let epochDays: Int32 = 10_957
    static let epochMicros: Int64 = 946_684_800_000_000

    /// Appends a DataRow message for `row`, each column in its format (0 text, 1 binary).
    public static func writeDataRow(_ row: [Value], formats: [Int16], into buffer: inout ByteBuffer) {
        buffer.writeMessage("D") { out in
            out.writeInteger(Int16(row.count))
            for (index, value) in row.enumerated() {
                if case .null = value {
                    out.writeInteger(Int32(-1))
                    continue
                }
                let lengthIndex = out.writerIndex
                out.writeInteger(Int32(0))
                if formats[index] == 1 { writeBinary(value, into: &out) } else { out.writeString(value.text ?? "") }
                out.setInteger(Int32(out.writerIndex - lengthIndex - 4), at: lengthIndex)
            }
        }
    }

    /// One value in the binary format (the value must not be NULL).
    public static func writeBinary(_ value: Value, into buffer: inout ByteBuffer) {
        switch value {
        case .null: break
        case .bool(let b): buffer.writeInteger(UInt8(b ? 1 : 0))
        case .int16(let v): buffer.writeInteger(v)
        case .int32(let v): buffer.writeInteger(v)
        case .int64(let v): buffer.writeInteger(v)
        case .float32(let v): buffer.writeInteger(v.bitPattern)
        case .float64(let v): buffer.writeInteger(v.bitPattern)
        case .numeric(let mantissa, let scale): writeNumeric(mantissa, scale: scale, into: &buffer)
        case .text(let s): buffer.writeString(s)
        case .date(let d): buffer.writeInteger(d &- epochDays)
        case .timestamp(let t): buffer.writeInteger(t &- epochMicros)
        case .interval(let i):
            buffer.writeInteger(i.micros)
            buffer.writeInteger(i.days)
            buffer.writeInteger(i.months)
        case .tid(let id):
            // tidsend: the block (uint32), then the offset (uint16).
            let (block, offset) = TupleID.parts(id)
            buffer.writeInteger(block)
            buffer.writeInteger(offset)
        }
    }

    /// PostgreSQL's `numeric_send`: digit count, weight (of the first group, in powers of
    /// 10000), sign, display scale, then the base-10000 groups without leading or trailing zeros.
    static func writeNumeric(_ mantissa: Int128, scale: Int, into buffer: inout ByteBuffer) {
        let magnitude = String(mantissa.magnitude)
        let padded = magnitude.count > scale ? magnitude : String(repeating: "0", count: scale - magnitude.count + 1) + magnitude
        var integer = Array(padded.utf8.dropLast(scale))
        var fraction = Array(padded.utf8.suffix(scale))
        while integer.count % 4 != 0 { integer.insert(UInt8(ascii: "0"), at: 0) }
        while fraction.count % 4 != 0 { fraction.append(UInt8(ascii: "0")) }
        func groups(_ digits: [UInt8]) -> [Int16] {
            stride(from: 0, to: digits.count, by: 4).map { start in
                digits[start..<start + 4].reduce(Int16(0)) { $0 * 10 + Int16($1 - UInt8(ascii: "0")) }
            }
        }
        var digits = groups(integer) + groups(fraction)
        var weight = integer.count / 4 - 1
        while let first = digits.first, first == 0 {
            digits.removeFirst()
            weight -= 1
        }
        while let last = digits.last, last == 0 { digits.removeLast() }
        if digits.isEmpty { weight = 0 }
        buffer.writeInteger(Int16(digits.count))
        buffer.writeInteger(Int16(weight))
        buffer.writeInteger(UInt16(mantissa < 0 && !digits.isEmpty ? 0x4000 : 0))
        buffer.writeInteger(UInt16(scale))
        for digit in digits { buffer.writeInteger(digit) }
    }

    /// Decodes a binary parameter of `type`.
    /// - Throws: 22P03 when the bytes do not hold a value of the type.
    public static func readBinary(_ buffer: ByteBuffer, as type: SQLType, parameter: Int) throws(DatabaseError) -> Value {
        var bytes = buffer
        func invalid() -> DatabaseError {
            DatabaseError(SQLState("22P03"), "incorrect binary data format in bind parameter \(parameter)")
        }
        func exact<T: FixedWidthInteger>(_: T.Type) throws(DatabaseError) -> T {
            guard bytes.readableBytes == MemoryLayout<T>.size, let value = bytes.readInteger(as: T.self) else { throw invalid() }
            return value
        }
        switch type {
        case .boolean:
            let byte = try exact(UInt8.self)
            guard byte <= 1 else { throw invalid() }
            return .bool(byte == 1)
        case .smallint: return .int16(try exact(Int16.self))
        case .integer: return .int32(try exact(Int32.self))
        case .bigint: return .int64(try exact(Int64.self))
        case .real: return .float32(Float(bitPattern: try exact(UInt32.self)))
        case .double: return .float64(Double(bitPattern: try exact(UInt64.self)))
        case .text, .varchar, .unknown:
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                throw DatabaseError(SQLState("22021"), "invalid byte sequence for encoding \"UTF8\" in bind parameter \(parameter)")
            }
            return .text(text)
        case .date:
            let (days, overflow) = try exact(Int32.self).addingReportingOverflow(epochDays)
            guard !overflow else { throw DatabaseError(.datetimeFieldOverflow, "date out of range") }
            return .date(days)
        case .timestamp:
            let (micros, overflow) = try exact(Int64.self).addingReportingOverflow(epochMicros)
            guard !overflow else { throw DatabaseError(.datetimeFieldOverflow, "timestamp out of range") }
            return .timestamp(micros)
        case .interval:
            guard bytes.readableBytes == 16, let micros = bytes.readInteger(as: Int64.self), let days = bytes.readInteger(as: Int32.self),
                  let months = bytes.readInteger(as: Int32.self) else { throw invalid() }
            return .interval(Interval(months: months, days: days, micros: micros))
        case .numeric, .dynamicNumeric:
            return try readNumeric(&bytes, parameter: parameter)
        case .tid:
            guard bytes.readableBytes == 6, let block = bytes.readInteger(as: UInt32.self), let offset = bytes.readInteger(as: UInt16.self) else { throw invalid() }
            return .tid(TupleID.make(block: block, offset: offset))
        }
    }

    /// PostgreSQL's `numeric_recv`, into a scaled 128-bit integer at the display scale.
    static func readNumeric(_ bytes: inout ByteBuffer, parameter: Int) throws(DatabaseError) -> Value {
        let invalid = DatabaseError(SQLState("22P03"), "invalid numeric data in bind parameter \(parameter)")
        guard let count = bytes.readInteger(as: Int16.self), let weight = bytes.readInteger(as: Int16.self),
              let sign = bytes.readInteger(as: UInt16.self), let scale = bytes.readInteger(as: UInt16.self),
              count >= 0, bytes.readableBytes == Int(count) * 2 else { throw invalid }
        guard sign == 0 || sign == 0x4000 else {
            throw DatabaseError(.featureNotSupported, "numeric NaN and infinity are not supported (bind parameter \(parameter))")
        }
        guard scale <= 38 else { throw DatabaseError(.numericValueOutOfRange, "numeric field overflow in bind parameter \(parameter)") }
        var mantissa: Int128 = 0
        let overflow = DatabaseError(.numericValueOutOfRange, "numeric field overflow in bind parameter \(parameter)")
        // Digit group i is worth 10000^(weight - i); the mantissa counts units of 10^-scale.
        for index in 0..<Int(count) {
            let group = bytes.readInteger(as: Int16.self)!
            guard group >= 0, group < 10_000 else { throw invalid }
            let exponent = (Int(weight) - index) * 4 + Int(scale)
            if exponent < 0 {
                // Digits past the display scale: PostgreSQL never sends non-zero ones.
                guard exponent > -4 else { if group != 0 { throw invalid }; continue }
                var divisor: Int16 = 1
                for _ in 0 ..< -exponent { divisor *= 10 }
                guard group % divisor == 0 else { throw invalid }
                mantissa += Int128(group / divisor)
                continue
            }
            guard exponent <= 38 else { throw overflow }
            let (scaled, multiplyOverflow) = Int128(group).multipliedReportingOverflow(by: DecimalMath.pow10(exponent))
            let (sum, addOverflow) = mantissa.addingReportingOverflow(scaled)
            guard !multiplyOverflow, !addOverflow else { throw overflow }
            mantissa = sum
        }
        return .numeric(sign == 0x4000 ? -mantissa : mantissa, scale: Int(scale))
    }
}
