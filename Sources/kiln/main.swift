import Kiln
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `kiln [DBDIR] [-c SQL] [-f FILE] [--format box|csv|json] [--jit on|off|auto] [--jit-sync] [--log-level debug]`
struct ShellOptions {
    var commands: [String] = []
    var files: [String] = []
    var format = OutputFormat.box
    var jit = "auto"
    var jitSync = false
    var logLevel = Logger.Level.warning
    /// The database directory (nil: in memory).
    var directory: String?
}

func standardError(_ text: String) {
    _ = text.withCString { write(2, $0, strlen($0)) }
}

func parseArguments() -> ShellOptions {
    var options = ShellOptions()
    var arguments = CommandLine.arguments.dropFirst()
    if arguments.first == "serve" { serve(arguments.dropFirst()) }
    while let argument = arguments.popFirst() {
        switch argument {
        case "-c", "--command":
            guard let sql = arguments.popFirst() else { standardError("kiln: -c needs an argument\n"); exit(2) }
            options.commands.append(sql)
        case "-f", "--file":
            guard let file = arguments.popFirst() else { standardError("kiln: -f needs an argument\n"); exit(2) }
            options.files.append(file)
        case "--format":
            guard let value = arguments.popFirst(), let format = OutputFormat(rawValue: value) else {
                standardError("kiln: --format must be box, csv or json\n"); exit(2)
            }
            options.format = format
        case "--jit":
            guard let value = arguments.popFirst(), ["on", "off", "auto"].contains(value) else { standardError("kiln: --jit must be on, off or auto\n"); exit(2) }
            options.jit = value
        case "--jit-sync":
            options.jitSync = true
        case "--log-level":
            guard let text = arguments.popFirst(), let level = Logger.Level(rawValue: text) else {
                standardError("kiln: --log-level must be trace, debug, info, notice, warning, error or critical\n"); exit(2)
            }
            options.logLevel = level
        case "--version":
            print("kiln 0.1.0 (MLIR 22)")
            exit(0)
        case "-h", "--help":
            print("usage: kiln [DBDIR] [-c SQL] [-f FILE] [--format box|csv|json] [--jit on|off|auto] [--jit-sync] [--log-level debug]\n       kiln serve [DBDIR] [--host 127.0.0.1] [--port 5433] [--users FILE] (see kiln serve --help)")
            exit(0)
        default:
            if argument.hasPrefix("-") { standardError("kiln: unknown option \(argument)\n"); exit(2) }
            if options.directory != nil { standardError("kiln: only one database directory may be given\n"); exit(2) }
            options.directory = argument
        }
    }
    return options
}

/// The shell, on a statement thread (a large stack: deep statements get 54001, not a crash).
func runShell(_ options: ShellOptions) -> Never {
    let database: Database
    do {
        database = try options.directory.map { directory throws(DatabaseError) in try Database(path: directory) } ?? Database()
    } catch {
        standardError("\(error)\n")
        terminate(1)
    }
    openDatabase = database
    let session = ShellSession(database: database, format: options.format)
    if options.jit != "auto" { _ = session.run("SET jit = \(options.jit)") }
    if options.jitSync { _ = session.run("SET jit_sync = on") }
    var failed = false
    if !options.commands.isEmpty || !options.files.isEmpty {
        for command in options.commands where !session.run(command) { failed = true; break }
        if !failed {
            for file in options.files {
                guard let text = readFile(file) else { standardError("kiln: could not read \(file)\n"); terminate(1) }
                if !session.runScript(text) { failed = true; break }
            }
        }
        terminate(failed ? 1 : 0)
    }
    terminate(session.interactive() ? 0 : 1)
}

let options = parseArguments()
bootstrapLogging(options.logLevel)
injectCompileFaultForTests()
StatementThreads.run { runShell(options) }
