/// Kiln's in-memory IR: a faithful mirror of MLIR's structure (operations with operands,
/// results, attributes and regions of blocks), built and rewritten by Kiln's lowering passes in
/// Swift, printed in MLIR's generic syntax and handed to MLIR for verification and code generation.
///
/// Types are MLIR type strings (`i64`, `!llvm.ptr`, `!kiln_high.stream`); MLIR parses and
/// verifies them, so a typo is caught by MLIR's verifier, not silently accepted.

/// An SSA value: an operation result or a block argument.
public final class IRValue: Hashable {
    public let type: String
    public init(type: String) { self.type = type }
    public static func == (lhs: IRValue, rhs: IRValue) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// An attribute value in MLIR syntax.
public indirect enum IRAttribute: Equatable, CustomStringConvertible {
    case integer(Int64, type: String)
    case float(Double, type: String)
    case string(String)
    case array([IRAttribute])
    /// Any attribute written in MLIR syntax (`@symbol`, `(i64) -> i1`, `array<i32: 1, 0>`).
    case raw(String)

    public var description: String {
        switch self {
        case .integer(let v, let t): return "\(v) : \(t)"
        case .float(let v, let t):
            // Hexadecimal bit patterns print exactly (NaN, infinities, every digit).
            let bits = t == "f32" ? UInt64(Float(v).bitPattern) : v.bitPattern
            return "0x\(String(bits, radix: 16, uppercase: true)) : \(t)"
        case .string(let s): return "\"" + IRAttribute.escape(s) + "\""
        case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .raw(let r): return r
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7f: out.unicodeScalars.append(UnicodeScalar(byte))
            default: out += "\\" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    public var integerValue: Int64? { if case .integer(let v, _) = self { return v } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [IRAttribute]? { if case .array(let items) = self { return items } else { return nil } }
}

public final class IRBlock {
    public var arguments: [IRValue]
    public var operations: [IROperation] = []
    public init(arguments: [IRValue] = []) { self.arguments = arguments }
}

public final class IRRegion {
    public var blocks: [IRBlock]
    public init(blocks: [IRBlock] = []) { self.blocks = blocks }
    public static func single(_ block: IRBlock) -> IRRegion { IRRegion(blocks: [block]) }
}

/// One operation (`"dialect.name"(operands) ({regions}) {attributes} : (types) -> types`).
public final class IROperation {
    public let name: String
    public var operands: [IRValue]
    public var results: [IRValue]
    public var attributes: [(String, IRAttribute)]
    public var regions: [IRRegion]

    public init(_ name: String, operands: [IRValue] = [], resultTypes: [String] = [], attributes: [(String, IRAttribute)] = [], regions: [IRRegion] = []) {
        self.name = name
        self.operands = operands
        self.results = resultTypes.map { IRValue(type: $0) }
        self.attributes = attributes
        self.regions = regions
    }

    public var result: IRValue { results[0] }

    public func attribute(_ key: String) -> IRAttribute? {
        for (name, value) in attributes where name == key { return value }
        return nil
    }
    public func integer(_ key: String) -> Int? { attribute(key)?.integerValue.map(Int.init) }
    public func string(_ key: String) -> String? { attribute(key)?.stringValue }
}

/// A module: a list of top-level operations (functions).
public final class IRModule {
    public var operations: [IROperation] = []
    public init() {}

    /// The module in MLIR's generic syntax, which MLIR parses back exactly.
    public var text: String { IRPrinter().print(self) }
}

/// Appends operations to a block.
public struct IRBuilder {
    public var block: IRBlock
    public init(_ block: IRBlock) { self.block = block }

    @discardableResult
    public func add(_ name: String, _ operands: [IRValue] = [], _ resultTypes: [String] = [], _ attributes: [(String, IRAttribute)] = [], regions: [IRRegion] = []) -> IROperation {
        let op = IROperation(name, operands: operands, resultTypes: resultTypes, attributes: attributes, regions: regions)
        block.operations.append(op)
        return op
    }

    /// One-result convenience.
    public func value(_ name: String, _ operands: [IRValue] = [], _ type: String, _ attributes: [(String, IRAttribute)] = []) -> IRValue {
        add(name, operands, [type], attributes).result
    }
}

/// Prints IR in MLIR's generic syntax with stable value numbering.
public struct IRPrinter {
    private final class Names {
        var names: [ObjectIdentifier: String] = [:]
        var next = 0
        func name(_ value: IRValue) -> String {
            let key = ObjectIdentifier(value)
            if let n = names[key] { return n }
            let n = "%\(next)"
            next += 1
            names[key] = n
            return n
        }
    }
    private let names = Names()
    public init() {}

    /// SQL-typed values (`!kiln_mid.val<"int4?">` inside Kiln) print as the dialect's plain value
    /// type with the SQL type in a `sqltype` attribute on the defining op: IRDL cannot express
    /// variadic operands of differing parameters, and the SQL type is operation metadata anyway.
    static func splitValueType(_ type: String) -> (String, String)? {
        guard type.hasPrefix("!kiln_high.column<\"") || type.hasPrefix("!kiln_mid.val<\""),
              let open = type.firstIndex(of: "<") else { return nil }
        let parameter = type[type.index(open, offsetBy: 2)..<type.index(type.endIndex, offsetBy: -2)]
        return (String(type[..<open]), String(parameter))
    }

    static func printedType(_ type: String) -> String { splitValueType(type)?.0 ?? type }

    public func print(_ module: IRModule) -> String {
        var out = ""
        for op in module.operations { printOperation(op, indent: 0, into: &out) }
        return out
    }

    func printOperation(_ op: IROperation, indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        out += pad
        if !op.results.isEmpty { out += op.results.map { names.name($0) }.joined(separator: ", ") + " = " }
        out += "\"\(op.name)\"(" + op.operands.map { names.name($0) }.joined(separator: ", ") + ")"
        if !op.regions.isEmpty {
            out += " ("
            for (index, region) in op.regions.enumerated() {
                if index > 0 { out += ", " }
                out += "{\n"
                for block in region.blocks {
                    out += pad + "^bb" + "\(names.next)"
                    names.next += 1
                    if !block.arguments.isEmpty {
                        out += "(" + block.arguments.map { names.name($0) + ": " + IRPrinter.printedType($0.type) }.joined(separator: ", ") + ")"
                    }
                    out += ":\n"
                    for child in block.operations { printOperation(child, indent: indent + 1, into: &out) }
                }
                out += pad + "}"
            }
            out += ")"
        }
        var attributes = op.attributes
        if let result = op.results.first, let (_, parameter) = IRPrinter.splitValueType(result.type) {
            attributes.append(("sqltype", .string(parameter)))
        }
        if !attributes.isEmpty {
            out += " {" + attributes.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + "}"
        }
        out += " : (" + op.operands.map { IRPrinter.printedType($0.type) }.joined(separator: ", ") + ") -> "
        out += op.results.count == 1 ? IRPrinter.printedType(op.results[0].type) : "(" + op.results.map { IRPrinter.printedType($0.type) }.joined(separator: ", ") + ")"
        out += "\n"
    }
}

extension IRModule {
    /// Adds `func.func @name(args) -> results` and returns its entry block.
    public func addFunction(_ name: String, arguments: [String], results: [String], visibility: String? = nil) -> IRBlock {
        let block = IRBlock(arguments: arguments.map { IRValue(type: $0) })
        let type = "(" + arguments.joined(separator: ", ") + ") -> " + (results.count == 1 ? results[0] : "(" + results.joined(separator: ", ") + ")")
        var attributes: [(String, IRAttribute)] = [("function_type", .raw(type)), ("sym_name", .string(name))]
        if let visibility { attributes.append(("sym_visibility", .string(visibility))) }
        let function = IROperation("func.func", attributes: attributes, regions: [visibility == "private" ? IRRegion() : .single(block)])
        operations.append(function)
        return block
    }

    /// The functions of the module, by name.
    public var functions: [(String, IROperation)] {
        operations.filter { $0.name == "func.func" }.map { ($0.string("sym_name") ?? "", $0) }
    }
}
