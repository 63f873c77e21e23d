import KilnCore
import Synchronization

/// A sequence's fixed properties (CREATE SEQUENCE's options, resolved).
public struct SequenceOptions: Sendable, Equatable {
    /// smallint, integer or bigint (`AS type`; bounds its default range).
    public var type: SQLType = .bigint
    public var increment: Int64 = 1
    public var minValue: Int64 = 1
    public var maxValue: Int64 = Int64.max
    public var start: Int64 = 1
    public var cycle = false

    public init() {}
}

/// A sequence (CREATE SEQUENCE, SERIAL, IDENTITY). Not transactional, as in PostgreSQL: a
/// value handed out stays used even if its transaction rolls back. A database directory logs
/// values ahead (`reserve`), so that recovery never hands out a value again.
public final class SQLSequence: @unchecked Sendable {
    public let name: String
    public internal(set) var oid: Int32 = 0
    public let options: SequenceOptions
    /// The column a SERIAL or identity column owns it from (DROP TABLE drops it).
    public let ownedBy: (table: String, column: String)?

    struct State {
        var last: Int64
        var called = false
        /// The value up to which the WAL has reserved (recovery resumes after it).
        var reserved: Int64
    }
    private let state: Mutex<State>
    /// Values reserved in the WAL per record.
    public static let reserveAhead: Int64 = 32

    public init(name: String, options: SequenceOptions, ownedBy: (table: String, column: String)?, last: Int64? = nil, called: Bool = false) {
        self.name = name
        self.options = options
        self.ownedBy = ownedBy
        let value = last ?? options.start
        state = Mutex(State(last: value, called: called, reserved: called ? value : value - options.increment))
    }

    /// The last value and whether it was handed out (false: `nextval` returns it next).
    public var current: (last: Int64, called: Bool) { state.withLock { ($0.last, $0.called) } }

    /// What a checkpoint or the creating commit writes: the state as it is. Values reserved
    /// before are forgotten, so the next `nextval` reserves (and logs) again after it: nothing
    /// handed out after this point can be handed out again by a recovery. (The caller holds the
    /// statement lock exclusively: no `nextval` runs meanwhile.)
    public func durableState() -> (last: Int64, called: Bool) {
        state.withLock { s in
            s.reserved = s.called ? s.last : s.last - options.increment
            return (s.last, s.called)
        }
    }

    /// The next value; `reserve` is set when the WAL must record a new reservation first.
    public func next() throws(DatabaseError) -> (value: Int64, reserve: Int64?) {
        try state.withLock { (s: inout State) throws(DatabaseError) -> (Int64, Int64?) in
            var value = s.last
            if s.called {
                let (sum, overflow) = s.last.addingReportingOverflow(options.increment)
                if overflow || sum > options.maxValue || sum < options.minValue {
                    guard options.cycle else {
                        let limit = options.increment > 0 ? options.maxValue : options.minValue
                        throw DatabaseError(SQLState("2200H"), "nextval: reached \(options.increment > 0 ? "maximum" : "minimum") value of sequence \"\(name)\" (\(limit))")
                    }
                    value = options.increment > 0 ? options.minValue : options.maxValue
                } else {
                    value = sum
                }
            }
            s.last = value
            s.called = true
            var reserve: Int64?
            let ahead = options.increment > 0 ? value > s.reserved : value < s.reserved
            if ahead || (options.cycle && value == (options.increment > 0 ? options.minValue : options.maxValue)) {
                let (far, overflow) = value.addingReportingOverflow(options.increment * (SQLSequence.reserveAhead - 1))
                let bounded = overflow ? (options.increment > 0 ? options.maxValue : options.minValue)
                    : options.increment > 0 ? min(far, options.maxValue) : max(far, options.minValue)
                s.reserved = bounded
                reserve = bounded
            }
            return (value, reserve)
        }
    }

    /// setval: the next `nextval` returns `value + increment` (`called`) or `value`.
    public func set(_ value: Int64, called: Bool) throws(DatabaseError) {
        guard value >= options.minValue, value <= options.maxValue else {
            throw DatabaseError(.numericValueOutOfRange, "setval: value \(value) is out of bounds for sequence \"\(name)\" (\(options.minValue)..\(options.maxValue))")
        }
        restore(last: value, called: called)
    }

    /// Restores the state a checkpoint or WAL record kept.
    public func restore(last: Int64, called: Bool) {
        state.withLock { s in
            s.last = last
            s.called = called
            s.reserved = called ? last : last - options.increment
        }
    }
}

/// The catalog's sequences.
extension Catalog {
    public func sequence(_ name: String) -> SQLSequence? { sequences.withLock { $0[name] } }

    public var allSequences: [SQLSequence] { sequences.withLock { $0.values.sorted { $0.oid < $1.oid } } }

    /// Adds a sequence; its name must not be a table's, a view's or another sequence's.
    public func create(_ sequence: SQLSequence, position: Int?) throws(DatabaseError) {
        if table(sequence.name) != nil || view(sequence.name) != nil || self.sequence(sequence.name) != nil {
            throw DatabaseError(.duplicateTable, "relation \"\(sequence.name)\" already exists", position: position)
        }
        sequence.oid = nextOID()
        sequences.withLock { $0[sequence.name] = sequence }
    }

    /// Removes a sequence (DROP SEQUENCE, or the undo of its CREATE).
    public func remove(sequence: SQLSequence) {
        sequences.withLock { map in if map[sequence.name] === sequence { map[sequence.name] = nil } }
    }

    /// Puts a sequence back (the undo of its DROP, or opening a database).
    public func restore(_ sequence: SQLSequence) {
        sequences.withLock { $0[sequence.name] = sequence }
    }
}

extension CatalogCoding {
    static func encode(sequence: SQLSequence, last: Int64, called: Bool, into writer: inout BinaryWriter) {
        writer.i32(sequence.oid)
        writer.string(sequence.name)
        writer.type(sequence.options.type)
        for value in [sequence.options.increment, sequence.options.minValue, sequence.options.maxValue, sequence.options.start] { writer.u64(UInt64(bitPattern: value)) }
        writer.bool(sequence.options.cycle)
        writer.optionalString(sequence.ownedBy?.table)
        writer.optionalString(sequence.ownedBy?.column)
        writer.u64(UInt64(bitPattern: last))
        writer.bool(called)
    }

    static func decodeSequence(_ reader: inout BinaryReader) throws(DatabaseError) -> SQLSequence {
        let oid = try reader.i32()
        let name = try reader.string()
        var options = SequenceOptions()
        options.type = try reader.type()
        options.increment = Int64(bitPattern: try reader.u64())
        options.minValue = Int64(bitPattern: try reader.u64())
        options.maxValue = Int64(bitPattern: try reader.u64())
        options.start = Int64(bitPattern: try reader.u64())
        options.cycle = try reader.bool()
        let table = try reader.optionalString(), column = try reader.optionalString()
        let last = Int64(bitPattern: try reader.u64())
        let sequence = SQLSequence(name: name, options: options, ownedBy: table.flatMap { t in column.map { (t, $0) } }, last: last, called: try reader.bool())
        sequence.oid = oid
        return sequence
    }
}
