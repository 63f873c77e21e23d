import KilnCore
import KilnSQL

extension Binder {
    /// A function in FROM: `generate_series(start, stop [, step]) [AS] alias[(column)]` over
    /// integers, or over timestamps (or dates) with an interval step.
    ///
    /// `left`: the FROM items before it (their plan and scope), where it may read them (after a
    /// comma, or in an INNER, CROSS or LEFT join): as in PostgreSQL, a function in FROM is
    /// LATERAL with or without the keyword. When its arguments read `left`'s columns, the plan
    /// is `left` expanded by the series of each of its rows (`seriesExpand`; `preserve`: a
    /// LEFT join's row with an empty series stays, its value NULL) and `lateral` is true; else
    /// the plan is the series alone (`seriesScan`), to be joined as a table. `scope`: the
    /// function's own column.
    mutating func bindTableFunction(_ qualifiedName: String, _ arguments: [Expression], alias: String?, columnAlias: String?, position: Int,
                                    over left: (plan: PlanNode, scope: Scope)?, preserve: Bool = false) throws(DatabaseError) -> (plan: PlanNode, scope: Scope, lateral: Bool) {
        let name = qualifiedName.hasPrefix("pg_catalog.") ? String(qualifiedName.dropFirst(11)) : qualifiedName
        guard name == "generate_series" else {
            throw DatabaseError(.undefinedFunction, "function \(name) does not exist", position: position)
        }
        guard arguments.count == 2 || arguments.count == 3 else {
            throw DatabaseError(.undefinedFunction, "function generate_series with \(arguments.count) arguments does not exist", position: position)
        }
        var bound: [BoundExpression] = []
        for argument in arguments {
            if Binder.containsAggregate(argument) {
                throw DatabaseError(.groupingError, "aggregate functions are not allowed in functions in FROM", position: argument.position)
            }
            bound.append(try bindExpression(argument, scope: left?.scope ?? Scope(), aggregates: nil))
        }
        let series: (start: BoundExpression, stop: BoundExpression, step: BoundExpression, type: SQLType)
        // generate_series(timestamp | date, timestamp | date, interval): a timestamp series.
        let temporal: Set<SQLType> = [.timestamp, .date]
        if bound.count == 3, bound[2].type == .interval || temporal.contains(bound[0].type) || temporal.contains(bound[1].type) {
            for (index, argument) in bound.enumerated() where argument.type != .unknown && (index == 2 ? argument.type != .interval : !temporal.contains(argument.type)) {
                throw DatabaseError(.undefinedFunction, "function generate_series(\(bound.map { $0.type.description }.joined(separator: ", "))) does not exist", position: arguments[index].position,
                                    hint: "A timestamp series takes two timestamps (or dates) and an interval.")
            }
            /// A bound (a date, a timestamp or an untyped literal) as a timestamp.
            func timestamp(_ index: Int) throws(DatabaseError) -> BoundExpression {
                let typed = try coerce(bound[index], to: bound[index].type == .unknown ? .timestamp : bound[index].type, position: arguments[index].position)
                return try cast(typed, to: .timestamp, position: arguments[index].position)
            }
            series = (try timestamp(0), try timestamp(1), try coerce(bound[2], to: .interval, position: arguments[2].position), .timestamp)
        } else {
            var type: SQLType = .integer
            for (index, argument) in bound.enumerated() {
                let t = argument.type == .unknown ? SQLType.integer : argument.type
                guard t.isInteger else {
                    throw DatabaseError(.undefinedFunction, "function generate_series(\(bound.map { $0.type.description }.joined(separator: ", "))) does not exist", position: arguments[index].position,
                                        hint: "Only integer series are supported.")
                }
                if t == .bigint { type = .bigint }
            }
            let coerced = try bound.enumerated().map { (i, b) throws(DatabaseError) in try coerce(b, to: type, position: arguments[i].position) }
            let step = coerced.count == 3 ? coerced[2] : BoundExpression.constant(type == .bigint ? .int64(1) : .int32(1), type: type)
            series = (coerced[0], coerced[1], step, type)
        }
        let lateral = left != nil && [series.start, series.stop, series.step].contains { !$0.columnsUsed.isEmpty }
        var scope = Scope()
        scope.entries.append(.init(qualifier: alias ?? "generate_series", name: columnAlias ?? alias ?? "generate_series", type: series.type, nullable: preserve))
        guard lateral, let left else {
            return (.seriesScan(start: series.start, stop: series.stop, step: series.step, type: series.type), scope, false)
        }
        let expansion = LateralSeries(start: series.start, stop: series.stop, step: series.step, type: series.type, preserve: preserve, residual: nil)
        return (.seriesExpand(left.plan, series: expansion), scope, true)
    }

    /// `left, generate_series(...)` and `left [LEFT] JOIN generate_series(...) ON condition`
    /// (`bindTableFunction`), joined: an INNER join's condition filters the expanded rows; a
    /// LEFT join's decides which values count (`LateralSeries.residual`).
    mutating func bindTableFunction(_ reference: TableReference, after left: PlanNode, scope leftScope: Scope, preserve: Bool,
                                    on condition: Expression?) throws(DatabaseError) -> (PlanNode, Scope)? {
        guard case .function(let name, let arguments, let alias, let columnAlias, let position) = reference else { return nil }
        let bound = try bindTableFunction(name, arguments, alias: alias, columnAlias: columnAlias, position: position, over: (left, leftScope), preserve: preserve)
        let scope = leftScope.appending(bound.scope)
        let predicate = try condition.map { expression throws(DatabaseError) in try bindCondition(expression, scope: scope, clause: "JOIN/ON") }
        let restricts = predicate.map { $0.kind != .constant(.bool(true)) } ?? false
        guard bound.lateral, case .seriesExpand(let input, var series) = bound.plan else {
            return (try JoinPlanning.join(probe: left, build: bound.plan, on: predicate, preserve: preserve, position: condition?.position ?? position), scope)
        }
        if preserve {
            series.residual = restricts ? predicate : nil
            return (.seriesExpand(input, series: series), scope)
        }
        return (predicate.map { JoinPlanning.attach($0, to: bound.plan) } ?? bound.plan, scope)
    }
}
