import KilnCore
import KilnPlanner
import KilnRuntime
import KilnStorage
import Synchronization

/// Morsel-driven parallel pipelines: a pipeline that scans a table and ends in a hash
/// aggregation, a join build or a sort runs on the query's thread and on helpers from the
/// worker pool.
/// Every worker has its own runtime (context, scratch, string arena) with its own scan (the
/// morsels come from one `MorselDispatcher`) and its own sink state; the join tables the
/// pipeline probes are shared, read only. Each worker picks its program at every morsel
/// boundary as the query's thread does (interpreter, fast tier, optimised tier). When the
/// morsels are gone the query's thread waits for the helpers, folds their sink states into its
/// own (groups combined, join entries taken over), and ends the sink once: the pipeline
/// breaker is the phase change.
extension QueryExecutor {
    /// What makes a pipeline parallel: its scan and its sink.
    struct ParallelShape {
        var scan: Int
        var sink: Int
        var table: Table
        var columns: [Int]
        /// The planner's estimate of an aggregation's groups (0: a join build, a sort).
        var expectedGroups = 0
        /// The cursors of LATERAL series: each worker restarts its own for its rows.
        var seriesCursors: [Int] = []
        /// Whether each worker lists its groups by partition as it finishes (a large
        /// aggregation, expected to merge by partition).
        var listsGroupsByPartition: Bool { expectedGroups >= QueryExecutor.partitionedMergeGroups }
    }

    /// The pipeline's parallel shape, when it has one and it pays: a full scan of a table of
    /// two morsels or more, filters, projections, LATERAL series and join probes (not a mark join's), and a
    /// hash aggregation whose aggregates merge, a join build whose entries' order nothing
    /// reads, or a sort (or top-N) that only this pipeline fills (its records are tagged with
    /// their place in the scan's order, so that ties come out as on one worker). Not for queries that call session functions (sequences) or applied
    /// subqueries: those run on the session's thread.
    func parallelShape(_ plan: ExecutablePlan, pipeline index: Int, functions: [RuntimeFunction]) -> ParallelShape? {
        guard threads > 1 else { return nil }
        let pipelines = plan.plan.pipelines
        let pipeline = pipelines[index]
        guard case .scan(let scan) = pipeline.source, case .tableScan(let table, let columns, let access) = plan.plan.states[scan],
              case .full = access else { return nil }
        var seriesCursors: [Int] = []
        for op in pipeline.operators {
            switch op {
            case .filter, .project: continue
            case .hashJoinProbe(_, _, _, let mode, _): if mode == .mark { return nil }
            case .limit: return nil
            case .seriesExpand(let state, _): seriesCursors.append(state)
            }
        }
        // Several pipelines into one aggregation or join table (a UNION ALL's inputs): one
        // worker each, as a merge into a table another pipeline filled is not written for.
        let feeders = pipelines.filter { $0.sinkState == pipeline.sinkState }
        guard feeders.count == 1 else { return nil }
        let sink: Int
        switch pipeline.sink {
        case .hashAggregate(let state, _, let aggregates):
            guard QueryRuntime.aggregatesMerge(aggregates) else { return nil }
            sink = state
        case .sort(let state):
            // A sort buffer (a window buffer runs on one worker), filled by one pipeline only
            // (a UNION ALL's buffer takes several pipelines' rows).
            guard case .sortBuffer = plan.plan.states[state] else { return nil }
            sink = state
        case .hashJoinBuild(let state, _, _):
            // A mark join reads its table's entries in insertion order: one worker builds it.
            let readsEntries = pipelines.contains { if case .hashJoinEntries(let s) = $0.source { return s == state } else { return false } }
            guard !readsEntries else { return nil }
            sink = state
        default:
            return nil
        }
        guard functions.allSatisfy({ !QueryRuntime.sessionFunctionNames.contains($0.name) && !$0.name.hasPrefix("__apply_") }),
              plan.applies?.plans.isEmpty ?? true else { return nil }
        guard table.rowCount >= 2 * min(morselRows, MorselDispatcher.maximumRows) else { return nil }
        var expectedGroups = 0
        if case .hashAggregate(_, _, _, let groups) = plan.plan.states[sink] { expectedGroups = groups }
        return ParallelShape(scan: scan, sink: sink, table: table, columns: columns, expectedGroups: expectedGroups, seriesCursors: seriesCursors)
    }

    /// What a helper needs to run its share of a pipeline.
    struct Helper: @unchecked Sendable {
        // `@unchecked Sendable`: the main runtime and the plan outlive the helpers (the query's
        // thread waits for them), and the helpers only read what they share.
        let plan: ExecutablePlan
        let index: Int
        let shape: ParallelShape
        let main: QueryRuntime
        let values: [Value]
        let memoryLimit: Int
        let snapshot: Snapshot
        let progress: StatementProgress?
        let dispatcher: MorselDispatcher
        let run: ParallelRun
        let start: Program
        let forcedSwitch: Int?
        let tierLimit: CodeTier
        /// The session's cancellation: it reaches the helper's context too.
        let cancellation: QueryCancellation
        /// The query's code, as it is now (a late compile may add it while the pipeline runs).
        let code: @Sendable () -> CodeEntry?
    }

    /// Makes the query's thread the first worker of a parallel pipeline and starts helpers
    /// (they join while it has morsels).
    func startParallel(_ shape: ParallelShape, plan: ExecutablePlan, index: Int, runtime: QueryRuntime, values: [Value], memoryLimit: Int,
                       program: Program, code: CodeEntry?, late: LateCompile?, forcedSwitch: Int?) throws(DatabaseError) -> (ParallelRun, ParallelShape, MorselDispatcher) {
        // Persisted columns are mapped here, once, not by the workers' scans at the same time;
        // the workers check their blocks' checksums as their morsels reach them.
        let stored = shape.columns.filter { $0 >= 0 }
        try shape.table.map(columns: stored)
        try snapshot.localRows(of: shape.table)?.load(columns: stored)
        let context = StopFlags(context: runtime.context)
        let dispatcher = MorselDispatcher(morselRows: morselRows) { context.stopped }
        runtime.shareScan(shape.scan, dispatcher, sink: shape.sink)
        runtime.finishDeferred = true
        let run = ParallelRun()
        // Helpers start in the query thread's program (with a forced switch, the interpreter).
        let helper = Helper(plan: plan, index: index, shape: shape, main: runtime, values: values, memoryLimit: memoryLimit,
                            snapshot: snapshot, progress: runtime.statementProgress, dispatcher: dispatcher, run: run, start: program,
                            forcedSwitch: forcedSwitch, tierLimit: plan.policy.tierLimit,
                            cancellation: cancellation, code: { code ?? late?.entry })
        let rows = shape.table.rowCount
        let morsels = (rows + dispatcher.morselRows - 1) / dispatcher.morselRows
        let helpers = min(threads - 1, morsels - 1)
        workers.submit(copies: helpers) { QueryExecutor.runHelper(helper) }
        return (run, shape, dispatcher)
    }

    /// Groups (over all workers) from which a parallel aggregation merges by partition.
    static let partitionedMergeGroups = 16_384

    /// Runs a partitioned merge on the query's thread and up to `helpers` pool threads: each
    /// takes the next partition until none is left.
    func mergeInParallel(_ merge: PartitionedMerge, helpers: Int) {
        forEachInParallel(count: merge.partitions, helpers: helpers) { merge.merge($0) }
    }

    /// Runs `body(i)` for i in 0..<count on the query's thread and up to `helpers` pool threads
    /// (each takes the next i until none is left); returns when all are done.
    func forEachInParallel(count: Int, helpers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let next = PartitionCounter()
        let work: @Sendable () -> Void = {
            while true {
                let i = next.value.add(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                body(i)
            }
        }
        let run = ParallelRun()
        workers.submit(copies: min(helpers, count - 1)) {
            guard run.join() else { return }
            work()
            run.leave()
        }
        work()
        run.closeAndWait()
    }

    final class PartitionCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// The main context's error and stop flags, read by the dispatcher on every worker.
    struct StopFlags: @unchecked Sendable {
        // `@unchecked Sendable`: the flags are read with atomic loads; the context outlives the helpers.
        let context: UnsafeMutableRawPointer
        var stopped: Bool { ContextFlags.load(context, ContextLayout.error) != 0 }
    }

    /// One helper's share: its own runtime over the shared scan, its program switched at
    /// morsel boundaries as better code becomes ready.
    static func runHelper(_ h: Helper) {
        guard h.run.join() else { return }
        let runtime = QueryRuntime(plan: h.plan.plan, parameterValues: h.values, functions: [], memoryLimit: h.memoryLimit,
                                   worker: (h.main, Set([h.shape.scan, h.shape.sink] + h.shape.seriesCursors)))
        runtime.snapshot = h.snapshot
        runtime.statementProgress = h.progress
        runtime.shareScan(h.shape.scan, h.dispatcher, sink: h.shape.sink)
        runtime.finishDeferred = true
        let flag = runtime.context.advanced(by: ContextLayout.error).assumingMemoryBound(to: Int32.self)
        h.cancellation.attachWorker(flag)
        var profile = PipelineProfile()
        runtime.beginPipeline()
        var program = h.start
        var mayUpgrade = true
        while true {
            runtime.suspendAfterMorsels = program.tier == nil && mayUpgrade ? h.forcedSwitch ?? .max : .max
            let current = program.tier?.rawValue ?? 0
            let limit = h.tierLimit.rawValue
            runtime.upgradeAvailable = mayUpgrade && current < limit ? { _ in
                guard let code = h.code() else { return false }
                return min(code.readyTier.load(ordering: .acquiring), limit) > current
            } : nil
            let morselsBefore = runtime.progress.morsels
            let started = ContinuousClock.now
            program.run(h.index, runtime)
            profile.record(program.name, morsels: runtime.progress.morsels - morselsBefore, milliseconds: QueryExecutor.milliseconds(since: started))
            guard runtime.error == nil, runtime.suspended else { break }
            if let better = h.code()?.best(upTo: h.tierLimit), better.0.rawValue > current {
                program = .native(better.0, better.1, better.2)
            } else {
                mayUpgrade = false
            }
            runtime.resumePipeline()
        }
        profile.rows = runtime.progress.rows
        profile.skippedMorsels = runtime.skippedMorsels(h.shape.scan)
        // A helper's error stops the others: the query's thread reports it.
        if runtime.error != nil { h.dispatcher.stop() } else if h.shape.listsGroupsByPartition { runtime.preparePartitions(h.shape.sink) }
        // Detached before the query's thread may free the runtime (once the helper left).
        h.cancellation.detachWorker(flag)
        h.run.leave(runtime, profile: profile)
    }

    /// After the query's thread ran out of morsels: waits for the helpers, takes the first
    /// error, folds their sink states into the main runtime's and ends the sink.
    func finishParallel(_ run: ParallelRun, _ shape: ParallelShape, runtime: QueryRuntime, profile: inout PipelineProfile) throws(DatabaseError) {
        let started = ContinuousClock.now
        defer { profile.milliseconds += QueryExecutor.milliseconds(since: started) }
        if shape.listsGroupsByPartition, runtime.error == nil { runtime.preparePartitions(shape.sink) }
        run.closeAndWait()
        runtime.finishDeferred = false
        for helper in run.profiles {
            profile.rows += helper.rows
            profile.skippedMorsels += helper.skippedMorsels
            for (program, morsels) in helper.morsels { profile.record(program, morsels: morsels, milliseconds: 0) }
        }
        profile.workers = run.finished.count + 1
        try checkError(runtime)
        if let failed = run.finished.first(where: { $0.error != nil }) { throw failed.error! }
        // The merged states point to strings in the helpers' arenas: they live with the query.
        runtime.retainedWorkers += run.finished
        if runtime.isSortBuffer(shape.sink) {
            // Every worker's sorted records in the serial order (sorted here, once).
            runtime.mergeSorted(shape.sink, workers: run.finished)
            return
        }
        // Many groups: merged by partition on several workers; few: one by one.
        let workers = run.finished.count + 1
        if workers > 1, let merge = runtime.partitionedMerge(shape.sink, workers: run.finished, minimumGroups: QueryExecutor.partitionedMergeGroups) {
            mergeInParallel(merge, helpers: workers - 1)
            try merge.finish()
        } else {
            for helper in run.finished { try runtime.merge(shape.sink, from: helper) }
        }
        runtime.finishState(shape.sink)
        try checkError(runtime)
    }
}
