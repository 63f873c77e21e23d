import CMLIR

/// A read-only copy of an MLIR operation tree in plain Swift values.
///
/// Values are identified by `MLIRValueID`s that are unique within one snapshot, so an importer can
/// rebuild use-def edges without touching the C API.
public struct MLIROperationSnapshot: Sendable {
    /// A value produced by an operation or a block argument.
    public struct Value: Sendable, Hashable {
        public let id: Int
        public let type: String
    }
    /// One attribute with a typed view when it is a plain integer, float, string or array.
    public indirect enum Attribute: Sendable, Equatable {
        case integer(Int64, type: String)
        case float(Double, type: String)
        case string(String)
        case array([Attribute])
        case other(String)
    }
    public struct Block: Sendable {
        public let arguments: [Value]
        public let operations: [MLIROperationSnapshot]
    }
    public let name: String
    public let operands: [Value]
    public let results: [Value]
    public let attributes: [(String, Attribute)]
    public let regions: [[Block]]

    static func capture(_ operation: MlirOperation) -> MLIROperationSnapshot {
        var ids: [UnsafeMutableRawPointer?: Int] = [:]
        return capture(operation, ids: &ids)
    }

    private static func value(_ value: MlirValue, ids: inout [UnsafeMutableRawPointer?: Int]) -> Value {
        let key = UnsafeMutableRawPointer(mutating: value.ptr)
        let id: Int
        if let known = ids[key] { id = known } else { id = ids.count; ids[key] = id }
        let type = printed { callback, data in mlirTypePrint(mlirValueGetType(value), callback, data) }
        return Value(id: id, type: type)
    }

    private static func attribute(_ attribute: MlirAttribute) -> Attribute {
        if mlirAttributeIsAInteger(attribute) {
            let type = printed { callback, data in mlirTypePrint(mlirAttributeGetType(attribute), callback, data) }
            if type == "i128" {
                // Wider than the 64-bit typed view: keep MLIR's spelling.
                return .other(printed { callback, data in mlirAttributePrint(attribute, callback, data) })
            }
            return .integer(mlirIntegerAttrGetValueInt(attribute), type: type)
        }
        if mlirAttributeIsAFloat(attribute) {
            let type = printed { callback, data in mlirTypePrint(mlirAttributeGetType(attribute), callback, data) }
            return .float(mlirFloatAttrGetValueDouble(attribute), type: type)
        }
        if mlirAttributeIsAString(attribute) { return .string(string(mlirStringAttrGetValue(attribute))) }
        if mlirAttributeIsAArray(attribute) {
            return .array((0..<mlirArrayAttrGetNumElements(attribute)).map { Self.attribute(mlirArrayAttrGetElement(attribute, $0)) })
        }
        return .other(printed { callback, data in mlirAttributePrint(attribute, callback, data) })
    }

    private static func capture(_ operation: MlirOperation, ids: inout [UnsafeMutableRawPointer?: Int]) -> MLIROperationSnapshot {
        let name = string(mlirIdentifierStr(mlirOperationGetName(operation)))
        var operands: [Value] = []
        for index in 0..<mlirOperationGetNumOperands(operation) {
            operands.append(value(mlirOperationGetOperand(operation, index), ids: &ids))
        }
        var results: [Value] = []
        for index in 0..<mlirOperationGetNumResults(operation) {
            results.append(value(mlirOperationGetResult(operation, index), ids: &ids))
        }
        var attributes: [(String, Attribute)] = []
        for index in 0..<mlirOperationGetNumAttributes(operation) {
            let named = mlirOperationGetAttribute(operation, index)
            attributes.append((string(mlirIdentifierStr(named.name)), attribute(named.attribute)))
        }
        var regions: [[Block]] = []
        for regionIndex in 0..<mlirOperationGetNumRegions(operation) {
            var blocks: [Block] = []
            var block = mlirRegionGetFirstBlock(mlirOperationGetRegion(operation, regionIndex))
            while !mlirBlockIsNull(block) {
                var arguments: [Value] = []
                for index in 0..<mlirBlockGetNumArguments(block) {
                    arguments.append(value(mlirBlockGetArgument(block, index), ids: &ids))
                }
                var operations: [MLIROperationSnapshot] = []
                var child = mlirBlockGetFirstOperation(block)
                while !mlirOperationIsNull(child) {
                    operations.append(capture(child, ids: &ids))
                    child = mlirOperationGetNextInBlock(child)
                }
                blocks.append(Block(arguments: arguments, operations: operations))
                block = mlirBlockGetNextInRegion(block)
            }
            regions.append(blocks)
        }
        return MLIROperationSnapshot(name: name, operands: operands, results: results, attributes: attributes, regions: regions)
    }
}
