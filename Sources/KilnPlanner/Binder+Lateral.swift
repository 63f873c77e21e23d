import KilnCore
import KilnSQL

extension Binder {
    /// A value computed for the enclosing query (`Correlation.emptyValue`s) with its outer
    /// references (`.outer(i)`) as the enclosing plan's columns.
    static func overOuterColumns(_ value: BoundExpression) -> BoundExpression {
        value.substitute { e in
            guard case .outer(let i) = e.kind else { return nil }
            return .column(i, type: e.type, nullable: e.nullable)
        }
    }

    /// `left, LATERAL (SELECT ...) alias` and `left [LEFT] JOIN LATERAL (SELECT ...) alias ON
    /// condition`: the subquery may read `left`'s columns. It is decorrelated as a scalar
    /// subquery is (its keys, or over the domain of the columns it reads) and joined to `left`
    /// on them; a correlated aggregate without GROUP BY has one row for every row of `left`
    /// (its values over no rows where nothing matched). Output: `left`'s columns, the
    /// subquery's, then its keys (system columns, never named).
    mutating func bindLateral(_ select: SelectStatement, alias: String, columns: [String]?, position: Int, after left: PlanNode, scope leftScope: Scope,
                              preserve: Bool, on condition: Expression?) throws(DatabaseError) -> (PlanNode, Scope) {
        let savedHost = subqueryHost, savedFilter = domainFilter
        subqueryHost = left
        // WHERE drops the rows of the items before a top-level LATERAL that its conditions
        // reject: their lateral rows are never needed (the domain of `FROM a, b, LATERAL
        // (...)` is read from a and b joined by WHERE, not from their cross product).
        domainFilter = lateralWhere.map { ($0, leftScope) }
        defer {
            subqueryHost = savedHost
            domainFilter = savedFilter
        }
        let (bound, correlation) = try bindDecorrelated(select, scope: leftScope) { correlation in
            correlation.residual.isEmpty && correlation.outerOnly.isEmpty ? nil : "this LATERAL subquery cannot be decorrelated"
        }
        let width = bound.columnNames.count
        if let columns, columns.count > width {
            throw DatabaseError(.invalidColumnReference, "table \"\(alias)\" has \(width) columns available but \(columns.count) columns specified", position: position)
        }
        var names = bound.columnNames
        for (index, column) in (columns ?? []).enumerated() { names[index] = column }
        let join = Binder.correlationJoin(correlation, build: bound.plan, keyColumns: correlation.keys.map(\.inner))
        let leftWidth = left.outputTypes.count
        let buildTypes = join.build.outputTypes
        // Every left row finds exactly one row of a correlated aggregate without GROUP BY.
        let oneRow = correlation.singleRow && correlation.isCorrelated
        var rightScope = Scope()
        for (index, (type, nullable)) in buildTypes.enumerated() {
            if index < width {
                rightScope.entries.append(.init(qualifier: alias, name: names[index], type: type, nullable: nullable || preserve))
            } else {
                rightScope.entries.append(.init(qualifier: alias, name: "\u{1}lateral\(index)", type: type, nullable: true, system: true))
            }
        }
        let scope = leftScope.appending(rightScope)
        let predicate = try condition.map { expression throws(DatabaseError) in try bindCondition(expression, scope: scope, clause: "JOIN/ON") }
        let restricts = predicate.map { if case .constant(.bool(true)) = $0.kind { false } else { true } } ?? false
        var plan = PlanNode.hashJoin(probe: left, build: join.build, probeKeys: join.probe, buildKeys: join.buildKeys, preserveProbe: preserve || oneRow,
                                     residual: preserve && !oneRow && restricts ? predicate : nil)
        let types = plan.outputTypes
        func column(_ index: Int) -> BoundExpression { .column(index, type: types[index].0, nullable: types[index].1) }
        if oneRow {
            // Where no key matched, the aggregates over no rows (count is 0).
            let unmatched = BoundExpression.call("is_null", [join.buildKeys[0].remapColumns { $0 + leftWidth }], type: .boolean, nullable: false)
            var expressions = types.indices.map(column)
            for index in 0..<width where index < correlation.emptyValues.count {
                let empty = Binder.overOuterColumns(correlation.emptyValues[index])
                expressions[leftWidth + index] = .call("case", [unmatched, empty, column(leftWidth + index)], type: types[leftWidth + index].0, nullable: true)
            }
            plan = .project(plan, expressions: expressions, names: types.indices.map { "?column\($0)?" })
            if preserve, restricts, let predicate {
                // LEFT JOIN: a row the condition rejects keeps its left side, NULLs beside it.
                var kept = types.indices.map(column)
                for index in leftWidth..<types.count {
                    kept[index] = .call("case", [predicate, column(index), .constant(.null, type: types[index].0)], type: types[index].0, nullable: true)
                }
                plan = .project(plan, expressions: kept, names: types.indices.map { "?column\($0)?" })
            }
        }
        if !preserve, restricts, let predicate { plan = JoinPlanning.attach(predicate, to: plan) }
        return (plan, scope)
    }
}
