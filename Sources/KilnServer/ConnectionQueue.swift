import KilnCore
import Synchronization

/// Runs one connection's work in order, on the server's shared worker pool. A turn runs every
/// job that had arrived when it started (an extended-protocol request, Parse/Bind/Execute/Sync,
/// arrives at once and is served in one turn); then the connection goes to the back of the
/// pool's FIFO, so that no client starves another, whatever its protocol or query cost.
///
/// A job may park the queue (`park`): the jobs after it wait, without holding a pool thread,
/// until `resume` (a commit's answer waits for its WAL sync this way).
/// `@unchecked Sendable`: `state` is only touched under `monitor`.
final class ConnectionQueue: @unchecked Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var running = false
        /// Set by a job that parks the queue: what starts the wait that ends in `resume`.
        var park: (@Sendable () -> Void)?
    }
    private let pool: StatementPool
    // A pthread mutex (`Monitor`), not `Mutex`: ThreadSanitizer sees this one.
    private let monitor = Monitor()
    private var state = State()
    private func withState<R>(_ body: (inout State) -> R) -> R { monitor.withLock { body(&state) } }

    init(pool: StatementPool) {
        self.pool = pool
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        let start = withState { state -> Bool in
            state.jobs.append(job)
            if state.running { return false }
            state.running = true
            return true
        }
        if start { pool.submit { self.runNext() } }
    }

    /// Runs `body` on the calling thread as the queue's next job, when the queue is idle (no
    /// job queued or running, not parked); returns false, without running it, otherwise. Jobs
    /// `body` enqueues, and a park it asks for, follow as after any job.
    func runInPlace(_ body: () -> Void) -> Bool {
        let claimed = withState { state -> Bool in
            if state.running { return false }
            state.running = true
            return true
        }
        guard claimed else { return false }
        body()
        if let wait = takePark(requeueing: []) { wait() } else { continueOrIdle() }
        return true
    }

    /// Whether the pool has no other work than the caller's (`StatementPool.isQuiet`).
    var poolIsQuiet: Bool { pool.isQuiet }

    /// Called by the running job: the jobs after it wait for `resume`, which `wait` (called
    /// once the job has returned and the queue has set its jobs aside) leads to, on any thread.
    func park(_ wait: @escaping @Sendable () -> Void) { withState { $0.park = wait } }

    /// Ends a park: `first` runs (when given), then the jobs that waited.
    func resume(first: (@Sendable () -> Void)? = nil) {
        if let first { withState { $0.jobs.insert(first, at: 0) } }
        continueOrIdle()
    }

    /// After a turn: the queue goes idle when nothing is queued, else its next turn starts.
    private func continueOrIdle() {
        let more = withState { state -> Bool in
            if state.jobs.isEmpty {
                state.running = false
                return false
            }
            return true
        }
        if more { pool.submit { self.runNext() } }
    }

    /// The wait a job just asked for (`park`), with `rest` put back in front of the queue;
    /// nil when the job did not park.
    private func takePark(requeueing rest: ArraySlice<@Sendable () -> Void>) -> (@Sendable () -> Void)? {
        withState { state -> (@Sendable () -> Void)? in
            guard let wait = state.park else { return nil }
            state.park = nil
            state.jobs.insert(contentsOf: rest, at: 0)
            return wait
        }
    }

    private func runNext() {
        var jobs = withState { state in
            defer { state.jobs.removeAll(keepingCapacity: true) }
            return state.jobs
        }[...]
        while let job = jobs.popFirst() {
            job()
            if let wait = takePark(requeueing: jobs) {
                // The queue stays `running` until `resume`'s turn; nothing here runs after this.
                return wait()
            }
        }
        continueOrIdle()
    }
}
