import KilnCore

/// One column's values for one segment of a table: a contiguous array and a validity bitmap.
///
/// Compiled scans read `values` and `validity` directly; the segment never moves its memory
/// while a query reads it (appends that grow it happen only between statements).
public final class ColumnSegment {
    public let type: SQLType
    public let width: Int
    public private(set) var values: UnsafeMutableRawPointer
    /// Bit i of word i/64 is 1 when row i is not NULL.
    public private(set) var validity: UnsafeMutablePointer<UInt64>
    public private(set) var capacity: Int
    public private(set) var nullCount = 0

    init(type: SQLType, capacity: Int) {
        self.type = type
        width = type.physical.byteWidth
        self.capacity = capacity
        values = UnsafeMutableRawPointer.allocate(byteCount: max(1, capacity * width), alignment: 16)
        let words = (capacity + 63) / 64
        validity = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, words))
        validity.initialize(repeating: 0, count: max(1, words))
    }

    deinit {
        values.deallocate()
        validity.deallocate()
    }

    func grow(to newCapacity: Int, count: Int) {
        let newValues = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * width, alignment: 16)
        newValues.copyMemory(from: values, byteCount: count * width)
        values.deallocate()
        values = newValues
        let oldWords = (capacity + 63) / 64
        let newWords = (newCapacity + 63) / 64
        let newValidity = UnsafeMutablePointer<UInt64>.allocate(capacity: newWords)
        newValidity.initialize(repeating: 0, count: newWords)
        newValidity.update(from: validity, count: max(1, oldWords))
        validity.deallocate()
        validity = newValidity
        capacity = newCapacity
    }

    @inline(__always)
    public func isValid(_ row: Int) -> Bool { validity[row >> 6] & (1 << UInt64(row & 63)) != 0 }

    @inline(__always)
    public func setValid(_ row: Int) { validity[row >> 6] |= 1 << UInt64(row & 63) }

    /// Clears row `row`'s validity bit (a slot may be reused after a rolled-back append).
    @inline(__always)
    func setInvalid(_ row: Int) { validity[row >> 6] &= ~(1 << UInt64(row & 63)) }

    /// Writes row `row` (which must be < capacity) from a value; NULL clears the validity bit.
    func set(_ row: Int, _ value: Value, arena: StringArena) {
        if value.isNull {
            nullCount += 1
            setInvalid(row)
            (values + row * width).initializeMemory(as: UInt8.self, repeating: 0, count: width)
            return
        }
        ValueCodec.store(value, as: type, at: values + row * width, arena: arena)
        setValid(row)
    }

    /// Copies one raw cell (already in physical layout) into row `row`.
    @inline(__always)
    func setRaw(_ row: Int, from source: UnsafeRawPointer?) {
        guard let source else {
            nullCount += 1
            setInvalid(row)
            (values + row * width).initializeMemory(as: UInt8.self, repeating: 0, count: width)
            return
        }
        (values + row * width).copyMemory(from: source, byteCount: width)
        setValid(row)
    }

    public func value(at row: Int) -> Value {
        isValid(row) ? ValueCodec.load(type, at: values + row * width) : .null
    }
}
