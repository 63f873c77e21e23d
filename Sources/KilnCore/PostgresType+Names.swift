/// PostgreSQL's type catalogue as far as Kiln's types (and the catalogs' own) reach:
/// names, `pg_type` properties, and `format_type`.
extension PostgresType {
    /// One row of `pg_type`.
    public struct Entry: Sendable {
        public var oid: Int32
        public var name: String
        /// `format_type`'s spelling (`character varying`, `timestamp without time zone`).
        public var sqlName: String
        public var length: Int16
        public var byValue: Bool
        /// `typcategory`: B boolean, N numeric, S string, D date/time, T timespan, A array, U user, X unknown, Z internal.
        public var category: String
        public var arrayOID: Int32
        /// For an array type, its element type.
        public var elementOID: Int32 = 0
        public var input: String
        public var output: String
        public var align: String
        public var storage: String
    }

    /// The scalar types, then an array type for each.
    public static let entries: [Entry] = {
        let scalars: [Entry] = [
            Entry(oid: bool, name: "bool", sqlName: "boolean", length: 1, byValue: true, category: "B", arrayOID: 1000, input: "boolin", output: "boolout", align: "c", storage: "p"),
            Entry(oid: bytea, name: "bytea", sqlName: "bytea", length: -1, byValue: false, category: "U", arrayOID: 1001, input: "byteain", output: "byteaout", align: "i", storage: "x"),
            Entry(oid: char, name: "char", sqlName: "\"char\"", length: 1, byValue: true, category: "Z", arrayOID: 1002, input: "charin", output: "charout", align: "c", storage: "p"),
            Entry(oid: name, name: "name", sqlName: "name", length: 64, byValue: false, category: "S", arrayOID: 1003, input: "namein", output: "nameout", align: "c", storage: "p"),
            Entry(oid: int8, name: "int8", sqlName: "bigint", length: 8, byValue: true, category: "N", arrayOID: 1016, input: "int8in", output: "int8out", align: "d", storage: "p"),
            Entry(oid: int2, name: "int2", sqlName: "smallint", length: 2, byValue: true, category: "N", arrayOID: 1005, input: "int2in", output: "int2out", align: "s", storage: "p"),
            Entry(oid: int4, name: "int4", sqlName: "integer", length: 4, byValue: true, category: "N", arrayOID: 1007, input: "int4in", output: "int4out", align: "i", storage: "p"),
            Entry(oid: regproc, name: "regproc", sqlName: "regproc", length: 4, byValue: true, category: "N", arrayOID: 1008, input: "regprocin", output: "regprocout", align: "i", storage: "p"),
            Entry(oid: text, name: "text", sqlName: "text", length: -1, byValue: false, category: "S", arrayOID: 1009, input: "textin", output: "textout", align: "i", storage: "x"),
            Entry(oid: oid, name: "oid", sqlName: "oid", length: 4, byValue: true, category: "N", arrayOID: 1028, input: "oidin", output: "oidout", align: "i", storage: "p"),
            Entry(oid: float4, name: "float4", sqlName: "real", length: 4, byValue: true, category: "N", arrayOID: 1021, input: "float4in", output: "float4out", align: "i", storage: "p"),
            Entry(oid: float8, name: "float8", sqlName: "double precision", length: 8, byValue: true, category: "N", arrayOID: 1022, input: "float8in", output: "float8out", align: "d", storage: "p"),
            Entry(oid: unknown, name: "unknown", sqlName: "unknown", length: -2, byValue: false, category: "X", arrayOID: 0, input: "unknownin", output: "unknownout", align: "c", storage: "p"),
            Entry(oid: bpchar, name: "bpchar", sqlName: "character", length: -1, byValue: false, category: "S", arrayOID: 1014, input: "bpcharin", output: "bpcharout", align: "i", storage: "x"),
            Entry(oid: varchar, name: "varchar", sqlName: "character varying", length: -1, byValue: false, category: "S", arrayOID: 1015, input: "varcharin", output: "varcharout", align: "i", storage: "x"),
            Entry(oid: date, name: "date", sqlName: "date", length: 4, byValue: true, category: "D", arrayOID: 1182, input: "date_in", output: "date_out", align: "i", storage: "p"),
            Entry(oid: time, name: "time", sqlName: "time without time zone", length: 8, byValue: true, category: "D", arrayOID: 1183, input: "time_in", output: "time_out", align: "d", storage: "p"),
            Entry(oid: timestamp, name: "timestamp", sqlName: "timestamp without time zone", length: 8, byValue: true, category: "D", arrayOID: 1115, input: "timestamp_in", output: "timestamp_out", align: "d", storage: "p"),
            Entry(oid: timestamptz, name: "timestamptz", sqlName: "timestamp with time zone", length: 8, byValue: true, category: "D", arrayOID: 1185, input: "timestamptz_in", output: "timestamptz_out", align: "d", storage: "p"),
            Entry(oid: interval, name: "interval", sqlName: "interval", length: 16, byValue: false, category: "T", arrayOID: 1187, input: "interval_in", output: "interval_out", align: "d", storage: "p"),
            Entry(oid: numeric, name: "numeric", sqlName: "numeric", length: -1, byValue: false, category: "N", arrayOID: 1231, input: "numeric_in", output: "numeric_out", align: "i", storage: "m"),
            Entry(oid: regclass, name: "regclass", sqlName: "regclass", length: 4, byValue: true, category: "N", arrayOID: 2210, input: "regclassin", output: "regclassout", align: "i", storage: "p"),
            Entry(oid: regtype, name: "regtype", sqlName: "regtype", length: 4, byValue: true, category: "N", arrayOID: 2211, input: "regtypein", output: "regtypeout", align: "i", storage: "p"),
        ]
        let arrays = scalars.filter { $0.arrayOID != 0 }.map { scalar in
            Entry(oid: scalar.arrayOID, name: "_" + scalar.name, sqlName: scalar.sqlName + "[]", length: -1, byValue: false, category: "A", arrayOID: 0,
                  elementOID: scalar.oid, input: "array_in", output: "array_out", align: scalar.align == "d" ? "d" : "i", storage: "x")
        }
        return scalars + arrays
    }()

    public static let regproc: Int32 = 24
    public static let regclass: Int32 = 2205
    public static let regtype: Int32 = 2206

    static let entriesByOID: [Int32: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.oid, $0) })

    /// The `pg_type` row of a type OID.
    public static func entry(_ oid: Int32) -> Entry? { entriesByOID[oid] }

    /// PostgreSQL's `format_type(oid, typmod)`: the SQL spelling with the modifier (`numeric(15,2)`).
    public static func formatType(_ oid: Int32, modifier: Int32?) -> String {
        guard let entry = entriesByOID[oid] else { return "???" }
        let modifier = modifier ?? -1
        guard modifier >= 4 else { return entry.sqlName }
        switch oid {
        case varchar, bpchar: return "\(entry.sqlName)(\(modifier - 4))"
        case numeric:
            let packed = modifier - 4
            return "numeric(\(packed >> 16),\(packed & 0xFFFF))"
        default: return entry.sqlName
        }
    }

    /// The type OID a type name denotes (`integer`, `int4`, `character varying`, ...), for `'...'::regtype`.
    public static func oid(named text: String) -> Int32? {
        let name = text.lowercased().split(separator: "(").first.map(\.trimmed) ?? ""
        if let entry = entries.first(where: { $0.name == name || $0.sqlName == name }) { return entry.oid }
        let aliases: [String: Int32] = ["int": int4, "boolean": bool, "decimal": numeric, "varchar": varchar, "char": bpchar, "character": bpchar,
                                        "float": float8, "timestamp": timestamp, "timestamptz": timestamptz, "double": float8]
        return aliases[name]
    }
}
