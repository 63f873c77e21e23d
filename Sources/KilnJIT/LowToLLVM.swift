import KilnIR
import KilnRuntime
import KilnStorage

/// Expands the `kiln_low` ops into upstream `arith`/`scf`/`llvm`/`func` ops, leaving a module
/// that MLIR's standard conversions take to the LLVM dialect.
public enum LowToLLVM {
    public static func lower(_ module: IRModule) -> IRModule {
        let result = IRModule()
        var declared = Set<String>()
        for op in module.operations {
            if let name = op.string("sym_name") { declared.insert(name) }
            result.operations.append(op)
        }
        for signature in RuntimeSymbols.lateSignatures where !declared.contains(signature.name) {
            _ = result.addFunction(signature.name, arguments: signature.arguments, results: signature.results, visibility: "private")
        }
        for op in result.operations { for region in op.regions { for block in region.blocks { rewrite(block, ctx: block.arguments.first) } } }
        return result
    }

    static func rewrite(_ block: IRBlock, ctx: IRValue?) {
        var operations: [IROperation] = []
        for op in block.operations {
            for region in op.regions { for inner in region.blocks { rewrite(inner, ctx: ctx) } }
            let target = IRBlock()
            let b = IRBuilder(target)
            switch op.name {
            case "kiln_low.checked":
                let kind = op.string("kind") ?? "add"
                let type = op.operands[0].type
                let intrinsic = "llvm.intr.s\(kind == "add" ? "add" : kind == "sub" ? "sub" : "mul").with.overflow"
                func checkedPair(_ b: IRBuilder) -> (IRValue, IRValue) {
                    let pair = b.value(intrinsic, op.operands, "!llvm.struct<(\(type), i1)>")
                    return (b.add("llvm.extractvalue", [pair], [type], [("position", .raw("array<i64: 0>"))]).result,
                            b.add("llvm.extractvalue", [pair], ["i1"], [("position", .raw("array<i64: 1>"))]).result)
                }
                let (value, flag) = kind == "mul" && type == "i128" ? narrowMultiply(op.operands[0], op.operands[1], b, checked: checkedPair) : checkedPair(b)
                replace(op.results[0], with: value, in: block)
                replace(op.results[1], with: flag, in: block)
            case "kiln_low.raise":
                let code = op.integer("code") ?? 0
                let body = IRBlock()
                let inner = IRBuilder(body)
                let constant = inner.value("arith.constant", [], "i32", [("value", .integer(Int64(code), type: "i32"))])
                inner.add("func.call", [op.operands[0], constant], [], [("callee", .raw("@kiln_rt_raise"))])
                inner.add("scf.yield")
                b.add("scf.if", [op.operands[1]], [], regions: [.single(body), IRRegion()])
            case "kiln_low.hash":
                let v = op.operands[0]
                let hash: IRValue
                switch v.type {
                case "i1", "i8": hash = mix(b.value("arith.extui", [v], "i64"), b)
                case "i16", "i32": hash = mix(b.value("arith.extsi", [v], "i64"), b)
                case "f32", "f64":
                    // -0.0 + 0.0 is +0.0, so both zeros hash alike (they compare equal).
                    let d = v.type == "f32" ? b.value("arith.extf", [v], "f64") : v
                    let zero = b.value("arith.constant", [], "f64", [("value", .float(0, type: "f64"))])
                    let normalized = b.value("arith.addf", [d, zero], "f64")
                    hash = mix(b.value("arith.bitcast", [normalized], "i64"), b)
                case "i128":
                    // As `Hashing.fold`: no finaliser after it.
                    let (low, high) = halves(v, b)
                    hash = fold(low, high, b)
                default: hash = mix(v, b)
                }
                replace(op.result, with: hash, in: block)
            case "kiln_low.str_cmp":
                let parts = op.operands.flatMap { v -> [IRValue] in let (low, high) = halves(v, b); return [low, high] }
                replace(op.result, with: b.add("func.call", parts, ["i32"], [("callee", .raw("@kiln_rt_str_cmp"))]).result, in: block)
            case "kiln_low.str_hash":
                // An inline string (at most 12 bytes, the common group or join key) hashes
                // here, as `KilnString.hash` does: its 16-byte form is the value. Only a long
                // string calls the runtime to hash its bytes.
                let v = op.operands[0]
                let (low, high) = halves(v, b)
                let long = isLongString(v, b)
                let call = IRBlock(), inline = IRBlock()
                let cb = IRBuilder(call)
                cb.add("scf.yield", [cb.add("func.call", [low, high], ["i64"], [("callee", .raw("@kiln_rt_str_hash"))]).result])
                let ib = IRBuilder(inline)
                ib.add("scf.yield", [fold(low, high, ib)])
                replace(op.result, with: b.add("scf.if", [long], ["i64"], regions: [.single(call), .single(inline)]).result, in: block)
            case "kiln_low.str_eq":
                // Equal 16-byte forms are equal strings; different lengths or prefixes are
                // different. Only two long strings of one length and prefix compare bytes.
                let (x, y) = (op.operands[0], op.operands[1])
                let same = b.value("arith.cmpi", [x, y], "i1", [("predicate", .integer(0, type: "i64"))])
                let parts = op.operands.flatMap { v -> [IRValue] in let (low, high) = halves(v, b); return [low, high] }
                let sameHead = b.value("arith.cmpi", [parts[0], parts[2]], "i1", [("predicate", .integer(0, type: "i64"))])
                let long = isLongString(x, b)
                let differs = b.value("arith.xori", [same, b.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])], "i1")
                let needBytes = b.value("arith.andi", [b.value("arith.andi", [sameHead, long], "i1"), differs], "i1")
                let compare = IRBlock(), known = IRBlock()
                let cb = IRBuilder(compare)
                let r = cb.add("func.call", parts, ["i32"], [("callee", .raw("@kiln_rt_str_eq"))]).result
                let zero = cb.value("arith.constant", [], "i32", [("value", .integer(0, type: "i32"))])
                cb.add("scf.yield", [cb.value("arith.cmpi", [r, zero], "i1", [("predicate", .integer(1, type: "i64"))])])
                IRBuilder(known).add("scf.yield", [same])
                let equal = b.add("scf.if", [needBytes], ["i1"], regions: [.single(compare), .single(known)]).result
                replace(op.result, with: equal, in: block)
            default:
                operations.append(op)
                continue
            }
            operations.append(contentsOf: target.operations)
        }
        block.operations = operations
    }

    /// A checked 128-bit multiply (decimals) whose factors nearly always fit in 64 bits (up to
    /// 18 digits): then one 64 x 64 -> 128-bit multiply, which cannot overflow; else the checked
    /// 128-bit multiply (`checked`), which LLVM expands to three multiplies and their carries.
    static func narrowMultiply(_ x: IRValue, _ y: IRValue, _ b: IRBuilder,
                               checked: (IRBuilder) -> (IRValue, IRValue)) -> (IRValue, IRValue) {
        func narrowed(_ v: IRValue) -> (IRValue, IRValue) {
            let back = b.value("arith.extsi", [b.value("arith.trunci", [v], "i64")], "i128")
            return (back, b.value("arith.cmpi", [back, v], "i1", [("predicate", .integer(0, type: "i64"))]))
        }
        let (a, aFits) = narrowed(x), (c, cFits) = narrowed(y)
        let narrow = IRBlock(), wide = IRBlock()
        let nb = IRBuilder(narrow)
        nb.add("scf.yield", [nb.value("arith.muli", [a, c], "i128"), nb.value("arith.constant", [], "i1", [("value", .integer(0, type: "i1"))])])
        let wb = IRBuilder(wide)
        let (product, overflow) = checked(wb)
        wb.add("scf.yield", [product, overflow])
        let both = b.value("arith.andi", [aFits, cFits], "i1")
        let results = b.add("scf.if", [both], ["i128", "i1"], regions: [.single(narrow), .single(wide)]).results
        return (results[0], results[1])
    }

    /// Whether a string's 16-byte form (`i128`) holds a long string (its bytes elsewhere):
    /// its length, the low 32 bits, is over `KilnString.inlineCapacity`.
    static func isLongString(_ v: IRValue, _ b: IRBuilder) -> IRValue {
        precondition(v.type == "i128", "a string is an i128, not \(v.type)")
        let length = b.value("arith.trunci", [v], "i32")
        let capacity = b.value("arith.constant", [], "i32", [("value", .integer(Int64(KilnString.inlineCapacity), type: "i32"))])
        return b.value("arith.cmpi", [length, capacity], "i1", [("predicate", .integer(8, type: "i64"))])  // ugt
    }

    /// The low and high 64 bits of an i128 (how strings cross into `kiln_rt_*` calls).
    static func halves(_ v: IRValue, _ b: IRBuilder) -> (IRValue, IRValue) {
        let low = b.value("arith.trunci", [v], "i64")
        let shifted = b.value("arith.shrui", [v, b.value("arith.constant", [], "i128", [("value", .raw("64 : i128"))])], "i128")
        return (low, b.value("arith.trunci", [shifted], "i64"))
    }

    /// murmur3's 64-bit finaliser, inline.
    static func mix(_ value: IRValue, _ b: IRBuilder) -> IRValue {
        func constant(_ v: UInt64) -> IRValue { b.value("arith.constant", [], "i64", [("value", .integer(Int64(bitPattern: v), type: "i64"))]) }
        var h = value
        let s33 = constant(33)
        h = b.value("arith.xori", [h, b.value("arith.shrui", [h, s33], "i64")], "i64")
        h = b.value("arith.muli", [h, constant(0xff51_afd7_ed55_8ccd)], "i64")
        h = b.value("arith.xori", [h, b.value("arith.shrui", [h, s33], "i64")], "i64")
        h = b.value("arith.muli", [h, constant(0xc4ce_b9fe_1a85_ec53)], "i64")
        h = b.value("arith.xori", [h, b.value("arith.shrui", [h, s33], "i64")], "i64")
        return h
    }

    /// `Hashing.fold`, inline: one 64 x 64 -> 128-bit multiply of the seeded halves, its
    /// halves XORed.
    static func fold(_ low: IRValue, _ high: IRValue, _ b: IRBuilder) -> IRValue {
        func seeded(_ v: IRValue, _ seed: UInt64) -> IRValue {
            let constant = b.value("arith.constant", [], "i64", [("value", .integer(Int64(bitPattern: seed), type: "i64"))])
            return b.value("arith.extui", [b.value("arith.xori", [v, constant], "i64")], "i128")
        }
        let product = b.value("arith.muli", [seeded(low, Hashing.foldSeeds.low), seeded(high, Hashing.foldSeeds.high)], "i128")
        let (productLow, productHigh) = halves(product, b)
        return b.value("arith.xori", [productLow, productHigh], "i64")
    }

    /// Rewrites every later use of `old` in `block` (and nested blocks) to `new`.
    static func replace(_ old: IRValue, with new: IRValue, in block: IRBlock) {
        for op in block.operations {
            for index in op.operands.indices where op.operands[index] === old { op.operands[index] = new }
            for region in op.regions { for inner in region.blocks { replace(old, with: new, in: inner) } }
        }
    }
}
