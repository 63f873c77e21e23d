import KilnCore

extension EagerAggregation {
    /// One inner join of a left-deep chain: its build side and keys, and where the build's
    /// columns sit in the chain's output.
    struct Link {
        var build: PlanNode
        var probeKeys: [BoundExpression]
        var buildKeys: [BoundExpression]
        var offset: Int
        var width: Int
        var columns: Range<Int> { offset..<(offset + width) }
    }

    /// Aggregation below the inner joins whose build sides supply only group keys ("eager
    /// group-by", Yan and Larson, for inner joins): `GROUP BY i_product_name, i_brand, ...`
    /// over `inventory ⋈ date_dim ⋈ item` first groups the rows of `inventory ⋈ date_dim` by
    /// the join key `inv_item_sk`, one narrow integer, then joins `item` to those groups and
    /// groups them by the requested keys, merging the partial states (counts summed, sums
    /// summed, minima of minima). Inner joins commute, so such a join is taken out of the
    /// left-deep chain wherever it sits. TPC-DS q22 hashes 18,000 early groups by four strings
    /// instead of 2.36M rows.
    ///
    /// A join qualifies when its build's columns are read by group keys only (each key reading
    /// that build alone), by no aggregate and no later join, and those keys are wider than the
    /// join key (a string, or more columns). It pays when the early groups are few against the
    /// rows (`minimumRowsPerKey`). Aggregates must decompose: count, sum (not of floats, whose
    /// sums would round differently), min, max; not DISTINCT.
    static func belowInnerJoins(_ input: PlanNode, keys: [BoundExpression], aggregates: [AggregateCall]) -> PlanNode? {
        guard !keys.isEmpty, !aggregates.isEmpty,
              let (join, keys, aggregates) = throughProjection(input, keys: keys, aggregates: aggregates) else { return nil }
        for call in aggregates {
            guard !call.distinct, decomposable.contains(call.function) || call.function == "count_star" else { return nil }
            if call.function == "sum", call.type.isFloat { return nil }
        }
        // The chain: base ⋈ link 0 ⋈ link 1 ..., each link's probe keys over everything before it.
        var links: [Link] = []
        var node = join
        while case .hashJoin(let probe, let build, let probeKeys, let buildKeys, false, nil) = node, !probeKeys.isEmpty {
            links.insert(Link(build: build, probeKeys: probeKeys, buildKeys: buildKeys, offset: 0, width: build.outputTypes.count), at: 0)
            node = probe
        }
        guard !links.isEmpty else { return nil }
        let base = node
        var width = base.outputTypes.count
        for index in links.indices {
            links[index].offset = width
            width += links[index].width
        }

        let aggregated = aggregates.reduce(into: Set<Int>()) { $0.formUnion($1.argument?.columnsUsed ?? []) }
        var pulled: [Int] = []
        for (index, link) in links.enumerated() {
            let range = link.columns
            guard !aggregated.contains(where: range.contains),
                  !links[(index + 1)...].contains(where: { later in later.probeKeys.contains { $0.columnsUsed.contains(where: range.contains) } })
            else { continue }
            let reading = keys.filter { $0.columnsUsed.contains(where: range.contains) }
            guard !reading.isEmpty, reading.allSatisfy({ $0.columnsUsed.allSatisfy(range.contains) }) else { continue }
            let wide = reading.contains { $0.type.physical == .string } || reading.count > link.probeKeys.count
            if wide { pulled.append(index) }
        }
        guard !pulled.isEmpty else { return nil }

        // The chain without the pulled joins, and where each kept column went.
        var mapping: [Int: Int] = [:]
        for column in 0..<base.outputTypes.count { mapping[column] = column }
        var rest = base
        var restWidth = base.outputTypes.count
        for (index, link) in links.enumerated() where !pulled.contains(index) {
            rest = .hashJoin(probe: rest, build: link.build, probeKeys: link.probeKeys.map { $0.remapColumns { mapping[$0]! } },
                             buildKeys: link.buildKeys, preserveProbe: false)
            for column in link.columns { mapping[column] = restWidth + column - link.offset }
            restWidth += link.width
        }
        // Early keys: the pulled joins' probe keys, then the group keys over the rest.
        var earlyKeys: [BoundExpression] = []
        var probePositions: [[Int]] = []
        for index in pulled {
            probePositions.append(links[index].probeKeys.map { key in
                let key = key.remapColumns { mapping[$0]! }
                if let existing = earlyKeys.firstIndex(of: key) { return existing }
                earlyKeys.append(key)
                return earlyKeys.count - 1
            })
        }
        var keyPositions: [Int: Int] = [:]  // group key index -> early key position
        for (index, key) in keys.enumerated() where key.columnsUsed.allSatisfy({ mapping[$0] != nil }) {
            let key = key.remapColumns { mapping[$0]! }
            if let existing = earlyKeys.firstIndex(of: key) {
                keyPositions[index] = existing
            } else {
                keyPositions[index] = earlyKeys.count
                earlyKeys.append(key)
            }
        }

        let estimate = Estimate.of(rest)
        var groups = 1.0
        for key in earlyKeys { groups *= Selectivity.column(key, estimate)?.distinct ?? estimate.rows }
        guard estimate.rows >= Swift.min(groups, estimate.rows) * minimumRowsPerKey else { return nil }

        let partials = aggregates.map { call in
            AggregateCall(function: call.function, argument: call.argument?.remapColumns { mapping[$0]! }, type: call.type, distinct: false)
        }
        let early = PlanNode.aggregate(rest, keys: earlyKeys, aggregates: partials)
        let earlyTypes = early.outputTypes
        var joined = early
        var joinedWidth = earlyTypes.count
        var moved: [Int: Int] = [:]  // a pulled build's column -> its column over the new joins
        for (pulledIndex, index) in pulled.enumerated() {
            let link = links[index]
            let probeKeys = probePositions[pulledIndex].map { BoundExpression.column($0, type: earlyTypes[$0].0, nullable: earlyTypes[$0].1) }
            joined = .hashJoin(probe: joined, build: link.build, probeKeys: probeKeys, buildKeys: link.buildKeys, preserveProbe: false)
            for column in link.columns { moved[column] = joinedWidth + column - link.offset }
            joinedWidth += link.width
        }
        let finalKeys = keys.enumerated().map { index, key -> BoundExpression in
            if let position = keyPositions[index] { return .column(position, type: earlyTypes[position].0, nullable: earlyTypes[position].1) }
            return key.remapColumns { moved[$0]! }
        }
        return merged(joined, keys: finalKeys, aggregates: aggregates, firstPartial: earlyKeys.count)
    }
}
