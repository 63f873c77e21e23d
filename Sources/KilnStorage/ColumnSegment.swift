import KilnCore
import Synchronization

/// One column's values for one segment of a table: a contiguous array and a validity bitmap.
///
/// Compiled scans read `values` and `validity` directly; the segment never moves its memory
/// while a query reads it (appends that grow it happen only between statements).
///
/// A column read from the data file starts unloaded: its extent is mapped and checked (CRC32C)
/// the first time a statement reads it (`load`), not when the database opens. A loaded column
/// of a persisted row group points into the mapping (string cells with long strings are the one
/// copy: their pointers are relocated into the mapping); appending to it first copies it to
/// memory (`makeWritable`).
public final class ColumnSegment {
    public let type: SQLType
    public let width: Int
    public private(set) var values: UnsafeMutableRawPointer
    /// Bit i of word i/64 is 1 when row i is not NULL.
    public private(set) var validity: UnsafeMutablePointer<UInt64>
    public private(set) var capacity: Int
    public private(set) var nullCount = 0
    /// Whether `values` / `validity` were allocated here (not in a mapping of the data file).
    private var ownsValues = true
    private var ownsValidity = true
    /// Keeps the data file's pages mapped while `values`, `validity` or string cells point there.
    private var mapping: FileMapping?
    /// The extent this column's rows were read from or last written to, while memory and file
    /// agree (a checkpoint writes only columns without one).
    var extent: ColumnExtent?
    /// Set until the column is first read: where its data is in the data file.
    private let pending: Mutex<PendingLoad?>
    /// False until `load` has run for a column of the data file (its pointers are placeholders).
    private var loaded = true
    /// Blocks of the mapped extent not checked yet (`map` for a scan); nil when all are.
    private var unchecked: UncheckedBlocks?
    /// True once every byte the column's pointers reach was checked (the scans' fast path).
    private let checked = Atomic<Bool>(true)

    struct PendingLoad {
        let file: DurableFile
        let extent: ColumnExtent
    }

    init(type: SQLType, capacity: Int) {
        self.type = type
        width = type.physical.byteWidth
        self.capacity = capacity
        values = UnsafeMutableRawPointer.allocate(byteCount: max(1, capacity * width), alignment: 16)
        let words = (capacity + 63) / 64
        validity = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, words))
        validity.initialize(repeating: 0, count: max(1, words))
        pending = Mutex(nil)
    }

    /// A column of a persisted row group, read from `file` when first used.
    init(type: SQLType, extent: ColumnExtent, file: DurableFile) {
        self.type = type
        width = type.physical.byteWidth
        capacity = extent.rows
        nullCount = extent.nullCount
        values = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        validity = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        validity.initialize(to: 0)
        self.extent = extent
        pending = Mutex(PendingLoad(file: file, extent: extent))
        loaded = false
        checked.store(false, ordering: .relaxed)
    }

    deinit {
        if ownsValues { values.deallocate() }
        if ownsValidity { validity.deallocate() }
    }

    /// Maps and checks the column's extent if it was not read yet, all of it (a damaged extent
    /// is XX001).
    public func load() throws(DatabaseError) {
        try map(checkAll: true)
    }

    /// Maps the column's extent if it was not read yet; with `checkAll` false, blocks with
    /// their own checksums are checked later, as a scan reaches them (`check(rows:)`).
    public func map(checkAll: Bool) throws(DatabaseError) {
        if checked.load(ordering: .acquiring) { return }
        let blocks = try pending.withLock { (pending: inout PendingLoad?) throws(DatabaseError) -> UncheckedBlocks? in
            guard let load = pending else { return unchecked }
            let mapped = try ColumnCodec.map(load.extent, type: type, file: load.file, checkAll: checkAll)
            values.deallocate()
            validity.deallocate()
            values = mapped.values
            validity = mapped.validity
            ownsValues = mapped.ownsValues
            ownsValidity = false
            mapping = mapped.mapping
            unchecked = mapped.unchecked
            loaded = true
            pending = nil
            if mapped.unchecked == nil { checked.store(true, ordering: .releasing) }
            return nil
        }
        if checkAll, let blocks, try blocks.check(0..<blocks.extent.length) { checked.store(true, ordering: .releasing) }
    }

    /// Checks the bytes rows `rows` occupy (cells and validity words) before a scan reads
    /// them, when the column was mapped without checking them all.
    @inline(__always)
    public func check(rows: Range<Int>) throws(DatabaseError) {
        if checked.load(ordering: .acquiring) { return }
        try checkSlowly(rows: rows)
    }

    private func checkSlowly(rows: Range<Int>) throws(DatabaseError) {
        guard let blocks = pending.withLock({ _ in unchecked }) else { return }
        let extent = blocks.extent
        let cells = try blocks.check((rows.lowerBound * width)..<(rows.upperBound * width))
        let words = try blocks.check(extent.validityOffset + rows.lowerBound / 64 * 8..<extent.validityOffset + (rows.upperBound + 63) / 64 * 8)
        if cells || words { checked.store(true, ordering: .releasing) }
    }

    /// Whether appends may write into this column's memory (it is loaded and not mapped).
    var isWritable: Bool { loaded && ownsValues && ownsValidity }

    /// Copies a mapped column into memory so that rows can be appended (long strings go to
    /// `arena`: the mapped extent may be reused once a checkpoint has rewritten this row group).
    func makeWritable(count: Int, arena: StringArena) throws(DatabaseError) {
        try load()
        guard !isWritable else { return }
        let newValues = UnsafeMutableRawPointer.allocate(byteCount: max(1, capacity * width), alignment: 16)
        newValues.copyMemory(from: values, byteCount: count * width)
        if type.physical == .string {
            for row in 0..<count {
                let cell = (newValues + row * 16).load(as: Int128.self)
                if KilnString.length(cell) > KilnString.inlineCapacity {
                    let copy = KilnString.withBytes(cell) { KilnString.make($0, arena: arena) }
                    (newValues + row * 16).storeBytes(of: copy, as: Int128.self)
                }
            }
        }
        let words = max(1, (capacity + 63) / 64)
        let newValidity = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        newValidity.update(from: validity, count: words)
        if ownsValues { values.deallocate() }
        if ownsValidity { validity.deallocate() }
        values = newValues
        validity = newValidity
        ownsValues = true
        ownsValidity = true
        // The mapping stays: values read from it before (an UPDATE's or INSERT ... SELECT's
        // records of this table's long strings) still point into it while the statement
        // appends them.
    }

    func grow(to newCapacity: Int, count: Int) {
        let newValues = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * width, alignment: 16)
        newValues.copyMemory(from: values, byteCount: count * width)
        if ownsValues { values.deallocate() }
        values = newValues
        let oldWords = (capacity + 63) / 64
        let newWords = (newCapacity + 63) / 64
        let newValidity = UnsafeMutablePointer<UInt64>.allocate(capacity: newWords)
        newValidity.initialize(repeating: 0, count: newWords)
        newValidity.update(from: validity, count: max(1, oldWords))
        if ownsValidity { validity.deallocate() }
        validity = newValidity
        ownsValues = true
        ownsValidity = true
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
