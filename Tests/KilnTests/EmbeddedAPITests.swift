import XCTest
import Kiln

/// The embedded API: parameters, typed rows, Decodable, zero-copy column access, errors.
final class EmbeddedAPITests: XCTestCase {
    func makeDatabase() throws -> Database {
        let db = try Database()
        try db.execute("CREATE TABLE t (k INTEGER NOT NULL, v DOUBLE PRECISION, s TEXT, d NUMERIC(10,2))")
        try db.execute("INSERT INTO t VALUES (1, 1.5, 'one', 1.25), (2, NULL, 'two', 2.50), (3, 3.5, NULL, NULL)")
        return db
    }

    func testParameters() throws {
        let db = try makeDatabase()
        for jit in ["on", "off"] {
            try db.use(jit == "on" ? .fast : .interpreted)
            let rows = try db.query("SELECT k FROM t WHERE v > $1 AND k < $2 ORDER BY k", [.float64(1.0), .int32(3)])
            XCTAssertEqual(rows, [[.int32(1)]])
            // The same statement shape with other parameters reuses the compiled code.
            XCTAssertEqual(try db.query("SELECT k FROM t WHERE v > $1 AND k < $2 ORDER BY k", [.float64(0), .int32(10)]), [[.int32(1)], [.int32(3)]])
            XCTAssertEqual(try db.query("SELECT $1::text || s FROM t WHERE k = $2", [.text("n-"), .int64(2)]), [[.text("n-two")]])
            let key: Int32 = jit == "on" ? 9 : 10
            try db.execute("INSERT INTO t VALUES ($1, $2, $3, $4)", [.int32(key), .null, .text("nine"), .numeric(999, scale: 2)])
            XCTAssertEqual(try db.query("SELECT d FROM t WHERE k = $1", [.int32(key)]), [[.numeric(999, scale: 2)]])
        }
    }

    func testTypedTuples() throws {
        let db = try makeDatabase()
        let rows = try db.query("SELECT k, v, s FROM t ORDER BY k", as: (Int32, Double?, String?).self)
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[0].0, 1)
        XCTAssertEqual(rows[1].1, nil)
        XCTAssertEqual(rows[2].2, nil)
        XCTAssertThrowsError(try db.query("SELECT v, k FROM t ORDER BY k", as: (Double, Int32).self)) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, SQLState("22023"))
        }
    }

    struct Item: Decodable, Equatable {
        var k: Int
        var s: String?
        var d: Double?
    }

    func testDecodable() throws {
        let db = try makeDatabase()
        let items = try db.query("SELECT k, s, d FROM t ORDER BY k", decoding: Item.self)
        XCTAssertEqual(items, [Item(k: 1, s: "one", d: 1.25), Item(k: 2, s: "two", d: 2.5), Item(k: 3, s: nil, d: nil)])
    }

    func testColumnWithoutCopy() throws {
        let db = try Database()
        try db.execute("CREATE TABLE big (x BIGINT)")
        try db.execute("INSERT INTO big SELECT g FROM generate_series(1, 100000) AS s(g)")
        try db.execute("INSERT INTO big VALUES (NULL)")
        var sum: Int64 = 0, nulls = 0
        try db.withColumn(table: "big", column: "x", as: Int64.self) { values, isValid in
            for index in values.indices { if isValid(index) { sum += values[index] } else { nulls += 1 } }
        }
        XCTAssertEqual(sum, 100000 * 100001 / 2)
        XCTAssertEqual(nulls, 1)
        XCTAssertThrowsError(try db.withColumn(table: "big", column: "x", as: Double.self) { _, _ in })
    }

    func testErrorsCarrySQLStateMessageAndPosition() throws {
        let db = try makeDatabase()
        do {
            try db.execute("SELECT nope FROM t")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.sqlState, .undefinedColumn)
            XCTAssertEqual(error.message, "column \"nope\" does not exist")
            XCTAssertEqual(error.position, 8)
            XCTAssertEqual(error.sql, "SELECT nope FROM t")
        }
        XCTAssertThrowsError(try db.query("SELECT k FROM t WHERE k = $1", [])) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, .undefinedParameter)
        }
    }

    /// A query whose hash tables outgrow `memory_limit` fails with SQLSTATE 53200, in both modes.
    func testMemoryLimitIsAnErrorNotACrash() throws {
        let db = try Database()
        let query = "SELECT count(*) FROM (SELECT x, count(*) FROM generate_series(1, 200000) g(x) GROUP BY x) s"
        for jit in ["on", "off"] {
            try db.use(jit == "on" ? .fast : .interpreted)
            try db.execute("SET memory_limit = '1MB'")
            XCTAssertEqual(try db.query("SHOW memory_limit"), [[.text("1MB")]])
            XCTAssertThrowsError(try db.query(query)) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .outOfMemory)
            }
            try db.execute("RESET memory_limit")
            XCTAssertEqual(try db.query(query), [[.int64(200000)]])
        }
        XCTAssertThrowsError(try db.execute("SET memory_limit = 'lots'")) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, .invalidParameterValue)
        }
    }

    func testPreparedStatementsReuseTheirPlanAndNoticeChanges() throws {
        let db = try makeDatabase()
        let prepared = try XCTUnwrap(try db.prepare("SELECT count(*) AS n FROM t WHERE k > $1"))
        XCTAssertEqual(try db.describe(prepared).parameterTypes, [.integer])
        XCTAssertEqual(try db.describe(prepared).columns?.map(\.name), ["n"])
        XCTAssertEqual(try db.execute(prepared, [.int32(1)]).rows, [[.int64(2)]])
        // The second run reuses the plan and the code: no compilation.
        let second = try db.execute(prepared, [.text("0")])
        XCTAssertEqual(second.rows, [[.int64(3)]])
        XCTAssertEqual(second.timings?.compileMilliseconds, 0)
        // New rows are seen; a changed table is bound again; so is a changed setting.
        try db.execute("INSERT INTO t VALUES (7, 0, 'x', 0)")
        XCTAssertEqual(try db.execute(prepared, [.int32(1)]).rows, [[.int64(3)]])
        try db.execute("SET jit = off")
        XCTAssertEqual(try db.execute(prepared, [.int32(1)]).rows, [[.int64(3)]])
        try db.execute("DROP TABLE t; CREATE TABLE t (k BIGINT, s TEXT); INSERT INTO t VALUES (5, 'a')")
        XCTAssertEqual(try db.execute(prepared, [.int32(1)]).rows, [[.int64(1)]])
        // SQL PREPARE / EXECUTE share the plan cache and the names with the protocol's statements.
        try db.execute("PREPARE q(bigint) AS SELECT s FROM t WHERE k = $1")
        XCTAssertEqual(try db.query("EXECUTE q(5)"), [[.text("a")]])
        XCTAssertEqual(try db.query("EXECUTE q(4 + 1)"), [[.text("a")]])
        XCTAssertThrowsError(try db.execute("EXECUTE q")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, .syntaxError) }
        XCTAssertThrowsError(try db.execute("PREPARE q AS SELECT 1")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "42P05") }
        try db.execute("DEALLOCATE q")
        XCTAssertThrowsError(try db.execute("EXECUTE q(1)")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "26000") }
    }
}
