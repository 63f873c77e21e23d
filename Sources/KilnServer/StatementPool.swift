import Kiln
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
    }
    private let state = Mutex(State())
    /// Counts queued jobs (and, at shutdown, wake-ups for each thread).
    private let available: UnsafeMutablePointer<sem_t>
    private let threads: Mutex<[pthread_t]>

    init(threads count: Int) {
        available = .allocate(capacity: 1)
        sem_init(available, 0, 0)
        threads = Mutex([])
        var started: [pthread_t] = []
        for _ in 0..<max(1, count) {
            if let thread = StatementThreads.start({ [self] in serve() }) { started.append(thread) }
        }
        threads.withLock { $0 = started }
    }

    deinit {
        sem_destroy(available)
        available.deallocate()
    }

    /// Queues a job; runs it on the calling thread when no statement thread could be started.
    func submit(_ job: @escaping @Sendable () -> Void) {
        if threads.withLock({ $0.isEmpty }) { return job() }
        state.withLock { $0.jobs.append(job) }
        sem_post(available)
    }

    private func serve() {
        while true {
            while sem_wait(available) != 0 {}  // EINTR
            let job: (@Sendable () -> Void)? = state.withLock { state in
                if state.jobs.isEmpty { return nil }
                return state.jobs.removeFirst()
            }
            guard let job else {
                if state.withLock({ $0.stopping }) { return }
                continue
            }
            job()
        }
    }

    /// Runs the jobs already queued, then stops and joins every thread.
    func shutdown() {
        let running = threads.withLock { threads in
            defer { threads.removeAll() }
            return threads
        }
        state.withLock { $0.stopping = true }
        for _ in running { sem_post(available) }
        for thread in running { pthread_join(thread, nil) }
    }
}
