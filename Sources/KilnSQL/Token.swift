import KilnCore

/// One lexical token of PostgreSQL's SQL dialect, with its 1-based character position.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// An unquoted identifier or keyword, lower-cased (PostgreSQL folds to lower case).
        case word(String)
        /// A double-quoted identifier, case preserved.
        case quotedIdentifier(String)
        case string(String)
        case integer(String)
        case decimal(String)
        /// `$n`
        case parameter(Int)
        /// An operator or punctuation: `(`, `)`, `,`, `;`, `.`, `::`, `+`, `<=`, `||`, ...
        case symbol(String)
        case end
    }
    public let kind: Kind
    public let position: Int
    /// The token as written (for error messages that quote it, as PostgreSQL does).
    public var text: String = ""

    /// The keyword, when the token is an unquoted word.
    public var word: String? { if case .word(let w) = kind { return w } else { return nil } }
}

/// Splits SQL text into tokens; reports unterminated strings and stray characters as 42601.
public struct Lexer {
    private let characters: [Character]
    private var index = 0

    public init(_ text: String) { characters = Array(text) }

    public mutating func tokenize() throws(DatabaseError) -> [Token] {
        var tokens: [Token] = []
        while true {
            var token = try next()
            token.text = String(characters[(token.position - 1)..<min(index, characters.count)])
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func peek(_ offset: Int = 0) -> Character? {
        index + offset < characters.count ? characters[index + offset] : nil
    }

    private mutating func next() throws(DatabaseError) -> Token {
        skipSpaceAndComments()
        let start = index + 1
        guard let c = peek() else { return Token(kind: .end, position: start) }
        if c.isLetter || c == "_" {
            var word = ""
            while let d = peek(), d.isLetter || d.isNumber || d == "_" || d == "$" { word.append(d); index += 1 }
            // E'...' escape strings.
            if word.lowercased() == "e", peek() == "'" { return Token(kind: .string(try quoted(escapes: true, start: start)), position: start) }
            return Token(kind: .word(word.lowercased()), position: start)
        }
        if c.isNumber || (c == "." && (peek(1)?.isNumber ?? false)) {
            var text = ""
            var isDecimal = false
            while let d = peek(), d.isNumber { text.append(d); index += 1 }
            if peek() == ".", !(peek(1) == ".") {
                isDecimal = true
                text.append("."); index += 1
                while let d = peek(), d.isNumber { text.append(d); index += 1 }
            }
            if let e = peek(), e == "e" || e == "E",
               let n = peek(1), n.isNumber || ((n == "+" || n == "-") && (peek(2)?.isNumber ?? false)) {
                isDecimal = true
                text.append("e"); index += 1
                if let sign = peek(), sign == "+" || sign == "-" { text.append(sign); index += 1 }
                while let d = peek(), d.isNumber { text.append(d); index += 1 }
            }
            if let d = peek(), d.isLetter || d == "_" {
                throw DatabaseError(.syntaxError, "trailing junk after numeric literal at or near \"\(text)\(d)\"", position: start)
            }
            return Token(kind: isDecimal ? .decimal(text) : .integer(text), position: start)
        }
        if c == "'" { return Token(kind: .string(try quoted(escapes: false, start: start)), position: start) }
        if c == "\"" {
            index += 1
            var name = ""
            while true {
                guard let d = peek() else {
                    throw DatabaseError(.syntaxError, "unterminated quoted identifier at or near \"\\\"\(name)\"", position: start)
                }
                index += 1
                if d == "\"" {
                    if peek() == "\"" { name.append("\""); index += 1; continue }
                    break
                }
                name.append(d)
            }
            if name.isEmpty { throw DatabaseError(.syntaxError, "zero-length delimited identifier at or near \"\"\"\"", position: start) }
            return Token(kind: .quotedIdentifier(name), position: start)
        }
        if c == "$", let d = peek(1), d.isNumber {
            index += 1
            var digits = ""
            while let d = peek(), d.isNumber { digits.append(d); index += 1 }
            guard let n = Int(digits), n > 0, n <= 65535 else {
                throw DatabaseError(.syntaxError, "invalid parameter number $\(digits)", position: start)
            }
            return Token(kind: .parameter(n), position: start)
        }
        for symbol in ["::", "<=", ">=", "<>", "!=", "||", "~~*", "!~~*", "!~~", "~~", "!~*", "!~", "~*"] {
            if matches(symbol) {
                index += symbol.count
                return Token(kind: .symbol(symbol == "!=" ? "<>" : symbol), position: start)
            }
        }
        if "(),;.+-*/%<>=[]:^~".contains(c) {
            index += 1
            return Token(kind: .symbol(String(c)), position: start)
        }
        throw DatabaseError(.syntaxError, "syntax error at or near \"\(c)\"", position: start)
    }

    private func matches(_ symbol: String) -> Bool {
        for (offset, s) in symbol.enumerated() where peek(offset) != s { return false }
        return true
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if c.isWhitespace { index += 1; continue }
            if c == "-", peek(1) == "-" {
                while let d = peek(), d != "\n" { index += 1 }
                continue
            }
            if c == "/", peek(1) == "*" {
                index += 2
                var depth = 1
                while depth > 0, peek() != nil {
                    if peek() == "*", peek(1) == "/" { depth -= 1; index += 2 }
                    else if peek() == "/", peek(1) == "*" { depth += 1; index += 2 }
                    else { index += 1 }
                }
                continue
            }
            return
        }
    }

    private mutating func quoted(escapes: Bool, start: Int) throws(DatabaseError) -> String {
        index += 1  // opening quote
        var text = ""
        while true {
            guard let c = peek() else {
                throw DatabaseError(.syntaxError, "unterminated quoted string at or near \"'\(text)\"", position: start)
            }
            index += 1
            if c == "'" {
                if peek() == "'" { text.append("'"); index += 1; continue }
                // Adjacent literals separated by a newline concatenate.
                var look = index
                var sawNewline = false
                while look < characters.count, characters[look].isWhitespace {
                    if characters[look] == "\n" { sawNewline = true }
                    look += 1
                }
                if sawNewline, look < characters.count, characters[look] == "'" { index = look + 1; continue }
                return text
            }
            if escapes, c == "\\", let e = peek() {
                index += 1
                switch e {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "b": text.append("\u{8}")
                case "f": text.append("\u{c}")
                default: text.append(e)
                }
                continue
            }
            text.append(c)
        }
    }
}
