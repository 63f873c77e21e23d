import KilnCore
import KilnPlanner
import KilnRuntime

extension Database {
    /// Checks a `SET` value the way PostgreSQL does for the settings Kiln knows, and returns
    /// the value to keep (normalised where PostgreSQL normalises it).
    /// - Throws: 42704 for an unknown setting (custom ones need a dot: `app.user`), 22023 for a bad value.
    static func validatedSetting(_ name: String, _ value: String, position: Int) throws(DatabaseError) -> String {
        func invalid(hint: String? = nil) -> DatabaseError {
            DatabaseError(.invalidParameterValue, "invalid value for parameter \"\(name)\": \"\(value)\"", position: position, hint: hint)
        }
        let lower = value.lowercased()
        switch name {
        case "jit":
            guard ["on", "off", "true", "false", "auto"].contains(lower) else { throw invalid(hint: "Available values: on, off, auto.") }
            return lower
        case "jit_simd", "jit_sync":
            guard ["on", "off", "true", "false"].contains(lower) else { throw invalid() }
            return lower
        case "jit_tier":
            guard JITPolicy.Tiers(rawValue: lower) != nil else { throw invalid(hint: "Available values: auto, fast, optimized.") }
            return lower
        case "jit_above_rows":
            guard let rows = Int(value), rows >= 0 else { throw invalid() }
            return String(rows)
        case "jit_switch_after_morsels":
            guard let k = Int(value), k >= -1 else { throw invalid(hint: "-1 (no forced switch) or a number of morsels.") }
            return String(k)
        case "threads":
            guard let n = Int(value), (1...WorkerPool.maxThreads).contains(n) else {
                throw invalid(hint: "A number of threads from 1 to \(WorkerPool.maxThreads).")
            }
            return String(n)
        case "parallel_morsel_rows":
            guard let n = Int(value), (1...MorselDispatcher.maximumRows).contains(n) else {
                throw invalid(hint: "Rows from 1 to \(MorselDispatcher.maximumRows).")
            }
            return String(n)
        case "memory_limit":
            guard let bytes = MemoryBudget.parse(value) else {
                throw invalid(hint: "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
            }
            return MemoryBudget.format(bytes)
        case "client_encoding":
            // Kiln speaks UTF-8 only; SQL_ASCII clients get UTF-8 as PostgreSQL would give them bytes.
            guard ["utf8", "utf-8", "unicode", "sql_ascii"].contains(lower) else {
                throw DatabaseError(.featureNotSupported, "conversion between \(value) and UTF8 is not supported", position: position)
            }
            return lower == "sql_ascii" ? "SQL_ASCII" : "UTF8"
        case "datestyle":
            // Output is always ISO; the order part only matters for input, where Kiln reads ISO dates.
            let parts = lower.split(separator: ",").map(\.trimmed)
            guard !parts.isEmpty, parts.allSatisfy({ ["iso", "mdy", "dmy", "ymd", "us", "european", "noneuropean", "default"].contains($0) }),
                  !parts.contains(where: { ["sql", "postgres", "german"].contains($0) }) else {
                throw invalid(hint: "Kiln supports the ISO date style only.")
            }
            return "ISO, " + (parts.first(where: { ["dmy", "ymd", "european"].contains($0) }).map { $0 == "european" ? "DMY" : $0.uppercased() } ?? "MDY")
        case "intervalstyle":
            guard lower == "postgres" else { throw invalid(hint: "Kiln supports the postgres interval style only.") }
            return lower
        case "timezone":
            guard ["utc", "gmt", "etc/utc", "z", "zulu", "universal", "0", "+00", "00:00", "+00:00"].contains(lower) else {
                throw invalid(hint: "Kiln's timestamps are without time zone; only UTC is supported.")
            }
            return "UTC"
        case "statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout", "deadlock_timeout":
            guard Database.milliseconds(value) != nil else { throw invalid(hint: "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".") }
            return value
        case "extra_float_digits":
            guard let digits = Int(value), (-15...3).contains(digits) else { throw invalid() }
            return value
        case "standard_conforming_strings":
            guard ["on", "true"].contains(lower) else { throw invalid(hint: "Kiln's strings are always standard conforming.") }
            return "on"
        case "transaction_isolation", "default_transaction_isolation":
            return value
        case "application_name", "search_path", "default_transaction_read_only", "bytea_output", "geqo",
             "enable_seqscan", "enable_hashjoin", "max_parallel_workers_per_gather", "row_security", "lc_messages",
             "lc_monetary", "lc_numeric", "lc_time", "client_min_messages", "idle_session_timeout":
            return value
        case "synchronous_commit":
            // PostgreSQL's values; without replicas, local / remote_write / remote_apply mean on.
            guard ["on", "off", "true", "false", "local", "remote_write", "remote_apply", "yes", "no", "1", "0"].contains(lower) else {
                throw invalid(hint: "Available values: local, remote_write, remote_apply, on, off.")
            }
            return ["true", "yes", "1"].contains(lower) ? "on" : ["false", "no", "0"].contains(lower) ? "off" : lower
        case "work_mem":
            // PostgreSQL's range and units (a bare number is kilobytes).
            let bytes = value.allSatisfy(\.isNumber) ? Int(value).flatMap { $0 <= Int(Int32.max) ? $0 << 10 : nil } : MemoryBudget.parse(value)
            guard let bytes else {
                throw invalid(hint: "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
            }
            guard bytes >= 64 << 10, bytes <= Int(Int32.max) << 10 else {
                throw DatabaseError(.invalidParameterValue, "\(bytes >> 10) kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)", position: position)
            }
            return MemoryBudget.format(bytes)
        case "code_cache_size":
            guard let bytes = MemoryBudget.parse(value) else {
                throw invalid(hint: "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
            }
            return MemoryBudget.format(bytes)
        case "max_wal_size":
            guard let bytes = MemoryBudget.parse(value), bytes >= 1 << 20 else {
                throw invalid(hint: "At least 1MB; valid units are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
            }
            return MemoryBudget.format(bytes)
        case _ where Optimizer.passes.contains(where: { Optimizer.settingName($0) == name }):
            guard ["on", "off", "true", "false"].contains(lower) else { throw invalid(hint: "Available values: on, off.") }
            return lower == "true" ? "on" : lower == "false" ? "off" : lower
        case "server_version", "server_version_num", "server_encoding", "integer_datetimes", "in_hot_standby", "is_superuser",
             "session_authorization", "max_identifier_length":
            throw DatabaseError(SQLState("55P02"), "parameter \"\(name)\" cannot be changed", position: position)
        default:
            guard name.contains(".") else {
                throw DatabaseError(SQLState("42704"), "unrecognized configuration parameter \"\(name)\"", position: position)
            }
            return value
        }
    }

    /// A duration setting (`statement_timeout = '5s'`; a bare number is milliseconds) in milliseconds.
    static let millisecondFactors: [String: Double] = ["": 1, "ms": 1, "us": 0.001, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000]

    public static func milliseconds(_ text: String) -> Int? {
        let trimmed = text.trimmed.lowercased()
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = Int(digits), number >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmed
        guard let factor = millisecondFactors[String(unit)] else { return nil }
        return Int(Double(number) * factor)
    }

    /// Bytes a kept result set (a cursor's rows, a portal's past an Execute's row limit) holds
    /// in memory before it spills to a temporary file (`work_mem`, 4MB by default).
    public var workMemoryBytes: Int { settings["work_mem"].flatMap(MemoryBudget.parse) ?? 4 << 20 }

    /// Whether a commit waits for its WAL records to be on disk (`synchronous_commit`, on by default).
    var synchronousCommit: Bool { settings["synchronous_commit"] != "off" }

    /// The session's statement timeout in milliseconds (0: none).
    public var statementTimeoutMilliseconds: Int {
        // Read for every statement: the default needs no parsing.
        guard let text = settings["statement_timeout"], text != "0" else { return 0 }
        return Database.milliseconds(text) ?? 0
    }
}
