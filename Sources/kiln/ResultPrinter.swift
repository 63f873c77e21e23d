import Kiln

/// Output formats of the shell.
enum OutputFormat: String {
    case box, csv, json
}

/// Renders result sets as psql/duckdb-style boxes, RFC 4180 CSV or JSON lines.
enum ResultPrinter {
    static func render(_ result: QueryResult, format: OutputFormat) -> String {
        switch format {
        case .box: return box(result)
        case .csv: return csv(result)
        case .json: return json(result)
        }
    }

    static func box(_ result: QueryResult) -> String {
        let headers = result.columns.map(\.name)
        let types = result.columns.map { $0.type.description }
        let cells = result.rows.map { $0.map { $0.text ?? "NULL" } }
        var widths = zip(headers, types).map { max($0.count, $1.count) }
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ left: String, _ mid: String, _ right: String) -> String {
            left + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: mid) + right
        }
        func row(_ values: [String], rightAlign: [Bool]) -> String {
            "│" + values.enumerated().map { i, v in
                let pad = String(repeating: " ", count: widths[i] - v.count)
                return " " + (rightAlign[i] ? pad + v : v + pad) + " "
            }.joined(separator: "│") + "│"
        }
        let numeric = result.columns.map { $0.type.isNumeric }
        var out = [line("┌", "┬", "┐"), row(headers, rightAlign: headers.map { _ in false }), row(types, rightAlign: types.map { _ in false }), line("├", "┼", "┤")]
        for r in cells { out.append(row(r, rightAlign: numeric)) }
        out.append(line("└", "┴", "┘"))
        out.append("(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))")
        return out.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        // Bytes, not Characters: the four specials are ASCII, and a Character walk costs
        // grapheme breaking per cell.
        if text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
            return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
        }
        return text
    }

    static func csv(_ result: QueryResult) -> String {
        var out = result.columns.map { csvField($0.name) }.joined(separator: ",") + "\r\n"
        for row in result.rows { out += row.map { $0.text.map(csvField) ?? "" }.joined(separator: ",") + "\r\n" }
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
        let rows = result.rows.map { row in
            "{" + zip(result.columns, row).map { column, value -> String in
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
        return "[" + rows.joined(separator: ",\n") + "]\n"
    }
}
