#if canImport(Glibc)
import Glibc
#endif
import KilnCore

/// The data file of a database directory (`data.kiln`):
///
/// ```
/// offset 0      header      magic, format version, page size, CRC32C
/// offset 4096   superblock A  } written alternately by checkpoints; the valid one with the
/// offset 8192   superblock B  } higher sequence number is the database
/// offset 12288  extents: column extents (ColumnCodec's layout) and metadata extents, each
///               page aligned and checksummed (the checksum is kept where the extent is named)
/// ```
/// A superblock names the metadata extent (the catalog, every row group's column extents and
/// statistics, the free extents) and the WAL generation that continues it.
final class DataFile {
    static let pageSize = 4096
    static let headerMagic: [UInt8] = Array("KILNDATA".utf8)
    static let superblockMagic: [UInt8] = Array("KILNSUPR".utf8)
    static let formatVersion: UInt32 = 1
    /// The layout of the metadata a superblock names: 1 before MVCC; 2 adds each row group's
    /// committed deletes; 3 adds each table's constraints (defaults, keys, checks, foreign
    /// keys) and the sequences; 4 gives each column extent a checksum per 64 KiB block instead
    /// of one for all of it. A superblock records its metadata's version; all are read.
    static let metadataVersion: UInt32 = 4
    static let firstExtent = 3 * pageSize

    struct Superblock: Equatable {
        var sequence: UInt64
        var metadataOffset: Int
        var metadataLength: Int
        var metadataChecksum: UInt32
        /// The WAL whose header carries this generation continues this checkpoint.
        var walGeneration: UInt64
        /// The end of the last extent this checkpoint uses.
        var fileLength: Int
        /// The layout of the metadata (`metadataVersion` when written by this Kiln).
        var version: UInt32 = DataFile.metadataVersion

        func encoded() -> [UInt8] {
            var writer = BinaryWriter()
            writer.raw(DataFile.superblockMagic)
            writer.u32(version)
            writer.u64(sequence)
            writer.int(metadataOffset)
            writer.int(metadataLength)
            writer.u32(metadataChecksum)
            writer.u64(walGeneration)
            writer.int(fileLength)
            writer.u32(crc32c(writer.bytes))
            return writer.bytes
        }

        /// Decodes a superblock slot; nil when it was never written or is torn.
        static func decode(_ bytes: [UInt8]) -> Superblock? {
            let body = 8 + 4 + 8 * 3 + 4 + 8 * 2
            guard bytes.count >= body + 4, Array(bytes[0..<8]) == DataFile.superblockMagic else { return nil }
            return bytes.withUnsafeBytes { buffer -> Superblock? in
                var reader = BinaryReader(buffer, file: "", offset: 0)
                guard (try? reader.bytes(8)) != nil, let version = try? reader.u32(), (1...DataFile.metadataVersion).contains(version),
                      let sequence = try? reader.u64(), let offset = try? reader.int(), let length = try? reader.int(),
                      let checksum = try? reader.u32(), let generation = try? reader.u64(), let fileLength = try? reader.int(),
                      let stored = try? reader.u32(), stored == crc32c(UnsafeRawBufferPointer(rebasing: buffer[0..<body])) else { return nil }
                return Superblock(sequence: sequence, metadataOffset: offset, metadataLength: length, metadataChecksum: checksum,
                                  walGeneration: generation, fileLength: fileLength, version: version)
            }
        }
    }

    let file: DurableFile
    private(set) var superblock: Superblock
    /// Space no extent of the current checkpoint uses (sorted, merged, page multiples).
    private(set) var free: [Range<Int>]

    /// Opens (or creates, with an empty first checkpoint) the data file.
    init(path: String) throws(DatabaseError) {
        file = try DurableFile(path: path, create: true)
        free = []
        if file.size == 0 {
            superblock = Superblock(sequence: 0, metadataOffset: 0, metadataLength: 0, metadataChecksum: 0, walGeneration: 1, fileLength: DataFile.firstExtent)
            var header = BinaryWriter()
            header.raw(DataFile.headerMagic)
            header.u32(DataFile.formatVersion)
            header.u32(UInt32(DataFile.pageSize))
            header.string("kiln 0.1.0")
            header.u32(crc32c(header.bytes))
            // Whole pages: the header and both superblock slots exist from the start.
            var start = header.bytes + [UInt8](repeating: 0, count: DataFile.pageSize - header.bytes.count)
            start += superblock.encoded() + [UInt8](repeating: 0, count: DataFile.pageSize - superblock.encoded().count)
            start += [UInt8](repeating: 0, count: DataFile.pageSize)
            try file.write(start, at: 0)
            try file.sync()
            return
        }
        let header = try file.read(DataFile.pageSize, at: 0)
        guard Array(header[0..<8]) == DataFile.headerMagic else {
            throw StorageError.corrupted(file: path, offset: 0, "not a Kiln data file (bad magic)")
        }
        try header.withBytes { buffer throws(DatabaseError) in
            var reader = BinaryReader(buffer, file: path, offset: 0)
            _ = try reader.bytes(8)
            let version = try reader.u32()
            guard version == DataFile.formatVersion else {
                throw DatabaseError(.featureNotSupported, "data file \"\(path)\" has format version \(version); this Kiln reads version \(DataFile.formatVersion)")
            }
            _ = try reader.u32()
            _ = try reader.string()
            let end = reader.offset
            let stored = try reader.u32()
            guard stored == crc32c(UnsafeRawBufferPointer(rebasing: buffer[0..<end])) else {
                throw StorageError.corrupted(file: path, offset: 0, "header checksum mismatch")
            }
        }
        let file = self.file
        let slots = [DataFile.pageSize, 2 * DataFile.pageSize].compactMap { offset -> Superblock? in
            guard let bytes = try? file.read(DataFile.pageSize, at: offset) else { return nil }
            return Superblock.decode(bytes)
        }
        guard let newest = slots.max(by: { $0.sequence < $1.sequence }) else {
            throw StorageError.corrupted(file: path, offset: DataFile.pageSize, "neither superblock is valid")
        }
        superblock = newest
    }

    /// Reads and checks the current checkpoint's metadata (nil for the empty first checkpoint).
    func readMetadata() throws(DatabaseError) -> [UInt8]? {
        guard superblock.metadataLength > 0 else { return nil }
        guard superblock.metadataOffset + superblock.metadataLength <= file.size else {
            throw StorageError.corrupted(file: file.path, offset: superblock.metadataOffset, "the metadata extent lies past the end of the file")
        }
        let bytes = try file.read(superblock.metadataLength, at: superblock.metadataOffset)
        let checksum = crc32c(bytes)
        guard checksum == superblock.metadataChecksum else {
            throw StorageError.corrupted(file: file.path, offset: superblock.metadataOffset,
                                         "metadata checksum mismatch (expected \(hex(superblock.metadataChecksum)), found \(hex(checksum)))")
        }
        return bytes
    }

    /// Sets the free space after the metadata was read: everything between the first extent and
    /// the checkpoint's end that no extent in `used` covers.
    func setUsed(_ used: [Range<Int>]) {
        var gaps: [Range<Int>] = []
        var cursor = DataFile.firstExtent
        for range in used.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > cursor { gaps.append(cursor..<range.lowerBound) }
            cursor = max(cursor, range.upperBound)
        }
        if superblock.fileLength > cursor { gaps.append(cursor..<superblock.fileLength) }
        free = gaps
        end = max(cursor, superblock.fileLength)
    }

    /// The end of the space in use or handed out (extents past it are appended).
    private var end = DataFile.firstExtent

    /// Space for `length` bytes (rounded up to pages) that the current checkpoint does not use.
    func allocate(_ length: Int) -> Range<Int> {
        let pages = (length + DataFile.pageSize - 1) / DataFile.pageSize * DataFile.pageSize
        if let index = free.firstIndex(where: { $0.count >= pages }) {
            let range = free[index]
            let taken = range.lowerBound..<(range.lowerBound + pages)
            if range.count == pages { free.remove(at: index) } else { free[index] = taken.upperBound..<range.upperBound }
            return taken
        }
        defer { end += pages }
        return end..<(end + pages)
    }

    /// Returns extents the new checkpoint no longer uses: reusable once its superblock is on disk.
    func release(_ ranges: [Range<Int>]) {
        var all = free + ranges
        all.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for range in all where !range.isEmpty {
            if let last = merged.last, last.upperBound >= range.lowerBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        free = merged
    }

    var fileEnd: Int { end }

    /// The allocator's state, restored when a checkpoint fails before its superblock is written.
    var allocation: (free: [Range<Int>], end: Int) {
        get { (free, end) }
        set { (free, end) = newValue }
    }

    /// Writes `bytes` into fresh space and returns where.
    func writeExtent(_ bytes: [UInt8]) throws(DatabaseError) -> Range<Int> {
        let range = allocate(bytes.count)
        try file.write(bytes, at: range.lowerBound)
        return range
    }

    /// Makes the written extents durable, then the new superblock (the commit point of a checkpoint).
    func commit(_ next: Superblock) throws(DatabaseError) {
        try file.sync()
        IOFaults.crashPoint("checkpoint-before-flip")
        let slot = next.sequence % 2 == 0 ? DataFile.pageSize : 2 * DataFile.pageSize
        var bytes = next.encoded()
        bytes.append(contentsOf: repeatElement(0, count: DataFile.pageSize - bytes.count))
        try file.write(bytes, at: slot)
        try file.sync()
        superblock = next
        IOFaults.crashPoint("checkpoint-after-flip")
    }
}
