import KilnCore
import KilnIR
import KilnPlanner
import KilnRuntime

/// A lane-wise value: a vector and, when nullable, a vector of null flags.
struct VectorValue {
    var value: IRValue
    var null: IRValue?
}

extension MidToLow {
    /// `vector<L x T>` for a machine type.
    static func vectorType(_ element: String, _ lanes: Int) -> String { "vector<\(lanes)x\(element)>" }

    /// Emits the SIMD kernel for a row loop (see `VectorPlan`), then the scalar loop for the
    /// remaining rows (fewer than one vector), which also keeps the exact scalar semantics for them.
    mutating func lowerVectorized(_ loop: IROperation, plan: VectorPlan, _ l: LowBuilder) throws {
        if plan.scalarPredicate { return try lowerScalarSelection(loop, plan: plan, l) }
        let lanes = HostVector.lanes
        let ctx = l.ctx
        let count = l.op("arith.index_cast", [try lowered(loop.operands[1]).value], "i64")
        let vectorEnd = l.op("arith.andi", [count, l.int(Int64(~(lanes - 1)), "i64")], "i64")
        let vectorEndIndex = l.op("arith.index_cast", [vectorEnd], "index")
        let rowArgument = loop.regions[0].blocks[0].arguments[0]

        // Accumulators carried through the kernel loop.
        var accumulatorTypes: [String] = []
        var initial: [IRValue] = []
        var aggregateSlots: [(function: String, state: SQLType, argument: SQLType?, first: Int)] = []
        if let aggregate = plan.aggregate {
            let names = (aggregate.attribute("aggregates")?.arrayValue ?? []).compactMap(\.stringValue)
            let states = (aggregate.attribute("state_types")?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(SQLType.init(irName:)) }
            var argumentIndex = 1
            for (name, state) in zip(names, states) {
                let first = accumulatorTypes.count
                var argumentType: SQLType?
                if name != "count_star" {
                    argumentType = MidToLow.sqlType(aggregate.operands[argumentIndex].type).0
                    argumentIndex += 1
                }
                // Every aggregate counts its contributing rows (NULL result when none).
                accumulatorTypes.append("i64")
                initial.append(l.int(0, "i64"))
                if name == "sum" || name == "min" || name == "max" {
                    let element = (name == "sum" ? state : argumentType!).physical.mlirType
                    let vector = MidToLow.vectorType(element, lanes)
                    accumulatorTypes.append(vector)
                    initial.append(l.op("vector.broadcast", [identity(name, element, l)], vector))
                }
                aggregateSlots.append((name, state, argumentType, first))
            }
        } else {
            accumulatorTypes.append("i64")  // selected rows so far
            initial.append(l.int(0, "i64"))
        }
        let selection = plan.aggregate == nil ? perPipeline("selection", l) { $0.load(ctx, offset: ContextLayout.selection, "!llvm.ptr") } : nil

        // The kernel: one step per `lanes` rows.
        let kernel = IRBlock(arguments: [IRValue(type: "index")] + accumulatorTypes.map { IRValue(type: $0) })
        let k = LowBuilder(b: IRBuilder(kernel), ctx: ctx)
        let start = k.op("arith.index_cast", [kernel.arguments[0]], "i64")
        var vectors: [IRValue: VectorValue] = [:]
        var broadcasts: [IRValue: VectorValue] = [:]
        let allTrue = k.op("arith.constant", [], MidToLow.vectorType("i1", lanes), [("value", .raw("dense<true> : vector<\(lanes)xi1>"))])
        func operand(_ value: IRValue) throws -> VectorValue {
            if let v = vectors[value] { return v }
            if let v = broadcasts[value] { return v }
            // Defined outside the loop (a parameter): the same in every lane.
            let scalar = try lowered(value)
            let vector = VectorValue(value: k.op("vector.broadcast", [scalar.value], MidToLow.vectorType(scalar.value.type, lanes)),
                                     null: scalar.null.map { k.op("vector.broadcast", [$0], MidToLow.vectorType("i1", lanes)) })
            broadcasts[value] = vector
            return vector
        }
        var mask = allTrue
        for op in plan.predicateOps + (plan.aggregate != nil ? plan.aggregateOps : []) {
            if op.name == "kiln_mid.load" {
                vectors[op.result] = try vectorLoad(op, start: start, lanes: lanes, k)
            } else if op.name == "kiln_mid.truth" {
                let v = try operand(op.operands[0])
                let truth = v.null.map { k.and(v.value, k.not($0, lanes: lanes)) } ?? v.value
                vectors[op.result] = VectorValue(value: truth, null: nil)
            } else {
                vectors[op.result] = try vectorOp(op, operand, lanes: lanes, k)
            }
        }
        if let condition = plan.condition { mask = vectors[condition]!.value }
        var yields: [IRValue] = []
        if let aggregate = plan.aggregate {
            let arguments = Array(aggregate.operands.dropFirst())
            var argumentIndex = 0
            for slot in aggregateSlots {
                var rows = mask
                var argument: VectorValue?
                if slot.function != "count_star" {
                    let v = try operand(arguments[argumentIndex])
                    argumentIndex += 1
                    argument = v
                    if let null = v.null { rows = k.and(rows, k.not(null, lanes: lanes)) }
                }
                let counted = k.op("arith.addi", [kernel.arguments[1 + slot.first], popcount(rows, lanes: lanes, k)], "i64")
                yields.append(counted)
                guard let argument, slot.function != "count" else { continue }
                let accumulator = kernel.arguments[2 + slot.first]
                var x = argument.value
                let element = String(accumulator.type.dropFirst("vector<\(lanes)x".count).dropLast())
                if slot.function == "sum", x.type != accumulator.type {
                    x = k.op(element.hasPrefix("f") ? "arith.extf" : "arith.extsi", [x], accumulator.type)
                }
                let neutral = k.op("vector.broadcast", [identity(slot.function, element, k)], accumulator.type)
                let contribution = k.op("arith.select", [rows, x, neutral], accumulator.type)
                switch slot.function {
                case "sum":
                    yields.append(k.op(element.hasPrefix("f") ? "arith.addf" : "arith.addi", [accumulator, contribution], accumulator.type))
                default:
                    let wantLess = slot.function == "min"
                    let better = element.hasPrefix("f") ? k.floatBetter(wantLess: wantLess, contribution, accumulator) : k.cmpi(wantLess ? 2 : 4, contribution, accumulator)
                    yields.append(k.op("arith.select", [better, contribution, accumulator], accumulator.type))
                }
            }
        } else {
            // Compact the selected row ids, branch-free: every lane writes, the count advances
            // only for selected lanes.
            let bits = k.op("llvm.bitcast", [mask], "i\(lanes)")
            let wide = k.op("arith.extui", [bits], "i64")
            var filled = kernel.arguments[1]
            for lane in 0..<lanes {
                let row = k.op("arith.trunci", [k.op("arith.addi", [start, k.int(Int64(lane), "i64")], "i64")], "i32")
                k.store(row, k.gep(selection!, index: filled, elementType: "i32"))
                let bit = k.op("arith.andi", [k.op("arith.shrui", [wide, k.int(Int64(lane), "i64")], "i64"), k.int(1, "i64")], "i64")
                filled = k.op("arith.addi", [filled, bit], "i64")
            }
            yields.append(filled)
        }
        k.b.add("scf.yield", yields)
        let zero = l.op("arith.constant", [], "index", [("value", .integer(0, type: "index"))])
        let step = l.op("arith.constant", [], "index", [("value", .integer(Int64(lanes), type: "index"))])
        let results = l.b.add("scf.for", [zero, vectorEndIndex, step] + initial, accumulatorTypes, regions: [.single(kernel)]).results

        if plan.aggregate != nil {
            try mergeAccumulators(plan.aggregate!, aggregateSlots, results, lanes: lanes, l)
        } else {
            let recomputed = plan.predicateOps.filter { $0.name == "kiln_mid.load" || $0.name == "kiln_mid.op" }
            try lowerSelectedRows(plan.selectedBody!, row: rowArgument, selection: selection!, count: results[0], recomputing: recomputed, l)
        }

        // The last rows (fewer than a vector): the scalar loop.
        let tailStart = IRValue(type: "index")
        values[tailStart] = LowValue(value: vectorEndIndex, null: nil)
        let tail = IROperation("scf.for", operands: [tailStart, loop.operands[1], loop.operands[2]], resultTypes: [], attributes: loop.attributes, regions: loop.regions)
        let saved = vectorize
        vectorize = false
        defer { vectorize = saved }
        try lowerOperation(tail, l, ctx: ctx)
    }

    /// A row loop whose predicate calls out (`VectorPlan.scalarPredicate`): one scalar loop
    /// writes the ids of the rows that pass into the selection vector (branch-free), a second
    /// runs the rest of the pipeline over them.
    mutating func lowerScalarSelection(_ loop: IROperation, plan: VectorPlan, _ l: LowBuilder) throws {
        let ctx = l.ctx
        let selection = perPipeline("selection", l) { $0.load(ctx, offset: ContextLayout.selection, "!llvm.ptr") }
        let rowArgument = loop.regions[0].blocks[0].arguments[0]
        let bounds = try loop.operands.map { try lowered($0).value }

        let test = IRBlock(arguments: [IRValue(type: "index"), IRValue(type: "i64")])
        let t = LowBuilder(b: IRBuilder(test), ctx: ctx)
        values[rowArgument] = LowValue(value: test.arguments[0], null: nil)
        for op in plan.predicateOps { try lowerOperation(op, t, ctx: ctx) }
        let passes = try lowered(plan.condition!).value
        let row = t.op("arith.trunci", [t.op("arith.index_cast", [test.arguments[0]], "i64")], "i32")
        t.store(row, t.gep(selection, index: test.arguments[1], elementType: "i32"))
        t.b.add("scf.yield", [t.op("arith.addi", [test.arguments[1], t.op("arith.extui", [passes], "i64")], "i64")])
        let filled = l.b.add("scf.for", bounds + [l.int(0, "i64")], ["i64"], regions: [.single(test)]).result
        try lowerSelectedRows(plan.selectedBody!, row: rowArgument, selection: selection, count: filled, recomputing: plan.recomputed, l)
    }

    /// The rest of the pipeline (`body`, whose row index is `row`) over the first `count`
    /// (`i64`) row ids in the selection vector; `recomputing`: ops of the predicate whose
    /// values the body reads, evaluated again for each selected row.
    mutating func lowerSelectedRows(_ body: IRBlock, row: IRValue, selection: IRValue, count: IRValue, recomputing: [IROperation], _ l: LowBuilder) throws {
        let selected = IRBlock(arguments: [IRValue(type: "index")])
        let s = LowBuilder(b: IRBuilder(selected), ctx: l.ctx)
        let position = s.op("arith.index_cast", [selected.arguments[0]], "i64")
        let id = s.op("arith.extsi", [s.load(s.gep(selection, index: position, elementType: "i32"), "i32")], "i64")
        values[row] = LowValue(value: s.op("arith.index_cast", [id], "index"), null: nil)
        for op in recomputing { try lowerOperation(op, s, ctx: l.ctx) }
        try lowerBlock(body, into: selected, ctx: l.ctx)
        let zero = l.op("arith.constant", [], "index", [("value", .integer(0, type: "index"))])
        let one = l.op("arith.constant", [], "index", [("value", .integer(1, type: "index"))])
        l.b.add("scf.for", [zero, l.op("arith.index_cast", [count], "index"), one], [], regions: [.single(selected)])
    }

    /// The value that leaves an accumulator unchanged.
    func identity(_ function: String, _ element: String, _ l: LowBuilder) -> IRValue {
        let isFloat = element.hasPrefix("f")
        switch function {
        case "min":
            // NaN is the greatest float in PostgreSQL's order: every number replaces it.
            if isFloat { return l.float(.nan, element) }
            if element == "i128" { return l.int128(Int128.max) }
            let bits = Int(element.dropFirst())!
            return l.int(bits == 64 ? Int64.max : (Int64(1) << (bits - 1)) - 1, element)
        case "max":
            if isFloat { return l.float(-.infinity, element) }
            if element == "i128" { return l.int128(Int128.min) }
            let bits = Int(element.dropFirst())!
            return l.int(bits == 64 ? Int64.min : -(Int64(1) << (bits - 1)), element)
        default:
            if element == "i128" { return l.int128(0) }
            return isFloat ? l.float(0, element) : l.int(0, element)
        }
    }

    func popcount(_ mask: IRValue, lanes: Int, _ l: LowBuilder) -> IRValue {
        let bits = l.op("llvm.bitcast", [mask], "i\(lanes)")
        let ones = l.op("llvm.intr.ctpop", [bits], "i\(lanes)")
        return l.op("arith.extui", [ones], "i64")
    }

    /// Lanes `start ..< start + lanes` of a column, with their null flags from the validity bitmap.
    mutating func vectorLoad(_ op: IROperation, start: IRValue, lanes: Int, _ l: LowBuilder) throws -> VectorValue {
        let (type, nullable) = MidToLow.sqlType(op.result.type)
        let column = op.integer("column") ?? 0
        let batch = try lowered(op.operands[0]).value
        let base = perBatch("values\(column)", l) { $0.load(batch, offset: BatchLayout.values(column), "!llvm.ptr") }
        let memory = type.physical.memoryType
        // Column arrays are aligned to their element size only.
        var value = l.b.value("llvm.load", [l.gep(base, index: start, elementType: memory)], MidToLow.vectorType(memory, lanes),
                              [("alignment", .integer(Int64(type.physical.byteWidth), type: "i64"))])
        if type.physical == .bool {
            let zero = l.op("arith.constant", [], MidToLow.vectorType("i8", lanes), [("value", .raw("dense<0> : vector<\(lanes)xi8>"))])
            value = l.cmpi(1, value, zero)
        }
        var null: IRValue?
        if nullable {
            // Morsels start at multiples of 64 rows and kernel steps at multiples of `lanes`,
            // so a step's validity bits are one aligned `lanes`-bit word of the bitmap.
            let validity = perBatch("validity\(column)", l) { $0.load(batch, offset: BatchLayout.validity(column), "!llvm.ptr") }
            let first = perBatch("first", l) { $0.load(batch, offset: BatchLayout.firstRow, "i64") }
            let bit = l.op("arith.addi", [first, start], "i64")
            let word = l.op("arith.shrui", [bit, l.int(Int64(lanes.trailingZeroBitCount), "i64")], "i64")
            let bits = l.load(l.gep(validity, index: word, elementType: "i\(lanes)"), "i\(lanes)")
            let valid = l.op("llvm.bitcast", [bits], MidToLow.vectorType("i1", lanes))
            null = l.not(valid, lanes: lanes)
        }
        return VectorValue(value: value, null: null)
    }

    /// One SQL operation, lane-wise, with SQL's null rules and overflow checks.
    func vectorOp(_ op: IROperation, _ operand: (IRValue) throws -> VectorValue, lanes: Int, _ l: LowBuilder) throws -> VectorValue {
        let name = op.string("name") ?? ""
        let args = try op.operands.map(operand)
        let argTypes = op.operands.map { MidToLow.sqlType($0.type).0 }
        let (resultType, _) = MidToLow.sqlType(op.result.type)
        let t = argTypes.first ?? .integer
        let nulls = args.compactMap(\.null)
        var null: IRValue? = nulls.first
        for n in nulls.dropFirst() { null = l.or(null!, n) }
        let boolType = MidToLow.vectorType("i1", lanes)
        func falseVector() -> IRValue { l.op("arith.constant", [], boolType, [("value", .raw("dense<false> : vector<\(lanes)xi1>"))]) }
        switch name {
        case "eq", "ne", "lt", "le", "gt", "ge":
            let index = ["eq", "ne", "lt", "le", "gt", "ge"].firstIndex(of: name)!
            let value: IRValue
            if t.isFloat { value = l.floatCompare(name, args[0].value, args[1].value) }
            else if t == .boolean { value = l.cmpi([0, 1, 6, 7, 8, 9][index], args[0].value, args[1].value) }
            else { value = l.cmpi(Int64(index), args[0].value, args[1].value) }
            return VectorValue(value: value, null: null)
        case "and", "or":
            let a = args[0], b = args[1]
            if a.null == nil && b.null == nil {
                return VectorValue(value: l.op(name == "and" ? "arith.andi" : "arith.ori", [a.value, b.value], boolType), null: nil)
            }
            let aNull = a.null ?? falseVector(), bNull = b.null ?? falseVector()
            if name == "and" {
                let isFalse = l.or(l.and(l.not(aNull, lanes: lanes), l.not(a.value, lanes: lanes)), l.and(l.not(bNull, lanes: lanes), l.not(b.value, lanes: lanes)))
                let isNull = l.and(l.not(isFalse, lanes: lanes), l.or(aNull, bNull))
                return VectorValue(value: l.and(l.not(isFalse, lanes: lanes), l.not(isNull, lanes: lanes)), null: isNull)
            }
            let isTrue = l.or(l.and(l.not(aNull, lanes: lanes), a.value), l.and(l.not(bNull, lanes: lanes), b.value))
            return VectorValue(value: isTrue, null: l.and(l.not(isTrue, lanes: lanes), l.or(aNull, bNull)))
        case "not":
            return VectorValue(value: l.not(args[0].value, lanes: lanes), null: args[0].null)
        case "is_null", "is_not_null":
            let isNull = args[0].null ?? falseVector()
            return VectorValue(value: name == "is_null" ? isNull : l.not(isNull, lanes: lanes), null: nil)
        case "is_true", "is_false", "is_true_not", "is_false_not":
            let notNull = args[0].null.map { l.not($0, lanes: lanes) } ?? l.not(falseVector(), lanes: lanes)
            let base = name.hasPrefix("is_true") ? l.and(notNull, args[0].value) : l.and(notNull, l.not(args[0].value, lanes: lanes))
            return VectorValue(value: name.hasSuffix("_not") ? l.not(base, lanes: lanes) : base, null: nil)
        case "add", "sub", "mul", "neg":
            let a = name == "neg" ? l.op("vector.broadcast", [t.isFloat ? l.float(0, t.physical.mlirType) : l.int(0, t.physical.mlirType)], args[0].value.type) : args[0].value
            let b = name == "neg" ? args[0].value : args[1].value
            let kind = name == "neg" ? "sub" : name
            if t.isFloat {
                return VectorValue(value: l.op("arith.\(kind)f", [a, b], a.type), null: null)
            }
            let r = l.op("arith.\(kind)i", [a, b], a.type)
            // Two's-complement overflow: for +, both inputs differ in sign from the result;
            // for -, the inputs differ in sign and the result's sign differs from the first;
            // for *, the product does not survive a round trip through the double width.
            let zero = l.op("vector.broadcast", [l.int(0, t.physical.mlirType)], a.type)
            var overflow: IRValue
            switch kind {
            case "add":
                overflow = l.cmpi(2, l.op("arith.andi", [l.op("arith.xori", [a, r], a.type), l.op("arith.xori", [b, r], a.type)], a.type), zero)
            case "sub":
                overflow = l.cmpi(2, l.op("arith.andi", [l.op("arith.xori", [a, b], a.type), l.op("arith.xori", [a, r], a.type)], a.type), zero)
            default:
                let bits = Int(t.physical.mlirType.dropFirst())!
                let wideType = MidToLow.vectorType("i\(bits * 2)", lanes)
                let wide = l.op("arith.muli", [l.op("arith.extsi", [a], wideType), l.op("arith.extsi", [b], wideType)], wideType)
                overflow = l.cmpi(1, l.op("arith.extsi", [r], wideType), wide)
            }
            if let null { overflow = l.and(overflow, l.not(null, lanes: lanes)) }
            let any = l.op("vector.reduction", [overflow], "i1", [("kind", .raw("#vector.kind<or>"))])
            l.raise(any, code: MidToLow.errorCode(resultType))
            return VectorValue(value: r, null: null)
        case "div", "mod":
            let a = args[0].value, b = args[1].value
            let live = null.map { l.not($0, lanes: lanes) }
            func anyLive(_ flags: IRValue) -> IRValue {
                let masked = live.map { l.and(flags, $0) } ?? flags
                return l.op("vector.reduction", [masked], "i1", [("kind", .raw("#vector.kind<or>"))])
            }
            if t.isFloat {
                let zero = l.op("vector.broadcast", [l.float(0, t.physical.mlirType)], a.type)
                l.raise(anyLive(l.cmpf(1, b, zero)), code: 5)
                return VectorValue(value: l.op("arith.divf", [a, b], a.type), null: null)
            }
            let element = t.physical.mlirType
            let bits = Int(element.dropFirst())!
            let zero = l.op("vector.broadcast", [l.int(0, element)], a.type)
            let one = l.op("vector.broadcast", [l.int(1, element)], a.type)
            let isZero = l.cmpi(0, b, zero)
            l.raise(anyLive(isZero), code: 5)
            let minimum = l.op("vector.broadcast", [l.int(bits == 64 ? Int64.min : -(Int64(1) << (bits - 1)), element)], a.type)
            let minusOne = l.op("vector.broadcast", [l.int(-1, element)], a.type)
            let overflow = l.and(l.cmpi(0, a, minimum), l.cmpi(0, b, minusOne))
            if name == "div" { l.raise(anyLive(overflow), code: MidToLow.errorCode(t)) }
            // Lanes that would trap (x / 0, MIN / -1, or NULL rows) divide by 1 instead.
            var unsafe = l.or(isZero, overflow)
            if let null { unsafe = l.or(unsafe, null) }
            let divisor = l.op("arith.select", [unsafe, one, b], a.type)
            return VectorValue(value: l.op(name == "div" ? "arith.divsi" : "arith.remsi", [a, divisor], a.type), null: null)
        case "cast":
            let element = resultType.physical.mlirType
            let vector = MidToLow.vectorType(element, lanes)
            let a = args[0].value
            let value: IRValue
            if t.isFloat && resultType.isFloat { value = l.op("arith.extf", [a], vector) }
            else if resultType.isFloat { value = l.op("arith.sitofp", [a], vector) }
            else if t == .date && resultType == .timestamp {
                let wide = l.op("arith.extsi", [a], vector)
                value = l.op("arith.muli", [wide, l.op("vector.broadcast", [l.int(DateMath.microsPerDay, "i64")], vector)], vector)
            } else { value = l.op("arith.extsi", [a], vector) }
            return VectorValue(value: value, null: args[0].null)
        default:
            throw Failure(description: "operation \(name) is not vectorisable")
        }
    }

    /// Folds the kernel's accumulators into the aggregate's record.
    mutating func mergeAccumulators(_ aggregate: IROperation, _ slots: [(function: String, state: SQLType, argument: SQLType?, first: Int)], _ results: [IRValue], lanes: Int, _ l: LowBuilder) throws {
        let ctx = l.ctx
        let stateIndex = Int64(aggregate.integer("state") ?? 0)
        guard case .array(let stateNames) = aggregate.attribute("state_types") else { return }
        let layout = RecordLayout(types: stateNames.compactMap { $0.stringValue.flatMap(SQLType.init(irName:)) })
        let record = globalAggregateRecord(state: stateIndex, l)
        for (index, slot) in slots.enumerated() {
            let pointer = l.gep(record, layout.offsets[index])
            let counted = results[slot.first]
            if slot.function == "count_star" || slot.function == "count" {
                l.store(l.op("arith.addi", [l.load(pointer, "i64"), counted], "i64"), pointer)
                continue
            }
            let body = IRBlock()
            let m = LowBuilder(b: IRBuilder(body), ctx: ctx)
            let accumulator = results[slot.first + 1]
            let element = String(accumulator.type.dropFirst("vector<\(lanes)x".count).dropLast())
            let isFloat = element.hasPrefix("f")
            let kind: String
            switch slot.function {
            case "sum": kind = "add"
            case "min": kind = isFloat ? "minimumf" : "minsi"
            default: kind = isFloat ? "maximumf" : "maxsi"
            }
            var reduced: IRValue
            if isFloat && slot.function == "min" {
                // Fold the lanes in PostgreSQL's order (minimumf would let an untouched NaN lane win).
                reduced = m.b.value("llvm.extractelement", [accumulator, m.int(0, "i64")], element)
                for lane in 1..<lanes {
                    let x = m.b.value("llvm.extractelement", [accumulator, m.int(Int64(lane), "i64")], element)
                    reduced = m.select(m.floatBetter(wantLess: true, x, reduced), x, reduced)
                }
            } else {
                reduced = m.op("vector.reduction", [accumulator], element, [("kind", .raw("#vector.kind<\(kind)>"))])
            }
            foldIntoState(slot.function, reduced, type: slot.state, record: record, field: index, pointer: pointer, m)
            m.b.add("scf.yield")
            let any = l.cmpi(4, counted, l.int(0, "i64"))
            l.b.add("scf.if", [any], [], regions: [.single(body), IRRegion()])
        }
    }
}

extension LowBuilder {
    /// Lane-wise NOT of a mask.
    func not(_ mask: IRValue, lanes: Int) -> IRValue {
        let ones = op("arith.constant", [], mask.type, [("value", .raw("dense<true> : vector<\(lanes)xi1>"))])
        return op("arith.xori", [mask, ones], mask.type)
    }
}
