import KilnCore

/// Aggregation before a LEFT join ("eager group-by", Yan and Larson): an aggregate whose
/// groups are the preserved side's columns and whose arguments are the build side's columns
/// is computed in two steps. The build side is first aggregated by its join keys, so the
/// join hashes one row per key instead of every row, and the aggregate over the join then
/// merges the partial results (counts are summed, a preserved row without a match counts 0).
///
/// TPC-H Q13: `customer LEFT JOIN orders ... GROUP BY c_custkey` with `count(o_orderkey)`
/// hashes 100K order counts instead of 1.5M orders.
public enum EagerAggregation {
    /// How many build rows per distinct join key (estimated) make the early aggregate pay.
    static let minimumRowsPerKey = 4.0
    static let decomposable: Set<String> = ["count", "sum", "min", "max"]

    public static func apply(_ plan: PlanNode) -> PlanNode {
        guard case .aggregate(let input, let keys, let aggregates) = plan else { return plan.mapInputs(apply) }
        let rewritten = apply(input)
        return early(rewritten, keys: keys, aggregates: aggregates)
            ?? belowInnerJoins(rewritten, keys: keys, aggregates: aggregates)
            ?? .aggregate(rewritten, keys: keys, aggregates: aggregates)
    }

    /// The aggregate's keys and calls over the input of a projection of plain columns between
    /// the aggregate and `input`'s join (looked through), or over `input` itself; nil when the
    /// projection computes a column the aggregate reads.
    static func throughProjection(_ input: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall])
        -> (join: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall])? {
        guard case .project(let below, let expressions, _) = input else { return (input, keys, aggregates) }
        var used = keys.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
        for call in aggregates { used.formUnion(call.argument?.columnsUsed ?? []) }
        guard let mapping = PlanNode.sources(of: used, through: expressions) else { return nil }
        return (below, keys.map { $0.remapColumns { mapping[$0] ?? $0 } }, aggregates.map { call in
            var call = call
            call.argument = call.argument?.remapColumns { mapping[$0] ?? $0 }
            return call
        })
    }

    /// The two-step form of `aggregate(input)`, or nil when it does not apply or would not pay.
    static func early(_ input: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall]) -> PlanNode? {
        guard let (join, keys, aggregates) = throughProjection(input, keys: keys, aggregates: aggregates) else { return nil }
        guard case .hashJoin(let probe, let build, let probeKeys, let buildKeys, true, nil) = join,
              !buildKeys.isEmpty, !aggregates.isEmpty else { return nil }
        let width = probe.outputTypes.count
        guard keys.allSatisfy({ $0.columnsUsed.allSatisfy { $0 < width } }) else { return nil }
        for call in aggregates {
            guard !call.distinct, decomposable.contains(call.function), let argument = call.argument,
                  !argument.columnsUsed.isEmpty, argument.columnsUsed.allSatisfy({ $0 >= width }) else { return nil }
        }
        let estimate = Estimate.of(build)
        var groups = 1.0
        for key in buildKeys { groups *= Selectivity.column(key, estimate)?.distinct ?? estimate.rows }
        guard estimate.rows >= Swift.min(groups, estimate.rows) * minimumRowsPerKey else { return nil }

        let k = buildKeys.count
        let partials = aggregates.map {
            AggregateCall(function: $0.function, argument: $0.argument!.remapColumns { $0 - width }, type: $0.type, distinct: false)
        }
        let early = PlanNode.aggregate(build, keys: buildKeys, aggregates: partials)
        let earlyTypes = early.outputTypes
        let joined = PlanNode.hashJoin(probe: probe, build: early, probeKeys: probeKeys,
                                       buildKeys: (0..<k).map { .column($0, type: earlyTypes[$0].0, nullable: earlyTypes[$0].1) },
                                       preserveProbe: true)
        // A group whose rows all lacked a match sums no counts: its count is 0, not NULL.
        return merged(joined, keys: keys, aggregates: aggregates, firstPartial: width + k)
    }

    /// The aggregate that merges partial states: `aggregates`' partials are the columns of
    /// `input` from `firstPartial` on. Counts are summed, and a summed count is 0 where it
    /// sums none (the count's type, never NULL); sums, minima and maxima take their own.
    static func merged(_ input: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall], firstPartial: Int) -> PlanNode {
        var counts: Set<Int> = []
        let merging = aggregates.enumerated().map { index, call in
            let partial = BoundExpression.column(firstPartial + index, type: call.type, nullable: true)
            guard call.function == "count" || call.function == "count_star" else {
                return AggregateCall(function: call.function, argument: partial, type: call.type, distinct: false)
            }
            counts.insert(index)
            return AggregateCall(function: "sum", argument: partial, type: .bigint, distinct: false)
        }
        let final = PlanNode.aggregate(input, keys: keys, aggregates: merging)
        let types = final.outputTypes
        return .project(final, expressions: types.indices.map { i in
            let column = BoundExpression.column(i, type: types[i].0, nullable: types[i].1)
            guard i >= keys.count, counts.contains(i - keys.count) else { return column }
            return .call("coalesce", [column, .constant(.int64(0), type: .bigint)], type: .bigint, nullable: false)
        }, names: types.indices.map { "?column\($0)?" })
    }
}
