import KilnCore
import KilnStorage

/// The cursor of a LATERAL `generate_series` (`PipelineState.seriesCursor`): restarted for
/// every input row with that row's bounds (`begin`, arguments in the scratch area as for a
/// generic call), then stepped once per value. Compiled code and the interpreter read the
/// current value from `cursor` (`SeriesCursorLayout`). An integer series is stepped by them
/// inline, from the following value, the step and the count of values left that `begin`
/// stores; a timestamp series (calendar steps) by `next`.
final class SeriesCursorState: RuntimeState {
    static let valueOffset = SeriesCursorLayout.value
    static let nullOffset = SeriesCursorLayout.null
    let type: SQLType
    let cursor: UnsafeMutableRawPointer
    var current: Int64 = 0
    var stop: Int64 = 0
    /// The direction (and, for integers, the step).
    var step: Int64 = 1
    /// A timestamp series' step (months and days move by the calendar).
    var interval = Interval()
    var exhausted = true

    init(type: SQLType) {
        self.type = type
        cursor = .allocate(byteCount: SeriesCursorLayout.size, alignment: 16)
        cursor.initializeMemory(as: UInt8.self, repeating: 0, count: SeriesCursorLayout.size)
        cursor.storeBytes(of: 1, toByteOffset: SeriesCursorState.nullOffset, as: UInt8.self)
    }
    deinit { cursor.deallocate() }

    /// Restarts the series at the scratch area's (start, stop, step); a NULL bound is an
    /// empty series (generate_series is strict), a zero step an error, as in PostgreSQL.
    func begin(_ scratch: UnsafeMutableRawPointer) throws(DatabaseError) {
        exhausted = true
        cursor.storeBytes(of: 1, toByteOffset: SeriesCursorState.nullOffset, as: UInt8.self)
        cursor.storeBytes(of: 0, toByteOffset: SeriesCursorLayout.remaining, as: UInt64.self)
        func isNull(_ i: Int) -> Bool { scratch.load(fromByteOffset: ScratchLayout.argumentNull(i), as: UInt8.self) != 0 }
        func integer(_ i: Int) -> Int64 {
            let at = scratch + ScratchLayout.argument(i)
            return type == .integer ? Int64(at.loadUnaligned(as: Int32.self)) : at.loadUnaligned(as: Int64.self)
        }
        if isNull(0) || isNull(1) || isNull(2) { return }
        if type == .timestamp {
            guard case .interval(let interval) = ValueCodec.load(.interval, at: scratch + ScratchLayout.argument(2)) else { return }
            // The direction is the step's sign as an interval compares with zero (30-day months).
            let span = interval.comparableMicros
            if span == 0 { throw DatabaseError(.invalidParameterValue, "step size cannot equal zero") }
            (current, stop, step, self.interval) = (integer(0), integer(1), span > 0 ? 1 : -1, interval)
        } else {
            (current, stop, step) = (integer(0), integer(1), integer(2))
            if step == 0 { throw DatabaseError(.invalidParameterValue, "step size cannot equal zero") }
            // How many values: exact in 128 bits, so stepping never overflows (the last value
            // is within the bounds; the step past it wraps unread).
            let span = step > 0 ? Int128(stop) - Int128(current) : Int128(current) - Int128(stop)
            let count = span < 0 ? 0 : UInt64(clamping: span / Int128(step.magnitude) + 1)
            cursor.storeBytes(of: current, toByteOffset: SeriesCursorLayout.following, as: Int64.self)
            cursor.storeBytes(of: step, toByteOffset: SeriesCursorLayout.step, as: Int64.self)
            cursor.storeBytes(of: count, toByteOffset: SeriesCursorLayout.remaining, as: UInt64.self)
        }
        exhausted = false
    }

    /// Moves to the next value; false (and the value NULL) past the last one.
    func next() -> Bool {
        guard !exhausted, step > 0 ? current <= stop : current >= stop else {
            exhausted = true
            cursor.storeBytes(of: 1, toByteOffset: SeriesCursorState.nullOffset, as: UInt8.self)
            return false
        }
        if type == .integer {
            cursor.storeBytes(of: Int32(truncatingIfNeeded: current), toByteOffset: SeriesCursorState.valueOffset, as: Int32.self)
        } else {
            cursor.storeBytes(of: current, toByteOffset: SeriesCursorState.valueOffset, as: Int64.self)
        }
        cursor.storeBytes(of: 0, toByteOffset: SeriesCursorState.nullOffset, as: UInt8.self)
        if type == .timestamp {
            // Past the last timestamp there is no next value: the series ends.
            if let following = DateMath.add(timestamp: current, interval: interval) { current = following } else { exhausted = true }
        } else {
            let (following, overflow) = current.addingReportingOverflow(step)
            if overflow || (type == .integer && Int32(exactly: following) == nil) { exhausted = true }
            current = following
        }
        return true
    }
}

/// A LATERAL series' cursor memory, as compiled code and the interpreter read it: the current
/// value (as its type) and its NULL byte (set once the series is exhausted: the NULL row of a
/// LEFT JOIN LATERAL); for an integer series, the following value, the step and how many
/// values are left (64-bit each).
public enum SeriesCursorLayout {
    public static let value = 0
    public static let null = 8
    public static let following = 16
    public static let step = 24
    public static let remaining = 32
    static let size = 48
}
