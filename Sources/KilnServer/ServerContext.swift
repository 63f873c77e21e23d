import Kiln
import Logging
import KilnWire
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// What every connection of one server shares: the tables (through the root session), the
/// registry of sessions, the settings, and the open channels (for shutdown).
final class ServerContext: @unchecked Sendable {
    // `@unchecked Sendable`: `root` is only used to create sessions (`Database(sharing:)`
    // reads its immutable catalog and lock); everything else is immutable or a Mutex.
    let root: Database
    let configuration: ServerConfiguration
    let registry = ConnectionRegistry()
    /// Threads that run statements (FIFO: connections take turns, see `ConnectionQueue`);
    /// nil when sessions run inline (tests on EmbeddedChannel).
    let workers: StatementPool?
    /// Connections and, at debug level, every statement a client sends (PostgreSQL's log_statement).
    let logger: Logger
    /// Set when a certificate is configured.
    let tls: NIOSSLContext?
    private let channels = Mutex<[ObjectIdentifier: Channel]>([:])

    /// Sent down every open channel when the server shuts down.
    struct ShutdownEvent: Sendable {}

    init(root: Database, configuration: ServerConfiguration, logger: Logger, tls: NIOSSLContext? = nil, workers: StatementPool? = nil) {
        self.root = root
        self.logger = logger
        self.tls = tls
        self.workers = workers
        self.configuration = configuration
    }

    func track(_ channel: Channel) { channels.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func untrack(_ channel: Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
    var openChannels: [Channel] { channels.withLock { Array($0.values) } }
}
