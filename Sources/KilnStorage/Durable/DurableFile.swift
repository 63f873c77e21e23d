#if canImport(Glibc)
import Glibc
#endif
import KilnCore
import Synchronization

/// The errors of the storage layer, in PostgreSQL's SQLSTATEs.
public enum StorageError {
    /// XX001 (`data_corrupted`): a checksum or a structure on disk is wrong.
    public static func corrupted(file: String, offset: Int, _ what: String) -> DatabaseError {
        DatabaseError(SQLState("XX001"), "corrupted data in file \"\(file)\" at offset \(offset): \(what)")
    }

    /// 58030 (`io_error`) from a failed system call, with errno's text.
    public static func io(_ operation: String, file: String, errno code: Int32) -> DatabaseError {
        DatabaseError(.ioError, "could not \(operation) file \"\(file)\": \(String(cString: strerror(code)))")
    }
}

/// The test seam of the I/O layer: fail the Nth write or fsync, or kill the process at a named
/// point. Set from the environment (`KILN_TEST_FAIL_WRITE=N`, `KILN_TEST_FAIL_FSYNC=N`,
/// `KILN_TEST_CRASH_AT=name[:k]`) or by tests in-process.
public enum IOFaults {
    private static let writes = Atomic<Int>(0)
    private static let syncs = Atomic<Int>(0)
    private static let failWriteAt = Atomic<Int>(Int(environment("KILN_TEST_FAIL_WRITE") ?? "") ?? 0)
    private static let failSyncAt = Atomic<Int>(Int(environment("KILN_TEST_FAIL_FSYNC") ?? "") ?? 0)
    private static let crashAt: (name: String, count: Int)? = {
        guard let text = environment("KILN_TEST_CRASH_AT") else { return nil }
        let parts = text.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()
    private static let crashReached = Atomic<Int>(0)

    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Fails the `n`th write (or fsync) from now on, counting from 1; 0 turns the fault off.
    public static func failWrite(_ n: Int) { writes.store(0, ordering: .relaxed); failWriteAt.store(n, ordering: .relaxed) }
    public static func failSync(_ n: Int) { syncs.store(0, ordering: .relaxed); failSyncAt.store(n, ordering: .relaxed) }

    static func writeFails() -> Bool {
        let target = failWriteAt.load(ordering: .relaxed)
        return target > 0 && writes.add(1, ordering: .relaxed).newValue == target
    }

    static func syncFails() -> Bool {
        let target = failSyncAt.load(ordering: .relaxed)
        return target > 0 && syncs.add(1, ordering: .relaxed).newValue == target
    }

    /// Kills the process (SIGKILL, as `kill -9` would) when the environment names this point.
    public static func crashPoint(_ name: String) {
        guard let crashAt, crashAt.name == name else { return }
        if crashReached.add(1, ordering: .relaxed).newValue == crashAt.count { kill(getpid(), SIGKILL) }
    }
}

/// A file written with `pwrite` and made durable with `fdatasync`; every call goes through the
/// fault seam.
public final class DurableFile: @unchecked Sendable {
    // `@unchecked Sendable`: a file descriptor; callers order their writes (the statement lock,
    // the log's own lock).
    public let path: String
    let descriptor: Int32

    /// Opens (and with `create`, creates) `path` for reading and writing.
    public init(path: String, create: Bool) throws(DatabaseError) {
        self.path = path
        descriptor = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        if descriptor < 0 { throw StorageError.io("open", file: path, errno: errno) }
    }

    deinit { close(descriptor) }

    public var size: Int {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
    }

    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws(DatabaseError) {
        if IOFaults.writeFails() { throw StorageError.io("write to", file: path, errno: EIO) }
        try writeAll(buffer, at: offset)
    }

    /// `pwrite` until every byte is written (no fault seam).
    private func writeAll(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws(DatabaseError) {
        var done = 0
        while done < buffer.count {
            let n = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.io("write to", file: path, errno: errno)
            }
            done += n
        }
    }

    /// Writes zeros over `range`, one `page` at a time (one write for the fault seam). Small
    /// writes keep the page cache's folios small: Linux caches one large write in large folios,
    /// and a later small write into one dirties all of it, so every `fdatasync` after it walks
    /// the whole folio (measured here: 8 KiB pieces make a log's 120-byte commit syncs about
    /// 10 µs (20%) faster than one 4 MiB write of the same zeros).
    func writeZeros(_ range: Range<Int>, page: Int = 8192) throws(DatabaseError) {
        if IOFaults.writeFails() { throw StorageError.io("write to", file: path, errno: EIO) }
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: page, alignment: 16)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = min(page - offset % page, range.upperBound - offset)
            try writeAll(UnsafeRawBufferPointer(rebasing: zeros[0..<count]), at: offset)
            offset += count
        }
    }

    public func write(_ bytes: [UInt8], at offset: Int) throws(DatabaseError) {
        try bytes.withBytes { buffer throws(DatabaseError) in try write(buffer, at: offset) }
    }

    /// Reads exactly `count` bytes at `offset` (a short file is a corruption error).
    public func read(_ count: Int, at offset: Int) throws(DatabaseError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.io("read", file: path, errno: errno)
            }
            if n == 0 { throw StorageError.corrupted(file: path, offset: offset + done, "the file ends early (\(size) bytes)") }
            done += n
        }
        return bytes
    }

    public func sync() throws(DatabaseError) {
        if IOFaults.syncFails() { throw StorageError.io("fsync", file: path, errno: EIO) }
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw StorageError.io("fsync", file: path, errno: errno)
        }
    }

    public func truncate(to length: Int) throws(DatabaseError) {
        while ftruncate(descriptor, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw StorageError.io("truncate", file: path, errno: errno)
        }
    }

    /// Maps `length` bytes at `offset` (a multiple of the page size) read-only and shared.
    /// - Parameter populate: the caller reads every page right away (a whole checksum): one call
    ///   maps them all instead of a fault per page. A scan that checks blocks as its morsels
    ///   reach them takes the faults on its workers instead.
    func map(offset: Int, length: Int, populate: Bool = true) throws(DatabaseError) -> FileMapping {
        let address = mmap(nil, max(1, length), PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), descriptor, off_t(offset))
        guard let address, address != MAP_FAILED else { throw StorageError.io("map", file: path, errno: errno) }
        return FileMapping(address: address, length: max(1, length))
    }
}

/// A read-only mapping of part of the data file; unmapped when the last column using it goes.
final class FileMapping: @unchecked Sendable {
    // `@unchecked Sendable`: the mapped bytes are never written through this mapping.
    let address: UnsafeMutableRawPointer
    let length: Int
    init(address: UnsafeMutableRawPointer, length: Int) {
        self.address = address
        self.length = length
    }
    deinit { munmap(address, length) }
}

/// Syncs a directory, so that a file created or renamed in it survives a crash.
func syncDirectory(_ path: String) throws(DatabaseError) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if descriptor < 0 { throw StorageError.io("open directory", file: path, errno: errno) }
    defer { close(descriptor) }
    if IOFaults.syncFails() { throw StorageError.io("fsync", file: path, errno: EIO) }
    if fsync(descriptor) != 0 { throw StorageError.io("fsync", file: path, errno: errno) }
}
