import CMLIR
import Synchronization
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
    /// What owns the code: an `LLVMJITCode`.
    let engine: AnyObject
    public let entries: [Entry]
    /// How long each stage took.
    public let stages: CompileStages
    public var compileMilliseconds: Double { stages.total }
    /// The object file and its functions' prefix, when the compile was asked to keep them (for
    /// a persistent code cache).
    public let object: (bytes: [UInt8], prefix: String)?

    init(engine: AnyObject, entries: [Entry], stages: CompileStages, object: (bytes: [UInt8], prefix: String)? = nil) {
        self.engine = engine
        self.entries = entries
        self.stages = stages
        self.object = object
    }
}

/// Milliseconds per stage of turning a low-level module into machine code.
public struct CompileStages: Sendable, Equatable {
    /// `kiln_low` to upstream dialects (Kiln's own pass).
    public var upstream = 0.0
    /// Printing, MLIR's parser and verifier.
    public var parse = 0.0
    /// MLIR's conversions to the LLVM dialect.
    public var convert = 0.0
    /// Translation to LLVM IR and the JIT's set-up.
    public var llvm = 0.0
    /// LLVM's optimisation passes (at the tier's level) and instruction selection, when the
    /// pipelines' symbols are looked up.
    public var emit = 0.0
    /// Whether LLVM IR was built directly from the upstream-level module (`LLVMEmitter`: no
    /// MLIR parse or conversion; `llvm` is then the IR building and the JIT's set-up).
    public var direct = false
    public init() {}
    public var total: Double { upstream + parse + convert + llvm + emit }
}

/// Owns an MLIR context with Kiln's dialects loaded; verifies IR at each level and compiles the
/// low level to native code.
///
/// Not thread-safe (MLIR contexts are not); callers serialise access.
public final class NativeCompiler {
    public let context: MLIRContext
    /// The conversions for a module without vector operations (the fast tier's scalar
    /// program): the vector conversion's set-up alone costs a few milliseconds.
    public static let scalarConversionPipeline =
        "builtin.module(convert-scf-to-cf, convert-arith-to-llvm, convert-index-to-llvm, convert-cf-to-llvm, convert-func-to-llvm, reconcile-unrealized-casts)"
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
    /// - Parameter optimizationLevel: 0 is the fast tier (no IR passes, code generation at
    ///   level None with FastISel); otherwise the optimised tier (LLVM's -O2 passes, code
    ///   generation at the default level). Both run in Kiln's own ORC JITs (`LLVMJITCode`).
    /// - Parameter keepObject: keep the object file (`CompiledQuery.object`).
    public func compile(_ low: IRModule, pipelineCount: Int, optimizationLevel: Int = 2, keepObject: Bool = false) throws -> CompiledQuery {
        var stages = CompileStages()
        var clock = ContinuousClock.now
        func lap() -> Double {
            let now = ContinuousClock.now
            let elapsed = now - clock
            clock = now
            return elapsed.milliseconds
        }
        let upstream = self.upstream(low)
        stages.upstream = lap()
        let symbols = RuntimeSymbols.addresses + RuntimeSymbols.lateAddresses
        var engine: AnyObject?
        var lookup: (String) throws -> UnsafeMutableRawPointer? = { _ in nil }
        if let fault = NativeCompiler.takeInjectedFault() {
            // Tests: compile a module that fails the way `fault` says, in place of this one.
            let jit = try LLVMJITCode(tier: optimizationLevel == 0 ? .fast : .optimized, symbols: symbols) { context, _, _ in
                try LLVMJITCode.parseIR(fault.llvmIR(pipelineCount: pipelineCount), context: context)
            }
            (engine, lookup) = (jit, { try jit.lookup($0) })
        }
        if engine == nil, optimizationLevel == 0, NativeCompiler.directFastTier {
            // The fast tier builds LLVM IR itself; a module it cannot translate goes through MLIR.
            do {
                let jit = try LLVMJITCode(tier: .fast, symbols: symbols + RuntimeSymbols.wideAddresses) { context, triple, layout in
                    try NativeCompiler.emitLLVM(upstream, context: context, triple: triple, layout: layout)
                }
                (engine, lookup) = (jit, { try jit.lookup($0) })
                stages.direct = true
                stages.llvm = lap()
            } catch is LLVMEmitter.Unsupported {
                _ = lap()
            }
        }
        if engine == nil {
            (engine, lookup) = try viaMLIR(upstream, optimizationLevel: optimizationLevel, symbols: symbols, stages: &stages, lap: lap)
        }
        var object: (bytes: [UInt8], prefix: String)?
        if keepObject, let jit = engine as? LLVMJITCode, pipelineCount > 0, let bytes = try jit.objectCode(firstFunction: "pipeline_1") {
            object = (bytes, jit.functionPrefix)
        }
        let entries = try NativeCompiler.entries(pipelineCount, lookup)
        stages.emit = lap()
        return CompiledQuery(engine: engine!, entries: entries, stages: stages, object: object)
    }

    /// Native code from object code an earlier compile kept (a persistent code cache): linked
    /// into the tier's JIT, no compile.
    public func load(object: [UInt8], prefix: String, pipelineCount: Int, optimizationLevel: Int) throws -> CompiledQuery {
        let symbols = RuntimeSymbols.addresses + RuntimeSymbols.lateAddresses + RuntimeSymbols.wideAddresses
        let jit = try LLVMJITCode(object: object, prefix: prefix, tier: optimizationLevel == 0 ? .fast : .optimized, symbols: symbols)
        let entries = try NativeCompiler.entries(pipelineCount) { try jit.lookup($0) }
        return CompiledQuery(engine: jit, entries: entries, stages: CompileStages())
    }

    private static func entries(_ pipelineCount: Int, _ lookup: (String) throws -> UnsafeMutableRawPointer?) throws -> [CompiledQuery.Entry] {
        var entries: [CompiledQuery.Entry] = []
        for index in 1...max(1, pipelineCount) where index <= pipelineCount {
            guard let address = try lookup("pipeline_\(index)") else {
                throw MLIRError("compiled module has no function pipeline_\(index)")
            }
            entries.append(unsafeBitCast(address, to: CompiledQuery.Entry.self))
        }
        return entries
    }

    /// What object code depends on besides its IR (part of a persistent code cache's key).
    public static func targetDescription(optimizationLevel: Int) throws -> String {
        try LLVMJITCode.targetDescription(optimizationLevel == 0 ? .fast : .optimized)
    }

    /// Whether the fast tier builds LLVM IR directly (`FastTierTests` turns it off to run the
    /// MLIR path it falls back to).
    public static let directFastTierEnabled = Atomic<Bool>(true)
    static var directFastTier: Bool { directFastTierEnabled.load(ordering: .relaxed) }

    /// LLVM IR for an upstream-level module, built by `LLVMEmitter` (verified in debug builds).
    static func emitLLVM(_ upstream: IRModule, context: LLVMContextRef, triple: UnsafePointer<CChar>, layout: LLVMTargetDataRef) throws -> LLVMModuleRef {
        let module = LLVMModuleCreateWithNameInContext("kiln", context)!
        LLVMSetTarget(module, triple)
        LLVMSetModuleDataLayout(module, layout)
        var emitter = LLVMEmitter(context: context, module: module)
        defer { emitter.dispose() }
        do {
            try emitter.emit(upstream)
            #if DEBUG
            var message: UnsafeMutablePointer<CChar>?
            if LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0 {
                defer { LLVMDisposeMessage(message) }
                throw MLIRError("the fast tier's LLVM IR does not verify: " + (message.map { String(cString: $0) } ?? ""))
            }
            #endif
        } catch {
            LLVMDisposeModule(module)
            throw error
        }
        return module
    }

    /// The upstream module through MLIR: parse (which verifies), conversions to the LLVM
    /// dialect, translation to LLVM IR, then the tier's ORC JIT.
    private func viaMLIR(_ upstream: IRModule, optimizationLevel: Int, symbols: [(String, UnsafeMutableRawPointer)],
                         stages: inout CompileStages, lap: () -> Double) throws -> (AnyObject, (String) throws -> UnsafeMutableRawPointer?) {
        // MLIR's parser verifies what it parsed.
        let text = upstream.text
        let parsed = try context.parse(text)
        stages.parse = lap()
        try parsed.run(passPipeline: text.contains("\"vector.") ? NativeCompiler.conversionPipeline : NativeCompiler.scalarConversionPipeline)
        stages.convert = lap()
        let jit = try LLVMJITCode(module: parsed, tier: optimizationLevel == 0 ? .fast : .optimized, symbols: symbols)
        let (engine, lookup): (AnyObject, (String) throws -> UnsafeMutableRawPointer?) = (jit, { try jit.lookup($0) })
        stages.llvm = lap()
        return (engine, lookup)
    }
}

/// A compile that fails on purpose (tests: `NativeCompiler.injectFault`), to show that a failed
/// compile leaves the query on the tier it runs in and the process alive.
public enum InjectedFault: Sendable {
    /// A module that does not parse: an ordinary compile error.
    case invalidModule
    /// A module that LLVM cannot select instructions for (an intrinsic of another target):
    /// `report_fatal_error` on the compiling thread.
    case llvmFatalError

    func llvmIR(pipelineCount: Int) -> String {
        switch self {
        case .invalidModule:
            return "define i1 @pipeline_1(ptr %ctx) {\n  ret i64 %nothing\n}\n"
        case .llvmFatalError:
            let functions = (1...max(1, pipelineCount)).map { index in
                "define i1 @pipeline_\(index)(ptr %ctx) {\n  %v = call i64 @llvm.aarch64.ldxr.p0(ptr elementtype(i64) %ctx)\n  %b = trunc i64 %v to i1\n  ret i1 %b\n}\n"
            }
            return functions.joined() + "declare i64 @llvm.aarch64.ldxr.p0(ptr)\n"
        }
    }
}

extension NativeCompiler {
    private static let injectedFault = Mutex<InjectedFault?>(nil)

    /// Makes the next compile (in any `NativeCompiler`) fail as `fault` says (tests).
    public static func injectFault(_ fault: InjectedFault) { injectedFault.withLock { $0 = fault } }

    static func takeInjectedFault() -> InjectedFault? {
        injectedFault.withLock { fault in
            defer { fault = nil }
            return fault
        }
    }
}
