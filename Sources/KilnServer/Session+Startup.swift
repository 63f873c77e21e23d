import Kiln
import KilnAuth
import KilnWire
import NIOCore

/// Start-up and authentication.
extension Session {
    func receiveStartup(_ message: FrontendMessage) {
        switch message {
        case .sslRequest where server.tls != nil && !encrypted:
            // 'S', then the TLS handshake; the start-up message follows inside TLS.
            send(.encryptionResponse(UInt8(ascii: "S")))
            startTLS = true
            encrypted = true
            needsFlush = true
        case .sslRequest, .gssEncryptionRequest:
            // No TLS (or GSSAPI encryption) here: the client goes on in the clear, or gives up.
            send(.encryptionResponse(UInt8(ascii: "N")))
            needsFlush = true
        case .cancel(let processID, let secretKey):
            server.registry.cancel(processID: processID, secretKey: secretKey)
            close()
        case .startup(let version, let parameters):
            guard version == FrontendDecoder.protocolVersion3 else {
                return fatal(DatabaseError(SQLState("08P01"), "unsupported frontend protocol \(version >> 16).\(version & 0xFFFF): server supports 3.0 to 3.0"))
            }
            guard let user = parameters.first(where: { $0.name == "user" })?.value, !user.isEmpty else {
                return fatal(DatabaseError(SQLState("28000"), "no PostgreSQL user name specified in startup packet"))
            }
            let catalog = server.root.catalog
            if catalog.roleNames.isEmpty {
                // No users configured: trust, as a fresh PostgreSQL does for local connections.
                return start(user: user, parameters: parameters)
            }
            let role = catalog.role(user)
            if let role, !role.canLogin {
                return fatal(DatabaseError(SQLState("28000"), "role \"\(user)\" is not permitted to log in"))
            }
            let exchange = SCRAMServerExchange(verifier: role?.passwordVerifier.flatMap(SCRAMVerifier.init(parsing:)), user: user)
            state = .authenticating(exchange, user: user, parameters: parameters)
            send(.authenticationSASL(["SCRAM-SHA-256"]))
            needsFlush = true
        default:
            fatal(DatabaseError(SQLState("08P01"), "expected a startup message"))
        }
    }

    /// One step of SCRAM: SASLInitialResponse (mechanism + client-first) or SASLResponse (client-final).
    func authenticate(_ exchange: inout SCRAMServerExchange, user: String, parameters: [FrontendMessage.StartupParameter], data: ByteBuffer) {
        var data = data
        let failed = DatabaseError(SQLState("28P01"), "password authentication failed for user \"\(user)\"")
        do throws(SCRAMServerExchange.Failure) {
            if exchange.expectingClientFirst {
                guard let mechanism = try? data.readCString("SASLInitialResponse"), let length = data.readInteger(as: Int32.self),
                      length == data.readableBytes, let text = data.readString(length: Int(length)) else {
                    return fatal(DatabaseError(SQLState("08P01"), "malformed SASLInitialResponse message"))
                }
                guard mechanism == "SCRAM-SHA-256" else {
                    return fatal(DatabaseError(SQLState("08P01"), "client selected an invalid SASL authentication mechanism"))
                }
                let serverFirst = try exchange.clientFirst(text)
                state = .authenticating(exchange, user: user, parameters: parameters)
                send(.authenticationSASLContinue(ByteBuffer(string: serverFirst)))
                needsFlush = true
            } else {
                guard let text = data.readString(length: data.readableBytes) else {
                    return fatal(DatabaseError(SQLState("08P01"), "malformed SASLResponse message"))
                }
                let serverFinal = try exchange.clientFinal(text)
                send(.authenticationSASLFinal(ByteBuffer(string: serverFinal)))
                start(user: user, parameters: parameters)
            }
        } catch {
            switch error {
            case .wrongPassword: fatal(failed)
            case .malformed(let reason): fatal(DatabaseError(SQLState("08P01"), reason))
            }
        }
    }

    /// Authenticated: a new session over the server's tables, the reported settings, the key
    /// for cancel requests, ReadyForQuery.
    func start(user: String, parameters: [FrontendMessage.StartupParameter]) {
        let database: Database
        do {
            database = try Database(sharing: server.root)
            try database.set("session_authorization", user, force: true)
            if server.configuration.statementTimeoutMilliseconds > 0 {
                try database.set("statement_timeout", "\(server.configuration.statementTimeoutMilliseconds)")
            }
            for parameter in parameters {
                switch parameter.name {
                case "user", "database", "replication": continue
                case "options":
                    // `-c name=value` pairs (libpq's PGOPTIONS).
                    for (name, value) in Session.commandLineOptions(parameter.value) { try database.set(name, value) }
                default:
                    try database.set(parameter.name, parameter.value)
                }
            }
        } catch {
            return fatal(error)
        }
        guard let (processID, secretKey) = server.registry.register(database.cancellation, limit: server.configuration.maxConnections) else {
            return fatal(DatabaseError(SQLState("53300"), "sorry, too many clients already"))
        }
        database.processID = processID
        database.databaseName = parameters.first(where: { $0.name == "database" })?.value ?? user
        database.defersDurabilityWait = defersCommitAnswers
        self.database = database
        self.processID = processID
        onStarted?(database.cancellation)
        state = .ready
        send(.authenticationOK)
        reportChangedSettings()
        send(.backendKeyData(processID: processID, secretKey: secretKey))
        readyForQuery()
    }

    /// Splits `-c name=value --name=value` option text.
    static func commandLineOptions(_ text: String) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var words = text.split(separator: " ").map(String.init)[...]
        while let word = words.popFirst() {
            var setting: String
            if word == "-c", let next = words.popFirst() { setting = next } else if word.hasPrefix("-c") { setting = String(word.dropFirst(2)) } else if word.hasPrefix("--") { setting = String(word.dropFirst(2)) } else { continue }
            guard let equals = setting.firstIndex(of: "=") else { continue }
            setting = setting.replacingOccurrences(of: "-", with: "_", before: equals)
            pairs.append((String(setting[..<equals]), String(setting[setting.index(after: equals)...])))
        }
        return pairs
    }
}

extension String {
    /// Replaces `target` with `replacement` in the part of the string before `end`.
    func replacingOccurrences(of target: Character, with replacement: Character, before end: String.Index) -> String {
        String(self[..<end].map { $0 == target ? replacement : $0 }) + self[end...]
    }
}
