import XCTest
@testable import Kiln
import KilnCore

/// The store behind cursors and row-limited portals: rows of every kind of value come back
/// the same, in memory and from the temporary file, read in any order.
final class ResultStoreTests: XCTestCase {
    func testRowsComeBackFromMemoryAndFromTheFile() throws {
        var generator = SystemRandomNumberGenerator()
        func value(_ column: Int, _ row: Int) -> Value {
            if (row + column) % 11 == 0 { return .null }
            switch column {
            case 0: return .int32(Int32(row))
            case 1: return .text(String(repeating: "é", count: row % 40) + "\(row)")
            case 2: return .numeric(Int128(row) * 1_000_000_007 - 5, scale: row % 5)
            case 3: return .float64(Double(row) / 7)
            case 4: return .bool(row % 3 == 0)
            case 5: return .date(Int32(row % 20000))
            case 6: return .timestamp(Int64(row) * 1_000_003)
            case 7: return .interval(Interval(months: Int32(row % 13), days: -Int32(row % 31), micros: Int64(row)))
            case 8: return .int16(Int16(truncatingIfNeeded: row))
            case 9: return .int64(Int64(row) << 33)
            case 10: return .float32(Float(row) / 3)
            default: return .tid(Int64(row))
            }
        }
        let columns = (0..<12).map { QueryResult.Column(name: "c\($0)", type: .text) }
        let rows = (0..<8000).map { row in (0..<12).map { value($0, row) } }
        let store = ResultStore(columns: columns, memoryBytes: 256 << 10)
        for start in stride(from: 0, to: rows.count, by: 777) { try store.append(Array(rows[start..<min(rows.count, start + 777)])) }
        try store.finish()
        XCTAssertEqual(store.count, rows.count)
        XCTAssertGreaterThan(store.spilledBytes, 0, "past work_mem, chunks go to the file")
        XCTAssertEqual(try store.rows(0..<rows.count), rows)
        for _ in 0..<60 {
            let a = Int.random(in: 0..<rows.count, using: &generator), b = Int.random(in: 0...rows.count, using: &generator)
            let range = min(a, b)..<max(a, b)
            XCTAssertEqual(try store.rows(range), Array(rows[range]))
        }
        XCTAssertEqual(try store.rows(5..<5), [])
    }
}
