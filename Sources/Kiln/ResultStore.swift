#if canImport(Glibc)
import Glibc
#endif
import KilnCore

/// A result set kept to be read later, in bounded memory: a cursor's rows (`DECLARE`/`FETCH`),
/// a portal's rows past an Execute's row limit. PostgreSQL keeps such rows in a tuplestore.
///
/// Rows are appended in batches as the query makes them and encoded compactly (a tag byte per
/// value, then its bytes: tens of bytes a row where `[[Value]]` takes hundreds). Encoded rows
/// gather in chunks of about `chunkBytes`; once the chunks kept in memory pass the budget
/// (`work_mem`), each further chunk goes to a temporary file, which is unlinked as soon as it
/// is made (nothing is left behind, even by a crash). Reading is by row number, forwards or
/// backwards: the chunk that holds a row is found by binary search and decoded whole, and the
/// last chunk decoded is kept for the next read.
public final class ResultStore {
    public let columns: [QueryResult.Column]
    /// Rows appended so far.
    public private(set) var count = 0
    /// Bytes of encoded rows kept in memory before chunks go to the temporary file.
    let memoryBytes: Int
    /// Encoded bytes a chunk gathers before it is sealed.
    static let chunkBytes = 256 << 10
    /// Rows a chunk gathers at most.
    static let chunkRows = 16_384

    private enum Place {
        case memory([UInt8])
        case file(offset: Int, length: Int)
    }

    private struct Chunk {
        var firstRow: Int
        var rows: Int
        var place: Place
    }

    private var chunks: [Chunk] = []
    private var open: [UInt8] = []
    private var openRows = 0
    private var bytesInMemory = 0
    /// The temporary file's descriptor (-1 until a chunk spills) and its length.
    private var file: Int32 = -1
    private var fileLength = 0
    private var decoded: (chunk: Int, rows: [[Value]])?

    public init(columns: [QueryResult.Column], memoryBytes: Int) {
        self.columns = columns
        self.memoryBytes = memoryBytes
        open.reserveCapacity(ResultStore.chunkBytes + (ResultStore.chunkBytes >> 2))
    }

    deinit {
        if file >= 0 { close(file) }
    }

    /// Bytes of the temporary file (0: everything is in memory).
    public var spilledBytes: Int { fileLength }

    /// Appends rows in order.
    public func append(_ rows: [[Value]]) throws(DatabaseError) {
        for row in rows {
            RowCoding.encode(row, into: &open)
            openRows += 1
            // By bytes, or by rows (narrow rows: a chunk is decoded whole for a read).
            if open.count >= ResultStore.chunkBytes || openRows >= ResultStore.chunkRows { try seal() }
        }
        count += rows.count
    }

    /// Seals the open chunk; call once the last rows are appended, before reading.
    public func finish() throws(DatabaseError) {
        if openRows > 0 { try seal() }
    }

    private func seal() throws(DatabaseError) {
        let firstRow = (chunks.last.map { $0.firstRow + $0.rows }) ?? 0
        if bytesInMemory + open.count <= memoryBytes {
            bytesInMemory += open.count
            chunks.append(Chunk(firstRow: firstRow, rows: openRows, place: .memory(open)))
        } else {
            let offset = try write(open)
            chunks.append(Chunk(firstRow: firstRow, rows: openRows, place: .file(offset: offset, length: open.count)))
        }
        open.removeAll(keepingCapacity: true)
        openRows = 0
    }

    /// Appends `bytes` to the temporary file (made at the first spill) and returns their offset.
    private func write(_ bytes: [UInt8]) throws(DatabaseError) -> Int {
        if file < 0 {
            let directory = TemporaryFiles.directory
            var template = Array("\(directory)/kiln-result-XXXXXX".utf8CString)
            let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard descriptor >= 0 else { throw ResultStore.failure("create", errno) }
            unlink(String(cString: template))
            file = descriptor
        }
        let offset = fileLength
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(file, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ResultStore.failure("write to", errno)
            }
            done += n
        }
        fileLength += bytes.count
        return offset
    }

    /// 53100 when the disk is full (PostgreSQL's `disk_full`), else 58030.
    private static func failure(_ operation: String, _ code: Int32) -> DatabaseError {
        DatabaseError(code == ENOSPC ? SQLState("53100") : .ioError,
                      "could not \(operation) temporary file for a kept result: \(String(cString: strerror(code)))")
    }

    /// Rows `range` (0-based, within `0..<count`), in order.
    public func rows(_ range: Range<Int>) throws(DatabaseError) -> [[Value]] {
        var result: [[Value]] = []
        result.reserveCapacity(range.count)
        var row = range.lowerBound
        while row < range.upperBound {
            let (index, rows) = try chunk(holding: row)
            let first = chunks[index].firstRow
            let end = min(range.upperBound, first + rows.count)
            result.append(contentsOf: rows[(row - first)..<(end - first)])
            row = end
        }
        return result
    }

    /// The decoded rows of the chunk that holds `row`.
    private func chunk(holding row: Int) throws(DatabaseError) -> (Int, [[Value]]) {
        var low = 0, high = chunks.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if chunks[middle].firstRow <= row { low = middle } else { high = middle - 1 }
        }
        if let decoded, decoded.chunk == low { return (low, decoded.rows) }
        let chunk = chunks[low]
        let rows: [[Value]]
        switch chunk.place {
        case .memory(let bytes):
            rows = try decode(bytes, rows: chunk.rows)
        case .file(let offset, let length):
            var bytes = [UInt8](repeating: 0, count: length)
            var done = 0
            while done < length {
                let n = bytes.withUnsafeMutableBytes { pread(file, $0.baseAddress! + done, length - done, off_t(offset + done)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ResultStore.failure("read from", n < 0 ? errno : EIO) }
                done += n
            }
            rows = try decode(bytes, rows: chunk.rows)
        }
        decoded = (low, rows)
        return (low, rows)
    }

    private func decode(_ bytes: [UInt8], rows: Int) throws(DatabaseError) -> [[Value]] {
        let columns = columns.count
        return try bytes.withUnsafeBytes { buffer in
            Result { () throws(DatabaseError) in try RowCoding.decode(buffer, rows: rows, columns: columns) }
        }.get()
    }
}

enum TemporaryFiles {
    /// The temporary directory: `TMPDIR`, else `/tmp`.
    static var directory: String {
        if let value = getenv("TMPDIR"), value.pointee != 0 {
            let path = String(cString: value)
            return path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        }
        return "/tmp"
    }
}

/// Rows of values as bytes: per value a tag, then its payload (little-endian fixed widths;
/// text as a length and UTF-8 bytes).
enum RowCoding {
    private enum Tag: UInt8 {
        case null, falseValue, trueValue, int16, int32, int64, float32, float64, numeric, text, date, timestamp, interval, tid
    }

    static func encode(_ row: [Value], into bytes: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        func tag(_ tag: Tag) { bytes.append(tag.rawValue) }
        for value in row {
            switch value {
            case .null: tag(.null)
            case .bool(let b): tag(b ? .trueValue : .falseValue)
            case .int16(let v): tag(.int16); put(v)
            case .int32(let v): tag(.int32); put(v)
            case .int64(let v): tag(.int64); put(v)
            case .float32(let v): tag(.float32); put(v.bitPattern)
            case .float64(let v): tag(.float64); put(v.bitPattern)
            case .numeric(let m, let scale): tag(.numeric); put(m); put(Int32(scale))
            case .text(var s):
                tag(.text)
                s.withUTF8 { utf8 in
                    put(UInt32(utf8.count))
                    bytes.append(contentsOf: utf8)
                }
            case .date(let v): tag(.date); put(v)
            case .timestamp(let v): tag(.timestamp); put(v)
            case .interval(let i): tag(.interval); put(i.packed)
            case .tid(let v): tag(.tid); put(v)
            }
        }
    }

    /// Decodes `rows` rows of `columns` values each; bytes that do not decode are an internal
    /// error (they were written by this process).
    static func decode(_ buffer: UnsafeRawBufferPointer, rows: Int, columns: Int) throws(DatabaseError) -> [[Value]] {
        var offset = 0
        func take<T: FixedWidthInteger>(_: T.Type) throws(DatabaseError) -> T {
            guard offset + MemoryLayout<T>.size <= buffer.count else { throw damaged() }
            defer { offset += MemoryLayout<T>.size }
            return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        func damaged() -> DatabaseError { DatabaseError.internalError("a kept result's rows do not decode at byte \(offset)") }
        var result: [[Value]] = []
        result.reserveCapacity(rows)
        for _ in 0..<rows {
            var row: [Value] = []
            row.reserveCapacity(columns)
            for _ in 0..<columns {
                guard let tag = Tag(rawValue: try take(UInt8.self)) else { throw damaged() }
                switch tag {
                case .null: row.append(.null)
                case .falseValue: row.append(.bool(false))
                case .trueValue: row.append(.bool(true))
                case .int16: row.append(.int16(try take(Int16.self)))
                case .int32: row.append(.int32(try take(Int32.self)))
                case .int64: row.append(.int64(try take(Int64.self)))
                case .float32: row.append(.float32(Float(bitPattern: try take(UInt32.self))))
                case .float64: row.append(.float64(Double(bitPattern: try take(UInt64.self))))
                case .numeric:
                    let m = try take(Int128.self)
                    row.append(.numeric(m, scale: Int(try take(Int32.self))))
                case .text:
                    let length = Int(try take(UInt32.self))
                    guard offset + length <= buffer.count else { throw damaged() }
                    row.append(.text(String(decoding: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]), as: UTF8.self)))
                    offset += length
                case .date: row.append(.date(try take(Int32.self)))
                case .timestamp: row.append(.timestamp(try take(Int64.self)))
                case .interval: row.append(.interval(Interval(packed: try take(Int128.self))))
                case .tid: row.append(.tid(try take(Int64.self)))
                }
            }
            result.append(row)
        }
        return result
    }
}
