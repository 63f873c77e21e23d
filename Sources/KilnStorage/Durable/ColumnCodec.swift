#if canImport(Glibc)
import Glibc
#endif
import KilnCore
import Synchronization

/// Where one column of one row group lives in the data file, with what a reader needs to check
/// and use it. Kept in the checkpoint's metadata.
public struct ColumnExtent: Sendable, Equatable {
    /// Byte offset in the data file (a multiple of `DataFile.pageSize`).
    var offset: Int
    /// Bytes covered by `checksum` (the extent occupies this rounded up to a page).
    var length: Int
    var checksum: UInt32
    var rows: Int
    var nullCount: Int
    /// 0: plain (the layout below). Other codecs (compression) can come without a format change.
    var codec: UInt8
    /// Where the validity words start, from the extent's start.
    var validityOffset: Int
    /// Whether string cells hold offsets of long strings (relocated when the column is loaded).
    var longStrings: Bool
    /// The smallest and largest non-NULL values in physical layout, for types whose physical
    /// order is their SQL order (not strings or intervals); nil otherwise or when all are NULL.
    var minimum: Int128?
    var maximum: Int128?
    /// The CRC32C of each `checksumBlock` bytes of the extent (the last may be shorter), so that
    /// a scan checks what each morsel reads as it reads it. Empty for an extent written before
    /// metadata version 4, whose one `checksum` covers all of it (checked whole when mapped).
    var blockChecksums: [UInt32] = []

    /// Bytes per block checksum.
    static let checksumBlock = 64 << 10

    var pages: Int { (length + DataFile.pageSize - 1) / DataFile.pageSize * DataFile.pageSize }

    /// The block checksums of `bytes`.
    static func blockChecksums(_ bytes: UnsafeRawBufferPointer) -> [UInt32] {
        stride(from: 0, to: bytes.count, by: checksumBlock).map { start in
            crc32c(UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + checksumBlock, bytes.count)]))
        }
    }
}

/// The one layout of a column's rows, shared by WAL insert records and data-file extents:
///
/// ```
/// cells     rows x width bytes (strings: the 16-byte cell; a long string's pointer field
///           holds the offset of its bytes from the layout's start), padded to 16
/// validity  ceil(rows / 64) little-endian words, bit i = row i is not NULL
/// strings   the long strings' bytes
/// ```
enum ColumnCodec {
    struct Encoded {
        var validityOffset: Int
        var longStrings: Bool
        var nullCount: Int
        var minimum: Int128?
        var maximum: Int128?
    }

    /// Appends rows `rows` of `column` to `writer` in the layout above; offsets count from the
    /// writer's position at the call.
    static func encode(_ column: ColumnSegment, rows: Range<Int>, into writer: inout BinaryWriter) -> Encoded {
        let start = writer.bytes.count
        let width = column.width
        let count = rows.count
        writer.raw(UnsafeRawBufferPointer(start: column.values + rows.lowerBound * width, count: count * width))
        writer.align(16)
        let validityOffset = writer.bytes.count - start
        var nullCount = 0
        var word: UInt64 = 0
        for index in 0..<count {
            if column.isValid(rows.lowerBound + index) { word |= 1 << UInt64(index & 63) } else { nullCount += 1 }
            if index & 63 == 63 {
                writer.u64(word)
                word = 0
            }
        }
        if count & 63 != 0 { writer.u64(word) }
        var longStrings = false
        if column.type.physical == .string {
            for index in 0..<count where column.isValid(rows.lowerBound + index) {
                let cell = (column.values + (rows.lowerBound + index) * 16).load(as: Int128.self)
                guard KilnString.length(cell) > KilnString.inlineCapacity else { continue }
                longStrings = true
                let offset = writer.bytes.count - start
                KilnString.withBytes(cell) { writer.raw($0) }
                writer.patch(u64: UInt64(offset), at: start + index * 16 + 8)
            }
        }
        let (minimum, maximum) = bounds(column, rows: rows)
        return Encoded(validityOffset: validityOffset, longStrings: longStrings, nullCount: nullCount, minimum: minimum, maximum: maximum)
    }

    /// The bytes `encode` writes for `rows` rows whose data starts at `base` (for bounds checks).
    static func validityBytes(rows: Int) -> Int { (rows + 63) / 64 * 8 }

    /// The min/max of the non-NULL values, for types whose physical order is their SQL order.
    static func bounds(_ column: ColumnSegment, rows: Range<Int>) -> (Int128?, Int128?) {
        func scan<T: Comparable>(_ type: T.Type, _ widen: (T) -> Int128) -> (Int128?, Int128?) {
            var low: T?, high: T?
            let base = column.values.assumingMemoryBound(to: T.self)
            for row in rows where column.isValid(row) {
                let value = base[row]
                if let l = low, !(value < l) {} else { low = value }
                if let h = high, !(value > h) {} else { high = value }
            }
            return (low.map(widen), high.map(widen))
        }
        func floating<T: BinaryFloatingPoint>(_ type: T.Type) -> (Int128?, Int128?) {
            var low: T?, high: T?
            let base = column.values.assumingMemoryBound(to: T.self)
            for row in rows where column.isValid(row) {
                let value = base[row]
                if value.isNaN { return (nil, nil) }  // NaN sorts above everything: no useful bound
                if let l = low, !(value < l) {} else { low = value }
                if let h = high, !(value > h) {} else { high = value }
            }
            return (low.map { Int128(Double($0).bitPattern) }, high.map { Int128(Double($0).bitPattern) })
        }
        switch column.type {
        case .smallint: return scan(Int16.self) { Int128($0) }
        case .integer, .date: return scan(Int32.self) { Int128($0) }
        case .bigint, .timestamp: return scan(Int64.self) { Int128($0) }
        case .numeric: return scan(Int128.self) { $0 }
        case .real: return floating(Float.self)
        case .double: return floating(Double.self)
        default: return (nil, nil)
        }
    }

    /// Copies rows `range` of `rows` encoded rows in `bytes` into `column` from row `first`
    /// (WAL replay); long strings go to `arena`. `origin` names the bytes' place for errors.
    static func decode(_ bytes: UnsafeRawBufferPointer, rows: Int, range: Range<Int>, into column: ColumnSegment, at first: Int,
                       arena: StringArena, origin: (file: String, offset: Int)) throws(DatabaseError) {
        let width = column.width
        let validityOffset = (rows * width + 15) / 16 * 16
        let validityEnd = validityOffset + validityBytes(rows: rows)
        guard validityEnd <= bytes.count else {
            throw StorageError.corrupted(file: origin.file, offset: origin.offset, "a column of \(rows) rows needs \(validityEnd) bytes, the record has \(bytes.count)")
        }
        let base = bytes.baseAddress!
        (column.values + first * width).copyMemory(from: base + range.lowerBound * width, byteCount: range.count * width)
        for (index, row) in range.enumerated() {
            let word = (base + validityOffset + (row >> 6) * 8).loadUnaligned(as: UInt64.self)
            if word & (1 << UInt64(row & 63)) != 0 { column.setValid(first + index) } else { column.setInvalid(first + index) }
        }
        guard column.type.physical == .string else { return }
        for index in 0..<range.count where column.isValid(first + index) {
            let cellAddress = column.values + (first + index) * 16
            guard let (offset, length) = try longString(at: cellAddress, strings: validityEnd..<bytes.count, { () -> DatabaseError in
                StorageError.corrupted(file: origin.file, offset: origin.offset, "a string points outside its record")
            }) else { continue }
            let copy = KilnString.make(UnsafeRawBufferPointer(start: base + offset, count: length), arena: arena)
            cellAddress.storeBytes(of: copy, as: Int128.self)
        }
    }

    /// A long string's cell in the layout: the offset and length of its bytes, which must lie in
    /// `strings` (the layout's string area; else `outside()` is thrown); nil for an inline string.
    static func longString(at cellAddress: UnsafeRawPointer, strings: Range<Int>,
                           _ outside: () -> DatabaseError) throws(DatabaseError) -> (offset: Int, length: Int)? {
        let length = KilnString.length(cellAddress.load(as: Int128.self))
        guard length > KilnString.inlineCapacity else { return nil }
        let offset = Int(truncatingIfNeeded: (cellAddress + 8).load(as: UInt64.self))
        guard offset >= strings.lowerBound, offset <= strings.upperBound, length <= strings.upperBound - offset else { throw outside() }
        return (offset, length)
    }

    struct Mapped {
        var values: UnsafeMutableRawPointer
        var validity: UnsafeMutablePointer<UInt64>
        var ownsValues: Bool
        var mapping: FileMapping?
        /// The blocks still to check before their bytes are read (`checkAll` false).
        var unchecked: UncheckedBlocks?
    }

    /// Maps a column's extent and relocates long strings. Its checksums are checked here, all
    /// of them, unless `checkAll` is false and the extent has block checksums and no long
    /// strings (whose relocation reads every cell anyway): then `unchecked` lists the blocks,
    /// which the reader checks before it reads them (`ColumnSegment.check(rows:)`).
    static func map(_ extent: ColumnExtent, type: SQLType, file: DurableFile, checkAll: Bool = true) throws(DatabaseError) -> Mapped {
        let width = type.physical.byteWidth
        let validityEnd = extent.validityOffset + validityBytes(rows: extent.rows)
        guard extent.codec == 0 else {
            throw StorageError.corrupted(file: file.path, offset: extent.offset, "unknown column codec \(extent.codec)")
        }
        guard extent.rows * width <= extent.validityOffset, validityEnd <= extent.length,
              extent.offset + extent.length <= file.size else {
            throw StorageError.corrupted(file: file.path, offset: extent.offset, "a column extent does not fit its file")
        }
        let lazy = !checkAll && !extent.blockChecksums.isEmpty && !extent.longStrings
        let mapping = try file.map(offset: extent.offset, length: extent.length, populate: !lazy)
        let base = mapping.address
        var unchecked: UncheckedBlocks?
        if extent.blockChecksums.isEmpty {
            let checksum = crc32c(UnsafeRawBufferPointer(start: base, count: extent.length))
            guard checksum == extent.checksum else {
                throw StorageError.corrupted(file: file.path, offset: extent.offset, "block checksum mismatch (expected \(hex(extent.checksum)), found \(hex(checksum)))")
            }
        } else {
            let blocks = UncheckedBlocks(extent: extent, base: UnsafeRawPointer(base), path: file.path)
            if lazy { unchecked = blocks } else { try blocks.check(0..<extent.length) }
        }
        var values = base
        var owns = false
        if extent.longStrings {
            values = .allocate(byteCount: max(1, extent.rows * 16), alignment: 16)
            values.copyMemory(from: base, byteCount: extent.rows * 16)
            owns = true
            let validity = (base + extent.validityOffset).assumingMemoryBound(to: UInt64.self)
            for row in 0..<extent.rows where validity[row >> 6] & (1 << UInt64(row & 63)) != 0 {
                let cellAddress = values + row * 16
                let found: (offset: Int, length: Int)?
                do throws(DatabaseError) {
                    found = try longString(at: cellAddress, strings: validityEnd..<extent.length) {
                        StorageError.corrupted(file: file.path, offset: extent.offset, "a string points outside its extent")
                    }
                } catch {
                    values.deallocate()
                    throw error
                }
                guard let (offset, _) = found else { continue }
                (cellAddress + 8).storeBytes(of: UInt64(UInt(bitPattern: base + offset)), as: UInt64.self)
            }
        }
        let validity = (base + extent.validityOffset).assumingMemoryBound(to: UInt64.self)
        return Mapped(values: values, validity: validity, ownsValues: owns, mapping: mapping, unchecked: unchecked)
    }
}

/// The blocks of a mapped extent whose checksums were not checked yet, checked as readers
/// reach them (each once; workers that meet one block together may both check it).
///
/// `@unchecked Sendable`: the mapping is read-only; which blocks are done is under `done`.
final class UncheckedBlocks: @unchecked Sendable {
    let extent: ColumnExtent
    let base: UnsafeRawPointer
    let path: String
    private let done: Mutex<(blocks: [Bool], left: Int)>

    init(extent: ColumnExtent, base: UnsafeRawPointer, path: String) {
        self.extent = extent
        self.base = base
        self.path = path
        done = Mutex((Array(repeating: false, count: extent.blockChecksums.count), extent.blockChecksums.count))
    }

    /// Checks the blocks that hold bytes `range` of the extent; returns whether every block is
    /// checked now. A mismatch is XX001 naming the file and the block's offset.
    @discardableResult
    func check(_ range: Range<Int>) throws(DatabaseError) -> Bool {
        guard !range.isEmpty else { return done.withLock { $0.left == 0 } }
        let block = ColumnExtent.checksumBlock
        let blocks = (range.lowerBound / block)..<min((range.upperBound + block - 1) / block, extent.blockChecksums.count)
        let todo = done.withLock { state in blocks.filter { !state.blocks[$0] } }
        for index in todo {
            let start = index * block
            let bytes = UnsafeRawBufferPointer(start: base + start, count: min(block, extent.length - start))
            let found = crc32c(bytes)
            guard found == extent.blockChecksums[index] else {
                throw StorageError.corrupted(file: path, offset: extent.offset + start,
                                             "block checksum mismatch (expected \(hex(extent.blockChecksums[index])), found \(hex(found)))")
            }
        }
        return done.withLock { state in
            for index in todo where !state.blocks[index] {
                state.blocks[index] = true
                state.left -= 1
            }
            return state.left == 0
        }
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
