import XCTest
import Foundation

/// Seeded random SQL (expressions over every type, clauses, token soup) through the shell in
/// both execution modes: every statement must end in a result or a clean error, never a crash.
final class SQLFuzzTests: XCTestCase {
    /// SplitMix64: a small deterministic generator, so a failing seed reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func chance(_ p: Double) -> Bool { Double(next() % 10_000) / 10_000 < p }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    }

    static let setup = [
        "CREATE TABLE t (k INTEGER NOT NULL, v DOUBLE PRECISION, s TEXT, d NUMERIC(10,2), b BOOLEAN, dt DATE, ts TIMESTAMP, sm SMALLINT, bg BIGINT);",
        "INSERT INTO t VALUES (1, 1.5, 'a', 1.25, true, '2024-01-01', '2024-01-01 10:00:00', 1, 10), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), (3, -2.5, 'a long string value here', -3.5, false, '1999-12-31', '2000-02-29 23:59:59', -5, -100);",
    ]
    static let atoms = ["k", "v", "s", "d", "b", "dt", "ts", "sm", "bg", "1", "0", "-1", "2147483647", "9223372036854775807", "1.5", "0.0",
                        "'x'", "'2024-01-01'", "NULL", "true", "false", "'1 day'::interval", "DATE '2020-02-29'", "1e10", "''", "'%a%'",
                        "count(*)", "sum(k)", "avg(v)", "min(s)", "max(d)", "count(v)"]
    static let operators = ["+", "-", "*", "/", "%", "=", "<>", "<", ">=", "AND", "OR", "||", "LIKE", "ILIKE"]
    static let types = ["INTEGER", "BIGINT", "SMALLINT", "TEXT", "NUMERIC(5,2)", "DOUBLE PRECISION", "REAL", "DATE", "TIMESTAMP", "BOOLEAN", "VARCHAR(2)", "INTERVAL"]

    static func expression(_ g: inout Generator, depth: Int = 0) -> String {
        if depth > 3 || g.chance(0.3) { return g.pick(atoms) }
        switch g.next() % 9 {
        case 0, 1: return "(\(expression(&g, depth: depth + 1)) \(g.pick(operators)) \(expression(&g, depth: depth + 1)))"
        case 2: return "NOT \(expression(&g, depth: depth + 1))"
        case 3: return "CAST(\(expression(&g, depth: depth + 1)) AS \(g.pick(types)))"
        case 4: return "CASE WHEN \(expression(&g, depth: depth + 1)) THEN \(expression(&g, depth: depth + 1)) ELSE \(expression(&g, depth: depth + 1)) END"
        case 5: return "\(g.pick(["upper", "lower", "length", "abs", "round", "coalesce", "nullif", "substring"]))(\(expression(&g, depth: depth + 1)), \(expression(&g, depth: depth + 1)))"
        case 6: return "EXTRACT(\(g.pick(["year", "month", "second", "epoch", "dow"])) FROM \(expression(&g, depth: depth + 1)))"
        case 7: return "\(expression(&g, depth: depth + 1)) \(g.pick(["IS NULL", "IS NOT TRUE", "BETWEEN 1 AND 2", "IN (1, NULL)", "NOT IN (2)"]))"
        default: return "\(expression(&g, depth: depth + 1))::\(g.pick(types))"
        }
    }

    static func statement(_ g: inout Generator) -> String {
        switch g.next() % 10 {
        case 0..<7:
            var q = "SELECT \(expression(&g)), \(expression(&g)) FROM t"
            if g.chance(0.5) { q += " WHERE \(expression(&g))" }
            if g.chance(0.3) { q += " GROUP BY \(expression(&g))" }
            if g.chance(0.2) { q += " HAVING \(expression(&g))" }
            if g.chance(0.3) { q += " ORDER BY \(expression(&g)) \(g.pick(["", "DESC", "NULLS FIRST"]))" }
            if g.chance(0.2) { q += " LIMIT \(g.pick(["1", "0", "-1", "NULL", "2 OFFSET 1"]))" }
            return q
        case 7: return "INSERT INTO t VALUES (\((0..<Int(g.next() % 10 + 1)).map { _ in expression(&g) }.joined(separator: ", ")))"
        case 8: return "SELECT \(expression(&g))"
        default:
            let tokens = ["SELECT", "FROM", "WHERE", "(", ")", ",", "t", "k", "::", "GROUP", "BY", "ORDER", "1", "*", "$", "$1", "CASE", "END", "INSERT", "INTO", "VALUES", "EXPLAIN", "(IR low)", "CREATE", "TABLE", "DROP"]
            return (0..<Int(g.next() % 12 + 1)).map { _ in g.pick(tokens) }.joined(separator: " ")
        }
    }

    func testRandomStatementsNeverCrash() throws {
        let binary = try KilnBinary.url()
        for seed: UInt64 in [1, 2, 3] {
            var g = Generator(state: seed)
            let script = (Self.setup + (0..<150).map { _ in Self.statement(&g) + ";" }).joined(separator: "\n") + "\n"
            for jit in ["on", "off"] {
                let process = Process()
                process.executableURL = binary
                process.arguments = ["--format", "csv", "--jit", jit] + (jit == "on" ? ["--jit-sync"] : [])
                let input = Pipe(), output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                process.standardError = output
                try process.run()
                input.fileHandleForWriting.write(script.data(using: .utf8)!)
                try input.fileHandleForWriting.close()
                _ = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                XCTAssertEqual(process.terminationReason, .exit, "seed \(seed), jit \(jit): crashed")
                XCTAssertTrue([0, 1].contains(process.terminationStatus), "seed \(seed), jit \(jit): status \(process.terminationStatus)")
            }
        }
    }
}
