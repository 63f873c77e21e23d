import Kiln
#if canImport(Glibc)
import Glibc
#endif

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Where a statement or meta-command came from: a file (`-f`, `\i`), and the line it starts on (errors are reported as `kiln:FILE:LINE: ERROR:  ...`, as psql does).
struct SourceLocation {
    var name: String
    var line: Int
}

/// One shell session: display settings, variables, the statement being typed, and statement
/// execution with error reporting. Meta-commands are in `ShellSession+Meta.swift`.
final class ShellSession {
    let database: Database
    var display = DisplaySettings()
    var timer = false
    /// `.timer detail`: also print compile and execution time and the execution mode.
    var timerDetail = false
    var variables = ShellVariables()
    /// Scripts go on after a failed statement (`--continue-on-error`, `\set ON_ERROR_STOP off`).
    var continueOnError = false
    /// `.progress on|off`: the progress bar for long statements (interactive terminals only).
    var progress = true { didSet { updateWatch() } }
    /// Reading from a terminal with the line editor.
    let interactive: Bool
    /// `\o FILE`: where results go (nil: standard output).
    var output: UnsafeMutablePointer<FILE>?
    let watch: StatementWatch
    /// The statement typed so far (`\p` prints it, `\r` clears it, `\e` edits it).
    var buffer = StatementBuffer()
    /// The last statement run (`\e` on an empty buffer edits it, `\g` runs it again).
    var lastStatement = ""
    /// Files `\i` is reading (a file that includes itself stops).
    var includeDepth = 0
    /// The next line of the input being read (for `\copy ... FROM STDIN`).
    var nextInputLine: (() -> LineEditor.Input)?

    init(database: Database, format: OutputFormat, interactive: Bool) {
        self.database = database
        self.interactive = interactive
        display.format = format
        watch = StatementWatch(database: database)
        watch.interactive = interactive
        updateWatch()
    }

    private func updateWatch() {
        watch.progressBar = progress && interactive && isatty(2) != 0
    }

    /// Writes to the results' destination.
    func emit(_ text: String) {
        guard !text.isEmpty else { return }
        if let output { fputs(text, output) } else { print(text, terminator: "") }
    }

    /// The display settings for the results' destination: on a terminal, long results are
    /// elided to `maxrows` (40) rows and wide ones cut to its width; NULL is dimmed.
    var effectiveDisplay: DisplaySettings {
        var settings = display
        let columns = output == nil ? terminalColumns(1) : nil
        settings.color = columns != nil
        if columns == nil {
            if display.maxRows == nil { settings.maxRows = nil }
        } else {
            settings.maxRows = display.maxRows ?? 40
            settings.maxWidth = display.maxWidth ?? columns
        }
        if settings.maxRows == 0 { settings.maxRows = nil }
        if settings.maxWidth == 0 { settings.maxWidth = nil }
        return settings
    }

    /// Prints one result set as the display settings say (`\x auto`: expanded when wider than the terminal).
    func show(_ result: QueryResult) { show(result, types: true, footer: true) }

    /// A catalog listing (`\dt`): a box without the row of column types; a description
    /// (`\d t`) without the row count either.
    func show(catalog result: QueryResult, footer: Bool = true) { show(result, types: false, footer: footer) }

    private func show(_ result: QueryResult, types: Bool, footer: Bool) {
        var settings = effectiveDisplay
        settings.types = types
        settings.footer = footer
        if settings.expanded == .auto, settings.format == .box {
            settings.expanded = ResultPrinter.isWider(result, than: settings.maxWidth ?? terminalColumns(1) ?? 80, settings) ? .on : .off
        }
        emit(ResultPrinter.render(result, settings))
    }

    /// Runs SQL text (several statements allowed). Returns false on error.
    @discardableResult
    func run(_ text: String, at location: SourceLocation? = nil) -> Bool {
        let sql = variables.interpolate(text)
        lastStatement = sql
        let start = ContinuousClock.now
        // Each result prints as its query produces it (`ResultStreamPrinter`).
        let printer = ResultStreamPrinter(shell: self)
        do {
            _ = try watch.watch { () throws(DatabaseError) in try database.execute(sql, streaming: printer.stream) }
        } catch {
            report(error, sql: sql, at: location)
            fflush(nil)
            return false
        }
        if timer {
            let ms = (ContinuousClock.now - start).milliseconds
            emit("Time: \(formatMilliseconds(ms)) ms\n")
            if timerDetail {
                for t in printer.timings {
                    emit("      \(t.mode): compile \(formatMilliseconds(t.compileMilliseconds)) ms, execute \(formatMilliseconds(t.executeMilliseconds)) ms, operator memory \(t.memoryBytes >> 20) MB\n")
                }
            }
        }
        fflush(nil)
        return true
    }

    func formatMilliseconds(_ ms: Double) -> String {
        let thousandths = Int((ms * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// An error as psql shows it: the message, DETAIL, HINT and CONTEXT lines, the statement's
    /// line with a caret under the position, then `SQLSTATE: ... POSITION: ...`. From a file
    /// or a pipe, prefixed with `kiln:FILE:LINE:` (the line of the position, else of the statement).
    func report(_ error: DatabaseError, sql: String?, at location: SourceLocation? = nil) {
        var prefix = ""
        let statementText = error.sql ?? sql
        var caret: (line: Int, text: String, column: Int)?
        if let position = error.position, let statementText, position >= 1 {
            let characters = Array(statementText)
            let offset = min(position - 1, characters.count)
            let lineNumber = characters[..<offset].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            let lineStart = characters[..<offset].lastIndex(of: "\n").map { $0 + 1 } ?? 0
            let lineEnd = characters[offset...].firstIndex(of: "\n") ?? characters.count
            caret = (lineNumber, String(characters[lineStart..<lineEnd]), offset - lineStart)
        }
        if let location { prefix = "kiln:\(location.name):\(location.line + (caret?.line ?? 1) - 1): " }
        var text = prefix + "ERROR:  \(error.message)\n"
        if let detail = error.detail { text += "DETAIL:  \(detail)\n" }
        if let hint = error.hint { text += "HINT:  \(hint)\n" }
        if let context = error.context { text += "CONTEXT:  \(context)\n" }
        if let caret, caret.text.count <= 400 {
            let label = "LINE \(caret.line): "
            text += label + caret.text.replacingAll("\t", with: " ") + "\n" + String(repeating: " ", count: label.count + caret.column) + "^\n"
        }
        text += "SQLSTATE: \(error.sqlState.code)"
        if let position = error.position { text += "  POSITION: \(position)" }
        if let line = error.line { text += "  LINE: \(line)" }
        standardError(text + "\n")
    }

    /// A meta-command's error, located like a statement's.
    func complain(_ message: String, at location: SourceLocation?) {
        standardError((location.map { "kiln:\($0.name):\($0.line): " } ?? "") + message + "\n")
    }

    /// Whether a script stops at its first error (`\set ON_ERROR_STOP` overrides the option).
    var stopsOnError: Bool { variables.isOn("ON_ERROR_STOP") ?? !continueOnError }

    /// Runs a script: meta-commands on their own lines, SQL statements ended by `;`. Stops at the
    /// first error unless told to go on; returns false when anything failed.
    func runScript(_ text: String, name: String) -> Bool {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var index = 0
        var ok = true
        let saved = (buffer, nextInputLine)
        buffer = StatementBuffer()
        var statementLine = 1
        nextInputLine = {
            guard index < lines.count else { return .end }
            index += 1
            return .line(lines[index - 1])
        }
        defer { (buffer, nextInputLine) = saved }
        while index < lines.count {
            let line = lines[index]
            index += 1
            let location = SourceLocation(name: name, line: index)
            switch take(line, at: location) {
            case .pending:
                if buffer.isEmpty { statementLine = index + 1 }
                continue
            case .ran(let succeeded):
                if !succeeded {
                    ok = false
                    if stopsOnError { return false }
                }
            case .statementComplete:
                let succeeded = run(buffer.text, at: SourceLocation(name: name, line: statementLine))
                buffer = StatementBuffer()
                if !succeeded {
                    ok = false
                    if stopsOnError { return false }
                }
            }
            statementLine = index + 1
        }
        if !buffer.isEmpty, !run(buffer.text, at: SourceLocation(name: name, line: statementLine)) { ok = false }
        return ok
    }

    /// What one line of input did.
    enum LineOutcome {
        /// Added to the statement being typed (or skipped: a comment, an empty line).
        case pending
        /// A meta-command ran.
        case ran(Bool)
        /// The statement in `buffer` is complete: run it.
        case statementComplete
    }

    /// Takes one line of input: a meta-command (a `\` command anywhere between statements or
    /// inside one, a `.` command between statements), or a line of SQL.
    func take(_ line: String, at location: SourceLocation?) -> LineOutcome {
        let trimmed = line.trimmed
        if buffer.isEmpty, trimmed.hasPrefix("--") || trimmed.isEmpty { return .pending }
        if (trimmed.hasPrefix("\\") && !buffer.isInsideLiteral) || (buffer.isEmpty && trimmed.hasPrefix(".")) {
            let succeeded = metaCommand(trimmed, at: location)
            if buffer.isComplete, !buffer.isEmpty { return .statementComplete }
            return .ran(succeeded)
        }
        buffer.append(line)
        return buffer.isComplete ? .statementComplete : .pending
    }

    /// Reads statements from standard input, executing each as soon as it is complete, going
    /// on after errors. On a terminal: a line editor with history and completion; on a pipe:
    /// plain lines, output flushed per statement.
    func interactiveLoop() -> Bool {
        let editor = interactive ? LineEditor() : nil
        editor?.completer = { [unowned self] text in completions(text) }
        var ok = true
        if interactive {
            print("kiln \(kilnVersion) — type SQL ending with ';', \\? or .help for help, \\q to quit.")
        }
        nextInputLine = {
            guard let editor else { return Swift.readLine().map(LineEditor.Input.line) ?? .end }
            // Data lines: a Tab is a tab.
            let completer = editor.completer
            editor.completer = nil
            defer { editor.completer = completer }
            return editor.readLine(prompt: ">> ")
        }
        while true {
            let line: String
            if let editor {
                switch editor.readLine(prompt: buffer.isEmpty ? "kiln> " : "  ...> ") {
                case .line(let text): line = text
                case .interrupt:
                    buffer = StatementBuffer()
                    continue
                case .end:
                    if !buffer.isEmpty { _ = run(buffer.text) }
                    return true
                }
            } else {
                guard let text = Swift.readLine() else { break }
                line = text
            }
            // Errors from a pipe start with "ERROR:" as from a terminal (tools that drive the
            // shell through a pipe look for that); `-f` files are the ones located by line.
            switch take(line, at: nil) {
            case .pending:
                break
            case .ran(let succeeded):
                if !succeeded { ok = false }
                if let editor, line.trimmed.hasPrefix("\\") || line.trimmed.hasPrefix(".") { editor.remember(line.trimmed) }
            case .statementComplete:
                editor?.remember(buffer.text.trimmed)
                let text = buffer.text
                buffer = StatementBuffer()
                if !run(text) { ok = false }
            }
        }
        if !buffer.isEmpty, !run(buffer.text) { ok = false }
        return ok
    }
}

/// Lines of SQL collected until they end with a complete statement (a `;` outside quotes
/// and comments). Each line is scanned once, on its bytes, as it arrives (rescanning the whole
/// buffer per line made long statements quadratic).
struct StatementBuffer {
    private(set) var text = ""
    private var inString = false, inIdentifier = false, inLineComment = false, blockDepth = 0
    private var previous: UInt8 = 0x20
    /// The last byte outside comments that is not white space was a `;`.
    private var endsWithSemicolon = false
    /// Something other than white space has been seen.
    private(set) var hasContent = false

    var isEmpty: Bool { !hasContent }
    /// Inside a string, a quoted identifier or a block comment (a line there is not a meta-command).
    var isInsideLiteral: Bool { inString || inIdentifier || blockDepth > 0 }
    var isComplete: Bool { endsWithSemicolon && !inString && !inIdentifier && blockDepth == 0 }

    mutating func append(_ line: String) {
        text += line + "\n"
        for byte in line.utf8 { scan(byte) }
        scan(0x0A)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    private mutating func scan(_ c: UInt8) {
        if !StatementBuffer.isSpace(c) { hasContent = true }
        if inLineComment {
            if c == 0x0A { inLineComment = false }
            previous = c
            return
        }
        if blockDepth > 0 {
            // A closing `*/` does not lend its `/` to a following `*`.
            let closes = previous == UInt8(ascii: "*") && c == UInt8(ascii: "/")
            if closes { blockDepth -= 1 }
            previous = closes ? 0x20 : c
            return
        }
        if inString || inIdentifier {
            if inString, c == UInt8(ascii: "'") { inString = false }
            if inIdentifier, c == UInt8(ascii: "\"") { inIdentifier = false }
            previous = c
            return
        }
        defer { previous = c }
        switch c {
        case UInt8(ascii: "'"): inString = true
        case UInt8(ascii: "\""): inIdentifier = true
        case UInt8(ascii: "-") where previous == UInt8(ascii: "-"): inLineComment = true
        case UInt8(ascii: "*") where previous == UInt8(ascii: "/"): blockDepth += 1
        default: break
        }
        if !StatementBuffer.isSpace(c) && !inLineComment { endsWithSemicolon = c == UInt8(ascii: ";") }
    }
}
