import KilnCore
import KilnStorage

/// The constants of a long `x IN (c1, ..., cn)` as a hash set, probed once per row instead of
/// n comparisons (the binder's `in_set(x, '{k1,...,kn}')`; PostgreSQL hashes long IN lists
/// too). The binder writes each constant as its key: the integer of an integer, date or
/// timestamp, a decimal's mantissa at the comparison's scale, a string's text; the probe gets
/// the value in the same form (`kind`).
final class InListSet {
    enum Kind: Int {
        /// Integers, dates, timestamps: the value sign-extended to 64 bits.
        case integer = 0
        /// Decimals: the 128-bit mantissa.
        case wide = 1
        /// Strings: the 16-byte form (canonical for short strings), the text for long ones.
        case text = 2
    }

    let kind: Kind
    private var integers = Set<Int64>()
    private var wides = Set<Int128>()
    private var shortStrings = Set<Int128>()
    private var longStrings = Set<String>()
    /// A NULL among the constants: no match is then NULL, not false.
    private(set) var hasNull = false

    /// Nil when `list` is not the binder's array text.
    init?(list: String, kind: Kind, arena: StringArena) {
        self.kind = kind
        guard let elements = ArrayText.parse(list) else { return nil }
        for element in elements {
            guard let element else { hasNull = true; continue }
            switch kind {
            case .integer:
                guard let key = Int64(element) else { return nil }
                integers.insert(key)
            case .wide:
                guard let key = Int128(element) else { return nil }
                wides.insert(key)
            case .text:
                if element.utf8.count <= KilnString.inlineCapacity {
                    shortStrings.insert(KilnString.make(element, arena: arena))
                } else {
                    longStrings.insert(element)
                }
            }
        }
    }

    /// 1 when the value (as `kind` passes it: two 64-bit halves) is a member, else 2 when a
    /// constant was NULL (the answer is NULL), else 0.
    func probe(_ low: Int64, _ high: Int64) -> Int32 {
        let found: Bool
        switch kind {
        case .integer: found = integers.contains(low)
        case .wide: found = wides.contains(joined(low, high))
        case .text:
            let value = joined(low, high)
            found = KilnString.length(value) <= KilnString.inlineCapacity ? shortStrings.contains(value) : longStrings.contains(KilnString.string(value))
        }
        return found ? 1 : hasNull ? 2 : 0
    }
}
