import KilnCore

/// PostgreSQL's implicit type resolution for operators, as far as Kiln's types go.
public enum TypeRules {
    /// Rank in the numeric promotion chain.
    static func numericRank(_ type: SQLType) -> Int? {
        switch type {
        case .smallint: return 1
        case .integer: return 2
        case .bigint: return 3
        case .numeric, .dynamicNumeric: return 4
        case .real: return 5
        case .double: return 6
        default: return nil
        }
    }

    /// The common type two numeric operands are converted to.
    public static func commonNumeric(_ a: SQLType, _ b: SQLType) -> SQLType? {
        guard let ra = numericRank(a), let rb = numericRank(b) else { return nil }
        // Unconstrained numeric keeps each value's scale: a static one joins it.
        if a == .dynamicNumeric || b == .dynamicNumeric { return ra > 4 || rb > 4 ? .double : .dynamicNumeric }
        if case .numeric(_, let sa) = a, case .numeric(_, let sb) = b { return .numeric(precision: nil, scale: max(sa, sb)) }
        if ra == 4 || rb == 4 {
            if ra > 4 || rb > 4 { return .double }
            let s = max(a.scale, b.scale)
            return .numeric(precision: nil, scale: s)
        }
        if ra == 5 && rb == 5 { return .real }
        if ra >= 5 || rb >= 5 { return .double }
        return ra >= rb ? a : b
    }

    /// The common type for comparison, CASE branches, COALESCE, IN lists.
    public static func common(_ a: SQLType, _ b: SQLType) -> SQLType? {
        if a == b { return a }
        if a == .unknown { return b }
        if b == .unknown { return a }
        if a.isString && b.isString { return .text }
        if let n = commonNumeric(a, b) { return n }
        if (a == .date && b == .timestamp) || (a == .timestamp && b == .date) { return .timestamp }
        return nil
    }

    /// The common type of values that flow into one result (CASE, COALESCE, GREATEST, LEAST,
    /// UNION and VALUES columns, USING's merged column): `common`, except that decimals of
    /// different static scales (an integer's is 0) become unconstrained numeric, whose values
    /// keep their own scales: PostgreSQL drops the typmod when the inputs' differ, so
    /// `COALESCE(price, 0)` prints `0`, not `0.00`.
    public static func commonValue(_ a: SQLType, _ b: SQLType) -> SQLType? {
        guard let result = common(a, b) else { return nil }
        if case .numeric = result, a != .unknown, b != .unknown, a.scale != b.scale { return .dynamicNumeric }
        return result
    }

    /// Can a value of `from` be cast explicitly to `to`?
    public static func canCast(_ from: SQLType, to: SQLType) -> Bool {
        if from == to || from == .unknown { return true }
        if from.isString || to.isString { return true }
        if from.isNumeric && to.isNumeric { return true }
        if from == .boolean && to.isInteger || from.isInteger && to == .boolean { return from == .integer || to == .integer }
        if (from == .date && to == .timestamp) || (from == .timestamp && to == .date) { return true }
        return false
    }

}
