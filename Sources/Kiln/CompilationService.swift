import KilnCore
import KilnIR
import KilnCompiler
import KilnJIT
import KilnMLIR
import KilnRuntime
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide compilation: one MLIR context with Kiln's dialects (MLIR contexts are not
/// thread-safe, so its use is serialised), the code cache shared by every `Database`, and the
/// compile worker that fills it in the background.
///
/// Queries are cached by the fingerprint of their `kiln_mid` module, in which every literal is
/// a parameter slot: `WHERE x > 5` and `WHERE x > 7` share one binary. A cache entry
/// (`CodeEntry`) exists from the moment a query asks for code; the worker thread compiles its
/// tiers (fast-tier jobs before optimised ones) and publishes each as it is done, while the
/// query runs in the interpreter and switches at the next morsel boundary.
///
/// `@unchecked Sendable`: the non-Sendable compiler is only touched under `compilerLock`; the
/// cache and the queues under `monitor`; entries guard themselves.
final class CompilationService: @unchecked Sendable {
    static let shared: Result<CompilationService, MLIRError> = {
        do { return .success(try CompilationService()) } catch let error as MLIRError { return .failure(error) } catch {
            return .failure(MLIRError("\(error)"))
        }
    }()

    private let compiler: NativeCompiler
    private let compilerLock = Monitor()
    /// Guards the cache and the job queues; the worker sleeps on it.
    private let monitor = Monitor()
    private var cache = CodeCache<IRFingerprint, CodeEntry>(capacity: 256, byteCapacity: 256 << 20)
    private var fastJobs: [CompileJob] = []
    private var optimizedJobs: [CompileJob] = []
    private var workerStarted = false
    /// Compile events (`kiln.jit`): fingerprint, tier, pipelines, and each stage's time.
    let logger = Logger(label: "kiln.jit")

    /// Set at process exit: the worker takes no more jobs.
    private var stopping = false
    /// Whether the worker is compiling right now (process exit waits for it).
    private var compiling = false

    private init() throws {
        compiler = try NativeCompiler()
        // At exit, before LLVM's and MLIR's static destructors run (registered earlier, so
        // they run later), let the worker finish the compile in flight and take no other.
        atexit {
            if case .success(let service) = CompilationService.shared { service.stop() }
        }
    }

    /// The worker thread (set when it starts).
    private var workerThread: pthread_t?

    /// Drops queued jobs and waits (up to 10 s) for the one being compiled (process exit).
    /// When the worker itself exits (LLVM reporting a fatal error), there is nothing to wait for.
    func stop() {
        monitor.withLock {
            stopping = true
            fastJobs.removeAll()
            optimizedJobs.removeAll()
            monitor.broadcast()
            if let workerThread, pthread_equal(workerThread, pthread_self()) != 0 { return }
            var waits = 0
            while compiling && waits < 1000 {
                monitor.wait(milliseconds: 10)
                waits += 1
            }
        }
    }

    /// Runs `body` with exclusive use of the MLIR context.
    func withCompiler<R>(_ body: (NativeCompiler) throws -> R) throws -> R {
        try compilerLock.withLock { try body(compiler) }
    }

    /// The cache entry for a query, if one exists (counts as a hit or a miss), and how many
    /// times a query of this shape was looked up before without compiling (`jit = auto`
    /// compiles queries that come back, prepared or not).
    func lookup(_ fingerprint: IRFingerprint) -> (CodeEntry?, sightings: Int) {
        monitor.withLock {
            if let entry = cache.lookup(fingerprint) { return (entry, 0) }
            if sightings.count >= CompilationService.maxSightings { sightings.removeAll(keepingCapacity: true) }
            let seen = sightings[fingerprint, default: 0]
            sightings[fingerprint] = seen + 1
            return (nil, seen)
        }
    }

    /// Shapes looked up without compiling, and how often (bounded: cleared when full).
    private var sightings: [IRFingerprint: Int] = [:]
    static let maxSightings = 4096

    /// The cache entry for a query, created (and its first tier queued) when absent.
    /// - Parameters:
    ///   - mid: the query's `kiln_mid` module (the worker lowers it to the low level); not
    ///     modified afterwards by the caller.
    ///   - tier: the first tier to compile.
    ///   - building: ms the requesting session spent building the IR (slicing, kiln_high, kiln_mid), for the log.
    func entry(_ fingerprint: IRFingerprint, mid: IRModule, pipelineCount: Int, simd: Bool, tier: CodeTier,
               building: (slice: Double, high: Double, mid: Double)) -> CodeEntry {
        let entry: CodeEntry = monitor.withLock {
            if let existing = cache.lookup(fingerprint) { return existing }
            let created = CodeEntry(fingerprint: fingerprint, mid: mid, pipelineCount: pipelineCount, simd: simd)
            created.building = building
            cache.insert(fingerprint, created, bytes: 0)
            return created
        }
        request(entry, tier: tier)
        return entry
    }

    /// Queues compilation of `tier` for `entry` unless it is done, queued, or failed.
    func request(_ entry: CodeEntry, tier: CodeTier) {
        guard entry.markRequested(tier) else { return }
        monitor.withLock {
            let job = CompileJob(entry: entry, tier: tier)
            if tier == .fast { fastJobs.append(job) } else { optimizedJobs.append(job) }
            if !workerStarted { workerStarted = WorkerThread.start { [self] in work() } }
            monitor.signal()
        }
        // Without a worker thread (the system refused one) the requester compiles itself.
        if !monitor.withLock({ workerStarted }) {
            while let job = monitor.withLock({ nextJob() }) { compile(job) }
        }
    }

    private func nextJob() -> CompileJob? {
        if !fastJobs.isEmpty { return fastJobs.removeFirst() }
        if !optimizedJobs.isEmpty { return optimizedJobs.removeFirst() }
        return nil
    }

    /// The worker: takes fast-tier jobs first, compiles outside the queue lock, publishes.
    private func work() {
        monitor.withLock { workerThread = pthread_self() }
        while true {
            let job: CompileJob? = monitor.withLock {
                while !stopping {
                    if let job = nextJob() {
                        compiling = true
                        return job
                    }
                    monitor.wait()
                }
                return nil
            }
            guard let job else { return }
            compile(job)
            monitor.withLock {
                compiling = false
                monitor.broadcast()
            }
        }
    }

    private func compile(_ job: CompileJob) {
        let entry = job.entry
        // A fast-tier job queued after the optimised tier was done has nothing to add.
        if entry.readyTier.load(ordering: .acquiring) >= job.tier.rawValue { return }
        let started = ContinuousClock.now
        do {
            let (low, functions, lowering) = try entry.lowModule(for: job.tier)
            let code = try withCompiler { compiler in
                try compiler.compile(low, pipelineCount: entry.pipelineCount, optimizationLevel: job.tier.optimizationLevel)
            }
            let total = QueryExecutor.milliseconds(since: started)
            entry.publish(job.tier, code, functions: functions, lowering: lowering, total: total)
            monitor.withLock { cache.charge(entry.fingerprint, bytes: entry.estimatedBytes) }
            let stages = code.stages
            logger.debug("compiled", metadata: [
                "query": "\(entry.fingerprint)", "tier": "\(job.tier)", "pipelines": "\(entry.pipelineCount)",
                "slice_ms": "\(Self.rounded(entry.building.slice))", "high_ms": "\(Self.rounded(entry.building.high))",
                "mid_ms": "\(Self.rounded(entry.building.mid))", "lower_ms": "\(Self.rounded(lowering))", "upstream_ms": "\(Self.rounded(stages.upstream))",
                "parse_ms": "\(Self.rounded(stages.parse))", "convert_ms": "\(Self.rounded(stages.convert))",
                "llvm_ms": "\(Self.rounded(stages.llvm))", "emit_ms": "\(Self.rounded(stages.emit))", "total_ms": "\(Self.rounded(total))",
            ])
        } catch {
            entry.fail(job.tier, "\(error)")
            logger.error("compilation failed", metadata: ["query": "\(entry.fingerprint)", "tier": "\(job.tier)", "error": "\(error)"])
        }
    }

    static func rounded(_ ms: Double) -> Double { (ms * 100).rounded() / 100 }

    /// Hits, misses and evictions so far, and the entries held (for tests and EXPLAIN).
    var cacheStatistics: CodeCacheStatistics { monitor.withLock { cache.statistics } }

    /// Sets how many compiled queries the cache keeps (the least recently used go first).
    func setCacheCapacity(_ capacity: Int) { monitor.withLock { cache.resize(capacity) } }
}

/// A compiled tier. The fast tier is the scalar program (no SIMD kernels) through LLVM's ORC
/// JIT with no IR passes and code generation at level None (`LLVMFastJIT`); the optimised tier
/// has the SIMD kernels and goes through MLIR's execution engine with LLVM's -O2 passes.
enum CodeTier: Int, Comparable, CustomStringConvertible, Sendable {
    case fast = 1
    case optimized = 2

    var optimizationLevel: Int { self == .fast ? 0 : 2 }
    var description: String { self == .fast ? "fast" : "optimized" }
    static func < (a: CodeTier, b: CodeTier) -> Bool { a.rawValue < b.rawValue }
}

struct CompileJob: @unchecked Sendable {
    let entry: CodeEntry
    let tier: CodeTier
}

/// One query's native code: the tiers compiled so far, published by the worker, read by every
/// execution of the query. `readyTier` is an atomic so that a running pipeline can check it at
/// each morsel boundary without a lock.
final class CodeEntry: @unchecked Sendable {
    let fingerprint: IRFingerprint
    let pipelineCount: Int
    let simd: Bool
    /// The best tier ready (0: none yet).
    let readyTier = Atomic<Int>(0)
    private let monitor = Monitor()
    private var tiers: [CodeTier: (code: CompiledQuery, functions: [RuntimeFunction])] = [:]
    private var requested: Set<CodeTier> = []
    private var failure: String?
    /// What the worker compiles from, until the optimised tier is done.
    private var mid: IRModule?
    private var times: [CodeTier: (lowering: Double, stages: CompileStages, total: Double)] = [:]
    /// How long the session that created the entry took to build its IR (logged with the compile events).
    var building: (slice: Double, high: Double, mid: Double) = (0, 0, 0)
    /// Executions that used this entry (tier-up for queries that run often).
    let executions = Atomic<Int>(0)

    init(fingerprint: IRFingerprint, mid: IRModule, pipelineCount: Int, simd: Bool) {
        self.fingerprint = fingerprint
        self.mid = mid
        self.pipelineCount = pipelineCount
        self.simd = simd
    }

    /// Records a request for `tier`; false when it is already requested, or compilation failed.
    func markRequested(_ tier: CodeTier) -> Bool {
        monitor.withLock {
            guard failure == nil, !requested.contains(tier) else { return false }
            requested.insert(tier)
            return true
        }
    }

    /// The low-level module a tier compiles: scalar for the fast tier (smaller, quicker to
    /// compile), with SIMD kernels (when enabled) for the optimised tier; and its time, ms.
    func lowModule(for tier: CodeTier) throws -> (IRModule, [RuntimeFunction], Double) {
        guard let mid = monitor.withLock({ self.mid }) else { throw MLIRError("no module to compile") }
        let start = ContinuousClock.now
        let lowered = try MidToLow.lower(mid, vectorize: simd && tier == .optimized)
        let ms = QueryExecutor.milliseconds(since: start)
        let count = CodeEntry.countOperations(lowered.module.operations)
        monitor.withLock { operationCount = max(operationCount, count) }
        return (lowered.module, lowered.functions, ms)
    }

    func publish(_ tier: CodeTier, _ code: CompiledQuery, functions: [RuntimeFunction], lowering: Double, total: Double) {
        monitor.withLock {
            tiers[tier] = (code, functions)
            times[tier] = (lowering, code.stages, total)
            // The optimised tier is the last one: the module is not needed any more.
            if tier == .optimized { mid = nil }
            if tier.rawValue > readyTier.load(ordering: .relaxed) { readyTier.store(tier.rawValue, ordering: .releasing) }
            monitor.broadcast()
        }
    }

    func fail(_ tier: CodeTier, _ message: String) {
        monitor.withLock {
            failure = message
            mid = nil
            monitor.broadcast()
        }
    }

    /// The best compiled tier up to `limit` (`jit_tier = fast` runs the fast tier even where
    /// another session compiled the optimised one), else the best there is; with the function
    /// table its code calls through `kiln_rt_call`.
    func best(upTo limit: CodeTier = .optimized) -> (CodeTier, CompiledQuery, [RuntimeFunction])? {
        monitor.withLock {
            let ready = tiers.keys.sorted(by: >)
            guard let tier = ready.first(where: { $0 <= limit }) ?? ready.first, let best = tiers[tier] else { return nil }
            return (tier, best.code, best.functions)
        }
    }

    /// Waits until `tier` (or a better one) is compiled.
    /// - Throws: the compilation's failure, or `cancelled()`'s error (checked every 10 ms).
    func wait(for tier: CodeTier, cancelled: () -> DatabaseError?) throws(DatabaseError) {
        try monitor.withLock { () throws(DatabaseError) in
            while readyTier.load(ordering: .acquiring) < tier.rawValue {
                if let failure { throw DatabaseError.internalError("native compilation failed: \(failure)") }
                if let error = cancelled() { throw error }
                monitor.wait(milliseconds: 10)
            }
        }
    }

    /// Compile times of the tiers done so far (EXPLAIN ANALYZE).
    var compileTimes: [(CodeTier, lowering: Double, stages: CompileStages, total: Double)] {
        monitor.withLock { times.sorted { $0.key < $1.key }.map { ($0.key, $0.value.lowering, $0.value.stages, $0.value.total) } }
    }

    /// Operations of the low-level module (set when it is lowered).
    private var operationCount = 0

    /// A rough size for the cache's memory bound: machine code grows with the low-level
    /// module's operations, ~32 bytes each, per compiled tier (plus the JIT's fixed overhead).
    var estimatedBytes: Int {
        monitor.withLock { tiers.count * (16 << 10 + 32 * operationCount) }
    }

    private static func countOperations(_ operations: [IROperation]) -> Int {
        operations.reduce(0) { total, op in
            total + 1 + op.regions.reduce(0) { sum, region in sum + region.blocks.reduce(0) { $0 + countOperations($1.operations) } }
        }
    }
}

/// Compiled queries, the least recently used evicted beyond `capacity` entries or
/// `byteCapacity` estimated bytes. Plans still running an evicted entry keep it alive until
/// they finish.
struct CodeCache<Key: Hashable, Code> {
    private var entries: [Key: (code: Code, lastUse: Int, bytes: Int)] = [:]
    private var clock = 0
    private(set) var capacity: Int
    let byteCapacity: Int
    private(set) var bytes = 0
    private(set) var statistics = CodeCacheStatistics()

    init(capacity: Int, byteCapacity: Int = .max) {
        self.capacity = max(1, capacity)
        self.byteCapacity = byteCapacity
    }

    mutating func lookup(_ key: Key) -> Code? {
        clock += 1
        guard let entry = entries[key] else {
            statistics.misses += 1
            return nil
        }
        entries[key] = (entry.code, clock, entry.bytes)
        statistics.hits += 1
        return entry.code
    }

    mutating func insert(_ key: Key, _ code: Code, bytes: Int) {
        clock += 1
        if let old = entries[key] { self.bytes -= old.bytes }
        entries[key] = (code, clock, bytes)
        self.bytes += bytes
        evict()
    }

    /// Updates an entry's size (its code grew by a tier).
    mutating func charge(_ key: Key, bytes: Int) {
        guard let entry = entries[key] else { return }
        self.bytes += bytes - entry.bytes
        entries[key] = (entry.code, entry.lastUse, bytes)
        evict()
    }

    mutating func resize(_ newCapacity: Int) {
        capacity = max(1, newCapacity)
        evict()
    }

    private mutating func evict() {
        while entries.count > capacity || (bytes > byteCapacity && entries.count > 1),
              let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            bytes -= entries[oldest]?.bytes ?? 0
            entries[oldest] = nil
            statistics.evictions += 1
        }
        statistics.entries = entries.count
    }
}

/// What the code cache did so far.
struct CodeCacheStatistics: Equatable {
    var hits = 0
    var misses = 0
    var evictions = 0
    var entries = 0
}

/// A lock with a condition variable (for state that `Mutex` cannot hold: non-Sendable
/// objects); `wait` inside `withLock` releases the lock while asleep.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Sleeps until signalled (call with the lock held).
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Sleeps until signalled or `milliseconds` passed (call with the lock held).
    func wait(milliseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var deadline = now
        let nanoseconds = Int(now.tv_nsec) + milliseconds * 1_000_000
        deadline.tv_sec += nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// A detached thread running a closure (the compile worker).
enum WorkerThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// - Returns: false when the system refused a thread.
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
