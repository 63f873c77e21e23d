import KilnCore

/// UPDATE, DELETE, TRUNCATE and the transaction statements (BEGIN with its modes, savepoints).
extension Parser {
    /// `DELETE FROM name [[AS] alias] [USING from_item, ...] [WHERE condition]`.
    mutating func parseDelete() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("delete")
        try expectWord("from")
        _ = acceptWord("only")
        let (table, alias) = try targetTable(stopWord: nil)
        var using: [TableReference] = []
        if acceptWord("using") {
            repeat { using.append(try parseJoinedTable()) } while acceptSymbol(",")
        }
        let condition = acceptWord("where") ? try parseExpression() : nil
        let returning = try parseReturning()
        return .delete(DeleteStatement(table: table, alias: alias, using: using, whereClause: condition, returning: returning, position: start))
    }

    /// `UPDATE name [[AS] alias] SET column = expression [, ...] [FROM from_item, ...] [WHERE condition]`.
    mutating func parseUpdate() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("update")
        _ = acceptWord("only")
        let (table, alias) = try targetTable(stopWord: "set")
        try expectWord("set")
        let assignments = try parseAssignments()
        var from: [TableReference] = []
        if acceptWord("from") {
            repeat { from.append(try parseJoinedTable()) } while acceptSymbol(",")
        }
        let condition = acceptWord("where") ? try parseExpression() : nil
        let returning = try parseReturning()
        return .update(UpdateStatement(table: table, alias: alias, assignments: assignments, from: from, whereClause: condition, returning: returning,
                                       position: start))
    }

    /// `ON CONFLICT [(column, ...) | ON CONSTRAINT name] DO NOTHING | DO UPDATE SET ... [WHERE ...]`,
    /// then RETURNING.
    mutating func parseOnConflict(_ partial: UpsertStatement) throws(DatabaseError) -> Statement {
        var upsert = partial
        try expectWord("on")
        try expectWord("conflict")
        if acceptWords("on", "constraint") {
            upsert.constraint = try identifier()
        } else if isSymbol("(") {
            upsert.conflictColumns = try parseColumnList()
            if current.word == "where" {
                throw DatabaseError(.featureNotSupported, "ON CONFLICT with a partial index predicate is not supported yet", position: position)
            }
        }
        try expectWord("do")
        if acceptWord("nothing") {
            upsert.action = .nothing
        } else {
            try expectWord("update")
            try expectWord("set")
            let assignments = try parseAssignments()
            let condition = acceptWord("where") ? try parseExpression() : nil
            upsert.action = .update(assignments: assignments, whereClause: condition)
        }
        upsert.returning = try parseReturning()
        return .upsert(upsert)
    }

    /// `column = expression | DEFAULT [, ...]` of UPDATE's and ON CONFLICT DO UPDATE's SET.
    mutating func parseAssignments() throws(DatabaseError) -> [Assignment] {
        var assignments: [Assignment] = []
        repeat {
            let at = position
            if isSymbol("(") {
                throw DatabaseError(.featureNotSupported, "UPDATE with a column list (SET (a, b) = ...) is not supported", position: at)
            }
            var column = try identifier()
            // `SET t.col = ...` names the target's column with its table or alias.
            if acceptSymbol(".") { column = try identifier() }
            try expectSymbol("=")
            let value: Expression? = acceptWord("default") ? nil : try parseExpression()
            assignments.append(Assignment(column: column, value: value, position: at))
        } while acceptSymbol(",")
        return assignments
    }

    /// `TRUNCATE [TABLE] [ONLY] name [, ...] [CONTINUE IDENTITY | RESTRICT]`.
    mutating func parseTruncate() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("truncate")
        _ = acceptWord("table")
        var tables: [String] = []
        repeat {
            _ = acceptWord("only")
            tables.append(try qualifiedName(reference: true))
        } while acceptSymbol(",")
        if acceptWords("restart", "identity") || acceptWord("cascade") {
            throw DatabaseError(.featureNotSupported, "TRUNCATE ... RESTART IDENTITY and CASCADE are not supported", position: start)
        }
        _ = acceptWords("continue", "identity") || acceptWord("restrict")
        return .truncate(tables: tables, position: start)
    }

    /// The table an UPDATE or DELETE changes, and its alias.
    mutating func targetTable(stopWord: String?) throws(DatabaseError) -> (String, String?) {
        let name = try qualifiedName(reference: true)
        if acceptWord("as") { return (name, try aliasName()) }
        if let word = peekWordOrQuoted(), word != stopWord || current.word == nil {
            advance()
            return (name, word)
        }
        return (name, nil)
    }

    /// `RETURNING item [, ...]` of INSERT, UPDATE and DELETE (empty when absent).
    mutating func parseReturning() throws(DatabaseError) -> [SelectItem] {
        guard acceptWord("returning") else { return [] }
        var items: [SelectItem] = []
        repeat { items.append(try parseSelectItem()) } while acceptSymbol(",")
        return items
    }

    /// `ISOLATION LEVEL ...`, `READ WRITE | ONLY`, `[NOT] DEFERRABLE`; returns the isolation
    /// level named, if any (lower case, PostgreSQL's spelling).
    mutating func parseTransactionModes() throws(DatabaseError) -> TransactionModes {
        var modes = TransactionModes()
        while current.kind != .end, !isSymbol(";") {
            let at = position
            if acceptWords("isolation", "level") {
                if acceptWord("serializable") {
                    modes.isolation = "serializable"
                } else if acceptWords("repeatable", "read") {
                    modes.isolation = "repeatable read"
                } else if acceptWords("read", "committed") {
                    modes.isolation = "read committed"
                } else if acceptWords("read", "uncommitted") {
                    modes.isolation = "read uncommitted"
                } else {
                    throw syntaxError()
                }
                modes.isolationPosition = at
                continue
            }
            if acceptWords("read", "write") { modes.readOnly = false; continue }
            if acceptWords("read", "only") { modes.readOnly = true; continue }
            if acceptWord("deferrable") || acceptWords("not", "deferrable") || acceptSymbol(",") { continue }
            throw syntaxError()
        }
        return modes
    }

    /// `SAVEPOINT name`, `RELEASE [SAVEPOINT] name`, `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    mutating func parseSavepointName() throws(DatabaseError) -> String {
        _ = acceptWord("savepoint")
        return try aliasName()
    }
}
