import KilnCore
import CKilnSystem

/// Little-endian serialisation of WAL records and checkpoint metadata.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }
    public mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func int(_ value: Int) { u64(UInt64(bitPattern: Int64(value))) }
    public mutating func double(_ value: Double) { u64(value.bitPattern) }
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
    public mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }
    public mutating func raw(_ buffer: UnsafeRawBufferPointer) { bytes.append(contentsOf: buffer) }
    public mutating func raw(_ buffer: [UInt8]) { bytes.append(contentsOf: buffer) }
    /// Pads with zeros to a multiple of `alignment`.
    public mutating func align(_ alignment: Int) {
        let padding = (alignment - bytes.count % alignment) % alignment
        bytes.append(contentsOf: repeatElement(0, count: padding))
    }
    /// Overwrites eight bytes at `offset` (a value known only after what follows was written).
    mutating func patch(u64 value: UInt64, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
    }
}

/// Reads what `BinaryWriter` wrote; running past the end is a corruption error naming `origin`.
public struct BinaryReader {
    let base: UnsafeRawBufferPointer
    public private(set) var offset = 0
    /// The file and the offset of `base` in it, for error messages.
    let origin: (file: String, offset: Int)

    public init(_ base: UnsafeRawBufferPointer, file: String, offset: Int) {
        self.base = base
        origin = (file, offset)
    }

    public var remaining: Int { base.count - offset }

    /// A malformed record at the current offset.
    func corrupted(_ what: String) -> DatabaseError {
        StorageError.corrupted(file: origin.file, offset: origin.offset + offset, what)
    }

    mutating func take(_ count: Int) throws(DatabaseError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw StorageError.corrupted(file: origin.file, offset: origin.offset + offset, "a record ends early")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
    }

    public mutating func u8() throws(DatabaseError) -> UInt8 { try take(1)[0] }
    public mutating func bool() throws(DatabaseError) -> Bool { try u8() != 0 }
    public mutating func u32() throws(DatabaseError) -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    public mutating func i32() throws(DatabaseError) -> Int32 { Int32(bitPattern: try u32()) }
    public mutating func u64() throws(DatabaseError) -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }
    public mutating func int() throws(DatabaseError) -> Int { Int(Int64(bitPattern: try u64())) }
    public mutating func double() throws(DatabaseError) -> Double { Double(bitPattern: try u64()) }
    public mutating func string() throws(DatabaseError) -> String {
        let count = Int(try u32())
        return String(decoding: try take(count), as: UTF8.self)
    }
    public mutating func optionalString() throws(DatabaseError) -> String? { try bool() ? try string() : nil }
    public mutating func bytes(_ count: Int) throws(DatabaseError) -> UnsafeRawBufferPointer { try take(count) }
    public mutating func type() throws(DatabaseError) -> SQLType {
        let name = try string()
        guard let type = SQLType(irName: name) else {
            throw StorageError.corrupted(file: origin.file, offset: origin.offset + offset, "unknown column type \"\(name)\"")
        }
        return type
    }
}

extension BinaryWriter {
    public mutating func type(_ type: SQLType) { string(type.irName) }
}

/// CRC32C of a byte range.
@inline(__always)
public func crc32c(_ buffer: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return crc }
    return kiln_crc32c(crc, base, buffer.count)
}

public func crc32c(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { crc32c($0) } }

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws `DatabaseError` (the standard one rethrows untyped).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        let result: Result<R, DatabaseError> = withUnsafeBytes { buffer in
            do throws(DatabaseError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
