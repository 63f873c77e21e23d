import KilnCore
import KilnIR
import KilnJIT
import KilnMLIR
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide compilation: one MLIR context with Kiln's dialects (MLIR contexts are not
/// thread-safe, so its use is serialised) and the code cache shared by every `Database`.
///
/// Cached native code is keyed by the low-level IR text plus the runtime function table, in
/// which every literal is a parameter slot: `WHERE x > 5` and `WHERE x > 7` share one binary.
///
/// `@unchecked Sendable`: the non-Sendable compiler is only touched under `compilerLock`;
/// the cache is a `Mutex`; cached code is immutable.
final class CompilationService: @unchecked Sendable {
    static let shared: Result<CompilationService, MLIRError> = {
        do { return .success(try CompilationService()) } catch let error as MLIRError { return .failure(error) } catch {
            return .failure(MLIRError("\(error)"))
        }
    }()

    private let compiler: NativeCompiler
    private let compilerLock = PThreadLock()
    private let cache = Mutex(CodeCache<CompiledQuery>(capacity: 256))

    private init() throws {
        compiler = try NativeCompiler()
    }

    /// Runs `body` with exclusive use of the MLIR context.
    func withCompiler<R>(_ body: (NativeCompiler) throws -> R) throws -> R {
        compilerLock.lock()
        defer { compilerLock.unlock() }
        return try body(compiler)
    }

    /// The cached native code for `key`, or compiles it.
    /// - Returns: the code and whether this call compiled it.
    func compiled(key: String, _ make: (NativeCompiler) throws -> CompiledQuery) throws -> (CompiledQuery, Bool) {
        if let hit = cache.withLock({ $0.lookup(key) }) { return (hit, false) }
        let code = try withCompiler(make)
        cache.withLock { $0.insert(key, code) }
        return (code, true)
    }

    /// Hits, misses and evictions so far, and the entries held (for tests and EXPLAIN).
    var cacheStatistics: CodeCacheStatistics { cache.withLock { $0.statistics } }

    /// Sets how many compiled queries the cache keeps (the least recently used go first).
    func setCacheCapacity(_ capacity: Int) { cache.withLock { $0.resize(capacity) } }
}

/// Compiled queries by their low-level IR, the least recently used evicted beyond `capacity`
/// (each holds JIT-compiled machine code and its MLIR execution engine). Plans still running
/// an evicted entry keep it alive until they finish.
struct CodeCache<Code> {
    private var entries: [String: (code: Code, lastUse: Int)] = [:]
    private var clock = 0
    private(set) var capacity: Int
    private(set) var statistics = CodeCacheStatistics()

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func lookup(_ key: String) -> Code? {
        clock += 1
        guard let entry = entries[key] else {
            statistics.misses += 1
            return nil
        }
        entries[key] = (entry.code, clock)
        statistics.hits += 1
        return entry.code
    }

    mutating func insert(_ key: String, _ code: Code) {
        clock += 1
        entries[key] = (code, clock)
        evict()
    }

    mutating func resize(_ newCapacity: Int) {
        capacity = max(1, newCapacity)
        evict()
    }

    private mutating func evict() {
        while entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            entries[oldest] = nil
            statistics.evictions += 1
        }
        statistics.entries = entries.count
    }
}

/// A plain mutual-exclusion lock (for state that `Mutex` cannot hold: non-Sendable objects).
final class PThreadLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

/// What the code cache did so far.
struct CodeCacheStatistics: Equatable {
    var hits = 0
    var misses = 0
    var evictions = 0
    var entries = 0
}
