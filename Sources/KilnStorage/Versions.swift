import KilnCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What one statement may see: the commits up to `timestamp`, plus the reading transaction's
/// own uncommitted work (its delete markers carry `marker`; its inserted rows are in
/// `local`, per table, until it commits).
///
/// A row's delete marker is 0 (live), a commit timestamp (deleted by that commit) or
/// `VersionMarker.transactionBit | id` (deleted by transaction `id`, not committed yet).
public struct Snapshot: @unchecked Sendable {
    public var timestamp: UInt64
    public var marker: UInt64
    /// Rows the transaction inserted and has not committed, by table (`ObjectIdentifier`).
    public var local: [ObjectIdentifier: Table]

    public init(timestamp: UInt64, marker: UInt64, local: [ObjectIdentifier: Table] = [:]) {
        self.timestamp = timestamp
        self.marker = marker
        self.local = local
    }

    /// Sees every commit so far and nothing uncommitted (ANALYZE, checkpoints, tests).
    public static let latest = Snapshot(timestamp: UInt64.max >> 1, marker: 0)

    /// Whether a row with delete marker `m` is deleted for this snapshot.
    @inline(__always) public func isDeleted(_ m: UInt64) -> Bool {
        if m == 0 { return false }
        if m & VersionMarker.transactionBit != 0 { return m == marker }
        return m <= timestamp
    }

    public func localRows(of table: Table) -> Table? { local[ObjectIdentifier(table)] }
}

public enum VersionMarker {
    public static let transactionBit: UInt64 = 1 << 63
    /// The commit timestamp of deletes read from the data file or the WAL: older than every snapshot.
    public static let recovered: UInt64 = 1
    /// Rows per version granule: a scan morsel. A segment notes which granules have markers.
    public static let granule = 1 << 14
}

/// Per row group: the delete marker of each row, allocated on its first delete (a table that
/// is never updated carries none and is scanned exactly as before MVCC).
public final class DeleteMarkers: @unchecked Sendable {
    /// `Table.segmentCapacity` markers, zeroed (calloc: pages nobody writes stay unbacked).
    public let markers: UnsafeMutablePointer<UInt64>
    /// Bit g: granule g (rows g * granule ..< (g + 1) * granule) has a marker.
    public private(set) var granules: UInt64 = 0
    /// Markers that are commit timestamps (what a checkpoint writes).
    public private(set) var committed = 0

    init() {
        guard let memory = calloc(Table.segmentCapacity, MemoryLayout<UInt64>.size) else {
            fatalError("out of memory for the delete markers of a row group")
        }
        markers = memory.bindMemory(to: UInt64.self, capacity: Table.segmentCapacity)
    }
    deinit { free(markers) }

    func set(_ row: Int, _ marker: UInt64) {
        let old = markers[row]
        if old != 0 && old & VersionMarker.transactionBit == 0 { committed -= 1 }
        if marker != 0 && marker & VersionMarker.transactionBit == 0 { committed += 1 }
        markers[row] = marker
        if marker != 0 { granules |= 1 << UInt64(row / VersionMarker.granule) }
    }

    /// Whether any row in `range` has a marker.
    public func any(in range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        let first = range.lowerBound / VersionMarker.granule, last = (range.upperBound - 1) / VersionMarker.granule
        for g in first...last where granules & (1 << UInt64(g)) != 0 { return true }
        return false
    }
}

/// Commit timestamps, the running transactions and their snapshots, shared by every session
/// of a database. Commits are ordered by the statement lock (a commit holds it exclusively),
/// so `commit` hands out timestamps in the order commits reach the WAL.
public final class TransactionManager: @unchecked Sendable {
    private let monitor = Monitor()
    private var lastCommitted: UInt64 = VersionMarker.recovered
    private var nextID: UInt64 = 1
    /// Running transactions: id -> the oldest snapshot timestamp it holds (nil: none yet).
    private var running: [UInt64: UInt64?] = [:]
    /// How transactions that others wait for ended (true: committed), until the waiters saw it.
    private var outcomes: [UInt64: Bool] = [:]
    /// Who waits for whom (deadlock detection).
    private var waitsFor: [UInt64: UInt64] = [:]
    /// Running transactions that changed the catalog (a checkpoint must not write their
    /// uncommitted tables and views).
    private var catalogWriters: Set<UInt64> = []

    public func noteCatalogChange(_ id: UInt64) { monitor.withLock { _ = catalogWriters.insert(id) } }

    /// Whether a running transaction other than `id` has uncommitted catalog changes.
    public func catalogChangesPending(besides id: UInt64? = nil) -> Bool {
        monitor.withLock { catalogWriters.contains { $0 != id } }
    }

    /// Told when a session starts and stops waiting for another transaction (a server keeps
    /// a thread serving other sessions meanwhile).
    private var willWait: (@Sendable () -> Void)?
    private var didWait: (@Sendable () -> Void)?

    public init() {}

    public func setWaitObserver(willWait: @escaping @Sendable () -> Void, didWait: @escaping @Sendable () -> Void) {
        monitor.withLock {
            self.willWait = willWait
            self.didWait = didWait
        }
    }

    public func begin() -> UInt64 {
        monitor.withLock {
            let id = nextID
            nextID += 1
            running[id] = .some(nil)
            return id
        }
    }

    /// A snapshot timestamp for transaction `id`: the last commit.
    public func snapshot(for id: UInt64) -> UInt64 {
        monitor.withLock {
            if case .some(.none) = running[id] { running[id] = .some(lastCommitted) }
            return lastCommitted
        }
    }

    /// Keeps `timestamp` as transaction `id`'s oldest snapshot (REPEATABLE READ's one
    /// snapshot; READ COMMITTED moves it forward per statement).
    public func hold(_ id: UInt64, snapshot timestamp: UInt64) {
        monitor.withLock { if running[id] != nil { running[id] = .some(timestamp) } }
    }

    /// A READ COMMITTED transaction between statements needs no snapshot: the versions only
    /// its last statement's snapshot saw may go.
    public func release(snapshotOf id: UInt64) {
        monitor.withLock { if running[id] != nil { running[id] = .some(nil) } }
    }

    /// The next commit timestamp (the caller holds the statement lock exclusively and ends
    /// the transaction with `end`).
    public func nextCommitTimestamp() -> UInt64 {
        monitor.withLock {
            lastCommitted += 1
            return lastCommitted
        }
    }

    /// Ends transaction `id`; wakes whoever waits for it.
    public func end(_ id: UInt64, committed: Bool) {
        monitor.withLock {
            running[id] = nil
            releases[id] = nil
            catalogWriters.remove(id)
            if waitsFor.values.contains(id) { outcomes[id] = committed }
            waiters[id]?.condition.broadcast()
        }
    }

    /// Per transaction that others wait for: the condition they sleep on, and how many they are
    /// (the end of one transaction wakes only its own waiters).
    private var waiters: [UInt64: (condition: Monitor.Condition, count: Int)] = [:]

    /// The oldest snapshot any running transaction holds (versions older than it are needed by
    /// nobody else).
    public var oldestSnapshot: UInt64 {
        monitor.withLock { running.values.compactMap { $0 }.min() ?? lastCommitted }
    }

    /// The oldest snapshot a transaction other than `id` holds (a new one sees every commit
    /// so far): versions deleted at or before it are dead for everyone but `id`.
    public func oldestSnapshot(besides id: UInt64) -> UInt64 {
        monitor.withLock { running.filter { $0.key != id }.values.compactMap { $0 }.min() ?? lastCommitted }
    }

    /// Whether any transaction other than `id` is running.
    public func othersRunning(besides id: UInt64) -> Bool {
        monitor.withLock { running.keys.contains { $0 != id } }
    }

    /// Counts, per running transaction, the times it took back rows it had marked (a failed
    /// statement, ROLLBACK TO SAVEPOINT): a session waiting for it retries then.
    private var releases: [UInt64: Int] = [:]

    /// Transaction `id` took back some of its row markers: sessions waiting for it try again.
    public func released(_ id: UInt64) {
        monitor.withLock {
            releases[id, default: 0] += 1
            waiters[id]?.condition.broadcast()
        }
    }

    /// Waits until transaction `other` ends or takes back rows it marked; returns whether it
    /// committed. 40P01 when `other` (or one it waits for) waits for `id`: the session that
    /// would close the cycle gives way (as PostgreSQL's does when its deadlock check runs first).
    public func wait(_ id: UInt64, for other: UInt64) throws(DatabaseError) -> Bool {
        try monitor.withLock { () throws(DatabaseError) -> Bool in
            var next: UInt64? = other
            var steps = 0
            while let current = next, steps < 10_000 {
                if current == id {
                    throw DatabaseError(.deadlockDetected, "deadlock detected",
                                        detail: "Transaction \(id) waits for transaction \(other), which waits for transaction \(id).",
                                        hint: "See server log for query details.")
                }
                next = waitsFor[current]
                steps += 1
            }
            waitsFor[id] = other
            willWait?()
            let condition = waiters[other]?.condition ?? Monitor.Condition()
            waiters[other] = (condition, (waiters[other]?.count ?? 0) + 1)
            defer {
                didWait?()
                waitsFor[id] = nil
                if !waitsFor.values.contains(other) { outcomes[other] = nil }
                if let entry = waiters[other] { waiters[other] = entry.count > 1 ? (entry.condition, entry.count - 1) : nil }
            }
            let released = releases[other, default: 0]
            while running[other] != nil && releases[other, default: 0] == released { monitor.wait(on: condition) }
            if running[other] != nil { return false }
            return outcomes[other] ?? true
        }
    }

    /// After recovery: commits replayed from the WAL are older than every new snapshot.
    func advance(past timestamp: UInt64) {
        monitor.withLock { lastCommitted = max(lastCommitted, timestamp) }
    }
}

/// A row's identity: its row group and its row in it (stable: rows never move; the WAL's
/// delete records name rows by it). As a bigint: `segment << 20 | row`; rows a transaction
/// inserted and has not committed have `RowID.localBit` set.
public struct RowID: Hashable, Sendable {
    public var segment: Int
    public var row: Int
    public static let localBit = TupleID.localBit

    public init(segment: Int, row: Int) {
        self.segment = segment
        self.row = row
    }

    public init(_ value: Int64) {
        let plain = value & ~RowID.localBit
        segment = Int(plain >> 20)
        row = Int(plain & Int64(Table.segmentCapacity - 1))
    }

    public var value: Int64 { Int64(segment) << 20 | Int64(row) }
}
