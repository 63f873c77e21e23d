/// A SQL data type as the binder and the catalog see it.
public enum SQLType: Hashable, Sendable, CustomStringConvertible {
    case boolean
    case smallint
    case integer
    case bigint
    case real
    case double
    /// Exact decimal stored as a scaled 128-bit integer. `precision == nil` is unconstrained NUMERIC.
    case numeric(precision: Int?, scale: Int)
    /// Unconstrained NUMERIC whose values each keep their own display scale, as PostgreSQL's
    /// (`PackedNumeric`): columns declared `numeric`, quotients, averages. A static
    /// `numeric(p, s)` stays a plain scaled integer, the fast path.
    case dynamicNumeric
    case varchar(Int?)
    case text
    case date
    case timestamp
    case interval
    /// A row's identity, PostgreSQL's `tid` (the system column `ctid`): a `RowID` as bigint,
    /// shown as `(block,offset)` (`TupleID`).
    case tid
    /// The type of a bare NULL literal (or an untyped string literal) before context resolves it.
    case unknown

    /// PostgreSQL's name for the type, as `pg_typeof` and result headers show it.
    public var description: String {
        switch self {
        case .boolean: return "boolean"
        case .smallint: return "smallint"
        case .integer: return "integer"
        case .bigint: return "bigint"
        case .real: return "real"
        case .double: return "double precision"
        case .numeric(let p, let s): return p.map { "numeric(\($0),\(s))" } ?? "numeric"
        case .dynamicNumeric: return "numeric"
        case .varchar(let n): return n.map { "character varying(\($0))" } ?? "character varying"
        case .text: return "text"
        case .date: return "date"
        case .timestamp: return "timestamp without time zone"
        case .interval: return "interval"
        case .tid: return "tid"
        case .unknown: return "unknown"
        }
    }

    /// A short stable name used in IR type parameters (`!kiln_mid.val<"int4">`).
    public var irName: String {
        switch self {
        case .boolean: return "bool"
        case .smallint: return "int2"
        case .integer: return "int4"
        case .bigint: return "int8"
        case .real: return "float4"
        case .double: return "float8"
        case .numeric(let p, let s): return "numeric(\(p ?? 0),\(s))"
        case .dynamicNumeric: return "numeric"
        case .varchar(let n): return n.map { "varchar(\($0))" } ?? "varchar"
        case .text: return "text"
        case .date: return "date"
        case .timestamp: return "timestamp"
        case .interval: return "interval"
        case .tid: return "tid"
        case .unknown: return "unknown"
        }
    }

    /// Inverse of `irName`.
    public init?(irName: String) {
        switch irName {
        case "bool": self = .boolean
        case "int2": self = .smallint
        case "int4": self = .integer
        case "int8": self = .bigint
        case "float4": self = .real
        case "float8": self = .double
        case "text": self = .text
        case "varchar": self = .varchar(nil)
        case "date": self = .date
        case "timestamp": self = .timestamp
        case "interval": self = .interval
        case "tid": self = .tid
        case "numeric": self = .dynamicNumeric
        case "unknown": self = .unknown
        default:
            if irName.hasPrefix("numeric("), irName.hasSuffix(")") {
                let parts = irName.dropFirst(8).dropLast().split(separator: ",")
                guard parts.count == 2, let p = Int(parts[0]), let s = Int(parts[1]) else { return nil }
                self = .numeric(precision: p == 0 ? nil : p, scale: s)
            } else if irName.hasPrefix("varchar("), irName.hasSuffix(")"), let n = Int(irName.dropFirst(8).dropLast()) {
                self = .varchar(n)
            } else {
                return nil
            }
        }
    }

    /// How values of this type are laid out in columns, records and registers.
    public var physical: PhysicalType {
        switch self {
        case .boolean: return .bool
        case .smallint: return .int16
        case .integer, .date: return .int32
        case .bigint, .timestamp, .tid: return .int64
        case .real: return .float32
        case .double: return .float64
        case .numeric, .dynamicNumeric: return .int128
        case .varchar, .text, .unknown: return .string
        case .interval: return .int128
        }
    }

    public var isNumeric: Bool {
        switch self {
        case .smallint, .integer, .bigint, .real, .double, .numeric, .dynamicNumeric: return true
        default: return false
        }
    }

    public var isInteger: Bool {
        switch self {
        case .smallint, .integer, .bigint: return true
        default: return false
        }
    }

    public var isFloat: Bool { self == .real || self == .double }

    public var isString: Bool {
        switch self {
        case .text, .varchar: return true
        default: return false
        }
    }

    /// An exact decimal: `numeric(p, s)` or unconstrained `numeric` (`dynamicNumeric`).
    public var isNumericDecimal: Bool {
        switch self {
        case .numeric, .dynamicNumeric: return true
        default: return false
        }
    }

    /// The static scale for `numeric(p, s)`, 0 otherwise (a `dynamicNumeric`'s is per value).
    public var scale: Int {
        if case .numeric(_, let s) = self { return s }
        return 0
    }

    /// PostgreSQL type OID (for the wire protocol and catalogs).
    public var oid: Int32 {
        switch self {
        case .boolean: return 16
        case .smallint: return 21
        case .integer: return 23
        case .bigint: return 20
        case .real: return 700
        case .double: return 701
        case .numeric, .dynamicNumeric: return 1700
        case .varchar: return 1043
        case .text: return 25
        case .date: return 1082
        case .timestamp: return 1114
        case .interval: return 1186
        case .tid: return 27
        case .unknown: return 705
        }
    }
}

/// The machine representation of a SQL type.
public enum PhysicalType: Int, Sendable {
    case bool, int16, int32, int64, float32, float64, int128, string

    /// Bytes per value in a column or a record.
    public var byteWidth: Int {
        switch self {
        case .bool: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .int64, .float64: return 8
        case .int128, .string: return 16
        }
    }

    /// The MLIR/LLVM type of a register holding one value.
    public var mlirType: String {
        switch self {
        case .bool: return "i1"
        case .int16: return "i16"
        case .int32: return "i32"
        case .int64: return "i64"
        case .float32: return "f32"
        case .float64: return "f64"
        case .int128, .string: return "i128"
        }
    }

    /// The MLIR type used when the value sits in memory (booleans are bytes).
    public var memoryType: String { self == .bool ? "i8" : mlirType }
}
