import KilnCore
import KilnSQL

/// A correlated subquery that decorrelation cannot turn into a join (a non-equality
/// correlation, outer columns in its select list or FROM functions, `ARRAY(...)`): it runs once
/// per distinct call with the outer row's values as parameters ("apply").
///
/// The subquery keeps its outer references (`.outer(i)`), which the slicer turns into
/// parameter slots; the outer query calls `__apply_<id>(outer columns...)` through the generic
/// runtime call, and the executor answers it by running the subquery's plan.
public struct ApplyPlan: Sendable {
    public enum Mode: Sendable {
        /// One value: NULL without rows, 21000 with more than one.
        case scalar
        /// The first column of every row as an array in its text form (`{a,b}`).
        case array
    }
    public var query: BoundQuery
    /// Which outer columns (`.outer(i)`) the call passes, in argument order.
    public var outerColumns: [Int]
    public var mode: Mode
}

/// Every apply of one statement, nested ones included, by id (the `<id>` of `__apply_<id>`).
/// Filled while binding, read-only afterwards.
public final class ApplyRegistry: @unchecked Sendable {
    // `@unchecked Sendable`: only the binder of the statement appends (one thread), before the
    // statement's plan is shared.
    public private(set) var plans: [ApplyPlan] = []

    public init() {}

    func add(_ plan: ApplyPlan) -> Int {
        plans.append(plan)
        return plans.count - 1
    }

    /// Replaces every applied subquery's plan by `rewrite` of it (the optimizer, once binding is done).
    func rewritePlans(_ rewrite: (PlanNode) -> PlanNode) {
        for index in plans.indices { plans[index].query.plan = rewrite(plans[index].query.plan) }
    }
}

/// The outer columns an applied subquery reads (collected while it is bound).
final class OuterUsage {
    var columns = Set<Int>()
}

extension Binder {
    /// Binds `query` for apply: outer references stay where they are, and the result is the call
    /// that runs it per outer row.
    mutating func bindApplied(_ query: SelectStatement, mode: ApplyPlan.Mode, position: Int, scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        if aggregates != nil {
            throw DatabaseError(.featureNotSupported, "correlated subqueries of this form in the select list, HAVING or ORDER BY of a grouped query are not supported yet",
                                position: position)
        }
        var inner = subqueryBinder(scope: scope)
        inner.applyMode = true
        let usage = OuterUsage()
        inner.outerUsage = usage
        let bound = try inner.bind(query)
        parameterTypes = inner.parameterTypes
        guard bound.columnNames.count == 1 else {
            throw DatabaseError(.syntaxError, "subquery must return only one column", position: position)
        }
        let columns = usage.columns.sorted()
        let elementType = bound.columnTypes[0]
        let type: SQLType = mode == .array ? .text : (elementType == .unknown ? .text : elementType)
        let id = applies.add(ApplyPlan(query: bound, outerColumns: columns, mode: mode))
        let arguments = columns.map { BoundExpression.column($0, type: scope.entries[$0].type, nullable: scope.entries[$0].nullable) }
        return .call("__apply_\(id)", arguments, type: type, nullable: true)
    }
}
