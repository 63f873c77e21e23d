import Crypto
import KilnCore
import KilnIR
import KilnStorage
import CKilnSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Compiled code that survives restarts: the object files of both tiers, kept in the
/// database directory (`code/`), so that a query shape compiled before runs native code from
/// its first morsel after a restart, without compiling.
///
/// A file's name is the SHA-256 of what the code was compiled from: the Kiln executable's
/// build ID (a rebuilt Kiln has other runtime functions and layouts), the SIMD setting and the
/// query's `kiln_mid` module text. Its header names the tier, LLVM's version and the target
/// (triple, CPU, features: `KILN_CPU=avx2` is another target), checked when it is loaded; a
/// CRC32C covers the whole file. A stale or damaged file is removed and compiled again. The
/// directory is bounded by `code_cache_size`: the least recently used files go first.
final class PersistentCodeCache: @unchecked Sendable {
    // `@unchecked Sendable`: the memo is behind a mutex; files are written by the compile
    // worker and read by it and by sessions (existence only).
    let directory: String
    /// Bytes the directory may hold (`SET code_cache_size`).
    let capacity = Atomic<Int>(PersistentCodeCache.defaultCapacity)
    static let defaultCapacity = 256 << 20
    static let magic: [UInt8] = Array("KILNCODE".utf8)
    /// What this process knows of a query shape: its file key and the tiers on disk.
    private let memo = Mutex<[IRFingerprint: (key: String, tiers: Set<Int>)]>([:])

    /// The running executable's build ID: nil when it has none (then nothing is cached).
    static let buildID: String? = {
        var bytes = [UInt8](repeating: 0, count: 64)
        let length = kiln_build_id(&bytes, bytes.count)
        return length == 0 ? nil : hex(bytes.prefix(length))
    }()

    /// Two lower-case hex digits per byte.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    init?(directory: String) {
        guard PersistentCodeCache.buildID != nil else { return nil }
        self.directory = directory
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { return nil }
    }

    /// The key of a query shape, and which tiers' files exist (remembered per fingerprint).
    func lookup(_ fingerprint: IRFingerprint, mid: IRModule, simd: Bool) -> (key: String, tiers: Set<Int>) {
        if let known = memo.withLock({ $0[fingerprint] }) { return known }
        var hasher = SHA256()
        hasher.update(data: Array((PersistentCodeCache.buildID ?? "").utf8))
        hasher.update(data: Array((simd ? "simd\n" : "scalar\n").utf8))
        hasher.update(data: Array(mid.text.utf8))
        let key = PersistentCodeCache.hex(hasher.finalize())
        let tiers = Set([CodeTier.fast, .optimized].filter { access(path(key, $0), F_OK) == 0 }.map(\.rawValue))
        memo.withLock { memo in
            if memo.count > 4096 { memo.removeAll() }
            memo[fingerprint] = (key, tiers)
        }
        return (key, tiers)
    }

    func path(_ key: String, _ tier: CodeTier) -> String { "\(directory)/\(key).\(tier).o" }

    /// A tier's object code and its functions' prefix, if the file is there, intact and made
    /// for this target; a file that is not is removed.
    func read(_ key: String, _ tier: CodeTier, target: String, pipelineCount: Int) -> (object: [UInt8], prefix: String)? {
        let path = self.path(key, tier)
        guard let file = try? DurableFile(path: path, create: false) else { return nil }
        let size = file.size
        guard size > 12, let bytes = try? file.read(size, at: 0) else { return discard(path) }
        let body = Array(bytes[0..<(size - 4)])
        let stored = bytes[(size - 4)...].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        guard Array(bytes[0..<8]) == PersistentCodeCache.magic, crc32c(body) == stored else { return discard(path) }
        let decoded: (String, String, Int, Int, [UInt8])? = try? body.withBytes { buffer throws(DatabaseError) in
            var reader = BinaryReader(buffer, file: path, offset: 0)
            _ = try reader.bytes(8)
            let storedTarget = try reader.string()
            let prefix = try reader.string()
            let storedTier = try reader.int()
            let pipelines = try reader.int()
            let length = try reader.int()
            return (storedTarget, prefix, storedTier, pipelines, Array(try reader.bytes(length)))
        }
        guard let (storedTarget, prefix, storedTier, pipelines, object) = decoded, storedTarget == target, storedTier == tier.rawValue,
              pipelines == pipelineCount else { return discard(path) }
        // Recently used: the size bound evicts by modification time.
        utimes(path, nil)
        return (object, prefix)
    }

    private func discard(_ path: String) -> (object: [UInt8], prefix: String)? {
        unlink(path)
        memo.withLock { $0.removeAll() }
        return nil
    }

    /// Keeps a tier's object code (written to a temporary name, then renamed: a reader never
    /// sees half a file), then trims the directory to its capacity.
    func write(_ key: String, _ tier: CodeTier, fingerprint: IRFingerprint, target: String, pipelineCount: Int, object: [UInt8], prefix: String) {
        var writer = BinaryWriter(capacity: object.count + 256)
        writer.raw(PersistentCodeCache.magic)
        writer.string(target)
        writer.string(prefix)
        writer.int(tier.rawValue)
        writer.int(pipelineCount)
        writer.int(object.count)
        writer.raw(object)
        writer.u32(crc32c(writer.bytes))
        let path = self.path(key, tier), temporary = path + ".tmp\(getpid())"
        guard let file = try? DurableFile(path: temporary, create: true), (try? file.write(writer.bytes, at: 0)) != nil,
              rename(temporary, path) == 0 else {
            unlink(temporary)
            return
        }
        memo.withLock { memo in _ = memo[fingerprint]?.tiers.insert(tier.rawValue) }
        trim()
    }

    /// Removes the least recently used files while the directory holds more than its capacity.
    private func trim() {
        guard let handle = opendir(directory) else { return }
        var files: [(path: String, size: Int, time: Int)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".o") else { continue }
            var status = stat()
            let path = directory + "/" + name
            if stat(path, &status) == 0 { files.append((path, Int(status.st_size), Int(status.st_mtim.tv_sec))) }
        }
        closedir(handle)
        var total = files.reduce(0) { $0 + $1.size }
        let limit = capacity.load(ordering: .relaxed)
        guard total > limit else { return }
        for file in files.sorted(by: { $0.time < $1.time }) where total > limit {
            unlink(file.path)
            total -= file.size
        }
        memo.withLock { $0.removeAll() }
    }
}
