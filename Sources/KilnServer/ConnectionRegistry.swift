import Kiln
import Synchronization

/// The server's live sessions by process ID, so that a cancel request arriving on a new
/// connection can find the session it names, and the connection limit can be enforced.
final class ConnectionRegistry: Sendable {
    struct Entry: Sendable {
        var secretKey: Int32
        var cancellation: QueryCancellation
    }

    private let state = Mutex<(nextID: Int32, entries: [Int32: Entry])>((1000, [:]))

    var count: Int { state.withLock { $0.entries.count } }

    /// Registers a session; nil when `limit` sessions are already registered.
    func register(_ cancellation: QueryCancellation, limit: Int) -> (processID: Int32, secretKey: Int32)? {
        state.withLock { state in
            guard state.entries.count < limit else { return nil }
            state.nextID = state.nextID == Int32.max ? 1000 : state.nextID + 1
            let key = Int32.random(in: Int32.min...Int32.max)
            state.entries[state.nextID] = Entry(secretKey: key, cancellation: cancellation)
            return (state.nextID, key)
        }
    }

    func unregister(_ processID: Int32) {
        _ = state.withLock { $0.entries.removeValue(forKey: processID) }
    }

    /// Cancels what the session runs when the key matches (a wrong key is ignored silently, as in PostgreSQL).
    func cancel(processID: Int32, secretKey: Int32) {
        let entry = state.withLock { $0.entries[processID] }
        guard let entry, entry.secretKey == secretKey else { return }
        entry.cancellation.cancel(.userRequest)
    }
}
