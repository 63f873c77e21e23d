import Kiln
@testable import KilnServer
import KilnWire
import Logging
import NIOCore
import NIOEmbedded
import XCTest

/// A decoded backend message: its type byte and body.
struct Reply: Equatable, CustomStringConvertible {
    var type: Character
    var body: [UInt8]
    var description: String { "\(type)(\(body.count) bytes)" }

    /// The NUL-terminated strings of the body (for CommandComplete, ParameterStatus, ...).
    var strings: [String] { body.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) } }

    /// An ErrorResponse/NoticeResponse field.
    func field(_ code: Character) -> String? {
        var index = 0
        while index < body.count, body[index] != 0 {
            let type = Character(Unicode.Scalar(body[index]))
            let end = body[(index + 1)...].firstIndex(of: 0)!
            if type == code { return String(decoding: body[(index + 1)..<end], as: UTF8.self) }
            index = end + 1
        }
        return nil
    }
}

/// Frontend messages as bytes, the way a client writes them.
enum Client {
    static func startup(_ parameters: [(String, String)] = [("user", "alice"), ("database", "kiln")]) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(Int32(196_608))
        for (name, value) in parameters {
            body.writeCString(name)
            body.writeCString(value)
        }
        body.writeInteger(UInt8(0))
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(body.readableBytes + 4))
        buffer.writeBuffer(&body)
        return buffer
    }

    static func special(_ code: Int32, _ extra: [Int32] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(8 + 4 * extra.count))
        buffer.writeInteger(code)
        for value in extra { buffer.writeInteger(value) }
        return buffer
    }

    static func message(_ type: Character, _ body: (inout ByteBuffer) -> Void = { _ in }) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeMessage(type, body)
        return buffer
    }

    static func query(_ sql: String) -> ByteBuffer { message("Q") { $0.writeCString(sql) } }

    static func parse(_ name: String = "", _ sql: String, types: [Int32] = []) -> ByteBuffer {
        message("P") {
            $0.writeCString(name)
            $0.writeCString(sql)
            $0.writeInteger(Int16(types.count))
            for type in types { $0.writeInteger(type) }
        }
    }

    static func bind(portal: String = "", statement: String = "", formats: [Int16] = [], parameters: [ByteBuffer?] = [], results: [Int16] = []) -> ByteBuffer {
        message("B") {
            $0.writeCString(portal)
            $0.writeCString(statement)
            $0.writeInteger(Int16(formats.count))
            for format in formats { $0.writeInteger(format) }
            $0.writeInteger(Int16(parameters.count))
            for parameter in parameters {
                if var parameter {
                    $0.writeInteger(Int32(parameter.readableBytes))
                    $0.writeBuffer(&parameter)
                } else {
                    $0.writeInteger(Int32(-1))
                }
            }
            $0.writeInteger(Int16(results.count))
            for format in results { $0.writeInteger(format) }
        }
    }

    static func describe(_ kind: Character, _ name: String = "") -> ByteBuffer {
        message("D") {
            $0.writeInteger(kind.asciiValue!)
            $0.writeCString(name)
        }
    }

    static func execute(_ portal: String = "", maxRows: Int32 = 0) -> ByteBuffer {
        message("E") {
            $0.writeCString(portal)
            $0.writeInteger(maxRows)
        }
    }

    static var sync: ByteBuffer { message("S") }
}

/// A server connection on an EmbeddedChannel: the whole pipeline, no sockets.
final class WireConnection {
    let channel = EmbeddedChannel()
    let context: ServerContext

    init(database: Database? = nil, configuration: ServerConfiguration = ServerConfiguration()) throws {
        context = ServerContext(root: try database ?? Database(), configuration: configuration, logger: Logger(label: "test"))
        try Server.configure(channel.pipeline.syncOperations, context: context, inline: true)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5432)).wait()
    }

    /// Sends bytes; returns the replies they caused.
    @discardableResult
    func send(_ buffers: ByteBuffer...) throws -> [Reply] {
        for buffer in buffers { try channel.writeInbound(buffer) }
        return try replies()
    }

    /// Everything written so far, cut into messages.
    func replies() throws -> [Reply] {
        var all = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&part) }
        var replies: [Reply] = []
        while all.readableBytes > 0 {
            let type = Character(Unicode.Scalar(all.readInteger(as: UInt8.self)!))
            if all.readableBytes == 0 || type == "N" && all.readableBytes < 4 {
                replies.append(Reply(type: type, body: []))  // SSL / GSS answer: one byte
                break
            }
            let length = Int(all.readInteger(as: Int32.self)!)
            replies.append(Reply(type: type, body: all.readBytes(length: length - 4)!))
        }
        return replies
    }

    /// Start-up with trust authentication; returns the replies.
    @discardableResult
    func start(user: String = "alice") throws -> [Reply] {
        try send(Client.startup([("user", user), ("database", "kiln"), ("application_name", "tests")]))
    }

    var isOpen: Bool { channel.isActive }
}

extension Array where Element == Reply {
    var types: String { String(map(\.type)) }
}
