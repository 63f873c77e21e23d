import Kiln
import KilnWire

/// Messages served on the connection's event loop, where they arrived (`ConnectionHandler`):
/// the extended protocol's bookkeeping (Bind, Describe, Close, Sync) and statements that run
/// briefly (`Database.runsBriefly`: a point lookup by key, a single-row write, BEGIN, COMMIT).
/// A statement thread would cost two thread wake-ups per message, more than such a statement.
extension Session {
    /// Longest Parse text handled on the event loop (parsing and binding it is brief).
    static let briefParseBytes = 4_096

    /// Handles `message` at once, on the calling thread, when that is brief and cannot wait.
    /// - Returns: false, having done nothing, when the message needs a statement thread.
    func receiveBriefly(_ message: FrontendMessage) -> Bool {
        guard let database else { return false }
        switch state {
        case .ready:
            break
        case .discardingUntilSync:
            // Skipped up to Sync.
            receive(message)
            return true
        default:
            // Start-up (SCRAM's key derivation is not brief) and COPY data.
            return false
        }
        switch message {
        case .bind, .describe, .close, .sync, .flush, .terminate:
            receive(message)
            return true
        case .parse(_, let query, _) where query.utf8.count <= Session.briefParseBytes:
            receive(message)
            return true
        case .query(let sql):
            guard let statement = database.briefStatement(sql) else { return false }
            server.logger.debug("statement: \(sql)", metadata: ["pid": "\(processID)"])
            return withoutWaiting(database) { runSimple([statement][...]) }
        case .execute(let name, let maxRows):
            guard maxRows == 0, let portal = portals[name], portal.result == nil, let statement = portal.statement,
                  database.runsBriefly(statement) else { return false }
            return withoutWaiting(database) { execute(portal: name, maxRows: 0) }
        default:
            return false
        }
    }

    /// Runs `body` with the database refusing to wait; false when it would have waited.
    private func withoutWaiting(_ database: Database, _ body: () -> Void) -> Bool {
        deferred = false
        database.mustNotWait = true
        defer { database.mustNotWait = false }
        body()
        return !deferred
    }
}
