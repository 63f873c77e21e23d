import Kiln
@testable import KilnServer
import KilnWire
import NIOCore
import NIOEmbedded
import XCTest

/// The server's protocol handling on an EmbeddedChannel, message by message.
final class ProtocolTests: XCTestCase {
    func testStartupWithTrust() throws {
        let connection = try WireConnection()
        let replies = try connection.start()
        XCTAssertEqual(replies.first?.type, "R")
        XCTAssertEqual(replies.first?.body, [0, 0, 0, 0])  // AuthenticationOk
        let parameters = Dictionary(uniqueKeysWithValues: replies.filter { $0.type == "S" }.map { ($0.strings[0], $0.strings[1]) })
        for name in ["server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone",
                     "integer_datetimes", "standard_conforming_strings", "application_name", "is_superuser", "session_authorization"] {
            XCTAssertNotNil(parameters[name], name)
        }
        XCTAssertEqual(parameters["application_name"], "tests")
        XCTAssertEqual(parameters["session_authorization"], "alice")
        XCTAssertGreaterThanOrEqual(Int(parameters["server_version"]!.prefix(2)) ?? 0, 14)
        XCTAssertEqual(replies.dropLast().last?.type, "K")
        XCTAssertEqual(replies.last, Reply(type: "Z", body: [UInt8(ascii: "I")]))
    }

    func testEncryptionRequestsAreDeclined() throws {
        let connection = try WireConnection()
        XCTAssertEqual(try connection.send(Client.special(80_877_103)), [Reply(type: "N", body: [])])
        XCTAssertEqual(try connection.send(Client.special(80_877_104)), [Reply(type: "N", body: [])])
        XCTAssertEqual(try connection.start().last?.type, "Z")
    }

    func testSimpleQueryWithSeveralStatements() throws {
        let connection = try WireConnection()
        try connection.start()
        let replies = try connection.send(Client.query("CREATE TABLE t (k INTEGER, s TEXT); INSERT INTO t VALUES (1, 'a'), (2, NULL); SELECT k, s FROM t ORDER BY k"))
        XCTAssertEqual(replies.types, "CCTDDCZ")
        XCTAssertEqual(replies[0].strings, ["CREATE TABLE"])
        XCTAssertEqual(replies[1].strings, ["INSERT 0 2"])
        // DataRow: 2 columns, "1", "a" / "2", NULL.
        XCTAssertEqual(replies[3].body, [0, 2, 0, 0, 0, 1, UInt8(ascii: "1"), 0, 0, 0, 1, UInt8(ascii: "a")])
        XCTAssertEqual(replies[4].body, [0, 2, 0, 0, 0, 1, UInt8(ascii: "2"), 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(replies[5].strings, ["SELECT 2"])
        // An empty query.
        XCTAssertEqual(try connection.send(Client.query("  ")).types, "IZ")
    }

    func testErrorStopsTheRestOfASimpleQuery() throws {
        let connection = try WireConnection()
        try connection.start()
        let replies = try connection.send(Client.query("SELECT 1; SELECT nope FROM nowhere; SELECT 2"))
        XCTAssertEqual(replies.types, "TDCEZ")
        XCTAssertEqual(replies[3].field("C"), "42P01")
        XCTAssertEqual(replies[3].field("S"), "ERROR")
        XCTAssertEqual(replies[3].field("P"), "28")  // "nowhere", counted in the whole query string
        XCTAssertTrue(connection.isOpen)
    }

    func testTransactionStatus() throws {
        let connection = try WireConnection()
        try connection.start()
        XCTAssertEqual(try connection.send(Client.query("BEGIN")).last?.body, [UInt8(ascii: "T")])
        let failed = try connection.send(Client.query("SELECT 1/0"))
        XCTAssertEqual(failed.last?.body, [UInt8(ascii: "E")])
        let ignored = try connection.send(Client.query("SELECT 1"))
        XCTAssertEqual(ignored.first?.field("C"), "25P02")
        let rollback = try connection.send(Client.query("COMMIT"))
        XCTAssertEqual(rollback.first?.strings, ["ROLLBACK"])
        XCTAssertEqual(rollback.last?.body, [UInt8(ascii: "I")])
    }

    func testExtendedProtocolWithRowLimit() throws {
        let connection = try WireConnection()
        try connection.start()
        try connection.send(Client.query("CREATE TABLE t (k INTEGER); INSERT INTO t VALUES (1), (2), (3)"))
        var parameter = ByteBuffer()
        parameter.writeInteger(Int32(1))
        let replies = try connection.send(
            Client.parse("s", "SELECT k FROM t WHERE k > $1 ORDER BY k"), Client.describe("S", "s"),
            Client.bind(portal: "p", statement: "s", formats: [1], parameters: [parameter], results: [1]),
            Client.describe("P", "p"), Client.execute("p", maxRows: 1), Client.execute("p", maxRows: 5), Client.sync)
        XCTAssertEqual(replies.types, "1tT2TDsDCZ")
        XCTAssertEqual(replies[1].body, [0, 1, 0, 0, 0, 23])  // one parameter, int4
        XCTAssertEqual(replies[5].body, [0, 1, 0, 0, 0, 4, 0, 0, 0, 2])  // binary int4 2
        XCTAssertEqual(replies[7].body, [0, 1, 0, 0, 0, 4, 0, 0, 0, 3])
        XCTAssertEqual(replies[8].strings, ["SELECT 2"])
        // The named statement survives; the portal ended with the Sync.
        XCTAssertEqual(try connection.send(Client.execute("p"), Client.sync).first?.field("C"), "34000")
        XCTAssertEqual(try connection.send(Client.bind(statement: "s", parameters: [ByteBuffer(string: "0")]), Client.execute(), Client.sync).types, "2DDDCZ")
    }

    func testErrorDiscardsUntilSync() throws {
        let connection = try WireConnection()
        try connection.start()
        let replies = try connection.send(Client.bind(statement: "missing"), Client.execute(), Client.parse("", "SELECT 1"), Client.sync,
                                          Client.parse("", "SELECT 1"), Client.bind(), Client.execute(), Client.sync)
        XCTAssertEqual(replies.types, "EZ12DCZ")
        XCTAssertEqual(replies[0].field("C"), "26000")
    }

    func testParameterCountAndFormatsAreChecked() throws {
        let connection = try WireConnection()
        try connection.start()
        let replies = try connection.send(Client.parse("", "SELECT $1::integer + $2::integer"), Client.bind(parameters: [ByteBuffer(string: "1")]), Client.sync)
        XCTAssertEqual(replies.types, "1EZ")
        XCTAssertEqual(replies[1].field("C"), "08P01")
        let bad = try connection.send(Client.parse("", "SELECT $1::integer"), Client.bind(formats: [1], parameters: [ByteBuffer(bytes: [1, 2])]), Client.sync)
        XCTAssertEqual(bad[1].field("C"), "22P03")
        let text = try connection.send(Client.parse("", "SELECT $1::integer"), Client.bind(parameters: [ByteBuffer(string: "x1")]), Client.execute(), Client.sync)
        XCTAssertEqual(text.types, "12EZ")
        XCTAssertEqual(text[2].field("C"), "22P02")
    }

    func testCopyFromStdin() throws {
        let connection = try WireConnection()
        try connection.start()
        try connection.send(Client.query("CREATE TABLE t (k INTEGER, s TEXT)"))
        XCTAssertEqual(try connection.send(Client.query("COPY t FROM STDIN; SELECT count(*) FROM t")).types, "G")
        let replies = try connection.send(Client.message("d") { $0.writeString("1\tone\n2\t") }, Client.message("d") { $0.writeString("\\N\n\\.\n") },
                                          Client.message("c"))
        XCTAssertEqual(replies.types, "CTDCZ")
        XCTAssertEqual(replies[0].strings, ["COPY 2"])
        XCTAssertEqual(replies[2].body, [0, 1, 0, 0, 0, 1, UInt8(ascii: "2")])
        // A client that gives up: 57014, and nothing was loaded.
        try connection.send(Client.query("COPY t FROM STDIN"))
        let failed = try connection.send(Client.message("d") { $0.writeString("3\tthree\n") }, Client.message("f") { $0.writeCString("no more") })
        XCTAssertEqual(failed.types, "EZ")
        XCTAssertEqual(failed[0].field("C"), "57014")
        XCTAssertEqual(try connection.send(Client.query("SELECT count(*) FROM t"))[1].body, [0, 1, 0, 0, 0, 1, UInt8(ascii: "2")])
    }

    func testCopyToStdout() throws {
        let connection = try WireConnection()
        try connection.start()
        try connection.send(Client.query("CREATE TABLE t (k INTEGER, s TEXT); INSERT INTO t VALUES (1, 'a\tb'), (2, NULL)"))
        let replies = try connection.send(Client.query("COPY (SELECT * FROM t ORDER BY k) TO STDOUT"))
        XCTAssertEqual(replies.types, "HddcCZ")
        XCTAssertEqual(replies[0].body, [0, 0, 2, 0, 0, 0, 0])
        XCTAssertEqual(String(decoding: replies[1].body, as: UTF8.self), "1\ta\\tb\n")
        XCTAssertEqual(String(decoding: replies[2].body, as: UTF8.self), "2\t\\N\n")
        XCTAssertEqual(replies[4].strings, ["COPY 2"])
    }

    func testProtocolViolationsCloseTheConnection() throws {
        let oversized = try WireConnection(configuration: { var c = ServerConfiguration(); c.maxMessageSize = 1024; return c }())
        try oversized.start()
        var huge = ByteBuffer()
        huge.writeInteger(UInt8(ascii: "Q"))
        huge.writeInteger(Int32(1 << 20))
        let replies = try oversized.send(huge)
        XCTAssertEqual(replies.first?.field("S"), "FATAL")
        XCTAssertEqual(replies.first?.field("C"), "08P01")
        XCTAssertFalse(oversized.isOpen)

        let early = try WireConnection()
        let answer = try early.send(Client.query("SELECT 1"))  // a query before start-up is a bad startup packet
        XCTAssertEqual(answer.first?.field("C"), "08P01")
        XCTAssertFalse(early.isOpen)
    }

    func testTruncatedMessageThenCloseIsHarmless() throws {
        let connection = try WireConnection()
        try connection.start()
        var partial = Client.query("SELECT 1")
        partial.moveWriterIndex(to: partial.writerIndex - 3)
        XCTAssertEqual(try connection.send(partial), [])
        XCTAssertNoThrow(try connection.channel.close().wait())
    }

    func testConnectionLimit() throws {
        var configuration = ServerConfiguration()
        configuration.maxConnections = 1
        let database = try Database()
        let first = try WireConnection(database: database, configuration: configuration)
        try first.start()
        let second = WireConnectionSharing(first)
        let replies = try second.send(Client.startup())
        XCTAssertEqual(replies.first?.field("C"), "53300")
    }

    func testSettingsAreReportedWhenTheyChange() throws {
        let connection = try WireConnection()
        try connection.start()
        let replies = try connection.send(Client.query("SET application_name = 'renamed'"))
        XCTAssertEqual(replies.types, "CSZ")
        XCTAssertEqual(replies[1].strings, ["application_name", "renamed"])
        XCTAssertEqual(try connection.send(Client.query("SET DateStyle = 'SQL, DMY'")).first?.field("C"), "22023")
        XCTAssertEqual(try connection.send(Client.query("SET no_such_setting = 1")).first?.field("C"), "42704")
    }
}

/// A second connection to the same server context (for the connection limit).
final class WireConnectionSharing {
    let channel = EmbeddedChannel()
    init(_ other: WireConnection) {
        try! Server.configure(channel.pipeline.syncOperations, context: other.context, inline: true)
        try! channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5432)).wait()
    }
    func send(_ buffer: ByteBuffer) throws -> [Reply] {
        try channel.writeInbound(buffer)
        var all = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&part) }
        var replies: [Reply] = []
        while all.readableBytes >= 5 {
            let type = Character(Unicode.Scalar(all.readInteger(as: UInt8.self)!))
            let length = Int(all.readInteger(as: Int32.self)!)
            replies.append(Reply(type: type, body: all.readBytes(length: length - 4)!))
        }
        return replies
    }
}
