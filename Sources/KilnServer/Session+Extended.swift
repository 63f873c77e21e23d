import Kiln
import KilnWire
import NIOCore

/// A bound statement: parameter values, result formats, and (once executed) rows not yet sent.
struct Portal {
    /// nil: an empty query.
    var statement: PreparedStatement?
    var parameters: [Value]
    var resultFormats: [Int16]
    var columns: [QueryResult.Column]?
    var result: QueryResult?
    /// The rows of a query run with a row limit, kept for the following Executes.
    var kept: ResultStore?
    var sent = 0
}

/// The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync.
extension Session {
    /// An error in the extended protocol: sent, then everything up to Sync is skipped.
    func extendedError(_ error: DatabaseError) {
        sendError(error)
        state = .discardingUntilSync
    }

    func parse(name: String, query: String, types: [Int32]) {
        guard let database else { return }
        server.logger.debug("parse \(name.isEmpty ? "<unnamed>" : name): \(query)", metadata: ["pid": "\(processID)"])
        do throws(DatabaseError) {
            var parameterTypes: [SQLType] = []
            for oid in types {
                guard let type = PostgresType.sqlType(ofOID: oid) else {
                    throw DatabaseError(.featureNotSupported, "parameter type with OID \(oid) is not supported")
                }
                parameterTypes.append(type)
            }
            let prepared = try database.prepare(query, parameterTypes: parameterTypes)
            if name.isEmpty {
                unnamedStatement = .some(prepared)
            } else {
                if database.preparedStatement(named: name) != nil || emptyNamedStatements.contains(name) {
                    throw DatabaseError(SQLState("42P05"), "prepared statement \"\(name)\" already exists")
                }
                if let prepared { try database.addPreparedStatement(prepared, named: name) } else { emptyNamedStatements.insert(name) }
            }
            send(.parseComplete)
        } catch {
            extendedError(error)
        }
    }

    /// The prepared statement `name` names: `.some(nil)` is an empty query, nil none at all.
    func statement(named name: String) -> PreparedStatement?? {
        if name.isEmpty { return unnamedStatement }
        if emptyNamedStatements.contains(name) { return .some(nil) }
        guard let prepared = database?.preparedStatement(named: name) else { return nil }
        return .some(prepared)
    }

    func bind(_ bind: FrontendMessage.Bind) {
        guard let database else { return }
        do throws(DatabaseError) {
            guard let found = statement(named: bind.statement) else {
                throw DatabaseError(SQLState("26000"), bind.statement.isEmpty ? "unnamed prepared statement does not exist" : "prepared statement \"\(bind.statement)\" does not exist")
            }
            let description = try found.map { prepared throws(DatabaseError) in try database.describe(prepared) }
            let types = description?.parameterTypes ?? []
            if transaction == .failedTransaction, found?.transactionControl == nil {
                throw DatabaseError(SQLState("25P02"), "current transaction is aborted, commands ignored until end of transaction block")
            }
            guard bind.parameters.count == types.count else {
                throw DatabaseError(SQLState("08P01"), "bind message supplies \(bind.parameters.count) parameters, but prepared statement \"\(bind.statement)\" requires \(types.count)")
            }
            guard [0, 1, types.count].contains(bind.parameterFormats.count) else {
                throw DatabaseError(SQLState("08P01"), "bind message has \(bind.parameterFormats.count) parameter formats but \(types.count) parameters")
            }
            let formats = Session.expand(bind.parameterFormats, count: types.count)
            var values: [Value] = []
            for (index, bytes) in bind.parameters.enumerated() {
                guard let bytes else { values.append(.null); continue }
                if formats[index] == 1 {
                    values.append(try WireFormat.readBinary(bytes, as: types[index], parameter: index + 1))
                } else {
                    guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                        throw DatabaseError(SQLState("22021"), "invalid byte sequence for encoding \"UTF8\" in bind parameter \(index + 1)")
                    }
                    values.append(.text(text))
                }
            }
            let columns = description?.columns
            let columnCount = columns?.count ?? 0
            guard [0, 1, columnCount].contains(bind.resultFormats.count) else {
                throw DatabaseError(SQLState("08P01"), "bind message has \(bind.resultFormats.count) result formats but query has \(columnCount) columns")
            }
            if !bind.portal.isEmpty, portals[bind.portal] != nil {
                throw DatabaseError(SQLState("42P03"), "cursor \"\(bind.portal)\" already exists")
            }
            portals[bind.portal] = Portal(statement: found ?? nil, parameters: values, resultFormats: Session.expand(bind.resultFormats, count: columnCount),
                                          columns: columns)
            send(.bindComplete)
        } catch {
            extendedError(error)
        }
    }

    func describe(_ target: FrontendMessage.Target, name: String) {
        guard let database else { return }
        do throws(DatabaseError) {
            switch target {
            case .statement:
                guard let found = statement(named: name) else {
                    throw DatabaseError(SQLState("26000"), name.isEmpty ? "unnamed prepared statement does not exist" : "prepared statement \"\(name)\" does not exist")
                }
                guard let prepared = found else {
                    send(.parameterDescription([]))
                    send(.noData)
                    return
                }
                let description = try database.describe(prepared)
                send(.parameterDescription(description.parameterTypes.map(PostgresType.oid(of:))))
                if let columns = description.columns, prepared.kind == .query {
                    send(Session.rowDescription(columns, formats: Array(repeating: 0, count: columns.count)))
                } else {
                    send(.noData)
                }
            case .portal:
                if portals[name] == nil, let columns = database.cursorColumns(name) {
                    // A SQL cursor is a portal too (psycopg describes its server-side cursors so).
                    send(Session.rowDescription(columns, formats: Array(repeating: 0, count: columns.count)))
                    return
                }
                guard let portal = portals[name] else { throw DatabaseError(SQLState("34000"), "portal \"\(name)\" does not exist") }
                if let columns = portal.columns, portal.statement?.kind == .query {
                    send(Session.rowDescription(columns, formats: portal.resultFormats))
                } else {
                    send(.noData)
                }
            }
        } catch {
            extendedError(error)
        }
    }

    func execute(portal name: String, maxRows: Int) {
        guard var portal = portals[name] else {
            return extendedError(DatabaseError(SQLState("34000"), "portal \"\(name)\" does not exist"))
        }
        guard let statement = portal.statement else {
            send(.emptyQueryResponse)
            return
        }
        let mark = output.writerIndex
        do throws(DatabaseError) {
            if portal.result == nil {
                if case .copyIn = statement.kind {
                    try beginCopyIn(statement, rest: [], extended: true, parameters: portal.parameters)
                    return
                }
                if maxRows > 0, case .query = statement.kind {
                    // A row limit: the rows are kept (in bounded memory, as a cursor's) for
                    // the following Executes.
                    var store: ResultStore?
                    let memory = database?.workMemoryBytes ?? 4 << 20
                    let keep = RowStream(columns: { store = ResultStore(columns: $0, memoryBytes: memory) },
                                         rows: { rows throws(DatabaseError) in try store?.append(rows) })
                    portal.result = try run(statement, parameters: portal.parameters, stream: keep)
                    try store?.finish()
                    portal.kept = store
                } else {
                    // All rows at once: they stream out as the query makes them.
                    let stream = statement.kind == .copyOut ? copyOutStream(statement) : rowStream(formats: portal.resultFormats, describe: false)
                    portal.result = try run(statement, parameters: portal.parameters, stream: stream)
                }
            }
            let result = portal.result!
            guard result.hasResultSet, let kept = portal.kept else {
                sendResult(result, of: statement, formats: portal.resultFormats, describe: false, maxRows: 0)
                portal.sent = result.rows.count
                portals[name] = portal
                return
            }
            // Send the next `maxRows` (all that remain without a limit); PortalSuspended while
            // rows remain.
            let end = maxRows > 0 ? min(kept.count, portal.sent + maxRows) : kept.count
            var start = portal.sent
            while start < end {
                let batchEnd = min(end, start + 8192)
                for row in try kept.rows(start..<batchEnd) {
                    WireFormat.writeDataRow(row, formats: portal.resultFormats, into: &output)
                    spillIfLarge()
                }
                start = batchEnd
            }
            portal.sent = end
            portals[name] = portal
            if end < kept.count {
                send(.portalSuspended)
            } else {
                send(.commandComplete(result.commandTag))
            }
        } catch where error.isWouldWait {
            // (run on the event loop: nothing was done or sent; the portal is as it was)
            output.moveWriterIndex(to: mark)
            deferred = true
        } catch {
            extendedError(error)
        }
    }

    func closeTarget(_ target: FrontendMessage.Target, name: String) {
        switch target {
        case .statement:
            if name.isEmpty {
                unnamedStatement = nil
            } else if emptyNamedStatements.remove(name) == nil {
                try? database?.deallocate(name)
            }
        case .portal:
            portals[name] = nil
        }
        send(.closeComplete)
    }

    /// Sync: the end of an extended-protocol cycle. Outside a transaction block, portals end with it.
    func sync() {
        state = .ready
        if transaction == .idle { portals.removeAll() }
        readyForQuery()
    }
}
