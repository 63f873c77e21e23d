import XCTest
import Kiln

/// Differential fuzzing of the SIMD filter kernels: random predicates over tables of every
/// fixed-width type with NULLs, at sizes that exercise every tail path, compiled with SIMD
/// kernels against the interpreter. Seeded and reproducible (`KILN_FUZZ_SEED`).
final class SIMDFuzzTests: XCTestCase {
    typealias Generator = SQLFuzzTests.Generator

    static let columns: [(name: String, type: String)] = [
        ("s", "SMALLINT"), ("i", "INTEGER"), ("b", "BIGINT"), ("r", "REAL"), ("f", "DOUBLE PRECISION"),
        ("d", "DATE"), ("t", "TIMESTAMP"), ("z", "BOOLEAN"), ("n", "INTEGER NOT NULL"), ("m", "NUMERIC(10,2)"),
    ]

    static func value(_ column: String, _ g: inout Generator) -> String {
        if column != "n", g.chance(0.15) { return "NULL" }
        let small = Int(g.next() % 41) - 20
        switch column {
        case "s": return "\(small)"
        case "i", "n": return g.chance(0.05) ? "2147483647" : "\(Int(g.next() % 2001) - 1000)"
        case "b": return "\(Int64(g.next() % 200_001) - 100_000)"
        case "r": return "\(Double(small) / 4)"
        case "f": return g.chance(0.05) ? "'NaN'" : "\(Double(Int(g.next() % 2001) - 1000) / 8)"
        case "m": return "\(Double(Int(g.next() % 20001) - 10000) / 100)"
        case "d": return "DATE '2024-01-01' + \(small)"
        case "t": return "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '\(small) hours'"
        default: return g.chance(0.5) ? "true" : "false"
        }
    }

    static func comparison(_ g: inout Generator) -> String {
        let column = g.pick(columns.map(\.name))
        let op = g.pick(["=", "<>", "<", "<=", ">", ">="])
        switch column {
        case "z": return g.pick(["z", "NOT z", "z IS TRUE", "z = \(g.chance(0.5))", "z IS NOT FALSE"])
        case "d": return "d \(op) DATE '2024-01-01' + \(Int(g.next() % 21) - 10)"
        case "t": return "t \(op) TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '\(Int(g.next() % 21) - 10) hours'"
        case "r", "f", "m": return "\(column) \(op) \(Double(Int(g.next() % 81) - 40) / 4)"
        case "i" where g.chance(0.2): return "i / \(Int(g.next() % 5) - 2) \(op) \(Int(g.next() % 41) - 20)"
        case "b" where g.chance(0.2): return "b % \(Int(g.next() % 7) - 3) \(op) 0"
        default:
            switch g.next() % 6 {
            case 0: return "\(column) BETWEEN \(Int(g.next() % 41) - 20) AND \(Int(g.next() % 41))"
            case 1: return "\(column) IN (\(Int(g.next() % 11) - 5), \(Int(g.next() % 11) - 5), \(Int(g.next() % 11) - 5))"
            case 2: return "\(column) + \(Int(g.next() % 11)) \(op) \(Int(g.next() % 41) - 20)"
            case 3: return "\(column) * 2 \(op) n"
            case 4: return "\(column) IS \(g.chance(0.5) ? "" : "NOT ")NULL"
            default: return "\(column) \(op) \(Int(g.next() % 41) - 20)"
            }
        }
    }

    static func predicate(_ g: inout Generator, depth: Int = 0) -> String {
        if depth >= 2 || g.chance(0.4) { return comparison(&g) }
        switch g.next() % 3 {
        case 0: return "(\(predicate(&g, depth: depth + 1)) AND \(predicate(&g, depth: depth + 1)))"
        case 1: return "(\(predicate(&g, depth: depth + 1)) OR \(predicate(&g, depth: depth + 1)))"
        default: return "NOT (\(predicate(&g, depth: depth + 1)))"
        }
    }

    static func close(_ a: Value, _ b: Value) -> Bool {
        if a == b { return true }
        if case .float64(let x) = a, case .float64(let y) = b {
            return (x.isNaN && y.isNaN) || abs(x - y) <= 1e-9 * max(abs(x), abs(y))
        }
        if case .float32(let x) = a, case .float32(let y) = b {
            return (x.isNaN && y.isNaN) || abs(x - y) <= 1e-5 * max(abs(x), abs(y))
        }
        return false
    }

    func run(_ db: Database, _ sql: String) -> Result<[[Value]], DatabaseError> {
        do { return .success(try db.query(sql)) } catch { return .failure(error) }
    }

    func testSIMDKernelsAgreeWithTheInterpreter() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["KILN_FUZZ_SEED"] ?? "") ?? 20261122
        var g = Generator(state: seed)
        let predicates = (0..<60).map { _ in Self.predicate(&g) }
        var cases = 0
        for size in [0, 1, 7, 8, 9, 15, 16, 17, 511, 512, 515, 3001] {
            let db = try Database()
            try db.execute("CREATE TABLE v (id INTEGER NOT NULL, \(Self.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")))")
            var rows: [String] = []
            for id in 0..<size {
                rows.append("(\(id), " + Self.columns.map { Self.value($0.name, &g) }.joined(separator: ", ") + ")")
                if rows.count == 500 || id == size - 1 {
                    try db.execute("INSERT INTO v VALUES " + rows.joined(separator: ", "))
                    rows.removeAll()
                }
            }
            for predicate in predicates {
                let queries = [
                    "SELECT count(*), count(f), sum(i), sum(s), sum(f), min(b), max(r), min(d), max(t), max(f), min(n), min(m), max(m), count(m) FROM v WHERE \(predicate)",
                    "SELECT id FROM v WHERE \(predicate) ORDER BY id",
                ]
                for sql in queries {
                    try db.use(.optimized)
                    let simd = run(db, sql)
                    try db.use(.interpreted)
                    let interpreted = run(db, sql)
                    cases += 1
                    switch (simd, interpreted) {
                    case (.success(let a), .success(let b)):
                        let same = a.count == b.count && zip(a, b).allSatisfy { ra, rb in ra.count == rb.count && zip(ra, rb).allSatisfy(Self.close) }
                        XCTAssertTrue(same, "seed \(seed), \(size) rows: \(sql) SIMD: \(a.prefix(5)) interpreted: \(b.prefix(5))")
                    case (.failure(let a), .failure(let b)):
                        XCTAssertEqual(a.sqlState, b.sqlState, "seed \(seed), \(size) rows: \(sql)")
                    default:
                        XCTFail("seed \(seed), \(size) rows: \(sql)\nSIMD: \(simd)\ninterpreted: \(interpreted)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 1000)
    }
}
