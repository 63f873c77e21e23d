import KilnCore

/// Reads and writes one value in its physical layout (the layout of columns, records and registers).
public enum ValueCodec {
    /// Writes a non-null `value` (already of `type`) at `pointer`. Strings go to `arena` when long.
    public static func store(_ value: Value, as type: SQLType, at pointer: UnsafeMutableRawPointer, arena: StringArena) {
        switch (type.physical, value) {
        case (.bool, .bool(let b)): pointer.storeBytes(of: b ? 1 : 0, as: UInt8.self)
        case (.int16, .int16(let v)): pointer.storeBytes(of: v, as: Int16.self)
        case (.int32, .int32(let v)): pointer.storeBytes(of: v, as: Int32.self)
        case (.int32, .date(let v)): pointer.storeBytes(of: v, as: Int32.self)
        case (.int64, .int64(let v)): pointer.storeBytes(of: v, as: Int64.self)
        case (.int64, .timestamp(let v)): pointer.storeBytes(of: v, as: Int64.self)
        case (.int64, .tid(let v)): pointer.storeBytes(of: v, as: Int64.self)
        case (.float32, .float32(let v)): pointer.storeBytes(of: v, as: Float.self)
        case (.float64, .float64(let v)): pointer.storeBytes(of: v, as: Double.self)
        case (.int128, .numeric(let m, let s)):
            // Unconstrained numeric: packed with the value's own scale (`Casts` checked its digits).
            pointer.storeBytes(of: type == .dynamicNumeric ? PackedNumeric.packRounding(m, scale: s) : m, as: Int128.self)
        case (.int128, .interval(let i)): pointer.storeBytes(of: i.packed, as: Int128.self)
        case (.string, .text(let s)): pointer.storeBytes(of: KilnString.make(s, arena: arena), as: Int128.self)
        default: pointer.storeBytes(of: 0, as: Int128.self)  // unreachable when the binder typed the value
        }
    }

    /// Reads a non-null value of `type` at `pointer`.
    public static func load(_ type: SQLType, at pointer: UnsafeRawPointer) -> Value {
        switch type {
        case .boolean: return .bool(pointer.load(as: UInt8.self) != 0)
        case .smallint: return .int16(pointer.loadUnaligned(as: Int16.self))
        case .integer: return .int32(pointer.loadUnaligned(as: Int32.self))
        case .date: return .date(pointer.loadUnaligned(as: Int32.self))
        case .bigint: return .int64(pointer.loadUnaligned(as: Int64.self))
        case .timestamp: return .timestamp(pointer.loadUnaligned(as: Int64.self))
        case .tid: return .tid(pointer.loadUnaligned(as: Int64.self))
        case .real: return .float32(pointer.loadUnaligned(as: Float.self))
        case .double: return .float64(pointer.loadUnaligned(as: Double.self))
        case .numeric(_, let s): return .numeric(pointer.loadUnaligned(as: Int128.self), scale: s)
        case .dynamicNumeric:
            let (m, s) = PackedNumeric.unpack(pointer.loadUnaligned(as: Int128.self))
            return .numeric(m, scale: s)
        case .interval: return .interval(Interval(packed: pointer.loadUnaligned(as: Int128.self)))
        case .text, .varchar, .unknown: return .text(KilnString.string(pointer.loadUnaligned(as: Int128.self)))
        }
    }
}
