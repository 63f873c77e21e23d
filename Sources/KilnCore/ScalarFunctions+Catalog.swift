import Synchronization

/// Regular expressions (`~`, `~*`), PostgreSQL's array text form, and the pure catalog
/// functions (`format_type`) that clients' catalog queries call.
extension ScalarFunctions {
    /// Functions of this file; nil when `name` is none of them.
    static func catalogFunction(_ name: String, _ args: [Value]) throws(DatabaseError) -> Value? {
        switch name {
        case "regex_match", "regex_imatch":
            guard case .text(let subject) = args[0], case .text(let pattern) = args[1] else { return .null }
            return .bool(try RegexCache.shared.matches(subject, pattern: pattern, caseInsensitive: name == "regex_imatch"))
        case "format_type":
            guard case .int32(let oid) = args[0] else { return .null }
            var modifier: Int32?
            if case .int32(let m) = args[1] { modifier = m }
            return .text(PostgresType.formatType(oid, modifier: modifier))
        case "array_to_string":
            guard case .text(let array) = args[0], case .text(let separator) = args[1] else { return .null }
            guard let elements = ArrayText.parse(array) else {
                throw DatabaseError(.invalidTextRepresentation, "malformed array literal: \"\(array)\"")
            }
            return .text(elements.compactMap { $0 }.joined(separator: separator))
        case "array_element", "array_upper", "array_lower", "array_length", "cardinality":
            guard case .text(let array) = args[0] else { return .null }
            guard let elements = ArrayText.parse(array) else {
                throw DatabaseError(.invalidTextRepresentation, "malformed array literal: \"\(array)\"")
            }
            if name == "cardinality" { return .int32(Int32(elements.count)) }
            guard case .int32(let n) = args[1] else { return .null }
            switch name {
            case "array_element": return n >= 1 && Int(n) <= elements.count ? elements[Int(n) - 1].map(Value.text) ?? .null : .null
            case "array_upper", "array_length": return n == 1 && !elements.isEmpty ? .int32(Int32(elements.count)) : .null
            default: return n == 1 && !elements.isEmpty ? .int32(1) : .null
            }
        case "array_contains":
            guard case .text(let array) = args[0], case .text(let element) = args[1] else { return .null }
            guard let elements = ArrayText.parse(array) else {
                throw DatabaseError(.invalidTextRepresentation, "malformed array literal: \"\(array)\"")
            }
            if elements.contains(element) { return .bool(true) }
            return elements.contains(nil) ? .null : .bool(false)
        case "quote_ident":
            guard case .text(let identifier) = args[0] else { return .null }
            let plain = identifier.first.map { $0 == "_" || ($0.isLetter && $0.isLowercase) } == true
                && identifier.allSatisfy { $0 == "_" || $0.isNumber || ($0.isLetter && $0.isLowercase) }
            return .text(plain ? identifier : "\"" + identifier.replacingAll("\"", with: "\"\"") + "\"")
        default:
            return nil
        }
    }
}

/// Compiled regular expressions by pattern (a catalog query matches the same few patterns
/// against every row). PostgreSQL's advanced regular expressions and Swift's `Regex` agree on
/// the common syntax: anchors, classes, groups, alternation, quantifiers.
final class RegexCache: Sendable {
    static let shared = RegexCache()

    struct Compiled: @unchecked Sendable {
        // `@unchecked Sendable`: a compiled Regex is immutable; matching does not mutate it.
        let regex: Regex<AnyRegexOutput>
    }

    private let cache = Mutex<[String: Compiled]>([:])

    func matches(_ subject: String, pattern: String, caseInsensitive: Bool) throws(DatabaseError) -> Bool {
        let key = (caseInsensitive ? "i:" : "c:") + pattern
        let compiled: Compiled
        if let hit = cache.withLock({ $0[key] }) {
            compiled = hit
        } else {
            do {
                var regex = try Regex(pattern)
                if caseInsensitive { regex = regex.ignoresCase() }
                compiled = Compiled(regex: regex)
            } catch {
                throw DatabaseError(SQLState("2201B"), "invalid regular expression: \(pattern)")
            }
            cache.withLock { cache in
                if cache.count > 1000 { cache.removeAll() }
                cache[key] = compiled
            }
        }
        return subject.contains(compiled.regex)
    }
}

/// PostgreSQL's text form of arrays (`{a,"b c",NULL}`), which Kiln uses for the array columns
/// of its system catalogs.
public enum ArrayText {
    /// The elements (nil for NULL), or nil when `text` is not an array literal.
    public static func parse(_ text: String) -> [String?]? {
        let characters = Array(text)
        guard characters.first == "{", characters.last == "}" else { return nil }
        var elements: [String?] = []
        var index = 1
        let end = characters.count - 1
        if index == end { return [] }
        while index <= end {
            var element = ""
            var quoted = false
            if characters[index] == "\"" {
                quoted = true
                index += 1
                while index < end, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < end { index += 1 }
                    element.append(characters[index])
                    index += 1
                }
                index += 1
            } else {
                while index < end, characters[index] != "," {
                    element.append(characters[index])
                    index += 1
                }
            }
            elements.append(!quoted && element.uppercased() == "NULL" ? nil : element)
            guard index == end || characters[index] == "," else { return nil }
            index += 1
        }
        return elements
    }

    /// The literal for `elements`, quoting where PostgreSQL would.
    public static func format(_ elements: [String?]) -> String {
        "{" + elements.map(element).joined(separator: ",") + "}"
    }

    /// One element of the literal: NULL, or the text quoted where PostgreSQL would quote it.
    public static func element(_ element: String?) -> String {
        guard let element else { return "NULL" }
        let needsQuotes = element.isEmpty || element.uppercased() == "NULL" || element.contains { "{},\"\\ ".contains($0) }
        return needsQuotes ? "\"" + element.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\"" : element
    }
}
