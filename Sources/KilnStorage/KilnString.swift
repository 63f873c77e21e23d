import KilnCore

/// The 16-byte string layout shared by columns, records, registers and compiled code.
///
/// ```
/// bytes 0..<4   length (UInt32)
/// bytes 4..<8   the first four bytes (zero padded)
/// bytes 8..<16  the bytes 4..<12 inline when length <= 12, else a pointer to all bytes
/// ```
/// Two short strings are equal exactly when their 16 bytes are equal, so compiled code compares
/// them as one `i128` without a call; long strings differ early on length or prefix in most cases.
/// As an integer (little-endian `i128`), the low 64 bits hold length and prefix.
public enum KilnString {
    public static let inlineCapacity = 12

    /// Builds the 16-byte form of `bytes`; long strings are copied into `arena`.
    @inline(__always)
    public static func make(_ bytes: UnsafeRawBufferPointer, arena: StringArena) -> Int128 {
        let count = bytes.count
        // The layout is little-endian (as on every target Kiln builds for): byte 4 of the cell
        // is the string's first byte.
        var cell = Int128(count)
        withUnsafeMutableBytes(of: &cell) { cell in
            if count <= inlineCapacity {
                if count > 0 { (cell.baseAddress! + 4).copyMemory(from: bytes.baseAddress!, byteCount: count) }
            } else {
                (cell.baseAddress! + 4).copyMemory(from: bytes.baseAddress!, byteCount: 4)
                cell.storeBytes(of: UInt64(UInt(bitPattern: arena.store(bytes))), toByteOffset: 8, as: UInt64.self)
            }
        }
        return cell
    }

    /// `value` with `bytes` appended. A long result is stored in `arena` with room to grow: a
    /// later append to it (the last form returned) writes in place while the room lasts.
    public static func append(_ bytes: UnsafeRawBufferPointer, to value: Int128, arena: StringArena) -> Int128 {
        let count = length(value) + bytes.count
        if count <= inlineCapacity {
            return withBytes(value) { old in
                var joined = [UInt8](old)
                joined.append(contentsOf: bytes)
                return joined.withUnsafeBytes { make($0, arena: arena) }
            }
        }
        let start = withBytes(value) { old in arena.append(bytes, to: old, stored: length(value) > inlineCapacity) }
        var cell = Int128(count)
        withUnsafeMutableBytes(of: &cell) { cell in
            (cell.baseAddress! + 4).copyMemory(from: start, byteCount: 4)
            cell.storeBytes(of: UInt64(UInt(bitPattern: start)), toByteOffset: 8, as: UInt64.self)
        }
        return cell
    }

    public static func make(_ string: String, arena: StringArena) -> Int128 {
        var string = string
        return string.withUTF8 { make(UnsafeRawBufferPointer($0), arena: arena) }
    }

    @inline(__always)
    public static func length(_ value: Int128) -> Int { Int(UInt32(truncatingIfNeeded: UInt128(bitPattern: value))) }

    /// Calls `body` with the string's bytes. Safe because inline bytes are copied to a local and
    /// long-string bytes live in an arena that outlives every reader of the value.
    @inline(__always)
    public static func withBytes<R>(_ value: Int128, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let count = length(value)
        if count <= inlineCapacity {
            var copy = value
            return withUnsafeBytes(of: &copy) { body(UnsafeRawBufferPointer(rebasing: $0[4..<(4 + count)])) }
        }
        let pointer = UnsafeRawPointer(bitPattern: UInt(UInt64(truncatingIfNeeded: UInt128(bitPattern: value) >> 64)))!
        return body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public static func string(_ value: Int128) -> String {
        withBytes(value) { String(decoding: $0, as: UTF8.self) }
    }

    /// Byte-wise equality (the common short case never touches memory).
    @inline(__always)
    public static func equal(_ a: Int128, _ b: Int128) -> Bool {
        if a == b { return true }
        let la = length(a)
        if la <= inlineCapacity || la != length(b) { return false }
        if UInt64(truncatingIfNeeded: UInt128(bitPattern: a)) != UInt64(truncatingIfNeeded: UInt128(bitPattern: b)) { return false }
        return withBytes(a) { x in withBytes(b) { y in memcmp(x.baseAddress!, y.baseAddress!, la) == 0 } }
    }

    /// Byte-wise ordering (PostgreSQL's C collation): negative, zero or positive.
    public static func compare(_ a: Int128, _ b: Int128) -> Int {
        // The zero-padded four-byte prefixes, compared as big-endian numbers, order the strings
        // whenever they differ (a padding zero only meets a real byte when that side is shorter).
        let prefixA = UInt32(truncatingIfNeeded: UInt128(bitPattern: a) >> 32).byteSwapped
        let prefixB = UInt32(truncatingIfNeeded: UInt128(bitPattern: b) >> 32).byteSwapped
        if prefixA != prefixB { return prefixA < prefixB ? -1 : 1 }
        return withBytes(a) { x in
            withBytes(b) { y in
                let common = min(x.count, y.count)
                if common > 0 {
                    let c = memcmp(x.baseAddress!, y.baseAddress!, common)
                    if c != 0 { return Int(c) }
                }
                return x.count - y.count
            }
        }
    }

    /// FNV-1a style hash over the bytes, finalised with a 64-bit mixer.
    public static func hash(_ value: Int128) -> UInt64 {
        if length(value) <= inlineCapacity {
            let bits = UInt128(bitPattern: value)
            return Hashing.fold(UInt64(truncatingIfNeeded: bits), UInt64(truncatingIfNeeded: bits >> 64))
        }
        return withBytes(value) { bytes in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return Hashing.mix(h ^ UInt64(bytes.count))
        }
    }
}

/// The hash functions compiled code and the runtime agree on.
public enum Hashing {
    /// A 64-bit finaliser (murmur3's fmix64). Compiled code emits the same arithmetic inline.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// A 128-bit value (an inline string's 16-byte form, a decimal) hashed by one 64 x 64 ->
    /// 128-bit multiply of its seeded halves, folded (the product's halves XORed), as wyhash and
    /// aHash do: in compiled code one `mulx` where the two finalisers it replaces took four
    /// dependent multiplies (TPC-H Q1's two group keys: a fifth of its loop). The low seed's
    /// low 32 bits exceed any inline string's length, so no inline string zeroes a factor.
    /// Compiled code emits the same arithmetic inline.
    @inline(__always)
    public static func fold(_ low: UInt64, _ high: UInt64) -> UInt64 {
        let product = (low ^ foldSeeds.low).multipliedFullWidth(by: high ^ foldSeeds.high)
        return product.high ^ product.low
    }

    public static let foldSeeds: (low: UInt64, high: UInt64) = (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344)

    /// Combines a running hash with the next key's hash.
    @inline(__always)
    public static func combine(_ seed: UInt64, _ value: UInt64) -> UInt64 {
        (seed &* 0x9e37_79b9_7f4a_7c15) ^ value
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Bump-allocated storage for long string bytes. Bytes never move while the arena lives.
///
/// `@unchecked Sendable`: appends happen under the owner's write lock; reads of stored bytes
/// are of immutable memory.
public final class StringArena: @unchecked Sendable {
    private var chunks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private static let chunkSize = 1 << 20
    public private(set) var bytesUsed = 0

    public init() {}

    deinit { for chunk in chunks { chunk.deallocate() } }

    /// Copies `bytes` into the arena and returns the copy's address.
    public func store(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let destination = allocate(bytes.count)
        if bytes.count > 0 { destination.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        return destination
    }

    /// The longest string an append makes (PostgreSQL's limit on a string buffer, 1 GB).
    public static let maximumStringBytes = (1 << 30) - 1

    /// Growable strings (`append`) by their bytes' address: the room reserved, and the length
    /// of the newest string over those bytes (only that one may grow in place: an older, shorter
    /// copy of the value must not write over what came after it).
    private var growable: [UnsafeMutableRawPointer: (capacity: Int, length: Int)] = [:]

    /// `bytes` appended to the string whose bytes are `old` (`stored`: they live in an arena):
    /// in place when `old` is the newest string an append made here and has room, else copied
    /// to a new place with twice the room. Returns where the string's bytes now start.
    public func append(_ bytes: UnsafeRawBufferPointer, to old: UnsafeRawBufferPointer, stored: Bool) -> UnsafeMutableRawPointer {
        let count = old.count + bytes.count
        if stored, let start = old.baseAddress.map({ UnsafeMutableRawPointer(mutating: $0) }), let entry = growable[start],
           entry.length == old.count, count <= entry.capacity {
            if bytes.count > 0 { (start + old.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            growable[start] = (entry.capacity, count)
            return start
        }
        let capacity = min(max(64, 2 * count), max(count, StringArena.maximumStringBytes))
        let start = allocate(capacity)
        if old.count > 0 { start.copyMemory(from: old.baseAddress!, byteCount: old.count) }
        if bytes.count > 0 { (start + old.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        growable[start] = (capacity, count)
        return start
    }

    /// Allocates `count` uninitialised bytes (for strings built in place).
    public func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        if count > remaining {
            let size = max(StringArena.chunkSize, count)
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            chunks.append(chunk)
            cursor = chunk
            remaining = size
        }
        let destination = cursor!
        cursor = destination + count
        remaining -= count
        bytesUsed += count
        return destination
    }

    /// Where the arena stands: strings stored after it can be dropped together (`release`).
    public struct Mark {
        let chunks: Int
        let cursor: UnsafeMutableRawPointer?
        let remaining: Int
        let bytesUsed: Int
    }

    public func mark() -> Mark { Mark(chunks: chunks.count, cursor: cursor, remaining: remaining, bytesUsed: bytesUsed) }

    /// Drops every string stored since `mark` (their bytes are reused); the caller knows none
    /// of them is referenced any more (a streamed result's rows, once delivered).
    public func release(to mark: Mark) {
        guard chunks.count >= mark.chunks, bytesUsed >= mark.bytesUsed else { return }
        for chunk in chunks[mark.chunks...] { chunk.deallocate() }
        chunks.removeLast(chunks.count - mark.chunks)
        cursor = mark.cursor
        remaining = mark.remaining
        bytesUsed = mark.bytesUsed
        // Growable strings may have been dropped with their bytes (the rest grow by a copy).
        growable.removeAll()
    }
}
