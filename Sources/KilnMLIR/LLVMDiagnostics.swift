import CMLIR
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where LLVM's own complaints go instead of the user's terminal or `exit`.
///
/// LLVM has three ways to report trouble, and each one, left alone, can end the process or
/// write to its standard error:
/// - `report_fatal_error` (instruction selection that fails, a broken invariant): it calls the
///   installed fatal-error handler and, should the handler return, `exit(1)` or `abort()`;
/// - an `LLVMContext`'s diagnostics: without a handler, errors are printed and end the process;
/// - ORC's execution session: errors it cannot hand back are printed to standard error.
///
/// `install(fatal:report:)` routes all three into Kiln (once per process); the contexts the JIT
/// makes get `attach(toContext:)`. Context errors are collected and turned into a failed compile
/// (`takeErrors`), never a process exit.
public enum LLVMDiagnostics {
    /// Called on a fatal LLVM error; it must not return (LLVM would end the process).
    public typealias FatalHandler = @Sendable (String) -> Never
    /// Receives ORC's and the contexts' messages (warnings, remarks, errors), for the log.
    public typealias Reporter = @Sendable (String) -> Void

    private static let handlers = Mutex<(fatal: FatalHandler?, report: Reporter?)>((nil, nil))
    /// Errors LLVM contexts reported since the last `takeErrors` (one compile at a time).
    private static let errors = Mutex<[String]>([])

    /// Set at a fatal error: JIT code is then leaked rather than removed from its JIT.
    public static let poisoned = Atomic<Bool>(false)

    /// Installs the process's fatal-error handler and the reporter for other messages.
    public static func install(fatal: @escaping FatalHandler, report: @escaping Reporter) {
        handlers.withLock { $0 = (fatal, report) }
        LLVMInstallFatalErrorHandler { reason in
            // From here on no thread calls into LLVM's JITs (the failed thread may hold their locks).
            LLVMDiagnostics.poisoned.store(true, ordering: .releasing)
            let message = reason.map { String(cString: $0) } ?? "unknown LLVM fatal error"
            if let fatal = LLVMDiagnostics.handlers.withLock({ $0.fatal }) { fatal(message) }
            // No handler: say so once and stop here rather than let LLVM call `exit` from
            // whatever thread this is (static destructors would run under other threads).
            LLVMDiagnostics.writeStandardError("kiln: LLVM fatal error: \(message)\n")
            abort()
        }
    }

    /// Sends a message to the installed reporter (dropped when none is installed).
    static func report(_ message: String) {
        handlers.withLock { $0.report }?(message)
    }

    /// Routes an LLVM context's diagnostics here: errors are kept for `takeErrors`, the rest
    /// reported. Never printed by LLVM, never an exit.
    static func attach(toContext context: LLVMContextRef) {
        LLVMContextSetDiagnosticHandler(context, { info, _ in
            guard let info else { return }
            let description = LLVMGetDiagInfoDescription(info)
            defer { LLVMDisposeMessage(description) }
            let text = description.map { String(cString: $0) } ?? "unknown LLVM diagnostic"
            if LLVMGetDiagInfoSeverity(info) == LLVMDSError {
                LLVMDiagnostics.errors.withLock { $0.append(text) }
            } else {
                LLVMDiagnostics.report(text)
            }
        }, nil)
    }

    /// Errors the contexts reported since the last call, joined (nil when there were none).
    static func takeErrors() -> String? {
        errors.withLock { errors in
            defer { errors.removeAll() }
            return errors.isEmpty ? nil : errors.joined(separator: "\n")
        }
    }

    /// Routes an ORC session's unhandled errors to the reporter.
    static func attach(toSession session: LLVMOrcExecutionSessionRef) {
        LLVMOrcExecutionSessionSetErrorReporter(session, { _, error in
            guard let error else { return }
            LLVMDiagnostics.report("JIT: " + SharedJIT.consume(error))
        }, nil)
    }

    static func writeStandardError(_ text: String) {
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
