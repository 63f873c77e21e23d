import KilnCore
import Synchronization

/// WITH queries computed once per execution (`PlanNode.shared`), as PostgreSQL materialises a
/// WITH query used more than once: TPC-DS's `year_total` (q04, q11, q74) is read six times.
///
/// A shared plan is optimised on its own (`Optimizer.Context.optimizeShared`): the rewriting
/// passes of the query around it leave it alone, since what one reference's context allows (a
/// filter pushed down, a sideways semi join) would change the rows the other references read.
///
/// What a reference's filter would have saved is then recovered by `pushReferenceFilters`:
/// when every reference filters, the plan computes only the rows one of them keeps.
public enum SharedPlans {
    private static let counter = Atomic<Int>(0)

    /// A new id for a shared plan (unique in the process, so in every plan).
    static func nextID() -> Int { counter.add(1, ordering: .relaxed).newValue }

    /// `plan` (as bound) as a shared node with a new id; the optimizer fills in its plan.
    static func share(_ plan: PlanNode) -> PlanNode {
        .shared(id: nextID(), plan: plan, source: plan)
    }

    /// `plan` shared when it is read twice and computing it costs more than buffering it: it
    /// aggregates, joins, sorts or computes windows (not a table read, filtered and projected,
    /// which a second scan reads as fast and keeps its scan-level filters). A FULL join reads
    /// both sides twice (a LEFT join, then the right side's unmatched rows): TPC-DS q97's two
    /// aggregations of a year's sales each ran twice.
    static func shareIfCostly(_ plan: PlanNode) -> PlanNode {
        func costly(_ node: PlanNode) -> Bool {
            switch node {
            case .tableScan, .seriesScan, .singleRow, .shared: return false
            case .filter(let input, _), .project(let input, _, _), .limit(let input, _, _): return costly(input)
            default: return true
            }
        }
        return costly(plan) ? share(plan) : plan
    }

    /// When every reference to a shared plan in `plan` (shared plans' own included) is a filter
    /// right above it, the OR of those filters moves into the shared plan, and from there as
    /// deep as it can (`JoinPlanning.attach`: below its projections, its aggregations' keys,
    /// into its joins); every reference keeps its own filter. TPC-DS q39 reads its `inv` twice,
    /// for months 1 and 2: `inv` then aggregates those two months only. `optimize` optimises a
    /// filtered shared plan on its own.
    static func pushReferenceFilters(_ plan: PlanNode, optimize: (PlanNode) -> PlanNode) -> PlanNode {
        // Per shared plan: each reference's filter (nil: a reference without one).
        var filters: [Int: [BoundExpression?]] = [:]
        var inners: [Int: PlanNode] = [:]
        func collect(_ node: PlanNode) {
            switch node {
            case .filter(.shared(let id, let inner, _), let predicate):
                filters[id, default: []].append(predicate.isVolatile ? nil : predicate)
                inners[id] = inner
            case .shared(let id, let inner, _):
                filters[id, default: []].append(nil)
                inners[id] = inner
            default:
                _ = node.mapInputs { input in
                    collect(input)
                    return input
                }
            }
        }
        collect(plan)
        // References inside shared plans count too (each plan once).
        var visited: Set<Int> = []
        while let (id, inner) = inners.first(where: { !visited.contains($0.key) }) {
            visited.insert(id)
            collect(inner)
        }
        guard !filters.isEmpty else { return plan }
        var rewritten: [Int: PlanNode] = [:]
        func rewrite(_ node: PlanNode) -> PlanNode {
            guard case .shared(let id, let inner, let source) = node else { return node.mapInputs(rewrite) }
            if let done = rewritten[id] { return .shared(id: id, plan: done, source: source) }
            let newInner: PlanNode
            if let references = filters[id], references.allSatisfy({ $0 != nil }) {
                var distinct: [BoundExpression] = []
                for case let predicate? in references where !distinct.contains(predicate) { distinct.append(predicate) }
                // Filtered as bound, then optimised again: the joins are ordered knowing the filter.
                newInner = rewrite(optimize(JoinPlanning.attach(BoundExpression.chain("or", distinct), to: source)))
            } else {
                newInner = rewrite(inner)
            }
            rewritten[id] = newInner
            return .shared(id: id, plan: newInner, source: source)
        }
        return rewrite(plan)
    }
}
