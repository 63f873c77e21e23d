#if canImport(Glibc)
import Glibc
#endif

/// A detached thread running a closure (the compile worker), with a statement thread's stack:
/// MLIR's parser, verifier and printer and LLVM recurse over nested regions, one level per
/// nested CASE of the query.
enum WorkerThread {
    /// - Returns: false when the system refused a thread.
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        guard let thread = StatementThreads.start(body) else { return false }
        pthread_detach(thread)
        return true
    }
}
