import KilnCore

/// Places a predicate over a tree of joins: each conjunct goes as deep as the columns it reads
/// allow (predicate pushdown), and an equality between the two sides of a join becomes one of
/// its hash keys.
///
/// Joins are left-deep with the probe side's columns first, so a conjunct that reads only
/// probe columns keeps its column numbers on the way down; one that reads only build columns
/// is renumbered.
public enum JoinPlanning {
    public static func attach(_ predicate: BoundExpression, to plan: PlanNode) -> PlanNode {
        // Constant TRUE conjuncts (left where subquery conditions were taken out) filter nothing.
        var conjuncts = split(predicate).filter { $0.kind != .constant(.bool(true)) }
        let placed = place(&conjuncts, into: plan)
        return conjuncts.isEmpty ? placed : .filter(placed, predicate: combine(conjuncts))
    }

    /// The conjuncts of `e`. Conjuncts common to every branch of an OR are factored out
    /// (`(A AND X) OR (A AND Y)` is `A AND (X OR Y)`, also in three-valued logic), so a join
    /// key repeated in each branch (TPC-H Q19) still becomes a key.
    static func split(_ e: BoundExpression) -> [BoundExpression] {
        if case .call("and", let args) = e.kind { return args.flatMap(split) }
        if case .call("or", _) = e.kind {
            let branches = disjuncts(e).map(split)
            let common = branches[0].filter { c in branches.allSatisfy { $0.contains(c) } }
            guard !common.isEmpty else { return [e] }
            let rest = branches.map { $0.filter { !common.contains($0) } }
            // A branch that is only the common part makes the whole OR true given it.
            if rest.contains(where: \.isEmpty) { return common }
            let alternatives = rest.map(combine)
            let remainder = BoundExpression.chain("or", alternatives)
            return common + [remainder]
        }
        return [e]
    }

    static func disjuncts(_ e: BoundExpression) -> [BoundExpression] {
        if case .call("or", let args) = e.kind { return args.flatMap(disjuncts) }
        return [e]
    }

    static func combine(_ conjuncts: [BoundExpression]) -> BoundExpression {
        if conjuncts.isEmpty { return .constant(.bool(true), type: .boolean) }
        return BoundExpression.chain("and", conjuncts)
    }

    /// Moves every conjunct it can into `plan`; leaves the others in `conjuncts`.
    static func place(_ conjuncts: inout [BoundExpression], into plan: PlanNode) -> PlanNode {
        switch plan {
        case .filter(let input, let predicate):
            // Below a filter (a HAVING, a subquery's WHERE): on into its input; what stays joins it.
            var down = conjuncts
            conjuncts = []
            return place(&down, into: input).withFilter(split(predicate) + down)
        case .sort(let input, let keys):
            // Sorting keeps every row: filter first.
            var down = conjuncts
            conjuncts = []
            return .sort(place(&down, into: input).withFilter(down), keys: keys)
        case .project(let input, let expressions, let names):
            // Through a projection that passes columns (and constants) along: the conjunct reads
            // the input's columns instead.
            var down = takeConjuncts(&conjuncts) { used in
                used.allSatisfy { $0 < expressions.count && expressions[$0].isPlainValue }
            }
            // Constants passed along fold: a UNION ALL input tagged 's' under `WHERE tag = 'c'`
            // is empty, and is not computed at all.
            down = down.map { ConstantFolding.fold($0.substitute { e in if case .column(let i) = e.kind { return expressions[i] }; return nil }) }
            if down.contains(where: \.isFalseOrNull) {
                conjuncts = []
                return .empty(plan.outputTypes)
            }
            down.removeAll { $0.kind == .constant(.bool(true)) }
            guard !down.isEmpty else { return plan }
            return .project(place(&down, into: input).withFilter(down), expressions: expressions, names: names)
        case .aggregate(let input, let keys, let aggregates) where !keys.isEmpty:
            // A conjunct over group keys only keeps or drops whole groups: it filters the
            // aggregation's input instead (PostgreSQL and DuckDB push such quals down too).
            var down = takeConjuncts(&conjuncts) { used in
                used.allSatisfy { $0 < keys.count && !keys[$0].isVolatile }
            }
            down = down.map { $0.substitute { e in if case .column(let i) = e.kind { return keys[i] }; return nil } }
            guard !down.isEmpty else { return plan }
            return .aggregate(place(&down, into: input).withFilter(down), keys: keys, aggregates: aggregates)
        case .seriesExpand(let input, let series):
            // A conjunct over the input's columns filters its rows before they are expanded
            // (and joins the input, when it is a join: `FROM a, b, generate_series(1, a.n) g
            // WHERE a.k = b.k`); on the preserved side of a LEFT JOIN LATERAL as well.
            let width = input.outputTypes.count
            var down = takeConjuncts(&conjuncts) { used in !used.isEmpty && used.allSatisfy { $0 < width } }
            guard !down.isEmpty else { return plan }
            return .seriesExpand(place(&down, into: input).withFilter(down), series: series)
        case .unionAll(let inputs):
            // Every input gets its own copy (the inputs' columns line up with the union's);
            // inputs left empty go.
            let down = takeConjuncts(&conjuncts) { _ in true }
            guard !down.isEmpty else { return plan }
            let placed = inputs.map { input in
                var copy = down
                return place(&copy, into: input).withFilter(copy)
            }
            let kept = placed.filter { !$0.isEmptyRelation }
            if kept.isEmpty { return .empty(plan.outputTypes) }
            return kept.count == 1 && kept[0].outputTypes.map(\.1) == plan.outputTypes.map(\.1) ? kept[0] : .unionAll(kept)
        default:
            break
        }
        if case .semiJoin(let probe, let build, let probeKeys, let buildKeys, let residual, let anti) = plan {
            // A semi or anti join keeps the probe's columns: everything placeable goes to the probe.
            var down = conjuncts
            conjuncts = []
            return .semiJoin(probe: place(&down, into: probe).withFilter(down), build: build, probeKeys: probeKeys, buildKeys: buildKeys, residual: residual, anti: anti)
        }
        guard case .hashJoin(let probe, let build, var probeKeys, var buildKeys, let preserveProbe, let residual) = plan else { return plan }
        if preserveProbe {
            // Above a LEFT join only conjuncts over the preserved side may move down.
            let probeWidth = probe.outputTypes.count
            var down = conjuncts.filter { !$0.columnsUsed.isEmpty && $0.columnsUsed.allSatisfy { $0 < probeWidth } }
            conjuncts.removeAll { c in !c.columnsUsed.isEmpty && c.columnsUsed.allSatisfy { $0 < probeWidth } }
            // A comparison of a probe key with a constant holds for the build rows it can match:
            // it filters the build side too (TPC-DS q78: the year of `ss` reaches `ws` and `cs`).
            var derived = transferred(down, from: probeKeys, to: buildKeys)
            var newProbe = place(&down, into: probe)
            if !down.isEmpty { newProbe = .filter(newProbe, predicate: combine(down)) }
            let newBuild = derived.isEmpty ? build : place(&derived, into: build).withFilter(derived)
            return .hashJoin(probe: newProbe, build: newBuild, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: true, residual: residual)
        }
        let probeWidth = probe.outputTypes.count
        let width = probeWidth + build.outputTypes.count
        var toProbe: [BoundExpression] = [], toBuild: [BoundExpression] = [], keep: [BoundExpression] = []
        for conjunct in conjuncts {
            let used = conjunct.columnsUsed
            guard used.allSatisfy({ $0 < width }) else { keep.append(conjunct); continue }
            if !used.isEmpty, used.allSatisfy({ $0 < probeWidth }) {
                toProbe.append(conjunct)
            } else if !used.isEmpty, used.allSatisfy({ $0 >= probeWidth }) {
                toBuild.append(conjunct.remapColumns { $0 - probeWidth })
            } else if case .call("eq", let args) = conjunct.kind, args.count == 2,
                      let (p, b) = sides(args[0], args[1], probeWidth: probeWidth) {
                probeKeys.append(p)
                buildKeys.append(b.remapColumns { $0 - probeWidth })
            } else {
                keep.append(conjunct)
            }
        }
        conjuncts = keep
        // Comparisons of a key with a constant hold on both sides of the key's equality.
        let fromProbe = transferred(toProbe, from: probeKeys, to: buildKeys)
        toProbe += transferred(toBuild, from: buildKeys, to: probeKeys).filter { !toProbe.contains($0) }
        toBuild += fromProbe.filter { !toBuild.contains($0) }
        var newProbe = place(&toProbe, into: probe)
        if !toProbe.isEmpty { newProbe = .filter(newProbe, predicate: combine(toProbe)) }
        var newBuild = place(&toBuild, into: build)
        if !toBuild.isEmpty { newBuild = .filter(newBuild, predicate: combine(toBuild)) }
        return .hashJoin(probe: newProbe, build: newBuild, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: false)
    }

    /// The conjuncts that compare a key column of one join side with a constant, restated over
    /// the other side's key column of the same equality (of the same type): a row there whose
    /// key fails the comparison can equal no row here that passes it.
    static func transferred(_ conjuncts: [BoundExpression], from keys: [BoundExpression], to otherKeys: [BoundExpression]) -> [BoundExpression] {
        var result: [BoundExpression] = []
        for conjunct in conjuncts {
            guard case .call(let name, let args) = conjunct.kind, ["eq", "ne", "lt", "le", "gt", "ge"].contains(name), args.count == 2,
                  let side = args.firstIndex(where: { if case .column = $0.kind { return true } else { return false } }),
                  case .column(let column) = args[side].kind, args[1 - side].columnsUsed.isEmpty, !args[1 - side].isVolatile,
                  let key = keys.firstIndex(where: { $0.kind == .column(column) }),
                  case .column(let other) = otherKeys[key].kind, otherKeys[key].type == args[side].type else { continue }
            result.append(conjunct.remapColumns { _ in other })
        }
        return result
    }

    /// Removes and returns the conjuncts that may move below a node: they read at least one
    /// column (a constant conjunct above an aggregation would keep its one row of an empty
    /// input), call nothing volatile, and `movable` accepts the columns they read.
    static func takeConjuncts(_ conjuncts: inout [BoundExpression], _ movable: (Set<Int>) -> Bool) -> [BoundExpression] {
        var taken: [BoundExpression] = [], kept: [BoundExpression] = []
        func accepts(_ conjunct: BoundExpression) -> Bool {
            let used = conjunct.columnsUsed
            return !used.isEmpty && !conjunct.isVolatile && movable(used)
        }
        for conjunct in conjuncts {
            if accepts(conjunct) {
                taken.append(conjunct)
            } else {
                kept.append(conjunct)
                if let implied = impliedPart(of: conjunct, accepts) { taken.append(implied) }
            }
        }
        conjuncts = kept
        return taken
    }

    /// What an OR that cannot move whole implies that can: the OR of each branch's movable
    /// conjuncts, when every branch has one (`(y = 2001 AND s > 0) OR y = 2002` implies
    /// `y = 2001 OR y = 2002`). It filters earlier; the OR itself stays where it was.
    static func impliedPart(of conjunct: BoundExpression, _ movable: (BoundExpression) -> Bool) -> BoundExpression? {
        guard case .call("or", _) = conjunct.kind else { return nil }
        var parts: [BoundExpression] = []
        for branch in disjuncts(conjunct) {
            let usable = split(branch).filter(movable)
            if usable.isEmpty { return nil }
            parts.append(combine(usable))
        }
        return .chain("or", parts)
    }

    /// `probe LEFT JOIN build ON predicate`: cross-side equalities become keys, conjuncts
    /// over the build side alone filter it, the others are the residual checked per match.
    /// `probe [LEFT] JOIN build [ON predicate]` of two items bound apart: a LEFT join
    /// (`preserve`; no predicate is ON TRUE), or a cross join the predicate's conjuncts
    /// filter (and key).
    static func join(probe: PlanNode, build: PlanNode, on predicate: BoundExpression?, preserve: Bool, position: Int) throws(DatabaseError) -> PlanNode {
        if preserve { return try leftJoin(probe: probe, build: build, on: predicate ?? .constant(.bool(true), type: .boolean), position: position) }
        let plan = PlanNode.hashJoin(probe: probe, build: build, probeKeys: [], buildKeys: [], preserveProbe: false)
        return predicate.map { attach($0, to: plan) } ?? plan
    }

    public static func leftJoin(probe: PlanNode, build: PlanNode, on predicate: BoundExpression, position: Int) throws(DatabaseError) -> PlanNode {
        let probeWidth = probe.outputTypes.count
        var probeKeys: [BoundExpression] = [], buildKeys: [BoundExpression] = [], buildOnly: [BoundExpression] = [], residual: [BoundExpression] = []
        for conjunct in split(predicate) {
            let used = conjunct.columnsUsed
            if !used.isEmpty, used.allSatisfy({ $0 >= probeWidth }) {
                buildOnly.append(conjunct.remapColumns { $0 - probeWidth })
            } else if case .call("eq", let args) = conjunct.kind, args.count == 2, let (p, b) = sides(args[0], args[1], probeWidth: probeWidth) {
                probeKeys.append(p)
                buildKeys.append(b.remapColumns { $0 - probeWidth })
            } else {
                residual.append(conjunct)
            }
        }
        var newBuild = build
        if !buildOnly.isEmpty { newBuild = .filter(build, predicate: combine(buildOnly)) }
        return .hashJoin(probe: probe, build: newBuild, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: true,
                         residual: residual.isEmpty ? nil : combine(residual))
    }

    /// `left RIGHT|FULL JOIN right ON predicate` (predicate over the left's columns, then the
    /// right's). RIGHT is a LEFT join with the sides swapped. FULL adds, after the LEFT join's
    /// rows, the right rows that match no left row (an anti join with the whole ON condition
    /// as its residual) with NULL left columns.
    public static func outerJoin(left: PlanNode, right: PlanNode, on predicate: BoundExpression, full: Bool, position: Int) throws(DatabaseError) -> PlanNode {
        let leftTypes = left.outputTypes, rightTypes = right.outputTypes
        let (lw, rw) = (leftTypes.count, rightTypes.count)
        // The condition over the right's columns, then the left's.
        let swapped = predicate.remapColumns { $0 < lw ? $0 + rw : $0 - lw }
        let outputTypes = leftTypes + rightTypes
        guard full else {
            let joined = try leftJoin(probe: right, build: left, on: swapped, position: position)
            let joinedTypes = joined.outputTypes
            let order = Array(rw..<(rw + lw)) + Array(0..<rw)
            return .project(joined, expressions: order.map { .column($0, type: joinedTypes[$0].0, nullable: joinedTypes[$0].1) },
                            names: order.map { "?column\($0)?" })
        }
        let leftPart = try leftJoin(probe: left, build: right, on: predicate, position: position)
        var probeKeys: [BoundExpression] = [], buildKeys: [BoundExpression] = [], residual: [BoundExpression] = []
        for conjunct in split(swapped) {
            if case .call("eq", let args) = conjunct.kind, args.count == 2, let (p, b) = sides(args[0], args[1], probeWidth: rw) {
                probeKeys.append(p)
                buildKeys.append(b.remapColumns { $0 - rw })
            } else {
                residual.append(conjunct)
            }
        }
        let unmatched = PlanNode.semiJoin(probe: right, build: left, probeKeys: probeKeys, buildKeys: buildKeys,
                                          residual: residual.isEmpty ? nil : combine(residual), anti: true)
        let padded = PlanNode.project(unmatched, expressions: leftTypes.map { .constant(.null, type: $0.0) } + rightTypes.indices.map { .column($0, type: rightTypes[$0].0, nullable: rightTypes[$0].1) },
                                      names: outputTypes.indices.map { "?column\($0)?" })
        return .unionAll([leftPart, padded])
    }

    /// Whether a semi or anti join should hash its outer side (`probe`) and let the subquery's
    /// rows mark the entries they match: when the outer side is estimated at a quarter of the
    /// subquery's rows or less. Anti joins need outer keys that cannot be NULL (a NULL key
    /// never enters a hash table, but its row must come out of an anti join).
    public static func buildsOnOuterSide(probe: PlanNode, build: PlanNode, probeKeys: [BoundExpression], anti: Bool) -> Bool {
        guard !probeKeys.isEmpty, !anti || probeKeys.allSatisfy({ !$0.nullable }) else { return false }
        return Estimate.of(probe).rows * 4 <= Estimate.of(build).rows
    }

    /// An equality whose sides read only probe columns and only build columns respectively.
    static func sides(_ a: BoundExpression, _ b: BoundExpression, probeWidth: Int) -> (BoundExpression, BoundExpression)? {
        let ua = a.columnsUsed, ub = b.columnsUsed
        guard !ua.isEmpty, !ub.isEmpty else { return nil }
        if ua.allSatisfy({ $0 < probeWidth }), ub.allSatisfy({ $0 >= probeWidth }) { return (a, b) }
        if ub.allSatisfy({ $0 < probeWidth }), ua.allSatisfy({ $0 >= probeWidth }) { return (b, a) }
        return nil
    }
}

extension BoundExpression {
    /// A constant FALSE or NULL (a filter that keeps no row).
    var isFalseOrNull: Bool {
        guard case .constant(let value) = kind else { return false }
        return value.isNull || value == .bool(false)
    }
}

extension PlanNode {
    /// No rows, of these column types.
    static func empty(_ types: [(SQLType, Bool)]) -> PlanNode {
        .project(.filter(.singleRow, predicate: .constant(.bool(false), type: .boolean)),
                 expressions: types.map { .constant(.null, type: $0.0) }, names: types.indices.map { "c\($0)" })
    }

    /// Whether this is `empty(...)`.
    var isEmptyRelation: Bool {
        if case .project(.filter(.singleRow, let predicate), _, _) = self { return predicate.isFalseOrNull }
        return false
    }

    /// The node with the remaining conjuncts as a filter on top (itself when none remain).
    func withFilter(_ conjuncts: [BoundExpression]) -> PlanNode {
        conjuncts.isEmpty ? self : .filter(self, predicate: JoinPlanning.combine(conjuncts))
    }
}
