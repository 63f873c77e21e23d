import XCTest
import Foundation

/// Feeds bad statements and malformed CSV through the `kiln` shell: never a crash, always a
/// non-zero exit, the SQLSTATE, and the position (or the file's line number).
final class BadInputTests: XCTestCase {
    static let setup = "CREATE TABLE t (k INTEGER NOT NULL, v DOUBLE PRECISION); CREATE TABLE s (x VARCHAR(3)); INSERT INTO t VALUES (1, 2.5), (2, NULL);"

    func kilnBinary() throws -> URL { try KilnBinary.url() }

    func runKiln(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try kilnBinary()
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    func testBadStatements() throws {
        let corpus = try String(contentsOf: Bundle.module.resourceURL!.appendingPathComponent("bad/statements.txt"), encoding: .utf8)
        var checked = 0
        for line in corpus.split(separator: "\n") where !line.hasPrefix("#") {
            guard let bar = line.firstIndex(of: "|") else { continue }
            let head = line[..<bar].split(separator: " ")
            let sql = String(line[line.index(after: bar)...].dropFirst())
            let state = String(head[0]), position = String(head[1])
            let (status, _, stderr) = try runKiln(["-c", Self.setup, "-c", sql])
            XCTAssertEqual(status, 1, "\(sql): exit status (a crash is a signal)")
            XCTAssertTrue(stderr.hasPrefix("ERROR:  "), "\(sql): \(stderr)")
            XCTAssertTrue(stderr.contains("SQLSTATE: \(state)"), "\(sql): expected \(state), got \(stderr)")
            if position != "-" {
                XCTAssertTrue(stderr.contains("POSITION: \(position)\n") || stderr.contains("POSITION: \(position) "), "\(sql): expected position \(position), got \(stderr)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30)
    }

    func testMalformedCSVRowsReportTheirLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bad-csv-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(String, String, Int)] = [
            ("k,v\n1,2.5\n2,3.5\nx,1\n", "22P02", 4),          // bad integer on line 4 (after the header)
            ("k,v\n1,2.5\n2\n", "22P04", 3),                   // missing column
            ("k,v\n1,2.5,9\n", "22P04", 2),                    // extra column
            ("k,v\n1,2.5\n2,\"3.5\n", "22P04", 3),             // unterminated quote
            ("k,v\n1,2.5\n,4\n", "23502", 3),                  // NULL into NOT NULL
            ("k,v\n1,abc\n", "22P02", 2),                      // bad double
        ]
        for (index, (contents, state, line)) in cases.enumerated() {
            let file = directory.appendingPathComponent("case\(index).csv")
            try contents.write(to: file, atomically: true, encoding: .utf8)
            let copy = "COPY t FROM '\(file.path)' WITH (FORMAT csv, HEADER true)"
            let (status, _, stderr) = try runKiln(["-c", Self.setup, "-c", copy])
            XCTAssertEqual(status, 1, contents)
            XCTAssertTrue(stderr.contains("SQLSTATE: \(state)"), "\(contents): \(stderr)")
            XCTAssertTrue(stderr.contains("LINE: \(line)"), "\(contents): expected line \(line): \(stderr)")
        }
        // A failed COPY leaves the table unchanged.
        let file = directory.appendingPathComponent("partial.csv")
        try "1,1\n2,2\nbad,3\n".write(to: file, atomically: true, encoding: .utf8)
        let (_, stdout, _) = try runKiln(["--format", "csv", "-c", Self.setup, "-c", "COPY t FROM '\(file.path)' WITH (FORMAT csv)", "-c", "SELECT count(*) FROM t"])
        XCTAssertEqual(stdout, "")
        let (status, out2, _) = try runKiln(["--format", "csv", "-f", "/dev/stdin"].dropLast(2) + ["-c", Self.setup, "-c", "SELECT count(*) FROM t"])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(out2, "count\r\n2\r\n")
    }

    func testSeedQueryHasThreePipelines() throws {
        let (status, stdout, stderr) = try runKiln(["--format", "csv", "-c", "CREATE TABLE t (k INTEGER, v DOUBLE PRECISION)",
                                                   "-c", "EXPLAIN (PIPELINES) SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10"])
        XCTAssertEqual(status, 0, stderr)
        let lines = stdout.split(separator: "\r\n").dropFirst().map { $0.replacingOccurrences(of: "\"", with: "") }
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("pipeline 1: scan(t) -> filter"))
        XCTAssertTrue(lines[0].hasSuffix("hashAggSink(by #0)"))
        XCTAssertTrue(lines[1].hasPrefix("pipeline 2: hashAggSource"))
        XCTAssertTrue(lines[1].hasSuffix("sortSink"))
        XCTAssertTrue(lines[2].hasPrefix("pipeline 3: sortSource -> limit"))
        XCTAssertTrue(lines[2].hasSuffix("output"))
    }
}
