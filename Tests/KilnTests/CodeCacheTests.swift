@testable import Kiln
import XCTest

/// The compiled-code cache: hits, misses, least-recently-used eviction.
final class CodeCacheTests: XCTestCase {
    func testLeastRecentlyUsedEntriesGoFirst() {
        var cache = CodeCache<String, Int>(capacity: 2)
        XCTAssertNil(cache.lookup("a"))
        cache.insert("a", 1, bytes: 0)
        cache.insert("b", 2, bytes: 0)
        XCTAssertEqual(cache.lookup("a"), 1)  // a is now newer than b
        cache.insert("c", 3, bytes: 0)  // evicts b
        XCTAssertNil(cache.lookup("b"))
        XCTAssertEqual(cache.lookup("a"), 1)
        XCTAssertEqual(cache.lookup("c"), 3)
        XCTAssertEqual(cache.statistics, CodeCacheStatistics(hits: 3, misses: 2, evictions: 1, entries: 2))
        cache.resize(1)
        XCTAssertEqual(cache.statistics.entries, 1)
        XCTAssertEqual(cache.lookup("c"), 3)
    }

    func testSecondExecutionOfTheSameShapeSkipsCompilation() throws {
        let db = try Database()
        try db.use(.fast)
        try db.execute("CREATE TABLE t (k INTEGER)")
        try db.execute("INSERT INTO t VALUES (1), (2), (3)")
        let first = try db.execute("SELECT count(*) FROM t WHERE k > 1 AND k < 12345").last!
        let second = try db.execute("SELECT count(*) FROM t WHERE k > 0 AND k < 12345").last!
        XCTAssertEqual(first.rows, [[.int64(2)]])
        XCTAssertEqual(second.rows, [[.int64(3)]])
        // Literals are parameter slots: the second query ran the first one's code.
        XCTAssertEqual(second.timings?.compileMilliseconds, 0)
    }
}
