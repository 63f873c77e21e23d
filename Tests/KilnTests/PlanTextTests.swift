import XCTest
import Kiln
import KilnPlanner

/// Text in, text out, per optimizer pass: `Resources/plans/<pass>.test` holds statements and
/// `plan` blocks. Each block's query is explained with every pass switched off (the plan as
/// bound: `---- in`), then with only `<pass>` on (`---- out`); both texts must equal the
/// file's, and the query's rows must be the same both ways (a pass never changes an answer).
/// `KILN_UPDATE_PLANS=1 swift test --filter PlanTextTests` rewrites the expected texts
/// (review the diff).
final class PlanTextTests: XCTestCase {
    var directory: URL { Bundle.module.resourceURL!.appendingPathComponent("plans") }
    /// The source tree's copy, for updating.
    var sourceDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/plans")
    }

    func testEveryPassHasItsFile() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".test") }
        XCTAssertEqual(Set(files), Set(Optimizer.passes.map { "\($0.name).test" }))
    }

    /// `optimizer_<pass>` settings: on by default, checked, and reported by EXPLAIN ANALYZE.
    func testSettings() throws {
        let database = try Database()
        try database.execute("CREATE TABLE t (k int, v int)")
        try database.execute("INSERT INTO t VALUES (1, 2), (3, 4)")
        XCTAssertEqual(try database.query("SHOW optimizer_join_ordering").first?.first?.text, "on")
        XCTAssertEqual(try database.query("SELECT count(*) FROM pg_settings WHERE name LIKE 'optimizer%'").first?.first?.text,
                       String(Optimizer.passes.count))
        try database.execute("SET optimizer_join_ordering = false")
        XCTAssertEqual(try database.query("SHOW optimizer_join_ordering").first?.first?.text, "off")
        for (sql, state) in [("SET optimizer_join_ordering = maybe", "22023"), ("SET optimizer_nothing = off", "42704")] {
            XCTAssertThrowsError(try database.execute(sql), sql) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState.code, state, sql)
                XCTAssertEqual((error as? DatabaseError)?.position, 1, sql)
            }
        }
        let analyzed = try database.query("EXPLAIN ANALYZE SELECT a.v FROM t a, t b WHERE a.k = b.k").map { $0[0].text! }
        let line = try XCTUnwrap(analyzed.first { $0.hasPrefix("Optimizer: ") })
        XCTAssertTrue(line.hasPrefix("Optimizer: index_selection "), line)
        XCTAssertTrue(line.hasSuffix("; off: join_ordering"), line)
        try database.execute("RESET optimizer_join_ordering")
        XCTAssertEqual(try database.query("SHOW optimizer_join_ordering").first?.first?.text, "on")
    }

    func testPasses() throws {
        for pass in Optimizer.passes { try check(pass.name) }
    }

    func check(_ pass: String) throws {
        let text = try String(contentsOf: directory.appendingPathComponent("\(pass).test"), encoding: .utf8)
        let database = try Database()
        try database.execute("SET jit = off")
        func explain(_ sql: String, only: String?) throws -> ([String], [[String]]) {
            for other in Optimizer.passes {
                try database.execute("SET \(Optimizer.settingName(other)) = \(other.name == only ? "on" : "off")")
            }
            // Shared plans' ids come from a process-wide counter: numbered here as they appear.
            var sharedIDs: [String: Int] = [:]
            let plan = try database.query("EXPLAIN " + sql).map { row in
                let line = row[0].text!
                guard let range = line.range(of: "Shared ") else { return line }
                let id = String(line[range.upperBound...])
                if sharedIDs[id] == nil { sharedIDs[id] = sharedIDs.count + 1 }
                return line[..<range.upperBound] + String(sharedIDs[id]!)
            }
            let rows = try database.query(sql).map { $0.map { $0.text ?? "NULL" } }
            return (plan, rows)
        }
        var rewritten: [String] = []
        for block in text.components(separatedBy: "\n\n") {
            var lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            while lines.last?.isEmpty == true { lines.removeLast() }
            guard let headerIndex = lines.firstIndex(where: { !$0.hasPrefix("#") && !$0.isEmpty }) else {
                rewritten.append(block)
                continue
            }
            let header = lines[headerIndex], body = Array(lines[(headerIndex + 1)...])
            if header == "statement ok" {
                try database.execute(body.joined(separator: "\n"))
                rewritten.append(block)
                continue
            }
            guard header == "plan", let inMark = body.firstIndex(of: "---- in"), let outMark = body.firstIndex(of: "---- out") else {
                XCTFail("\(pass).test: a block is neither `statement ok` nor `plan` with `---- in` and `---- out`: \(header)")
                continue
            }
            let sql = body[..<inMark].joined(separator: "\n")
            let (input, inputRows) = try explain(sql, only: nil)
            let (output, outputRows) = try explain(sql, only: pass)
            XCTAssertEqual(outputRows.sorted { $0.lexicographicallyPrecedes($1) }, inputRows.sorted { $0.lexicographicallyPrecedes($1) },
                           "\(pass).test: the pass changed the answer of \(sql)")
            XCTAssertEqual(input, Array(body[(inMark + 1)..<outMark]), "\(pass).test: the bound plan of \(sql)")
            XCTAssertEqual(output, Array(body[(outMark + 1)...]), "\(pass).test: the plan after \(pass) of \(sql)")
            rewritten.append((lines[...headerIndex] + body[...inMark] + input + ["---- out"] + output).joined(separator: "\n"))
        }
        for other in Optimizer.passes { try database.execute("SET \(Optimizer.settingName(other)) = on") }
        if ProcessInfo.processInfo.environment["KILN_UPDATE_PLANS"] == "1" {
            let updated = rewritten.joined(separator: "\n\n") + (text.hasSuffix("\n") && !rewritten.last!.hasSuffix("\n") ? "\n" : "")
            try updated.write(to: sourceDirectory.appendingPathComponent("\(pass).test"), atomically: true, encoding: .utf8)
        }
    }
}
