import KilnCore

extension Binder {
    /// The aggregation of a grouped query; output as of one aggregate node: the keys, then the
    /// aggregates in order.
    ///
    /// DISTINCT aggregates over one argument x take two phases: group by the keys and x
    /// (partial states of the other aggregates), then by the keys (the DISTINCT aggregates over
    /// x, the others merging their partial states). With several DISTINCT arguments, each gets
    /// its own two-phase aggregation, joined to the others' on the keys (NULL keys match).
    /// GROUP BY with grouping sets (ROLLUP, CUBE, GROUPING SETS): one aggregation per set over
    /// the same input, each widened to every key (NULL for the keys its set leaves out), joined
    /// by UNION ALL, so that HAVING, windows and ORDER BY see one relation laid out as a plain
    /// aggregation's: keys, aggregates, then the value of each `grouping(...)` call (a bit per
    /// named key, 1 when the set leaves it out, the first key the highest bit). Without sets,
    /// the plain aggregation (and `grouping(...)` is 0).
    ///
    /// With several sets whose aggregates combine (count, sum, min, max; not DISTINCT, not of
    /// floats, whose sums would round differently), and `share` (no outer query's columns in
    /// the input): the input is aggregated once by every key (`PlanNode.shared`), and each set
    /// aggregates that result, counts summed, sums summed, minima of minima. ROLLUP of four
    /// keys (TPC-DS q22) reads its 7M joined rows once, not five times.
    static func groupingSets(_ input: PlanNode, keys: [BoundExpression], sets: [[Int]]?, aggregates: [AggregateCall], groupings: [[Int]], position: Int,
                             share: Bool = false) throws(DatabaseError) -> PlanNode {
        // The combining form of each aggregate over the finest aggregation's column.
        func combining(_ call: AggregateCall, column: Int) -> AggregateCall? {
            guard !call.distinct, !call.type.isFloat else { return nil }
            switch call.function {
            case "count", "count_star":
                return AggregateCall(function: "sum", argument: .column(column, type: .bigint, nullable: false), type: .bigint, distinct: false)
            case "sum", "min", "max":
                return AggregateCall(function: call.function, argument: .column(column, type: call.type, nullable: true), type: call.type, distinct: false)
            default:
                return nil
            }
        }
        let combined = aggregates.indices.map { combining(aggregates[$0], column: keys.count + $0) }
        var finest: PlanNode?
        if share, let sets, sets.count > 1, combined.allSatisfy({ $0 != nil }) {
            finest = SharedPlans.share(try aggregate(input, keys: keys, aggregates: aggregates, position: position))
        }
        func widened(_ set: [Int]) throws(DatabaseError) -> PlanNode {
            let plan: PlanNode
            if let finest {
                let types = finest.outputTypes
                plan = .aggregate(finest, keys: set.map { .column($0, type: types[$0].0, nullable: types[$0].1) }, aggregates: combined.map { $0! })
            } else {
                plan = try aggregate(input, keys: set.map { keys[$0] }, aggregates: aggregates, position: position)
            }
            guard set.count != keys.count || !groupings.isEmpty || finest != nil else { return plan }
            let types = plan.outputTypes
            var expressions: [BoundExpression] = keys.indices.map { key in
                guard let column = set.firstIndex(of: key) else { return .constant(.null, type: keys[key].type) }
                return .column(column, type: types[column].0, nullable: types[column].1)
            }
            for index in aggregates.indices {
                let column = set.count + index
                let value = BoundExpression.column(column, type: types[column].0, nullable: types[column].1)
                if finest != nil, aggregates[index].function.hasPrefix("count") {
                    // A count summed: 0 (not NULL) for the empty input's one total row.
                    expressions.append(.call("coalesce", [value, .constant(.int64(0), type: .bigint)], type: .bigint, nullable: false))
                } else {
                    expressions.append(value)
                }
            }
            for named in groupings {
                let bits = named.reduce(Int32(0)) { ($0 << 1) | (set.contains($1) ? 0 : 1) }
                expressions.append(.constant(.int32(bits), type: .integer))
            }
            return .project(plan, expressions: expressions, names: expressions.indices.map { "c\($0)" })
        }
        guard let sets else { return try widened(Array(keys.indices)) }
        var branches: [PlanNode] = []
        for set in sets { branches.append(try widened(set)) }
        return branches.count == 1 ? branches[0] : .unionAll(branches)
    }

    static func aggregate(_ input: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall], position: Int) throws(DatabaseError) -> PlanNode {
        var arguments: [BoundExpression] = []
        for call in aggregates where call.distinct {
            if let argument = call.argument, !arguments.contains(argument) { arguments.append(argument) }
        }
        guard arguments.count > 1 else { return twoPhase(input, keys: keys, aggregates: aggregates) }

        let k = keys.count
        let plain = aggregates.indices.filter { !aggregates[$0].distinct }
        var plan = PlanNode.aggregate(input, keys: keys, aggregates: plain.map { aggregates[$0] })
        var position: [Int: Int] = [:]  // aggregate index -> column of the joined plan
        for (offset, index) in plain.enumerated() { position[index] = k + offset }
        for argument in arguments {
            let members = aggregates.indices.filter { aggregates[$0].distinct && aggregates[$0].argument == argument }
            let part = twoPhase(input, keys: keys, aggregates: members.map { aggregates[$0] })
            let width = plan.outputTypes.count
            let (probeKeys, buildKeys) = nullSafeKeys(plan, part, k)
            plan = .hashJoin(probe: plan, build: part, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: false)
            for (offset, index) in members.enumerated() { position[index] = width + k + offset }
        }
        let types = plan.outputTypes
        let columns = Array(0..<k) + aggregates.indices.map { position[$0]! }
        return .project(plan, expressions: columns.map { .column($0, type: types[$0].0, nullable: types[$0].1) }, names: columns.map { "?column\($0)?" })
    }

    /// Join keys for the first `count` columns of `probe` and `build` (of equal types) under
    /// which NULL equals NULL: a column nullable on either side becomes
    /// (coalesce(column, zero), column IS NULL) on both.
    static func nullSafeKeys(_ probe: PlanNode, _ build: PlanNode, _ count: Int) -> ([BoundExpression], [BoundExpression]) {
        let probeTypes = probe.outputTypes, buildTypes = build.outputTypes
        func keys(_ types: [(SQLType, Bool)], _ i: Int, nullable: Bool) -> [BoundExpression] {
            let column = BoundExpression.column(i, type: types[i].0, nullable: types[i].1)
            guard nullable, let zero = zero(of: types[i].0) else { return [column] }
            return nullSafePair(column, zero: zero)
        }
        var probeKeys: [BoundExpression] = [], buildKeys: [BoundExpression] = []
        for i in 0..<count {
            let nullable = probeTypes[i].1 || buildTypes[i].1
            probeKeys += keys(probeTypes, i, nullable: nullable)
            buildKeys += keys(buildTypes, i, nullable: nullable)
        }
        return (probeKeys, buildKeys)
    }

    /// `key` as two join keys under which NULL equals NULL: (coalesce(key, zero), key IS NULL).
    static func nullSafePair(_ key: BoundExpression, zero: Value) -> [BoundExpression] {
        [.call("coalesce", [key, .constant(zero, type: key.type)], type: key.type, nullable: false),
         .call("is_null", [key], type: .boolean, nullable: false)]
    }

    static func zero(of type: SQLType) -> Value? {
        switch type {
        case .boolean: return .bool(false)
        case .smallint: return .int16(0)
        case .integer: return .int32(0)
        case .bigint: return .int64(0)
        case .real: return .float32(0)
        case .double: return .float64(0)
        case .numeric(_, let scale): return .numeric(0, scale: scale)
        case .dynamicNumeric: return .numeric(0, scale: 0)
        case .varchar, .text: return .text("")
        case .date: return .date(0)
        case .timestamp: return .timestamp(0)
        case .interval: return .interval(Interval())
        case .tid: return .tid(0)
        case .unknown: return nil
        }
    }

    /// One or two aggregation phases (two when some aggregate is DISTINCT, all over one argument).
    static func twoPhase(_ input: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall]) -> PlanNode {
        guard let argument = aggregates.first(where: \.distinct)?.argument else { return .aggregate(input, keys: keys, aggregates: aggregates) }
        let partials = aggregates.filter { !$0.distinct }
        let first = PlanNode.aggregate(input, keys: keys + [argument], aggregates: partials)
        let k = keys.count
        var merged: [AggregateCall] = []
        var partialIndex = 0
        var counts: Set<Int> = []
        for call in aggregates {
            if call.distinct {
                merged.append(AggregateCall(function: call.function, argument: .column(k, type: argument.type, nullable: argument.nullable), type: call.type, distinct: false))
                continue
            }
            let column = BoundExpression.column(k + 1 + partialIndex, type: call.type, nullable: true)
            partialIndex += 1
            if call.function == "count" || call.function == "count_star" {
                counts.insert(merged.count)
                merged.append(AggregateCall(function: "sum", argument: column, type: .bigint, distinct: false))
            } else {
                merged.append(AggregateCall(function: call.function, argument: column, type: call.type, distinct: false))
            }
        }
        let second = PlanNode.aggregate(first, keys: (0..<k).map { .column($0, type: keys[$0].type, nullable: keys[$0].nullable) }, aggregates: merged)
        guard !counts.isEmpty else { return second }
        // A merged count over no groups is 0, not NULL.
        let types = second.outputTypes
        return .project(second, expressions: types.indices.map { i in
            let column = BoundExpression.column(i, type: types[i].0, nullable: types[i].1)
            guard i >= k, counts.contains(i - k) else { return column }
            return .call("coalesce", [column, .constant(.int64(0), type: .bigint)], type: .bigint, nullable: false)
        }, names: types.indices.map { "?column\($0)?" })
    }
}

extension Binder {
    /// An unconstrained numeric expression whose values are static decimals (casts of
    /// numeric(p, s) or integer expressions, decimal constants, NULL, and CASE or COALESCE
    /// over them) as two expressions: the value at the largest of their scales (a static
    /// decimal), and the scale each row's value has. Nil for anything else.
    mutating func staticDecimalParts(_ expression: BoundExpression) throws(DatabaseError) -> (value: BoundExpression, scales: BoundExpression, scale: Int)? {
        // The leaves first: each value with its static scale.
        indirect enum Shape {
            case leaf(BoundExpression, Int?)
            case choice(String, [BoundExpression], [Shape])
        }
        func shape(_ e: BoundExpression) -> Shape? {
            switch e.kind {
            case .constant(.null):
                return .leaf(e, nil)
            case .constant(.numeric(let m, let s)):
                return .leaf(.constant(.numeric(m, scale: s), type: .numeric(precision: nil, scale: s)), s)
            case .call("cast", let arguments) where arguments.count == 1:
                let inner = arguments[0]
                if case .numeric(_, let s) = inner.type { return .leaf(inner, s) }
                if inner.type.isInteger { return .leaf(inner, 0) }
                return nil
            case .call("case", let arguments):
                // [c1, v1, c2, v2, ..., else]: the conditions stay, the values are shaped.
                var conditions: [BoundExpression] = [], values: [Shape] = []
                for (index, argument) in arguments.enumerated() {
                    if index % 2 == 0 && index < arguments.count - 1 { conditions.append(argument); continue }
                    guard let value = shape(argument) else { return nil }
                    values.append(value)
                }
                return .choice("case", conditions, values)
            case .call("coalesce", let arguments):
                var values: [Shape] = []
                for argument in arguments {
                    guard let value = shape(argument) else { return nil }
                    values.append(value)
                }
                return .choice("coalesce", [], values)
            default:
                return nil
            }
        }
        guard let root = shape(expression) else { return nil }
        func largest(_ s: Shape) -> Int {
            switch s {
            case .leaf(_, let scale): return scale ?? 0
            case .choice(_, _, let values): return values.map(largest).max() ?? 0
            }
        }
        let target = largest(root)
        let targetType = SQLType.numeric(precision: nil, scale: target)
        func build(_ s: Shape) throws(DatabaseError) -> (BoundExpression, BoundExpression) {
            switch s {
            case .leaf(_, nil):
                return (.constant(.null, type: targetType), .constant(.null, type: .integer))
            case .leaf(let e, let scale?):
                return (try cast(e, to: targetType, position: 0), .constant(.int32(Int32(scale)), type: .integer))
            case .choice(let name, let conditions, let values):
                var built: [(BoundExpression, BoundExpression)] = []
                for value in values { built.append(try build(value)) }
                let nullable = built.contains { $0.0.nullable }
                if name == "case" {
                    var valueArguments: [BoundExpression] = [], scaleArguments: [BoundExpression] = []
                    for (index, condition) in conditions.enumerated() {
                        valueArguments += [condition, built[index].0]
                        scaleArguments += [condition, built[index].1]
                    }
                    valueArguments.append(built[built.count - 1].0)
                    scaleArguments.append(built[built.count - 1].1)
                    return (.call("case", valueArguments, type: targetType, nullable: nullable), .call("case", scaleArguments, type: .integer, nullable: true))
                }
                // COALESCE: the first non-NULL value, and that value's scale.
                var scaleArguments: [BoundExpression] = []
                for (value, scale) in built.dropLast() {
                    scaleArguments += [.call("is_not_null", [value], type: .boolean, nullable: false), scale]
                }
                scaleArguments.append(built[built.count - 1].1)
                return (.call("coalesce", built.map(\.0), type: targetType, nullable: built.allSatisfy { $0.0.nullable }),
                        .call("case", scaleArguments, type: .integer, nullable: true))
            }
        }
        let (value, scales) = try build(root)
        return (value, scales, target)
    }
}
