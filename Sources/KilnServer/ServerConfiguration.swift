/// How `kiln serve` listens and what it allows.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 5433
    /// Connections beyond this many get FATAL 53300 at start-up.
    public var maxConnections = 100
    /// A message longer than this closes the connection (08P01); protects against hostile lengths.
    public var maxMessageSize = 64 << 20
    /// Close a connection idle (outside a transaction) for this long; 0: never.
    public var idleSessionTimeoutMilliseconds = 0
    /// Sessions start with this `statement_timeout`; 0: none.
    public var statementTimeoutMilliseconds = 0
    /// A file of `name:verifier` lines (PostgreSQL's `SCRAM-SHA-256$...` verifiers, or
    /// `name:password` to derive one), loaded into the catalog's roles at start-up.
    public var usersFile: String?
    /// Event loop threads (0: one per core).
    public var threads = 0
    /// PEM files of the server certificate (chain) and its private key: with both, an
    /// SSLRequest is answered 'S' and the connection continues in TLS.
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?

    public init() {}

    /// Whether `host` is a loopback address (the only kind allowed while no user is configured).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
