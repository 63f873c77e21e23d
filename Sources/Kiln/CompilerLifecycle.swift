/// The life of the compile worker, as a state machine the service drives under its lock (and
/// tests drive without threads).
///
/// ```
///            request                 shutdown(final: false), worker gone
///   idle ─────────────► running ──► stopping ─────────────────────────► idle
///     ▲                    │   │                  shutdown(final: true)
///     │                    │   └──────────────► stopping(final) ──────► closed
///     │                    │ LLVM fatal error
///     │                    └────────────────► failed (native code off for the process)
/// ```
///
/// `closed` and `failed` are final: requests are refused and queries stay in the code they
/// have (the interpreter). A process that ends calls the final shutdown first, so no LLVM
/// static destructor can run while the worker is inside LLVM.
struct CompilerLifecycle: Equatable {
    enum State: Equatable {
        /// No worker thread (none started yet, or the last `Database` closed).
        case idle
        /// The worker takes jobs.
        case running
        /// A shutdown was asked; the worker finishes the job in hand and exits.
        case stopping(final: Bool)
        /// Shut down for the rest of the process.
        case closed
        /// An LLVM fatal error stopped the worker for good (its thread is parked).
        case failed(String)
    }

    private(set) var state = State.idle
    /// Whether the worker thread exists (false again once it left its loop).
    private(set) var workerAlive = false
    /// Whether the worker is inside the compiler right now.
    private(set) var busy = false

    /// What the service does about a new job or call.
    enum Admission: Equatable {
        /// Queue it; the worker runs.
        case queue
        /// Queue it and start the worker thread.
        case queueAndStart
        /// Refuse it: the compiler is shutting down, shut, or broken (the reason).
        case refuse(String)
    }

    mutating func admit() -> Admission {
        switch state {
        case .idle:
            state = .running
            workerAlive = true
            return .queueAndStart
        case .running: return .queue
        case .stopping, .closed: return .refuse("the compiler is shut down")
        case .failed(let reason): return .refuse("native compilation is off after an LLVM fatal error: \(reason)")
        }
    }

    /// The worker thread could not be started: the requester compiles in its own thread.
    mutating func workerRefused() {
        workerAlive = false
        if state == .running { state = .idle }
    }

    /// The worker asks whether to take another job.
    var acceptsWork: Bool { state == .running }

    mutating func beginJob() { busy = true }
    mutating func endJob() { busy = false }

    /// The worker left its loop.
    mutating func workerExited() {
        workerAlive = false
        busy = false
        switch state {
        case .stopping(let final): state = final ? .closed : .idle
        case .running: state = .idle
        default: break
        }
    }

    /// A shutdown: drop queued work (the caller does), let the worker finish and exit.
    /// - Returns: whether the caller must wait for the worker thread to leave.
    mutating func shutdown(final: Bool) -> Bool {
        switch state {
        case .idle: state = final ? .closed : .idle; return false
        case .running: state = .stopping(final: final)
        case .stopping(let wasFinal): state = .stopping(final: wasFinal || final)
        case .closed, .failed: return false
        }
        if !workerAlive { workerExited() }
        return workerAlive
    }

    /// Whether no thread can be inside LLVM (the worker is gone or was never there).
    var quiescent: Bool {
        switch state {
        case .failed: return false
        default: return !workerAlive
        }
    }

    /// An LLVM fatal error on the worker: it parks for good, native compilation ends.
    mutating func fatalError(_ reason: String) {
        state = .failed(reason)
        busy = false
    }
}
