import KilnCore

/// CREATE TABLE with its column and table constraints, ALTER TABLE, CREATE INDEX.
extension Parser {
    mutating func parseCreateTable(start: Int) throws(DatabaseError) -> Statement {
        let ifNotExists = acceptWords("if", "not", "exists")
        let name = try qualifiedName()
        if let statement = try parseCreateTableAs(name, ifNotExists: ifNotExists, start: start) { return statement }
        try expectSymbol("(")
        var columns: [ColumnDefinition] = []
        var constraints: [TableConstraint] = []
        repeat {
            if let constraint = try parseTableConstraint() {
                constraints.append(constraint)
                continue
            }
            let columnPosition = position
            let columnName = try identifier()
            var column: ColumnDefinition
            if let word = current.word, let serialType = Parser.serialTypes[word] {
                advance()
                column = ColumnDefinition(name: columnName, type: TypeName(type: serialType, position: columnPosition), notNull: true, position: columnPosition)
                column.generated = .serial
            } else {
                column = ColumnDefinition(name: columnName, type: try parseTypeName(), notNull: false, position: columnPosition)
            }
            try parseColumnConstraints(&column, into: &constraints)
            columns.append(column)
        } while acceptSymbol(",")
        try expectSymbol(")")
        if acceptWord("with") { try skipStorageParameters() }
        return .createTable(name: name, columns: columns, constraints: constraints, ifNotExists: ifNotExists, position: start)
    }

    /// `CREATE TABLE name [(column, ...)] [WITH (...)] AS query [WITH [NO] DATA]` after the
    /// name; nil (and nothing read) when the statement is a plain CREATE TABLE.
    mutating func parseCreateTableAs(_ name: String, ifNotExists: Bool, start: Int) throws(DatabaseError) -> Statement? {
        let saved = index
        var columns: [String]?
        if isSymbol("(") {
            // A list of bare names followed by AS; column definitions have types after them.
            do throws(DatabaseError) { columns = try parseColumnList() } catch {
                index = saved
                return nil
            }
        }
        if acceptWord("with") { try skipStorageParameters() }
        guard acceptWord("as") else {
            index = saved
            return nil
        }
        guard current.word == "select" || current.word == "with" || current.word == "values" || current.word == "table" || isSymbol("(") else {
            throw syntaxError()
        }
        let query = try parseSelect()
        var withData = true
        if acceptWord("with") {
            withData = !acceptWord("no")
            try expectWord("data")
        }
        return .createTableAs(name: name, columns: columns, query: query, withData: withData, ifNotExists: ifNotExists, position: start)
    }

    /// A column's constraints: NOT NULL, NULL, DEFAULT, and the ones that become table
    /// constraints on the column (PRIMARY KEY, UNIQUE, CHECK, REFERENCES).
    mutating func parseColumnConstraints(_ column: inout ColumnDefinition, into constraints: inout [TableConstraint]) throws(DatabaseError) {
        while true {
            let at = position
            var name: String?
            if acceptWord("constraint") { name = try identifier() }
            if acceptWords("not", "null") {
                column.notNull = true
            } else if acceptWord("null") {
                column.notNull = false
            } else if acceptWord("default") {
                let textStart = position
                // b_expr in PostgreSQL's grammar: no comparison or NOT, so that `DEFAULT 0 NOT NULL` reads as two constraints.
                let expression = try parseOtherOperator()
                column.defaultValue = (expression, sourceText(from: textStart))
            } else if acceptWords("primary", "key") {
                column.notNull = true
                constraints.append(TableConstraint(name: name, kind: .primaryKey(columns: [column.name]), position: at))
            } else if acceptWord("unique") {
                constraints.append(TableConstraint(name: name, kind: .unique(columns: [column.name]), position: at))
            } else if current.word == "check" {
                constraints.append(TableConstraint(name: name, kind: try parseCheck(), position: at))
            } else if current.word == "references" {
                constraints.append(TableConstraint(name: name, kind: try parseReferences(columns: [column.name]), position: at))
            } else if acceptWord("generated") {
                let always = acceptWord("always")
                if !always { try expectWord("by"); try expectWord("default") }
                try expectWord("as")
                guard acceptWord("identity") else {
                    throw DatabaseError(.featureNotSupported, "generated columns are not supported yet", position: at)
                }
                var options = SequenceDefinition()
                if acceptSymbol("(") {
                    try parseSequenceOptions(&options)
                    try expectSymbol(")")
                }
                column.notNull = true
                column.generated = .identity(always: always, options: options)
            } else if current.word == "collate" {
                throw DatabaseError(.featureNotSupported, "\(current.word!.uppercased()) in a column definition is not supported yet", position: position)
            } else {
                if name != nil { throw syntaxError() }
                return
            }
        }
    }

    /// `[CONSTRAINT name] PRIMARY KEY (...) | UNIQUE (...) | CHECK (...) | FOREIGN KEY (...)
    /// REFERENCES ...`; nil (nothing consumed) when the next item is a column.
    mutating func parseTableConstraint() throws(DatabaseError) -> TableConstraint? {
        let at = position
        let named = current.word == "constraint"
        guard named || (current.word == "primary" && peekWord(1) == "key") || (current.word == "foreign" && peekWord(1) == "key")
            || ((current.word == "unique" || current.word == "check") && tokens[index + 1].kind == .symbol("(")) else { return nil }
        var name: String?
        if acceptWord("constraint") { name = try identifier() }
        let kind: TableConstraint.Kind
        if acceptWords("primary", "key") {
            kind = .primaryKey(columns: try parseKeyColumns())
        } else if acceptWord("unique") {
            kind = .unique(columns: try parseKeyColumns())
        } else if current.word == "check" {
            kind = try parseCheck()
        } else if acceptWords("foreign", "key") {
            kind = try parseReferences(columns: try parseKeyColumns())
        } else {
            throw syntaxError()
        }
        return TableConstraint(name: name, kind: kind, position: at)
    }

    mutating func parseKeyColumns() throws(DatabaseError) -> [String] {
        guard let columns = try parseColumnList() else { throw syntaxError() }
        if acceptWord("include") || acceptWord("with") || acceptWord("using") {
            throw DatabaseError(.featureNotSupported, "index options of a key are not supported yet", position: position)
        }
        return columns
    }

    mutating func parseCheck() throws(DatabaseError) -> TableConstraint.Kind {
        try expectWord("check")
        try expectSymbol("(")
        let textStart = position
        let expression = try parseExpression()
        let text = sourceText(from: textStart)
        try expectSymbol(")")
        if acceptWords("no", "inherit") {}
        return .check(expression, text: text)
    }

    /// `REFERENCES table [(columns)] [MATCH SIMPLE] [ON DELETE action] [ON UPDATE action]`.
    mutating func parseReferences(columns: [String]) throws(DatabaseError) -> TableConstraint.Kind {
        try expectWord("references")
        let table = try qualifiedName(reference: true)
        let referenced = try parseColumnList()
        if acceptWord("match") {
            guard acceptWord("simple") else {
                throw DatabaseError(.featureNotSupported, "MATCH FULL and MATCH PARTIAL are not supported yet", position: position)
            }
        }
        var onDelete = ReferentialAction.noAction, onUpdate = ReferentialAction.noAction
        while current.word == "on" {
            advance()
            let isDelete = acceptWord("delete")
            if !isDelete { try expectWord("update") }
            let action: ReferentialAction
            if acceptWords("no", "action") { action = .noAction }
            else if acceptWord("restrict") { action = .restrict }
            else if acceptWord("cascade") { action = .cascade }
            else if acceptWords("set", "null") { action = .setNull }
            else if acceptWords("set", "default") { action = .setDefault }
            else { throw syntaxError() }
            if isDelete { onDelete = action } else { onUpdate = action }
        }
        if acceptWord("deferrable") || acceptWords("initially", "deferred") {
            throw DatabaseError(.featureNotSupported, "deferrable constraints are not supported yet", position: position)
        }
        _ = acceptWords("not", "deferrable")
        _ = acceptWords("initially", "immediate")
        return .foreignKey(columns: columns, table: table, referencedColumns: referenced, onDelete: onDelete, onUpdate: onUpdate)
    }

    /// `ALTER TABLE [IF EXISTS] [ONLY] name ADD [CONSTRAINT name] ... | DROP CONSTRAINT [IF EXISTS] name [, ...]`.
    mutating func parseAlterTable(start: Int) throws(DatabaseError) -> Statement {
        try expectWord("table")
        let ifExists = acceptWords("if", "exists")
        _ = acceptWord("only")
        let name = try qualifiedName()
        var actions: [AlterTableAction] = []
        repeat {
            let at = position
            if acceptWord("add") {
                guard let constraint = try parseTableConstraint() else {
                    throw DatabaseError(.featureNotSupported, "ALTER TABLE ... ADD COLUMN is not supported yet", position: at)
                }
                actions.append(.addConstraint(constraint))
            } else if acceptWords("drop", "constraint") {
                let ifExists = acceptWords("if", "exists")
                actions.append(.dropConstraint(name: try identifier(), ifExists: ifExists, position: at))
                _ = acceptWord("restrict")
                if current.word == "cascade" { throw DatabaseError(.featureNotSupported, "DROP ... CASCADE is not supported yet", position: position) }
            } else {
                throw DatabaseError(.featureNotSupported, "this form of ALTER TABLE is not supported yet", position: at)
            }
        } while acceptSymbol(",")
        return .alterTable(name: name, actions: actions, ifExists: ifExists, position: start)
    }

    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [[IF NOT EXISTS] name] ON [ONLY] table [USING btree|hash] (column, ...)`.
    mutating func parseCreateIndex(start: Int) throws(DatabaseError) -> Statement {
        let unique = acceptWord("unique")
        try expectWord("index")
        _ = acceptWord("concurrently")
        let ifNotExists = acceptWords("if", "not", "exists")
        var name: String?
        if current.word != "on" { name = try qualifiedName() }
        try expectWord("on")
        _ = acceptWord("only")
        let table = try qualifiedName(reference: true)
        if acceptWord("using") {
            let method = try identifier()
            guard method == "btree" || method == "hash" else {
                throw DatabaseError(.featureNotSupported, "index access method \"\(method)\" is not supported", position: position)
            }
        }
        try expectSymbol("(")
        var columns: [String] = []
        repeat {
            guard !isSymbol("("), tokens[index + 1].kind != .symbol("(") else {
                throw DatabaseError(.featureNotSupported, "indexes on expressions are not supported yet", position: position)
            }
            columns.append(try identifier())
            _ = acceptWord("asc") || acceptWord("desc")
            _ = acceptWords("nulls", "first") || acceptWords("nulls", "last")
        } while acceptSymbol(",")
        try expectSymbol(")")
        if current.word == "where" || current.word == "include" {
            throw DatabaseError(.featureNotSupported, "partial and covering indexes are not supported yet", position: position)
        }
        return .createIndex(name: name, table: table, columns: columns, unique: unique, ifNotExists: ifNotExists, position: start)
    }

    static let serialTypes: [String: SQLType] = ["serial": .integer, "serial4": .integer, "bigserial": .bigint, "serial8": .bigint,
                                                 "smallserial": .smallint, "serial2": .smallint]

    /// `CREATE SEQUENCE [IF NOT EXISTS] name [options]`.
    mutating func parseCreateSequence(start: Int) throws(DatabaseError) -> Statement {
        let ifNotExists = acceptWords("if", "not", "exists")
        let name = try qualifiedName()
        var options = SequenceDefinition()
        try parseSequenceOptions(&options)
        return .createSequence(name: name, options: options, ifNotExists: ifNotExists, position: start)
    }

    /// Sequence options, in any order: AS type, INCREMENT [BY] n, MINVALUE n | NO MINVALUE,
    /// MAXVALUE n | NO MAXVALUE, START [WITH] n, CACHE n, [NO] CYCLE, OWNED BY table.column | NONE.
    mutating func parseSequenceOptions(_ options: inout SequenceDefinition) throws(DatabaseError) {
        func number(_ parser: inout Parser) throws(DatabaseError) -> Int64 {
            let at = parser.position
            let negative = parser.acceptSymbol("-")
            guard case .integer(let digits) = parser.current.kind, let value = Int64((negative ? "-" : "") + digits) else {
                if case .integer = parser.current.kind {
                    throw DatabaseError(.numericValueOutOfRange, "value out of range for type bigint", position: at)
                }
                throw parser.syntaxError()
            }
            parser.advance()
            return value
        }
        while true {
            if acceptWord("as") {
                options.type = try parseTypeName()
            } else if acceptWord("increment") {
                _ = acceptWord("by")
                options.increment = try number(&self)
            } else if acceptWord("minvalue") {
                options.minValue = .some(try number(&self))
            } else if acceptWord("maxvalue") {
                options.maxValue = .some(try number(&self))
            } else if acceptWords("no", "minvalue") {
                options.minValue = .some(nil)
            } else if acceptWords("no", "maxvalue") {
                options.maxValue = .some(nil)
            } else if acceptWords("no", "cycle") {
                options.cycle = false
            } else if acceptWord("cycle") {
                options.cycle = true
            } else if acceptWord("start") {
                _ = acceptWord("with")
                options.start = try number(&self)
            } else if acceptWord("cache") {
                _ = try number(&self)
            } else if acceptWords("owned", "by") {
                if acceptWord("none") { options.ownedBy = [] } else {
                    var parts = [try identifier()]
                    while acceptSymbol(".") { parts.append(try identifier()) }
                    guard parts.count >= 2 else { throw syntaxError() }
                    options.ownedBy = Array(parts.suffix(2))
                }
            } else {
                return
            }
        }
    }

    /// The source text from the token at `start` up to (not including) the current token.
    func sourceText(from start: Int) -> String {
        let characters = Array(source)
        let from = min(max(start - 1, 0), characters.count), to = min(max(position - 1, from), characters.count)
        return String(characters[from..<to]).trimmed
    }
}
