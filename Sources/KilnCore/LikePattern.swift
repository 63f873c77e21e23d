#if canImport(Glibc)
import Glibc
#endif

/// A LIKE / ILIKE pattern prepared once and matched on UTF-8 bytes (no String per row).
///
/// `%` matches any run of characters, `_` exactly one character (one UTF-8 code point), the
/// escape character (backslash unless ESCAPE says otherwise) makes the next one literal.
/// A pattern of literals and `%` only is matched segment by segment: the first must be a
/// prefix, the last a suffix, the others found in order in between.
///
/// A class whose segment bytes live in raw buffers, so matching a row touches no reference
/// counts (`@unchecked Sendable`: nothing changes after `init`).
public final class LikePattern: @unchecked Sendable {
    enum Piece: Sendable, Equatable { case literal(UInt8), one, any }
    let pieces: [Piece]
    let caseInsensitive: Bool
    let anchoredStart: Bool
    let anchoredEnd: Bool
    /// The literal runs between `%` when the pattern has no `_` (0 runs: it has one): back to
    /// back in `segmentBytes`, run i at `segmentStarts[i] ..< segmentStarts[i + 1]`.
    let segmentCount: Int
    let segmentBytes: UnsafeMutablePointer<UInt8>
    let segmentStarts: UnsafeMutablePointer<Int>

    public init(_ pattern: [UInt8], escape: UInt8? = UInt8(ascii: "\\"), caseInsensitive: Bool) throws(DatabaseError) {
        var pieces: [Piece] = []
        var index = 0
        while index < pattern.count {
            var byte = pattern[index]
            if let escape, byte == escape {
                index += 1
                guard index < pattern.count else {
                    throw DatabaseError(.invalidEscapeSequence, "LIKE pattern must not end with escape character")
                }
                byte = pattern[index]
                pieces.append(.literal(caseInsensitive ? LikePattern.lower(byte) : byte))
            } else if byte == UInt8(ascii: "%") {
                if pieces.last != .any { pieces.append(.any) }
            } else if byte == UInt8(ascii: "_") {
                pieces.append(.one)
            } else {
                pieces.append(.literal(caseInsensitive ? LikePattern.lower(byte) : byte))
            }
            index += 1
        }
        self.pieces = pieces
        self.caseInsensitive = caseInsensitive
        anchoredStart = pieces.first != .any
        anchoredEnd = pieces.last != .any
        var runs: [[UInt8]] = [[]]
        if !pieces.contains(.one) {
            for piece in pieces {
                if case .literal(let b) = piece { runs[runs.count - 1].append(b) } else { runs.append([]) }
            }
        } else {
            runs = []
        }
        segmentCount = runs.count
        segmentBytes = .allocate(capacity: max(1, runs.reduce(0) { $0 + $1.count }))
        segmentStarts = .allocate(capacity: runs.count + 1)
        var offset = 0
        for (k, run) in runs.enumerated() {
            segmentStarts[k] = offset
            (segmentBytes + offset).update(from: run, count: run.count)
            offset += run.count
        }
        segmentStarts[runs.count] = offset
    }

    deinit {
        segmentBytes.deallocate()
        segmentStarts.deallocate()
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    @inline(__always)
    func byte(_ text: UnsafeRawBufferPointer, _ i: Int) -> UInt8 { caseInsensitive ? LikePattern.lower(text[i]) : text[i] }

    public func matches(_ text: UnsafeRawBufferPointer) -> Bool {
        guard segmentCount > 0 else { return general(text) }
        let n = text.count
        @inline(__always) func segment(_ k: Int) -> (UnsafePointer<UInt8>, Int) {
            (UnsafePointer(segmentBytes + segmentStarts[k]), segmentStarts[k + 1] - segmentStarts[k])
        }
        if segmentCount == 1 {
            let (bytes, count) = segment(0)
            return count == n && equal(text, at: 0, bytes, count)
        }
        var start = 0, end = n
        if anchoredStart {
            let (bytes, count) = segment(0)
            guard count <= n, equal(text, at: 0, bytes, count) else { return false }
            start = count
        }
        if anchoredEnd {
            let (bytes, count) = segment(segmentCount - 1)
            guard count <= end - start, equal(text, at: n - count, bytes, count) else { return false }
            end = n - count
        }
        var k = 1
        while k < segmentCount - 1 {
            let (bytes, count) = segment(k)
            k += 1
            if count == 0 { continue }
            guard let found = find(text, bytes, count, from: start, to: end) else { return false }
            start = found + count
        }
        return true
    }

    @inline(__always)
    func equal(_ text: UnsafeRawBufferPointer, at offset: Int, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        if count == 0 { return true }
        if !caseInsensitive { return memcmp(text.baseAddress! + offset, bytes, count) == 0 }
        for k in 0..<count where byte(text, offset + k) != bytes[k] { return false }
        return true
    }

    func find(_ text: UnsafeRawBufferPointer, _ needle: UnsafePointer<UInt8>, _ count: Int, from: Int, to: Int) -> Int? {
        guard to - from >= count else { return nil }
        if !caseInsensitive, count >= 2 {
            return LikePattern.search(text.baseAddress!, from: from, to: to, needle, count)
        }
        let first = needle[0]
        var i = from
        while i + count <= to {
            if byte(text, i) == first, equal(text, at: i, needle, count) { return i }
            i += 1
        }
        return nil
    }

    /// The first occurrence of `needle` (2+ bytes) in `text[from..<to]`: 16 candidate positions
    /// at a time, those whose first and last bytes both match the needle's, each checked with
    /// `same` (the first and last bytes filter out nearly every other position). The last block
    /// overlaps the one before it instead of stepping byte by byte (its repeated positions did
    /// not match there, so the first match it finds is still the first overall).
    static func search(_ text: UnsafeRawPointer, from: Int, to: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        let lastStart = to - n
        guard lastStart >= from else { return nil }
        if lastStart - from < 15 {
            var i = from
            while i <= lastStart {
                if (text + i).load(as: UInt8.self) == p[0], same(text + i + 1, p + 1, n - 1) { return i }
                i += 1
            }
            return nil
        }
        let first = SIMD16<UInt8>(repeating: p[0]), last = SIMD16<UInt8>(repeating: p[n - 1])
        var i = from
        while true {
            let a = (text + i).loadUnaligned(as: SIMD16<UInt8>.self)
            let b = (text + i + n - 1).loadUnaligned(as: SIMD16<UInt8>.self)
            let words = unsafeBitCast((a .== first) .& (b .== last), to: SIMD2<UInt64>.self)
            for half in 0..<2 {
                var w = words[half]
                while w != 0 {
                    let k = half * 8 + w.trailingZeroBitCount >> 3
                    if same(text + i + k + 1, p + 1, n - 2) { return i + k }
                    w &= ~(UInt64(0xFF) << UInt64((k - half * 8) * 8))
                }
            }
            if i == lastStart - 15 { return nil }
            i = min(i + 16, lastStart - 15)
        }
    }

    /// `a[0..<n] == b[0..<n]` with at most two overlapping loads per side for n <= 16.
    @inline(__always)
    static func same(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        if n >= 8 {
            if n > 16 { return memcmp(a, b, n) == 0 }
            return a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self)
                && (a + n - 8).loadUnaligned(as: UInt64.self) == (b + n - 8).loadUnaligned(as: UInt64.self)
        }
        if n >= 4 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && (a + n - 4).loadUnaligned(as: UInt32.self) == (b + n - 4).loadUnaligned(as: UInt32.self)
        }
        if n >= 2 {
            return a.loadUnaligned(as: UInt16.self) == b.loadUnaligned(as: UInt16.self)
                && (a + n - 2).loadUnaligned(as: UInt16.self) == (b + n - 2).loadUnaligned(as: UInt16.self)
        }
        return n == 0 || a.load(as: UInt8.self) == b.load(as: UInt8.self)
    }

    /// With `_`: iterative matching, backtracking to the last `%`.
    func general(_ text: UnsafeRawBufferPointer) -> Bool {
        var si = 0, pi = 0, star = -1, mark = 0
        func next(_ i: Int) -> Int {
            var j = i + 1
            while j < text.count, text[j] & 0xC0 == 0x80 { j += 1 }
            return j
        }
        while si < text.count {
            if pi < pieces.count, pieces[pi] == .any {
                star = pi; mark = si; pi += 1
            } else if pi < pieces.count, pieces[pi] == .one {
                si = next(si); pi += 1
            } else if pi < pieces.count, case .literal(let b) = pieces[pi], b == byte(text, si) {
                si += 1; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark = next(mark); si = mark
            } else {
                return false
            }
        }
        while pi < pieces.count, pieces[pi] == .any { pi += 1 }
        return pi == pieces.count
    }
}
