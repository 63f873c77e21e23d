import Kiln
import XCTest

/// Deeply nested input gets an answer or 54001 (PostgreSQL's "stack depth limit exceeded"),
/// never a stack overflow: on the caller's own thread (8 MiB, a debug build: the session hops
/// onto its statement thread) and on a statement thread. `scripts/release-checks.py` sends
/// deeper ones (1,000,000 NOTs and terms, 10,000 nested subqueries) to `kiln serve`.
final class DeepInputTests: XCTestCase {
    static let inputs: [(String, String)] = [
        ("100,000 NOTs", "SELECT " + String(repeating: "NOT ", count: 100_000) + "true"),
        ("4,999 NOTs", "SELECT " + String(repeating: "NOT ", count: 4_999) + "true"),
        ("100,000 parentheses", "SELECT " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)),
        ("200,000-term sum", "SELECT 1" + String(repeating: " + 1", count: 200_000)),
        ("4,900-term sum", "SELECT 1" + String(repeating: " + 1", count: 4_900)),
        ("5,000-term OR", "SELECT count(*) FROM generate_series(1, 10) AS g(i) WHERE " + (0..<5_000).map { "i = \($0)" }.joined(separator: " OR ")),
        ("300 nested subqueries", "SELECT " + String(repeating: "(SELECT ", count: 300) + "1" + String(repeating: ")", count: 300)),
        ("1,001 nested subqueries", "SELECT " + String(repeating: "(SELECT ", count: 1_001) + "1" + String(repeating: ")", count: 1_001)),
        ("4,000 casts", "SELECT 1" + String(repeating: "::int", count: 4_000)),
    ]

    static func check(_ name: String, _ sql: String, on db: Database) -> String {
        do {
            let rows = try db.query(sql)
            return "\(name): \(rows.first?.first.map { "\($0)" } ?? "no rows")"
        } catch {
            XCTAssertEqual(error.sqlState.code, "54001", "\(name): \(error.message)")
            return "\(name): 54001"
        }
    }

    func testDeepInputOnTheCallersThread() throws {
        let db = try Database()
        for (name, sql) in DeepInputTests.inputs { _ = DeepInputTests.check(name, sql, on: db) }
        // The session goes on.
        XCTAssertEqual(try db.query("SELECT 1 + 1"), [[.int32(2)]])
    }

    func testDeepInputOnAStatementThread() throws {
        let db = try Database()
        nonisolated(unsafe) var outcomes: [String] = []
        nonisolated(unsafe) let session = db
        StatementThreads.run {
            for (name, sql) in DeepInputTests.inputs { outcomes.append(DeepInputTests.check(name, sql, on: session)) }
        }
        XCTAssertEqual(outcomes.count, DeepInputTests.inputs.count)
        XCTAssertTrue(outcomes.contains("5,000-term OR: 10"), "\(outcomes)")
        XCTAssertTrue(outcomes.contains("4,900-term sum: 4901"), "\(outcomes)")
        XCTAssertTrue(outcomes.contains("200,000-term sum: 54001"), "\(outcomes)")
    }
}
