#if canImport(Glibc)
import Glibc
#endif
import KilnCore
import Synchronization

/// A change a statement made, as the WAL records it (logical redo).
public enum LoggedChange {
    case createTable(Table)
    case dropTable(String)
    case createView(View)
    case dropView(String)
    /// A role created or altered (the role as it now is).
    case putRole(Role)
    case dropRole(String)
    /// Rows `rows` of the table were appended.
    case insert(Table, rows: Range<Int>)
    /// Rows of the table were deleted (an UPDATE deletes the old version and inserts the new).
    case delete(Table, rows: [RowID])
    /// The table's constraints are now `constraints` (CREATE TABLE with any, ALTER TABLE,
    /// CREATE / DROP INDEX).
    case constraints(Table, TableConstraints)
    case createSequence(SQLSequence)
    case dropSequence(String)
    /// A sequence's state: a value reserved ahead by `nextval`, or `setval`'s.
    case sequenceValue(SQLSequence, last: Int64, called: Bool)
}

/// A database directory: the lock, the data file (checkpoints) and the WAL (commits since).
///
/// Every session over one directory shares one store. Statements that change the database log
/// their changes at commit (`log`, under the exclusive statement lock) and then wait for the log
/// to be on disk (`waitDurable`, outside it, so that one `fdatasync` covers the commits of
/// several sessions). Checkpoints (`checkpoint`) run under the exclusive statement lock.
public final class DurableStore: @unchecked Sendable {
    // `@unchecked Sendable`: the catalog-changing paths (log, checkpoint) run under the
    // database's exclusive statement lock; the WAL's sync state has its own lock.
    public let path: String
    let catalog: Catalog
    let dataFile: DataFile
    let wal: WriteAheadLog
    private let lockDescriptor: Int32
    /// Extents the durable checkpoint uses (never written until a later checkpoint drops them).
    private var live: [Range<Int>] = []
    private var commitSequence: UInt64 = 0
    private let sequenceLog = Monitor()
    /// The WAL size that triggers a checkpoint (`max_wal_size`).
    public let maxWALSize = Atomic<Int>(DurableStore.defaultMaxWALSize)
    public static let defaultMaxWALSize = 64 << 20
    private let flusherRunning = Atomic<Bool>(false)
    /// Open sessions over this store; the last one to go closes it.
    private let sessions = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    /// The first failed write or sync of the WAL or the data file: from then on the store takes
    /// no more writes (after a failed fsync the kernel may have dropped the dirty pages, so
    /// nothing written since can be trusted until recovery reads the files again).
    private let failureState = Mutex<DatabaseError?>(nil)
    /// Whether `failureState` was ever set (read without its lock on every commit).
    private let failed = Atomic<Bool>(false)
    public var failure: DatabaseError? {
        (failed.load(ordering: .acquiring) ? failureState.withLock { $0 } : nil) ?? wal.failure
    }

    /// Stops writes as a failed write would (the memory no longer matches what the files and
    /// the WAL would recover; reopening recovers the files' state).
    public func stopWrites(_ error: DatabaseError) {
        failureState.withLock { $0 = $0 ?? error }
        failed.store(true, ordering: .releasing)
    }
    /// What the last checkpoint wrote: column extents and their bytes (unchanged row groups are
    /// not written again).
    public private(set) var lastCheckpoint: (columns: Int, bytes: Int) = (0, 0)
    /// What recovery did: transactions replayed, bytes of torn tail dropped.
    public private(set) var recovery: (transactions: Int, truncatedBytes: Int) = (0, 0)

    static let dataFileName = "data.kiln"
    static let walFileName = "kiln.wal"
    static let lockFileName = "kiln.lock"

    /// Opens (creating on first use) the database directory at `path` into `catalog`, and
    /// replays the WAL. `parseView` turns a stored view's SQL text into the catalog's view.
    public init(path: String, catalog: Catalog, parseView: (StoredView) throws(DatabaseError) -> View) throws(DatabaseError) {
        self.path = path
        self.catalog = catalog
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw StorageError.io("create directory", file: path, errno: errno) }
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw DatabaseError(.ioError, "\"\(path)\" is not a directory")
        }
        lockDescriptor = try DurableStore.lock(path)
        do {
            dataFile = try DataFile(path: path + "/" + DurableStore.dataFileName)
            let walFile = try DurableFile(path: path + "/" + DurableStore.walFileName, create: true)
            // The files' directory entries survive a power loss from here on.
            try syncDirectory(path)
            wal = WriteAheadLog(file: walFile, generation: dataFile.superblock.walGeneration, end: max(walFile.size, WriteAheadLog.headerLength))
            try restoreCheckpoint(parseView: parseView)
            try recover(parseView: parseView)
        } catch {
            Glibc.close(lockDescriptor)
            throw error
        }
    }

    deinit {
        if !closed.load(ordering: .relaxed) { Glibc.close(lockDescriptor) }
    }

    /// Takes the directory's lock file (one process at a time), recording the holder's pid.
    private static func lock(_ path: String) throws(DatabaseError) -> Int32 {
        let file = path + "/" + lockFileName
        let descriptor = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw StorageError.io("open", file: file, errno: errno) }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            var holder = [UInt8](repeating: 0, count: 32)
            let n = pread(descriptor, &holder, 31, 0)
            Glibc.close(descriptor)
            if code == EWOULDBLOCK {
                let pid = n > 0 ? String(decoding: holder[0..<n], as: UTF8.self).trimmed : "?"
                throw DatabaseError(SQLState("55006"), "database directory \"\(path)\" is in use by another process (pid \(pid))",
                                    hint: "Only one process may open a database directory; connect to it through that process's server instead.")
            }
            throw StorageError.io("lock", file: file, errno: code)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        return descriptor
    }

    // MARK: - Opening

    private func restoreCheckpoint(parseView: (StoredView) throws(DatabaseError) -> View) throws(DatabaseError) {
        var used: [Range<Int>] = []
        if let metadata = try dataFile.readMetadata() {
            let superblock = dataFile.superblock
            used.append(superblock.metadataOffset..<(superblock.metadataOffset + (superblock.metadataLength + DataFile.pageSize - 1) / DataFile.pageSize * DataFile.pageSize))
            try metadata.withBytes { bytes throws(DatabaseError) in
                var reader = BinaryReader(bytes, file: dataFile.file.path, offset: superblock.metadataOffset)
                commitSequence = try reader.u64()
                catalog.advanceOIDs(past: try reader.i32() - 1)
                for _ in 0..<Int(try reader.u32()) {
                    let (oid, table) = try CatalogCoding.decodeTable(&reader)
                    if superblock.version >= 3 { table.setConstraints(try TableConstraints.decode(&reader, columns: table.columns.count)) }
                    let types = table.columns.map(\.type)
                    for _ in 0..<Int(try reader.u32()) {
                        let rows = try reader.int()
                        var extents: [ColumnExtent] = []
                        for _ in types {
                            let extent = try CatalogCoding.decodeExtent(&reader, version: superblock.version)
                            guard extent.rows == rows, extent.offset >= DataFile.firstExtent, extent.offset % DataFile.pageSize == 0 else {
                                throw StorageError.corrupted(file: dataFile.file.path, offset: superblock.metadataOffset, "a column extent of table \"\(table.name)\" is malformed")
                            }
                            extents.append(extent)
                            used.append(extent.offset..<(extent.offset + extent.pages))
                        }
                        let segment = Segment(types: types, extents: extents, rows: rows, file: dataFile.file)
                        if superblock.version >= 2 {
                            var deleted: [Int] = []
                            for _ in 0..<Int(try reader.u32()) {
                                let row = Int(try reader.u32())
                                guard row < rows else {
                                    throw StorageError.corrupted(file: dataFile.file.path, offset: superblock.metadataOffset, "a deleted row of table \"\(table.name)\" is past its row group")
                                }
                                deleted.append(row)
                            }
                            segment.restoreDeletes(deleted)
                        }
                        table.restore(segment)
                    }
                    if let statistics = try CatalogCoding.decodeStatistics(&reader, table: table) { table.setStatistics(statistics) }
                    catalog.restore(table, oid: oid)
                }
                for _ in 0..<Int(try reader.u32()) { catalog.restore(try parseView(try CatalogCoding.decodeView(&reader))) }
                for _ in 0..<Int(try reader.u32()) { catalog.restore(try CatalogCoding.decodeRole(&reader)) }
                if superblock.version >= 3 {
                    for _ in 0..<Int(try reader.u32()) { catalog.restore(try CatalogCoding.decodeSequence(&reader)) }
                }
            }
        }
        live = used
        dataFile.setUsed(used)
    }

    /// Replays the WAL's committed transactions; drops a torn tail.
    private func recover(parseView: (StoredView) throws(DatabaseError) -> View) throws(DatabaseError) {
        let expected = dataFile.superblock.walGeneration
        guard WriteAheadLog.readGeneration(wal.file) == expected else {
            // A log from before the last checkpoint (already in the data file), or none yet.
            try wal.reset(generation: expected)
            return
        }
        let (transactions, validEnd) = try WriteAheadLog.read(wal.file)
        var touched = Set<Int32>()
        for (index, records) in transactions.enumerated() {
            for (type, payload, offset) in records {
                if let table = try replay(type, payload, offset: offset, parseView: parseView) { touched.insert(table) }
            }
            if index == 0 { IOFaults.crashPoint("recovery-mid") }
        }
        let size = wal.file.size
        if validEnd < size {
            // A torn tail (or the zero-filled space ahead) goes; appends continue at the end.
            try wal.file.truncate(to: validEnd)
            try wal.file.sync()
        }
        wal.setEnd(validEnd)
        recovery = (transactions.count, size - validEnd)
        // Replayed inserts change row counts: the planner's statistics follow. A table with row
        // groups in the data file keeps its checkpoint's statistics with the new row count
        // (sampling it again would read all of it at open); one wholly from the WAL is sampled.
        for oid in touched {
            guard let table = catalog.table(oid: oid) else { continue }
            if var statistics = table.statistics, table.segments.contains(where: { $0.isPersisted }) {
                statistics.rows = table.rowCount
                table.setStatistics(statistics)
            } else {
                try table.analyze()
            }
        }
        if wal.size > maxWALSize.load(ordering: .relaxed) { try checkpoint() }
    }

    /// Applies one record; returns the OID of the table an insert record added rows to.
    private func replay(_ type: WriteAheadLog.RecordType, _ payload: [UInt8], offset: Int,
                        parseView: (StoredView) throws(DatabaseError) -> View) throws(DatabaseError) -> Int32? {
        let file = wal.file.path
        return try payload.withBytes { bytes throws(DatabaseError) -> Int32? in
            var reader = BinaryReader(bytes, file: file, offset: offset + WriteAheadLog.recordHeader + 1)
            switch type {
            case .createTable:
                let (oid, table) = try CatalogCoding.decodeTable(&reader)
                catalog.restore(table, oid: oid)
            case .dropTable: catalog.remove(table: try reader.string())
            case .createView: catalog.restore(try parseView(try CatalogCoding.decodeView(&reader)))
            case .dropView: catalog.remove(view: try reader.string())
            case .putRole: catalog.restore(try CatalogCoding.decodeRole(&reader))
            case .createSequence: catalog.restore(try CatalogCoding.decodeSequence(&reader))
            case .dropSequence:
                if let sequence = catalog.sequence(try reader.string()) { catalog.remove(sequence: sequence) }
            case .sequenceValue:
                let name = try reader.string()
                let last = Int64(bitPattern: try reader.u64())
                let called = try reader.bool()
                // A value reserved before the sequence's creating transaction committed is in
                // its create record (logged at that commit, later in the log).
                catalog.sequence(name)?.restore(last: last, called: called)
            case .dropRole: catalog.remove(role: try reader.string())
            case .insert:
                let oid = try reader.i32()
                let rows = try reader.int()
                let columnCount = Int(try reader.u32())
                guard let table = catalog.table(oid: oid) else {
                    throw StorageError.corrupted(file: file, offset: offset, "an insert record names table OID \(oid), which does not exist")
                }
                var columns: [UnsafeRawBufferPointer] = []
                for _ in 0..<columnCount { columns.append(try reader.bytes(try reader.int())) }
                try table.appendEncoded(columns, rows: rows, origin: (file, offset))
                return oid
            case .constraints:
                let oid = try reader.i32()
                guard let table = catalog.table(oid: oid) else {
                    throw StorageError.corrupted(file: file, offset: offset, "a constraints record names table OID \(oid), which does not exist")
                }
                table.setConstraints(try TableConstraints.decode(&reader, columns: table.columns.count))
            case .delete:
                let oid = try reader.i32()
                let count = Int(try reader.u32())
                guard let table = catalog.table(oid: oid) else {
                    throw StorageError.corrupted(file: file, offset: offset, "a delete record names table OID \(oid), which does not exist")
                }
                for _ in 0..<count {
                    let row = RowID(Int64(bitPattern: try reader.u64()))
                    guard table.locate(row) != nil else {
                        throw StorageError.corrupted(file: file, offset: offset, "a delete record names row \(row.segment):\(row.row) of table \"\(table.name)\", which it does not have")
                    }
                    table.setMarker(row, VersionMarker.recovered)
                }
            case .commit:
                commitSequence = max(commitSequence, try reader.u64())
            }
            return nil
        }
    }

    // MARK: - Commits

    /// Writes a statement's changes to the WAL as one transaction; returns the log position to
    /// wait for. The caller holds the exclusive statement lock. A large insert commits by
    /// checkpoint instead (its rows are written once, to the data file); then 0 is returned.
    /// - Parameter committing: the transaction whose commit this is (its own catalog changes do
    ///   not hold back a checkpoint).
    /// Logs a sequence's state from a statement that may hold the statement lock only shared
    /// (a SELECT calling nextval): such calls are serialised here, and no `log` from a writer
    /// (which holds it exclusively) runs at the same time.
    /// Returns the log position to wait for before the value is given out.
    public func logSequence(_ change: LoggedChange) throws(DatabaseError) -> Int {
        try sequenceLog.withLock { () throws(DatabaseError) in try log([change]) }
    }

    public func log(_ changes: [LoggedChange], committing: UInt64? = nil) throws(DatabaseError) -> Int {
        let mayCheckpoint = !catalog.transactions.catalogChangesPending(besides: committing)
        if changes.isEmpty { return 0 }
        if closed.load(ordering: .relaxed) { throw DurableStore.closedError }
        if let failure { throw writesStopped(failure) }
        let insertedBytes = changes.reduce(0) { total, change in
            guard case .insert(let table, let rows) = change else { return total }
            return total + rows.count * table.columns.reduce(0) { $0 + $1.type.physical.byteWidth }
        }
        if insertedBytes > maxWALSize.load(ordering: .relaxed) / 2, mayCheckpoint {
            try checkpoint(committing: committing)
            return 0
        }
        var bytes: [UInt8] = []
        for change in changes { DurableStore.encode(change, into: &bytes) }
        commitSequence += 1
        var commit = BinaryWriter()
        commit.u64(commitSequence)
        WriteAheadLog.frame(.commit, commit.bytes, into: &bytes)
        let (position, size) = try wal.append(bytes, records: changes.count + 1)
        if size > maxWALSize.load(ordering: .relaxed), mayCheckpoint {
            try checkpoint(committing: committing)
            return 0
        }
        return position
    }

    /// Returns once the log is durable up to `position` (`synchronous_commit = on`); with
    /// `synchronous` false it returns at once and a background flush syncs within 200 ms.
    public func waitDurable(_ position: Int, synchronous: Bool) throws(DatabaseError) {
        guard position > 0 else { return }
        if synchronous {
            do { try wal.waitDurable(position) } catch { throw writesStopped(error) }
        } else {
            startFlusher()
        }
    }

    /// Calls `done` once the log is durable up to `position` (nil) or cannot get there (the
    /// error `waitDurable` would throw), without waiting: `WriteAheadLog.whenDurable`.
    public func whenDurable(_ position: Int, syncHere: Bool, _ done: @escaping @Sendable (DatabaseError?) -> Void) {
        guard position > 0 else { return done(nil) }
        wal.whenDurable(position, syncHere: syncHere) { [self] error in done(error.map(writesStopped)) }
    }

    private func writesStopped(_ error: DatabaseError) -> DatabaseError {
        var stopped = error
        stopped.detail = "The database stops taking writes after a failed write or sync of its files; changes not yet durable may be lost."
        stopped.hint = "Close and reopen the database to recover from its last durable state."
        return stopped
    }

    /// The background flush for `synchronous_commit = off` (PostgreSQL's WAL writer).
    private func startFlusher() {
        guard !flusherRunning.exchange(true, ordering: .relaxed) else { return }
        let started = DetachedThread.start { [self] in
            while !closed.load(ordering: .relaxed) {
                usleep(200_000)
                try? wal.flush()
            }
            flusherRunning.store(false, ordering: .relaxed)
        }
        if !started { flusherRunning.store(false, ordering: .relaxed) }
    }

    static func encode(_ change: LoggedChange, into bytes: inout [UInt8]) {
        var writer = BinaryWriter()
        let type: WriteAheadLog.RecordType
        switch change {
        case .createTable(let table):
            type = .createTable
            CatalogCoding.encode(table: table, into: &writer)
        case .dropTable(let name):
            type = .dropTable
            writer.string(name)
        case .createView(let view):
            type = .createView
            CatalogCoding.encode(view: view, into: &writer)
        case .dropView(let name):
            type = .dropView
            writer.string(name)
        case .putRole(let role):
            type = .putRole
            CatalogCoding.encode(role: role, into: &writer)
        case .dropRole(let name):
            type = .dropRole
            writer.string(name)
        case .insert(let table, let rows):
            return encodeInsert(table, rows: rows, into: &bytes)
        case .createSequence(let sequence):
            type = .createSequence
            let state = sequence.durableState()
            CatalogCoding.encode(sequence: sequence, last: state.last, called: state.called, into: &writer)
        case .dropSequence(let name):
            type = .dropSequence
            writer.string(name)
        case .sequenceValue(let sequence, let last, let called):
            type = .sequenceValue
            writer.string(sequence.name)
            writer.u64(UInt64(bitPattern: last))
            writer.bool(called)
        case .constraints(let table, let constraints):
            type = .constraints
            writer.i32(table.oid)
            constraints.encode(into: &writer)
        case .delete(let table, let rows):
            type = .delete
            writer.i32(table.oid)
            writer.u32(UInt32(rows.count))
            for row in rows { writer.u64(UInt64(row.value)) }
        }
        WriteAheadLog.frame(type, writer.bytes, into: &bytes)
    }

    /// One insert record per row group the rows lie in, so a record stays below a row group.
    private static func encodeInsert(_ table: Table, rows: Range<Int>, into bytes: inout [UInt8]) {
        var start = 0
        for segment in table.segments {
            let first = start
            start += segment.count
            let lower = max(rows.lowerBound, first), upper = min(rows.upperBound, start)
            guard lower < upper else { continue }
            let local = (lower - first)..<(upper - first)
            var record = BinaryWriter()
            record.i32(table.oid)
            record.int(local.count)
            record.u32(UInt32(table.columns.count))
            for column in segment.columns {
                var data = BinaryWriter()
                _ = ColumnCodec.encode(column, rows: local, into: &data)
                record.int(data.bytes.count)
                record.raw(data.bytes)
            }
            WriteAheadLog.frame(.insert, record.bytes, into: &bytes)
        }
    }

    // MARK: - Checkpoints

    /// Writes every changed row group and the catalog to the data file, flips the superblock,
    /// and empties the WAL. The caller holds the exclusive statement lock.
    public func checkpoint(committing: UInt64? = nil) throws(DatabaseError) {
        if closed.load(ordering: .relaxed) { throw DurableStore.closedError }
        if catalog.transactions.catalogChangesPending(besides: committing) {
            throw DatabaseError(SQLState("55000"), "cannot checkpoint while a transaction with uncommitted schema changes is running",
                                hint: "Commit or roll back the transactions that created or dropped tables or views, then checkpoint.")
        }
        if let failure { throw writesStopped(failure) }
        do { try wal.flush() } catch { throw writesStopped(error) }
        do { try writeCheckpoint() } catch {
            if error.sqlState == .ioError { stopWrites(error) }
            throw error.sqlState == .ioError ? writesStopped(error) : error
        }
    }

    private func writeCheckpoint() throws(DatabaseError) {
        let saved = dataFile.allocation
        var used: [Range<Int>] = []
        var written: [(ColumnSegment, ColumnExtent)] = []
        var cleaned: [Segment] = []
        let next: DataFile.Superblock
        do {
            var metadata = BinaryWriter()
            metadata.u64(commitSequence)
            metadata.i32(catalog.nextOIDValue)
            let tables = catalog.allTables
            metadata.u32(UInt32(tables.count))
            for table in tables {
                CatalogCoding.encode(table: table, into: &metadata)
                table.constraints.encode(into: &metadata)
                let segments = table.segments.filter { $0.count > 0 }
                metadata.u32(UInt32(segments.count))
                for segment in segments {
                    metadata.int(segment.count)
                    let persisted = segment.isPersisted
                    for column in segment.columns {
                        var extent: ColumnExtent
                        if persisted, let kept = column.extent {
                            extent = kept
                        } else {
                            try column.load()
                            var data = BinaryWriter(capacity: segment.count * column.width + segment.count / 8 + 64)
                            let encoded = ColumnCodec.encode(column, rows: 0..<segment.count, into: &data)
                            let range = try dataFile.writeExtent(data.bytes)
                            extent = ColumnExtent(offset: range.lowerBound, length: data.bytes.count, checksum: 0, rows: segment.count,
                                                  nullCount: encoded.nullCount, codec: 0, validityOffset: encoded.validityOffset,
                                                  longStrings: encoded.longStrings, minimum: encoded.minimum, maximum: encoded.maximum,
                                                  blockChecksums: data.bytes.withUnsafeBytes(ColumnExtent.blockChecksums))
                            written.append((column, extent))
                            if written.count == 1 { IOFaults.crashPoint("checkpoint-mid") }
                        }
                        used.append(extent.offset..<(extent.offset + extent.pages))
                        CatalogCoding.encode(extent, into: &metadata)
                    }
                    // Committed deletes (a running transaction's are not durable yet).
                    var deleted: [UInt32] = []
                    if let deletes = segment.deletes, deletes.committed > 0 {
                        for row in 0..<segment.count {
                            let marker = deletes.markers[row]
                            if marker != 0 && marker & VersionMarker.transactionBit == 0 { deleted.append(UInt32(row)) }
                        }
                    }
                    metadata.u32(UInt32(deleted.count))
                    for row in deleted { metadata.u32(row) }
                    cleaned.append(segment)
                }
                CatalogCoding.encode(table.statistics, table: table, into: &metadata)
            }
            let views = catalog.allViews
            metadata.u32(UInt32(views.count))
            for view in views { CatalogCoding.encode(view: view, into: &metadata) }
            let roles = catalog.allRoles
            metadata.u32(UInt32(roles.count))
            for role in roles { CatalogCoding.encode(role: role, into: &metadata) }
            let sequences = catalog.allSequences
            metadata.u32(UInt32(sequences.count))
            for sequence in sequences {
                let state = sequence.durableState()
                CatalogCoding.encode(sequence: sequence, last: state.last, called: state.called, into: &metadata)
            }
            let metadataRange = try dataFile.writeExtent(metadata.bytes)
            let metadataChecksum = crc32c(metadata.bytes)
            used.append(metadataRange)
            next = DataFile.Superblock(sequence: dataFile.superblock.sequence + 1, metadataOffset: metadataRange.lowerBound,
                                       metadataLength: metadata.bytes.count, metadataChecksum: metadataChecksum,
                                       walGeneration: wal.generation + 1, fileLength: dataFile.fileEnd)
            try dataFile.commit(next)
        } catch {
            dataFile.allocation = saved
            throw error
        }
        for (column, extent) in written { column.extent = extent }
        for segment in cleaned { segment.deletesDirty = false }
        lastCheckpoint = (written.count, written.reduce(0) { $0 + $1.1.length })
        let kept = Set(used.map(\.lowerBound))
        dataFile.release(live.filter { !kept.contains($0.lowerBound) })
        live = used
        try wal.reset(generation: next.walGeneration)
    }

    /// Releases the directory as a crash would: no checkpoint, the WAL stays to be replayed (tests).
    public func releaseAsIfCrashed() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        Glibc.close(lockDescriptor)
    }

    /// Commits written to the WAL since the database opened, the syncs that made them durable
    /// (fewer than the commits when group commit gathered several), and the syncs' total time.
    public var walStatistics: WALStatistics { wal.statistics }

    /// Counts a session that uses this store.
    public func attach() { sessions.add(1, ordering: .relaxed) }

    /// Uncounts a session; true when it was the last (the caller then closes the store).
    public func detach() -> Bool { sessions.subtract(1, ordering: .relaxed).newValue == 0 }

    static let closedError = DatabaseError(SQLState("08003"), "the database directory is closed",
                                           hint: "The process is shutting down, or the database was closed; open it again.")

    /// Checkpoints (a clean shutdown leaves an empty WAL) and releases the directory.
    public func close() throws(DatabaseError) {
        guard !closed.load(ordering: .relaxed) else { return }
        defer {
            wal.stopAcknowledging()
            closed.store(true, ordering: .relaxed)
            Glibc.close(lockDescriptor)
        }
        if failure == nil { try checkpoint() }
    }
}
