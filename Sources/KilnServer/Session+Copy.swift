import Kiln
import KilnWire
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// COPY FROM STDIN and COPY TO STDOUT.
extension Session {
    /// Answers CopyInResponse and starts spooling the client's CopyData.
    func beginCopyIn(_ statement: PreparedStatement, rest: ArraySlice<PreparedStatement>, extended: Bool, parameters: [Value] = []) throws(DatabaseError) {
        guard let database else { return }
        if transaction == .failedTransaction {
            throw DatabaseError(SQLState("25P02"), "current transaction is aborted, commands ignored until end of transaction block")
        }
        let columns = try database.copyColumnCount(statement)
        // An anonymous temporary file: the data may be larger than memory, and it is gone on close.
        guard let spool = tmpfile() else {
            throw DatabaseError(.ioError, "could not create a temporary file for COPY FROM STDIN: \(String(cString: strerror(errno)))")
        }
        state = .copyIn(CopyInState(statement: statement, spool: spool, rest: rest, extended: extended))
        send(.copyInResponse(format: 0, columnFormats: Array(repeating: 0, count: columns)))
        needsFlush = true
    }

    func receiveCopy(_ message: FrontendMessage, _ copy: CopyInState) {
        switch message {
        case .copyData(let data):
            let written = data.withUnsafeReadableBytes { fwrite($0.baseAddress, 1, $0.count, copy.spool) }
            if written != data.readableBytes {
                return finishCopy(copy, error: DatabaseError(.ioError, "could not write COPY data to a temporary file: \(String(cString: strerror(errno)))"))
            }
            var copy = copy
            copy.size += data.readableBytes
            copy.tail = Array((copy.tail + data.readableBytesView.suffix(5)).suffix(5))
            state = .copyIn(copy)
        case .copyDone:
            finishCopy(copy, error: nil)
        case .copyFail(let reason):
            finishCopy(copy, error: DatabaseError(SQLState("57014"), "COPY from stdin failed: \(reason)"))
        case .flush, .sync:
            // Allowed during COPY and ignored (PostgreSQL does the same).
            break
        case .terminate:
            close()
        default:
            finishCopy(copy, error: DatabaseError(SQLState("08P01"), "unexpected message type during COPY from stdin"))
        }
    }

    /// Loads the spooled data (or reports `error`), then goes on where the COPY interrupted.
    func finishCopy(_ copy: CopyInState, error: DatabaseError?) {
        state = .ready
        var failure = error
        if failure == nil {
            fflush(copy.spool)
            let marker = Session.endOfDataMarkerLength(tail: copy.tail, size: copy.size)
            if marker > 0 { _ = ftruncate(fileno(copy.spool), copy.size - marker) }
            rewind(copy.spool)
            do {
                let result = try database!.copyIn(copy.statement, from: copy.spool)
                send(.commandComplete(result.commandTag))
            } catch {
                failure = error
            }
        } else {
            fclose(copy.spool)
        }
        if copy.extended {
            // The extended protocol goes on to Sync; an error discards until then.
            if let failure { extendedError(failure) }
            return
        }
        if let failure {
            sendError(failure)
            readyForQuery()
            return
        }
        runSimple(copy.rest)
    }

    /// The length of a trailing `\.` line (the end-of-data marker psql may send), or 0.
    static func endOfDataMarkerLength(tail: [UInt8], size: Int) -> Int {
        for marker in ["\\.\r\n", "\\.\n", "\\."].map({ Array($0.utf8) }) where tail.count >= marker.count && Array(tail.suffix(marker.count)) == marker {
            // Only a line of its own: at the start of the data or after a newline.
            if size == marker.count || tail[tail.count - marker.count - 1] == UInt8(ascii: "\n") { return marker.count }
            return 0
        }
        return 0
    }

    /// A `COPY ... TO STDOUT` that sends its rows as the query makes them: CopyOutResponse
    /// before the first, then one CopyData per row (as PostgreSQL sends them: clients such as
    /// psycopg parse them so), handed to the connection a megabyte at a time.
    func copyOutStream(_ statement: PreparedStatement) -> RowStream {
        copyOutStarted = false
        return RowStream(columns: { _ in }, rows: { _ in }, copyData: { [unowned self] lines in
            startCopyOut(statement)
            for line in lines {
                send(.copyData(ByteBuffer(string: line)))
                spillIfLarge()
            }
        })
    }

    private func startCopyOut(_ statement: PreparedStatement) {
        guard !copyOutStarted else { return }
        copyOutStarted = true
        let columns = (try? database?.copyColumnCount(statement)) ?? 0
        send(.copyOutResponse(format: 0, columnFormats: Array(repeating: 0, count: columns)))
    }

    /// The end of a COPY TO STDOUT (CopyOutResponse first if no row started it; the rows the
    /// result kept, when it did not stream), CopyDone, the tag.
    func sendCopyOut(_ result: QueryResult, of statement: PreparedStatement) {
        startCopyOut(statement)
        for line in result.copyData ?? [] {
            send(.copyData(ByteBuffer(string: line)))
            spillIfLarge()
        }
        send(.copyDone)
        send(.commandComplete(result.commandTag))
        copyOutStarted = false
    }
}
