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
    /// Where the token starts in the text's UTF-8 bytes.
    public var utf8Offset: Int = 0

    public init(kind: Kind, position: Int, text: String = "", utf8Offset: Int = 0) {
        self.kind = kind
        self.position = position
        self.text = text
        self.utf8Offset = utf8Offset
    }

    /// The keyword, when the token is an unquoted word.
    public var word: String? { if case .word(let w) = kind { return w } else { return nil } }
}

/// Splits SQL text into tokens; reports unterminated strings and stray characters as 42601.
///
/// It reads the text's UTF-8 bytes (the statements of a short-statement workload are lexed on
/// every call, so this is on the hot path). As in PostgreSQL, a byte of a multi-byte character
/// is an identifier character, only ASCII letters are folded to lower case, and whitespace is
/// space, tab, newline, carriage return, form feed and vertical tab. Positions count characters,
/// as Swift's `Array(text)` does (a CRLF is one), so that callers can index the text by them.
public struct Lexer {
    /// The text's UTF-8 bytes (tokens' `utf8Offset`s index them).
    public let bytes: [UInt8]
    private var index = 0
    /// For text that is not plain ASCII: each byte offset's 0-based character index.
    private let characterIndex: [Int]?

    public init(_ text: String) {
        bytes = Array(text.utf8)
        characterIndex = Lexer.characterIndex(text, bytes)
    }

    /// For each UTF-8 byte offset of `text` (and its end), the 0-based index of the character
    /// it belongs to; nil when byte offsets are character offsets (ASCII without carriage returns).
    private static func characterIndex(_ text: String, _ bytes: [UInt8]) -> [Int]? {
        if !bytes.contains(where: { $0 >= 0x80 || $0 == 13 }) { return nil }
        var map = [Int](repeating: 0, count: bytes.count + 1)
        var offset = 0
        for (characterNumber, character) in text.enumerated() {
            let length = character.utf8.count
            for k in 0..<length { map[offset + k] = characterNumber }
            offset += length
        }
        map[bytes.count] = text.count
        return map
    }

    /// Whether byte offsets are character offsets (the text is ASCII without carriage returns).
    public var bytesAreCharacters: Bool { characterIndex == nil }

    /// The 1-based character position of byte offset `offset`.
    public func position(_ offset: Int) -> Int { (characterIndex?[offset] ?? offset) + 1 }

    public mutating func tokenize() throws(DatabaseError) -> [Token] {
        var tokens: [Token] = []
        tokens.reserveCapacity(bytes.count / 3 + 2)
        while true {
            skipSpaceAndComments()
            let start = index
            let kind = try next()
            let text = start < bytes.count ? String(decoding: bytes[start..<min(index, bytes.count)], as: UTF8.self) : ""
            tokens.append(Token(kind: kind, position: position(start), text: text, utf8Offset: start))
            if kind == .end { return tokens }
        }
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    /// A letter or `_` (bytes of multi-byte characters count as letters, as in PostgreSQL).
    private static func isIdentifierStart(_ b: UInt8) -> Bool { (b | 0x20 >= 97 && b | 0x20 <= 122) || b == 95 || b >= 0x80 }
    private static func isWhitespace(_ b: UInt8) -> Bool { b == 32 || (b >= 9 && b <= 13) }

    /// The character at byte offset `offset`, for messages.
    private func character(at offset: Int) -> String {
        var end = offset + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    /// The token starting at `index` (after whitespace and comments).
    private mutating func next() throws(DatabaseError) -> Token.Kind {
        let start = position(index)
        guard let c = peek() else { return .end }
        if Lexer.isIdentifierStart(c) {
            let from = index
            while let d = peek(), Lexer.isIdentifierStart(d) || Lexer.isDigit(d) || d == 36 { index += 1 }
            // E'...' escape strings.
            if index - from == 1, c | 0x20 == 101, peek() == 39 { return .string(try quoted(escapes: true, start: start)) }
            let word = String(unsafeUninitializedCapacity: index - from) { buffer in
                for k in from..<index {
                    let b = bytes[k]
                    buffer[k - from] = b >= 65 && b <= 90 ? b + 32 : b
                }
                return index - from
            }
            return .word(word)
        }
        if Lexer.isDigit(c) || (c == 46 && peek(1).map(Lexer.isDigit) == true) {
            var text: [UInt8] = []
            var isDecimal = false
            while let d = peek(), Lexer.isDigit(d) { text.append(d); index += 1 }
            if peek() == 46, peek(1) != 46 {
                isDecimal = true
                text.append(46); index += 1
                while let d = peek(), Lexer.isDigit(d) { text.append(d); index += 1 }
            }
            if let e = peek(), e | 0x20 == 101,
               let n = peek(1), Lexer.isDigit(n) || ((n == 43 || n == 45) && peek(2).map(Lexer.isDigit) == true) {
                isDecimal = true
                text.append(101); index += 1
                if let sign = peek(), sign == 43 || sign == 45 { text.append(sign); index += 1 }
                while let d = peek(), Lexer.isDigit(d) { text.append(d); index += 1 }
            }
            let literal = String(decoding: text, as: UTF8.self)
            if let d = peek(), Lexer.isIdentifierStart(d) {
                throw DatabaseError(.syntaxError, "trailing junk after numeric literal at or near \"\(literal)\(character(at: index))\"", position: start)
            }
            return isDecimal ? .decimal(literal) : .integer(literal)
        }
        if c == 39 { return .string(try quoted(escapes: false, start: start)) }
        if c == 34 {
            index += 1
            var name: [UInt8] = []
            while true {
                guard let d = peek() else {
                    throw DatabaseError(.syntaxError, "unterminated quoted identifier at or near \"\"\(String(decoding: name, as: UTF8.self))\"", position: start)
                }
                index += 1
                if d == 34 {
                    if peek() == 34 { name.append(34); index += 1; continue }
                    break
                }
                name.append(d)
            }
            if name.isEmpty { throw DatabaseError(.syntaxError, "zero-length delimited identifier at or near \"\"\"\"", position: start) }
            return .quotedIdentifier(String(decoding: name, as: UTF8.self))
        }
        if c == 36, let d = peek(1), Lexer.isDigit(d) {
            index += 1
            var n = 0
            var digits = 0
            while let d = peek(), Lexer.isDigit(d) {
                if n <= 65535 { n = n * 10 + Int(d - 48) }
                digits += 1
                index += 1
            }
            guard n > 0, n <= 65535 else {
                let text = String(decoding: bytes[(index - digits)..<index], as: UTF8.self)
                throw DatabaseError(.syntaxError, "invalid parameter number $\(text)", position: start)
            }
            return .parameter(n)
        }
        for (symbol, bytes) in Lexer.symbols where matches(bytes) {
            index += bytes.count
            return .symbol(symbol)
        }
        if let single = Lexer.singleSymbols[Int(c)] {
            index += 1
            return .symbol(single)
        }
        throw DatabaseError(.syntaxError, "syntax error at or near \"\(character(at: index))\"", position: start)
    }

    /// Operators of more than one character, longest first where one is a prefix of another,
    /// with the symbol each stands for (`!=` is `<>`).
    private static let symbols: [(String, [UInt8])] = ["::", "<=", ">=", "<>", "!=", "||", "~~*", "!~~*", "!~~", "~~", "!~*", "!~", "~*"].map {
        ($0 == "!=" ? "<>" : $0, Array($0.utf8))
    }
    /// One-character symbols, by byte.
    private static let singleSymbols: [String?] = (0..<256).map { b in
        "(),;.+-*/%<>=[]:^~".utf8.contains(UInt8(b)) ? String(UnicodeScalar(UInt8(b))) : nil
    }

    private func matches(_ symbol: [UInt8]) -> Bool {
        guard index + symbol.count <= bytes.count else { return false }
        for (offset, s) in symbol.enumerated() where bytes[index + offset] != s { return false }
        return true
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if Lexer.isWhitespace(c) { index += 1; continue }
            if c == 45, peek(1) == 45 {
                while let d = peek(), d != 10 { index += 1 }
                continue
            }
            if c == 47, peek(1) == 42 {
                index += 2
                var depth = 1
                while depth > 0, peek() != nil {
                    if peek() == 42, peek(1) == 47 { depth -= 1; index += 2 }
                    else if peek() == 47, peek(1) == 42 { depth += 1; index += 2 }
                    else { index += 1 }
                }
                continue
            }
            return
        }
    }

    private mutating func quoted(escapes: Bool, start: Int) throws(DatabaseError) -> String {
        index += 1  // opening quote
        var text: [UInt8] = []
        while true {
            guard let c = peek() else {
                throw DatabaseError(.syntaxError, "unterminated quoted string at or near \"'\(String(decoding: text, as: UTF8.self))\"", position: start)
            }
            index += 1
            if c == 39 {
                if peek() == 39 { text.append(39); index += 1; continue }
                // Adjacent literals separated by a newline concatenate.
                var look = index
                var sawNewline = false
                while look < bytes.count, Lexer.isWhitespace(bytes[look]) {
                    if bytes[look] == 10 || bytes[look] == 13 { sawNewline = true }
                    look += 1
                }
                if sawNewline, look < bytes.count, bytes[look] == 39 { index = look + 1; continue }
                return String(decoding: text, as: UTF8.self)
            }
            if escapes, c == 92, let e = peek() {
                index += 1
                switch e {
                case 110: text.append(10)   // \n
                case 116: text.append(9)    // \t
                case 114: text.append(13)   // \r
                case 98: text.append(8)     // \b
                case 102: text.append(12)   // \f
                default: text.append(e)
                }
                continue
            }
            text.append(c)
        }
    }
}
