import XCTest
import KilnStorage

/// `KilnString.compare` (the sort's string order) against plain byte order: short, inline and
/// out-of-line strings, shared prefixes of every length, bytes above 0x7F.
final class StringOrderTests: XCTestCase {
    func testCompareIsByteOrder() {
        let arena = StringArena()
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x41, 0x42, 0x61, 0x62, 0x7A, 0xC3, 0xA9, 0xFF, 0x01, 0x20]
        var strings: [[UInt8]] = [[], [0x61], [0x61, 0x61], [0x61, 0x62], [0x62]]
        for _ in 0..<400 {
            let length = Int.random(in: 0...20, using: &generator)
            strings.append((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
        }
        // Shared prefixes of every length up to 14 bytes.
        let base = Array("abcdefghijklmnop".utf8)
        for n in 0...14 { strings.append(Array(base.prefix(n)) + [0x7A]); strings.append(Array(base.prefix(n))) }
        let cells = strings.map { bytes in bytes.withUnsafeBytes { KilnString.make($0, arena: arena) } }
        for i in strings.indices {
            for j in strings.indices {
                let expected = strings[i].lexicographicallyPrecedes(strings[j]) ? -1 : (strings[i] == strings[j] ? 0 : 1)
                XCTAssertEqual(KilnString.compare(cells[i], cells[j]).signum(), expected, "\(strings[i]) vs \(strings[j])")
            }
        }
    }
}
