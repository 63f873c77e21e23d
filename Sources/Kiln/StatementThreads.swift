import CKilnSystem
import KilnStorage
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
        start(stackSize: stackSize, body)
    }

    /// Starts a joinable thread running `body` with a stack of `stackSize` bytes (nil: the
    /// system's default).
    static func start(stackSize: Int?, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
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

    /// Runs `body`, which starts threads through a library that takes no stack size (swift-nio's
    /// event loops), so that those threads get a statement thread's stack and can run
    /// statements in place. Threads other code starts meanwhile get it too (address space only).
    public static func withStatementStacks<R>(_ body: () throws -> R) rethrows -> R {
        var previous = 0
        guard kiln_set_default_thread_stack(stackSize, &previous) == 0 else { return try body() }
        defer { _ = kiln_set_default_thread_stack(previous, &previous) }
        return try body()
    }

    /// Runs `body` on a statement thread and waits for it (on the calling thread when the
    /// system refuses a thread). The shell runs its whole session this way.
    public static func run(_ body: @escaping @Sendable () -> Void) {
        guard let thread = start(body) else { return body() }
        pthread_join(thread, nil)
    }
}

/// A `Database`'s own statement thread, for callers whose stack is small (an application's
/// main thread, a dispatch queue): public entry points that parse, bind or plan hop onto it
/// (`Database.onStatementStack`) and wait. Threads that are statement threads already (the
/// shell's, the server's) run statements in place. Started on first need, joined at close.
///
/// `@unchecked Sendable`: the job slot and flags are guarded by `monitor`; a job's closure runs
/// on the runner thread while its caller waits for it.
final class StatementRunner: @unchecked Sendable {
    private let monitor = Monitor()
    private var job: (() -> Void)?
    private var finished = false
    private var stopping = false
    private var thread: pthread_t?

    /// Runs `body` on the runner thread and waits for it; in place when no thread can be started.
    func run<R>(_ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        var result: Result<R, DatabaseError>?
        let ran: Bool = withoutActuallyEscaping(body) { body in
            let work = {
                do throws(DatabaseError) { result = .success(try body()) } catch { result = .failure(error) }
            }
            return monitor.withLock { () -> Bool in
                if stopping { return false }  // closed: the caller runs in place
                if thread == nil { thread = StatementThreads.start { [self] in serve() } }
                guard thread != nil else { return false }
                job = work
                finished = false
                monitor.broadcast()
                while !finished { monitor.wait() }
                return true
            }
        }
        if !ran { return try body() }
        return try result!.get()
    }

    private func serve() {
        while true {
            var work: (() -> Void)? = monitor.withLock {
                while job == nil && !stopping { monitor.wait() }
                defer { job = nil }
                return job
            }
            guard work != nil else { return }
            work?()
            // The caller's closure must not outlive its call (`withoutActuallyEscaping`).
            work = nil
            monitor.withLock {
                finished = true
                monitor.broadcast()
            }
        }
    }

    /// Ends the runner thread (after the job in hand, if any).
    func stop() {
        let running: pthread_t? = monitor.withLock {
            stopping = true
            monitor.broadcast()
            defer { thread = nil }
            return thread
        }
        if let running { pthread_join(running, nil) }
    }
}

extension Database {
    /// Stack a statement may need beyond what the parser's and binder's checks leave (debug
    /// builds spend kilobytes per expression level in each recursive pass).
    static let statementStack = 64 << 20

    /// Runs `body` where a deep statement cannot overflow the stack: in place on a thread with
    /// room (a statement thread), else on this session's `StatementRunner`.
    func onStatementStack<R>(_ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        if isClosed { throw DatabaseError(SQLState("08003"), "the database session is closed") }
        // The catalog shows this session the tables its own uncommitted block created.
        let visibility = transaction?.id ?? 0
        if StackGuard.remaining >= Database.statementStack { return try Database.withVisibility(visibility, body) }
        return try runner.run { () throws(DatabaseError) -> R in try Database.withVisibility(visibility, body) }
    }

    static func withVisibility<R>(_ transaction: UInt64, _ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        let outer = CatalogVisibility.transaction
        CatalogVisibility.transaction = transaction
        defer { CatalogVisibility.transaction = outer }
        return try body()
    }
}
