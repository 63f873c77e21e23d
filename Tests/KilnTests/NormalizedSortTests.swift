import KilnCore
import KilnPlanner
@testable import KilnRuntime
import XCTest

/// Sorting by normalized keys (`NormalizedSort`) against the field-by-field comparator it
/// replaces: random records of every fixed-width type, NULLs, DESC, NULLS FIRST / LAST, NaN,
/// -0 and 0, equal keys (the sort must be stable), and tags as the tie-break.
final class NormalizedSortTests: XCTestCase {
    static let types: [SQLType] = [.boolean, .smallint, .integer, .bigint, .real, .double, .numeric(precision: 20, scale: 2),
                                   .dynamicNumeric, .date, .timestamp]

    func testOrderEqualsTheComparatorsStableSort() throws {
        var generator = SystemRandomNumberGenerator()
        let layout = RecordLayout(types: NormalizedSortTests.types)
        let count = 3000
        let storage = UnsafeMutableRawPointer.allocate(byteCount: layout.size * count, alignment: 16)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: layout.size * count)
        let records = (0..<count).map { storage + $0 * layout.size }
        for record in records {
            for (column, type) in layout.types.enumerated() {
                let null = Int.random(in: 0..<8, using: &generator) == 0
                record.storeBytes(of: null ? 1 : 0, toByteOffset: column, as: UInt8.self)
                let at = record + layout.offsets[column]
                // Few distinct values, so that ties (and the stable order) matter.
                let small = Int.random(in: -3...3, using: &generator)
                switch type {
                case .boolean: at.storeBytes(of: UInt8(small & 1), as: UInt8.self)
                case .smallint: at.storeBytes(of: Int16(small) * 1000, as: Int16.self)
                case .integer, .date: at.storeBytes(of: Int32(small) * 100_000, as: Int32.self)
                case .bigint, .timestamp: at.storeBytes(of: Int64(small) << 40, as: Int64.self)
                case .real:
                    let specials: [Float] = [.nan, -0.0, 0.0, .infinity, -.infinity, 1.5, -1.5]
                    at.storeBytes(of: specials[small + 3], as: Float.self)
                case .double:
                    let specials: [Double] = [.nan, -0.0, 0.0, .infinity, -.greatestFiniteMagnitude, 1e-300, -2.5]
                    at.storeBytes(of: specials[small + 3], as: Double.self)
                case .numeric: at.storeBytes(of: Int128(small) * 10_000_000_000_000_000_000, as: Int128.self)
                case .dynamicNumeric:
                    // 1.5 and 1.50 are equal keys.
                    let packed = try PackedNumeric.pack(Int128(small) * 150, scale: 2 + (small & 1))
                    at.storeBytes(of: packed, as: Int128.self)
                default: XCTFail("no values for \(type)")
                }
            }
        }
        for round in 0..<60 {
            var keys: [SortKey] = []
            for column in layout.types.indices.shuffled(using: &generator).prefix(1 + round % 3) {
                keys.append(SortKey(column: column, descending: Bool.random(using: &generator), nullsFirst: Bool.random(using: &generator)))
            }
            let tags: [Int64]? = round % 3 == 0 ? (0..<count).map { _ in Int64.random(in: 0..<1_000_000, using: &generator) } : nil
            let expected = (0..<count).sorted { a, b in
                let c = RecordComparator.compare(records[a], records[b], layout: layout, keys: keys)
                if c != 0 { return c < 0 }
                return tags.map { $0[a] != $0[b] ? $0[a] < $0[b] : a < b } ?? (a < b)
            }
            let order = try XCTUnwrap(NormalizedSort.order(count: count, record: { records[$0] }, tags: tags, layout: layout, keys: keys))
            XCTAssertEqual(order, expected, "keys \(keys), tags: \(tags != nil)")
            // Equal leading bytes are equal leading keys (a window's partitions and peers).
            let normalized = try XCTUnwrap(NormalizedSort.Keys(count: count, record: { records[$0] }, layout: layout, keys: keys))
            for _ in 0..<500 {
                let a = Int.random(in: 0..<count, using: &generator), b = Int.random(in: 0..<count, using: &generator)
                let leading = Array(keys.prefix(Int.random(in: 0...keys.count, using: &generator)))
                let prefix = try XCTUnwrap(NormalizedSort.bytes(of: leading, layout: layout))
                XCTAssertEqual(normalized.equal(a, b, prefix: prefix), RecordComparator.compare(records[a], records[b], layout: layout, keys: leading) == 0)
            }
        }
    }

    func testKeysWithoutANormalizedFormUseTheComparator() {
        let layout = RecordLayout(types: [.integer, .text])
        XCTAssertNil(NormalizedSort.order(count: 0, record: { _ in fatalError() }, layout: layout,
                                          keys: [SortKey(column: 0, descending: false, nullsFirst: false), SortKey(column: 1, descending: false, nullsFirst: false)]))
    }
}
