import KilnCore
import KilnStorage

/// Cost-based join ordering.
///
/// A region of inner joins (with the filters between them) is flattened into relations and
/// conditions, then re-planned: conditions over one relation filter it, equalities between
/// relations become hash keys, others filter the first join that sees all their relations.
/// The order comes from dynamic programming over connected subsets (bushy trees, up to
/// `dynamicProgrammingLimit` relations) or, beyond, greedily joining the pair with the
/// smallest result. Costs are the sizes of intermediate results plus the hash tables built;
/// the smaller input of each join builds. Sizes come from table statistics (ANALYZE, COPY)
/// and textbook selectivities. A projection restores the region's column order.
public enum JoinOrdering {
    static let dynamicProgrammingLimit = 10

    public static func optimize(_ plan: PlanNode) -> PlanNode {
        switch plan {
        case .hashJoin(_, _, _, _, false, nil), .filter(.hashJoin(_, _, _, _, false, nil), _):
            // A LEFT join among the region's relations is a barrier to ordering: `(A LEFT JOIN
            // B) JOIN C` is `(A JOIN C) LEFT JOIN B` when nothing else reads B, which lets C
            // filter A before B is probed (TPC-DS q40). Planned both ways; the cheaper wins.
            let kept = reorder(plan, liftLeftJoins: false)
            guard hasLeftJoin(plan) else { return kept.plan }
            let lifted = reorder(plan, liftLeftJoins: true)
            return lifted.lifted && lifted.cost < kept.cost ? lifted.plan : kept.plan
        default:
            return plan.mapInputs(optimize)
        }
    }

    /// A LEFT join taken out of a region (`liftLeftJoins`), to be applied over the ordered
    /// inner joins: its build side, and its keys and residual over its own probe's columns
    /// (global numbers from `probeOffset`) and its build's (from `buildOffset`).
    struct LiftedLeftJoin {
        var build: PlanNode
        var probeKeys: [BoundExpression]
        var buildKeys: [BoundExpression]
        var residual: BoundExpression?
        var probeOffset: Int
        var probeWidth: Int
        var buildOffset: Int
    }

    // MARK: - Flattening

    struct Relation {
        var plan: PlanNode
        /// Global column numbers of its columns: offset ..< offset + width.
        var offset: Int
        var width: Int
    }

    static func flatten(_ plan: PlanNode, offset: Int, relations: inout [Relation], conditions: inout [BoundExpression], lifted: inout [LiftedLeftJoin]?) {
        switch plan {
        case .hashJoin(let probe, let build, let probeKeys, let buildKeys, false, nil):
            let probeWidth = probe.outputTypes.count
            flatten(probe, offset: offset, relations: &relations, conditions: &conditions, lifted: &lifted)
            flatten(build, offset: offset + probeWidth, relations: &relations, conditions: &conditions, lifted: &lifted)
            for (p, b) in zip(probeKeys, buildKeys) {
                conditions.append(.call("eq", [p.remapColumns { $0 + offset }, b.remapColumns { $0 + offset + probeWidth }], type: .boolean))
            }
        case .filter(let input, let predicate) where isRegion(input):
            flatten(input, offset: offset, relations: &relations, conditions: &conditions, lifted: &lifted)
            conditions += JoinPlanning.split(predicate).map { $0.remapColumns { $0 + offset } }
        case .hashJoin(let probe, let build, let probeKeys, let buildKeys, true, let residual) where lifted != nil:
            // Its probe side joins the region; whether anything else reads its build side is
            // checked once every condition is known (`reorder`).
            let probeWidth = probe.outputTypes.count
            lifted!.append(LiftedLeftJoin(build: optimize(build), probeKeys: probeKeys, buildKeys: buildKeys, residual: residual,
                                          probeOffset: offset, probeWidth: probeWidth, buildOffset: offset + probeWidth))
            flatten(probe, offset: offset, relations: &relations, conditions: &conditions, lifted: &lifted)
        default:
            let optimized = optimize(plan)
            relations.append(Relation(plan: optimized, offset: offset, width: plan.outputTypes.count))
        }
    }

    /// Whether one of the region's relations is a LEFT join (that lifting could move).
    static func hasLeftJoin(_ plan: PlanNode) -> Bool {
        switch plan {
        case .hashJoin(let probe, let build, _, _, false, nil): return hasLeftJoin(probe) || hasLeftJoin(build)
        case .filter(let input, _) where isRegion(input): return hasLeftJoin(input)
        case .hashJoin(_, _, _, _, true, _): return true
        default: return false
        }
    }

    static func isRegion(_ plan: PlanNode) -> Bool {
        switch plan {
        case .hashJoin(_, _, _, _, false, nil): return true
        case .filter(let input, _): return isRegion(input)
        default: return false
        }
    }

    // MARK: - Re-planning

    /// A (sub)plan over a set of relations: its output's global columns in order.
    struct Joined {
        var plan: PlanNode
        var columns: [Int]
        var estimate: Estimate
        var cost: Double
    }

    /// The region `plan` re-planned, and its cost; with `liftLeftJoins`, LEFT joins among its
    /// relations whose build side nothing else reads are applied over the ordered inner joins
    /// (`lifted`: some were).
    static func reorder(_ plan: PlanNode, liftLeftJoins: Bool) -> (plan: PlanNode, cost: Double, lifted: Bool) {
        var relations: [Relation] = []
        var conditions: [BoundExpression] = []
        var liftedJoins: [LiftedLeftJoin]? = liftLeftJoins ? [] : nil
        flatten(plan, offset: 0, relations: &relations, conditions: &conditions, lifted: &liftedJoins)
        let lifts = liftedJoins ?? []
        let liftedColumns = lifts.map { $0.buildOffset..<($0.buildOffset + $0.build.outputTypes.count) }
        if lifts.isEmpty && liftLeftJoins || lifts.count > 0 && (relations.count < 2 || conditions.contains { c in
            c.columnsUsed.contains { column in liftedColumns.contains { $0.contains(column) } }
        }) {
            // Nothing to lift, or a condition reads a LEFT join's build side: no lifting.
            return (plan, .infinity, false)
        }
        // Without lifting, each LEFT join is a relation that probes its probe side's rows.
        var leftJoinCost = 0.0
        if !liftLeftJoins {
            for relation in relations {
                if case .hashJoin(let probe, _, _, _, true, _) = relation.plan { leftJoinCost += Estimate.of(probe).rows }
            }
        }
        let n = relations.count
        let width = plan.outputTypes.count
        func owner(_ column: Int) -> Int { relations.firstIndex { column >= $0.offset && column < $0.offset + $0.width }! }
        func relationsOf(_ e: BoundExpression) -> Set<Int> { Set(e.columnsUsed.map(owner)) }

        // Conditions on one relation filter it.
        var pending: [(BoundExpression, Set<Int>)] = []
        var local = [[BoundExpression]](repeating: [], count: n)
        for condition in conditions {
            let used = relationsOf(condition)
            if used.count == 1 { local[used.first!].append(condition) } else { pending.append((condition, used)) }
            // From an OR over several relations, each relation that every branch restricts
            // gets the OR of those restrictions as its own filter (TPC-H Q7's nations).
            if used.count > 1, case .call("or", _) = condition.kind {
                let branches = JoinPlanning.disjuncts(condition).map(JoinPlanning.split)
                for relation in used {
                    let parts = branches.map { $0.filter { relationsOf($0) == [relation] } }
                    guard parts.allSatisfy({ !$0.isEmpty }) else { continue }
                    let derived = BoundExpression.chain("or", parts.map(JoinPlanning.combine))
                    local[relation].append(derived)
                }
            }
        }
        var leaves: [Joined] = []
        for (index, relation) in relations.enumerated() {
            var leaf = relation.plan
            if !local[index].isEmpty {
                let predicate = JoinPlanning.combine(local[index]).remapColumns { $0 - relation.offset }
                leaf = JoinPlanning.attach(predicate, to: leaf)
            }
            let estimate = Estimate.of(leaf)
            leaves.append(Joined(plan: leaf, columns: Array(relation.offset..<(relation.offset + relation.width)), estimate: estimate, cost: 0))
        }
        // Equalities between two relation sets are the join graph's edges.
        var edges: [(BoundExpression, BoundExpression, Int, Int)] = []
        for (condition, used) in pending where used.count == 2 {
            guard case .call("eq", let args) = condition.kind, args.count == 2 else { continue }
            let a = relationsOf(args[0]), b = relationsOf(args[1])
            if a.count == 1, b.count == 1, a != b { edges.append((args[0], args[1], a.first!, b.first!)) }
        }

        // Each relation's neighbours in the join graph.
        var neighbours = [RelationSet](repeating: RelationSet(), count: n)
        for (_, _, a, b) in edges {
            neighbours[a].insert(b)
            neighbours[b].insert(a)
        }
        let conditionSets = pending.map { RelationSet($0.1) }

        func join(_ left: Joined, _ right: Joined, _ leftSet: RelationSet, _ rightSet: RelationSet) -> Joined {
            // The smaller input builds.
            let (probe, build, probeSet, buildSet) = left.estimate.rows >= right.estimate.rows ? (left, right, leftSet, rightSet) : (right, left, rightSet, leftSet)
            var position: [Int: Int] = [:]
            for (i, c) in probe.columns.enumerated() { position[c] = i }
            for (i, c) in build.columns.enumerated() { position[c] = probe.columns.count + i }
            var probeKeys: [BoundExpression] = [], buildKeys: [BoundExpression] = []
            var keyPairs: [(Int, Int)] = []
            var relationPairs = Set<[Int]>()
            for (a, b, ra, rb) in edges {
                let inProbe = { (r: Int) in probeSet.contains(r) }
                let inBuild = { (r: Int) in buildSet.contains(r) }
                if (inProbe(ra) && inBuild(rb)) || (inProbe(rb) && inBuild(ra)) { relationPairs.insert([ra, rb].sorted()) }
                if inProbe(ra), inBuild(rb) {
                    probeKeys.append(a.remapColumns { position[$0]! }); buildKeys.append(b.remapColumns { position[$0]! - probe.columns.count })
                    keyPairs.append((a.columnsUsed.first!, b.columnsUsed.first!))
                } else if inProbe(rb), inBuild(ra) {
                    probeKeys.append(b.remapColumns { position[$0]! }); buildKeys.append(a.remapColumns { position[$0]! - probe.columns.count })
                    keyPairs.append((b.columnsUsed.first!, a.columnsUsed.first!))
                }
            }
            var plan = PlanNode.hashJoin(probe: probe.plan, build: build.plan, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: false)
            let columns = probe.columns + build.columns
            var estimate = Estimate.join(probe.estimate, build.estimate, keys: keyPairs.map { (probe.estimate.column($0.0, probe.columns), build.estimate.column($0.1, build.columns)) },
                                         oneRelationEach: relationPairs.count == 1)
            // Other conditions apply as soon as all their relations are joined.
            let set = probeSet.union(buildSet)
            var filters: [BoundExpression] = []
            for (index, (condition, _)) in pending.enumerated() {
                let mask = conditionSets[index]
                let before = probeSet.isSuperset(of: mask) || buildSet.isSuperset(of: mask)
                if set.isSuperset(of: mask), !before, !isEdge(condition, edges) {
                    filters.append(condition.remapColumns { position[$0]! })
                    estimate.rows *= Selectivity.of(condition, estimate: nil)
                }
            }
            if !filters.isEmpty { plan = .filter(plan, predicate: JoinPlanning.combine(filters)) }
            estimate.rows = max(estimate.rows, 1)
            estimate.capColumns()
            let cost = left.cost + right.cost + estimate.rows + 1.5 * build.estimate.rows
            return Joined(plan: plan, columns: columns, estimate: estimate, cost: cost)
        }

        func connected(_ a: RelationSet, _ b: RelationSet) -> Bool {
            a.members.contains { neighbours[$0].intersects(b) }
        }

        var result: Joined
        if n <= dynamicProgrammingLimit {
            var best: [UInt64: Joined] = [:]
            for i in 0..<n { best[1 << UInt64(i)] = leaves[i] }
            let full: UInt64 = (1 << UInt64(n)) - 1
            for allowCross in [false, true] {
                if best[full] != nil { break }
                for size in 2...max(2, n) {
                    for set in subsets(of: full, size: size) where best[set] == nil || allowCross {
                        // Every split into two non-empty halves (each once).
                        var a = (set - 1) & set
                        while a > 0 {
                            let b = set & ~a
                            if a < b, let left = best[a], let right = best[b], allowCross || connected(RelationSet(mask: a), RelationSet(mask: b)) {
                                let candidate = join(left, right, RelationSet(mask: a), RelationSet(mask: b))
                                if best[set].map({ candidate.cost < $0.cost }) ?? true { best[set] = candidate }
                            }
                            a = (a - 1) & set
                        }
                    }
                }
            }
            result = best[full]!
        } else {
            // Greedy: join the connected pair with the smallest result until one remains.
            var parts = leaves.enumerated().map { ($0.element, RelationSet([$0.offset])) }
            while parts.count > 1 {
                var choice: (Int, Int, Joined)?
                for i in parts.indices {
                    for j in parts.indices where i < j {
                        let linked = connected(parts[i].1, parts[j].1)
                        if !linked, choice != nil { continue }
                        let candidate = join(parts[i].0, parts[j].0, parts[i].1, parts[j].1)
                        if choice == nil || candidate.estimate.rows < choice!.2.estimate.rows && (linked || !connected(parts[choice!.0].1, parts[choice!.1].1)) {
                            choice = (i, j, candidate)
                        }
                    }
                }
                let (i, j, joined) = choice!
                let set = parts[i].1.union(parts[j].1)
                parts.remove(at: j)
                parts[i] = (joined, set)
            }
            result = parts[0].0
        }
        // Conditions over no relation (constants) and the original column order.
        var plan = result.plan
        let constant = pending.filter { $0.1.isEmpty }.map(\.0)
        if !constant.isEmpty { plan = .filter(plan, predicate: JoinPlanning.combine(constant)) }
        var columns = result.columns
        var cost = result.cost + leftJoinCost
        // Lifted LEFT joins over the ordered region, the innermost first (an outer one's keys
        // may read an inner one's build side).
        for lift in lifts.reversed() {
            var position: [Int: Int] = [:]
            for (i, c) in columns.enumerated() { position[c] = i }
            let width = columns.count
            func probeSide(_ local: Int) -> Int { position[lift.probeOffset + local]! }
            let probeKeys = lift.probeKeys.map { $0.remapColumns(probeSide) }
            let residual = lift.residual?.remapColumns { $0 < lift.probeWidth ? probeSide($0) : width + $0 - lift.probeWidth }
            plan = .hashJoin(probe: plan, build: lift.build, probeKeys: probeKeys, buildKeys: lift.buildKeys, preserveProbe: true, residual: residual)
            columns += Array(lift.buildOffset..<(lift.buildOffset + lift.build.outputTypes.count))
            cost += result.estimate.rows
        }
        let types = plan.outputTypes
        var position: [Int: Int] = [:]
        for (i, c) in columns.enumerated() { position[c] = i }
        if columns == Array(0..<width) { return (plan, cost, !lifts.isEmpty) }
        return (.project(plan, expressions: (0..<width).map { .column(position[$0]!, type: types[position[$0]!].0, nullable: types[position[$0]!].1) },
                         names: (0..<width).map { "?column\($0)?" }), cost, !lifts.isEmpty)
    }

    static func isEdge(_ condition: BoundExpression, _ edges: [(BoundExpression, BoundExpression, Int, Int)]) -> Bool {
        guard case .call("eq", let args) = condition.kind, args.count == 2 else { return false }
        return edges.contains { $0.0 == args[0] && $0.1 == args[1] }
    }

    /// The subsets of `set` with `size` members.
    static func subsets(of set: UInt64, size: Int) -> [UInt64] {
        var result: [UInt64] = []
        var s = set
        while s > 0 {
            if s.nonzeroBitCount == size { result.append(s) }
            s = (s - 1) & set
        }
        return result
    }
}

/// A set of a join region's relations, of any size (the dynamic programming over subsets uses
/// 64-bit masks, as it runs for at most `dynamicProgrammingLimit` relations).
struct RelationSet: Hashable {
    private(set) var words: [UInt64] = []

    init() {}

    init(_ members: some Sequence<Int>) {
        for member in members { insert(member) }
    }

    init(mask: UInt64) {
        words = [mask]
    }

    mutating func insert(_ member: Int) {
        let word = member >> 6
        if words.count <= word { words += [UInt64](repeating: 0, count: word + 1 - words.count) }
        words[word] |= 1 << UInt64(member & 63)
    }

    func contains(_ member: Int) -> Bool {
        let word = member >> 6
        return word < words.count && words[word] & (1 << UInt64(member & 63)) != 0
    }

    func union(_ other: RelationSet) -> RelationSet {
        var result = words.count >= other.words.count ? self : other
        let smaller = words.count >= other.words.count ? other : self
        for (index, word) in smaller.words.enumerated() { result.words[index] |= word }
        return result
    }

    func intersects(_ other: RelationSet) -> Bool {
        zip(words, other.words).contains { $0 & $1 != 0 }
    }

    func isSuperset(of other: RelationSet) -> Bool {
        other.words.enumerated().allSatisfy { index, word in word & ~(index < words.count ? words[index] : 0) == 0 }
    }

    var members: [Int] {
        var result: [Int] = []
        for (index, word) in words.enumerated() {
            var rest = word
            while rest != 0 {
                result.append(index * 64 + rest.trailingZeroBitCount)
                rest &= rest - 1
            }
        }
        return result
    }
}
