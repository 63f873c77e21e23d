import KilnCore

/// Session statements: SET in its PostgreSQL forms, transaction modes, and roles.
extension Parser {
    /// `SET [SESSION | LOCAL] name {TO | =} value [, ...] | DEFAULT`, `SET TIME ZONE ...`,
    /// `SET NAMES ...`, `SET TRANSACTION ...`.
    mutating func parseSet() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("set")
        if acceptWord("session") || acceptWord("local") {}
        let name: String
        if acceptWords("time", "zone") {
            name = "timezone"
        } else if acceptWord("names") {
            name = "client_encoding"
        } else if acceptWord("transaction") || acceptWords("characteristics", "as", "transaction") {
            try skipTransactionModes()
            return .set(name: "transaction_isolation", value: "read committed", position: start)
        } else {
            name = try settingName()
            if !acceptWord("to") { try expectSymbol("=") }
        }
        if acceptWord("default") || (name == "timezone" && acceptWord("local")) { return .reset(name: name) }
        var values: [String] = []
        repeat {
            let negative = acceptSymbol("-")
            switch current.kind {
            case .word(let w): values.append(w)
            case .string(let s): values.append(s)
            case .integer(let i), .decimal(let i): values.append(negative ? "-" + i : i)
            case .quotedIdentifier(let q): values.append(q)
            default: throw syntaxError()
            }
            advance()
        } while acceptSymbol(",")
        return .set(name: name, value: values.joined(separator: ", "), position: start)
    }

    /// A configuration parameter's name: an identifier, or `class.name` for custom ones.
    mutating func settingName() throws(DatabaseError) -> String {
        var name = try aliasName()
        while acceptSymbol(".") { name += "." + (try aliasName()) }
        return name
    }

    /// `ISOLATION LEVEL ...`, `READ WRITE | ONLY`, `[NOT] DEFERRABLE`: accepted; Kiln runs
    /// every statement as its own serializable unit.
    mutating func skipTransactionModes() throws(DatabaseError) {
        while current.kind != .end, !isSymbol(";") {
            if acceptWords("isolation", "level") {
                if acceptWord("serializable") || acceptWords("repeatable", "read") || acceptWords("read", "committed") || acceptWords("read", "uncommitted") {
                    continue
                }
                throw syntaxError()
            }
            if acceptWords("read", "write") || acceptWords("read", "only") || acceptWord("deferrable") || acceptWords("not", "deferrable") || acceptSymbol(",") {
                continue
            }
            throw syntaxError()
        }
    }

    /// After `CREATE` / `ALTER`: `ROLE | USER name [WITH] option ...`.
    mutating func parseRole(alter: Bool, start: Int) throws(DatabaseError) -> Statement {
        let isUser = current.word == "user"
        guard acceptWord("role") || acceptWord("user") else { throw syntaxError() }
        let name = try aliasName()
        _ = acceptWord("with")
        var options = RoleOptions()
        if isUser && !alter { options.login = true }
        while let word = current.word {
            let at = position
            advance()
            switch word {
            case "login": options.login = true
            case "nologin": options.login = false
            case "superuser": options.superuser = true
            case "nosuperuser": options.superuser = false
            case "encrypted": continue
            case "password":
                if acceptWord("null") { options.password = .some(nil) } else { options.password = .some(try stringLiteral()) }
            case "createdb", "nocreatedb", "createrole", "nocreaterole", "inherit", "noinherit", "replication", "noreplication",
                 "bypassrls", "nobypassrls":
                continue
            default:
                throw DatabaseError(.syntaxError, "syntax error at or near \"\(word)\"", position: at)
            }
        }
        return alter ? .alterRole(name: name, options: options, position: start) : .createRole(name: name, options: options, position: start)
    }
}
