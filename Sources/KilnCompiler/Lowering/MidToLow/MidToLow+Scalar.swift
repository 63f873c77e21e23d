import KilnCore
import KilnIR
import KilnPlanner
import KilnRuntime

extension MidToLow {
    /// Specialises one `kiln_mid.op` by its operand types.
    mutating func lowerScalar(_ op: IROperation, _ l: LowBuilder) throws -> LowValue {
        let name = op.string("name") ?? ""
        let args = try op.operands.map(lowered)
        let argTypes = op.operands.map { MidToLow.sqlType($0.type).0 }
        let (resultType, _) = MidToLow.sqlType(op.result.type)
        let t = argTypes.first ?? .unknown
        let physical = t.physical
        let isInteger = [.int16, .int32, .int64].contains(physical) && t != .date && t != .timestamp || t == .date && name != "date_diff"
        let null = MidToLow.strictNull(args, l)
        func generic() -> LowValue {
            genericCall(name, Array(zip(args, argTypes)), resultType: resultType, l)
        }
        // Unconstrained numerics (packed, a scale per value): comparisons inline on the bits
        // without the scale, arithmetic in the runtime (PostgreSQL's scale rules).
        if t == .dynamicNumeric || resultType == .dynamicNumeric {
            switch name {
            case "eq", "ne", "lt", "le", "gt", "ge":
                let index = ["eq", "ne", "lt", "le", "gt", "ge"].firstIndex(of: name)!
                let predicates: [Int64] = [0, 1, 2, 3, 4, 5]
                return LowValue(value: l.cmpi(predicates[index], packedKey(args[0].value, l), packedKey(args[1].value, l)), null: null)
            case "add", "sub", "mul", "div", "mod", "neg", "abs", "in_list":
                return generic()
            default:
                break
            }
        }
        switch name {
        case "add", "sub", "mul":
            if t == .interval { return generic() }
            let a = args[0].value, b = args[1].value
            if t.isFloat {
                let f = name == "add" ? "arith.addf" : name == "sub" ? "arith.subf" : "arith.mulf"
                return LowValue(value: l.op(f, [a, b], a.type), null: null)
            }
            if physical == .int128 || isInteger {
                return LowValue(value: checked(name, a, b, code: MidToLow.errorCode(resultType), l), null: null)
            }
            return generic()
        case "like" where args.count == 2 && parameterSlots[op.operands[1]] != nil,
             "ilike" where args.count == 2 && parameterSlots[op.operands[1]] != nil:
            // A constant pattern: the runtime prepares it once per execution and matches bytes.
            let slot = Int64(parameterSlots[op.operands[1]]!) * 2 + (name == "ilike" ? 1 : 0)
            let v = args[0].value
            let low = l.op("arith.trunci", [v], "i64")
            let high = l.op("arith.trunci", [l.op("arith.shrui", [v, l.int128(64)], "i128")], "i64")
            let r = l.call("kiln_rt_like", [l.ctx, l.int(slot, "i64"), low, high], ["i32"]).result
            return LowValue(value: l.cmpi(1, r, l.int(0, "i32")), null: null)
        case "in_list" where args.count == 2 && parameterSlots[op.operands[1]] != nil:
            // x IN (long constant list): a probe of the set the runtime makes from the list's
            // parameter slot at the first row (key = slot * 4 + the value's kind).
            let kind: Int64 = physical == .string ? 2 : physical == .int128 ? 1 : 0
            let key = Int64(parameterSlots[op.operands[1]]!) * 4 + kind
            var v = args[0].value
            // A NULL value's bytes mean nothing (a string's would be read): probe with zero.
            if let isNull = args[0].null { v = l.select(isNull, l.int(0, v.type), v) }
            let low: IRValue, high: IRValue
            switch physical {
            case .int16, .int32: low = l.op("arith.extsi", [v], "i64"); high = l.int(0, "i64")
            case .int64: low = v; high = l.int(0, "i64")
            default:
                low = l.op("arith.trunci", [v], "i64")
                high = l.op("arith.trunci", [l.op("arith.shrui", [v, l.int128(64)], "i128")], "i64")
            }
            let r = l.call("kiln_rt_in_list", [l.ctx, l.int(key, "i64"), low, high], ["i32"]).result
            let noMatchWithNull = l.cmpi(0, r, l.int(2, "i32"))
            return LowValue(value: l.cmpi(0, r, l.int(1, "i32")), null: args[0].null.map { l.or($0, noMatchWithNull) } ?? noMatchWithNull)
        case "single_row":
            // A scalar subquery's value; a second row for the same outer row is an error.
            l.raise(l.cmpi(4, args[0].value, l.int(1, "i64")), code: 7)
            return args[1]
        case "div", "mod":
            let a = args[0].value, b = args[1].value
            if t.isFloat && name == "div" {
                let zero = l.float(0, a.type)
                l.raise(null.map { l.and(l.not($0), l.cmpf(1, b, zero)) } ?? l.cmpf(1, b, zero), code: 5)
                return LowValue(value: l.op("arith.divf", [a, b], a.type), null: null)
            }
            if isInteger && t != .date {
                let zero = l.int(0, b.type)
                let isZero = l.cmpi(0, b, zero)
                l.raise(null.map { l.and(l.not($0), isZero) } ?? isZero, code: 5)
                let minimum: Int64 = physical == .int16 ? Int64(Int16.min) : physical == .int32 ? Int64(Int32.min) : Int64.min
                let overflow = l.and(l.cmpi(0, a, l.int(minimum, a.type)), l.cmpi(0, b, l.int(-1, b.type)))
                if name == "div" { l.raise(null.map { l.and(l.not($0), overflow) } ?? overflow, code: MidToLow.errorCode(t)) }
                let safe = l.select(l.or(isZero, overflow), l.int(1, b.type), b)
                let result = l.op(name == "div" ? "arith.divsi" : "arith.remsi", [a, safe], a.type)
                // x % -1 is 0 (the safe divisor 1 already gives 0).
                return LowValue(value: result, null: null)
            }
            return generic()
        case "neg":
            let a = args[0].value
            if t.isFloat { return LowValue(value: l.op("arith.negf", [a], a.type), null: null) }
            if physical == .int128 && t != .interval { return LowValue(value: checked("sub", l.int128(0), a, code: 4, l), null: null) }
            if isInteger { return LowValue(value: checked("sub", l.int(0, a.type), a, code: MidToLow.errorCode(t), l), null: null) }
            return generic()
        case "eq", "ne", "lt", "le", "gt", "ge":
            let a = args[0].value, b = args[1].value
            let index = ["eq", "ne", "lt", "le", "gt", "ge"].firstIndex(of: name)!
            if t.isFloat {
                _ = index
                return LowValue(value: l.floatCompare(name, a, b), null: null)
            }
            if t == .boolean {
                let predicates: [Int64] = [0, 1, 6, 7, 8, 9]
                return LowValue(value: l.cmpi(predicates[index], a, b), null: null)
            }
            if physical == .string {
                // Equality without a call in the common cases; order by bytes (C collation).
                if name == "eq" || name == "ne" {
                    let equal = l.b.add("kiln_low.str_eq", [a, b], ["i1"]).result
                    return LowValue(value: name == "eq" ? equal : l.not(equal), null: null)
                }
                let order = l.b.add("kiln_low.str_cmp", [a, b], ["i32"]).result
                let predicates: [Int64] = [0, 1, 2, 3, 4, 5]
                return LowValue(value: l.cmpi(predicates[index], order, l.int(0, "i32")), null: null)
            }
            if t == .interval { return generic() }
            let predicates: [Int64] = [0, 1, 2, 3, 4, 5]
            return LowValue(value: l.cmpi(predicates[index], a, b), null: null)
        case "and", "or":
            let a = args[0], b = args[1]
            if a.null == nil && b.null == nil {
                return LowValue(value: l.op(name == "and" ? "arith.andi" : "arith.ori", [a.value, b.value], "i1"), null: nil)
            }
            let aNull = a.null ?? l.bool(false), bNull = b.null ?? l.bool(false)
            if name == "and" {
                let falseA = l.and(l.not(aNull), l.not(a.value)), falseB = l.and(l.not(bNull), l.not(b.value))
                let isFalse = l.or(falseA, falseB)
                let isNull = l.and(l.not(isFalse), l.or(aNull, bNull))
                return LowValue(value: l.and(l.not(isFalse), l.not(isNull)), null: isNull)
            }
            let trueA = l.and(l.not(aNull), a.value), trueB = l.and(l.not(bNull), b.value)
            let isTrue = l.or(trueA, trueB)
            return LowValue(value: isTrue, null: l.and(l.not(isTrue), l.or(aNull, bNull)))
        case "not":
            return LowValue(value: l.not(args[0].value), null: args[0].null)
        case "is_null", "is_not_null":
            let isNull = args[0].null ?? l.bool(false)
            return LowValue(value: name == "is_null" ? isNull : l.not(isNull), null: nil)
        case "is_true", "is_false", "is_true_not", "is_false_not":
            let notNull = args[0].null.map { l.not($0) } ?? l.bool(true)
            let base = name.hasPrefix("is_true") ? l.and(notNull, args[0].value) : l.and(notNull, l.not(args[0].value))
            return LowValue(value: name.hasSuffix("_not") ? l.not(base) : base, null: nil)
        case "not_distinct":
            let aNull = args[0].null ?? l.bool(false), bNull = args[1].null ?? l.bool(false)
            let equal = try lowerComparisonValue(args, argTypes, l)
            let bothNull = l.and(aNull, bNull)
            let neitherNull = l.and(l.not(aNull), l.not(bNull))
            return LowValue(value: l.or(bothNull, l.and(neitherNull, equal)), null: nil)
        case "case":
            // [c1, v1, c2, v2, ..., else]: conditions are already truth-tested booleans.
            var result = args[args.count - 1]
            var index = args.count - 3
            while index >= 0 {
                let condition = args[index].null.map { l.and(args[index].value, l.not($0)) } ?? args[index].value
                let branch = args[index + 1]
                let value = l.select(condition, branch.value, result.value)
                var resultNull: IRValue?
                if branch.null != nil || result.null != nil {
                    resultNull = l.select(condition, branch.null ?? l.bool(false), result.null ?? l.bool(false))
                }
                result = LowValue(value: value, null: resultNull)
                index -= 2
            }
            return result
        case "coalesce":
            var result = args[args.count - 1]
            for arg in args.dropLast().reversed() {
                guard let argNull = arg.null else { result = arg; continue }
                result = LowValue(value: l.select(argNull, result.value, arg.value),
                                  null: result.null.map { l.and(argNull, $0) })
            }
            return result
        case "abs":
            let a = args[0].value
            if t.isFloat { return LowValue(value: l.select(l.cmpf(4, a, l.float(0, a.type)), l.op("arith.negf", [a], a.type), a), null: null) }
            if isInteger || physical == .int128 {
                let zero = physical == .int128 ? l.int128(0) : l.int(0, a.type)
                let negative = l.cmpi(2, a, zero)
                let negated = checked("sub", zero, a, code: MidToLow.errorCode(t), l)
                return LowValue(value: l.select(negative, negated, a), null: null)
            }
            return generic()
        case "cast":
            if let inline = lowerInlineCast(args[0], from: t, to: resultType, l) { return inline }
            return generic()
        case "extract_year", "extract_month", "extract_day", "extract_quarter":
            guard t == .timestamp, resultType.scale == 0 else { return generic() }
            let field = lowerCivilField(String(name.dropFirst("extract_".count)), micros: args[0].value, l)
            return LowValue(value: l.op("arith.extsi", [field], "i128"), null: null)
        default:
            return generic()
        }
    }

    /// The year, month, day or quarter of a timestamp (microseconds since 1970), in `i64`
    /// arithmetic: `DateMath.civil` (days to a proleptic Gregorian date) inline.
    func lowerCivilField(_ field: String, micros: IRValue, _ l: LowBuilder) -> IRValue {
        func c(_ v: Int64) -> IRValue { l.int(v, "i64") }
        func add(_ a: IRValue, _ b: IRValue) -> IRValue { l.op("arith.addi", [a, b], "i64") }
        func sub(_ a: IRValue, _ b: IRValue) -> IRValue { l.op("arith.subi", [a, b], "i64") }
        func mul(_ a: IRValue, _ b: Int64) -> IRValue { l.op("arith.muli", [a, c(b)], "i64") }
        func div(_ a: IRValue, _ b: Int64) -> IRValue { l.op("arith.divsi", [a, c(b)], "i64") }
        // Days, rounded towards minus infinity.
        let quotient = div(micros, DateMath.microsPerDay)
        let remainder = l.op("arith.remsi", [micros, c(DateMath.microsPerDay)], "i64")
        let days = l.select(l.cmpi(2, remainder, c(0)), sub(quotient, c(1)), quotient)
        let z = add(days, c(719_468))
        let era = div(l.select(l.cmpi(5, z, c(0)), z, sub(z, c(146_096))), 146_097)
        let doe = sub(z, mul(era, 146_097))
        let yoe = div(sub(add(sub(doe, div(doe, 1460)), div(doe, 36_524)), div(doe, 146_096)), 365)
        let doy = sub(doe, sub(add(mul(yoe, 365), div(yoe, 4)), div(yoe, 100)))
        let mp = div(add(mul(doy, 5), c(2)), 153)
        if field == "day" { return add(sub(doy, div(add(mul(mp, 153), c(2)), 5)), c(1)) }
        let month = l.select(l.cmpi(2, mp, c(10)), add(mp, c(3)), sub(mp, c(9)))
        switch field {
        case "month": return month
        case "quarter": return add(div(sub(month, c(1)), 3), c(1))
        default: return add(add(yoe, mul(era, 400)), l.op("arith.extui", [l.cmpi(3, month, c(2))], "i64"))
        }
    }

    /// An unconstrained numeric's bits without its display scale (`PackedNumeric.key`): what
    /// equality, hashing and order compare.
    func packedKey(_ value: IRValue, _ l: LowBuilder) -> IRValue {
        l.op("arith.andi", [value, l.int128(~PackedNumeric.scaleMask)], "i128")
    }

    func lowerComparisonValue(_ args: [LowValue], _ types: [SQLType], _ l: LowBuilder) throws -> IRValue {
        let t = types[0]
        if t == .dynamicNumeric { return l.cmpi(0, packedKey(args[0].value, l), packedKey(args[1].value, l)) }
        if t.isFloat { return l.floatCompare("eq", args[0].value, args[1].value) }
        if t.physical == .string {
            // Strings: equal exactly when the 16-byte forms match or the bytes do.
            return l.b.add("kiln_low.str_eq", [args[0].value, args[1].value], ["i1"]).result
        }
        return l.cmpi(0, args[0].value, args[1].value)
    }

    /// Casts compiled inline; nil when the runtime must do it.
    mutating func lowerInlineCast(_ v: LowValue, from: SQLType, to: SQLType, _ l: LowBuilder) -> LowValue? {
        let intTypes: [SQLType] = [.smallint, .integer, .bigint]
        let a = v.value
        if intTypes.contains(from) && intTypes.contains(to) {
            let fromWidth = from.physical.byteWidth, toWidth = to.physical.byteWidth
            if toWidth == fromWidth { return v }
            if toWidth > fromWidth { return LowValue(value: l.op("arith.extsi", [a], to.physical.mlirType), null: v.null) }
            let narrow = l.op("arith.trunci", [a], to.physical.mlirType)
            let back = l.op("arith.extsi", [narrow], a.type)
            let lost = l.cmpi(1, back, a)
            l.raise(v.null.map { l.and(l.not($0), lost) } ?? lost, code: MidToLow.errorCode(to))
            return LowValue(value: narrow, null: v.null)
        }
        if intTypes.contains(from) && to.isFloat {
            return LowValue(value: l.op("arith.sitofp", [a], to.physical.mlirType), null: v.null)
        }
        if from == .real && to == .double { return LowValue(value: l.op("arith.extf", [a], "f64"), null: v.null) }
        if intTypes.contains(from), case .numeric(nil, let scale) = to {
            let wide = l.op("arith.extsi", [a], "i128")
            if scale == 0 { return LowValue(value: wide, null: v.null) }
            return LowValue(value: checked("mul", wide, l.int128(DecimalMath.pow10(scale)), code: 4, l), null: v.null)
        }
        if case .numeric(_, let s1) = from, case .numeric(nil, let s2) = to, s2 >= s1 {
            if s2 == s1 { return v }
            return LowValue(value: checked("mul", a, l.int128(DecimalMath.pow10(s2 - s1)), code: 4, l), null: v.null)
        }
        if case .numeric(_, let scale) = from, to == .double, scale <= 22 {
            // Exact mantissa (|m| < 2^53) / exact power of ten: IEEE division rounds correctly.
            // Wider mantissas take the runtime's correctly rounded path.
            let limit = l.int128(Int128(1) << 53)
            let negativeLimit = l.int128(-(Int128(1) << 53))
            let small = l.and(l.cmpi(2, a, limit), l.cmpi(4, a, negativeLimit))
            let fast = IRBlock()
            let f = LowBuilder(b: IRBuilder(fast), ctx: l.ctx)
            let narrow = f.op("arith.trunci", [a], "i64")
            let asDouble = f.op("arith.sitofp", [narrow], "f64")
            var power = 1.0
            for _ in 0..<scale { power *= 10 }
            f.b.add("scf.yield", [f.op("arith.divf", [asDouble, f.float(power, "f64")], "f64")])
            let slow = IRBlock()
            let s = LowBuilder(b: IRBuilder(slow), ctx: l.ctx)
            let converted = genericCall("cast", [(LowValue(value: a, null: nil), from)], resultType: .double, s).value
            s.b.add("scf.yield", [converted])
            let result = l.b.add("scf.if", [small], ["f64"], regions: [.single(fast), .single(slow)]).result
            return LowValue(value: result, null: v.null)
        }
        if from == .date && to == .timestamp {
            let wide = l.op("arith.extsi", [a], "i64")
            return LowValue(value: l.op("arith.muli", [wide, l.int(DateMath.microsPerDay, "i64")], "i64"), null: v.null)
        }
        if from.isString && to == .text { return v }
        return nil
    }

    /// The hash table update of one row: hash the keys, find or insert the group, update each
    /// aggregate's state in place.
    mutating func lowerAggregateUpdate(_ op: IROperation, _ l: LowBuilder) throws {
        let ctx = l.ctx
        let keyCount = op.integer("keys") ?? 0
        guard case .array(let functionNames) = op.attribute("aggregates"), case .array(let stateTypeNames) = op.attribute("state_types") else {
            throw Failure(description: "hash_agg_update without aggregate descriptions")
        }
        let stateTypes = stateTypeNames.compactMap { $0.stringValue.flatMap(SQLType.init(irName:)) }
        let layout = RecordLayout(types: stateTypes)
        let operands = try op.operands.dropFirst().map(lowered)
        let operandTypes = op.operands.dropFirst().map { MidToLow.sqlType($0.type).0 }
        let stateIndex = Int64(op.integer("state") ?? 0)
        var record: IRValue
        if keyCount == 0 {
            record = globalAggregateRecord(state: stateIndex, l)
        } else {
            record = try lowerProbe(state: stateIndex, keys: Array(operands.prefix(keyCount)), keyTypes: Array(operandTypes.prefix(keyCount)), layout: layout, l)
        }
        var argumentIndex = keyCount
        for (index, nameAttribute) in functionNames.enumerated() {
            let function = nameAttribute.stringValue ?? ""
            let field = keyCount + index
            let fieldType = stateTypes[field]
            let pointer = l.gep(record, layout.offsets[field])
            if function == "count_star" {
                let old = l.load(pointer, "i64")
                l.store(l.op("arith.addi", [old, l.int(1, "i64")], "i64"), pointer)
                continue
            }
            let argument = operands[argumentIndex]
            let argumentType = operandTypes[argumentIndex]
            argumentIndex += 1
            if function == "count" {
                let old = l.load(pointer, "i64")
                let increment = argument.null.map { l.select($0, l.int(0, "i64"), l.int(1, "i64")) } ?? l.int(1, "i64")
                l.store(l.op("arith.addi", [old, increment], "i64"), pointer)
                continue
            }
            // sum, min, max: only non-null inputs count.
            let body = IRBlock()
            let inner = LowBuilder(b: IRBuilder(body), ctx: ctx)
            var value = argument.value
            if function == "sum" {
                if let converted = lowerInlineCast(LowValue(value: value, null: nil), from: argumentType, to: fieldType, inner) { value = converted.value }
            }
            foldIntoState(function, value, type: fieldType, record: record, field: field, pointer: pointer, inner)
            inner.b.add("scf.yield")
            let condition = argument.null.map { l.not($0) } ?? l.bool(true)
            l.b.add("scf.if", [condition], [], regions: [.single(body), IRRegion()])
        }
    }

    /// The record of an aggregate without GROUP BY: it never moves, so fetch it once per pipeline.
    mutating func globalAggregateRecord(state: Int64, _ l: LowBuilder) -> IRValue {
        let ctx = l.ctx
        return perPipeline("aggregate\(state)", l) { $0.call("kiln_rt_agg_find", [ctx, $0.int(state, "i64"), $0.int(0, "i64")], ["!llvm.ptr"]).result }
    }

    /// Folds a non-null `value` into a sum, min or max state (field `field` of `record`, at
    /// `pointer`): the first value sets it, later ones add (checked) or replace when better,
    /// in PostgreSQL's order. The scalar update and the SIMD kernels' merge share it.
    mutating func foldIntoState(_ function: String, _ value: IRValue, type: SQLType, record: IRValue, field: Int, pointer: IRValue, _ b: LowBuilder) {
        let stateNull = b.fromMemory(b.load(record, offset: field, "i8"), physical: .bool)
        let old = b.loadValue(pointer, type)
        var updated: IRValue
        if function == "sum" && (type == .interval || type == .dynamicNumeric) {
            // Field by field with range checks (the runtime's interval addition); the old state
            // is only read when it is set.
            let added = genericCall("add", [(LowValue(value: old, null: stateNull), type), (LowValue(value: value, null: nil), type)], resultType: type, b)
            updated = b.select(stateNull, value, added.value)
        } else if function == "sum" {
            updated = type.isFloat ? b.op("arith.addf", [old, value], old.type) : checked("add", old, value, code: MidToLow.errorCode(type), b)
            updated = b.select(stateNull, value, updated)
        } else if function == "string_agg" {
            // The old state is only read when it is set (the null flag keeps the call from it).
            let appended = genericCall("string_append", [(LowValue(value: old, null: stateNull), type), (LowValue(value: value, null: nil), type)], resultType: type, b).value
            updated = b.select(stateNull, value, appended)
        } else {
            let better: IRValue
            let wantLess = function == "min"
            if type.isFloat {
                better = b.floatBetter(wantLess: wantLess, value, old)
            } else if type.physical == .string || type == .interval {
                better = genericCall(wantLess ? "lt" : "gt", [(LowValue(value: value, null: nil), type), (LowValue(value: old, null: nil), type)], resultType: .boolean, b).value
            } else if type == .boolean {
                better = b.cmpi(wantLess ? 6 : 8, value, old)
            } else if type == .dynamicNumeric {
                // Equal values (2 and 2.0): the later one, as PostgreSQL's numeric_larger/smaller.
                better = b.cmpi(wantLess ? 3 : 5, packedKey(value, b), packedKey(old, b))
            } else {
                better = b.cmpi(wantLess ? 2 : 4, value, old)
            }
            updated = b.select(b.or(stateNull, better), value, old)
        }
        b.storeValue(updated, pointer, type)
        b.store(b.int(0, "i8"), record, offset: field)
    }

    /// The inline hash-table probe: hash the keys, walk the bucket's chain comparing hashes and
    /// keys, and only on a miss store the keys in the scratch record and call the runtime to
    /// insert. Returns the group's record.
    mutating func lowerProbe(state: Int64, keys: [LowValue], keyTypes: [SQLType], layout: RecordLayout, _ l: LowBuilder) throws -> IRValue {
        let ctx = l.ctx
        let header = perPipeline("header\(state)", l) { $0.call("kiln_rt_agg_header", [ctx, $0.int(state, "i64")], ["!llvm.ptr"]).result }
        let scratch = perPipeline("aggScratch\(state)", l) { $0.call("kiln_rt_agg_scratch", [ctx, $0.int(state, "i64")], ["!llvm.ptr"]).result }
        let hash = keyHash(keys, keyTypes, l)
        let directory = l.load(header, offset: HashTableLayout.directory, "!llvm.ptr")
        let mask = l.load(header, offset: HashTableLayout.mask, "i64")
        let slot = l.op("arith.andi", [hash, mask], "i64")
        let first = l.load(l.gep(directory, index: slot, elementType: "!llvm.ptr"), "!llvm.ptr")

        // while (entry != null && !(entry.hash == hash && keys equal)) entry = entry.next
        let before = IRBlock(arguments: [IRValue(type: "!llvm.ptr")])
        let b = LowBuilder(b: IRBuilder(before), ctx: ctx)
        let entry = before.arguments[0]
        let null = b.op("llvm.mlir.zero", [], "!llvm.ptr")
        let present = b.b.add("llvm.icmp", [entry, null], ["i1"], [("predicate", .integer(1, type: "i64"))]).result
        let matchBlock = IRBlock()
        let m = LowBuilder(b: IRBuilder(matchBlock), ctx: ctx)
        var matches = m.cmpi(0, m.load(entry, offset: HashTableLayout.entryHash, "i64"), hash)
        let stored = m.gep(entry, HashTableLayout.entryRecord)
        for (index, (v, keyType)) in zip(keys, keyTypes).enumerated() {
            let storedValue = m.loadValue(m.gep(stored, layout.offsets[index]), keyType)
            var equal: IRValue
            if keyType.isFloat {
                let ordered = m.cmpf(1, v.value, storedValue)
                let bothNaN = m.and(m.cmpf(14, v.value, v.value), m.cmpf(14, storedValue, storedValue))
                equal = m.or(ordered, bothNaN)
            } else if keyType.physical == .string {
                equal = m.b.add("kiln_low.str_eq", [v.value, storedValue], ["i1"]).result
            } else if keyType == .dynamicNumeric {
                equal = m.cmpi(0, packedKey(v.value, m), packedKey(storedValue, m))
            } else {
                equal = m.cmpi(0, v.value, storedValue)
            }
            if let keyNull = v.null {
                let storedNull = m.fromMemory(m.load(stored, offset: index, "i8"), physical: .bool)
                let sameNullness = m.cmpi(0, keyNull, storedNull)
                equal = m.and(sameNullness, m.or(keyNull, equal))
            }
            matches = m.and(matches, equal)
        }
        m.b.add("scf.yield", [matches])
        let missBlock = IRBlock()
        let miss = LowBuilder(b: IRBuilder(missBlock), ctx: ctx)
        miss.b.add("scf.yield", [miss.bool(false)])
        let found = b.b.add("scf.if", [present], ["i1"], regions: [.single(matchBlock), .single(missBlock)]).result
        let keepLooking = b.and(present, b.not(found))
        b.b.add("scf.condition", [keepLooking, entry])
        let after = IRBlock(arguments: [IRValue(type: "!llvm.ptr")])
        let a = LowBuilder(b: IRBuilder(after), ctx: ctx)
        a.b.add("scf.yield", [a.load(after.arguments[0], offset: HashTableLayout.entryNext, "!llvm.ptr")])
        let hit = l.b.add("scf.while", [first], ["!llvm.ptr"], regions: [.single(before), .single(after)]).result

        // Hit: the entry's record. Miss: keys to scratch, runtime insert.
        let hitBlock = IRBlock()
        let h = LowBuilder(b: IRBuilder(hitBlock), ctx: ctx)
        h.b.add("scf.yield", [h.gep(hit, HashTableLayout.entryRecord)])
        let insertBlock = IRBlock()
        let i = LowBuilder(b: IRBuilder(insertBlock), ctx: ctx)
        for (index, (v, keyType)) in zip(keys, keyTypes).enumerated() {
            i.store(i.nullByte(v.null), scratch, offset: index)
            i.storeValue(v.value, i.gep(scratch, layout.offsets[index]), keyType)
        }
        let inserted = i.call("kiln_rt_agg_insert", [ctx, i.int(state, "i64"), hash], ["!llvm.ptr"]).result
        i.b.add("scf.yield", [inserted])
        let isHit = l.b.add("llvm.icmp", [hit, l.op("llvm.mlir.zero", [], "!llvm.ptr")], ["i1"], [("predicate", .integer(1, type: "i64"))]).result
        return l.b.add("scf.if", [isHit], ["!llvm.ptr"], regions: [.single(hitBlock), .single(insertBlock)]).result
    }
}
