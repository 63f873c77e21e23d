import Dispatch
import Kiln
import KilnWire
import NIOCore

/// The simple query protocol, and running one statement (shared with the extended protocol).
extension Session {
    func simpleQuery(_ sql: String) {
        guard let database else { return }
        server.logger.debug("statement: \(sql)", metadata: ["pid": "\(processID)"])
        let statements: [PreparedStatement]
        do {
            statements = try database.parse(sql)
        } catch {
            sendError(error)
            readyForQuery()
            return
        }
        if statements.isEmpty {
            send(.emptyQueryResponse)
            readyForQuery()
            return
        }
        runSimple(statements[...])
    }

    /// Runs statements of one Query message in order; the first error skips the rest.
    func runSimple(_ statements: ArraySlice<PreparedStatement>) {
        var rest = statements
        while let statement = rest.popFirst() {
            let mark = output.writerIndex
            do {
                if case .copyIn = statement.kind {
                    try beginCopyIn(statement, rest: rest, extended: false)
                    return  // ReadyForQuery follows the COPY data.
                }
                let stream = statement.kind == .copyOut ? copyOutStream(statement) : rowStream(formats: [], describe: true)
                let result = try run(statement, parameters: [], stream: stream)
                sendResult(result, of: statement, formats: [], describe: true, maxRows: 0)
            } catch where error.isWouldWait {
                // (only a lone statement run on the event loop: nothing was done or sent)
                output.moveWriterIndex(to: mark)
                deferred = true
                return
            } catch {
                sendError(error)
                break
            }
        }
        readyForQuery()
    }

    /// Sends an error; inside a transaction block the block fails.
    func sendError(_ error: DatabaseError) {
        send(.error(Session.fields(error)))
        database?.failTransactionBlock()
        needsFlush = true
    }

    /// Runs a statement under the transaction rules and the statement timeout.
    /// - Parameter stream: where a result set goes as it is produced (nil: kept in the result).
    func run(_ statement: PreparedStatement, parameters: [Value], stream: RowStream? = nil) throws(DatabaseError) -> QueryResult {
        guard let database else { throw DatabaseError.internalError("no session") }
        let control = statement.transactionControl
        if transaction == .failedTransaction, control == nil || control == .begin {
            // (the database refuses them too; here before the statement timeout starts)
            throw DatabaseError(SQLState("25P02"), "current transaction is aborted, commands ignored until end of transaction block")
        }
        let timeout = database.statementTimeoutMilliseconds
        var timer: DispatchWorkItem?
        if timeout > 0 {
            let cancellation = database.cancellation
            let item = DispatchWorkItem { cancellation.cancel(.statementTimeout) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(timeout), execute: item)
            timer = item
        }
        defer { timer?.cancel() }
        let before = transaction
        let result: QueryResult
        if let stream {
            result = try database.execute(statement, parameters, streaming: stream)
        } else {
            result = try database.execute(statement, parameters)
        }
        switch control {
        case .begin where before != .idle:
            send(.notice(.init(severity: "WARNING", sqlState: "25001", message: "there is already a transaction in progress")))
        case .commit where before == .idle, .rollback where before == .idle:
            send(.notice(.init(severity: "WARNING", sqlState: "25P01", message: "there is no transaction in progress")))
        default:
            break
        }
        return result
    }

    /// Sends a statement's result: RowDescription (`describe`), rows in `formats`, the tag.
    /// - Parameter maxRows: 0 for all rows; otherwise the caller handles portal suspension.
    func sendResult(_ result: QueryResult, of statement: PreparedStatement, formats: [Int16], describe: Bool, maxRows: Int) {
        if case .copyOut = statement.kind {
            return sendCopyOut(result, of: statement)
        }
        if result.streamed {
            // RowDescription and the rows went out while the statement ran (`rowStream`).
            return send(.commandComplete(result.commandTag))
        }
        if result.hasResultSet {
            let formats = Session.expand(formats, count: result.columns.count)
            if describe { send(Session.rowDescription(result.columns, formats: formats)) }
            for row in result.rows {
                WireFormat.writeDataRow(row, formats: formats, into: &output)
                spillIfLarge()
            }
        }
        send(.commandComplete(result.commandTag))
    }

    /// Sends a result set while its statement produces it: RowDescription (`describe`), then
    /// DataRows, handed to the connection a megabyte at a time (which waits for the socket, so
    /// a slow client holds back the query instead of filling the server's memory).
    func rowStream(formats: [Int16], describe: Bool) -> RowStream {
        var expanded: [Int16] = []
        return RowStream(columns: { [unowned self] columns in
            expanded = Session.expand(formats, count: columns.count)
            if describe { send(Session.rowDescription(columns, formats: expanded)) }
        }, rows: { [unowned self] rows in
            for row in rows {
                WireFormat.writeDataRow(row, formats: expanded, into: &output)
                spillIfLarge()
            }
        })
    }

    /// Hands a large output to the connection so that a big result is not held twice.
    func spillIfLarge() {
        if output.readableBytes >= 1 << 20, let spill { spill(takeOutput()) }
    }

    /// Result formats as one per column: none means all text, one applies to all.
    static func expand(_ formats: [Int16], count: Int) -> [Int16] {
        if formats.isEmpty { return Array(repeating: 0, count: count) }
        if formats.count == 1 { return Array(repeating: formats[0], count: count) }
        return formats
    }

    static func rowDescription(_ columns: [QueryResult.Column], formats: [Int16]) -> BackendMessage {
        .rowDescription(zip(columns, formats).map { column, format in
            BackendMessage.FieldDescription(name: column.name, typeOID: PostgresType.oid(of: column.type),
                                            typeLength: PostgresType.length(of: column.type),
                                            typeModifier: PostgresType.modifier(of: column.type), format: format)
        })
    }
}
