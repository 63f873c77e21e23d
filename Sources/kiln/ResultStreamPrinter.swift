import Kiln

/// Prints the result sets of the statements the shell runs while the queries produce them, in
/// bounded memory where the format allows:
/// - CSV, JSON, line mode and the expanded display print each batch as it comes;
/// - a box on a terminal keeps only its first and last rows (it elides the others anyway);
/// - a box or Markdown table elsewhere (a pipe, a file, `\o`) needs every row for its column
///   widths, and collects them, as psql does.
final class ResultStreamPrinter {
    private enum Mode {
        case incremental
        case elided(head: Int, tail: Int)
        case whole
    }

    private let shell: ShellSession
    private var settings = DisplaySettings()
    private var mode = Mode.whole
    private var columns: [QueryResult.Column] = []
    private var count = 0
    /// The rows kept: all of them (`whole`), or the first ones (`elided`).
    private var kept: [[Value]] = []
    /// `elided`: the latest rows (at most twice the tail; trimmed to it as they come).
    private var recent: [[Value]] = []
    /// The statements' timings, in order (for `\timing detail`).
    private(set) var timings: [QueryResult.Timings] = []

    init(shell: ShellSession) {
        self.shell = shell
    }

    var stream: RowStream {
        RowStream(columns: { [unowned self] in begin($0) }, rows: { [unowned self] in receive($0) },
                  copyData: { [unowned self] in print($0.joined()) }, finished: { [unowned self] in end($0) })
    }

    private func begin(_ columns: [QueryResult.Column]) {
        self.columns = columns
        settings = shell.effectiveDisplay
        count = 0
        kept = []
        recent = []
        switch settings.format {
        case .csv, .json, .line:
            mode = .incremental
        case .box where settings.expanded == .on:
            mode = .incremental
        case .box where settings.expanded == .off:
            if let maxRows = settings.maxRows, maxRows >= 2 {
                mode = .elided(head: (maxRows + 1) / 2, tail: maxRows / 2)
            } else {
                mode = .whole
            }
        case .box, .markdown:
            mode = .whole
        }
        if case .incremental = mode, settings.format == .csv { print(ResultPrinter.csvHeader(columns, settings)) }
    }

    private func receive(_ rows: [[Value]]) {
        defer { count += rows.count }
        switch mode {
        case .incremental:
            var text = ""
            for (offset, row) in rows.enumerated() {
                let number = count + offset + 1
                switch settings.format {
                case .csv: text += ResultPrinter.csvRows([row], settings)
                case .json: text += (number == 1 ? "[" : ",\n") + ResultPrinter.jsonObject(row, columns)
                case .line: text += (number == 1 ? "" : "\n") + ResultPrinter.lineBlock(row, columns, settings)
                case .box, .markdown: text += ResultPrinter.record(number, row, columns, settings)
                }
            }
            print(text)
        case .elided(let head, let tail):
            var rest = rows[...]
            if kept.count < head {
                let taken = rest.prefix(head - kept.count)
                kept += taken
                rest = rest.dropFirst(taken.count)
            }
            recent += rest
            if recent.count > 2 * max(tail, 1024) { recent.removeFirst(recent.count - tail) }
        case .whole:
            kept += rows
        }
    }

    private func end(_ result: QueryResult) {
        if result.hasResultSet {
            switch mode {
            case .incremental:
                switch settings.format {
                case .json: print(count == 0 ? "[]\n" : "]\n")
                case .box where count == 0: print("(0 rows)\n")
                default: break
                }
            case .elided(_, let tail):
                var shown = result
                shown.rows = kept + recent.suffix(tail)
                print(ResultPrinter.box(shown, settings, totalRows: count))
            case .whole:
                var whole = result
                whole.rows = kept
                shell.show(whole)
            }
            kept = []
            recent = []
        }
        if let lines = result.copyData { print(lines.joined()) }
        if let t = result.timings { timings.append(t) }
    }

    private func print(_ text: String) {
        guard !text.isEmpty else { return }
        shell.watch.printing { shell.emit(text) }
    }
}
