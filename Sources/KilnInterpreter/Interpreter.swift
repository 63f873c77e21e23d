import KilnCore
import KilnIR
import KilnRuntime
import KilnStorage

/// Runs low-level IR — the same program the JIT compiles — over the same runtime state.
///
/// Each operation is translated once into a type-specialised Swift closure over a register file
/// of 64-bit slots; structured control flow (`scf.for`, `scf.while`, `scf.if`) becomes loops in
/// the closures. Runtime calls go to the same functions compiled code calls, so hash tables,
/// sort buffers and results are shared bit for bit with native code.
public final class InterpretedQuery {
    typealias Instruction = (UnsafeMutablePointer<UInt64>) -> Void

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    final class Function {
        var body: [Instruction] = []
        var slotCount = 0
        var contextSlot = 0
    }

    let functions: [Function]

    /// Translates the `pipeline_N` functions of a low-level module.
    public init(_ module: IRModule, pipelineCount: Int) throws {
        var functions: [Function] = []
        for index in 1...max(1, pipelineCount) where index <= pipelineCount {
            guard let function = module.functions.first(where: { $0.0 == "pipeline_\(index)" })?.1,
                  let entry = function.regions.first?.blocks.first else {
                throw Failure(description: "module has no function pipeline_\(index)")
            }
            var translator = Translator()
            let compiled = Function()
            compiled.contextSlot = translator.slot(entry.arguments[0])
            compiled.body = try translator.block(entry)
            compiled.slotCount = translator.nextSlot
            functions.append(compiled)
        }
        self.functions = functions
    }

    /// Runs pipeline `index` (0-based) with the request context.
    public func run(pipeline index: Int, context: UnsafeMutableRawPointer) {
        let function = functions[index]
        let registers = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, function.slotCount))
        registers.initialize(repeating: 0, count: max(1, function.slotCount))
        defer { registers.deallocate() }
        registers[function.contextSlot] = UInt64(UInt(bitPattern: context))
        for instruction in function.body { instruction(registers) }
    }

    public var pipelineCount: Int { functions.count }
}

/// Assigns register slots and translates operations to closures.
struct Translator {
    typealias Instruction = InterpretedQuery.Instruction
    var slots: [ObjectIdentifier: Int] = [:]
    var nextSlot = 0

    mutating func slot(_ value: IRValue) -> Int {
        if let s = slots[ObjectIdentifier(value)] { return s }
        let s = nextSlot
        nextSlot += RegisterType(value.type).slots
        slots[ObjectIdentifier(value)] = s
        return s
    }

    /// Translates a block. `yieldTo` are the slots that a terminating `scf.yield` writes
    /// (the results of the enclosing `scf.if`, or the next iteration's `scf.while` arguments).
    mutating func block(_ block: IRBlock, yieldTo: [IRValue] = []) throws -> [Instruction] {
        var instructions: [Instruction] = []
        for op in block.operations {
            if op.name == "scf.yield" {
                if !op.operands.isEmpty { instructions.append(contentsOf: copies(from: op.operands, to: yieldTo)) }
                continue
            }
            if let instruction = try operation(op) { instructions.append(instruction) }
        }
        return instructions
    }

    /// Copies values slot by slot (an i128 is two slots), through temporaries so that
    /// overlapping sources and destinations (loop-carried values) stay correct.
    mutating func copies(from sources: [IRValue], to destinations: [IRValue]) -> [Instruction] {
        var pairs: [(Int, Int)] = []
        for (source, destination) in zip(sources, destinations) {
            let s = slot(source), d = slot(destination)
            for k in 0..<RegisterType(source.type).slots { pairs.append((s + k, d + k)) }
        }
        let moves = pairs
        return [{ r in
            if moves.count == 1 { r[moves[0].1] = r[moves[0].0]; return }
            var temporary = [UInt64](repeating: 0, count: moves.count)
            for (index, move) in moves.enumerated() { temporary[index] = r[move.0] }
            for (index, move) in moves.enumerated() { r[move.1] = temporary[index] }
        }]
    }

    static func run(_ instructions: [Instruction], _ r: UnsafeMutablePointer<UInt64>) {
        for instruction in instructions { instruction(r) }
    }

    mutating func operation(_ op: IROperation) throws -> Instruction? {
        let operands = op.operands.map { slot($0) }
        let results = op.results.map { slot($0) }
        let type = op.results.first.map { RegisterType($0.type) } ?? .int(bits: 64)
        let operandType = op.operands.first.map { RegisterType($0.type) } ?? .int(bits: 64)
        switch op.name {
        case "arith.constant":
            let d = results[0]
            switch op.attribute("value") {
            case .integer(let v, _)?:
                let bits = UInt64(bitPattern: v) & type.mask
                return { r in r[d] = bits }
            case .float(let v, let t)?:
                let bits = t == "f32" ? UInt64(Float(v).bitPattern) : v.bitPattern
                return { r in r[d] = bits }
            case .raw(let text)?:
                guard let number = Int128(String(text.split(separator: ":")[0]).trimmingCharacters()) else {
                    throw InterpretedQuery.Failure(description: "bad constant \(text)")
                }
                return { r in Reg.setWide(r, d, number) }
            default:
                throw InterpretedQuery.Failure(description: "unsupported constant")
            }
        case "arith.addi", "arith.subi", "arith.muli", "arith.andi", "arith.ori", "arith.xori":
            let (a, b, d) = (operands[0], operands[1], results[0])
            if type.bits == 128 {
                switch op.name {
                case "arith.addi": return { r in Reg.setWide(r, d, Reg.wide(r, a) &+ Reg.wide(r, b)) }
                case "arith.subi": return { r in Reg.setWide(r, d, Reg.wide(r, a) &- Reg.wide(r, b)) }
                case "arith.muli": return { r in Reg.setWide(r, d, Reg.wide(r, a) &* Reg.wide(r, b)) }
                case "arith.andi": return { r in Reg.setWide(r, d, Reg.wide(r, a) & Reg.wide(r, b)) }
                case "arith.ori": return { r in Reg.setWide(r, d, Reg.wide(r, a) | Reg.wide(r, b)) }
                default: return { r in Reg.setWide(r, d, Reg.wide(r, a) ^ Reg.wide(r, b)) }
                }
            }
            let mask = type.mask
            switch op.name {
            case "arith.addi": return { r in r[d] = (r[a] &+ r[b]) & mask }
            case "arith.subi": return { r in r[d] = (r[a] &- r[b]) & mask }
            case "arith.muli": return { r in r[d] = (r[a] &* r[b]) & mask }
            case "arith.andi": return { r in r[d] = r[a] & r[b] }
            case "arith.ori": return { r in r[d] = r[a] | r[b] }
            default: return { r in r[d] = (r[a] ^ r[b]) & mask }
            }
        case "arith.divsi", "arith.remsi":
            let (a, b, d, bits, mask) = (operands[0], operands[1], results[0], type.bits, type.mask)
            let isDivision = op.name == "arith.divsi"
            return { r in
                let x = Reg.signed(r, a, bits: bits), y = Reg.signed(r, b, bits: bits)
                // The lowering guarantees y != 0 and no MIN / -1 (it substitutes a safe divisor).
                let q = y == 0 ? 0 : (isDivision ? x.dividedReportingOverflow(by: y).partialValue : x.remainderReportingOverflow(dividingBy: y).partialValue)
                r[d] = UInt64(bitPattern: q) & mask
            }
        case "arith.shrui":
            let (a, b, d) = (operands[0], operands[1], results[0])
            if type.bits == 128 { return { r in Reg.setWide(r, d, Int128(bitPattern: UInt128(bitPattern: Reg.wide(r, a)) >> UInt128(r[b]))) } }
            return { r in r[d] = r[b] >= 64 ? 0 : r[a] >> r[b] }
        case "arith.cmpi":
            let (a, b, d) = (operands[0], operands[1], results[0])
            let predicate = Int64(op.integer("predicate") ?? 0)
            let bits = operandType.bits
            if bits == 128 {
                return { r in
                    let x = Reg.wide(r, a), y = Reg.wide(r, b)
                    r[d] = Translator.compare(predicate, x, y, UInt128(bitPattern: x), UInt128(bitPattern: y)) ? 1 : 0
                }
            }
            return { r in
                let x = Reg.signed(r, a, bits: bits), y = Reg.signed(r, b, bits: bits)
                r[d] = Translator.compare(predicate, x, y, r[a], r[b]) ? 1 : 0
            }
        case "arith.cmpf":
            let (a, b, d) = (operands[0], operands[1], results[0])
            let predicate = Int64(op.integer("predicate") ?? 0)
            let isDouble = operandType == .f64
            return { r in
                let x = isDouble ? Reg.double(r, a) : Double(Reg.float(r, a))
                let y = isDouble ? Reg.double(r, b) : Double(Reg.float(r, b))
                r[d] = Translator.compareFloat(predicate, x, y) ? 1 : 0
            }
        case "arith.select":
            let (c, a, b, d) = (operands[0], operands[1], operands[2], results[0])
            if type.bits == 128 { return { r in Reg.setWide(r, d, r[c] & 1 != 0 ? Reg.wide(r, a) : Reg.wide(r, b)) } }
            return { r in r[d] = r[c] & 1 != 0 ? r[a] : r[b] }
        case "arith.extsi":
            let (a, d, from) = (operands[0], results[0], operandType.bits)
            if type.bits == 128 { return { r in Reg.setWide(r, d, Int128(Reg.signed(r, a, bits: from))) } }
            let mask = type.mask
            return { r in r[d] = UInt64(bitPattern: Reg.signed(r, a, bits: from)) & mask }
        case "arith.extui":
            let (a, d) = (operands[0], results[0])
            if type.bits == 128 { return { r in Reg.setWide(r, d, Int128(r[a])) } }
            return { r in r[d] = r[a] }
        case "arith.trunci":
            let (a, d, mask) = (operands[0], results[0], type.mask)
            return { r in r[d] = r[a] & mask }  // the low slot of an i128 holds its low 64 bits
        case "arith.index_cast":
            let (a, d) = (operands[0], results[0])
            return { r in r[d] = r[a] }
        case "arith.sitofp":
            let (a, d, from) = (operands[0], results[0], operandType.bits)
            if type == .f32 { return { r in r[d] = UInt64(Float(Reg.signed(r, a, bits: from)).bitPattern) } }
            return { r in r[d] = Double(Reg.signed(r, a, bits: from)).bitPattern }
        case "arith.extf":
            let (a, d) = (operands[0], results[0])
            return { r in r[d] = Double(Reg.float(r, a)).bitPattern }
        case "arith.bitcast":
            let (a, d) = (operands[0], results[0])
            return { r in r[d] = r[a] }
        case "arith.addf", "arith.subf", "arith.mulf", "arith.divf":
            let (a, b, d) = (operands[0], operands[1], results[0])
            let kind = op.name
            if type == .f32 {
                return { r in
                    let x = Reg.float(r, a), y = Reg.float(r, b)
                    let z: Float = kind == "arith.addf" ? x + y : kind == "arith.subf" ? x - y : kind == "arith.mulf" ? x * y : x / y
                    r[d] = UInt64(z.bitPattern)
                }
            }
            switch kind {
            case "arith.addf": return { r in r[d] = (Reg.double(r, a) + Reg.double(r, b)).bitPattern }
            case "arith.subf": return { r in r[d] = (Reg.double(r, a) - Reg.double(r, b)).bitPattern }
            case "arith.mulf": return { r in r[d] = (Reg.double(r, a) * Reg.double(r, b)).bitPattern }
            default: return { r in r[d] = (Reg.double(r, a) / Reg.double(r, b)).bitPattern }
            }
        case "arith.negf":
            let (a, d) = (operands[0], results[0])
            if type == .f32 { return { r in r[d] = UInt64((-Reg.float(r, a)).bitPattern) } }
            return { r in r[d] = (-Reg.double(r, a)).bitPattern }
        case "llvm.mlir.zero":
            let d = results[0]
            return { r in r[d] = 0 }
        case "llvm.icmp":
            let (a, b, d) = (operands[0], operands[1], results[0])
            let predicate = op.integer("predicate") ?? 0
            return { r in r[d] = (predicate == 0 ? r[a] == r[b] : r[a] != r[b]) ? 1 : 0 }
        case "llvm.getelementptr":
            return try pointerArithmetic(op, operands, results[0])
        case "llvm.load":
            let (p, d) = (operands[0], results[0])
            switch type {
            case .int(bits: 8), .int(bits: 1): return { r in r[d] = UInt64(Reg.pointer(r, p).load(as: UInt8.self)) }
            case .int(bits: 16): return { r in r[d] = UInt64(Reg.pointer(r, p).loadUnaligned(as: UInt16.self)) }
            case .int(bits: 32), .f32: return { r in r[d] = UInt64(Reg.pointer(r, p).loadUnaligned(as: UInt32.self)) }
            case .int(bits: 128): return { r in Reg.setWide(r, d, Reg.pointer(r, p).loadUnaligned(as: Int128.self)) }
            default: return { r in r[d] = Reg.pointer(r, p).loadUnaligned(as: UInt64.self) }
            }
        case "llvm.store":
            let (v, p) = (operands[0], operands[1])
            switch operandType {
            case .int(bits: 8), .int(bits: 1): return { r in Reg.pointer(r, p).storeBytes(of: UInt8(truncatingIfNeeded: r[v]), as: UInt8.self) }
            case .int(bits: 16): return { r in Reg.pointer(r, p).storeBytes(of: UInt16(truncatingIfNeeded: r[v]), as: UInt16.self) }
            case .int(bits: 32), .f32: return { r in Reg.pointer(r, p).storeBytes(of: UInt32(truncatingIfNeeded: r[v]), as: UInt32.self) }
            case .int(bits: 128): return { r in Reg.pointer(r, p).storeBytes(of: Reg.wide(r, v), as: Int128.self) }
            default: return { r in Reg.pointer(r, p).storeBytes(of: r[v], as: UInt64.self) }
            }
        case "func.call":
            return try runtimeCall(op, operands, results)
        case "func.return":
            return nil
        case "scf.if":
            let c = operands[0]
            let thenBody = try op.regions[0].blocks.first.map { try block($0, yieldTo: op.results) } ?? []
            let elseBody = try op.regions.count > 1 ? (op.regions[1].blocks.first.map { try block($0, yieldTo: op.results) } ?? []) : []
            return { r in Translator.run(r[c] & 1 != 0 ? thenBody : elseBody, r) }
        case "scf.for":
            let (lower, upper, step) = (operands[0], operands[1], operands[2])
            guard let body = op.regions.first?.blocks.first else { return nil }
            let iv = slot(body.arguments[0])
            let instructions = try block(body)
            return { r in
                var i = Int64(bitPattern: r[lower])
                let end = Int64(bitPattern: r[upper]), by = Int64(bitPattern: r[step])
                while i < end {
                    r[iv] = UInt64(bitPattern: i)
                    Translator.run(instructions, r)
                    i += by
                }
            }
        case "scf.while":
            guard let before = op.regions.first?.blocks.first, let after = op.regions.last?.blocks.first,
                  let condition = before.operations.last, condition.name == "scf.condition" else {
                throw InterpretedQuery.Failure(description: "malformed scf.while")
            }
            let initial = copies(from: op.operands, to: before.arguments)
            var beforeBody: [Instruction] = []
            for child in before.operations.dropLast() {
                if let instruction = try operation(child) { beforeBody.append(instruction) }
            }
            let flag = slot(condition.operands[0])
            let forwarded = Array(condition.operands.dropFirst())
            let toAfter = copies(from: forwarded, to: after.arguments)
            let toResults = copies(from: forwarded, to: op.results)
            let afterBody = try block(after, yieldTo: before.arguments)
            return { r in
                Translator.run(initial, r)
                while true {
                    Translator.run(beforeBody, r)
                    if r[flag] & 1 == 0 {
                        Translator.run(toResults, r)
                        return
                    }
                    Translator.run(toAfter, r)
                    Translator.run(afterBody, r)
                }
            }
        case "kiln_low.checked":
            let (a, b, d, o) = (operands[0], operands[1], results[0], results[1])
            let kind = op.string("kind") ?? "add"
            let bits = operandType.bits
            if bits == 128 {
                return { r in
                    let x = Reg.wide(r, a), y = Reg.wide(r, b)
                    let (v, overflow) = kind == "add" ? x.addingReportingOverflow(y) : kind == "sub" ? x.subtractingReportingOverflow(y) : x.multipliedReportingOverflow(by: y)
                    Reg.setWide(r, d, v)
                    r[o] = overflow ? 1 : 0
                }
            }
            let mask = operandType.mask
            return { r in
                let x = Reg.signed(r, a, bits: bits), y = Reg.signed(r, b, bits: bits)
                let (v, overflow) = kind == "add" ? x.addingReportingOverflow(y) : kind == "sub" ? x.subtractingReportingOverflow(y) : x.multipliedReportingOverflow(by: y)
                let fits = bits == 64 ? !overflow : (v >= -(Int64(1) << (bits - 1)) && v < (Int64(1) << (bits - 1)))
                r[d] = UInt64(bitPattern: v) & mask
                r[o] = fits ? 0 : 1
            }
        case "kiln_low.raise":
            let (c, f) = (operands[0], operands[1])
            let code = Int32(op.integer("code") ?? 0)
            return { r in if r[f] & 1 != 0 { kiln_rt_raise(Reg.pointer(r, c), code) } }
        case "kiln_low.str_eq":
            let (a, b, d) = (operands[0], operands[1], results[0])
            return { r in r[d] = KilnString.equal(Reg.wide(r, a), Reg.wide(r, b)) ? 1 : 0 }
        case "kiln_low.hash":
            let (a, d) = (operands[0], results[0])
            switch operandType {
            case .int(bits: 128):
                return { r in
                    let v = Reg.wide(r, a)
                    let low = UInt64(truncatingIfNeeded: UInt128(bitPattern: v)), high = UInt64(truncatingIfNeeded: UInt128(bitPattern: v) >> 64)
                    r[d] = Hashing.mix(low ^ Hashing.mix(high))
                }
            case .f32: return { r in r[d] = Hashing.mix((Double(Reg.float(r, a)) + 0.0).bitPattern) }
            case .f64: return { r in r[d] = Hashing.mix((Reg.double(r, a) + 0.0).bitPattern) }
            case .pointer: return { r in r[d] = Hashing.mix(r[a]) }
            case .int(let bits):
                if bits <= 8 { return { r in r[d] = Hashing.mix(r[a]) } }  // booleans/bytes zero-extend
                return { r in r[d] = Hashing.mix(UInt64(bitPattern: Reg.signed(r, a, bits: bits))) }
            }
        default:
            throw InterpretedQuery.Failure(description: "the interpreter does not know \(op.name)")
        }
    }

    mutating func pointerArithmetic(_ op: IROperation, _ operands: [Int], _ d: Int) throws -> Instruction {
        let base = operands[0]
        var raw = ""
        if case .raw(let text)? = op.attribute("rawConstantIndices") { raw = text }
        let elementType: String
        if case .raw(let text)? = op.attribute("elem_type") { elementType = text } else { elementType = "i8" }
        let size: Int
        switch elementType {
        case "i8", "i1": size = 1
        case "i16": size = 2
        case "i32", "f32": size = 4
        case "i128": size = 16
        default: size = 8
        }
        if raw.contains("-2147483648") {
            let index = operands[1]
            return { r in r[d] = r[base] &+ UInt64(bitPattern: Int64(bitPattern: r[index]) &* Int64(size)) }
        }
        // `array<i32: N>`: the index follows the colon.
        let afterColon = raw.split(separator: ":").last.map { $0.trimmingPrefix(" ") } ?? ""
        let digits = afterColon.prefix { $0.isNumber || $0 == "-" }
        let offset = (Int64(digits) ?? 0) * Int64(size)
        return { r in r[d] = r[base] &+ UInt64(bitPattern: offset) }
    }

    mutating func runtimeCall(_ op: IROperation, _ operands: [Int], _ results: [Int]) throws -> Instruction {
        guard case .raw(let callee)? = op.attribute("callee") else { throw InterpretedQuery.Failure(description: "call without callee") }
        let a = operands
        let d = results.first ?? 0
        switch callee {
        case "@kiln_rt_open": return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_open(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])))) }
        case "@kiln_rt_next": return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_next(Reg.pointer(r, a[0])))) }
        case "@kiln_rt_finish": return { r in kiln_rt_finish(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])) }
        case "@kiln_rt_agg_scratch": return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_agg_scratch(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])))) }
        case "@kiln_rt_agg_find":
            return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_agg_find(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]]), Int64(bitPattern: r[a[2]])))) }
        case "@kiln_rt_agg_header": return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_agg_header(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])))) }
        case "@kiln_rt_agg_insert":
            return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_agg_insert(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]]), Int64(bitPattern: r[a[2]])))) }
        case "@kiln_rt_append": return { r in r[d] = UInt64(UInt(bitPattern: kiln_rt_append(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])))) }
        case "@kiln_rt_limit_step": return { r in r[d] = UInt64(UInt32(bitPattern: kiln_rt_limit_step(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])))) }
        case "@kiln_rt_raise": return { r in kiln_rt_raise(Reg.pointer(r, a[0]), Int32(truncatingIfNeeded: r[a[1]])) }
        case "@kiln_rt_call": return { r in kiln_rt_call(Reg.pointer(r, a[0]), Int64(bitPattern: r[a[1]])) }
        default: throw InterpretedQuery.Failure(description: "the interpreter does not know runtime function \(callee)")
        }
    }

    @inline(__always)
    static func compare<S: Comparable, U: Comparable>(_ predicate: Int64, _ x: S, _ y: S, _ ux: U, _ uy: U) -> Bool {
        switch predicate {
        case 0: return x == y
        case 1: return x != y
        case 2: return x < y
        case 3: return x <= y
        case 4: return x > y
        case 5: return x >= y
        case 6: return ux < uy
        case 7: return ux <= uy
        case 8: return ux > uy
        default: return ux >= uy
        }
    }

    /// MLIR's `arith.cmpf` predicates (ordered: false when either is NaN; unordered: true).
    @inline(__always)
    static func compareFloat(_ predicate: Int64, _ x: Double, _ y: Double) -> Bool {
        let unordered = x.isNaN || y.isNaN
        switch predicate {
        case 1: return !unordered && x == y
        case 2: return !unordered && x > y
        case 3: return !unordered && x >= y
        case 4: return !unordered && x < y
        case 5: return !unordered && x <= y
        case 6: return !unordered && x != y
        case 13: return unordered || x != y
        case 14: return unordered
        case 7: return !unordered
        default: return false
        }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
