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
    private let cache = Mutex<[String: CompiledQuery]>([:])

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
        if let hit = cache.withLock({ $0[key] }) { return (hit, false) }
        let code = try withCompiler(make)
        cache.withLock { $0[key] = code }
        return (code, true)
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
