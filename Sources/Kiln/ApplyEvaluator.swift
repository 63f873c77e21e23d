import KilnCore
import KilnPlanner
import KilnRuntime

/// Runs a statement's applied subqueries for one execution: each `__apply_<id>(values)` call
/// runs the subquery's plan with the outer values (planned once, answers remembered per
/// distinct values), as PostgreSQL's SubPlan does for correlations it cannot flatten.
final class ApplyEvaluator {
    let executor: QueryExecutor
    let applies: ApplyRegistry
    let parameters: [Value]
    let policy: JITPolicy
    let memoryLimit: Int
    private var plans: [Int: QueryExecutor.ExecutablePlan] = [:]
    private var answers: [Int: [[Value]: Value]] = [:]
    static let rememberedAnswers = 10_000

    init(executor: QueryExecutor, applies: ApplyRegistry, parameters: [Value], policy: JITPolicy, memoryLimit: Int) {
        self.executor = executor
        self.applies = applies
        self.parameters = parameters
        self.policy = policy
        self.memoryLimit = memoryLimit
    }

    func evaluate(_ id: Int, _ arguments: [Value]) throws(DatabaseError) -> Value {
        if let known = answers[id]?[arguments] { return known }
        guard id < applies.plans.count else { throw DatabaseError.internalError("no applied subquery \(id)") }
        let apply = applies.plans[id]
        let plan: QueryExecutor.ExecutablePlan
        if let planned = plans[id] {
            plan = planned
        } else {
            plan = try executor.plan(apply.query, policy: policy)
            plans[id] = plan
        }
        let outer = Dictionary(uniqueKeysWithValues: zip(apply.outerColumns, arguments))
        let (rows, _) = try executor.run(plan, parameters: parameters, memoryLimit: memoryLimit, outer: outer) { runtime, plan throws(DatabaseError) in
            runtime.outputRows(layout: plan.outputLayout)
        }
        let answer: Value
        switch apply.mode {
        case .scalar:
            guard rows.count <= 1 else {
                throw DatabaseError(.cardinalityViolation, "more than one row returned by a subquery used as an expression")
            }
            answer = rows.first?.first ?? .null
        case .array:
            answer = .text(ArrayText.format(rows.map { $0.first?.text }))
        }
        if answers[id, default: [:]].count < ApplyEvaluator.rememberedAnswers { answers[id, default: [:]][arguments] = answer }
        return answer
    }
}
