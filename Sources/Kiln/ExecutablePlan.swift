import KilnCore
import KilnIR
import KilnPlanner
import KilnCompiler
import KilnRuntime
import KilnJIT
import KilnInterpreter

/// How a session's queries get native code (`SET jit`, `jit_sync`, `jit_tier`,
/// `jit_above_rows`, `jit_simd`, `jit_switch_after_morsels`).
public struct JITPolicy: Equatable, Sendable {
    public enum Mode: String, Sendable {
        /// Interpreter only.
        case off
        /// Always compile (in the background unless `sync`).
        case on
        /// Compile when the work is worth it: the query reads `aboveRows` rows or more, runs
        /// again (prepared), or its code is cached already.
        case auto
    }

    public enum Tiers: String, Sendable {
        /// The fast tier first; the optimised tier for queries that run long or often.
        case adaptive = "auto"
        /// The fast tier only.
        case fast
        /// The optimised tier only.
        case optimized
    }

    public var mode: Mode = .auto
    /// Wait for native code instead of interpreting meanwhile (tests, benchmarks).
    public var sync = false
    public var tiers: Tiers = .adaptive
    /// SIMD filter kernels in native code.
    public var simd = true
    /// Run each pipeline's first k morsels in the interpreter, then switch to native code
    /// (waiting for it): forces the mid-pipeline switch in tests.
    public var switchAfterMorsels: Int?
    public var aboveRows = 100_000
    /// Queries reading this many rows get the optimised tier right after the fast one.
    public var optimizeAboveRows = 1_000_000

    public init() {}

    public static let interpreted: JITPolicy = {
        var policy = JITPolicy()
        policy.mode = .off
        return policy
    }()

    /// The best tier this policy runs.
    var tierLimit: CodeTier { tiers == .fast ? .fast : .optimized }

    /// Executions of one query after which the adaptive policy asks for the optimised tier.
    static let optimizeAfterExecutions = 3
    /// Morsels a pipeline runs in fast-tier code before it asks for the optimised tier.
    static let longPipelineMorsels = 32
    /// An interpreted pipeline of a query `jit = auto` judged small is compiled once it has
    /// run this long and its rest, extrapolated, would take longer than compiling (this plus
    /// `compileMillisecondsPerPipeline` per pipeline: the fast tier's compile times, rounded up).
    static let lateCompileAfterMilliseconds = 20.0
    static let compileMillisecondsPerPipeline = 4.0
}

extension QueryExecutor {
    /// A query ready to run again and again: its pipelines lowered to the mid level, its
    /// native code (when the policy wants it) from the code cache or the compile worker, the
    /// interpreter's program made on first need. Prepared statements keep one, so repeated
    /// executions skip binding, planning, lowering and compilation.
    final class ExecutablePlan {
        let plan: PipelinePlan
        let mid: IRModule
        /// The statement's applied subqueries (run per call, see `ApplyPlan`).
        let applies: ApplyRegistry?
        let policy: JITPolicy
        var times: PreparationTimes
        /// The code cache's key (nil: `jit = off`).
        var fingerprint: IRFingerprint?
        /// The native code, compiled or being compiled.
        var code: CodeEntry?
        var executions = 0
        private var interpreted: (InterpretedQuery, [RuntimeFunction])?

        init(plan: PipelinePlan, mid: IRModule, applies: ApplyRegistry?, policy: JITPolicy, times: PreparationTimes) {
            self.plan = plan
            self.mid = mid
            self.applies = applies
            self.policy = policy
            self.times = times
        }

        /// Rows the query's table scans read (the work estimate `jit = auto` decides by).
        lazy var scannedRows: Int = plan.states.reduce(0) { total, state in
            if case .tableScan(let table, _, let access) = state {
                switch access {
                case .full: return total + table.rowCount
                case .rows(let range): return total + range.count
                case .lookup: return total + 1
                case .tids(let slots): return total + slots.count
                }
            }
            return total
        }

        /// Whether a pipeline expands rows by a LATERAL series: one input row (one morsel)
        /// may then produce any number of rows, so the interpreter could not hand the pipeline
        /// to native code at a morsel boundary in time (`jit = auto` waits for the fast tier).
        lazy var expandsRows: Bool = plan.pipelines.contains { pipeline in
            pipeline.operators.contains { if case .seriesExpand = $0 { return true } else { return false } }
        }

        /// The interpreter's program: the scalar low-level module, translated (once).
        func interpreter() throws(DatabaseError) -> (InterpretedQuery, [RuntimeFunction]) {
            if let interpreted { return interpreted }
            let start = ContinuousClock.now
            do {
                let low = try MidToLow.lower(mid, vectorize: false)
                let program = try InterpretedQuery(low.module, pipelineCount: plan.pipelines.count)
                interpreted = (program, low.functions)
                times.interpreter = QueryExecutor.milliseconds(since: start)
                return (program, low.functions)
            } catch {
                throw DatabaseError.internalError("interpreter translation failed: \(error)")
            }
        }
    }

    /// Time spent making a plan, in ms.
    struct PreparationTimes {
        var slice = 0.0
        var high = 0.0
        var mid = 0.0
        var fingerprint = 0.0
        /// Lowering to the scalar low level and translating for the interpreter.
        var interpreter = 0.0
        var total: Double { slice + high + mid + fingerprint + interpreter }
    }

    /// What runs a pipeline: the interpreter or a native tier, with the generic-function
    /// table its program calls through `kiln_rt_call`.
    enum Program {
        case interpreted(InterpretedQuery, [RuntimeFunction])
        case native(CodeTier, CompiledQuery, [RuntimeFunction])

        var tier: CodeTier? {
            if case .native(let tier, _, _) = self { return tier }
            return nil
        }

        var name: String { tier.map(\.description) ?? "interpreted" }

        /// The generic-function table the program calls.
        var functions: [RuntimeFunction] {
            switch self {
            case .interpreted(_, let functions), .native(_, _, let functions): return functions
            }
        }

        func run(_ index: Int, _ runtime: QueryRuntime) {
            switch self {
            case .interpreted(let program, let functions):
                if runtime.functions != functions { runtime.functions = functions }
                program.run(pipeline: index, context: runtime.context)
            case .native(_, let code, let functions):
                if runtime.functions != functions { runtime.functions = functions }
                _ = code.entries[index](runtime.context)
            }
        }
    }
}

/// One pipeline's share of an execution (EXPLAIN ANALYZE).
public struct PipelineProfile: Sendable, Equatable {
    /// Rows its source handed out.
    public var rows = 0
    public var milliseconds = 0.0
    /// Morsels run per program ("interpreted", "fast", "optimized"), in the order they ran.
    public var morsels: [(String, Int)] = []
    /// Workers that ran the pipeline (more than one: a parallel pipeline).
    public var workers = 1
    /// Morsels its scan skipped: outside a join's key range (`KeyRangeFilter`).
    public var skippedMorsels = 0

    mutating func record(_ program: String, morsels count: Int, milliseconds ms: Double) {
        milliseconds += ms
        if let last = morsels.indices.last, morsels[last].0 == program { morsels[last].1 += count } else { morsels.append((program, count)) }
    }

    public func morsels(_ program: String) -> Int { morsels.filter { $0.0 == program }.reduce(0) { $0 + $1.1 } }

    public static func == (a: PipelineProfile, b: PipelineProfile) -> Bool {
        a.rows == b.rows && a.milliseconds == b.milliseconds && a.workers == b.workers && a.morsels.elementsEqual(b.morsels, by: { $0 == $1 })
    }
}

/// How long one tier of a query's code took to compile, per stage (ms).
public struct TierCompileTime: Sendable, Equatable {
    public var tier: String
    /// Lowering `kiln_mid` to `kiln_low` for this tier's program.
    public var lowering: Double
    public var stages: CompileStages
    public var total: Double
    /// Set when the tier's code came from the persistent code cache: ms to load it (no compile).
    public var loaded: Double? = nil
}

/// Where an execution's time went, per pipeline, and its code's compile times.
public struct ExecutionProfile: Sendable, Equatable {
    public var pipelines: [PipelineProfile]
    public var compile: [TierCompileTime] = []

    /// The programs that ran, in order of first use: "interpreted", "fast", "interpreted+fast".
    public var mode: String {
        var seen: [String] = []
        for pipeline in pipelines {
            for (program, count) in pipeline.morsels where count > 0 && !seen.contains(program) { seen.append(program) }
        }
        if seen.isEmpty { seen = pipelines.flatMap { $0.morsels.map(\.0) }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
        return seen.joined(separator: "+")
    }
}
