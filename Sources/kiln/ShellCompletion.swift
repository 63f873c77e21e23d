import Kiln
import KilnSQL

/// SQL words the shell completes and quotes around.
enum SQLKeywords {
    /// Words that must be quoted to be used as names (upper case).
    static let reserved: Set<String> = Set(Parser.reserved.map { $0.uppercased() })

    /// Keywords offered by Tab completion (upper case; typed lower case, they complete lower case).
    static let completion: [String] = """
        ABORT ALL ALTER ANALYZE AND ANY ARRAY AS ASC BEGIN BETWEEN BIGINT BIGSERIAL BOOLEAN BY CASCADE CASE CAST \
        CHECK CHECKPOINT COALESCE COLUMN COMMIT CONFLICT CONSTRAINT COPY COUNT CREATE CROSS CSV CURRENT_DATE \
        CURRENT_TIMESTAMP DATE DECIMAL DEFAULT DELETE DELIMITER DESC DISTINCT DO DOUBLE DROP ELSE END EXCEPT \
        EXISTS EXPLAIN EXTRACT FALSE FETCH FILTER FIRST FOREIGN FORMAT FROM FULL GENERATED GROUP HAVING HEADER \
        IDENTITY IF ILIKE IN INDEX INNER INSERT INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LAST \
        LATERAL LEFT LEVEL LIKE LIMIT NATURAL NEXTVAL NOT NOTHING NULL NULLIF NULLS NUMERIC OFFSET ON OR ORDER \
        OUTER OVER PARTITION PRECISION PREPARE PRIMARY READ REAL REFERENCES RELEASE REPEATABLE RETURNING \
        RIGHT ROLLBACK ROLLUP SAVEPOINT SELECT SEQUENCE SERIAL SERIALIZABLE SET SHOW SMALLINT START SUM \
        TABLE TEXT THEN TIMESTAMP TO TRANSACTION TRUE TRUNCATE UNION UNIQUE UPDATE USING VACUUM VALUES \
        VARCHAR VIEW WHEN WHERE WINDOW WITH WORK
        """.split(separator: " ").map(String.init)
}

extension ShellSession {
    /// Completions of the word that ends `text` (the line up to the cursor): meta-commands at
    /// the start of a line, table names after `\d` and after words such as FROM, JOIN, INTO,
    /// UPDATE and TABLE, and otherwise keywords, table names and column names. A word typed in
    /// lower case completes in lower case.
    func completions(_ text: String) -> (start: String.Index, candidates: [String]) {
        var start = text.endIndex
        while start > text.startIndex {
            let before = text[text.index(before: start)]
            guard before.isLetter || before.isNumber || before == "_" || before == "\\" || before == "." || before == "\"" else { break }
            start = text.index(before: start)
        }
        let word = String(text[start...])
        let line = text[..<start]
        if line.allSatisfy(\.isWhitespace), word.hasPrefix("\\") || word.hasPrefix(".") {
            return (start, ShellSession.metaCommandNames.filter { $0.hasPrefix(word) })
        }
        let previous = line.split(whereSeparator: { $0.isWhitespace || $0 == "(" || $0 == "," }).last.map { $0.uppercased() } ?? ""
        let tablesOnly = ["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "\\D", "\\DT", ".SCHEMA", "\\COPY", "TRUNCATE", "REFERENCES", "ON"].contains(previous)
            && !(previous == "ON" && !line.uppercased().contains("INDEX"))
        var names = tableNames()
        if !tablesOnly {
            names += columnNames()
            names += SQLKeywords.completion.map { word.first?.isLowercase == true ? $0.lowercased() : $0 }
        }
        let lowered = word.lowercased()
        var seen = Set<String>()
        let candidates = names.filter { $0.lowercased().hasPrefix(lowered) && $0 != word && seen.insert($0).inserted }
        return (start, candidates.sorted())
    }

    /// The names of the tables and views a user can see (none when the catalog query fails).
    func tableNames() -> [String] {
        let sql = """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            """
        return ((try? database.execute(sql).last?.rows) ?? []).compactMap { $0[0].text }
    }

    func columnNames() -> [String] {
        let sql = """
            SELECT DISTINCT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v') AND a.attnum > 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            """
        return ((try? database.execute(sql).last?.rows) ?? []).compactMap { $0[0].text }
    }
}
