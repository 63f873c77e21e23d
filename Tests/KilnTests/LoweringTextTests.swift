import XCTest
import Kiln
import KilnIR
import KilnJIT
import KilnCompiler
import KilnMLIR

/// Text in, text out: each lowering pass reads a checked-in module of its input level (parsed
/// and verified by MLIR with Kiln's dialects), and its output, verified and printed by MLIR,
/// must equal the checked-in expected module. `KILN_UPDATE_IR=1 swift test` rewrites the
/// expected files (review the diff).
final class LoweringTextTests: XCTestCase {
    var directory: URL { Bundle.module.resourceURL!.appendingPathComponent("ir") }
    /// The source tree's copy, for updating.
    var sourceDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/ir")
    }

    func check(_ name: String, from inputLevel: String, to outputLevel: String, _ pass: (IRModule) throws -> IRModule) throws {
        let compiler = try NativeCompiler()
        let input = try String(contentsOf: directory.appendingPathComponent("\(name).\(inputLevel).mlir"), encoding: .utf8)
        let parsed = try compiler.context.parse(input)
        try parsed.verify()
        let output = try pass(IRImporter.module(from: parsed.snapshot()))
        let printed = try compiler.verify(output).text
        let expectedURL = directory.appendingPathComponent("\(name).\(outputLevel).mlir")
        if ProcessInfo.processInfo.environment["KILN_UPDATE_IR"] == "1" {
            try printed.write(to: sourceDirectory.appendingPathComponent("\(name).\(outputLevel).mlir"), atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        XCTAssertEqual(printed, expected, "\(name): \(inputLevel) -> \(outputLevel)")
    }

    func testSeedQueryHighToMid() throws {
        try check("seed", from: "high", to: "mid") { try HighToMid.lower($0) }
    }

    func testSeedQueryMidToLow() throws {
        try check("seed", from: "mid", to: "low") { try MidToLow.lower($0).module }
    }

    func testSeedQueryLowToUpstream() throws {
        try check("seed", from: "low", to: "upstream") { LowToLLVM.lower($0) }
    }

    /// The checked-in high-level input is what Kiln generates for the seed query.
    func testSeedQueryPlanToHigh() throws {
        try checkPlanToHigh("seed", table: "CREATE TABLE t (k INTEGER, v DOUBLE PRECISION)",
                            query: "SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10")
    }

    /// A LEFT JOIN LATERAL series with an ON condition: the expansion, its residual and the
    /// NULL row (`kiln_high.series_expand` + `join_residual`, then the mid-level loop over
    /// `series_next` and the low level's cursor reads).
    func testLateralSeriesPlanToHigh() throws {
        try checkPlanToHigh("lateral", table: "CREATE TABLE t (id INTEGER, n INTEGER)",
                            query: "SELECT id, g FROM t LEFT JOIN LATERAL generate_series(1, t.n) g ON g > id")
    }

    func testLateralSeriesHighToMid() throws {
        try check("lateral", from: "high", to: "mid") { try HighToMid.lower($0) }
    }

    func testLateralSeriesMidToLow() throws {
        try check("lateral", from: "mid", to: "low") { try MidToLow.lower($0).module }
    }

    func checkPlanToHigh(_ name: String, table: String, query: String) throws {
        let database = try Database()
        try database.execute(table)
        let rows = try database.query("EXPLAIN (IR high) " + query)
        let printed = rows.map { $0[0].text! }.joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["KILN_UPDATE_IR"] == "1" {
            try printed.write(to: sourceDirectory.appendingPathComponent("\(name).high.mlir"), atomically: true, encoding: .utf8)
            return
        }
        XCTAssertEqual(printed, try String(contentsOf: directory.appendingPathComponent("\(name).high.mlir"), encoding: .utf8))
    }
}
