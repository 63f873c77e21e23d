/// psql's variables: `\set NAME value`, `\unset NAME`, and `:NAME`, `:'NAME'` (a quoted
/// literal) and `:"NAME"` (a quoted identifier) in SQL, outside strings, quoted identifiers
/// and comments. An unknown name, and `::` casts, stay as they are.
struct ShellVariables {
    private(set) var values: [String: String] = [:]

    subscript(name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    /// Whether a boolean variable is set to a true value (psql's spellings).
    func isOn(_ name: String) -> Bool? {
        guard let value = values[name]?.lowercased() else { return nil }
        if ["on", "true", "yes", "1", "t", "y"].contains(value) || value.isEmpty { return true }
        if ["off", "false", "no", "0", "f", "n"].contains(value) { return false }
        return nil
    }

    /// `sql` with every known variable substituted.
    func interpolate(_ sql: String) -> String {
        guard !values.isEmpty, sql.contains(":") else { return sql }
        let scalars = Array(sql.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var inString = false, inIdentifier = false, inLineComment = false, blockDepth = 0
        func isNameScalar(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c) }
        while i < scalars.count {
            let c = scalars[i]
            let next: Unicode.Scalar? = i + 1 < scalars.count ? scalars[i + 1] : nil
            if inLineComment {
                if c == "\n" { inLineComment = false }
            } else if blockDepth > 0 {
                if c == "*", next == "/" { blockDepth -= 1; out.append(c); out.append("/"); i += 2; continue }
                if c == "/", next == "*" { blockDepth += 1; out.append(c); out.append("*"); i += 2; continue }
            } else if inString {
                if c == "'" { inString = false }
            } else if inIdentifier {
                if c == "\"" { inIdentifier = false }
            } else if c == "'" {
                inString = true
            } else if c == "\"" {
                inIdentifier = true
            } else if c == "-", next == "-" {
                inLineComment = true
            } else if c == "/", next == "*" {
                blockDepth += 1
                out.append(c); out.append("*"); i += 2; continue
            } else if c == ":", next == ":" {
                out.append(c); out.append(":"); i += 2
                continue
            } else if c == ":", let next {
                // :'name', :"name" or :name
                var end = i + 1
                var quote: Unicode.Scalar?
                if next == "'" || next == "\"" { quote = next; end += 1 }
                let nameStart = end
                while end < scalars.count, isNameScalar(scalars[end]) { end += 1 }
                let name = String(String.UnicodeScalarView(scalars[nameStart..<end]))
                let closed = quote == nil || (end < scalars.count && scalars[end] == quote!)
                if !name.isEmpty, closed, ShellVariables.isValidName(name), let value = values[name] {
                    let replacement: String
                    switch quote {
                    case "'": replacement = "'" + value.replacingAll("'", with: "''") + "'"
                    case "\"": replacement = "\"" + value.replacingAll("\"", with: "\"\"") + "\""
                    default: replacement = value
                    }
                    out.append(contentsOf: replacement.unicodeScalars)
                    i = end + (quote == nil ? 0 : 1)
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return String(out)
    }
}

/// The words of a meta-command's arguments: white space separates them, `'...'` quotes one
/// (with `''` for a quote), `"..."` keeps its quotes (an identifier).
func metaArguments(_ text: Substring) -> [String] {
    var words: [String] = []
    var current = ""
    var quote: Character?
    var hasWord = false
    var index = text.startIndex
    while index < text.endIndex {
        let c = text[index]
        index = text.index(after: index)
        if let q = quote {
            if c == q {
                if q == "'", index < text.endIndex, text[index] == "'" {
                    current.append("'")
                    index = text.index(after: index)
                } else {
                    if q == "\"" { current.append(c) }
                    quote = nil
                }
            } else {
                current.append(c)
            }
        } else if c == " " || c == "\t" {
            if hasWord { words.append(current); current = ""; hasWord = false }
        } else if c == "'" || c == "\"" {
            quote = c
            hasWord = true
            if c == "\"" { current.append(c) }
        } else {
            current.append(c)
            hasWord = true
        }
    }
    if hasWord { words.append(current) }
    return words
}
