import NIOCore

/// A message from the server to a client (protocol 3.0).
public enum BackendMessage: Equatable, Sendable {
    case authenticationOK
    case authenticationCleartextPassword
    /// `AuthenticationSASL`: the mechanisms offered.
    case authenticationSASL([String])
    case authenticationSASLContinue(ByteBuffer)
    case authenticationSASLFinal(ByteBuffer)
    case parameterStatus(name: String, value: String)
    case backendKeyData(processID: Int32, secretKey: Int32)
    case readyForQuery(TransactionStatus)
    case rowDescription([FieldDescription])
    /// One row; each column already encoded (nil is SQL NULL).
    case dataRow([ByteBuffer?])
    case commandComplete(String)
    case emptyQueryResponse
    case error(ErrorFields)
    case notice(ErrorFields)
    case parseComplete
    case bindComplete
    case closeComplete
    case noData
    case portalSuspended
    case parameterDescription([Int32])
    /// `CopyInResponse` / `CopyOutResponse`: overall format and per-column formats.
    case copyInResponse(format: Int8, columnFormats: [Int16])
    case copyOutResponse(format: Int8, columnFormats: [Int16])
    case copyData(ByteBuffer)
    case copyDone
    /// The single byte answering SSLRequest / GSSENCRequest ('S' or 'N').
    case encryptionResponse(UInt8)

    /// `ReadyForQuery`'s status byte.
    public enum TransactionStatus: UInt8, Sendable {
        case idle = 0x49  // 'I'
        case inTransaction = 0x54  // 'T'
        case failedTransaction = 0x45  // 'E'
    }

    /// One column of a RowDescription.
    public struct FieldDescription: Equatable, Sendable {
        public var name: String
        public var tableOID: Int32 = 0
        public var columnNumber: Int16 = 0
        public var typeOID: Int32
        public var typeLength: Int16
        public var typeModifier: Int32
        /// 0 text, 1 binary.
        public var format: Int16

        public init(name: String, tableOID: Int32 = 0, columnNumber: Int16 = 0, typeOID: Int32, typeLength: Int16, typeModifier: Int32, format: Int16) {
            self.name = name
            self.tableOID = tableOID
            self.columnNumber = columnNumber
            self.typeOID = typeOID
            self.typeLength = typeLength
            self.typeModifier = typeModifier
            self.format = format
        }
    }

    /// The fields of ErrorResponse / NoticeResponse that clients read.
    public struct ErrorFields: Equatable, Sendable {
        /// ERROR, FATAL, PANIC (errors) or WARNING, NOTICE, INFO, LOG (notices).
        public var severity: String
        public var sqlState: String
        public var message: String
        public var detail: String?
        public var hint: String?
        /// 1-based character position in the statement text.
        public var position: Int?
        public var context: String?

        public init(severity: String, sqlState: String, message: String, detail: String? = nil, hint: String? = nil, position: Int? = nil, context: String? = nil) {
            self.severity = severity
            self.sqlState = sqlState
            self.message = message
            self.detail = detail
            self.hint = hint
            self.position = position
            self.context = context
        }
    }
}

extension BackendMessage {
    /// Appends the message's bytes (type, length, body) to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .authenticationOK: buffer.writeMessage("R") { $0.writeInteger(Int32(0)) }
        case .authenticationCleartextPassword: buffer.writeMessage("R") { $0.writeInteger(Int32(3)) }
        case .authenticationSASL(let mechanisms):
            buffer.writeMessage("R") {
                $0.writeInteger(Int32(10))
                for mechanism in mechanisms { $0.writeCString(mechanism) }
                $0.writeInteger(UInt8(0))
            }
        case .authenticationSASLContinue(var data):
            buffer.writeMessage("R") {
                $0.writeInteger(Int32(11))
                $0.writeBuffer(&data)
            }
        case .authenticationSASLFinal(var data):
            buffer.writeMessage("R") {
                $0.writeInteger(Int32(12))
                $0.writeBuffer(&data)
            }
        case .parameterStatus(let name, let value):
            buffer.writeMessage("S") {
                $0.writeCString(name)
                $0.writeCString(value)
            }
        case .backendKeyData(let process, let key):
            buffer.writeMessage("K") {
                $0.writeInteger(process)
                $0.writeInteger(key)
            }
        case .readyForQuery(let status): buffer.writeMessage("Z") { $0.writeInteger(status.rawValue) }
        case .rowDescription(let fields):
            buffer.writeMessage("T") {
                $0.writeInteger(Int16(fields.count))
                for field in fields {
                    $0.writeCString(field.name)
                    $0.writeInteger(field.tableOID)
                    $0.writeInteger(field.columnNumber)
                    $0.writeInteger(field.typeOID)
                    $0.writeInteger(field.typeLength)
                    $0.writeInteger(field.typeModifier)
                    $0.writeInteger(field.format)
                }
            }
        case .dataRow(let columns):
            buffer.writeMessage("D") {
                $0.writeInteger(Int16(columns.count))
                for column in columns {
                    if var column {
                        $0.writeInteger(Int32(column.readableBytes))
                        $0.writeBuffer(&column)
                    } else {
                        $0.writeInteger(Int32(-1))
                    }
                }
            }
        case .commandComplete(let tag): buffer.writeMessage("C") { $0.writeCString(tag) }
        case .emptyQueryResponse: buffer.writeMessage("I") { _ in }
        case .error(let fields): buffer.writeMessage("E") { fields.write(into: &$0) }
        case .notice(let fields): buffer.writeMessage("N") { fields.write(into: &$0) }
        case .parseComplete: buffer.writeMessage("1") { _ in }
        case .bindComplete: buffer.writeMessage("2") { _ in }
        case .closeComplete: buffer.writeMessage("3") { _ in }
        case .noData: buffer.writeMessage("n") { _ in }
        case .portalSuspended: buffer.writeMessage("s") { _ in }
        case .parameterDescription(let types):
            buffer.writeMessage("t") {
                $0.writeInteger(Int16(types.count))
                for type in types { $0.writeInteger(type) }
            }
        case .copyInResponse(let format, let columns), .copyOutResponse(let format, let columns):
            let type: Character
            if case .copyInResponse = self { type = "G" } else { type = "H" }
            buffer.writeMessage(type) {
                $0.writeInteger(format)
                $0.writeInteger(Int16(columns.count))
                for column in columns { $0.writeInteger(column) }
            }
        case .copyData(var data): buffer.writeMessage("d") { $0.writeBuffer(&data) }
        case .copyDone: buffer.writeMessage("c") { _ in }
        case .encryptionResponse(let byte): buffer.writeInteger(byte)
        }
    }
}

extension BackendMessage.ErrorFields {
    func write(into buffer: inout ByteBuffer) {
        func field(_ code: Character, _ value: String?) {
            guard let value else { return }
            buffer.writeInteger(code.asciiValue!)
            buffer.writeCString(value)
        }
        field("S", severity)
        field("V", severity)
        field("C", sqlState)
        field("M", message)
        field("D", detail)
        field("H", hint)
        field("P", position.map(String.init))
        field("W", context)
        buffer.writeInteger(UInt8(0))
    }
}

extension ByteBuffer {
    /// Writes a message: type byte, then a length patched in after `body` wrote the rest.
    @inlinable
    public mutating func writeMessage(_ type: Character, _ body: (inout ByteBuffer) -> Void) {
        writeInteger(type.asciiValue!)
        let lengthIndex = writerIndex
        writeInteger(Int32(0))
        body(&self)
        setInteger(Int32(writerIndex - lengthIndex), at: lengthIndex)
    }

    /// A NUL-terminated string. NUL bytes inside `text` cannot travel in the protocol and are dropped.
    public mutating func writeCString(_ text: String) {
        if text.utf8.contains(0) {
            writeBytes(text.utf8.filter { $0 != 0 })
        } else {
            writeString(text)
        }
        writeInteger(UInt8(0))
    }
}
