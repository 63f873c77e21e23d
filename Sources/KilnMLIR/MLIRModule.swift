import CMLIR
#if canImport(Glibc)
import Glibc
#endif

/// An owned `builtin.module`.
public final class MLIRModule {
    let raw: MlirModule
    let context: MLIRContext

    init(raw: MlirModule, context: MLIRContext) {
        self.raw = raw
        self.context = context
    }

    deinit { mlirModuleDestroy(raw) }

    var operation: MlirOperation { mlirModuleGetOperation(raw) }

    /// Runs MLIR's verifier; throws with its diagnostics when the module is malformed.
    public func verify() throws {
        _ = context.sink.take()
        if !mlirOperationVerify(operation) {
            throw MLIRError(context.sink.take())
        }
    }

    /// MLIR's own textual form (custom assembly where an op has one).
    public var text: String {
        printed { callback, data in mlirOperationPrint(operation, callback, data) }
    }

    /// MLIR's generic textual form.
    public var genericText: String {
        let flags = mlirOpPrintingFlagsCreate()
        defer { mlirOpPrintingFlagsDestroy(flags) }
        mlirOpPrintingFlagsPrintGenericOpForm(flags)
        return printed { callback, data in mlirOperationPrintWithFlags(operation, flags, callback, data) }
    }

    /// Runs a textual pass pipeline such as `builtin.module(convert-scf-to-cf, ...)` on the module.
    public func run(passPipeline: String) throws {
        let manager = mlirPassManagerCreate(context.raw)
        defer { mlirPassManagerDestroy(manager) }
        _ = context.sink.take()
        var parseError = ""
        let parsed = withUnsafeMutablePointer(to: &parseError) { errorPointer in
            passPipeline.withCString {
                mlirParsePassPipeline(mlirPassManagerGetAsOpPassManager(manager), mlirStringRefCreateFromCString($0), { ref, user in
                    user!.assumingMemoryBound(to: String.self).pointee += string(ref)
                }, UnsafeMutableRawPointer(errorPointer))
            }
        }
        guard mlirLogicalResultIsSuccess(parsed) else { throw MLIRError("bad pass pipeline: \(parseError)") }
        guard mlirLogicalResultIsSuccess(mlirPassManagerRunOnOp(manager, operation)) else {
            throw MLIRError("pass pipeline failed: " + context.sink.take())
        }
    }

    /// Translates the module (already in the LLVM dialect) to LLVM IR text.
    public func llvmIRText() throws -> String {
        _ = context.sink.take()
        let translated = mlirTranslateModuleToLLVMIRToString(operation)
        guard let pointer = translated else { throw MLIRError("LLVM IR translation failed: " + context.sink.take()) }
        defer { free(UnsafeMutableRawPointer(mutating: pointer)) }
        return String(cString: pointer)
    }

    /// A read-only snapshot of the module's operations, for importing into another IR.
    public func snapshot() -> MLIROperationSnapshot {
        MLIROperationSnapshot.capture(operation)
    }
}
