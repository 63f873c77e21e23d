import Kiln
import KilnCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The server's statement threads: a FIFO of jobs served by a fixed set of threads with large
/// stacks (`StatementThreads`), so that a deeply nested statement gets 54001 from the parser
/// instead of overflowing a small worker stack and ending every session.
///
/// `@unchecked Sendable`: the semaphore is made for use across threads; the rest is in mutexes.
final class StatementPool: @unchecked Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var stopping = false
        /// Threads serving jobs, and how many of them wait for another session's transaction.
        var alive = 0
        var blocked = 0
    }
    /// Jobs queued, and threads running one (`isQuiet`), kept outside the lock.
    private let queued = Atomic<Int>(0)
    /// False when no statement thread could be started, and after `shutdown`.
    private let serving = Atomic<Bool>(false)
    private let busy = Atomic<Int>(0)
    /// Threads the pool keeps serving jobs while others are blocked.
    private let base: Int
    // A pthread mutex (`Monitor`), not `Mutex`: ThreadSanitizer sees this one.
    private let monitor = Monitor()
    private var state = State()
    private func withState<R>(_ body: (inout State) -> R) -> R { monitor.withLock { body(&state) } }
    /// Counts queued jobs (and, at shutdown, wake-ups for each thread).
    private let available: UnsafeMutablePointer<sem_t>
    private let threads: Mutex<[pthread_t]>

    init(threads count: Int) {
        available = .allocate(capacity: 1)
        sem_init(available, 0, 0)
        threads = Mutex([])
        base = max(1, count)
        var started: [pthread_t] = []
        for _ in 0..<base {
            if let thread = StatementThreads.start({ [self] in serve() }) { started.append(thread) }
        }
        withState { $0.alive = started.count }
        threads.withLock { $0 = started }
        serving.store(!started.isEmpty, ordering: .relaxed)
    }

    /// A job's thread is about to wait for another session's transaction (a write conflict):
    /// while it waits, another thread serves the queue, so that the session it waits for can
    /// run its COMMIT or ROLLBACK even when every thread is waiting.
    func willBlock() {
        let start = withState { state -> Bool in
            state.blocked += 1
            guard !state.stopping, state.alive - state.blocked < base else { return false }
            state.alive += 1
            return true
        }
        guard start else { return }
        if let thread = StatementThreads.start({ [self] in serve() }) {
            threads.withLock { $0.append(thread) }
        } else {
            withState { $0.alive -= 1 }
        }
    }

    func didUnblock() { withState { $0.blocked -= 1 } }

    /// Whether the calling job is the only work the pool has (nothing queued, no other job running).
    var isQuiet: Bool { queued.load(ordering: .relaxed) == 0 && busy.load(ordering: .relaxed) <= 1 }

    deinit {
        sem_destroy(available)
        available.deallocate()
    }

    /// Queues a job; runs it on the calling thread when no statement thread could be started.
    func submit(_ job: @escaping @Sendable () -> Void) {
        if !serving.load(ordering: .relaxed) { return job() }
        queued.add(1, ordering: .relaxed)
        withState { $0.jobs.append(job) }
        sem_post(available)
    }

    /// How long a thread started while others were blocked stays without work before it leaves
    /// (a busy server's waits would otherwise start and end a thread each).
    private static let surplusIdleSeconds = 2

    private func serve() {
        while true {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_sec += StatementPool.surplusIdleSeconds
            if sem_timedwait(available, &deadline) != 0 {
                guard errno == ETIMEDOUT else { continue }  // EINTR
                // Idle: a thread started while others were blocked leaves once they are back.
                // (it leaves the list under the state's lock: `shutdown`, which sets `stopping`
                // first, then joins only threads still listed)
                let me = pthread_self()
                let surplus = withState { state -> Bool in
                    guard !state.stopping, state.alive - state.blocked > base else { return false }
                    state.alive -= 1
                    threads.withLock { $0.removeAll { pthread_equal($0, me) != 0 } }
                    return true
                }
                if surplus {
                    pthread_detach(me)
                    return
                }
                continue
            }
            let job: (@Sendable () -> Void)? = withState { state in
                if state.jobs.isEmpty { return nil }
                return state.jobs.removeFirst()
            }
            guard let job else {
                if withState({ $0.stopping }) { return }
                continue
            }
            busy.add(1, ordering: .relaxed)
            queued.subtract(1, ordering: .relaxed)
            job()
            busy.subtract(1, ordering: .relaxed)
        }
    }

    /// Runs the jobs already queued, then stops and joins every thread.
    func shutdown() {
        withState { $0.stopping = true }
        let running = threads.withLock { threads in
            defer { threads.removeAll() }
            return threads
        }
        serving.store(false, ordering: .relaxed)
        for _ in running { sem_post(available) }
        for thread in running { pthread_join(thread, nil) }
    }
}
