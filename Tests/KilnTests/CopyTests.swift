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

    /// COPY's fast field parsers agree with the types' input functions (`CAST`) on every
    /// spelling, and a rejected field leaves the table as it was.
    func testFastParsersMatchInputFunctions() throws {
        let db = try Database()
        var lines: [String] = []
        func add(_ fields: [String]) { lines.append("\(lines.count)|" + fields.joined(separator: "|")) }
        // Every 1009th day of years 1..9999, and the leap days of every 20th year (all centuries).
        var day = 0
        for year in 1...9999 {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            for (month, days) in [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31].enumerated() {
                for d in 1...days {
                    day += 1
                    guard day % 1009 == 0 || (month == 1 && d == 29 && year % 20 == 0) else { continue }
                    let text = String(repeating: "0", count: 4 - String(year).count) + "\(year)-" + (month < 9 ? "0" : "") + "\(month + 1)-" + (d < 10 ? "0" : "") + "\(d)"
                    add(["1", "0", "0", text, "x"])
                }
            }
        }
        let numbers = ["0", "-0", "+7", "32767", "-32768", "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808",
                       "1.5", "-1.25", ".5", "5.", "1.005", "0.001", "99999999999999.99", "-99999999999999.99", "123456789012345678",
                       "1e3", "12.3456", "000000000000000000001.25", "0.10", "-.75", " 12", "12 "]
        for n in numbers { add([n, n, n, "2024-02-29", "ab"]) }
        for s in ["", "abc", "äöü", "abcde", "äöüäö"] { add(["1", "1", "1", "2000-01-01", s]) }
        let file = directory.appendingPathComponent("spellings.tbl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try db.execute("CREATE TABLE raw (id INTEGER, i TEXT, n TEXT, m TEXT, d TEXT, v TEXT)")
        try db.execute("COPY raw FROM '\(file)' WITH (FORMAT csv, DELIMITER '|')")
        // Each typed column alone (others text), so a rejected spelling only fails its own load.
        let columns: [(String, String, String)] = [("i", "BIGINT", "i"), ("i", "INTEGER", "i"), ("i", "SMALLINT", "i"), ("n", "NUMERIC(16,2)", "n"),
                                                   ("n", "NUMERIC(30,4)", "n"), ("m", "NUMERIC(18,0)", "m"), ("m", "DOUBLE PRECISION", "m"),
                                                   ("d", "DATE", "d"), ("v", "VARCHAR(4)", "v")]
        for (position, (name, type, _)) in columns.enumerated() {
            let table = "t\(position)"
            let definition = ["id", "i", "n", "m", "d", "v"].map { $0 == "id" ? "id INTEGER" : ($0 == name ? "\($0) \(type)" : "\($0) TEXT") }
            try db.execute("CREATE TABLE \(table) (\(definition.joined(separator: ", ")))")
            // Rows whose field the input function rejects are left out of the comparison.
            var accepted: [String] = []
            var verdicts: [String: Bool] = [:]
            for row in try db.query("SELECT id, \(name) FROM raw ORDER BY id") {
                guard case .text(let text) = row[1] else { continue }
                // The generated dates are valid by construction.
                let ok = name == "d" || (verdicts[text] ?? { (try? db.query("SELECT CAST('\(text)' AS \(type))")) != nil }())
                verdicts[text] = ok
                if ok { accepted.append(row[0].description) }
            }
            let subset = directory.appendingPathComponent("\(table).tbl").path
            let keep = Set(accepted)
            try (lines.filter { keep.contains(String($0.prefix { $0 != "|" })) }.joined(separator: "\n") + "\n").write(toFile: subset, atomically: true, encoding: .utf8)
            try db.execute("COPY \(table) FROM '\(subset)' WITH (FORMAT csv, DELIMITER '|')")
            let differences = try db.query("""
                SELECT r.id, r.\(name), t.\(name) FROM raw r JOIN \(table) t ON r.id = t.id
                WHERE t.\(name) IS DISTINCT FROM CAST(r.\(name) AS \(type))
                """)
            XCTAssertEqual(differences, [], "\(type): loaded values differ from CAST")
            XCTAssertEqual(try db.query("SELECT count(*) FROM \(table)"), [[.int64(Int64(accepted.count))]], type)
            // A file with a rejected spelling loads nothing.
            if accepted.count < lines.count {
                XCTAssertThrowsError(try db.execute("COPY \(table) FROM '\(file)' WITH (FORMAT csv, DELIMITER '|')"), type)
                XCTAssertEqual(try db.query("SELECT count(*) FROM \(table)"), [[.int64(Int64(accepted.count))]], type)
            }
        }
    }

    /// Records across the reader's 4 MiB chunks and its 16-byte scanning steps: quoted fields
    /// with delimiters, doubled quotes and line breaks, CRLF and LF endings, empty fields.
    func testLargeCSVAcrossChunks() throws {
        let db = try Database()
        try db.execute("CREATE TABLE big (k INTEGER NOT NULL, q TEXT, t TEXT, e TEXT)")
        var text = ""
        var expectedLength = 0
        let rows = 150_000
        for k in 0..<rows {
            let plain = String(repeating: "abcdefghij", count: k % 7)
            let quoted = k % 3 == 0 ? "\"x,\"\"y\"\"\nz \(k)\"" : "\"\(k)\""
            let quotedLength = k % 3 == 0 ? 8 + String(k).count : String(k).count
            text += "\(k),\(quoted),\(plain),\(k % 5 == 0 ? "" : "e")" + (k % 2 == 0 ? "\r\n" : "\n")
            expectedLength += quotedLength + plain.count + (k % 5 == 0 ? 0 : 1)
        }
        let file = directory.appendingPathComponent("big.csv").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertGreaterThan(text.utf8.count, 5 << 20)
        XCTAssertEqual(try db.execute("COPY big FROM '\(file)' WITH (FORMAT csv)").last?.commandTag, "COPY \(rows)")
        let summary = try db.query("SELECT count(*), sum(k), sum(length(q) + coalesce(length(t), 0) + coalesce(length(e), 0)), count(e) FROM big")
        let keySum = Int64(rows) * Int64(rows - 1) / 2
        let expected: [Value] = [.int64(Int64(rows)), .int64(keySum), .int64(Int64(expectedLength)), .int64(Int64(rows - rows / 5))]
        XCTAssertEqual(summary, [expected])
        XCTAssertEqual(try db.query("SELECT q FROM big WHERE k = 149997"), [[.text("x,\"y\"\nz 149997")]])
    }

    /// Records wider than the reader's first buffers: 70 fields, a 100 KB quoted field.
    func testWideRecordsAndLongQuotedFields() throws {
        let db = try Database()
        let columns = (0..<70).map { "c\($0) INTEGER" }.joined(separator: ", ")
        try db.execute("CREATE TABLE wide (\(columns), t TEXT)")
        let long = String(repeating: "ab,\"\"cd\n", count: 12_000)
        let line = (0..<70).map(String.init).joined(separator: ",") + ",\"" + long + "\"\n"
        let file = directory.appendingPathComponent("wide.csv").path
        try (line + line).write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try db.execute("COPY wide FROM '\(file)' WITH (FORMAT csv)").last?.commandTag, "COPY 2")
        XCTAssertEqual(try db.query("SELECT sum(c69), min(length(t)), max(length(t)), min(substring(t, 84000 - 6, 7)) FROM wide"),
                       [[.int64(138), .int32(84_000), .int32(84_000), .text("ab,\"cd\n")]])
    }
}
