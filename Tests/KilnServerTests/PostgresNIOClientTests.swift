import Foundation
import Kiln
import KilnServer
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import XCTest

/// PostgresNIO (the extended protocol, binary results) against a real `kiln serve` socket,
/// every answer compared with what the embedded API returns for the same query.
final class PostgresNIOClientTests: XCTestCase {
    static let setup = """
        CREATE TABLE items (id INTEGER NOT NULL, qty SMALLINT, big BIGINT, price NUMERIC(12,2), ratio DOUBLE PRECISION, score REAL,
                            name TEXT, code VARCHAR(8), day DATE, at TIMESTAMP, active BOOLEAN, wait INTERVAL);
        INSERT INTO items VALUES
          (1, 3, 9000000000, 12.50, 0.25, 1.5, 'apple', 'A1', DATE '2024-01-31', TIMESTAMP '2024-01-31 08:15:00.25', true, INTERVAL '1 day 02:00:00'),
          (2, NULL, -1, -0.01, 1e-5, -2, 'pear ✓', NULL, DATE '1999-12-31', TIMESTAMP '1970-01-01 00:00:00', false, INTERVAL '-3 months'),
          (3, 7, 0, 100000.00, NULL, 0, '', 'C', NULL, NULL, NULL, NULL);
        """

    static let queries = [
        "SELECT * FROM items ORDER BY id",
        "SELECT id, price * qty AS total, ratio + 1 AS r1, upper(name) AS shout, day + 1 AS next FROM items ORDER BY id",
        "SELECT count(*) AS n, sum(price) AS s, avg(qty) AS a, max(at) AS latest, min(name) AS first FROM items",
        "SELECT active, count(*) AS n FROM items GROUP BY active ORDER BY active NULLS FIRST",
    ]

    func testQueriesMatchTheEmbeddedAPI() async throws {
        let database = try Database()
        try database.execute(PostgresNIOClientTests.setup)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.threads = 1
        let server = try Server(configuration: configuration, database: database)
        let port = try server.start()
        defer { server.shutdown() }
        let logger = Logger(label: "postgres-nio-test")
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(),
            configuration: .init(host: "127.0.0.1", port: port, username: "kiln", password: nil, database: "kiln", tls: .disable),
            id: 1, logger: logger)
        for sql in PostgresNIOClientTests.queries {
            let expected = try database.execute(sql).last!
            var got: [[Value]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                got.append(try row.map { try PostgresNIOClientTests.value(of: $0) })
            }
            XCTAssertEqual(got.count, expected.rows.count, sql)
            for (row, want) in zip(got, expected.rows) {
                XCTAssertEqual(row, want.map(PostgresNIOClientTests.comparable), sql)
            }
        }
        // Parameters travel in binary; the same statement runs again with other values.
        for limit in [Int32(1), 2, 5] {
            var ids: [Int32] = []
            for try await id in try await connection.query("SELECT id FROM items WHERE id <= \(limit) AND name <> \("x") ORDER BY id", logger: logger).decode(Int32.self) {
                ids.append(id)
            }
            XCTAssertEqual(ids, Array(1...min(limit, 3)))
        }
        // An error comes back with its SQLSTATE; the connection stays usable.
        do {
            _ = try await connection.query("SELECT 1 / (id - id) FROM items", logger: logger).collect()
            XCTFail("division by zero raised nothing")
        } catch let error as PSQLError {
            XCTAssertEqual(error.serverInfo?[.sqlState], "22012")
        }
        let one = try await connection.query("SELECT 1 AS one", logger: logger).collect()
        XCTAssertEqual(try one.first?.decode(Int32.self), 1)
        try await connection.close()
    }

    /// A received cell as a Kiln value, decoded by PostgresNIO where it can (or by hand, from
    /// PostgreSQL's documented binary layout, for intervals).
    static func value(of cell: PostgresCell) throws -> Value {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2: return .int16(try cell.decode(Int16.self))
        case .int4: return .int32(try cell.decode(Int32.self))
        case .int8: return .int64(try cell.decode(Int64.self))
        case .float4: return .float32(try cell.decode(Float.self))
        case .float8: return .float64(try cell.decode(Double.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .text, .varchar: return .text(try cell.decode(String.self))
        case .numeric: return .text("numeric " + (try cell.decode(Decimal.self)).description)
        case .date, .timestamp: return .text("time \(try cell.decode(Date.self).timeIntervalSince1970)")
        case .interval:
            var bytes = cell.bytes!
            let micros = bytes.readInteger(as: Int64.self)!, days = bytes.readInteger(as: Int32.self)!, months = bytes.readInteger(as: Int32.self)!
            return .interval(Interval(months: months, days: days, micros: micros))
        default:
            return .text("unexpected type \(cell.dataType)")
        }
    }

    /// An embedded value in the form `value(of:)` produces for it.
    static func comparable(_ value: Value) -> Value {
        switch value {
        case .numeric: return .text("numeric " + Decimal(string: value.text!)!.description)
        case .date(let days): return .text("time \(Double(days) * 86_400)")
        case .timestamp(let micros): return .text("time \(Double(micros) / 1_000_000)")
        default: return value
        }
    }
}
