import KilnIR

/// Translates low-level IR into `Instruction`s: assigns register slots, flattens structured
/// control flow into jumps, and picks a type-specialised instruction per operation.
struct Translator {
    var slots: [ObjectIdentifier: Int] = [:]
    var nextSlot = 0
    var code: [Instruction] = []

    mutating func slot(_ value: IRValue) -> Int {
        if let s = slots[ObjectIdentifier(value)] { return s }
        let s = nextSlot
        nextSlot += RegisterType(value.type).slots
        slots[ObjectIdentifier(value)] = s
        return s
    }

    mutating func emit(_ instruction: Instruction) { code.append(instruction) }

    /// Emits a placeholder jump and returns its index for patching.
    mutating func placeholder() -> Int {
        code.append(.jump(target: -1))
        return code.count - 1
    }

    mutating func patch(_ index: Int, _ instruction: Instruction) { code[index] = instruction }

    /// Translates a block. A terminating `scf.yield` copies its operands into `yieldTo`
    /// (the results of an `scf.if`, or the next iteration's `scf.while` arguments).
    mutating func block(_ block: IRBlock, yieldTo: [IRValue] = []) throws {
        for op in block.operations {
            if op.name == "scf.yield" {
                copy(from: op.operands, to: yieldTo)
                continue
            }
            try operation(op)
        }
    }

    /// Moves values slot by slot; through fresh temporaries when several values move at once
    /// (loop-carried values may overlap).
    mutating func copy(from sources: [IRValue], to destinations: [IRValue]) {
        var pairs: [(Int, Int)] = []
        for (source, destination) in zip(sources, destinations) {
            let s = slot(source), d = slot(destination)
            for k in 0..<RegisterType(source.type).slots where s + k != d + k { pairs.append((s + k, d + k)) }
        }
        if pairs.count <= 1 {
            for (s, d) in pairs { emit(.move(d: d, a: s)) }
            return
        }
        let temporaries = pairs.map { _ -> Int in defer { nextSlot += 1 }; return nextSlot }
        for (index, (s, _)) in pairs.enumerated() { emit(.move(d: temporaries[index], a: s)) }
        for (index, (_, d)) in pairs.enumerated() { emit(.move(d: d, a: temporaries[index])) }
    }

    mutating func operation(_ op: IROperation) throws {
        let operands = op.operands.map { slot($0) }
        let results = op.results.map { slot($0) }
        let type = op.results.first.map { RegisterType($0.type) } ?? .int(bits: 64)
        let operandType = op.operands.first.map { RegisterType($0.type) } ?? .int(bits: 64)
        let predicate = op.integer("predicate") ?? 0
        switch op.name {
        case "arith.constant":
            let d = results[0]
            switch op.attribute("value") {
            case .integer(let v, _)?: emit(.constant(d: d, value: UInt64(bitPattern: v) & type.mask))
            case .float(let v, let t)?: emit(.constant(d: d, value: t == "f32" ? UInt64(Float(v).bitPattern) : v.bitPattern))
            case .raw(let text)?:
                guard let number = Int128(String(text.split(separator: ":")[0]).filter { $0 != " " }) else {
                    throw InterpretedQuery.Failure(description: "bad constant \(text)")
                }
                let bits = UInt128(bitPattern: number)
                emit(.constant128(d: d, low: UInt64(truncatingIfNeeded: bits), high: UInt64(truncatingIfNeeded: bits >> 64)))
            default: throw InterpretedQuery.Failure(description: "unsupported constant in \(op.name)")
            }
        case "arith.addi", "arith.subi", "arith.muli", "arith.andi", "arith.ori", "arith.xori":
            let (d, a, b) = (results[0], operands[0], operands[1])
            if type.bits == 128 {
                let kinds: [String: WideKind] = ["arith.addi": .add, "arith.subi": .sub, "arith.muli": .mul, "arith.andi": .and, "arith.ori": .or, "arith.xori": .xor]
                emit(.wide(d: d, a: a, b: b, kind: kinds[op.name]!))
                return
            }
            let mask = type.mask
            switch op.name {
            case "arith.addi": emit(.add(d: d, a: a, b: b, mask: mask))
            case "arith.subi": emit(.sub(d: d, a: a, b: b, mask: mask))
            case "arith.muli": emit(.mul(d: d, a: a, b: b, mask: mask))
            case "arith.andi": emit(.and(d: d, a: a, b: b))
            case "arith.ori": emit(.or(d: d, a: a, b: b))
            default: emit(.xor(d: d, a: a, b: b, mask: mask))
            }
        case "arith.divsi", "arith.remsi":
            emit(.divide(d: results[0], a: operands[0], b: operands[1], bits: type.bits, remainder: op.name == "arith.remsi"))
        case "arith.shrui":
            if type.bits == 128 { emit(.shiftRight128(d: results[0], a: operands[0], b: operands[1])) }
            else { emit(.shiftRight(d: results[0], a: operands[0], b: operands[1])) }
        case "arith.cmpi":
            if operandType.bits == 128 { emit(.compare128(d: results[0], a: operands[0], b: operands[1], predicate: predicate)) }
            else { emit(.compare(d: results[0], a: operands[0], b: operands[1], predicate: predicate, bits: operandType.bits)) }
        case "arith.cmpf":
            emit(.compareFloat(d: results[0], a: operands[0], b: operands[1], predicate: predicate, double: operandType == .f64))
        case "arith.select":
            if type.bits == 128 { emit(.select128(d: results[0], c: operands[0], a: operands[1], b: operands[2])) }
            else { emit(.select(d: results[0], c: operands[0], a: operands[1], b: operands[2])) }
        case "arith.extsi":
            if type.bits == 128 { emit(.signExtend128(d: results[0], a: operands[0], from: operandType.bits)) }
            else { emit(.signExtend(d: results[0], a: operands[0], from: operandType.bits, mask: type.mask)) }
        case "arith.extui":
            if type.bits == 128 { emit(.zeroExtend128(d: results[0], a: operands[0])) }
            else { emit(.move(d: results[0], a: operands[0])) }
        case "arith.trunci":
            // The low slot of an i128 holds its low 64 bits.
            emit(.moveMasked(d: results[0], a: operands[0], mask: type.mask))
        case "arith.index_cast", "arith.bitcast":
            emit(.move(d: results[0], a: operands[0]))
        case "arith.sitofp":
            emit(.intToFloat(d: results[0], a: operands[0], from: operandType.bits, double: type == .f64))
        case "arith.extf":
            emit(.floatExtend(d: results[0], a: operands[0]))
        case "arith.addf", "arith.subf", "arith.mulf", "arith.divf":
            let kinds: [String: FloatKind] = ["arith.addf": .add, "arith.subf": .sub, "arith.mulf": .mul, "arith.divf": .div]
            emit(.float(d: results[0], a: operands[0], b: operands[1], kind: kinds[op.name]!, double: type == .f64))
        case "arith.negf":
            emit(.floatNegate(d: results[0], a: operands[0], double: type == .f64))
        case "llvm.mlir.zero":
            emit(.constant(d: results[0], value: 0))
        case "llvm.icmp":
            emit(.pointerEqual(d: results[0], a: operands[0], b: operands[1], equal: predicate == 0))
        case "llvm.getelementptr":
            try pointerArithmetic(op, operands, results[0])
        case "llvm.load":
            if op.integer("ordering") != nil {
                guard Translator.bytes(type) == 4 else { throw InterpretedQuery.Failure(description: "atomic load of \(type)") }
                emit(.atomicLoad32(d: results[0], p: operands[0]))
            } else {
                emit(.load(d: results[0], p: operands[0], bytes: Translator.bytes(type)))
            }
        case "llvm.store":
            emit(.store(v: operands[0], p: operands[1], bytes: Translator.bytes(operandType)))
        case "func.call":
            try runtimeCall(op, operands, results)
        case "func.return":
            break
        case "scf.if":
            let jumpToElse = placeholder()
            if let thenBlock = op.regions[0].blocks.first { try block(thenBlock, yieldTo: op.results) }
            let jumpToEnd = placeholder()
            patch(jumpToElse, .jumpIfFalse(c: operands[0], target: code.count))
            if op.regions.count > 1, let elseBlock = op.regions[1].blocks.first { try block(elseBlock, yieldTo: op.results) }
            patch(jumpToEnd, .jump(target: code.count))
        case "scf.for":
            guard let body = op.regions.first?.blocks.first else { return }
            let iv = slot(body.arguments[0])
            emit(.move(d: iv, a: operands[0]))
            let top = code.count
            let exit = placeholder()
            try block(body)
            emit(.add(d: iv, a: iv, b: operands[2], mask: ~0))
            emit(.jump(target: top))
            patch(exit, .jumpIfNotLess(a: iv, b: operands[1], target: code.count))
        case "scf.while":
            guard let before = op.regions.first?.blocks.first, let after = op.regions.last?.blocks.first,
                  let condition = before.operations.last, condition.name == "scf.condition" else {
                throw InterpretedQuery.Failure(description: "malformed scf.while")
            }
            copy(from: op.operands, to: before.arguments)
            let top = code.count
            for child in before.operations.dropLast() { try operation(child) }
            let flag = slot(condition.operands[0])
            let forwarded = Array(condition.operands.dropFirst())
            let toExit = placeholder()
            copy(from: forwarded, to: after.arguments)
            try block(after, yieldTo: before.arguments)
            emit(.jump(target: top))
            // Exit: the forwarded values become the loop's results.
            patch(toExit, .jumpIfFalse(c: flag, target: code.count))
            copy(from: forwarded, to: op.results)
        case "kiln_low.checked":
            let kinds: [String: WideKind] = ["add": .add, "sub": .sub, "mul": .mul]
            emit(.checked(d: results[0], overflow: results[1], a: operands[0], b: operands[1], kind: kinds[op.string("kind") ?? "add"] ?? .add, bits: operandType.bits))
        case "kiln_low.raise":
            emit(.raise(context: operands[0], flag: operands[1], code: Int32(op.integer("code") ?? 0)))
        case "kiln_low.str_eq":
            emit(.stringEqual(d: results[0], a: operands[0], b: operands[1]))
        case "kiln_low.str_cmp":
            emit(.stringCompare(d: results[0], a: operands[0], b: operands[1]))
        case "kiln_low.str_hash":
            emit(.hash(d: results[0], a: operands[0], kind: .string))
        case "kiln_low.hash":
            let kind: HashKind
            switch operandType {
            case .int(bits: 128): kind = .int128
            case .f32: kind = .float32
            case .f64: kind = .float64
            case .pointer: kind = .integer(bits: 64)
            case .int(let bits): kind = .integer(bits: bits)
            }
            emit(.hash(d: results[0], a: operands[0], kind: kind))
        default:
            throw InterpretedQuery.Failure(description: "the interpreter does not know \(op.name)")
        }
    }

    static func bytes(_ type: RegisterType) -> Int {
        switch type {
        case .int(let bits): return bits <= 8 ? 1 : bits / 8
        case .f32: return 4
        case .f64, .pointer: return 8
        }
    }

    mutating func pointerArithmetic(_ op: IROperation, _ operands: [Int], _ d: Int) throws {
        var raw = ""
        if case .raw(let text)? = op.attribute("rawConstantIndices") { raw = text }
        var elementType = "i8"
        if case .raw(let text)? = op.attribute("elem_type") { elementType = text }
        let size: Int
        switch elementType {
        case "i8", "i1": size = 1
        case "i16": size = 2
        case "i32", "f32": size = 4
        case "i128": size = 16
        default: size = 8
        }
        if raw.contains("-2147483648") {
            emit(.index(d: d, base: operands[0], index: operands[1], size: size))
            return
        }
        // `array<i32: N>`: the index follows the colon.
        let afterColon = raw.split(separator: ":").last.map { $0.trimmingPrefix(" ") } ?? ""
        let index = Int(afterColon.prefix { $0.isNumber || $0 == "-" }) ?? 0
        emit(.offset(d: d, base: operands[0], bytes: index * size))
    }

    mutating func runtimeCall(_ op: IROperation, _ operands: [Int], _ results: [Int]) throws {
        guard case .raw(let callee)? = op.attribute("callee") else { throw InterpretedQuery.Failure(description: "call without callee") }
        let functions: [String: RuntimeCall] = [
            "@kiln_rt_open": .open, "@kiln_rt_next": .next, "@kiln_rt_visible": .visible, "@kiln_rt_finish": .finish,
            "@kiln_rt_agg_scratch": .aggregateScratch, "@kiln_rt_agg_find": .aggregateFind,
            "@kiln_rt_agg_header": .aggregateHeader, "@kiln_rt_agg_insert": .aggregateInsert,
            "@kiln_rt_join_grow": .joinGrow, "@kiln_rt_join_null_entry": .joinNullEntry, "@kiln_rt_append": .append, "@kiln_rt_limit_step": .limitStep, "@kiln_rt_raise": .raise, "@kiln_rt_call": .call, "@kiln_rt_like": .like, "@kiln_rt_in_list": .inList,
            "@kiln_rt_series_begin": .seriesBegin, "@kiln_rt_series_next": .seriesNext, "@kiln_rt_series_cursor": .seriesCursor,
        ]
        guard let function = functions[callee] else {
            throw InterpretedQuery.Failure(description: "the interpreter does not know runtime function \(callee)")
        }
        let a = operands + [0, 0, 0, 0]
        emit(.call(function: function, d: results.first ?? 0, a0: a[0], a1: a[1], a2: a[2], a3: a[3]))
    }
}
