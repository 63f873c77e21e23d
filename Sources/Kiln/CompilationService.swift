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

/// Process-wide compilation: one MLIR context with Kiln's dialects, the code cache shared by
/// every `Database`, and the compile worker that fills it in the background.
///
/// Queries are cached by the fingerprint of their `kiln_mid` module, in which every literal is
/// a parameter slot: `WHERE x > 5` and `WHERE x > 7` share one binary. A cache entry
/// (`CodeEntry`) exists from the moment a query asks for code; the worker thread compiles its
/// tiers (fast-tier jobs before optimised ones) and publishes each as it is done, while the
/// query runs in the interpreter and switches at the next morsel boundary.
///
/// The worker is the only thread that touches MLIR or LLVM: sessions that need the compiler
/// (verification, EXPLAIN's IR) hand it a call (`withCompiler`) and wait. So a shutdown that
/// has seen the worker leave knows that nothing is inside LLVM, and an LLVM fatal error can
/// only happen on the worker, which then parks for good (`CompilerLifecycle.failed`) instead
/// of letting LLVM end the process.
///
/// `@unchecked Sendable`: the non-Sendable compiler is only touched by the worker (or, when no
/// thread could be started, by the one requester that compiles in its place); the cache, the
/// queues and the lifecycle under `monitor`; entries guard themselves.
final class CompilationService: @unchecked Sendable {
    static let shared: Result<CompilationService, MLIRError> = {
        do { return .success(try CompilationService()) } catch let error as MLIRError { return .failure(error) } catch {
            return .failure(MLIRError("\(error)"))
        }
    }()

    private let compiler: NativeCompiler
    /// Guards the cache, the queues, the calls and the lifecycle; the worker sleeps on it.
    private let monitor = Monitor()
    private var cache = CodeCache<IRFingerprint, CodeEntry>(capacity: 256, byteCapacity: 256 << 20)
    private var fastJobs: [CompileJob] = []
    private var optimizedJobs: [CompileJob] = []
    /// Synchronous work for the compiler (`withCompiler`), taken before any compile job.
    private var calls: [CompilerCall] = []
    private var lifecycle = CompilerLifecycle()
    /// What the worker runs right now (the fatal-error handler fails it).
    private var current: WorkItem?
    /// The worker thread's id while it lives (0: none), read by the fatal-error handler.
    private let workerThreadID = Atomic<UInt>(0)
    /// Compiles finished: the exit hook is registered again after some of them (`registerExitHook`).
    private var finishedCompiles = 0
    /// Compile events (`kiln.jit`): fingerprint, tier, pipelines, and each stage's time.
    let logger = Logger(label: "kiln.jit")

    private init() throws {
        compiler = try NativeCompiler()
        let logger = self.logger
        LLVMDiagnostics.install(fatal: { reason in
            if case .success(let service) = CompilationService.shared { service.workerHitFatalError(reason) }
            CompilationService.abortOutsideWorker(reason)
        }, report: { message in
            logger.debug("LLVM", metadata: ["message": "\(message)"])
        })
        CompilationService.registerExitHook()
    }

    private enum WorkItem {
        case compile(CompileJob)
        case call(CompilerCall)
    }

    // MARK: - Lifetime

    /// Stops the worker: queued jobs are dropped (their queries carry on in the code they have),
    /// the job in flight is waited for (up to `timeout`), and with `final` no worker starts again
    /// in this process. Call it before the process ends (`Database.shutdownCompilation`) and when the last
    /// `Database` closes (not final: the next request starts a new worker).
    /// - Returns: whether no thread is inside LLVM any more (false after the timeout, or when an
    ///   LLVM fatal error parked the worker): the process should then end with `_exit`, which
    ///   runs no static destructor.
    @discardableResult
    func shutdown(final: Bool, timeout: Duration = .seconds(10)) -> Bool {
        if workerThreadID.load(ordering: .acquiring) == UInt(pthread_self()) {
            // The worker itself (it never asks; an exit hook run on its thread): nothing to wait for.
            return false
        }
        let deadline = ContinuousClock.now + timeout
        return monitor.withLock {
            let mustWait = lifecycle.shutdown(final: final)
            dropQueuedWork(.forget, "the compiler is shut down")
            monitor.broadcast()
            if mustWait {
                while !lifecycle.quiescent, ContinuousClock.now < deadline {
                    if case .failed = lifecycle.state { break }
                    monitor.wait(milliseconds: 10)
                }
            }
            return lifecycle.quiescent
        }
    }

    /// What dropped jobs do to their entries: forget the request (a shutdown: a later request
    /// may queue it again) or fail (an LLVM fatal error: no compile will come).
    private enum DroppedJobs { case forget, fail }

    /// Queued jobs and calls go (call with the lock held); waiters wake, calls fail.
    private func dropQueuedWork(_ jobs: DroppedJobs, _ reason: String) {
        for job in fastJobs + optimizedJobs {
            switch jobs {
            case .forget: job.entry.unrequest(job.tier)
            case .fail: job.entry.fail(job.tier, reason)
            }
        }
        fastJobs.removeAll()
        optimizedJobs.removeAll()
        for call in calls { call.finish(.failure(MLIRError(reason))) }
        calls.removeAll()
    }

    /// Registers the process-exit fallback for an application that exits without
    /// `Database.shutdownCompilation`: a final shutdown, through `on_exit` (glibc's `atexit` that
    /// also gets the exit status). When the worker cannot be stopped (a compile still running
    /// after the timeout, or parked by an LLVM fatal error, maybe holding LLVM's locks), the
    /// process ends at once with that status, before any destructor runs.
    ///
    /// Exit hooks run in the reverse order of their registration, and LLVM registers the
    /// destructors of its function-local statics when it first uses them, on the worker: so the
    /// hook is registered again after the first 64 compiles and then at every power of two, to
    /// run before the destructors of what those compiles touched. The shell and the server do
    /// not rely on it: they shut down explicitly.
    private static func registerExitHook() {
        on_exit({ status, _ in
            guard case .success(let service) = CompilationService.shared else { return }
            if !service.shutdown(final: true) {
                fflush(nil)
                _exit(status)
            }
        }, nil)
    }

    /// An LLVM fatal error. On the worker: the compile (or call) in hand fails, native
    /// compilation ends for the process, and the worker parks for good, holding whatever LLVM
    /// held (the process goes on, interpreted). Elsewhere (a test's own `NativeCompiler`):
    /// returns, and the caller aborts.
    private func workerHitFatalError(_ reason: String) {
        guard workerThreadID.load(ordering: .acquiring) == UInt(pthread_self()) else { return }
        logger.error("LLVM fatal error: native compilation is off for this process", metadata: ["error": "\(reason)"])
        let failure = "LLVM fatal error: \(reason)"
        monitor.withLock {
            lifecycle.fatalError(reason)
            switch current {
            case .compile(let job)?: job.entry.fail(job.tier, failure)
            case .call(let call)?: call.finish(.failure(MLIRError(failure)))
            case nil: break
            }
            current = nil
            dropQueuedWork(.fail, failure)
            monitor.broadcast()
        }
        while true { pause() }
    }

    private static func abortOutsideWorker(_ reason: String) -> Never {
        let text = "kiln: LLVM fatal error outside the compile worker: \(reason)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }

    /// `Database`s open in the process: when the last one closes, the worker stops (not for good).
    private var openSessions = 0

    func sessionOpened() { monitor.withLock { openSessions += 1 } }

    func sessionClosed() {
        let last = monitor.withLock { () -> Bool in
            openSessions -= 1
            return openSessions == 0
        }
        if last { shutdown(final: false) }
    }

    /// Whether native compilation is available (not shut down, not failed).
    var isAvailable: Bool {
        monitor.withLock {
            switch lifecycle.state {
            case .idle, .running: return true
            default: return false
            }
        }
    }

    // MARK: - The compiler, on the worker

    /// Runs `body` with the compiler, on the worker thread (the only one that touches MLIR and
    /// LLVM), and waits for it.
    /// - Throws: `body`'s error, or an `MLIRError` when the compiler is shut down or broken.
    func withCompiler<R>(_ body: @escaping (NativeCompiler) throws -> R) throws -> R {
        if workerThreadID.load(ordering: .acquiring) == UInt(pthread_self()) { return try body(compiler) }
        let call = CompilerCall()
        var result: Result<R, any Error>?
        call.body = { [compiler] in result = Result { try body(compiler) } }
        let admission = monitor.withLock { () -> CompilerLifecycle.Admission in
            let admission = lifecycle.admit()
            if case .refuse = admission { return admission }
            calls.append(call)
            if admission == .queueAndStart { startWorker() }
            monitor.signal()
            return admission
        }
        if case .refuse(let reason) = admission { throw MLIRError(reason) }
        runInlineIfNoWorker()
        if let failure = call.wait() { throw failure }
        return try result!.get()
    }

    /// Starts the worker thread (call with the lock held).
    private func startWorker() {
        if !WorkerThread.start({ [self] in work() }) { lifecycle.workerRefused() }
    }

    /// Without a worker thread (the system refused one) the requester runs the queue itself.
    private func runInlineIfNoWorker() {
        while let item = monitor.withLock({ () -> WorkItem? in
            guard !lifecycle.workerAlive else { return nil }
            return nextItem()
        }) {
            run(item)
        }
    }

    /// Shapes looked up without compiling, and how often (bounded: cleared when full).
    private var sightings: [IRFingerprint: Int] = [:]
    static let maxSightings = 4096

    /// The in-memory cache's entry for a query, if any (no hit, miss or sighting counted).
    func peek(_ fingerprint: IRFingerprint) -> CodeEntry? { monitor.withLock { cache.contains(fingerprint) } }

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

    /// The cache entry for a query, created (and its first tier queued) when absent.
    /// - Parameters:
    ///   - mid: the query's `kiln_mid` module (the worker lowers it to the low level); not
    ///     modified afterwards by the caller.
    ///   - tier: the first tier to compile.
    ///   - building: ms the requesting session spent building the IR (slicing, kiln_high, kiln_mid), for the log.
    ///   - persistent: where a database directory keeps this shape's object code.
    func entry(_ fingerprint: IRFingerprint, mid: IRModule, pipelineCount: Int, simd: Bool, tier: CodeTier,
               building: (slice: Double, high: Double, mid: Double), persistent: (cache: PersistentCodeCache, key: String)? = nil) -> CodeEntry {
        let entry: CodeEntry = monitor.withLock {
            if let existing = cache.lookup(fingerprint) { return existing }
            let created = CodeEntry(fingerprint: fingerprint, mid: mid, pipelineCount: pipelineCount, simd: simd)
            created.building = building
            created.persistent = persistent
            cache.insert(fingerprint, created, bytes: 0)
            return created
        }
        request(entry, tier: tier)
        return entry
    }

    /// Queues compilation of `tier` for `entry` unless it is done, queued, or failed. When the
    /// compiler is shut down the request is forgotten (the query runs in the code it has).
    func request(_ entry: CodeEntry, tier: CodeTier) {
        guard entry.markRequested(tier) else { return }
        let refused: String? = monitor.withLock {
            let admission = lifecycle.admit()
            if case .refuse(let reason) = admission { return reason }
            let job = CompileJob(entry: entry, tier: tier)
            if tier == .fast { fastJobs.append(job) } else { optimizedJobs.append(job) }
            if admission == .queueAndStart { startWorker() }
            monitor.signal()
            return nil
        }
        if let refused {
            entry.unrequest(tier)
            logger.debug("compilation refused", metadata: ["query": "\(entry.fingerprint)", "tier": "\(tier)", "reason": "\(refused)"])
            return
        }
        runInlineIfNoWorker()
    }

    /// Calls first, then fast-tier jobs, then optimised ones (call with the lock held).
    private func nextItem() -> WorkItem? {
        if !calls.isEmpty { return .call(calls.removeFirst()) }
        if !fastJobs.isEmpty { return .compile(fastJobs.removeFirst()) }
        if !optimizedJobs.isEmpty { return .compile(optimizedJobs.removeFirst()) }
        return nil
    }

    /// The worker: takes work while the lifecycle says so, runs it outside the lock, exits
    /// when a shutdown asks.
    private func work() {
        workerThreadID.store(UInt(pthread_self()), ordering: .releasing)
        while true {
            let item: WorkItem? = monitor.withLock {
                while lifecycle.acceptsWork {
                    if let item = nextItem() {
                        lifecycle.beginJob()
                        current = item
                        return item
                    }
                    monitor.wait()
                }
                return nil
            }
            guard let item else { break }
            run(item)
            monitor.withLock {
                current = nil
                lifecycle.endJob()
                monitor.broadcast()
            }
        }
        workerThreadID.store(0, ordering: .releasing)
        monitor.withLock {
            lifecycle.workerExited()
            monitor.broadcast()
        }
    }

    private func run(_ item: WorkItem) {
        switch item {
        case .call(let call):
            call.body?()
            call.finish(.success(()))
        case .compile(let job):
            compile(job)
            let again = monitor.withLock { () -> Bool in
                finishedCompiles += 1
                return finishedCompiles <= 64 || finishedCompiles & (finishedCompiles - 1) == 0
            }
            if again { CompilationService.registerExitHook() }
        }
    }

    private func compile(_ job: CompileJob) {
        let entry = job.entry
        // A fast-tier job queued after the optimised tier was done has nothing to add.
        if entry.readyTier.load(ordering: .acquiring) >= job.tier.rawValue { return }
        let started = ContinuousClock.now
        // What object code is made for (part of a persistent code cache's check).
        let target = entry.persistent == nil ? nil : try? NativeCompiler.targetDescription(optimizationLevel: job.tier.optimizationLevel)
        if let target, loadPersisted(job, target: target) { return }
        do {
            let (low, functions, lowering) = try entry.lowModule(for: job.tier)
            // On the worker (or the one requester that runs the queue when there is no worker).
            let code = try compiler.compile(low, pipelineCount: entry.pipelineCount, optimizationLevel: job.tier.optimizationLevel,
                                            keepObject: target != nil)
            let total = QueryExecutor.milliseconds(since: started)
            entry.publish(job.tier, code, functions: functions, lowering: lowering, total: total)
            if let persistent = entry.persistent, let object = code.object, let target {
                persistent.cache.write(persistent.key, job.tier, fingerprint: entry.fingerprint, target: target, pipelineCount: entry.pipelineCount,
                                       object: object.bytes, prefix: object.prefix)
            }
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

    /// Links the tier's object code from the persistent code cache, if it has it for this
    /// target; false when it has not (or it would not load: then the tier is compiled).
    private func loadPersisted(_ job: CompileJob, target: String) -> Bool {
        let entry = job.entry
        guard let persistent = entry.persistent else { return false }
        let started = ContinuousClock.now
        guard let (object, prefix) = persistent.cache.read(persistent.key, job.tier, target: target, pipelineCount: entry.pipelineCount) else {
            return false
        }
        do {
            // The runtime function table the code calls through comes from the same lowering.
            let (_, functions, lowering) = try entry.lowModule(for: job.tier)
            let code = try compiler.load(object: object, prefix: prefix, pipelineCount: entry.pipelineCount,
                                         optimizationLevel: job.tier.optimizationLevel)
            let loaded = QueryExecutor.milliseconds(since: started)
            entry.publish(job.tier, code, functions: functions, lowering: lowering, total: loaded, loaded: loaded)
            monitor.withLock { cache.charge(entry.fingerprint, bytes: entry.estimatedBytes) }
            logger.debug("loaded from the code cache", metadata: ["query": "\(entry.fingerprint)", "tier": "\(job.tier)", "load_ms": "\(Self.rounded(loaded))"])
            return true
        } catch {
            logger.debug("cached code did not load; compiling", metadata: ["query": "\(entry.fingerprint)", "tier": "\(job.tier)", "error": "\(error)"])
            return false
        }
    }

    static func rounded(_ ms: Double) -> Double { (ms * 100).rounded() / 100 }

    /// Hits, misses and evictions so far, and the entries held (for tests and EXPLAIN).
    var cacheStatistics: CodeCacheStatistics { monitor.withLock { cache.statistics } }

    /// Sets how many compiled queries the cache keeps (the least recently used go first).
    func setCacheCapacity(_ capacity: Int) { monitor.withLock { cache.resize(capacity) } }
}


/// Work a session hands the worker and waits for (verification, EXPLAIN's IR).
///
/// `@unchecked Sendable`: `body` runs on the worker while its requester waits; `outcome`
/// is guarded by `monitor`.
final class CompilerCall: @unchecked Sendable {
    var body: (() -> Void)?
    private let monitor = Monitor()
    private var outcome: Result<Void, MLIRError>?

    func finish(_ result: Result<Void, MLIRError>) {
        monitor.withLock {
            if outcome == nil { outcome = result }
            monitor.broadcast()
        }
    }

    /// Waits until the call ran or failed; returns its failure.
    func wait() -> MLIRError? {
        monitor.withLock {
            while outcome == nil { monitor.wait() }
            if case .failure(let error)? = outcome { return error }
            return nil
        }
    }
}
