import Kiln
import KilnServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `kiln serve [DBDIR] [--host H] [--port P] [--users FILE] [--max-connections N]
/// [--idle-timeout MS] [--statement-timeout MS] [--max-message-size BYTES] [--threads N] [--log-level info|debug]
/// [--tls-cert FILE --tls-key FILE]`
func serve(_ arguments: ArraySlice<String>) -> Never {
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
    while let argument = arguments.popFirst() {
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
        case "--threads": configuration.threads = number(argument)
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
        case "--help":
            print("usage: kiln serve [DBDIR] [--host 127.0.0.1] [--port 5433] [--users FILE] [--max-connections 100] [--idle-timeout MS] [--statement-timeout MS] [--max-message-size BYTES] [--threads N] [--tls-cert FILE --tls-key FILE] [--log-level info|debug]")
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
        // The signal sources must live as long as the server runs.
        withExtendedLifetime(server.shutdownOnSignals()) { server.waitUntilClosed() }
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
