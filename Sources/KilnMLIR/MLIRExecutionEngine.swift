import CMLIR

/// Native code for a module in the LLVM dialect, compiled by MLIR's ORC-based execution engine.
///
/// The engine owns the code: function addresses looked up here stay valid while the engine lives.
/// `@unchecked Sendable` because after construction the engine is only read (symbol lookups are
/// thread-safe in ORC) and the native code it holds is immutable.
public final class MLIRExecutionEngine: @unchecked Sendable {
    let raw: MlirExecutionEngine

    /// Compiles `module` (which must already be lowered to the LLVM dialect).
    /// - Parameters:
    ///   - optimizationLevel: LLVM's -O level, 0...3.
    ///   - symbols: external symbols (runtime functions) the code calls, by name.
    public init(module: MLIRModule, optimizationLevel: Int, symbols: [(String, UnsafeMutableRawPointer)]) throws {
        _ = module.context.sink.take()
        let engine = mlirExecutionEngineCreate(module.raw, Int32(optimizationLevel), 0, nil, false, false)
        if mlirExecutionEngineIsNull(engine) {
            throw MLIRError("execution engine creation failed: " + module.context.sink.take())
        }
        for (name, address) in symbols {
            name.withCString { mlirExecutionEngineRegisterSymbol(engine, mlirStringRefCreateFromCString($0), address) }
        }
        raw = engine
    }

    deinit { mlirExecutionEngineDestroy(raw) }

    /// The address of a compiled function (a `func.func` lowered with the C calling convention).
    public func lookup(_ name: String) -> UnsafeMutableRawPointer? {
        name.withCString { mlirExecutionEngineLookup(raw, mlirStringRefCreateFromCString($0)) }
    }
}
