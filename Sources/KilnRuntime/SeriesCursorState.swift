import KilnCore
import KilnStorage

/// The cursor of a LATERAL `generate_series` (`PipelineState.seriesCursor`): restarted for
/// every input row with that row's bounds (`begin`, arguments in the scratch area as for a
/// generic call), then stepped once per value. Compiled code and the interpreter read the
/// current value from `cursor` (`SeriesCursorLayout`). An integer series is stepped by them
/// inline, from the following value, the step and the count of values left that `begin`
/// stores; a timestamp series (calendar steps) by `next`.
final class SeriesCursorState: RuntimeState {
    let type: SQLType
    let cursor: UnsafeMutableRawPointer
    /// A timestamp series (stepped by `next`): the next value, the last bound, the direction
    /// and the interval step (months and days move by the calendar).
    var current: Int64 = 0
    var stop: Int64 = 0
    var direction: Int64 = 1
    var interval = Interval()
    var exhausted = true

    init(type: SQLType) {
        self.type = type
        cursor = .allocate(byteCount: SeriesCursorLayout.size, alignment: 16)
        cursor.initializeMemory(as: UInt8.self, repeating: 0, count: SeriesCursorLayout.size)
        cursor.storeBytes(of: 1, toByteOffset: SeriesCursorLayout.null, as: UInt8.self)
    }
    deinit { cursor.deallocate() }

    /// Restarts the series at the scratch area's (start, stop, step); a NULL bound is an
    /// empty series (generate_series is strict), a zero step an error, as in PostgreSQL.
    func begin(_ scratch: UnsafeMutableRawPointer) throws(DatabaseError) {
        exhausted = true
        cursor.storeBytes(of: 1, toByteOffset: SeriesCursorLayout.null, as: UInt8.self)
        cursor.storeBytes(of: 0, toByteOffset: SeriesCursorLayout.remaining, as: UInt64.self)
        func isNull(_ i: Int) -> Bool { scratch.load(fromByteOffset: ScratchLayout.argumentNull(i), as: UInt8.self) != 0 }
        func integer(_ i: Int) -> Int64 {
            let at = scratch + ScratchLayout.argument(i)
            return type == .integer ? Int64(at.loadUnaligned(as: Int32.self)) : at.loadUnaligned(as: Int64.self)
        }
        if isNull(0) || isNull(1) || isNull(2) { return }
        if type == .timestamp {
            guard case .interval(let interval) = ValueCodec.load(.interval, at: scratch + ScratchLayout.argument(2)) else { return }
            (current, stop, direction, self.interval) = (integer(0), integer(1), try SeriesState.direction(of: interval), interval)
            exhausted = false
            return
        }
        // An integer series is stepped inline: the following value, the step and the exact
        // count of values (the last is within the bounds; the step past it wraps unread).
        let (start, step) = (integer(0), integer(2))
        try SeriesState.checkStep(step)
        cursor.storeBytes(of: start, toByteOffset: SeriesCursorLayout.following, as: Int64.self)
        cursor.storeBytes(of: step, toByteOffset: SeriesCursorLayout.step, as: Int64.self)
        cursor.storeBytes(of: SeriesState.count(from: start, to: integer(1), by: step), toByteOffset: SeriesCursorLayout.remaining, as: UInt64.self)
    }

    /// Moves a timestamp series to its next value; false (and the value NULL) past the last.
    func next() -> Bool {
        guard !exhausted, direction > 0 ? current <= stop : current >= stop else {
            exhausted = true
            cursor.storeBytes(of: 1, toByteOffset: SeriesCursorLayout.null, as: UInt8.self)
            return false
        }
        cursor.storeBytes(of: current, toByteOffset: SeriesCursorLayout.value, as: Int64.self)
        cursor.storeBytes(of: 0, toByteOffset: SeriesCursorLayout.null, as: UInt8.self)
        // Past the last timestamp there is no next value: the series ends.
        if let following = DateMath.add(timestamp: current, interval: interval) { current = following } else { exhausted = true }
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
