import XCTest
import Kiln

/// What a PostgreSQL coordinator's postgres_fdw asks of Kiln as a remote: EXPLAIN's first line
/// with `(cost=S..T rows=R width=W)` (`use_remote_estimate`), `pg_relation_size` for ANALYZE's
/// page count, and its deparsed nested joins. (The coordinator itself was run by hand against
/// `kiln serve`: remote estimates, join pushdown and ANALYZE of a foreign table.)
final class RemoteEstimateTests: XCTestCase {
    func testExplainCostLineAndRelationSize() throws {
        let db = try Database()
        try db.execute("CREATE TABLE kv (k INTEGER, v TEXT)")
        try db.execute("INSERT INTO kv SELECT g, 'v' || g FROM generate_series(1, 5000) g")
        try db.execute("ANALYZE kv")
        try db.execute("CREATE TABLE kd AS SELECT g % 10 AS d FROM generate_series(1, 5000) g")
        try db.execute("ANALYZE kd")
        // postgres_fdw: sscanf(line, "%*[^(](cost=%lf..%lf rows=%lf width=%d)").
        let pattern = try Regex(#"^[^(]*\(cost=(\d+\.\d\d)\.\.(\d+\.\d\d) rows=(\d+) width=(\d+)\)$"#)
        for (sql, rows, width) in [("SELECT k, v FROM public.kv WHERE ((k < 100))", 99.0, 36), ("SELECT count(*) FROM kv", 1.0, 8),
                                   ("SELECT r1.v, r2.v FROM (public.kv r1 INNER JOIN public.kv r2 ON (((r1.k = r2.k)) AND ((r1.k < 10))))", 9.0, 64),
                                   // A column's two bounds are one range (not two independent halves).
                                   ("SELECT k FROM kv WHERE k BETWEEN 1000 AND 1499", 500.0, 4),
                                   ("SELECT k FROM kv WHERE k >= 4000 AND v <> 'x' AND k < 4100", 100.0, 4),
                                   // A filter pinning a column to three constants leaves three groups.
                                   ("SELECT k, count(*) FROM kv WHERE k IN (1, 2, 3) GROUP BY k", 3.0, 12),
                                   // Conditions pinning one column hold together for the values all allow
                                   // (two of ten values, not the product of three fractions).
                                   ("SELECT d FROM kd WHERE d IN (7, 8) AND (d = 7 OR d = 8 OR d = 7) AND (d = 8 OR d = 7 OR d = 9)", 1000.0, 4)] {
            let first = try XCTUnwrap(db.query("EXPLAIN " + sql).first?.first?.text)
            let match = try XCTUnwrap(first.wholeMatch(of: pattern), first)
            let startup = Double(match.output[1].substring!)!, total = Double(match.output[2].substring!)!
            XCTAssertLessThanOrEqual(startup, total, first)
            XCTAssertGreaterThan(total, 0, first)
            XCTAssertEqual(Double(match.output[3].substring!)!, rows, accuracy: rows * 0.2 + 1, first)
            XCTAssertEqual(Int(match.output[4].substring!)!, width, first)
        }
        let pages = try db.query("SELECT pg_catalog.pg_relation_size('public.kv'::pg_catalog.regclass) / 8192")
        XCTAssertGreaterThan(pages.first?.first?.text.flatMap { Int($0) } ?? 0, 0)
        XCTAssertEqual(try db.query("SELECT pg_relation_size(0)"), [[.null]])
    }
}
