import KilnCore
import KilnIR
import KilnMLIR
import KilnRuntime

/// A compiled query: native code for each pipeline, kept alive by its execution engine.
///
/// `@unchecked Sendable`: immutable after compilation; the code it holds is reentrant (all
/// per-execution state lives behind the request context).
public final class CompiledQuery: @unchecked Sendable {
    public typealias Entry = @convention(c) (UnsafeMutableRawPointer) -> Bool
    let engine: MLIRExecutionEngine
    public let entries: [Entry]
    public let compileMilliseconds: Double

    init(engine: MLIRExecutionEngine, entries: [Entry], compileMilliseconds: Double) {
        self.engine = engine
        self.entries = entries
        self.compileMilliseconds = compileMilliseconds
    }
}

/// Owns an MLIR context with Kiln's dialects loaded; verifies IR at each level and compiles the
/// low level to native code.
///
/// Not thread-safe (MLIR contexts are not); callers serialise access.
public final class NativeCompiler {
    public let context: MLIRContext
    public static let conversionPipeline =
        "builtin.module(convert-scf-to-cf, convert-vector-to-llvm, convert-arith-to-llvm, convert-index-to-llvm, convert-cf-to-llvm, convert-func-to-llvm, reconcile-unrealized-casts)"

    public init() throws {
        context = MLIRContext()
        for dialect in KilnDialects.all { try context.loadIRDLDialects(dialect.irdl) }
    }

    /// Parses and verifies a module of any level; returns MLIR's printed form.
    @discardableResult
    public func verify(_ module: IRModule) throws -> MLIRModule {
        let parsed = try context.parse(module.text)
        try parsed.verify()
        return parsed
    }

    /// The upstream-MLIR module for a low-level module, before the LLVM conversion.
    public func upstream(_ low: IRModule) -> IRModule { LowToLLVM.lower(low) }

    /// LLVM IR text of a low-level module.
    public func llvmIR(_ low: IRModule) throws -> String {
        let parsed = try verify(upstream(low))
        try parsed.run(passPipeline: NativeCompiler.conversionPipeline)
        return try parsed.llvmIRText()
    }

    /// Compiles `pipelineCount` functions `pipeline_1...` of a low-level module to native code.
    public func compile(_ low: IRModule, pipelineCount: Int, optimizationLevel: Int = 2) throws -> CompiledQuery {
        let start = ContinuousClock.now
        let parsed = try verify(upstream(low))
        try parsed.run(passPipeline: NativeCompiler.conversionPipeline)
        let engine = try MLIRExecutionEngine(module: parsed, optimizationLevel: optimizationLevel,
                                             symbols: RuntimeSymbols.addresses + RuntimeSymbols.lateAddresses)
        var entries: [CompiledQuery.Entry] = []
        for index in 1...max(1, pipelineCount) where index <= pipelineCount {
            guard let address = engine.lookup("pipeline_\(index)") else {
                throw MLIRError("compiled module has no function pipeline_\(index)")
            }
            entries.append(unsafeBitCast(address, to: CompiledQuery.Entry.self))
        }
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return CompiledQuery(engine: engine, entries: entries, compileMilliseconds: ms)
    }
}
