/// Rewrites that keep a decorrelated subquery from working on rows no outer row asks for
/// (sideways information passing, the "magic set" idea):
///
/// - A join whose build side aggregates by the join keys (a decorrelated scalar subquery:
///   `l_quantity < (SELECT avg(...) FROM lineitem WHERE l_partkey = p_partkey)`) aggregates
///   only the input rows whose keys occur on the probe side: the aggregate's input becomes a
///   semi join against the smallest part of the probe side that yields the keys (the filtered
///   `part` rather than the whole `lineitem` × `part`). That part of the plan runs twice; it is
///   chosen only when its estimate is well under the aggregate's input.
/// - A semi or anti join (IN, EXISTS) builds only the subquery rows whose keys the outer side
///   has (`EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey ...)` over a month of
///   orders builds that month's lineitems, not all of them).
/// - A semi or anti join (IN, EXISTS) without a residual moves below filters, projections and
///   joins to the side its keys read (a LEFT join's preserved side, an inner join's build
///   side), so the
///   rows it removes never reach the join: `o_orderkey IN (SELECT ... HAVING ...)` filters
///   `orders` before it is hashed for `lineitem`, not the 6M joined rows after.
///
/// Both keep the answer: a semi join with a superset of the probe side's keys drops only
/// groups no probe row can match, and a semi/anti join on preserved-side columns commutes
/// with an inner join, a LEFT join on its preserved side, a projection and a filter.
public enum SidewaysFiltering {
    /// How much smaller (estimated rows) the key source must be than the aggregate's input.
    static let minimumReduction = 2.0

    public static func apply(_ plan: PlanNode) -> PlanNode {
        switch plan {
        case .semiJoin(let probe, let build, let pk, let bk, let residual, let anti):
            if residual == nil, let pushed = pushSemiJoin(into: probe, build: build, probeKeys: pk, buildKeys: bk, anti: anti) {
                return apply(pushed)
            }
            let probe = apply(probe), build = apply(build)
            // A join that hashes its outer side reads the subquery once anyway.
            let outerSide = JoinPlanning.buildsOnOuterSide(probe: probe, build: build, probeKeys: pk, anti: anti)
            let filtered = outerSide ? build : filterBuild(build, buildKeys: bk, probe: probe, probeKeys: pk) ?? build
            return .semiJoin(probe: probe, build: filtered, probeKeys: pk, buildKeys: bk, residual: residual, anti: anti)
        case .hashJoin(let probe, let build, let pk, let bk, let preserve, let residual):
            let probe = apply(probe), build = apply(build)
            let filtered = filterAggregate(build, columns: bk.map(singleColumn), probe: probe, probeKeys: pk) ?? build
            return .hashJoin(probe: probe, build: filtered, probeKeys: pk, buildKeys: bk, preserveProbe: preserve, residual: residual)
        default:
            return plan.mapInputs(apply)
        }
    }

    static func singleColumn(_ e: BoundExpression) -> Int? {
        if case .column(let i) = e.kind { return i }
        return nil
    }

    // MARK: Semi joins below joins

    /// `semi(probe)` with the semi join moved below filters, projections and at least one
    /// join of `probe` to the side its keys read (a LEFT join's preserved side, an inner
    /// join's build side); nil when it cannot move.
    static func pushSemiJoin(into probe: PlanNode, build: PlanNode, probeKeys: [BoundExpression], buildKeys: [BoundExpression], anti: Bool) -> PlanNode? {
        switch probe {
        case .filter(let input, let predicate):
            return pushSemiJoin(into: input, build: build, probeKeys: probeKeys, buildKeys: buildKeys, anti: anti).map { .filter($0, predicate: predicate) }
        case .project(let input, let expressions, let names):
            // Keys over plain columns of the projection read the same values below it.
            let used = probeKeys.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
            guard let mapping = PlanNode.sources(of: used, through: expressions) else { return nil }
            let keys = probeKeys.map { $0.remapColumns { mapping[$0] ?? $0 } }
            return pushSemiJoin(into: input, build: build, probeKeys: keys, buildKeys: buildKeys, anti: anti)
                .map { .project($0, expressions: expressions, names: names) }
        case .hashJoin(let left, let right, let pk, let bk, let preserve, let residual):
            let width = left.outputTypes.count
            let used = probeKeys.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
            if preserve {
                guard used.allSatisfy({ $0 < width }) else { return nil }
                let moved = pushSemiJoin(into: left, build: build, probeKeys: probeKeys, buildKeys: buildKeys, anti: anti)
                    ?? .semiJoin(probe: left, build: build, probeKeys: probeKeys, buildKeys: buildKeys, residual: nil, anti: anti)
                return .hashJoin(probe: moved, build: right, probeKeys: pk, buildKeys: bk, preserveProbe: preserve, residual: residual)
            }
            // An inner join's build side: its hash table keeps only the rows that pass. (Not
            // its probe side: above the join the semi join sees the join's filtering, which
            // `filterBuild` uses to shrink the semi join's own build side.)
            guard used.allSatisfy({ $0 >= width }) else { return nil }
            let keys = probeKeys.map { $0.remapColumns { $0 - width } }
            let moved = pushSemiJoin(into: right, build: build, probeKeys: keys, buildKeys: buildKeys, anti: anti)
                ?? .semiJoin(probe: right, build: build, probeKeys: keys, buildKeys: buildKeys, residual: nil, anti: anti)
            return .hashJoin(probe: left, build: moved, probeKeys: pk, buildKeys: bk, preserveProbe: false, residual: residual)
        default:
            return nil
        }
    }

    // MARK: Semi and anti joins' build sides filtered by the probe side's keys

    /// The build side of a semi or anti join without the rows whose keys no probe row has (they
    /// can neither match nor, for an anti join, exclude anything): a semi join against the
    /// smallest key-covering part of the probe side, when that is well under the build side.
    /// (NOT IN's NULL rule is a separate check on the subquery's rows, not in this join.)
    static func filterBuild(_ build: PlanNode, buildKeys: [BoundExpression], probe: PlanNode, probeKeys: [BoundExpression]) -> PlanNode? {
        guard !buildKeys.isEmpty, let (source, sourceKeys) = keySource(probe, probeKeys, over: build) else { return nil }
        return .semiJoin(probe: build, build: source, probeKeys: buildKeys, buildKeys: sourceKeys, residual: nil, anti: false)
    }

    /// Whether filtering `target` by `source`'s keys pays: `source` yields well under
    /// `target`'s rows and, as it runs a second time, reads well under what `target` reads.
    static func worthwhile(source: PlanNode, over target: PlanNode) -> Bool {
        Estimate.of(source).rows * minimumReduction < Estimate.of(target).rows
            && scannedRows(source) * minimumReduction < scannedRows(target)
    }

    /// Rows the plan's table scans read.
    static func scannedRows(_ plan: PlanNode) -> Double {
        switch plan {
        case .tableScan(let table, _, let access):
            if case .full = access { return Double(table.rowCount) }
            return Estimate.of(plan).rows
        case .seriesScan, .singleRow: return Estimate.of(plan).rows
        case .filter(let input, _), .project(let input, _, _), .aggregate(let input, _, _), .sort(let input, _),
             .limit(let input, _, _), .window(let input, _), .seriesExpand(let input, _):
            return scannedRows(input)
        case .unionAll(let inputs): return inputs.reduce(0) { $0 + scannedRows($1) }
        case .semiJoin(let probe, let build, _, _, _, _), .hashJoin(let probe, let build, _, _, _, _):
            return scannedRows(probe) + scannedRows(build)
        case .shared(_, let plan, _): return Estimate.of(plan).rows
        }
    }

    // MARK: Aggregates filtered by the probe side's keys

    /// `build` with the aggregate that produces its key `columns` reading only input rows
    /// whose keys the probe side has; nil when `build` is not such an aggregate or no part of
    /// the probe side is small enough.
    static func filterAggregate(_ build: PlanNode, columns: [Int?], probe: PlanNode, probeKeys: [BoundExpression]) -> PlanNode? {
        guard !columns.isEmpty else { return nil }
        let keyColumns = columns.compactMap { $0 }
        guard keyColumns.count == columns.count else { return nil }
        switch build {
        case .project(let input, let expressions, let names):
            let inner = keyColumns.map { $0 < expressions.count ? singleColumn(expressions[$0]) : nil }
            return filterAggregate(input, columns: inner, probe: probe, probeKeys: probeKeys).map { .project($0, expressions: expressions, names: names) }
        case .filter(let input, let predicate):
            return filterAggregate(input, columns: columns, probe: probe, probeKeys: probeKeys).map { .filter($0, predicate: predicate) }
        case .aggregate(let input, let keys, let aggregates):
            guard keyColumns.allSatisfy({ $0 < keys.count }) else { return nil }
            let inputKeys = keyColumns.map { keys[$0] }
            guard let (source, sourceKeys) = keySource(probe, probeKeys, over: input) else { return nil }
            let filtered = PlanNode.semiJoin(probe: input, build: source, probeKeys: inputKeys, buildKeys: sourceKeys, residual: nil, anti: false)
            return .aggregate(filtered, keys: keys, aggregates: aggregates)
        default:
            return nil
        }
    }

    /// `keys` (plain columns, each one of the join's `from` keys) as the join's matching `to`
    /// keys; nil when a key is not a join key.
    static func across(_ keys: [BoundExpression], from: [BoundExpression], to: [BoundExpression]) -> [BoundExpression]? {
        var mapped: [BoundExpression] = []
        for key in keys {
            guard let column = singleColumn(key), let index = from.firstIndex(where: { singleColumn($0) == column }),
                  to[index].type == key.type else { return nil }
            mapped.append(to[index])
        }
        return mapped
    }

    /// The part of `plan` with the fewest estimated rows whose rows carry every key value
    /// `plan` has (a superset) and that is `worthwhile` for filtering `target`, with `keys`
    /// over its columns. (The smallest part overall may be a join that reads too much to run
    /// twice, while one of its inputs is nearly as small and cheap: Q2's filtered `part`.)
    static func keySource(_ plan: PlanNode, _ keys: [BoundExpression], over target: PlanNode) -> (PlanNode, [BoundExpression])? {
        keySources(plan, keys).sorted { $0.2 < $1.2 }.first { !$0.1.isEmpty && worthwhile(source: $0.0, over: target) }.map { ($0.0, $0.1) }
    }

    /// Every part of `plan` whose rows carry every key value `plan` has, with `keys` over its
    /// columns and its estimated rows.
    static func keySources(_ plan: PlanNode, _ keys: [BoundExpression]) -> [(PlanNode, [BoundExpression], Double)] {
        var found: [(PlanNode, [BoundExpression], Double)] = []
        func visit(_ plan: PlanNode, _ keys: [BoundExpression]) {
            found.append((plan, keys, Estimate.of(plan).rows))
            let used = keys.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
            switch plan {
            case .filter(let input, _):
                visit(input, keys)
            case .semiJoin(let input, _, _, _, _, _):
                visit(input, keys)
            case .hashJoin(let left, let right, let probeKeys, let buildKeys, let preserveProbe, _):
                // A joined row's values of the join keys are on both sides: an inner join's
                // keys lead into either side, a LEFT join's build-side keys into its probe side.
                let width = left.outputTypes.count
                if used.allSatisfy({ $0 < width }) {
                    visit(left, keys)
                    if !preserveProbe, let across = across(keys, from: probeKeys, to: buildKeys) { visit(right, across) }
                } else if used.allSatisfy({ $0 >= width }) {
                    let rightKeys = keys.map { $0.remapColumns { $0 - width } }
                    visit(right, rightKeys)
                    if let across = across(rightKeys, from: buildKeys, to: probeKeys) { visit(left, across) }
                }
            case .project(let input, let expressions, _):
                guard let mapping = PlanNode.sources(of: used, through: expressions) else { return }
                visit(input, keys.map { $0.remapColumns { mapping[$0] ?? $0 } })
            default:
                return
            }
        }
        visit(plan, keys)
        return found
    }
}
