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
        } else if acceptWord("transaction") {
            let modes = try parseTransactionModes()
            return .set(name: "transaction_isolation", value: modes.isolation ?? "", position: modes.isolationPosition ?? start)
        } else if acceptWords("characteristics", "as", "transaction") {
            let modes = try parseTransactionModes()
            return .set(name: "default_transaction_isolation", value: modes.isolation ?? "", position: modes.isolationPosition ?? start)
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

    /// `DECLARE name [BINARY] [INSENSITIVE] [[NO] SCROLL] CURSOR [WITH | WITHOUT HOLD] FOR query`.
    mutating func parseDeclare() throws(DatabaseError) -> Statement {
        let start = position
        try expectWord("declare")
        let name = try aliasName()
        if current.word == "binary" {
            throw DatabaseError(.featureNotSupported, "binary cursors are not supported; ask for binary results through the protocol", position: position)
        }
        _ = acceptWord("asensitive") || acceptWord("insensitive")
        _ = acceptWord("scroll") || acceptWords("no", "scroll")
        try expectWord("cursor")
        var hold = false
        if acceptWords("with", "hold") { hold = true } else { _ = acceptWords("without", "hold") }
        try expectWord("for")
        return .declareCursor(name: name, query: try parseSelect(), hold: hold, position: start)
    }

    /// `FETCH | MOVE [NEXT | PRIOR | FIRST | LAST | ABSOLUTE n | RELATIVE n | n | ALL | FORWARD [n | ALL] | BACKWARD [n | ALL]] [FROM | IN] name`.
    mutating func parseFetch() throws(DatabaseError) -> Statement {
        let start = position
        let move = current.word == "move"
        advance()
        func count() throws(DatabaseError) -> Int? {
            let negative = acceptSymbol("-")
            guard case .integer(let text) = current.kind, let value = Int(text) else { return nil }
            advance()
            return negative ? -value : value
        }
        var direction = FetchDirection.forward(1)
        if acceptWord("next") {
        } else if acceptWord("prior") {
            direction = .backward(1)
        } else if acceptWord("first") {
            direction = .absolute(1)
        } else if acceptWord("last") {
            direction = .absolute(-1)
        } else if acceptWord("absolute") {
            guard let n = try count() else { throw syntaxError() }
            direction = .absolute(n)
        } else if acceptWord("relative") {
            guard let n = try count() else { throw syntaxError() }
            direction = .relative(n)
        } else if acceptWord("all") {
            direction = .forward(nil)
        } else if acceptWord("forward") {
            direction = acceptWord("all") ? .forward(nil) : .forward(try count() ?? 1)
        } else if acceptWord("backward") {
            direction = acceptWord("all") ? .backward(nil) : .backward(try count() ?? 1)
        } else if let n = try count() {
            direction = n < 0 ? .backward(-n) : .forward(n)
        }
        _ = acceptWord("from") || acceptWord("in")
        return .fetch(name: try aliasName(), direction: direction, move: move, position: start)
    }
}
