/// Removes unread columns from scans, renumbering the expressions above them.
///
/// A scan reads only the columns some expression above it uses; compiled code then touches
/// only those column arrays.
///
/// Shared plans (`prune(_:narrowable:)`): a shared plan whose references all lie in the
/// statement's own plan is cut to the columns some reference reads; when every reference only
/// asks whether rows exist (`SetContexts`: the build side of a semi or anti join, below a
/// DISTINCT, through inner joins, filters and projections), it keeps one row per distinct value
/// of those columns. TPC-DS q95's `ws_wh` (a self-join of web_sales, 6.6M rows of three
/// columns) is read by two IN subqueries for its order numbers only: the buffer holds the
/// distinct ones.
public struct ProjectionPruning {
    /// Shared plans that may be narrowed (nil: none).
    let narrowable: Set<Int>?
    /// Per shared plan: the columns its references read (the first, collecting walk).
    var collected: [Int: Set<Int>] = [:]
    /// Whether the walk only collects (its result is thrown away).
    var collecting = false
    /// Per narrowed shared plan: the node every reference reads, and its new column numbers.
    var narrowed: [Int: (PlanNode, [Int: Int])] = [:]
    /// Shared plans whose every reference only tests existence.
    var existenceOnly: Set<Int> = []

    public static func prune(_ plan: PlanNode) -> PlanNode {
        var pruner = ProjectionPruning(narrowable: nil)
        return pruner.prune(plan, needed: Set(plan.outputTypes.indices)).0
    }

    /// `prune(plan)`, and the shared plans of `narrowable` (referenced nowhere else) cut to
    /// the columns their references read.
    static func prune(_ plan: PlanNode, narrowable: Set<Int>) -> PlanNode {
        var collector = ProjectionPruning(narrowable: narrowable, collecting: true)
        _ = collector.prune(plan, needed: Set(plan.outputTypes.indices))
        var pruner = ProjectionPruning(narrowable: narrowable, collected: collector.collected)
        pruner.existenceOnly = SetContexts.existenceOnly(plan)
        return pruner.prune(plan, needed: Set(plan.outputTypes.indices)).0
    }

    /// The shared node `node` (id `id`) cut to the columns its references read.
    mutating func narrow(_ node: PlanNode, id: Int, inner: PlanNode, source: PlanNode) -> (PlanNode, [Int: Int]) {
        if let done = narrowed[id] { return done }
        let types = inner.outputTypes
        var kept = (collected[id] ?? []).sorted()
        if kept.isEmpty, !types.isEmpty { kept = [0] }
        var plan = PlanNode.project(inner, expressions: kept.map { .column($0, type: types[$0].0, nullable: types[$0].1) },
                                    names: kept.map { "?column\($0)?" })
        if existenceOnly.contains(id) {
            plan = .aggregate(plan, keys: kept.indices.map { .column($0, type: types[kept[$0]].0, nullable: types[kept[$0]].1) }, aggregates: [])
        }
        var map: [Int: Int] = [:]
        for (newIndex, oldIndex) in kept.enumerated() { map[oldIndex] = newIndex }
        let result = (PlanNode.shared(id: id, plan: ProjectionPruning.prune(plan), source: source), map)
        narrowed[id] = result
        return result
    }

    /// Returns the pruned node and the map from old output column index to new index.
    mutating func prune(_ node: PlanNode, needed: Set<Int>) -> (PlanNode, [Int: Int]) {
        switch node {
        case .shared(let id, let inner, let source) where narrowable?.contains(id) == true:
            if collecting {
                collected[id, default: []].formUnion(needed)
                return (node, ProjectionPruning.identity(node))
            }
            return narrow(node, id: id, inner: inner, source: source)
        case .tableScan(let table, let columns, let access):
            let kept = needed.sorted()
            var map: [Int: Int] = [:]
            for (newIndex, oldIndex) in kept.enumerated() { map[oldIndex] = newIndex }
            return (.tableScan(table: table, columns: kept.map { columns[$0] }, access: access), map)
        case .seriesScan, .singleRow, .shared:
            // A shared plan keeps every column: its references may read different ones.
            return (node, Dictionary(uniqueKeysWithValues: node.outputTypes.indices.map { ($0, $0) }))
        case .filter(let input, let predicate):
            let (newInput, map) = prune(input, needed: needed.union(predicate.columnsUsed))
            return (.filter(newInput, predicate: predicate.remapColumns { map[$0]! }), map)
        case .project(let input, let expressions, let names):
            // Only the expressions someone reads (at least one, so that rows keep a shape).
            var kept = needed.filter { $0 < expressions.count }.sorted()
            if kept.isEmpty, !expressions.isEmpty { kept = [0] }
            let used = kept.reduce(into: Set<Int>()) { $0.formUnion(expressions[$1].columnsUsed) }
            let (newInput, map) = prune(input, needed: used)
            var outputMap: [Int: Int] = [:]
            for (newIndex, oldIndex) in kept.enumerated() { outputMap[oldIndex] = newIndex }
            return (.project(newInput, expressions: kept.map { expressions[$0].remapColumns { map[$0]! } }, names: kept.map { names[$0] }), outputMap)
        case .aggregate(let input, let keys, let aggregates):
            var used = keys.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
            for aggregate in aggregates { used.formUnion(aggregate.argument?.columnsUsed ?? []) }
            let (newInput, map) = prune(input, needed: used)
            let newAggregates = aggregates.map { call -> AggregateCall in
                var copy = call
                copy.argument = call.argument?.remapColumns { map[$0]! }
                return copy
            }
            return (.aggregate(newInput, keys: keys.map { $0.remapColumns { map[$0]! } }, aggregates: newAggregates), ProjectionPruning.identity(node))
        case .sort(let input, let keys):
            let (newInput, map) = prune(input, needed: needed.union(keys.map(\.column)))
            return (.sort(newInput, keys: keys.map { SortKey(column: map[$0.column]!, descending: $0.descending, nullsFirst: $0.nullsFirst) }), map)
        case .limit(let input, let limit, let offset):
            let (newInput, map) = prune(input, needed: needed)
            return (.limit(newInput, limit: limit, offset: offset), map)
        case .semiJoin(let probe, let build, let probeKeys, let buildKeys, let residual, let anti):
            let probeWidth = probe.outputTypes.count
            var probeNeeded = needed, buildNeeded = Set<Int>()
            for key in probeKeys { probeNeeded.formUnion(key.columnsUsed) }
            for key in buildKeys { buildNeeded.formUnion(key.columnsUsed) }
            for column in residual?.columnsUsed ?? [] {
                if column < probeWidth { probeNeeded.insert(column) } else { buildNeeded.insert(column - probeWidth) }
            }
            let (newProbe, probeMap) = prune(probe, needed: probeNeeded)
            let (newBuild, buildMap) = prune(build, needed: buildNeeded)
            let newProbeWidth = newProbe.outputTypes.count
            let newResidual = residual?.remapColumns { $0 < probeWidth ? probeMap[$0]! : buildMap[$0 - probeWidth]! + newProbeWidth }
            return (.semiJoin(probe: newProbe, build: newBuild, probeKeys: probeKeys.map { $0.remapColumns { probeMap[$0]! } },
                              buildKeys: buildKeys.map { $0.remapColumns { buildMap[$0]! } }, residual: newResidual, anti: anti), probeMap)
        case .window(let input, let calls):
            let width = input.outputTypes.count
            var used = Set(needed.filter { $0 < width })
            for call in calls { used.formUnion(call.columnsUsed) }
            let (newInput, map) = prune(input, needed: used)
            let newWidth = newInput.outputTypes.count
            var outputMap = map
            for index in calls.indices { outputMap[width + index] = newWidth + index }
            return (.window(newInput, calls: calls.map { $0.remapColumns { map[$0]! } }), outputMap)
        case .seriesExpand(let input, let series):
            let width = input.outputTypes.count
            let used = Set(needed.filter { $0 < width }).union(series.columnsUsed.filter { $0 < width })
            let (newInput, map) = prune(input, needed: used)
            let newWidth = newInput.outputTypes.count
            var outputMap = map
            outputMap[width] = newWidth
            return (.seriesExpand(newInput, series: series.remapColumns(value: (width, newWidth)) { map[$0]! }), outputMap)
        case .unionAll(let inputs):
            // Inputs keep every column so that their columns stay aligned.
            var pruned: [PlanNode] = []
            for input in inputs { pruned.append(prune(input, needed: Set(input.outputTypes.indices)).0) }
            return (.unionAll(pruned), ProjectionPruning.identity(node))
        case .hashJoin(let probe, let build, let probeKeys, let buildKeys, let preserveProbe, let residual):
            let probeWidth = probe.outputTypes.count
            let used = needed.union(residual?.columnsUsed ?? [])
            var probeNeeded = Set(used.filter { $0 < probeWidth })
            var buildNeeded = Set(used.filter { $0 >= probeWidth }.map { $0 - probeWidth })
            for key in probeKeys { probeNeeded.formUnion(key.columnsUsed) }
            for key in buildKeys { buildNeeded.formUnion(key.columnsUsed) }
            let (newProbe, probeMap) = prune(probe, needed: probeNeeded)
            let (newBuild, buildMap) = prune(build, needed: buildNeeded)
            let newProbeWidth = newProbe.outputTypes.count
            var map: [Int: Int] = [:]
            for (old, new) in probeMap { map[old] = new }
            for (old, new) in buildMap { map[old + probeWidth] = new + newProbeWidth }
            return (.hashJoin(probe: newProbe, build: newBuild, probeKeys: probeKeys.map { $0.remapColumns { probeMap[$0]! } },
                              buildKeys: buildKeys.map { $0.remapColumns { buildMap[$0]! } }, preserveProbe: preserveProbe,
                              residual: residual?.remapColumns { map[$0]! }), map)
        }
    }

    static func identity(_ node: PlanNode) -> [Int: Int] {
        Dictionary(uniqueKeysWithValues: node.outputTypes.indices.map { ($0, $0) })
    }
}

/// Which references to shared plans only ask whether rows exist (duplicates of their rows
/// change nothing above them): the build side of a semi or anti join, the input of an
/// aggregation without aggregates (DISTINCT), and, below those, both sides of inner joins,
/// filters, projections, sorts and UNION ALL inputs. A LIMIT, a window, an aggregate, a LEFT
/// join or the statement's result count rows.
enum SetContexts {
    /// The shared plans of `plan` every reference to which only tests existence.
    static func existenceOnly(_ plan: PlanNode) -> Set<Int> {
        var all: Set<Int> = [], counted: Set<Int> = []
        func walk(_ node: PlanNode, _ existence: Bool) {
            switch node {
            case .shared(let id, _, _):
                all.insert(id)
                if !existence { counted.insert(id) }
            case .semiJoin(let probe, let build, _, _, _, _):
                walk(probe, existence)
                walk(build, true)
            case .aggregate(let input, _, let aggregates):
                walk(input, aggregates.isEmpty)
            case .hashJoin(let probe, let build, _, _, let preserveProbe, _):
                walk(probe, existence && !preserveProbe)
                walk(build, existence && !preserveProbe)
            case .filter, .project, .sort, .unionAll:
                _ = node.mapInputs { input in
                    walk(input, existence)
                    return input
                }
            default:
                _ = node.mapInputs { input in
                    walk(input, false)
                    return input
                }
            }
        }
        walk(plan, false)
        return all.subtracting(counted)
    }
}
