import KilnCore
import KilnSQL
import KilnStorage

/// Resolves names and types of a parsed statement against the catalog and builds its plan.
///
/// The binder follows PostgreSQL's typing: integer literals are `integer` (or `bigint`/`numeric`
/// when large), decimal literals `numeric`, quoted literals `unknown` until context fixes their
/// type; arithmetic promotes along smallint < integer < bigint < numeric < real < double.
public struct Binder {
    let catalog: Catalog
    /// Types of `$n` inferred so far (index n-1); `unknown` until a use fixes them.
    public internal(set) var parameterTypes: [SQLType]
    /// The session the statement runs in (for `current_user`, `pg_settings`, ...).
    public var session = SessionInfo()
    /// The statement's applied subqueries (shared with every nested binder).
    var applies = ApplyRegistry()
    /// Binding an applied subquery: correlated conditions stay filters, outer columns may appear anywhere.
    var applyMode = false
    /// Where outer references are recorded while binding an applied subquery.
    var outerUsage: OuterUsage?
    /// Binding a subquery over the domain of its outer references (`Binder+Domain.swift`).
    var domain: SubqueryDomain?
    /// The binders of the enclosing query blocks, one per entry of `outerScopes`.
    var enclosing: [EnclosingLevel] = []
    /// While a query block's FROM is bound: its WHERE, whose conditions on the items before a
    /// top-level LATERAL subquery also restrict that subquery's domain.
    var lateralWhere: Expression?
    /// While WHERE is bound: the condition and its scope. Its conjuncts without subqueries
    /// also restrict the outer rows a domain is read from (`plainConjuncts`).
    var domainFilter: (Expression, Scope)?

    public init(catalog: Catalog, parameterTypes: [SQLType] = []) {
        self.catalog = catalog
        self.parameterTypes = parameterTypes
    }

    /// Enclosing queries' FROM scopes, innermost last (for correlated subqueries).
    var outerScopes: [Scope] = []
    /// WITH queries visible here, by name.
    var commonTables: [String: CommonTable] = [:]
    /// The plan the clause being bound reads; scalar subqueries join onto it.
    var subqueryHost: PlanNode?
    /// After binding a subquery: how it depends on the enclosing query.
    var correlation = Correlation()
    /// Binding a subquery or derived table: the outermost query orders the joins once.
    var nested = false
    /// A set operation's branch keeps untyped literals in its select list (the other
    /// branches decide their type).
    var keepUntypedOutputs = false
    /// Window functions of the select list and ORDER BY being bound (nil elsewhere).
    var windowCollector: WindowCollector?
    /// The GROUP BY keys of the query block being bound (what `grouping(...)` may name).
    var groupingKeys: [BoundExpression]?
    /// UPDATE / DELETE: the target table, whose scan (the first reference to it) also reads
    /// each row's `RowID`, as the column `Binder.rowIDName`.
    public var rowIDTable: String?
    /// A name no SQL identifier can spell.
    public static let rowIDName = "\u{1}ctid"

    /// A WITH query and the WITH queries visible where it was defined.
    final class CommonTable {
        let definition: CommonTableExpression
        let visible: [String: CommonTable]
        /// Computed once and read by every reference (`PlanNode.shared`): used more than once
        /// (or `AS MATERIALIZED`, never `AS NOT MATERIALIZED`), and defined where no outer
        /// query's columns are visible, so that its rows are the same at every reference.
        let isShared: Bool
        /// The shared node every reference reads, once the first reference bound it, and its
        /// columns.
        var shared: (node: PlanNode, columns: [Scope.Entry])?
        init(definition: CommonTableExpression, visible: [String: CommonTable], independent: Bool) {
            self.definition = definition
            self.visible = visible
            isShared = independent && (definition.materialized ?? (definition.references >= 2))
        }
    }

    /// Collects aggregate calls while binding a grouped query's expressions.
    final class AggregateCollector {
        var calls: [AggregateCall] = []
        /// Subqueries joined after the aggregation: their plans, the values read from them (over
        /// their columns), and the join keys (a correlated one's outer columns, over the FROM
        /// clause's columns, and its own).
        var subqueries: [(PlanNode, [BoundExpression], probeKeys: [BoundExpression], buildKeys: [BoundExpression])] = []
        /// `grouping(...)` calls: the GROUP BY keys each one names.
        var groupings: [[Int]] = []
        func addGrouping(_ keys: [Int]) -> Int {
            if let existing = groupings.firstIndex(of: keys) { return existing }
            groupings.append(keys)
            return groupings.count - 1
        }
        func add(_ call: AggregateCall) -> Int {
            if let existing = calls.firstIndex(of: call) { return existing }
            calls.append(call)
            return calls.count - 1
        }
    }

    // MARK: - SELECT

    public mutating func bind(_ select: SelectStatement) throws(DatabaseError) -> BoundQuery {
        try StackGuard.check()
        if let locking = select.locking.first {
            // A statement's own locking clause is run by the database (`runLockingSelect`).
            throw DatabaseError(.featureNotSupported, "FOR \(locking.strength.rawValue) is supported only on a SELECT statement of its own, not in a subquery, a cursor or EXPLAIN ANALYZE",
                                position: locking.position)
        }
        let savedTables = commonTables
        defer { commonTables = savedTables }
        for definition in select.with {
            commonTables[definition.name] = CommonTable(definition: definition, visible: commonTables, independent: seesNoOuterColumns)
        }
        if select.setOperation != nil { return try bindSetOperation(select) }
        lateralWhere = select.whereClause
        // (Each branch of a set operation binds its own FROM with the domain.)
        if domain != nil { domain!.start = nil }
        var (plan, scope) = domain != nil && select.from.contains(where: { Binder.isDerivedTable($0, orFunction: true) }) ? try bindFromOverDomain(select.from) : try bindFrom(select.from)
        lateralWhere = nil
        if domain != nil, domain!.start == nil {
            // Every row of the FROM clause with every combination of outer values: outer
            // references now read the domain's columns.
            domain!.start = scope.entries.count
            plan = .hashJoin(probe: plan, build: domain!.plan, probeKeys: [], buildKeys: [], preserveProbe: false)
            for (index, (type, nullable)) in domain!.plan.outputTypes.enumerated() {
                scope.entries.append(.init(qualifier: nil, name: "\u{1}domain\(index)", type: type, nullable: nullable, system: true))
            }
        }
        let correlated = !outerScopes.isEmpty && !applyMode && domain == nil
        var correlatedConditions: [BoundExpression] = []
        if var condition = select.whereClause {
            // EXISTS / IN conjuncts become semi and anti joins above the rest of the WHERE.
            let subqueries = Binder.extractSubqueryConjuncts(&condition)
            subqueryHost = plan
            domainFilter = (condition, scope)
            var predicate = try bindCondition(condition, scope: scope, clause: "WHERE")
            domainFilter = nil
            plan = subqueryHost!
            if correlated {
                // Conditions on outer columns leave the subquery: they become its join.
                let conjuncts = JoinPlanning.split(predicate)
                correlatedConditions = conjuncts.filter { !$0.outerColumnsUsed.isEmpty }
                predicate = JoinPlanning.combine(conjuncts.filter { $0.outerColumnsUsed.isEmpty })
            }
            plan = JoinPlanning.attach(predicate, to: plan)
            for subquery in subqueries { plan = try joinSubqueryConjunct(subquery, to: plan, scope: scope) }
        }
        if correlated, !correlatedConditions.isEmpty, select.limit != nil || select.offset != nil {
            throw DatabaseError(.featureNotSupported, "LIMIT and OFFSET in correlated subqueries are not supported yet", position: select.position)
        }
        // A correlated subquery's order does not matter (and it has no LIMIT); over a domain, LIMIT applies per outer row, in the order of ORDER BY.
        let limited = select.limit != nil || select.offset != nil
        let orderBy = correlatedConditions.isEmpty && (domain == nil || limited) ? select.orderBy : []

        // Expand the select list.
        var items: [(Expression, String)] = []
        for item in select.items {
            switch item {
            case .star(let qualifier, let position):
                let indexes = qualifier == nil ? scope.starEntries : scope.entries.indices.filter { scope.entries[$0].qualifier == qualifier && !scope.entries[$0].system }
                let matching = indexes.map { ($0, scope.entries[$0]) }
                if matching.isEmpty {
                    if qualifier != nil {
                        throw DatabaseError(.undefinedTable, "missing FROM-clause entry for table \"\(qualifier!)\"", position: position)
                    }
                    throw DatabaseError(.syntaxError, "SELECT * with no tables specified is not valid", position: position)
                }
                for (_, entry) in matching {
                    items.append((Expression(.column([entry.qualifier ?? "", entry.name].filter { !$0.isEmpty }), at: position), entry.name))
                }
            case .expression(let expression, let alias):
                items.append((expression, alias ?? Binder.columnName(expression)))
            }
        }

        let hasAggregates = select.items.contains { if case .expression(let e, _) = $0 { return Binder.containsAggregate(e) } else { return false } }
            || (select.having.map(Binder.containsAggregate) ?? false)
            || orderBy.contains { Binder.containsAggregate($0.expression) }
        let grouped = hasAggregates || !select.groupBy.isEmpty || select.having != nil

        var outputs: [BoundExpression] = []
        var names = items.map(\.1)
        var orderKeys: [SortKey] = []
        var hidden = 0
        var correlation = Correlation()
        let windows = WindowCollector()
        defer { windowCollector = nil }

        if grouped {
            let collector = AggregateCollector()
            var keys: [BoundExpression] = []
            subqueryHost = plan
            var keyOfExpression: [Int] = []
            for expression in select.groupBy {
                let key: BoundExpression
                // GROUP BY may name an output column (alias) or its ordinal.
                if case .integer(let text) = expression.kind, !text.hasPrefix("-"), let ordinal = Int(text) {
                    guard ordinal >= 1, ordinal <= items.count else {
                        throw DatabaseError(.invalidColumnReference, "GROUP BY position \(ordinal) is not in select list", position: expression.position)
                    }
                    key = try bindExpression(items[ordinal - 1].0, scope: scope, aggregates: nil)
                } else if case .column(let parts) = expression.kind, parts.count == 1, (try? scope.resolve(parts, position: 0)) == nil,
                          let index = items.firstIndex(where: { $0.1 == parts[0] }) {
                    key = try bindExpression(items[index].0, scope: scope, aggregates: nil)
                } else {
                    if Binder.containsAggregate(expression) {
                        throw DatabaseError(.groupingError, "aggregate functions are not allowed in GROUP BY", position: expression.position)
                    }
                    key = try bindExpression(expression, scope: scope, aggregates: nil)
                }
                // Grouping sets name a key once however often it is written.
                if select.groupingSets != nil, let existing = keys.firstIndex(of: key) {
                    keyOfExpression.append(existing)
                } else {
                    keys.append(key)
                    keyOfExpression.append(keys.count - 1)
                }
            }
            let groupingSets = select.groupingSets.map { sets in
                sets.map { set in Array(Set(set.map { keyOfExpression[$0] })).sorted() }
            }
            let savedGroupingKeys = groupingKeys
            groupingKeys = keys
            defer { groupingKeys = savedGroupingKeys }
            var boundItems: [(BoundExpression, Int)] = []
            windowCollector = windows
            for (expression, _) in items {
                boundItems.append((try bindExpression(expression, scope: scope, aggregates: collector), expression.position))
            }
            windowCollector = nil
            let having = try select.having.map { expression throws(DatabaseError) in
                (try bindCondition(expression, scope: scope, clause: "HAVING", aggregates: collector), expression.position)
            }
            var boundOrder: [(BoundExpression?, OrderItem)] = []
            for item in orderBy {
                try Binder.checkAmbiguous(item.expression, items: items)
                if Binder.outputReference(item.expression, items: items) != nil { boundOrder.append((nil, item)); continue }
                windowCollector = windows
                boundOrder.append((try bindExpression(item.expression, scope: scope, aggregates: collector), item))
                windowCollector = nil
            }
            plan = subqueryHost!
            if !correlatedConditions.isEmpty, !windows.calls.isEmpty {
                // Windows over the rows of all outer rows at once would be wrong: over a
                // domain they are partitioned by outer row.
                throw DatabaseError(.featureNotSupported, "window functions in correlated subqueries are supported only over a domain", position: select.position)
            }
            // Correlation equalities group the subquery by its side of them.
            let userKeys = keys.count
            for condition in correlatedConditions {
                guard let (inner, outer) = Binder.correlationEquality(condition) else {
                    throw DatabaseError(.featureNotSupported, "correlated subqueries with aggregates support only equality conditions between inner and outer columns yet",
                                        position: select.position)
                }
                correlation.keys.append((inner: keys.count, outer: outer))
                keys.append(inner)
            }
            // Over a domain, every group is one outer row's: the domain's columns are keys too.
            let domainKeys = domainColumns(scope, windows: windows)
            for (inner, outer) in domainKeys {
                correlation.keys.append((inner: keys.count, outer: outer))
                keys.append(inner)
            }
            // Split avg into sum and count; each distinct aggregate is computed once (TPC-H Q1's
            // avg(x) reuses its sum(x), and counts of columns that cannot be NULL are count(*)).
            var aggregates: [AggregateCall] = []
            var aggregateOutput: [Int: BoundExpression] = [:]
            func place(_ call: AggregateCall) -> Int {
                var call = call
                if call.function == "count", !call.distinct, call.argument?.nullable == false {
                    call = AggregateCall(function: "count_star", argument: nil, type: .bigint, distinct: false)
                }
                if let existing = aggregates.firstIndex(of: call) { return keys.count + existing }
                aggregates.append(call)
                return keys.count + aggregates.count - 1
            }
            for (index, call) in collector.calls.enumerated() {
                // sum and avg of unconstrained numerics made of static decimals (CASE, COALESCE
                // of numeric(p, s) and integers): summed at their largest static scale, plus the
                // largest scale of the values summed, which PostgreSQL's sum shows. No packed
                // arithmetic per row (TPC-H Q14's `sum(CASE ... ELSE 0 END)`).
                if call.function == "sum" || call.function == "avg", !call.distinct, let argument = call.argument,
                   argument.type == .dynamicNumeric, let parts = try staticDecimalParts(argument) {
                    let sumType = SQLType.numeric(precision: nil, scale: parts.scale)
                    let sum = BoundExpression.column(place(AggregateCall(function: "sum", argument: parts.value, type: sumType, distinct: false)),
                                                     type: sumType, nullable: true)
                    let shown = BoundExpression.column(place(AggregateCall(function: "max", argument: parts.scales, type: .integer, distinct: false)),
                                                       type: .integer, nullable: true)
                    let total = BoundExpression.call("numeric_at_scale", [sum, shown], type: .dynamicNumeric, nullable: true)
                    if call.function == "sum" {
                        aggregateOutput[index] = total
                    } else {
                        let count = BoundExpression.column(place(AggregateCall(function: "count", argument: parts.value, type: .bigint, distinct: false)),
                                                           type: .bigint, nullable: false)
                        aggregateOutput[index] = .call("avg_final", [total, count], type: call.type, nullable: true)
                    }
                    continue
                }
                if call.function == "avg" {
                    let argument = call.argument!
                    let sumType: SQLType = argument.type.isFloat || argument.type == .interval || argument.type == .dynamicNumeric
                        ? argument.type == .real ? .double : argument.type : .numeric(precision: nil, scale: argument.type.scale)
                    let sum = BoundExpression.column(place(AggregateCall(function: "sum", argument: argument, type: sumType, distinct: call.distinct)),
                                                     type: sumType, nullable: true)
                    let count = BoundExpression.column(place(AggregateCall(function: "count", argument: argument, type: .bigint, distinct: call.distinct)),
                                                       type: .bigint, nullable: false)
                    if sumType == .interval {
                        // PostgreSQL's avg(interval): the sum divided by the count as a float8.
                        aggregateOutput[index] = .call("interval_div", [sum, try cast(count, to: .double, position: 0)], type: .interval, nullable: true)
                    } else {
                        aggregateOutput[index] = .call("avg_final", [sum, count], type: call.type, nullable: true)
                    }
                } else {
                    let nullable = call.function != "count" && call.function != "count_star"
                    aggregateOutput[index] = .column(place(call), type: call.type, nullable: nullable)
                }
            }
            // Uncorrelated subqueries outside aggregates join after the aggregation.
            let groupingOutput = collector.groupings.indices.map { BoundExpression.column(keys.count + aggregates.count + $0, type: .integer, nullable: false) }
            let aggregateWidth = keys.count + aggregates.count + collector.groupings.count
            // Keys a grouping set leaves out are NULL in its rows.
            let alwaysGrouped = groupingSets.map { sets in sets.dropFirst().reduce(Set(sets.first ?? [])) { $0.intersection($1) } }
            var subqueryOutput: [[BoundExpression]] = []
            var width = aggregateWidth
            for (build, values, _, _) in collector.subqueries {
                subqueryOutput.append(values.map { v in var shifted = v.remapColumns { $0 + width }; shifted.nullable = true; return shifted })
                width += build.outputTypes.count
            }
            func lift(_ expression: BoundExpression, position: Int) throws(DatabaseError) -> BoundExpression {
                if let key = keys.prefix(userKeys).firstIndex(of: expression) {
                    return .column(key, type: expression.type, nullable: expression.nullable || alwaysGrouped?.contains(key) == false)
                }
                if let key = domainKeys.firstIndex(where: { $0.inner == expression }) {
                    return .column(keys.count - domainKeys.count + key, type: expression.type, nullable: expression.nullable)
                }
                switch expression.kind {
                case .call(let name, let args):
                    if name.hasPrefix("__agg"), let index = Int(name.dropFirst(5)) { return aggregateOutput[index]! }
                    if name.hasPrefix("__grouping"), let index = Int(name.dropFirst(10)) { return groupingOutput[index] }
                    if name.hasPrefix("__subq") {
                        let parts = name.dropFirst(6).split(separator: ".").compactMap { Int($0) }
                        return subqueryOutput[parts[0]][parts[1]]
                    }
                    var lifted: [BoundExpression] = []
                    for arg in args { lifted.append(try lift(arg, position: position)) }
                    return BoundExpression(.call(name, lifted), type: expression.type, nullable: expression.nullable)
                case .column(let index):
                    guard index < scope.entries.count else {
                        throw DatabaseError(.groupingError, "subquery uses ungrouped column from outer query", position: position)
                    }
                    let entry = scope.entries[index]
                    let name = (entry.qualifier.map { $0 + "." } ?? "") + entry.name
                    throw DatabaseError(.groupingError, "column \"\(name)\" must appear in the GROUP BY clause or be used in an aggregate function", position: position)
                case .outer:
                    throw DatabaseError(.featureNotSupported, "outer-query columns outside WHERE of a subquery are not supported yet", position: position)
                case .constant, .parameter, .slot:
                    return expression
                }
            }
            // A correlated subquery groups every set by its side of the correlation too.
            let sets = groupingSets.map { sets in sets.map { $0 + Array(userKeys..<keys.count) } }
            plan = try Binder.groupingSets(plan, keys: keys, sets: sets, aggregates: aggregates, groupings: collector.groupings, position: select.position,
                                           share: seesNoOuterColumns)
            for (build, _, probeKeys, buildKeys) in collector.subqueries {
                // A correlated one joins on its outer columns, which must be grouped.
                var lifted: [BoundExpression] = []
                for key in probeKeys { lifted.append(try lift(key, position: select.position)) }
                plan = .hashJoin(probe: plan, build: build, probeKeys: lifted, buildKeys: buildKeys, preserveProbe: true)
            }
            if let (condition, position) = having {
                plan = .filter(plan, predicate: try lift(condition, position: position))
            }
            for (expression, position) in boundItems { outputs.append(try lift(expression, position: position)) }
            for (bound, item) in boundOrder {
                let column: Int
                if let bound {
                    let lifted = try lift(bound, position: item.expression.position)
                    if let existing = outputs.firstIndex(of: lifted) { column = existing } else {
                        if select.distinct {
                            throw DatabaseError(.invalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list", position: item.expression.position)
                        }
                        outputs.append(lifted); column = outputs.count - 1; hidden += 1
                    }
                } else {
                    let reference = Binder.outputReference(item.expression, items: items)!
                    if case .integer = item.expression.kind, reference >= items.count || reference < 0 {
                        throw DatabaseError(.invalidColumnReference, "ORDER BY position \(reference + 1) is not in select list", position: item.expression.position)
                    }
                    column = reference
                }
                orderKeys.append(SortKey(column: column, descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending))
            }
            // Window functions see the groups: their expressions over the aggregation's output.
            var liftedCalls: [WindowCall] = []
            for var call in windows.calls {
                call.arguments = try call.arguments.map { e throws(DatabaseError) in try lift(e, position: select.position) }
                call.partition = try call.partition.map { e throws(DatabaseError) in try lift(e, position: select.position) }
                call.order = try call.order.map { e throws(DatabaseError) in try lift(e, position: select.position) }
                liftedCalls.append(call)
            }
            Binder.applyWindows(liftedCalls, to: &plan, outputs: &outputs)
            if !correlation.keys.isEmpty {
                correlation.singleRow = select.groupBy.isEmpty && select.having == nil
                if correlation.singleRow {
                    // Over no rows, count is 0 and every other aggregate NULL.
                    // A correlation key is the outer row's value (`.outer`, over the enclosing
                    // query's FROM columns): `count(*) + o.x` is `0 + o.x`.
                    correlation.emptyValues = outputs.prefix(items.count).map { output in
                        output.substitute { e in
                            guard case .column(let c) = e.kind else { return nil }
                            if c >= keys.count, ["count", "count_star"].contains(aggregates[c - keys.count].function) { return .constant(.int64(0), type: .bigint) }
                            if let key = correlation.keys.first(where: { $0.inner == c }) {
                                return key.outer.substitute { o in
                                    guard case .column(let i) = o.kind else { return nil }
                                    return BoundExpression(.outer(i), type: o.type, nullable: o.nullable)
                                }
                            }
                            return .constant(.null, type: e.type)
                        }
                    }
                    if let empty = correlation.emptyValues.first, empty.columnsUsed.isEmpty, !Binder.isNullConstant(empty) { correlation.emptyValue = empty }
                }
                for (index, key) in correlation.keys.enumerated() {
                    outputs.append(.column(key.inner, type: keys[key.inner].type, nullable: keys[key.inner].nullable))
                    correlation.keys[index].inner = outputs.count - 1
                }
            } else if select.groupBy.isEmpty && select.having == nil {
                correlation.singleRow = true
            }
        } else {
            subqueryHost = plan
            windowCollector = windows
            for (expression, _) in items { outputs.append(try bindExpression(expression, scope: scope, aggregates: nil)) }
            for item in orderBy {
                try Binder.checkAmbiguous(item.expression, items: items)
                let column: Int
                if let reference = Binder.outputReference(item.expression, items: items) {
                    if case .integer = item.expression.kind, reference >= items.count || reference < 0 {
                        throw DatabaseError(.invalidColumnReference, "ORDER BY position \(reference + 1) is not in select list", position: item.expression.position)
                    }
                    column = reference
                } else {
                    let bound = try bindExpression(item.expression, scope: scope, aggregates: nil)
                    if let existing = outputs.firstIndex(of: bound) { column = existing } else {
                        if select.distinct {
                            throw DatabaseError(.invalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list", position: item.expression.position)
                        }
                        outputs.append(bound); column = outputs.count - 1; hidden += 1
                    }
                }
                orderKeys.append(SortKey(column: column, descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending))
            }
            windowCollector = nil
            plan = subqueryHost!
            if !correlatedConditions.isEmpty, !windows.calls.isEmpty {
                // Windows over the rows of all outer rows at once would be wrong: over a
                // domain they are partitioned by outer row.
                throw DatabaseError(.featureNotSupported, "window functions in correlated subqueries are supported only over a domain", position: select.position)
            }
            let domainKeys = domainColumns(scope, windows: windows)
            Binder.applyWindows(windows.calls, to: &plan, outputs: &outputs)
            for (inner, outer) in domainKeys {
                outputs.append(inner)
                correlation.keys.append((inner: outputs.count - 1, outer: outer))
            }
            // The subquery's side of each correlation condition becomes an output column.
            for condition in correlatedConditions {
                if let (inner, outer) = Binder.correlationEquality(condition) {
                    outputs.append(inner)
                    correlation.keys.append((inner: outputs.count - 1, outer: outer))
                    continue
                }
                if condition.columnsUsed.isEmpty {
                    correlation.outerOnly.append(condition.substitute { e in
                        if case .outer(let i) = e.kind { return .column(i, type: e.type, nullable: e.nullable) }
                        return nil
                    })
                    continue
                }
                var columns: [Int: Int] = [:]
                for column in condition.columnsUsed.sorted() {
                    let entry = BoundExpression.column(column, type: plan.outputTypes[column].0, nullable: plan.outputTypes[column].1)
                    if let existing = outputs.firstIndex(of: entry) { columns[column] = existing } else {
                        outputs.append(entry)
                        columns[column] = outputs.count - 1
                    }
                }
                correlation.residual.append(condition.remapColumns { columns[$0]! })
            }
        }
        subqueryHost = nil
        if correlated, outputs.contains(where: { !$0.outerColumnsUsed.isEmpty }) || plan.containsExpression({ !$0.outerColumnsUsed.isEmpty }) {
            // Outer columns left in the subquery's plan (an aggregate's argument or FILTER, a
            // GROUP BY key): over a domain they are columns like any other.
            throw DatabaseError(.featureNotSupported, "outer-query columns outside WHERE of a subquery are not supported yet", position: select.position)
        }
        self.correlation = correlation

        let extra = outputs.count - names.count - hidden
        names += (0..<hidden).map { "?hidden\($0)?" } + (0..<extra).map { "?correlation\($0)?" }
        let keepUntyped = keepUntypedOutputs && select.setOperation == nil && !select.distinct && orderKeys.isEmpty && select.limit == nil && select.offset == nil
        keepUntypedOutputs = false
        for (index, output) in outputs.enumerated() where output.type == .unknown && !keepUntyped {
            // An untyped literal in the select list is text, as in PostgreSQL.
            outputs[index] = try coerce(output, to: .text, position: select.position)
        }
        plan = .project(plan, expressions: outputs, names: names)
        if select.distinct {
            let types = plan.outputTypes
            plan = .aggregate(plan, keys: types.enumerated().map { .column($0.offset, type: $0.element.0, nullable: $0.element.1) }, aggregates: [])
        }
        if !orderKeys.isEmpty && domain == nil { plan = .sort(plan, keys: orderKeys) }
        if limited {
            let limit = try select.limit.map { e throws(DatabaseError) in try bindCount(e, scope: scope, what: "LIMIT") }
            let offset = try select.offset.map { e throws(DatabaseError) in try bindCount(e, scope: scope, what: "OFFSET") }
            if domain != nil {
                plan = Binder.limitPerDomainRow(plan, partition: correlation.keys.map(\.inner), order: orderKeys, limit: limit, offset: offset)
            } else {
                plan = .limit(plan, limit: limit, offset: offset)
            }
        }
        if hidden > 0 {
            // ORDER BY's own columns follow the select list's (correlation keys follow them).
            let types = plan.outputTypes
            let kept = Array(0..<items.count) + Array((items.count + hidden)..<types.count)
            plan = .project(plan, expressions: kept.map { .column($0, type: types[$0].0, nullable: types[$0].1) }, names: kept.map { names[$0] })
            names = kept.map { names[$0] }
            for index in self.correlation.keys.indices { self.correlation.keys[index].inner -= hidden }
        }
        return finished(plan, columnNames: Array(names.prefix(items.count)))
    }

    /// A query block's plan as the block's result; the outermost block's after the optimizer's
    /// passes (`Optimizer`), which run once binding is done, over the whole statement.
    func finished(_ plan: PlanNode, columnNames: [String]) -> BoundQuery {
        guard !nested else { return BoundQuery(plan: plan, columnNames: columnNames, parameterTypes: parameterTypes, applies: applies) }
        let (optimized, timings) = Optimizer.run(plan, applies: applies, settings: session.settings)
        var query = BoundQuery(plan: optimized, columnNames: columnNames, parameterTypes: parameterTypes, applies: applies)
        query.optimizerTimings = timings
        return query
    }

    /// `inner = outer` with one side reading only the subquery's columns and the other only
    /// the outer query's: the inner side, and the outer side over the outer query's columns.
    static func correlationEquality(_ condition: BoundExpression) -> (BoundExpression, BoundExpression)? {
        guard case .call("eq", let args) = condition.kind, args.count == 2 else { return nil }
        func isInner(_ e: BoundExpression) -> Bool { !e.columnsUsed.isEmpty && e.outerColumnsUsed.isEmpty }
        func isOuter(_ e: BoundExpression) -> Bool { e.columnsUsed.isEmpty && !e.outerColumnsUsed.isEmpty }
        let outerSide: BoundExpression, innerSide: BoundExpression
        if isInner(args[0]), isOuter(args[1]) { (innerSide, outerSide) = (args[0], args[1]) }
        else if isInner(args[1]), isOuter(args[0]) { (innerSide, outerSide) = (args[1], args[0]) }
        else { return nil }
        let outer = outerSide.substitute { e in
            if case .outer(let i) = e.kind { return .column(i, type: e.type, nullable: e.nullable) }
            return nil
        }
        return (innerSide, outer)
    }

    static func isNullConstant(_ e: BoundExpression) -> Bool {
        if case .constant(let v) = e.kind { return v.isNull }
        return false
    }

    /// PostgreSQL rejects `ORDER BY name` when several output columns of that name differ.
    static func checkAmbiguous(_ expression: Expression, items: [(Expression, String)]) throws(DatabaseError) {
        guard case .column(let parts) = expression.kind, parts.count == 1 else { return }
        let matches = items.filter { $0.1 == parts[0] }.map(\.0.kind)
        if let first = matches.first, matches.contains(where: { $0 != first }) {
            throw DatabaseError(.ambiguousColumn, "ORDER BY \"\(parts[0])\" is ambiguous", position: expression.position)
        }
    }

    /// An ORDER BY item that names an output column (alias or ordinal): its index.
    static func outputReference(_ expression: Expression, items: [(Expression, String)]) -> Int? {
        switch expression.kind {
        // A position; `-1` is an expression (PostgreSQL folds the minus, it is no position).
        case .integer(let text) where !text.hasPrefix("-"): return Int(text).map { $0 - 1 }
        case .column(let parts) where parts.count == 1:
            let matches = items.indices.filter { items[$0].1 == parts[0] }
            return matches.first
        default: return nil
        }
    }

    mutating func bindCount(_ expression: Expression, scope: Scope, what: String) throws(DatabaseError) -> BoundExpression {
        if Binder.containsAggregate(expression) {
            throw DatabaseError(.groupingError, "aggregate functions are not allowed in \(what)", position: expression.position)
        }
        let bound = try bindExpression(expression, scope: Scope(), aggregates: nil)
        guard bound.type.isNumeric || bound.type == .unknown else {
            throw DatabaseError(.datatypeMismatch, "argument of \(what) must be type bigint, not type \(bound.type)", position: expression.position)
        }
        return try coerce(bound, to: .bigint, position: expression.position)
    }

    mutating func bindFrom(_ from: [TableReference]) throws(DatabaseError) -> (PlanNode, Scope) {
        guard let first = from.first else { return (.singleRow, Scope()) }
        var (plan, scope) = try bindReference(first)
        // `FROM a, b`: a cross join; WHERE equalities become its keys (JoinPlanning).
        for reference in from.dropFirst() {
            if case .lateral(let select, let alias, let columns, let position) = reference {
                (plan, scope) = try bindLateral(select, alias: alias, columns: columns, position: position, after: plan, scope: scope, preserve: false, on: nil)
                continue
            }
            // A function may read the items before it (`FROM t, generate_series(1, t.n)`).
            if let joined = try bindTableFunction(reference, after: plan, scope: scope, preserve: false, on: nil) {
                (plan, scope) = joined
                continue
            }
            let (right, rightScope) = try bindReference(reference)
            plan = .hashJoin(probe: plan, build: right, probeKeys: [], buildKeys: [], preserveProbe: false)
            scope = scope.appending(rightScope)
        }
        return (plan, scope)
    }

    /// FROM of a subquery bound over a domain, when it holds derived tables: the domain comes
    /// first, and each derived table is bound as a LATERAL subquery after it, so that the
    /// outer columns it reads (two levels out) are the domain's columns, and it is
    /// decorrelated against them as any LATERAL subquery is.
    mutating func bindFromOverDomain(_ from: [TableReference]) throws(DatabaseError) -> (PlanNode, Scope) {
        var plan = domain!.plan
        var scope = Scope()
        domain!.start = 0
        for (index, (type, nullable)) in plan.outputTypes.enumerated() {
            scope.entries.append(.init(qualifier: nil, name: "\u{1}domain\(index)", type: type, nullable: nullable, system: true))
        }
        for reference in from { (plan, scope) = try bindOverDomain(reference, after: plan, scope: scope, preserve: false, on: nil) }
        return (plan, scope)
    }

    /// One FROM item of `bindFromOverDomain` after `left`: a derived table as a LATERAL
    /// subquery, an INNER, CROSS or LEFT join item by item, anything else as it binds alone.
    private mutating func bindOverDomain(_ reference: TableReference, after left: PlanNode, scope leftScope: Scope, preserve: Bool,
                                         on condition: Expression?) throws(DatabaseError) -> (PlanNode, Scope) {
        switch reference {
        case .subquery(let select, let alias, let columns, let position), .lateral(let select, let alias, let columns, let position):
            return try bindLateral(select, alias: alias, columns: columns, position: position, after: left, scope: leftScope, preserve: preserve, on: condition)
        case .function:
            return try bindTableFunction(reference, after: left, scope: leftScope, preserve: preserve, on: condition)!
        case .join(let l, let r, let kind, let constraint, let position) where !preserve && condition == nil
            && (Binder.isDerivedTable(reference) || Binder.isPlainJoin(kind, constraint)):
            // Item by item, so that an ON condition reads the domain's columns where they are.
            guard kind == .inner || kind == .cross || kind == .left else {
                throw DatabaseError(.featureNotSupported, "RIGHT and FULL joins of derived tables that read outer columns are not supported yet", position: position)
            }
            let (on, plain) = Binder.onCondition(constraint)
            guard plain else {
                throw DatabaseError(.featureNotSupported, "USING and NATURAL joins of derived tables that read outer columns are not supported yet", position: position)
            }
            let (plan, scope) = try bindOverDomain(l, after: left, scope: leftScope, preserve: false, on: nil)
            return try bindOverDomain(r, after: plan, scope: scope, preserve: kind == .left, on: on)
        default:
            // Bound alone, an item cannot read the domain's columns (they are not in its scope):
            // an outer column inside it is refused rather than read from the wrong column.
            let start = domain!.start
            domain!.start = nil
            let alone: (PlanNode, Scope)
            do { alone = try bindReference(reference) } catch {
                domain!.start = start
                throw error
            }
            domain!.start = start
            var (right, rightScope) = alone
            if preserve { for i in rightScope.entries.indices { rightScope.entries[i].nullable = true } }
            let scope = leftScope.appending(rightScope)
            let predicate = try condition.map { expression throws(DatabaseError) in try bindCondition(expression, scope: scope, clause: "JOIN/ON") }
            return (try JoinPlanning.join(probe: left, build: right, on: predicate, preserve: preserve, position: condition?.position ?? 0), scope)
        }
    }

    /// Whether a join is INNER, CROSS or LEFT with ON (or no) condition: one that
    /// `bindOverDomain` binds item by item.
    static func isPlainJoin(_ kind: JoinKind, _ constraint: JoinConstraint?) -> Bool {
        (kind == .inner || kind == .cross || kind == .left) && onCondition(constraint).plain
    }

    /// A join's ON condition (nil without one); `plain` false for USING and NATURAL.
    static func onCondition(_ constraint: JoinConstraint?) -> (condition: Expression?, plain: Bool) {
        switch constraint {
        case .on(let expression): return (expression, true)
        case .using, .natural: return (nil, false)
        case nil: return (nil, true)
        }
    }

    /// Whether a FROM item is or holds a derived table (`(SELECT ...) alias`); with
    /// `orFunction`, or a function in FROM (both may read outer columns, bound after the
    /// domain by `bindFromOverDomain`).
    static func isDerivedTable(_ reference: TableReference, orFunction: Bool = false) -> Bool {
        switch reference {
        case .subquery: return true
        case .function: return orFunction
        case .join(let l, let r, _, _, _): return isDerivedTable(l, orFunction: orFunction) || isDerivedTable(r, orFunction: orFunction)
        default: return false
        }
    }

    mutating func bindReference(_ reference: TableReference) throws(DatabaseError) -> (PlanNode, Scope) {
        switch reference {
        case .table(let name, let alias, let position):
            if let common = commonTables[name] {
                if common.isShared { return try bindShared(common, alias: alias ?? name, position: position) }
                return try bindDerived(common.definition.query, alias: alias ?? name, columns: common.definition.columns, position: position, visible: common.visible)
            }
            if let view = catalog.view(name), let query = view.query as? SelectStatement {
                return try bindDerived(query, alias: alias ?? name, columns: view.columns, position: position, visible: [:], isolated: true)
            }
            // pg_catalog comes first on PostgreSQL's search path: its relations win over user tables.
            let system = SystemCatalog.table(named: name, catalog: catalog, session: session)
            guard let table = system ?? catalog.table(name) else {
                throw DatabaseError(.undefinedTable, "relation \"\(name)\" does not exist", position: position)
            }
            var scope = Scope()
            let qualifier = alias ?? String(name.split(separator: ".").last ?? Substring(name))
            for column in table.columns {
                scope.entries.append(.init(qualifier: qualifier, name: column.name, type: column.type, nullable: !column.notNull))
            }
            var columns = Array(table.columns.indices)
            if system == nil {
                // The system column `ctid` (pruned from the scan unless a query names it).
                scope.entries.append(.init(qualifier: qualifier, name: "ctid", type: .tid, nullable: false, system: true))
                columns.append(Table.tidColumn)
            }
            if system == nil, rowIDTable == name {
                rowIDTable = nil
                scope.entries.append(.init(qualifier: qualifier, name: Binder.rowIDName, type: .bigint, nullable: false, system: true))
                columns.append(Table.rowIDColumn)
            }
            return (.tableScan(table: table, columns: columns), scope)
        case .function(let name, let arguments, let alias, let columnAlias, let position):
            let bound = try bindTableFunction(name, arguments, alias: alias, columnAlias: columnAlias, position: position, over: nil)
            return (bound.plan, bound.scope)
        case .subquery(let select, let alias, let columns, let position), .lateral(let select, let alias, let columns, let position):
            // LATERAL without FROM items before it reads none.
            return try bindDerived(select, alias: alias, columns: columns, position: position, visible: commonTables)
        case .join(let leftReference, let rightReference, let kind, let constraint, let position):
            // Only a top-level FROM item's LATERAL may take WHERE's conditions (`lateralWhere`):
            // below a join, WHERE does not drop the rows its conditions reject (an outer join
            // may NULL-extend them instead).
            let where_ = lateralWhere
            lateralWhere = nil
            defer { lateralWhere = where_ }
            let (left, boundLeftScope) = try bindReference(leftReference)
            if case .lateral(let select, let alias, let columns, let lateralPosition) = rightReference {
                guard kind == .inner || kind == .left || kind == .cross else {
                    throw DatabaseError(.invalidColumnReference, "the combining JOIN type must be INNER or LEFT for a LATERAL reference", position: lateralPosition)
                }
                let (condition, plain) = Binder.onCondition(constraint)
                guard plain else { throw DatabaseError(.featureNotSupported, "USING and NATURAL with LATERAL are not supported yet", position: position) }
                lateralWhere = where_
                return try bindLateral(select, alias: alias, columns: columns, position: lateralPosition, after: left, scope: boundLeftScope,
                                       preserve: kind == .left, on: condition)
            }
            if case .function = rightReference, kind == .inner || kind == .left || kind == .cross {
                let (condition, plain) = Binder.onCondition(constraint)
                if plain, let joined = try bindTableFunction(rightReference, after: left, scope: boundLeftScope, preserve: kind == .left, on: condition) {
                    return joined
                }
            }
            if case .function(let name, let arguments, let alias, let columnAlias, let functionPosition) = rightReference, kind == .right || kind == .full,
               try bindTableFunction(name, arguments, alias: alias, columnAlias: columnAlias, position: functionPosition, over: (left, boundLeftScope)).lateral {
                throw DatabaseError(.invalidColumnReference, "invalid reference to FROM-clause entry in a function in FROM", position: functionPosition,
                                    detail: "The combining JOIN type must be INNER or LEFT for a LATERAL reference.")
            }
            let (right, boundRightScope) = try bindReference(rightReference)
            var leftScope = boundLeftScope, rightScope = boundRightScope
            // An outer join's NULL-extended side can be NULL whatever its columns declare.
            if kind == .right || kind == .full { for i in leftScope.entries.indices { leftScope.entries[i].nullable = true } }
            if kind == .left || kind == .full { for i in rightScope.entries.indices { rightScope.entries[i].nullable = true } }
            var scope = leftScope.appending(rightScope)
            let predicate: BoundExpression
            var merged: [(left: Int, right: Int, type: SQLType)] = []
            switch constraint {
            case nil:
                return (.hashJoin(probe: left, build: right, probeKeys: [], buildKeys: [], preserveProbe: false), scope)
            case .on(let condition):
                predicate = try bindCondition(condition, scope: scope, clause: "JOIN/ON")
            case .using, .natural:
                (predicate, merged) = try bindUsing(constraint!, leftScope: leftScope, rightScope: rightScope, scope: scope, position: position)
            }
            let conditionPosition: Int
            switch constraint {
            case .on(let condition): conditionPosition = condition.position
            case .using(_, let at): conditionPosition = at
            default: conditionPosition = position
            }
            var plan = PlanNode.hashJoin(probe: left, build: right, probeKeys: [], buildKeys: [], preserveProbe: false)
            switch kind {
            case .inner, .cross:
                plan = JoinPlanning.attach(predicate, to: plan)
            case .left:
                plan = try JoinPlanning.leftJoin(probe: left, build: right, on: predicate, position: conditionPosition)
            case .right:
                plan = try JoinPlanning.outerJoin(left: left, right: right, on: predicate, full: false, position: conditionPosition)
            case .full:
                // Both sides are read twice; computed once where they see no outer query.
                let (l, r) = seesNoOuterColumns ? (SharedPlans.shareIfCostly(left), SharedPlans.shareIfCostly(right)) : (left, right)
                plan = try JoinPlanning.outerJoin(left: l, right: r, on: predicate, full: true, position: conditionPosition)
            }
            guard !merged.isEmpty else { return (plan, scope) }
            // The merged columns: the left's (inner and left joins), the right's (right joins), or
            // COALESCE of both (full joins, a projection appends them); the other copies are hidden.
            let offset = leftScope.entries.count
            var mergedIndexes: [Int] = []
            if kind == .full {
                var expressions = scope.entries.indices.map { BoundExpression.column($0, type: scope.entries[$0].type, nullable: scope.entries[$0].nullable) }
                for pair in merged {
                    let l = scope.entries[pair.left], r = scope.entries[offset + pair.right]
                    let coalesced = BoundExpression.call("coalesce", [try coerce(.column(pair.left, type: l.type, nullable: true), to: pair.type, position: conditionPosition),
                                                                      try coerce(.column(offset + pair.right, type: r.type, nullable: true), to: pair.type, position: conditionPosition)],
                                                         type: pair.type, nullable: true)
                    scope.entries[pair.left].hidden = true
                    scope.entries[offset + pair.right].hidden = true
                    mergedIndexes.append(expressions.count)
                    expressions.append(coalesced)
                    scope.entries.append(.init(qualifier: nil, name: l.name, type: pair.type, nullable: l.nullable && r.nullable))
                }
                plan = .project(plan, expressions: expressions, names: scope.entries.map(\.name))
            } else {
                for pair in merged {
                    let keep = kind == .right ? offset + pair.right : pair.left
                    let hide = kind == .right ? pair.left : offset + pair.right
                    scope.entries[hide].hidden = true
                    mergedIndexes.append(keep)
                }
            }
            scope.starOrder = mergedIndexes + scope.starEntries.filter { !mergedIndexes.contains($0) }
            return (plan, scope)
        }
    }

    /// USING (columns) or NATURAL: the equalities of each named column's two sides (in their
    /// common type), and the pairs of entries (left, right) that merge into one column.
    mutating func bindUsing(_ constraint: JoinConstraint, leftScope: Scope, rightScope: Scope, scope: Scope,
                            position: Int) throws(DatabaseError) -> (BoundExpression, [(left: Int, right: Int, type: SQLType)]) {
        var names: [String] = []
        var at = position
        switch constraint {
        case .using(let columns, let usingPosition):
            at = usingPosition
            var seen = Set<String>()
            for name in columns where !seen.insert(name).inserted {
                throw DatabaseError(.duplicateColumn, "column name \"\(name)\" appears more than once in USING clause", position: usingPosition)
            }
            names = columns
        default:
            let rightNames = Set(rightScope.starEntries.map { rightScope.entries[$0].name })
            names = leftScope.starEntries.map { leftScope.entries[$0].name }.filter { rightNames.contains($0) }
        }
        var conjuncts: [BoundExpression] = []
        var merged: [(left: Int, right: Int, type: SQLType)] = []
        let offset = leftScope.entries.count
        for name in names {
            let l = try leftScope.usingColumn(name, side: "left", position: at)
            let r = try rightScope.usingColumn(name, side: "right", position: at)
            let leftEntry = leftScope.entries[l], rightEntry = rightScope.entries[r]
            guard let common = TypeRules.commonValue(leftEntry.type, rightEntry.type) else {
                throw DatabaseError(.datatypeMismatch, "JOIN/USING types \(leftEntry.type) and \(rightEntry.type) cannot be matched", position: at)
            }
            conjuncts.append(try bindBinary("=", .column(l, type: scope.entries[l].type, nullable: scope.entries[l].nullable),
                                            .column(offset + r, type: scope.entries[offset + r].type, nullable: scope.entries[offset + r].nullable),
                                            position: at, leftPosition: at, rightPosition: at))
            merged.append((l, r, common))
        }
        let predicate = conjuncts.isEmpty ? BoundExpression.constant(.bool(true), type: .boolean) : JoinPlanning.combine(conjuncts)
        return (predicate, merged)
    }

    /// A derived table or WITH query: its own query block, planned in place. It cannot read
    /// the FROM items beside it (no LATERAL) but sees the WITH queries of `visible`.
    /// A view is `isolated`: it reads nothing of the query that uses it.
    mutating func bindDerived(_ select: SelectStatement, alias: String, columns: [String]?, position: Int, visible: [String: CommonTable],
                              isolated: Bool = false) throws(DatabaseError) -> (PlanNode, Scope) {
        var inner = Binder(catalog: catalog, parameterTypes: parameterTypes)
        inner.session = session
        inner.applies = applies
        inner.applyMode = applyMode
        inner.outerUsage = outerUsage
        inner.nested = true
        inner.outerScopes = isolated ? [] : outerScopes + [Scope()]
        // An outer column it reads is recorded as this block's (it may then bind over a domain
        // with it: `bindFromOverDomain`).
        inner.enclosing = isolated ? [] : enclosing + [EnclosingLevel(usage: outerUsage)]
        inner.commonTables = visible
        let query = try inner.bind(select)
        parameterTypes = inner.parameterTypes
        if let columns, columns.count > query.columnNames.count {
            throw DatabaseError(.invalidColumnReference, "table \"\(alias)\" has \(query.columnNames.count) columns available but \(columns.count) columns specified", position: position)
        }
        var names = query.columnNames
        for (index, column) in (columns ?? []).enumerated() { names[index] = column }
        var scope = Scope()
        for (name, (type, nullable)) in zip(names, query.plan.outputTypes) {
            scope.entries.append(.init(qualifier: alias, name: name, type: type, nullable: nullable))
        }
        return (query.plan, scope)
    }

    /// No outer query's columns are in scope (a derived table's binder has an empty scope for
    /// the query around it): what is bound here reads the same rows wherever it is used.
    var seesNoOuterColumns: Bool { outerScopes.allSatisfy { $0.entries.isEmpty } && !applyMode }

    /// A reference to a shared WITH query: the first binds and optimises its plan on its own
    /// (it sees no outer query); every reference reads it under its own alias.
    mutating func bindShared(_ common: CommonTable, alias: String, position: Int) throws(DatabaseError) -> (PlanNode, Scope) {
        if common.shared == nil {
            let (plan, scope) = try bindDerived(common.definition.query, alias: alias, columns: common.definition.columns, position: position,
                                                visible: common.visible, isolated: true)
            common.shared = (SharedPlans.share(plan), scope.entries)
        }
        let (node, columns) = common.shared!
        var scope = Scope()
        scope.entries = columns.map { entry in
            var copy = entry
            copy.qualifier = alias
            return copy
        }
        return (node, scope)
    }

    func position(of reference: TableReference) -> Int {
        switch reference {
        case .table(_, _, let p), .function(_, _, _, _, let p), .subquery(_, _, _, let p), .lateral(_, _, _, let p), .join(_, _, _, _, let p): return p
        }
    }

    mutating func bindCondition(_ expression: Expression, scope: Scope, clause: String, aggregates: AggregateCollector? = nil) throws(DatabaseError) -> BoundExpression {
        if aggregates == nil, Binder.containsAggregate(expression) {
            throw DatabaseError(.groupingError, "aggregate functions are not allowed in \(clause)", position: Binder.aggregatePosition(expression) ?? expression.position)
        }
        let bound = try bindExpression(expression, scope: scope, aggregates: aggregates)
        if bound.type == .unknown { return try coerce(bound, to: .boolean, position: expression.position) }
        guard bound.type == .boolean else {
            throw DatabaseError(.datatypeMismatch, "argument of \(clause) must be type boolean, not type \(bound.type)", position: expression.position)
        }
        return bound
    }

    static let aggregateNames: Set<String> = Parser.aggregateFunctions

    public static func containsAggregate(_ expression: Expression) -> Bool { aggregatePosition(expression) != nil }

    static func aggregatePosition(_ expression: Expression) -> Int? {
        switch expression.kind {
        case .function(let name, let args, _, _, let orderBy):
            if aggregateNames.contains(name) { return expression.position }
            return (args + orderBy.map(\.expression)).lazy.compactMap(aggregatePosition).first
        case .unary(_, let e), .isNull(let e, _), .isBool(let e, _, _), .cast(let e, _), .extract(_, let e): return aggregatePosition(e)
        case .binary(_, let a, let b): return aggregatePosition(a) ?? aggregatePosition(b)
        case .between(let a, let b, let c, _): return aggregatePosition(a) ?? aggregatePosition(b) ?? aggregatePosition(c)
        case .inList(let a, let list, _): return aggregatePosition(a) ?? list.lazy.compactMap(aggregatePosition).first
        case .inSubquery(let a, _, _), .quantified(_, let a, _, _): return aggregatePosition(a)
        case .like(let a, let b, let c, _, _): return aggregatePosition(a) ?? aggregatePosition(b) ?? c.flatMap(aggregatePosition)
        case .caseWhen(let operand, let whens, let otherwise):
            return operand.flatMap(aggregatePosition) ?? whens.lazy.compactMap { aggregatePosition($0.0) ?? aggregatePosition($0.1) }.first ?? otherwise.flatMap(aggregatePosition)
        default: return nil
        }
    }

    /// PostgreSQL's default result column name for an expression.
    static func columnName(_ expression: Expression) -> String {
        switch expression.kind {
        case .column(let parts): return parts.last!
        case .function(let name, _, _, _, _): return name.hasPrefix("__") ? "?column?" : name
        case .cast(let inner, let type):
            if case .column = inner.kind { return columnName(inner) }
            if case .function = inner.kind { return columnName(inner) }
            switch type.type {
            case .integer: return "int4"
            case .bigint: return "int8"
            case .smallint: return "int2"
            case .boolean: return "bool"
            case .double: return "float8"
            case .real: return "float4"
            case .numeric, .dynamicNumeric: return "numeric"
            case .varchar: return "varchar"
            case .text: return "text"
            case .date: return "date"
            case .timestamp: return "timestamp"
            case .interval: return "interval"
            case .tid: return "tid"
            case .unknown: return "?column?"
            }
        case .typedLiteral(let type, _):
            switch type.type {
            case .date: return "date"
            case .timestamp: return "timestamp"
            case .interval: return "interval"
            default: return "?column?"
            }
        case .window(let name, _, _, _): return name
        case .caseWhen: return "case"
        case .extract: return "extract"
        case .exists: return "exists"
        case .scalarSubquery(var query):
            // A set operation's columns are named by its first branch's.
            while case .combine(_, _, let first, _)? = query.setOperation { query = first }
            if query.items.count == 1, case .expression(let e, let alias) = query.items[0] { return alias ?? columnName(e) }
            return "?column?"
        case .arraySubquery: return "array"
        default: return "?column?"
        }
    }
}

extension Binder {
    /// Binds one `VALUES` row for INSERT, converting each expression to its column's type.
    /// The RETURNING list of an INSERT, UPDATE or DELETE over the row of `table` the statement
    /// wrote or deleted: its columns are input columns `offset ..< offset + count`.
    public mutating func bindReturning(_ items: [SelectItem], table: Table, qualifier: String, offset: Int) throws(DatabaseError) -> (expressions: [BoundExpression], names: [String]) {
        var scope = Scope()
        for column in table.columns {
            scope.entries.append(.init(qualifier: qualifier, name: column.name, type: column.type, nullable: !column.notNull))
        }
        var expressions: [BoundExpression] = []
        var names: [String] = []
        for item in items {
            switch item {
            case .star(let star, let position):
                if let star, star != qualifier {
                    throw DatabaseError(.undefinedTable, "missing FROM-clause entry for table \"\(star)\"", position: position)
                }
                for (index, column) in table.columns.enumerated() {
                    expressions.append(.column(index + offset, type: column.type, nullable: !column.notNull))
                    names.append(column.name)
                }
            case .expression(let expression, let alias):
                if let position = Binder.aggregatePosition(expression) {
                    throw DatabaseError(.groupingError, "aggregate functions are not allowed in RETURNING", position: position)
                }
                if let position = Binder.subqueryPosition(expression) {
                    throw DatabaseError(.featureNotSupported, "subqueries and window functions in RETURNING are not supported", position: position)
                }
                let bound = try bindExpression(expression, scope: scope, aggregates: nil)
                expressions.append(bound.remapColumns { $0 + offset })
                names.append(alias ?? Binder.columnName(expression))
            }
        }
        return (expressions, names)
    }

    /// Expressions over rows that are the columns of `tables` one after another (each
    /// qualified by its name): ON CONFLICT DO UPDATE's SET and WHERE over the existing row and
    /// `excluded`. No aggregates or subqueries.
    public mutating func bindOverRows(_ expressions: [Expression], tables: [(table: Table, qualifier: String)], clause: String) throws(DatabaseError) -> [BoundExpression] {
        var scope = Scope()
        for (table, qualifier) in tables {
            for column in table.columns {
                scope.entries.append(.init(qualifier: qualifier, name: column.name, type: column.type, nullable: !column.notNull))
            }
        }
        var bound: [BoundExpression] = []
        for expression in expressions {
            if let position = Binder.aggregatePosition(expression) {
                throw DatabaseError(.groupingError, "aggregate functions are not allowed in \(clause)", position: position)
            }
            if let position = Binder.subqueryPosition(expression) {
                throw DatabaseError(.featureNotSupported, "subqueries in \(clause) are not supported yet", position: position)
            }
            bound.append(try bindExpression(expression, scope: scope, aggregates: nil))
        }
        return bound
    }

    /// The position of the first subquery or window function in `expression`, if any.
    public static func subqueryPosition(_ expression: Expression) -> Int? {
        switch expression.kind {
        case .exists, .scalarSubquery, .arraySubquery, .inSubquery, .quantified, .window: return expression.position
        case .integer, .decimal, .string, .boolean, .null, .typedLiteral, .column, .parameter: return nil
        case .unary(_, let a), .isNull(let a, _), .isBool(let a, _, _), .cast(let a, _), .extract(_, let a): return subqueryPosition(a)
        case .binary(_, let a, let b): return subqueryPosition(a) ?? subqueryPosition(b)
        case .between(let a, let b, let c, _): return subqueryPosition(a) ?? subqueryPosition(b) ?? subqueryPosition(c)
        case .inList(let a, let list, _): return subqueryPosition(a) ?? list.lazy.compactMap(subqueryPosition).first
        case .like(let a, let b, let escape, _, _): return subqueryPosition(a) ?? subqueryPosition(b) ?? escape.flatMap(subqueryPosition)
        case .caseWhen(let operand, let whens, let otherwise):
            return operand.flatMap(subqueryPosition) ?? whens.lazy.compactMap { subqueryPosition($0.0) ?? subqueryPosition($0.1) }.first
                ?? otherwise.flatMap(subqueryPosition)
        case .function(_, let arguments, _, _, let orderBy): return (arguments + orderBy.map(\.expression)).lazy.compactMap(subqueryPosition).first
        }
    }

    public mutating func bindValuesRow(_ row: [Expression], columns: [ColumnInfo]) throws(DatabaseError) -> BoundQuery {
        var expressions: [BoundExpression] = []
        for (expression, column) in zip(row, columns) {
            if Binder.containsAggregate(expression) {
                throw DatabaseError(.groupingError, "aggregate functions are not allowed in VALUES", position: expression.position)
            }
            let bound = try bindExpression(expression, scope: Scope(), aggregates: nil)
            expressions.append(try assign(bound, to: column, position: expression.position))
        }
        return BoundQuery(plan: .project(.singleRow, expressions: expressions, names: columns.map(\.name)), columnNames: columns.map(\.name), parameterTypes: parameterTypes,
                          applies: applies)
    }
}
