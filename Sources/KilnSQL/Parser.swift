import KilnCore

/// Recursive-descent parser for Kiln's PostgreSQL dialect.
///
/// Every error is a `DatabaseError` with SQLSTATE 42601 and the position of the offending token,
/// worded as PostgreSQL words it (`syntax error at or near "x"`).
public struct Parser {
    var tokens: [Token]
    var index = 0
    /// Table references parsed so far, by name (how often a WITH query is used).
    var tableReferences: [String: Int] = [:]
    let source: String
    /// SELECTs being parsed, one inside another (bounded by `maxQueryDepth`).
    var queryDepth = 0

    /// Parses every statement of `sql` (separated by semicolons).
    public static func parse(_ sql: String) throws(DatabaseError) -> [Statement] {
        var lexer = Lexer(sql)
        var parser = Parser(tokens: try lexer.tokenize(), source: sql)
        return try parser.parseStatements()
    }

    init(tokens: [Token], source: String) {
        self.tokens = tokens
        self.source = source
    }

    // MARK: - Token helpers

    var current: Token { tokens[index] }
    var position: Int { current.position }

    func peekWord(_ offset: Int = 0) -> String? {
        index + offset < tokens.count ? tokens[index + offset].word : nil
    }

    mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    mutating func acceptSymbol(_ symbol: String) -> Bool {
        if isSymbol(symbol) { advance(); return true }
        return false
    }

    mutating func acceptWord(_ word: String) -> Bool {
        if current.word == word { advance(); return true }
        return false
    }

    mutating func acceptWords(_ words: String...) -> Bool {
        for (offset, word) in words.enumerated() where peekWord(offset) != word { return false }
        index += words.count
        return true
    }

    func syntaxError() -> DatabaseError {
        if current.kind == .end {
            return DatabaseError(.syntaxError, "syntax error at end of input", position: position)
        }
        return DatabaseError(.syntaxError, "syntax error at or near \"\(current.text.isEmpty ? tokenText(current) : current.text)\"", position: position)
    }

    func tokenText(_ token: Token) -> String {
        switch token.kind {
        case .word(let w): return w
        case .quotedIdentifier(let q): return "\"\(q)\""
        case .string(let s): return "'\(s)'"
        case .integer(let i), .decimal(let i): return i
        case .parameter(let n): return "$\(n)"
        case .symbol(let s): return s
        case .end: return ""
        }
    }

    mutating func expectSymbol(_ symbol: String) throws(DatabaseError) {
        guard acceptSymbol(symbol) else { throw syntaxError() }
    }

    mutating func expectWord(_ word: String) throws(DatabaseError) {
        guard acceptWord(word) else { throw syntaxError() }
    }

    /// Words that end an expression or a clause and so cannot be bare column aliases.
    public static let reserved: Set<String> = [
        "select", "from", "where", "group", "having", "order", "limit", "offset", "union", "intersect",
        "except", "and", "or", "not", "as", "on", "join", "inner", "left", "right", "full", "cross",
        "natural", "using", "into", "values", "when", "then", "else", "end", "case", "is", "null",
        "in", "between", "like", "ilike", "asc", "desc", "nulls", "by", "distinct", "all", "with",
        "true", "false", "cast", "fetch", "for", "window", "over", "create", "table", "insert", "escape",
        "collate", "any", "some", "exists", "array", "similar", "default", "returning",
    ]

    /// An identifier (unquoted words that are not reserved, or quoted identifiers).
    mutating func identifier() throws(DatabaseError) -> String {
        switch current.kind {
        case .word(let w) where !Parser.reserved.contains(w):
            advance()
            return w
        case .quotedIdentifier(let q):
            advance()
            return q
        default:
            throw syntaxError()
        }
    }

    /// A possibly qualified name `a.b`; only the last part is kept for tables (single schema).
    /// A relation name; `public.` is dropped, the system schemas (`pg_catalog.`,
    /// `information_schema.`) stay part of the name.
    /// A relation's name, `[schema.]name`: the schemas are `public` (the user's relations),
    /// `pg_catalog` and `information_schema` (kept in the name). Another schema is 3F000, or
    /// 42P01 for a relation a query reads (`reference`), as in PostgreSQL.
    mutating func qualifiedName(reference: Bool = false) throws(DatabaseError) -> String {
        let start = position
        let first = try identifier()
        guard acceptSymbol(".") else { return first }
        let second = try identifier()
        if isSymbol(".") {
            throw DatabaseError(.featureNotSupported, "cross-database references are not implemented: \(first).\(second).\(peekWord(1) ?? "")", position: start)
        }
        switch first {
        case "public": return second
        case "pg_catalog", "information_schema": return first + "." + second
        default:
            if reference { throw DatabaseError(.undefinedTable, "relation \"\(first).\(second)\" does not exist", position: start) }
            throw DatabaseError(SQLState("3F000"), "schema \"\(first)\" does not exist", position: start)
        }
    }

    // MARK: - Statements

    mutating func parseStatements() throws(DatabaseError) -> [Statement] {
        var statements: [Statement] = []
        while true {
            while acceptSymbol(";") {}
            if current.kind == .end { return statements }
            statements.append(try parseStatement())
            if current.kind != .end, !isSymbol(";") { throw syntaxError() }
        }
    }

    mutating func parseStatement() throws(DatabaseError) -> Statement {
        let start = position
        switch current.word {
        case "select", "values", "with": return .select(try parseSelect())
        case "create": return try parseCreate()
        case "alter":
            advance()
            if current.word == "table" { return try parseAlterTable(start: start) }
            return try parseRole(alter: true, start: start)
        case "drop": return try parseDrop()
        case "insert": return try parseInsert()
        case "delete": return try parseDelete()
        case "update": return try parseUpdate()
        case "truncate": return try parseTruncate()
        case "savepoint":
            advance()
            return .savepoint(name: try aliasName(), position: start)
        case "release":
            advance()
            return .releaseSavepoint(name: try parseSavepointName(), position: start)
        case "copy": return try parseCopy()
        case "analyze", "analyse":
            advance()
            _ = acceptWord("verbose")
            var tables: [String] = []
            if current.kind != .end, !isSymbol(";") {
                repeat { tables.append(try qualifiedName(reference: true)) } while acceptSymbol(",")
            }
            return .analyze(tables: tables, position: start)
        case "vacuum":
            advance()
            var analyze = false
            if acceptSymbol("(") {
                repeat {
                    guard let option = current.word else { throw syntaxError() }
                    advance()
                    if option == "analyze" || option == "analyse" { analyze = true }
                    if current.word == "true" || current.word == "on" || current.word == "false" || current.word == "off" || current.kind == .integer("1") || current.kind == .integer("0") {
                        if option == "analyze" || option == "analyse" { analyze = current.word == "true" || current.word == "on" || current.kind == .integer("1") }
                        advance()
                    }
                } while acceptSymbol(",")
                try expectSymbol(")")
            } else {
                while let word = current.word, ["full", "freeze", "verbose", "analyze", "analyse"].contains(word) {
                    if word == "analyze" || word == "analyse" { analyze = true }
                    advance()
                }
            }
            var tables: [String] = []
            if current.kind != .end, !isSymbol(";") {
                repeat { tables.append(try qualifiedName(reference: true)) } while acceptSymbol(",")
            }
            return .vacuum(tables: tables, analyze: analyze, position: start)
        case "checkpoint":
            advance()
            return .checkpoint
        case "explain": return try parseExplain()
        case "set": return try parseSet()
        case "reset":
            advance()
            if acceptWord("all") { return .reset(name: "all") }
            return .reset(name: try settingName())
        case "show":
            advance()
            if acceptWords("transaction", "isolation", "level") { return .show(name: "transaction_isolation", position: start) }
            return .show(name: try settingName(), position: start)
        case "prepare":
            advance()
            let name = try identifier()
            var types: [TypeName] = []
            if acceptSymbol("(") {
                repeat { types.append(try parseTypeName()) } while acceptSymbol(",")
                try expectSymbol(")")
            }
            try expectWord("as")
            return .prepare(name: name, parameterTypes: types, statement: try parseStatement(), position: start)
        case "execute":
            advance()
            let name = try identifier()
            var arguments: [Expression] = []
            if acceptSymbol("(") {
                repeat { arguments.append(try parseExpression()) } while acceptSymbol(",")
                try expectSymbol(")")
            }
            return .execute(name: name, arguments: arguments, position: start)
        case "deallocate":
            advance()
            _ = acceptWord("prepare")
            if acceptWord("all") { return .deallocate(name: nil, position: start) }
            return .deallocate(name: try identifier(), position: start)
        case "declare": return try parseDeclare()
        case "fetch", "move": return try parseFetch()
        case "close":
            advance()
            if acceptWord("all") { return .closeCursor(name: nil, position: start) }
            return .closeCursor(name: try aliasName(), position: start)
        case "discard":
            advance()
            guard let what = current.word, ["all", "plans", "sequences", "temp", "temporary"].contains(what) else { throw syntaxError() }
            advance()
            return .discard(what: what)
        case "begin", "start":
            advance()
            _ = acceptWord("transaction") || acceptWord("work")
            return .begin(try parseTransactionModes())
        case "commit", "end":
            advance()
            _ = acceptWord("transaction") || acceptWord("work")
            return .commit
        case "rollback", "abort":
            advance()
            _ = acceptWord("transaction") || acceptWord("work")
            if acceptWord("to") { return .rollbackToSavepoint(name: try parseSavepointName(), position: start) }
            return .rollback
        default:
            if isSymbol("(") { return .select(try parseSelect()) }
            throw syntaxError()
        }
    }

    mutating func parseCreate() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("create")
        if current.word == "role" || current.word == "user" { return try parseRole(alter: false, start: start) }
        let orReplace = acceptWords("or", "replace")
        if acceptWord("view") {
            let name = try qualifiedName()
            let columns = try parseColumnList()
            try expectWord("as")
            let queryStart = position
            let query = try parseSelect()
            let characters = Array(source)
            let definition = String(characters[min(queryStart - 1, characters.count)..<min(max(position - 1, queryStart - 1), characters.count)])
            return .createView(name: name, columns: columns, query: query, definition: definition.trimmed,
                               orReplace: orReplace, position: start)
        }
        if !orReplace, current.word == "unique" || current.word == "index" { return try parseCreateIndex(start: start) }
        if !orReplace, acceptWord("sequence") { return try parseCreateSequence(start: start) }
        guard !orReplace, acceptWord("table") else { throw syntaxError() }
        return try parseCreateTable(start: start)
    }

    /// `WITH (fillfactor = 100, ...)` after CREATE TABLE: PostgreSQL's heap storage parameters
    /// (what pgbench and dump files send). Kiln's column store has no use for them; known names
    /// are accepted, others are 22023 as in PostgreSQL.
    mutating func skipStorageParameters() throws(DatabaseError) {
        try expectSymbol("(")
        repeat {
            let at = position
            var name = try identifier()
            while acceptSymbol(".") { name += "." + (try identifier()) }
            let known = ["fillfactor", "parallel_workers", "autovacuum_enabled", "toast_tuple_target", "user_catalog_table", "vacuum_truncate",
                         "vacuum_index_cleanup", "log_autovacuum_min_duration"]
            guard known.contains(name) || name.hasPrefix("autovacuum_") || name.hasPrefix("toast.") else {
                throw DatabaseError(.invalidParameterValue, "unrecognized parameter \"\(name)\"", position: at)
            }
            if acceptSymbol("=") {
                guard current.kind != .end, !isSymbol(")"), !isSymbol(",") else { throw syntaxError() }
                advance()
            }
        } while acceptSymbol(",")
        try expectSymbol(")")
    }

    mutating func parseDrop() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("drop")
        if acceptWord("role") || acceptWord("user") {
            let ifExists = acceptWords("if", "exists")
            var names = [try aliasName()]
            while acceptSymbol(",") { names.append(try aliasName()) }
            return .dropRole(names: names, ifExists: ifExists, position: start)
        }
        if acceptWord("index") {
            _ = acceptWord("concurrently")
            let (names, ifExists) = try parseDropNames()
            return .dropIndex(names: names, ifExists: ifExists, position: start)
        }
        if acceptWord("sequence") {
            let (names, ifExists) = try parseDropNames()
            return .dropSequence(names: names, ifExists: ifExists, position: start)
        }
        let isView = acceptWord("view")
        if !isView { try expectWord("table") }
        let (names, ifExists) = try parseDropNames()
        return isView ? .dropView(names: names, ifExists: ifExists, position: start) : .dropTable(names: names, ifExists: ifExists, position: start)
    }

    /// `[IF EXISTS] name [, ...] [RESTRICT]` of DROP (CASCADE is refused).
    mutating func parseDropNames() throws(DatabaseError) -> ([String], Bool) {
        let ifExists = acceptWords("if", "exists")
        var names = [try qualifiedName()]
        while acceptSymbol(",") { names.append(try qualifiedName()) }
        _ = acceptWord("restrict")
        if current.word == "cascade" {
            throw DatabaseError(.featureNotSupported, "DROP ... CASCADE is not supported yet", position: position)
        }
        return (names, ifExists)
    }

    mutating func parseColumnList() throws(DatabaseError) -> [String]? {
        guard acceptSymbol("(") else { return nil }
        var columns = [try identifier()]
        while acceptSymbol(",") { columns.append(try identifier()) }
        try expectSymbol(")")
        return columns
    }

    mutating func parseInsert() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("insert")
        try expectWord("into")
        let table = try qualifiedName(reference: true)
        let alias: String? = acceptWord("as") ? try aliasName() : nil
        let columns = try parseColumnList()
        if acceptWords("default", "values") {
            return .insertValues(table: table, columns: [], rows: [[]], returning: try parseReturning(), position: start)
        }
        if current.word == "overriding" {
            throw DatabaseError(.featureNotSupported, "OVERRIDING SYSTEM VALUE / USER VALUE is not supported yet", position: position)
        }
        if acceptWord("values") {
            var rows: [[Expression]] = []
            // `DEFAULT` as a value: the column's default (a call the INSERT replaces).
            func value(_ parser: inout Parser) throws(DatabaseError) -> Expression {
                let at = parser.position
                if parser.acceptWord("default") { return Expression(.function(name: Parser.defaultMarker, arguments: [], distinct: false, star: false), at: at) }
                return try parser.parseExpression()
            }
            repeat {
                try expectSymbol("(")
                var row = [try value(&self)]
                while acceptSymbol(",") { row.append(try value(&self)) }
                try expectSymbol(")")
                rows.append(row)
            } while acceptSymbol(",")
            if current.word == "on" {
                return try parseOnConflict(UpsertStatement(table: table, alias: alias, columns: columns, source: .values(rows), action: .nothing, returning: [], position: start))
            }
            return .insertValues(table: table, columns: columns, rows: rows, returning: try parseReturning(), position: start)
        }
        guard current.word == "select" || current.word == "with" || isSymbol("(") else { throw syntaxError() }
        let query = try parseSelect()
        if current.word == "on" {
            return try parseOnConflict(UpsertStatement(table: table, alias: alias, columns: columns, source: .select(query), action: .nothing, returning: [], position: start))
        }
        return .insertSelect(table: table, columns: columns, query: query, returning: try parseReturning(), position: start)
    }

    /// The function name a `DEFAULT` in a VALUES row parses to.
    public static let defaultMarker = "__default"

    mutating func parseCopy() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("copy")
        if acceptSymbol("(") {
            let query = try parseSelect()
            try expectSymbol(")")
            try expectWord("to")
            let file = acceptWord("stdout") ? nil : try stringLiteral()
            return .copyTo(query: query, file: file, options: try parseCopyOptions(), position: start)
        }
        let table = try qualifiedName(reference: true)
        let columns = try parseColumnList()
        if acceptWord("to") {
            let file = acceptWord("stdout") ? nil : try stringLiteral()
            var query = SelectStatement()
            query.items = columns.map { $0.map { .expression(Expression(.column([$0]), at: start), alias: nil) } } ?? [.star(qualifier: nil, position: start)]
            query.from = [.table(name: table, alias: nil, position: start)]
            return .copyTo(query: query, file: file, options: try parseCopyOptions(), position: start)
        }
        try expectWord("from")
        let file = acceptWord("stdin") ? nil : try stringLiteral()
        return .copyFrom(table: table, columns: columns, file: file, options: try parseCopyOptions(), position: start)
    }

    mutating func stringLiteral() throws(DatabaseError) -> String {
        guard case .string(let s) = current.kind else { throw syntaxError() }
        advance()
        return s
    }

    mutating func parseCopyOptions() throws(DatabaseError) -> CopyOptions {
        var options = CopyOptions()
        _ = acceptWord("with")
        if acceptSymbol("(") {
            repeat {
                let name = try aliasName()  // option names may be keywords (NULL, FORMAT)
                try parseCopyOption(name, into: &options)
            } while acceptSymbol(",")
            try expectSymbol(")")
        } else {
            // Old-style options: `CSV HEADER DELIMITER '|' NULL ''`.
            while let word = current.word, ["csv", "header", "delimiter", "null", "format"].contains(word) {
                advance()
                if word == "csv" { options.format = "csv" } else { try parseCopyOption(word, into: &options) }
            }
        }
        return options
    }

    mutating func parseCopyOption(_ name: String, into options: inout CopyOptions) throws(DatabaseError) {
        let optionPosition = position
        switch name {
        case "format":
            let format = try identifier()
            guard ["csv", "text"].contains(format) else {
                throw DatabaseError(.invalidParameterValue, "COPY format \"\(format)\" not recognized", position: optionPosition)
            }
            options.format = format
        case "delimiter":
            let text = try stringLiteral()
            guard text.count == 1 else {
                throw DatabaseError(.featureNotSupported, "COPY delimiter must be a single one-byte character", position: optionPosition)
            }
            options.delimiter = text.first
        case "header":
            if acceptWord("true") || acceptWord("on") { options.header = true }
            else if acceptWord("false") || acceptWord("off") { options.header = false }
            else if case .integer(let i) = current.kind { advance(); options.header = i != "0" }
            else { options.header = true }
        case "null":
            options.null = try stringLiteral()
        case "quote":
            let text = try stringLiteral()
            guard text.count == 1 else {
                throw DatabaseError(.featureNotSupported, "COPY quote must be a single one-byte character", position: optionPosition)
            }
            options.quote = text.first!
        case "freeze":
            // PostgreSQL's hint that the rows need no visibility checks (a table created or
            // truncated in the same transaction); Kiln's loaded rows carry no versions anyway.
            _ = acceptWord("true") || acceptWord("on") || acceptWord("false") || acceptWord("off")
        default:
            throw DatabaseError(.syntaxError, "option \"\(name)\" not recognized", position: optionPosition)
        }
    }

    mutating func parseExplain() throws(DatabaseError) -> Statement {
        try expectWord("explain")
        var mode = ExplainMode.plan
        if acceptWord("analyze") || acceptWord("analyse") {
            mode = .analyze
        } else if acceptSymbol("(") {
            let optionPosition = position
            let option = try identifier()
            switch option {
            case "pipelines": mode = .pipelines
            case "analyze", "analyse": mode = .analyze
            case "ir":
                let level = try identifier()
                guard ["high", "mid", "low", "llvm"].contains(level) else {
                    throw DatabaseError(.invalidParameterValue, "unrecognized IR level \"\(level)\": expected high, mid, low or llvm", position: optionPosition)
                }
                mode = .ir(level)
            case "plan", "verbose", "costs": mode = .plan
            default:
                throw DatabaseError(.syntaxError, "unrecognized EXPLAIN option \"\(option)\"", position: optionPosition)
            }
            try expectSymbol(")")
        }
        return .explain(mode, try parseStatement())
    }
}
