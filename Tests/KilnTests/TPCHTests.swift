import XCTest
import Kiln

/// The TPC-H queries Kiln runs so far (Q1, Q3, Q5-Q10, Q12-Q14, Q18, Q19: scans, inner and left joins, derived tables,
/// aggregates, CASE) at SF0.01 against the official answers, compiled and interpreted. The
/// data and answers come from `../shared/tpch` next to the checkout; the test skips when it is
/// absent. (All 22 queries: issue 3.)
final class TPCHTests: XCTestCase {
    static let supported = ["q01", "q03", "q05", "q06", "q07", "q08", "q09", "q10", "q12", "q13", "q14", "q18", "q19"]

    /// `$KILN_TPCH_DIR`, else `../shared/tpch` next to the checkout, else `/work/shared/tpch`.
    var tpch: URL {
        if let directory = ProcessInfo.processInfo.environment["KILN_TPCH_DIR"] { return URL(fileURLWithPath: directory) }
        let sibling = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/tpch")
        if FileManager.default.fileExists(atPath: sibling.path) { return sibling }
        return URL(fileURLWithPath: "/work/shared/tpch")
    }

    func testSupportedQueriesAtSF001() throws {
        let lineitem = tpch.appendingPathComponent("sf0.01/lineitem.tbl")
        guard FileManager.default.fileExists(atPath: lineitem.path) else { throw XCTSkip("no ../shared/tpch") }
        let db = try Database()
        let schema = try String(contentsOf: tpch.appendingPathComponent("schema.sql"), encoding: .utf8)
        try db.execute(schema)
        for table in ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"] {
            let file = tpch.appendingPathComponent("sf0.01/\(table).tbl").path
            try db.execute("COPY \(table) FROM '\(file)' WITH (FORMAT csv, DELIMITER '|', HEADER false)")
        }
        for query in Self.supported {
            let sql = try String(contentsOf: tpch.appendingPathComponent("queries/\(query).sql"), encoding: .utf8)
            let answer = try String(contentsOf: tpch.appendingPathComponent("answers/sf0.01/\(query).csv"), encoding: .utf8)
            let expected = answer.split(separator: "\n").dropFirst().map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
            for jit in ["on", "off"] {
                try db.execute("SET jit = \(jit)")
                let rows = try db.query(sql)
                XCTAssertEqual(rows.count, expected.count, "\(query) jit \(jit)")
                for (row, want) in zip(rows, expected) {
                    XCTAssertEqual(row.count, want.count)
                    for (value, text) in zip(row, want) {
                        if let number = Double(text), case .text = value {
                            XCTFail("\(query): expected number \(number), got \(value)")
                        } else if let number = Double(text) {
                            let got = try Double.convert(value, column: "")
                            XCTAssertEqual(got, number, accuracy: abs(number) * 1e-9 + 1e-12, "\(query) jit \(jit)")
                        } else {
                            XCTAssertEqual(value.text, text, "\(query) jit \(jit)")
                        }
                    }
                }
            }
        }
    }
}
