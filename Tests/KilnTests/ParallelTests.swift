import XCTest
import Kiln

/// Morsel-driven parallel pipelines: the same answers at 1, 2 and 8 threads (8 oversubscribes
/// this machine's cores) with morsels small enough to force many hand-offs, in every execution
/// mode; helpers' errors, cancellation and the memory limit; the settings.
final class ParallelTests: XCTestCase {
    static func makeDatabase() throws -> Database {
        let db = try Database()
        try db.execute("""
            CREATE TABLE f (id INTEGER NOT NULL, g INTEGER, v BIGINT, n NUMERIC(12, 2), s TEXT, d DATE, b BOOLEAN);
            INSERT INTO f SELECT i, i % 257, (i * 7919) % 100003 - 50000, (i % 1013) * 0.25,
                                 CASE WHEN i % 11 = 0 THEN NULL ELSE 'text ' || (i % 997) END, DATE '2020-01-01' + (i % 900), i % 3 = 0
              FROM generate_series(1, 120000) AS t(i);
            CREATE TABLE dim (g INTEGER, name TEXT, w BIGINT);
            INSERT INTO dim SELECT i, 'name ' || (i % 17), i * 3 FROM generate_series(0, 300) AS t(i);
            DELETE FROM f WHERE id % 5000 = 1;
            UPDATE f SET v = v + 1 WHERE id % 7000 = 3;
            """)
        return db
    }

    static let queries = [
        "SELECT count(*), sum(v), min(v), max(v), sum(n), min(s), max(s), min(d), max(d), count(s) FROM f",
        "SELECT g, count(*), sum(v), min(s), max(d), sum(n), count(b) FROM f WHERE v > -20000 GROUP BY g ORDER BY g",
        "SELECT s, count(*) FROM f GROUP BY s ORDER BY 2 DESC, 1 NULLS FIRST LIMIT 20",
        "SELECT d.name, count(*), sum(f.v), min(f.n) FROM f JOIN dim d ON f.g = d.g WHERE d.w % 2 = 0 GROUP BY d.name ORDER BY 1",
        "SELECT count(*), sum(a.v) FROM f a JOIN f b ON a.id = b.id + 1 WHERE b.g < 100",
        "SELECT a.g, count(*) FROM f a LEFT JOIN f b ON a.id = b.id * 2 GROUP BY a.g ORDER BY a.g",
        "SELECT count(*) FROM f WHERE EXISTS (SELECT 1 FROM dim WHERE dim.g = f.g AND dim.w > 600)",
        "SELECT count(*) FROM f WHERE g NOT IN (SELECT g FROM dim WHERE name LIKE '%3')",
        "SELECT g % 10, avg(v), sum(v) FILTER (WHERE b) FROM f GROUP BY 1 ORDER BY 1",
        "SELECT count(DISTINCT g), count(DISTINCT s) FROM f",
        "SELECT id, v FROM f WHERE v % 1000 = 7 ORDER BY id",
        // Sorts and top-N over a scan: ties come out in the scan's order, as on one worker.
        "SELECT g, id, v FROM f WHERE id % 7 = 0 ORDER BY g",
        "SELECT g, id FROM f WHERE id % 3 = 0 ORDER BY g DESC LIMIT 50",
        "SELECT s, d FROM f ORDER BY s DESC NULLS LAST LIMIT 5 OFFSET 100",
        "SELECT f.id, d.name FROM f JOIN dim d ON f.g = d.g ORDER BY d.name, f.v LIMIT 20",
        // Many groups: merged by partition on several workers.
        "SELECT id % 50000, count(*), sum(v), min(s), max(n) FROM f GROUP BY 1 ORDER BY 1 LIMIT 30 OFFSET 20000",
        "SELECT 'key ' || (id % 40000) AS k, count(*), min(d) FROM f WHERE b GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        "SELECT count(*), sum(c) FROM (SELECT id % 70001 AS k, count(*) AS c FROM f GROUP BY 1) x",
    ]

    func testSameAnswersAtEveryThreadCountAndMode() throws {
        let db = try ParallelTests.makeDatabase()
        try db.execute("SET threads = 1")
        try db.use(.interpreted)
        let expected = try ParallelTests.queries.map { try db.query($0) }
        for mode in JITMode.allCases {
            try db.use(mode)
            for (threads, morsel) in [(2, 16384), (2, 1000), (8, 777), (8, 64)] {
                try db.execute("SET threads = \(threads); SET parallel_morsel_rows = \(morsel)")
                for (sql, answer) in zip(ParallelTests.queries, expected) {
                    XCTAssertTrue(try db.query(sql) == answer, "\(mode), \(threads) threads, morsels of \(morsel): \(sql)")
                }
            }
        }
    }

    func testPipelinesRunOnSeveralWorkers() throws {
        let db = try ParallelTests.makeDatabase()
        try db.use(.fast)
        try db.execute("SET threads = 2; SET parallel_morsel_rows = 1000")
        let plan = try db.query("EXPLAIN ANALYZE SELECT g, sum(v) FROM f GROUP BY g").map { $0[0].text ?? "" }.joined(separator: "\n")
        XCTAssertTrue(plan.contains("workers: 2"), plan)
        XCTAssertEqual(try db.query("SHOW threads"), [[.text("2")]])
        for bad in ["0", "-1", "two", "100000"] {
            XCTAssertThrowsError(try db.execute("SET threads = '\(bad)'")) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .invalidParameterValue, bad)
            }
        }
        XCTAssertThrowsError(try db.execute("SET parallel_morsel_rows = 0"))
    }

    func testErrorsCancellationAndMemoryLimitOnEveryWorker() throws {
        let db = try ParallelTests.makeDatabase()
        for mode in [JITMode.interpreted, .fast] {
            try db.use(mode)
            try db.execute("SET threads = 8; SET parallel_morsel_rows = 500")
            // An overflow on some worker: the error, and the session goes on.
            XCTAssertThrowsError(try db.query("SELECT g, sum(v * 400000000000000) FROM f GROUP BY g")) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .numericValueOutOfRange)
            }
            XCTAssertThrowsError(try db.query("SELECT sum(100 / (id - 60000)) FROM f")) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .divisionByZero)
            }
            XCTAssertEqual(try db.query("SELECT count(*) FROM f WHERE id <= 10"), [[.int64(9)]])
            // A join that explodes (every row of a group meets every other): the timeout stops it.
            try db.execute("SET statement_timeout = 300")
            let started = ContinuousClock.now
            XCTAssertThrowsError(try db.query("SELECT count(*), sum(a.v + b.v) FROM f a JOIN f b ON a.g % 3 = b.g % 3")) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, SQLState("57014"))
            }
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(20))
            try db.execute("SET statement_timeout = 0")
            // Every worker's groups count against one memory limit.
            try db.execute("SET memory_limit = '2MB'")
            XCTAssertThrowsError(try db.query("SELECT id, count(*) FROM f GROUP BY id")) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .outOfMemory)
            }
            try db.execute("RESET memory_limit")
            XCTAssertEqual(try db.query("SELECT count(*) FROM (SELECT id FROM f GROUP BY id) x"), [[.int64(119976)]])
        }
    }
}
