import XCTest
import Kiln

/// Join graphs of many tables: chains, stars and cliques of 10, 30, 64 and 100 tables, named
/// in a shuffled order in FROM with their equalities in WHERE, plan without cross products
/// and give the right count on small tables. (Relation sets beyond 64 used to leave a large
/// region in its written order: a chain of cross products that never finished.)
final class JoinGraphTests: XCTestCase {
    func testChainsStarsAndCliquesPlanWithoutCrossProducts() throws {
        let db = try Database()
        let most = 100
        for i in 0..<most {
            try db.execute("CREATE TABLE g\(i) (id INTEGER, next INTEGER)")
            try db.execute("INSERT INTO g\(i) SELECT k, k FROM generate_series(1, \(3 + i % 4)) k")
        }
        var generator = SplitMix(seed: 42)
        for size in [10, 30, 64, 100] {
            for shape in ["chain", "star", "clique"] {
                var conditions: [String] = []
                switch shape {
                case "chain": conditions = (0..<(size - 1)).map { "g\($0).next = g\($0 + 1).id" }
                case "star": conditions = (1..<size).map { "g0.id = g\($0).id" }
                default:
                    // A clique's every pair, on the larger sizes a sample of them (plus a chain, connected).
                    conditions = (0..<(size - 1)).map { "g\($0).id = g\($0 + 1).id" }
                    for a in 0..<size { for b in (a + 2)..<max(a + 2, size) where (a * 31 + b * 17) % max(1, size / 8) == 0 { conditions.append("g\(a).id = g\(b).id") } }
                }
                var order = Array(0..<size)
                order.shuffle(using: &generator)
                let sql = "SELECT count(*) FROM \(order.map { "g\($0)" }.joined(separator: ", ")) WHERE \(conditions.joined(separator: " AND "))"
                let started = ContinuousClock.now
                let plan = try db.query("EXPLAIN " + sql).compactMap { $0.first?.text }.joined(separator: "\n")
                let planned = ContinuousClock.now - started
                XCTAssertFalse(plan.contains("[cross]"), "\(shape) of \(size): a cross product:\n\(plan)")
                // Every table holds 1...3 at least: the ids 1, 2, 3 join through every table.
                XCTAssertEqual(try db.query(sql), [[.int64(3)]], "\(shape) of \(size)")
                print("join graph: \(shape) of \(size) tables planned in \(planned)")
            }
        }
    }
}

/// A small deterministic generator (the shuffles are the same in every run).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
