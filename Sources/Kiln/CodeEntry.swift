import KilnCore
import KilnIR
import KilnCompiler
import KilnJIT
import KilnMLIR
import KilnRuntime
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A compiled tier. The fast tier is the scalar program (no SIMD kernels) through LLVM's ORC
/// JIT with no IR passes and code generation at level None; the optimised tier has the SIMD
/// kernels and goes through MLIR's conversions, LLVM's -O2 passes and code generation at the
/// default level (`LLVMJITCode`).
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
    /// Per tier: ms lowering, the compile's stages and total, and the ms loading it took when
    /// it came from the persistent code cache instead (then the compile's total is 0).
    private var times: [CodeTier: (lowering: Double, stages: CompileStages, total: Double, loaded: Double?)] = [:]
    /// How long the session that created the entry took to build its IR (logged with the compile events).
    var building: (slice: Double, high: Double, mid: Double) = (0, 0, 0)
    /// Executions that used this entry (tier-up for queries that run often).
    let executions = Atomic<Int>(0)
    /// Where the database directory keeps this shape's object code (nil: in memory only).
    var persistent: (cache: PersistentCodeCache, key: String)?

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

    /// - Parameter loaded: ms spent loading the tier from the persistent code cache (nil: compiled).
    func publish(_ tier: CodeTier, _ code: CompiledQuery, functions: [RuntimeFunction], lowering: Double, total: Double, loaded: Double? = nil) {
        monitor.withLock {
            tiers[tier] = (code, functions)
            times[tier] = (lowering, code.stages, loaded == nil ? total : 0, loaded)
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

    /// Forgets a request whose job was dropped (the service shut down before compiling it), so
    /// that a later request queues it again; wakes whoever waits for it.
    func unrequest(_ tier: CodeTier) {
        monitor.withLock {
            requested.remove(tier)
            monitor.broadcast()
        }
    }

    /// Waits until `tier` (or a better one) is compiled, its compilation failed, or its request
    /// was dropped (the compile service shut down).
    /// - Returns: whether the tier is ready; when not, the query carries on in the code it has.
    /// - Throws: `cancelled()`'s error (checked every 10 ms).
    func wait(for tier: CodeTier, cancelled: () -> DatabaseError?) throws(DatabaseError) -> Bool {
        try monitor.withLock { () throws(DatabaseError) -> Bool in
            while readyTier.load(ordering: .acquiring) < tier.rawValue {
                if failure != nil || !requested.contains(where: { $0 >= tier }) { return false }
                if let error = cancelled() { throw error }
                monitor.wait(milliseconds: 10)
            }
            return true
        }
    }

    /// Compile times of the tiers done so far (EXPLAIN ANALYZE); a tier loaded from the
    /// persistent code cache has a compile time of 0 and its load time.
    var compileTimes: [(CodeTier, lowering: Double, stages: CompileStages, total: Double, loaded: Double?)] {
        monitor.withLock { times.sorted { $0.key < $1.key }.map { ($0.key, $0.value.lowering, $0.value.stages, $0.value.total, $0.value.loaded) } }
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

