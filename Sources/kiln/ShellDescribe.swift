import Kiln

/// psql's describe commands (`\d`, `\dt`, `\di`, `\ds`, `\dv`, `\dn`, `\du`, `\l`) and DuckDB's
/// `.tables` and `.schema`, answered from Kiln's own `pg_catalog` with ordinary queries.
extension ShellSession {
    /// The relation kinds of `pg_class` and the names psql gives them.
    static let relationKinds: [(kind: String, name: String)] = [("r", "table"), ("v", "view"), ("S", "sequence"), ("i", "index")]

    /// A psql name pattern as a condition on `column` (and its schema on `schema`): `*` and `?`
    /// are wildcards, `"..."` keeps case, and anything else folds to lower case; `s.name`
    /// matches in schema `s`.
    func patternCondition(_ pattern: String?, column: String, schema: String?) -> (String, [Value]) {
        guard let pattern, !pattern.isEmpty else { return ("true", []) }
        var parts: [String] = [""]
        var quoted = false
        for c in pattern {
            if c == "\"" { quoted.toggle(); continue }
            if c == ".", !quoted { parts.append(""); continue }
            parts[parts.count - 1].append(quoted ? c : Character(c.lowercased()))
        }
        func like(_ text: String) -> String {
            var out = ""
            for c in text {
                switch c {
                case "*": out += "%"
                case "?": out += "_"
                case "%", "_", "\\": out += "\\" + String(c)
                default: out.append(c)
                }
            }
            return out
        }
        if parts.count >= 2, let schema {
            return ("\(schema) LIKE $1 AND \(column) LIKE $2", [.text(like(parts[parts.count - 2])), .text(like(parts[parts.count - 1]))])
        }
        return ("\(column) LIKE $1", [.text(like(parts[parts.count - 1]))])
    }

    /// `\dt`, `\di`, `\ds`, `\dv` and `\d` without a name: psql's "List of relations".
    func listRelations(kinds: [String], pattern: String?) -> Bool {
        let (condition, parameters) = patternCondition(pattern, column: "c.relname", schema: "n.nspname")
        let kindList = kinds.map { "'\($0)'" }.joined(separator: ", ")
        let typeName = "CASE c.relkind " + ShellSession.relationKinds.map { "WHEN '\($0.kind)' THEN '\($0.name)' " }.joined() + "END"
        let sql = """
            SELECT n.nspname AS "Schema", c.relname AS "Name", \(typeName) AS "Type", pg_get_userbyid(c.relowner) AS "Owner"
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN (\(kindList)) AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND \(condition)
            ORDER BY 1, 2
            """
        guard let result = catalogQuery(sql, parameters) else { return false }
        if result.rows.isEmpty {
            standardError(pattern.map { "Did not find any relation named \"\($0)\".\n" } ?? "Did not find any relations.\n")
            return pattern == nil
        }
        emit("List of relations\n")
        show(catalog: result)
        return true
    }

    /// `\d name`: a table's or view's columns (type, nullability, default), then its indexes,
    /// checks and foreign keys both ways; a sequence's parameters; an index's columns.
    func describe(_ pattern: String) -> Bool {
        let (condition, parameters) = patternCondition(pattern, column: "c.relname", schema: "n.nspname")
        let sql = """
            SELECT c.oid, c.relkind, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'S', 'i') AND \(condition) ORDER BY n.nspname = 'pg_catalog', 3, 4
            """
        guard let matches = catalogQuery(sql, parameters) else { return false }
        guard !matches.rows.isEmpty else {
            standardError("Did not find any relation named \"\(pattern)\".\n")
            return false
        }
        for row in matches.rows {
            guard let oid = row[0].text, let kind = row[1].text, let schema = row[2].text, let name = row[3].text else { continue }
            if !describeRelation(oid: oid, kind: kind, qualified: "\(schema).\(name)") { return false }
        }
        return true
    }

    private func describeRelation(oid: String, kind: String, qualified: String) -> Bool {
        switch kind {
        case "S":
            emit("Sequence \"\(qualified)\"\n")
            guard let result = catalogQuery("""
                SELECT format_type(seqtypid, NULL) AS "Type", seqstart AS "Start", seqmin AS "Minimum", seqmax AS "Maximum",
                       seqincrement AS "Increment", CASE WHEN seqcycle THEN 'yes' ELSE 'no' END AS "Cycles?", seqcache AS "Cache"
                FROM pg_sequence WHERE seqrelid = \(oid)
                """) else { return false }
            show(catalog: result, footer: false)
            return true
        case "i":
            emit("Index \"\(qualified)\"\n")
            guard let result = catalogQuery("""
                SELECT a.attname AS "Column", format_type(a.atttypid, a.atttypmod) AS "Type"
                FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
                WHERE i.indexrelid = \(oid) AND a.attnum > 0 AND ' ' || i.indkey::text || ' ' LIKE '% ' || a.attnum || ' %' ORDER BY a.attnum
                """), let owner = catalogQuery("""
                SELECT CASE WHEN i.indisprimary THEN 'primary key, ' WHEN i.indisunique THEN 'unique, ' ELSE '' END || 'btree, for table "' || n.nspname || '.' || c.relname || '"'
                FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indexrelid = \(oid)
                """) else { return false }
            show(catalog: result, footer: false)
            for row in owner.rows { if let text = row[0].text { emit(text + "\n") } }
            return true
        default:
            break
        }
        emit("\(kind == "v" ? "View" : "Table") \"\(qualified)\"\n")
        guard let columns = catalogQuery("""
            SELECT a.attname AS "Column", format_type(a.atttypid, a.atttypmod) AS "Type",
                   CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS "Nullable",
                   coalesce(CASE WHEN a.attidentity = 'a' THEN 'generated always as identity'
                                 WHEN a.attidentity = 'd' THEN 'generated by default as identity' END,
                            pg_get_expr(d.adbin, d.adrelid), '') AS "Default"
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = \(oid) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """) else { return false }
        show(catalog: columns, footer: false)
        if kind == "v" {
            guard let definition = catalogQuery("SELECT pg_get_viewdef(\(oid))") else { return false }
            emit("View definition:\n")
            for row in definition.rows { emit((row[0].text ?? "") + "\n") }
            return true
        }
        var footer = ""
        guard let indexes = catalogQuery("""
            SELECT c.relname, i.indisprimary, i.indisunique, pg_get_indexdef(i.indexrelid), con.contype
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
            WHERE i.indrelid = \(oid) ORDER BY i.indisprimary DESC, c.relname
            """) else { return false }
        if !indexes.rows.isEmpty {
            footer += "Indexes:\n"
            for row in indexes.rows {
                let name = row[0].text ?? "", definition = row[3].text ?? ""
                // "CREATE [UNIQUE] INDEX n ON t USING btree (cols)" -> "btree (cols)"
                let method = definition.range(of: " USING ").map { String(definition[$0.upperBound...]) } ?? definition
                var kind = ""
                if row[1] == .bool(true) { kind = "PRIMARY KEY, " } else if row[4].text == "u" { kind = "UNIQUE CONSTRAINT, " } else if row[2] == .bool(true) { kind = "UNIQUE, " }
                footer += "    \"\(name)\" \(kind)\(method)\n"
            }
        }
        guard let checks = catalogQuery("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = \(oid) AND contype = 'c' ORDER BY conname"),
              let foreign = catalogQuery("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = \(oid) AND contype = 'f' ORDER BY conname"),
              let referencing = catalogQuery("""
                SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
                WHERE con.confrelid = \(oid) AND con.contype = 'f' ORDER BY 1, 2
                """) else { return false }
        if !checks.rows.isEmpty {
            footer += "Check constraints:\n" + checks.rows.map { "    \"\($0[0].text ?? "")\" \($0[1].text ?? "")\n" }.joined()
        }
        if !foreign.rows.isEmpty {
            footer += "Foreign-key constraints:\n" + foreign.rows.map { "    \"\($0[0].text ?? "")\" \($0[1].text ?? "")\n" }.joined()
        }
        if !referencing.rows.isEmpty {
            footer += "Referenced by:\n" + referencing.rows.map { "    TABLE \"\($0[0].text ?? "")\" CONSTRAINT \"\($0[1].text ?? "")\" \($0[2].text ?? "")\n" }.joined()
        }
        emit(footer)
        return true
    }

    /// `\dn`: schemas.
    func listSchemas() -> Bool {
        guard let result = catalogQuery("""
            SELECT nspname AS "Name", pg_get_userbyid(nspowner) AS "Owner" FROM pg_namespace
            WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1
            """) else { return false }
        emit("List of schemas\n")
        show(catalog: result)
        return true
    }

    /// `\du`: roles and their attributes.
    func listRoles() -> Bool {
        guard var result = catalogQuery("""
            SELECT rolname AS "Role name", rolsuper AS "Attributes", rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles ORDER BY 1
            """) else { return false }
        let names = ["Superuser", "Create role", "Create DB"]
        result.rows = result.rows.map { row in
            var attributes = (1...3).filter { row[$0] == .bool(true) }.map { names[$0 - 1] }
            if row[4] == .bool(false) { attributes.append("Cannot login") }
            return [row[0], .text(attributes.joined(separator: ", "))]
        }
        result.columns = Array(result.columns.prefix(2))
        emit("List of roles\n")
        show(catalog: result)
        return true
    }

    /// `\l`: databases.
    func listDatabases() -> Bool {
        guard let result = catalogQuery("""
            SELECT datname AS "Name", pg_get_userbyid(datdba) AS "Owner", pg_encoding_to_char(encoding) AS "Encoding"
            FROM pg_database ORDER BY 1
            """) else { return false }
        emit("List of databases\n")
        show(catalog: result)
        return true
    }

    /// `.tables`: the names of tables and views, in columns as DuckDB prints them.
    func listTableNames(pattern: String?) -> Bool {
        let (condition, parameters) = patternCondition(pattern, column: "c.relname", schema: "n.nspname")
        guard let result = catalogQuery("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND \(condition) ORDER BY 1
            """, parameters) else { return false }
        let names = result.rows.compactMap { $0[0].text }
        guard !names.isEmpty else { return true }
        let width = names.map(\.count).max()! + 2
        let perLine = max(1, (terminalColumns(1) ?? 80) / width)
        var out = ""
        for (index, name) in names.enumerated() {
            let last = index % perLine == perLine - 1 || index == names.count - 1
            out += last ? name + "\n" : name + String(repeating: " ", count: width - name.count)
        }
        emit(out)
        return true
    }

    /// `.schema [pattern]`: CREATE statements that make the tables, views, sequences and
    /// indexes again (constraints inline, as `pg_dump` would put them after the table).
    func printSchema(pattern: String?) -> Bool {
        let (condition, parameters) = patternCondition(pattern, column: "c.relname", schema: "n.nspname")
        guard let relations = catalogQuery("""
            SELECT c.oid, c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND \(condition)
            ORDER BY c.relkind = 'v', c.oid
            """, parameters) else { return false }
        var out = ""
        for relation in relations.rows {
            guard let oid = relation[0].text, let kind = relation[1].text, let name = relation[2].text else { continue }
            let quoted = quoteIdentifier(name)
            switch kind {
            case "S":
                // Sequences that SERIAL and identity columns made come back with their columns.
                guard let owned = catalogQuery("SELECT count(*) FROM pg_depend WHERE objid = \(oid) AND deptype IN ('a', 'i')"),
                      owned.rows.first?.first == .int64(0),
                      let sequence = catalogQuery("SELECT format_type(seqtypid, NULL), seqstart, seqincrement, seqmin, seqmax, seqcycle FROM pg_sequence WHERE seqrelid = \(oid)"),
                      let row = sequence.rows.first else { continue }
                out += "CREATE SEQUENCE \(quoted) AS \(row[0].text ?? "bigint") INCREMENT \(row[2].text ?? "1") MINVALUE \(row[3].text ?? "1") MAXVALUE \(row[4].text ?? "") START \(row[1].text ?? "1")\(row[5] == .bool(true) ? " CYCLE" : "");\n"
            case "v":
                guard let definition = catalogQuery("SELECT pg_get_viewdef(\(oid))") else { return false }
                out += "CREATE VIEW \(quoted) AS" + (definition.rows.first?[0].text ?? " ;") + "\n"
            default:
                guard let columns = catalogQuery("""
                    SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity
                    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE a.attrelid = \(oid) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                    """), let constraints = catalogQuery("""
                    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = \(oid) ORDER BY contype = 'f', contype <> 'p', oid
                    """), let indexes = catalogQuery("""
                    SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
                    WHERE i.indrelid = \(oid) AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u'))
                      AND NOT EXISTS (SELECT 1 FROM pg_class ic WHERE ic.oid = i.indexrelid AND ic.relname LIKE '%\\_fkey\\_index')
                    ORDER BY i.indexrelid
                    """) else { return false }
                var lines: [String] = columns.rows.map { column in
                    var line = "    " + quoteIdentifier(column[0].text ?? "") + " " + (column[1].text ?? "")
                    if column[4].text == "a" { line += " GENERATED ALWAYS AS IDENTITY" } else if column[4].text == "d" { line += " GENERATED BY DEFAULT AS IDENTITY" } else if let value = column[3].text { line += " DEFAULT " + value }
                    if column[2] == .bool(true) { line += " NOT NULL" }
                    return line
                }
                lines += constraints.rows.map { "    CONSTRAINT \(quoteIdentifier($0[0].text ?? "")) \($0[1].text ?? "")" }
                out += "CREATE TABLE \(quoted) (\n" + lines.joined(separator: ",\n") + "\n);\n"
                out += indexes.rows.map { ($0[0].text ?? "") + ";\n" }.joined()
            }
        }
        emit(out)
        return true
    }

    /// Runs a catalog query; reports its error and returns nil when it fails.
    func catalogQuery(_ sql: String, _ parameters: [Value] = []) -> QueryResult? {
        do {
            return try database.execute(sql, parameters).last
        } catch {
            report(error, sql: nil)
            return nil
        }
    }
}

/// `name` as an SQL identifier: bare when it is a lower-case word, quoted otherwise.
func quoteIdentifier(_ name: String) -> String {
    let plain = !name.isEmpty && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        && !("0"..."9").contains(name.unicodeScalars.first!) && !SQLKeywords.reserved.contains(name.uppercased())
    return plain ? name : "\"" + name.replacingAll("\"", with: "\"\"") + "\""
}
