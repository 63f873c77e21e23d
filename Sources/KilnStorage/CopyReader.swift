import KilnCore
#if canImport(Glibc)
import Glibc
#endif

/// Streams records out of a COPY input file (CSV per RFC 4180, or PostgreSQL's text format),
/// one record at a time, with the 1-based line number where each record starts.
///
/// The file is read in 1 MiB chunks; a record may span chunks and, in CSV, lines.
public final class CopyReader {
    public struct Format {
        public var csv: Bool
        public var delimiter: UInt8
        public var quote: UInt8
        public var null: String
        public init(csv: Bool, delimiter: UInt8, quote: UInt8, null: String) {
            self.csv = csv
            self.delimiter = delimiter
            self.quote = quote
            self.null = null
        }
    }

    let file: UnsafeMutablePointer<FILE>
    let format: Format
    var buffer: [UInt8] = []
    var position = 0
    var exhausted = false
    /// The line at which the next record starts.
    public private(set) var line = 1
    /// The line at which the record returned last started.
    public private(set) var recordLine = 0

    public init(path: String, format: Format) throws(DatabaseError) {
        guard let file = fopen(path, "r") else {
            throw DatabaseError(.undefinedFile, "could not open file \"\(path)\" for reading: \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.format = format
    }

    deinit { fclose(file) }

    func refill() -> Bool {
        if exhausted { return false }
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { exhausted = true; return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// The next record's fields (nil field = NULL), or nil at end of input.
    public func nextRecord() throws(DatabaseError) -> [String?]? {
        if position >= buffer.count && !refill() { return nil }
        recordLine = line
        return format.csv ? try csvRecord() : try textRecord()
    }

    @inline(__always)
    func byte() -> UInt8? {
        if position >= buffer.count && !refill() { return nil }
        let b = buffer[position]
        position += 1
        return b
    }

    func csvRecord() throws(DatabaseError) -> [String?] {
        var fields: [String?] = []
        var field: [UInt8] = []
        var quoted = false
        var inQuotes = false
        while true {
            guard let b = byte() else {
                if inQuotes {
                    var error = DatabaseError(.badCopyFileFormat, "unterminated CSV quoted field")
                    error.line = recordLine
                    throw error
                }
                fields.append(finishCSV(field, quoted: quoted))
                return fields
            }
            if inQuotes {
                if b == format.quote {
                    if position < buffer.count || refill(), position < buffer.count, buffer[position] == format.quote {
                        field.append(b)
                        position += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
                continue
            }
            switch b {
            case format.quote:
                inQuotes = true
                quoted = true
            case format.delimiter:
                fields.append(finishCSV(field, quoted: quoted))
                field.removeAll(keepingCapacity: true)
                quoted = false
            case UInt8(ascii: "\n"):
                line += 1
                fields.append(finishCSV(field, quoted: quoted))
                return fields
            case UInt8(ascii: "\r"):
                if position < buffer.count || refill(), position < buffer.count, buffer[position] == UInt8(ascii: "\n") { position += 1 }
                line += 1
                fields.append(finishCSV(field, quoted: quoted))
                return fields
            default:
                field.append(b)
            }
        }
    }

    func finishCSV(_ bytes: [UInt8], quoted: Bool) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        if !quoted && text == format.null { return nil }
        return text
    }

    func textRecord() throws(DatabaseError) -> [String?] {
        var fields: [String?] = []
        var field: [UInt8] = []
        var raw: [UInt8] = []
        while true {
            guard let b = byte() else {
                fields.append(finishText(field, raw: raw))
                return fields
            }
            switch b {
            case format.delimiter:
                fields.append(finishText(field, raw: raw))
                field.removeAll(keepingCapacity: true)
                raw.removeAll(keepingCapacity: true)
                continue
            case UInt8(ascii: "\n"):
                line += 1
                fields.append(finishText(field, raw: raw))
                return fields
            case UInt8(ascii: "\\"):
                guard let e = byte() else { field.append(b); continue }
                raw.append(b); raw.append(e)
                switch e {
                case UInt8(ascii: "n"): field.append(10)
                case UInt8(ascii: "t"): field.append(9)
                case UInt8(ascii: "r"): field.append(13)
                case UInt8(ascii: "b"): field.append(8)
                case UInt8(ascii: "f"): field.append(12)
                case UInt8(ascii: "v"): field.append(11)
                default: field.append(e)
                }
                continue
            default:
                field.append(b)
            }
            raw.append(b)
        }
    }

    func finishText(_ bytes: [UInt8], raw: [UInt8]) -> String? {
        if String(decoding: raw, as: UTF8.self) == format.null { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
