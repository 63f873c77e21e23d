#if canImport(Glibc)
import Glibc
#endif

/// A small line editor for the interactive shell: cursor movement, history (persisted to
/// `~/.kiln_history`), Ctrl-A/E/U/K/W, Tab completion, Ctrl-C to drop the line (and the
/// statement typed so far), Ctrl-D to quit on an empty line.
///
/// Used only when standard input is a terminal; pipes read plain lines.
final class LineEditor {
    private var history: [String] = []
    private let historyPath: String?
    private static let historyLimit = 1000
    /// Completions of the word before the cursor: where it starts in the text before the
    /// cursor, and the candidates.
    var completer: ((String) -> (start: String.Index, candidates: [String]))?

    enum Input {
        case line(String)
        /// Ctrl-C: the line and the statement so far are dropped.
        case interrupt
        /// Ctrl-D on an empty line, or the end of input.
        case end
    }

    init() {
        if let home = getenv("HOME") {
            historyPath = String(cString: home) + "/.kiln_history"
            if let text = readFile(historyPath!) {
                history = text.split(separator: "\n").map(String.init).suffix(LineEditor.historyLimit).map { $0 }
            }
        } else {
            historyPath = nil
        }
    }

    /// Adds a completed statement (joined to one line) to the history and saves it.
    func remember(_ entry: String) {
        let line = entry.split(separator: "\n").joined(separator: " ")
        guard !line.isEmpty, history.last != line else { return }
        history.append(line)
        if history.count > LineEditor.historyLimit { history.removeFirst(history.count - LineEditor.historyLimit) }
        guard let historyPath, let file = fopen(historyPath, "w") else { return }
        defer { fclose(file) }
        for item in history { fputs(item + "\n", file) }
    }

    private func write(_ text: String) {
        _ = text.withCString { Glibc.write(1, $0, strlen($0)) }
    }

    /// Reads one line with `prompt`.
    func readLine(prompt: String) -> Input {
        var original = termios()
        guard tcgetattr(0, &original) == 0 else {
            write(prompt)
            return Swift.readLine().map(Input.line) ?? .end
        }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutablePointer(to: &raw.c_cc) { pointer in
            pointer.withMemoryRebound(to: cc_t.self, capacity: Int(NCCS)) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
        }
        tcsetattr(0, TCSANOW, &raw)
        defer { tcsetattr(0, TCSANOW, &original) }

        var line: [Character] = []
        var cursor = 0
        var historyIndex = history.count
        var pending: [UInt8] = []
        func redraw() {
            write("\r\u{1B}[K" + prompt + String(line))
            let back = line.count - cursor
            if back > 0 { write("\u{1B}[\(back)D") }
        }
        var tabs = 0
        write(prompt)
        while true {
            var byte: UInt8 = 0
            guard read(0, &byte, 1) == 1 else { return line.isEmpty ? .end : .line(String(line)) }
            tabs = byte == 9 ? tabs + 1 : 0
            switch byte {
            case 13, 10:
                write("\r\n")
                return .line(String(line))
            case 4:  // Ctrl-D
                if line.isEmpty { write("\r\n"); return .end }
                if cursor < line.count { line.remove(at: cursor); redraw() }
            case 3:  // Ctrl-C: drop the line, as psql does
                write("^C\r\n")
                return .interrupt
            case 9:  // Tab: completion, or a tab character where there is none (COPY data)
                guard let completer else {
                    line.insert("\t", at: cursor)
                    cursor += 1
                    redraw()
                    continue
                }
                let before = String(line[..<cursor])
                let (start, candidates) = completer(before)
                let typed = before[start...]
                guard !candidates.isEmpty else { write("\u{07}"); continue }
                let common = candidates.dropFirst().reduce(candidates[0]) { prefix, candidate in
                    String(zip(prefix, candidate).prefix { $0.lowercased() == $1.lowercased() }.map(\.0))
                }
                if candidates.count == 1 || common.count > typed.count {
                    let replacement = candidates.count == 1 ? candidates[0] + " " : common
                    let startOffset = before.distance(from: before.startIndex, to: start)
                    line.replaceSubrange(startOffset..<cursor, with: Array(replacement))
                    cursor = startOffset + replacement.count
                    redraw()
                } else if tabs >= 2 {
                    // A second Tab lists the candidates, then the line again.
                    write("\r\n" + candidates.prefix(200).joined(separator: "  ") + (candidates.count > 200 ? "  ..." : "") + "\r\n")
                    redraw()
                } else {
                    write("\u{07}")
                }
            case 23:  // Ctrl-W: delete the word before the cursor
                var start = cursor
                while start > 0, line[start - 1] == " " { start -= 1 }
                while start > 0, line[start - 1] != " " { start -= 1 }
                line.removeSubrange(start..<cursor)
                cursor = start
                redraw()
            case 1: cursor = 0; redraw()
            case 5: cursor = line.count; redraw()
            case 21: line.removeFirst(cursor); cursor = 0; redraw()
            case 11: line.removeLast(line.count - cursor); redraw()
            case 127, 8:
                if cursor > 0 { line.remove(at: cursor - 1); cursor -= 1; redraw() }
            case 27:
                var sequence: [UInt8] = [0, 0]
                guard read(0, &sequence[0], 1) == 1, read(0, &sequence[1], 1) == 1, sequence[0] == UInt8(ascii: "[") else { continue }
                switch sequence[1] {
                case UInt8(ascii: "A"):
                    if historyIndex > 0 { historyIndex -= 1; line = Array(history[historyIndex]); cursor = line.count; redraw() }
                case UInt8(ascii: "B"):
                    if historyIndex < history.count {
                        historyIndex += 1
                        line = historyIndex < history.count ? Array(history[historyIndex]) : []
                        cursor = line.count
                        redraw()
                    }
                case UInt8(ascii: "C"): if cursor < line.count { cursor += 1; redraw() }
                case UInt8(ascii: "D"): if cursor > 0 { cursor -= 1; redraw() }
                case UInt8(ascii: "H"): cursor = 0; redraw()
                case UInt8(ascii: "F"): cursor = line.count; redraw()
                case UInt8(ascii: "3"):
                    var tilde: UInt8 = 0
                    _ = read(0, &tilde, 1)
                    if cursor < line.count { line.remove(at: cursor); redraw() }
                default: break
                }
            default:
                guard byte >= 32 else { continue }
                // Collect UTF-8 sequences before turning them into a character.
                pending.append(byte)
                let expected = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                while pending.count < expected {
                    var next: UInt8 = 0
                    guard read(0, &next, 1) == 1 else { break }
                    pending.append(next)
                }
                let text = String(decoding: pending, as: UTF8.self)
                pending.removeAll()
                let atEnd = cursor == line.count
                for character in text { line.insert(character, at: cursor); cursor += 1 }
                // Typing at the end of the line echoes the character; elsewhere the line is redrawn.
                if atEnd { write(text) } else { redraw() }
            }
        }
    }
}
