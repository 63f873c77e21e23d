import Kiln
import KilnCore
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
    // reads its immutable catalog and lock); everything else is immutable, a Mutex, or
    // `channels` under `channelsLock`.
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
    /// Under `channelsLock`, a pthread mutex (`Monitor`) that ThreadSanitizer sees.
    private var channels: [ObjectIdentifier: Channel] = [:]
    private let channelsLock = Monitor()

    /// Sent down every open channel when the server shuts down.
    struct ShutdownEvent: Sendable {}

    init(root: Database, configuration: ServerConfiguration, logger: Logger, tls: NIOSSLContext? = nil, workers: StatementPool? = nil) {
        self.root = root
        self.logger = logger
        self.tls = tls
        self.workers = workers
        self.configuration = configuration
    }

    func track(_ channel: Channel) { channelsLock.withLock { channels[ObjectIdentifier(channel)] = channel } }
    func untrack(_ channel: Channel) { _ = channelsLock.withLock { channels.removeValue(forKey: ObjectIdentifier(channel)) } }
    var openChannels: [Channel] { channelsLock.withLock { Array(channels.values) } }
}
