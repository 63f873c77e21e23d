import NIOCore

/// A client broke the protocol: the connection gets a FATAL 08P01 error and is closed.
public struct ProtocolViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Cuts the bytes a client sends into `FrontendMessage`s.
///
/// Starts in the startup phase (messages without a type byte) and moves to the regular phase
/// after a `StartupMessage`. Every length is checked before anything is read: a message longer
/// than `maximumMessageSize` (or a startup packet past 10000 bytes, PostgreSQL's limit) is a
/// violation, so a hostile length never makes the server allocate.
public struct FrontendDecoder: ByteToMessageDecoder {
    public typealias InboundOut = FrontendMessage

    public enum Phase: Sendable { case startup, regular }

    public static let protocolVersion3: Int32 = 196_608
    static let sslRequestCode: Int32 = 80_877_103
    static let gssEncryptionRequestCode: Int32 = 80_877_104
    static let cancelRequestCode: Int32 = 80_877_102
    public static let maximumStartupPacket = 10_000

    public var phase: Phase
    public var maximumMessageSize: Int

    public init(phase: Phase = .startup, maximumMessageSize: Int = 64 << 20) {
        self.phase = phase
        self.maximumMessageSize = maximumMessageSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A connection that closes mid-message just ends; nothing is half-processed.
        while let message = try next(&buffer) { context.fireChannelRead(wrapInboundOut(message)) }
        buffer.clear()
        return .needMoreData
    }

    /// The next complete message in `buffer` (consumed), or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(ProtocolViolation) -> FrontendMessage? {
        switch phase {
        case .startup: return try nextStartup(&buffer)
        case .regular: return try nextRegular(&buffer)
        }
    }

    mutating func nextStartup(_ buffer: inout ByteBuffer) throws(ProtocolViolation) -> FrontendMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard length >= 8, length <= FrontendDecoder.maximumStartupPacket else { throw ProtocolViolation("invalid length of startup packet") }
        guard buffer.readableBytes >= Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        var body = buffer.readSlice(length: Int(length) - 4)!
        let code = body.readInteger(as: Int32.self)!
        switch code {
        case FrontendDecoder.sslRequestCode:
            guard body.readableBytes == 0 else { throw ProtocolViolation("invalid length of SSL request") }
            return .sslRequest
        case FrontendDecoder.gssEncryptionRequestCode:
            guard body.readableBytes == 0 else { throw ProtocolViolation("invalid length of GSSAPI encryption request") }
            return .gssEncryptionRequest
        case FrontendDecoder.cancelRequestCode:
            guard body.readableBytes == 8, let process = body.readInteger(as: Int32.self), let key = body.readInteger(as: Int32.self) else {
                throw ProtocolViolation("invalid length of cancel request")
            }
            return .cancel(processID: process, secretKey: key)
        default:
            guard code >> 16 == 3 else {
                throw ProtocolViolation("unsupported frontend protocol \(code >> 16).\(code & 0xFFFF): server supports 3.0 to 3.0")
            }
            var parameters: [FrontendMessage.StartupParameter] = []
            while true {
                let name = try body.readCString("startup packet")
                if name.isEmpty { break }
                parameters.append(.init(name, try body.readCString("startup packet")))
            }
            guard body.readableBytes == 0 else { throw ProtocolViolation("invalid startup packet layout: expected terminator as last byte") }
            phase = .regular
            return .startup(protocolVersion: code, parameters: parameters)
        }
    }

    mutating func nextRegular(_ buffer: inout ByteBuffer) throws(ProtocolViolation) -> FrontendMessage? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self) else { return nil }
        guard length >= 4 else { throw ProtocolViolation("invalid message length") }
        guard Int(length) <= maximumMessageSize else {
            throw ProtocolViolation("message of type \"\(Character(Unicode.Scalar(type)))\" is \(length) bytes, more than the limit of \(maximumMessageSize)")
        }
        guard buffer.readableBytes >= Int(length) + 1 else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        var body = buffer.readSlice(length: Int(length) - 4)!
        let message = try FrontendDecoder.regularMessage(type: type, body: &body)
        guard body.readableBytes == 0 else {
            throw ProtocolViolation("invalid message format: \(body.readableBytes) extra bytes in message of type \"\(Character(Unicode.Scalar(type)))\"")
        }
        return message
    }

    static func regularMessage(type: UInt8, body: inout ByteBuffer) throws(ProtocolViolation) -> FrontendMessage {
        switch type {
        case UInt8(ascii: "Q"): return .query(try body.readCString("Query"))
        case UInt8(ascii: "P"):
            let name = try body.readCString("Parse")
            let query = try body.readCString("Parse")
            let count = try body.readCount("Parse")
            var types: [Int32] = []
            for _ in 0..<count { types.append(try body.readInt32("Parse")) }
            return .parse(name: name, query: query, parameterTypes: types)
        case UInt8(ascii: "B"):
            let portal = try body.readCString("Bind")
            let statement = try body.readCString("Bind")
            let formatCount = try body.readCount("Bind")
            var formats: [Int16] = []
            for _ in 0..<formatCount { formats.append(try body.readFormat("Bind")) }
            let parameterCount = try body.readCount("Bind")
            var parameters: [ByteBuffer?] = []
            for _ in 0..<parameterCount {
                let length = try body.readInt32("Bind")
                if length == -1 { parameters.append(nil); continue }
                guard length >= 0, let value = body.readSlice(length: Int(length)) else {
                    throw ProtocolViolation("invalid message format: bad parameter length in Bind")
                }
                parameters.append(value)
            }
            let resultCount = try body.readCount("Bind")
            var results: [Int16] = []
            for _ in 0..<resultCount { results.append(try body.readFormat("Bind")) }
            return .bind(.init(portal: portal, statement: statement, parameterFormats: formats, parameters: parameters, resultFormats: results))
        case UInt8(ascii: "D"), UInt8(ascii: "C"):
            let kind = try body.readByte(type == UInt8(ascii: "D") ? "Describe" : "Close")
            guard let target = FrontendMessage.Target(rawValue: kind) else {
                throw ProtocolViolation("invalid \(type == UInt8(ascii: "D") ? "DESCRIBE" : "CLOSE") message subtype \(kind)")
            }
            let name = try body.readCString("Describe")
            return type == UInt8(ascii: "D") ? .describe(target, name: name) : .close(target, name: name)
        case UInt8(ascii: "E"):
            let portal = try body.readCString("Execute")
            return .execute(portal: portal, maxRows: try body.readInt32("Execute"))
        case UInt8(ascii: "S"): return .sync
        case UInt8(ascii: "H"): return .flush
        case UInt8(ascii: "X"): return .terminate
        case UInt8(ascii: "d"):
            let data = body.readSlice(length: body.readableBytes)!
            return .copyData(data)
        case UInt8(ascii: "c"): return .copyDone
        case UInt8(ascii: "f"): return .copyFail(try body.readCString("CopyFail"))
        case UInt8(ascii: "p"):
            return .authentication(body.readSlice(length: body.readableBytes)!)
        case UInt8(ascii: "F"):
            body.moveReaderIndex(to: body.writerIndex)
            return .functionCall
        default:
            throw ProtocolViolation("invalid frontend message type \(type)")
        }
    }
}

extension ByteBuffer {
    /// A NUL-terminated UTF-8 string.
    public mutating func readCString(_ message: String) throws(ProtocolViolation) -> String {
        guard let end = readableBytesView.firstIndex(of: 0) else {
            throw ProtocolViolation("invalid message format: unterminated string in \(message)")
        }
        let bytes = readBytes(length: end - readerIndex)!
        moveReaderIndex(forwardBy: 1)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ProtocolViolation("invalid byte sequence for encoding \"UTF8\" in \(message)")
        }
        return text
    }

    mutating func readInt32(_ message: String) throws(ProtocolViolation) -> Int32 {
        guard let value = readInteger(as: Int32.self) else { throw ProtocolViolation("invalid message format: \(message) is too short") }
        return value
    }

    mutating func readByte(_ message: String) throws(ProtocolViolation) -> UInt8 {
        guard let value = readInteger(as: UInt8.self) else { throw ProtocolViolation("invalid message format: \(message) is too short") }
        return value
    }

    /// A 16-bit count that must not claim more 2-byte items than the message holds.
    mutating func readCount(_ message: String) throws(ProtocolViolation) -> Int {
        guard let value = readInteger(as: Int16.self), value >= 0 else { throw ProtocolViolation("invalid message format: bad count in \(message)") }
        guard Int(value) * 2 <= readableBytes else { throw ProtocolViolation("invalid message format: count \(value) too large for \(message)") }
        return Int(value)
    }

    mutating func readFormat(_ message: String) throws(ProtocolViolation) -> Int16 {
        guard let value = readInteger(as: Int16.self) else { throw ProtocolViolation("invalid message format: \(message) is too short") }
        guard value == 0 || value == 1 else { throw ProtocolViolation("unsupported format code: \(value)") }
        return value
    }
}
