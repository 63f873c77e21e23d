import KilnIR
import KilnMLIR

/// Rebuilds Kiln's IR from a module MLIR parsed (and verified), so a lowering pass can be tested
/// text in, text out: MLIR text -> MLIR -> Kiln IR -> pass -> Kiln IR -> MLIR -> text.
public enum IRImporter {
    public static func module(from snapshot: MLIROperationSnapshot) -> IRModule {
        var values: [Int: IRValue] = [:]
        let module = IRModule()
        for block in snapshot.regions.first ?? [] {
            for op in block.operations { module.operations.append(operation(op, values: &values)) }
        }
        return module
    }

    static func value(_ v: MLIROperationSnapshot.Value, values: inout [Int: IRValue], sqlType: String? = nil) -> IRValue {
        if let existing = values[v.id] { return existing }
        let type = sqlType.map { "\(v.type)<\"\($0)\">" } ?? v.type
        let created = IRValue(type: type)
        values[v.id] = created
        return created
    }

    static func attribute(_ a: MLIROperationSnapshot.Attribute) -> IRAttribute {
        switch a {
        case .integer(let v, let type): return .integer(v, type: type)
        case .float(let v, let type): return .float(v, type: type)
        case .string(let s): return .string(s)
        case .array(let items): return .array(items.map(attribute))
        case .other(let text): return .raw(text)
        }
    }

    static func operation(_ op: MLIROperationSnapshot, values: inout [Int: IRValue]) -> IROperation {
        var attributes: [(String, IRAttribute)] = []
        var sqlType: String?
        for (name, attr) in op.attributes {
            if name == "sqltype", case .string(let s) = attr { sqlType = s; continue }
            attributes.append((name, attribute(attr)))
        }
        let operands = op.operands.map { value($0, values: &values) }
        var regions: [IRRegion] = []
        for region in op.regions {
            var blocks: [IRBlock] = []
            for block in region {
                let arguments = block.arguments.map { value($0, values: &values) }
                let imported = IRBlock(arguments: arguments)
                imported.operations = block.operations.map { operation($0, values: &values) }
                blocks.append(imported)
            }
            regions.append(IRRegion(blocks: blocks))
        }
        let result = IROperation(op.name, operands: operands, resultTypes: [], attributes: attributes, regions: regions)
        result.results = op.results.map { value($0, values: &values, sqlType: sqlType) }
        return result
    }
}
