import Kiln
#if canImport(Glibc)
import Glibc
#endif

/// The shell's meta-commands, in psql's (`\dt`) and DuckDB's (`.tables`) spelling.
extension ShellSession {
    /// One line of `\?` per command (both spellings where both exist).
    static let metaCommandHelp: [(names: [String], arguments: String, text: String)] = [
        (["\\?", ".help"], "", "show this help"),
        (["\\q", ".quit", ".exit"], "", "quit kiln"),
        (["\\d", ".schema"], "[NAME]", "describe a table, view, sequence or index (.schema: its CREATE statement)"),
        (["\\d"], "", "list tables, views and sequences"),
        (["\\dt", ".tables"], "[PATTERN]", "list tables (* and ? are wildcards)"),
        (["\\di"], "[PATTERN]", "list indexes"),
        (["\\ds"], "[PATTERN]", "list sequences"),
        (["\\dv"], "[PATTERN]", "list views"),
        (["\\dn"], "", "list schemas"),
        (["\\du"], "", "list roles"),
        (["\\l"], "", "list databases"),
        (["\\timing", ".timer"], "[on|off]", "show how long each statement takes (.timer detail: compile and execution)"),
        (["\\x"], "[on|off|auto]", "expanded display: one block per row"),
        (["\\i", ".read"], "FILE", "run the statements in FILE"),
        (["\\o", ".output"], "[FILE]", "send results to FILE (no FILE: to standard output)"),
        (["\\copy"], "TABLE|(QUERY) FROM|TO FILE [options]", "COPY with a file on this side (stdin, stdout, pstdin, pstdout too)"),
        ([".mode"], "box|csv|json|markdown|line", "how results are shown"),
        ([".headers", "\\t"], "on|off", "column names above results (\\t: tuples only, the reverse)"),
        ([".nullvalue", "\\pset null"], "TEXT", "how NULL is shown (default: NULL, dimmed on a terminal)"),
        ([".maxrows"], "N", "rows shown on a terminal before the middle is elided (0: all; default 40)"),
        ([".maxwidth"], "N", "characters a result may be wide on a terminal (0: no limit; default: the terminal's)"),
        ([".progress"], "on|off", "a progress bar for statements that run over 2 seconds"),
        (["\\set"], "[NAME [VALUE]]", "set a variable (:NAME, :'NAME', :\"NAME\" in SQL); no arguments: list them"),
        (["\\unset"], "NAME", "remove a variable"),
        (["\\echo"], "TEXT", "print TEXT"),
        (["\\e"], "[FILE]", "edit the statement (or FILE) in $VISUAL or $EDITOR, then run it"),
        (["\\p"], "", "show the statement typed so far"),
        (["\\r"], "", "clear the statement typed so far"),
        (["\\g"], "", "run the statement typed so far (or the last one again)"),
    ]

    /// Every meta-command name (Tab completion).
    static let metaCommandNames: [String] = {
        var names = Set(metaCommandHelp.flatMap(\.names).map { String($0.split(separator: " ")[0]) })
        names.formUnion(["\\dt+", "\\d+", "\\pset", "\\ir", ".once"])
        return names.sorted()
    }()

    /// One line per meta-command, descriptions aligned (`\?` and `kiln --help`).
    static var metaCommandLines: String {
        var out = ""
        for entry in metaCommandHelp {
            let left = "  " + entry.names.joined(separator: ", ") + (entry.arguments.isEmpty ? "" : " " + entry.arguments)
            out += left.count < 44 ? left + String(repeating: " ", count: 44 - left.count) + entry.text + "\n" : left + "\n" + String(repeating: " ", count: 44) + entry.text + "\n"
        }
        return out
    }

    var helpText: String {
        "Meta-commands (psql's and DuckDB's spellings):\n" + ShellSession.metaCommandLines
            + "Statements end with ';'. Ctrl-C cancels a running statement; Tab completes names and keywords.\n"
    }

    /// Runs a meta-command line (starting with `\` or `.`). Returns false when it failed.
    func metaCommand(_ line: String, at location: SourceLocation?) -> Bool {
        var command = Substring(line)
        // `\dt+`, `\dS`: psql's modifiers show more; the plain form is what Kiln has.
        let nameEnd = command.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? command.endIndex
        var name = String(command[..<nameEnd])
        command = command[nameEnd...].drop(while: { $0 == " " || $0 == "\t" })
        if name.hasPrefix("\\d"), name.count > 2 { name = String(name.prefix(2)) + name.dropFirst(2).filter { $0 != "+" && $0 != "S" } }
        // Variables are substituted in arguments too (`\echo :n`, `\i :file`).
        command = Substring(variables.interpolate(String(command)))
        let rest = String(command)
        let words = metaArguments(command)
        func usage(_ text: String) -> Bool {
            complain("usage: \(text)", at: location)
            return false
        }
        func onOff(_ word: String?, current: Bool) -> Bool? {
            guard let word else { return !current }
            switch word.lowercased() {
            case "on", "true", "yes", "1": return true
            case "off", "false", "no", "0": return false
            default: return nil
            }
        }
        switch name {
        case "\\?", ".help", "\\h", "\\help":
            emit(helpText)
        case "\\q", ".quit", ".exit":
            terminate(0)
        case "\\d":
            return words.isEmpty ? listRelations(kinds: ["r", "v", "S"], pattern: nil) : words.allSatisfy { describe($0) }
        case "\\dt": return listRelations(kinds: ["r"], pattern: words.first)
        case "\\di": return listRelations(kinds: ["i"], pattern: words.first)
        case "\\ds": return listRelations(kinds: ["S"], pattern: words.first)
        case "\\dv": return listRelations(kinds: ["v"], pattern: words.first)
        case "\\dn": return listSchemas()
        case "\\du", "\\dg": return listRoles()
        case "\\l", "\\list": return listDatabases()
        case ".tables": return listTableNames(pattern: words.first)
        case ".schema": return printSchema(pattern: words.first)
        case ".timer":
            guard words.count == 1, ["on", "off", "detail"].contains(words[0]) else { return usage(".timer on|off|detail") }
            timer = words[0] != "off"
            timerDetail = words[0] == "detail"
        case "\\timing":
            guard let value = onOff(words.first, current: timer) else { return usage("\\timing [on|off]") }
            timer = value
            timerDetail = false
            emit("Timing is \(timer ? "on" : "off").\n")
        case "\\x":
            if let word = words.first {
                guard let mode = DisplaySettings.Expanded(rawValue: word.lowercased()) else { return usage("\\x [on|off|auto]") }
                display.expanded = mode
            } else {
                display.expanded = display.expanded == .off ? .on : .off
            }
            emit(display.expanded == .auto ? "Expanded display is used automatically.\n" : "Expanded display is \(display.expanded.rawValue).\n")
        case "\\i", "\\ir", "\\include", ".read":
            guard words.count == 1 else { return usage("\(name) FILE") }
            return include(words[0], relative: name == "\\ir" ? location : nil, at: location)
        case "\\o", "\\out", ".output", ".once":
            return redirect(to: words.first, at: location)
        case "\\copy":
            return copy(rest, at: location)
        case ".mode":
            guard words.count == 1, let mode = OutputFormat(rawValue: words[0].lowercased()) else {
                return usage(".mode " + OutputFormat.allCases.map(\.rawValue).joined(separator: "|"))
            }
            display.format = mode
        case ".headers", ".header":
            guard words.count == 1, let value = onOff(words[0], current: display.headers) else { return usage(".headers on|off") }
            display.headers = value
        case "\\t":
            guard let value = onOff(words.first, current: !display.headers) else { return usage("\\t [on|off]") }
            display.headers = !value
            emit("Tuples only is \(value ? "on" : "off").\n")
        case ".nullvalue":
            guard words.count <= 1 else { return usage(".nullvalue TEXT") }
            display.nullValue = words.first
        case "\\pset":
            return pset(words, at: location)
        case ".maxrows", ".maxwidth":
            guard words.count == 1, let value = Int(words[0]), value >= 0 else { return usage("\(name) N") }
            if name == ".maxrows" { display.maxRows = value } else { display.maxWidth = value }
        case ".progress":
            guard words.count == 1, let value = onOff(words[0], current: progress) else { return usage(".progress on|off") }
            progress = value
        case "\\set":
            return set(words, at: location)
        case "\\unset":
            guard words.count == 1 else { return usage("\\unset NAME") }
            variables[words[0]] = nil
        case "\\echo":
            emit(words.joined(separator: " ") + "\n")
        case "\\e", "\\edit":
            return edit(file: words.first, at: location)
        case "\\p", "\\print":
            emit(buffer.isEmpty ? (lastStatement.isEmpty ? "Query buffer is empty.\n" : lastStatement) : buffer.text)
        case "\\r", "\\reset":
            buffer = StatementBuffer()
            emit("Query buffer reset (cleared).\n")
        case "\\g":
            let text = buffer.isEmpty ? lastStatement : buffer.text
            buffer = StatementBuffer()
            guard !text.isEmpty else { return true }
            return run(text, at: location)
        default:
            complain("invalid command \(name)\nTry \\? or .help for help.", at: location)
            return false
        }
        return true
    }

    private func pset(_ words: [String], at location: SourceLocation?) -> Bool {
        guard let option = words.first else {
            emit("format \(display.format.rawValue)\nnull '\(display.nullValue ?? "NULL")'\nexpanded \(display.expanded.rawValue)\ntuples_only \(display.headers ? "off" : "on")\n")
            return true
        }
        switch option {
        case "null":
            display.nullValue = words.count > 1 ? words[1] : nil
            emit("Null display is \"\(display.nullValue ?? "NULL")\".\n")
        case "format":
            let formats = ["aligned": OutputFormat.box, "box": .box, "csv": .csv, "json": .json, "markdown": .markdown]
            guard words.count == 2, let format = formats[words[1].lowercased()] else {
                complain("\\pset: allowed formats are aligned, csv, json, markdown", at: location)
                return false
            }
            display.format = format
            emit("Output format is \(words[1].lowercased()).\n")
        case "expanded", "x":
            return metaCommand("\\x" + (words.count > 1 ? " " + words[1] : ""), at: location)
        case "tuples_only", "t":
            return metaCommand("\\t" + (words.count > 1 ? " " + words[1] : ""), at: location)
        default:
            complain("\\pset: unknown option: \(option)", at: location)
            return false
        }
        return true
    }

    /// `\set`: lists the variables, or sets one (the rest of the words, concatenated).
    private func set(_ words: [String], at location: SourceLocation?) -> Bool {
        guard let name = words.first else {
            emit(variables.values.sorted { $0.key < $1.key }.map { "\($0.key) = '\($0.value)'\n" }.joined())
            return true
        }
        guard ShellVariables.isValidName(name) else {
            complain("\\set: invalid variable name: \"\(name)\"", at: location)
            return false
        }
        let value = words.dropFirst().joined()
        if name == "ON_ERROR_STOP", variables.isOn(name) == nil, !["on", "off", "true", "false", "1", "0", "yes", "no", ""].contains(value.lowercased()) {
            complain("unrecognized value \"\(value)\" for \"ON_ERROR_STOP\": Boolean expected", at: location)
            return false
        }
        variables[name] = value
        return true
    }

    /// `\i FILE`: runs the file's statements and meta-commands (errors located in it). `\ir`
    /// reads a relative name from the including file's folder.
    private func include(_ path: String, relative: SourceLocation?, at location: SourceLocation?) -> Bool {
        var resolved = path
        if let relative, !path.hasPrefix("/"), let slash = relative.name.lastIndex(of: "/") {
            resolved = String(relative.name[...slash]) + path
        }
        guard includeDepth < 16 else {
            complain("\\i: files include each other more than 16 deep", at: location)
            return false
        }
        guard let text = readFile(resolved) else {
            complain("\(resolved): \(String(cString: strerror(errno)))", at: location)
            return false
        }
        includeDepth += 1
        defer { includeDepth -= 1 }
        return runScript(text, name: resolved)
    }

    /// `\o FILE`: results to FILE (truncated); `\o`: back to standard output.
    private func redirect(to path: String?, at location: SourceLocation?) -> Bool {
        if let output { fclose(output) }
        output = nil
        guard let path else { return true }
        guard let file = fopen(path, "w") else {
            complain("\(path): \(String(cString: strerror(errno)))", at: location)
            return false
        }
        output = file
        return true
    }

    /// `\copy`: COPY with a file the shell reads or writes (`stdin`: the following lines of
    /// input up to `\.`; `pstdin`, `pstdout`: the shell's own standard input and output).
    private func copy(_ arguments: String, at location: SourceLocation?) -> Bool {
        guard let split = CopyCommand(arguments) else {
            complain("\\copy: arguments required: \\copy TABLE [(COLUMNS)] | (QUERY) FROM|TO FILE|stdin|stdout [options]", at: location)
            return false
        }
        let sql = "COPY \(split.target) \(split.from ? "FROM STDIN" : "TO STDOUT") \(split.options)"
        do throws(DatabaseError) {
            if split.from {
                let input: UnsafeMutablePointer<FILE>
                switch split.file.lowercased() {
                case "stdin":
                    // The following lines of the input being read, up to `\.`.
                    guard let file = tmpfile() else { throw DatabaseError(.ioError, "could not make a temporary file: \(String(cString: strerror(errno)))") }
                    if interactive, isatty(0) != 0 { print("Enter data to be copied followed by a newline.\nEnd with a backslash and a period on a line by itself.") }
                    reading: while true {
                        switch nextInputLine?() ?? .end {
                        case .line(let line):
                            if line == "\\." { break reading }
                            fputs(line + "\n", file)
                        case .end:
                            break reading
                        case .interrupt:
                            // Ctrl-C while typing the data: nothing is copied, as in psql.
                            fclose(file)
                            throw DatabaseError(SQLState("57014"), "canceling statement due to user request")
                        }
                    }
                    rewind(file)
                    input = file
                case "pstdin":
                    guard let file = fdopen(dup(0), "r") else { throw DatabaseError(.ioError, "could not read standard input") }
                    input = file
                default:
                    guard let file = fopen(split.file, "r") else {
                        complain("\(split.file): \(String(cString: strerror(errno)))", at: location)
                        return false
                    }
                    input = file
                }
                guard let prepared = try database.prepare(sql) else { return false }
                let result = try watch.watch { () throws(DatabaseError) in try database.copyIn(prepared, from: input) }
                emit(result.commandTag + "\n")
            } else {
                // The lines go to their destination as the query makes them.
                var destination: UnsafeMutablePointer<FILE>?
                var write: (String) -> Bool
                switch split.file.lowercased() {
                case "stdout": write = { [unowned self] text in emit(text); return true }
                case "pstdout": write = { text in print(text, terminator: ""); return true }
                default:
                    guard let file = fopen(split.file, "w") else {
                        complain("\(split.file): \(String(cString: strerror(errno)))", at: location)
                        return false
                    }
                    destination = file
                    write = { text in fputs(text, file) >= 0 }
                }
                var failed = false
                let stream = RowStream(columns: { _ in }, rows: { _ in }, copyData: { lines throws(DatabaseError) in
                    guard write(lines.joined()) else {
                        failed = true
                        throw DatabaseError(.ioError, "\(split.file): \(String(cString: strerror(errno)))")
                    }
                })
                let result: QueryResult?
                do {
                    result = try watch.watch { () throws(DatabaseError) in try database.execute(sql, streaming: stream).last }
                } catch {
                    if let destination { fclose(destination) }
                    throw error
                }
                if let destination, fclose(destination) != 0 || failed {
                    complain("\(split.file): \(String(cString: strerror(errno)))", at: location)
                    return false
                }
                emit((result?.commandTag ?? "COPY 0") + "\n")
            }
        } catch {
            report(error, sql: sql, at: location)
            return false
        }
        fflush(nil)
        return true
    }

    /// `\e [FILE]`: edits the statement typed so far (or the last one, or FILE) with `$VISUAL`,
    /// `$EDITOR` or `vi`; the edited text becomes the statement being typed, and runs when it
    /// ends with `;`.
    private func edit(file: String?, at location: SourceLocation?) -> Bool {
        let path: String
        var temporary: String?
        if let file {
            path = file
        } else {
            var template = Array("/tmp/kiln-edit-XXXXXX.sql".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
            guard fd >= 0 else {
                complain("\\e: could not make a temporary file: \(String(cString: strerror(errno)))", at: location)
                return false
            }
            path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            temporary = path
            let text = buffer.isEmpty ? lastStatement : buffer.text
            _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
            close(fd)
        }
        defer { if let temporary { unlink(temporary) } }
        let editor = [getenv("VISUAL"), getenv("EDITOR")].compactMap { $0 }.map { String(cString: $0) }.first { !$0.isEmpty } ?? "vi"
        guard runChild(["/bin/sh", "-c", "exec \(editor) \"$0\"", path]) else {
            complain("\\e: the editor \(editor) failed", at: location)
            return false
        }
        guard let edited = readFile(path) else {
            complain("\(path): \(String(cString: strerror(errno)))", at: location)
            return false
        }
        buffer = StatementBuffer()
        for line in edited.split(separator: "\n", omittingEmptySubsequences: false) where !(line.isEmpty && buffer.isEmpty) {
            buffer.append(String(line))
        }
        if buffer.isEmpty { buffer = StatementBuffer() }
        return true
    }

    /// Runs a program in the foreground (SIGINT unblocked for it) and waits. True on exit status 0.
    private func runChild(_ arguments: [String]) -> Bool {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, arguments[0], nil, &attributes, &argv, environ) == 0 else { return false }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return status == 0
    }
}

/// `\copy`'s arguments: what is copied, the direction, the file, and COPY's options.
struct CopyCommand {
    var target: String
    var from: Bool
    var file: String
    var options: String

    init?(_ text: String) {
        // The first FROM or TO outside parentheses and quotes splits the target from the file.
        let characters = Array(text)
        var depth = 0, quote: Character?
        var index = 0
        var split: (start: Int, end: Int, from: Bool)?
        while index < characters.count, split == nil {
            let c = characters[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth -= 1
            } else if depth == 0, c.isLetter, index == 0 || characters[index - 1] == " " || characters[index - 1] == ")" {
                var end = index
                while end < characters.count, characters[end].isLetter { end += 1 }
                let word = String(characters[index..<end]).lowercased()
                if (word == "from" || word == "to"), index > 0, end < characters.count, characters[end] == " " {
                    split = (index, end, word == "from")
                }
                index = end
                continue
            }
            index += 1
        }
        guard let split else { return nil }
        target = String(characters[..<split.start]).trimmed
        from = split.from
        var rest = characters[split.end...].drop(while: { $0 == " " })
        guard !target.isEmpty, let first = rest.first else { return nil }
        if first == "'" {
            var name = ""
            rest = rest.dropFirst()
            while let c = rest.first {
                rest = rest.dropFirst()
                if c == "'" {
                    if rest.first == "'" { name.append("'"); rest = rest.dropFirst(); continue }
                    break
                }
                name.append(c)
            }
            file = name
        } else {
            let name = rest.prefix { $0 != " " }
            file = String(name)
            rest = rest.dropFirst(name.count)
        }
        options = String(rest).trimmed
    }
}
