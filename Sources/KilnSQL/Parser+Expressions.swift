import KilnCore

extension Parser {
    /// Parses one scalar expression with PostgreSQL's operator precedence.
    public mutating func parseExpression() throws(DatabaseError) -> Expression {
        try StackGuard.check(position: position)
        return try parseOr()
    }

    /// Expressions nest at most this deep (`Expression.height`): deeper input gets 54001, as
    /// PostgreSQL's stack depth limit gives, instead of overflowing a stack in a later pass.
    public static let maxExpressionHeight = 5000

    /// A node of the tree, refused when the tree gets too high.
    mutating func node(_ kind: Expression.Kind, at position: Int) throws(DatabaseError) -> Expression {
        let expression = Expression(kind, at: position)
        if expression.height > Parser.maxExpressionHeight {
            throw DatabaseError(.stackDepthLimitExceeded, "stack depth limit exceeded", position: position,
                                hint: "Expressions nest at most \(Parser.maxExpressionHeight) levels deep (a chain of operators is one level per operator); simplify the statement.")
        }
        return expression
    }

    mutating func parseOr() throws(DatabaseError) -> Expression {
        try parseAssociativeChain("or") { parser throws(DatabaseError) in try parser.parseAnd() }
    }

    mutating func parseAnd() throws(DatabaseError) -> Expression {
        try parseAssociativeChain("and") { parser throws(DatabaseError) in try parser.parseNot() }
    }

    /// Chains of AND / OR with at most this many operands are left-deep trees, as written;
    /// longer ones are balanced (here and in `BoundExpression.chain`).
    public static let leftDeepChainLimit = 64

    /// `a OP b OP c ...` for AND / OR, which are associative in SQL's three-valued logic too:
    /// up to `leftDeepChainLimit` operands the tree is left-deep (`((a OP b) OP c)`); longer
    /// chains (generated `x = 1 OR x = 2 OR ...` lists of thousands) become a balanced tree,
    /// whose height grows with the logarithm of the operands, not with their count.
    mutating func parseAssociativeChain(_ word: String, _ operand: (inout Parser) throws(DatabaseError) -> Expression) throws(DatabaseError) -> Expression {
        var operands = [try operand(&self)]
        // positions[i]: the operator before operands[i + 1].
        var positions: [Int] = []
        while current.word == word {
            positions.append(position)
            advance()
            operands.append(try operand(&self))
        }
        if operands.count <= Parser.leftDeepChainLimit {
            var tree = operands[0]
            for index in operands.indices.dropFirst() { tree = try node(.binary(word, tree, operands[index]), at: positions[index - 1]) }
            return tree
        }
        func balanced(_ range: Range<Int>, _ parser: inout Parser) throws(DatabaseError) -> Expression {
            if range.count == 1 { return operands[range.lowerBound] }
            let middle = range.lowerBound + range.count / 2
            let left = try balanced(range.lowerBound..<middle, &parser)
            let right = try balanced(middle..<range.upperBound, &parser)
            return try parser.node(.binary(word, left, right), at: positions[middle - 1])
        }
        return try balanced(0..<operands.count, &self)
    }

    mutating func parseNot() throws(DatabaseError) -> Expression {
        if current.word == "not" {
            let at = position
            advance()
            try StackGuard.check(position: at)
            return try node(.unary("not", try parseNot()), at: at)
        }
        return try parseIs()
    }

    mutating func parseIs() throws(DatabaseError) -> Expression {
        var left = try parseComparison()
        while true {
            let at = position
            if acceptWord("isnull") { left = try node(.isNull(left, negated: false), at: at); continue }
            if acceptWord("notnull") { left = try node(.isNull(left, negated: true), at: at); continue }
            guard acceptWord("is") else { return left }
            let negated = acceptWord("not")
            if acceptWord("null") { left = try node(.isNull(left, negated: negated), at: at) }
            else if acceptWord("true") { left = try node(.isBool(left, true, negated: negated), at: at) }
            else if acceptWord("false") { left = try node(.isBool(left, false, negated: negated), at: at) }
            else if acceptWord("unknown") { left = try node(.isNull(left, negated: negated), at: at) }
            else if acceptWords("distinct", "from") {
                let right = try parseComparison()
                // a IS DISTINCT FROM b  ==  NOT (a IS NOT DISTINCT FROM b)
                let same = try node(.function(name: "__not_distinct", arguments: [left, right], distinct: false, star: false), at: at)
                left = negated ? same : try node(.unary("not", same), at: at)
            } else { throw syntaxError() }
        }
    }

    mutating func parseComparison() throws(DatabaseError) -> Expression {
        var left = try parsePredicate()
        while case .symbol(let s) = current.kind, ["=", "<", ">", "<=", ">=", "<>"].contains(s) {
            let at = position
            advance()
            if let word = current.word, ["any", "some", "all"].contains(word), tokens[index + 1].kind == .symbol("("),
               peekWord(2) != "select", peekWord(2) != "with" {
                // x op ANY (array): an array value, not a subquery.
                advance()
                try expectSymbol("(")
                let array = try parseExpression()
                try expectSymbol(")")
                left = try node(.function(name: word == "all" ? "__array_all" : "__array_any", arguments: [left, try node(.string(s), at: at), array],
                                            distinct: false, star: false), at: at)
                continue
            }
            if let word = current.word, ["any", "some", "all"].contains(word), tokens[index + 1].kind == .symbol("("),
               let next = peekWord(2), next == "select" || next == "with" {
                advance()
                try expectSymbol("(")
                let query = try parseSelect()
                try expectSymbol(")")
                left = try node(.quantified(s, left, query, all: word == "all"), at: at)
                continue
            }
            left = try node(.binary(s, left, try parsePredicate()), at: at)
        }
        return left
    }

    /// BETWEEN, IN, LIKE, ILIKE (with NOT).
    mutating func parsePredicate() throws(DatabaseError) -> Expression {
        var left = try parseOtherOperator()
        while true {
            let at = position
            var negated = false
            if current.word == "not", let next = peekWord(1), ["between", "in", "like", "ilike", "similar"].contains(next) {
                negated = true
                advance()
            }
            if acceptWord("between") {
                _ = acceptWord("symmetric")
                let low = try parseOtherOperator()
                try expectWord("and")
                let high = try parseOtherOperator()
                left = try node(.between(left, low, high, negated: negated), at: at)
            } else if acceptWord("in") {
                try expectSymbol("(")
                if current.word == "select" || current.word == "with" {
                    let query = try parseSelect()
                    try expectSymbol(")")
                    left = try node(.inSubquery(left, query, negated: negated), at: at)
                    continue
                }
                var list = [try parseExpression()]
                while acceptSymbol(",") { list.append(try parseExpression()) }
                try expectSymbol(")")
                left = try node(.inList(left, list, negated: negated), at: at)
            } else if current.word == "like" || current.word == "ilike" {
                let insensitive = current.word == "ilike"
                advance()
                let pattern = try parseOtherOperator()
                var escape: Expression?
                if acceptWord("escape") { escape = try parseOtherOperator() }
                left = try node(.like(left, pattern, escape: escape, caseInsensitive: insensitive, negated: negated), at: at)
            } else if case .symbol(let s) = current.kind, ["~~", "~~*", "!~~", "!~~*"].contains(s) {
                advance()
                let pattern = try parseOtherOperator()
                left = try node(.like(left, pattern, escape: nil, caseInsensitive: s.hasSuffix("*"), negated: s.hasPrefix("!")), at: at)
            } else if case .symbol(let s) = current.kind, ["~", "~*", "!~", "!~*"].contains(s) {
                advance()
                left = try node(.binary(s, left, try parseOtherOperator()), at: at)
            } else if current.word == "operator", tokens[index + 1].kind == .symbol("(") {
                // OPERATOR(pg_catalog.op): an operator named with its schema.
                advance()
                try expectSymbol("(")
                if acceptWord("pg_catalog") { try expectSymbol(".") }
                guard case .symbol(let op) = current.kind, op != ")" else { throw syntaxError() }
                advance()
                try expectSymbol(")")
                let right = try parseOtherOperator()
                if ["~~", "~~*", "!~~", "!~~*"].contains(op) {
                    left = try node(.like(left, right, escape: nil, caseInsensitive: op.hasSuffix("*"), negated: op.hasPrefix("!")), at: at)
                } else {
                    left = try node(.binary(op, left, right), at: at)
                }
            } else if current.word == "similar" {
                throw DatabaseError(.featureNotSupported, "SIMILAR TO is not supported yet", position: at)
            } else {
                if negated { throw syntaxError() }
                return left
            }
        }
    }

    /// `||` and other non-arithmetic operators.
    mutating func parseOtherOperator() throws(DatabaseError) -> Expression {
        var left = try parseAdditive()
        while isSymbol("||") {
            let at = position
            advance()
            left = try node(.binary("||", left, try parseAdditive()), at: at)
        }
        return left
    }

    mutating func parseAdditive() throws(DatabaseError) -> Expression {
        var left = try parseMultiplicative()
        while case .symbol(let s) = current.kind, s == "+" || s == "-" {
            let at = position
            advance()
            left = try node(.binary(s, left, try parseMultiplicative()), at: at)
        }
        return left
    }

    mutating func parseMultiplicative() throws(DatabaseError) -> Expression {
        var left = try parseExponent()
        while case .symbol(let s) = current.kind, s == "*" || s == "/" || s == "%" {
            let at = position
            advance()
            left = try node(.binary(s, left, try parseExponent()), at: at)
        }
        return left
    }

    mutating func parseExponent() throws(DatabaseError) -> Expression {
        var left = try parseUnary()
        while isSymbol("^") {
            let at = position
            advance()
            left = try node(.binary("^", left, try parseUnary()), at: at)
        }
        return left
    }

    mutating func parseUnary() throws(DatabaseError) -> Expression {
        let at = position
        if acceptSymbol("-") {
            // Fold the sign into numeric literals so that -2147483648 is an integer.
            try StackGuard.check(position: at)
            let operand = try parseUnary()
            switch operand.kind {
            case .integer(let text) where operand.position == at + 1: return try node(.integer("-" + text), at: at)
            case .decimal(let text) where operand.position == at + 1: return try node(.decimal("-" + text), at: at)
            default: return try node(.unary("-", operand), at: at)
            }
        }
        if acceptSymbol("+") { return try parseUnary() }
        return try parsePostfix()
    }

    mutating func parsePostfix() throws(DatabaseError) -> Expression {
        var expression = try parsePrimary()
        while true {
            let at = position
            if acceptSymbol("::") {
                expression = try node(.cast(expression, try parseTypeName()), at: at)
            } else if acceptSymbol("[") {
                // An array subscript (arrays travel in their text form).
                let position = try parseExpression()
                try expectSymbol("]")
                expression = try node(.function(name: "__subscript", arguments: [expression, position], distinct: false, star: false), at: at)
            } else if acceptWord("collate") {
                // Kiln compares strings bytewise (the C collation); the default and C/POSIX mean that.
                var name = try aliasName()
                while acceptSymbol(".") { name = try aliasName() }
                guard ["default", "c", "posix", "ucs_basic"].contains(name.lowercased()) else {
                    throw DatabaseError(SQLState("42704"), "collation \"\(name)\" for encoding \"UTF8\" does not exist", position: at)
                }
            } else {
                return expression
            }
        }
    }

    mutating func parsePrimary() throws(DatabaseError) -> Expression {
        let at = position
        switch current.kind {
        case .integer(let text): advance(); return try node(.integer(text), at: at)
        case .decimal(let text): advance(); return try node(.decimal(text), at: at)
        case .string(let text): advance(); return try node(.string(text), at: at)
        case .parameter(let n): advance(); return try node(.parameter(n), at: at)
        case .symbol("("):
            advance()
            if current.word == "select" || current.word == "with" {
                let query = try parseSelect()
                try expectSymbol(")")
                return try node(.scalarSubquery(query), at: at)
            }
            let inner = try parseExpression()
            try expectSymbol(")")
            return inner
        case .quotedIdentifier:
            return try parseColumnOrFunction()
        case .word(let word):
            switch word {
            case "true": advance(); return try node(.boolean(true), at: at)
            case "false": advance(); return try node(.boolean(false), at: at)
            case "null": advance(); return try node(.null, at: at)
            case "case": return try parseCase()
            case "cast":
                advance()
                try expectSymbol("(")
                let operand = try parseExpression()
                try expectWord("as")
                let type = try parseTypeName()
                try expectSymbol(")")
                return try node(.cast(operand, type), at: at)
            case "extract":
                advance()
                try expectSymbol("(")
                let field: String
                switch current.kind {
                case .word(let w): field = w
                case .string(let s): field = s.lowercased()
                default: throw syntaxError()
                }
                advance()
                try expectWord("from")
                let operand = try parseExpression()
                try expectSymbol(")")
                return try node(.extract(field: field, operand), at: at)
            case "exists":
                advance()
                try expectSymbol("(")
                guard current.word == "select" || current.word == "with" || isSymbol("(") else { throw syntaxError() }
                let query = try parseSelect()
                try expectSymbol(")")
                return try node(.exists(query), at: at)
            case "date", "timestamp", "interval", "time":
                if case .string(let text) = tokens[index + 1].kind {
                    let type = try parseTypeName()
                    advance()
                    // INTERVAL '90' DAY: the unit qualifies a bare number.
                    let units = ["year", "month", "day", "hour", "minute", "second"]
                    if word == "interval", let unit = current.word, units.contains(unit) {
                        advance()
                        if acceptWord("to") {
                            guard let end = current.word, units.contains(end) else { throw syntaxError() }
                            advance()
                        }
                        let trimmed = String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
                        if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "." || $0 == "+" }) {
                            return try node(.typedLiteral(type, trimmed + " " + unit), at: at)
                        }
                    }
                    return try node(.typedLiteral(type, text), at: at)
                }
                return try parseColumnOrFunction()
            case "substring", "position", "trim", "overlay":
                return try parseSpecialFunction(word)
            case "array" where tokens[index + 1].kind == .symbol("("):
                advance()
                try expectSymbol("(")
                guard current.word == "select" || current.word == "with" else { throw syntaxError() }
                let query = try parseSelect()
                try expectSymbol(")")
                return try node(.arraySubquery(query), at: at)
            case "current_user", "session_user", "current_role", "current_catalog", "current_schema", "user", "current_timestamp", "current_date",
                 "localtimestamp":
                // SQL's parameterless functions (current_schema may also be called with parentheses).
                guard tokens[index + 1].kind != .symbol("("), tokens[index + 1].kind != .symbol(".") else { return try parseColumnOrFunction() }
                advance()
                return try node(.function(name: word, arguments: [], distinct: false, star: false), at: at)
            default:
                // LEFT/RIGHT are join keywords but also functions when a parenthesis follows.
                let isCall = (word == "left" || word == "right") && tokens[index + 1].kind == .symbol("(")
                if Parser.reserved.contains(word), word != "any", word != "all", !isCall { throw syntaxError() }
                return try parseColumnOrFunction()
            }
        default:
            throw syntaxError()
        }
    }

    mutating func parseColumnOrFunction() throws(DatabaseError) -> Expression {
        let at = position
        var parts = [try identifierOrKeyword()]
        while acceptSymbol(".") { parts.append(try identifierOrKeyword()) }
        if isSymbol("(") {
            advance()
            let name = parts.last!
            if acceptSymbol("*") {
                try expectSymbol(")")
                if let filter = try parseFilter(name) {
                    // count(*) FILTER (WHERE c) counts the rows where c holds: count(CASE WHEN c THEN 1 END).
                    guard name == "count" else { throw DatabaseError(.syntaxError, "\(name)(*) is not a valid aggregate", position: at) }
                    let one = try node(.integer("1"), at: filter.position)
                    return try node(.function(name: name, arguments: [try node(.caseWhen(operand: nil, whens: [(filter, one)], otherwise: nil), at: filter.position)],
                                              distinct: false, star: false), at: at)
                }
                if let window = try parseOver() { return try node(.window(name: name, arguments: [], star: true, window), at: at) }
                return try node(.function(name: name, arguments: [], distinct: false, star: true), at: at)
            }
            var distinct = false
            if acceptWord("distinct") { distinct = true } else { _ = acceptWord("all") }
            var arguments: [Expression] = []
            if !isSymbol(")") {
                repeat { arguments.append(try parseExpression()) } while acceptSymbol(",")
            }
            // An aggregate's own input order: `string_agg(x, ',' ORDER BY y DESC)`.
            var orderBy: [OrderItem] = []
            if !arguments.isEmpty, current.word == "order" {
                let orderAt = position
                try expectWord("order")
                try expectWord("by")
                repeat { orderBy.append(try parseOrderItem()) } while acceptSymbol(",")
                guard Parser.aggregateFunctions.contains(name) else {
                    throw DatabaseError(.wrongObjectType, "ORDER BY specified, but \(name) is not an aggregate function", position: orderAt)
                }
            }
            try expectSymbol(")")
            if let filter = try parseFilter(name), !arguments.isEmpty {
                // agg(x) FILTER (WHERE c) is agg(CASE WHEN c THEN x END): aggregates skip NULLs.
                arguments[0] = try node(.caseWhen(operand: nil, whens: [(filter, arguments[0])], otherwise: nil), at: arguments[0].position)
            }
            if let window = try parseOver() {
                if distinct { throw DatabaseError(.featureNotSupported, "DISTINCT is not implemented for window functions", position: at) }
                if !orderBy.isEmpty { throw DatabaseError(.featureNotSupported, "aggregate ORDER BY is not implemented for window functions", position: at) }
                return try node(.window(name: name, arguments: arguments, star: false, window), at: at)
            }
            return try node(.function(name: name, arguments: arguments, distinct: distinct, star: false, orderBy: orderBy), at: at)
        }
        return try node(.column(parts), at: at)
    }

    /// Aggregate functions (FILTER applies to them only).
    public static let aggregateFunctions: Set<String> = ["count", "sum", "avg", "min", "max", "string_agg",
                                                         "variance", "var_samp", "var_pop", "stddev", "stddev_samp", "stddev_pop"]

    /// `FILTER (WHERE condition)` after a call of aggregate `name`: the condition.
    mutating func parseFilter(_ name: String) throws(DatabaseError) -> Expression? {
        guard current.word == "filter", tokens.indices.contains(index + 1), tokens[index + 1].kind == .symbol("(") else { return nil }
        let at = position
        guard Parser.aggregateFunctions.contains(name) else {
            throw DatabaseError(.wrongObjectType, "FILTER specified, but \(name) is not an aggregate function", position: at)
        }
        advance()
        advance()
        try expectWord("where")
        let condition = try parseExpression()
        try expectSymbol(")")
        if current.word == "over" {
            throw DatabaseError(.featureNotSupported, "FILTER is not supported for window functions yet", position: at)
        }
        return condition
    }

    /// `OVER (PARTITION BY ... ORDER BY ... [ROWS|RANGE frame])` after a function call.
    mutating func parseOver() throws(DatabaseError) -> WindowSpecification? {
        guard acceptWord("over") else { return nil }
        if current.kind != .symbol("(") {
            throw DatabaseError(.featureNotSupported, "named windows are not supported yet", position: position)
        }
        advance()
        var window = WindowSpecification()
        if acceptWords("partition", "by") {
            repeat { window.partitionBy.append(try parseExpression()) } while acceptSymbol(",")
        }
        if acceptWords("order", "by") {
            repeat { window.orderBy.append(try parseOrderItem()) } while acceptSymbol(",")
        }
        if let word = current.word, word == "rows" || word == "range" || word == "groups" {
            let at = position
            if word == "groups" { throw DatabaseError(.featureNotSupported, "GROUPS frames are not supported yet", position: at) }
            advance()
            let start: WindowFrame.Bound, end: WindowFrame.Bound
            if acceptWord("between") {
                start = try parseFrameBound()
                try expectWord("and")
                end = try parseFrameBound()
            } else {
                start = try parseFrameBound()
                end = .currentRow
            }
            if current.word == "exclude" { throw DatabaseError(.featureNotSupported, "EXCLUDE in window frames is not supported yet", position: position) }
            window.frame = WindowFrame(rows: word == "rows", start: start, end: end, position: at)
        }
        try expectSymbol(")")
        return window
    }

    mutating func parseFrameBound() throws(DatabaseError) -> WindowFrame.Bound {
        if acceptWords("unbounded", "preceding") { return .unboundedPreceding }
        if acceptWords("unbounded", "following") { return .unboundedFollowing }
        if acceptWords("current", "row") { return .currentRow }
        let offset = try parseOtherOperator()
        if acceptWord("preceding") { return .preceding(offset) }
        if acceptWord("following") { return .following(offset) }
        throw syntaxError()
    }

    /// Column and function names may be non-reserved keywords.
    mutating func identifierOrKeyword() throws(DatabaseError) -> String {
        switch current.kind {
        case .word(let w) where !Parser.reserved.contains(w) || w == "left" || w == "right": advance(); return w
        case .quotedIdentifier(let q): advance(); return q
        default: throw syntaxError()
        }
    }

    mutating func parseCase() throws(DatabaseError) -> Expression {
        let at = position
        try expectWord("case")
        var operand: Expression?
        if current.word != "when" { operand = try parseExpression() }
        var whens: [(Expression, Expression)] = []
        while acceptWord("when") {
            let condition = try parseExpression()
            try expectWord("then")
            whens.append((condition, try parseExpression()))
        }
        if whens.isEmpty { throw syntaxError() }
        var otherwise: Expression?
        if acceptWord("else") { otherwise = try parseExpression() }
        try expectWord("end")
        return try node(.caseWhen(operand: operand, whens: whens, otherwise: otherwise), at: at)
    }

    /// SQL-standard syntax: `SUBSTRING(x FROM a FOR b)`, `POSITION(a IN b)`, `TRIM([LEADING|TRAILING|BOTH] [c] FROM x)`.
    mutating func parseSpecialFunction(_ name: String) throws(DatabaseError) -> Expression {
        let at = position
        advance()
        try expectSymbol("(")
        var arguments: [Expression] = []
        switch name {
        case "substring":
            arguments.append(try parseExpression())
            if acceptWord("from") {
                arguments.append(try parseExpression())
                if acceptWord("for") { arguments.append(try parseExpression()) }
            } else if acceptWord("for") {
                arguments.append(try node(.integer("1"), at: position))
                arguments.append(try parseExpression())
            } else {
                while acceptSymbol(",") { arguments.append(try parseExpression()) }
            }
        case "position":
            let needle = try parseOtherOperator()
            try expectWord("in")
            arguments = [needle, try parseExpression()]
        case "trim":
            var mode = "btrim"
            if acceptWord("leading") { mode = "ltrim" } else if acceptWord("trailing") { mode = "rtrim" } else { _ = acceptWord("both") }
            if acceptWord("from") {
                arguments = [try parseExpression()]
            } else {
                let first = try parseExpression()
                if acceptWord("from") { arguments = [try parseExpression(), first] }
                else {
                    arguments = [first]
                    while acceptSymbol(",") { arguments.append(try parseExpression()) }
                }
            }
            try expectSymbol(")")
            return try node(.function(name: mode, arguments: arguments, distinct: false, star: false), at: at)
        default:
            repeat { arguments.append(try parseExpression()) } while acceptSymbol(",")
        }
        try expectSymbol(")")
        return try node(.function(name: name, arguments: arguments, distinct: false, star: false), at: at)
    }

    /// A type name: `INTEGER`, `NUMERIC(15,2)`, `DOUBLE PRECISION`, `VARCHAR(25)`, `TIMESTAMP WITHOUT TIME ZONE`.
    mutating func parseTypeName() throws(DatabaseError) -> TypeName {
        var typeName = try parseScalarTypeName()
        if acceptSymbol("[") {
            if case .integer = current.kind { advance() }
            try expectSymbol("]")
            typeName.isArray = true
        }
        return typeName
    }

    mutating func parseScalarTypeName() throws(DatabaseError) -> TypeName {
        let at = position
        var name: String
        var quoted = false
        switch current.kind {
        case .word(let w): name = w
        case .quotedIdentifier(let q): name = q; quoted = true
        default: throw syntaxError()
        }
        advance()
        if name == "pg_catalog", acceptSymbol(".") {
            switch current.kind {
            case .word(let w): name = w
            case .quotedIdentifier(let q): name = q; quoted = true
            default: throw syntaxError()
            }
            advance()
        }
        switch name {
        case "oid", "regclass", "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "xid", "cid":
            return TypeName(type: .integer, position: at, alias: name)
        case "name":
            return TypeName(type: .text, position: at, alias: name)
        case "char" where quoted:
            return TypeName(type: .text, position: at, alias: "\"char\"")
        default:
            break
        }
        func modifiers(_ parser: inout Parser) throws(DatabaseError) -> [Int] {
            guard parser.acceptSymbol("(") else { return [] }
            var values: [Int] = []
            repeat {
                guard case .integer(let text) = parser.current.kind, let value = Int(text) else { throw parser.syntaxError() }
                parser.advance()
                values.append(value)
            } while parser.acceptSymbol(",")
            try parser.expectSymbol(")")
            return values
        }
        let type: SQLType
        switch name {
        case "boolean", "bool": type = .boolean
        case "smallint", "int2": type = .smallint
        case "integer", "int", "int4": type = .integer
        case "bigint", "int8": type = .bigint
        case "real", "float4": type = .real
        case "float8": type = .double
        case "float":
            let m = try modifiers(&self)
            type = (m.first ?? 53) <= 24 ? .real : .double
        case "double":
            try expectWord("precision")
            type = .double
        case "numeric", "decimal":
            let m = try modifiers(&self)
            if m.isEmpty { type = .numeric(precision: nil, scale: 0) }
            else {
                let precision = m[0]
                let scale = m.count > 1 ? m[1] : 0
                guard (1...DecimalMath.maxPrecision).contains(precision) else {
                    throw DatabaseError(.invalidParameterValue, "NUMERIC precision \(precision) must be between 1 and \(DecimalMath.maxPrecision)", position: at)
                }
                guard (0...precision).contains(scale) else {
                    throw DatabaseError(.invalidParameterValue, "NUMERIC scale \(scale) must be between 0 and precision \(precision)", position: at)
                }
                type = .numeric(precision: precision, scale: scale)
            }
        case "varchar", "character", "char", "bpchar":
            if name == "character" { _ = acceptWord("varying") }
            let m = try modifiers(&self)
            if let length = m.first, length < 1 {
                throw DatabaseError(.invalidParameterValue, "length for type varchar must be at least 1", position: at)
            }
            // CHAR(n) is stored like VARCHAR(n); blank-padding semantics are not modelled.
            type = .varchar(m.first ?? ((name == "char" || name == "bpchar" || name == "character") && m.isEmpty ? 1 : nil))
        case "text": type = .text
        case "date": type = .date
        case "timestamp":
            _ = try modifiers(&self)
            if acceptWords("without", "time", "zone") {}
            else if current.word == "with", peekWord(1) == "time" {
                throw DatabaseError(.featureNotSupported, "timestamp with time zone is not supported yet", position: at)
            }
            type = .timestamp
        case "interval": type = .interval
        case "tid": type = .tid
        default:
            throw DatabaseError(.undefinedObject, "type \"\(name)\" does not exist", position: at)
        }
        return TypeName(type: type, position: at)
    }
}

extension SQLState {
    public static let undefinedObject = SQLState("42704")
}
