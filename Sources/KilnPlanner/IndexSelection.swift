import KilnCore
import KilnStorage

/// Point lookups: a table scan filtered by `column = value` on every column of one of the
/// table's indexes (values without columns: constants and parameters) reads the rows the
/// index lists for that key, instead of the whole table. The filter stays above the scan
/// (the index lists every version of a key, and the filter re-checks the match). A filter
/// `ctid = value` reads the rows it names by their identity (`.tids`), with or without indexes.
public enum IndexSelection {
    static func apply(_ plan: PlanNode) -> PlanNode {
        if case .filter(.tableScan(let table, let columns, .full), let predicate) = plan, let keys = tids(predicate, columns: columns) {
            return .filter(.tableScan(table: table, columns: columns, access: .tids(keys)), predicate: predicate)
        }
        guard case .filter(.tableScan(let table, let columns, .full), let predicate) = plan, !table.indexes.isEmpty else {
            return plan.mapInputs(apply)
        }
        // Column of the table -> the values it must equal one of (`k = v`, or `k IN (...)`, an
        // OR of equalities on one column).
        var equal: [Int: [BoundExpression]] = [:]
        for conjunct in JoinPlanning.split(predicate) {
            guard let (column, values) = equalities(conjunct, table: table, columns: columns), equal[column] == nil else { continue }
            equal[column] = values
        }
        let usable = table.indexes.filter { $0.key.columns.allSatisfy { equal[$0] != nil } }
        // A unique key finds at most one live row per key; otherwise the index with the most columns.
        guard let index = usable.max(by: { ($0.key.isUnique ? 1 : 0, $0.key.columns.count) < ($1.key.isUnique ? 1 : 0, $1.key.columns.count) }) else {
            return plan
        }
        // Every combination of the columns' values (one key per IN value for one column).
        var keys: [[BoundExpression]] = [[]]
        for column in index.key.columns {
            keys = keys.flatMap { prefix in equal[column]!.map { prefix + [$0] } }
            if keys.count > maximumKeys { return plan }
        }
        return .filter(.tableScan(table: table, columns: columns, access: .lookup(index, keys: keys)), predicate: predicate)
    }

    /// `ctid = v` (or an OR of such) in a conjunct: the row identities it names.
    static func tids(_ predicate: BoundExpression, columns: [Int]) -> [BoundExpression]? {
        for conjunct in JoinPlanning.split(predicate) {
            if let (_, keys) = equalities(conjunct, columns: columns, accept: { column, value in column == Table.tidColumn && value.type == .tid }),
               keys.count <= maximumKeys {
                return keys
            }
        }
        return nil
    }

    /// Keys looked up at most (beyond, a scan is as good).
    static let maximumKeys = 1_000

    /// `column = value`, or an OR of such on one column: the table column and its values.
    static func equalities(_ e: BoundExpression, table: Table, columns: [Int]) -> (Int, [BoundExpression])? {
        equalities(e, columns: columns) { column, value in column >= 0 && compatible(value.type, table.columns[column].type) }
    }

    /// `column = value` (a scan column `accept` takes with that value), or an OR of such on one
    /// column: the scan's column index (`Table.tidColumn` for ctid) and its values.
    static func equalities(_ e: BoundExpression, columns: [Int], accept: (Int, BoundExpression) -> Bool) -> (Int, [BoundExpression])? {
        switch e.kind {
        case .call("eq", let operands) where operands.count == 2:
            for (side, other) in [(operands[0], operands[1]), (operands[1], operands[0])] {
                guard case .column(let index) = side.kind, index < columns.count, isKey(other), accept(columns[index], other) else { continue }
                return (columns[index], [other])
            }
            return nil
        case .call("or", let operands) where operands.count == 2:
            guard let (left, a) = equalities(operands[0], columns: columns, accept: accept),
                  let (right, b) = equalities(operands[1], columns: columns, accept: accept), left == right else { return nil }
            return (left, a + b)
        default:
            return nil
        }
    }

    /// A value the scan can read when it opens: a constant or a statement parameter.
    static func isKey(_ e: BoundExpression) -> Bool {
        switch e.kind {
        case .constant(let value): return !value.isNull
        case .parameter: return true
        default: return false
        }
    }

    /// Whether a value of `type` can be converted exactly to the key column's type at run
    /// time (else the lookup could miss rows the filter accepts).
    public static func compatible(_ type: SQLType, _ column: SQLType) -> Bool {
        if type == column { return true }
        let integers: [SQLType] = [.smallint, .integer, .bigint]
        if integers.contains(type) && integers.contains(column) { return true }
        if case .numeric = type, case .numeric = column { return true }
        // Any decimal keeps its value in an unconstrained column (not the other way: a
        // static column would round it).
        if type.isNumericDecimal, column == .dynamicNumeric { return true }
        if [SQLType.text, .unknown].contains(type) || type.physical == .string { return column.physical == .string }
        return false
    }
}
