import Dispatch
import KilnCore
import KilnJIT
import KilnMLIR
import KilnCompiler

extension Database {
    /// Ends this session: its cursors and prepared statements go. When it was the last open
    /// `Database` of the process, Kiln's compile worker stops too (the compile in flight is
    /// waited for, queued ones are dropped; the next `Database` starts a new worker), so that
    /// an application may end its process right after. Closing twice does nothing; a closed
    /// session must not run statements any more.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        rollbackOnClose()
        cursors.removeAll()
        preparedStatements.removeAll()
        runner.stop()
        executor.service.sessionClosed()
        if let store, store.detach() {
            // The last session over a database directory: checkpoint and release it. A failed
            // checkpoint loses nothing (the WAL keeps the commits; the next open replays them).
            try? statementLock.withWriteLock { () throws(DatabaseError) in try store.close() }
        }
    }

    /// Checkpoints and releases the database directory now, whatever sessions are still open
    /// over it (a server's shutdown: its connections' sessions may outlive the listener). Later
    /// writes through any of them fail; the next process opens the directory from the
    /// checkpoint. Does nothing for an in-memory database.
    public func closeDirectory() throws(DatabaseError) {
        guard let store else { return }
        try statementLock.withWriteLock { () throws(DatabaseError) in try store.close() }
    }

    /// Stops Kiln's background compilation for the rest of the process: queued compiles are
    /// dropped, the one in flight is waited for (up to `timeout`), and no compile starts again
    /// (queries still run, in the interpreter). Call it before the process exits: LLVM
    /// registers the destructors of its static tables with `atexit` when it first uses them,
    /// so `exit` while a compile runs on another thread can free them under it.
    /// - Returns: whether no thread is inside LLVM any more. When false (the timeout passed, or
    ///   an LLVM fatal error parked the compile worker), end the process with `_exit` after
    ///   flushing output, which runs no destructor.
    @discardableResult
    public static func shutdownCompilation(timeout: Duration = .seconds(10)) -> Bool {
        guard case .success(let service) = CompilationService.shared else { return true }
        return service.shutdown(final: true, timeout: timeout)
    }

    /// Whether queries can get native code in this process (false after
    /// `shutdownCompilation`, or after an LLVM fatal error turned native compilation off).
    public static var nativeCompilationAvailable: Bool {
        guard case .success(let service) = CompilationService.shared else { return false }
        return service.isAvailable
    }
}

extension Database {
    /// Runs one statement under `statement_timeout` (0: none): when it passes, the statement
    /// is cancelled as a client's cancel would (57014, "canceling statement due to statement
    /// timeout"). `execute(_ sql:)` applies it per statement, as PostgreSQL does for each
    /// statement of a simple query; the server times its protocol messages itself.
    func withStatementTimeout<R>(_ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        let timeout = statementTimeoutMilliseconds
        guard timeout > 0 else { return try body() }
        let cancellation = self.cancellation
        let timer = DispatchWorkItem { cancellation.cancel(.statementTimeout) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(timeout), execute: timer)
        defer { timer.cancel() }
        return try body()
    }
}

extension Database {
    /// The compiler stack and the machine: MLIR/LLVM version, the host CPU and the SIMD
    /// features the compiled kernels use (`kiln --version`).
    public static var platformDescription: String {
        "MLIR/" + LLVMJITCode.hostDescription() + ", \(HostVector.lanes)-lane SIMD kernels"
    }

    /// Test hook: the next native compile in this process fails on purpose, as an ordinary
    /// compile error (`"invalid-module"`: a module that does not parse) or as an LLVM fatal
    /// error (`"llvm-fatal"`: instruction selection of another target's intrinsic). Either way
    /// the query must give its answer from the code it has, and the process must live on.
    /// - Returns: false for an unknown name.
    @discardableResult
    public static func injectCompileFault(_ name: String) -> Bool {
        switch name {
        case "invalid-module": NativeCompiler.injectFault(.invalidModule)
        case "llvm-fatal": NativeCompiler.injectFault(.llvmFatalError)
        default: return false
        }
        return true
    }
}
