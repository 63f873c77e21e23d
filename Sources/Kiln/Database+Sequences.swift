import KilnCore
import KilnSQL
import KilnStorage

/// Sequences: CREATE / DROP SEQUENCE, nextval / currval / setval / lastval, and the sequences
/// of SERIAL and identity columns.
extension Database {
    func runCreateSequence(_ name: String, _ definition: SequenceDefinition, ifNotExists: Bool, position: Int) throws(DatabaseError) -> QueryResult {
        if ifNotExists, relationExists(name) { return .command("CREATE SEQUENCE") }
        var ownedBy: (String, String)?
        if let owner = definition.ownedBy, owner.count == 2 {
            guard let table = catalog.table(owner[0]) else {
                throw DatabaseError(.undefinedTable, "relation \"\(owner[0])\" does not exist", position: position)
            }
            guard table.columnIndex(owner[1]) != nil else {
                throw DatabaseError(.undefinedColumn, "column \"\(owner[1])\" of relation \"\(owner[0])\" does not exist", position: position)
            }
            ownedBy = (owner[0], owner[1])
        }
        try createSequence(name, try Database.resolve(definition, name: name, position: position), ownedBy: ownedBy, position: position)
        return .command("CREATE SEQUENCE")
    }

    @discardableResult
    func createSequence(_ name: String, _ options: SequenceOptions, ownedBy: (table: String, column: String)?, position: Int) throws(DatabaseError) -> SQLSequence {
        let sequence = SQLSequence(name: name, options: options, ownedBy: ownedBy)
        try catalog.create(sequence, position: position)
        pendingChanges.append(.createSequence(sequence))
        transaction?.undo.append(.createSequence(sequence))
        return sequence
    }

    func runDropSequence(_ names: [String], ifExists: Bool, position: Int) throws(DatabaseError) -> QueryResult {
        for name in names {
            guard let sequence = catalog.sequence(name) else {
                if ifExists { continue }
                throw DatabaseError(.undefinedTable, "sequence \"\(name)\" does not exist", position: position)
            }
            if let owner = sequence.ownedBy, let table = catalog.table(owner.table),
               table.constraints.defaults.contains(where: { $0?.contains("'\(name)'") == true }) {
                if let column = table.columnIndex(owner.column), table.constraints.alwaysGenerated.contains(column) || table.columns[column].notNull {
                    throw DatabaseError(.dependentObjectsStillExist, "cannot drop sequence \(name) because column \(owner.column) of table \(owner.table) requires it",
                                        hint: "You can drop column \(owner.column) of table \(owner.table) instead.")
                }
                throw DatabaseError(.dependentObjectsStillExist, "cannot drop sequence \(name) because other objects depend on it",
                                    detail: "default value for column \(owner.column) of table \(owner.table) depends on sequence \(name)",
                                    hint: "Drop the table first (DROP ... CASCADE is not supported yet).")
            }
            dropSequence(sequence)
        }
        return .command("DROP SEQUENCE")
    }

    func dropSequence(_ sequence: SQLSequence) {
        catalog.remove(sequence: sequence)
        pendingChanges.append(.dropSequence(sequence.name))
        transaction?.undo.append(.dropSequence(sequence))
    }

    /// PostgreSQL's defaults for the options not given, and its checks of the ones given.
    static func resolve(_ definition: SequenceDefinition, name: String, position: Int) throws(DatabaseError) -> SequenceOptions {
        var options = SequenceOptions()
        let type = definition.type?.type ?? .bigint
        let range: ClosedRange<Int64>
        switch type {
        case .smallint: range = Int64(Int16.min)...Int64(Int16.max)
        case .integer: range = Int64(Int32.min)...Int64(Int32.max)
        case .bigint: range = Int64.min...Int64.max
        default: throw DatabaseError(.invalidParameterValue, "sequence type must be smallint, integer, or bigint", position: position)
        }
        options.type = type
        options.increment = definition.increment ?? 1
        guard options.increment != 0 else { throw DatabaseError(.invalidParameterValue, "INCREMENT must not be zero", position: position) }
        let ascending = options.increment > 0
        options.minValue = (definition.minValue ?? nil) ?? (ascending ? 1 : range.lowerBound)
        options.maxValue = (definition.maxValue ?? nil) ?? (ascending ? range.upperBound : -1)
        for (label, value) in [("MINVALUE", options.minValue), ("MAXVALUE", options.maxValue)] where !range.contains(value) {
            throw DatabaseError(.invalidParameterValue, "\(label) (\(value)) is out of range for sequence data type \(type)", position: position)
        }
        guard options.minValue < options.maxValue else {
            throw DatabaseError(.invalidParameterValue, "MINVALUE (\(options.minValue)) must be less than MAXVALUE (\(options.maxValue))", position: position)
        }
        options.start = definition.start ?? (ascending ? options.minValue : options.maxValue)
        if options.start < options.minValue {
            throw DatabaseError(.invalidParameterValue, "START value (\(options.start)) cannot be less than MINVALUE (\(options.minValue))", position: position)
        }
        if options.start > options.maxValue {
            throw DatabaseError(.invalidParameterValue, "START value (\(options.start)) cannot be greater than MAXVALUE (\(options.maxValue))", position: position)
        }
        options.cycle = definition.cycle ?? false
        return options
    }

    /// The sequence a SERIAL or identity column gets, and its DEFAULT text.
    func makeColumnSequence(table: String, column: String, type: SQLType, generated: GeneratedColumn, position: Int) throws(DatabaseError) -> String {
        var definition = SequenceDefinition()
        if case .identity(_, let given) = generated { definition = given }
        definition.type = definition.type ?? TypeName(type: type, position: position)
        let name = uniqueSequenceName(String("\(table)_\(column)".prefix(59)) + "_seq")
        try createSequence(name, try Database.resolve(definition, name: name, position: position), ownedBy: (table, column), position: position)
        return "nextval('\(name)')"
    }

    func uniqueSequenceName(_ base: String) -> String {
        Database.firstFree({ base + ($0 == 0 ? "" : String($0)) }) { catalog.sequence($0) != nil || relationNameTaken($0) }
    }

    /// The sequences that columns of `table` own (dropped with it).
    func ownedSequences(of table: String) -> [SQLSequence] {
        catalog.allSequences.filter { $0.ownedBy?.table == table }
    }

    // MARK: - nextval, currval, setval, lastval

    static let sequenceFunctions: Set<String> = ["nextval", "currval", "setval", "lastval"]

    /// A sequence function's call from a running statement (the runtime's session hook).
    func sequenceFunction(_ name: String, _ arguments: [Value]) throws(DatabaseError) -> Value {
        func sequence(_ argument: Value) throws(DatabaseError) -> SQLSequence {
            switch argument {
            case .text(let text):
                let name = text.hasPrefix("public.") ? String(text.dropFirst(7)) : text
                guard let found = catalog.sequence(name) else {
                    throw DatabaseError(.undefinedTable, "relation \"\(text)\" does not exist")
                }
                return found
            case .int32(let oid):
                guard let found = catalog.allSequences.first(where: { $0.oid == oid }) else {
                    throw DatabaseError(.undefinedTable, "could not open relation with OID \(oid)")
                }
                return found
            default:
                throw DatabaseError(.undefinedTable, "relation \"\(argument)\" does not exist")
            }
        }
        if arguments.contains(where: \.isNull) { return .null }
        switch name {
        case "nextval":
            let sequence = try sequence(arguments[0])
            let (value, reserve) = try sequence.next()
            if let reserve, let store, !createdInTransaction(sequence) {
                sequenceLogPosition = max(sequenceLogPosition, try store.logSequence(.sequenceValue(sequence, last: reserve, called: true)))
            }
            sequenceValues[sequence.name] = value
            lastSequenceValue = value
            return .int64(value)
        case "currval":
            let sequence = try sequence(arguments[0])
            guard let value = sequenceValues[sequence.name] else {
                throw DatabaseError(SQLState("55000"), "currval of sequence \"\(sequence.name)\" is not yet defined in this session")
            }
            return .int64(value)
        case "lastval":
            guard let value = lastSequenceValue else { throw DatabaseError(SQLState("55000"), "lastval is not yet defined in this session") }
            return .int64(value)
        case "setval":
            let sequence = try sequence(arguments[0])
            guard case .int64(let value) = arguments[1] else { throw DatabaseError.internalError("setval's value is not a bigint") }
            var called = true
            if arguments.count > 2, case .bool(let flag) = arguments[2] { called = flag }
            try sequence.set(value, called: called)
            if let store, !createdInTransaction(sequence) { sequenceLogPosition = max(sequenceLogPosition, try store.logSequence(.sequenceValue(sequence, last: value, called: called))) }
            if called { sequenceValues[sequence.name] = value }
            return .int64(value)
        default:
            throw DatabaseError.internalError("no sequence function \(name)")
        }
    }

    /// Whether the running transaction created `sequence` (its state is logged with that commit).
    func createdInTransaction(_ sequence: SQLSequence) -> Bool {
        transaction?.undo.contains { if case .createSequence(let created) = $0 { return created === sequence } else { return false } } ?? false
    }
}
