import KilnCore
import KilnIR
import KilnRuntime

/// A value at the low level: the machine value and, for nullable values, an `i1` null flag.
struct LowValue {
    var value: IRValue
    var null: IRValue?
}

/// Emits low-level ops (upstream arith/llvm/func plus `kiln_low`) into a block.
struct LowBuilder {
    var b: IRBuilder
    let ctx: IRValue

    func int(_ v: Int64, _ type: String) -> IRValue {
        b.value("arith.constant", [], type, [("value", .integer(v, type: type))])
    }
    func int128(_ v: Int128) -> IRValue {
        b.value("arith.constant", [], "i128", [("value", .raw("\(v) : i128"))])
    }
    func float(_ v: Double, _ type: String) -> IRValue {
        b.value("arith.constant", [], type, [("value", .float(v, type: type))])
    }
    func bool(_ v: Bool) -> IRValue { int(v ? 1 : 0, "i1") }

    func op(_ name: String, _ operands: [IRValue], _ type: String, _ attributes: [(String, IRAttribute)] = []) -> IRValue {
        b.value(name, operands, type, attributes)
    }
    func and(_ a: IRValue, _ c: IRValue) -> IRValue { op("arith.andi", [a, c], a.type) }
    func or(_ a: IRValue, _ c: IRValue) -> IRValue { op("arith.ori", [a, c], a.type) }
    /// `i1`, or `vector<N x i1>` for vector operands.
    static func booleanType(like type: String) -> String {
        guard type.hasPrefix("vector<"), let x = type.lastIndex(of: "x") else { return "i1" }
        return String(type[..<type.index(after: x)]) + "i1>"
    }
    func not(_ a: IRValue) -> IRValue { op("arith.xori", [a, bool(true)], "i1") }
    func select(_ c: IRValue, _ x: IRValue, _ y: IRValue) -> IRValue { op("arith.select", [c, x, y], x.type) }
    func cmpi(_ predicate: Int64, _ x: IRValue, _ y: IRValue) -> IRValue { op("arith.cmpi", [x, y], LowBuilder.booleanType(like: x.type), [("predicate", .integer(predicate, type: "i64"))]) }
    func cmpf(_ predicate: Int64, _ x: IRValue, _ y: IRValue) -> IRValue { op("arith.cmpf", [x, y], LowBuilder.booleanType(like: x.type), [("predicate", .integer(predicate, type: "i64"))]) }

    /// Whether floating-point `candidate` should replace `current` as the min (max), in
    /// PostgreSQL's order where NaN is greater than every number.
    func floatBetter(wantLess: Bool, _ candidate: IRValue, _ current: IRValue) -> IRValue {
        if wantLess {
            // A number beats NaN; otherwise strictly less.
            return or(cmpf(4, candidate, current), and(cmpf(14, current, current), cmpf(7, candidate, candidate)))
        }
        // NaN beats a number; otherwise strictly greater.
        return or(cmpf(2, candidate, current), and(cmpf(14, candidate, candidate), cmpf(7, current, current)))
    }

    /// A float comparison in PostgreSQL's order: NaN equals NaN and is greater than every
    /// number (IEEE comparisons say false for NaN). Works on scalars and vectors.
    func floatCompare(_ name: String, _ a: IRValue, _ b: IRValue) -> IRValue {
        let aNaN = cmpf(14, a, a), bNaN = cmpf(14, b, b)
        switch name {
        case "eq": return or(cmpf(1, a, b), and(aNaN, bNaN))
        case "ne": return not(or(cmpf(1, a, b), and(aNaN, bNaN)), like: a)
        case "lt": return or(cmpf(4, a, b), and(cmpf(7, a, a), bNaN))
        case "le": return or(cmpf(5, a, b), bNaN)
        case "gt": return or(cmpf(2, a, b), and(aNaN, cmpf(7, b, b)))
        default: return or(cmpf(3, a, b), aNaN)
        }
    }

    /// Logical NOT of an `i1` or a vector of `i1` shaped like comparisons of `operand`.
    func not(_ flags: IRValue, like operand: IRValue) -> IRValue {
        let type = LowBuilder.booleanType(like: operand.type)
        if type == "i1" { return not(flags) }
        let ones = op("arith.constant", [], type, [("value", .raw("dense<true> : \(type)"))])
        return op("arith.xori", [flags, ones], type)
    }

    /// `base + offset` (byte offset).
    func gep(_ base: IRValue, _ offset: Int) -> IRValue {
        if offset == 0 { return base }
        return b.value("llvm.getelementptr", [base], "!llvm.ptr", [("elem_type", .raw("i8")), ("rawConstantIndices", .raw("array<i32: \(offset)>"))])
    }
    /// `base + index * sizeof(elementType)`.
    func gep(_ base: IRValue, index: IRValue, elementType: String) -> IRValue {
        b.value("llvm.getelementptr", [base, index], "!llvm.ptr", [("elem_type", .raw(elementType)), ("rawConstantIndices", .raw("array<i32: -2147483648>"))])
    }
    func load(_ pointer: IRValue, _ type: String) -> IRValue { b.value("llvm.load", [pointer], type) }
    func load(_ base: IRValue, offset: Int, _ type: String) -> IRValue { load(gep(base, offset), type) }
    /// A 32-bit flag of the request context read with an atomic load (`monotonic`: another
    /// thread sets the error flag to cancel; the interpreter and both JIT tiers read it atomically).
    func atomicLoadFlag(_ base: IRValue, offset: Int) -> IRValue {
        b.value("llvm.load", [gep(base, offset)], "i32", [("alignment", .integer(4, type: "i64")), ("ordering", .integer(LowBuilder.monotonic, type: "i64"))])
    }
    /// `llvm.load`'s `ordering` for a monotonic (relaxed) atomic load.
    static let monotonic: Int64 = 2

    func store(_ value: IRValue, _ pointer: IRValue) { b.add("llvm.store", [value, pointer]) }
    func store(_ value: IRValue, _ base: IRValue, offset: Int) { store(value, gep(base, offset)) }

    @discardableResult
    func call(_ name: String, _ operands: [IRValue], _ results: [String]) -> IROperation {
        b.add("func.call", operands, results, [("callee", .raw("@" + name))])
    }

    /// Records an error (code from `QueryRuntime.inlineError`) when `failed` is set.
    func raise(_ failed: IRValue, code: Int32) {
        b.add("kiln_low.raise", [ctx, failed], [], [("code", .integer(Int64(code), type: "i32"))])
    }

    /// A value widened to memory form (booleans are bytes).
    func toMemory(_ v: IRValue, physical: PhysicalType) -> IRValue {
        physical == .bool ? op("arith.extui", [v], "i8") : v
    }
    func fromMemory(_ v: IRValue, physical: PhysicalType) -> IRValue {
        physical == .bool ? cmpi(1, v, int(0, "i8")) : v
    }

    /// Loads a SQL value of `type` stored at `pointer`.
    func loadValue(_ pointer: IRValue, _ type: SQLType) -> IRValue {
        fromMemory(load(pointer, type.physical.memoryType), physical: type.physical)
    }
    func storeValue(_ v: IRValue, _ pointer: IRValue, _ type: SQLType) {
        store(toMemory(v, physical: type.physical), pointer)
    }
    func nullByte(_ null: IRValue?) -> IRValue {
        null.map { op("arith.extui", [$0], "i8") } ?? int(0, "i8")
    }
}
