import Synchronization

/// Runs one connection's work in order, on the server's shared worker pool. A turn runs every
/// job that had arrived when it started (an extended-protocol request, Parse/Bind/Execute/Sync,
/// arrives at once and is served in one turn); then the connection goes to the back of the
/// pool's FIFO, so that no client starves another, whatever its protocol or query cost.
final class ConnectionQueue: Sendable {
    private let pool: StatementPool
    private let state = Mutex<(jobs: [@Sendable () -> Void], running: Bool)>(([], false))

    init(pool: StatementPool) {
        self.pool = pool
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        let start = state.withLock { state -> Bool in
            state.jobs.append(job)
            if state.running { return false }
            state.running = true
            return true
        }
        if start { pool.submit { self.runNext() } }
    }

    private func runNext() {
        let jobs = state.withLock { state in
            defer { state.jobs.removeAll(keepingCapacity: true) }
            return state.jobs
        }
        for job in jobs { job() }
        let more = state.withLock { state -> Bool in
            if state.jobs.isEmpty {
                state.running = false
                return false
            }
            return true
        }
        if more { pool.submit { self.runNext() } }
    }
}
