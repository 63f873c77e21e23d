import KilnWire
import NIOCore
import XCTest

/// The frontend decoder, byte by byte: every message, partial input, hostile lengths.
final class FrontendDecoderTests: XCTestCase {
    func decodeAll(_ buffer: ByteBuffer, phase: FrontendDecoder.Phase = .regular, limit: Int = 1 << 20) throws -> [FrontendMessage] {
        var decoder = FrontendDecoder(phase: phase, maximumMessageSize: limit)
        var buffer = buffer
        var messages: [FrontendMessage] = []
        while let message = try decoder.next(&buffer) { messages.append(message) }
        XCTAssertEqual(buffer.readableBytes, 0, "bytes left over")
        return messages
    }

    func testStartupMessages() throws {
        XCTAssertEqual(try decodeAll(Client.startup(), phase: .startup),
                       [.startup(protocolVersion: 196_608, parameters: [.init("user", "alice"), .init("database", "kiln")])])
        XCTAssertEqual(try decodeAll(Client.special(80_877_103), phase: .startup), [.sslRequest])
        XCTAssertEqual(try decodeAll(Client.special(80_877_104), phase: .startup), [.gssEncryptionRequest])
        XCTAssertEqual(try decodeAll(Client.special(80_877_102, [42, -7]), phase: .startup), [.cancel(processID: 42, secretKey: -7)])
    }

    func testStartupPhaseEndsAfterStartupMessage() throws {
        var decoder = FrontendDecoder()
        var buffer = Client.special(80_877_103)
        buffer.writeImmutableBuffer(Client.startup())
        buffer.writeImmutableBuffer(Client.query("SELECT 1"))
        XCTAssertEqual(try decoder.next(&buffer), .sslRequest)
        XCTAssertEqual(decoder.phase, .startup)
        XCTAssertNotNil(try decoder.next(&buffer))
        XCTAssertEqual(decoder.phase, .regular)
        XCTAssertEqual(try decoder.next(&buffer), .query("SELECT 1"))
    }

    func testRegularMessages() throws {
        var all = ByteBuffer()
        all.writeImmutableBuffer(Client.query("SELECT 1"))
        all.writeImmutableBuffer(Client.parse("s1", "SELECT $1", types: [23]))
        all.writeImmutableBuffer(Client.bind(portal: "p", statement: "s1", formats: [1], parameters: [ByteBuffer(bytes: [0, 0, 0, 5]), nil], results: [0, 1]))
        all.writeImmutableBuffer(Client.describe("S", "s1"))
        all.writeImmutableBuffer(Client.execute("p", maxRows: 10))
        all.writeImmutableBuffer(Client.message("C") { $0.writeInteger(UInt8(ascii: "P")); $0.writeCString("p") })
        all.writeImmutableBuffer(Client.message("H"))
        all.writeImmutableBuffer(Client.sync)
        all.writeImmutableBuffer(Client.message("d") { $0.writeString("1\t2\n") })
        all.writeImmutableBuffer(Client.message("c"))
        all.writeImmutableBuffer(Client.message("f") { $0.writeCString("stop") })
        all.writeImmutableBuffer(Client.message("X"))
        XCTAssertEqual(try decodeAll(all), [
            .query("SELECT 1"),
            .parse(name: "s1", query: "SELECT $1", parameterTypes: [23]),
            .bind(.init(portal: "p", statement: "s1", parameterFormats: [1], parameters: [ByteBuffer(bytes: [0, 0, 0, 5]), nil], resultFormats: [0, 1])),
            .describe(.statement, name: "s1"),
            .execute(portal: "p", maxRows: 10),
            .close(.portal, name: "p"),
            .flush, .sync,
            .copyData(ByteBuffer(string: "1\t2\n")), .copyDone, .copyFail("stop"),
            .terminate,
        ])
    }

    func testPartialInputWaitsForTheRest() throws {
        var decoder = FrontendDecoder(phase: .regular)
        let whole = Client.query("SELECT 42")
        var buffer = ByteBuffer()
        for index in 0..<whole.readableBytes - 1 {
            buffer.writeInteger(whole.getInteger(at: index, as: UInt8.self)!)
            XCTAssertNil(try decoder.next(&buffer), "complete after \(index + 1) bytes?")
        }
        buffer.writeInteger(whole.getInteger(at: whole.readableBytes - 1, as: UInt8.self)!)
        XCTAssertEqual(try decoder.next(&buffer), .query("SELECT 42"))
    }

    func testHostileInputIsAViolation() {
        // A length beyond the limit is refused before any of it arrives.
        var huge = ByteBuffer()
        huge.writeInteger(UInt8(ascii: "Q"))
        huge.writeInteger(Int32.max)
        XCTAssertThrowsError(try decodeAll(huge, limit: 1 << 20))
        // Lengths below the header's own size.
        var tiny = ByteBuffer(bytes: [UInt8(ascii: "Q"), 0, 0, 0, 3])
        var regular = FrontendDecoder(phase: .regular)
        XCTAssertThrowsError(try regular.next(&tiny))
        var startup = ByteBuffer(bytes: [0, 0, 0, 4])
        var decoder = FrontendDecoder()
        XCTAssertThrowsError(try decoder.next(&startup))
        var longStartup = ByteBuffer(bytes: [0, 1, 0, 0])
        XCTAssertThrowsError(try decoder.next(&longStartup))
        // Unknown type, unterminated string, count larger than the message, extra bytes.
        XCTAssertThrowsError(try decodeAll(Client.message("@")))
        XCTAssertThrowsError(try decodeAll(Client.message("Q") { $0.writeString("no terminator") }))
        XCTAssertThrowsError(try decodeAll(Client.message("P") { $0.writeCString(""); $0.writeCString("x"); $0.writeInteger(Int16(1000)) }))
        XCTAssertThrowsError(try decodeAll(Client.message("S") { $0.writeInteger(UInt8(1)) }))
        XCTAssertThrowsError(try decodeAll(Client.message("Q") { $0.writeBytes([0xFF, 0xFE, 0]) }))
        XCTAssertThrowsError(try decodeAll(Client.special(5 << 16), phase: .startup))
    }
}
