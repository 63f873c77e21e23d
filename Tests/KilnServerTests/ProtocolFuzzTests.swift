import Kiln
@testable import KilnServer
import KilnWire
import NIOCore
import XCTest

/// Random and mutated client bytes through the decoder and the session: the server may answer
/// with errors and close the connection, but it never crashes and never hangs.
final class ProtocolFuzzTests: XCTestCase {
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// A valid conversation to mutate.
    static func conversation() -> [ByteBuffer] {
        var parameter = ByteBuffer()
        parameter.writeInteger(Int32(2))
        return [
            Client.startup(),
            Client.query("CREATE TABLE IF NOT EXISTS f (k INTEGER, s TEXT); INSERT INTO f VALUES (1, 'a'), (2, NULL)"),
            Client.parse("s", "SELECT k, s FROM f WHERE k < $1 ORDER BY k", types: [23]),
            Client.bind(portal: "p", statement: "s", formats: [1], parameters: [parameter], results: [1, 0]),
            Client.describe("P", "p"), Client.execute("p", maxRows: 1), Client.execute("p"), Client.sync,
            Client.query("COPY f FROM STDIN"), Client.message("d") { $0.writeString("3\tc\n") }, Client.message("c"),
            Client.query("BEGIN; SELECT count(*) FROM f; COMMIT"),
            Client.message("X"),
        ]
    }

    func run(_ buffers: [ByteBuffer], database: Database) throws {
        let connection = try WireConnection(database: database)
        for buffer in buffers where connection.isOpen {
            do { try connection.channel.writeInbound(buffer) } catch { break }
            _ = try? connection.replies()
        }
        _ = try? connection.channel.finish()
    }

    func testMutatedConversations() throws {
        let database = try Database()
        var random = SplitMix(state: 20_261_122)
        let base = ProtocolFuzzTests.conversation()
        for _ in 0..<400 {
            var buffers = base
            for _ in 0..<(1 + random.below(3)) {
                let index = random.below(buffers.count)
                var bytes = buffers[index].getBytes(at: 0, length: buffers[index].readableBytes)!
                switch random.below(5) {
                case 0 where !bytes.isEmpty:  // flip a byte
                    bytes[random.below(bytes.count)] = UInt8(random.below(256))
                case 1 where !bytes.isEmpty:  // truncate
                    bytes.removeLast(random.below(bytes.count))
                case 2:  // insert random bytes
                    bytes.insert(contentsOf: (0..<random.below(16)).map { _ in UInt8(random.below(256)) }, at: random.below(bytes.count + 1))
                case 3 where bytes.count >= 5:  // corrupt a length
                    bytes[1 + random.below(4)] = UInt8(random.below(256))
                default:  // drop or duplicate a message
                    if random.below(2) == 0 { buffers.remove(at: index); continue } else { buffers.insert(buffers[index], at: index) }
                }
                buffers[index] = ByteBuffer(bytes: bytes)
            }
            try run(buffers, database: database)
        }
    }

    func testRandomBytes() throws {
        let database = try Database()
        var random = SplitMix(state: 7)
        for _ in 0..<300 {
            var buffers = random.below(2) == 0 ? [Client.startup()] : []
            for _ in 0..<(1 + random.below(4)) {
                let type = "QPBDESHXdcfpF@"[String.Index(utf16Offset: random.below(14), in: "QPBDESHXdcfpF@")]
                let body = (0..<random.below(40)).map { _ in UInt8(random.below(256)) }
                buffers.append(Client.message(type) { $0.writeBytes(body) })
            }
            try run(buffers, database: database)
        }
    }
}
