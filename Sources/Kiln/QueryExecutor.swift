import KilnCore
import KilnPlanner
import KilnIR
import KilnCompiler
import KilnRuntime
import KilnJIT
import KilnInterpreter
import KilnStorage
import Synchronization

/// The three IR levels of a query plus what running it needs.
struct LoweredQuery {
    var plan: PipelinePlan
    var high: IRModule
    var mid: IRModule
    var low: IRModule
    var functions: [RuntimeFunction]
}

/// Runs bound queries: slices them into pipelines, lowers them through the dialects, compiles
/// (with a code cache keyed by the low-level IR, in which every literal is a parameter slot)
/// and calls the pipelines in order over one `QueryRuntime`.
final class QueryExecutor {
    /// What the running statement's scans see (the session sets it per statement).
    var snapshot = Snapshot.latest
    /// The running transaction's start (CURRENT_TIMESTAMP), microseconds since 1970-01-01 UTC.
    var transactionTime: Int64 = 0
    /// The session's answer to sequence functions (set by the `Database`).
    var sessionFunction: ((String, [Value]) throws(DatabaseError) -> Value)?
    let service: CompilationService
    /// How another thread stops the query this executor runs.
    let cancellation = QueryCancellation()
    /// How far the running statement has got (read by the shell's progress bar).
    let progress = StatementProgress()
    /// Workers a pipeline may run on (`SET threads`; 1: the session's thread only).
    var threads = 1
    /// Rows per morsel of a parallel scan (`SET parallel_morsel_rows`: small ones force many
    /// hand-offs between workers in tests).
    var morselRows = MorselDispatcher.maximumRows
    /// Where parallel pipelines get their helpers.
    var workers = WorkerPool.shared
    /// Takes a streamed result's rows while the query runs (set for one statement's run): called
    /// with the runtime whenever its output holds `outputFlushRecords` rows; it reads them,
    /// and the executor then drops them. The last rows stay for the run's `body`.
    var outputStream: ((QueryRuntime, PipelinePlan) throws(DatabaseError) -> Void)?
    /// Rows a streamed result delivers at a time (at a morsel boundary, so a morsel's rows at least).
    var outputFlushRecords = 8192
    /// The database directory's persistent code cache (nil: in memory, or no build ID).
    var persistentCode: PersistentCodeCache?
    /// Verify every IR level with MLIR (on in debug builds and tests).
    var verifyEachLevel: Bool = {
        #if DEBUG
        return true
        #else
        return false
        #endif
    }()

    init() throws {
        switch CompilationService.shared {
        case .success(let service): self.service = service
        case .failure(let error): throw error
        }
    }

    /// All three levels of a query (EXPLAIN's IR output).
    func lower(_ query: BoundQuery, vectorize: Bool = false) throws(DatabaseError) -> LoweredQuery {
        let (plan, high, mid, _) = try lowerToMid(query)
        do {
            let low = try MidToLow.lower(mid, vectorize: vectorize)
            try verify([low.module])
            return LoweredQuery(plan: plan, high: high, mid: mid, low: low.module, functions: low.functions)
        } catch {
            throw DatabaseError.internalError("code generation failed: \(error)")
        }
    }

    /// Slices a query into pipelines and lowers them to `kiln_high` and `kiln_mid` (verified
    /// with MLIR when `verifyEachLevel`), timing each step.
    func lowerToMid(_ query: BoundQuery) throws(DatabaseError) -> (PipelinePlan, IRModule, IRModule, PreparationTimes) {
        var times = PreparationTimes()
        var clock = ContinuousClock.now
        func lap() -> Double {
            let now = ContinuousClock.now
            defer { clock = now }
            return QueryExecutor.milliseconds(since: clock)
        }
        let plan = try PipelineSlicer.slice(query)
        times.slice = lap()
        do {
            let high = PlanToHigh.lower(plan)
            times.high = lap()
            let mid = try HighToMid.lower(high)
            times.mid = lap()
            try verify([high, mid])
            return (plan, high, mid, times)
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError.internalError("code generation failed: \(error)")
        }
    }

    /// Has MLIR verify `modules` when `verifyEachLevel` (on the compile worker; skipped once the
    /// compiler is shut down: verification is a check, not a step of running the query).
    private func verify(_ modules: [IRModule]) throws {
        guard verifyEachLevel, service.isAvailable else { return }
        do {
            try service.withCompiler { compiler in
                // MLIR's modules are made and dropped on the worker.
                for module in modules { _ = try compiler.verify(module) }
            }
        } catch where !service.isAvailable {
            return  // shut down meanwhile
        }
    }

    /// Values of the parameter block for one execution (`outer`: an applied subquery's outer values by column).
    /// A bound value as a parameter of `type` (text by the type's input function).
    static func parameterValue(_ value: Value, as type: SQLType) throws(DatabaseError) -> Value {
        try Casts.cast(value, from: KilnValueType.of(value) ?? type, to: type)
    }

    func slotValues(_ plan: PipelinePlan, parameters: [Value], outer: [Int: Value] = [:]) throws(DatabaseError) -> [Value] {
        var values: [Value] = []
        for slot in plan.parameterSlots {
            switch slot {
            case .literal(let value, _): values.append(value)
            case .statementParameter(let n, let type):
                guard n <= parameters.count else {
                    throw DatabaseError(.undefinedParameter, "there is no parameter $\(n)")
                }
                values.append(try QueryExecutor.parameterValue(parameters[n - 1], as: type))
            case .outerValue(let column, let type):
                values.append(try QueryExecutor.parameterValue(outer[column] ?? .null, as: type))
            case .transactionTime:
                values.append(.timestamp(transactionTime))
            }
        }
        return values
    }

    /// Lowers a bound query to the mid level and takes its fingerprint; a run finds (or starts)
    /// its native code as the policy says (`attachCode`), and makes the interpreter's program
    /// when it needs it.
    func plan(_ query: BoundQuery, policy: JITPolicy) throws(DatabaseError) -> ExecutablePlan {
        let (pipelinePlan, _, mid, times) = try lowerToMid(query)
        let plan = ExecutablePlan(plan: pipelinePlan, mid: mid, applies: query.applies, policy: policy, times: times)
        if policy.mode != .off {
            let start = ContinuousClock.now
            plan.fingerprint = IRFingerprint(mid, salt: policy.simd ? "simd" : "scalar")
            plan.times.fingerprint = QueryExecutor.milliseconds(since: start)
        }
        return plan
    }

    /// Runs a query; `body` reads the runtime's output before it is freed.
    func run<R>(_ query: BoundQuery, parameters: [Value], policy: JITPolicy, memoryLimit: Int = MemoryBudget.defaultLimit,
                _ body: (QueryRuntime, PipelinePlan) throws(DatabaseError) -> R) throws(DatabaseError) -> (R, QueryResult.Timings) {
        try run(try plan(query, policy: policy), parameters: parameters, memoryLimit: memoryLimit, body)
    }

    /// Finds the plan's native code as its policy says: always (`jit = on`), or under `auto`
    /// when the code is cached already, the query reads at least `jit_above_rows` rows, or
    /// it runs again (a prepared statement, or the same shape as an earlier query).
    func attachCode(_ plan: ExecutablePlan) {
        guard plan.code == nil, let fingerprint = plan.fingerprint else { return }
        let policy = plan.policy
        let firstTier: CodeTier = policy.tiers == .optimized ? .optimized : .fast
        var persistent: (cache: PersistentCodeCache, key: String)?
        // A shape compiled before, in this database directory: its code is loaded (no compile)
        // before the first morsel runs, whatever `jit = auto` would decide.
        var stored: CodeTier?
        if let cache = persistentCode, service.peek(fingerprint) == nil {
            let (key, tiers) = cache.lookup(fingerprint, mid: plan.mid, simd: policy.simd)
            persistent = (cache, key)
            // `jit_tier = fast | optimized` runs only that tier; `auto` the best one kept.
            let allowed: [CodeTier] = policy.tiers == .fast ? [.fast] : policy.tiers == .optimized ? [.optimized] : [.optimized, .fast]
            stored = allowed.first { tiers.contains($0.rawValue) }
        }
        if stored == nil, policy.mode == .auto, plan.executions <= 1, plan.scannedRows < policy.aboveRows, !plan.expandsRows {
            let (cached, sightings) = service.lookup(fingerprint)
            if cached != nil || sightings == 0 {
                plan.code = cached
                return
            }
        }
        let entry = service.entry(fingerprint, mid: plan.mid, pipelineCount: plan.plan.pipelines.count, simd: policy.simd, tier: stored ?? firstTier,
                                  building: (plan.times.slice, plan.times.high, plan.times.mid), persistent: persistent)
        if let stored { _ = try? entry.wait(for: stored) { nil } }
        plan.code = entry
    }

    /// Runs a planned query over a fresh runtime (its hash tables and buffers live for this run
    /// only). Each pipeline starts in the best code ready (the interpreter when none is) and
    /// switches, at a morsel boundary, whenever better code becomes ready.
    func run<R>(_ plan: ExecutablePlan, parameters: [Value], memoryLimit: Int = MemoryBudget.defaultLimit,
                outer: [Int: Value]? = nil,
                _ body: (QueryRuntime, PipelinePlan) throws(DatabaseError) -> R) throws(DatabaseError) -> (R, QueryResult.Timings) {
        let values = try slotValues(plan.plan, parameters: parameters, outer: outer ?? [:])
        let runtime = QueryRuntime(plan: plan.plan, parameterValues: values, functions: [], memoryLimit: memoryLimit)
        runtime.snapshot = snapshot
        runtime.sessionFunction = sessionFunction
        try runtime.prepare()
        if let applies = plan.applies, !applies.plans.isEmpty {
            let evaluator = ApplyEvaluator(executor: self, applies: applies, parameters: parameters, policy: plan.policy, memoryLimit: memoryLimit)
            runtime.applyEvaluator = { id, arguments throws(DatabaseError) in try evaluator.evaluate(id, arguments) }
        }
        // A nested run (an applied subquery) leaves cancellation to the statement's own run.
        // safe because the runtime (and its context) outlives the attachment, which ends below.
        if outer == nil {
            cancellation.attach(runtime.context.assumingMemoryBound(to: Int32.self))
            runtime.statementProgress = progress
            progress.expect(plan.scannedRows)
        }
        defer { if outer == nil { cancellation.attach(nil) } }

        let translatedBefore = plan.times.interpreter
        var waited = 0.0
        plan.executions += 1
        attachCode(plan)
        let policy = plan.policy
        var code = plan.code
        // `jit = auto` left a query that looked small to the interpreter: should it run long,
        // it is compiled while it runs (`lateCompileCheck`).
        let late = code == nil && policy.mode == .auto && plan.fingerprint != nil ? LateCompile() : nil
        if let code {
            let executions = code.executions.add(1, ordering: .relaxed).newValue
            if policy.tiers == .adaptive, executions >= JITPolicy.optimizeAfterExecutions || plan.scannedRows >= policy.optimizeAboveRows {
                service.request(code, tier: .optimized)
            }
            let wanted: CodeTier = policy.tiers == .optimized ? .optimized : .fast
            // A LATERAL series can make one morsel run for minutes: it starts in native code.
            let waits = policy.sync || policy.switchAfterMorsels != nil || (policy.mode == .auto && plan.expandsRows)
            if waits, code.readyTier.load(ordering: .acquiring) < wanted.rawValue {
                let waitStart = ContinuousClock.now
                // A failed or dropped compile leaves the query in the code it has (the interpreter).
                _ = try code.wait(for: wanted) { self.cancellation.error }
                waited = QueryExecutor.milliseconds(since: waitStart)
            }
        }

        var profile = ExecutionProfile(pipelines: Array(repeating: PipelineProfile(), count: plan.plan.pipelines.count))
        let stream = outer == nil ? outputStream : nil
        if stream != nil { runtime.outputFlushRecords = outputFlushRecords }
        let start = ContinuousClock.now
        for index in plan.plan.pipelines.indices {
            runtime.beginPipeline()
            // Strings made from here on by the output's pipeline live only in its rows.
            let arenaMark = runtime.arena.mark()
            // A forced switch (tests) needs code to switch to.
            let forcedSwitch = code == nil ? nil : policy.switchAfterMorsels
            var program = try program(for: plan, code: code, interpretFirst: forcedSwitch != nil)
            var mayUpgrade = true
            let pipelineStart = ContinuousClock.now
            // A pipeline that can run in parallel gets helpers from the worker pool.
            var parallel: (run: ParallelRun, shape: ParallelShape, dispatcher: MorselDispatcher)?
            if outer == nil, let shape = parallelShape(plan, pipeline: index, functions: program.functions) {
                parallel = try startParallel(shape, plan: plan, index: index, runtime: runtime, values: values, memoryLimit: memoryLimit,
                                             program: program, code: code, late: late, forcedSwitch: forcedSwitch)
            }
            // Helpers never outlive the runtime they share, whatever ends the pipeline.
            defer {
                if let parallel {
                    parallel.dispatcher.stop()
                    parallel.run.closeAndWait()
                    runtime.finishDeferred = false
                }
            }
            while true {
                runtime.suspendAfterMorsels = program.tier == nil && mayUpgrade ? forcedSwitch ?? .max : .max
                runtime.upgradeAvailable = mayUpgrade ? upgradeCheck(code, running: program.tier, policy: policy) : nil
                if mayUpgrade, code == nil, let late {
                    runtime.upgradeAvailable = lateCompileCheck(plan, late, runtime: runtime, since: pipelineStart)
                }
                let morselsBefore = runtime.progress.morsels
                let segmentStart = ContinuousClock.now
                program.run(index, runtime)
                profile.pipelines[index].record(program.name, morsels: runtime.progress.morsels - morselsBefore,
                                                milliseconds: QueryExecutor.milliseconds(since: segmentStart))
                try checkError(runtime)
                guard runtime.suspended else { break }
                // Suspended at a morsel boundary to deliver rows: the stream takes them, then
                // they (and the strings made for them) are dropped.
                if runtime.outputFull, let stream {
                    try stream(runtime, plan.plan)
                    runtime.discardOutput(releasingStringsTo: arenaMark)
                    try checkError(runtime)
                }
                if code == nil, let entry = late?.entry {
                    code = entry
                    plan.code = entry
                }
                // Carry on in the best code ready (or, should none be better, in the same
                // program, which then runs to the end unless it delivers rows again).
                if let better = code?.best(upTo: policy.tierLimit), better.0.rawValue > (program.tier?.rawValue ?? 0) {
                    program = .native(better.0, better.1, better.2)
                } else if !runtime.outputFull {
                    mayUpgrade = false
                }
                runtime.resumePipeline()
            }
            profile.pipelines[index].rows = runtime.progress.rows
            if case .scan(let scan) = plan.plan.pipelines[index].source { profile.pipelines[index].skippedMorsels = runtime.skippedMorsels(scan) }
            if let parallel { try finishParallel(parallel.run, parallel.shape, runtime: runtime, profile: &profile.pipelines[index]) }
        }
        let executeMs = QueryExecutor.milliseconds(since: start)
        profile.compile = code?.compileTimes.map { TierCompileTime(tier: "\($0.0)", lowering: $0.lowering, stages: $0.stages, total: $0.total, loaded: $0.loaded) } ?? []
        let result = try body(runtime, plan.plan)
        // Compilation on this execution's critical path: waiting for native code, and making the
        // interpreter's program (both zero when the code was ready, cached or reused).
        let translated = plan.times.interpreter - translatedBefore
        var timings = QueryResult.Timings(compileMilliseconds: waited + translated, executeMilliseconds: executeMs,
                                          mode: profile.mode, memoryBytes: runtime.budget.used)
        timings.profile = profile
        return (result, timings)
    }

    /// The program a pipeline starts in: the best native tier ready, else the interpreter.
    private func program(for plan: ExecutablePlan, code: CodeEntry?, interpretFirst: Bool) throws(DatabaseError) -> Program {
        if !interpretFirst, let (tier, compiled, functions) = code?.best(upTo: plan.policy.tierLimit) {
            return .native(tier, compiled, functions)
        }
        let (program, functions) = try plan.interpreter()
        return .interpreted(program, functions)
    }

    /// What a running pipeline asks at each morsel boundary: is better code ready? A pipeline
    /// that runs long in fast-tier code also asks for the optimised tier (adaptive tiers).
    private func upgradeCheck(_ code: CodeEntry?, running tier: CodeTier?, policy: JITPolicy) -> ((QueryRuntime.PipelineProgress) -> Bool)? {
        guard let code, tier != .optimized, policy.switchAfterMorsels == nil || tier != nil else { return nil }
        let current = tier?.rawValue ?? 0
        let maxTier = policy.tierLimit.rawValue
        guard current < maxTier else { return nil }
        var askedForOptimized = tier != .fast || policy.tiers != .adaptive
        let service = self.service
        return { progress in
            if !askedForOptimized, progress.morsels >= JITPolicy.longPipelineMorsels {
                askedForOptimized = true
                service.request(code, tier: .optimized)
            }
            return min(code.readyTier.load(ordering: .acquiring), maxTier) > current
        }
    }

    /// The code a query compiles while it runs (`lateCompileCheck`), once asked for (parallel
    /// helpers read it too).
    final class LateCompile: @unchecked Sendable {
        // `@unchecked Sendable`: `stored` is only touched under `monitor`.
        private let monitor = Monitor()
        private var stored: CodeEntry?
        var entry: CodeEntry? {
            get { monitor.withLock { stored } }
            set { monitor.withLock { stored = newValue } }
        }
    }

    /// What an interpreted pipeline of a query `jit = auto` did not compile (it looked small:
    /// few rows scanned, not seen before) asks at each morsel boundary, after HyPer's adaptive
    /// execution (Kohn, Leis, Neumann, ICDE 2018): extrapolating from the time and rows so far,
    /// is the rest of the pipeline going to take longer in the interpreter than compiling it?
    /// Then the fast tier is compiled in the background, and the pipeline switches to it at the
    /// first morsel boundary after it is ready (later pipelines start in it).
    private func lateCompileCheck(_ plan: ExecutablePlan, _ late: LateCompile, runtime: QueryRuntime,
                                  since start: ContinuousClock.Instant) -> (QueryRuntime.PipelineProgress) -> Bool {
        let service = self.service
        let persistentCode = self.persistentCode
        return { [unowned runtime] progress in
            if let entry = late.entry { return entry.readyTier.load(ordering: .acquiring) > 0 }
            guard let fingerprint = plan.fingerprint else { return false }
            let elapsed = QueryExecutor.milliseconds(since: start)
            guard elapsed >= JITPolicy.lateCompileAfterMilliseconds else { return false }
            // The source's rows are known for scans and series; else assume as much again.
            let expected = runtime.sourceExpectedRows
            let remaining = progress.rows > 0 && expected > progress.rows
                ? elapsed * Double(expected - progress.rows) / Double(progress.rows)
                : expected > 0 && progress.rows >= expected ? 0 : elapsed
            let compileEstimate = JITPolicy.lateCompileAfterMilliseconds + JITPolicy.compileMillisecondsPerPipeline * Double(plan.plan.pipelines.count)
            guard remaining >= compileEstimate else { return false }
            let persistent = persistentCode.map { cache in (cache: cache, key: cache.lookup(fingerprint, mid: plan.mid, simd: plan.policy.simd).key) }
            late.entry = service.entry(fingerprint, mid: plan.mid, pipelineCount: plan.plan.pipelines.count, simd: plan.policy.simd,
                                       tier: plan.policy.tiers == .optimized ? .optimized : .fast,
                                       building: (plan.times.slice, plan.times.high, plan.times.mid), persistent: persistent)
            return late.entry!.readyTier.load(ordering: .acquiring) > 0
        }
    }

    /// A cancel request wins over the error flag it set; otherwise the pipeline's own error.
    func checkError(_ runtime: QueryRuntime) throws(DatabaseError) {
        if let error = cancellation.error { throw error }
        try runtime.checkError()
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start).milliseconds
    }
}

/// The SQL type a bound parameter value carries.
enum KilnValueType {
    static func of(_ value: Value) -> SQLType? {
        switch value {
        case .null: return nil
        case .bool: return .boolean
        case .int16: return .smallint
        case .int32: return .integer
        case .int64: return .bigint
        case .float32: return .real
        case .float64: return .double
        case .numeric(_, let s): return .numeric(precision: nil, scale: s)
        case .text: return .text
        case .date: return .date
        case .timestamp: return .timestamp
        case .interval: return .interval
        case .tid: return .tid
        }
    }
}
