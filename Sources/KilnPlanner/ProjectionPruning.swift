/// Removes unread columns from scans, renumbering the expressions above them.
///
/// A scan reads only the columns some expression above it uses; compiled code then touches
/// only those column arrays.
public enum ProjectionPruning {
    public static func prune(_ plan: PlanNode) -> PlanNode {
        prune(plan, needed: Set(plan.outputTypes.indices)).0
    }

    /// Returns the pruned node and the map from old output column index to new index.
    static func prune(_ node: PlanNode, needed: Set<Int>) -> (PlanNode, [Int: Int]) {
        switch node {
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
            return (.aggregate(newInput, keys: keys.map { $0.remapColumns { map[$0]! } }, aggregates: newAggregates), identity(node))
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
        case .unionAll(let inputs):
            // Inputs keep every column so that their columns stay aligned.
            return (.unionAll(inputs.map { prune($0, needed: Set($0.outputTypes.indices)).0 }), identity(node))
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
