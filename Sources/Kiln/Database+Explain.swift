import KilnCore
import KilnSQL
import KilnPlanner

extension Database {
    func explain(_ mode: ExplainMode, _ statement: Statement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        guard case .select(var select) = statement else {
            throw DatabaseError(.featureNotSupported, "EXPLAIN supports SELECT statements only")
        }
        // The plan of a locking SELECT is its query's (nothing runs, so nothing is locked);
        // EXPLAIN ANALYZE would run it, and the binder refuses that.
        if case .analyze = mode {} else { select.locking = [] }
        var binder = makeBinder()
        let bound = try binder.bind(select)
        var text: String
        switch mode {
        case .plan:
            text = Database.withCost(bound.plan) + Database.appliedSubqueries(bound)
        case .analyze:
            text = Database.withCost(bound.plan) + Database.appliedSubqueries(bound) + "\n" + (try explainAnalyze(bound, parameters: parameters))
        case .pipelines:
            let plan = try PipelineSlicer.slice(bound)
            text = plan.pipelines.map { $0.summary(states: plan.states) }.joined(separator: "\n")
        case .ir(let level):
            let lowered = try executor.lower(bound, vectorize: usesNativeCode && usesSIMD)
            do {
                text = try executor.service.withCompiler { compiler in
                    switch level {
                    case "high": return try compiler.verify(lowered.high).text
                    case "mid": return try compiler.verify(lowered.mid).text
                    case "low": return try compiler.verify(lowered.low).text
                    default: return try compiler.llvmIR(lowered.low)
                    }
                }
            } catch {
                throw DatabaseError.internalError("IR verification failed: \(error)")
            }
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { [Value.text(String($0))] }
        return QueryResult(columns: [.init(name: "QUERY PLAN", type: .text)], rows: lines.last == [.text("")] ? Array(lines.dropLast()) : lines,
                           commandTag: "EXPLAIN", hasResultSet: true)
    }

    /// The plan's text, its first line ending in PostgreSQL's `(cost=S..T rows=R width=W)`
    /// (postgres_fdw's `use_remote_estimate` reads it there).
    static func withCost(_ plan: PlanNode) -> String {
        var lines = plan.explain().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if !lines.isEmpty { lines[0] += "  " + PlanCost.of(plan).text }
        return lines.joined(separator: "\n")
    }

    /// The subqueries the plan runs per outer row (`__apply_<id>` calls): what neither
    /// decorrelation nor a domain could turn into a join, each with its plan.
    static func appliedSubqueries(_ bound: BoundQuery) -> String {
        guard let plans = bound.applies?.plans, !plans.isEmpty else { return "" }
        // Only those a listed plan calls (binding may have registered others it then dropped).
        var listed: [Int] = [], reached = [bound.plan]
        while let plan = reached.popLast() {
            for id in plans.indices where !listed.contains(id) && plan.callsApplied(id) {
                listed.append(id)
                reached.append(plans[id].query.plan)
            }
        }
        return listed.sorted().map { id in
            let arguments = plans[id].outerColumns.map { "#\($0)" }.joined(separator: ", ")
            return "\nSubPlan __apply_\(id)(\(arguments)): runs once per distinct outer value (not decorrelated)\n"
                + plans[id].query.plan.explain(indent: 1).trimmingCharacters(in: .newlines)
        }.joined()
    }

    /// Runs the query and reports, per pipeline, the rows its source handed out, its time, and
    /// how many morsels ran in each program; then the compile time of each tier of its code.
    func explainAnalyze(_ bound: BoundQuery, parameters: [Value]) throws(DatabaseError) -> String {
        let plan = try executor.plan(bound, policy: jitPolicy)
        let (_, timings) = try executor.run(plan, parameters: parameters, memoryLimit: memoryLimit) { _, _ throws(DatabaseError) in () }
        guard let profile = timings.profile else { return "" }
        func ms(_ value: Double) -> String { String(format3: value) }
        var lines: [String] = []
        for (index, pipeline) in profile.pipelines.enumerated() {
            lines.append(plan.plan.pipelines[index].summary(states: plan.plan.states))
            let morsels = pipeline.morsels.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            lines.append("  rows=\(pipeline.rows) time=\(ms(pipeline.milliseconds)) ms morsels: \(morsels)" + (pipeline.workers > 1 ? " workers: \(pipeline.workers)" : "")
                         + (pipeline.skippedMorsels > 0 ? " skipped by join key ranges: \(pipeline.skippedMorsels)" : ""))
        }
        for tier in profile.compile {
            if let loaded = tier.loaded {
                lines.append("Compilation (\(tier.tier) tier): 0.000 ms: loaded from the code cache in \(ms(loaded)) ms (lowering \(ms(tier.lowering)))")
                continue
            }
            let s = tier.stages
            let path = s.direct ? "LLVM IR (direct) \(ms(s.llvm))" : "MLIR parse \(ms(s.parse)), MLIR to LLVM \(ms(s.convert)), LLVM IR \(ms(s.llvm))"
            lines.append("Compilation (\(tier.tier) tier): \(ms(tier.total)) ms: lowering \(ms(tier.lowering)), upstream \(ms(s.upstream)), "
                         + "\(path), code emission \(ms(s.emit))")
        }
        if profile.compile.isEmpty { lines.append(plan.code == nil ? "Compilation: none (interpreted)" : "Compilation: in progress") }
        lines.append(Database.optimizerLine(bound.optimizerTimings))
        lines.append("Planning: \(ms(plan.times.total)) ms; execution: \(ms(timings.executeMilliseconds)) ms (\(timings.mode))")
        return lines.joined(separator: "\n")
    }

    /// EXPLAIN ANALYZE's line of optimizer passes: each pass's time in order (with how many
    /// plans it ran on when shared plans added runs), then the passes switched off.
    static func optimizerLine(_ timings: [Optimizer.Timing]) -> String {
        let ran = timings.map { timing in
            "\(timing.pass) \(String(format3: timing.milliseconds)) ms" + (timing.runs > 1 ? " (\(timing.runs) plans)" : "")
        }
        let off = Optimizer.passes.map(\.name).filter { name in !timings.contains { $0.pass == name } }
        return "Optimizer: " + (ran.isEmpty ? "no passes" : ran.joined(separator: ", ")) + (off.isEmpty ? "" : "; off: " + off.joined(separator: ", "))
    }
}

extension String {
    /// A number with three decimals (EXPLAIN ANALYZE's times).
    init(format3 value: Double) {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        self = "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
