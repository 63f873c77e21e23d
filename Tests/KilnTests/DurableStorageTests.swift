import XCTest
import Kiln
import KilnStorage
import Synchronization

/// Database directories in-process: every type and catalog object survives a reopen, the WAL is
/// replayed after a crash, checkpoints write only changed row groups, a second open is refused,
/// failed writes stop writes. (Real processes killed with SIGKILL: scripts/crash-checks.py.)
final class DurableStorageTests: XCTestCase {
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "kiln-durable-\(UUID().uuidString)"
    }

    override func tearDown() {
        IOFaults.failWrite(0)
        IOFaults.failSync(0)
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let schema = """
        CREATE TABLE every (b BOOLEAN, s SMALLINT, i INTEGER, l BIGINT, r REAL, d DOUBLE PRECISION, n NUMERIC(12,3), u NUMERIC,
                            v VARCHAR(20), t TEXT, dt DATE, ts TIMESTAMP, iv INTERVAL)
        """
    static let rows = """
        INSERT INTO every VALUES
          (true, 1, 2, 3, 1.5, 2.25, 123.456, 1.0000001, 'short', 'a string longer than twelve bytes', DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56', INTERVAL '1 day 2 hours'),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (false, -32768, -2147483648, -9223372036854775808, 'Infinity', '-Infinity', -0.001, 0, '', '', DATE '1970-01-01', TIMESTAMP '2000-01-01 00:00:00', INTERVAL '-3 months')
        """

    func testEveryTypeAndCatalogObjectSurvivesReopen() throws {
        let query = "SELECT * FROM every ORDER BY i NULLS LAST"
        var before: [[Value]] = []
        do {
            let db = try Database(path: directory)
            try db.execute(DurableStorageTests.schema)
            try db.execute(DurableStorageTests.rows)
            try db.execute("INSERT INTO every (i, t) SELECT g, 'row ' || g::TEXT || ' with a long text' FROM generate_series(10, 5000) AS g(g)")
            try db.execute("CREATE VIEW small AS SELECT i, t FROM every WHERE i < 100")
            try db.execute("CREATE ROLE reader LOGIN PASSWORD 'secret'")
            try db.execute("CREATE TABLE gone (a INTEGER)")
            try db.execute("DROP TABLE gone")
            before = try db.query(query)
            db.close()
        }
        let db = try Database(path: directory)
        XCTAssertEqual(try db.query(query), before)
        XCTAssertEqual(try db.query("SELECT count(*), sum(i) FROM small"), [[.int64(92), .int64(4905 + 2 - 2_147_483_648)]])
        XCTAssertEqual(try db.query("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'reader'"), [[.text("reader"), .bool(true)]])
        XCTAssertThrowsError(try db.query("SELECT * FROM gone"))
        // Appending to the row group read from the data file, then reopening again.
        try db.execute("INSERT INTO every (i, t) VALUES (6000, 'appended after reopening, long enough')")
        let after = try db.query(query)
        db.close()
        let again = try Database(path: directory)
        XCTAssertEqual(try again.query(query), after)
        again.close()
    }

    /// A directory written by an earlier Kiln (`Tests/Fixtures/durable-v3.tar.gz`: metadata
    /// version 3, one checksum per column extent) opens and reads the same, through a serial and
    /// a parallel scan, takes writes, and reopens after its checkpoint in today's format.
    func testADirectoryOfTheEarlierFormatOpens() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/durable-v3.tar.gz").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", fixture, "-C", directory]
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        let path = directory + "/db"
        let summary = "SELECT count(*), count(s), sum(k), sum(n), min(d), max(d), sum(f), sum(length(s)) FROM old_t"
        let expected: [[String?]] = [["3900", "3343", "7987050", "1815427.50", "2020-01-01", "2021-05-14", "998381.25", "58221"]]
        do {
            let db = try Database(path: path)
            XCTAssertEqual(try db.query(summary).map { $0.map(\.text) }, expected)
            try db.execute("SET threads = 2")
            try db.execute("SET parallel_morsel_rows = 256")
            XCTAssertEqual(try db.query(summary).map { $0.map(\.text) }, expected)
            XCTAssertEqual(try db.query("SELECT k, s FROM old_v ORDER BY k"), [[.int32(1000), .text("s1000")], [.int32(2000), .text("s2000")], [.int32(3000), .text("a string longer than twelve bytes, row 3000")], [.int32(4000), .text("s4000")]])
            try db.execute("INSERT INTO old_t VALUES (5000, 'new', 1.50, DATE '2022-02-02', 0.5)")
            db.close()
        }
        let db = try Database(path: path)
        XCTAssertEqual(try db.query("SELECT count(*), sum(k) FROM old_t"), [[.int64(3901), .int64(7_992_050)]])
        db.close()
    }

    func testCommitsAreReplayedFromTheWALAfterACrash() throws {
        let db = try Database(path: directory)
        try db.execute("CREATE TABLE t (k INTEGER, s TEXT)")
        try db.execute("CHECKPOINT")
        for k in 0..<50 { try db.execute("INSERT INTO t VALUES ($1, $2)", [.int32(Int32(k)), .text("value number \(k) of fifty")]) }
        try db.execute("CREATE VIEW v AS SELECT count(*) AS n FROM t")
        db.store!.releaseAsIfCrashed()
        let reopened = try Database(path: directory)
        XCTAssertEqual(reopened.store!.recovery.transactions, 51)
        XCTAssertEqual(try reopened.query("SELECT n FROM v"), [[.int64(50)]])
        XCTAssertEqual(try reopened.query("SELECT s FROM t WHERE k = 49"), [[.text("value number 49 of fifty")]])
        reopened.close()
    }

    /// Keys, checks, defaults, foreign keys and sequences come back after a crash (WAL) and
    /// after a checkpoint (metadata), still enforced; a sequence never hands a value out twice.
    func testConstraintsAndSequencesSurviveCrashAndCheckpoint() throws {
        func expectError(_ db: Database, _ sql: String, _ code: String, line: UInt = #line) {
            XCTAssertThrowsError(try db.execute(sql), line: line) { XCTAssertEqual(($0 as! DatabaseError).sqlState.code, code, line: line) }
        }
        var db = try Database(path: directory)
        try db.execute("""
            CREATE TABLE parent (id SERIAL PRIMARY KEY, name TEXT NOT NULL DEFAULT 'unnamed', qty INTEGER CHECK (qty >= 0));
            CREATE TABLE child (id BIGINT GENERATED ALWAYS AS IDENTITY, parent_id INTEGER REFERENCES parent, note TEXT UNIQUE);
            CREATE INDEX parent_name ON parent (name);
            CREATE SEQUENCE tickets START 100;
            INSERT INTO parent (qty) VALUES (1), (2), (3);
            INSERT INTO child (parent_id, note) VALUES (1, 'a'), (2, 'b');
            SELECT nextval('tickets'), nextval('tickets');
            """)
        for round in 0..<2 {
            if round == 0 { db.store!.releaseAsIfCrashed() } else {
                try db.execute("CHECKPOINT")
                db.close()
            }
            db = try Database(path: directory)
            expectError(db, "INSERT INTO parent VALUES (1, 'dup', 1)", "23505")
            expectError(db, "INSERT INTO parent (qty) VALUES (-1)", "23514")
            expectError(db, "INSERT INTO child (parent_id) VALUES (99)", "23503")
            expectError(db, "DELETE FROM parent WHERE id = 1", "23503")
            expectError(db, "INSERT INTO child (id, parent_id) VALUES (5, 1)", "428C9")
            expectError(db, "INSERT INTO child (parent_id, note) VALUES (3, 'a')", "23505")
            let id = try db.query("INSERT INTO parent (qty) VALUES (\(round)) RETURNING id, name")
            XCTAssertEqual(id.first?[1], .text("unnamed"))
            guard case .int32(let newID)? = id.first?[0] else { return XCTFail("no id") }
            XCTAssertGreaterThan(newID, 3 + Int32(round))
            guard case .int64(let ticket)? = try db.query("SELECT nextval('tickets')").first?.first else { return XCTFail("no ticket") }
            XCTAssertGreaterThan(ticket, 101 + Int64(round))
            let plan = try db.query("EXPLAIN SELECT * FROM parent WHERE name = 'x'").compactMap { $0.first?.text }.joined(separator: "\n")
            XCTAssertTrue(plan.contains("using parent_name"), plan)
        }
        db.close()
    }

    /// A table created in an open block is invisible to other sessions, so none can commit rows
    /// into it before its creation is logged; a crash then leaves a log that replays.
    func testAnUncommittedTableTakesNoOtherSessionsRows() throws {
        let a = try Database(path: directory)
        let b = try Database(sharing: a)
        try a.execute("BEGIN; CREATE TABLE mine (k INTEGER); INSERT INTO mine VALUES (1)")
        XCTAssertThrowsError(try b.execute("INSERT INTO mine VALUES (2)")) { XCTAssertEqual(($0 as! DatabaseError).sqlState.code, "42P01") }
        XCTAssertThrowsError(try b.execute("DROP TABLE mine")) { XCTAssertEqual(($0 as! DatabaseError).sqlState.code, "42P01") }
        XCTAssertEqual(try a.query("SELECT count(*) FROM mine"), [[.int64(1)]])
        try b.execute("CREATE TABLE theirs (k INTEGER); INSERT INTO theirs VALUES (3)")
        a.store!.releaseAsIfCrashed()
        let reopened = try Database(path: directory)
        XCTAssertEqual(try reopened.query("SELECT k FROM theirs"), [[.int32(3)]])
        XCTAssertThrowsError(try reopened.query("SELECT k FROM mine"))
        reopened.close()
    }

    /// Each 64 KiB block of a column extent has its checksum, checked when a scan first reads
    /// it: a damaged block fails the statements that read it (serial and parallel scans, and
    /// full reads) with XX001 naming the block's offset, and not those that stop before it.
    func testADamagedBlockFailsTheScansThatReachIt() throws {
        do {
            let db = try Database(path: directory)
            try db.execute("CREATE TABLE b (v BIGINT)")
            try db.execute("INSERT INTO b SELECT i FROM generate_series(1, 100000) AS g(i)")
            try db.execute("CHECKPOINT")
            db.close()
        }
        // The table's one extent is the data file's first (after the header and superblocks).
        let damaged = 12288 + 10 * 65536  // rows 81920... (a LIMIT 2 reads two morsels, 32768 rows)
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: directory + "/data.kiln"))
        try handle.seek(toOffset: UInt64(damaged + 5))
        let byte = try XCTUnwrap(handle.readData(ofLength: 1).first)
        try handle.seek(toOffset: UInt64(damaged + 5))
        handle.write(Data([byte ^ 0x5A]))
        try handle.close()
        let db = try Database(path: directory)
        try db.execute("SET threads = 1")
        XCTAssertEqual(try db.query("SELECT v FROM b LIMIT 2"), [[.int64(1)], [.int64(2)]])
        for setup in ["SET threads = 1", "SET threads = 2; SET parallel_morsel_rows = 1000", "SET threads = 1"] {
            try db.execute(setup)
            for sql in ["SELECT sum(v) FROM b", "SELECT count(*) FROM b WHERE v > 99990"] {
                XCTAssertThrowsError(try db.query(sql), "\(setup): \(sql)") { error in
                    let error = error as! DatabaseError
                    XCTAssertEqual(error.sqlState.code, "XX001")
                    XCTAssertTrue(error.message.contains("data.kiln\" at offset \(damaged)"), error.message)
                }
            }
        }
        db.close()
    }

    func testCheckpointWritesOnlyChangedRowGroups() throws {
        let db = try Database(path: directory)
        try db.execute("CREATE TABLE a (k INTEGER, v DOUBLE PRECISION)")
        try db.execute("CREATE TABLE b (k INTEGER, s TEXT)")
        try db.execute("INSERT INTO a SELECT g, g * 0.5 FROM generate_series(1, 10000) AS g(g)")
        try db.execute("INSERT INTO b SELECT g, 'b' || g::TEXT FROM generate_series(1, 10000) AS g(g)")
        try db.execute("CHECKPOINT")
        XCTAssertEqual(db.store!.lastCheckpoint.columns, 4)
        try db.execute("INSERT INTO b VALUES (0, 'new')")
        try db.execute("CHECKPOINT")
        XCTAssertEqual(db.store!.lastCheckpoint.columns, 2, "only b's row group is written again")
        try db.execute("CHECKPOINT")
        XCTAssertEqual(db.store!.lastCheckpoint.columns, 0)
        db.close()
        let reopened = try Database(path: directory)
        XCTAssertEqual(try reopened.query("SELECT count(*) FROM b"), [[.int64(10001)]])
        reopened.close()
    }

    func testASecondOpenIsRefused() throws {
        let db = try Database(path: directory)
        XCTAssertThrowsError(try Database(path: directory)) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState.code, "55006")
        }
        db.close()
        XCTAssertNoThrow(try Database(path: directory).close())
    }

    func testSettings() throws {
        let db = try Database(path: directory)
        XCTAssertEqual(try db.query("SHOW synchronous_commit"), [[.text("on")]])
        try db.execute("SET synchronous_commit = off")
        try db.execute("CREATE TABLE t (k INTEGER)")
        try db.execute("INSERT INTO t VALUES (1)")
        XCTAssertThrowsError(try db.execute("SET synchronous_commit = sometimes"))
        XCTAssertThrowsError(try db.execute("SET max_wal_size = '1kB'"))
        try db.execute("SET max_wal_size = '2MB'")
        XCTAssertEqual(db.store!.maxWALSize.load(ordering: .relaxed), 2 << 20)
        db.close()
        // In memory, CHECKPOINT does nothing and succeeds.
        XCTAssertNoThrow(try Database().execute("CHECKPOINT"))
    }

    /// `pg_stat_wal` counts the log's records, bytes, writes and syncs (zeros in memory).
    func testWALStatistics() throws {
        let db = try Database(path: directory)
        try db.execute("CREATE TABLE t (k INTEGER)")
        func int(_ value: Value) -> Int64 { if case .int64(let n) = value { return n } else { return -1 } }
        let before = try db.query("SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal")[0].map(int)
        for k in 1...5 { try db.execute("INSERT INTO t VALUES (\(k))") }
        let after = try db.query("SELECT wal_records, wal_bytes, wal_write, wal_sync, wal_sync_time >= 0 FROM pg_stat_wal")[0]
        XCTAssertEqual(int(after[0]), before[0] + 10)  // an insert record and a commit record each
        XCTAssertGreaterThan(int(after[1]), before[1])
        XCTAssertEqual(int(after[2]), before[2] + 5)  // one session: a write and a sync per commit
        XCTAssertEqual(int(after[3]), before[3] + 5)
        XCTAssertEqual(after[4], .bool(true))
        db.close()
        XCTAssertEqual(try Database().query("SELECT wal_records, wal_sync FROM pg_stat_wal"), [[.int64(0), .int64(0)]])
    }

    func testAFailedSyncStopsWrites() throws {
        let db = try Database(path: directory)
        try db.execute("CREATE TABLE t (k INTEGER)")
        try db.execute("INSERT INTO t VALUES (1)")
        IOFaults.failSync(1)
        XCTAssertThrowsError(try db.execute("INSERT INTO t VALUES (2)")) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, .ioError)
        }
        IOFaults.failSync(0)
        XCTAssertThrowsError(try db.execute("INSERT INTO t VALUES (3)")) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, .ioError, "writes stay stopped")
        }
        XCTAssertNoThrow(try db.query("SELECT count(*) FROM t"), "reads go on")
        db.close()
        let reopened = try Database(path: directory)
        let count = try reopened.query("SELECT count(*) FROM t")
        XCTAssertTrue(count == [[.int64(1)]] || count == [[.int64(2)]], "the acknowledged row is there; the failed commit's may be")
        reopened.close()
    }

    /// Sessions on their own threads commit while another reads: group commit gathers their
    /// syncs, every commit is replayed after a crash (run under ThreadSanitizer too).
    func testConcurrentSessionsCommitWhileOthersRead() throws {
        let db = try Database(path: directory)
        try db.execute("CREATE TABLE t (session INTEGER, i INTEGER, s TEXT)")
        let sessions = 4, commits = 100
        let failures = Mutex<[String]>([])
        var threads: [Thread] = []
        for session in 0..<sessions {
            nonisolated(unsafe) let writer = try Database(sharing: db)
            threads.append(Thread {
                for i in 0..<commits {
                    do { try writer.execute("INSERT INTO t VALUES ($1, $2, 'a value long enough to leave the cell')", [.int32(Int32(session)), .int32(Int32(i))]) } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                writer.close()
            })
        }
        nonisolated(unsafe) let reader = try Database(sharing: db)
        let readerDone = Atomic<Bool>(false)
        threads.append(Thread {
            while !readerDone.load(ordering: .relaxed) {
                do { _ = try reader.query("SELECT count(*), max(length(s)) FROM t") } catch { failures.withLock { $0.append("\(error)") } }
            }
            reader.close()
        })
        for thread in threads { thread.start() }
        while try db.query("SELECT count(*) FROM t") != [[.int64(Int64(sessions * commits))]] { usleep(10_000) }
        readerDone.store(true, ordering: .relaxed)
        usleep(100_000)
        XCTAssertEqual(failures.withLock { $0 }, [])
        let statistics = db.store!.walStatistics
        XCTAssertEqual(statistics.commits, sessions * commits + 1)
        XCTAssertLessThanOrEqual(statistics.syncs, statistics.commits)
        db.store!.releaseAsIfCrashed()
        let reopened = try Database(path: directory)
        XCTAssertEqual(try reopened.query("SELECT session, count(*), sum(i) FROM t GROUP BY session ORDER BY session"),
                       (0..<sessions).map { [.int32(Int32($0)), .int64(Int64(commits)), .int64(Int64(commits * (commits - 1) / 2))] })
        reopened.close()
    }

    /// Commits wait for their sync while other sessions' commits trigger checkpoints that
    /// empty the log: every wait ends (a checkpoint made the commit durable), nothing is lost.
    func testCommitsWaitingWhileCheckpointsEmptyTheLog() throws {
        let db = try Database(path: directory)
        try db.execute("CREATE TABLE t (session INTEGER, i INTEGER, s TEXT)")
        try db.execute("SET max_wal_size = '1MB'")
        let sessions = 4, commits = 40
        let done = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        for session in 0..<sessions {
            nonisolated(unsafe) let writer = try Database(sharing: db)
            Thread {
                for i in 0..<commits {
                    // ~100 KB per commit: a checkpoint every few commits.
                    do {
                        try writer.execute("INSERT INTO t SELECT $1::INTEGER, $2::INTEGER, 'padding text for the row ' || g::TEXT FROM generate_series(1, 2500) AS g(g)",
                                           [.int32(Int32(session)), .int32(Int32(i))])
                    } catch { failures.withLock { $0.append("\(error)") } }
                }
                writer.close()
                done.add(1, ordering: .relaxed)
            }.start()
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while done.load(ordering: .relaxed) < sessions && ContinuousClock.now < deadline { usleep(20_000) }
        XCTAssertEqual(done.load(ordering: .relaxed), sessions, "a commit waited forever")
        XCTAssertEqual(failures.withLock { $0 }, [])
        db.store!.releaseAsIfCrashed()
        let reopened = try Database(path: directory)
        XCTAssertEqual(try reopened.query("SELECT count(*), count(DISTINCT session * 1000 + i) FROM t"), [[.int64(Int64(sessions * commits * 2500)), .int64(Int64(sessions * commits))]])
        reopened.close()
    }
}
