import KilnCore
import KilnSQL
import KilnStorage

extension Binder {
    /// Binds a scalar expression. With `aggregates`, aggregate calls are allowed and become
    /// `__aggN` markers that the grouped-query binder replaces with aggregate output columns.
    mutating func bindExpression(_ expression: Expression, scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        let at = expression.position
        try StackGuard.check(position: at)
        switch expression.kind {
        case .integer(let text):
            if let v = Int32(text) { return .constant(.int32(v), type: .integer) }
            if let v = Int64(text) { return .constant(.int64(v), type: .bigint) }
            guard let (m, s) = DecimalMath.parse(Substring(text)) else {
                throw DatabaseError(.numericValueOutOfRange, "value \"\(text)\" is out of range for type numeric", position: at)
            }
            return .constant(.numeric(m, scale: s), type: .numeric(precision: nil, scale: s))
        case .decimal(let text):
            guard let (m, s) = DecimalMath.parse(Substring(text)) else {
                // Beyond Kiln's 38-digit decimals: an exponent literal (3.4e38, 1e-300) is taken
                // as double precision, where PostgreSQL's unbounded numeric would hold it exactly.
                if text.lowercased().contains("e"), let double = Double(text), double.isFinite {
                    return .constant(.float64(double), type: .double)
                }
                throw DatabaseError(.numericValueOutOfRange, "value \"\(text)\" is out of range for type numeric", position: at)
            }
            return .constant(.numeric(m, scale: s), type: .numeric(precision: nil, scale: s))
        case .string(let text):
            return .constant(.text(text), type: .unknown)
        case .boolean(let b):
            return .constant(.bool(b), type: .boolean)
        case .null:
            return .constant(.null, type: .unknown)
        case .typedLiteral(let typeName, let text):
            return try castConstant(.text(text), from: .text, to: typeName.type, position: at)
        case .column(let parts):
            let index: Int
            do { index = try scope.resolve(parts, position: at) } catch {
                guard error.sqlState != .ambiguousColumn, let outer = try resolveOuter(parts, position: at) else { throw error }
                return outer
            }
            let entry = scope.entries[index]
            return .column(index, type: entry.type, nullable: entry.nullable)
        case .parameter(let n):
            while parameterTypes.count < n { parameterTypes.append(.unknown) }
            return BoundExpression(.parameter(n), type: parameterTypes[n - 1], nullable: true)
        case .unary(let op, let operand):
            let inner = try bindExpression(operand, scope: scope, aggregates: aggregates)
            if op == "not" {
                let b = try coerce(inner, to: .boolean, position: operand.position)
                return .call("not", [b], type: .boolean)
            }
            let numeric = inner.type == .unknown ? try coerce(inner, to: .numeric(precision: nil, scale: 0), position: operand.position) : inner
            guard numeric.type.isNumeric || numeric.type == .interval else {
                throw DatabaseError(.undefinedFunction, "operator does not exist: - \(inner.type)", position: at)
            }
            return .call("neg", [numeric], type: numeric.type)
        case .binary(let op, let left, let right):
            let l = try bindExpression(left, scope: scope, aggregates: aggregates)
            let r = try bindExpression(right, scope: scope, aggregates: aggregates)
            if ["~", "~*", "!~", "!~*"].contains(op) {
                // POSIX regular expression match (PostgreSQL's textregexeq and friends).
                let subject = try coerce(l, to: .text, position: left.position), pattern = try coerce(r, to: .text, position: right.position)
                guard subject.type.isString, pattern.type.isString else {
                    throw DatabaseError(.undefinedFunction, "operator does not exist: \(l.type) \(op) \(r.type)", position: at)
                }
                let match = BoundExpression.call(op.hasSuffix("*") ? "regex_imatch" : "regex_match", [subject, pattern], type: .boolean)
                return op.hasPrefix("!") ? .call("not", [match], type: .boolean) : match
            }
            return try bindBinary(op, l, r, position: at, leftPosition: left.position, rightPosition: right.position)
        case .inSubquery(let operand, let query, let negated):
            return try bindQuantified(negated ? "<>" : "=", operand, query, all: negated, position: at, scope: scope, aggregates: aggregates)
        case .quantified(let op, let operand, let query, let all):
            return try bindQuantified(op, operand, query, all: all, position: at, scope: scope, aggregates: aggregates)
        case .window(let name, let arguments, let star, let specification):
            return try bindWindow(name, arguments, star: star, specification, position: at, scope: scope, aggregates: aggregates)
        case .exists(let query):
            return try bindExistsExpression(query, position: at, scope: scope, aggregates: aggregates)
        case .scalarSubquery(let query):
            do {
                return try bindScalarSubquery(query, position: at, scope: scope, aggregates: aggregates)
            } catch where error.sqlState == .featureNotSupported {
                // A correlation that decorrelation cannot turn into a join: run the subquery per
                // outer row instead (its own error stays the one reported if that fails too).
                do {
                    return try bindApplied(query, mode: .scalar, position: at, scope: scope, aggregates: aggregates)
                } catch let applied {
                    throw applied.sqlState == .featureNotSupported ? error : applied
                }
            }
        case .arraySubquery(let query):
            // As an aggregate subquery, decorrelated; applied per outer row where that fails.
            if let aggregated = Binder.arrayAsAggregate(query, position: at) {
                do {
                    return try bindScalarSubquery(aggregated, position: at, scope: scope, aggregates: aggregates)
                } catch where error.sqlState == .featureNotSupported {}
            }
            return try bindApplied(query, mode: .array, position: at, scope: scope, aggregates: aggregates)
        case .isNull(let operand, let negated):
            let inner = try bindExpression(operand, scope: scope, aggregates: aggregates)
            return .call(negated ? "is_not_null" : "is_null", [inner], type: .boolean, nullable: false)
        case .isBool(let operand, let value, let negated):
            let inner = try coerce(try bindExpression(operand, scope: scope, aggregates: aggregates), to: .boolean, position: operand.position)
            let name = (value ? "is_true" : "is_false") + (negated ? "_not" : "")
            return .call(name, [inner], type: .boolean, nullable: false)
        case .between(let operand, let low, let high, let negated):
            let x = try bindExpression(operand, scope: scope, aggregates: aggregates)
            let lo = try bindExpression(low, scope: scope, aggregates: aggregates)
            let hi = try bindExpression(high, scope: scope, aggregates: aggregates)
            let ge = try bindBinary(">=", x, lo, position: at, leftPosition: operand.position, rightPosition: low.position)
            let le = try bindBinary("<=", x, hi, position: at, leftPosition: operand.position, rightPosition: high.position)
            let both = BoundExpression.call("and", [ge, le], type: .boolean)
            return negated ? .call("not", [both], type: .boolean) : both
        case .inList(let operand, let list, let negated):
            let x = try bindExpression(operand, scope: scope, aggregates: aggregates)
            var items: [BoundExpression] = []
            for item in list { items.append(try bindExpression(item, scope: scope, aggregates: aggregates)) }
            if items.count >= Binder.hashedInListSize, let hashed = try hashedInList(x, items, list, operandPosition: operand.position) {
                return negated ? .call("not", [hashed], type: .boolean, nullable: hashed.nullable) : hashed
            }
            var comparisons: [BoundExpression] = []
            for (item, y) in zip(list, items) {
                comparisons.append(try bindBinary("=", x, y, position: item.position, leftPosition: operand.position, rightPosition: item.position))
            }
            let result = BoundExpression.chain("or", comparisons)
            return negated ? .call("not", [result], type: .boolean) : result
        case .like(let operand, let pattern, let escape, let insensitive, let negated):
            let x = try coerceToText(try bindExpression(operand, scope: scope, aggregates: aggregates), position: operand.position)
            let p = try coerceToText(try bindExpression(pattern, scope: scope, aggregates: aggregates), position: pattern.position)
            var arguments = [x, p]
            if let escape {
                arguments.append(try coerceToText(try bindExpression(escape, scope: scope, aggregates: aggregates), position: escape.position))
            }
            let like = BoundExpression.call(insensitive ? "ilike" : "like", arguments, type: .boolean)
            return negated ? .call("not", [like], type: .boolean) : like
        case .caseWhen(let operand, let whens, let otherwise):
            var conditions: [BoundExpression] = []
            var results: [BoundExpression] = []
            let subject = try operand.map { e throws(DatabaseError) in try bindExpression(e, scope: scope, aggregates: aggregates) }
            for (condition, result) in whens {
                if let subject {
                    let value = try bindExpression(condition, scope: scope, aggregates: aggregates)
                    conditions.append(try bindBinary("=", subject, value, position: condition.position, leftPosition: operand!.position, rightPosition: condition.position))
                } else {
                    conditions.append(try bindCondition(condition, scope: scope, clause: "CASE/WHEN", aggregates: aggregates))
                }
                results.append(try bindExpression(result, scope: scope, aggregates: aggregates))
            }
            var elseValue = try otherwise.map { e throws(DatabaseError) in try bindExpression(e, scope: scope, aggregates: aggregates) } ?? .constant(.null, type: .unknown)
            var type = SQLType.unknown
            for (index, result) in (results + [elseValue]).enumerated() {
                guard let common = TypeRules.commonValue(type, result.type) else {
                    let position = index < whens.count ? whens[index].1.position : (otherwise?.position ?? at)
                    throw DatabaseError(.datatypeMismatch, "CASE types \(type) and \(result.type) cannot be matched", position: position)
                }
                type = common
            }
            if type == .unknown { type = .text }
            var arguments: [BoundExpression] = []
            for (index, condition) in conditions.enumerated() {
                arguments.append(condition)
                arguments.append(try coerce(results[index], to: type, position: whens[index].1.position))
            }
            elseValue = try coerce(elseValue, to: type, position: otherwise?.position ?? at)
            arguments.append(elseValue)
            return .call("case", arguments, type: type, nullable: results.contains { $0.nullable } || elseValue.nullable)
        case .cast(let operand, let typeName):
            let inner = try bindExpression(operand, scope: scope, aggregates: aggregates)
            if let special = try bindCatalogCast(operand, inner, typeName, position: typeName.position) { return special }
            // A literal that does not convert is reported at the literal, as PostgreSQL does.
            let reportAt: Int
            if case .constant = inner.kind { reportAt = operand.position } else { reportAt = typeName.position }
            return try cast(inner, to: typeName.type, position: reportAt)
        case .extract(let field, let operand):
            let inner = try bindExpression(operand, scope: scope, aggregates: aggregates)
            let source = inner.type == .date ? try cast(inner, to: .timestamp, position: operand.position) : inner
            guard source.type == .timestamp else {
                throw DatabaseError(.undefinedFunction, "function extract(unknown, \(inner.type)) does not exist", position: at)
            }
            let known = ["year", "month", "day", "hour", "minute", "second", "quarter", "dow", "isodow", "doy", "decade", "century", "millennium", "epoch"]
            guard known.contains(field) else {
                throw DatabaseError(.featureNotSupported, "unit \"\(field)\" not supported for type \(inner.type)", position: at)
            }
            let scale = field == "second" || field == "epoch" ? 6 : 0
            return .call("extract_" + field, [source], type: .numeric(precision: nil, scale: scale))
        case .function(let name, let arguments, let distinct, let star, let orderBy):
            if name == "grouping", !star, !distinct { return try bindGrouping(arguments, position: at, scope: scope, aggregates: aggregates) }
            if name == "date_part", arguments.count == 2, !star, !distinct {
                // date_part('field', source): extract as double precision, with a constant field.
                let fieldExpression = ConstantFolding.fold(try bindExpression(arguments[0], scope: scope, aggregates: aggregates))
                guard case .constant(let value) = fieldExpression.kind, let field = value.text else {
                    throw DatabaseError(.featureNotSupported, "date_part needs a constant field name", position: arguments[0].position)
                }
                let extracted = try bindExpression(Expression(.extract(field: field.lowercased(), arguments[1]), at: at), scope: scope, aggregates: aggregates)
                return try cast(extracted, to: .double, position: at)
            }
            if Binder.aggregateNames.contains(name) {
                return try bindAggregate(name, arguments, distinct: distinct, star: star, orderBy: orderBy, position: at, scope: scope, aggregates: aggregates)
            }
            return try bindFunction(name, arguments, position: at, scope: scope, aggregates: aggregates)
        }
    }

    mutating func bindAggregate(_ name: String, _ arguments: [Expression], distinct: Bool, star: Bool, orderBy: [OrderItem] = [], position: Int, scope: Scope,
                                aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        guard let aggregates else {
            throw DatabaseError(.groupingError, "aggregate functions are not allowed here", position: position)
        }
        if star {
            guard name == "count" else { throw DatabaseError(.syntaxError, "\(name)(*) is not a valid aggregate", position: position) }
            let index = aggregates.add(AggregateCall(function: "count_star", argument: nil, type: .bigint, distinct: false))
            return .call("__agg\(index)", [], type: .bigint, nullable: false)
        }
        // Only string_agg's result depends on its input's order; the others' ORDER BY is
        // bound (and checked) all the same.
        let order = try bindAggregateOrder(orderBy, arguments: arguments, distinct: distinct, scope: scope)
        if name == "string_agg" { return try bindStringAggregate(arguments, distinct: distinct, order: order, position: position, scope: scope, aggregates: aggregates) }
        if let final = Binder.varianceFunctions[name] {
            return try bindVariance(final, arguments, distinct: distinct, position: position, scope: scope, aggregates: aggregates)
        }
        guard arguments.count == 1 else {
            throw DatabaseError(.undefinedFunction, "function \(name) with \(arguments.count) arguments does not exist", position: position)
        }
        if Binder.containsAggregate(arguments[0]) {
            throw DatabaseError(.groupingError, "aggregate function calls cannot be nested", position: Binder.aggregatePosition(arguments[0]) ?? position)
        }
        let (argument, type) = try aggregateArgument(name, try bindExpression(arguments[0], scope: scope, aggregates: nil), position: position, argumentPosition: arguments[0].position)
        let index = aggregates.add(AggregateCall(function: name, argument: argument, type: type, distinct: distinct))
        return .call("__agg\(index)", [], type: type, nullable: name != "count")
    }

    /// `string_agg(x, separator)`: each non-null value prefixed with the (constant) separator is
    /// appended to the state; the first separator is cut from the result.
    mutating func bindStringAggregate(_ arguments: [Expression], distinct: Bool, order: [AggregateOrderKey], position: Int, scope: Scope,
                                      aggregates: AggregateCollector) throws(DatabaseError) -> BoundExpression {
        guard arguments.count == 2 else {
            throw DatabaseError(.undefinedFunction, "function string_agg with \(arguments.count) arguments does not exist", position: position,
                                hint: order.isEmpty ? nil : "Perhaps you misplaced ORDER BY; ORDER BY must appear after all regular arguments of the aggregate.")
        }
        let value = try coerceToText(try bindExpression(arguments[0], scope: scope, aggregates: nil), position: arguments[0].position)
        let separatorExpression = try bindExpression(arguments[1], scope: scope, aggregates: nil)
        guard case .constant(let separatorValue) = ConstantFolding.fold(separatorExpression).kind, let separator = separatorValue.text else {
            throw DatabaseError(.featureNotSupported, "string_agg needs a constant separator", position: arguments[1].position)
        }
        var prefixed = BoundExpression.call("concat", [.constant(.text(separator), type: .text), value], type: .text, nullable: value.nullable)
        if !order.isEmpty {
            // Each value travels with its sort key (`AggregateOrder`); the final step sorts.
            let directions = order.map { ($0.descending ? "d" : "a") + ($0.nullsFirst ? "f" : "l") }.joined()
            prefixed = .call("ordered_record", [.constant(.text(directions), type: .text), prefixed] + order.map(\.expression), type: .text, nullable: value.nullable)
        }
        // DISTINCT: of the prefixed values (and keys: DISTINCT sorts by arguments only), which
        // are distinct exactly when the values are.
        let index = aggregates.add(AggregateCall(function: "string_agg", argument: prefixed, type: .text, distinct: distinct))
        var state = BoundExpression.call("__agg\(index)", [], type: .text, nullable: true)
        if !order.isEmpty { state = .call("ordered_records_concat", [state], type: .text, nullable: true) }
        return .call("substring", [state, .constant(.int32(Int32(separator.count + 1)), type: .integer)], type: .text, nullable: true)
    }

    /// One item of an aggregate's ORDER BY, bound over the aggregate's input rows.
    struct AggregateOrderKey {
        var expression: BoundExpression
        var descending: Bool
        /// PostgreSQL's default filled in: NULLS LAST ascending, NULLS FIRST descending.
        var nullsFirst: Bool
    }

    /// An aggregate's `ORDER BY` items. With DISTINCT each must be one of the arguments
    /// (PostgreSQL's rule: the distinct argument values are what is sorted).
    mutating func bindAggregateOrder(_ items: [OrderItem], arguments: [Expression], distinct: Bool, scope: Scope) throws(DatabaseError) -> [AggregateOrderKey] {
        var keys: [AggregateOrderKey] = []
        var boundArguments: [BoundExpression]?
        for item in items {
            if let nested = Binder.aggregatePosition(item.expression) {
                throw DatabaseError(.groupingError, "aggregate function calls cannot be nested", position: nested)
            }
            let expression = try bindExpression(item.expression, scope: scope, aggregates: nil)
            if distinct {
                if boundArguments == nil {
                    boundArguments = []
                    for argument in arguments where Binder.subqueryPosition(argument) == nil && !Binder.containsAggregate(argument) {
                        boundArguments!.append(try bindExpression(argument, scope: scope, aggregates: nil))
                    }
                }
                guard boundArguments!.contains(expression) else {
                    throw DatabaseError(.invalidColumnReference, "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
                                        position: item.expression.position)
                }
            }
            keys.append(AggregateOrderKey(expression: expression, descending: item.descending, nullsFirst: item.nullsFirst ?? item.descending))
        }
        return keys
    }

    /// `grouping(k, ...)`: which of the named GROUP BY keys the row's grouping set leaves out,
    /// as bits (the first key the highest). Its value is a column of the grouped relation
    /// (`Binder.groupingSets`).
    mutating func bindGrouping(_ arguments: [Expression], position: Int, scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        guard let aggregates, let keys = groupingKeys else {
            throw DatabaseError(.groupingError, "grouping operations are not allowed here", position: position)
        }
        guard !arguments.isEmpty, arguments.count <= 31 else {
            throw DatabaseError(SQLState("54023"), "GROUPING must have fewer than 32 arguments", position: position)
        }
        var named: [Int] = []
        for argument in arguments {
            let bound = try bindExpression(argument, scope: scope, aggregates: nil)
            guard let key = keys.firstIndex(of: bound) else {
                throw DatabaseError(.groupingError, "arguments to GROUPING must be grouping expressions of the associated query level", position: argument.position)
            }
            named.append(key)
        }
        return .call("__grouping\(aggregates.addGrouping(named))", [], type: .integer, nullable: false)
    }

    /// The variance family and the final function each one ends in.
    static let varianceFunctions: [String: String] = [
        "variance": "var_samp_final", "var_samp": "var_samp_final", "var_pop": "var_pop_final",
        "stddev": "stddev_samp_final", "stddev_samp": "stddev_samp_final", "stddev_pop": "stddev_pop_final",
    ]

    /// `var_samp(x)` and its family: count(x), sum(x) and sum(x * x) as three aggregates (x as
    /// numeric for integer and numeric inputs, exact as in PostgreSQL; as double precision for
    /// floating ones), and the final function over them. The result is numeric or double
    /// precision, as PostgreSQL's.
    mutating func bindVariance(_ final: String, _ arguments: [Expression], distinct: Bool, position: Int, scope: Scope, aggregates: AggregateCollector) throws(DatabaseError) -> BoundExpression {
        guard arguments.count == 1 else {
            throw DatabaseError(.undefinedFunction, "function \(final.dropLast(6)) with \(arguments.count) arguments does not exist", position: position)
        }
        if Binder.containsAggregate(arguments[0]) {
            throw DatabaseError(.groupingError, "aggregate function calls cannot be nested", position: Binder.aggregatePosition(arguments[0]) ?? position)
        }
        var argument = try bindExpression(arguments[0], scope: scope, aggregates: nil)
        let at = arguments[0].position
        let resultType: SQLType
        if argument.type.isFloat {
            argument = try coerce(argument, to: .double, position: at)
            resultType = .double
        } else if argument.type == .unknown || argument.type.isInteger || argument.type.isNumericDecimal {
            // Exact, as PostgreSQL's: a static scale of at most 10 (so that the squares keep
            // their digits), or each value's own; the result's scale comes from the values.
            if argument.type != .dynamicNumeric {
                let scale = min(argument.type == .unknown ? 0 : argument.type.scale, 10)
                argument = try cast(argument, to: .numeric(precision: nil, scale: scale), position: at)
            }
            resultType = .dynamicNumeric
        } else {
            throw DatabaseError(.undefinedFunction, "function \(final.replacingAll("_final", with: ""))(\(argument.type)) does not exist", position: position,
                                hint: "No function matches the given name and argument types. You might need to add explicit type casts.")
        }
        if distinct {
            // The squares would need the distinct values of x, not of x * x (x and -x differ).
            throw DatabaseError(.featureNotSupported, "\(final.replacingAll("_final", with: ""))(DISTINCT ...) is not supported yet", position: position)
        }
        let square = try bindBinary("*", argument, argument, position: at, leftPosition: at, rightPosition: at)
        // An integer's count and sum read the integer itself (summed as numeric): the same
        // aggregates as `avg(x)` beside it, computed once.
        var counted = argument
        if case .call("cast", let inner) = argument.kind, inner.count == 1, inner[0].type.isInteger { counted = inner[0] }
        let count = aggregates.add(AggregateCall(function: "count", argument: counted, type: .bigint, distinct: false))
        let sum = aggregates.add(AggregateCall(function: "sum", argument: counted, type: argument.type, distinct: false))
        let squares = aggregates.add(AggregateCall(function: "sum", argument: square, type: square.type, distinct: false))
        return .call(final, [.call("__agg\(count)", [], type: .bigint, nullable: false), .call("__agg\(sum)", [], type: argument.type, nullable: true),
                             .call("__agg\(squares)", [], type: square.type, nullable: true)], type: resultType, nullable: true)
    }

    /// Lists at least this long are a hash-set probe (`in_list`) when every item is a constant;
    /// shorter ones stay comparisons joined by OR (which index lookups and SIMD filters read).
    static let hashedInListSize = 16

    /// `x IN (c1, ..., cn)` over constants as `in_list(x, '{k1,...,kn}')`: one probe of a hash
    /// set the runtime makes per execution (`InListSet`), not n comparisons a row (1M rows
    /// against 1,000 constants took 20 s). The value and the constants take their common type,
    /// as `=` would give each pair; each constant is written as its key (the integer of an
    /// integer, date or timestamp, a decimal's mantissa at the common scale, a string's text).
    /// Nil (comparisons instead) for other types or a non-constant item.
    mutating func hashedInList(_ x: BoundExpression, _ items: [BoundExpression], _ list: [Expression], operandPosition: Int) throws(DatabaseError) -> BoundExpression? {
        var type = x.type
        for item in items {
            guard case .constant = ConstantFolding.fold(item).kind, let common = TypeRules.common(type, item.type) else { return nil }
            type = common
        }
        if type == .unknown { type = .text }
        switch type {
        // (Unconstrained numerics compare without their scales: comparisons, not a set of bits.)
        case .smallint, .integer, .bigint, .date, .timestamp, .numeric, .text, .varchar: break
        default: return nil
        }
        if case .varchar = type { type = .text }
        let value = try coerce(x, to: type, position: operandPosition)
        var keys: [String?] = []
        for (item, expression) in zip(items, list) {
            guard case .constant(let constant) = ConstantFolding.fold(try coerce(item, to: type, position: expression.position)).kind else { return nil }
            if constant.isNull {
                keys.append(nil)
                continue
            }
            guard let key = ScalarFunctions.inListKey(constant, scale: type.scale) else { return nil }
            keys.append(key)
        }
        let set = BoundExpression.constant(.text(ArrayText.format(keys)), type: .text)
        return .call("in_list", [value, set], type: .boolean, nullable: value.nullable || keys.contains(nil))
    }

    /// An aggregate's argument (cast as the aggregate needs it) and result type.
    mutating func aggregateArgument(_ name: String, _ bound: BoundExpression, position: Int, argumentPosition: Int) throws(DatabaseError) -> (BoundExpression, SQLType) {
        var argument = bound
        if argument.type == .unknown { argument = try coerce(argument, to: name == "count" ? .text : .numeric(precision: nil, scale: 0), position: argumentPosition) }
        let type: SQLType
        switch name {
        case "count": type = .bigint
        case "sum":
            switch argument.type {
            case .smallint, .integer: type = .bigint
            case .bigint: type = .numeric(precision: nil, scale: 0)
            case .numeric(_, let s): type = .numeric(precision: nil, scale: s)
            case .dynamicNumeric: type = .dynamicNumeric
            case .real: type = .real
            case .double: type = .double
            case .interval: type = .interval
            default: throw DatabaseError(.undefinedFunction, "function sum(\(argument.type)) does not exist", position: position)
            }
        case "avg":
            switch argument.type {
            // The sum divided by the count, at the scale PostgreSQL's division picks for the values.
            case .smallint, .integer, .bigint, .numeric, .dynamicNumeric: type = .dynamicNumeric
            case .real, .double: type = .double
            case .interval: type = .interval
            default: throw DatabaseError(.undefinedFunction, "function avg(\(argument.type)) does not exist", position: position)
            }
        default:  // min, max
            if argument.type == .boolean {
                throw DatabaseError(.undefinedFunction, "function \(name)(boolean) does not exist", position: position)
            }
            type = argument.type.isString ? .text : argument.type
            if argument.type.isString { argument = try coerce(argument, to: .text, position: position) }
        }
        return (argument, type)
    }

    mutating func coerceToText(_ expression: BoundExpression, position: Int) throws(DatabaseError) -> BoundExpression {
        if expression.type.isString { return expression }
        if expression.type == .unknown { return try coerce(expression, to: .text, position: position) }
        throw DatabaseError(.undefinedFunction, "operator does not exist: \(expression.type) ~~ text", position: position,
                            hint: "No operator matches the given name and argument types. You might need to add explicit type casts.")
    }

    /// Binds `left op right` with PostgreSQL's operator resolution.
    mutating func bindBinary(_ op: String, _ left: BoundExpression, _ right: BoundExpression, position: Int, leftPosition: Int, rightPosition: Int) throws(DatabaseError) -> BoundExpression {
        func noOperator() -> DatabaseError {
            DatabaseError(.undefinedFunction, "operator does not exist: \(left.type) \(op) \(right.type)", position: position,
                          hint: "No operator matches the given name and argument types. You might need to add explicit type casts.")
        }
        var l = left
        var r = right
        switch op {
        case "and", "or":
            l = try coerce(l, to: .boolean, position: leftPosition)
            r = try coerce(r, to: .boolean, position: rightPosition)
            return .call(op, [l, r], type: .boolean)
        case "||":
            if l.type == .unknown { l = try coerce(l, to: .text, position: leftPosition) }
            if r.type == .unknown { r = try coerce(r, to: .text, position: rightPosition) }
            guard l.type.isString || r.type.isString else { throw noOperator() }
            if !l.type.isString { l = try cast(l, to: .text, position: leftPosition) }
            if !r.type.isString { r = try cast(r, to: .text, position: rightPosition) }
            return .call("concat", [l, r], type: .text)
        case "=", "<>", "<", "<=", ">", ">=":
            if l.type == .unknown && r.type == .unknown {
                l = try coerce(l, to: .text, position: leftPosition)
                r = try coerce(r, to: .text, position: rightPosition)
            } else if l.type == .unknown {
                l = try coerce(l, to: r.type, position: leftPosition)
            } else if r.type == .unknown {
                r = try coerce(r, to: l.type, position: rightPosition)
            }
            guard let common = TypeRules.common(l.type, r.type), common != .interval || l.type == r.type else { throw noOperator() }
            l = try coerce(l, to: common, position: leftPosition)
            r = try coerce(r, to: common, position: rightPosition)
            let names = ["=": "eq", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"]
            return .call(names[op]!, [l, r], type: .boolean)
        case "+", "-", "*", "/", "%", "^":
            // Date and time arithmetic.
            if l.type == .unknown, r.type == .date || r.type == .timestamp || r.type == .interval {
                let factor = op == "*" && r.type == .interval
                l = try coerce(l, to: factor ? .double : op == "-" && r.type != .interval ? r.type : (r.type == .interval ? .timestamp : .integer), position: leftPosition)
            }
            if r.type == .unknown, l.type == .date || l.type == .timestamp {
                r = try coerce(r, to: .interval, position: rightPosition)
            }
            if r.type == .unknown, l.type == .interval, op == "*" || op == "/" {
                r = try coerce(r, to: .double, position: rightPosition)
            }
            switch (l.type, op, r.type) {
            case (.date, "+", _) where r.type.isInteger, (.date, "-", _) where r.type.isInteger:
                return .call(op == "+" ? "date_add_days" : "date_sub_days", [l, try coerce(r, to: .integer, position: rightPosition)], type: .date)
            case (_, "+", .date) where l.type.isInteger:
                return .call("date_add_days", [r, try coerce(l, to: .integer, position: leftPosition)], type: .date)
            case (.date, "-", .date):
                return .call("date_diff", [l, r], type: .integer)
            case (.date, "+", .interval), (.date, "-", .interval):
                let ts = try cast(l, to: .timestamp, position: leftPosition)
                return .call(op == "+" ? "ts_add_interval" : "ts_sub_interval", [ts, r], type: .timestamp)
            case (.interval, "+", .date):
                return .call("ts_add_interval", [try cast(r, to: .timestamp, position: rightPosition), l], type: .timestamp)
            case (.timestamp, "+", .interval), (.timestamp, "-", .interval):
                return .call(op == "+" ? "ts_add_interval" : "ts_sub_interval", [l, r], type: .timestamp)
            case (.interval, "+", .timestamp):
                return .call("ts_add_interval", [r, l], type: .timestamp)
            case (.timestamp, "-", .timestamp):
                return .call("ts_diff", [l, r], type: .interval)
            case (.interval, "+", .interval), (.interval, "-", .interval):
                return .call(op == "+" ? "add" : "sub", [l, r], type: .interval)
            // Scaling an interval: PostgreSQL's `interval * float8`, `float8 * interval`, `interval / float8`.
            case (.interval, "*", _) where r.type.isNumeric, (.interval, "/", _) where r.type.isNumeric:
                return .call(op == "*" ? "interval_mul" : "interval_div", [l, try cast(r, to: .double, position: rightPosition)], type: .interval)
            case (_, "*", .interval) where l.type.isNumeric:
                return .call("interval_mul", [r, try cast(l, to: .double, position: leftPosition)], type: .interval)
            default: break
            }
            if l.type == .unknown { l = try coerce(l, to: r.type.isNumeric ? r.type : .numeric(precision: nil, scale: 0), position: leftPosition) }
            if r.type == .unknown { r = try coerce(r, to: l.type.isNumeric ? l.type : .numeric(precision: nil, scale: 0), position: rightPosition) }
            guard var common = TypeRules.commonNumeric(l.type, r.type) else { throw noOperator() }
            if op == "^" { common = common.isNumericDecimal ? .dynamicNumeric : .double }
            if op == "%" && common.isFloat { throw noOperator() }
            l = try coerce(l, to: common, position: leftPosition)
            r = try coerce(r, to: common, position: rightPosition)
            let names = ["+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "^": "pow"]
            var resultType = common
            if case .numeric = common {
                switch op {
                case "*":
                    // Each side keeps its own scale; the product's scale is their sum.
                    let leftSource = left.type == .unknown ? l : left
                    let rightSource = right.type == .unknown ? r : right
                    l = try coerce(leftSource, to: .numeric(precision: nil, scale: leftSource.type.scale), position: leftPosition)
                    r = try coerce(rightSource, to: .numeric(precision: nil, scale: rightSource.type.scale), position: rightPosition)
                    resultType = .numeric(precision: nil, scale: l.type.scale + r.type.scale)
                // A quotient's scale depends on the values (PostgreSQL's select_div_scale).
                case "/": resultType = .dynamicNumeric
                default: resultType = .numeric(precision: nil, scale: common.scale)
                }
            }
            return .call(names[op]!, [l, r], type: resultType)
        default:
            throw noOperator()
        }
    }

    /// Implicit conversion (assignment/operator context). Literals convert at bind time.
    mutating func coerce(_ expression: BoundExpression, to type: SQLType, position: Int) throws(DatabaseError) -> BoundExpression {
        if expression.type == type { return expression }
        // Dropping a decimal's precision at the same scale changes no value: relabel, no cast.
        if case .numeric(_, let s1) = expression.type, case .numeric(nil, let s2) = type, s1 == s2 {
            var relabeled = expression
            relabeled.type = type
            return relabeled
        }
        if case .parameter(let n) = expression.kind, expression.type == .unknown {
            parameterTypes[n - 1] = type
            return BoundExpression(.parameter(n), type: type, nullable: true)
        }
        if case .constant(let value) = expression.kind, expression.type == .unknown {
            if value.isNull { return .constant(.null, type: type) }
            return try castConstant(value, from: .text, to: type, position: position)
        }
        if expression.type == .unknown { return try cast(expression, to: type, position: position) }
        // Implicit casts PostgreSQL allows: numeric widening, string <-> string, date -> timestamp.
        let allowed = (expression.type.isNumeric && type.isNumeric && (TypeRules.numericRank(expression.type)! <= TypeRules.numericRank(type)!))
            || (expression.type.isString && type.isString) || (expression.type == .date && type == .timestamp)
            || (expression.type.isNumericDecimal && type.isNumericDecimal)
        guard allowed else {
            throw DatabaseError(.datatypeMismatch, "cannot convert type \(expression.type) to \(type) implicitly", position: position,
                                hint: "You will need to rewrite or cast the expression.")
        }
        return try cast(expression, to: type, position: position)
    }

    /// An explicit CAST. Constants are converted now (so a bad literal fails at bind time, as in PostgreSQL).
    mutating func cast(_ expression: BoundExpression, to requested: SQLType, position: Int) throws(DatabaseError) -> BoundExpression {
        var type = requested
        if case .numeric(nil, 0) = requested {
            // Unconstrained NUMERIC keeps the scale of the value (statically: of its type).
            if case .constant(let value) = expression.kind, !value.isNull {
                if let (_, s) = value.text.flatMap({ DecimalMath.parse(Substring($0)) }), expression.type == .unknown || expression.type.isNumeric || expression.type.isString {
                    type = .numeric(precision: nil, scale: s)
                }
            } else if case .numeric = expression.type {
                type = .numeric(precision: nil, scale: expression.type.scale)
            } else if !expression.type.isInteger {
                // Floating values, text and unconstrained numerics have no static scale: each
                // value keeps its own.
                type = .dynamicNumeric
            }
        }
        if expression.type == type { return expression }
        if case .constant(let value) = expression.kind {
            return try castConstant(value, from: expression.type == .unknown ? .text : expression.type, to: type, position: position)
        }
        if case .parameter(let n) = expression.kind, expression.type == .unknown {
            parameterTypes[n - 1] = type
            return BoundExpression(.parameter(n), type: type, nullable: true)
        }
        guard TypeRules.canCast(expression.type, to: type) else {
            throw DatabaseError(.cannotCoerce, "cannot cast type \(expression.type) to \(type)", position: position)
        }
        return .call("cast", [expression], type: type, nullable: expression.nullable)
    }

    func castConstant(_ value: Value, from: SQLType, to type: SQLType, position: Int) throws(DatabaseError) -> BoundExpression {
        do {
            let converted = try Casts.cast(value, from: from, to: type)
            return .constant(converted, type: type)
        } catch {
            var located = error
            located.position = position
            throw located
        }
    }
}

extension Binder {
    /// Converts a value for storage in `column` (PostgreSQL's assignment cast rules).
    public mutating func assign(_ expression: BoundExpression, to column: ColumnInfo, position: Int) throws(DatabaseError) -> BoundExpression {
        let target = column.type
        if expression.type == target { return expression }
        if expression.type == .unknown { return try coerce(expression, to: target, position: position) }
        let compatible = (expression.type.isNumeric && target.isNumeric) || (expression.type.isString && target.isString)
            || (expression.type == .date && target == .timestamp) || (expression.type == .timestamp && target == .date)
            || target.isString
        guard compatible else {
            throw DatabaseError(.datatypeMismatch, "column \"\(column.name)\" is of type \(target) but expression is of type \(expression.type)", position: position,
                                hint: "You will need to rewrite or cast the expression.")
        }
        return try cast(expression, to: target, position: position)
    }
}
