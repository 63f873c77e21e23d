#if canImport(Glibc)
import Glibc
#endif

/// Threads with a stack large enough for the deepest statement Kiln accepts.
///
/// Parsing, binding, planning and lowering recurse once per level of an expression; the parser
/// bounds the levels (`Parser.maxExpressionHeight`, and `StackGuard` gives 54001 when a thread's
/// stack runs low), but a debug build spends several kilobytes of stack per level and per pass,
/// more than a default 8 MiB stack holds at the limit. The shell and the server run statements
/// on these threads; the stack is reserved address space, and only the pages a deep statement
/// touches are ever backed by memory.
public enum StatementThreads {
    /// Bytes of stack per statement thread.
    public static let stackSize = 512 << 20

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts a joinable thread running `body` with a `stackSize` stack.
    /// - Returns: the thread, or nil when the system refused one.
    public static func start(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
        return thread
    }

    /// Runs `body` on a statement thread and waits for it (on the calling thread when the
    /// system refuses a thread). The shell runs its whole session this way.
    public static func run(_ body: @escaping @Sendable () -> Void) {
        guard let thread = start(body) else { return body() }
        pthread_join(thread, nil)
    }
}
