#if canImport(Glibc)
import Glibc
#endif
import KilnCore

/// The write-ahead log of a database directory (`kiln.wal`): logical redo records of committed
/// transactions, appended at commit and made durable with `fdatasync` (group commit: one sync
/// covers every commit written before it).
///
/// ```
/// header   "KILNWAL\0", u32 format version, u64 generation, u32 CRC32C    (24 bytes)
/// record   u32 body length, u32 CRC32C of the body, body = u8 type + payload
/// ```
/// A transaction is its records followed by a commit record, written with one `pwrite`.
/// The generation ties the log to the checkpoint it continues: a log whose generation is not
/// the superblock's was already checkpointed, and is discarded.
final class WriteAheadLog: @unchecked Sendable {
    // `@unchecked Sendable`: appends are ordered by the statement lock; the sync state is
    // behind `monitor`.
    static let magic: [UInt8] = Array("KILNWAL\0".utf8)
    static let headerLength = 24
    static let recordHeader = 8

    enum RecordType: UInt8 {
        case createTable = 1, dropTable, createView, dropView, putRole, dropRole, insert, commit
        /// Table OID, count, then each deleted row's `RowID` (u64). An UPDATE is a delete
        /// record and an insert record of the new versions. (10 stays reserved.)
        case delete = 9
        /// Table OID, then its `TableConstraints` as they now are.
        case constraints = 11
        /// A sequence (`CatalogCoding.encode(sequence:)`); its name; its name, last value, called.
        case createSequence = 12, dropSequence = 13, sequenceValue = 14
    }

    let file: DurableFile
    private(set) var generation: UInt64
    private let monitor = Monitor()
    /// Committed records not yet written to the file, and where in the file they go. Commits
    /// append here; the sync that makes them durable writes them first, so that nothing writes
    /// to the file while an `fdatasync` runs (a write into a page under writeback waits for it,
    /// which would serialise the commits that group commit should gather).
    private var pending: [UInt8] = []
    private var pendingOffset: Int
    /// Bytes known to be on disk.
    private var synced: Int
    /// The log position of the file's offset 0: positions handed to commits keep growing across
    /// resets, so a commit that waits while a checkpoint empties the log finds its position
    /// passed (the checkpoint made it durable) instead of waiting for a position the new log
    /// may never reach.
    private var base = 0
    /// The file's length: the log is zero-filled ahead in `preallocation` steps, so that a
    /// commit's `fdatasync` writes the data only, not the file's new size (as PostgreSQL
    /// zero-fills its WAL segments), in 8 KiB writes (`DurableFile.writeZeros`). Reading stops
    /// at the zeros.
    private var allocated: Int
    static let preallocation = 4 << 20
    /// Pending bytes past which a commit writes them itself (a large insert's records).
    static let pendingLimit = 8 << 20
    private var syncing = false
    /// What the log did since the database opened (`pg_stat_wal`; syncs against commits show
    /// the group commit's effect).
    private var counters = WALStatistics()
    var statistics: WALStatistics { monitor.withLock { counters } }
    /// Commits whose sessions are answered once they are durable (`whenDurable`), and whether
    /// the thread that syncs for them runs, or must stop once they are answered.
    private var acknowledgements: [(position: Int, done: @Sendable (DatabaseError?) -> Void)] = []
    private var acknowledgerRunning = false
    private var stopping = false
    /// Set by a failed write or sync: the log takes nothing more until the database reopens.
    private var failureState: DatabaseError?
    var failure: DatabaseError? { monitor.withLock { failureState } }

    init(file: DurableFile, generation: UInt64, end: Int) {
        self.file = file
        self.generation = generation
        pendingOffset = end
        synced = end
        allocated = file.size
    }

    static func header(generation: UInt64) -> [UInt8] {
        var writer = BinaryWriter()
        writer.raw(magic)
        writer.u32(1)
        writer.u64(generation)
        writer.u32(crc32c(writer.bytes))
        return writer.bytes
    }

    /// The generation in a log's header, or nil when the header is missing or torn.
    static func readGeneration(_ file: DurableFile) -> UInt64? {
        guard file.size >= headerLength, let bytes = try? file.read(headerLength, at: 0),
              Array(bytes[0..<8]) == magic, crc32c(Array(bytes[0..<20])) == header(bytes, 20, UInt32.self) else { return nil }
        return header(bytes, 12, UInt64.self)
    }

    /// A little-endian integer at `offset` (the log's header and record headers).
    private static func header<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, _ type: T.Type) -> T {
        bytes[offset..<(offset + MemoryLayout<T>.size)].withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
    }

    /// Sets the log's end after recovery found where its valid records stop.
    func setEnd(_ end: Int) {
        monitor.withLock {
            pending = []
            pendingOffset = end
            synced = end
            allocated = file.size
        }
    }

    /// Empties the log and starts `generation` (after a checkpoint, or for a new database).
    /// The caller has flushed it, and holds the exclusive statement lock (no commits run).
    func reset(generation: UInt64) throws(DatabaseError) {
        try monitor.withLock { () throws(DatabaseError) in
            if let failureState { throw failureState }
            do throws(DatabaseError) {
                try file.truncate(to: 0)
                try file.write(WriteAheadLog.header(generation: generation), at: 0)
                try file.sync()
                allocated = file.size
            } catch {
                failureState = error
                throw error
            }
            self.generation = generation
            // The caller flushed first: every position handed out so far is durable.
            base += pendingOffset + pending.count
            pending = []
            pendingOffset = WriteAheadLog.headerLength
            synced = pendingOffset
            monitor.broadcast()
        }
    }

    /// The log's logical end (written or pending).
    var size: Int { monitor.withLock { pendingOffset + pending.count } }

    /// Frames one record.
    static func frame(_ type: RecordType, _ payload: [UInt8], into out: inout [UInt8]) {
        // The body is the type byte and the payload, checksummed without joining them.
        let checksum = payload.withUnsafeBytes { crc32c($0, continuing: crc32c([type.rawValue])) }
        var header = BinaryWriter()
        header.u32(UInt32(payload.count + 1))
        header.u32(checksum)
        out.append(contentsOf: header.bytes)
        out.append(type.rawValue)
        out.append(contentsOf: payload)
    }

    /// Appends a transaction's framed records (ending with its commit record); returns the
    /// log position (not a file offset) that must be on disk for the commit to be durable, and
    /// the log's size with them. Callers are serialised
    /// (the statement lock), so the log's order is the commit order.
    func append(_ bytes: [UInt8], records: Int) throws(DatabaseError) -> (position: Int, size: Int) {
        try monitor.withLock { () throws(DatabaseError) -> (position: Int, size: Int) in
            if let failureState { throw failureState }
            pending.append(contentsOf: bytes)
            counters.commits += 1
            counters.records += records
            counters.bytes += bytes.count
            let end = base + pendingOffset + pending.count
            if pending.count > WriteAheadLog.pendingLimit && !syncing {
                // Large: written now (a sync may not run meanwhile: this holds the lock).
                try writePending()
            }
            return (end, end - base)
        }
    }

    /// Writes the pending bytes to the file (with the lock held and no sync running).
    private func writePending() throws(DatabaseError) {
        guard !pending.isEmpty else { return }
        counters.writes += 1
        do throws(DatabaseError) {
            try write(pending, at: pendingOffset)
        } catch {
            failureState = error
            throw error
        }
        pendingOffset += pending.count
        pending = []
    }

    /// Writes bytes at `offset`, zero-filling the file ahead first when they pass its end.
    private func write(_ bytes: [UInt8], at offset: Int) throws(DatabaseError) {
        IOFaults.crashPoint("wal-before-write")
        let end = offset + bytes.count
        if end > allocated {
            let target = (end + WriteAheadLog.preallocation - 1) / WriteAheadLog.preallocation * WriteAheadLog.preallocation
            try file.writeZeros(allocated..<target)
            allocated = target
        }
        try file.write(bytes, at: offset)
    }

    /// Returns once the log is on disk up to `position`: the first waiter writes every pending
    /// commit and syncs once for all of them (group commit); the others wait for it. A failed
    /// write or sync fails this and every later commit.
    func waitDurable(_ position: Int) throws(DatabaseError) {
        try monitor.withLock { () throws(DatabaseError) in
            while true {
                if let failureState { throw failureState }
                if base + synced >= position { return }
                if syncing {
                    monitor.wait()
                    continue
                }
                syncing = true
                let bytes = pending, offset = pendingOffset
                pending = []
                pendingOffset += bytes.count
                let target = pendingOffset
                var outcome: DatabaseError?
                let started = ContinuousClock.now
                var written = started
                monitor.unlocked {
                    do throws(DatabaseError) {
                        if !bytes.isEmpty { try write(bytes, at: offset) }
                        written = ContinuousClock.now
                        IOFaults.crashPoint("wal-before-flush")
                        try file.sync()
                        IOFaults.crashPoint("wal-after-flush")
                    } catch {
                        outcome = error
                    }
                }
                syncing = false
                if !bytes.isEmpty {
                    counters.writes += 1
                    counters.writeNanoseconds += (written - started).nanoseconds
                }
                counters.syncs += 1
                counters.syncNanoseconds += (ContinuousClock.now - written).nanoseconds
                if let outcome { failureState = outcome } else { synced = max(synced, target) }
                monitor.broadcast()
            }
        }
    }

    /// Calls `done` once the log is on disk up to `position` (nil), or failed to get there; at
    /// once when it is already. Nobody waits meanwhile: the log's acknowledger thread syncs for
    /// every commit registered so far (group commit) and calls their `done`s, so that the
    /// threads that ran the statements go on with other sessions' work during the sync.
    /// - Parameter syncHere: the caller has nothing else to do (no other session is busy): when
    ///   no sync runs, it syncs itself and answers, which saves waking the acknowledger.
    func whenDurable(_ position: Int, syncHere: Bool, _ done: @escaping @Sendable (DatabaseError?) -> Void) {
        enum Next { case answer(DatabaseError?), registered, sync }
        let next: Next = monitor.withLock {
            if let failureState { return .answer(failureState) }
            if base + synced >= position { return .answer(nil) }
            if syncHere && !syncing && acknowledgements.isEmpty { return .sync }
            acknowledgements.append((position, done))
            if !acknowledgerRunning {
                acknowledgerRunning = DetachedThread.start { [self] in acknowledge() }
                if !acknowledgerRunning {
                    acknowledgements.removeLast()
                    return .sync
                }
            }
            monitor.broadcast()
            return .registered
        }
        switch next {
        case .answer(let outcome): done(outcome)
        case .registered: break
        case .sync:
            var failed: DatabaseError?
            do throws(DatabaseError) { try waitDurable(position) } catch { failed = error }
            done(failed)
            answerDurable(failed: failed)
        }
    }

    /// The acknowledger: syncs up to the furthest registered commit and answers, until `stop`
    /// and none are left.
    private func acknowledge() {
        while true {
            let target: Int? = monitor.withLock {
                while acknowledgements.isEmpty && !stopping { monitor.wait() }
                return acknowledgements.map(\.position).max()
            }
            guard let target else {
                monitor.withLock { acknowledgerRunning = false }
                return
            }
            var failed: DatabaseError?
            do throws(DatabaseError) { try waitDurable(target) } catch { failed = error }
            answerDurable(failed: failed)
        }
    }

    /// Answers the registered commits now durable (all of them, with the error, after a failure).
    private func answerDurable(failed: DatabaseError?) {
        let (ready, outcome) = monitor.withLock { () -> ([@Sendable (DatabaseError?) -> Void], DatabaseError?) in
            let durable = base + synced, outcome = failed ?? failureState
            var ready: [@Sendable (DatabaseError?) -> Void] = []
            acknowledgements.removeAll { entry in
                guard outcome != nil || entry.position <= durable else { return false }
                ready.append(entry.done)
                return true
            }
            return (ready, outcome)
        }
        for done in ready { done(outcome) }
    }

    /// Ends the acknowledger once the commits registered with it are answered.
    func stopAcknowledging() {
        monitor.withLock {
            stopping = true
            monitor.broadcast()
        }
    }

    /// Writes and syncs whatever was committed (the background flush of
    /// `synchronous_commit = off`, and a checkpoint's first step).
    func flush() throws(DatabaseError) { try waitDurable(monitor.withLock { base + pendingOffset + pending.count }) }

    /// The log's records after the header, as committed transactions (each a list of
    /// (type, payload, offset)). Stops at a torn tail, which it reports as the truncation point;
    /// a damaged record followed by valid ones is corruption.
    static func read(_ file: DurableFile) throws(DatabaseError) -> (transactions: [[(RecordType, [UInt8], Int)]], validEnd: Int) {
        let size = file.size
        guard size > headerLength else { return ([], headerLength) }
        let bytes = try file.read(size, at: 0)
        var transactions: [[(RecordType, [UInt8], Int)]] = []
        var current: [(RecordType, [UInt8], Int)] = []
        var offset = headerLength
        var validEnd = headerLength
        func recordAt(_ offset: Int) -> (RecordType?, [UInt8], Int)? {
            guard offset + recordHeader <= size else { return nil }
            let length = Int(header(bytes, offset, UInt32.self))
            let checksum = header(bytes, offset + 4, UInt32.self)
            guard length >= 1, offset + recordHeader + length <= size else { return nil }
            let body = Array(bytes[(offset + recordHeader)..<(offset + recordHeader + length)])
            guard crc32c(body) == checksum else { return nil }
            return (RecordType(rawValue: body[0]), Array(body[1...]), offset + recordHeader + length)
        }
        while offset < size {
            guard let (type, payload, next) = recordAt(offset) else {
                // Torn tail, or damage in the middle: a valid record further on tells them apart.
                if let later = laterValidRecord(after: offset, size: size, recordAt: { recordAt($0) != nil }) {
                    throw StorageError.corrupted(file: file.path, offset: offset, "WAL record checksum mismatch (a valid record follows at offset \(later))")
                }
                break
            }
            guard let type else {
                throw StorageError.corrupted(file: file.path, offset: offset, "unknown WAL record type")
            }
            current.append((type, payload, offset))
            offset = next
            if type == .commit {
                transactions.append(current)
                current = []
                validEnd = offset
            }
        }
        return (transactions, validEnd)
    }

    /// The offset of a valid record after a damaged one at `offset`, if any (every byte
    /// position up to 1 MiB on).
    private static func laterValidRecord(after offset: Int, size: Int, recordAt: (Int) -> Bool) -> Int? {
        var probe = offset + 1
        let limit = min(size, offset + (1 << 20))
        while probe < limit {
            if recordAt(probe) { return probe }
            probe += 1
        }
        return nil
    }
}

extension Monitor {
    /// Runs `body` with the lock released (call with the lock held).
    func unlocked(_ body: () -> Void) {
        unlock()
        body()
        lock()
    }
}

/// What a database's WAL did since it opened (`pg_stat_wal`).
public struct WALStatistics: Sendable {
    /// Transactions committed, records (their changes and commit records) and bytes appended.
    public var commits = 0
    public var records = 0
    public var bytes = 0
    /// `pwrite`s of the log and `fdatasync`s, and the time spent in each.
    public var writes = 0
    public var syncs = 0
    public var writeNanoseconds = 0
    public var syncNanoseconds = 0
}
