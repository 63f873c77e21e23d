import Kiln
import Logging
#if canImport(Glibc)
import Glibc
#endif

let kilnVersion = "0.1.0"

/// `kiln [OPTION]... [DBDIR]`: see `shellHelp`.
struct ShellOptions {
    /// `-c` and `-f`, in the order given.
    var actions: [Action] = []
    var format = OutputFormat.box
    var jit = "auto"
    var jitSync = false
    var logLevel = Logger.Level.warning
    /// The database directory (nil: in memory).
    var directory: String?
    var variables: [(String, String)] = []
    var continueOnError = false
    var progress = true
    /// Workers per query (`SET threads`); nil: one per core.
    var threads: Int?

    enum Action {
        case command(String)
        case file(String)
    }
}

let shellHelp = """
    kiln is Kiln's shell: SQL on a compiled query engine, in memory or in a database directory.

    Usage:
      kiln [OPTION]... [DBDIR]
      kiln serve [OPTION]... [DBDIR]      the PostgreSQL wire-protocol server (kiln serve --help)

    With DBDIR, the database lives in that directory (made on first use, reopened later);
    without it, in memory until the shell ends.

    Options:
      -c, --command=SQL        run SQL or one meta-command, then exit (may be repeated)
      -f, --file=FILE          run the statements and meta-commands in FILE, then exit (may be repeated)
          --format=FORMAT      box (default), csv, json, markdown or line
      -v, --set=NAME=VALUE     set a shell variable (:NAME in SQL); ON_ERROR_STOP=0 goes on after errors
          --continue-on-error  in -c and -f, go on after a failed statement (exit status 1 at the end)
          --no-progress        no progress bar for long statements
          --jit=MODE           on, off or auto (default): when queries compile to native code
          --jit-sync           wait for native code instead of starting in the interpreter
          --threads=N          threads a query runs on (default: one per core; SET threads)
          --log-level=LEVEL    trace, debug, info, notice, warning (default), error or critical
          --version            print the version, the MLIR/LLVM version and the CPU's features
      -h, --help               print this help

    Meta-commands (type \\? in the shell):

    """

func standardError(_ text: String) {
    _ = text.withCString { write(2, $0, strlen($0)) }
}

func parseArguments() -> ShellOptions {
    var options = ShellOptions()
    var arguments = CommandLine.arguments.dropFirst()
    if arguments.first == "serve" { serve(arguments.dropFirst()) }
    func fail(_ message: String) -> Never {
        standardError("kiln: \(message)\nTry \"kiln --help\" for more information.\n")
        exit(2)
    }
    while var argument = arguments.popFirst() {
        // `--name=value` is `--name value`.
        var inlineValue: String?
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            inlineValue = String(argument[argument.index(after: equals)...])
            argument = String(argument[..<equals])
        }
        func value() -> String {
            if let inlineValue { return inlineValue }
            guard let next = arguments.popFirst() else { fail("option \(argument) needs an argument") }
            return next
        }
        switch argument {
        case "-c", "--command":
            options.actions.append(.command(value()))
        case "-f", "--file":
            options.actions.append(.file(value()))
        case "--format":
            guard let format = OutputFormat(rawValue: value()) else { fail("--format must be box, csv, json, markdown or line") }
            options.format = format
        case "-v", "--set", "--variable":
            let assignment = value()
            guard let equals = assignment.firstIndex(of: "="), ShellVariables.isValidName(String(assignment[..<equals])) else {
                fail("\(argument) needs NAME=VALUE")
            }
            options.variables.append((String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...])))
        case "--continue-on-error":
            options.continueOnError = true
        case "--no-progress":
            options.progress = false
        case "--jit":
            let mode = value()
            guard ["on", "off", "auto"].contains(mode) else { fail("--jit must be on, off or auto") }
            options.jit = mode
        case "--jit-sync":
            options.jitSync = true
        case "--threads":
            guard let n = Int(value()), (1...WorkerPool.maxThreads).contains(n) else { fail("--threads must be a number from 1 to \(WorkerPool.maxThreads)") }
            options.threads = n
        case "--log-level":
            guard let level = Logger.Level(rawValue: value()) else {
                fail("--log-level must be trace, debug, info, notice, warning, error or critical")
            }
            options.logLevel = level
        case "--version", "-V":
            print("kiln \(kilnVersion)\n\(Database.platformDescription)")
            exit(0)
        case "-h", "--help", "-?":
            print(shellHelp + ShellSession.metaCommandLines, terminator: "")
            exit(0)
        default:
            if argument.hasPrefix("-") { fail("unknown option \(argument)") }
            if options.directory != nil { fail("only one database directory may be given") }
            options.directory = argument
        }
    }
    return options
}

/// The shell, on a statement thread (a large stack: deep statements get 54001, not a crash).
func runShell(_ options: ShellOptions) -> Never {
    if let threads = options.threads { WorkerPool.shared.defaultThreads = threads }
    let database: Database
    do {
        database = try options.directory.map { directory throws(DatabaseError) in try Database(path: directory) } ?? Database()
    } catch {
        standardError("\(error)\n")
        terminate(1)
    }
    openDatabase = database
    let interactive = options.actions.isEmpty && isatty(0) != 0
    let session = ShellSession(database: database, format: options.format, interactive: interactive)
    session.continueOnError = options.continueOnError
    session.progress = options.progress
    for (name, value) in options.variables { session.variables[name] = value }
    session.watch.start()
    if options.jit != "auto" { _ = session.run("SET jit = \(options.jit)") }
    if options.jitSync { _ = session.run("SET jit_sync = on") }
    if !options.actions.isEmpty {
        var failed = false
        for action in options.actions {
            let ok: Bool
            switch action {
            case .command(let text):
                let trimmed = text.trimmed
                ok = trimmed.hasPrefix("\\") || trimmed.hasPrefix(".") ? session.metaCommand(trimmed, at: nil) : session.run(text)
            case .file(let path):
                guard let text = path == "-" ? readStandardInput() : readFile(path) else {
                    standardError("kiln: \(path): \(String(cString: strerror(errno)))\n")
                    terminate(1)
                }
                ok = session.runScript(text, name: path == "-" ? "<stdin>" : path)
            }
            if !ok {
                failed = true
                if session.stopsOnError { break }
            }
        }
        terminate(failed ? 1 : 0)
    }
    let ok = session.interactiveLoop()
    terminate(interactive || ok ? 0 : 1)
}

func readStandardInput() -> String? {
    var lines: [String] = []
    while let line = readLine(strippingNewline: false) { lines.append(line) }
    return lines.joined()
}

let options = parseArguments()
// Before any thread starts: SIGINT is taken by the shell's own thread (StatementWatch).
StatementWatch.blockInterrupts()
bootstrapLogging(options.logLevel)
injectCompileFaultForTests()
StatementThreads.run { runShell(options) }
