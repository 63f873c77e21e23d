import Kiln
import KilnWire
import NIOCore
import XCTest

/// Binary and text value formats, against PostgreSQL's send/recv byte layouts.
final class WireFormatTests: XCTestCase {
    func binary(_ value: Value) -> [UInt8] {
        var buffer = ByteBuffer()
        WireFormat.writeBinary(value, into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes)!
    }

    func testFixedWidthLayouts() {
        XCTAssertEqual(binary(.bool(true)), [1])
        XCTAssertEqual(binary(.int16(-2)), [0xFF, 0xFE])
        XCTAssertEqual(binary(.int32(258)), [0, 0, 1, 2])
        XCTAssertEqual(binary(.int64(1)), [0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(binary(.float64(1.0)), [0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(binary(.float32(-2.0)), [0xC0, 0, 0, 0])
        // 2000-01-02 is day 1 of PostgreSQL's epoch; Kiln counts from 1970.
        XCTAssertEqual(binary(.date(10_958)), [0, 0, 0, 1])
        XCTAssertEqual(binary(.timestamp(946_684_800_000_001)), [0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(binary(.interval(Interval(months: 1, days: 2, micros: 3))), [0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1])
    }

    func testNumericLayout() {
        // 123.4567: two groups (123, 4567), weight 0, positive, display scale 4.
        XCTAssertEqual(binary(.numeric(1_234_567, scale: 4)), [0, 2, 0, 0, 0, 0, 0, 4, 0, 123, 0x11, 0xD7])
        // -0.01: one group (100) at weight -1, negative, scale 2.
        XCTAssertEqual(binary(.numeric(-1, scale: 2)), [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0, 100])
        // 0 with scale 2: no groups.
        XCTAssertEqual(binary(.numeric(0, scale: 2)), [0, 0, 0, 0, 0, 0, 0, 2])
        // 10000000: one group (1000) at weight 1... trailing zero groups dropped.
        XCTAssertEqual(binary(.numeric(10_000_000, scale: 0)), [0, 1, 0, 1, 0, 0, 0, 0, 0x03, 0xE8])
    }

    func testBinaryRoundTrips() throws {
        let cases: [(Value, SQLType)] = [
            (.bool(false), .boolean), (.int16(.min), .smallint), (.int32(.max), .integer), (.int64(.min + 1), .bigint),
            (.float32(1.5), .real), (.float64(-1e300), .double), (.text("ünï ✓"), .text), (.date(-719_162), .date),
            (.timestamp(1_700_000_000_123_456), .timestamp), (.interval(Interval(months: -14, days: 3, micros: -5)), .interval),
            (.numeric(-99_999_999_999_999_9999, scale: 4), .numeric(precision: 18, scale: 4)),
            (.numeric(Int128("12345678901234567890123456789012345678")!, scale: 10), .numeric(precision: nil, scale: 10)),
            (.numeric(5, scale: 0), .numeric(precision: nil, scale: 0)), (.numeric(-123_000, scale: 3), .numeric(precision: 10, scale: 3)),
        ]
        for (value, type) in cases {
            var buffer = ByteBuffer()
            WireFormat.writeBinary(value, into: &buffer)
            XCTAssertEqual(try WireFormat.readBinary(buffer, as: type, parameter: 1), value, "\(value)")
        }
    }

    func testMalformedBinaryIsAnError() {
        XCTAssertThrowsError(try WireFormat.readBinary(ByteBuffer(bytes: [0, 1]), as: .integer, parameter: 1)) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState.code, "22P03")
        }
        XCTAssertThrowsError(try WireFormat.readBinary(ByteBuffer(bytes: [2]), as: .boolean, parameter: 1))
        XCTAssertThrowsError(try WireFormat.readBinary(ByteBuffer(bytes: [0, 5, 0, 0, 0, 0, 0, 0]), as: .numeric(precision: nil, scale: 0), parameter: 1))
        XCTAssertThrowsError(try WireFormat.readBinary(ByteBuffer(bytes: [0, 1, 0, 0, 0xC0, 0, 0, 0, 0, 1]), as: .numeric(precision: nil, scale: 0), parameter: 1))
        XCTAssertThrowsError(try WireFormat.readBinary(ByteBuffer(bytes: [0, 1, 0, 40, 0, 0, 0, 0, 0, 1]), as: .numeric(precision: nil, scale: 0), parameter: 1))
        XCTAssertThrowsError(try WireFormat.readBinary(ByteBuffer(bytes: [0xFF, 0xFE]), as: .text, parameter: 1))
    }
}
