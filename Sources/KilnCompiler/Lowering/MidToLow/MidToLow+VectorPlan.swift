import CKilnSystem
import KilnCore
import KilnIR

/// Which row loops become SIMD kernels, and how.
///
/// A row loop over a columnar batch vectorises when everything before its filter (the
/// predicate) is vectorisable: column loads of fixed-width types, parameters, comparisons,
/// AND/OR/NOT, IS [NOT] NULL, + - * on integers and floats, widening casts. Then either the
/// filtered work is an aggregate without GROUP BY over vectorisable values (fused into the
/// kernel: count, sum, min, max accumulate in vector registers), or anything else (the kernel
/// writes a selection vector of row ids and the rest of the pipeline runs over it).
struct VectorPlan {
    /// The row loop's body before the filter's `scf.if` (or before the aggregate).
    var predicateOps: [IROperation]
    /// The filter's condition (an `i1` from `kiln_mid.truth`); nil when every row qualifies.
    var condition: IRValue?
    /// The fused aggregate and the ops computing its inputs; nil for a selection vector.
    var aggregate: IROperation?
    var aggregateOps: [IROperation]
    /// What runs for each selected row (selection-vector plans).
    var selectedBody: IRBlock?
    /// A predicate that is not vectorisable but makes calls (LIKE, string functions): a
    /// scalar loop evaluates it for the whole batch into the selection vector first, so the
    /// rest of the pipeline runs in a tight loop of its own (its hash probes' cache misses
    /// then overlap instead of waiting behind each row's call). `recomputed`: the predicate's
    /// ops whose values the selected rows use, evaluated again there (loads and lane-wise ops).
    var scalarPredicate = false
    var recomputed: [IROperation] = []

    static let vectorTypes: Set<SQLType> = [.smallint, .integer, .bigint, .real, .double, .date, .timestamp, .boolean]
    static let vectorOps: Set<String> = ["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "is_null", "is_not_null",
                                         "is_true", "is_false", "is_true_not", "is_false_not", "add", "sub", "mul", "div", "mod", "neg", "cast"]

    /// Fixed-width SQL types a kernel handles: the vector types, and decimals of a static scale
    /// (scaled 128-bit integers) in comparisons, + and -. Unconstrained numerics (packed, with
    /// a scale per value) take the scalar path.
    static func isLaneType(_ type: SQLType) -> Bool {
        if case .numeric = type { return true }
        return vectorTypes.contains(type)
    }

    static func isVectorType(_ midType: String) -> Bool {
        isLaneType(MidToLow.sqlType(midType).0)
    }

    /// Whether `op` can be computed lane-wise.
    static func vectorisable(_ op: IROperation) -> Bool {
        switch op.name {
        case "kiln_mid.load":
            return op.string("layout") == "columns" && isVectorType(op.result.type)
        case "kiln_mid.truth":
            return true
        case "kiln_mid.op":
            guard let name = op.string("name"), vectorOps.contains(name), isVectorType(op.result.type) else { return false }
            let types = op.operands.map { MidToLow.sqlType($0.type).0 }
            guard types.allSatisfy(isLaneType) else { return false }
            let result = MidToLow.sqlType(op.result.type).0
            if types.contains(where: \.isNumericDecimal) || result.isNumericDecimal {
                // Decimals: comparisons and exact addition/subtraction lane-wise; the rest scalar.
                return ["eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "neg", "is_null", "is_not_null"].contains(name)
            }
            switch name {
            case "mul":
                // Overflow of a 64-bit product needs a 128-bit check: scalar path.
                return result != .bigint && result != .timestamp
            case "mod":
                return !result.isFloat
            case "cast":
                let from = types[0]
                let widening: [SQLType: Set<SQLType>] = [
                    .smallint: [.integer, .bigint, .real, .double], .integer: [.bigint, .real, .double],
                    .bigint: [.double], .real: [.double], .date: [.timestamp],
                ]
                return widening[from]?.contains(result) ?? false
            default:
                return true
            }
        default:
            return false
        }
    }

    static let fusableAggregates: Set<String> = ["count_star", "count", "sum", "min", "max"]

    /// The plan for a mid-level row loop (`scf.for` over a batch), or nil when it stays scalar.
    static func analyze(_ loop: IROperation) -> VectorPlan? {
        guard loop.name == "scf.for", let body = loop.regions.first?.blocks.first else { return nil }
        var operations = body.operations
        guard operations.last?.name == "scf.yield" else { return nil }
        operations.removeLast()
        guard let last = operations.last else { return nil }
        if last.name == "kiln_mid.hash_agg_update" {
            // No filter: the whole loop is an aggregate.
            let ops = Array(operations.dropLast())
            guard fusable(last), ops.allSatisfy(vectorisable) else { return nil }
            return VectorPlan(predicateOps: [], condition: nil, aggregate: last, aggregateOps: ops, selectedBody: nil)
        }
        guard last.name == "scf.if", last.results.isEmpty, let then = last.regions.first?.blocks.first,
              last.regions.count < 2 || last.regions[1].blocks.isEmpty else { return nil }
        let predicate = Array(operations.dropLast())
        guard !predicate.isEmpty, let condition = last.operands.first, predicate.contains(where: { $0.results.contains(condition) }) else { return nil }
        guard predicate.allSatisfy(vectorisable) else { return scalarSelection(predicate, condition: condition, then: then) }
        var selected = then.operations
        if selected.last?.name == "scf.yield" { selected.removeLast() }
        if let aggregate = selected.last, aggregate.name == "kiln_mid.hash_agg_update", fusable(aggregate),
           selected.dropLast().allSatisfy(vectorisable) {
            return VectorPlan(predicateOps: predicate, condition: condition, aggregate: aggregate, aggregateOps: Array(selected.dropLast()), selectedBody: nil)
        }
        return VectorPlan(predicateOps: predicate, condition: condition, aggregate: nil, aggregateOps: [], selectedBody: then)
    }

    /// The two-loop plan for a predicate that calls out (see `scalarPredicate`), or nil when
    /// the predicate makes no calls or the selected rows need a value that is not cheap to
    /// compute again.
    static func scalarSelection(_ predicate: [IROperation], condition: IRValue, then: IRBlock) -> VectorPlan? {
        let calls = predicate.contains { op in
            op.name == "kiln_mid.op" && !vectorOps.contains(op.string("name") ?? "")
        }
        guard calls else { return nil }
        // The predicate's values that the selected rows read, with what they are computed from.
        var needed = Set<IRValue>()
        func collect(_ block: IRBlock) {
            for op in block.operations {
                needed.formUnion(op.operands)
                for region in op.regions { region.blocks.forEach(collect) }
            }
        }
        collect(then)
        var recomputed: [IROperation] = []
        for op in predicate.reversed() where op.results.contains(where: needed.contains) {
            guard op.name == "kiln_mid.load" || vectorisable(op), op.regions.isEmpty else { return nil }
            needed.formUnion(op.operands)
            recomputed.insert(op, at: 0)
        }
        return VectorPlan(predicateOps: predicate, condition: condition, aggregate: nil, aggregateOps: [], selectedBody: then,
                          scalarPredicate: true, recomputed: recomputed)
    }

    /// An aggregate without group keys whose every aggregate accumulates lane-wise.
    static func fusable(_ update: IROperation) -> Bool {
        guard update.integer("keys") == 0, case .array(let names) = update.attribute("aggregates"),
              case .array(let stateTypes) = update.attribute("state_types") else { return false }
        let arguments = update.operands.dropFirst()
        var argumentIndex = arguments.startIndex
        for (name, stateName) in zip(names.compactMap(\.stringValue), stateTypes.compactMap(\.stringValue)) {
            guard fusableAggregates.contains(name), let state = SQLType(irName: stateName) else { return false }
            if name == "count_star" { continue }
            let argument = MidToLow.sqlType(arguments[argumentIndex].type).0
            argumentIndex += 1
            guard isLaneType(argument), argument != .boolean else { return false }
            // Decimal sums may exceed 128 bits per lane before the checked merge: scalar path.
            if argument.isNumericDecimal, name == "sum" { return false }
            if name == "sum", !(state == .bigint && (argument == .smallint || argument == .integer)) && !state.isFloat { return false }
        }
        return true
    }
}

/// The host's SIMD width, detected once at run time.
public enum HostVector {
    /// Lanes per kernel step: 16 with AVX-512, 8 otherwise (AVX2; LLVM splits wider vectors).
    /// `KILN_CPU=avx2` forces the 8-lane kernels (and the JITs drop AVX-512, `SharedJIT`), so
    /// that tests on an AVX-512 machine run the code path of machines without it.
    public static let lanes: Int = {
        if kiln_cpu_forced_avx2() != 0 { return 8 }
        #if os(Linux)
        if let file = fopen("/proc/cpuinfo", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 4096)
            while fgets(&line, Int32(line.count), file) != nil {
                let bytes = line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                let text = String(decoding: bytes, as: UTF8.self)
                if text.hasPrefix("flags") { return text.contains(" avx512f") ? 16 : 8 }
            }
        }
        #endif
        return 8
    }()
}

#if canImport(Glibc)
import Glibc
#endif
