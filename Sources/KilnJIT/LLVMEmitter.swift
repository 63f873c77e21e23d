import CMLIR
import KilnIR
import KilnRuntime

/// Translates an upstream-level module (what `LowToLLVM` leaves: `func`, `scf`, `arith` and
/// `llvm` ops, scalar only) straight into LLVM IR through LLVM's C API: the fast tier's path.
/// MLIR's parser and dialect conversions cost more than half of a fast-tier compile; this
/// translation does the same job in one walk, with the same semantics as MLIR's lowering
/// (`scf` to branches and phis, `arith` to LLVM's instructions).
///
/// One difference on purpose: `i128` values (decimals, strings) are carried as two `i64`
/// halves, so LLVM's fast instruction selector (FastISel, which knows no 128-bit type on x86)
/// selects every instruction instead of falling back to SelectionDAG block after block.
/// 128-bit multiplication, division and conversion to floating point call the runtime
/// (`kiln_rt_mul128`, `kiln_rt_div128`, `kiln_rt_i128_to_f64`).
///
/// Anything else it does not know (vector ops, a new op) throws `Unsupported`, and the caller
/// compiles the module through MLIR instead.
struct LLVMEmitter {
    struct Unsupported: Error, CustomStringConvertible {
        let what: String
        var description: String { "the fast-tier emitter does not translate \(what)" }
    }

    /// A translated value: one LLVM value, an `i128` as (low, high) `i64` halves, or the
    /// fields of a struct (an overflow intrinsic's result).
    enum Lowered {
        case value(LLVMValueRef)
        case wide(LLVMValueRef, LLVMValueRef)
        case fields([Lowered])
    }

    let context: LLVMContextRef
    let module: LLVMModuleRef
    let builder: LLVMBuilderRef
    private var values: [ObjectIdentifier: Lowered] = [:]
    /// `i128` constants, for shifts by a constant amount.
    private var wideConstants: [ObjectIdentifier: Int128] = [:]
    /// A declared or defined function and its type (what a call needs).
    struct Callee {
        let function: LLVMValueRef
        let type: LLVMTypeRef
    }
    private var functions: [String: Callee] = [:]
    /// 16 bytes on the current function's stack for the 128-bit runtime helpers' results.
    private var scratch: LLVMValueRef?

    init(context: LLVMContextRef, module: LLVMModuleRef) {
        self.context = context
        self.module = module
        builder = LLVMCreateBuilderInContext(context)
    }

    func dispose() { LLVMDisposeBuilder(builder) }

    // MARK: Types

    var i1: LLVMTypeRef { LLVMInt1TypeInContext(context) }
    var i8: LLVMTypeRef { LLVMInt8TypeInContext(context) }
    var i32: LLVMTypeRef { LLVMInt32TypeInContext(context) }
    var i64: LLVMTypeRef { LLVMInt64TypeInContext(context) }
    var pointer: LLVMTypeRef { LLVMPointerTypeInContext(context, 0) }
    var double: LLVMTypeRef { LLVMDoubleTypeInContext(context) }

    /// The LLVM type of an MLIR type string (`i128` only where memory is addressed).
    func type(_ name: String) throws -> LLVMTypeRef {
        switch name {
        case "i1": return i1
        case "i8": return i8
        case "i16": return LLVMInt16TypeInContext(context)
        case "i32": return i32
        case "i64", "index": return i64
        case "i128": return LLVMInt128TypeInContext(context)
        case "f32": return LLVMFloatTypeInContext(context)
        case "f64": return double
        case "!llvm.ptr": return pointer
        default: throw Unsupported(what: "type \(name)")
        }
    }

    /// The LLVM types a value of `name` is carried in (two `i64` for an `i128`).
    func parts(of name: String) throws -> [LLVMTypeRef] {
        name == "i128" ? [i64, i64] : [try type(name)]
    }

    static func flatten(_ lowered: Lowered) -> [LLVMValueRef] {
        switch lowered {
        case .value(let v): return [v]
        case .wide(let low, let high): return [low, high]
        case .fields(let fields): return fields.flatMap(flatten)
        }
    }

    static func assemble(_ type: String, _ parts: inout ArraySlice<LLVMValueRef>) -> Lowered {
        if type == "i128" {
            let low = parts.removeFirst()
            return .wide(low, parts.removeFirst())
        }
        return .value(parts.removeFirst())
    }

    // MARK: Values

    mutating func bind(_ value: IRValue, _ lowered: Lowered) { values[ObjectIdentifier(value)] = lowered }

    func lowered(_ value: IRValue) throws -> Lowered {
        guard let lowered = values[ObjectIdentifier(value)] else { throw Unsupported(what: "a value used before its definition") }
        return lowered
    }

    func scalar(_ value: IRValue) throws -> LLVMValueRef {
        guard case .value(let v) = try lowered(value) else { throw Unsupported(what: "a \(value.type) value where a scalar is expected") }
        return v
    }

    func wide(_ value: IRValue) throws -> (LLVMValueRef, LLVMValueRef) {
        guard case .wide(let low, let high) = try lowered(value) else { throw Unsupported(what: "a \(value.type) value where i128 is expected") }
        return (low, high)
    }

    func constant(_ type: LLVMTypeRef, _ value: Int64) -> LLVMValueRef {
        LLVMConstInt(type, UInt64(bitPattern: value), 1)
    }

    // MARK: Module

    /// Translates every function of `module`.
    mutating func emit(_ source: IRModule) throws {
        declareHelpers()
        for op in source.operations where op.name == "func.func" { try declare(op) }
        for op in source.operations where op.name == "func.func" && !(op.regions.first?.blocks.isEmpty ?? true) {
            try define(op)
        }
    }

    /// `function_type = (a, b) -> r` (or `-> ()`, `-> (r, s)`).
    static func signature(_ op: IROperation) throws -> ([String], [String]) {
        guard case .raw(let text)? = op.attribute("function_type") else {
            throw Unsupported(what: "a function without a function type")
        }
        // Types here have no commas or parentheses of their own (i64, !llvm.ptr).
        let bytes = Array(text.utf8)
        guard let arrow = bytes.indices.dropFirst().first(where: { bytes[$0] == UInt8(ascii: ">") && bytes[$0 - 1] == UInt8(ascii: "-") }) else {
            throw Unsupported(what: "function type \(text)")
        }
        func list(_ part: ArraySlice<UInt8>) -> [String] {
            part.split(whereSeparator: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: ")") })
                .map { String(decoding: $0.drop { $0 == UInt8(ascii: " ") }.reversed().drop { $0 == UInt8(ascii: " ") }.reversed(), as: UTF8.self) }
                .filter { !$0.isEmpty }
        }
        return (list(bytes[..<(arrow - 1)]), list(bytes[(arrow + 1)...]))
    }

    /// The numbers of a dense array attribute (`array<i32: 16, -2147483648>`).
    static func integers(_ text: String) -> [Int64] {
        var numbers: [Int64] = []
        var current: Int64 = 0, negative = false, inNumber = false, started = false
        for byte in text.utf8 {
            if !started { started = byte == UInt8(ascii: ":"); continue }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                current = current * 10 + Int64(byte - UInt8(ascii: "0"))
                inNumber = true
            case UInt8(ascii: "-"): negative = true
            default:
                if inNumber { numbers.append(negative ? -current : current) }
                current = 0
                negative = false
                inNumber = false
            }
        }
        return numbers
    }

    mutating func declare(_ op: IROperation) throws {
        let (arguments, results) = try LLVMEmitter.signature(op)
        guard results.count <= 1, !(arguments + results).contains("i128") else {
            throw Unsupported(what: "function signature of \(op.string("sym_name") ?? "?")")
        }
        var argumentTypes: [LLVMTypeRef?] = try arguments.map(type)
        let result = try results.first.map(type) ?? LLVMVoidTypeInContext(context)
        let functionType = argumentTypes.withUnsafeMutableBufferPointer {
            LLVMFunctionType(result, $0.baseAddress, UInt32($0.count), 0)!
        }
        let symbol = op.string("sym_name") ?? ""
        let function = LLVMGetNamedFunction(module, symbol) ?? LLVMAddFunction(module, symbol, functionType)!
        functions[op.string("sym_name") ?? ""] = Callee(function: function, type: functionType)
    }

    mutating func declareHelpers() {
        func add(_ name: String, _ result: LLVMTypeRef, _ arguments: [LLVMTypeRef?]) {
            var arguments = arguments
            let type = arguments.withUnsafeMutableBufferPointer { LLVMFunctionType(result, $0.baseAddress, UInt32($0.count), 0)! }
            functions[name] = Callee(function: LLVMAddFunction(module, name, type), type: type)
        }
        add("kiln_rt_mul128", i32, [i64, i64, i64, i64, pointer])
        add("kiln_rt_div128", LLVMVoidTypeInContext(context), [i64, i64, i64, i64, pointer, i32])
        add("kiln_rt_i128_to_f64", double, [i64, i64])
    }

    mutating func define(_ op: IROperation) throws {
        guard let function = functions[op.string("sym_name") ?? ""]?.function, let body = op.regions.first?.blocks.first else { return }
        let entry = LLVMAppendBasicBlockInContext(context, function, "entry")
        LLVMPositionBuilderAtEnd(builder, entry)
        scratch = LLVMBuildAlloca(builder, LLVMArrayType2(i64, 2), "scratch")
        for (index, argument) in body.arguments.enumerated() {
            bind(argument, .value(LLVMGetParam(function, UInt32(index))))
        }
        guard let terminator = try emitBlock(body), terminator.name == "func.return" else {
            throw Unsupported(what: "a function body without func.return")
        }
        if terminator.operands.isEmpty {
            LLVMBuildRetVoid(builder)
        } else {
            LLVMBuildRet(builder, try scalar(terminator.operands[0]))
        }
        scratch = nil
    }

    // MARK: Blocks and structured control flow

    /// Emits a block's operations at the builder's position; returns its terminator
    /// (`scf.yield`, `scf.condition`, `func.return`), not emitted.
    mutating func emitBlock(_ block: IRBlock) throws -> IROperation? {
        for op in block.operations {
            switch op.name {
            case "scf.yield", "scf.condition", "func.return": return op
            default: try emit(op)
            }
        }
        return nil
    }

    var currentFunction: LLVMValueRef { LLVMGetBasicBlockParent(LLVMGetInsertBlock(builder)) }

    func appendBlock(_ name: String) -> LLVMBasicBlockRef {
        LLVMAppendBasicBlockInContext(context, currentFunction, name)
    }

    /// Phis at the builder's position for values of `types`.
    func phis(_ types: [String]) throws -> [LLVMValueRef] {
        try types.flatMap { try parts(of: $0) }.map { LLVMBuildPhi(builder, $0, "")! }
    }

    func addIncoming(_ phis: [LLVMValueRef], _ incoming: [LLVMValueRef], from block: LLVMBasicBlockRef) {
        for (phi, value) in zip(phis, incoming) {
            var v: LLVMValueRef? = value
            var b: LLVMBasicBlockRef? = block
            LLVMAddIncoming(phi, &v, &b, 1)
        }
    }

    mutating func bindAll(_ targets: [IRValue], _ flat: [LLVMValueRef]) {
        var rest = flat[...]
        for target in targets { bind(target, LLVMEmitter.assemble(target.type, &rest)) }
    }

    func flatOperands(_ operands: [IRValue]) throws -> [LLVMValueRef] {
        try operands.flatMap { LLVMEmitter.flatten(try lowered($0)) }
    }

    mutating func emitIf(_ op: IROperation) throws {
        let condition = try scalar(op.operands[0])
        let then = appendBlock("then")
        let hasElse = op.regions.count > 1 && !op.regions[1].blocks.isEmpty
        let otherwise = hasElse ? appendBlock("else") : nil
        let merge = appendBlock("endif")
        LLVMBuildCondBr(builder, condition, then, otherwise ?? merge)
        var incoming: [([LLVMValueRef], LLVMBasicBlockRef)] = []
        for (region, block) in zip(op.regions, [then, otherwise].compactMap { $0 }) {
            LLVMPositionBuilderAtEnd(builder, block)
            let terminator = try emitBlock(region.blocks[0])
            incoming.append((try flatOperands(terminator?.operands ?? []), LLVMGetInsertBlock(builder)))
            LLVMBuildBr(builder, merge)
        }
        LLVMPositionBuilderAtEnd(builder, merge)
        if !hasElse {
            guard op.results.isEmpty else { throw Unsupported(what: "scf.if with results and no else") }
            return
        }
        let merged = try phis(op.results.map(\.type))
        for (values, block) in incoming { addIncoming(merged, values, from: block) }
        bindAll(op.results, merged)
    }

    mutating func emitFor(_ op: IROperation) throws {
        let body = op.regions[0].blocks[0]
        let lower = try scalar(op.operands[0]), upper = try scalar(op.operands[1]), step = try scalar(op.operands[2])
        let initial = try flatOperands(Array(op.operands.dropFirst(3)))
        let preheader = LLVMGetInsertBlock(builder)!
        let header = appendBlock("for"), loop = appendBlock("body"), exit = appendBlock("endfor")
        LLVMBuildBr(builder, header)
        LLVMPositionBuilderAtEnd(builder, header)
        let induction = LLVMBuildPhi(builder, i64, "iv")!
        let carried = try phis(body.arguments.dropFirst().map(\.type))
        LLVMBuildCondBr(builder, LLVMBuildICmp(builder, LLVMIntSLT, induction, upper, ""), loop, exit)
        LLVMPositionBuilderAtEnd(builder, loop)
        bind(body.arguments[0], .value(induction))
        bindAll(Array(body.arguments.dropFirst()), carried)
        let terminator = try emitBlock(body)
        let next = LLVMBuildAdd(builder, induction, step, "")!
        let latch = LLVMGetInsertBlock(builder)!
        let yielded = try flatOperands(terminator?.operands ?? [])
        LLVMBuildBr(builder, header)
        addIncoming([induction] + carried, [lower] + initial, from: preheader)
        addIncoming([induction] + carried, [next] + yielded, from: latch)
        LLVMPositionBuilderAtEnd(builder, exit)
        bindAll(op.results, carried)
    }

    mutating func emitWhile(_ op: IROperation) throws {
        let before = op.regions[0].blocks[0], after = op.regions[1].blocks[0]
        let initial = try flatOperands(op.operands)
        let preheader = LLVMGetInsertBlock(builder)!
        let test = appendBlock("while"), loop = appendBlock("do"), exit = appendBlock("endwhile")
        LLVMBuildBr(builder, test)
        LLVMPositionBuilderAtEnd(builder, test)
        let carried = try phis(before.arguments.map(\.type))
        bindAll(before.arguments, carried)
        guard let condition = try emitBlock(before), condition.name == "scf.condition" else {
            throw Unsupported(what: "scf.while without scf.condition")
        }
        // The forwarded values dominate both successors (their only predecessor is this block).
        let forwarded = try flatOperands(Array(condition.operands.dropFirst()))
        LLVMBuildCondBr(builder, try scalar(condition.operands[0]), loop, exit)
        LLVMPositionBuilderAtEnd(builder, loop)
        bindAll(after.arguments, forwarded)
        let terminator = try emitBlock(after)
        let yielded = try flatOperands(terminator?.operands ?? [])
        let latch = LLVMGetInsertBlock(builder)!
        LLVMBuildBr(builder, test)
        addIncoming(carried, initial, from: preheader)
        addIncoming(carried, yielded, from: latch)
        LLVMPositionBuilderAtEnd(builder, exit)
        bindAll(op.results, forwarded)
    }

    // MARK: Operations

    mutating func emit(_ op: IROperation) throws {
        switch op.name {
        case "scf.if": try emitIf(op)
        case "scf.for": try emitFor(op)
        case "scf.while": try emitWhile(op)
        case "func.call": try emitCall(op)
        case "arith.constant": try emitConstant(op)
        case let name where name.hasPrefix("llvm."): try emitLLVM(op)
        case let name where name.hasPrefix("arith."):
            if op.operands.contains(where: { $0.type == "i128" }) || op.results.contains(where: { $0.type == "i128" }) {
                try emitWideArith(op)
            } else {
                try emitArith(op)
            }
        default: throw Unsupported(what: op.name)
        }
    }

    mutating func emitCall(_ op: IROperation) throws {
        guard case .raw(let name)? = op.attribute("callee"), let callee = functions[String(name.dropFirst())] else {
            throw Unsupported(what: "a call to an undeclared function")
        }
        var arguments: [LLVMValueRef?] = try op.operands.map(scalar)
        let call = arguments.withUnsafeMutableBufferPointer {
            LLVMBuildCall2(builder, callee.type, callee.function, $0.baseAddress, UInt32($0.count), "")!
        }
        if let result = op.results.first { bind(result, .value(call)) }
    }

    mutating func emitConstant(_ op: IROperation) throws {
        let result = op.result
        switch (op.attribute("value"), result.type) {
        case (.integer(let v, _)?, "i128"):
            bindWideConstant(result, Int128(v))
        case (.raw(let text)?, "i128"):
            guard let v = Int128(text.split(separator: " ").first ?? "") else { throw Unsupported(what: "constant \(text)") }
            bindWideConstant(result, v)
        case (.integer(let v, _)?, _):
            bind(result, .value(constant(try type(result.type), v)))
        case (.float(let v, _)?, _):
            bind(result, .value(LLVMConstReal(try type(result.type), v)))
        default:
            throw Unsupported(what: "constant of type \(result.type)")
        }
    }

    mutating func bindWideConstant(_ result: IRValue, _ v: Int128) {
        wideConstants[ObjectIdentifier(result)] = v
        bind(result, .wide(LLVMConstInt(i64, UInt64(truncatingIfNeeded: v), 0), LLVMConstInt(i64, UInt64(truncatingIfNeeded: v >> 64), 0)))
    }

    nonisolated(unsafe) static let integerBinary: [String: (LLVMBuilderRef?, LLVMValueRef?, LLVMValueRef?, UnsafePointer<CChar>?) -> LLVMValueRef?] = [
        "arith.addi": LLVMBuildAdd, "arith.subi": LLVMBuildSub, "arith.muli": LLVMBuildMul,
        "arith.andi": LLVMBuildAnd, "arith.ori": LLVMBuildOr, "arith.xori": LLVMBuildXor,
        "arith.shli": LLVMBuildShl, "arith.shrui": LLVMBuildLShr, "arith.shrsi": LLVMBuildAShr,
        "arith.divsi": LLVMBuildSDiv, "arith.remsi": LLVMBuildSRem, "arith.divui": LLVMBuildUDiv, "arith.remui": LLVMBuildURem,
        "arith.addf": LLVMBuildFAdd, "arith.subf": LLVMBuildFSub, "arith.mulf": LLVMBuildFMul,
        "arith.divf": LLVMBuildFDiv, "arith.remf": LLVMBuildFRem,
    ]

    /// `arith.cmpf`'s predicates (false, oeq, ogt, oge, olt, ole, one, ord, ueq, ugt, uge, ult,
    /// ule, une, uno, true) in LLVM's numbering.
    static let floatPredicates: [LLVMRealPredicate] = [
        LLVMRealPredicateFalse, LLVMRealOEQ, LLVMRealOGT, LLVMRealOGE, LLVMRealOLT, LLVMRealOLE, LLVMRealONE, LLVMRealORD,
        LLVMRealUEQ, LLVMRealUGT, LLVMRealUGE, LLVMRealULT, LLVMRealULE, LLVMRealUNE, LLVMRealUNO, LLVMRealPredicateTrue,
    ]

    /// `arith.cmpi` and `llvm.icmp` share one numbering: eq, ne, slt, sle, sgt, sge, ult, ule, ugt, uge.
    static let integerPredicates: [LLVMIntPredicate] = [
        LLVMIntEQ, LLVMIntNE, LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE, LLVMIntULT, LLVMIntULE, LLVMIntUGT, LLVMIntUGE,
    ]

    func integerPredicate(_ op: IROperation) throws -> LLVMIntPredicate {
        guard let p = op.integer("predicate"), LLVMEmitter.integerPredicates.indices.contains(p) else { throw Unsupported(what: "\(op.name) predicate") }
        return LLVMEmitter.integerPredicates[p]
    }

    mutating func emitArith(_ op: IROperation) throws {
        let result = op.results.first
        let value: LLVMValueRef
        if let build = LLVMEmitter.integerBinary[op.name] {
            value = build(builder, try scalar(op.operands[0]), try scalar(op.operands[1]), "")!
        } else {
            switch op.name {
            case "arith.cmpi":
                value = integerCompare(try integerPredicate(op), try scalar(op.operands[0]), try scalar(op.operands[1]), type: op.operands[0].type)
            case "arith.cmpf":
                guard let p = op.integer("predicate"), LLVMEmitter.floatPredicates.indices.contains(p) else { throw Unsupported(what: "cmpf predicate") }
                value = LLVMBuildFCmp(builder, LLVMEmitter.floatPredicates[p], try scalar(op.operands[0]), try scalar(op.operands[1]), "")
            case "arith.select":
                value = select(try scalar(op.operands[0]), try scalar(op.operands[1]), try scalar(op.operands[2]), type: op.result.type)
            case "arith.negf":
                value = LLVMBuildFNeg(builder, try scalar(op.operands[0]), "")
            default:
                value = try emitCast(op)
            }
        }
        guard let result else { throw Unsupported(what: "\(op.name) without a result") }
        bind(result, .value(value))
    }

    /// FastISel selects neither comparisons nor selects of `i1` values: those become bit logic
    /// (comparisons other than equality widen to bytes first).
    func integerCompare(_ predicate: LLVMIntPredicate, _ x: LLVMValueRef, _ y: LLVMValueRef, type: String) -> LLVMValueRef {
        guard type == "i1" else { return LLVMBuildICmp(builder, predicate, x, y, "") }
        switch predicate {
        case LLVMIntEQ: return LLVMBuildXor(builder, LLVMBuildXor(builder, x, y, ""), LLVMConstInt(i1, 1, 0), "")
        case LLVMIntNE: return LLVMBuildXor(builder, x, y, "")
        case LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE:
            return LLVMBuildICmp(builder, predicate, LLVMBuildSExt(builder, x, i8, ""), LLVMBuildSExt(builder, y, i8, ""), "")
        default:
            return LLVMBuildICmp(builder, predicate, LLVMBuildZExt(builder, x, i8, ""), LLVMBuildZExt(builder, y, i8, ""), "")
        }
    }

    func select(_ condition: LLVMValueRef, _ x: LLVMValueRef, _ y: LLVMValueRef, type: String) -> LLVMValueRef {
        guard type == "i1" else { return LLVMBuildSelect(builder, condition, x, y, "") }
        let b = builder
        let otherwise = LLVMBuildAnd(b, LLVMBuildXor(b, condition, LLVMConstInt(i1, 1, 0), ""), y, "")
        return LLVMBuildOr(b, LLVMBuildAnd(b, condition, x, ""), otherwise, "")
    }

    func width(_ type: String) -> Int { type == "index" ? 64 : Int(type.dropFirst()) ?? 0 }

    func emitCast(_ op: IROperation) throws -> LLVMValueRef {
        let source = try scalar(op.operands[0])
        let from = op.operands[0].type, to = op.result.type
        let target = try type(to)
        switch op.name {
        case "arith.extui": return LLVMBuildZExt(builder, source, target, "")
        case "arith.extsi": return LLVMBuildSExt(builder, source, target, "")
        case "arith.trunci": return LLVMBuildTrunc(builder, source, target, "")
        case "arith.index_cast", "arith.index_castui":
            let (a, b) = (width(from), width(to))
            if a == b { return source }
            if a > b { return LLVMBuildTrunc(builder, source, target, "") }
            return op.name == "arith.index_cast" ? LLVMBuildSExt(builder, source, target, "") : LLVMBuildZExt(builder, source, target, "")
        case "arith.sitofp": return LLVMBuildSIToFP(builder, source, target, "")
        case "arith.uitofp": return LLVMBuildUIToFP(builder, source, target, "")
        case "arith.fptosi": return LLVMBuildFPToSI(builder, source, target, "")
        case "arith.extf": return LLVMBuildFPExt(builder, source, target, "")
        case "arith.truncf": return LLVMBuildFPTrunc(builder, source, target, "")
        case "arith.bitcast": return LLVMBuildBitCast(builder, source, target, "")
        default: throw Unsupported(what: op.name)
        }
    }

    // MARK: 128-bit integers as two halves

    mutating func emitWideArith(_ op: IROperation) throws {
        let b = builder
        switch op.name {
        case "arith.addi", "arith.subi":
            let (sum, _) = try addOrSubtract(op.name == "arith.addi", op.operands[0], op.operands[1])
            bind(op.result, sum)
        case "arith.muli":
            bind(op.result, try multiply(op.operands[0], op.operands[1]).0)
        case "arith.divsi", "arith.remsi":
            let (a, c) = (try wide(op.operands[0]), try wide(op.operands[1]))
            let helper = functions["kiln_rt_div128"]!
            var arguments: [LLVMValueRef?] = [a.0, a.1, c.0, c.1, scratch, constant(i32, op.name == "arith.remsi" ? 1 : 0)]
            _ = arguments.withUnsafeMutableBufferPointer { LLVMBuildCall2(b, helper.type, helper.function, $0.baseAddress, UInt32($0.count), "") }
            bind(op.result, loadWide(scratch!))
        case "arith.andi", "arith.ori", "arith.xori":
            let build = LLVMEmitter.integerBinary[op.name]!
            let (a, c) = (try wide(op.operands[0]), try wide(op.operands[1]))
            bind(op.result, .wide(build(b, a.0, c.0, "")!, build(b, a.1, c.1, "")!))
        case "arith.shrui", "arith.shrsi", "arith.shli":
            guard let amount = wideConstants[ObjectIdentifier(op.operands[1])], (0..<128).contains(amount) else {
                throw Unsupported(what: "an i128 shift by a variable amount")
            }
            bind(op.result, shift(op.name, try wide(op.operands[0]), Int(amount)))
        case "arith.cmpi":
            bind(op.result, .value(try compare(integerPredicate(op), try wide(op.operands[0]), try wide(op.operands[1]))))
        case "arith.select":
            let (x, y) = (try wide(op.operands[1]), try wide(op.operands[2]))
            let condition = try scalar(op.operands[0])
            bind(op.result, .wide(LLVMBuildSelect(b, condition, x.0, y.0, ""), LLVMBuildSelect(b, condition, x.1, y.1, "")))
        case "arith.trunci":
            let (low, _) = try wide(op.operands[0])
            bind(op.result, .value(op.result.type == "i64" ? low : LLVMBuildTrunc(b, low, try type(op.result.type), "")))
        case "arith.extsi", "arith.extui":
            let source = try scalar(op.operands[0])
            let signed = op.name == "arith.extsi"
            let low = op.operands[0].type == "i64" ? source : signed ? LLVMBuildSExt(b, source, i64, "")! : LLVMBuildZExt(b, source, i64, "")!
            bind(op.result, .wide(low, signed ? LLVMBuildAShr(b, low, constant(i64, 63), "")! : constant(i64, 0)))
        case "arith.sitofp":
            let (low, high) = try wide(op.operands[0])
            let helper = functions["kiln_rt_i128_to_f64"]!
            var arguments: [LLVMValueRef?] = [low, high]
            var value = arguments.withUnsafeMutableBufferPointer { LLVMBuildCall2(b, helper.type, helper.function, $0.baseAddress, UInt32($0.count), "")! }
            if op.result.type == "f32" { value = LLVMBuildFPTrunc(b, value, try type("f32"), "") }
            bind(op.result, .value(value))
        default:
            throw Unsupported(what: "\(op.name) on i128")
        }
    }

    /// a ± c with the signed-overflow flag.
    func addOrSubtract(_ add: Bool, _ x: IRValue, _ y: IRValue) throws -> (Lowered, LLVMValueRef) {
        let b = builder
        let (a, c) = (try wide(x), try wide(y))
        let low: LLVMValueRef, high: LLVMValueRef, overflow: LLVMValueRef
        if add {
            low = LLVMBuildAdd(b, a.0, c.0, "")
            let carry = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntULT, low, a.0, ""), i64, "")
            high = LLVMBuildAdd(b, LLVMBuildAdd(b, a.1, c.1, ""), carry, "")
            // Both operands of one sign and a result of the other.
            overflow = LLVMBuildAnd(b, LLVMBuildXor(b, a.1, high, ""), LLVMBuildXor(b, c.1, high, ""), "")
        } else {
            low = LLVMBuildSub(b, a.0, c.0, "")
            let borrow = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntULT, a.0, c.0, ""), i64, "")
            high = LLVMBuildSub(b, LLVMBuildSub(b, a.1, c.1, ""), borrow, "")
            // Operands of different signs and a result of the subtrahend's sign.
            overflow = LLVMBuildAnd(b, LLVMBuildXor(b, a.1, c.1, ""), LLVMBuildXor(b, a.1, high, ""), "")
        }
        return (.wide(low, high), LLVMBuildICmp(b, LLVMIntSLT, overflow, constant(i64, 0), ""))
    }

    /// A checked 128-bit multiply: factors that fit in 64 bits (decimals of up to 18 digits,
    /// nearly always) take one 64 x 64 -> 128-bit multiply, which cannot overflow; others call
    /// `kiln_rt_mul128`.
    func multiply(_ x: IRValue, _ y: IRValue) throws -> (Lowered, LLVMValueRef) {
        let (a, c) = (try wide(x), try wide(y))
        let b = builder
        let i128 = LLVMInt128TypeInContext(context)!
        /// A 128-bit product as its (low, high) halves.
        func halves(_ product: LLVMValueRef) -> (LLVMValueRef, LLVMValueRef) {
            (LLVMBuildTrunc(b, product, i64, "")!, LLVMBuildTrunc(b, LLVMBuildLShr(b, product, LLVMConstInt(i128, 64, 0), ""), i64, "")!)
        }
        func zero(_ v: LLVMValueRef) -> Bool { LLVMIsAConstantInt(v) != nil && LLVMConstIntGetZExtValue(v) == 0 }
        if zero(a.1) && zero(c.1) {
            // Two zero-extended 64-bit factors (`Hashing.fold`): one unsigned multiply, which
            // cannot overflow 128 bits.
            let (low, high) = halves(LLVMBuildMul(b, LLVMBuildZExt(b, a.0, i128, ""), LLVMBuildZExt(b, c.0, i128, ""), "")!)
            return (.wide(low, high), LLVMConstInt(i1, 0, 0)!)
        }
        func fits(_ v: (LLVMValueRef, LLVMValueRef)) -> LLVMValueRef {
            LLVMBuildICmp(b, LLVMIntEQ, v.1, LLVMBuildAShr(b, v.0, constant(i64, 63), ""), "")!
        }
        let narrow = appendBlock("narrow_mul"), call = appendBlock("wide_mul"), merge = appendBlock("mul_done")
        LLVMBuildCondBr(b, LLVMBuildAnd(b, fits(a), fits(c), ""), narrow, call)
        LLVMPositionBuilderAtEnd(b, narrow)
        let (narrowLow, narrowHigh) = halves(LLVMBuildMul(b, LLVMBuildSExt(b, a.0, i128, ""), LLVMBuildSExt(b, c.0, i128, ""), "")!)
        let narrowParts = [narrowLow, narrowHigh, LLVMConstInt(i1, 0, 0)!]
        LLVMBuildBr(b, merge)
        LLVMPositionBuilderAtEnd(b, call)
        let helper = functions["kiln_rt_mul128"]!
        var arguments: [LLVMValueRef?] = [a.0, a.1, c.0, c.1, scratch]
        let overflow = arguments.withUnsafeMutableBufferPointer { LLVMBuildCall2(b, helper.type, helper.function, $0.baseAddress, UInt32($0.count), "")! }
        guard case .wide(let low, let high) = loadWide(scratch!) else { throw Unsupported(what: "a 128-bit product") }
        let wideParts = [low, high, LLVMBuildICmp(b, LLVMIntNE, overflow, constant(i32, 0), "")!]
        let callEnd = LLVMGetInsertBlock(b)!
        LLVMBuildBr(b, merge)
        LLVMPositionBuilderAtEnd(b, merge)
        let results = [i64, i64, i1].map { LLVMBuildPhi(b, $0, "")! }
        addIncoming(results, narrowParts, from: narrow)
        addIncoming(results, wideParts, from: callEnd)
        return (.wide(results[0], results[1]), results[2])
    }

    func loadWide(_ address: LLVMValueRef) -> Lowered {
        let b = builder
        let low = LLVMBuildLoad2(b, i64, address, "")!
        var offset: LLVMValueRef? = constant(i64, 8)
        let highAddress = LLVMBuildGEP2(b, i8, address, &offset, 1, "")
        let high = LLVMBuildLoad2(b, i64, highAddress, "")!
        LLVMSetAlignment(low, 8)
        LLVMSetAlignment(high, 8)
        return .wide(low, high)
    }

    func storeWide(_ value: (LLVMValueRef, LLVMValueRef), _ address: LLVMValueRef) {
        let b = builder
        LLVMSetAlignment(LLVMBuildStore(b, value.0, address), 8)
        var offset: LLVMValueRef? = constant(i64, 8)
        let highAddress = LLVMBuildGEP2(b, i8, address, &offset, 1, "")
        LLVMSetAlignment(LLVMBuildStore(b, value.1, highAddress), 8)
    }

    func shift(_ name: String, _ v: (LLVMValueRef, LLVMValueRef), _ amount: Int) -> Lowered {
        let b = builder
        let (low, high) = v
        if amount == 0 { return .wide(low, high) }
        let fill = name == "arith.shrsi" ? LLVMBuildAShr(b, high, constant(i64, 63), "")! : constant(i64, 0)
        switch name {
        case "arith.shli":
            if amount >= 64 { return .wide(constant(i64, 0), amount == 64 ? low : LLVMBuildShl(b, low, constant(i64, Int64(amount - 64)), "")) }
            let newHigh = LLVMBuildOr(b, LLVMBuildShl(b, high, constant(i64, Int64(amount)), ""), LLVMBuildLShr(b, low, constant(i64, Int64(64 - amount)), ""), "")!
            return .wide(LLVMBuildShl(b, low, constant(i64, Int64(amount)), ""), newHigh)
        default:
            let arithmetic = name == "arith.shrsi"
            func shiftHigh(_ by: Int) -> LLVMValueRef {
                arithmetic ? LLVMBuildAShr(b, high, constant(i64, Int64(by)), "") : LLVMBuildLShr(b, high, constant(i64, Int64(by)), "")
            }
            if amount >= 64 { return .wide(amount == 64 ? high : shiftHigh(amount - 64), fill) }
            let newLow = LLVMBuildOr(b, LLVMBuildLShr(b, low, constant(i64, Int64(amount)), ""), LLVMBuildShl(b, high, constant(i64, Int64(64 - amount)), ""), "")!
            return .wide(newLow, shiftHigh(amount))
        }
    }

    func compare(_ predicate: LLVMIntPredicate, _ a: (LLVMValueRef, LLVMValueRef), _ c: (LLVMValueRef, LLVMValueRef)) -> LLVMValueRef {
        let b = builder
        switch predicate {
        case LLVMIntEQ, LLVMIntNE:
            let same = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, a.0, c.0, ""), LLVMBuildICmp(b, LLVMIntEQ, a.1, c.1, ""), "")!
            return predicate == LLVMIntEQ ? same : LLVMBuildXor(b, same, LLVMConstInt(i1, 1, 0), "")
        default:
            // The high halves decide (signed or not as asked); equal high halves leave it to
            // the low halves, unsigned.
            let (strict, lowPredicate): (LLVMIntPredicate, LLVMIntPredicate)
            switch predicate {
            case LLVMIntSLT: (strict, lowPredicate) = (LLVMIntSLT, LLVMIntULT)
            case LLVMIntSLE: (strict, lowPredicate) = (LLVMIntSLT, LLVMIntULE)
            case LLVMIntSGT: (strict, lowPredicate) = (LLVMIntSGT, LLVMIntUGT)
            case LLVMIntSGE: (strict, lowPredicate) = (LLVMIntSGT, LLVMIntUGE)
            case LLVMIntULT: (strict, lowPredicate) = (LLVMIntULT, LLVMIntULT)
            case LLVMIntULE: (strict, lowPredicate) = (LLVMIntULT, LLVMIntULE)
            case LLVMIntUGT: (strict, lowPredicate) = (LLVMIntUGT, LLVMIntUGT)
            default: (strict, lowPredicate) = (LLVMIntUGT, LLVMIntUGE)
            }
            let decided = LLVMBuildICmp(b, strict, a.1, c.1, "")
            let tied = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, a.1, c.1, ""), LLVMBuildICmp(b, lowPredicate, a.0, c.0, ""), "")
            return LLVMBuildOr(b, decided, tied, "")
        }
    }

    // MARK: LLVM-dialect ops

    mutating func emitLLVM(_ op: IROperation) throws {
        let b = builder
        switch op.name {
        case "llvm.load":
            let address = try scalar(op.operands[0])
            if op.result.type == "i128" { bind(op.result, loadWide(address)); return }
            let load = LLVMBuildLoad2(b, try type(op.result.type), address, "")!
            if let ordering = op.integer("ordering") {
                guard ordering == 2 else { throw Unsupported(what: "llvm.load with ordering \(ordering)") }
                LLVMSetOrdering(load, LLVMAtomicOrderingMonotonic)
                LLVMSetAlignment(load, UInt32(op.integer("alignment") ?? 4))
            }
            bind(op.result, .value(load))
        case "llvm.store":
            let address = try scalar(op.operands[1])
            if op.operands[0].type == "i128" { storeWide(try wide(op.operands[0]), address); return }
            LLVMBuildStore(b, try scalar(op.operands[0]), address)
        case "llvm.getelementptr":
            guard case .raw(let element)? = op.attribute("elem_type"), case .raw(let rawIndices)? = op.attribute("rawConstantIndices") else {
                throw Unsupported(what: "llvm.getelementptr without its attributes")
            }
            let numbers = LLVMEmitter.integers(rawIndices)
            var dynamic = op.operands.dropFirst().makeIterator()
            var indices: [LLVMValueRef?] = []
            for n in numbers {
                if n == Int64(Int32.min) {
                    guard let next = dynamic.next() else { throw Unsupported(what: "llvm.getelementptr index") }
                    indices.append(try scalar(next))
                } else {
                    indices.append(constant(i32, n))
                }
            }
            let base = try scalar(op.operands[0])
            let elementType = try type(element)
            let address = indices.withUnsafeMutableBufferPointer { LLVMBuildGEP2(b, elementType, base, $0.baseAddress, UInt32($0.count), "")! }
            bind(op.result, .value(address))
        case "llvm.mlir.zero":
            bind(op.result, .value(LLVMConstNull(try type(op.result.type))))
        case "llvm.icmp":
            let (x, y) = (op.operands[0], op.operands[1])
            if x.type == "i128" {
                bind(op.result, .value(compare(try integerPredicate(op), try wide(x), try wide(y))))
            } else {
                bind(op.result, .value(integerCompare(try integerPredicate(op), try scalar(x), try scalar(y), type: x.type)))
            }
        case "llvm.extractvalue":
            guard case .raw(let position)? = op.attribute("position"),
                  let index = LLVMEmitter.integers(position).first.map(Int.init) else {
                throw Unsupported(what: "llvm.extractvalue position")
            }
            switch try lowered(op.operands[0]) {
            case .fields(let fields) where fields.indices.contains(index): bind(op.result, fields[index])
            case .value(let aggregate): bind(op.result, .value(LLVMBuildExtractValue(b, aggregate, UInt32(index), "")))
            default: throw Unsupported(what: "llvm.extractvalue of this value")
            }
        case "llvm.intr.sadd.with.overflow", "llvm.intr.ssub.with.overflow", "llvm.intr.smul.with.overflow":
            try emitOverflow(op)
        default:
            throw Unsupported(what: op.name)
        }
    }

    mutating func emitOverflow(_ op: IROperation) throws {
        let kind = op.name.dropFirst("llvm.intr.s".count).prefix(3)
        let (x, y) = (op.operands[0], op.operands[1])
        if x.type == "i128" {
            let (value, overflow) = kind == "mul" ? try multiply(x, y) : try addOrSubtract(kind == "add", x, y)
            bind(op.result, .fields([value, .value(overflow)]))
            return
        }
        let name = "llvm.s\(kind).with.overflow"
        let id = LLVMLookupIntrinsicID(name, name.utf8.count)
        var overloads: [LLVMTypeRef?] = [try type(x.type)]
        let declaration = overloads.withUnsafeMutableBufferPointer { LLVMGetIntrinsicDeclaration(module, id, $0.baseAddress, 1)! }
        let functionType = overloads.withUnsafeMutableBufferPointer { LLVMIntrinsicGetType(context, id, $0.baseAddress, 1)! }
        var arguments: [LLVMValueRef?] = [try scalar(x), try scalar(y)]
        let call = arguments.withUnsafeMutableBufferPointer { LLVMBuildCall2(builder, functionType, declaration, $0.baseAddress, 2, "")! }
        bind(op.result, .value(call))
    }
}
