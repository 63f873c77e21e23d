import CMLIR

/// Native code for a module in the LLVM dialect, compiled by LLVM's ORC JIT (through LLVM's C
/// API) at code-generation level `None`: FastISel instruction selection and the fast register
/// allocator, no IR passes. Kiln's fast tier: MLIR's own execution engine always generates
/// code at LLVM's default level, which costs several times more.
///
/// `@unchecked Sendable` for the same reasons as `MLIRExecutionEngine`: after construction it
/// is only read, and the code it holds is immutable.
public final class LLVMFastJIT: @unchecked Sendable {
    let jit: LLVMOrcLLJITRef

    /// Compiles `module` (already lowered to the LLVM dialect); `symbols` are the external
    /// functions it calls (other symbols resolve against the process).
    public convenience init(module: MLIRModule, symbols: [(String, UnsafeMutableRawPointer)]) throws {
        try self.init(symbols: symbols) { llvmContext, _, _ in
            _ = module.context.sink.take()
            guard let llvmModule = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module.raw), llvmContext) else {
                throw MLIRError("LLVM IR translation failed: " + module.context.sink.take())
            }
            return llvmModule
        }
    }

    /// Compiles the LLVM IR module `build` makes in the given context, for the host's target
    /// triple and data layout (passed to `build`, to set on the module before building IR).
    public init(symbols: [(String, UnsafeMutableRawPointer)],
                build: (LLVMContextRef, _ triple: UnsafePointer<CChar>, _ layout: LLVMTargetDataRef) throws -> LLVMModuleRef) throws {
        LLVMFastJIT.initializeTarget
        let triple = LLVMGetDefaultTargetTriple()
        defer { LLVMDisposeMessage(triple) }
        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        guard LLVMGetTargetFromTriple(triple, &target, &message) == 0, let target else {
            defer { LLVMDisposeMessage(message) }
            throw MLIRError("no LLVM target for this machine: " + (message.map { String(cString: $0) } ?? ""))
        }
        let cpu = LLVMGetHostCPUName(), features = LLVMGetHostCPUFeatures()
        defer {
            LLVMDisposeMessage(cpu)
            LLVMDisposeMessage(features)
        }
        // The small code model: x86's FastISel gives up on every call and address under the
        // large model a JIT gets by default (the whole block then goes through SelectionDAG).
        // JITLink reaches the runtime's functions, wherever they are, through stubs it builds.
        guard let machine = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelNone, LLVMRelocDefault, LLVMCodeModelSmall) else {
            throw MLIRError("could not create an LLVM target machine")
        }
        let layout = LLVMCreateTargetDataLayout(machine)
        defer { LLVMDisposeTargetData(layout) }

        // The LLVM IR module, in a context the JIT will own.
        let llvmContext = LLVMContextCreate()!
        let llvmModule: LLVMModuleRef
        do {
            llvmModule = try build(llvmContext, UnsafePointer(triple!), layout!)
        } catch {
            LLVMContextDispose(llvmContext)
            LLVMDisposeTargetMachine(machine)
            throw error
        }
        LLVMSetTarget(llvmModule, triple)
        LLVMSetModuleDataLayout(llvmModule, layout)

        let builder = LLVMOrcCreateLLJITBuilder()
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine))
        var jit: LLVMOrcLLJITRef?
        if let error = LLVMOrcCreateLLJIT(&jit, builder) {
            LLVMDisposeModule(llvmModule)
            LLVMContextDispose(llvmContext)
            throw MLIRError("could not create the JIT: " + LLVMFastJIT.consume(error))
        }
        guard let jit else { throw MLIRError("could not create the JIT") }
        self.jit = jit
        let dylib = LLVMOrcLLJITGetMainJITDylib(jit)
        var generator: LLVMOrcDefinitionGeneratorRef?
        if let error = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, LLVMOrcLLJITGetGlobalPrefix(jit), nil, nil) {
            LLVMDisposeModule(llvmModule)
            LLVMContextDispose(llvmContext)
            throw MLIRError("could not search the process for symbols: " + LLVMFastJIT.consume(error))
        }
        if let generator { LLVMOrcJITDylibAddGenerator(dylib, generator) }
        var pairs = symbols.map { name, address in
            LLVMOrcCSymbolMapPair(Name: LLVMOrcLLJITMangleAndIntern(jit, name),
                                  Sym: LLVMJITEvaluatedSymbol(Address: LLVMOrcExecutorAddress(UInt(bitPattern: address)),
                                                              Flags: LLVMJITSymbolFlags(GenericFlags: UInt8(LLVMJITSymbolGenericFlagsExported.rawValue | LLVMJITSymbolGenericFlagsCallable.rawValue), TargetFlags: 0)))
        }
        let unit = pairs.withUnsafeMutableBufferPointer { LLVMOrcAbsoluteSymbols($0.baseAddress, $0.count) }
        if let error = LLVMOrcJITDylibDefine(dylib, unit) {
            LLVMDisposeModule(llvmModule)
            LLVMContextDispose(llvmContext)
            throw MLIRError("could not define the runtime's symbols: " + LLVMFastJIT.consume(error))
        }
        let safeContext = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(llvmContext)
        let safeModule = LLVMOrcCreateNewThreadSafeModule(llvmModule, safeContext)
        LLVMOrcDisposeThreadSafeContext(safeContext)
        if let error = LLVMOrcLLJITAddLLVMIRModule(jit, dylib, safeModule) {
            throw MLIRError("could not add the module to the JIT: " + LLVMFastJIT.consume(error))
        }
    }

    deinit {
        if let error = LLVMOrcDisposeLLJIT(jit) { _ = LLVMFastJIT.consume(error) }
    }

    /// The address of a compiled function; compiles the module on the first lookup.
    public func lookup(_ name: String) throws -> UnsafeMutableRawPointer? {
        var address: LLVMOrcExecutorAddress = 0
        if let error = LLVMOrcLLJITLookup(jit, &address, name) {
            throw MLIRError("JIT lookup of \(name) failed: " + LLVMFastJIT.consume(error))
        }
        return UnsafeMutableRawPointer(bitPattern: UInt(address))
    }

    private static func consume(_ error: LLVMErrorRef) -> String {
        let message = LLVMGetErrorMessage(error)
        defer { LLVMDisposeErrorMessage(message) }
        return message.map { String(cString: $0) } ?? "unknown LLVM error"
    }

    private static let initializeTarget: Void = {
        LLVMInitializeNativeTarget()
        LLVMInitializeNativeAsmPrinter()
    }()
}
