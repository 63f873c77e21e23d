#if canImport(Glibc)
import Glibc
#endif

/// A LIKE / ILIKE pattern prepared once and matched on UTF-8 bytes (no String per row).
///
/// `%` matches any run of characters, `_` exactly one character (one UTF-8 code point), the
/// escape character (backslash unless ESCAPE says otherwise) makes the next one literal.
/// A pattern of literals and `%` only is matched segment by segment: the first must be a
/// prefix, the last a suffix, the others found in order in between.
public struct LikePattern: Sendable {
    enum Piece: Sendable, Equatable { case literal(UInt8), one, any }
    let pieces: [Piece]
    let caseInsensitive: Bool
    /// Literal runs between `%` when the pattern has no `_`.
    let segments: [[UInt8]]?
    let anchoredStart: Bool
    let anchoredEnd: Bool

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
        if pieces.contains(.one) {
            segments = nil
        } else {
            var runs: [[UInt8]] = [[]]
            for piece in pieces {
                if case .literal(let b) = piece { runs[runs.count - 1].append(b) } else { runs.append([]) }
            }
            segments = runs
        }
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    @inline(__always)
    func byte(_ text: UnsafeRawBufferPointer, _ i: Int) -> UInt8 { caseInsensitive ? LikePattern.lower(text[i]) : text[i] }

    public func matches(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let segments else { return general(text) }
        let n = text.count
        if segments.count == 1 {
            let s = segments[0]
            return s.count == n && equal(text, at: 0, s)
        }
        var start = 0, end = n
        if anchoredStart {
            let first = segments[0]
            guard first.count <= n, equal(text, at: 0, first) else { return false }
            start = first.count
        }
        if anchoredEnd {
            let last = segments[segments.count - 1]
            guard last.count <= end - start, equal(text, at: n - last.count, last) else { return false }
            end = n - last.count
        }
        for segment in segments.dropFirst().dropLast() where !segment.isEmpty {
            guard let found = find(text, segment, from: start, to: end) else { return false }
            start = found + segment.count
        }
        return true
    }

    @inline(__always)
    func equal(_ text: UnsafeRawBufferPointer, at offset: Int, _ bytes: [UInt8]) -> Bool {
        for (k, b) in bytes.enumerated() where byte(text, offset + k) != b { return false }
        return true
    }

    func find(_ text: UnsafeRawBufferPointer, _ needle: [UInt8], from: Int, to: Int) -> Int? {
        if !caseInsensitive, needle.count >= 2, let base = text.baseAddress {
            return LikePattern.search(base, from: from, to: to, needle)
        }
        let first = needle[0]
        var i = from
        while i + needle.count <= to {
            if byte(text, i) == first, equal(text, at: i, needle) { return i }
            i += 1
        }
        return nil
    }

    /// The first occurrence of `needle` (2+ bytes) in `text[from..<to]`: 16 candidate positions
    /// at a time, those whose first and last bytes both match the needle's, each checked with
    /// `memcmp` (the first and last bytes filter out nearly every other position).
    static func search(_ text: UnsafeRawPointer, from: Int, to: Int, _ needle: [UInt8]) -> Int? {
        let n = needle.count
        let lastStart = to - n
        return needle.withUnsafeBufferPointer { pattern -> Int? in
            let p = pattern.baseAddress!
            var i = from
            let first = SIMD16<UInt8>(repeating: p[0]), last = SIMD16<UInt8>(repeating: p[n - 1])
            while i + 15 <= lastStart {
                let a = (text + i).loadUnaligned(as: SIMD16<UInt8>.self)
                let b = (text + i + n - 1).loadUnaligned(as: SIMD16<UInt8>.self)
                let words = unsafeBitCast((a .== first) .& (b .== last), to: SIMD2<UInt64>.self)
                for half in 0..<2 {
                    var w = words[half]
                    while w != 0 {
                        let k = half * 8 + w.trailingZeroBitCount >> 3
                        if n == 2 || memcmp(text + i + k + 1, p + 1, n - 2) == 0 { return i + k }
                        w &= ~(UInt64(0xFF) << UInt64((k - half * 8) * 8))
                    }
                }
                i += 16
            }
            while i <= lastStart {
                if (text + i).load(as: UInt8.self) == p[0], memcmp(text + i + 1, p + 1, n - 1) == 0 { return i }
                i += 1
            }
            return nil
        }
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
