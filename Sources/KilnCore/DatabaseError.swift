/// A SQLSTATE code (five characters), as PostgreSQL reports it.
public struct SQLState: Hashable, Sendable, CustomStringConvertible {
    public let code: String
    public init(_ code: String) { self.code = code }
    public var description: String { code }

    public static let syntaxError = SQLState("42601")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedColumn = SQLState("42703")
    public static let undefinedFunction = SQLState("42883")
    public static let duplicateTable = SQLState("42P07")
    public static let duplicateColumn = SQLState("42701")
    public static let ambiguousColumn = SQLState("42702")
    public static let datatypeMismatch = SQLState("42804")
    public static let groupingError = SQLState("42803")
    public static let invalidColumnReference = SQLState("42P10")
    public static let featureNotSupported = SQLState("0A000")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let divisionByZero = SQLState("22012")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let invalidDatetimeFormat = SQLState("22007")
    public static let datetimeFieldOverflow = SQLState("22008")
    public static let stringDataRightTruncation = SQLState("22001")
    public static let notNullViolation = SQLState("23502")
    public static let uniqueViolation = SQLState("23505")
    public static let checkViolation = SQLState("23514")
    public static let foreignKeyViolation = SQLState("23503")
    public static let dependentObjectsStillExist = SQLState("2BP01")
    public static let invalidForeignKey = SQLState("42830")
    public static let badCopyFileFormat = SQLState("22P04")
    public static let invalidParameterValue = SQLState("22023")
    /// PostgreSQL's `stack_depth_limit`: input nested too deeply to process.
    public static let stackDepthLimitExceeded = SQLState("54001")
    public static let invalidEscapeSequence = SQLState("22025")
    public static let cannotCoerce = SQLState("42846")
    public static let undefinedParameter = SQLState("42P02")
    public static let undefinedFile = SQLState("58P01")
    public static let ioError = SQLState("58030")
    public static let internalError = SQLState("XX000")
    public static let programLimitExceeded = SQLState("54000")
    public static let invalidRowCountInLimit = SQLState("2201W")
    public static let invalidRowCountInOffset = SQLState("2201X")
    public static let wrongObjectType = SQLState("42809")
    public static let invalidName = SQLState("42602")
    public static let outOfMemory = SQLState("53200")
    public static let duplicateAlias = SQLState("42712")
    public static let cardinalityViolation = SQLState("21000")
    public static let duplicateObject = SQLState("42710")
    public static let invalidTableDefinition = SQLState("42P16")
    public static let windowingError = SQLState("42P20")
    public static let invalidPrecedingOrFollowingSize = SQLState("22013")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let lockNotAvailable = SQLState("55P03")
    public static let inFailedTransaction = SQLState("25P02")
    public static let noActiveTransaction = SQLState("25P01")
    public static let activeTransaction = SQLState("25001")
    public static let invalidSavepoint = SQLState("3B001")
}

/// The one error type of Kiln: a SQLSTATE, a message, and where in the SQL text it happened.
///
/// User input never traps: every problem with a statement, its data or its parameters surfaces
/// as a `DatabaseError`. Bound parameter values are never part of `description`.
public struct DatabaseError: Error, Sendable, CustomStringConvertible, Equatable {
    public var sqlState: SQLState
    public var message: String
    public var detail: String?
    public var hint: String?
    /// 1-based character position in `sql`, as PostgreSQL's `P` field.
    public var position: Int?
    /// The statement text the error refers to.
    public var sql: String?
    /// For COPY: the 1-based line of the input file.
    public var line: Int?
    /// Where the error happened, as PostgreSQL's CONTEXT (`COPY t, line 3, column k: "x"`).
    public var context: String?

    public init(_ sqlState: SQLState, _ message: String, position: Int? = nil, detail: String? = nil, hint: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.position = position
        self.detail = detail
        self.hint = hint
    }

    public var description: String {
        var text = "ERROR:  \(message) (SQLSTATE \(sqlState.code))"
        if let position { text += " at position \(position)" }
        if let line { text += " (line \(line))" }
        if let detail { text += "\nDETAIL:  \(detail)" }
        if let hint { text += "\nHINT:  \(hint)" }
        if let context { text += "\nCONTEXT:  \(context)" }
        return text
    }

    public static func == (lhs: DatabaseError, rhs: DatabaseError) -> Bool {
        lhs.sqlState == rhs.sqlState && lhs.message == rhs.message && lhs.position == rhs.position
    }

    /// An internal failure: not the user's fault, reported instead of trapping.
    public static func internalError(_ message: String) -> DatabaseError {
        DatabaseError(.internalError, message)
    }

    /// Not an error a client sees: a statement run where it must not wait (a server's event
    /// loop, `Database.mustNotWait`) would have waited for a lock or another transaction. It
    /// did nothing; the caller runs it again where it may wait.
    public static let wouldWait = DatabaseError(SQLState("XXKWW"), "the statement would wait")
    public var isWouldWait: Bool { sqlState.code == "XXKWW" }

    public static func numericOutOfRange(_ what: String = "integer") -> DatabaseError {
        DatabaseError(.numericValueOutOfRange, "\(what) out of range")
    }

    public static let divisionByZero = DatabaseError(.divisionByZero, "division by zero")

    /// 22008, as PostgreSQL reports interval arithmetic that leaves a field's range.
    public static let intervalOutOfRange = DatabaseError(.datetimeFieldOverflow, "interval out of range")
}
