

/// How a Kiln type appears on the wire: PostgreSQL's type OID, length and modifier.
public enum PostgresType {
    public static let bool: Int32 = 16
    public static let bytea: Int32 = 17
    public static let char: Int32 = 18
    public static let name: Int32 = 19
    public static let int8: Int32 = 20
    public static let int2: Int32 = 21
    public static let int4: Int32 = 23
    public static let text: Int32 = 25
    public static let oid: Int32 = 26
    public static let float4: Int32 = 700
    public static let float8: Int32 = 701
    public static let unknown: Int32 = 705
    public static let bpchar: Int32 = 1042
    public static let varchar: Int32 = 1043
    public static let date: Int32 = 1082
    public static let time: Int32 = 1083
    public static let timestamp: Int32 = 1114
    public static let timestamptz: Int32 = 1184
    public static let interval: Int32 = 1186
    public static let tid: Int32 = 27
    public static let numeric: Int32 = 1700

    /// The OID a result column or parameter of `type` is described with. An untyped NULL
    /// column is text, as PostgreSQL resolves unknown output columns.
    public static func oid(of type: SQLType) -> Int32 {
        switch type {
        case .boolean: return bool
        case .smallint: return int2
        case .integer: return int4
        case .bigint: return int8
        case .real: return float4
        case .double: return float8
        case .numeric, .dynamicNumeric: return numeric
        case .varchar: return varchar
        case .text, .unknown: return text
        case .date: return date
        case .timestamp: return timestamp
        case .interval: return interval
        case .tid: return tid
        }
    }

    /// The Kiln type for a parameter type OID a client names in Parse (nil: not a Kiln type).
    /// 0 (unspecified) and `unknown` leave the type to the statement.
    public static func sqlType(ofOID oid: Int32) -> SQLType? {
        switch oid {
        case 0, unknown: return .unknown
        case bool: return .boolean
        case int2: return .smallint
        case int4, PostgresType.oid: return .integer
        case int8: return .bigint
        case float4: return .real
        case float8: return .double
        case numeric: return .dynamicNumeric
        case varchar: return .varchar(nil)
        case text, name, bpchar, char: return .text
        case date: return .date
        case timestamp, timestamptz: return .timestamp
        case interval: return .interval
        case tid: return .tid
        default: return nil
        }
    }

    /// `pg_type.typlen`: bytes of a fixed-width type, -1 for variable width.
    public static func length(of type: SQLType) -> Int16 {
        switch type {
        case .boolean: return 1
        case .smallint: return 2
        case .integer, .real, .date: return 4
        case .bigint, .double, .timestamp: return 8
        case .interval: return 16
        case .tid: return 6
        case .numeric, .dynamicNumeric, .varchar, .text, .unknown: return -1
        }
    }

    /// `atttypmod`: varchar(n) is n + 4; numeric(p, s) is (p << 16 | s) + 4; otherwise -1.
    public static func modifier(of type: SQLType) -> Int32 {
        switch type {
        case .varchar(let n?): return Int32(n + 4)
        case .numeric(let p?, let s): return Int32((p << 16) | s) + 4
        default: return -1
        }
    }
}
