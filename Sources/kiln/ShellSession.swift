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

/// One shell session: settings (format, timer) and statement execution with error reporting.
final class ShellSession {
    let database: Database
    var format: OutputFormat
    var timer = false
    /// `.timer detail`: also print compile and execution time and the execution mode.
    var timerDetail = false

    init(database: Database, format: OutputFormat) {
        self.database = database
        self.format = format
    }

    /// Runs SQL text (several statements allowed). Returns false on error.
    @discardableResult
    func run(_ sql: String) -> Bool {
        let start = ContinuousClock.now
        var timings: [QueryResult.Timings] = []
        do {
            let results = try database.execute(sql)
            for result in results {
                if result.hasResultSet { print(ResultPrinter.render(result, format: format), terminator: "") }
                if let t = result.timings { timings.append(t) }
            }
        } catch {
            report(error)
            return false
        }
        if timer {
            let elapsed = ContinuousClock.now - start
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            print("Time: \(formatMilliseconds(ms)) ms")
            if timerDetail {
                for t in timings {
                    print("      \(t.mode): compile \(formatMilliseconds(t.compileMilliseconds)) ms, execute \(formatMilliseconds(t.executeMilliseconds)) ms, operator memory \(t.memoryBytes >> 20) MB")
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

    func report(_ error: DatabaseError) {
        var text = "ERROR:  \(error.message)\n"
        if let detail = error.detail { text += "DETAIL:  \(detail)\n" }
        if let hint = error.hint { text += "HINT:  \(hint)\n" }
        if let context = error.context { text += "CONTEXT:  \(context)\n" }
        text += "SQLSTATE: \(error.sqlState.code)"
        if let position = error.position { text += "  POSITION: \(position)" }
        if let line = error.line { text += "  LINE: \(line)" }
        standardError(text + "\n")
    }

    /// Handles a meta-command (`.timer on`, `\timing`, `.mode csv`). Returns nil if `line` is not one.
    func metaCommand(_ line: String) -> Bool? {
        let trimmed = line.trimmed
        guard trimmed.hasPrefix(".") || trimmed.hasPrefix("\\") else { return nil }
        let words = trimmed.split(separator: " ").map(String.init)
        switch words[0] {
        case ".timer":
            guard words.count == 2, ["on", "off", "detail"].contains(words[1]) else { standardError("usage: .timer on|off|detail\n"); return false }
            timer = words[1] != "off"
            timerDetail = words[1] == "detail"
        case "\\timing":
            if words.count == 2 { timer = words[1] == "on" } else { timer.toggle() }
            print("Timing is \(timer ? "on" : "off").")
        case ".mode":
            guard words.count == 2, let mode = OutputFormat(rawValue: words[1]) else { standardError("usage: .mode box|csv|json\n"); return false }
            format = mode
        case ".quit", ".exit", "\\q":
            exit(0)
        default:
            standardError("unknown meta-command \(words[0])\n")
            return false
        }
        return true
    }

    /// Runs a script: meta-commands on their own lines, SQL statements ended by `;`.
    func runScript(_ text: String) -> Bool {
        var buffer = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            // Comment lines between statements are not part of the next statement.
            if buffer.trimmed.isEmpty, line.trimmed.hasPrefix("--") || line.trimmed.isEmpty { continue }
            if buffer.trimmed.isEmpty, let ok = metaCommand(line) {
                if !ok { return false }
                continue
            }
            buffer += line + "\n"
            if StatementSplitter.isComplete(buffer) {
                if !run(buffer) { return false }
                buffer = ""
            }
        }
        if !buffer.trimmed.isEmpty { return run(buffer) }
        return true
    }

    /// Reads statements from standard input, executing each as soon as it is complete.
    /// On a terminal: a line editor with history; on a pipe: plain lines, flushed per statement.
    func interactive() -> Bool {
        let tty = isatty(0) != 0
        let editor = tty ? LineEditor() : nil
        var buffer = ""
        var ok = true
        if tty { print("kiln — SQL ending with ';'  .timer on|off|detail  .mode box|csv|json  .quit") }
        while true {
            let line: String?
            if let editor { line = editor.readLine(prompt: buffer.isEmpty ? "kiln> " : "  ...> ") } else { line = readLine() }
            guard let line else { break }
            if buffer.trimmed.isEmpty, line.trimmed.hasPrefix("--") || line.trimmed.isEmpty { continue }
            if buffer.trimmed.isEmpty, let result = metaCommand(line) {
                editor?.remember(line)
                if !result { ok = false }
                continue
            }
            buffer += line + "\n"
            if StatementSplitter.isComplete(buffer) {
                editor?.remember(buffer.trimmed)
                if !run(buffer) { ok = false }
                buffer = ""
            }
        }
        if !buffer.trimmed.isEmpty, !run(buffer) { ok = false }
        return tty ? true : ok
    }
}

/// Decides whether buffered text ends with a complete statement (a `;` outside quotes and comments).
enum StatementSplitter {
    static func isComplete(_ text: String) -> Bool {
        var inString = false, inIdentifier = false, inLineComment = false, blockDepth = 0
        var last: Character = " "
        var complete = false
        var previous: Character = " "
        for c in text {
            if inLineComment { if c == "\n" { inLineComment = false }; previous = c; continue }
            if blockDepth > 0 {
                if previous == "*" && c == "/" { blockDepth -= 1; previous = " "; continue }
                previous = c
                continue
            }
            if inString { if c == "'" { inString = false }; previous = c; continue }
            if inIdentifier { if c == "\"" { inIdentifier = false }; previous = c; continue }
            switch c {
            case "'": inString = true
            case "\"": inIdentifier = true
            case "-" where previous == "-": inLineComment = true
            case "*" where previous == "/": blockDepth += 1
            default: break
            }
            if !c.isWhitespace && !inLineComment { last = c; complete = c == ";" }
            previous = c
        }
        _ = last
        return complete && !inString && !inIdentifier && blockDepth == 0
    }
}
