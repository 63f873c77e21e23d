import Crypto

/// What the server keeps of a password for SCRAM-SHA-256 (RFC 5802, RFC 7677), in
/// PostgreSQL's `pg_authid.rolpassword` form: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
///
/// The password itself is never stored: the stored key lets the server check a client's
/// proof, the server key lets it prove that it knew the password too.
public struct SCRAMVerifier: Equatable, Sendable, CustomStringConvertible {
    public var iterations: Int
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    /// PostgreSQL's default iteration count (`scram_iterations`).
    public static let defaultIterations = 4096

    /// Derives the verifier of `password` with a new random salt.
    public init(password: String, iterations: Int = SCRAMVerifier.defaultIterations, salt: [UInt8]? = nil) {
        var generator = SystemRandomNumberGenerator()
        self.iterations = iterations
        self.salt = salt ?? (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let salted = SCRAMVerifier.saltedPassword(password, salt: self.salt, iterations: iterations)
        storedKey = Array(SHA256.hash(data: SCRAMVerifier.hmac(salted, "Client Key")))
        serverKey = SCRAMVerifier.hmac(salted, "Server Key")
    }

    /// Parses the `SCRAM-SHA-256$...` form; nil when `text` is not one.
    public init?(parsing text: String) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "SCRAM-SHA-256" else { return nil }
        let head = parts[1].split(separator: ":"), keys = parts[2].split(separator: ":")
        guard head.count == 2, keys.count == 2, let iterations = Int(head[0]), iterations > 0,
              let salt = Base64.decode(head[1]), let stored = Base64.decode(keys[0]), let server = Base64.decode(keys[1]),
              stored.count == 32, server.count == 32 else { return nil }
        self.iterations = iterations
        self.salt = salt
        storedKey = stored
        serverKey = server
    }

    public var description: String {
        "SCRAM-SHA-256$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }

    /// PBKDF2-HMAC-SHA-256 with one output block (32 bytes, the hash's size).
    static func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: Array(password.utf8))
        var block = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = block
        for _ in 1..<max(iterations, 1) {
            block = Array(HMAC<SHA256>.authenticationCode(for: block, using: key))
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        hmac(key, Array(message.utf8))
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}

/// The server's side of one SCRAM-SHA-256 exchange, as an explicit state machine: feed it the
/// client's messages, send what it returns.
public struct SCRAMServerExchange: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        /// The client's message does not follow RFC 5802.
        case malformed(String)
        /// The proof does not match: wrong password (or unknown user).
        case wrongPassword
    }

    enum State: Sendable {
        case expectingClientFirst
        case expectingClientFinal(clientFirstBare: String, serverFirst: String, nonce: String)
        case done
    }

    let verifier: SCRAMVerifier
    /// An unknown user gets a made-up verifier, so that a client cannot tell it from a wrong password.
    let isMock: Bool
    var state = State.expectingClientFirst

    /// Whether the next client message is `client-first-message`.
    public var expectingClientFirst: Bool {
        if case .expectingClientFirst = state { return true }
        return false
    }

    /// Fixes the server's nonce (RFC 7677's test vector); otherwise it is random.
    var fixedServerNonce: String?

    public init(verifier: SCRAMVerifier?, user: String) {
        if let verifier {
            self.verifier = verifier
            isMock = false
        } else {
            self.verifier = SCRAMVerifier(password: "", salt: Array(SHA256.hash(data: Array(("kiln-mock-" + user).utf8)).prefix(16)))
            isMock = true
        }
    }

    /// Handles `client-first-message` (`n,,n=user,r=nonce`); returns `server-first-message`.
    public mutating func clientFirst(_ message: String) throws(Failure) -> String {
        guard case .expectingClientFirst = state else { throw .malformed("unexpected SCRAM client-first message") }
        let parts = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("malformed SCRAM message") }
        // gs2 header: no channel binding ("n") or client supports it but thinks the server does not ("y").
        guard parts[0] == "n" || parts[0] == "y" else {
            throw .malformed(parts[0].hasPrefix("p=") ? "channel binding is not supported" : "malformed SCRAM message")
        }
        guard parts[1].isEmpty else { throw .malformed("authorization identities are not supported") }
        let bare = String(parts[2])
        let attributes = bare.split(separator: ",")
        guard let nonceAttribute = attributes.first(where: { $0.hasPrefix("r=") }), nonceAttribute.count > 2,
              attributes.first?.hasPrefix("n=") ?? false else { throw .malformed("malformed SCRAM message") }
        var generator = SystemRandomNumberGenerator()
        let serverNonce = fixedServerNonce ?? Base64.encode((0..<18).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let nonce = String(nonceAttribute.dropFirst(2)) + serverNonce
        let serverFirst = "r=\(nonce),s=\(Base64.encode(verifier.salt)),i=\(verifier.iterations)"
        state = .expectingClientFinal(clientFirstBare: bare, serverFirst: serverFirst, nonce: nonce)
        return serverFirst
    }

    /// Handles `client-final-message` (`c=biws,r=nonce,p=proof`); returns `server-final-message`.
    public mutating func clientFinal(_ message: String) throws(Failure) -> String {
        guard case .expectingClientFinal(let bare, let serverFirst, let nonce) = state else {
            throw .malformed("unexpected SCRAM client-final message")
        }
        state = .done
        guard let proofRange = message.range(of: ",p=") else { throw .malformed("malformed SCRAM message") }
        let withoutProof = String(message[..<proofRange.lowerBound])
        let attributes = withoutProof.split(separator: ",")
        guard attributes.count >= 2, attributes[0] == "c=biws" || attributes[0] == "c=eSws" else {
            throw .malformed("unexpected SCRAM channel-binding attribute in client-final-message")
        }
        guard attributes[1] == "r=\(nonce)" else { throw .malformed("SCRAM nonce mismatch") }
        guard let proof = Base64.decode(message[proofRange.upperBound...]), proof.count == 32 else {
            throw .malformed("malformed SCRAM proof")
        }
        let authMessage = Array("\(bare),\(serverFirst),\(withoutProof)".utf8)
        let signature = SCRAMVerifier.hmac(verifier.storedKey, authMessage)
        let clientKey = zip(proof, signature).map { $0 ^ $1 }
        let matches = Array(SHA256.hash(data: clientKey)) == verifier.storedKey
        guard matches, !isMock else { throw .wrongPassword }
        return "v=" + Base64.encode(SCRAMVerifier.hmac(verifier.serverKey, authMessage))
    }
}

/// Standard base64 (RFC 4648, with padding), as SCRAM and PostgreSQL's verifiers use.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index], b1 = index + 1 < bytes.count ? bytes[index + 1] : 0, b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var quad: [UInt8] = []
        for (position, character) in characters.enumerated() {
            if character == UInt8(ascii: "=") {
                // Padding only in the last two places.
                guard position >= characters.count - 2 else { return nil }
                quad.append(0xFF)
            } else {
                guard let value = alphabet.firstIndex(of: character) else { return nil }
                guard quad.last != 0xFF else { return nil }
                quad.append(UInt8(value))
            }
            if quad.count == 4 {
                out.append(quad[0] << 2 | quad[1] >> 4)
                if quad[2] != 0xFF { out.append(quad[1] << 4 | quad[2] >> 2) }
                if quad[3] != 0xFF { out.append(quad[2] << 6 | quad[3]) }
                quad.removeAll(keepingCapacity: true)
            }
        }
        return out
    }
}
