import KilnCore
import KilnIR
import KilnPlanner

/// The IR type parameter of a SQL value: its IR name, `?` when it may be NULL.
public func sqlTypeParameter(_ type: SQLType, nullable: Bool) -> String {
    "\"" + type.irName + (nullable ? "?" : "") + "\""
}

/// Inverse of `sqlTypeParameter` for the unquoted text (`int4?`): the type and its nullability.
public func parseSQLTypeParameter(_ text: Substring) -> (SQLType, Bool) {
    let nullable = text.hasSuffix("?")
    return (SQLType(irName: String(nullable ? text.dropLast() : text)) ?? .unknown, nullable)
}

/// Builds the high-level IR of a pipeline plan: one `func.func @pipeline_N(!kiln_high.ctx) -> i1`
/// per pipeline, tuple streams and column streams only.
public enum PlanToHigh {
    public static func lower(_ plan: PipelinePlan) -> IRModule {
        let module = IRModule()
        for pipeline in plan.pipelines {
            let entry = module.addFunction("pipeline_\(pipeline.id)", arguments: ["!kiln_high.ctx"], results: ["i1"])
            let builder = IRBuilder(entry)
            let ctx = entry.arguments[0]
            let memo = ExpressionMemo()
            let (sourceName, sourceState, sourceKind): (String, Int, String) = {
                switch pipeline.source {
                case .scan(let s): return ("kiln_high.scan", s, "columns")
                case .series(let s): return ("kiln_high.series", s, "columns")
                case .singleRow(let s): return ("kiln_high.single_row", s, "columns")
                case .hashAggregate(let s): return ("kiln_high.hash_agg_source", s, "records")
                case .sort(let s): return ("kiln_high.sort_source", s, "records")
                case .hashJoinEntries(let s): return ("kiln_high.hash_join_entries", s, "records")
                }
            }()
            let types = pipeline.sourceTypes.map { IRAttribute.string($0.0.irName + ($0.1 ? "?" : "")) }
            var stream = builder.value(sourceName, [ctx], "!kiln_high.stream",
                                       [("state", .integer(Int64(sourceState), type: "i64")), ("types", .array(types)), ("layout", .string(sourceKind))])
            var streamTypes = pipeline.sourceTypes
            for op in pipeline.operators {
                switch op {
                case .filter(let predicate):
                    let p = expression(predicate, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo)
                    stream = builder.value("kiln_high.filter", [stream, p], "!kiln_high.stream")
                case .project(let expressions):
                    let columns = expressions.map { expression($0, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                    stream = builder.value("kiln_high.project", [stream] + columns, "!kiln_high.stream")
                    streamTypes = expressions.map { ($0.type, $0.nullable) }
                case .seriesExpand(let state, let series):
                    func bound(_ e: BoundExpression) -> HighColumn {
                        HighColumn(expression(e, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo))!
                    }
                    let valueType = series.type.irName + (series.preserve ? "?" : "")
                    let expanded = builder.seriesExpand(ctx: ctx, HighStream(stream)!, start: bound(series.start), stop: bound(series.stop), step: bound(series.step),
                                                        state: state, valueType: valueType, preserve: series.preserve).value
                    streamTypes.append((series.type, series.preserve))
                    if series.preserve {
                        // Rows whose values all fail the condition (or none) keep one NULL value.
                        let condition = series.residual.map { expression($0, stream: expanded, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                        stream = builder.value("kiln_high.join_residual", [expanded] + (condition.map { [$0] } ?? []), "!kiln_high.stream")
                    } else {
                        stream = expanded
                        if let residual = series.residual {
                            let p = expression(residual, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo)
                            stream = builder.value("kiln_high.filter", [stream, p], "!kiln_high.stream")
                        }
                    }
                case .limit(let state):
                    stream = builder.value("kiln_high.limit", [ctx, stream], "!kiln_high.stream", [("state", .integer(Int64(state), type: "i64"))])
                case .hashJoinProbe(let state, let keys, let buildTypes, let mode, let residual):
                    let keyValues = keys.map { expression($0, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                    let probed = builder.value("kiln_high.hash_join_probe", [ctx, stream] + keyValues, "!kiln_high.stream", [
                        ("state", .integer(Int64(state), type: "i64")),
                        ("build_types", .array(buildTypes.map { .string($0.0.irName + ($0.1 ? "?" : "")) })),
                        ("join_mode", .integer(Int64(mode.rawValue), type: "i64")),
                    ])
                    if mode == .inner || mode == .mark {
                        // (A mark probe's candidates meet the residual in the mark sink.)
                        stream = probed
                        streamTypes += buildTypes
                    } else {
                        // The candidates (probe and build columns) meet the residual; the
                        // stream goes on with the probe's columns once per probe row (semi,
                        // anti), or with the matches or one NULL-padded row (LEFT).
                        let candidateTypes = streamTypes + buildTypes
                        let condition = residual.map { expression($0, stream: probed, types: candidateTypes, ctx: ctx, builder: builder, memo: memo) }
                        stream = builder.value("kiln_high.join_residual", [probed] + (condition.map { [$0] } ?? []), "!kiln_high.stream")
                        if mode == .left { streamTypes = candidateTypes }
                    }
                }
            }
            let done: IRValue
            switch pipeline.sink {
            case .hashAggregate(let state, let keys, let aggregates):
                var values = keys.map { expression($0, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                for aggregate in aggregates {
                    if let argument = aggregate.argument { values.append(expression(argument, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo)) }
                }
                done = builder.value("kiln_high.hash_agg_sink", [ctx, stream] + values, "i1", [
                    ("state", .integer(Int64(state), type: "i64")), ("keys", .integer(Int64(keys.count), type: "i64")),
                    ("aggregates", .array(aggregates.map { .string($0.function) })),
                    ("state_types", .array((keys.map(\.type) + aggregates.map(\.type)).map { .string($0.irName) })),
                ])
            case .hashJoinMark(let state, let residual):
                let condition = residual.map { expression($0, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                done = builder.value("kiln_high.join_mark_sink", [ctx, stream] + (condition.map { [$0] } ?? []), "i1", [("state", .integer(Int64(state), type: "i64"))])
            case .sort(let state):
                done = builder.value("kiln_high.sort_sink", [ctx, stream], "i1", [("state", .integer(Int64(state), type: "i64"))])
            case .output(let state):
                done = builder.value("kiln_high.output_sink", [ctx, stream], "i1", [("state", .integer(Int64(state), type: "i64"))])
            case .hashJoinBuild(let state, let keys, let storeColumns):
                let keyValues = keys.map { expression($0, stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                let columns = (storeColumns ? Array(streamTypes.indices) : []).map { expression(.column($0, type: streamTypes[$0].0, nullable: streamTypes[$0].1), stream: stream, types: streamTypes, ctx: ctx, builder: builder, memo: memo) }
                done = builder.value("kiln_high.hash_join_sink", [ctx, stream] + keyValues + columns, "i1", [
                    ("state", .integer(Int64(state), type: "i64")), ("keys", .integer(Int64(keys.count), type: "i64")),
                ])
            }
            builder.add("func.return", [done])
        }
        return module
    }

    /// The high-level values built for a pipeline's calls, by stream and structure: equal
    /// expressions over one stream are one value (computed once per row).
    final class ExpressionMemo {
        /// A call's identity: the stream it reads and a 128-bit structural hash of the call.
        struct Key: Hashable {
            var stream: ObjectIdentifier
            var structure: Structure
        }

        /// Two independently seeded hashes of an expression's structure (name, SQL type,
        /// operands'); a fixed-size key, so that keying every level of a deep expression costs
        /// time linear in its subtree, not the subtree's text (nested CASEs were quadratic).
        struct Structure: Hashable {
            var first: Int
            var second: Int
        }

        var values: [Key: IRValue] = [:]
        /// Volatile calls emitted so far (a call over one is not remembered either).
        var volatileCalls = 0

        static func key(_ e: BoundExpression) -> Structure {
            var first = Hasher(), second = Hasher()
            second.combine(0x9E37_79B9_7F4A_7C15 as UInt64)
            func add<T: Hashable>(_ value: T) {
                first.combine(value)
                second.combine(value)
            }
            add(sqlTypeParameter(e.type, nullable: e.nullable))
            switch e.kind {
            case .column(let i): add(0); add(i)
            case .slot(let n): add(1); add(n)
            case .call(let name, let args):
                add(2); add(name); add(args.count)
                for argument in args { add(key(argument)) }
            case .constant, .parameter, .outer: add(3)
            }
            return Structure(first: first.finalize(), second: second.finalize())
        }
    }

    static func expression(_ e: BoundExpression, stream: IRValue, types: [(SQLType, Bool)], ctx: IRValue, builder: IRBuilder, memo: ExpressionMemo) -> IRValue {
        let type = "!kiln_high.column<\(sqlTypeParameter(e.type, nullable: e.nullable))>"
        switch e.kind {
        case .column(let index):
            let t = types[index]
            return builder.value("kiln_high.field", [stream], "!kiln_high.column<\(sqlTypeParameter(t.0, nullable: t.1))>", [("index", .integer(Int64(index), type: "i64"))])
        case .slot(let n):
            return builder.value("kiln_high.param", [ctx], type, [("slot", .integer(Int64(n), type: "i64"))])
        case .constant, .parameter, .outer:
            // The slicer lifts every literal and parameter into a slot before code generation;
            // the binder rewrites every outer reference into a join.
            return builder.value("kiln_high.param", [ctx], type, [("slot", .integer(-1, type: "i64"))])
        case .call(let name, let args):
            // A volatile call (nextval) runs each time it is written, and so does every call
            // over one: neither is shared.
            let volatile = BoundExpression.volatileFunctions.contains(name)
            let key = ExpressionMemo.Key(stream: ObjectIdentifier(stream), structure: ExpressionMemo.key(e))
            if !volatile, let known = memo.values[key] { return known }
            let before = memo.volatileCalls
            let operands = args.map { expression($0, stream: stream, types: types, ctx: ctx, builder: builder, memo: memo) }
            let value = builder.value("kiln_high.op", operands, type, [("name", .string(name))])
            if volatile {
                memo.volatileCalls += 1
            } else if memo.volatileCalls == before {
                memo.values[key] = value
            }
            return value
        }
    }
}
