import KilnCore
import KilnPlanner
import KilnIR
import KilnCompiler
import KilnRuntime
import KilnJIT
import KilnInterpreter
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
    let service: CompilationService
    /// How another thread stops the query this executor runs.
    let cancellation = QueryCancellation()
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

    func lower(_ query: BoundQuery, vectorize: Bool = false) throws(DatabaseError) -> LoweredQuery {
        let plan = try PipelineSlicer.slice(query)
        do {
            let high = PlanToHigh.lower(plan)
            let mid = try HighToMid.lower(high)
            let low = try MidToLow.lower(mid, vectorize: vectorize)
            if verifyEachLevel {
                try service.withCompiler { compiler in
                    try compiler.verify(high)
                    try compiler.verify(mid)
                    try compiler.verify(low.module)
                }
            }
            return LoweredQuery(plan: plan, high: high, mid: mid, low: low.module, functions: low.functions)
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError.internalError("code generation failed: \(error)")
        }
    }

    /// Values of the parameter block for one execution (`outer`: an applied subquery's outer values by column).
    func slotValues(_ plan: PipelinePlan, parameters: [Value], outer: [Int: Value] = [:]) throws(DatabaseError) -> [Value] {
        var values: [Value] = []
        for slot in plan.parameterSlots {
            switch slot {
            case .literal(let value, _): values.append(value)
            case .statementParameter(let n, let type):
                guard n <= parameters.count else {
                    throw DatabaseError(.undefinedParameter, "there is no parameter $\(n)")
                }
                let value = parameters[n - 1]
                values.append(try Casts.cast(value, from: KilnValueType.of(value) ?? type, to: type))
            case .outerValue(let column, let type):
                let value = outer[column] ?? .null
                values.append(try Casts.cast(value, from: KilnValueType.of(value) ?? type, to: type))
            }
        }
        return values
    }

    /// A query ready to run again and again: its pipelines lowered and compiled (or translated
    /// for the interpreter). Prepared statements keep one, so that repeated executions skip
    /// binding, planning, lowering and compilation.
    final class ExecutablePlan {
        let lowered: LoweredQuery
        /// The statement's applied subqueries (run per call, see `ApplyPlan`).
        let applies: ApplyRegistry?
        let native: CompiledQuery?
        let interpreted: InterpretedQuery?
        /// Time spent making it (compilation, or translation for the interpreter), in ms; 0 when
        /// the native code came from the code cache.
        let preparationMilliseconds: Double

        init(lowered: LoweredQuery, applies: ApplyRegistry?, native: CompiledQuery?, interpreted: InterpretedQuery?, preparationMilliseconds: Double) {
            self.lowered = lowered
            self.applies = applies
            self.native = native
            self.interpreted = interpreted
            self.preparationMilliseconds = preparationMilliseconds
        }
    }

    /// Lowers a bound query and compiles it (through the code cache) or translates it for the interpreter.
    /// - Parameter compiled: native code (true) or the interpreter over the same low-level IR.
    /// - Parameter simd: compile filters and aggregates over scans into SIMD kernels (native code only).
    func plan(_ query: BoundQuery, compiled useNativeCode: Bool, simd: Bool = true) throws(DatabaseError) -> ExecutablePlan {
        let lowered = try lower(query, vectorize: useNativeCode && simd)
        if useNativeCode {
            let key = lowered.low.text + "\n" + lowered.functions.map { "\($0)" }.joined(separator: "\n")
            do {
                let (code, fresh) = try service.compiled(key: key) { compiler in
                    try compiler.compile(lowered.low, pipelineCount: lowered.plan.pipelines.count)
                }
                return ExecutablePlan(lowered: lowered, applies: query.applies, native: code, interpreted: nil, preparationMilliseconds: fresh ? code.compileMilliseconds : 0)
            } catch {
                throw DatabaseError.internalError("native compilation failed: \(error)")
            }
        }
        let translateStart = ContinuousClock.now
        do {
            let program = try InterpretedQuery(lowered.low, pipelineCount: lowered.plan.pipelines.count)
            return ExecutablePlan(lowered: lowered, applies: query.applies, native: nil, interpreted: program, preparationMilliseconds: QueryExecutor.milliseconds(since: translateStart))
        } catch {
            throw DatabaseError.internalError("interpreter translation failed: \(error)")
        }
    }

    /// Runs a query; `body` reads the runtime's output before it is freed.
    func run<R>(_ query: BoundQuery, parameters: [Value], compiled useNativeCode: Bool, simd: Bool = true, memoryLimit: Int = MemoryBudget.defaultLimit,
                _ body: (QueryRuntime, LoweredQuery) throws(DatabaseError) -> R) throws(DatabaseError) -> (R, QueryResult.Timings) {
        try run(try plan(query, compiled: useNativeCode, simd: simd), parameters: parameters, memoryLimit: memoryLimit, body)
    }

    /// Runs a planned query over a fresh runtime (its hash tables and buffers live for this run only).
    /// - Parameter reused: the plan ran before (its preparation time does not count again).
    func run<R>(_ plan: ExecutablePlan, parameters: [Value], memoryLimit: Int = MemoryBudget.defaultLimit, reused: Bool = false,
                outer: [Int: Value]? = nil,
                _ body: (QueryRuntime, LoweredQuery) throws(DatabaseError) -> R) throws(DatabaseError) -> (R, QueryResult.Timings) {
        let lowered = plan.lowered
        let runtime = QueryRuntime(plan: lowered.plan, parameterValues: try slotValues(lowered.plan, parameters: parameters, outer: outer ?? [:]),
                                   functions: lowered.functions, memoryLimit: memoryLimit)
        try runtime.prepare()
        if let applies = plan.applies, !applies.plans.isEmpty {
            let evaluator = ApplyEvaluator(executor: self, applies: applies, parameters: parameters, native: plan.native != nil, memoryLimit: memoryLimit)
            runtime.applyEvaluator = { id, arguments throws(DatabaseError) in try evaluator.evaluate(id, arguments) }
        }
        // A nested run (an applied subquery) leaves cancellation to the statement's own run.
        // safe because the runtime (and its context) outlives the attachment, which ends below.
        if outer == nil { cancellation.attach(runtime.context.assumingMemoryBound(to: Int32.self)) }
        defer { if outer == nil { cancellation.attach(nil) } }
        let start = ContinuousClock.now
        if let native = plan.native {
            for entry in native.entries {
                runtime.beginPipeline()
                _ = entry(runtime.context)
                try checkError(runtime)
            }
        } else if let program = plan.interpreted {
            for index in 0..<program.pipelineCount {
                runtime.beginPipeline()
                program.run(pipeline: index, context: runtime.context)
                try checkError(runtime)
            }
        }
        let executeMs = QueryExecutor.milliseconds(since: start)
        let result = try body(runtime, lowered)
        return (result, QueryResult.Timings(compileMilliseconds: reused ? 0 : plan.preparationMilliseconds, executeMilliseconds: executeMs,
                                            mode: plan.native != nil ? "compiled" : "interpreted", memoryBytes: runtime.budget.used))
    }

    /// A cancel request wins over the error flag it set; otherwise the pipeline's own error.
    func checkError(_ runtime: QueryRuntime) throws(DatabaseError) {
        if let error = cancellation.error { throw error }
        try runtime.checkError()
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
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
        }
    }
}
