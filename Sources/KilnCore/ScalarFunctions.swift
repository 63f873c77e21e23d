/// Value-level implementations of the scalar operations that compiled code and the interpreter
/// do not inline (casts with parsing or rounding, string functions, date arithmetic, numeric
/// division). One definition, called through the runtime by both execution modes.
public enum ScalarFunctions {
    public static func evaluate(_ name: String, _ args: [Value], argumentTypes: [SQLType], resultType: SQLType) throws(DatabaseError) -> Value {
        switch name {
        case "cast":
            return try Casts.cast(args[0], from: argumentTypes[0], to: resultType)
        case "make_date", "make_timestamp":
            var fields: [Int] = []
            for argument in args.prefix(5) {
                guard case .int32(let v) = argument else { return .null }
                fields.append(Int(v))
            }
            // Years from 1 on: Kiln has no BC dates (PostgreSQL reads a negative year as BC).
            guard fields[0] >= 1, fields[0] <= DateMath.maxYear, (1...12).contains(fields[1]),
                  fields[2] >= 1, fields[2] <= DateMath.daysInMonth(year: fields[0], month: fields[1]) else {
                throw DatabaseError(.datetimeFieldOverflow, "date field value out of range: \(fields[0])-\(DateMath.pad(fields[1], 2))-\(DateMath.pad(fields[2], 2))")
            }
            let day = DateMath.days(year: fields[0], month: fields[1], day: fields[2])
            if name == "make_date" { return .date(Int32(day)) }
            guard case .float64(let seconds) = args[5] else { return .null }
            let micros = (seconds * 1_000_000).rounded()
            // PostgreSQL's limits: up to 24:00:00 exactly, a 60th second (a leap second) allowed.
            guard (0...24).contains(fields[3]), (0...59).contains(fields[4]), micros >= 0, micros <= 60_000_000,
                  fields[3] < 24 || (fields[4] == 0 && micros == 0) else {
                throw DatabaseError(.datetimeFieldOverflow, "time field value out of range: \(fields[3]):\(DateMath.pad(fields[4], 2)):\(seconds)")
            }
            return .timestamp(Int64(day) * DateMath.microsPerDay + Int64(fields[3] * 3600 + fields[4] * 60) * DateMath.microsPerSecond + Int64(micros))
        case "in_list":
            // x IN (long constant list): the runtime probes a hash set (`InListSet`); this is
            // the same answer on values (constant folding, the generic path).
            guard case .text(let list) = args[1] else { return .null }
            return inList(list, args[0], type: argumentTypes[0])
        case "concat", "string_append":
            // string_append (string_agg's step) runs on bytes in the query runtime; this is its
            // meaning on values.
            if args[0].isNull || args[1].isNull { return .null }
            return .text(args[0].text! + args[1].text!)
        case "array_element_text":
            // An array element as PostgreSQL's array output writes it (quoted where needed, NULL).
            return .text(ArrayText.element(args[0].text))
        case "ordered_record":
            // ordered_record(directions, value, keys...): an ordered aggregate's input (NULL
            // for a NULL value, which the aggregate skips).
            guard case .text(let directions) = args[0], case .text(let value) = args[1] else { return .null }
            return .text(AggregateOrder.record(directions: directions, value: value, keys: Array(args.dropFirst(2))))
        case "ordered_records_concat":
            guard case .text(let state) = args[0] else { return .null }
            return .text(try AggregateOrder.concatenate(state))
        case "var_samp_final", "var_pop_final", "stddev_samp_final", "stddev_pop_final":
            return try varianceFinal(name, args, resultType: resultType)
        case "repeat", "lpad", "rpad", "reverse", "split_part", "initcap", "starts_with":
            return try textFunction(name, args)
        case "concat_ws":
            // concat_ws(separator, values...): the non-NULL values joined; NULL only for a NULL separator.
            guard case .text(let separator) = args[0] else { return .null }
            return .text(args.dropFirst().compactMap(\.text).joined(separator: separator))
        case "concat_all":
            // concat(values...): NULLs count as empty strings.
            return .text(args.compactMap(\.text).joined())
        case "upper", "lower":
            guard case .text(let s) = args[0] else { return .null }
            // The C locale (Kiln's only collation): ASCII letters change, nothing else.
            var bytes = Array(s.utf8)
            for index in bytes.indices {
                let b = bytes[index]
                if name == "upper", b >= 97, b <= 122 { bytes[index] = b - 32 }
                if name == "lower", b >= 65, b <= 90 { bytes[index] = b + 32 }
            }
            return .text(String(decoding: bytes, as: UTF8.self))
        case "length":
            guard case .text(let s) = args[0] else { return .null }
            return .int32(Int32(s.count))
        case "substring":
            guard case .text(let s) = args[0], case .int32(let start) = args[1] else { return .null }
            var length = Int64.max
            if args.count > 2 {
                guard case .int32(let l) = args[2] else { return .null }
                if l < 0 { throw DatabaseError(.substringError, "negative substring length not allowed") }
                length = Int64(l)
            }
            let characters = Array(s)
            let begin = Int64(start)
            let end = length == Int64.max ? Int64.max : begin + length
            let from = max(1, begin)
            let to = min(Int64(characters.count) + 1, end)
            if to <= from { return .text("") }
            return .text(String(characters[Int(from - 1)..<Int(to - 1)]))
        case "position":
            guard case .text(let haystack) = args[0], case .text(let needle) = args[1] else { return .null }
            if needle.isEmpty { return .int32(1) }
            let characters = Array(haystack), pattern = Array(needle)
            guard pattern.count <= characters.count else { return .int32(0) }
            for start in 0...(characters.count - pattern.count) where Array(characters[start..<(start + pattern.count)]) == pattern {
                return .int32(Int32(start + 1))
            }
            return .int32(0)
        case "btrim", "ltrim", "rtrim":
            guard case .text(let s) = args[0] else { return .null }
            var characters: Set<Character> = [" "]
            if args.count > 1 {
                guard case .text(let set) = args[1] else { return .null }
                characters = Set(set)
            }
            var slice = Substring(s)
            if name != "rtrim" { while let first = slice.first, characters.contains(first) { slice.removeFirst() } }
            if name != "ltrim" { while let last = slice.last, characters.contains(last) { slice.removeLast() } }
            return .text(String(slice))
        case "replace":
            guard case .text(let s) = args[0], case .text(let from) = args[1], case .text(let to) = args[2] else { return .null }
            return .text(from.isEmpty ? s : s.replacingAll(from, with: to))
        case "left", "right":
            guard case .text(let s) = args[0], case .int32(let n) = args[1] else { return .null }
            let characters = Array(s)
            let count = n >= 0 ? min(Int(n), characters.count) : max(0, characters.count + Int(n))
            return .text(String(name == "left" ? characters.prefix(count) : characters.suffix(count)))
        case "like", "ilike":
            guard case .text(let s) = args[0], case .text(let p) = args[1] else { return .null }
            var escape: Character? = "\\"
            if args.count > 2 {
                guard case .text(let e) = args[2] else { return .null }
                if e.count > 1 { throw DatabaseError(.invalidEscapeSequence, "invalid escape string", hint: "Escape string must be empty or one character.") }
                escape = e.first
            }
            if let escape, escape.utf8.count > 1 {
                return .bool(try Like.matches(name == "ilike" ? asciiLowercased(s) : s, pattern: name == "ilike" ? asciiLowercased(p) : p, escape: escape))
            }
            let pattern = try LikePattern(Array(p.utf8), escape: escape?.utf8.first, caseInsensitive: name == "ilike")
            var text = s
            return .bool(text.withUTF8 { pattern.matches(UnsafeRawBufferPointer($0)) })
        case "eq", "ne", "lt", "le", "gt", "ge":
            if args[0].isNull || args[1].isNull { return .null }
            let order = try compare(args[0], args[1])
            switch name {
            case "eq": return .bool(order == 0)
            case "ne": return .bool(order != 0)
            case "lt": return .bool(order < 0)
            case "le": return .bool(order <= 0)
            case "gt": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "div", "avg_final":
            if args[0].isNull || args[1].isNull { return .null }
            return try divide(args[0], args[1], argumentTypes: argumentTypes, resultType: resultType)
        case "numeric_at_scale":
            // A static decimal sum shown at the largest scale of the values summed (exact:
            // no value had digits beyond it).
            guard case .numeric(let m, let s) = args[0], case .int32(let shown) = args[1] else { return .null }
            guard let r = DecimalMath.rescale(m, from: s, to: Int(shown)) else { throw DatabaseError.numericOutOfRange("numeric") }
            return try Casts.dynamicNumeric(r, scale: Int(shown))
        case "mod":
            guard case .numeric(let a, let sa) = args[0], case .numeric(let b, let sb) = args[1] else { return .null }
            if b == 0 { throw DatabaseError.divisionByZero }
            let s = max(sa, sb)
            guard let x = DecimalMath.rescale(a, from: sa, to: s), let y = DecimalMath.rescale(b, from: sb, to: s) else { throw DatabaseError.numericOutOfRange("numeric") }
            return try typedDecimal(x % y, scale: s, as: resultType)
        case "pow":
            if case .numeric(let a, let sa) = args[0], case .numeric(let b, let sb) = args[1] {
                let (m, s) = try DecimalMath.power(a, scale: sa, b, scale: sb)
                return try Casts.dynamicNumeric(m, scale: s)
            }
            guard case .float64(let a) = args[0], case .float64(let b) = args[1] else { return .null }
            if a == 0 && b < 0 { throw DatabaseError(.invalidArgumentForPower, "zero raised to a negative power is undefined") }
            if a < 0 && b != b.rounded() { throw DatabaseError(.invalidArgumentForPower, "a negative number raised to a non-integer power yields a complex result") }
            return .float64(pow(a, b))
        case "date_add_days", "date_sub_days":
            guard case .date(let d) = args[0], case .int32(let n) = args[1] else { return .null }
            let (r, o) = name == "date_add_days" ? d.addingReportingOverflow(n) : d.subtractingReportingOverflow(n)
            if o || !DateMath.dayRange.contains(r) { throw DatabaseError(.datetimeFieldOverflow, "date out of range") }
            return .date(r)
        case "date_diff":
            guard case .date(let a) = args[0], case .date(let b) = args[1] else { return .null }
            return .int32(a &- b)
        case "ts_add_interval", "ts_sub_interval":
            guard case .timestamp(let t) = args[0], case .interval(var i) = args[1] else { return .null }
            if name == "ts_sub_interval" { i = Interval(months: -i.months, days: -i.days, micros: -i.micros) }
            guard let r = DateMath.add(timestamp: t, interval: i) else { throw DatabaseError(.datetimeFieldOverflow, "timestamp out of range") }
            return .timestamp(r)
        case "ts_diff":
            guard case .timestamp(let a) = args[0], case .timestamp(let b) = args[1] else { return .null }
            // Wide: two timestamps far apart differ by more than 2^63 µs, yet by fewer days than an interval holds.
            let diff = Int128(a) - Int128(b)
            guard let days = Int32(exactly: diff / Int128(DateMath.microsPerDay)) else { throw DatabaseError.intervalOutOfRange }
            return .interval(Interval(months: 0, days: days, micros: Int64(diff % Int128(DateMath.microsPerDay))))
        case "add" where resultType.isNumericDecimal, "sub" where resultType.isNumericDecimal, "mul" where resultType.isNumericDecimal:
            // Decimals with a scale per value (unconstrained numeric): PostgreSQL's scales.
            guard case .numeric(let a, let sa) = args[0], case .numeric(let b, let sb) = args[1] else { return .null }
            let (m, s) = name == "mul" ? try DecimalMath.multiply(a, scale: sa, b, scale: sb) : try DecimalMath.add(a, scale: sa, b, scale: sb, subtract: name == "sub")
            return try typedDecimal(m, scale: s, as: resultType)
        case "neg" where resultType.isNumericDecimal, "abs" where resultType.isNumericDecimal:
            guard case .numeric(let a, let s) = args[0] else { return .null }
            return .numeric(name == "neg" || a < 0 ? -a : a, scale: s)
        case "add", "sub":
            guard case .interval(let a) = args[0], case .interval(let b) = args[1] else { return .null }
            guard let r = a.adding(b, sign: name == "add" ? 1 : -1) else { throw DatabaseError.intervalOutOfRange }
            return .interval(r)
        case "neg":
            guard case .interval(let a) = args[0] else { return .null }
            guard let r = a.negated else { throw DatabaseError.intervalOutOfRange }
            return .interval(r)
        case "interval_mul", "interval_div":
            guard case .interval(let a) = args[0], case .float64(let factor) = args[1] else { return .null }
            if name == "interval_div" && factor == 0 { throw DatabaseError.divisionByZero }
            guard let r = a.scaled(by: factor, dividing: name == "interval_div") else { throw DatabaseError.intervalOutOfRange }
            return .interval(r)
        default:
            if name.hasPrefix("date_trunc_") {
                guard case .timestamp(let t) = args[0] else { return .null }
                return .timestamp(DateMath.truncate(String(name.dropFirst(11)), micros: t))
            }
            if name.hasPrefix("extract_") {
                guard case .timestamp(let t) = args[0] else { return .null }
                let field = String(name.dropFirst(8))
                guard let v = DateMath.extract(field, micros: t) else {
                    throw DatabaseError(.featureNotSupported, "unit \"\(field)\" not supported")
                }
                return .numeric(v, scale: resultType.scale)
            }
            if let value = try catalogFunction(name, args) { return value }
            if let value = try mathFunction(name, args, resultType: resultType) { return value }
            throw DatabaseError(.undefinedFunction, "function \(name) is not implemented in the runtime")
        }
    }

    /// Lower case in the C locale: ASCII letters only.
    static func asciiLowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// repeat, lpad, rpad, reverse, split_part, initcap, starts_with with PostgreSQL's rules
    /// (characters, not bytes; C-locale case mapping, as upper and lower).
    static func textFunction(_ name: String, _ args: [Value]) throws(DatabaseError) -> Value {
        if args.contains(where: \.isNull) { return .null }
        guard case .text(let s) = args[0] else { return .null }
        switch name {
        case "repeat":
            guard case .int32(let n) = args[1] else { return .null }
            guard n > 0 else { return .text("") }
            guard s.utf8.count * Int(n) <= 1 << 30 else { throw DatabaseError(.programLimitExceeded, "requested length too large") }
            return .text(String(repeating: s, count: Int(n)))
        case "lpad", "rpad":
            guard case .int32(let length) = args[1] else { return .null }
            var fill = " "
            if args.count > 2, case .text(let f) = args[2] { fill = f }
            guard length > 0 else { return .text("") }
            guard length <= 1 << 28 else { throw DatabaseError(.programLimitExceeded, "requested length too large") }
            let characters = Array(s), target = Int(length)
            if characters.count >= target || fill.isEmpty { return .text(String(characters.prefix(target))) }
            let fillCharacters = Array(fill)
            let padding = String((0..<(target - characters.count)).map { fillCharacters[$0 % fillCharacters.count] })
            return .text(name == "lpad" ? padding + s : s + padding)
        case "reverse":
            return .text(String(s.reversed()))
        case "split_part":
            guard case .text(let delimiter) = args[1], case .int32(let n) = args[2] else { return .null }
            if n == 0 { throw DatabaseError(.invalidParameterValue, "field position must not be zero") }
            let fields = delimiter.isEmpty ? [s] : s.split(separator: delimiter, omittingEmptySubsequences: false).map(String.init)
            let index = n > 0 ? Int(n) - 1 : fields.count + Int(n)
            return .text(fields.indices.contains(index) ? fields[index] : "")
        case "initcap":
            var out = ""
            var inWord = false
            for scalar in s.unicodeScalars {
                // The C locale's words: ASCII letters and digits (others separate words).
                let isLetterOrDigit = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
                if scalar.isASCII, scalar.properties.isAlphabetic {
                    let upper = !inWord
                    let value = scalar.value
                    let mapped: UInt32 = upper ? (value >= 97 && value <= 122 ? value - 32 : value) : (value >= 65 && value <= 90 ? value + 32 : value)
                    out.unicodeScalars.append(Unicode.Scalar(mapped)!)
                } else {
                    out.unicodeScalars.append(scalar)
                }
                inWord = isLetterOrDigit
            }
            return .text(out)
        case "starts_with":
            guard case .text(let prefix) = args[1] else { return .null }
            return .bool(s.utf8.starts(with: prefix.utf8))
        default:
            return .null
        }
    }

    /// The variance family from count, sum and sum of squares: for numeric inputs exactly,
    /// (n * Q - S * S) / (n * (n - 1)) (or n * n for the population), as PostgreSQL computes it;
    /// the standard deviations take the square root of that in double precision. For floating
    /// inputs, (Q - S * S / n) / (n - 1) in double precision. NULL below two rows (one for the
    /// population forms).
    static func varianceFinal(_ name: String, _ args: [Value], resultType: SQLType) throws(DatabaseError) -> Value {
        guard case .int64(let n) = args[0] else { return .null }
        let sample = name == "var_samp_final" || name == "stddev_samp_final", root = name.hasPrefix("stddev")
        if n == 0 || (sample && n == 1) { return .null }
        switch (args[1], args[2]) {
        case (.float64(let sum), .float64(let squares)):
            let variance = max(0, (squares - sum * sum / Double(n)) / Double(sample ? n - 1 : n))
            return .float64(root ? variance.squareRoot() : variance)
        case (.numeric(let sum, let sumScale), .numeric(let squares, let squaresScale)):
            let (m, scale) = try DecimalMath.variance(count: n, sum: sum, scale: sumScale, squares: squares, scale: squaresScale, sample: sample, root: root)
            return try typedDecimal(m, scale: scale, as: resultType)
        default:
            return .null
        }
    }

    /// A decimal result as `type` holds it: an unconstrained numeric's value checked to fit its
    /// packed form, a static scale's rescaled.
    static func typedDecimal(_ m: Int128, scale: Int, as type: SQLType) throws(DatabaseError) -> Value {
        if case .numeric(let p, let target) = type { return try Casts.fitNumeric(m, scale: scale, precision: p, targetScale: target) }
        return try Casts.dynamicNumeric(m, scale: scale)
    }

    static func divide(_ a: Value, _ b: Value, argumentTypes: [SQLType], resultType: SQLType) throws(DatabaseError) -> Value {
        switch (a, b) {
        case (.numeric(let x, let sx), _):
            let (y, sy): (Int128, Int)
            switch b {
            case .numeric(let m, let s): (y, sy) = (m, s)
            case .int64(let v): (y, sy) = (Int128(v), 0)
            default: return .null
            }
            if y == 0 { throw DatabaseError.divisionByZero }
            if resultType == .dynamicNumeric {
                // PostgreSQL's quotient: the scale select_div_scale picks for the two values.
                let (q, s) = try DecimalMath.divide(x, scale: sx, by: y, scale: sy)
                return try Casts.dynamicNumeric(q, scale: s)
            }
            guard let q = DecimalMath.divide(x, scale: sx, by: y, scale: sy, resultScale: resultType.scale) else { throw DatabaseError.numericOutOfRange("numeric") }
            return .numeric(q, scale: resultType.scale)
        case (.float64(let x), .int64(let n)):
            return .float64(x / Double(n))
        case (.float32(let x), .int64(let n)):
            return .float64(Double(x) / Double(n))
        default:
            return .null
        }
    }

    /// Orders two non-null values of the same type.
    public static func compare(_ a: Value, _ b: Value) throws(DatabaseError) -> Int {
        switch (a, b) {
        case (.text(let x), .text(let y)):
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x.utf8.elementsEqual(y.utf8) ? 0 : 1)
        case (.interval(let x), .interval(let y)):
            return x.comparableMicros < y.comparableMicros ? -1 : (x.comparableMicros == y.comparableMicros ? 0 : 1)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.int16(let x), .int16(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.int32(let x), .int32(let y)), (.date(let x), .date(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.numeric(let x, let sx), .numeric(let y, let sy)):
            let scale = max(sx, sy)
            if let a = DecimalMath.rescale(x, from: sx, to: scale), let b = DecimalMath.rescale(y, from: sy, to: scale) {
                return a < b ? -1 : (a == b ? 0 : 1)
            }
            // Too far apart to align in 128 bits: by sign, then by the leading digit's place.
            let signX = x.signum(), signY = y.signum()
            if signX != signY || signX == 0 { return signX < signY ? -1 : signX == signY ? 0 : 1 }
            let placeX = DecimalMath.digitCount(x.magnitude) - sx, placeY = DecimalMath.digitCount(y.magnitude) - sy
            let magnitudeOrder = placeX < placeY ? -1 : placeX > placeY ? 1 : 0
            guard magnitudeOrder == 0 else { return x < 0 ? -magnitudeOrder : magnitudeOrder }
            throw DatabaseError.numericOutOfRange("numeric")
        case (.float32(let x), .float32(let y)): return floatOrder(Double(x), Double(y))
        case (.float64(let x), .float64(let y)): return floatOrder(x, y)
        default:
            throw DatabaseError.internalError("cannot compare \(a) and \(b)")
        }
    }
}

/// PostgreSQL's float order: NaN equals NaN and sorts above every other value.
func floatOrder(_ x: Double, _ y: Double) -> Int {
    if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? 0 : (x.isNaN ? 1 : -1) }
    return x < y ? -1 : (x == y ? 0 : 1)
}

extension SQLState {
    public static let substringError = SQLState("22011")
    public static let invalidArgumentForPower = SQLState("2201F")
}

#if canImport(Glibc)
import Glibc
#endif

/// SQL LIKE matching with `%`, `_` and an escape character.
public enum Like {
    public static func matches(_ text: String, pattern: String, escape: Character?) throws(DatabaseError) -> Bool {
        let s = Array(text)
        var p: [(Character, Bool)] = []  // (char, isLiteral)
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            if let escape, c == escape {
                guard let next = iterator.next() else {
                    throw DatabaseError(.invalidEscapeSequence, "LIKE pattern must not end with escape character")
                }
                p.append((next, true))
            } else {
                p.append((c, false))
            }
        }
        // Iterative matcher with backtracking to the last %.
        var si = 0, pi = 0
        var star = -1, mark = 0
        while si < s.count {
            if pi < p.count, !p[pi].1, p[pi].0 == "%" {
                star = pi; mark = si; pi += 1
            } else if pi < p.count, (!p[pi].1 && p[pi].0 == "_") || p[pi].0 == s[si] {
                si += 1; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count, !p[pi].1, p[pi].0 == "%" { pi += 1 }
        return pi == p.count
    }
}


extension ScalarFunctions {
    /// A constant's key in an IN-list text (`'{k1,...,kn}'`, made by the binder and read by
    /// `InListSet`): the integer of an integer, date or timestamp, a decimal's mantissa at
    /// `scale`, a string's text. Nil for NULL, another type, or a mantissa `scale` cannot hold.
    public static func inListKey(_ value: Value, scale: Int) -> String? {
        switch value {
        case .int16(let v): return String(v)
        case .int32(let v): return String(v)
        case .int64(let v): return String(v)
        case .date(let v): return String(v)
        case .timestamp(let v): return String(v)
        case .numeric(let m, let s): return DecimalMath.rescale(m, from: s, to: scale).map { String($0) }
        case .text(let text): return text
        default: return nil
        }
    }

    /// Whether `value` is among the keys of an IN-list text: true, false, or NULL (no match
    /// and a NULL constant, or a NULL value).
    public static func inList(_ list: String, _ value: Value, type: SQLType) -> Value {
        guard let key = inListKey(value, scale: type.scale), let elements = ArrayText.parse(list) else { return .null }
        if elements.contains(where: { $0 == key }) { return .bool(true) }
        return elements.contains(where: { $0 == nil }) ? .null : .bool(false)
    }
}
