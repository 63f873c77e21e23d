import KilnCore
import KilnStorage

/// Point lookups: a table scan filtered by `column = value` on every column of one of the
/// table's indexes (values without columns: constants and parameters) reads the rows the
/// index lists for that key, instead of the whole table. The filter stays above the scan
/// (the index lists every version of a key, and the filter re-checks the match).
public enum IndexSelection {
    static func apply(_ plan: PlanNode) -> PlanNode {
        guard case .filter(.tableScan(let table, let columns, .full), let predicate) = plan, !table.indexes.isEmpty else {
            return plan.mapInputs(apply)
        }
        // Column of the table -> the value it must equal.
        var equal: [Int: BoundExpression] = [:]
        for conjunct in JoinPlanning.split(predicate) {
            guard case .call("eq", let operands) = conjunct.kind, operands.count == 2 else { continue }
            for (side, other) in [(operands[0], operands[1]), (operands[1], operands[0])] {
                guard case .column(let index) = side.kind, index < columns.count, columns[index] != Table.rowIDColumn, isKey(other) else { continue }
                let column = table.columns[columns[index]]
                guard compatible(other.type, column.type) else { continue }
                equal[columns[index]] = equal[columns[index]] ?? other
            }
        }
        let usable = table.indexes.filter { $0.key.columns.allSatisfy { equal[$0] != nil } }
        // A unique key finds at most one live row; otherwise the index with the most columns.
        guard let index = usable.max(by: { ($0.key.isUnique ? 1 : 0, $0.key.columns.count) < ($1.key.isUnique ? 1 : 0, $1.key.columns.count) }) else {
            return plan
        }
        let keys = index.key.columns.map { equal[$0]! }
        return .filter(.tableScan(table: table, columns: columns, access: .lookup(index, keys: keys)), predicate: predicate)
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
        if [SQLType.text, .unknown].contains(type) || type.physical == .string { return column.physical == .string }
        return false
    }
}
