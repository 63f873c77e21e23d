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
            terminate(0)
        default:
            standardError("unknown meta-command \(words[0])\n")
            return false
        }
        return true
    }

    /// Runs a script: meta-commands on their own lines, SQL statements ended by `;`.
    func runScript(_ text: String) -> Bool {
        var buffer = StatementBuffer()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            // Comment lines between statements are not part of the next statement.
            if buffer.isEmpty, line.trimmed.hasPrefix("--") || line.trimmed.isEmpty { continue }
            if buffer.isEmpty, let ok = metaCommand(line) {
                if !ok { return false }
                continue
            }
            buffer.append(line)
            if buffer.isComplete {
                if !run(buffer.text) { return false }
                buffer = StatementBuffer()
            }
        }
        if !buffer.isEmpty { return run(buffer.text) }
        return true
    }

    /// Reads statements from standard input, executing each as soon as it is complete.
    /// On a terminal: a line editor with history; on a pipe: plain lines, flushed per statement.
    func interactive() -> Bool {
        let tty = isatty(0) != 0
        let editor = tty ? LineEditor() : nil
        var buffer = StatementBuffer()
        var ok = true
        if tty { print("kiln — SQL ending with ';'  .timer on|off|detail  .mode box|csv|json  .quit") }
        while true {
            let line: String?
            if let editor { line = editor.readLine(prompt: buffer.text.isEmpty ? "kiln> " : "  ...> ") } else { line = readLine() }
            guard let line else { break }
            if buffer.isEmpty, line.trimmed.hasPrefix("--") || line.trimmed.isEmpty { continue }
            if buffer.isEmpty, let result = metaCommand(line) {
                editor?.remember(line)
                if !result { ok = false }
                continue
            }
            buffer.append(line)
            if buffer.isComplete {
                editor?.remember(buffer.text.trimmed)
                if !run(buffer.text) { ok = false }
                buffer = StatementBuffer()
            }
        }
        if !buffer.isEmpty, !run(buffer.text) { ok = false }
        return tty ? true : ok
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
