import Kiln
import KilnAuth
import KilnWire
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// One client connection's protocol state machine: start-up, authentication, the simple and
/// extended query protocols, COPY, and transaction status.
///
/// `receive` takes one decoded message, runs what it asks for (synchronously, on the calling
/// thread) and appends the answer to `output`; the channel handler sends that. Tests drive it
/// without sockets.
final class Session {
    enum State {
        /// Waiting for the StartupMessage (SSL/GSS requests come first).
        case startup
        /// SCRAM-SHA-256 in progress for `user`.
        case authenticating(SCRAMServerExchange, user: String, parameters: [FrontendMessage.StartupParameter])
        case ready
        /// After an error in the extended protocol: every message up to Sync is ignored.
        case discardingUntilSync
        /// Receiving COPY data; `rest` are the simple query's statements after the COPY.
        case copyIn(CopyInState)
        case closed
    }

    /// A COPY FROM STDIN under way: the data spools to an anonymous temporary file.
    struct CopyInState {
        var statement: PreparedStatement
        var spool: UnsafeMutablePointer<FILE>
        var rest: ArraySlice<PreparedStatement>
        /// Whether the COPY came through the extended protocol (no ReadyForQuery after it).
        var extended: Bool
        /// Bytes received so far, and the last few of them (to find an end-of-data marker).
        var size = 0
        var tail: [UInt8] = []
    }

    var state = State.startup
    let server: ServerContext
    var database: Database?
    var processID: Int32 = 0
    /// The session's transaction status (its `Database` keeps the transaction).
    var transaction: BackendMessage.TransactionStatus {
        switch database?.transactionStatus {
        case .inBlock?: return .inTransaction
        case .failed?: return .failedTransaction
        default: return .idle
        }
    }
    /// The unnamed prepared statement (named ones live in the `Database`); nil: an empty query.
    var unnamedStatement: PreparedStatement??
    var portals: [String: Portal] = [:]
    /// The values of the reported settings as the client last heard them, and the session's
    /// `settingsVersion` then (nothing to compare while it stays).
    var reported: [String: String] = [:]
    var reportedVersion = -1
    /// Bytes to send.
    var output = ByteBuffer()
    /// Whether `output` should be flushed now (end of a query cycle, start-up, COPY).
    var needsFlush = false
    /// Whether the connection must close once `output` is sent.
    var shouldClose = false
    /// The channel must add TLS once the pending output (the 'S' answer) is written.
    var startTLS = false
    /// Whether the connection runs in TLS.
    var encrypted = false
    /// Told the session's cancellation once start-up succeeded (the channel handler keeps it).
    var onStarted: ((QueryCancellation) -> Void)?
    /// A COPY TO STDOUT sent its CopyOutResponse already.
    var copyOutStarted = false
    /// Sends part of a large result before the statement is done (set by the channel handler).
    var spill: ((ByteBuffer) -> Void)?
    /// Commits are answered once durable by the channel handler (`ConnectionHandler.finishTurn`)
    /// instead of waiting on the statement thread.
    var defersCommitAnswers = false
    /// Named prepared statements of an empty query (the `Database` keeps only real statements).
    var emptyNamedStatements: Set<String> = []
    /// Set when a statement run on the event loop (`receiveBriefly`) would have waited: the
    /// message it came in did nothing and goes to a statement thread.
    var deferred = false

    /// Settings PostgreSQL reports with ParameterStatus, by reported name and setting name.
    static let reportedSettings: [(name: String, setting: String)] = [
        ("application_name", "application_name"), ("client_encoding", "client_encoding"), ("DateStyle", "datestyle"),
        ("default_transaction_read_only", "default_transaction_read_only"), ("in_hot_standby", "in_hot_standby"),
        ("integer_datetimes", "integer_datetimes"), ("IntervalStyle", "intervalstyle"), ("is_superuser", "is_superuser"),
        ("server_encoding", "server_encoding"), ("server_version", "server_version"),
        ("session_authorization", "session_authorization"), ("standard_conforming_strings", "standard_conforming_strings"),
        ("TimeZone", "timezone"),
    ]

    init(server: ServerContext) {
        self.server = server
    }

    deinit {
        if case .copyIn(let copy) = state { fclose(copy.spool) }
        if processID != 0 { server.registry.unregister(processID) }
    }

    func send(_ message: BackendMessage) { message.write(into: &output) }

    /// Takes the bytes to send.
    func takeOutput() -> ByteBuffer {
        defer {
            output = ByteBuffer()
            needsFlush = false
        }
        return output
    }

    /// Handles one message from the client.
    func receive(_ message: FrontendMessage) {
        switch state {
        case .closed: return
        case .startup: receiveStartup(message)
        case .authenticating(var exchange, let user, let parameters):
            guard case .authentication(let data) = message else {
                return fatal(DatabaseError(SQLState("08P01"), "expected SASL response, got message type \(message)"))
            }
            authenticate(&exchange, user: user, parameters: parameters, data: data)
        case .ready: receiveReady(message)
        case .discardingUntilSync:
            switch message {
            case .sync: sync()
            case .terminate: close()
            default: break
            }
        case .copyIn(let copy): receiveCopy(message, copy)
        }
    }

    /// Receives a message in the ready state.
    func receiveReady(_ message: FrontendMessage) {
        switch message {
        case .query(let sql): simpleQuery(sql)
        case .parse(let name, let query, let types): parse(name: name, query: query, types: types)
        case .bind(let bind): self.bind(bind)
        case .describe(let target, let name): describe(target, name: name)
        case .execute(let portal, let maxRows): execute(portal: portal, maxRows: Int(maxRows))
        case .close(let target, let name): closeTarget(target, name: name)
        case .sync: sync()
        case .flush: needsFlush = true
        case .terminate: close()
        case .copyData, .copyDone, .copyFail:
            // PostgreSQL ignores stray COPY messages (a COPY that already failed may leave some).
            break
        case .functionCall:
            extendedError(DatabaseError(.featureNotSupported, "the function call protocol is not supported"))
        case .startup, .sslRequest, .gssEncryptionRequest, .cancel, .authentication:
            fatal(DatabaseError(SQLState("08P01"), "unexpected message during a session: \(message)"))
        }
    }

    /// Sends FATAL and closes: the protocol cannot go on.
    func fatal(_ error: DatabaseError) {
        send(.error(Session.fields(error, severity: "FATAL")))
        close()
    }

    func close() {
        if case .copyIn(let copy) = state { fclose(copy.spool) }
        state = .closed
        shouldClose = true
        needsFlush = true
    }

    /// The error fields PostgreSQL sends for `error`.
    static func fields(_ error: DatabaseError, severity: String = "ERROR") -> BackendMessage.ErrorFields {
        BackendMessage.ErrorFields(severity: severity, sqlState: error.sqlState.code, message: error.message, detail: error.detail,
                                   hint: error.hint, position: error.position, context: error.context)
    }

    /// ParameterStatus for every reported setting whose value changed since the client heard it.
    func reportChangedSettings() {
        guard let database, database.settingsVersion != reportedVersion else { return }
        reportedVersion = database.settingsVersion
        for (name, setting) in Session.reportedSettings {
            let value = database.settings[setting] ?? ""
            if reported[name] != value {
                reported[name] = value
                send(.parameterStatus(name: name, value: value))
            }
        }
    }

    func readyForQuery() {
        reportChangedSettings()
        send(.readyForQuery(transaction))
        needsFlush = true
    }
}
