import KilnCore

/// The rewriting passes a bound plan goes through, in order, in one place (`Optimizer.run`).
///
/// The binder builds each query block as written; the outermost block then hands the whole
/// plan here. Every pass preserves the plan's answers, so each can be switched off
/// (`SET optimizer_<name> = off`) to see what it does, or to rule it out; EXPLAIN ANALYZE
/// reports each pass's time, and `Tests/KilnTests/Resources/plans/<name>.test` holds its
/// text-in / text-out tests.
///
/// Shared plans (`PlanNode.shared`, WITH queries read several times) go through the same
/// passes on their own, once each, before the plan around them: what one reference's context
/// allows would change the rows the others read (`SharedPlans`).
public enum Optimizer {
    public struct Pass: Sendable {
        /// The pass's name: `optimizer_<name>` switches it, EXPLAIN ANALYZE reports it.
        public let name: String
        /// Runs on shared plans too (all but the pass that filters them from outside).
        let onSharedPlans: Bool
        let run: @Sendable (PlanNode, Context) -> PlanNode
    }

    /// The passes, in the order they run:
    /// - `join_ordering`: orders each region of inner joins by cost; equalities become hash keys;
    /// - `index_selection`: reads a key's index for equality and range conditions on it;
    /// - `sideways_filtering`: filters a join's probe side by a selective build side's keys;
    /// - `eager_aggregation`: aggregates below a join where that shrinks the join's input;
    /// - `shared_plan_filters`: moves the filters every reference to a shared plan applies
    ///   into that plan;
    /// - `projection_pruning`: drops the columns nothing above reads.
    public static let passes: [Pass] = [
        Pass(name: "join_ordering", onSharedPlans: true) { plan, _ in JoinOrdering.optimize(plan) },
        Pass(name: "index_selection", onSharedPlans: true) { plan, _ in IndexSelection.apply(plan) },
        Pass(name: "sideways_filtering", onSharedPlans: true) { plan, _ in SidewaysFiltering.apply(plan) },
        Pass(name: "eager_aggregation", onSharedPlans: true) { plan, _ in EagerAggregation.apply(plan) },
        Pass(name: "shared_plan_filters", onSharedPlans: false) { plan, context in
            SharedPlans.pushReferenceFilters(plan) { context.optimizeShared($0) }
        },
        Pass(name: "projection_pruning", onSharedPlans: true) { plan, context in
            guard context.runningStatement else { return ProjectionPruning.prune(plan) }
            return ProjectionPruning.prune(plan, narrowable: context.narrowableSharedPlans(plan))
        },
    ]

    /// The setting that switches `pass`.
    public static func settingName(_ pass: Pass) -> String { "optimizer_" + pass.name }

    /// One pass's time over a statement (shared plans' runs included).
    public struct Timing: Sendable, Equatable {
        public let pass: String
        public var milliseconds: Double
        /// How many plans it ran on (the statement's, and each shared plan's).
        public var runs: Int
    }

    /// One statement's optimisation: which passes run, their times, shared plans already done.
    public final class Context {
        let enabled: [Pass]
        public private(set) var timings: [Timing]
        /// Each shared plan's optimised plan, by id.
        private var sharedPlans: [Int: PlanNode] = [:]

        init(enabled: [Pass]) {
            self.enabled = enabled
            timings = enabled.map { Timing(pass: $0.name, milliseconds: 0, runs: 0) }
        }

        /// Whether the passes run on the statement's plan (not a shared plan's).
        private(set) var runningStatement = false
        /// Shared plans the statement's applied subqueries read (never narrowed: they read
        /// them as the statement's plan does not see).
        var appliedSharedPlans: Set<Int> = []

        /// The shared plans of `plan` read only by `plan` itself: not from inside another
        /// shared plan, not by an applied subquery.
        func narrowableSharedPlans(_ plan: PlanNode) -> Set<Int> {
            var referenced: Set<Int> = [], nested: Set<Int> = []
            func walk(_ node: PlanNode) {
                if case .shared(let id, let inner, _) = node {
                    referenced.insert(id)
                    nested.formUnion(Optimizer.sharedIDs(inner))
                    return
                }
                _ = node.mapInputs { input in
                    walk(input)
                    return input
                }
            }
            walk(plan)
            return referenced.subtracting(nested).subtracting(appliedSharedPlans)
        }

        func run(_ plan: PlanNode, sharedPlan: Bool) -> PlanNode {
            runningStatement = !sharedPlan
            defer { runningStatement = false }
            var plan = plan
            for (index, pass) in enabled.enumerated() where pass.onSharedPlans || !sharedPlan {
                let start = ContinuousClock.now
                plan = pass.run(plan, self)
                timings[index].milliseconds += (ContinuousClock.now - start).milliseconds
                timings[index].runs += 1
            }
            return plan
        }

        /// `source` (a shared plan as bound, or filtered) optimised on its own, with the
        /// shared plans it reads optimised first.
        func optimizeShared(_ source: PlanNode) -> PlanNode {
            run(withSharedPlansOptimized(source), sharedPlan: true)
        }

        /// `plan` with every shared plan it reads (at any depth) replaced by its optimised plan.
        func withSharedPlansOptimized(_ plan: PlanNode) -> PlanNode {
            guard case .shared(let id, _, let source) = plan else { return plan.mapInputs(withSharedPlansOptimized) }
            if let done = sharedPlans[id] { return .shared(id: id, plan: done, source: source) }
            let optimized = optimizeShared(source)
            sharedPlans[id] = optimized
            return .shared(id: id, plan: optimized, source: source)
        }
    }

    /// The ids of the shared plans `plan` reads, at any depth.
    static func sharedIDs(_ plan: PlanNode) -> Set<Int> {
        var ids: Set<Int> = []
        func walk(_ node: PlanNode) {
            if case .shared(let id, let inner, _) = node {
                ids.insert(id)
                walk(inner)
                return
            }
            _ = node.mapInputs { input in
                walk(input)
                return input
            }
        }
        walk(plan)
        return ids
    }

    /// Which passes a session runs: all but those its settings switch off.
    public static func enabledPasses(settings: [String: String]) -> [Pass] {
        passes.filter { pass in
            guard let value = settings[settingName(pass)]?.lowercased() else { return true }
            return value != "off" && value != "false"
        }
    }

    /// The statement's bound plan through the enabled passes; its applied subqueries' plans
    /// get their shared plans optimised and their columns pruned (their joins stay as bound:
    /// they run per outer row with the outer values as parameters).
    public static func run(_ plan: PlanNode, applies: ApplyRegistry?, settings: [String: String]) -> (PlanNode, [Timing]) {
        let context = Context(enabled: enabledPasses(settings: settings))
        context.appliedSharedPlans = Set((applies?.plans ?? []).flatMap { sharedIDs($0.query.plan) })
        let optimized = context.run(context.withSharedPlansOptimized(plan), sharedPlan: false)
        if let applies {
            let prunes = context.enabled.contains { $0.name == "projection_pruning" }
            applies.rewritePlans { applied in
                let shared = context.withSharedPlansOptimized(applied)
                return prunes ? ProjectionPruning.prune(shared) : shared
            }
        }
        return (optimized, context.timings)
    }
}
