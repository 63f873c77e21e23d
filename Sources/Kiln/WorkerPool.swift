import KilnCore
import KilnRuntime
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The threads that help run parallel pipelines (morsel-driven execution, Leis et al. 2014).
///
/// A query's own thread always runs its pipelines; for a pipeline that can run in parallel it
/// asks the pool for helpers, which join the pipeline only while it still has morsels. So a
/// pipeline never waits for a helper to start: when every pool thread is busy with other
/// sessions' queries, the query's thread does the work alone, and a long query does not keep
/// a short one from running. Helpers take morsels as they go (`MorselDispatcher`): none is
/// assigned in advance, so a worker on a busy core simply takes fewer.
///
/// One pool serves the process (`shared`); a `Database` can be given its own.
public final class WorkerPool: @unchecked Sendable {
    // `@unchecked Sendable`: `jobs` and the thread count are only touched under `monitor`.
    /// The process's pool.
    public static let shared = WorkerPool()
    /// Cores this process may run on (the default of `SET threads`).
    public static let cores: Int = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    /// Helper threads a pool starts at most (`SET threads` above it is capped).
    public static let maxThreads = 256

    private let monitor = Monitor()
    private var jobs: [@Sendable () -> Void] = []
    private var threads = 0
    private var idle = 0
    private let threadsPerQuery: Atomic<Int>

    /// - Parameter defaultThreads: the `threads` setting sessions on this pool start with
    ///   (workers per query, the query's own thread included; default: one per core).
    public init(defaultThreads: Int = WorkerPool.cores) {
        threadsPerQuery = Atomic(max(1, min(defaultThreads, WorkerPool.maxThreads)))
    }

    /// The `threads` setting new sessions start with (`kiln --threads`, `kiln serve --threads`).
    public var defaultThreads: Int {
        get { threadsPerQuery.load(ordering: .relaxed) }
        set { threadsPerQuery.store(max(1, min(newValue, WorkerPool.maxThreads)), ordering: .relaxed) }
    }

    /// Runs `job` on `copies` pool threads (each once), starting threads as needed; returns
    /// at once. A job must check that its pipeline still wants it (see `ParallelRun.join`).
    func submit(copies: Int, _ job: @escaping @Sendable () -> Void) {
        guard copies > 0 else { return }
        var start = 0
        monitor.withLock {
            for _ in 0..<copies { jobs.append(job) }
            start = min(max(0, jobs.count - idle), WorkerPool.maxThreads - threads)
            threads += start
            monitor.broadcast()
        }
        for _ in 0..<start {
            if !WorkerThread.start({ [self] in serve() }) {
                monitor.withLock { threads -= 1 }
            }
        }
    }

    private func serve() {
        while true {
            let job: @Sendable () -> Void = monitor.withLock {
                while jobs.isEmpty {
                    idle += 1
                    monitor.wait()
                    idle -= 1
                }
                return jobs.removeFirst()
            }
            job()
        }
    }
}

/// One pipeline's run on several workers: helpers join while it is open, the query's thread
/// closes it once the morsels are gone and waits for the helpers that joined.
final class ParallelRun: @unchecked Sendable {
    // `@unchecked Sendable`: every field is touched under `monitor`.
    private let monitor = Monitor()
    private var closed = false
    private var running = 0
    /// The helpers' runtimes, once they are done (their states are merged, their strings kept).
    private(set) var finished: [QueryRuntime] = []
    /// Per helper: morsels and time per program (EXPLAIN ANALYZE).
    private(set) var profiles: [PipelineProfile] = []

    /// A helper asks to work on the pipeline; false once it is closed (the helper leaves).
    func join() -> Bool {
        monitor.withLock {
            if closed { return false }
            running += 1
            return true
        }
    }

    /// A helper is done.
    func leave(_ runtime: QueryRuntime, profile: PipelineProfile) {
        monitor.withLock {
            finished.append(runtime)
            profiles.append(profile)
            running -= 1
            monitor.broadcast()
        }
    }

    /// A helper that kept nothing is done.
    func leave() {
        monitor.withLock {
            running -= 1
            monitor.broadcast()
        }
    }

    /// No helper joins any more; waits for those that did.
    func closeAndWait() {
        monitor.withLock {
            closed = true
            while running > 0 { monitor.wait() }
        }
    }
}
