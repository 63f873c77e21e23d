import KilnCore
import KilnIR
import KilnPlanner
import KilnRuntime

/// Lowers `kiln_mid` to the low level: cursors and state ops become runtime calls and memory
/// accesses at fixed offsets, SQL-typed values become machine values plus null flags, and each
/// generic `kiln_mid.op` becomes type-specialised arithmetic with SQL's overflow and
/// division-by-zero checks (`kiln_low.checked`, `kiln_low.raise`) or a generic runtime call.
public struct MidToLow {
    public struct Result {
        public var module: IRModule
        /// Functions called through `kiln_rt_call`, by index.
        public var functions: [RuntimeFunction]
    }

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    var functions: [RuntimeFunction] = []
    var values: [IRValue: LowValue] = [:]
    /// Parameter-block slot of each `kiln_mid.param` result (constant LIKE patterns).
    var parameterSlots: [IRValue: Int] = [:]
    /// The function's entry block: loop-invariant values (state headers, scratch) go here.
    var entry: LowBuilder?
    var entryCache: [String: IRValue] = [:]
    /// The current batch's block (inside the cursor loop, before the row loop): per-batch
    /// values (column base pointers, validity bitmaps) go here.
    var batch: LowBuilder?
    var batchCache: [String: IRValue] = [:]
    /// For each enclosing structured op: the SQL-typed results its `scf.yield`s produce (nil:
    /// an op whose yields pass machine values through unchanged).
    var yieldTargets: [[String]?] = []
    /// Compile filters and aggregates over columnar scans into SIMD kernels (`SET jit_simd`).
    var vectorize = false

    /// - Parameter vectorize: emit SIMD kernels where a row loop allows (see `VectorPlan`).
    public static func lower(_ module: IRModule, vectorize: Bool = false) throws -> Result {
        var lowering = MidToLow()
        lowering.vectorize = vectorize
        let result = IRModule()
        for signature in RuntimeSymbols.signatures {
            _ = result.addFunction(signature.name, arguments: signature.arguments, results: signature.results, visibility: "private")
        }
        for (name, function) in module.functions {
            guard let body = function.regions.first?.blocks.first else { continue }
            let entry = result.addFunction(name, arguments: ["!llvm.ptr"], results: ["i1"])
            lowering.values[body.arguments[0]] = LowValue(value: entry.arguments[0], null: nil)
            lowering.entry = LowBuilder(b: IRBuilder(entry), ctx: entry.arguments[0])
            lowering.entryCache = [:]
            try lowering.lowerBlock(body, into: entry, ctx: entry.arguments[0])
        }
        return Result(module: result, functions: lowering.functions)
    }

    static func lowType(_ type: String) -> String {
        switch type {
        case "!kiln_mid.ctx", "!kiln_mid.cursor", "!kiln_mid.batch", "!kiln_mid.entry": return "!llvm.ptr"
        default: return type
        }
    }

    /// SQL type and nullability of a `!kiln_mid.val<"T?">`.
    static func sqlType(_ type: String) -> (SQLType, Bool) {
        guard let open = type.firstIndex(of: "\""), let close = type.lastIndex(of: "\""), open < close else { return (.unknown, true) }
        return parseSQLTypeParameter(type[type.index(after: open)..<close])
    }

    func lowered(_ value: IRValue) throws -> LowValue {
        guard let v = values[value] else { throw Failure(description: "value used before its definition") }
        return v
    }

    mutating func lowerBlock(_ block: IRBlock, into target: IRBlock, ctx: IRValue) throws {
        let builder = LowBuilder(b: IRBuilder(target), ctx: ctx)
        for op in block.operations { try lowerOperation(op, builder, ctx: ctx) }
    }

    mutating func lowerOperation(_ op: IROperation, _ l: LowBuilder, ctx: IRValue) throws {
        if op.name == "kiln_mid.load" {
            values[op.result] = try lowerLoad(op, l)
            return
        }
        switch op.name {
        case "scf.yield" where yieldTargets.last.flatMap({ $0 }) != nil:
            // A branch of a value-producing scf.if (CASE, COALESCE): each SQL value becomes
            // its machine value plus, when the result is nullable, a null flag.
            let targets = yieldTargets.last!!
            var operands: [IRValue] = []
            for (operand, target) in zip(op.operands, targets) {
                let v = try lowered(operand)
                operands.append(v.value)
                if MidToLow.sqlType(target).1 { operands.append(v.null ?? l.bool(false)) }
            }
            l.b.add("scf.yield", operands)
        case "scf.for" where vectorize && VectorPlan.analyze(op) != nil:
            try lowerVectorized(op, plan: VectorPlan.analyze(op)!, l)
        case "scf.while", "scf.for", "scf.if", "scf.yield", "scf.condition", "func.return", "arith.constant", "arith.cmpi", "arith.andi",
             "arith.ori", "arith.xori", "arith.select":
            // Structure is kept; operands, results and regions are mapped.
            let operands = try op.operands.map { try lowered($0).value }
            let producesValues = op.name == "scf.if" && op.results.contains { $0.type.hasPrefix("!kiln_mid.val") }
            var resultTypes: [String] = []
            for result in op.results {
                if result.type.hasPrefix("!kiln_mid.val") {
                    let (type, nullable) = MidToLow.sqlType(result.type)
                    resultTypes.append(type.physical.mlirType)
                    if nullable { resultTypes.append("i1") }
                } else {
                    resultTypes.append(MidToLow.lowType(result.type))
                }
            }
            yieldTargets.append(producesValues ? op.results.map(\.type) : nil)
            var regions: [IRRegion] = []
            for (regionIndex, region) in op.regions.enumerated() {
                var blocks: [IRBlock] = []
                for block in region.blocks {
                    let newBlock = IRBlock(arguments: block.arguments.map { IRValue(type: MidToLow.lowType($0.type)) })
                    for (old, new) in zip(block.arguments, newBlock.arguments) { values[old] = LowValue(value: new, null: nil) }
                    let isBatchBody = op.name == "scf.while" && regionIndex == 1
                    let (savedBatch, savedCache) = (batch, batchCache)
                    if isBatchBody { batch = LowBuilder(b: IRBuilder(newBlock), ctx: ctx); batchCache = [:] }
                    try lowerBlock(block, into: newBlock, ctx: ctx)
                    if isBatchBody { (batch, batchCache) = (savedBatch, savedCache) }
                    blocks.append(newBlock)
                }
                regions.append(IRRegion(blocks: blocks))
            }
            yieldTargets.removeLast()
            let new = l.b.add(op.name, operands, resultTypes, op.attributes, regions: regions)
            var next = 0
            for old in op.results {
                if old.type.hasPrefix("!kiln_mid.val") {
                    let nullable = MidToLow.sqlType(old.type).1
                    values[old] = LowValue(value: new.results[next], null: nullable ? new.results[next + 1] : nil)
                    next += nullable ? 2 : 1
                } else {
                    values[old] = LowValue(value: new.results[next], null: nil)
                    next += 1
                }
            }
        case "kiln_mid.open":
            let result = l.call("kiln_rt_open", [ctx, l.int(Int64(op.integer("state") ?? 0), "i64")], ["!llvm.ptr"]).result
            values[op.result] = LowValue(value: result, null: nil)
        case "kiln_mid.next":
            let result = l.call("kiln_rt_next", [try lowered(op.operands[0]).value], ["!llvm.ptr"]).result
            values[op.result] = LowValue(value: result, null: nil)
        case "kiln_mid.visible":
            values[op.result] = LowValue(value: lowerVisible(cursor: try lowered(op.operands[0]).value, batch: try lowered(op.operands[1]).value, l), null: nil)
        case "kiln_mid.batch_size":
            let count = l.load(try lowered(op.operands[0]).value, offset: BatchLayout.count, "i64")
            values[op.result] = LowValue(value: l.op("arith.index_cast", [count], "index"), null: nil)
        case "kiln_mid.keep_going":
            let error = l.atomicLoadFlag(ctx, offset: ContextLayout.error)
            let stop = l.atomicLoadFlag(ctx, offset: ContextLayout.stop)
            let either = l.op("arith.ori", [error, stop], "i32")
            values[op.result] = LowValue(value: l.cmpi(0, either, l.int(0, "i32")), null: nil)
        case "kiln_mid.param":
            let (type, nullable) = MidToLow.sqlType(op.result.type)
            let slot = op.integer("slot") ?? 0
            parameterSlots[op.result] = slot
            let parameters = perPipeline("parameters", l) { $0.load(ctx, offset: ContextLayout.parameters, "!llvm.ptr") }
            let value = l.loadValue(l.gep(parameters, 16 * slot), type)
            var null: IRValue?
            if nullable {
                let nulls = perPipeline("parameterNulls", l) { $0.load(ctx, offset: ContextLayout.parameterNulls, "!llvm.ptr") }
                null = l.fromMemory(l.load(nulls, offset: slot, "i8"), physical: .bool)
            }
            values[op.result] = LowValue(value: value, null: null)
        case "kiln_mid.truth":
            let v = try lowered(op.operands[0])
            values[op.result] = LowValue(value: v.null.map { l.and(v.value, l.not($0)) } ?? v.value, null: nil)
        case "kiln_mid.op":
            values[op.result] = try lowerScalar(op, l)
        case "kiln_mid.limit_step":
            let r = l.call("kiln_rt_limit_step", [ctx, l.int(Int64(op.integer("state") ?? 0), "i64")], ["i32"]).result
            values[op.result] = LowValue(value: l.cmpi(1, r, l.int(0, "i32")), null: nil)
        case "kiln_mid.series_begin":
            // The bounds go through the scratch area, as a generic call's arguments do.
            storeArguments(try op.operands.dropFirst().map { (try lowered($0), MidToLow.sqlType($0.type).0) }, l)
            l.call("kiln_rt_series_begin", [ctx, l.int(Int64(op.integer("state") ?? 0), "i64")], [])
        case "kiln_mid.series_next" where op.integer("inline") == 1:
            // An integer series steps inline: the following value becomes the current one
            // while values are left (the count makes the wrapping addition safe).
            let cursor = seriesCursor(op, l)
            let remaining = l.load(cursor, offset: SeriesCursorLayout.remaining, "i64")
            let more = l.cmpi(1, remaining, l.int(0, "i64"))
            let following = l.load(cursor, offset: SeriesCursorLayout.following, "i64")
            l.store(following, cursor, offset: SeriesCursorLayout.value)
            l.store(l.nullByte(l.not(more)), cursor, offset: SeriesCursorLayout.null)
            let stepped = l.op("arith.addi", [following, l.load(cursor, offset: SeriesCursorLayout.step, "i64")], "i64")
            l.store(l.select(more, stepped, following), cursor, offset: SeriesCursorLayout.following)
            l.store(l.op("arith.subi", [remaining, l.op("arith.extui", [more], "i64")], "i64"), cursor, offset: SeriesCursorLayout.remaining)
            values[op.result] = LowValue(value: more, null: nil)
        case "kiln_mid.series_next":
            let r = l.call("kiln_rt_series_next", [ctx, l.int(Int64(op.integer("state") ?? 0), "i64")], ["i32"]).result
            values[op.result] = LowValue(value: l.cmpi(1, r, l.int(0, "i32")), null: nil)
        case "kiln_mid.series_value":
            let (type, nullable) = MidToLow.sqlType(op.result.type)
            let cursor = seriesCursor(op, l)
            let value = l.loadValue(l.gep(cursor, SeriesCursorLayout.value), type)
            let null = nullable ? l.fromMemory(l.load(cursor, offset: SeriesCursorLayout.null, "i8"), physical: .bool) : nil
            values[op.result] = LowValue(value: value, null: null)
        case "kiln_mid.hash_agg_update":
            try lowerAggregateUpdate(op, l)
        case "kiln_mid.join_insert", "kiln_mid.join_lookup", "kiln_mid.join_null_entry", "kiln_mid.entry_valid", "kiln_mid.join_match", "kiln_mid.entry_next", "kiln_mid.entry_field",
             "kiln_mid.entry_mark":
            try lowerJoin(op, l)
        case "kiln_mid.sort_append", "kiln_mid.output_append":
            let args = Array(op.operands.dropFirst())
            let types = args.map { MidToLow.sqlType($0.type).0 }
            let layout = RecordLayout(types: types)
            let record = l.call("kiln_rt_append", [ctx, l.int(Int64(op.integer("state") ?? 0), "i64")], ["!llvm.ptr"]).result
            for (index, arg) in args.enumerated() {
                let v = try lowered(arg)
                if let null = v.null { l.store(l.nullByte(null), record, offset: index) }
                l.storeValue(v.value, l.gep(record, layout.offsets[index]), types[index])
            }
        case "kiln_mid.finish":
            if op.string("kind") == "sort" || op.string("kind") == "hash_join" {
                l.call("kiln_rt_finish", [ctx, l.int(Int64(op.integer("state") ?? 0), "i64")], [])
            }
        default:
            throw Failure(description: "cannot lower \(op.name) to the low level")
        }
    }

    /// `kiln_mid.visible`: one predictable branch per morsel; only a morsel with delete markers
    /// calls the runtime (`kiln_rt_visible`), which gives the batch of the rows the snapshot sees.
    func lowerVisible(cursor: IRValue, batch: IRValue, _ l: LowBuilder) -> IRValue {
        let versions = l.load(batch, offset: BatchLayout.versions, "!llvm.ptr")
        let none = l.b.add("llvm.icmp", [versions, l.op("llvm.mlir.zero", [], "!llvm.ptr")], ["i1"], [("predicate", .integer(0, type: "i64"))]).result
        let fast = IRBlock(), slow = IRBlock()
        IRBuilder(fast).add("scf.yield", [batch])
        let slowBuilder = LowBuilder(b: IRBuilder(slow), ctx: l.ctx)
        let compacted = slowBuilder.call("kiln_rt_visible", [cursor], ["!llvm.ptr"]).result
        slowBuilder.b.add("scf.yield", [compacted])
        return l.b.add("scf.if", [none], ["!llvm.ptr"], regions: [.single(fast), .single(slow)]).result
    }

    /// The memory of the LATERAL series cursor `op` names (`SeriesCursorLayout`), found once
    /// per pipeline.
    mutating func seriesCursor(_ op: IROperation, _ l: LowBuilder) -> IRValue {
        let state = Int64(op.integer("state") ?? 0)
        return perPipeline("series\(state)", l) { $0.call("kiln_rt_series_cursor", [$0.ctx, $0.int(state, "i64")], ["!llvm.ptr"]).result }
    }

    /// A per-batch value, computed once in the batch block when the load is inside it.
    mutating func perBatch(_ key: String, _ l: LowBuilder, _ make: (LowBuilder) -> IRValue) -> IRValue {
        MidToLow.hoisted(key, into: batch, cache: &batchCache, fallback: l, make)
    }

    /// A per-pipeline value, computed once in the function's entry block.
    mutating func perPipeline(_ key: String, _ l: LowBuilder, _ make: (LowBuilder) -> IRValue) -> IRValue {
        MidToLow.hoisted(key, into: entry, cache: &entryCache, fallback: l, make)
    }

    /// `make`'s value, emitted once into `target` and remembered under `key` (in `fallback`
    /// when there is no target block).
    static func hoisted(_ key: String, into target: LowBuilder?, cache: inout [String: IRValue], fallback: LowBuilder,
                        _ make: (LowBuilder) -> IRValue) -> IRValue {
        guard let target else { return make(fallback) }
        if let cached = cache[key] { return cached }
        let value = make(target)
        cache[key] = value
        return value
    }

    mutating func lowerLoad(_ op: IROperation, _ l: LowBuilder) throws -> LowValue {
        let batch = try lowered(op.operands[0]).value
        let row = l.op("arith.index_cast", [try lowered(op.operands[1]).value], "i64")
        let (type, nullable) = MidToLow.sqlType(op.result.type)
        let column = op.integer("column") ?? 0
        if op.string("layout") == "records" {
            let records = perBatch("records", l) { $0.load(batch, offset: BatchLayout.records, "!llvm.ptr") }
            let record = l.load(l.gep(records, index: row, elementType: "!llvm.ptr"), "!llvm.ptr")
            let value = l.loadValue(l.gep(record, op.integer("offset") ?? 0), type)
            let null = nullable ? l.fromMemory(l.load(record, offset: column, "i8"), physical: .bool) : nil
            return LowValue(value: value, null: null)
        }
        let base = perBatch("values\(column)", l) { $0.load(batch, offset: BatchLayout.values(column), "!llvm.ptr") }
        let value = l.loadValue(l.gep(base, index: row, elementType: type.physical.memoryType), type)
        var null: IRValue?
        if nullable {
            let validity = perBatch("validity\(column)", l) { $0.load(batch, offset: BatchLayout.validity(column), "!llvm.ptr") }
            let first = perBatch("first", l) { $0.load(batch, offset: BatchLayout.firstRow, "i64") }
            let bit = l.op("arith.addi", [first, row], "i64")
            let wordIndex = l.op("arith.shrui", [bit, l.int(6, "i64")], "i64")
            let word = l.load(l.gep(validity, index: wordIndex, elementType: "i64"), "i64")
            let shift = l.op("arith.andi", [bit, l.int(63, "i64")], "i64")
            let shifted = l.op("arith.shrui", [word, shift], "i64")
            let valid = l.op("arith.andi", [shifted, l.int(1, "i64")], "i64")
            null = l.cmpi(0, valid, l.int(0, "i64"))
        }
        return LowValue(value: value, null: null)
    }

    /// Emits a call of a generic runtime function through the scratch area.
    mutating func genericCall(_ name: String, _ args: [(LowValue, SQLType)], resultType: SQLType, _ l: LowBuilder) -> LowValue {
        let function = RuntimeFunction(name: name, argumentTypes: args.map(\.1), resultType: resultType)
        let index: Int
        if let existing = functions.firstIndex(of: function) { index = existing } else { functions.append(function); index = functions.count - 1 }
        let scratch = storeArguments(args, l)
        l.call("kiln_rt_call", [l.ctx, l.int(Int64(index), "i64")], [])
        let result = l.loadValue(l.gep(scratch, ScratchLayout.result), resultType)
        let null = l.fromMemory(l.load(scratch, offset: ScratchLayout.resultNull, "i8"), physical: .bool)
        return LowValue(value: result, null: null)
    }

    /// Stores values and their null bytes as the scratch area's arguments (a generic call's,
    /// a series' bounds); returns the scratch area.
    @discardableResult
    mutating func storeArguments(_ args: [(LowValue, SQLType)], _ l: LowBuilder) -> IRValue {
        let ctx = l.ctx
        let scratch = perPipeline("scratch", l) { $0.load(ctx, offset: ContextLayout.scratch, "!llvm.ptr") }
        for (i, (value, type)) in args.enumerated() {
            l.storeValue(value.value, l.gep(scratch, ScratchLayout.argument(i)), type)
            l.store(l.nullByte(value.null), scratch, offset: ScratchLayout.argumentNull(i))
        }
        return scratch
    }

    static func errorCode(_ type: SQLType) -> Int32 {
        switch type {
        case .smallint: return 1
        case .integer, .date: return 2
        case .bigint, .timestamp: return 3
        case .numeric, .dynamicNumeric: return 4
        default: return 6
        }
    }

    static func strictNull(_ args: [LowValue], _ l: LowBuilder) -> IRValue? {
        let nulls = args.compactMap(\.null)
        guard var result = nulls.first else { return nil }
        for n in nulls.dropFirst() { result = l.or(result, n) }
        return result
    }

    /// Checked integer arithmetic: raises `code` on overflow.
    func checked(_ kind: String, _ a: IRValue, _ b: IRValue, code: Int32, _ l: LowBuilder) -> IRValue {
        let op = l.b.add("kiln_low.checked", [a, b], [a.type, "i1"], [("kind", .string(kind))])
        l.raise(op.results[1], code: code)
        return op.results[0]
    }
}
