import XCTest
@testable import Kiln
import KilnJIT

/// The fast tier builds LLVM IR itself and carries 128-bit integers (decimals, strings) as two
/// 64-bit halves: carries, borrows, signed overflow, comparisons across the halves, and the
/// runtime's multiplication and division must agree with the interpreter on every value.
final class FastTierTests: XCTestCase {
    /// Values on both sides of every 64-bit boundary, and the largest 38-digit numbers.
    static let values: [String] = [
        "0", "1", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "-18446744073709551616", "-18446744073709551615",
        "170141183460469231731687303715884105", "10000000000000000000000000000000000000",
        "-10000000000000000000000000000000000000", "99999999999999999999999999999999999999",
        "-99999999999999999999999999999999999999", "12345678901234567890123", "-98765432109876543210",
    ]

    static func makeDatabase() throws -> Database {
        let db = try Database()
        try db.execute("CREATE TABLE w (id int, a numeric(38,0), b numeric(38,0))")
        var id = 0
        var rows: [String] = []
        for a in values {
            for b in values {
                rows.append("(\(id), \(a), \(b))")
                id += 1
            }
        }
        try db.execute("INSERT INTO w VALUES " + rows.joined(separator: ", "))
        return db
    }

    func testWideArithmeticAgreesWithTheInterpreter() throws {
        let db = try Self.makeDatabase()
        let whole = [
            "SELECT id, a < b, a <= b, a = b, a <> b, a > b, a >= b FROM w ORDER BY id",
            "SELECT id, -a, abs(b), a::float8, b::float4 FROM w ORDER BY id",
            "SELECT id, a / b, a % b FROM w WHERE b <> 0 ORDER BY id",
            "SELECT id, a::numeric(38,0) / 7, a % 1000000007 FROM w ORDER BY id",
            "SELECT a FROM w WHERE b = 1 ORDER BY a DESC",
            "SELECT min(a), max(a), min(b), max(b) FROM w",
            "SELECT a, count(*), max(b) FROM w GROUP BY a ORDER BY a",
            "SELECT id, greatest(a, b), least(a, b), CASE WHEN a > b THEN a ELSE b END FROM w ORDER BY id",
            "SELECT id, (a::numeric(38,0) / 100000000000000000000)::numeric(20,0) * 3 FROM w ORDER BY id",
        ]
        // One query per pair where an overflow is an error for the whole statement.
        let perPair = ["SELECT a + b FROM w WHERE id = $", "SELECT a - b FROM w WHERE id = $", "SELECT a * b FROM w WHERE id = $",
                       "SELECT sum(a) FROM w WHERE id <= $"]
        func answers() -> [String] {
            var out = whole.map { query in Self.describe(Result { try db.query(query) }) }
            for template in perPair {
                for id in 0..<(Self.values.count * Self.values.count) {
                    out.append(Self.describe(Result { try db.query(template.replacingOccurrences(of: "$", with: "\(id)")) }))
                }
            }
            return out
        }
        try db.use(.interpreted)
        let expected = answers()
        XCTAssertTrue(expected.contains { $0.hasPrefix("error 22003") }, "some sums overflow")
        XCTAssertTrue(expected.contains { !$0.hasPrefix("error") })
        try db.use(.fast)
        let got = answers()
        for (index, (want, have)) in zip(expected, got).enumerated() where want != have {
            XCTFail("answer \(index): interpreter \(want.prefix(300)), fast tier \(have.prefix(300))")
        }
        // All of it ran in the fast tier's own LLVM IR, not through MLIR.
        let result = try XCTUnwrap(db.execute("SELECT sum(a * b) FROM w WHERE abs(a) < 1000000 AND abs(b) < 1000000").last)
        XCTAssertEqual(result.timings?.profile?.compile.first?.stages.direct, true)
    }

    /// Evicted code is removed from the shared JIT (its memory freed) while other queries'
    /// code stays callable; an evicted query compiles again when it comes back.
    func testEvictedCodeIsRemovedAndCompiledAgain() throws {
        let service = try CompilationService.shared.get()
        service.setCacheCapacity(2)
        defer { service.setCacheCapacity(256) }
        let db = try Database()
        try db.use(.fast)
        try db.execute("CREATE TABLE t (k int, s text, d numeric(12,2))")
        try db.execute("INSERT INTO t SELECT g, 'v' || g, g * 1.25 FROM generate_series(1, 500) AS g")
        let queries = [
            "SELECT count(*) FROM t WHERE k > 7",
            "SELECT sum(d) FROM t WHERE s LIKE 'v1%'",
            "SELECT k % 7, max(d) FROM t GROUP BY k % 7 ORDER BY 1",
            "SELECT s FROM t ORDER BY d DESC LIMIT 3",
            "SELECT count(DISTINCT k % 13) FROM t",
        ]
        try db.use(.interpreted)
        let expected = try queries.map { try db.query($0) }
        try db.use(.fast)
        let before = service.cacheStatistics.evictions
        for round in 0..<3 {
            for (query, want) in zip(queries, expected) {
                XCTAssertEqual(try db.query(query), want, "round \(round): \(query)")
            }
        }
        XCTAssertGreaterThanOrEqual(service.cacheStatistics.evictions - before, 10)
    }

    /// The path a module the emitter cannot translate takes (MLIR's parser and conversions,
    /// then the same JIT) gives the same answers.
    func testTheMLIRPathGivesTheSameAnswers() throws {
        let db = try Self.makeDatabase()
        // Shapes no other test compiles (the code cache is per process).
        let queries = [
            "SELECT id, a + b * 2, a < b FROM w WHERE abs(a) < 100000000000000000000 AND abs(b) < 1000000 ORDER BY id",
            "SELECT a % 1000, count(*), sum(b) FROM w WHERE a > -5 GROUP BY a % 1000 ORDER BY 1",
        ]
        try db.use(.interpreted)
        let expected = try queries.map { try db.query($0) }
        try db.use(.fast)
        NativeCompiler.directFastTierEnabled.store(false, ordering: .relaxed)
        defer { NativeCompiler.directFastTierEnabled.store(true, ordering: .relaxed) }
        for (query, want) in zip(queries, expected) {
            let result = try XCTUnwrap(db.execute(query).last)
            XCTAssertEqual(result.rows, want, query)
            XCTAssertEqual(result.timings?.profile?.compile.first?.stages.direct, false, query)
        }
    }

    /// A value list or an error's SQLSTATE.
    static func describe(_ result: Result<[[Value]], any Error>) -> String {
        switch result {
        case .success(let rows): return rows.map { $0.map { "\($0)" }.joined(separator: "|") }.joined(separator: "\n")
        case .failure(let error as DatabaseError): return "error \(error.sqlState.code)"
        case .failure(let error): return "error \(error)"
        }
    }
}
