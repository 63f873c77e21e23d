import KilnCore

/// Appends rows to a table one cell at a time, writing the physical representation straight
/// into the column arrays (COPY's path: no `Value` per cell).
public final class TableAppender {
    let table: Table
    var segment: Segment
    var row = 0

    public init(_ table: Table) {
        self.table = table
        segment = table.writableSegment(reserving: 1 << 16)
    }

    /// Starts a row; every column must then be set exactly once.
    @inline(__always)
    public func beginRow() {
        if segment.count >= segment.capacity {
            if segment.capacity < Table.segmentCapacity {
                segment.reserve(min(Table.segmentCapacity, segment.capacity * 2))
            }
            if segment.count >= segment.capacity { segment = table.writableSegment(reserving: 1 << 16) }
        }
        row = segment.count
    }

    @inline(__always)
    public func endRow() { segment.count += 1 }

    public func setNull(_ column: Int) throws(DatabaseError) {
        if table.columns[column].notNull { throw table.notNullViolation(table.columns[column]) }
        segment.columns[column].setRaw(row, from: nil)
    }

    @inline(__always)
    public func set<T>(_ column: Int, _ value: T) {
        let data = segment.columns[column]
        (data.values + row * data.width).storeBytes(of: value, as: T.self)
        data.setValid(row)
    }

    /// Stores a string (long strings are copied into the table's arena).
    public func setString(_ column: Int, _ bytes: UnsafeBufferPointer<UInt8>) {
        set(column, KilnString.make(UnsafeRawBufferPointer(bytes), arena: table.arena))
    }
}
