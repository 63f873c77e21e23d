import KilnCore

/// Evaluates operations whose operands are all constants once, at planning time, so that
/// `l_shipdate <= date '1998-12-01' - interval '90' day` compares with one constant instead
/// of computing it per row. An operation that fails (division by zero, overflow) stays as it
/// is and fails only if a row evaluates it (`CASE WHEN false THEN 1/0 END` never does).
public enum ConstantFolding {
    public static func fold(_ e: BoundExpression) -> BoundExpression {
        guard case .call(let name, let args) = e.kind else { return e }
        let folded = args.map(fold)
        let rebuilt = BoundExpression(.call(name, folded), type: e.type, nullable: e.nullable)
        guard !name.hasPrefix("__") else { return rebuilt }
        var values: [Value] = []
        for arg in folded {
            guard case .constant(let v) = arg.kind else { return rebuilt }
            values.append(v)
        }
        guard let value = try? evaluate(name, values, argumentTypes: folded.map(\.type), resultType: e.type) else { return rebuilt }
        return .constant(value, type: e.type)
    }

    /// Operations the runtime library implements for every operand type it is given.
    static let library: Set<String> = ["cast", "concat", "concat_ws", "concat_all", "repeat", "lpad", "rpad", "reverse", "split_part", "initcap", "starts_with", "var_samp_final", "var_pop_final", "stddev_samp_final", "stddev_pop_final", "upper", "lower", "length", "substring", "position", "btrim", "ltrim", "rtrim",
                                       "replace", "left", "right", "like", "ilike", "date_add_days", "date_sub_days", "date_diff",
                                       "ts_add_interval", "ts_sub_interval", "ts_diff", "interval_mul", "interval_div", "in_list", "pow"]

    static func evaluate(_ name: String, _ v: [Value], argumentTypes: [SQLType], resultType: SQLType) throws(DatabaseError) -> Value? {
        switch name {
        case "and":
            if v.contains(.bool(false)) { return .bool(false) }
            return v.contains(where: \.isNull) ? .null : .bool(true)
        case "or":
            if v.contains(.bool(true)) { return .bool(true) }
            return v.contains(where: \.isNull) ? .null : .bool(false)
        case "not":
            guard case .bool(let b) = v[0] else { return .null }
            return .bool(!b)
        case "is_null": return .bool(v[0].isNull)
        case "is_not_null": return .bool(!v[0].isNull)
        case "coalesce": return v.first { !$0.isNull } ?? .null
        case "case":
            var index = 0
            while index + 1 < v.count {
                if v[index] == .bool(true) { return v[index + 1] }
                index += 2
            }
            return v[v.count - 1]
        case "eq", "ne", "lt", "le", "gt", "ge":
            // Operands of one type compare in the runtime library (NULL in, NULL out).
            guard argumentTypes[0] == argumentTypes[1] else { return nil }
            return try ScalarFunctions.evaluate(name, v, argumentTypes: argumentTypes, resultType: resultType)
        case "add", "sub", "mul", "div", "mod", "neg":
            if v.contains(where: \.isNull) { return .null }
            return try arithmetic(name, v, argumentTypes: argumentTypes, resultType: resultType)
        default:
            let prefix = name.hasPrefix("extract_") || name.hasPrefix("date_trunc_")
            guard library.contains(name) || prefix else { return nil }
            return try ScalarFunctions.evaluate(name, v, argumentTypes: argumentTypes, resultType: resultType)
        }
    }

    static func arithmetic(_ name: String, _ v: [Value], argumentTypes: [SQLType], resultType: SQLType) throws(DatabaseError) -> Value? {
        if argumentTypes[0] == .interval || resultType == .interval || resultType == .date || resultType == .timestamp {
            return name == "mul" || name == "div" || name == "mod" ? nil : try ScalarFunctions.evaluate(name, v, argumentTypes: argumentTypes, resultType: resultType)
        }
        func integer(_ x: Value) -> Int64? {
            switch x {
            case .int16(let a): return Int64(a)
            case .int32(let a): return Int64(a)
            case .int64(let a): return a
            default: return nil
            }
        }
        func wrap(_ r: Int64) -> Value? {
            switch resultType {
            case .smallint: return Int16(exactly: r).map(Value.int16)
            case .integer: return Int32(exactly: r).map(Value.int32)
            case .bigint: return .int64(r)
            default: return nil
            }
        }
        if resultType.isInteger, let a = integer(v[0]) {
            if name == "neg" { return a == Int64.min ? nil : wrap(-a) }
            guard let b = integer(v[1]) else { return nil }
            let (r, overflow): (Int64, Bool)
            switch name {
            case "add": (r, overflow) = a.addingReportingOverflow(b)
            case "sub": (r, overflow) = a.subtractingReportingOverflow(b)
            case "mul": (r, overflow) = a.multipliedReportingOverflow(by: b)
            case "div": if b == 0 { return nil }; (r, overflow) = a.dividedReportingOverflow(by: b)
            default: if b == 0 { return nil }; (r, overflow) = a.remainderReportingOverflow(dividingBy: b)
            }
            return overflow ? nil : wrap(r)
        }
        if resultType.isFloat {
            func real(_ x: Value) -> Double? {
                switch x {
                case .float32(let a): return Double(a)
                case .float64(let a): return a
                default: return nil
                }
            }
            guard let a = real(v[0]) else { return nil }
            if name == "neg" { return resultType == .real ? .float32(Float(-a)) : .float64(-a) }
            guard let b = real(v[1]), name != "mod" else { return nil }
            if name == "div" && b == 0 { return nil }
            let r = name == "add" ? a + b : name == "sub" ? a - b : name == "mul" ? a * b : a / b
            guard r.isFinite || !a.isFinite || !b.isFinite else { return nil }
            return resultType == .real ? .float32(Float(r)) : .float64(r)
        }
        if resultType == .dynamicNumeric {
            // Each value's own scale, as the runtime computes it; an error is left to the run.
            func decimal(_ value: Value) -> (Int128, Int)? {
                switch value {
                case .numeric(let m, let s): return (m, s)
                case .int16(let x): return (Int128(x), 0)
                case .int32(let x): return (Int128(x), 0)
                case .int64(let x): return (Int128(x), 0)
                default: return nil
                }
            }
            guard let (a, sa) = decimal(v[0]) else { return nil }
            if name == "neg" { return .numeric(-a, scale: sa) }
            guard v.count > 1, let (b, sb) = decimal(v[1]) else { return nil }
            let result: (Int128, Int)? = switch name {
            case "add", "sub": try? DecimalMath.add(a, scale: sa, b, scale: sb, subtract: name == "sub")
            case "mul": try? DecimalMath.multiply(a, scale: sa, b, scale: sb)
            case "div": try? DecimalMath.divide(a, scale: sa, by: b, scale: sb)
            default: nil
            }
            guard let (m, s) = result, (try? PackedNumeric.pack(m, scale: s)) != nil else { return nil }
            return .numeric(m, scale: s)
        }
        if case .numeric(let p, let scale) = resultType {
            guard case .numeric(let a, let sa) = v[0] else { return nil }
            if name == "neg" { return .numeric(-a, scale: sa) }
            guard case .numeric(let b, let sb) = v[1] else { return nil }
            let result: Int128?
            switch name {
            case "add", "sub":
                guard let x = DecimalMath.rescale(a, from: sa, to: scale), let y = DecimalMath.rescale(b, from: sb, to: scale) else { return nil }
                let (r, overflow) = name == "add" ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y)
                result = overflow ? nil : r
            case "mul":
                let (r, overflow) = a.multipliedReportingOverflow(by: b)
                result = overflow ? nil : DecimalMath.rescale(r, from: sa + sb, to: scale)
            case "div":
                guard b != 0 else { return nil }
                result = DecimalMath.divide(a, scale: sa, by: b, scale: sb, resultScale: scale)
            default:
                return nil
            }
            guard let result, DecimalMath.fits(result, precision: p ?? 38) else { return nil }
            return .numeric(result, scale: scale)
        }
        return nil
    }
}
