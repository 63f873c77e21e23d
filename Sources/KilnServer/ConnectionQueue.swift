import NIOPosix
import Synchronization

/// Runs one connection's work in order, on the server's shared worker pool, one job at a
/// time. After each job the connection goes to the back of the pool's FIFO: a client that
/// sends many cheap queries cannot starve one whose queries are slow.
final class ConnectionQueue: Sendable {
    private let pool: NIOThreadPool
    private let state = Mutex<(jobs: [@Sendable () -> Void], running: Bool)>(([], false))

    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        let start = state.withLock { state -> Bool in
            state.jobs.append(job)
            if state.running { return false }
            state.running = true
            return true
        }
        if start { pool.submit { _ in self.runNext() } }
    }

    private func runNext() {
        let job = state.withLock { $0.jobs.removeFirst() }
        job()
        let more = state.withLock { state -> Bool in
            if state.jobs.isEmpty {
                state.running = false
                return false
            }
            return true
        }
        if more { pool.submit { _ in self.runNext() } }
    }
}
