import Kiln

/// Output formats of the shell (`.mode`, `--format`).
enum OutputFormat: String, CaseIterable {
    case box, csv, json, markdown, line
}

/// How results are shown: the shell's display settings.
struct DisplaySettings {
    var format = OutputFormat.box
    /// Column names (and, in boxes, types) above the rows.
    var headers = true
    /// A box shows the column types under the names.
    var types = true
    /// A box ends with the row count.
    var footer = true
    /// `.nullvalue` / `\pset null`: the text of NULL (nil: `NULL`, dimmed on a terminal).
    var nullValue: String?
    /// psql's `\x`: one block per row (auto: when a box would be wider than the terminal).
    var expanded = Expanded.off
    /// Rows a box shows before it elides the middle (nil: all; the shell sets 40 on a terminal).
    var maxRows: Int?
    /// Characters a box may be wide before middle columns are left out (nil: no limit).
    var maxWidth: Int?
    /// Dim NULLs with an ANSI escape (output to a terminal).
    var color = false

    enum Expanded: String { case off, on, auto }
}

/// Renders result sets as psql/duckdb-style boxes, RFC 4180 CSV, JSON, Markdown tables, or
/// one `column = value` line per cell.
enum ResultPrinter {
    static func render(_ result: QueryResult, _ settings: DisplaySettings) -> String {
        switch settings.format {
        case .box:
            if settings.expanded == .on { return expanded(result, settings) }
            return box(result, settings)
        case .csv: return csv(result, settings)
        case .json: return json(result)
        case .markdown: return markdown(result, settings)
        case .line: return lines(result, settings)
        }
    }

    /// The shown text of a cell and whether it is a dimmed NULL.
    static func cell(_ value: Value, _ settings: DisplaySettings) -> (text: String, null: Bool) {
        guard let text = value.text else { return (settings.nullValue ?? "NULL", settings.nullValue == nil && settings.color) }
        return (visible(text), false)
    }

    /// Line breaks and tabs shown as escapes, so that a cell stays on one line of its box.
    static func visible(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Cuts `text` to `width` characters, the last one an ellipsis.
    static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }

    // MARK: - Boxes

    /// A box; on a terminal, long results keep their first and last rows around a `·` row, and
    /// wide results leave out middle columns (shown as one `…` column) and clip long cells.
    /// - Parameter totalRows: the result's rows when `result` holds only its first and last
    ///   ones (a streamed result, elided as it arrived).
    static func box(_ result: QueryResult, _ settings: DisplaySettings, totalRows: Int? = nil) -> String {
        let columnCount = result.columns.count
        let total = totalRows ?? result.rows.count
        var shownRows = Array(result.rows.indices)
        var elided = false
        if let maxRows = settings.maxRows, total > maxRows, maxRows >= 2 {
            let head = (maxRows + 1) / 2, tail = min(maxRows / 2, result.rows.count - head)
            shownRows = Array(0..<head) + Array((result.rows.count - tail)..<result.rows.count)
            elided = true
        }
        let headers = result.columns.map(\.name)
        let types = result.columns.map { $0.type.description }
        let cells = shownRows.map { result.rows[$0].map { cell($0, settings) } }
        var widths = (0..<columnCount).map { settings.headers ? max(headers[$0].count, settings.types ? types[$0].count : 0) : 1 }
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.text.count) } }

        // Which columns fit: all, or the first and last ones around a `…` column.
        var shown = Array(0..<columnCount)
        var gap: Int?
        if let maxWidth = settings.maxWidth {
            // Long cells are clipped first (a column keeps at least its header's width, or 20).
            func total(_ columns: [Int], gapped: Bool) -> Int { columns.reduce(1) { $0 + widths[$1] + 3 } + (gapped ? 4 : 0) }
            if total(shown, gapped: false) > maxWidth {
                for i in widths.indices { widths[i] = min(widths[i], max(20, settings.headers ? headers[i].count : 0)) }
            }
            if total(shown, gapped: false) > maxWidth, columnCount > 1 {
                var left = [0], right = [columnCount - 1]
                if total(left + right, gapped: true) > maxWidth { right = [] }
                while left.count + right.count < columnCount {
                    let takeLeft = left.count <= right.count
                    let next = takeLeft ? left.last! + 1 : right.first! - 1
                    let candidate = takeLeft ? left + [next] + right : left + [next] + right
                    guard total(candidate, gapped: true) <= maxWidth else { break }
                    if takeLeft { left.append(next) } else { right.insert(next, at: 0) }
                }
                if left.count + right.count < columnCount {
                    shown = left + right
                    gap = left.count
                }
            }
            if shown.count == 1, total(shown, gapped: gap != nil) > maxWidth {
                widths[shown[0]] = max(1, maxWidth - 4 - (gap != nil ? 4 : 0))
            }
        }
        var layout: [(width: Int, column: Int?)] = shown.map { (widths[$0], $0) }
        if let gap { layout.insert((1, nil), at: gap) }

        func rule(_ left: String, _ mid: String, _ right: String) -> String {
            left + layout.map { String(repeating: "─", count: $0.width + 2) }.joined(separator: mid) + right
        }
        func line(_ value: (Int) -> (text: String, null: Bool, right: Bool), filler: String = "…") -> String {
            "│" + layout.map { slot -> String in
                guard let column = slot.column else { return " " + filler + " " }
                let (raw, null, right) = value(column)
                let text = clip(raw, slot.width)
                let pad = String(repeating: " ", count: slot.width - text.count)
                let shownText = null ? "\u{1B}[2m" + text + "\u{1B}[0m" : text
                return " " + (right ? pad + shownText : shownText + pad) + " "
            }.joined(separator: "│") + "│"
        }
        let numeric = result.columns.map { $0.type.isNumeric }
        var out = [rule("┌", "┬", "┐")]
        if settings.headers {
            out.append(line { (headers[$0], false, false) })
            if settings.types { out.append(line { (types[$0], false, false) }) }
            out.append(rule("├", "┼", "┤"))
        }
        for (position, row) in cells.enumerated() {
            if elided, position == (shownRows.count + 1) / 2 {
                for _ in 0..<3 { out.append(line({ _ in ("·", false, false) }, filler: "·")) }
            }
            out.append(line { (row[$0].text, row[$0].null, numeric[$0]) })
        }
        out.append(rule("└", "┴", "┘"))
        var footer = "(\(total) row\(total == 1 ? "" : "s")"
        if elided { footer += ", \(shownRows.count) shown" }
        if gap != nil { footer += "; \(columnCount) columns, \(shown.count) shown" }
        if settings.footer || elided || gap != nil { out.append(footer + ")") }
        return out.joined(separator: "\n") + "\n"
    }

    /// psql's expanded display: a `-[ RECORD n ]` block per row, one `name | value` line per column.
    static func expanded(_ result: QueryResult, _ settings: DisplaySettings) -> String {
        guard !result.rows.isEmpty else { return "(0 rows)\n" }
        var out = ""
        for (index, row) in result.rows.enumerated() { out += record(index + 1, row, result.columns, settings) }
        return out
    }

    /// Row `number` of an expanded display.
    static func record(_ number: Int, _ row: [Value], _ columns: [QueryResult.Column], _ settings: DisplaySettings) -> String {
        let width = columns.map(\.name.count).max() ?? 0
        let title = "-[ RECORD \(number) ]"
        var out = title + String(repeating: "-", count: max(0, width + 3 - title.count)) + "\n"
        for (column, value) in zip(columns, row) {
            let (text, null) = cell(value, settings)
            let shown = null ? "\u{1B}[2m" + text + "\u{1B}[0m" : text
            out += column.name + String(repeating: " ", count: width - column.name.count) + " | " + shown + "\n"
        }
        return out
    }

    /// Whether a box of `result` would be wider than `width` (`\x auto`).
    static func isWider(_ result: QueryResult, than width: Int, _ settings: DisplaySettings) -> Bool {
        var widths = result.columns.map { max($0.name.count, $0.type.description.count) }
        for row in result.rows.prefix(200) {
            for (i, value) in row.enumerated() { widths[i] = max(widths[i], cell(value, settings).text.count) }
        }
        return widths.reduce(1) { $0 + $1 + 3 } > width
    }

    // MARK: - Other formats

    static func csvField(_ text: String) -> String {
        // Bytes, not Characters: the four specials are ASCII, and a Character walk costs
        // grapheme breaking per cell.
        if text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
            return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
        }
        return text
    }

    static func csv(_ result: QueryResult, _ settings: DisplaySettings) -> String {
        csvHeader(result.columns, settings) + csvRows(result.rows, settings)
    }

    static func csvHeader(_ columns: [QueryResult.Column], _ settings: DisplaySettings) -> String {
        settings.headers ? columns.map { csvField($0.name) }.joined(separator: ",") + "\r\n" : ""
    }

    static func csvRows(_ rows: [[Value]], _ settings: DisplaySettings) -> String {
        let null = settings.nullValue.map(csvField) ?? ""
        var out = ""
        for row in rows { out += row.map { $0.text.map(csvField) ?? null }.joined(separator: ",") + "\r\n" }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func json(_ result: QueryResult) -> String {
        "[" + result.rows.map { jsonObject($0, result.columns) }.joined(separator: ",\n") + "]\n"
    }

    /// One row as a JSON object.
    static func jsonObject(_ row: [Value], _ columns: [QueryResult.Column]) -> String {
            "{" + zip(columns, row).map { column, value -> String in
                let rendered: String
                switch value {
                case .null: rendered = "null"
                case .bool(let b): rendered = b ? "true" : "false"
                case .int16, .int32, .int64, .numeric: rendered = value.text!
                case .float32, .float64:
                    let t = value.text!
                    rendered = Double(t).map { $0.isFinite } == true ? t : jsonString(t)
                default: rendered = jsonString(value.text!)
                }
                return jsonString(column.name) + ":" + rendered
            }.joined(separator: ",") + "}"
    }

    /// A GitHub-flavoured Markdown table (`|` in cells escaped, numbers right-aligned).
    static func markdown(_ result: QueryResult, _ settings: DisplaySettings) -> String {
        func escape(_ text: String) -> String { visible(text).replacingAll("|", with: "\\|") }
        let headers = result.columns.map { escape($0.name) }
        let cells = result.rows.map { $0.map { escape($0.text ?? settings.nullValue ?? "NULL") } }
        var widths = headers.map { max(3, $0.count) }
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let numeric = result.columns.map { $0.type.isNumeric }
        func line(_ values: [String], right: [Bool]) -> String {
            "| " + values.enumerated().map { i, v in
                let pad = String(repeating: " ", count: widths[i] - v.count)
                return right[i] ? pad + v : v + pad
            }.joined(separator: " | ") + " |"
        }
        var out: [String] = []
        if settings.headers {
            out.append(line(headers, right: numeric.map { _ in false }))
            out.append("|" + widths.enumerated().map { i, w in
                numeric[i] ? String(repeating: "-", count: w + 1) + ":" : String(repeating: "-", count: w + 2)
            }.joined(separator: "|") + "|")
        }
        for row in cells { out.append(line(row, right: numeric)) }
        return out.joined(separator: "\n") + "\n"
    }

    /// One `column = value` line per cell, a blank line between rows (SQLite's line mode).
    static func lines(_ result: QueryResult, _ settings: DisplaySettings) -> String {
        result.rows.map { lineBlock($0, result.columns, settings) }.joined(separator: "\n")
    }

    /// One row in line mode.
    static func lineBlock(_ row: [Value], _ columns: [QueryResult.Column], _ settings: DisplaySettings) -> String {
        let width = columns.map(\.name.count).max() ?? 0
        return zip(columns, row).map { column, value in
            String(repeating: " ", count: width - column.name.count) + column.name + " = " + (value.text ?? settings.nullValue ?? "NULL")
        }.joined(separator: "\n") + "\n"
    }
}
