import XCTest
import Kiln
import Foundation

/// Results that stream: rows reach a `RowStream` (or `forEachRow`) in batches while the query
/// runs, in result order, in every execution mode; errors and early stops end the query cleanly.
final class StreamingTests: XCTestCase {
    func makeDatabase() throws -> Database {
        let db = try Database()
        try db.execute("CREATE TABLE t (k BIGINT NOT NULL, s TEXT)")
        try db.execute("INSERT INTO t SELECT g, 'a string longer than twelve bytes ' || g FROM generate_series(1, 100000) g")
        return db
    }

    /// A stream that records how the rows came: batch sizes and the rows themselves.
    final class Collector {
        var columns: [QueryResult.Column] = []
        var batches: [Int] = []
        var rows: [[Value]] = []
        var stream: RowStream {
            RowStream(columns: { self.columns = $0 }, rows: { rows in
                self.batches.append(rows.count)
                self.rows += rows
            })
        }
    }

    func testRowsArriveInBatchesInOrderInEveryMode() throws {
        let db = try makeDatabase()
        let queries = [
            "SELECT g, g * 2 FROM generate_series(1, 300000) g",
            "SELECT k, s FROM t WHERE k % 3 <> 0",
            "SELECT k, upper(s) FROM t ORDER BY k DESC",
            "SELECT t.k, u.s FROM t JOIN t u ON u.k = t.k + 1 WHERE t.k < 90000 ORDER BY t.k LIMIT 70000 OFFSET 5",
        ]
        for mode in JITMode.allCases {
            try db.use(mode)
            for sql in queries {
                let expected = try db.query(sql)
                let collector = Collector()
                let results = try db.execute(sql, streaming: collector.stream)
                XCTAssertEqual(collector.rows.count, expected.count, "\(mode) \(sql)")
                XCTAssertTrue(collector.rows == expected, "\(mode) \(sql): streamed rows differ")
                XCTAssertGreaterThan(collector.batches.count, 2, "\(mode) \(sql): not streamed in batches")
                XCTAssertEqual(results.last?.commandTag, "SELECT \(expected.count)")
                XCTAssertEqual(results.last?.streamed, true)
                XCTAssertEqual(results.last?.rows.count, 0)
                XCTAssertEqual(collector.columns.count, 2)
            }
        }
    }

    func testForEachRowAndOtherResultSets() throws {
        let db = try makeDatabase()
        var previous: Int64 = 0
        let count = try db.forEachRow("SELECT k FROM t WHERE k > $1", [.int64(10)]) { row throws(DatabaseError) in
            let k = try row.get(0, as: Int64.self)
            XCTAssertEqual(k, previous == 0 ? 11 : previous + 1)
            previous = k
        }
        XCTAssertEqual(count, 99990)
        // Result sets made another way reach the stream too (SHOW, RETURNING, EXPLAIN).
        let collector = Collector()
        let results = try db.execute("SHOW jit; INSERT INTO t VALUES (0, 'zero') RETURNING k; CREATE TABLE u (a INT)", streaming: collector.stream)
        XCTAssertEqual(results.map(\.commandTag), ["SHOW", "INSERT 0 1", "CREATE TABLE"])
        XCTAssertEqual(collector.rows.last, [.int64(0)])
        XCTAssertEqual(collector.rows.count, 2)
    }

    func testErrorsAndStopsEndTheQuery() throws {
        let db = try makeDatabase()
        for mode in [JITMode.interpreted, .fast] {
            try db.use(mode)
            // A run-time error after some rows went out: those rows stay delivered, then the error.
            let collector = Collector()
            XCTAssertThrowsError(try db.execute("SELECT 1 / (g - 250000) FROM generate_series(1, 300000) g", streaming: collector.stream)) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .divisionByZero)
            }
            XCTAssertGreaterThan(collector.rows.count, 0)
            XCTAssertLessThan(collector.rows.count, 250000)
            // A consumer that stops by throwing stops the query with its error.
            var seen = 0
            XCTAssertThrowsError(try db.forEachRow("SELECT g FROM generate_series(1, 10000000) g") { _ throws(DatabaseError) in
                seen += 1
                if seen == 20000 { throw DatabaseError(SQLState("57014"), "enough") }
            }) { error in
                XCTAssertEqual((error as? DatabaseError)?.message, "enough")
            }
            XCTAssertEqual(seen, 20000)
            // Running a statement on the same session from the callback is refused, not a deadlock.
            XCTAssertThrowsError(try db.forEachRow("SELECT k FROM t LIMIT 1") { _ throws(DatabaseError) in
                _ = try db.execute("INSERT INTO t VALUES (-1, NULL)")
            }) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, SQLState("55006"))
            }
            // The session goes on, in a block too.
            try db.execute("BEGIN")
            XCTAssertEqual(try db.forEachRow("SELECT k FROM t WHERE k <= 10") { _ in }, 10)
            try db.execute("COMMIT")
            XCTAssertEqual(try db.query("SELECT count(*) FROM t WHERE k < 0"), [[.int64(0)]])
        }
    }

    func testCopyToStreamsItsLines() throws {
        let db = try makeDatabase()
        var batches: [[String]] = []
        let stream = RowStream(columns: { _ in XCTFail("COPY has no result set") }, rows: { _ in XCTFail("COPY has no rows") },
                               copyData: { batches.append($0) })
        let result = try db.execute("COPY (SELECT k, s FROM t WHERE k > 10 ORDER BY k) TO STDOUT WITH (FORMAT csv, HEADER)", streaming: stream)
        XCTAssertEqual(result.last?.commandTag, "COPY 99990")
        XCTAssertNil(result.last?.copyData)
        XCTAssertGreaterThan(batches.count, 2)
        let lines = batches.flatMap { $0 }
        XCTAssertEqual(lines.count, 99991)
        XCTAssertEqual(lines[0], "k,s\n")
        XCTAssertEqual(lines[1], "11,a string longer than twelve bytes 11\n")
        XCTAssertEqual(lines.last, "100000,a string longer than twelve bytes 100000\n")
        // Without a stream the lines stay in the result; to a file they stream there.
        XCTAssertEqual(try db.execute("COPY (SELECT k FROM t WHERE k <= 2) TO STDOUT").last?.copyData, ["1\n", "2\n"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-stream-\(getpid()).txt").path
        defer { unlink(path) }
        XCTAssertEqual(try db.execute("COPY t TO '\(path)'").last?.commandTag, "COPY 100000")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("1\ta string longer than twelve bytes 1\n2\t"))
        XCTAssertEqual(text.split(separator: "\n").count, 100000)
    }
}
