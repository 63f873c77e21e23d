import CKilnSystem
import CMLIR
import Synchronization

/// Which of the process's two JITs compiles a module.
public enum JITTier: Sendable {
    /// Code generation at level None: FastISel and the fast register allocator, no IR passes.
    case fast
    /// LLVM's -O2 IR pipeline, then code generation at the default level.
    case optimized
}

/// Native code for one query's LLVM IR module, compiled by one of the process's two LLVM ORC
/// JITs (through LLVM's C API): the fast tier's at code-generation level `None` (FastISel and
/// the fast register allocator, no IR passes), or the optimised tier's, which first runs
/// LLVM's -O2 pipeline over the module and generates code at the default level. Both are
/// Kiln's own (no MLIR execution engine): no JIT event listeners (perf and GDB listeners
/// would write `/tmp/.debug/jit`), every diagnostic routed to `LLVMDiagnostics`.
///
/// Each JIT is made once (`SharedJIT`: its set-up, target machine and code generator); every
/// query's module lives under a resource tracker of its own that frees the code when this
/// object goes; the module's functions are renamed with a unique prefix so that queries do
/// not clash in the JIT's one symbol table.
///
/// `@unchecked Sendable`: after construction it is only read, and the code it holds is immutable.
public final class LLVMJITCode: @unchecked Sendable {
    let shared: SharedJIT
    let tracker: LLVMOrcResourceTrackerRef
    /// The prefix this query's function names got.
    let prefix: String

    /// Compiles `module` (already lowered to the LLVM dialect); `symbols` are the external
    /// functions it calls (other symbols resolve against the process).
    public convenience init(module: MLIRModule, tier: JITTier, symbols: [(String, UnsafeMutableRawPointer)]) throws {
        try self.init(tier: tier, symbols: symbols) { llvmContext, _, _ in
            _ = module.context.sink.take()
            guard let llvmModule = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module.raw), llvmContext) else {
                throw MLIRError("LLVM IR translation failed: " + module.context.sink.take())
            }
            return llvmModule
        }
    }

    /// Compiles the LLVM IR module `build` makes in the given context, for the host's target
    /// triple and data layout (passed to `build`, to set on the module before building IR).
    /// Machine code is generated at the first `lookup`.
    public init(tier: JITTier, symbols: [(String, UnsafeMutableRawPointer)],
                build: (LLVMContextRef, _ triple: UnsafePointer<CChar>, _ layout: LLVMTargetDataRef) throws -> LLVMModuleRef) throws {
        let shared = try (tier == .fast ? SharedJIT.fast : SharedJIT.optimized).get()
        self.shared = shared
        try shared.define(symbols)
        let prefix = shared.nextPrefix()
        self.prefix = prefix
        let llvmContext = LLVMContextCreate()!
        LLVMDiagnostics.attach(toContext: llvmContext)
        _ = LLVMDiagnostics.takeErrors()
        let llvmModule: LLVMModuleRef
        do {
            llvmModule = try shared.triple.withCString { try build(llvmContext, $0, shared.layout) }
            if let errors = LLVMDiagnostics.takeErrors() { throw MLIRError("LLVM: " + errors) }
        } catch {
            LLVMContextDispose(llvmContext)
            throw error
        }
        shared.triple.withCString { LLVMSetTarget(llvmModule, $0) }
        LLVMSetModuleDataLayout(llvmModule, shared.layout)
        if let passes = shared.passes {
            if let error = LLVMRunPasses(llvmModule, passes.pipeline, passes.machine, passes.options) {
                LLVMDisposeModule(llvmModule)
                LLVMContextDispose(llvmContext)
                throw MLIRError("LLVM's optimisation passes failed: " + SharedJIT.consume(error))
            }
        }
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

    /// Loads object code compiled by an earlier `LLVMJITCode` (this process's or another's:
    /// a persistent code cache) whose functions carry `prefix`. The object's undefined symbols
    /// resolve against `symbols` and the process, as a compiled module's do.
    public init(object: [UInt8], prefix: String, tier: JITTier, symbols: [(String, UnsafeMutableRawPointer)]) throws {
        let shared = try (tier == .fast ? SharedJIT.fast : SharedJIT.optimized).get()
        self.shared = shared
        try shared.define(symbols)
        self.prefix = prefix
        tracker = LLVMOrcJITDylibCreateResourceTracker(shared.dylib)
        let buffer = object.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { LLVMCreateMemoryBufferWithMemoryRangeCopy($0.baseAddress, $0.count, "cached") }
        }
        // The JIT takes the buffer over.
        if let error = LLVMOrcLLJITAddObjectFileWithRT(shared.jit, tracker, buffer) {
            LLVMOrcReleaseResourceTracker(tracker)
            throw MLIRError("could not add cached object code to the JIT: " + SharedJIT.consume(error))
        }
    }

    /// Generates the module's machine code (if not yet) and returns its object file: what a
    /// persistent code cache keeps. Call before the first `lookup`.
    public func objectCode(firstFunction name: String) throws -> [UInt8]? {
        SharedJIT.capture.withLock { $0 = .capturing }
        defer { SharedJIT.capture.withLock { $0 = .off } }
        _ = try lookup(name)
        return SharedJIT.capture.withLock { state in
            if case .captured(let bytes) = state { return bytes }
            return nil
        }
    }

    /// The prefix this code's functions carry (a persistent code cache stores it with the object).
    public var functionPrefix: String { prefix }

    /// What object code depends on besides its IR: the target triple, CPU and features the JIT
    /// generates code for (`KILN_CPU=avx2` changes them) and LLVM's version.
    public static func targetDescription(_ tier: JITTier) throws -> String {
        let shared = try (tier == .fast ? SharedJIT.fast : SharedJIT.optimized).get()
        var major: UInt32 = 0, minor: UInt32 = 0, patch: UInt32 = 0
        LLVMGetVersion(&major, &minor, &patch)
        return "LLVM \(major).\(minor).\(patch) \(shared.triple) \(shared.cpu) \(shared.features)"
    }

    /// LLVM's version, the host CPU and its SIMD features as the JITs see them (`kiln --version`;
    /// `KILN_CPU=avx2` shows the AVX-512 features dropped, as code generation drops them).
    public static func hostDescription() -> String {
        var major: UInt32 = 0, minor: UInt32 = 0, patch: UInt32 = 0
        LLVMGetVersion(&major, &minor, &patch)
        let cpu = LLVMGetHostCPUName(), features = LLVMGetHostCPUFeatures()
        defer {
            LLVMDisposeMessage(cpu)
            LLVMDisposeMessage(features)
        }
        let forced = kiln_cpu_forced_avx2() != 0
        let simd = String(cString: features!).split(separator: ",")
            .filter { $0.hasPrefix("+") }
            .map { $0.dropFirst() }
            .filter { ["sse4.2", "avx", "avx2", "fma", "bmi2", "popcnt"].contains($0) || ($0.hasPrefix("avx512") && !forced) }
            .sorted()
        return "LLVM \(major).\(minor).\(patch), CPU \(String(cString: cpu!)) (\(simd.joined(separator: " ")))\(forced ? ", KILN_CPU=avx2" : "")"
    }

    deinit {
        // After an LLVM fatal error the JIT may be locked by the parked worker: leak the code.
        if LLVMDiagnostics.poisoned.load(ordering: .acquiring) { return }
        if let error = LLVMOrcResourceTrackerRemove(tracker) { LLVMDiagnostics.report("JIT: " + SharedJIT.consume(error)) }
        LLVMOrcReleaseResourceTracker(tracker)
    }

    /// The address of a compiled function; generates the module's machine code on the first lookup.
    public func lookup(_ name: String) throws -> UnsafeMutableRawPointer? {
        var address: LLVMOrcExecutorAddress = 0
        _ = LLVMDiagnostics.takeErrors()
        if let error = LLVMOrcLLJITLookup(shared.jit, &address, prefix + name) {
            throw MLIRError("JIT lookup of \(name) failed: " + SharedJIT.consume(error))
        }
        if let errors = LLVMDiagnostics.takeErrors() { throw MLIRError("LLVM code generation: " + errors) }
        return UnsafeMutableRawPointer(bitPattern: UInt(address))
    }

    /// Parses LLVM IR text into a module of `context` (tests inject modules through it).
    public static func parseIR(_ text: String, context: LLVMContextRef) throws -> LLVMModuleRef {
        var module: LLVMModuleRef?
        var message: UnsafeMutablePointer<CChar>?
        let buffer = text.withCString { LLVMCreateMemoryBufferWithMemoryRangeCopy($0, text.utf8.count, "injected") }
        // The parser takes the buffer over.
        guard LLVMParseIRInContext(context, buffer, &module, &message) == 0, let module else {
            defer { LLVMDisposeMessage(message) }
            throw MLIRError("LLVM IR does not parse: " + (message.map { String(cString: $0) } ?? ""))
        }
        return module
    }
}

/// One of the process's two LLVM ORC JITs (`fast`, `optimized`): made on first use, never torn
/// down (its code lives as long as the `LLVMJITCode`s that hold it).
///
/// `@unchecked Sendable`: ORC's session is thread-safe; the rest is immutable or guarded (the
/// optimised tier's pass objects are only used by the one thread that compiles).
final class SharedJIT: @unchecked Sendable {
    let jit: LLVMOrcLLJITRef
    let dylib: LLVMOrcJITDylibRef
    let triple: String
    let cpu: String
    let features: String
    let layout: LLVMTargetDataRef
    /// The IR pipeline the optimised tier runs before code generation (nil: none, the fast tier).
    let passes: (pipeline: String, machine: LLVMTargetMachineRef, options: LLVMPassBuilderOptionsRef)?
    private let state = Mutex<(defined: Set<String>, next: Int)>((defined: [], next: 0))

    static let fast: Result<SharedJIT, MLIRError> = Result { try SharedJIT(optimized: false) }.mapError { $0 as? MLIRError ?? MLIRError("\($0)") }
    static let optimized: Result<SharedJIT, MLIRError> = Result { try SharedJIT(optimized: true) }.mapError { $0 as? MLIRError ?? MLIRError("\($0)") }

    private init(optimized: Bool) throws(MLIRError) {
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
        let cpu = LLVMGetHostCPUName(), hostFeatures = LLVMGetHostCPUFeatures()
        defer {
            LLVMDisposeMessage(cpu)
            LLVMDisposeMessage(hostFeatures)
        }
        var features = String(cString: hostFeatures!)
        if kiln_cpu_forced_avx2() != 0 {
            // Tests: generate code as for a machine without AVX-512 (see `HostVector.lanes`).
            features = features.split(separator: ",").map { $0.hasPrefix("+avx512") ? "-" + $0.dropFirst() : String($0) }.joined(separator: ",")
        }
        self.cpu = String(cString: cpu!)
        self.features = features
        // The small code model: x86's FastISel gives up on every call and address under the
        // large model a JIT gets by default (the whole block then goes through SelectionDAG).
        // JITLink reaches the runtime's functions, wherever they are, through stubs it builds.
        let level = optimized ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelNone
        func machine() -> LLVMTargetMachineRef? {
            LLVMCreateTargetMachine(target, triple, cpu, features, level, LLVMRelocDefault, LLVMCodeModelSmall)
        }
        guard let codeGenerator = machine() else { throw MLIRError("could not create an LLVM target machine") }
        layout = LLVMCreateTargetDataLayout(codeGenerator)
        if optimized {
            // The IR passes see the same target (cost model, vector widths) as code generation.
            guard let passMachine = machine() else { throw MLIRError("could not create an LLVM target machine") }
            passes = ("default<O2>", passMachine, LLVMCreatePassBuilderOptions())
        } else {
            passes = nil
        }
        let builder = LLVMOrcCreateLLJITBuilder()
        // The JIT takes the target machine over.
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(codeGenerator))
        var jit: LLVMOrcLLJITRef?
        if let error = LLVMOrcCreateLLJIT(&jit, builder) {
            throw MLIRError("could not create the JIT: " + SharedJIT.consume(error))
        }
        guard let jit else { throw MLIRError("could not create the JIT") }
        self.jit = jit
        LLVMDiagnostics.attach(toSession: LLVMOrcLLJITGetExecutionSession(jit))
        LLVMOrcObjectTransformLayerSetTransform(LLVMOrcLLJITGetObjTransformLayer(jit), { _, object in
            // Keeps a copy of the object a compile produced when `objectCode` asked for it.
            SharedJIT.capture.withLock { state in
                guard case .capturing = state, let buffer = object?.pointee, let start = LLVMGetBufferStart(buffer) else { return }
                let bytes = UnsafeRawBufferPointer(start: start, count: LLVMGetBufferSize(buffer))
                state = .captured(Array(bytes))
            }
            return nil
        }, nil)
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

    /// A prefix no other query's functions have, in this process or in object code another
    /// process compiled (a persistent code cache): a random per-process part and a counter.
    func nextPrefix() -> String {
        state.withLock { state in
            state.next += 1
            return "q\(SharedJIT.processTag)_\(state.next)_"
        }
    }

    static let processTag = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    /// The object file of the compile that `LLVMJITCode.objectCode` runs (compiles happen on
    /// one thread at a time: the compile worker).
    enum Capture: Sendable {
        case off, capturing
        case captured([UInt8])
    }
    static let capture = Mutex<Capture>(.off)

    static func consume(_ error: LLVMErrorRef) -> String {
        let message = LLVMGetErrorMessage(error)
        defer { LLVMDisposeErrorMessage(message) }
        return message.map { String(cString: $0) } ?? "unknown LLVM error"
    }
}
