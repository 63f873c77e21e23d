@testable import Kiln
import Foundation
import KilnCore
import Synchronization
import XCTest

/// The compilation service: every execution mode gives the same answers (interpreted, each
/// tier, and pipelines switched from the interpreter to native code after morsel k), the
/// switch keeps operator state, compilation in the background, cancellation while compiling,
/// and many sessions running prepared statements while their code compiles.
final class JITSwitchTests: XCTestCase {
    /// 200,000 rows: 13 morsels of 16,384 rows.
    static let rows = 200_000

    static func makeDatabase() throws -> Database {
        let db = try Database()
        try db.execute("""
            CREATE TABLE big (id INTEGER, g INTEGER, v BIGINT, s TEXT, d DATE, n NUMERIC(12, 2));
            INSERT INTO big SELECT i, i % 97, (i * 7919) % 200003, 'n' || (i % 1013), DATE '2020-01-01' + (i % 400), (i % 10007) * 0.25
              FROM generate_series(1, \(rows)) AS t(i);
            CREATE TABLE small (g INTEGER, name TEXT);
            INSERT INTO small SELECT i, CASE WHEN i % 3 = 0 THEN 'north' ELSE 'south' END FROM generate_series(0, 96) AS t(i);
            """)
        return db
    }

    static let queries = [
        "SELECT g, count(*), sum(v), min(s), max(d), sum(n) FROM big GROUP BY g ORDER BY g",
        "SELECT count(*), sum(v), min(v), max(n) FROM big WHERE v > 1000 AND v < 150000",
        "SELECT id FROM big WHERE v % 1000 = 7 ORDER BY id",
        "SELECT b.g, count(*), sum(b.n) FROM big b JOIN small s ON b.g = s.g WHERE s.name LIKE 'n%' GROUP BY b.g ORDER BY 1",
        "SELECT id, v FROM big ORDER BY v DESC, id LIMIT 5",
        "SELECT upper(s), length(s), substring(s, 2, 2) FROM big WHERE id % 20000 = 1 ORDER BY 1",
        "SELECT g, id, row_number() OVER (PARTITION BY g ORDER BY id), sum(v) OVER (PARTITION BY g ORDER BY id) FROM big WHERE id < 300 ORDER BY g, id",
        "SELECT count(DISTINCT g), count(DISTINCT s) FROM big",
        "SELECT id FROM big WHERE id > 190000 LIMIT 3",
        "SELECT count(*) FROM big b WHERE EXISTS (SELECT 1 FROM big c WHERE c.id = b.id + 1 AND c.v > 50000)",
        "SELECT s, count(*) FROM big WHERE d BETWEEN DATE '2020-03-01' AND DATE '2020-03-05' GROUP BY s ORDER BY 2 DESC, 1 LIMIT 4",
        // Keys of both string forms in one hash table (inline ones hash in compiled code, long
        // ones in the runtime: the interpreter's and native code's hashes must agree).
        "SELECT count(DISTINCT CASE WHEN g % 2 = 0 THEN s ELSE s || ' with a suffix past twelve bytes' END) FROM big",
        """
        SELECT x.k, count(*) FROM big b JOIN (SELECT DISTINCT CASE WHEN g % 3 = 0 THEN s ELSE s || ' is a long key' END AS k FROM big WHERE g < 9) x
          ON CASE WHEN b.g % 3 = 0 THEN b.s ELSE b.s || ' is a long key' END = x.k GROUP BY x.k ORDER BY 2 DESC, 1 LIMIT 3
        """,
    ]

    func testEveryModeAndEverySwitchPointGivesTheSameAnswers() throws {
        let db = try Self.makeDatabase()
        try db.use(.interpreted)
        let expected = try Self.queries.map { try db.query($0) }
        var settings: [(String, [String])] = JITMode.allCases.map { ($0.rawValue, $0.settings) }
        for (k, tier) in [(0, "fast"), (2, "optimized"), (5, "fast"), (12, "optimized"), (13, "fast")] {
            settings.append(("switch after \(k) (\(tier))", ["jit = on", "jit_sync = on", "jit_tier = \(tier)", "jit_switch_after_morsels = \(k)"]))
        }
        for (name, mode) in settings {
            for setting in mode { try db.execute("SET \(setting)") }
            for (query, want) in zip(Self.queries, expected) {
                XCTAssertEqual(try db.query(query), want, "\(name): \(query)")
            }
        }
    }

    /// After k morsels in the interpreter the pipeline continues in native code, with the same
    /// hash table: EXPLAIN ANALYZE's counts say so, and the answer is whole.
    func testTheSwitchHappensAtTheRequestedMorsel() throws {
        let db = try Self.makeDatabase()
        try db.use(.switchedAfter3)
        // One worker: on several, each switches after its own first three morsels.
        try db.execute("SET threads = 1")
        let result = try XCTUnwrap(db.execute("SELECT g, count(*) FROM big GROUP BY g").last)
        XCTAssertEqual(result.rows.count, 97)
        XCTAssertEqual(result.rows.reduce(0) { total, row in if case .int64(let n) = row[1] { total + n } else { total } }, Int64(Self.rows))
        let scan = try XCTUnwrap(result.timings?.profile?.pipelines.first)
        XCTAssertEqual(scan.rows, Self.rows)
        XCTAssertEqual(scan.morsels("interpreted"), 3)
        XCTAssertEqual(scan.morsels("fast"), 10)
        XCTAssertEqual(result.timings?.mode, "interpreted+fast")

        let explain = try db.query("EXPLAIN ANALYZE SELECT g, count(*) FROM big GROUP BY g").compactMap(\.first?.text)
        XCTAssertTrue(explain.contains { $0.hasPrefix("  rows=\(Self.rows) time=") && $0.hasSuffix(" ms morsels: interpreted 3, fast 10") }, "\(explain)")
        XCTAssertTrue(explain.contains { $0.hasPrefix("Compilation (fast tier): ") && $0.contains("code emission") }, "\(explain)")
    }

    /// An error raised in native code after the switch is the same error.
    func testErrorsAfterTheSwitchAreTheSame() throws {
        let db = try Self.makeDatabase()
        for mode in JITMode.allCases {
            try db.use(mode)
            XCTAssertThrowsError(try db.query("SELECT sum(100 / (id - 150000)) FROM big"), "\(mode)") { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .divisionByZero, "\(mode)")
            }
        }
    }

    /// Without jit_sync the first execution starts in the interpreter; a later one finds the
    /// code in the cache and runs native code from its first morsel.
    func testBackgroundCompilationThenCachedCode() throws {
        let db = try Self.makeDatabase()
        try db.execute("SET jit = on")
        try db.execute("SET jit_tier = fast")
        let sql = "SELECT g % 5, count(*), max(v) FROM big WHERE s <> 'background' GROUP BY 1 ORDER BY 1"
        let first = try XCTUnwrap(db.execute(sql).last)
        var later = first
        let deadline = Date().addingTimeInterval(60)
        repeat {
            later = try XCTUnwrap(db.execute(sql).last)
        } while later.timings?.mode != "fast" && Date() < deadline
        XCTAssertEqual(later.timings?.mode, "fast")
        XCTAssertEqual(later.timings?.compileMilliseconds, 0)
        XCTAssertEqual(first.rows, later.rows)
        try db.use(.interpreted)
        XCTAssertEqual(try db.query(sql), first.rows)
    }

    /// A query waiting for its code (jit_sync) is cancelled like any other: 57014, promptly.
    func testCancelWhileCompiling() throws {
        let db = try Self.makeDatabase()
        try db.use(.optimized)
        // A shape no other test compiles, large enough that -O2 takes a while.
        let sql = (1...12).map { "sum(CASE WHEN v % \($0 + 13) = 0 THEN n * \($0) ELSE 0 END)" }.joined(separator: ", ")
        let cancellation = db.cancellation
        let canceller = Thread {
            Thread.sleep(forTimeInterval: 0.002)
            cancellation.cancel()
        }
        canceller.start()
        let started = Date()
        // The code may be ready before the cancel arrives; then the pipeline notices it.
        let outcome = Result { try db.query("SELECT g, \(sql) FROM big GROUP BY g ORDER BY g") }
        if case .failure(let error) = outcome {
            XCTAssertEqual((error as? DatabaseError)?.sqlState, SQLState("57014"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        // The session is usable afterwards, and the code the worker finished serves the next run.
        XCTAssertEqual(try db.query("SELECT count(*) FROM small"), [[.int64(97)]])
    }

    /// Sessions on several threads execute the same and different prepared statements while
    /// the worker compiles them; every answer matches the interpreter's.
    func testConcurrentPreparedStatementsWhileCompiling() throws {
        let db = try Self.makeDatabase()
        let statements = [
            "SELECT count(*), sum(v) FROM big WHERE g = $1 AND id > 17",
            "SELECT min(s), max(n) FROM big WHERE v < $1 AND g <> 1000",
            "SELECT g, count(*) FROM big WHERE id % 7 = $1 GROUP BY g ORDER BY g LIMIT 3",
        ]
        try db.use(.interpreted)
        let expected: [[[[Value]]]] = try statements.map { sql in
            let prepared = try XCTUnwrap(try db.prepare(sql))
            return try (0..<4).map { try db.execute(prepared, [.int32(Int32($0 * 1000 + 3))]).rows }
        }
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for thread in 0..<6 {
            let session = SessionBox(try Database(sharing: db)).session
            try session.execute("SET jit = on")
            if thread % 2 == 1 { try session.execute("SET jit_tier = optimized") }
            group.enter()
            let box = SessionBox(session)
            Thread {
                let session = box.session
                defer { group.leave() }
                do {
                    let prepared = try statements.map { try XCTUnwrap(try session.prepare($0)) }
                    for round in 0..<12 {
                        let which = (round + thread) % statements.count
                        let argument = round % 4
                        let rows = try session.execute(prepared[which], [.int32(Int32(argument * 1000 + 3))]).rows
                        if rows != expected[which][argument] {
                            failures.withLock { $0.append("thread \(thread) round \(round): \(statements[which]) gave \(rows.prefix(3))") }
                        }
                    }
                } catch {
                    failures.withLock { $0.append("thread \(thread): \(error)") }
                }
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
    }

    /// `jit = auto`: a small query seen once stays in the interpreter; the same shape again
    /// (other literals) asks for code, and later runs use it; `jit_above_rows = 0` compiles at once.
    func testAutoCompilesWhatComesBack() throws {
        let db = try Database()
        try db.execute("CREATE TABLE few (a INTEGER, b TEXT); INSERT INTO few VALUES (1, 'x'), (2, 'y'), (3, 'z')")
        XCTAssertEqual(try db.query("SHOW jit"), [[.text("auto")]])
        let first = try XCTUnwrap(db.execute("SELECT b, a * 7 FROM few WHERE a >= 2 AND b <> 'auto-test' ORDER BY a").last)
        XCTAssertEqual(first.timings?.mode, "interpreted")
        XCTAssertEqual(first.timings?.profile?.compile, [])
        var later = first
        let deadline = Date().addingTimeInterval(60)
        repeat {
            later = try XCTUnwrap(db.execute("SELECT b, a * 7 FROM few WHERE a >= 1 AND b <> 'auto-test' ORDER BY a").last)
        } while later.timings?.mode == "interpreted" && Date() < deadline
        XCTAssertEqual(later.timings?.mode, "fast")
        XCTAssertEqual(later.rows, [[.text("x"), .int32(7)], [.text("y"), .int32(14)], [.text("z"), .int32(21)]])

        try db.execute("SET jit_above_rows = 0")
        try db.execute("SET jit_sync = on")
        let eager = try XCTUnwrap(db.execute("SELECT max(b), count(a) FROM few WHERE a <> 99 AND b <> 'eager-test'").last)
        XCTAssertNotEqual(eager.timings?.mode, "interpreted")
        XCTAssertEqual(eager.rows, [[.text("z"), .int64(3)]])
    }

    func testByteBoundEvictsTheLeastRecentlyUsed() {
        var cache = CodeCache<Int, String>(capacity: 10, byteCapacity: 100)
        cache.insert(1, "a", bytes: 40)
        cache.insert(2, "b", bytes: 40)
        XCTAssertEqual(cache.lookup(1), "a")
        cache.charge(2, bytes: 70)  // 110 bytes: entry 2 is the least recently used
        XCTAssertNil(cache.lookup(2))
        XCTAssertEqual(cache.lookup(1), "a")
        XCTAssertEqual(cache.statistics.evictions, 1)
        XCTAssertEqual(cache.bytes, 40)
    }

    func testSettingsAreChecked() throws {
        let db = try Database()
        for bad in ["jit = sometimes", "jit_sync = maybe", "jit_tier = turbo", "jit_above_rows = -4", "jit_switch_after_morsels = x"] {
            XCTAssertThrowsError(try db.execute("SET \(bad)"), bad) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, .invalidParameterValue, bad)
            }
        }
        XCTAssertEqual(try db.query("SHOW jit"), [[.text("auto")]])
    }
    /// `jit = auto` judges these queries small (a series is not a table scan, and the shapes are
    /// new), so they start in the interpreter; they run long, so they are compiled while they
    /// run and switch to native code at a morsel boundary (HyPer's adaptive execution).
    func testQueriesEstimatedSmallThatRunLongAreCompiledWhileRunning() throws {
        let db = try Database()
        try db.execute("CREATE TABLE tiny (k INTEGER, w BIGINT); INSERT INTO tiny SELECT i, i * 3 FROM generate_series(0, 9) AS t(i)")
        let queries = [
            ("SELECT sum((g * 3) % 11 - g / 5), count(*) FROM generate_series(1, 6000000) g", [Value.int64(-3599968200000), .int64(6000000)]),
            ("SELECT count(*), sum(t.w) FROM generate_series(1, 4000000) g JOIN tiny t ON t.k = (g * 7) % 10 WHERE g % 3 <> 1", [Value.int64(2666666), .numeric(35999973, scale: 0)]),
        ]
        for (sql, answer) in queries {
            let plan = try db.query("EXPLAIN ANALYZE " + sql).map { $0[0].text ?? "" }.joined(separator: "\n")
            // The shape runs again with the code compiled for it.
            XCTAssertEqual(try db.query(sql), [answer], sql)
            // The long pipeline: the one over the series' millions of rows.
            guard let line = plan.split(separator: "\n").first(where: { $0.contains("rows=4000000 ") || $0.contains("rows=6000000 ") }),
                  line.contains("interpreted") else {
                return XCTFail("no interpreted morsels in \(plan)")
            }
            XCTAssertTrue(line.contains("fast") || line.contains("optimized"), "the long pipeline was never compiled: \(plan)")
        }
    }

    /// A LATERAL series makes one input row (one morsel) produce millions of rows, which no
    /// morsel boundary interrupts: `jit = auto` waits for native code before such a query runs
    /// (before, 50M values from one row ran 10 s in the interpreter, 0.3 s compiled).
    func testLateralSeriesStartsInNativeCode() throws {
        let db = try Database()
        try db.execute("CREATE TABLE one (n INTEGER); INSERT INTO one VALUES (3000000)")
        let sql = "SELECT count(*), sum(g) FROM one, generate_series(1, one.n) g"
        let plan = try db.query("EXPLAIN ANALYZE " + sql).map { $0[0].text ?? "" }
        guard let line = plan.first(where: { $0.hasPrefix("  rows=1 ") && $0.contains("morsels:") }) else { return XCTFail("\(plan)") }
        XCTAssertFalse(line.contains("interpreted"), "the series ran in the interpreter: \(plan)")
        XCTAssertEqual(try db.query(sql), [[.int64(3000000), .int64(4500001500000)]])
    }
}

/// Hands a session to the thread that alone uses it.
private final class SessionBox: @unchecked Sendable {
    let session: Database
    init(_ session: Database) { self.session = session }

}
