import XCTest
@testable import KilnPlanner

/// Join size estimates that decide TPC-H join orders (see `Estimate.join`).
final class EstimateTests: XCTestCase {
    /// lineitem ⋈ partsupp on (partkey, suppkey) is a foreign key into partsupp: about one
    /// match per lineitem row (6M), not the 800K the damped distinct counts alone give.
    func testMultiColumnForeignKeyJoin() {
        let lineitem = Estimate(rows: 6_000_000, columns: [.init(distinct: 200_000), .init(distinct: 10_000)])
        let partsupp = Estimate(rows: 800_000, columns: [.init(distinct: 200_000), .init(distinct: 10_000)])
        let keys = [(lineitem.columns[0], partsupp.columns[0]), (lineitem.columns[1], partsupp.columns[1])]
        XCTAssertEqual(Estimate.join(lineitem, partsupp, keys: keys, oneRelationEach: true).rows, 6_000_000, accuracy: 1)
        XCTAssertEqual(Estimate.join(partsupp, lineitem, keys: keys.map { ($0.1, $0.0) }, oneRelationEach: true).rows, 6_000_000, accuracy: 1)
        // Keys that span several relations keep the damped estimate.
        XCTAssertEqual(Estimate.join(lineitem, partsupp, keys: keys).rows, 800_000, accuracy: 1)
        // One column: the textbook |P| |B| / max(d).
        XCTAssertEqual(Estimate.join(lineitem, partsupp, keys: [keys[0]], oneRelationEach: true).rows, 24_000_000, accuracy: 1)
    }
}
