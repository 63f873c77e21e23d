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

    /// Per-stream knowledge while walking the pipeline.
    final class StreamInfo {
        /// Row values when the stream is a projection; nil for the source stream (loaded lazily).
        var values: [IRValue]?
        var sourceTypes: [String] = []
        init(values: [IRValue]?) { self.values = values }
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
        let batchValue = after.arguments[0]
        let b1 = IRBuilder(after)
        let size = b1.value("kiln_mid.batch_size", [batchValue], "index")
        let lower = b1.value("arith.constant", [], "index", [("value", .integer(0, type: "index"))])
        let step = b1.value("arith.constant", [], "index", [("value", .integer(1, type: "index"))])
        let rowBlock = IRBlock(arguments: [IRValue(type: "index")])
        b1.add("scf.for", [lower, size, step], [], regions: [.single(rowBlock)])
        b1.add("scf.yield")

        // The fused row body.
        let row = rowBlock.arguments[0]
        var current = IRBuilder(rowBlock)
        var openBlocks = [rowBlock]
        var streams: [IRValue: StreamInfo] = [:]
        var columnValues: [IRValue: IRValue] = [:]  // high column stream -> mid value
        let sourceInfo = StreamInfo(values: nil)
        if case .array(let types) = source.attribute("types") { sourceInfo.sourceTypes = types.compactMap(\.stringValue) }
        streams[source.result] = sourceInfo
        var sourceLoads: [Int: IRValue] = [:]

        func rowValues(of stream: IRValue) throws -> [IRValue] {
            guard let info = streams[stream] else { throw Failure(description: "unknown stream in \(name)") }
            if let values = info.values { return values }
            return try info.sourceTypes.indices.map { try load(stream, $0) }
        }
        func load(_ stream: IRValue, _ index: Int) throws -> IRValue {
            guard let info = streams[stream] else { throw Failure(description: "unknown stream in \(name)") }
            if let values = info.values { return values[index] }
            if let loaded = sourceLoads[index] { return loaded }
            let type = "!kiln_mid.val<\"\(info.sourceTypes[index])\">"
            var attributes: [(String, IRAttribute)] = [("column", .integer(Int64(index), type: "i64")), ("layout", .string(layout))]
            if layout == "records" {
                let record = RecordLayout(types: info.sourceTypes.map { SQLType(irName: String($0.hasSuffix("?") ? $0.dropLast() : $0[...])) ?? .text })
                attributes.append(("offset", .integer(Int64(record.offsets[index]), type: "i64")))
            }
            let value = current.value("kiln_mid.load", [batchValue, row], type, attributes)
            sourceLoads[index] = value
            return value
        }
        func mapped(_ value: IRValue) throws -> IRValue {
            guard let m = columnValues[value] else { throw Failure(description: "column stream used before definition in \(name)") }
            return m
        }
        func nest(_ condition: IRValue) {
            let inner = IRBlock()
            current.add("scf.if", [condition], [], regions: [.single(inner), IRRegion()])
            openBlocks.append(inner)
            current = IRBuilder(inner)
        }

        var sinkState = 0
        var sinkKind = ""
        for op in operations {
            switch op.name {
            case "kiln_high.field":
                let index = op.integer("index") ?? 0
                columnValues[op.result] = try load(op.operands[0], index)
            case "kiln_high.param":
                // Parameters are loop-invariant: read them once, before the loop.
                columnValues[op.result] = top.value("kiln_mid.param", [ctx], midType(op.result.type), op.attributes)
            case "kiln_high.op":
                let args = try op.operands.map(mapped)
                columnValues[op.result] = current.value("kiln_mid.op", args, midType(op.result.type), op.attributes)
            case "kiln_high.filter":
                let truth = current.value("kiln_mid.truth", [try mapped(op.operands[1])], "i1")
                nest(truth)
                streams[op.result] = streams[op.operands[0]]
            case "kiln_high.project":
                streams[op.result] = StreamInfo(values: try op.operands.dropFirst().map(mapped))
            case "kiln_high.limit":
                let emit = current.value("kiln_mid.limit_step", [ctx], "i1", op.attributes)
                nest(emit)
                streams[op.result] = streams[op.operands[1]]
            case "kiln_high.hash_agg_sink":
                let values = try op.operands.dropFirst(2).map(mapped)
                current.add("kiln_mid.hash_agg_update", [ctx] + values, [], op.attributes)
                sinkState = op.integer("state") ?? 0
                sinkKind = "hash_agg"
            case "kiln_high.sort_sink", "kiln_high.output_sink":
                let values = try rowValues(of: op.operands[1])
                let isSort = op.name == "kiln_high.sort_sink"
                current.add(isSort ? "kiln_mid.sort_append" : "kiln_mid.output_append", [ctx] + values, [], op.attributes)
                sinkState = op.integer("state") ?? 0
                sinkKind = isSort ? "sort" : "output"
            case "func.return":
                break
            default:
                throw Failure(description: "\(op.name) is not a kiln_high operation (in \(name))")
            }
        }
        for block in openBlocks { IRBuilder(block).add("scf.yield") }
        top.add("scf.while", [], ["!kiln_mid.batch"], regions: [.single(before), .single(after)])
        top.add("kiln_mid.finish", [ctx], [], [("state", .integer(Int64(sinkState), type: "i64")), ("kind", .string(sinkKind))])
        let ok = top.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])
        top.add("func.return", [ok])
    }
}
