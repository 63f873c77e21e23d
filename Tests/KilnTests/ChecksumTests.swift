import XCTest
import CKilnSystem

/// CRC32C has three ways, by CPU (`kiln_crc32c_best_path`): AVX-512 VPCLMULQDQ folding, the
/// SSE4.2 instruction, and a table. Each is forced here and must give the table's value, for
/// every length up to a few folding rounds, at every alignment, with any starting value.
final class ChecksumTests: XCTestCase {
    func testEveryWayGivesTheSameChecksum() throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(1 << 20) + 64).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let best = Int(kiln_crc32c_best_path())
        print("CRC32C: best way on this CPU is \(best) (2 VPCLMULQDQ, 1 SSE4.2, 0 table)")
        // The standard check value: CRC32C("123456789") = 0xE3069283.
        for path in 0...2 {
            XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { kiln_crc32c_path(Int32(path), 0, $0.baseAddress, 9) }, 0xE306_9283)
        }
        bytes.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!
            var cases: [(offset: Int, length: Int)] = (0..<1200).map { ($0 % 64, $0) }
            cases += (0..<200).map { _ in (Int.random(in: 0..<64), Int.random(in: 0..<(1 << 20))) }
            cases.append((0, 1 << 20))
            for (offset, length) in cases {
                let start = UInt32.random(in: 0...UInt32.max)
                let table = kiln_crc32c_path(0, start, base + offset, length)
                XCTAssertEqual(kiln_crc32c_path(1, start, base + offset, length), table, "SSE4.2, \(length) bytes at \(offset)")
                XCTAssertEqual(kiln_crc32c_path(2, start, base + offset, length), table, "VPCLMULQDQ, \(length) bytes at \(offset)")
                // Continuing from a prefix's checksum equals the whole one.
                let cut = length / 3
                XCTAssertEqual(kiln_crc32c_path(2, kiln_crc32c_path(2, start, base + offset, cut), base + offset + cut, length - cut), table)
            }
        }
    }
}
