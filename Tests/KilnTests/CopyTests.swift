import XCTest
import Kiln

/// COPY FROM / COPY TO: round trips in CSV and text format, options, NULL handling.
final class CopyTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testRoundTripCSVAndText() throws {
        let db = try Database()
        try db.execute("""
            CREATE TABLE a (k INTEGER NOT NULL, s TEXT, d NUMERIC(8,2), day DATE, ts TIMESTAMP, f DOUBLE PRECISION, b BOOLEAN);
            INSERT INTO a VALUES (1, 'plain', 1.50, '2024-01-02', '2024-01-02 03:04:05.5', 0.1, true),
                                 (2, 'with, comma and "quotes"', -2.00, NULL, NULL, -1e20, false),
                                 (3, NULL, NULL, '1999-12-31', '1999-12-31 23:59:59', NULL, NULL),
                                 (4, '', 0.00, NULL, NULL, 3.5, NULL),
                                 (5, E'tab\\there\\nnewline', 7.25, NULL, NULL, NULL, true)
            """)
        for (format, options) in [("csv", "FORMAT csv, HEADER true"), ("text", "FORMAT text"), ("pipe", "FORMAT csv, DELIMITER '|', NULL 'NULL'")] {
            let file = directory.appendingPathComponent("a.\(format)").path
            XCTAssertEqual(try db.execute("COPY a TO '\(file)' WITH (\(options))").last?.commandTag, "COPY 5")
            try db.execute("CREATE TABLE b_\(format) (k INTEGER NOT NULL, s TEXT, d NUMERIC(8,2), day DATE, ts TIMESTAMP, f DOUBLE PRECISION, b BOOLEAN)")
            XCTAssertEqual(try db.execute("COPY b_\(format) FROM '\(file)' WITH (\(options))").last?.commandTag, "COPY 5")
            XCTAssertEqual(try db.query("SELECT * FROM b_\(format) ORDER BY k"), try db.query("SELECT * FROM a ORDER BY k"), format)
        }
        let query = directory.appendingPathComponent("q.csv").path
        try db.execute("COPY (SELECT k, d * 2 AS twice FROM a WHERE d IS NOT NULL ORDER BY k) TO '\(query)' WITH (FORMAT csv, HEADER true)")
        XCTAssertEqual(try String(contentsOfFile: query, encoding: .utf8), "k,twice\n1,3.00\n2,-4.00\n4,0.00\n5,14.50\n")
    }

    func testColumnListAndTPCHStyleInput() throws {
        let db = try Database()
        try db.execute("CREATE TABLE n (n_nationkey INTEGER NOT NULL, n_name VARCHAR(25) NOT NULL, n_regionkey INTEGER NOT NULL, n_comment VARCHAR(152))")
        let file = directory.appendingPathComponent("nation.tbl").path
        try "0|ALGERIA|0| haggle. carefully final deposits detect slyly agai|\n1|ARGENTINA|1|al foxes promise slyly|\n".write(toFile: file, atomically: true, encoding: .utf8)
        // TPC-H rows end with a delimiter: an empty last field.
        XCTAssertThrowsError(try db.execute("COPY n FROM '\(file)' WITH (FORMAT csv, DELIMITER '|')")) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState.code, "22P04")
            XCTAssertEqual((error as? DatabaseError)?.line, 1)
        }
        let clean = directory.appendingPathComponent("nation2.tbl").path
        try "0|ALGERIA|0| haggle. carefully\n1|ARGENTINA|1|\n".write(toFile: clean, atomically: true, encoding: .utf8)
        try db.execute("COPY n FROM '\(clean)' WITH (FORMAT csv, DELIMITER '|', HEADER false)")
        XCTAssertEqual(try db.query("SELECT n_name, n_comment IS NULL FROM n ORDER BY n_nationkey"), [[.text("ALGERIA"), .bool(false)], [.text("ARGENTINA"), .bool(true)]])
        let partial = directory.appendingPathComponent("partial.csv").path
        try "x,7\ny,8\n".write(toFile: partial, atomically: true, encoding: .utf8)
        try db.execute("CREATE TABLE p (a INTEGER, b TEXT, c INTEGER)")
        try db.execute("COPY p (b, a) FROM '\(partial)' WITH (FORMAT csv)")
        let expected: [[Value]] = [[.int32(7), .text("x"), .null], [.int32(8), .text("y"), .null]]
        XCTAssertEqual(try db.query("SELECT a, b, c FROM p ORDER BY a"), expected)
    }
}
