import XCTest
import Kiln
import KilnStorage

/// MVCC: UPDATE / DELETE / TRUNCATE, ROLLBACK and savepoints, isolation between sessions
/// (dirty reads, non-repeatable reads, phantoms, lost updates, write skew), write conflicts
/// (waiting, 40001, deadlocks), and deletes that survive a checkpoint and a WAL replay.
final class TransactionTests: XCTestCase {
    func count(_ db: Database, _ sql: String = "SELECT count(*) FROM t") throws -> Value {
        try db.query(sql).first?.first ?? .null
    }

    func makeTable(_ db: Database) throws {
        try db.execute("CREATE TABLE t (k INTEGER, v TEXT)")
        try db.execute("INSERT INTO t SELECT g, 'value ' || g::TEXT || ' long enough to leave the cell' FROM generate_series(1, 100) AS g(g)")
    }

    func testUpdateDeleteAndRollback() throws {
        let db = try Database()
        try makeTable(db)
        XCTAssertEqual(try db.execute("DELETE FROM t WHERE k > 90").last?.commandTag, "DELETE 10")
        XCTAssertEqual(try db.execute("UPDATE t SET v = 'x' WHERE k <= 5").last?.commandTag, "UPDATE 5")
        XCTAssertEqual(try db.query("SELECT count(*), sum(k) FROM t WHERE v = 'x'"), [[.int64(5), .int64(15)]])
        try db.execute("BEGIN")
        try db.execute("DELETE FROM t")
        try db.execute("INSERT INTO t VALUES (1000, 'new')")
        XCTAssertEqual(try count(db), .int64(1))
        try db.execute("ROLLBACK")
        XCTAssertEqual(try db.query("SELECT count(*), sum(k) FROM t"), [[.int64(90), .int64(4095)]])
        // An UPDATE ... FROM whose join matches a row twice updates it once.
        try db.execute("CREATE TABLE s (k INTEGER, w TEXT)")
        try db.execute("INSERT INTO s VALUES (1, 'a'), (1, 'b'), (2, 'c')")
        XCTAssertEqual(try db.execute("UPDATE t SET v = s.w FROM s WHERE t.k = s.k").last?.commandTag, "UPDATE 2")
        XCTAssertEqual(try count(db), .int64(90))
        XCTAssertEqual(try db.execute("DELETE FROM t USING s WHERE t.k = s.k AND s.w = 'c'").last?.commandTag, "DELETE 1")
        XCTAssertThrowsError(try db.execute("UPDATE t SET k = 1, k = 2")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "42601") }
        XCTAssertThrowsError(try db.execute("UPDATE t SET nope = 1")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "42703") }
        XCTAssertThrowsError(try db.execute("DELETE FROM missing")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "42P01") }
        XCTAssertThrowsError(try db.execute("UPDATE t SET k = 'abc'")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "22P02") }
        XCTAssertEqual(try count(db), .int64(89))
        try db.execute("TRUNCATE t")
        XCTAssertEqual(try count(db), .int64(0))
    }

    func testSavepointsAndFailedBlocks() throws {
        let db = try Database()
        try makeTable(db)
        try db.execute("BEGIN")
        try db.execute("DELETE FROM t WHERE k <= 50")
        try db.execute("SAVEPOINT a")
        try db.execute("DELETE FROM t")
        try db.execute("CREATE TABLE u (x INTEGER)")
        XCTAssertEqual(try count(db), .int64(0))
        try db.execute("ROLLBACK TO SAVEPOINT a")
        XCTAssertEqual(try count(db), .int64(50))
        XCTAssertThrowsError(try db.query("SELECT * FROM u"))
        XCTAssertThrowsError(try db.execute("SELECT 1/0"))
        XCTAssertThrowsError(try db.execute("SELECT 1")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "25P02") }
        try db.execute("ROLLBACK TO a")
        try db.execute("RELEASE SAVEPOINT a")
        XCTAssertThrowsError(try db.execute("ROLLBACK TO a")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "3B001") }
        XCTAssertEqual(try db.execute("COMMIT").last?.commandTag, "ROLLBACK")
        XCTAssertEqual(try count(db), .int64(100))
        try db.execute("BEGIN")
        try db.execute("DELETE FROM t WHERE k <= 50")
        try db.execute("COMMIT")
        XCTAssertEqual(try count(db), .int64(50))
        // DDL in a block is undone by ROLLBACK.
        try db.execute("BEGIN; CREATE TABLE v (x INTEGER); DROP TABLE t; ROLLBACK")
        XCTAssertThrowsError(try db.query("SELECT * FROM v"))
        XCTAssertEqual(try count(db), .int64(50))
        XCTAssertThrowsError(try db.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "0A000") }
    }

    func testIsolationBetweenSessions() throws {
        let a = try Database()
        try makeTable(a)
        let b = try Database(sharing: a)
        // Dirty read: b does not see a's uncommitted work.
        try a.execute("BEGIN")
        try a.execute("INSERT INTO t VALUES (101, 'uncommitted')")
        try a.execute("DELETE FROM t WHERE k = 1")
        XCTAssertEqual(try count(a), .int64(100))
        XCTAssertEqual(try count(b, "SELECT count(*) FROM t WHERE k IN (1, 101)"), .int64(1))
        // Non-repeatable read and phantom: a REPEATABLE READ block keeps its snapshot.
        try b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        XCTAssertEqual(try count(b), .int64(100))
        try a.execute("COMMIT")
        XCTAssertEqual(try count(b, "SELECT count(*) FROM t WHERE k IN (1, 101)"), .int64(1))
        XCTAssertEqual(try count(b, "SELECT count(*) FROM t WHERE k = 1"), .int64(1))
        try b.execute("COMMIT")
        // READ COMMITTED sees the commit at its next statement.
        XCTAssertEqual(try count(b, "SELECT count(*) FROM t WHERE k IN (1, 101)"), .int64(1))
        XCTAssertEqual(try count(b, "SELECT count(*) FROM t WHERE k = 101"), .int64(1))
        // Write skew is allowed under snapshot isolation (documented; SERIALIZABLE is refused).
        try a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        XCTAssertEqual(try count(a, "SELECT count(*) FROM t WHERE k IN (2, 3)"), .int64(2))
        XCTAssertEqual(try count(b, "SELECT count(*) FROM t WHERE k IN (2, 3)"), .int64(2))
        try a.execute("DELETE FROM t WHERE k = 2")
        try b.execute("DELETE FROM t WHERE k = 3")
        try a.execute("COMMIT")
        try b.execute("COMMIT")
        XCTAssertEqual(try count(a, "SELECT count(*) FROM t WHERE k IN (2, 3)"), .int64(0))
    }

    func testWriteConflicts() throws {
        let a = try Database()
        try makeTable(a)
        let b = try Database(sharing: a)
        // Each session is used by one thread at a time: the other waits for its expectation.
        let aOnThread = Shared(a), bOnThread = Shared(b)
        // REPEATABLE READ: the second writer waits for the first, then gets 40001 when it committed.
        try a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        XCTAssertEqual(try count(b), .int64(100))
        try a.execute("UPDATE t SET v = 'a' WHERE k = 10")
        let done = expectation(description: "b's update ends")
        let failure = Box()
        DispatchQueue.global().async {
            do { try bOnThread.db.execute("UPDATE t SET v = 'b' WHERE k = 10") } catch let error as DatabaseError { failure.value = error.sqlState.code } catch {}
            done.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        try a.execute("COMMIT")
        wait(for: [done], timeout: 30)
        XCTAssertEqual(failure.value, "40001")
        try b.execute("ROLLBACK")
        // READ COMMITTED: no lost update; the waiting UPDATE runs again on the committed row.
        try a.execute("BEGIN")
        try a.execute("UPDATE t SET v = v || '+a' WHERE k = 20")
        let second = expectation(description: "b's second update ends")
        let tag = Box()
        DispatchQueue.global().async {
            tag.value = (try? bOnThread.db.execute("UPDATE t SET v = v || '+b' WHERE k = 20").last?.commandTag) ?? "failed"
            second.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        try a.execute("COMMIT")
        wait(for: [second], timeout: 30)
        XCTAssertEqual(tag.value, "UPDATE 1")
        XCTAssertEqual(try a.query("SELECT v FROM t WHERE k = 20"), [[.text("value 20 long enough to leave the cell+a+b")]])
        // A rolled-back writer lets the waiter go on with the original row.
        try a.execute("BEGIN")
        try a.execute("DELETE FROM t WHERE k = 30")
        let third = expectation(description: "b's delete ends")
        let deleted = Box()
        DispatchQueue.global().async {
            deleted.value = (try? bOnThread.db.execute("DELETE FROM t WHERE k = 30").last?.commandTag) ?? "failed"
            third.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        try a.execute("ROLLBACK")
        wait(for: [third], timeout: 30)
        XCTAssertEqual(deleted.value, "DELETE 1")
        // Two blocks that wait for each other: one gets 40P01.
        try a.execute("BEGIN")
        try b.execute("BEGIN")
        try a.execute("DELETE FROM t WHERE k = 40")
        try b.execute("DELETE FROM t WHERE k = 41")
        let fourth = expectation(description: "a waits for b")
        let aError = Box()
        DispatchQueue.global().async {
            do { try aOnThread.db.execute("DELETE FROM t WHERE k = 41") } catch let error as DatabaseError { aError.value = error.sqlState.code } catch {}
            fourth.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        var bError: String?
        do { try b.execute("DELETE FROM t WHERE k = 40") } catch let error as DatabaseError { bError = error.sqlState.code }
        if bError == "40P01" { try b.execute("ROLLBACK") }
        wait(for: [fourth], timeout: 30)
        XCTAssertTrue([aError.value, bError].contains("40P01"), "\(String(describing: aError.value)) \(String(describing: bError))")
        try? a.execute("ROLLBACK")
        try? b.execute("ROLLBACK")
    }

    func testDeletesSurviveCheckpointAndReplay() throws {
        let directory = NSTemporaryDirectory() + "kiln-mvcc-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let db = try Database(path: directory)
            try makeTable(db)
            try db.execute("DELETE FROM t WHERE k <= 10")
            try db.execute("CHECKPOINT")
            try db.execute("UPDATE t SET v = 'after the checkpoint' WHERE k = 50")
            try db.execute("BEGIN; DELETE FROM t WHERE k = 60; INSERT INTO t VALUES (500, 'in a block'); COMMIT")
            // Uncommitted at the crash: must not come back.
            try db.execute("BEGIN; DELETE FROM t WHERE k = 70; INSERT INTO t VALUES (600, 'never committed')")
            db.store?.releaseAsIfCrashed()
        }
        let db = try Database(path: directory)
        XCTAssertEqual(try db.query("SELECT count(*), sum(k) FROM t"), [[.int64(90), .int64(5050 - 55 - 60 + 500)]])
        XCTAssertEqual(try db.query("SELECT v FROM t WHERE k = 50"), [[.text("after the checkpoint")]])
        try db.execute("CHECKPOINT")
        db.close()
        let again = try Database(path: directory)
        XCTAssertEqual(try again.query("SELECT count(*), sum(k) FROM t"), [[.int64(90), .int64(5050 - 55 - 60 + 500)]])
        again.close()
    }
}

/// A value another thread sets (read after the test waited for that thread).
final class Box: @unchecked Sendable {
    var value: String?
}

/// A session handed to another thread while this one does not use it.
struct Shared: @unchecked Sendable {
    let db: Database
    init(_ db: Database) { self.db = db }
}

extension TransactionTests {
    func testPreparedModificationsDescribeTheirParametersAndRows() throws {
        let db = try Database()
        try makeTable(db)
        let update = try XCTUnwrap(try db.prepare("UPDATE t SET v = $1 WHERE k = $2 RETURNING k, v"))
        XCTAssertEqual(try db.describe(update).parameterTypes, [.text, .integer])
        XCTAssertEqual(try db.describe(update).columns?.map(\.name), ["k", "v"])
        XCTAssertEqual(try db.execute(update, [.text("new"), .int32(7)]).rows, [[.int32(7), .text("new")]])
        let delete = try XCTUnwrap(try db.prepare("DELETE FROM t WHERE k < $1"))
        XCTAssertEqual(try db.describe(delete).parameterTypes, [.integer])
        XCTAssertNil(try db.describe(delete).columns)
        XCTAssertEqual(try db.execute(delete, [.int32(11)]).commandTag, "DELETE 10")
        XCTAssertEqual(try db.execute(delete, [.int32(11)]).commandTag, "DELETE 0")
    }
}

extension TransactionTests {
    func testRepeatableReadDoesNotSeeATablesFirstRows() throws {
        let a = try Database()
        let b = try Database(sharing: a)
        try a.execute("CREATE TABLE fresh (k INTEGER)")
        try b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        XCTAssertEqual(try count(b, "SELECT count(*) FROM fresh"), .int64(0))
        try a.execute("INSERT INTO fresh VALUES (1), (2)")
        XCTAssertEqual(try count(b, "SELECT count(*) FROM fresh"), .int64(0))
        try b.execute("COMMIT")
        XCTAssertEqual(try count(b, "SELECT count(*) FROM fresh"), .int64(2))
    }
}

extension TransactionTests {
    /// Garbage collection: a steady update load keeps the table's physical rows bounded, in
    /// memory and in a database directory (where compaction checkpoints), with the same answers.
    func testUpdatesDoNotGrowTheTable() throws {
        let directory = NSTemporaryDirectory() + "kiln-gc-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for db in [try Database(), try Database(path: directory)] {
            try db.execute("CREATE TABLE acc (id INTEGER, balance BIGINT, filler TEXT)")
            try db.execute("INSERT INTO acc SELECT g, 0, 'a filler long enough for the string arena ' || g::TEXT FROM generate_series(1, 10000) AS s(g)")
            for round in 0..<60 {
                try db.execute("UPDATE acc SET balance = balance + 1 WHERE id % 10 = \(round % 10)")
            }
            let table = try XCTUnwrap(db.catalog.table("acc"))
            XCTAssertLessThan(table.rowCount, 15_000, "physical rows after 60,000 updates of 10,000 rows")
            XCTAssertEqual(try db.query("SELECT count(*), sum(balance), count(DISTINCT filler) FROM acc").first?.map(\.text), ["10000", "60000", "10000"])
            db.close()
        }
        let reopened = try Database(path: directory)
        XCTAssertEqual(try reopened.query("SELECT count(*), sum(balance) FROM acc").first?.map(\.text), ["10000", "60000"])
        reopened.close()
    }
}

extension TransactionTests {
    /// An UPDATE (or INSERT ... SELECT) of a table read from the data file appends records
    /// whose long strings point into the file's mapping, after making the last row group
    /// writable: the mapping must outlive that (it was unmapped, and the append crashed).
    func testUpdatesOfPersistedLongStrings() throws {
        let directory = NSTemporaryDirectory() + "kiln-mapped-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let db = try Database(path: directory)
            try db.execute("CREATE TABLE p (k INTEGER, s TEXT)")
            try db.execute("INSERT INTO p SELECT g, 'a long string that lives in the arena, number ' || g::TEXT FROM generate_series(1, 3000) AS x(g)")
            db.close()
        }
        let db = try Database(path: directory)
        try db.execute("UPDATE p SET k = k + 1")
        try db.execute("INSERT INTO p SELECT k, s FROM p WHERE k <= 101")
        XCTAssertEqual(try db.query("SELECT count(*), count(DISTINCT s), min(s) FROM p").first?.map(\.text),
                       ["3100", "3000", "a long string that lives in the arena, number 1"])
        db.close()
    }
}

extension TransactionTests {
    /// Keys under concurrency: a second insert of a key waits for the first writer (23505
    /// after its commit, success after its rollback), while other sessions look keys up through
    /// the index on threads of their own and always see exactly one live version of each key.
    func testUniqueKeysUnderConcurrentWritersAndReaders() throws {
        let a = try Database()
        let b = try Database(sharing: a)
        try a.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
        try a.execute("INSERT INTO acct SELECT x, 100 FROM generate_series(1, 200) AS s(x)")
        let stop = Box()
        let readers = (0..<2).map { _ in expectation(description: "reader") }
        let bad = Box()
        for reader in readers {
            let session = Shared(try Database(sharing: a))
            DispatchQueue.global().async {
                var id: Int32 = 1
                while stop.value == nil {
                    let rows = (try? session.db.query("SELECT balance FROM acct WHERE id = $1", [.int32(id)])) ?? []
                    if rows.count != 1 { bad.value = "key \(id): \(rows.count) rows" }
                    id = id % 200 + 1
                }
                reader.fulfill()
            }
        }
        // Writers: updates of keys (new versions) and a transfer in a block, all while readers run.
        for round in 0..<40 {
            try a.execute("UPDATE acct SET balance = balance + 1 WHERE id = $1", [.int32(Int32(round % 200 + 1))])
            try a.execute("BEGIN; UPDATE acct SET balance = balance - 5 WHERE id = 7; UPDATE acct SET balance = balance + 5 WHERE id = 8; COMMIT")
        }
        // A second inserter of one key waits for the first.
        let bOnThread = Shared(b)
        try a.execute("BEGIN")
        try a.execute("INSERT INTO acct VALUES (1000, 1)")
        let waited = expectation(description: "b waits for a")
        let outcome = Box()
        DispatchQueue.global().async {
            do { try bOnThread.db.execute("INSERT INTO acct VALUES (1000, 2)"); outcome.value = "inserted" } catch let error as DatabaseError {
                outcome.value = error.sqlState.code
            } catch {}
            waited.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertNil(outcome.value, "the second insert must wait")
        try a.execute("COMMIT")
        wait(for: [waited], timeout: 30)
        XCTAssertEqual(outcome.value, "23505")
        try a.execute("BEGIN")
        try a.execute("INSERT INTO acct VALUES (1001, 1)")
        let second = expectation(description: "b waits again")
        DispatchQueue.global().async {
            do { try bOnThread.db.execute("INSERT INTO acct VALUES (1001, 2)"); outcome.value = "inserted" } catch let error as DatabaseError {
                outcome.value = error.sqlState.code
            } catch {}
            second.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        try a.execute("ROLLBACK")
        wait(for: [second], timeout: 30)
        XCTAssertEqual(outcome.value, "inserted")
        stop.value = "stop"
        wait(for: readers, timeout: 30)
        XCTAssertNil(bad.value)
        XCTAssertEqual(try a.query("SELECT count(*), sum(balance) FROM acct"), [[.int64(202), .int64(200 * 100 + 40 + 1 + 2)]])
        XCTAssertEqual(try a.query("SELECT balance FROM acct WHERE id = 1001"), [[.int32(2)]])
    }
}

extension TransactionTests {
    /// Garbage collection while other transactions run: versions only their snapshots see stay
    /// (a REPEATABLE READ block still reads its old values), rows they marked move with their
    /// markers (their undo follows: ROLLBACK restores the rows, COMMIT deletes them), and the
    /// table stays bounded under a steady update load.
    func testCompactionBesideRunningTransactions() throws {
        let directory = NSTemporaryDirectory() + "kiln-gc-running-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func text(_ db: Database, _ sql: String) throws -> [String] { try db.query(sql).first?.map { $0.text ?? "NULL" } ?? [] }
        for durable in [false, true] {
            let a = durable ? try Database(path: directory) : try Database()
            let b = try Database(sharing: a)
            let c = try Database(sharing: a)
            try a.execute("CREATE TABLE acc (id INTEGER PRIMARY KEY, balance BIGINT)")
            try a.execute("INSERT INTO acc SELECT g, 0 FROM generate_series(1, 4000) AS s(g)")
            // c: a READ COMMITTED block that marked rows (and holds no snapshot between statements).
            try c.execute("BEGIN")
            try c.execute("DELETE FROM acc WHERE id > 3990")
            try c.execute("UPDATE acc SET balance = -1 WHERE id <= 5")
            // b: a REPEATABLE READ block: every version its snapshot sees must stay.
            try b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            XCTAssertEqual(try text(b, "SELECT sum(balance), count(*) FROM acc"), ["0", "4000"])
            for round in 0..<40 {
                try a.execute("UPDATE acc SET balance = balance + 1 WHERE id > 5 AND id <= 3990 AND id % 4 = \(round % 4)")
            }
            let table = try XCTUnwrap(a.catalog.table("acc"))
            XCTAssertGreaterThan(table.rowCount, 4000 * 10, "versions b's snapshot sees are kept")
            XCTAssertEqual(try text(b, "SELECT sum(balance), count(*) FROM acc"), ["0", "4000"])
            try b.execute("COMMIT")
            // With only c running, what no snapshot sees goes; c's marked rows move with it.
            for round in 0..<40 {
                try a.execute("UPDATE acc SET balance = balance + 1 WHERE id > 5 AND id <= 3990 AND id % 4 = \(round % 4)")
            }
            XCTAssertLessThan(table.rowCount, 4000 * 3, "physical rows after 80 rounds of updates")
            try c.execute("ROLLBACK")
            XCTAssertEqual(try text(a, "SELECT count(*), sum(balance), min(balance) FROM acc"), ["4000", "\(3985 * 20)", "0"])
            try c.execute("BEGIN")
            try c.execute("DELETE FROM acc WHERE id > 3990")
            for round in 0..<40 { try a.execute("UPDATE acc SET balance = balance + 1 WHERE id % 4 = \(round % 4) AND id <= 3990") }
            try c.execute("COMMIT")
            XCTAssertEqual(try text(a, "SELECT count(*), sum(balance) FROM acc"), ["3990", "\(3985 * 20 + 3990 * 10)"])
            XCTAssertEqual(try text(a, "SELECT balance FROM acc WHERE id = 100"), ["30"])
            b.close()
            c.close()
            a.close()
            if durable {
                let reopened = try Database(path: directory)
                XCTAssertEqual(try text(reopened, "SELECT count(*), sum(balance) FROM acc"), ["3990", "\(3985 * 20 + 3990 * 10)"])
                reopened.close()
            }
        }
    }
}
