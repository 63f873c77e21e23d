import Crypto
import Kiln
@testable import KilnAuth
@testable import KilnServer
import KilnWire
import NIOCore
import XCTest

/// SCRAM-SHA-256: verifiers in PostgreSQL's form, and the exchange over the protocol.
final class AuthenticationTests: XCTestCase {
    func testVerifierFormatRoundTrips() throws {
        let verifier = SCRAMVerifier(password: "secret", salt: Array(0..<16))
        let text = verifier.description
        XCTAssertTrue(text.hasPrefix("SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$"))
        XCTAssertEqual(SCRAMVerifier(parsing: text), verifier)
        XCTAssertNil(SCRAMVerifier(parsing: "md5abc"))
        XCTAssertNil(SCRAMVerifier(parsing: "SCRAM-SHA-256$x:y$z:w"))
    }

    /// RFC 7677's SCRAM-SHA-256 example exchange (user "user", password "pencil").
    func testRFC7677Exchange() throws {
        let salt = Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")!
        var exchange = SCRAMServerExchange(verifier: SCRAMVerifier(password: "pencil", iterations: 4096, salt: salt), user: "user")
        exchange.fixedServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        XCTAssertEqual(try exchange.clientFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
                       "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        XCTAssertEqual(try exchange.clientFinal("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
                       "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    }

    func testBase64() {
        for bytes in [[], [0], [1, 2], [1, 2, 3], Array(0...255)] as [[UInt8]] {
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.encode(Array("n,,".utf8)), "biws")
        XCTAssertNil(Base64.decode("a=bc"))
        XCTAssertNil(Base64.decode("abc"))
    }

    /// The client's side of SCRAM, computed from the password as libpq does.
    func clientFinal(password: String, clientFirstBare: String, serverFirst: String) -> String {
        let attributes = Dictionary(uniqueKeysWithValues: serverFirst.split(separator: ",").map { ($0.prefix(1), String($0.dropFirst(2))) })
        let salt = Base64.decode(attributes["s"]!)!
        let salted = SCRAMVerifier.saltedPassword(password, salt: salt, iterations: Int(attributes["i"]!)!)
        let clientKey = SCRAMVerifier.hmac(salted, "Client Key")
        let storedKey = Array(SHA256.hash(data: clientKey))
        let withoutProof = "c=biws,r=\(attributes["r"]!)"
        let signature = SCRAMVerifier.hmac(storedKey, Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8))
        return withoutProof + ",p=" + Base64.encode(zip(clientKey, signature).map { $0 ^ $1 })
    }

    func login(_ connection: WireConnection, user: String, password: String) throws -> [Reply] {
        let offer = try connection.send(Client.startup([("user", user)]))
        XCTAssertEqual(offer.first?.type, "R")
        XCTAssertEqual(offer.first?.body.prefix(4), [0, 0, 0, 10])  // AuthenticationSASL
        let bare = "n=,r=clientnonce123"
        let continued = try connection.send(Client.message("p") {
            $0.writeCString("SCRAM-SHA-256")
            $0.writeInteger(Int32(("n,," + bare).utf8.count))
            $0.writeString("n,," + bare)
        })
        guard continued.first?.type == "R", continued.first?.body.prefix(4) == [0, 0, 0, 11] else { return continued }
        let serverFirst = String(decoding: continued[0].body.dropFirst(4), as: UTF8.self)
        XCTAssertTrue(serverFirst.hasPrefix("r=clientnonce123"))
        return try connection.send(Client.message("p") { $0.writeString(clientFinal(password: password, clientFirstBare: bare, serverFirst: serverFirst)) })
    }

    func testPasswordLogin() throws {
        let database = try Database()
        try database.execute("CREATE ROLE bob LOGIN PASSWORD 'hunter2'")
        let connection = try WireConnection(database: database)
        let replies = try login(connection, user: "bob", password: "hunter2")
        XCTAssertEqual(replies.first?.body.prefix(4), [0, 0, 0, 12])  // AuthenticationSASLFinal
        XCTAssertEqual(replies[1].body, [0, 0, 0, 0])  // AuthenticationOk
        XCTAssertEqual(replies.last?.type, "Z")
    }

    func testWrongPasswordAndUnknownUserFailAlike() throws {
        let database = try Database()
        try database.execute("CREATE USER bob PASSWORD 'hunter2'")
        for (user, password) in [("bob", "wrong"), ("mallory", "hunter2")] {
            let connection = try WireConnection(database: database)
            let replies = try login(connection, user: user, password: password)
            XCTAssertEqual(replies.first?.field("S"), "FATAL")
            XCTAssertEqual(replies.first?.field("C"), "28P01")
            XCTAssertEqual(replies.first?.field("M"), "password authentication failed for user \"\(user)\"")
            XCTAssertFalse(connection.isOpen)
        }
    }

    func testRoleStatements() throws {
        let database = try Database()
        try database.execute("CREATE ROLE carol WITH LOGIN PASSWORD 'a'")
        XCTAssertThrowsError(try database.execute("CREATE ROLE carol")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "42710") }
        try database.execute("ALTER ROLE carol PASSWORD 'b'")
        try database.execute("DROP ROLE carol")
        XCTAssertThrowsError(try database.execute("DROP ROLE carol")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "42704") }
        try database.execute("DROP ROLE IF EXISTS carol")
        // A role that may not log in is refused before any password exchange.
        try database.execute("CREATE ROLE dave PASSWORD 'x'")
        let connection = try WireConnection(database: database)
        XCTAssertEqual(try connection.send(Client.startup([("user", "dave")])).first?.field("C"), "28000")
    }
}
