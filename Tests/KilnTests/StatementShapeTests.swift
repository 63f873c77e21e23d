import XCTest
import KilnCore
@testable import Kiln

/// The simple protocol's statement cache: which literals are lifted, and that statements of
/// one shape share a prepared statement (and its plan).
final class StatementShapeTests: XCTestCase {
    func normalized(_ sql: String) -> String? { StatementShape(sql)?.normalized }

    func testLiftsLiteralsAfterOperatorsAndInLists() {
        XCTAssertEqual(normalized("UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 5678;"),
                       "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;")
        XCTAssertEqual(StatementShape("UPDATE t SET v = v + -1234 WHERE k = 5")?.parameters, [.int32(-1234), .int32(5)])
        XCTAssertEqual(normalized("INSERT INTO t VALUES (1, 'x', CURRENT_TIMESTAMP), (2, lower('Y'), now())"),
                       "INSERT INTO t VALUES ($1, $2, CURRENT_TIMESTAMP), ($3, lower('Y'), now())")
        XCTAssertEqual(normalized("SELECT v::numeric(10,2) FROM t WHERE k IN (1, 2) AND s = 'a'"),
                       "SELECT v::numeric(10,2) FROM t WHERE k IN ($1, $2) AND s = $3")
        XCTAssertEqual(normalized("DELETE FROM t WHERE a - 5 > 10000000000"), "DELETE FROM t WHERE a - $1 > $2")
        XCTAssertEqual(StatementShape("DELETE FROM t WHERE a - 5 > 10000000000")?.types, [.integer, .bigint])
    }

    func testLeavesLiteralsWhoseValueShapesTheQuery() {
        XCTAssertNil(normalized("SELECT sum(x) FROM generate_series(10, 1, -3) AS s(x)"))
        XCTAssertNil(normalized("SELECT a FROM t WHERE d > DATE '2020-01-01'"))
        XCTAssertNil(normalized("SELECT a, count(*) FROM t WHERE a = 1 GROUP BY 1"))
        XCTAssertNil(normalized("SELECT a FROM t WHERE a = 1 ORDER BY 1"))
        XCTAssertNil(normalized("SELECT a FROM t JOIN u ON t.k = u.k WHERE a = 1"))
        XCTAssertNil(normalized("SELECT a FROM t, u WHERE a = 1"))
        XCTAssertNil(normalized("SELECT a FROM t WHERE a = $1"))
        XCTAssertNil(normalized("UPDATE t SET a = 1; UPDATE t SET a = 2"))
        XCTAssertNil(normalized("CREATE TABLE t (a INTEGER DEFAULT 1)"))
        XCTAssertEqual(normalized("SELECT substring(s, 2, 3) FROM t WHERE k = 7"), "SELECT substring(s, 2, 3) FROM t WHERE k = $1")
    }

    func testOneShapeSharesOnePreparedStatement() throws {
        let database = try Database()
        try database.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
        for k in 1...20 {
            for statement in try database.parse("INSERT INTO kv VALUES (\(k), 'value \(k)')") { _ = try database.execute(statement) }
        }
        var answers: [String] = []
        for k in [3, 17, 99] {
            for statement in try database.parse("SELECT v FROM kv WHERE k = \(k)") {
                answers.append(try database.execute(statement).rows.first?.first?.text ?? "none")
            }
        }
        XCTAssertEqual(answers, ["value 3", "value 17", "none"])
        XCTAssertEqual(database.statementShapes.count, 2)
        // A literal that its parameter type cannot read fails as the literal would, at its position.
        let sql = "SELECT v FROM kv WHERE k = 'seven'"
        XCTAssertThrowsError(try database.parse(sql).forEach { _ = try database.execute($0) }) { error in
            let error = error as! DatabaseError
            XCTAssertEqual(error.sqlState.code, "22P02")
            XCTAssertEqual(error.position, 28)
        }
    }

    /// A client's Parse of a statement with literals (pgjdbc's plain `Statement`) prepares it as
    /// written, with no parameters, even when the simple protocol cached its shape.
    func testPrepareDoesNotLiftLiterals() throws {
        let database = try Database()
        try database.execute("CREATE TABLE kv (k INTEGER, v TEXT)")
        for statement in try database.parse("INSERT INTO kv VALUES (1, 'one')") { _ = try database.execute(statement) }
        XCTAssertEqual(database.statementShapes.count, 1)
        let prepared = try XCTUnwrap(try database.prepare("INSERT INTO kv VALUES (2, 'two')"))
        XCTAssertEqual(try database.describe(prepared).parameterTypes, [])
        _ = try database.execute(prepared, [])
        XCTAssertEqual(try database.query("SELECT k, v FROM kv ORDER BY k"), [[.int32(1), .text("one")], [.int32(2), .text("two")]])
    }
}
