import KilnCore
import KilnSQL

extension Binder {
    /// `left UNION|INTERSECT|EXCEPT [ALL] right`, then the statement's ORDER BY / LIMIT over
    /// the result's columns.
    ///
    /// UNION ALL appends the inputs into one buffer; UNION groups the appended rows by every
    /// column. INTERSECT and EXCEPT append both sides with a marker column each and group: a
    /// row is in the result when both sides (INTERSECT) or only the left side (EXCEPT) had it.
    /// INTERSECT ALL and EXCEPT ALL number the copies of each row on both sides and semi / anti
    /// join on the row and its copy number.
    mutating func bindSetOperation(_ select: SelectStatement) throws(DatabaseError) -> BoundQuery {
        guard case .combine(let op, let all, let leftSelect, let rightSelect) = select.setOperation else {
            throw DatabaseError.internalError("not a set operation")
        }
        let name = op.rawValue.uppercased()
        // Over a domain (a correlated subquery), each branch is bound over it and carries its
        // columns after the select list's: the operation then works per outer row, and its
        // result carries them as one branch would (LIMIT / OFFSET too: per outer row).
        var domainKeys: [(inner: Int, outer: BoundExpression)] = []
        // A chain `a UNION ALL b UNION ALL c ...` (a VALUES list is one) is bound branch by
        // branch into one append: binding it level by level re-bound and pruned the whole left
        // side at each level (quadratic: 4,000 VALUES rows took 10 s).
        var branches = [rightSelect]
        var spine = leftSelect
        if op == .union && all {
            while case .combine(.union, true, let l, let r)? = spine.setOperation, spine.orderBy.isEmpty, spine.limit == nil,
                  spine.offset == nil, spine.with.isEmpty, spine.locking.isEmpty {
                branches.append(r)
                spine = l
            }
        }
        branches.reverse()
        let left = try bindBranch(spine)
        if domain != nil { domainKeys = correlation.keys }
        var bound: [BoundQuery] = []
        // The column types resolve pairwise from the left, as nested set operations resolve them.
        var types = left.plan.outputTypes.map(\.0)
        for branch in branches {
            let right = try bindBranch(branch)
            guard left.columnNames.count == right.columnNames.count else {
                throw DatabaseError(.syntaxError, "each \(name) query must have the same number of columns", position: branch.position)
            }
            for (index, r) in right.plan.outputTypes.enumerated() {
                // An untyped literal (`SELECT NULL`) takes the other side's type.
                guard let common = TypeRules.commonValue(types[index], r.0) else {
                    throw DatabaseError(.datatypeMismatch, "\(name) types \(types[index]) and \(r.0) cannot be matched", position: branch.position)
                }
                types[index] = common == .unknown ? .text : common
            }
            bound.append(right)
        }
        let right = bound[bound.count - 1]
        let width = types.count
        // The result's names: the select list's, then the domain's columns (never named).
        let names = left.columnNames + domainKeys.indices.map { "?domain\($0)?" }
        var plan: PlanNode
        switch op {
        case .union:
            var inputs = Binder.flattenUnion(try cast(left.plan, to: types, position: select.position))
            for branch in bound { inputs += Binder.flattenUnion(try cast(branch.plan, to: types, position: select.position)) }
            plan = .unionAll(inputs)
            if !all { plan = Binder.distinct(plan) }
        case .intersect where all, .except where all:
            // The n-th copy of a row on the left survives when the right has an n-th copy
            // (INTERSECT ALL) or has not (EXCEPT ALL): number the copies, then semi/anti join.
            let numbered = [try cast(left.plan, to: types, position: select.position), try cast(right.plan, to: types, position: select.position)].map { input -> PlanNode in
                let inputTypes = input.outputTypes
                let columns = inputTypes.indices.map { BoundExpression.column($0, type: inputTypes[$0].0, nullable: inputTypes[$0].1) }
                return .window(input, calls: [WindowCall(function: "row_number", arguments: [], offset: 1, type: .bigint, partition: columns, order: [], orderKeys: [], frame: .standard)])
            }
            let (probeKeys, buildKeys) = Binder.nullSafeKeys(numbered[0], numbered[1], width + 1)
            let joined = PlanNode.semiJoin(probe: numbered[0], build: numbered[1], probeKeys: probeKeys, buildKeys: buildKeys, residual: nil, anti: op == .except)
            let joinedTypes = joined.outputTypes
            plan = .project(joined, expressions: (0..<width).map { .column($0, type: joinedTypes[$0].0, nullable: joinedTypes[$0].1) }, names: names)
        case .intersect, .except:
            // Marker columns: (1, NULL) on the left's rows, (NULL, 1) on the right's.
            let one = BoundExpression.constant(.int32(1), type: .integer), none = BoundExpression.constant(.null, type: .integer)
            let marked = [(left.plan, [one, none]), (right.plan, [none, one])].map { input, markers -> PlanNode in
                let inputTypes = input.outputTypes
                return .project(input, expressions: inputTypes.indices.map { .column($0, type: inputTypes[$0].0, nullable: inputTypes[$0].1) } + markers,
                                names: (0...width + 1).map { "?column\($0)?" })
            }
            let castTypes = types + [.integer, .integer]
            let appended = PlanNode.unionAll([try cast(marked[0], to: castTypes, position: select.position), try cast(marked[1], to: castTypes, position: select.position)])
            let appendedTypes = appended.outputTypes
            let counts = PlanNode.aggregate(appended, keys: (0..<width).map { .column($0, type: appendedTypes[$0].0, nullable: appendedTypes[$0].1) }, aggregates: [
                AggregateCall(function: "count", argument: .column(width, type: .integer, nullable: true), type: .bigint, distinct: false),
                AggregateCall(function: "count", argument: .column(width + 1, type: .integer, nullable: true), type: .bigint, distinct: false),
            ])
            let zero = BoundExpression.constant(.int64(0), type: .bigint)
            let inLeft = BoundExpression.call("gt", [.column(width, type: .bigint, nullable: false), zero], type: .boolean)
            let rightCount = BoundExpression.column(width + 1, type: .bigint, nullable: false)
            let inRight = BoundExpression.call(op == .intersect ? "gt" : "eq", [rightCount, zero], type: .boolean)
            let countTypes = counts.outputTypes
            plan = .project(.filter(counts, predicate: .call("and", [inLeft, inRight], type: .boolean)),
                            expressions: (0..<width).map { .column($0, type: countTypes[$0].0, nullable: countTypes[$0].1) }, names: names)
        }
        // ORDER BY may name result columns (by name or position) only.
        let items = left.columnNames.enumerated().map { (Expression(.column([$0.element]), at: select.position), $0.element) }
        var keys: [SortKey] = []
        for item in select.orderBy {
            try Binder.checkAmbiguous(item.expression, items: items)
            guard let reference = Binder.outputReference(item.expression, items: items) else {
                throw DatabaseError(.featureNotSupported, "invalid UNION/INTERSECT/EXCEPT ORDER BY clause", position: item.expression.position,
                                    detail: "Only result column names can be used, not expressions or functions.")
            }
            guard reference >= 0, reference < left.columnNames.count else {
                throw DatabaseError(.invalidColumnReference, "ORDER BY position \(reference + 1) is not in select list", position: item.expression.position)
            }
            keys.append(SortKey(column: reference, descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending))
        }
        let limit = try select.limit.map { e throws(DatabaseError) in try bindCount(e, scope: Scope(), what: "LIMIT") }
        let offset = try select.offset.map { e throws(DatabaseError) in try bindCount(e, scope: Scope(), what: "OFFSET") }
        if domain != nil {
            // Per outer row (the domain's columns after the select list's): its rows in ORDER
            // BY's order, those LIMIT / OFFSET keep. ORDER BY alone orders nothing anyone sees.
            if [limit, offset].contains(where: { !($0?.columnsUsed.isEmpty ?? true) || $0?.outerColumnsUsed.isEmpty == false }) {
                throw DatabaseError(.featureNotSupported, "LIMIT and OFFSET of a correlated \(name) that read outer columns are not supported yet", position: select.position)
            }
            if limit != nil || offset != nil {
                let visible = left.columnNames.count
                plan = Binder.limitPerDomainRow(plan, partition: Array(visible..<(visible + domainKeys.count)), order: keys, limit: limit, offset: offset)
            }
        } else {
            if !keys.isEmpty { plan = .sort(plan, keys: keys) }
            if limit != nil || offset != nil { plan = .limit(plan, limit: limit, offset: offset) }
        }
        correlation = Correlation()
        correlation.keys = domainKeys
        return finished(plan, columnNames: left.columnNames)
    }

    /// One side of a set operation. Outside a domain it may not read outer queries' columns
    /// (yet); over one, it carries the domain's columns after its select list's, and nothing
    /// else of its correlation.
    mutating func bindBranch(_ select: SelectStatement) throws(DatabaseError) -> BoundQuery {
        keepUntypedOutputs = true
        defer { keepUntypedOutputs = false }
        correlation = Correlation()
        let bound = try bind(select)
        if let domain {
            let visible = bound.columnNames.count
            let carried = correlation.keys.count == domain.columns.count && correlation.residual.isEmpty && correlation.outerOnly.isEmpty
                && bound.plan.outputTypes.count == visible + domain.columns.count
                && correlation.keys.enumerated().allSatisfy { index, key in
                    guard case .column(let outer) = key.outer.kind else { return false }
                    return key.inner == visible + index && outer == domain.columns[index]
                }
            guard carried else {
                throw DatabaseError(.featureNotSupported, "this correlated UNION, INTERSECT or EXCEPT is not supported yet", position: select.position)
            }
            return bound
        }
        if correlation.isCorrelated {
            throw DatabaseError(.featureNotSupported, "correlated subqueries with UNION, INTERSECT or EXCEPT are not supported yet", position: select.position)
        }
        return bound
    }

    /// `plan` with its columns cast to `types` (a projection; the plan itself when they match).
    /// Untyped literals of the branch's select list take the type directly.
    mutating func cast(_ plan: PlanNode, to types: [SQLType], position: Int) throws(DatabaseError) -> PlanNode {
        var plan = plan
        if case .project(let input, var expressions, let names) = plan, expressions.contains(where: { $0.type == .unknown }) {
            for index in expressions.indices where expressions[index].type == .unknown {
                expressions[index] = try coerce(expressions[index], to: types[index], position: position)
            }
            plan = .project(input, expressions: expressions, names: names)
        }
        let current = plan.outputTypes
        if current.map(\.0) == types { return plan }
        var expressions: [BoundExpression] = []
        for (index, type) in types.enumerated() {
            expressions.append(try coerce(.column(index, type: current[index].0, nullable: current[index].1), to: type, position: position))
        }
        return .project(plan, expressions: expressions, names: types.indices.map { "?column\($0)?" })
    }

    static func flattenUnion(_ plan: PlanNode) -> [PlanNode] {
        if case .unionAll(let inputs) = plan { return inputs }
        return [plan]
    }

    /// The distinct rows of `plan` (grouped by every column).
    static func distinct(_ plan: PlanNode) -> PlanNode {
        let types = plan.outputTypes
        return .aggregate(plan, keys: types.indices.map { .column($0, type: types[$0].0, nullable: types[$0].1) }, aggregates: [])
    }
}
