import KilnCore
import KilnSQL

/// How a subquery depends on the query around it, after its binder took the correlated
/// conditions out of its WHERE (decorrelation): the subquery's plan then runs once, and a join
/// on these keys (plus the residual) connects each outer row with its rows.
struct Correlation {
    /// `inner = outer` conditions: an output column of the subquery's plan, and the outer side
    /// as an expression over the outer query's FROM columns.
    var keys: [(inner: Int, outer: BoundExpression)] = []
    /// Other conditions reading outer columns: over the subquery's output columns (`.column`)
    /// and the outer query's FROM columns (`.outer`).
    var residual: [BoundExpression] = []
    /// Conditions on outer columns only (`AND outer.flag`), over the outer query's FROM
    /// columns (`.column`): when false, the subquery has no rows for that outer row.
    var outerOnly: [BoundExpression] = []
    /// The subquery aggregates without GROUP BY: one row per key (exactly one when uncorrelated).
    var singleRow = false
    /// With `singleRow` and keys: the value an outer row without any inner rows sees (the
    /// aggregates over no rows: `count` is 0, others NULL), when it is not simply NULL.
    var emptyValue: BoundExpression?
    /// The keys are a domain's columns (`SubqueryDomain`): NULL matches NULL.
    var domain = false
    /// With `singleRow` and keys: every select-list column's value over no rows.
    var emptyValues: [BoundExpression] = []

    var isCorrelated: Bool { !keys.isEmpty || !residual.isEmpty || !outerOnly.isEmpty }
}

/// A subquery condition that is a conjunct of WHERE: it becomes a semi or anti join.
enum SubqueryConjunct {
    case exists(SelectStatement, negated: Bool, position: Int)
    case inQuery(Expression, SelectStatement, negated: Bool, position: Int)
}

extension Binder {
    /// Binds a subquery that may read the columns of `scope` (the enclosing query's FROM).
    mutating func bindSubquery(_ query: SelectStatement, scope: Scope) throws(DatabaseError) -> (BoundQuery, Correlation) {
        var inner = subqueryBinder(scope: scope)
        let bound = try inner.bind(query)
        parameterTypes = inner.parameterTypes
        return (bound, inner.correlation)
    }

    /// A binder for a subquery that may read `scope`: the same statement (catalog, session,
    /// parameters, applies), one more level of outer scopes.
    func subqueryBinder(scope: Scope) -> Binder {
        var inner = Binder(catalog: catalog, parameterTypes: parameterTypes)
        inner.session = session
        inner.applies = applies
        inner.nested = true
        inner.outerScopes = outerScopes + [scope]
        inner.enclosing = enclosing + [EnclosingLevel(domain: domain, usage: outerUsage)]
        inner.commonTables = commonTables
        return inner
    }

    /// Resolves a name that the local scope lacks in the enclosing queries' scopes.
    func resolveOuter(_ parts: [String], position: Int) throws(DatabaseError) -> BoundExpression? {
        for (depth, outer) in outerScopes.reversed().enumerated() {
            let found: Int
            do { found = try outer.resolve(parts, position: position) } catch {
                if error.sqlState == .ambiguousColumn { throw error }
                continue
            }
            // A column of a query further out is read through the domains of the subqueries
            // in between: each one's domain has it as a column of its own scope.
            var level = outerScopes.count - 1 - depth, index = found
            while level < outerScopes.count - 1 {
                let child = enclosing[level + 1]
                guard let start = child.domain?.start, let column = child.domain?.columns.firstIndex(of: index) else {
                    // That subquery binds again over a domain with this column.
                    child.usage?.columns.insert(index)
                    throw DatabaseError(.featureNotSupported, "a reference to a column of a query \(depth + 1) levels out is not supported here yet", position: position)
                }
                index = start + column
                level += 1
            }
            let entry = outerScopes[level].entries[index]
            outerUsage?.columns.insert(index)
            if let domain {
                guard domain.start != nil else {
                    throw DatabaseError(.featureNotSupported, "outer-query columns in the FROM clause of a subquery are not supported yet", position: position)
                }
                // A column the domain lacks stays an outer reference: the caller sees it in
                // `outerUsage` and binds again with a wider domain.
                if let column = domain.column(for: index, type: entry.type, nullable: entry.nullable) { return column }
            }
            return BoundExpression(.outer(index), type: entry.type, nullable: entry.nullable)
        }
        return nil
    }

    /// Removes the top-level EXISTS / NOT EXISTS / IN / NOT IN / `= ANY` / `<> ALL` conjuncts
    /// from `condition` (leaving TRUE behind).
    static func extractSubqueryConjuncts(_ condition: inout Expression) -> [SubqueryConjunct] {
        let found: SubqueryConjunct
        switch condition.kind {
        case .binary("and", var left, var right):
            let conjuncts = extractSubqueryConjuncts(&left) + extractSubqueryConjuncts(&right)
            condition = Expression(.binary("and", left, right), at: condition.position)
            return conjuncts
        case .inSubquery(let operand, let query, let negated):
            found = .inQuery(operand, query, negated: negated, position: condition.position)
        case .quantified("=", let operand, let query, all: false):
            found = .inQuery(operand, query, negated: false, position: condition.position)
        case .quantified("<>", let operand, let query, all: true):
            found = .inQuery(operand, query, negated: true, position: condition.position)
        case .exists(let query):
            found = .exists(query, negated: false, position: condition.position)
        case .unary("not", let inner):
            guard case .exists(let query) = inner.kind else { return [] }
            found = .exists(query, negated: true, position: condition.position)
        default:
            return []
        }
        condition = Expression(.boolean(true), at: condition.position)
        return [found]
    }

    /// `plan` restricted by a WHERE conjunct over a subquery: a hash semi join (EXISTS, IN) or
    /// anti join (NOT EXISTS, NOT IN) on the correlation keys, the residual checked per match.
    mutating func joinSubqueryConjunct(_ conjunct: SubqueryConjunct, to plan: PlanNode, scope: Scope) throws(DatabaseError) -> PlanNode {
        do {
            return try semiJoinSubqueryConjunct(conjunct, to: plan, scope: scope)
        } catch where error.sqlState == .featureNotSupported {
            // What a semi join cannot express (a correlated NOT IN over nullable values, a
            // reference that skips levels, ...) is a filter by the condition's value, which
            // binds over a domain.
            subqueryHost = plan
            defer { subqueryHost = nil }
            let condition: BoundExpression
            switch conjunct {
            case .exists(let query, let negated, let position):
                let exists = try bindExistsExpression(query, position: position, scope: scope, aggregates: nil)
                condition = negated ? .call("not", [exists], type: .boolean, nullable: exists.nullable) : exists
            case .inQuery(let operand, let query, let negated, let position):
                condition = try bindQuantified(negated ? "<>" : "=", operand, query, all: negated, position: position, scope: scope, aggregates: nil)
            }
            let types = plan.outputTypes
            return .project(.filter(subqueryHost!, predicate: condition), expressions: types.indices.map { .column($0, type: types[$0].0, nullable: types[$0].1) },
                            names: types.indices.map { "?column\($0)?" })
        }
    }

    /// `joinSubqueryConjunct` as a semi or anti join.
    private mutating func semiJoinSubqueryConjunct(_ conjunct: SubqueryConjunct, to plan: PlanNode, scope: Scope) throws(DatabaseError) -> PlanNode {
        let probeWidth = plan.outputTypes.count
        switch conjunct {
        case .exists(let query, let negated, let position):
            let (bound, correlation) = try bindSubquery(query, scope: scope)
            if correlation.singleRow && correlation.isCorrelated {
                throw DatabaseError(.featureNotSupported, "EXISTS over a correlated aggregate without GROUP BY is not supported yet", position: position)
            }
            return .semiJoin(probe: plan, build: bound.plan, probeKeys: correlation.keys.map(\.outer),
                             buildKeys: correlation.keys.map { Binder.output(bound.plan, $0.inner) },
                             residual: Binder.residual(correlation, probeWidth: probeWidth), anti: negated)
        case .inQuery(let operand, let query, let negated, let position):
            let (bound, correlation) = try bindSubquery(query, scope: scope)
            guard bound.columnNames.count == 1 else {
                throw DatabaseError(.syntaxError, "subquery has too many columns", position: position)
            }
            if correlation.singleRow && correlation.isCorrelated {
                throw DatabaseError(.featureNotSupported, "IN over a correlated aggregate without GROUP BY is not supported yet", position: position)
            }
            let (probeKey, buildKey) = try comparable(operand, scope: scope, Binder.output(bound.plan, 0), position: position)
            let probeKeys = [probeKey] + correlation.keys.map(\.outer)
            let buildKeys = [buildKey] + correlation.keys.map { Binder.output(bound.plan, $0.inner) }
            let residual = Binder.residual(correlation, probeWidth: probeWidth)
            let joined = PlanNode.semiJoin(probe: plan, build: bound.plan, probeKeys: probeKeys, buildKeys: buildKeys, residual: residual, anti: negated)
            guard negated, probeKey.nullable || buildKey.nullable else { return joined }
            // NOT IN is NULL (so the row goes) when the value is NULL or the subquery yields a
            // NULL, unless the subquery is empty: the anti join alone would keep such rows.
            if correlation.isCorrelated {
                throw DatabaseError(.featureNotSupported, "correlated NOT IN over nullable values is not supported yet", position: position,
                                    hint: "Use NOT EXISTS, or add IS NOT NULL conditions.")
            }
            let stats = PlanNode.aggregate(bound.plan, keys: [], aggregates: [
                AggregateCall(function: "count_star", argument: nil, type: .bigint, distinct: false),
                AggregateCall(function: "count", argument: buildKey, type: .bigint, distinct: false),
            ])
            let rows = BoundExpression.column(probeWidth, type: .bigint, nullable: false)
            let values = BoundExpression.column(probeWidth + 1, type: .bigint, nullable: false)
            let empty = BoundExpression.call("eq", [rows, .constant(.int64(0), type: .bigint)], type: .boolean)
            let noNulls = BoundExpression.call("and", [.call("is_not_null", [probeKey], type: .boolean, nullable: false),
                                                       .call("eq", [rows, values], type: .boolean)], type: .boolean)
            let checked = PlanNode.filter(.hashJoin(probe: joined, build: stats, probeKeys: [], buildKeys: [], preserveProbe: false),
                                          predicate: .call("or", [empty, noNulls], type: .boolean))
            let types = plan.outputTypes
            return .project(checked, expressions: types.indices.map { .column($0, type: types[$0].0, nullable: types[$0].1) },
                            names: types.indices.map { "?column\($0)?" })
        }
    }

    /// The operand of IN / ANY / ALL and the subquery's column, cast to a common type.
    mutating func comparable(_ operand: Expression, scope: Scope, _ column: BoundExpression, position: Int) throws(DatabaseError) -> (BoundExpression, BoundExpression) {
        var left = try bindExpression(operand, scope: scope, aggregates: nil)
        if left.type == .unknown { left = try coerce(left, to: column.type == .unknown ? .text : column.type, position: operand.position) }
        guard let common = TypeRules.common(left.type, column.type) else {
            throw DatabaseError(.undefinedFunction, "operator does not exist: \(left.type) = \(column.type)", position: position,
                                hint: "No operator matches the given name and argument types. You might need to add explicit type casts.")
        }
        return (try coerce(left, to: common, position: operand.position), try coerce(column, to: common, position: position))
    }

    /// Output column `index` of `plan` as an expression.
    static func output(_ plan: PlanNode, _ index: Int) -> BoundExpression {
        let (type, nullable) = plan.outputTypes[index]
        return .column(index, type: type, nullable: nullable)
    }

    /// The residual of a correlation over a join's columns: the outer query's (probe) first,
    /// the subquery's (build) after them.
    static func residual(_ correlation: Correlation, probeWidth: Int) -> BoundExpression? {
        guard !correlation.residual.isEmpty || !correlation.outerOnly.isEmpty else { return nil }
        let residual = correlation.residual.map { condition in
            condition.substitute { e in
                switch e.kind {
                case .column(let i): return .column(probeWidth + i, type: e.type, nullable: e.nullable)
                case .outer(let i): return .column(i, type: e.type, nullable: e.nullable)
                default: return nil
                }
            }
        }
        // Outer-only conditions already read the probe's columns.
        return JoinPlanning.combine(residual + correlation.outerOnly)
    }

    /// Residual conditions whose outer columns are all equal to inner ones (by a key: `c.oid =
    /// a.x AND a.x <> t.y`) read only the subquery once those are substituted (`c.oid <> t.y`):
    /// they become a filter of the subquery's rows.
    static func filterResidualByKeys(_ bound: inout BoundQuery, _ correlation: inout Correlation) {
        guard !correlation.singleRow else { return }
        var remaining: [BoundExpression] = []
        for condition in correlation.residual {
            var complete = true
            let inner = condition.substitute { e in
                guard case .outer(let i) = e.kind else { return nil }
                guard let key = correlation.keys.first(where: { key in
                    if case .column(let c) = key.outer.kind { return c == i }
                    return false
                }) else {
                    complete = false
                    return nil
                }
                let (type, nullable) = bound.plan.outputTypes[key.inner]
                return .column(key.inner, type: type, nullable: nullable)
            }
            if complete, inner.outerColumnsUsed.isEmpty {
                bound.plan = .filter(bound.plan, predicate: inner)
            } else {
                remaining.append(condition)
            }
        }
        correlation.residual = remaining
    }

    /// Whether every outer-only condition of a correlation holds (nil when there are none):
    /// an outer row for which one fails sees a subquery without rows.
    static func outerCondition(_ correlation: Correlation) -> BoundExpression? {
        guard !correlation.outerOnly.isEmpty else { return nil }
        return .call("coalesce", [JoinPlanning.combine(correlation.outerOnly), .constant(.bool(false), type: .boolean)], type: .boolean, nullable: false)
    }

    // MARK: - Subqueries as values

    /// Joins `build` to the plan the current clause reads (LEFT, on the keys) and returns
    /// `values` (over `build`'s columns) as expressions over the joined plan. In a grouped
    /// query's select list, HAVING or ORDER BY the join comes after the aggregation (only
    /// uncorrelated subqueries: no keys).
    mutating func joinToHost(_ build: PlanNode, probeKeys: [BoundExpression], buildKeys: [BoundExpression], values: [BoundExpression],
                             aggregates: AggregateCollector?, position: Int) throws(DatabaseError) -> [BoundExpression] {
        if let aggregates {
            let index = aggregates.subqueries.count
            aggregates.subqueries.append((build, values, probeKeys: probeKeys, buildKeys: buildKeys))
            return values.indices.map { .call("__subq\(index).\($0)", [], type: values[$0].type, nullable: true) }
        }
        guard let host = subqueryHost else {
            throw DatabaseError(.featureNotSupported, "subqueries are not supported in this context yet", position: position)
        }
        let probeWidth = host.outputTypes.count
        // An uncorrelated subquery that always yields one row (an aggregate without GROUP BY or
        // HAVING, or the one-row check over the subquery's rows) is an inner cross join: then
        // join ordering may put it next to the relation it is compared with, which it filters
        // before the big joins (TPC-DS q06's `d_month_seq = (SELECT ...)`).
        let oneRow = probeKeys.isEmpty && Binder.alwaysOneRow(build)
        subqueryHost = .hashJoin(probe: host, build: build, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: !oneRow)
        return values.map { value in
            var shifted = value.remapColumns { $0 + probeWidth }
            shifted.nullable = true
            return shifted
        }
    }

    /// Whether the plan yields exactly one row whatever its input: an aggregation without keys
    /// (under projections only; a filter such as HAVING could remove the row).
    static func alwaysOneRow(_ plan: PlanNode) -> Bool {
        switch plan {
        case .aggregate(_, let keys, _): return keys.isEmpty
        case .project(let input, _, _): return alwaysOneRow(input)
        case .singleRow: return true
        default: return false
        }
    }

    /// `(SELECT ...)` as a value: at most one row (per outer row), else SQLSTATE 21000.
    mutating func bindScalarSubquery(_ query: SelectStatement, position: Int, scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        let (bound, correlation) = try bindDecorrelated(query, scope: scope) { correlation in
            correlation.residual.isEmpty ? nil : "correlated scalar subqueries support only equality conditions between inner and outer columns yet"
        }
        guard bound.columnNames.count == 1 else {
            throw DatabaseError(.syntaxError, "subquery must return only one column", position: position)
        }
        let keyCount = correlation.keys.count
        var build = bound.plan
        let buildKeys = correlation.keys.map { Binder.output(bound.plan, $0.inner) }
        var keyColumns = correlation.keys.map(\.inner)
        var value = Binder.output(bound.plan, 0)
        if !correlation.singleRow {
            // Count the rows per key, keep the value, and fail on a second row.
            var argument = value
            if argument.type.isString { argument = try coerce(argument, to: .text, position: position) }
            build = .aggregate(build, keys: buildKeys, aggregates: [
                AggregateCall(function: "count_star", argument: nil, type: .bigint, distinct: false),
                AggregateCall(function: "max", argument: argument, type: argument.type, distinct: false),
            ])
            keyColumns = Array(0..<keyCount)
            let rows = BoundExpression.column(keyCount, type: .bigint, nullable: false)
            value = .call("single_row", [rows, .column(keyCount + 1, type: argument.type, nullable: true)], type: argument.type, nullable: true)
        }
        let join = Binder.correlationJoin(correlation, build: build, keyColumns: keyColumns)
        var values = [value]
        // The first key is NULL only for an outer row no inner row matched.
        if correlation.emptyValue != nil { values.append(join.buildKeys[0]) }
        let joined = try joinToHost(join.build, probeKeys: join.probe, buildKeys: join.buildKeys, values: values, aggregates: aggregates, position: position)
        var result = joined[0]
        if let empty = correlation.emptyValue.map(Binder.overOuterColumns) {
            // An outer row with no inner rows sees the aggregates over nothing (count = 0).
            let unmatched = BoundExpression.call("is_null", [joined[1]], type: .boolean, nullable: false)
            result = .call("case", [unmatched, empty, joined[0]], type: joined[0].type, nullable: true)
        }
        guard let holds = Binder.outerCondition(correlation) else { return result }
        let none = correlation.emptyValue.map(Binder.overOuterColumns) ?? .constant(.null, type: result.type)
        return .call("case", [holds, result, none], type: result.type, nullable: true)
    }

    /// `EXISTS (SELECT ...)` inside an expression: a LEFT join on the correlation keys
    /// against the subquery's distinct keys (a mark join).
    mutating func bindExistsExpression(_ query: SelectStatement, position: Int, scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        let (bound, correlation) = try bindDecorrelated(query, scope: scope) { correlation in
            correlation.residual.isEmpty ? nil : "EXISTS with non-equality correlations is supported only as a condition of WHERE (AND-ed) yet"
        }
        // An aggregate without GROUP BY or HAVING has a row whatever it reads.
        if correlation.singleRow { return .constant(.bool(true), type: .boolean) }
        let keys = correlation.keys.map { Binder.output(bound.plan, $0.inner) }
        let build = PlanNode.aggregate(bound.plan, keys: keys, aggregates: [AggregateCall(function: "count_star", argument: nil, type: .bigint, distinct: false)])
        let rows = BoundExpression.column(keys.count, type: .bigint, nullable: false)
        let join = Binder.correlationJoin(correlation, build: build, keyColumns: Array(keys.indices))
        let joined = try joinToHost(join.build, probeKeys: join.probe, buildKeys: join.buildKeys, values: [rows], aggregates: aggregates, position: position)
        // Unmatched (NULL) or zero rows: false.
        let exists = BoundExpression.call("coalesce", [.call("gt", [joined[0], .constant(.int64(0), type: .bigint)], type: .boolean), .constant(.bool(false), type: .boolean)],
                                          type: .boolean, nullable: false)
        guard let holds = Binder.outerCondition(correlation) else { return exists }
        return .call("and", [holds, exists], type: .boolean, nullable: false)
    }

    /// `x [NOT] IN (SELECT ...)` and `x op ANY|ALL (SELECT ...)` inside an expression, with
    /// SQL's three-valued answers, from the subquery's row count, non-NULL count, minimum and
    /// maximum (and, for equality, a LEFT join against its distinct values).
    mutating func bindQuantified(_ op: String, _ operand: Expression, _ query: SelectStatement, all: Bool, position: Int, scope: Scope,
                                 aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        // Over a domain whenever correlated: the answer needs the subquery's statistics per
        // outer row, which only keys can carry.
        let (bound, correlation) = try bindDecorrelated(query, scope: scope) { correlation in
            correlation.isCorrelated ? "correlated IN, ANY and ALL subqueries are supported only as conditions of WHERE (AND-ed) yet" : nil
        }
        guard bound.columnNames.count == 1 else {
            throw DatabaseError(.syntaxError, "subquery has too many columns", position: position)
        }
        let (x, column) = try comparable(operand, scope: scope, Binder.output(bound.plan, 0), position: position)
        var stateColumn = column
        if column.type.isString { stateColumn = try coerce(column, to: .text, position: position) }
        var calls = [AggregateCall(function: "count_star", argument: nil, type: .bigint, distinct: false),
                     AggregateCall(function: "count", argument: stateColumn, type: .bigint, distinct: false)]
        if op != "=" && op != "<>" || all == (op == "=") {
            guard stateColumn.type != .boolean else {
                throw DatabaseError(.featureNotSupported, "\(op) \(all ? "ALL" : "ANY") over boolean subqueries is not supported yet", position: position)
            }
            calls += [AggregateCall(function: "min", argument: stateColumn, type: stateColumn.type, distinct: false),
                      AggregateCall(function: "max", argument: stateColumn, type: stateColumn.type, distinct: false)]
        }
        // Per outer row (its domain keys), or once.
        let keys = correlation.keys.map { Binder.output(bound.plan, $0.inner) }
        let stats = PlanNode.aggregate(bound.plan, keys: keys, aggregates: calls)
        let statValues = (keys.count..<stats.outputTypes.count).map { Binder.output(stats, $0) }
        let statJoin = Binder.correlationJoin(correlation, build: stats, keyColumns: Array(keys.indices))
        var s = try joinToHost(statJoin.build, probeKeys: statJoin.probe, buildKeys: statJoin.buildKeys, values: statValues, aggregates: aggregates, position: position)
        let zero = BoundExpression.constant(.int64(0), type: .bigint)
        if !keys.isEmpty {
            // An outer row without rows in the subquery finds no statistics: it saw 0 rows.
            for i in 0..<2 { s[i] = .call("coalesce", [s[i], zero], type: .bigint, nullable: false) }
        }
        let (rows, values) = (s[0], s[1])
        let null = BoundExpression.constant(.null, type: .boolean)
        let xIsNull = BoundExpression.call("is_null", [x], type: .boolean, nullable: false)
        let someNull = BoundExpression.call("or", [xIsNull, .call("ne", [rows, values], type: .boolean)], type: .boolean, nullable: false)
        func cases(_ arms: [(BoundExpression, BoundExpression)], _ otherwise: BoundExpression) -> BoundExpression {
            .call("case", arms.flatMap { [$0.0, $0.1] } + [otherwise], type: .boolean, nullable: true)
        }
        func compare(_ name: String, _ bound: BoundExpression) -> BoundExpression {
            .call("coalesce", [.call(name, [x, bound], type: .boolean), .constant(.bool(false), type: .boolean)], type: .boolean, nullable: false)
        }
        let isEmpty = BoundExpression.call("eq", [rows, zero], type: .boolean)
        let names = ["=": "eq", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"]
        guard let name = names[op] else {
            throw DatabaseError(.undefinedFunction, "operator does not exist: \(op)", position: position)
        }
        if op == "=" && !all || op == "<>" && all {
            // IN: a match is TRUE; otherwise NULL if x or some value is NULL, else FALSE.
            let distinct = PlanNode.aggregate(bound.plan, keys: [column] + keys, aggregates: [])
            let distinctJoin = Binder.correlationJoin(correlation, build: distinct, keyColumns: keys.indices.map { $0 + 1 })
            let matched = try joinToHost(distinctJoin.build, probeKeys: [x] + distinctJoin.probe, buildKeys: [Binder.output(distinct, 0)] + distinctJoin.buildKeys,
                                         values: [Binder.output(distinct, 0)], aggregates: aggregates, position: position)[0]
            let isIn = cases([(isEmpty, .constant(.bool(false), type: .boolean)),
                              (.call("is_not_null", [matched], type: .boolean, nullable: false), .constant(.bool(true), type: .boolean)),
                              (someNull, null)], .constant(.bool(false), type: .boolean))
            return op == "=" ? isIn : .call("not", [isIn], type: .boolean)
        }
        let (low, high) = (s[2], s[3])
        if !all {
            // x op ANY: TRUE if it holds for the most favourable value.
            let favourable = op == "<" || op == "<=" ? high : op == "<>" ? low : low
            var holds = compare(name, favourable)
            if op == "<>" { holds = .call("or", [compare("ne", low), compare("ne", high)], type: .boolean, nullable: false) }
            return cases([(isEmpty, .constant(.bool(false), type: .boolean)), (holds, .constant(.bool(true), type: .boolean)), (someNull, null)],
                         .constant(.bool(false), type: .boolean))
        }
        // x op ALL: FALSE if it fails for the least favourable value.
        var fails: BoundExpression
        if op == "=" {
            fails = .call("or", [compare("ne", low), compare("ne", high)], type: .boolean, nullable: false)
        } else {
            let unfavourable = op == "<" || op == "<=" ? low : high
            fails = .call("not", [compare(name, unfavourable)], type: .boolean, nullable: false)
            fails = .call("and", [.call("is_not_null", [unfavourable], type: .boolean, nullable: false), fails], type: .boolean, nullable: false)
        }
        return cases([(isEmpty, .constant(.bool(true), type: .boolean)), (xIsNull, null), (fails, .constant(.bool(false), type: .boolean)), (someNull, null)],
                     .constant(.bool(true), type: .boolean))
    }
}
