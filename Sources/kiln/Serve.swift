import Kiln
import KilnServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `kiln serve --help`: every option, one line each.
let serveHelp = """
    kiln serve is Kiln's PostgreSQL wire-protocol server: psql, psycopg, pgjdbc, PostgresNIO and
    postgres_fdw connect to it as to PostgreSQL.

    Usage:
      kiln serve [OPTION]... [DBDIR]

    With DBDIR, the database lives in that directory (one process at a time); without it, in
    memory until the server stops. SIGINT and SIGTERM stop it cleanly (a checkpoint first).

    Options:
      -h, --host=ADDRESS           address to listen on (default 127.0.0.1; others need --users)
      -p, --port=PORT              port to listen on (default 5433; 0: any free port)
          --users=FILE             user:password lines; clients log in with SCRAM-SHA-256
          --max-connections=N      sessions at once (default 100)
          --idle-timeout=MS        end sessions idle this long (default 0: never)
          --statement-timeout=MS   cancel statements that run longer (57014; default 0: never)
          --max-message-size=BYTES largest protocol message accepted (default 64 MiB)
          --threads=N              threads a query runs on (default: one per core; SET threads)
          --event-loop-threads=N   network event-loop threads (default 0: one per core)
          --tls-cert=FILE          PEM certificate: clients may ask for TLS (with --tls-key)
          --tls-key=FILE           PEM private key of --tls-cert
          --log-level=LEVEL        trace, debug, info (default), notice, warning, error or critical
          --help                   print this help

    """

/// `kiln serve [OPTION]... [DBDIR]`: see `serveHelp`.
func serve(_ arguments: ArraySlice<String>) -> Never {
    // Before any thread starts: SIGINT and SIGTERM reach only the thread that waits for them.
    Server.blockShutdownSignals()
    var configuration = ServerConfiguration()
    var logLevel = Logger.Level.info
    var directory: String?
    var arguments = arguments
    func number(_ option: String) -> Int {
        guard let text = arguments.popFirst(), let value = Int(text), value >= 0 else {
            standardError("kiln serve: \(option) needs a non-negative number\n")
            exit(2)
        }
        return value
    }
    while var argument = arguments.popFirst() {
        // `--name=value` is `--name value`.
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            arguments.insert(String(argument[argument.index(after: equals)...]), at: arguments.startIndex)
            argument = String(argument[..<equals])
        }
        switch argument {
        case "--host", "-h":
            guard let host = arguments.popFirst() else { standardError("kiln serve: --host needs an address\n"); exit(2) }
            configuration.host = host
        case "--port", "-p":
            configuration.port = number(argument)
            guard configuration.port <= 65535 else { standardError("kiln serve: --port must be at most 65535\n"); exit(2) }
        case "--users":
            guard let file = arguments.popFirst() else { standardError("kiln serve: --users needs a file\n"); exit(2) }
            configuration.usersFile = file
        case "--max-connections": configuration.maxConnections = max(1, number(argument))
        case "--idle-timeout": configuration.idleSessionTimeoutMilliseconds = number(argument)
        case "--statement-timeout": configuration.statementTimeoutMilliseconds = number(argument)
        case "--max-message-size": configuration.maxMessageSize = max(1024, number(argument))
        case "--event-loop-threads": configuration.threads = number(argument)
        case "--threads":
            let n = number(argument)
            guard (1...WorkerPool.maxThreads).contains(n) else {
                standardError("kiln serve: --threads must be a number from 1 to \(WorkerPool.maxThreads)\n")
                exit(2)
            }
            WorkerPool.shared.defaultThreads = n
        case "--tls-cert":
            guard let file = arguments.popFirst() else { standardError("kiln serve: --tls-cert needs a PEM file\n"); exit(2) }
            configuration.tlsCertificateFile = file
        case "--tls-key":
            guard let file = arguments.popFirst() else { standardError("kiln serve: --tls-key needs a PEM file\n"); exit(2) }
            configuration.tlsKeyFile = file
        case "--log-level":
            guard let text = arguments.popFirst(), let level = Logger.Level(rawValue: text) else {
                standardError("kiln serve: --log-level must be trace, debug, info, notice, warning, error or critical\n"); exit(2)
            }
            logLevel = level
        case "--help", "-?":
            print(serveHelp, terminator: "")
            exit(0)
        default:
            if argument.hasPrefix("-") { standardError("kiln serve: unknown option \(argument)\n"); exit(2) }
            if directory != nil { standardError("kiln serve: only one database directory may be given\n"); exit(2) }
            directory = argument
        }
    }
    bootstrapLogging(logLevel)
    injectCompileFaultForTests()
    do {
        var logger = Logger(label: "kiln.server")
        logger.logLevel = logLevel
        let database = try directory.map { directory throws(DatabaseError) in try Database(path: directory) } ?? Database()
        openDatabase = database
        let server = try Server(configuration: configuration, database: database, logger: logger)
        let port = try server.start()
        standardError("kiln serve: listening on \(configuration.host):\(port)\n")
        guard server.shutdownOnSignals() else { throw DatabaseError(.outOfMemory, "could not start the signal thread") }
        server.waitUntilClosed()
        terminate(0)
    } catch {
        standardError("kiln serve: \(error)\n")
        terminate(1)
    }
}

/// Log records (the server's, the compile events of `kiln.jit`) go to standard error, from
/// `level` up; standard output is the shell's results.
func bootstrapLogging(_ level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
