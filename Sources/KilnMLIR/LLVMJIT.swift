import CMLIR
import Synchronization

/// Native code for one query's LLVM IR module, compiled by LLVM's ORC JIT (through LLVM's C
/// API) at code-generation level `None`: FastISel instruction selection and the fast register
/// allocator, no IR passes. Kiln's fast tier: MLIR's own execution engine always generates
/// code at LLVM's default level, which costs several times more.
///
/// Every query's code lives in one process-wide JIT (`SharedJIT`: its set-up, target machine
/// and code generator are made once), under a resource tracker of its own that frees the code
/// when this object goes; the module's functions are renamed with a unique prefix so that
/// queries do not clash in the JIT's one symbol table.
///
/// `@unchecked Sendable` for the same reasons as `MLIRExecutionEngine`: after construction it
/// is only read, and the code it holds is immutable.
public final class LLVMFastJIT: @unchecked Sendable {
    let shared: SharedJIT
    let tracker: LLVMOrcResourceTrackerRef
    /// The prefix this query's function names got.
    let prefix: String

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
        let shared = try SharedJIT.instance.get()
        self.shared = shared
        try shared.define(symbols)
        let prefix = shared.nextPrefix()
        self.prefix = prefix
        let llvmContext = LLVMContextCreate()!
        let llvmModule: LLVMModuleRef
        do {
            llvmModule = try shared.triple.withCString { try build(llvmContext, $0, shared.layout) }
        } catch {
            LLVMContextDispose(llvmContext)
            throw error
        }
        shared.triple.withCString { LLVMSetTarget(llvmModule, $0) }
        LLVMSetModuleDataLayout(llvmModule, shared.layout)
        // Unique names for the functions this module defines.
        var function = LLVMGetFirstFunction(llvmModule)
        while let current = function {
            if LLVMIsDeclaration(current) == 0 {
                var length = 0
                let name = String(cString: LLVMGetValueName2(current, &length))
                let renamed = prefix + name
                LLVMSetValueName2(current, renamed, renamed.utf8.count)
            }
            function = LLVMGetNextFunction(current)
        }
        tracker = LLVMOrcJITDylibCreateResourceTracker(shared.dylib)
        let safeContext = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(llvmContext)
        let safeModule = LLVMOrcCreateNewThreadSafeModule(llvmModule, safeContext)
        LLVMOrcDisposeThreadSafeContext(safeContext)
        if let error = LLVMOrcLLJITAddLLVMIRModuleWithRT(shared.jit, tracker, safeModule) {
            LLVMOrcReleaseResourceTracker(tracker)
            throw MLIRError("could not add the module to the JIT: " + SharedJIT.consume(error))
        }
    }

    deinit {
        if let error = LLVMOrcResourceTrackerRemove(tracker) { _ = SharedJIT.consume(error) }
        LLVMOrcReleaseResourceTracker(tracker)
    }

    /// The address of a compiled function; compiles the module on the first lookup.
    public func lookup(_ name: String) throws -> UnsafeMutableRawPointer? {
        var address: LLVMOrcExecutorAddress = 0
        if let error = LLVMOrcLLJITLookup(shared.jit, &address, prefix + name) {
            throw MLIRError("JIT lookup of \(name) failed: " + SharedJIT.consume(error))
        }
        return UnsafeMutableRawPointer(bitPattern: UInt(address))
    }
}

/// The process's one LLVM ORC JIT for the fast tier: made on first use, never torn down.
///
/// `@unchecked Sendable`: ORC's session is thread-safe; the rest is immutable or guarded.
final class SharedJIT: @unchecked Sendable {
    let jit: LLVMOrcLLJITRef
    let dylib: LLVMOrcJITDylibRef
    let triple: String
    let layout: LLVMTargetDataRef
    private let state = Mutex<(defined: Set<String>, next: Int)>((defined: [], next: 0))

    static let instance: Result<SharedJIT, MLIRError> = Result { try SharedJIT() }.mapError { $0 as? MLIRError ?? MLIRError("\($0)") }

    private init() throws(MLIRError) {
        LLVMInitializeNativeTarget()
        LLVMInitializeNativeAsmPrinter()
        let triple = LLVMGetDefaultTargetTriple()
        defer { LLVMDisposeMessage(triple) }
        self.triple = String(cString: triple!)
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
        layout = LLVMCreateTargetDataLayout(machine)
        let builder = LLVMOrcCreateLLJITBuilder()
        // The JIT takes the target machine over.
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine))
        var jit: LLVMOrcLLJITRef?
        if let error = LLVMOrcCreateLLJIT(&jit, builder) {
            throw MLIRError("could not create the JIT: " + SharedJIT.consume(error))
        }
        guard let jit else { throw MLIRError("could not create the JIT") }
        self.jit = jit
        dylib = LLVMOrcLLJITGetMainJITDylib(jit)
        var generator: LLVMOrcDefinitionGeneratorRef?
        if let error = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, LLVMOrcLLJITGetGlobalPrefix(jit), nil, nil) {
            throw MLIRError("could not search the process for symbols: " + SharedJIT.consume(error))
        }
        if let generator { LLVMOrcJITDylibAddGenerator(dylib, generator) }
    }

    /// Defines the runtime functions not defined yet.
    func define(_ symbols: [(String, UnsafeMutableRawPointer)]) throws {
        try state.withLock { state in
            let fresh = symbols.filter { !state.defined.contains($0.0) }
            if fresh.isEmpty { return }
            var pairs = fresh.map { name, address in
                LLVMOrcCSymbolMapPair(Name: LLVMOrcLLJITMangleAndIntern(jit, name),
                                      Sym: LLVMJITEvaluatedSymbol(Address: LLVMOrcExecutorAddress(UInt(bitPattern: address)),
                                                                  Flags: LLVMJITSymbolFlags(GenericFlags: UInt8(LLVMJITSymbolGenericFlagsExported.rawValue | LLVMJITSymbolGenericFlagsCallable.rawValue), TargetFlags: 0)))
            }
            let unit = pairs.withUnsafeMutableBufferPointer { LLVMOrcAbsoluteSymbols($0.baseAddress, $0.count) }
            if let error = LLVMOrcJITDylibDefine(dylib, unit) {
                throw MLIRError("could not define the runtime's symbols: " + SharedJIT.consume(error))
            }
            for (name, _) in fresh { state.defined.insert(name) }
        }
    }

    /// A prefix no other query's functions have.
    func nextPrefix() -> String {
        state.withLock { state in
            state.next += 1
            return "q\(state.next)_"
        }
    }

    static func consume(_ error: LLVMErrorRef) -> String {
        let message = LLVMGetErrorMessage(error)
        defer { LLVMDisposeErrorMessage(message) }
        return message.map { String(cString: $0) } ?? "unknown LLVM error"
    }
}
