import KilnCore
import KilnSQL

/// The distinct values of the outer columns a correlated subquery reads (its "domain", after
/// Neumann and Kemper, "Unnesting Arbitrary Queries"): joined into the subquery's FROM, every
/// outer reference becomes a column of it, so any correlation — a non-equality, an outer
/// column in the select list or an aggregate's argument — is an ordinary condition of the
/// subquery, which then runs once for all outer rows. Its result carries the domain's columns,
/// and the enclosing query joins it back on them (NULL matching NULL).
struct SubqueryDomain {
    /// One row per distinct combination of the outer columns' values, one column each.
    var plan: PlanNode
    /// The enclosing scope's columns, in the order of the domain's.
    var columns: [Int]
    /// Where the domain's columns begin in the subquery's scope (once its FROM is bound).
    var start: Int?

    /// The domain's column for outer column `index`, as an expression of the subquery's scope
    /// (nil: not a domain column).
    func column(for index: Int, type: SQLType, nullable: Bool) -> BoundExpression? {
        guard let start, let position = columns.firstIndex(of: index) else { return nil }
        return .column(start + position, type: type, nullable: nullable)
    }
}

/// What a subquery's binder knows of an enclosing query block's binder: a reference that
/// skips levels reads the column through the domains of the blocks in between.
struct EnclosingLevel {
    /// The block's domain, when it is bound over one.
    var domain: SubqueryDomain?
    /// Where the block records the outer columns it needs (its binder's `outerUsage`).
    var usage: OuterUsage?
}

extension Binder {
    /// Binds a correlated subquery for a value position (scalar, EXISTS, IN / ANY / ALL):
    /// decorrelated by its binder when its correlations are equalities between inner and outer
    /// columns, otherwise (`unsupported` names what the position cannot join on) over the
    /// domain of its outer references. Errors are the first binding's when the domain cannot
    /// help either.
    mutating func bindDecorrelated(_ query: SelectStatement, scope: Scope, unsupported: (Correlation) -> String?) throws(DatabaseError) -> (BoundQuery, Correlation) {
        let usage = OuterUsage()
        let failure: DatabaseError
        do {
            var inner = subqueryBinder(scope: scope)
            inner.outerUsage = usage
            var bound = try inner.bind(query)
            parameterTypes = inner.parameterTypes
            var correlation = inner.correlation
            Binder.filterResidualByKeys(&bound, &correlation)
            guard let message = unsupported(correlation) else { return (bound, correlation) }
            failure = DatabaseError(.featureNotSupported, message, position: query.position)
        } catch where error.sqlState == .featureNotSupported {
            failure = error
        }
        guard var host = subqueryHost, !usage.columns.isEmpty, !host.callsVolatile else { throw failure }
        // Only the outer rows the rest of WHERE keeps need the subquery's answer.
        if let (condition, whereScope) = domainFilter, let filter = plainConjuncts(condition, scope: whereScope) {
            host = .filter(host, predicate: filter)
        }
        // Outer columns found only while binding over the domain (behind an error of the first
        // binding) widen it, and it is bound again.
        var columns = usage.columns.sorted()
        for _ in 0..<4 {
            let types = columns.map { (scope.entries[$0].type, scope.entries[$0].nullable) }
            let values = PlanNode.project(host, expressions: columns.indices.map { .column(columns[$0], type: types[$0].0, nullable: types[$0].1) },
                                          names: columns.indices.map { "?domain\($0)?" })
            let distinct = PlanNode.aggregate(values, keys: columns.indices.map { .column($0, type: types[$0].0, nullable: types[$0].1) }, aggregates: [])
            var inner = subqueryBinder(scope: scope)
            let seen = OuterUsage()
            inner.outerUsage = seen
            inner.domain = SubqueryDomain(plan: distinct, columns: columns)
            do {
                let bound = try inner.bind(query)
                if seen.columns.isSubset(of: columns) {
                    parameterTypes = inner.parameterTypes
                    var correlation = inner.correlation
                    correlation.domain = true
                    return (bound, correlation)
                }
            } catch {
                if seen.columns.isSubset(of: columns) { throw error.sqlState == .featureNotSupported ? failure : error }
            }
            columns = seen.columns.union(columns).sorted()
        }
        throw failure
    }

    /// The join between the enclosing query's rows (`correlation.keys`' outer sides) and a
    /// decorrelated subquery's rows: `build` (the subquery's plan, its key columns
    /// `keyColumns` in the keys' order), possibly with columns appended, and the keys on both
    /// sides. A domain's keys match NULL with NULL: a nullable one becomes (coalesce(key,
    /// zero), key IS NULL), the build side's computed into columns of its own. The first build
    /// key is then a column that is NULL only where no build row matched.
    static func correlationJoin(_ correlation: Correlation, build: PlanNode, keyColumns: [Int]) -> (build: PlanNode, probe: [BoundExpression], buildKeys: [BoundExpression]) {
        let types = build.outputTypes
        var columns = types.indices.map { BoundExpression.column($0, type: types[$0].0, nullable: types[$0].1) }
        var probeKeys: [BoundExpression] = [], buildKeys: [BoundExpression] = []
        for (key, column) in zip(correlation.keys, keyColumns) {
            let outer = key.outer, inner = columns[column]
            guard correlation.domain, outer.nullable || inner.nullable, let zero = zero(of: inner.type) else {
                probeKeys.append(outer)
                buildKeys.append(inner)
                continue
            }
            probeKeys += nullSafePair(outer, zero: zero)
            columns += nullSafePair(inner, zero: zero)
            buildKeys += [.column(columns.count - 2, type: inner.type, nullable: false), .column(columns.count - 1, type: .boolean, nullable: false)]
        }
        guard columns.count > types.count else { return (build, probeKeys, buildKeys) }
        return (.project(build, expressions: columns, names: columns.indices.map { "?column\($0)?" }), probeKeys, buildKeys)
    }
}

extension PlanNode {
    /// Whether computing the plan twice could give different rows (it calls a volatile function
    /// or runs applied subqueries): a domain cannot then be read from a copy of it.
    var callsVolatile: Bool { containsExpression { $0.isVolatile || $0.callsApply } }

    /// Whether an expression of this node or of its inputs (not inside shared plans) satisfies
    /// `test`.
    func containsExpression(_ test: (BoundExpression) -> Bool) -> Bool {
        var expressions: [BoundExpression] = []
        switch self {
        case .tableScan, .singleRow, .shared, .sort, .unionAll: break
        case .seriesScan(let start, let stop, let step, _): expressions = [start, stop, step]
        case .filter(_, let predicate): expressions = [predicate]
        case .project(_, let projected, _): expressions = projected
        case .aggregate(_, let keys, let aggregates): expressions = keys + aggregates.compactMap(\.argument)
        case .limit(_, let limit, let offset): expressions = [limit, offset].compactMap { $0 }
        case .semiJoin(_, _, let probeKeys, let buildKeys, let residual, _):
            expressions = probeKeys + buildKeys + [residual].compactMap { $0 }
        case .hashJoin(_, _, let probeKeys, let buildKeys, _, let residual):
            expressions = probeKeys + buildKeys + [residual].compactMap { $0 }
        case .window(_, let calls): expressions = calls.flatMap { $0.arguments + $0.partition + $0.order }
        case .seriesExpand(_, let series): expressions = series.expressions
        }
        if expressions.contains(where: test) { return true }
        var found = false
        _ = mapInputs { input in
            if !found, input.containsExpression(test) { found = true }
            return input
        }
        return found
    }
}

extension PlanNode {
    /// Whether it calls applied subquery `id` (`__apply_<id>`, `ApplyRegistry`).
    public func callsApplied(_ id: Int) -> Bool {
        containsExpression { $0.calls { $0 == "__apply_\(id)" } }
    }
}

extension BoundExpression {
    /// Whether it calls an applied subquery (`__apply_<id>`).
    var callsApply: Bool { calls { $0.hasPrefix("__apply_") } }

    /// Whether it or an argument calls a function whose name `test` accepts.
    func calls(_ test: (String) -> Bool) -> Bool {
        guard case .call(let name, let args) = kind else { return false }
        return test(name) || args.contains { $0.calls(test) }
    }
}

extension Binder {
    /// Over a domain: its columns in the subquery's scope, each with the outer column it
    /// stands for (over the enclosing query's FROM columns). Empty without a domain. Window
    /// functions then partition by them first: each outer row's rows are a window of their own.
    func domainColumns(_ scope: Scope, windows: WindowCollector) -> [(inner: BoundExpression, outer: BoundExpression)] {
        guard let domain, let start = domain.start else { return [] }
        let columns: [(inner: BoundExpression, outer: BoundExpression)] = domain.columns.indices.map { index in
            let entry = scope.entries[start + index]
            return (.column(start + index, type: entry.type, nullable: entry.nullable),
                    .column(domain.columns[index], type: entry.type, nullable: entry.nullable))
        }
        for index in windows.calls.indices { windows.calls[index].partition.insert(contentsOf: columns.map(\.inner), at: 0) }
        return columns
    }
}

extension Binder {
    /// LIMIT / OFFSET of a subquery bound over a domain: per outer row (the `partition`
    /// columns), its rows numbered in `order`, those after `offset` and up to `limit` kept.
    static func limitPerDomainRow(_ plan: PlanNode, partition: [Int], order: [SortKey], limit: BoundExpression?, offset: BoundExpression?) -> PlanNode {
        let types = plan.outputTypes
        func column(_ index: Int) -> BoundExpression { .column(index, type: types[index].0, nullable: types[index].1) }
        let number = WindowCall(function: "row_number", arguments: [], offset: 0, type: .bigint, partition: partition.map(column),
                                order: order.map { column($0.column) }, orderKeys: order.map { (descending: $0.descending, nullsFirst: $0.nullsFirst) },
                                frame: .standard)
        let row = BoundExpression.column(types.count, type: .bigint, nullable: false)
        let skipped = offset ?? .constant(.int64(0), type: .bigint)
        var conditions = [BoundExpression.call("gt", [row, skipped], type: .boolean, nullable: skipped.nullable)]
        if let limit {
            let last = BoundExpression.call("add", [skipped, limit], type: .bigint, nullable: skipped.nullable || limit.nullable)
            // LIMIT NULL is no limit.
            conditions.append(.call("or", [.call("is_null", [limit], type: .boolean, nullable: false),
                                           .call("le", [row, last], type: .boolean, nullable: last.nullable)], type: .boolean, nullable: last.nullable))
        }
        let numbered = PlanNode.filter(.window(plan, calls: [number]), predicate: JoinPlanning.combine(conditions))
        return .project(numbered, expressions: types.indices.map(column), names: types.indices.map { "?column\($0)?" })
    }
}

extension Binder {
    /// The top-level AND-ed conjuncts of `condition` that bind without subqueries, outer
    /// columns or volatile calls, bound over `scope` and combined (nil: none).
    func plainConjuncts(_ condition: Expression, scope: Scope) -> BoundExpression? {
        var conjuncts: [BoundExpression] = []
        func collect(_ expression: Expression) {
            if case .binary("and", let left, let right) = expression.kind {
                collect(left)
                collect(right)
                return
            }
            // Without a host, a subquery fails to bind: only plain conditions remain.
            var probe = self
            probe.subqueryHost = nil
            probe.domainFilter = nil
            probe.outerUsage = nil
            guard let bound = try? probe.bindExpression(expression, scope: scope, aggregates: nil), bound.type == .boolean,
                  bound.outerColumnsUsed.isEmpty, !bound.isVolatile, !bound.callsApply else { return }
            conjuncts.append(bound)
        }
        collect(condition)
        return conjuncts.isEmpty ? nil : JoinPlanning.combine(conjuncts)
    }
}
