import KilnCore
import KilnIR
import KilnPlanner

/// Lowers `kiln_high` stream pipelines to `kiln_mid` loops: the source becomes a cursor and a
/// `scf.while` over its batches, each batch an `scf.for` over rows; filters and limits become
/// `scf.if` around the rest of the pipeline (so all operators fuse into one loop body); column
/// streams become per-row values; the sink becomes a state op per row plus a `finish`.
public enum HighToMid {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func lower(_ module: IRModule) throws -> IRModule {
        let result = IRModule()
        for (name, function) in module.functions {
            guard let body = function.regions.first?.blocks.first else { continue }
            try lowerFunction(name, body, into: result)
        }
        return result
    }

    static func midType(_ highType: String) -> String {
        highType.replacingAll("!kiln_high.column", with: "!kiln_mid.val").replacingAll("!kiln_high.ctx", with: "!kiln_mid.ctx")
    }

    static func lowerFunction(_ name: String, _ body: IRBlock, into module: IRModule) throws {
        let entry = module.addFunction(name, arguments: ["!kiln_mid.ctx"], results: ["i1"])
        let top = IRBuilder(entry)
        let ctx = entry.arguments[0]
        var operations = body.operations[...]
        guard let source = operations.popFirst(), source.name.hasPrefix("kiln_high."), let state = source.integer("state") else {
            throw Failure(description: "pipeline \(name) does not start with a source")
        }
        let kind = String(source.name.dropFirst("kiln_high.".count))
        let layout = source.string("layout") ?? "columns"
        let cursor = top.value("kiln_mid.open", [ctx], "!kiln_mid.cursor", [("state", .integer(Int64(state), type: "i64")), ("kind", .string(kind))])

        // while (keep_going && (batch = next(cursor)).size > 0) { for row in batch { ... } }
        let before = IRBlock()
        let b0 = IRBuilder(before)
        let going = b0.value("kiln_mid.keep_going", [ctx], "i1")
        let batch = b0.value("kiln_mid.next", [cursor], "!kiln_mid.batch")
        let count = b0.value("kiln_mid.batch_size", [batch], "index")
        let zero = b0.value("arith.constant", [], "index", [("value", .integer(0, type: "index"))])
        let nonEmpty = b0.value("arith.cmpi", [count, zero], "i1", [("predicate", .integer(1, type: "i64"))])
        let proceed = b0.value("arith.andi", [going, nonEmpty], "i1")
        b0.add("scf.condition", [proceed, batch])
        let after = IRBlock(arguments: [IRValue(type: "!kiln_mid.batch")])
        let b1 = IRBuilder(after)
        var batchValue = after.arguments[0]
        if kind == "scan", let scanCursor = MidCursor(cursor), let scanned = MidBatch(batchValue) {
            // MVCC: a morsel with deleted rows shrinks to the rows this snapshot sees.
            batchValue = b1.visible(scanCursor, scanned).value
        }
        let size = b1.value("kiln_mid.batch_size", [batchValue], "index")
        let lower = b1.value("arith.constant", [], "index", [("value", .integer(0, type: "index"))])
        let step = b1.value("arith.constant", [], "index", [("value", .integer(1, type: "index"))])
        let rowBlock = IRBlock(arguments: [IRValue(type: "index")])
        b1.add("scf.for", [lower, size, step], [], regions: [.single(rowBlock)])
        b1.add("scf.yield")

        // The fused row body: column streams are lowered on demand, where they are used, so
        // the branches of CASE and COALESCE compute only when taken.
        let body = RowBodyLowering(function: name, ctx: ctx, top: top, batch: batchValue, row: rowBlock.arguments[0], layout: layout, rowBlock: rowBlock)
        for op in body.definitions(operations) { body.define(op) }
        body.registerSource(source)
        var sinkState = 0
        var sinkKind = ""
        for op in operations {
            switch op.name {
            case "kiln_high.field", "kiln_high.param", "kiln_high.op":
                break  // pure; materialised where used
            case "kiln_high.filter":
                let truth = body.builder.value("kiln_mid.truth", [try body.materialize(op.operands[1])], "i1")
                body.nest(truth)
                body.alias(op.result, to: op.operands[0])
            case "kiln_high.project":
                body.project(op.result, columns: Array(op.operands.dropFirst()))
            case "kiln_high.limit":
                let emit = body.builder.value("kiln_mid.limit_step", [ctx], "i1", op.attributes)
                body.nest(emit)
                body.alias(op.result, to: op.operands[1])
            case "kiln_high.hash_join_probe":
                try body.nestJoin(op)
            case "kiln_high.series_expand":
                try body.nestSeries(op)
            case "kiln_high.join_residual" where body.openSeries[ObjectIdentifier(op.operands[0])] != nil:
                try body.closeSeries(op)
            case "kiln_high.join_residual":
                try body.closeProbe(op)
            case "kiln_high.hash_join_sink":
                let values = try op.operands.dropFirst(2).map { try body.materialize($0) }
                let layout = RecordLayout(types: values.map { MidToLow.sqlType($0.type).0 })
                body.builder.add("kiln_mid.join_insert", [ctx] + values, [], op.attributes + [("offsets", .array(layout.offsets.map { .integer(Int64($0), type: "i64") }))])
                sinkState = op.integer("state") ?? 0
                sinkKind = "hash_join"
            case "kiln_high.join_mark_sink":
                try body.closeMark(op)
                sinkState = op.integer("state") ?? 0
                sinkKind = "join_mark"
            case "kiln_high.hash_agg_sink":
                let values = try op.operands.dropFirst(2).map { try body.materialize($0) }
                body.builder.add("kiln_mid.hash_agg_update", [ctx] + values, [], op.attributes)
                sinkState = op.integer("state") ?? 0
                sinkKind = "hash_agg"
            case "kiln_high.sort_sink", "kiln_high.output_sink":
                let values = try body.rowValues(of: op.operands[1])
                let isSort = op.name == "kiln_high.sort_sink"
                body.builder.add(isSort ? "kiln_mid.sort_append" : "kiln_mid.output_append", [ctx] + values, [], op.attributes)
                sinkState = op.integer("state") ?? 0
                sinkKind = isSort ? "sort" : "output"
            case "func.return":
                break
            default:
                throw Failure(description: "\(op.name) is not a kiln_high operation (in \(name))")
            }
        }
        let openBlocks = body.openBlocks
        for block in openBlocks { IRBuilder(block).add("scf.yield") }
        top.add("scf.while", [], ["!kiln_mid.batch"], regions: [.single(before), .single(after)])
        top.add("kiln_mid.finish", [ctx], [], [("state", .integer(Int64(sinkState), type: "i64")), ("kind", .string(sinkKind))])
        let ok = top.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])
        top.add("func.return", [ok])
    }
}
