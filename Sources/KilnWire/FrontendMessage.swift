import NIOCore

/// A message from a PostgreSQL client (protocol 3.0), decoded from its bytes.
///
/// The first message of a connection has no type byte (startup, SSL, GSSAPI encryption or
/// cancel request); every later one is a type byte, a 32-bit length and a body.
public enum FrontendMessage: Equatable, Sendable {
    /// `StartupMessage`: the protocol version and the connection's parameters in order.
    case startup(protocolVersion: Int32, parameters: [StartupParameter])
    case sslRequest
    case gssEncryptionRequest
    /// `CancelRequest`: sent on a new connection to cancel what another connection runs.
    case cancel(processID: Int32, secretKey: Int32)
    /// `Q`: one or more statements separated by semicolons.
    case query(String)
    /// `P`: a statement to prepare; type OID 0 leaves a parameter's type to the server.
    case parse(name: String, query: String, parameterTypes: [Int32])
    case bind(Bind)
    /// `D`: describe a prepared statement or a portal.
    case describe(Target, name: String)
    /// `E`: run a portal; `maxRows` 0 means all rows.
    case execute(portal: String, maxRows: Int32)
    case close(Target, name: String)
    case sync
    case flush
    case terminate
    case copyData(ByteBuffer)
    case copyDone
    case copyFail(String)
    /// `p`: a password, SASLInitialResponse or SASLResponse; which depends on the exchange.
    case authentication(ByteBuffer)
    /// `F`: the function call sub-protocol (not supported; answered with an error).
    case functionCall

    /// What a Describe or Close names.
    public enum Target: UInt8, Sendable {
        case statement = 0x53  // 'S'
        case portal = 0x50  // 'P'
    }

    public struct StartupParameter: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `B`: binds parameter values to a prepared statement, making a portal.
    public struct Bind: Equatable, Sendable {
        public var portal: String
        public var statement: String
        /// 0 text, 1 binary: none (all text), one (for all) or one per parameter.
        public var parameterFormats: [Int16]
        /// nil is SQL NULL.
        public var parameters: [ByteBuffer?]
        /// 0 text, 1 binary: none (all text), one (for all) or one per result column.
        public var resultFormats: [Int16]

        public init(portal: String, statement: String, parameterFormats: [Int16], parameters: [ByteBuffer?], resultFormats: [Int16]) {
            self.portal = portal
            self.statement = statement
            self.parameterFormats = parameterFormats
            self.parameters = parameters
            self.resultFormats = resultFormats
        }
    }
}
