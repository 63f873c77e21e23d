import Kiln
import KilnCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `kiln-bench prepared [--iterations N]`: how long a prepared statement's repeated execution
/// spends outside its pipelines (binding parameters, the runtime's set-up, reading the result),
/// through the embedded API, on a tiny table. Prints min / median / p99 in microseconds.
///
/// Build it in release (`swift build -c release --product kiln-bench`): speed is never
/// measured on a debug build.

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

func report(_ label: String, _ outside: [Double], _ totals: [Double]) {
    let o = outside.sorted(), t = totals.sorted()
    func f(_ v: Double) -> String { String(Double(Int(v * 10)) / 10) }
    print("\(label): outside the pipelines min \(f(o[0])) µs, median \(f(percentile(o, 0.5))) µs, p99 \(f(percentile(o, 0.99))) µs;"
          + " whole execution median \(f(percentile(t, 0.5))) µs (\(outside.count) executions)")
}

/// `kiln-bench open DBDIR SQL`: opens a database directory and runs one query; prints the
/// milliseconds from the open call to the fetched result (bench/durable_benchmark.py).
func openAndQuery(_ directory: String, _ sql: String, threads: Int?) throws {
    let start = ContinuousClock.now
    let db = try Database(path: directory)
    let opened = microseconds(ContinuousClock.now - start) / 1000
    if let threads { try db.execute("SET threads = \(threads)") }
    let rows = try db.query(sql)
    let elapsed = microseconds(ContinuousClock.now - start) / 1000
    guard !rows.isEmpty else { fatalError("no rows") }
    // (stderr: the open alone; stdout's last line stays the whole time)
    FileHandle.standardError.write("open \(opened) ms\n".data(using: .utf8)!)
    print(elapsed)
    db.close()
    _ = Database.shutdownCompilation()
}

/// `kiln-bench commits DBDIR CLIENTS SECONDS`: sessions on their own threads commit
/// single-row INSERTs into a database directory; prints commits per second.
func commits(_ directory: String, clients: Int, seconds: Int) throws {
    let db = try Database(path: directory)
    try db.execute("CREATE TABLE IF NOT EXISTS commits (id BIGINT, note TEXT)")
    let count = Atomic<Int>(0)
    let deadline = ContinuousClock.now + .seconds(seconds)
    var threads: [Thread] = []
    for client in 0..<clients {
        nonisolated(unsafe) let session = try Database(sharing: db)
        let thread = Thread {
            var i = 0
            while ContinuousClock.now < deadline {
                _ = try? session.execute("INSERT INTO commits VALUES ($1, 'a single-row commit')", [.int64(Int64(client * 100_000_000 + i))])
                i += 1
                count.add(1, ordering: .relaxed)
            }
            session.close()
        }
        thread.start()
        threads.append(thread)
    }
    while ContinuousClock.now < deadline + .milliseconds(200) { usleep(50_000) }
    let wal = db.store!.walStatistics
    print("\(count.load(ordering: .relaxed) / seconds) commits/s with \(clients) sessions; \(wal.commits) commits in \(wal.syncs) syncs of \(wal.syncNanoseconds / max(1, wal.syncs) / 1000) µs")
    db.close()
    _ = Database.shutdownCompilation()
}

func run() throws {
    var arguments = CommandLine.arguments.dropFirst()
    let command = arguments.popFirst()
    if command == "commits", let directory = arguments.popFirst(), let clients = arguments.popFirst().flatMap({ Int($0) }),
       let seconds = arguments.popFirst().flatMap({ Int($0) }) {
        return try commits(directory, clients: clients, seconds: seconds)
    }
    if command == "open", let directory = arguments.popFirst(), let sql = arguments.popFirst() {
        var threads: Int?
        if arguments.first == "--threads", let n = arguments.dropFirst().first.flatMap({ Int($0) }) { threads = n }
        return try openAndQuery(directory, sql, threads: threads)
    }
    guard command == "prepared" else {
        print("usage: kiln-bench prepared [--iterations N] | kiln-bench open DBDIR SQL [--threads N]")
        exit(2)
    }
    var iterations = 20_000
    if arguments.first == "--iterations", let n = arguments.dropFirst().first.flatMap({ Int($0) }) { iterations = n }
    let db = try Database()
    try db.execute("CREATE TABLE tiny (k INTEGER, name TEXT, price NUMERIC(10, 2))")
    try db.execute("INSERT INTO tiny VALUES (1, 'one', 1.50), (2, 'two', 2.25), (3, 'three', 3.00), (4, 'four', 4.75)")
    let sql = "SELECT name, price FROM tiny WHERE k = $1"
    for mode in ["on", "off"] {
        try db.execute("SET jit = \(mode)")
        if mode == "on" { try db.execute("SET jit_sync = on") }
        let prepared = try db.prepare(sql)!
        var outside: [Double] = [], totals: [Double] = []
        for i in 0..<(iterations + 1000) {
            let start = ContinuousClock.now
            let result = try db.execute(prepared, [.int32(Int32(i % 4 + 1))])
            let total = microseconds(ContinuousClock.now - start)
            guard result.rows.count == 1, let timings = result.timings else { fatalError("unexpected result \(result.rows)") }
            if i >= 1000 {  // warm-up: code compiled, caches warm
                totals.append(total)
                outside.append(total - timings.executeMilliseconds * 1000)
            }
        }
        report(mode == "on" ? "prepared, native code" : "prepared, interpreter", outside, totals)
    }
    // The same query as a simple (unprepared) statement each time, for contrast.
    try db.execute("SET jit = on")
    var outside: [Double] = [], totals: [Double] = []
    for i in 0..<2000 {
        let start = ContinuousClock.now
        let result = try db.execute("SELECT name, price FROM tiny WHERE k = \(i % 4 + 1)").last!
        let total = microseconds(ContinuousClock.now - start)
        if i >= 200 {
            totals.append(total)
            outside.append(total - (result.timings?.executeMilliseconds ?? 0) * 1000)
        }
    }
    report("simple query, native code", outside, totals)
}

do { try run() } catch {
    print("kiln-bench: \(error)")
    exit(1)
}
