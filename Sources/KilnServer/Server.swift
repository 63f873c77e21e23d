import Kiln
import KilnWire
import Logging
import Synchronization
import NIOCore
import NIOPosix
import NIOSSL
#if canImport(Glibc)
import Glibc
#endif

/// `kiln serve`: Kiln behind the PostgreSQL v3 wire protocol, on swift-nio.
///
/// ```swift
/// let server = try Server(configuration: configuration, database: try Database())
/// try server.start()
/// server.waitUntilClosed()
/// ```
public final class Server: Sendable {
    let context: ServerContext
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    private let listener = Mutex<Channel?>(nil)
    /// Where `shutdown` is: it runs once; later callers wait for it to finish.
    private let shutdownProgress = Mutex<ShutdownProgress>(.notStarted)
    private enum ShutdownProgress { case notStarted, running, finished }

    /// - Throws: when the users file cannot be read, or when the server would listen beyond
    ///   loopback with no user configured (anyone could connect).
    public init(configuration: ServerConfiguration, database: Database, logger: Logger = Logger(label: "kiln.server")) throws(DatabaseError) {
        if let file = configuration.usersFile { try Server.loadUsers(file, into: database) }
        if !configuration.isLoopback, database.catalog.roleNames.isEmpty {
            throw DatabaseError(.invalidParameterValue, "refusing to listen on \(configuration.host) with no users configured",
                                hint: "Configure users (--users FILE) so that clients must authenticate, or listen on 127.0.0.1.")
        }
        let workers = StatementPool(threads: max(4, 2 * System.coreCount))
        database.catalog.transactions.setWaitObserver(willWait: { workers.willBlock() }, didWait: { workers.didUnblock() })
        context = ServerContext(root: database, configuration: configuration, logger: logger, tls: try Server.tlsContext(configuration), workers: workers)
        // Event loops run brief statements in place (`Session.receiveBriefly`): they get a
        // statement thread's stack.
        group = StatementThreads.withStatementStacks {
            MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads > 0 ? configuration.threads : System.coreCount)
        }
        self.logger = logger
    }

    /// Binds and starts accepting connections.
    /// - Returns: the port listened on (useful with port 0).
    @discardableResult
    public func start() throws -> Int {
        let context = self.context
        let configuration = context.configuration
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Server.configure(channel.pipeline.syncOperations, context: context)
                }
            }
        let channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        listener.withLock { $0 = channel }
        let port = channel.localAddress?.port ?? configuration.port
        logger.info("kiln serve: listening on \(configuration.host):\(port)")
        return port
    }

    /// The handlers of one connection: decoder, idle timer, session.
    static func configure(_ pipeline: ChannelPipeline.SynchronousOperations, context: ServerContext, inline: Bool = false) throws {
        try pipeline.addHandler(ByteToMessageHandler(FrontendDecoder(maximumMessageSize: context.configuration.maxMessageSize)))
        if context.configuration.idleSessionTimeoutMilliseconds > 0 {
            try pipeline.addHandler(IdleStateHandler(readTimeout: .milliseconds(Int64(context.configuration.idleSessionTimeoutMilliseconds))))
        }
        try pipeline.addHandler(ConnectionHandler(server: context, inline: inline))
    }

    /// Stops listening, ends every session (their running statements are cancelled and they
    /// get FATAL 57P01), and stops the event loops.
    /// Runs once; a second call (a second signal, `waitUntilClosed`) waits for the first to end.
    public func shutdown() {
        let first = shutdownProgress.withLock { progress -> Bool in
            guard case .notStarted = progress else { return false }
            progress = .running
            return true
        }
        guard first else {
            while shutdownProgress.withLock({ if case .finished = $0 { return false } else { return true } }) { usleep(10_000) }
            return
        }
        defer { shutdownProgress.withLock { $0 = .finished } }
        logger.info("kiln serve: shutting down")
        if let channel = listener.withLock({ $0 }) { try? channel.close().wait() }
        for channel in context.openChannels { channel.pipeline.fireUserInboundEventTriggered(ServerContext.ShutdownEvent()) }
        // Give sessions a moment to send their goodbye and close.
        for _ in 0..<50 where !context.openChannels.isEmpty { usleep(20_000) }
        for channel in context.openChannels { try? channel.close().wait() }
        // Statements still running were cancelled with their sessions; wait for them before
        // the event loops go (their last writes need a loop, even to a closed channel).
        context.workers?.shutdown()
        try? group.syncShutdownGracefully()
    }

    /// Blocks until the listening channel closes, then until every session has ended and the
    /// statement threads have stopped (`shutdown`, started here if nothing else started it).
    /// The process may exit after it returns (with `Database.shutdownCompilation` first).
    public func waitUntilClosed() {
        guard let channel = listener.withLock({ $0 }) else { return }
        try? channel.closeFuture.wait()
        shutdown()
    }

    /// Number of connected sessions.
    public var sessionCount: Int { context.registry.count }

    /// The TLS context of the configured certificate and key (nil when none is configured).
    static func tlsContext(_ configuration: ServerConfiguration) throws(DatabaseError) -> NIOSSLContext? {
        guard let certificateFile = configuration.tlsCertificateFile else {
            if configuration.tlsKeyFile != nil { throw DatabaseError(.invalidParameterValue, "a TLS key needs a certificate (--tls-cert)") }
            return nil
        }
        guard let keyFile = configuration.tlsKeyFile else { throw DatabaseError(.invalidParameterValue, "a TLS certificate needs its key (--tls-key)") }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw DatabaseError(.invalidParameterValue, "could not load the TLS certificate \"\(certificateFile)\" or key \"\(keyFile)\": \(error)")
        }
    }

    /// Reads `name:verifier` (or `name:password`) lines; `#` starts a comment.
    static func loadUsers(_ path: String, into database: Database) throws(DatabaseError) {
        guard let file = fopen(path, "r") else {
            throw DatabaseError(.undefinedFile, "could not open users file \"\(path)\": \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var lineNumber = 0
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            lineNumber += 1
            let text = String(cString: line!).trimmed
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                throw DatabaseError(.invalidParameterValue, "users file \"\(path)\", line \(lineNumber): expected name:password")
            }
            let name = String(text[..<colon]), secret = String(text[text.index(after: colon)...])
            try database.createUser(name, password: secret)
        }
    }

    /// The signals that stop the server cleanly: SIGINT and SIGTERM.
    static var shutdownSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }

    /// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts later.
    /// Call it first in `main`, before any thread exists, so that no thread can take these
    /// signals except the one `shutdownOnSignals` starts.
    public static func blockShutdownSignals() {
        var set = shutdownSignals
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Shuts the server down on SIGINT or SIGTERM. A thread waits for them with `sigwait`, so
    /// no signal handler is involved: handlers race with every thread that has the signals
    /// unblocked, and libraries the server loads (LLVM) install handlers of their own. The
    /// signals must be blocked in every thread (`blockShutdownSignals`, first in `main`).
    /// - Returns: false when the waiting thread could not be started.
    @discardableResult
    public func shutdownOnSignals() -> Bool {
        Server.blockShutdownSignals()
        return StatementThreads.start { [self] in
            var set = Server.shutdownSignals
            var number: Int32 = 0
            while sigwait(&set, &number) != 0 {}
            logger.info("kiln serve: received signal \(number)")
            shutdown()
        } != nil
    }
}
