import KilnCore
import KilnSQL

extension Binder {
    /// Binds a scalar function call.
    mutating func bindFunction(_ name: String, _ arguments: [Expression], position: Int, scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        var bound: [BoundExpression] = []
        for argument in arguments { bound.append(try bindExpression(argument, scope: scope, aggregates: aggregates)) }
        func noFunction() -> DatabaseError {
            DatabaseError(.undefinedFunction, "function \(name)(\(bound.map { $0.type.description }.joined(separator: ", "))) does not exist", position: position,
                          hint: "No function matches the given name and argument types. You might need to add explicit type casts.")
        }
        func text(_ index: Int) throws(DatabaseError) -> BoundExpression {
            let argument = bound[index]
            if argument.type.isString { return argument }
            if argument.type == .unknown { return try coerce(argument, to: .text, position: arguments[index].position) }
            throw noFunction()
        }
        /// The arguments cast to their common type (text when all are untyped), as COALESCE,
        /// GREATEST and LEAST need it.
        func toCommonType() throws(DatabaseError) -> [BoundExpression] {
            var type = SQLType.unknown
            for (index, argument) in bound.enumerated() {
                guard let common = TypeRules.commonValue(type, argument.type) else {
                    throw DatabaseError(.datatypeMismatch, "\(name.uppercased()) types \(type) and \(argument.type) cannot be matched", position: arguments[index].position)
                }
                type = common
            }
            if type == .unknown { type = .text }
            var coerced: [BoundExpression] = []
            for (index, argument) in bound.enumerated() { coerced.append(try coerce(argument, to: type, position: arguments[index].position)) }
            return coerced
        }
        func integer(_ index: Int) throws(DatabaseError) -> BoundExpression {
            let argument = bound[index]
            if argument.type == .unknown || argument.type == .smallint || argument.type == .integer {
                return try coerce(argument, to: .integer, position: arguments[index].position)
            }
            throw noFunction()
        }
        switch (name, bound.count) {
        case ("upper", 1), ("lower", 1):
            return .call(name, [try text(0)], type: .text)
        case ("__array_element", 1):
            // An element of ARRAY(subquery)'s text form (`Binder.arrayAsAggregate`).
            return .call("array_element_text", [try text(0)], type: .text, nullable: false)
        case ("length", 1), ("char_length", 1), ("character_length", 1):
            return .call("length", [try text(0)], type: .integer)
        case ("substring", 2), ("substr", 2):
            return .call("substring", [try text(0), try integer(1)], type: .text)
        case ("substring", 3), ("substr", 3):
            return .call("substring", [try text(0), try integer(1), try integer(2)], type: .text)
        case ("position", 2), ("strpos", 2):
            // position(needle IN haystack) arrives as [needle, haystack]; strpos(haystack, needle).
            let (haystack, needle) = name == "position" ? (try text(1), try text(0)) : (try text(0), try text(1))
            return .call("position", [haystack, needle], type: .integer)
        case ("btrim", 1), ("ltrim", 1), ("rtrim", 1), ("trim", 1):
            return .call(name == "trim" ? "btrim" : name, [try text(0)], type: .text)
        case ("btrim", 2), ("ltrim", 2), ("rtrim", 2), ("trim", 2):
            return .call(name == "trim" ? "btrim" : name, [try text(0), try text(1)], type: .text)
        case ("replace", 3):
            return .call("replace", [try text(0), try text(1), try text(2)], type: .text)
        case ("concat", _) where !bound.isEmpty, ("concat_ws", _) where bound.count >= 2:
            // Every argument as its text form (PostgreSQL's output function).
            var texts: [BoundExpression] = []
            for (index, argument) in bound.enumerated() {
                if argument.type == .boolean {
                    // The output function's t / f (a cast to text says true / false).
                    texts.append(.call("case", [argument, .constant(.text("t"), type: .text), .call("case", [.call("is_null", [argument], type: .boolean, nullable: false),
                                 .constant(.null, type: .text), .constant(.text("f"), type: .text)], type: .text, nullable: true)], type: .text, nullable: argument.nullable))
                    continue
                }
                texts.append(argument.type.isString ? argument : argument.type == .unknown
                    ? try coerce(argument, to: .text, position: arguments[index].position)
                    : try cast(argument, to: .text, position: arguments[index].position))
            }
            if name == "concat" { return .call("concat_all", texts, type: .text, nullable: false) }
            return .call("concat_ws", texts, type: .text, nullable: texts[0].nullable)
        case ("repeat", 2):
            return .call("repeat", [try text(0), try integer(1)], type: .text)
        case ("lpad", 2), ("rpad", 2):
            return .call(name, [try text(0), try integer(1)], type: .text)
        case ("lpad", 3), ("rpad", 3):
            return .call(name, [try text(0), try integer(1), try text(2)], type: .text)
        case ("reverse", 1), ("initcap", 1):
            return .call(name, [try text(0)], type: .text)
        case ("split_part", 3):
            return .call("split_part", [try text(0), try text(1), try integer(2)], type: .text)
        case ("starts_with", 2):
            return .call("starts_with", [try text(0), try text(1)], type: .boolean)
        case ("left", 2), ("right", 2):
            return .call(name, [try text(0), try integer(1)], type: .text)
        case ("abs", 1):
            let argument = bound[0].type == .unknown ? try coerce(bound[0], to: .double, position: arguments[0].position) : bound[0]
            guard argument.type.isNumeric else { throw noFunction() }
            return .call("abs", [argument], type: argument.type)
        case ("mod", 2):
            // mod(a, b) is a % b.
            return try bindBinary("%", bound[0], bound[1], position: position, leftPosition: arguments[0].position, rightPosition: arguments[1].position)
        case ("pg_typeof", 1):
            // The argument's type, known when binding (PostgreSQL returns a regtype, which prints so).
            return .constant(.text(bound[0].type.description), type: .text)
        case ("round", 1), ("round", 2):
            var argument = bound[0]
            if argument.type == .unknown || argument.type.isInteger { argument = try coerce(argument, to: .numeric(precision: nil, scale: argument.type.scale), position: arguments[0].position) }
            if argument.type.isFloat {
                guard bound.count == 1 else { throw noFunction() }
                return .call("math_round", [try coerce(argument, to: .double, position: arguments[0].position)], type: .double)
            }
            guard argument.type.isNumericDecimal else { throw noFunction() }
            let digits = bound.count == 2 ? try Binder.constantDigits(bound[1], of: "round", position: arguments[1].position) : 0
            let scale = max(0, min(digits, 38))
            return .call("cast", [argument], type: .numeric(precision: nil, scale: scale), nullable: argument.nullable)
        case ("floor", 1), ("ceil", 1), ("ceiling", 1), ("trunc", 1), ("trunc", 2), ("sign", 1), ("sqrt", 1), ("cbrt", 1), ("exp", 1), ("ln", 1), ("log", 1),
             ("log10", 1), ("degrees", 1), ("radians", 1), ("sin", 1), ("cos", 1), ("tan", 1), ("asin", 1), ("acos", 1), ("atan", 1):
            return try bindMathFunction(name == "ceiling" ? "ceil" : name == "log10" ? "log" : name, bound, arguments, noFunction)
        case ("power", 2), ("pow", 2):
            return try bindBinary("^", bound[0], bound[1], position: position, leftPosition: arguments[0].position, rightPosition: arguments[1].position)
        case ("pi", 0):
            return .constant(.float64(Double.pi), type: .double)
        case ("gcd", 2), ("lcm", 2):
            // Over integers (smallint resolves to integer, as in PostgreSQL).
            let types = bound.map { $0.type == .unknown ? SQLType.integer : $0.type }
            guard types.allSatisfy(\.isInteger) else {
                // Over numerics: at the larger scale of the two (gcd(1.5, 2) is 0.5).
                guard types.allSatisfy({ $0.isInteger || $0.isNumericDecimal }) else { throw noFunction() }
                let operands = try bound.enumerated().map { (i, b) throws(DatabaseError) in try coerce(b, to: .dynamicNumeric, position: arguments[i].position) }
                return .call("numeric_\(name)", operands, type: .dynamicNumeric, nullable: operands.contains { $0.nullable })
            }
            let type: SQLType = types.contains(.bigint) ? .bigint : .integer
            let operands = try bound.enumerated().map { (i, b) throws(DatabaseError) in try coerce(b, to: type, position: arguments[i].position) }
            return .call("int_\(name)", operands, type: type, nullable: operands.contains { $0.nullable })
        case ("div", 2):
            // div(numeric, numeric): integers resolve to numeric, as in PostgreSQL.
            var operands: [BoundExpression] = []
            for (index, argument) in bound.enumerated() {
                let type = argument.type == .unknown ? SQLType.integer : argument.type
                guard type.isInteger || type.isNumericDecimal else { throw noFunction() }
                operands.append(type.isNumericDecimal ? argument : try coerce(argument, to: .numeric(precision: nil, scale: 0), position: arguments[index].position))
            }
            return .call("numeric_div", operands, type: .numeric(precision: nil, scale: 0), nullable: operands.contains { $0.nullable })
        case ("width_bucket", 4):
            // Over numerics when an operand or bound is one (exact), else double precision.
            let exact = bound.prefix(3).contains { $0.type.isNumericDecimal } && !bound.prefix(3).contains { $0.type.isFloat }
            var operands: [BoundExpression] = []
            for (index, argument) in bound.prefix(3).enumerated() {
                guard argument.type.isNumeric || argument.type == .unknown else { throw noFunction() }
                operands.append(try coerce(argument, to: exact ? .dynamicNumeric : .double, position: arguments[index].position))
            }
            guard bound[3].type.isInteger || bound[3].type == .unknown else { throw noFunction() }
            operands.append(try coerce(bound[3], to: .integer, position: arguments[3].position))
            return .call(exact ? "width_bucket_numeric" : "width_bucket_float", operands, type: .integer, nullable: operands.contains { $0.nullable })
        case ("random", 0):
            // Volatile: a new value for every row and every call, never folded or shared.
            return .call("random", [], type: .double, nullable: false)
        case ("coalesce", _) where !bound.isEmpty:
            let coerced = try toCommonType()
            return .call("coalesce", coerced, type: coerced[0].type, nullable: coerced.allSatisfy(\.nullable))
        case ("nullif", 2):
            let equal = try bindBinary("=", bound[0], bound[1], position: position, leftPosition: arguments[0].position, rightPosition: arguments[1].position)
            let type = bound[0].type == .unknown ? SQLType.text : bound[0].type
            return .call("case", [equal, .constant(.null, type: type), try coerce(bound[0], to: type, position: arguments[0].position)], type: type, nullable: true)
        case ("greatest", _) where !bound.isEmpty, ("least", _) where !bound.isEmpty:
            // NULLs are ignored: the result is NULL only when every argument is.
            let coerced = try toCommonType()
            let type = coerced[0].type
            var result = coerced[0]
            for index in 1..<coerced.count {
                let next = coerced[index]
                let better = try bindBinary(name == "greatest" ? ">" : "<", next, result, position: position, leftPosition: arguments[index].position, rightPosition: position)
                let takeNext = BoundExpression.call("or", [.call("is_null", [result], type: .boolean, nullable: false), better], type: .boolean)
                result = .call("case", [takeNext, next, result], type: type, nullable: result.nullable && next.nullable)
            }
            return result
        case ("make_date", 3):
            return .call("make_date", [try integer(0), try integer(1), try integer(2)], type: .date)
        case ("make_timestamp", 6):
            var seconds = bound[5]
            if seconds.type == .unknown || seconds.type.isNumeric { seconds = try coerce(seconds, to: .double, position: arguments[5].position) }
            guard seconds.type == .double else { throw noFunction() }
            return .call("make_timestamp", [try integer(0), try integer(1), try integer(2), try integer(3), try integer(4), seconds], type: .timestamp)
        case ("date_trunc", 2):
            guard case .constant(let unitValue) = bound[0].kind, let unit = unitValue.text, bound[0].type == .unknown || bound[0].type.isString else {
                throw DatabaseError(.featureNotSupported, "date_trunc needs a constant unit", position: arguments[0].position)
            }
            let lowered = unit.lowercased()
            var value = bound[1]
            if value.type == .unknown || value.type == .date { value = try coerce(value, to: .timestamp, position: arguments[1].position) }
            guard value.type == .timestamp else { throw noFunction() }
            guard DateMath.isTruncationUnit(lowered) else {
                throw DatabaseError(.invalidParameterValue, "unit \"\(unit)\" not recognized for type timestamp without time zone", position: arguments[0].position)
            }
            return .call("date_trunc_\(lowered)", [value], type: .timestamp)
        case ("__not_distinct", 2):
            var l = bound[0], r = bound[1]
            if l.type == .unknown { l = try coerce(l, to: r.type == .unknown ? .text : r.type, position: arguments[0].position) }
            if r.type == .unknown { r = try coerce(r, to: l.type, position: arguments[1].position) }
            guard let common = TypeRules.common(l.type, r.type) else { throw noFunction() }
            return .call("not_distinct", [try coerce(l, to: common, position: position), try coerce(r, to: common, position: position)], type: .boolean, nullable: false)
        default:
            if let catalogCall = try bindCatalogFunction(name, bound, arguments, position: position) { return catalogCall }
            if ["repeat", "lpad", "rpad", "reverse", "initcap", "split_part", "starts_with", "upper", "lower", "length", "substring", "abs", "round", "floor", "ceil",
                "ceiling", "trunc", "sign", "sqrt", "cbrt", "exp", "ln", "log", "log10", "power", "pow", "pi", "degrees", "radians", "sin", "cos", "tan", "asin",
                "acos", "atan", "random", "coalesce", "nullif", "position", "strpos", "btrim", "ltrim", "rtrim", "trim", "replace", "left", "right", "greatest", "least", "date_trunc"].contains(name) { throw noFunction() }
            throw DatabaseError(.undefinedFunction, "function \(name)(\(bound.map { $0.type.description }.joined(separator: ", "))) does not exist", position: position,
                                hint: "No function matches the given name and argument types. You might need to add explicit type casts.")
        }
    }
}

extension Binder {
    /// PostgreSQL's mathematical functions of one argument: over numeric, floor, ceil, trunc
    /// (with digits), sign and sqrt are exact numerics (`numeric_<name>`); over integers and
    /// floats, every one is the double precision function (`math_<name>`), as PostgreSQL
    /// resolves an integer argument to float8.
    /// The constant digit count of round(numeric, n) and trunc(numeric, n) (the result's scale
    /// must be known when binding).
    static func constantDigits(_ bound: BoundExpression, of function: String, position: Int) throws(DatabaseError) -> Int {
        guard case .constant(let value) = bound.kind, case .int32(let digits) = try Casts.cast(value, from: bound.type == .unknown ? .text : bound.type, to: .integer) else {
            throw DatabaseError(.featureNotSupported, "\(function)(numeric, n) needs a constant n", position: position)
        }
        return Int(digits)
    }

    mutating func bindMathFunction(_ name: String, _ bound: [BoundExpression], _ arguments: [Expression], _ noFunction: () -> DatabaseError) throws(DatabaseError) -> BoundExpression {
        let argument = bound[0]
        if argument.type.isNumericDecimal {
            switch name {
            case "floor", "ceil", "sign", "trunc" where bound.count == 1:
                return .call("numeric_\(name)", [argument], type: .numeric(precision: nil, scale: 0), nullable: argument.nullable)
            case "trunc":
                let n = max(-38, min(try Binder.constantDigits(bound[1], of: "trunc", position: arguments[1].position), 38))
                return .call("numeric_trunc", [argument, .constant(.int32(Int32(n)), type: .integer)], type: .numeric(precision: nil, scale: max(n, 0)), nullable: argument.nullable)
            case "sqrt":
                return .call("numeric_sqrt", [argument], type: .dynamicNumeric, nullable: argument.nullable)
            default:
                throw DatabaseError(.featureNotSupported, "\(name)(numeric) is not supported yet", position: arguments[0].position,
                                    hint: "Cast the argument to double precision.")
            }
        }
        guard bound.count == 1, argument.type.isNumeric || argument.type == .unknown else { throw noFunction() }
        return .call("math_\(name)", [try coerce(argument, to: .double, position: arguments[0].position)], type: .double, nullable: argument.nullable)
    }
}
