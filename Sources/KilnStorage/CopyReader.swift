import KilnCore
#if canImport(Glibc)
import Glibc
#endif

/// Streams records out of a COPY input file (CSV per RFC 4180, or PostgreSQL's text format)
/// without allocating per field: a record's fields are byte ranges, valid until the next call,
/// in the read buffer (unquoted CSV fields) or in a scratch buffer (quoted or escaped fields).
///
/// The file is read in 4 MiB chunks; a record may span chunks and, in CSV, lines.
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

    /// Where a field's bytes are: relative to the record start in the read buffer, or in scratch.
    struct FieldRange {
        var offset: Int
        var count: Int
        var inScratch: Bool
        var isNull: Bool
    }

    let file: UnsafeMutablePointer<FILE>
    let format: Format
    let nullBytes: UnsafeMutableBufferPointer<UInt8>
    /// `special[b]`: byte b ends an unquoted CSV field or may start a quoted one.
    let special: UnsafeMutablePointer<Bool>
    /// The input's size in bytes when it is a regular file (0 otherwise), and bytes consumed.
    let inputSize: Int
    var consumed = 0
    static let chunk = 4 << 20
    var buffer: UnsafeMutablePointer<UInt8>
    var capacity: Int
    /// Start of the current record in `buffer`, and end of the valid bytes.
    var recordStart = 0
    var end = 0
    /// Where the next record starts.
    var nextStart = 0
    var exhausted = false
    var scratch: UnsafeMutablePointer<UInt8>
    var scratchCapacity = 1 << 16
    var scratchUsed = 0
    /// The current record's fields (`fieldCount` of them).
    var ranges: UnsafeMutablePointer<FieldRange>
    var rangeCapacity = 64
    public private(set) var fieldCount = 0
    /// Records returned so far.
    public private(set) var records = 0
    /// The line at which the next record starts.
    public private(set) var line = 1
    /// The line at which the current record started.
    public private(set) var recordLine = 0

    public convenience init(path: String, format: Format) throws(DatabaseError) {
        guard let file = fopen(path, "r") else {
            throw DatabaseError(.undefinedFile, "could not open file \"\(path)\" for reading: \(String(cString: strerror(errno)))")
        }
        self.init(file: file, format: format)
    }

    /// Reads from an open stream (COPY FROM STDIN spooled by the server); closes it when done.
    public init(file: UnsafeMutablePointer<FILE>, format: Format) {
        self.file = file
        self.format = format
        let null = Array(format.null.utf8)
        nullBytes = .allocate(capacity: null.count)
        _ = nullBytes.initialize(from: null)
        var status = stat()
        inputSize = fstat(fileno(file), &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : 0
        capacity = CopyReader.chunk * 2
        buffer = .allocate(capacity: capacity)
        scratch = .allocate(capacity: scratchCapacity)
        ranges = .allocate(capacity: rangeCapacity)
        special = .allocate(capacity: 256)
        special.initialize(repeating: false, count: 256)
        for b in [format.delimiter, format.quote, UInt8(ascii: "\n"), UInt8(ascii: "\r")] { special[Int(b)] = true }
    }

    deinit {
        fclose(file)
        buffer.deallocate()
        scratch.deallocate()
        ranges.deallocate()
        nullBytes.deallocate()
        special.deallocate()
    }

    /// How many more records the input probably holds, from the average record length so far
    /// (0 when the input's size is unknown).
    public var expectedRemainingRecords: Int {
        guard inputSize > 0, records > 0, consumed > 0 else { return 0 }
        return max(0, inputSize - consumed) / max(1, consumed / records) + 1
    }

    /// Field `index` of the current record (valid until `next()`).
    @inline(__always)
    public func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let range = ranges[index]
        let base = range.inScratch ? scratch : buffer + recordStart
        return UnsafeBufferPointer(start: base + range.offset, count: range.count)
    }

    @inline(__always)
    public func isNull(_ index: Int) -> Bool { ranges[index].isNull }

    public func string(_ index: Int) -> String { String(decoding: field(index), as: UTF8.self) }

    /// Moves the current record to the buffer's start and reads more. False at end of input.
    func refill() -> Bool {
        if exhausted { return false }
        let live = end - recordStart
        if recordStart > 0 {
            // safe because both ranges lie inside `buffer` (memmove handles overlap).
            memmove(buffer, buffer + recordStart, live)
        }
        if live + CopyReader.chunk > capacity {
            capacity = max(capacity * 2, live + CopyReader.chunk)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: buffer, count: live)
            buffer.deallocate()
            buffer = grown
        }
        consumed += recordStart
        recordStart = 0
        end = live
        let n = fread(buffer + end, 1, CopyReader.chunk, file)
        if n <= 0 { exhausted = true; return false }
        end += n
        return true
    }

    /// The byte at `relative` from the record start, reading more input when needed.
    @inline(__always)
    func byte(_ relative: Int) -> UInt8? {
        if recordStart + relative >= end {
            if !refill() || recordStart + relative >= end { return nil }
        }
        return buffer[recordStart + relative]
    }

    func appendScratch(_ byte: UInt8) {
        if scratchUsed == scratchCapacity { scratch = CopyReader.doubled(scratch, count: scratchUsed, capacity: &scratchCapacity) }
        scratch[scratchUsed] = byte
        scratchUsed += 1
    }

    /// A buffer of twice `capacity` elements holding `buffer`'s first `count` (which is freed).
    static func doubled<T>(_ buffer: UnsafeMutablePointer<T>, count: Int, capacity: inout Int) -> UnsafeMutablePointer<T> {
        let grown = UnsafeMutablePointer<T>.allocate(capacity: capacity * 2)
        grown.moveInitialize(from: buffer, count: count)
        buffer.deallocate()
        capacity *= 2
        return grown
    }

    @inline(__always)
    func matchesNull(_ start: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        guard count == nullBytes.count else { return false }
        for index in 0..<count where start[index] != nullBytes[index] { return false }
        return true
    }

    @inline(__always)
    func addField(_ range: FieldRange) {
        if fieldCount == rangeCapacity { ranges = CopyReader.doubled(ranges, count: fieldCount, capacity: &rangeCapacity) }
        ranges[fieldCount] = range
        fieldCount += 1
    }

    @inline(__always)
    func addUnquoted(_ offset: Int, _ count: Int) {
        addField(FieldRange(offset: offset, count: count, inScratch: false, isNull: matchesNull(buffer + recordStart + offset, count)))
    }

    /// Advances to the next record; false at end of input.
    public func next() throws(DatabaseError) -> Bool {
        recordStart = nextStart
        if recordStart >= end {
            if !refill() || end == 0 { return false }
        }
        recordLine = line
        fieldCount = 0
        scratchUsed = 0
        let found = format.csv ? try csvRecord() : textRecord()
        if found { records += 1 }
        return found
    }

    func finishRecord(at relative: Int) {
        nextStart = recordStart + relative
    }

    func csvRecord() throws(DatabaseError) -> Bool {
        let delimiter = format.delimiter, quote = format.quote
        let newline = UInt8(ascii: "\n"), carriage = UInt8(ascii: "\r")
        let delimiters = SIMD16<UInt8>(repeating: delimiter), quotes = SIMD16<UInt8>(repeating: quote)
        let newlines = SIMD16<UInt8>(repeating: newline), carriages = SIMD16<UInt8>(repeating: carriage)
        var relative = 0
        var fieldStart = 0
        while true {
            // The common case: scan the bytes already in the buffer without bounds juggling.
            let available = end - recordStart
            let base = buffer + recordStart
            while relative < available {
                // Skip ordinary bytes: 16 at a time, or one table load per byte near the end.
                if available - relative >= 16 {
                    let v = UnsafeRawPointer(base + relative).loadUnaligned(as: SIMD16<UInt8>.self)
                    // Matching lanes are 0xFF: the first one is the lowest set byte of two words.
                    let words = unsafeBitCast((v .== delimiters) .| (v .== newlines) .| (v .== quotes) .| (v .== carriages), to: SIMD2<UInt64>.self)
                    if words[0] != 0 {
                        relative += words[0].trailingZeroBitCount >> 3
                    } else if words[1] != 0 {
                        relative += 8 + words[1].trailingZeroBitCount >> 3
                    } else {
                        relative += 16
                        continue
                    }
                } else if !special[Int(base[relative])] {
                    relative += 1
                    continue
                }
                let b = base[relative]
                if b == delimiter {
                    addUnquoted(fieldStart, relative - fieldStart)
                    relative += 1
                    fieldStart = relative
                } else if b == newline || b == carriage {
                    addUnquoted(fieldStart, relative - fieldStart)
                    line += 1
                    relative += 1
                    if b == carriage, byte(relative) == newline { relative += 1 }
                    finishRecord(at: relative)
                    return true
                } else if b == quote && relative == fieldStart {
                    relative = try quotedField(from: relative + 1)
                    // After the field: a delimiter, a line end, or the end of input.
                    guard let t = byte(relative) else { finishRecord(at: relative); return true }
                    if t == delimiter {
                        relative += 1
                        fieldStart = relative
                        if byte(relative) == nil { addUnquoted(fieldStart, 0); finishRecord(at: relative); return true }
                        break  // rescan with fresh bounds
                    }
                    line += 1
                    relative += 1
                    if t == carriage, byte(relative) == newline { relative += 1 }
                    finishRecord(at: relative)
                    return true
                } else {
                    relative += 1
                }
            }
            if relative >= end - recordStart, byte(relative) == nil {
                // End of input ends the last field.
                addUnquoted(fieldStart, relative - fieldStart)
                finishRecord(at: relative)
                return true
            }
        }
    }

    /// Unescapes a quoted field into scratch; returns the position after it (and after any
    /// bytes up to the next delimiter or line end, which are kept as PostgreSQL does).
    func quotedField(from start: Int) throws(DatabaseError) -> Int {
        let quote = format.quote
        var relative = start
        let scratchStart = scratchUsed
        while true {
            guard let c = byte(relative) else {
                var error = DatabaseError(.badCopyFileFormat, "unterminated CSV quoted field")
                error.line = recordLine
                throw error
            }
            if c == quote {
                if byte(relative + 1) == quote {
                    appendScratch(quote)
                    relative += 2
                    continue
                }
                relative += 1
                break
            }
            if c == UInt8(ascii: "\n") { line += 1 }
            appendScratch(c)
            relative += 1
        }
        while let c = byte(relative), c != format.delimiter, c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r") {
            appendScratch(c)
            relative += 1
        }
        addField(FieldRange(offset: scratchStart, count: scratchUsed - scratchStart, inScratch: true, isNull: false))
        return relative
    }

    func textRecord() -> Bool {
        var relative = 0
        var fieldStart = scratchUsed
        var raw: [UInt8] = []
        func finish() {
            addField(FieldRange(offset: fieldStart, count: scratchUsed - fieldStart, inScratch: true, isNull: raw.elementsEqual(nullBytes)))
            raw.removeAll(keepingCapacity: true)
            fieldStart = scratchUsed
        }
        while true {
            guard let b = byte(relative) else { finish(); finishRecord(at: relative); return true }
            relative += 1
            if b == format.delimiter { finish(); continue }
            if b == UInt8(ascii: "\n") { line += 1; finish(); finishRecord(at: relative); return true }
            raw.append(b)
            var out = b
            if b == UInt8(ascii: "\\"), let e = byte(relative) {
                relative += 1
                raw.append(e)
                switch e {
                case UInt8(ascii: "n"): out = 10
                case UInt8(ascii: "t"): out = 9
                case UInt8(ascii: "r"): out = 13
                case UInt8(ascii: "b"): out = 8
                case UInt8(ascii: "f"): out = 12
                case UInt8(ascii: "v"): out = 11
                default: out = e
                }
            }
            appendScratch(out)
        }
    }
}
