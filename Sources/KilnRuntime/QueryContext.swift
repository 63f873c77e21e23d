import CKilnSystem
import KilnCore
import KilnStorage

/// Byte offsets of the request context that every compiled pipeline receives as its only argument.
///
/// ```
/// 0   i32  error flag (non-zero: an error was raised; details in the runtime)
/// 4   i32  stop flag (non-zero: the output has all the rows it needs)
/// 8   ptr  parameter block: 16 bytes per slot
/// 16  ptr  parameter null flags: 1 byte per slot
/// 24  ptr  selection vector: row ids (i32) a SIMD filter selected, one morsel's worth
/// 32  ptr  scratch area for runtime calls (see `ScratchLayout`)
/// 40  ptr  the `QueryRuntime` (opaque to compiled code)
/// ```
public enum ContextLayout {
    public static let error = 0
    public static let stop = 4
    public static let parameters = 8
    public static let parameterNulls = 16
    public static let selection = 24
    /// Capacity of the selection vector: the largest batch a columnar source hands out.
    public static let selectionCapacity = 1 << 14
    public static let scratch = 32
    public static let runtime = 40
    public static let size = 64
}

/// The context's error and stop flags, read and written atomically: another thread sets the
/// error flag to cancel a query, and compiled code and the interpreter read both with atomic
/// loads (`llvm.load` with `monotonic` ordering) between batches.
public enum ContextFlags {
    /// The flag at `offset` (`ContextLayout.error` or `.stop`).
    @inline(__always)
    public static func load(_ context: UnsafeMutableRawPointer, _ offset: Int) -> Int32 {
        // safe because the flags are naturally aligned 32-bit fields of a live context.
        kiln_atomic_load_i32((context + offset).assumingMemoryBound(to: Int32.self))
    }

    @inline(__always)
    public static func store(_ context: UnsafeMutableRawPointer, _ offset: Int, _ value: Int32) {
        kiln_atomic_store_i32((context + offset).assumingMemoryBound(to: Int32.self), value)
    }

    /// Sets the flag `flag` points at (a cancel from another thread).
    @inline(__always)
    public static func set(_ flag: UnsafeMutablePointer<Int32>) { kiln_atomic_store_i32(flag, 1) }
}

/// The scratch area through which compiled code passes operands to generic runtime functions.
public enum ScratchLayout {
    public static let maxArguments = 8
    public static func argument(_ i: Int) -> Int { 16 * i }
    public static func argumentNull(_ i: Int) -> Int { 128 + i }
    public static let result = 144
    public static let resultNull = 160
    public static let size = 176
}

/// Batch descriptors that `kiln_rt_next` fills.
///
/// Columnar: `[count i64][first row i64][values ptr, validity ptr] per column`.
/// Records:  `[count i64][unused i64][pointer to an array of record pointers]`.
public enum BatchLayout {
    public static let count = 0
    public static let firstRow = 8
    public static let records = 16
    /// Table scans: the morsel's delete markers when any row of it has one (else null: every
    /// row is visible and `kiln_mid.visible` passes the batch through).
    public static let versions = 24
    public static func values(_ column: Int) -> Int { 32 + 16 * column }
    public static func validity(_ column: Int) -> Int { 40 + 16 * column }
    public static func size(columns: Int) -> Int { 32 + 16 * max(1, columns) }
}

/// A generic scalar function called through `kiln_rt_call`.
public struct RuntimeFunction: Sendable, Equatable {
    public var name: String
    public var argumentTypes: [SQLType]
    public var resultType: SQLType
    public init(name: String, argumentTypes: [SQLType], resultType: SQLType) {
        self.name = name
        self.argumentTypes = argumentTypes
        self.resultType = resultType
    }

    /// The same function with storage of its own (no buffer shared with the original).
    var unshared: RuntimeFunction {
        RuntimeFunction(name: String(decoding: Array(name.utf8), as: UTF8.self), argumentTypes: argumentTypes.map { $0 }, resultType: resultType)
    }
}

/// The hash table as compiled code sees it: a header `[directory ptr][mask i64]` (joins:
/// `[tags ptr][cursor ptr][remaining i64]` follow), a directory of entry pointers, and entries
/// `[next ptr][hash i64][record]`.
public enum HashTableLayout {
    public static let directory = 0
    public static let mask = 8
    /// A `UInt16` per directory slot: bit `hash >> 60` is set for every entry in the slot's
    /// chain, so most probes for absent keys stop before reading the directory.
    public static let tags = 16
    /// A join build's next free entry, and how many more its chunk holds (`i64`; see
    /// `JoinHashTable.grow`).
    public static let cursor = 24
    public static let remaining = 32
    public static let headerSize = 48

    /// A join entry's bytes for a record of `recordSize`: a 16-byte multiple (entries are
    /// copied 16 bytes at a time), the step compiled code moves the build's cursor by.
    public static func entrySize(recordSize: Int) -> Int { entryRecord + (recordSize + 15) / 16 * 16 }
    public static let entryNext = 0
    public static let entryHash = 8
    public static let entryRecord = 16
}
