import KilnCore

extension Parser {
    /// `SELECT ... [FROM ...] [WHERE ...] [GROUP BY ...] [HAVING ...] [ORDER BY ...] [LIMIT n] [OFFSET n]`
    mutating func parseSelect() throws(DatabaseError) -> SelectStatement {
        try StackGuard.check(position: position)
        guard queryDepth < Parser.maxQueryDepth else {
            throw DatabaseError(.stackDepthLimitExceeded, "stack depth limit exceeded", position: position,
                                hint: "Subqueries nest at most \(Parser.maxQueryDepth) levels deep; simplify the statement.")
        }
        queryDepth += 1
        defer { queryDepth -= 1 }
        return try parseSelectBody()
    }

    /// Subqueries nest at most this deep (PostgreSQL's parser stops a little deeper): planning
    /// time grows faster than linearly with the nesting (1,000 levels plan in ~3 s).
    public static let maxQueryDepth = 1000

    mutating func parseSelectBody() throws(DatabaseError) -> SelectStatement {
        if current.word == "with" {
            advance()
            if current.word == "recursive" {
                throw DatabaseError(.featureNotSupported, "WITH RECURSIVE is not supported yet", position: position)
            }
            var ctes: [CommonTableExpression] = []
            repeat {
                let at = position
                let name = try identifier()
                var columns: [String]?
                if acceptSymbol("(") {
                    var list = [try identifier()]
                    while acceptSymbol(",") { list.append(try identifier()) }
                    try expectSymbol(")")
                    columns = list
                }
                try expectWord("as")
                var materialized: Bool?
                if acceptWord("not") { try expectWord("materialized"); materialized = false } else if acceptWord("materialized") { materialized = true }
                try expectSymbol("(")
                let query = try parseSelect()
                try expectSymbol(")")
                if ctes.contains(where: { $0.name == name }) {
                    throw DatabaseError(.duplicateAlias, "WITH query name \"\(name)\" specified more than once", position: at)
                }
                ctes.append(CommonTableExpression(name: name, columns: columns, query: query, position: at, materialized: materialized))
            } while acceptSymbol(",")
            guard current.word == "select" || current.word == "values" || isSymbol("(") else {
                throw syntaxError()
            }
            var select = try parseSelect()
            for index in ctes.indices { ctes[index].references = tableReferences[ctes[index].name, default: 0] }
            select.with = ctes + select.with
            return select
        }
        var result = try parseSetTerm()
        while let word = current.word, word == "union" || word == "except" {
            let at = position
            advance()
            let all = acceptWord("all")
            if !all { _ = acceptWord("distinct") }
            let right = try parseSetTerm()
            result = SelectStatement(combining: word == "union" ? .union : .except, all: all, result, right, position: at)
        }
        if result.setOperation == nil, !result.orderBy.isEmpty || result.limit != nil || result.offset != nil,
           ["order", "limit", "offset", "fetch"].contains(current.word ?? "") {
            // `(SELECT ... LIMIT 3) ORDER BY x`: the outer clauses apply to the inner result.
            var outer = SelectStatement()
            outer.position = result.position
            outer.items = [.star(qualifier: nil, position: result.position)]
            outer.from = [.subquery(result, alias: "?subquery?", columns: nil, position: result.position)]
            result = outer
        }
        try parseOrderLimit(into: &result)
        return result
    }

    /// Operands of UNION / EXCEPT: INTERSECT binds tighter.
    mutating func parseSetTerm() throws(DatabaseError) -> SelectStatement {
        var left = try parseSetPrimary()
        while current.word == "intersect" {
            let at = position
            advance()
            let all = acceptWord("all")
            if !all { _ = acceptWord("distinct") }
            left = SelectStatement(combining: .intersect, all: all, left, try parseSetPrimary(), position: at)
        }
        return left
    }

    mutating func parseSetPrimary() throws(DatabaseError) -> SelectStatement {
        if acceptSymbol("(") {
            let inner = try parseSelect()
            try expectSymbol(")")
            return inner
        }
        return try parseSelectCore()
    }

    /// `VALUES (a, b), (c, d)` as a query: the rows as one-row SELECTs joined by UNION ALL
    /// (which resolves the column types as PostgreSQL resolves a VALUES list's), with
    /// PostgreSQL's column names column1, column2, ...
    mutating func parseValuesQuery(position start: Int) throws(DatabaseError) -> SelectStatement {
        var rows: [SelectStatement] = []
        repeat {
            let rowPosition = position
            try expectSymbol("(")
            var row = SelectStatement()
            row.position = rowPosition
            repeat {
                let expression = try parseExpression()
                row.items.append(.expression(expression, alias: "column\(row.items.count + 1)"))
            } while acceptSymbol(",")
            try expectSymbol(")")
            if let first = rows.first, first.items.count != row.items.count {
                throw DatabaseError(.syntaxError, "VALUES lists must all be the same length", position: rowPosition)
            }
            rows.append(row)
        } while acceptSymbol(",")
        var query = rows[0]
        for row in rows.dropFirst() { query = SelectStatement(combining: .union, all: true, query, row, position: start) }
        query.position = start
        return query
    }

    /// `SELECT ... [FROM ...] [WHERE ...] [GROUP BY ...] [HAVING ...]`
    mutating func parseSelectCore() throws(DatabaseError) -> SelectStatement {
        var select = SelectStatement()
        select.position = position
        if acceptWord("values") { return try parseValuesQuery(position: select.position) }
        try expectWord("select")
        if acceptWord("distinct") {
            select.distinct = true
            if current.word == "on" {
                throw DatabaseError(.featureNotSupported, "SELECT DISTINCT ON is not supported yet", position: position)
            }
        } else {
            _ = acceptWord("all")
        }
        if current.kind != .end, !isSymbol(";"), !isSymbol(")"), current.word != "from" {
            repeat { select.items.append(try parseSelectItem()) } while acceptSymbol(",")
        }
        if acceptWord("from") {
            repeat { select.from.append(try parseJoinedTable()) } while acceptSymbol(",")
        }
        if acceptWord("where") { select.whereClause = try parseExpression() }
        if acceptWords("group", "by") {
            // The sets of the GROUP BY list: the cross product of its elements' sets.
            var sets: [[Int]] = [[]]
            var plain = true
            repeat {
                let element = try parseGroupingElement(&select.groupBy, plain: &plain)
                sets = sets.flatMap { prefix in element.map { prefix + $0 } }
            } while acceptSymbol(",")
            if !plain { select.groupingSets = sets }
        }
        if acceptWord("having") { select.having = try parseExpression() }
        if current.word == "window" {
            throw DatabaseError(.featureNotSupported, "WINDOW clauses are not supported yet", position: position)
        }
        return select
    }

    /// `expression [ASC|DESC] [NULLS FIRST|LAST]` (ORDER BY of a query or a window).
    mutating func parseOrderItem() throws(DatabaseError) -> OrderItem {
        let expression = try parseExpression()
        var descending = false
        if acceptWord("desc") { descending = true } else { _ = acceptWord("asc") }
        var nullsFirst: Bool?
        if acceptWord("nulls") {
            if acceptWord("first") { nullsFirst = true }
            else if acceptWord("last") { nullsFirst = false }
            else { throw syntaxError() }
        }
        return OrderItem(expression: expression, descending: descending, nullsFirst: nullsFirst)
    }

    mutating func parseOrderLimit(into select: inout SelectStatement) throws(DatabaseError) {
        if acceptWords("order", "by") {
            repeat { select.orderBy.append(try parseOrderItem()) } while acceptSymbol(",")
        }
        while true {
            if acceptWord("limit") {
                if acceptWord("all") { select.limit = nil } else { select.limit = try parseExpression() }
            } else if acceptWord("offset") {
                select.offset = try parseExpression()
                _ = acceptWord("rows") || acceptWord("row")
            } else if acceptWord("fetch") {
                guard acceptWord("first") || acceptWord("next") else { throw syntaxError() }
                if current.word == "row" || current.word == "rows" {
                    select.limit = Expression(.integer("1"), at: position)
                } else {
                    select.limit = try parseExpression()
                }
                guard acceptWord("rows") || acceptWord("row") else { throw syntaxError() }
                try expectWord("only")
            } else if current.word == "for", let word = peekWord(1), ["update", "share", "no", "key"].contains(word) {
                let start = position
                index += 1
                let strength: RowLocking.Strength
                if acceptWord("update") { strength = .update }
                else if acceptWord("share") { strength = .share }
                else if acceptWords("no", "key") { try expectWord("update"); strength = .noKeyUpdate }
                else { try expectWord("key"); try expectWord("share"); strength = .keyShare }
                var tables: [String] = []
                if acceptWord("of") {
                    repeat { tables.append(try qualifiedName()) } while acceptSymbol(",")
                }
                var waiting = RowLocking.Waiting.wait
                if acceptWord("nowait") { waiting = .noWait } else if acceptWords("skip", "locked") { waiting = .skipLocked }
                select.locking.append(RowLocking(strength: strength, tables: tables, waiting: waiting, position: start))
            } else {
                return
            }
        }
    }

    mutating func parseSelectItem() throws(DatabaseError) -> SelectItem {
        let start = position
        if acceptSymbol("*") { return .star(qualifier: nil, position: start) }
        // `t.*`
        if let name = peekWordOrQuoted(), tokens[index + 1].kind == .symbol("."), tokens[index + 2].kind == .symbol("*") {
            index += 3
            return .star(qualifier: name, position: start)
        }
        let expression = try parseExpression()
        if acceptWord("as") { return .expression(expression, alias: try aliasName()) }
        if case .word(let w) = current.kind, !Parser.reserved.contains(w) { advance(); return .expression(expression, alias: w) }
        if case .quotedIdentifier(let q) = current.kind { advance(); return .expression(expression, alias: q) }
        return .expression(expression, alias: nil)
    }

    /// An alias after AS may be any word, even a reserved one.
    mutating func aliasName() throws(DatabaseError) -> String {
        switch current.kind {
        case .word(let w): advance(); return w
        case .quotedIdentifier(let q): advance(); return q
        default: throw syntaxError()
        }
    }

    func peekWordOrQuoted() -> String? {
        switch current.kind {
        case .word(let w) where !Parser.reserved.contains(w): return w
        case .quotedIdentifier(let q): return q
        default: return nil
        }
    }

    /// One element of GROUP BY, as the grouping sets it stands for (indexes into `expressions`,
    /// where its expressions are appended): an expression (one set of it), `()` (the empty
    /// set), `ROLLUP (g, ...)` (every prefix), `CUBE (g, ...)` (every subset) or
    /// `GROUPING SETS (element, ...)` (each element's sets). `plain` turns false for any but
    /// an expression.
    mutating func parseGroupingElement(_ expressions: inout [Expression], plain: inout Bool) throws(DatabaseError) -> [[Int]] {
        let word = current.word
        if (word == "rollup" || word == "cube"), tokens.indices.contains(index + 1), tokens[index + 1].kind == .symbol("(") {
            plain = false
            advance()
            try expectSymbol("(")
            var groups: [[Int]] = []
            repeat { groups.append(try parseGroupingGroup(&expressions)) } while acceptSymbol(",")
            try expectSymbol(")")
            if word == "rollup" {
                return (0...groups.count).reversed().map { Array(groups.prefix($0).joined()) }
            }
            guard groups.count <= 12 else {
                throw DatabaseError(.programLimitExceeded, "CUBE is limited to 12 elements", position: position)
            }
            return (0..<(1 << groups.count)).reversed().map { mask in
                groups.indices.filter { mask & (1 << (groups.count - 1 - $0)) != 0 }.flatMap { groups[$0] }
            }
        }
        if word == "grouping", peekWord(1) == "sets" {
            plain = false
            advance()
            advance()
            try expectSymbol("(")
            var sets: [[Int]] = []
            repeat {
                // `(a, b)` is one set, `()` the empty one; anything else is an element.
                if isSymbol("(") { sets.append(try parseGroupingGroup(&expressions)) } else { sets += try parseGroupingElement(&expressions, plain: &plain) }
            } while acceptSymbol(",")
            try expectSymbol(")")
            return sets
        }
        if isSymbol("("), tokens.indices.contains(index + 1), tokens[index + 1].kind == .symbol(")") {
            plain = false
            advance()
            advance()
            return [[]]
        }
        expressions.append(try parseExpression())
        return [[expressions.count - 1]]
    }

    /// A group of ROLLUP, CUBE or GROUPING SETS: an expression, or a parenthesised list of
    /// them taken together (`()`: none).
    mutating func parseGroupingGroup(_ expressions: inout [Expression]) throws(DatabaseError) -> [Int] {
        let start = index
        if acceptSymbol("(") {
            if acceptSymbol(")") { return [] }
            expressions.append(try parseExpression())
            if acceptSymbol(",") {
                var members = [expressions.count - 1]
                repeat {
                    expressions.append(try parseExpression())
                    members.append(expressions.count - 1)
                } while acceptSymbol(",")
                try expectSymbol(")")
                return members
            }
            // `(a)` or `(a + b) * c`: an ordinary expression after all.
            index = start
            expressions.removeLast()
        }
        expressions.append(try parseExpression())
        return [expressions.count - 1]
    }

    /// A table reference followed by any number of JOINs (left-associative).
    mutating func parseJoinedTable() throws(DatabaseError) -> TableReference {
        var left = try parseTableReference()
        while true {
            let at = position
            let natural = acceptWord("natural")
            var kind: JoinKind
            if acceptWord("join") || acceptWords("inner", "join") { kind = .inner }
            else if acceptWords("left", "join") || acceptWords("left", "outer", "join") { kind = .left }
            else if acceptWords("right", "join") || acceptWords("right", "outer", "join") { kind = .right }
            else if acceptWords("full", "join") || acceptWords("full", "outer", "join") { kind = .full }
            else if !natural, acceptWords("cross", "join") { kind = .cross }
            else if natural { throw syntaxError() }
            else { return left }
            let right = try parseTableReference()
            var constraint: JoinConstraint?
            if natural {
                constraint = .natural
            } else if kind != .cross {
                let usingAt = position
                if acceptWord("using") {
                    try expectSymbol("(")
                    var columns: [String] = []
                    repeat { columns.append(try identifier()) } while acceptSymbol(",")
                    try expectSymbol(")")
                    constraint = .using(columns, position: usingAt)
                } else {
                    try expectWord("on")
                    constraint = .on(try parseExpression())
                }
            }
            left = .join(left, right, kind: kind, constraint: constraint, position: at)
        }
    }

    /// `( joined table )`, as postgres_fdw's deparser writes joins: `((a JOIN b ON ...) JOIN c ON ...)`.
    mutating func parseParenthesizedJoin(start: Int) throws(DatabaseError) -> TableReference {
        let inner = try parseJoinedTable()
        // As in PostgreSQL, parentheses hold a join, not a lone table.
        guard case .join = inner else { throw syntaxError() }
        try expectSymbol(")")
        if peekWordOrQuoted() != nil || current.word == "as" {
            throw DatabaseError(.featureNotSupported, "an alias on a parenthesized join is not supported yet", position: position)
        }
        return inner
    }

    mutating func parseTableReference() throws(DatabaseError) -> TableReference {
        let start = position
        if acceptWord("lateral") {
            guard acceptSymbol("(") else {
                // `LATERAL generate_series(1, t.n)`: a function in FROM may read the items
                // before it with or without the keyword, as in PostgreSQL.
                let reference = try parseTableReference()
                guard case .function = reference else { throw syntaxError() }
                return reference
            }
            let query = try parseSelect()
            try expectSymbol(")")
            _ = acceptWord("as")
            guard let alias = peekWordOrQuoted() else {
                throw DatabaseError(.syntaxError, "subquery in FROM must have an alias", position: start)
            }
            advance()
            return .lateral(query, alias: alias, columns: try parseColumnList(), position: start)
        }
        if acceptSymbol("(") {
            // A subquery, or a parenthesised join: `(SELECT ...)`, `((SELECT ...) x JOIN ...)`, `(a JOIN b ON ...)`.
            let opening = index
            let query: SelectStatement
            if ["select", "with", "values"].contains(current.word ?? "") {
                query = try parseSelect()
            } else if isSymbol("(") {
                do throws(DatabaseError) {
                    query = try parseSelect()
                    guard isSymbol(")") else { throw syntaxError() }
                } catch {
                    index = opening
                    do throws(DatabaseError) {
                        return try parseParenthesizedJoin(start: start)
                    } catch let joinError {
                        // The error that got further into the text is the better one.
                        throw (joinError.position ?? 0) >= (error.position ?? 0) ? joinError : error
                    }
                }
            } else {
                return try parseParenthesizedJoin(start: start)
            }
            try expectSymbol(")")
            _ = acceptWord("as")
            guard let alias = peekWordOrQuoted() else {
                throw DatabaseError(.syntaxError, "subquery in FROM must have an alias", position: start)
            }
            advance()
            let columns = try parseColumnList()
            return .subquery(query, alias: alias, columns: columns, position: start)
        }
        let name = try qualifiedName(reference: true)
        if acceptSymbol("(") {
            var arguments: [Expression] = []
            if !isSymbol(")") {
                repeat { arguments.append(try parseExpression()) } while acceptSymbol(",")
            }
            try expectSymbol(")")
            var alias: String?
            var columnAlias: String?
            if acceptWord("as") { alias = try aliasName() } else if let word = peekWordOrQuoted() { advance(); alias = word }
            if alias != nil, acceptSymbol("(") {
                columnAlias = try identifier()
                try expectSymbol(")")
            }
            return .function(name: name, arguments: arguments, alias: alias, columnAlias: columnAlias, position: start)
        }
        var alias: String?
        if acceptWord("as") { alias = try aliasName() } else if let word = peekWordOrQuoted() { advance(); alias = word }
        tableReferences[name, default: 0] += 1
        return .table(name: name, alias: alias, position: start)
    }
}
