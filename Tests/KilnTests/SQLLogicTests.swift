import XCTest
import Kiln
import KilnPlanner

/// Runs the `.test` files under Resources/sql: `statement ok`, `statement error SQLSTATE`,
/// and `query` blocks whose expected rows follow `----`, one row per line, values joined by `|`.
final class SQLLogicTests: XCTestCase {
    func testCorpus() throws {
        let directory = Bundle.module.resourceURL!.appendingPathComponent("sql")
        // KILN_SQL_TEST=name runs only the files whose names start with it.
        let only = ProcessInfo.processInfo.environment["KILN_SQL_TEST"] ?? ""
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".test") && $0.hasPrefix(only) }.sorted()
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for mode in [JITMode.interpreted, .fast, .switchedAfter1] { try run(text, name: file, mode: mode) }
            // Every pipeline that can run in parallel does, 4 rows per morsel: on 2 workers
            // interpreted, on 8 (oversubscribed) in native code.
            try run(text, name: file, mode: .interpreted, parallel: 2)
            try run(text, name: file, mode: .fast, parallel: 8)
            // As a server's simple query protocol runs them: through the statement cache.
            try run(text, name: file, mode: .interpreted, simpleProtocol: true)
            // The plan as bound, with every optimizer pass off: no pass may change an answer.
            try run(text, name: file, mode: .interpreted, optimizer: false)
        }
    }

    /// Runs one file in one execution mode: every mode must give the same answers. (The
    /// corpus's tables fit in one morsel: `switchedAfter1` runs each pipeline's rows in the
    /// interpreter and its end — resumption, the sinks' finish — in native code.)
    func run(_ text: String, name fileName: String, mode: JITMode, simpleProtocol: Bool = false, parallel threads: Int = 1,
             optimizer: Bool = true) throws {
        let database = try Database()
        try database.use(mode)
        if !optimizer {
            for pass in Optimizer.passes { try database.execute("SET \(Optimizer.settingName(pass)) = off") }
        }
        try database.execute("SET threads = \(threads)")
        if threads > 1 { try database.execute("SET parallel_morsel_rows = 4") }
        let name = "\(fileName) [\(mode)\(simpleProtocol ? ", simple protocol" : "")\(threads > 1 ? ", \(threads) threads" : "")\(optimizer ? "" : ", no optimizer")]"
        // Each statement parsed and run as the server runs a Query message's statements.
        func execute(_ sql: String) throws(DatabaseError) -> [QueryResult] {
            guard simpleProtocol else { return try database.execute(sql) }
            var results: [QueryResult] = []
            for statement in try database.parse(sql) { results.append(try database.execute(statement)) }
            return results
        }
        let blocks = text.components(separatedBy: "\n\n")
        for block in blocks {
            var lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.hasPrefix("#") }
            while lines.first?.isEmpty == true { lines.removeFirst() }
            guard let header = lines.first else { continue }
            let body = lines.dropFirst()
            if header == "statement ok" {
                let sql = body.joined(separator: "\n")
                XCTAssertNoThrow(try execute(sql), "\(name): \(sql)")
            } else if header.hasPrefix("statement error") {
                let expected = header.split(separator: " ").last.map(String.init) ?? ""
                let sql = body.joined(separator: "\n")
                do {
                    _ = try execute(sql)
                    XCTFail("\(name): expected error \(expected) from \(sql)")
                } catch {
                    XCTAssertEqual(error.sqlState.code, expected, "\(name): \(sql): \(error)")
                }
                // As psql -c ends its session (the checker's PostgreSQL side), a block that
                // failed inside a transaction is rolled back.
                if database.transactionStatus != .idle { try database.execute("ROLLBACK") }
            } else if header.hasPrefix("query") {
                guard let separator = body.firstIndex(of: "----") else { XCTFail("\(name): query without ----"); continue }
                let sql = body[body.startIndex..<separator].joined(separator: "\n")
                let expected = body[(separator + 1)...].filter { !$0.isEmpty }
                do {
                    let rows = try (execute(sql).last?.rows ?? []).map { $0.map { $0.text ?? "NULL" }.joined(separator: "|") }
                    XCTAssertEqual(rows, Array(expected), "\(name): \(sql)")
                } catch {
                    XCTFail("\(name): \(sql): \(error)")
                }
            }
        }
    }
}
