import KilnCore
import KilnSQL
import KilnStorage
import KilnPlanner
#if canImport(Glibc)
import Glibc
#endif

extension Database {
    /// `COPY table [(columns)] FROM 'file' WITH (...)`: streams the file, converting each field
    /// with the column type's input function. All or nothing: on error the table is unchanged,
    /// and the error names the line (and column) of the file.
    func copyFrom(_ tableName: String, columns: [String]?, file: String?, options: CopyOptions, position: Int) throws(DatabaseError) -> QueryResult {
        let (target, targets) = try insertTarget(tableName, columns, position: position)
        if let column = target.constraints.defaults.indices.first(where: { !targets.contains($0) && target.constraints.defaults[$0] != nil }) {
            throw DatabaseError(.featureNotSupported, "COPY that leaves out column \"\(target.columns[column].name)\", which has a DEFAULT, is not supported yet", position: position,
                                hint: "List every column with a DEFAULT in the COPY, or load with INSERT ... SELECT.")
        }
        // Inside a block the rows wait in the transaction's local rows until COMMIT.
        let table = writeTarget(target)
        let csv = options.format == "csv"
        let delimiter = options.delimiter ?? (csv ? "," : "\t")
        guard let delimiterByte = delimiter.asciiValue, let quoteByte = options.quote.asciiValue else {
            throw DatabaseError(.featureNotSupported, "COPY delimiter and quote must be single-byte characters", position: position)
        }
        let format = CopyReader.Format(csv: csv, delimiter: delimiterByte, quote: quoteByte, null: options.null ?? (csv ? "" : "\\N"))
        let reader: CopyReader
        if let file {
            reader = try CopyReader(path: file, format: format)
        } else {
            guard let input = copyInput else {
                throw DatabaseError(.featureNotSupported, "COPY FROM STDIN needs a client that sends the data", position: position,
                                    hint: "Use COPY FROM a file, psql's \\copy, or Database.copyIn.")
            }
            copyInput = nil
            reader = CopyReader(file: input, format: format)
        }
        try table.prepareForAppend()
        let loader = CopyLoader(table: table, columns: targets, name: tableName)
        do throws(DatabaseError) {
            if options.header { _ = try reader.next() }
            var lines = 0
            while try reader.next() {
                try loader.append(reader)
                lines += 1
                // A cancel (Ctrl-C in the shell, a client's cancel request) stops a long load.
                if lines & 4095 == 0, let error = cancellation.error { throw error }
            }
        } catch {
            loader.undo()
            throw error
        }
        try noteAppend(to: target, from: table.rowCount - loader.count, in: table)
        // The optimizer's statistics follow a load.
        if table === target { try table.analyze() }
        return .command("COPY \(loader.count)")
    }

    /// `COPY (query) TO 'file' | STDOUT`: the query's rows stream through the COPY format as
    /// it makes them, to the file, to the statement's stream (`copyOutStream`: the wire, the
    /// shell), or else into the result's `copyData`.
    func copyTo(_ query: SelectStatement, file: String?, options: CopyOptions, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        let format = CopyLineFormat(options)
        var collected: [String] = []
        var sink: ([String]) throws(DatabaseError) -> Void = { collected += $0 }
        var handle: UnsafeMutablePointer<FILE>?
        defer { if let handle { fclose(handle) } }
        if let file {
            guard let opened = fopen(file, "w") else {
                throw DatabaseError(.undefinedFile, "could not open file \"\(file)\" for writing: \(String(cString: strerror(errno)))")
            }
            handle = opened
            sink = { lines throws(DatabaseError) in
                let text = lines.joined()
                let written = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, opened) }
                guard written == text.utf8.count else { throw DatabaseError(.ioError, "could not write COPY file \"\(file)\": \(String(cString: strerror(errno)))") }
            }
        }
        let streamedOut = file == nil && copyOutStream != nil
        if streamedOut, let stream = copyOutStream { sink = stream }
        copyOutStream = nil
        var count = 0
        rowStream = RowStream(columns: { columns throws(DatabaseError) in
            if options.header { try sink([format.line(columns.map { .text($0.name) })]) }
        }, rows: { rows throws(DatabaseError) in
            count += rows.count
            try sink(rows.map(format.line))
        })
        defer { rowStream = nil }
        _ = try perform(.select(query), parameters: parameters)
        if let handle, fflush(handle) != 0 {
            throw DatabaseError(.ioError, "could not write COPY file \"\(file ?? "")\": \(String(cString: strerror(errno)))")
        }
        var copied = QueryResult.command("COPY \(count)")
        if file == nil, !streamedOut { copied.copyData = collected }
        return copied
    }
}

/// Rows as lines of COPY's text or CSV format (delimiter, NULL string, quoting as the options say).
struct CopyLineFormat {
    let csv: Bool
    let delimiter: String
    let null: String
    let quote: Character

    init(_ options: CopyOptions) {
        csv = options.format == "csv"
        delimiter = String(options.delimiter ?? (csv ? "," : "\t"))
        null = options.null ?? (csv ? "" : "\\N")
        quote = options.quote
    }

    /// One row, ending with a newline.
    func line(_ row: [Value]) -> String {
        row.map { value in
            guard let text = value.text else { return null }
            return csv ? csvField(text) : textField(text)
        }.joined(separator: delimiter) + "\n"
    }

    func csvField(_ text: String) -> String {
        if text.isEmpty || text == null || text.contains(where: { String($0) == delimiter || $0 == quote || $0 == "\n" || $0 == "\r" }) {
            return String(quote) + text.replacingAll(String(quote), with: String(quote) + String(quote)) + String(quote)
        }
        return text
    }

    func textField(_ text: String) -> String {
        var escaped = ""
        for c in text {
            switch c {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.append(c)
            }
        }
        return escaped
    }
}

extension Database {
    /// Runs a `COPY ... FROM STDIN` statement over `input` (an open stream, closed when done).
    public func copyIn(_ prepared: PreparedStatement, from input: UnsafeMutablePointer<FILE>) throws(DatabaseError) -> QueryResult {
        copyInput = input
        defer {
            if let unused = copyInput { fclose(unused) }
            copyInput = nil
        }
        return try execute(prepared)
    }
}
