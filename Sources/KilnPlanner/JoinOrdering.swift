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
        /// Nil while orders are searched (`reorder`'s `join`, unplanned).
        var plan: PlanNode?
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
        // Each condition's selectivity, and whether it is an edge (a hash key), once.
        let selectivities = pending.map { Selectivity.of($0.0, estimate: nil) }
        let edgeConditions = pending.map { isEdge($0.0, edges) }
        let edgeColumns = edges.map { ($0.0.columnsUsed.first!, $0.1.columnsUsed.first!) }

        /// The join of `left` and `right`: its size, cost and column order, and with `planned`
        /// its plan (the orders are searched on sizes and costs; only the chosen one is built).
        func join(_ left: Joined, _ right: Joined, _ leftSet: RelationSet, _ rightSet: RelationSet, planned: Bool) -> Joined {
            // The smaller input builds.
            let (probe, build, probeSet, buildSet) = left.estimate.rows >= right.estimate.rows ? (left, right, leftSet, rightSet) : (right, left, rightSet, leftSet)
            var position: [Int: Int] = [:]
            if planned {
                for (i, c) in probe.columns.enumerated() { position[c] = i }
                for (i, c) in build.columns.enumerated() { position[c] = probe.columns.count + i }
            }
            var probeKeys: [BoundExpression] = [], buildKeys: [BoundExpression] = []
            var keyPairs: [(Int, Int)] = []
            var firstPair: (Int, Int)?
            var onePair = true
            for (index, (a, b, ra, rb)) in edges.enumerated() {
                let forward = probeSet.contains(ra) && buildSet.contains(rb)
                guard forward || probeSet.contains(rb) && buildSet.contains(ra) else { continue }
                let pair = (min(ra, rb), max(ra, rb))
                if let firstPair, firstPair != pair { onePair = false } else { firstPair = pair }
                let (p, q) = forward ? (a, b) : (b, a)
                keyPairs.append(forward ? edgeColumns[index] : (edgeColumns[index].1, edgeColumns[index].0))
                if planned {
                    probeKeys.append(p.remapColumns { position[$0]! })
                    buildKeys.append(q.remapColumns { position[$0]! - probe.columns.count })
                }
            }
            let columns = probe.columns + build.columns
            var estimate = Estimate.join(probe.estimate, build.estimate, keys: keyPairs.map { (probe.estimate.column($0.0, probe.columns), build.estimate.column($0.1, build.columns)) },
                                         oneRelationEach: firstPair != nil && onePair)
            // Other conditions apply as soon as all their relations are joined.
            let set = probeSet.union(buildSet)
            var filters: [BoundExpression] = []
            for index in pending.indices where !edgeConditions[index] {
                let mask = conditionSets[index]
                guard set.isSuperset(of: mask), !probeSet.isSuperset(of: mask), !buildSet.isSuperset(of: mask) else { continue }
                if planned { filters.append(pending[index].0.remapColumns { position[$0]! }) }
                estimate.rows *= selectivities[index]
            }
            var plan: PlanNode?
            if planned {
                plan = .hashJoin(probe: probe.plan!, build: build.plan!, probeKeys: probeKeys, buildKeys: buildKeys, preserveProbe: false)
                if !filters.isEmpty { plan = .filter(plan!, predicate: JoinPlanning.combine(filters)) }
            }
            estimate.rows = max(estimate.rows, 1)
            estimate.capColumns()
            let cost = left.cost + right.cost + estimate.rows + 1.5 * build.estimate.rows
            return Joined(plan: plan, columns: columns, estimate: estimate, cost: cost)
        }

        func connected(_ a: RelationSet, _ b: RelationSet) -> Bool {
            a.members.contains { neighbours[$0].intersects(b) }
        }

        /// The chosen order's plan, built once.
        func planned(_ tree: JoinTree) -> Joined {
            switch tree {
            case .leaf(let index): return leaves[index]
            case .join(let a, let b):
                return join(planned(a), planned(b), RelationSet(a.relations), RelationSet(b.relations), planned: true)
            }
        }

        var chosen: JoinTree
        if n <= dynamicProgrammingLimit {
            var best: [UInt64: (Joined, JoinTree)] = [:]
            for i in 0..<n { best[1 << UInt64(i)] = (leaves[i], .leaf(i)) }
            let full: UInt64 = (1 << UInt64(n)) - 1
            let neighbourMasks = neighbours.map { $0.words.first ?? 0 }
            func linked(_ a: UInt64, _ b: UInt64) -> Bool {
                var rest = a
                while rest != 0 {
                    if neighbourMasks[rest.trailingZeroBitCount] & b != 0 { return true }
                    rest &= rest - 1
                }
                return false
            }
            for allowCross in [false, true] {
                if best[full] != nil { break }
                for size in 2...max(2, n) {
                    for set in subsets(of: full, size: size) where best[set] == nil || allowCross {
                        // Every split into two non-empty halves (each once).
                        var a = (set - 1) & set
                        while a > 0 {
                            let b = set & ~a
                            if a < b, let left = best[a], let right = best[b], allowCross || linked(a, b) {
                                let candidate = join(left.0, right.0, RelationSet(mask: a), RelationSet(mask: b), planned: false)
                                if best[set].map({ candidate.cost < $0.0.cost }) ?? true { best[set] = (candidate, .join(left.1, right.1)) }
                            }
                            a = (a - 1) & set
                        }
                    }
                }
            }
            chosen = best[full]!.1
        } else {
            // Greedy: join the connected pair with the smallest result until one remains (a
            // cross product only when no pair is connected). Each pair's join is estimated
            // once; a merge re-estimates only the pairs of the merged part.
            var parts = leaves.enumerated().map { (joined: $0.element, set: RelationSet([$0.offset]), tree: JoinTree.leaf($0.offset)) }
            var alive = [Bool](repeating: true, count: n)
            var pairs = [Joined?](repeating: nil, count: n * n)
            func estimatePair(_ i: Int, _ j: Int) {
                pairs[i * n + j] = connected(parts[i].set, parts[j].set) ? join(parts[i].joined, parts[j].joined, parts[i].set, parts[j].set, planned: false) : nil
            }
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { estimatePair(i, j) } }
            for _ in 1..<max(1, n) {
                var choice: (Int, Int, Joined)?
                for i in 0..<n where alive[i] {
                    for j in (i + 1)..<max(i + 1, n) where alive[j] {
                        if let candidate = pairs[i * n + j], choice.map({ candidate.estimate.rows < $0.2.estimate.rows }) ?? true { choice = (i, j, candidate) }
                    }
                }
                if choice == nil {
                    for i in 0..<n where alive[i] {
                        for j in (i + 1)..<max(i + 1, n) where alive[j] {
                            let candidate = join(parts[i].joined, parts[j].joined, parts[i].set, parts[j].set, planned: false)
                            if choice.map({ candidate.estimate.rows < $0.2.estimate.rows }) ?? true { choice = (i, j, candidate) }
                        }
                    }
                }
                let (i, j, joined) = choice!
                parts[i] = (joined, parts[i].set.union(parts[j].set), .join(parts[i].tree, parts[j].tree))
                alive[j] = false
                for k in 0..<n where alive[k] && k != i { if k < i { estimatePair(k, i) } else { estimatePair(i, k) } }
            }
            chosen = parts[0].tree
        }
        let result = planned(chosen)
        // Conditions over no relation (constants) and the original column order.
        var plan = result.plan!
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

    /// The order chosen for a region: which relations, and sets of them, join.
    indirect enum JoinTree {
        case leaf(Int)
        case join(JoinTree, JoinTree)

        var relations: [Int] {
            switch self {
            case .leaf(let index): return [index]
            case .join(let a, let b): return a.relations + b.relations
            }
        }
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
