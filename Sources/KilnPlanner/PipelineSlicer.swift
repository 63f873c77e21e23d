import KilnCore

/// Cuts a physical plan into pipelines at every breaker (hash aggregation, sort).
///
/// Each cut creates a sink at the end of the upstream pipeline and a source at the start of
/// the downstream one; both refer to the same `PipelineState`. Literals are lifted into the
/// parameter block, so two queries that differ only in constants produce the same pipelines.
public struct PipelineSlicer {
    var pipelines: [Pipeline] = []
    var states: [PipelineState] = []
    var slots: [ParameterSlot] = []
    /// The slot of each literal lifted so far, by type and printed value.
    var literalSlots: [String: Int] = [:]
    /// The buffer of each shared plan opened so far, by its id.
    var sharedBuffers: [Int: Int] = [:]

    public init() {}

    public static func slice(_ query: BoundQuery) throws(DatabaseError) -> PipelinePlan {
        var slicer = PipelineSlicer()
        let outputTypes = query.plan.outputTypes.map(\.0)
        let layout = RecordLayout(types: outputTypes)
        var open = try slicer.open(query.plan)
        slicer.states.append(.output(layout: layout))
        open.sink = .output(state: slicer.states.count - 1)
        slicer.finish(open)
        return PipelinePlan(pipelines: slicer.pipelines, states: slicer.states, parameterSlots: slicer.slots,
                            outputLayout: layout, columnNames: query.columnNames,
                            keyRangeFilters: KeyRangeFilter.find(pipelines: slicer.pipelines, states: slicer.states))
    }

    /// A pipeline under construction (its sink not yet known).
    struct OpenPipeline {
        var source: PipelineSource
        var sourceTypes: [(SQLType, Bool)]
        var operators: [PipelineOperator]
        var sink: PipelineSink?
        /// A UNION ALL's inputs (then `source` is unused and `sourceTypes` are the union's
        /// columns): each input continues with `operators` into the sink, so that no buffer
        /// copies their rows, when the sink takes rows from several pipelines (`finish`).
        var inputs: [OpenPipeline] = []
    }

    mutating func finish(_ open: OpenPipeline) {
        guard !open.inputs.isEmpty else {
            pipelines.append(Pipeline(id: pipelines.count + 1, source: open.source, sourceTypes: open.sourceTypes, operators: open.operators, sink: open.sink!))
            return
        }
        switch open.sink! {
        case .hashAggregate, .hashJoinBuild:
            // Groups and join entries come out the same whichever pipeline added them.
            for var input in open.inputs {
                input.operators += open.operators
                input.sink = open.sink
                finish(input)
            }
        case .sort, .output, .hashJoinMark:
            // Sorts keep ties in arrival order, windows compute when their buffer is complete,
            // results stream from one pipeline, a mark join marks in its probe's order: the
            // inputs fill one buffer, which is the source of the rest.
            let state = buffer(open.inputs, types: open.sourceTypes)
            pipelines.append(Pipeline(id: pipelines.count + 1, source: .sort(state: state), sourceTypes: open.sourceTypes, operators: open.operators, sink: open.sink!))
        }
    }

    /// An append buffer (a sort state without keys) that `inputs` fill; returns its state.
    mutating func buffer(_ inputs: [OpenPipeline], types: [(SQLType, Bool)]) -> Int {
        let state = addState(.sortBuffer(layout: RecordLayout(types: types.map(\.0)), keys: [], limit: nil, offset: nil))
        for var input in inputs {
            input.sink = .sort(state: state)
            finish(input)
        }
        return state
    }

    mutating func addState(_ state: PipelineState) -> Int {
        states.append(state)
        return states.count - 1
    }

    /// Folds constant operations, then replaces constants by parameter-slot references.
    mutating func lift(_ expression: BoundExpression) -> BoundExpression {
        liftSlots(ConstantFolding.fold(expression))
    }

    mutating func liftSlots(_ expression: BoundExpression) -> BoundExpression {
        switch expression.kind {
        case .constant(let value):
            // Equal literals share a slot, so equal expressions over them are one expression
            // (`substring(p, 1, 2) IN ('13', '31', ...)` computes the substring once).
            let key = "\(expression.type)|\(value)"
            if let slot = literalSlots[key] { return BoundExpression(.slot(slot), type: expression.type, nullable: value.isNull) }
            slots.append(.literal(value, expression.type))
            literalSlots[key] = slots.count - 1
            return BoundExpression(.slot(slots.count - 1), type: expression.type, nullable: value.isNull)
        case .parameter(let n) where n > 0:
            slots.append(.statementParameter(n, expression.type))
            return BoundExpression(.slot(slots.count - 1), type: expression.type, nullable: true)
        case .outer(let i):
            // An applied subquery's outer column: a value the call passes in, like a parameter.
            slots.append(.outerValue(i, expression.type))
            return BoundExpression(.slot(slots.count - 1), type: expression.type, nullable: true)
        case .parameter, .column, .slot:
            return expression
        case .call(BoundExpression.transactionTimeName, _):
            slots.append(.transactionTime)
            return BoundExpression(.slot(slots.count - 1), type: .timestamp, nullable: false)
        case .call(let name, let args):
            return BoundExpression(.call(name, args.map { liftSlots($0) }), type: expression.type, nullable: expression.nullable)
        }
    }

    /// Slot index for a constant/parameter expression (LIMIT, generate_series bounds).
    mutating func slot(_ expression: BoundExpression) throws(DatabaseError) -> Int {
        let lifted = lift(expression)
        guard case .slot(let n) = lifted.kind else {
            throw DatabaseError(.featureNotSupported, "this argument must be a constant or a parameter")
        }
        return n
    }

    /// `topN`: the node is under a LIMIT (slots of limit and offset), which a sort may use.
    mutating func open(_ node: PlanNode, topN: (Int, Int?)? = nil) throws(DatabaseError) -> OpenPipeline {
        switch node {
        case .tableScan(let table, let columns, let access):
            let stateAccess: StateAccess
            switch access {
            case .full: stateAccess = .full
            case .rows(let range): stateAccess = .rows(range)
            case .lookup(let index, let keys):
                var slots: [[Int]] = []
                for key in keys {
                    var values: [Int] = []
                    for value in key { values.append(try slot(value)) }
                    slots.append(values)
                }
                stateAccess = .lookup(index, slots: slots)
            case .tids(let keys):
                var slots: [Int] = []
                for key in keys { slots.append(try slot(key)) }
                stateAccess = .tids(slots: slots)
            }
            let state = addState(.tableScan(table: table, columns: columns, access: stateAccess))
            return OpenPipeline(source: .scan(state: state), sourceTypes: node.outputTypes, operators: [])
        case .seriesScan(let start, let stop, let step, let type):
            let a = try slot(start), b = try slot(stop), c = try slot(step)
            let state = addState(.series(type: type, start: a, stop: b, step: c))
            return OpenPipeline(source: .series(state: state), sourceTypes: node.outputTypes, operators: [])
        case .seriesExpand(let input, let series):
            var open = try open(input)
            var lifted = series
            (lifted.start, lifted.stop, lifted.step) = (lift(series.start), lift(series.stop), lift(series.step))
            lifted.residual = series.residual.map { lift($0) }
            open.operators.append(.seriesExpand(state: addState(.seriesCursor(type: series.type)), series: lifted))
            return open
        case .singleRow:
            let state = addState(.singleRow)
            return OpenPipeline(source: .singleRow(state: state), sourceTypes: [], operators: [])
        case .filter(let input, let predicate):
            var open = try open(input)
            open.operators.append(.filter(lift(predicate)))
            return open
        case .project(let input, let expressions, _):
            var open = try open(input)
            open.operators.append(.project(expressions.map { lift($0) }))
            return open
        case .limit(let input, let limit, let offset):
            let limitSlot = try limit.map { e throws(DatabaseError) in try slot(e) }
            let offsetSlot = try offset.map { e throws(DatabaseError) in try slot(e) }
            // ORDER BY ... LIMIT: the sort keeps only the rows the limit can reach (top-N).
            var open = try open(input, topN: limitSlot.map { ($0, offsetSlot) })
            open.operators.append(.limit(state: addState(.limitCounter(limit: limitSlot, offset: offsetSlot))))
            return open
        case .aggregate(let input, let keys, let aggregates):
            var upstream = try open(input)
            let stateTypes = keys.map(\.type) + aggregates.map(\.type)
            let groups = keys.isEmpty ? 1 : Int(Swift.min(Estimate.of(node).rows, 1e9))
            let state = addState(.hashAggregate(keyCount: keys.count, aggregates: aggregates, layout: RecordLayout(types: stateTypes), expectedGroups: groups))
            let liftedAggregates = aggregates.map { call -> AggregateCall in
                var copy = call
                copy.argument = call.argument.map { lift($0) }
                return copy
            }
            upstream.sink = .hashAggregate(state: state, keys: keys.map { lift($0) }, aggregates: liftedAggregates)
            finish(upstream)
            return OpenPipeline(source: .hashAggregate(state: state), sourceTypes: node.outputTypes, operators: [])
        case .hashJoin(let probe, let build, let probeKeys, let buildKeys, let preserveProbe, let residual):
            // The build side is a pipeline of its own that ends in the hash table.
            var upstream = try open(build)
            let buildTypes = build.outputTypes.map { ($0.0, $0.1 || preserveProbe) }
            let layout = RecordLayout(types: buildKeys.map(\.type) + buildTypes.map(\.0))
            let state = addState(.hashJoin(keyCount: buildKeys.count, layout: layout))
            upstream.sink = .hashJoinBuild(state: state, keys: buildKeys.map { lift($0) }, storeColumns: true)
            finish(upstream)
            var downstream = try open(probe)
            downstream.operators.append(.hashJoinProbe(state: state, keys: probeKeys.map { lift($0) }, buildTypes: buildTypes, mode: preserveProbe ? .left : .inner,
                                                       residual: residual.map { lift($0) }))
            return downstream
        case .semiJoin(let probe, let build, let probeKeys, let buildKeys, let residual, let anti):
            if JoinPlanning.buildsOnOuterSide(probe: probe, build: build, probeKeys: probeKeys, anti: anti) {
                return try openMarkJoin(outer: probe, inner: build, outerKeys: probeKeys, innerKeys: buildKeys, residual: residual, anti: anti)
            }
            // Only a residual condition needs the build rows' columns in the table.
            var upstream = try open(build)
            let buildTypes = residual == nil ? [] : build.outputTypes
            let layout = RecordLayout(types: buildKeys.map(\.type) + buildTypes.map(\.0))
            let state = addState(.hashJoin(keyCount: buildKeys.count, layout: layout))
            upstream.sink = .hashJoinBuild(state: state, keys: buildKeys.map { lift($0) }, storeColumns: residual != nil)
            finish(upstream)
            var downstream = try open(probe)
            downstream.operators.append(.hashJoinProbe(state: state, keys: probeKeys.map { lift($0) }, buildTypes: buildTypes, mode: anti ? .anti : .semi,
                                                       residual: residual.map { lift($0) }))
            return downstream
        case .window(let input, let calls):
            // Records: the input's columns, partition keys, order keys, arguments, results.
            var upstream = try open(input)
            let inputTypes = input.outputTypes
            var fields: [BoundExpression] = inputTypes.indices.map { .column($0, type: inputTypes[$0].0, nullable: inputTypes[$0].1) }
            func field(_ e: BoundExpression) -> Int {
                fields.append(lift(e))
                return fields.count - 1
            }
            let partition = calls[0].partition.map(field)
            let order = zip(calls[0].order, calls[0].orderKeys).map { SortKey(column: field($0), descending: $1.descending, nullsFirst: $1.nullsFirst) }
            var slots = calls.map { WindowFunctionSlot(function: $0.function, argumentColumns: $0.arguments.map(field), resultColumn: 0, offset: $0.offset, frame: $0.frame) }
            for index in slots.indices { slots[index].resultColumn = fields.count + index }
            let recordTypes = fields.map { ($0.type, $0.nullable) } + calls.map { ($0.type, true) }
            // The sink writes every field of the record layout (results NULL until computed),
            // so that both sides agree on the layout's offsets.
            upstream.operators.append(.project(fields + calls.map { liftSlots(.constant(.null, type: $0.type)) }))
            let state = addState(.windowBuffer(layout: RecordLayout(types: recordTypes.map(\.0)), partition: partition, order: order, functions: slots))
            upstream.sink = .sort(state: state)
            finish(upstream)
            let visible = Array(inputTypes.indices) + slots.map(\.resultColumn)
            return OpenPipeline(source: .sort(state: state), sourceTypes: recordTypes,
                                operators: [.project(visible.map { .column($0, type: recordTypes[$0].0, nullable: recordTypes[$0].1) })])
        case .unionAll(let inputs):
            // Every input is a pipeline of its own; `finish` decides whether they stream into
            // the consumer's sink or into a buffer the consumer reads.
            var opened: [OpenPipeline] = []
            for input in inputs { opened.append(try open(input)) }
            return OpenPipeline(source: .singleRow(state: -1), sourceTypes: node.outputTypes, operators: [], inputs: opened)
        case .shared(let id, let plan, _):
            // The first reference runs the plan into a buffer; every reference reads it (a
            // buffer's source starts from its first record at each open).
            let types = plan.outputTypes
            if sharedBuffers[id] == nil { sharedBuffers[id] = buffer([try open(plan)], types: types) }
            let state = sharedBuffers[id]!
            return OpenPipeline(source: .sort(state: state), sourceTypes: types, operators: [])
        case .sort(let input, let keys):
            var upstream = try open(input)
            let types = input.outputTypes
            let state = addState(.sortBuffer(layout: RecordLayout(types: types.map(\.0)), keys: keys, limit: topN?.0, offset: topN?.1))
            upstream.sink = .sort(state: state)
            finish(upstream)
            return OpenPipeline(source: .sort(state: state), sourceTypes: types, operators: [])
        }
    }

    /// A semi or anti join whose hash table holds the outer rows (the smaller side), each with
    /// a mark column: the subquery's rows probe it and mark every entry they match with the
    /// residual condition true (`JoinMode.mark`); then the table's entries are the source of
    /// the rest of the plan, the marked ones (semi) or the unmarked ones (anti), in the order
    /// the outer rows came.
    mutating func openMarkJoin(outer: PlanNode, inner: PlanNode, outerKeys: [BoundExpression], innerKeys: [BoundExpression],
                               residual: BoundExpression?, anti: Bool) throws(DatabaseError) -> OpenPipeline {
        let outerTypes = outer.outputTypes
        let innerWidth = inner.outputTypes.count
        let storedTypes = outerTypes + [(SQLType.boolean, false)]
        var upstream = try open(outer)
        let columns = outerTypes.indices.map { BoundExpression.column($0, type: outerTypes[$0].0, nullable: outerTypes[$0].1) }
        upstream.operators.append(.project(columns + [liftSlots(.constant(.bool(false), type: .boolean))]))
        let state = addState(.hashJoin(keyCount: outerKeys.count, layout: RecordLayout(types: outerKeys.map(\.type) + storedTypes.map(\.0))))
        upstream.sink = .hashJoinBuild(state: state, keys: outerKeys.map { lift($0) }, storeColumns: true)
        finish(upstream)
        // The residual reads the outer columns, then the subquery's; the marking probe's
        // candidates are the subquery's columns, then the entry's.
        let swapped = residual.map { $0.remapColumns { $0 < outerTypes.count ? $0 + innerWidth : $0 - outerTypes.count } }
        var marking = try open(inner)
        marking.operators.append(.hashJoinProbe(state: state, keys: innerKeys.map { lift($0) }, buildTypes: storedTypes, mode: .mark, residual: nil))
        marking.sink = .hashJoinMark(state: state, residual: swapped.map { lift($0) })
        finish(marking)
        let entryTypes = outerKeys.map { ($0.type, $0.nullable) } + storedTypes
        let mark = BoundExpression.column(entryTypes.count - 1, type: .boolean, nullable: false)
        let keep = anti ? BoundExpression.call("not", [mark], type: .boolean, nullable: false) : mark
        return OpenPipeline(source: .hashJoinEntries(state: state), sourceTypes: entryTypes,
                            operators: [.filter(lift(keep)), .project(columns.map { $0.remapColumns { $0 + outerKeys.count } })])
    }
}
