@testable import Kiln
import XCTest

/// The compile worker's state machine, driven without threads; then the service itself:
/// compiles that fail on purpose, and a worker that stops with the last `Database` and starts
/// again with the next.
final class CompilerLifecycleTests: XCTestCase {
    func testFirstRequestStartsTheWorkerAndLaterOnesQueue() {
        var lifecycle = CompilerLifecycle()
        XCTAssertEqual(lifecycle.admit(), .queueAndStart)
        XCTAssertEqual(lifecycle.state, .running)
        XCTAssertEqual(lifecycle.admit(), .queue)
        XCTAssertFalse(lifecycle.quiescent)
    }

    func testShutdownWaitsForTheWorkerThenRestartsUnlessFinal() {
        var lifecycle = CompilerLifecycle()
        _ = lifecycle.admit()
        lifecycle.beginJob()
        XCTAssertTrue(lifecycle.shutdown(final: false), "a live worker is waited for")
        XCTAssertEqual(lifecycle.state, .stopping(final: false))
        XCTAssertFalse(lifecycle.acceptsWork)
        if case .refuse = lifecycle.admit() {} else { XCTFail("a stopping compiler takes no work") }
        lifecycle.endJob()
        lifecycle.workerExited()
        XCTAssertEqual(lifecycle.state, .idle)
        XCTAssertTrue(lifecycle.quiescent)
        XCTAssertEqual(lifecycle.admit(), .queueAndStart, "the next request starts a new worker")
    }

    func testFinalShutdownIsForGood() {
        var lifecycle = CompilerLifecycle()
        _ = lifecycle.admit()
        XCTAssertTrue(lifecycle.shutdown(final: false))
        XCTAssertTrue(lifecycle.shutdown(final: true), "a final shutdown during a stop makes the stop final")
        lifecycle.workerExited()
        XCTAssertEqual(lifecycle.state, .closed)
        if case .refuse = lifecycle.admit() {} else { XCTFail("a closed compiler takes no work") }
        var idle = CompilerLifecycle()
        XCTAssertFalse(idle.shutdown(final: true), "no worker, nothing to wait for")
        XCTAssertEqual(idle.state, .closed)
    }

    func testFatalErrorTurnsCompilationOffAndIsNeverQuiescent() {
        var lifecycle = CompilerLifecycle()
        _ = lifecycle.admit()
        lifecycle.beginJob()
        lifecycle.fatalError("Cannot select")
        XCTAssertEqual(lifecycle.state, .failed("Cannot select"))
        XCTAssertFalse(lifecycle.quiescent, "the parked worker stays inside LLVM")
        XCTAssertFalse(lifecycle.shutdown(final: true))
        if case .refuse(let reason) = lifecycle.admit() { XCTAssertTrue(reason.contains("Cannot select")) } else { XCTFail() }
    }

    func testRefusedThreadLeavesTheRequesterToCompile() {
        var lifecycle = CompilerLifecycle()
        _ = lifecycle.admit()
        lifecycle.workerRefused()
        XCTAssertEqual(lifecycle.state, .idle)
        XCTAssertFalse(lifecycle.workerAlive)
    }

    /// A compile that fails (a module that does not parse) leaves the query in the interpreter
    /// with the right answer, even when it waits for native code; the next query compiles.
    func testFailedCompileKeepsTheAnswerAndTheProcess() throws {
        let db = try Database()
        try db.use(.fast)
        try db.execute("CREATE TABLE f (k INTEGER, v BIGINT)")
        try db.execute("INSERT INTO f SELECT g % 7, g FROM generate_series(1, 50000) AS s(g)")
        XCTAssertTrue(Database.injectCompileFault("invalid-module"))
        let failed = try db.execute("SELECT k, sum(v) FROM f WHERE v > 17 GROUP BY k ORDER BY k").last!
        XCTAssertEqual(failed.timings?.mode, "interpreted")
        try db.execute("SET jit = off")
        let reference = try db.query("SELECT k, sum(v) FROM f WHERE v > 17 GROUP BY k ORDER BY k")
        XCTAssertEqual(failed.rows, reference)
        try db.use(.fast)
        let next = try db.execute("SELECT count(*) FROM f WHERE k = 3 AND v < 40000").last!
        XCTAssertEqual(next.rows, [[.int64(5714)]])
        XCTAssertNotEqual(next.timings?.mode, "interpreted")
        XCTAssertTrue(Database.nativeCompilationAvailable)
    }

    /// Closing the last open `Database` stops the worker; the next one compiles again.
    func testLastCloseStopsTheWorkerAndTheNextDatabaseRestartsIt() throws {
        let service = try CompilationService.shared.get()
        do {
            let db = try Database()
            try db.use(.optimized)
            XCTAssertEqual(try db.query("SELECT sum(g) FROM generate_series(1, 1000) AS s(g) WHERE g > 10"), [[.int64(500445)]])
            db.close()
            db.close()  // twice: nothing more
            XCTAssertThrowsError(try db.query("SELECT 1")) { error in
                XCTAssertEqual((error as? DatabaseError)?.sqlState, SQLState("08003"), "a closed session runs nothing")
            }
        }
        // Other tests' databases may still be open; when none is, the worker is gone.
        let db = try Database()
        try db.use(.fast)
        let result = try db.execute("SELECT count(*) FROM generate_series(1, 1000) AS s(g) WHERE g % 3 = 1").last!
        XCTAssertEqual(result.rows, [[.int64(334)]])
        XCTAssertNotEqual(result.timings?.mode, "interpreted", "a new worker compiled it")
        XCTAssertTrue(service.isAvailable)
    }
}
