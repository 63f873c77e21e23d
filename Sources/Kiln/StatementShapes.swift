import KilnCore
import KilnSQL

/// The simple protocol's statement cache (PhoebeDB's query-id cache): a short statement's
/// literals are lifted into parameters straight from the lexer, and its normalised text maps
/// to a prepared statement whose plan and code are kept, so that `UPDATE t SET v = v + 1
/// WHERE k = 42` sent as text costs little more than the prepared form.
///
/// Lifting is conservative, so that the statement means exactly what it meant: integer and
/// string literals right after a comparison or arithmetic operator, or directly in a VALUES
/// row or an IN list; never in ORDER BY / GROUP BY positions, type modifiers, typed literals
/// (`DATE '...'`), LIMIT, or function arguments. Only single-statement INSERT, UPDATE, DELETE,
/// and SELECTs over one table without joins, grouping or set operations (where a literal's
/// value could steer the planner's estimates) take part.
struct StatementShape {
    /// The text with `$n` for each lifted literal.
    let normalized: String
    let parameters: [Value]
    let types: [SQLType]
    /// For each character of `normalized` (0-based), the 1-based position in the original.
    let positions: [Int]
    /// Each lifted literal's position in the original.
    let literalPositions: [Int]

    static let operators: Set<String> = ["=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%"]
    static let analytical: Set<String> = ["join", "group", "union", "intersect", "except", "having", "over", "window", "with", "exists",
                                          "distinct", "order", "limit", "offset", "fetch", "lateral", "returning"]

    init?(_ sql: String) {
        var lexer = Lexer(sql)
        guard let tokens = try? lexer.tokenize(), let first = tokens.first?.word, ["select", "insert", "update", "delete"].contains(first) else { return nil }
        var selects = 0, depth = 0, fromTables = 0, inFrom = false
        for (index, token) in tokens.enumerated() {
            switch token.kind {
            case .parameter: return nil
            case .symbol(";"):
                guard tokens[(index + 1)...].allSatisfy({ $0.kind == .end || $0.kind == .symbol(";") }) else { return nil }
            case .symbol("("): depth += 1
            case .symbol(")"): depth -= 1
            case .symbol(","):
                if inFrom, depth == 0 { fromTables += 1 }
            case .word(let word):
                if word == "select" { selects += 1 }
                if first == "select" {
                    if StatementShape.analytical.contains(word) { return nil }
                    if word == "from", depth == 0 { inFrom = true; fromTables = 1 }
                    if word == "where", depth == 0 { inFrom = false }
                }
            default: break
            }
        }
        if first == "select", selects != 1 || fromTables > 1 { return nil }
        if first != "select", selects > 0 && first != "insert" { return nil }

        // Built over the lexer's UTF-8 bytes; `positions` holds, per byte of the new text, the
        // original character position, and becomes per character at the end.
        let units = lexer.bytes
        func originalPosition(ofByte offset: Int) -> Int { lexer.position(offset) }
        var text: [UInt8] = []
        text.reserveCapacity(units.count + 8)
        var positions: [Int] = []
        positions.reserveCapacity(units.count + 8)
        var parameters: [Value] = []
        var types: [SQLType] = []
        var literalPositions: [Int] = []
        // Paren contexts: true where literals are list items (a VALUES row, an IN list).
        var lists: [Bool] = []
        var valuesRows = false
        var end = 0
        var index = 0
        func emit(_ token: Token) {
            for offset in token.utf8Offset..<(token.utf8Offset + token.text.utf8.count) {
                text.append(units[offset])
                positions.append(originalPosition(ofByte: offset))
            }
        }
        func emitGap(before token: Token) {
            let start = token.utf8Offset
            if start > end {
                for offset in end..<start {
                    text.append(units[offset])
                    positions.append(originalPosition(ofByte: offset))
                }
            }
            end = start + token.text.utf8.count
        }
        while index < tokens.count, tokens[index].kind != .end {
            let token = tokens[index]
            emitGap(before: token)
            let previous = index > 0 ? tokens[index - 1] : nil
            var lifted: Value?
            var type = SQLType.unknown
            var consumed = 1
            switch token.kind {
            case .symbol("-"), .symbol("+"):
                // A signed integer literal (`x = -5`, `v + -3`): lifted whole, or not at all.
                guard case .integer(let digits)? = index + 1 < tokens.count ? tokens[index + 1].kind : nil, !StatementShape.endsValue(previous),
                      StatementShape.liftable(after: previous, inList: lists.last ?? false), let value = Int64((token.kind == .symbol("-") ? "-" : "") + digits) else { break }
                lifted = Int32(exactly: value).map(Value.int32) ?? .int64(value)
                type = Int32(exactly: value) != nil ? .integer : .bigint
                consumed = 2
                end = tokens[index + 1].utf8Offset + tokens[index + 1].text.utf8.count
            case .integer(let digits), .string(let digits):
                guard StatementShape.liftable(after: previous, inList: lists.last ?? false) else { break }
                // After a unary sign that was not lifted with it, the literal stays (`(1, -3)`).
                if let previous, previous.kind == .symbol("-") || previous.kind == .symbol("+"), index >= 2, !StatementShape.endsValue(tokens[index - 2]) { break }
                if case .integer = token.kind {
                    guard let value = Int64(digits) else { break }
                    if let small = Int32(exactly: value) { lifted = .int32(small); type = .integer } else { lifted = .int64(value); type = .bigint }
                } else {
                    lifted = .text(digits)
                }
            case .word("values"):
                valuesRows = lists.isEmpty
            case .symbol("("):
                let afterIn = previous?.word == "in"
                let row = valuesRows && lists.isEmpty && (previous?.word == "values" || previous?.kind == .symbol(","))
                lists.append(afterIn || row)
            case .symbol(")"):
                if !lists.isEmpty { lists.removeLast() }
            default:
                break
            }
            if let lifted {
                literalPositions.append(token.position)
                parameters.append(lifted)
                types.append(type)
                for byte in "$\(parameters.count)".utf8 {
                    text.append(byte)
                    positions.append(token.position)
                }
            } else {
                emit(token)
            }
            index += consumed
        }
        guard !parameters.isEmpty else { return nil }
        normalized = String(decoding: text, as: UTF8.self)
        if !lexer.bytesAreCharacters {
            // Per character of the new text: the position of its first byte.
            var perCharacter: [Int] = []
            var offset = 0
            for character in normalized {
                perCharacter.append(positions[offset])
                offset += character.utf8.count
            }
            positions = perCharacter
        }
        self.parameters = parameters
        self.types = types
        self.positions = positions
        self.literalPositions = literalPositions
    }

    /// The literals as values of the parameter types the statement gave them: a string
    /// literal is read with its type's input function, and its error points at it.
    func values(as types: [SQLType]) throws(DatabaseError) -> [Value] {
        var values = parameters
        for (index, value) in parameters.enumerated() where index < types.count {
            guard case .text(let text) = value, types[index] != .text, types[index] != .unknown, types[index].physical != .string else { continue }
            do throws(DatabaseError) { values[index] = try Casts.parse(Substring(text), as: types[index]) } catch {
                var located = error
                located.position = literalPositions[index]
                throw located
            }
        }
        return values
    }

    /// Whether a token ends a value (a following `-` is binary): a name, a literal, `)`.
    static func endsValue(_ token: Token?) -> Bool {
        guard let token else { return false }
        switch token.kind {
        case .word(let word): return !Parser.reserved.contains(word)
        case .quotedIdentifier, .string, .integer, .decimal, .parameter, .symbol(")"): return true
        default: return false
        }
    }

    static func liftable(after previous: Token?, inList: Bool) -> Bool {
        guard let previous, case .symbol(let symbol) = previous.kind else { return false }
        if operators.contains(symbol) { return true }
        return inList && (symbol == "(" || symbol == ",")
    }

    /// The cache key: the text and the literals' types.
    struct Key: Hashable {
        let text: String
        let types: [SQLType]
    }

    var key: Key { Key(text: normalized, types: types) }

    /// An error's position in the original text.
    func originalPosition(_ position: Int) -> Int {
        guard position >= 1 else { return position }
        return position - 1 < positions.count ? positions[position - 1] : (positions.last ?? position)
    }
}

extension Database {
    static let shapeCacheLimit = 512

    /// The cached prepared statement for `sql`'s shape, with its literals as parameters; nil
    /// when the statement does not take part or cannot be prepared in that form.
    func shapedStatement(_ sql: String) -> PreparedStatement? {
        guard let shape = StatementShape(sql) else { return nil }
        let key = shape.key
        let cached: PreparedStatement
        if let entry = statementShapes[key] {
            guard let entry else { return nil }
            cached = entry
        } else {
            if statementShapes.count >= Database.shapeCacheLimit { statementShapes.removeAll(keepingCapacity: true) }
            guard let prepared = try? prepare(shape.normalized, parameterTypes: shape.types) else {
                statementShapes[key] = .some(nil)
                return nil
            }
            statementShapes[key] = prepared
            cached = prepared
        }
        let statement = PreparedStatement(sql: sql, statement: cached.statement, declaredParameterTypes: [], kind: cached.kind, oneShot: true)
        statement.shape = (cached, shape)
        return statement
    }
}
