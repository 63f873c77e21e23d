import KilnCore
import KilnSQL

/// A typed, name-resolved scalar expression over the columns of one input tuple.
///
/// Operators and functions are one case, `call`, named by a Kiln operation name (`add`, `lt`,
/// `cast`, `like`, `upper`, ...). The same name travels through the high and mid dialects
/// (`kiln_high.op {name}`) and is specialised by type only in the low-level lowering.
public struct BoundExpression: Sendable, Equatable, CustomStringConvertible {
    public indirect enum Kind: Sendable, Equatable {
        /// The input tuple's column `index`.
        case column(Int)
        /// A literal; lifted into the parameter block before code generation.
        case constant(Value)
        /// A statement parameter `$n` (1-based).
        case parameter(Int)
        /// Slot `n` of the parameter block (after the slicer lifted literals and parameters).
        case slot(Int)
        case call(String, [BoundExpression])
        /// Column `index` of the enclosing query's FROM (a correlated reference); the binder
        /// rewrites every one into a join before the plan leaves it.
        case outer(Int)
    }
    public var kind: Kind
    public var type: SQLType
    /// False when the value can never be NULL (lets lowering skip null tracking).
    public var nullable: Bool

    /// The start of the running transaction (CURRENT_TIMESTAMP, now()): the slicer makes it a
    /// parameter slot that each execution fills (`ParameterSlot.transactionTime`).
    /// Functions with side effects or a new value per call: never folded, shared or hoisted.
    public static let volatileFunctions: Set<String> = ["nextval", "setval", "currval", "lastval", "random"]

    public static let transactionTime = BoundExpression(.call(BoundExpression.transactionTimeName, []), type: .timestamp, nullable: false)
    public static let transactionTimeName = "__transaction_time"

    public init(_ kind: Kind, type: SQLType, nullable: Bool) {
        self.kind = kind
        self.type = type
        self.nullable = nullable
    }

    public static func column(_ index: Int, type: SQLType, nullable: Bool) -> BoundExpression {
        BoundExpression(.column(index), type: type, nullable: nullable)
    }

    public static func constant(_ value: Value, type: SQLType) -> BoundExpression {
        BoundExpression(.constant(value), type: type, nullable: value.isNull)
    }

    public static func call(_ name: String, _ arguments: [BoundExpression], type: SQLType, nullable: Bool? = nil) -> BoundExpression {
        BoundExpression(.call(name, arguments), type: type, nullable: nullable ?? arguments.contains { $0.nullable })
    }

    /// `a OP b OP c ...` for `and` / `or` (associative, in three-valued logic too): left-deep up
    /// to `Parser.leftDeepChainLimit` operands, as the parser builds them; beyond, a balanced
    /// tree, so that long chains (IN lists, generated ORs) are logarithmically high and every
    /// recursive pass stays shallow.
    /// - Precondition: `items` is not empty (callers pass the operands they split or bound).
    public static func chain(_ name: String, _ items: [BoundExpression]) -> BoundExpression {
        if items.count <= Parser.leftDeepChainLimit {
            return items.dropFirst().reduce(items[0]) { BoundExpression.call(name, [$0, $1], type: .boolean) }
        }
        func balanced(_ range: Range<Int>) -> BoundExpression {
            if range.count == 1 { return items[range.lowerBound] }
            let middle = range.lowerBound + range.count / 2
            return .call(name, [balanced(range.lowerBound..<middle), balanced(middle..<range.upperBound)], type: .boolean)
        }
        return balanced(0..<items.count)
    }

    public var description: String {
        switch kind {
        case .column(let i): return "#\(i)"
        case .constant(let v): return v.isNull ? "NULL" : (type.isString ? "'\(v)'" : "\(v)")
        case .parameter(let n): return "$\(n)"
        case .slot(let n): return "slot\(n)"
        case .call(let name, let args): return "\(name)(\(args.map(\.description).joined(separator: ", ")))"
        case .outer(let i): return "outer#\(i)"
        }
    }

    /// Every column index the expression reads.
    public var columnsUsed: Set<Int> {
        switch kind {
        case .column(let i): return [i]
        case .constant, .parameter, .slot, .outer: return []
        case .call(_, let args): return args.reduce(into: Set<Int>()) { $0.formUnion($1.columnsUsed) }
        }
    }

    /// Every outer-query column index the expression reads.
    public var outerColumnsUsed: Set<Int> {
        switch kind {
        case .outer(let i): return [i]
        case .constant, .parameter, .slot, .column: return []
        case .call(_, let args): return args.reduce(into: Set<Int>()) { $0.formUnion($1.outerColumnsUsed) }
        }
    }

    /// Whether it calls a function with side effects or a new value per call.
    public var isVolatile: Bool {
        guard case .call(let name, let args) = kind else { return false }
        return BoundExpression.volatileFunctions.contains(name) || args.contains { $0.isVolatile }
    }

    /// A column, constant or parameter: a value a projection passes along without computing.
    public var isPlainValue: Bool {
        switch kind {
        case .column, .constant, .parameter, .slot, .outer: return true
        case .call: return false
        }
    }

    /// The expression with every column and outer reference replaced by `transform`'s result.
    public func substitute(_ transform: (BoundExpression) -> BoundExpression?) -> BoundExpression {
        if let replaced = transform(self) { return replaced }
        guard case .call(let name, let args) = kind else { return self }
        return BoundExpression(.call(name, args.map { $0.substitute(transform) }), type: type, nullable: nullable)
    }

    /// The expression with column indexes renumbered.
    public func remapColumns(_ map: (Int) -> Int) -> BoundExpression {
        switch kind {
        case .column(let i): return BoundExpression(.column(map(i)), type: type, nullable: nullable)
        case .constant, .parameter, .slot, .outer: return self
        case .call(let name, let args): return BoundExpression(.call(name, args.map { $0.remapColumns(map) }), type: type, nullable: nullable)
        }
    }
}
