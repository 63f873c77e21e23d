import KilnCore
import KilnPlanner
import KilnSQL
import KilnStorage

/// Brief statements: those a server may run on the connection's event loop, where the message
/// arrived, instead of handing them to a statement thread and back (two thread wake-ups per
/// statement, which dominate a point lookup's or a single-row write's cost). A brief statement
/// touches a bounded number of rows by a plan its last execution left: a lookup by a unique
/// key, a single-row INSERT, BEGIN, COMMIT. It runs with `mustNotWait`, so that it never
/// blocks the event loop on a lock or on another transaction: it runs again on a statement
/// thread instead.
extension Database {
    /// Rows a brief statement's scans may read in all (and rows and changes a COMMIT may apply).
    static let briefRows = 1_000

    /// Longest statement text the server looks at on its event loop.
    static let briefTextBytes = 8_192

    /// Whether `prepared` runs briefly: its cached plan is current and reads at most
    /// `briefRows` rows through unique keys, row identities or small tables; or it is BEGIN,
    /// COMMIT or ROLLBACK of a small transaction. A statement not run before is never brief.
    public func runsBriefly(_ prepared: PreparedStatement) -> Bool {
        let prepared = prepared.shape?.prepared ?? prepared
        switch prepared.statement {
        case .begin, .commit, .rollback:
            return transactionIsSmall
        case .select(let select):
            guard select.locking.isEmpty, let cached = prepared.cachedPlan, isCurrent(cached.key) else { return false }
            return cached.plan.readsFewRows(Database.briefRows)
        case .update, .delete:
            guard let cached = prepared.cachedModify, isCurrent(cached.key), let table = cached.table as? Table,
                  table.indexes.allSatisfy(\.isBuilt) else { return false }
            return cached.plan.readsFewRows(Database.briefRows) && transactionIsSmall
        case .insertValues(_, _, let rows, _, _):
            guard rows.count <= 16, let cached = prepared.cachedInsert, isCurrent(cached.key),
                  cached.plan.target.indexes.allSatisfy(\.isBuilt) else { return false }
            return transactionIsSmall
        default:
            return false
        }
    }

    /// A simple query's one statement when it runs briefly (`runsBriefly`); nil when the text
    /// is long, holds several statements, is new, or is not brief.
    public func briefStatement(_ sql: String) -> PreparedStatement? {
        guard sql.utf8.count <= Database.briefTextBytes else { return nil }
        if let shaped = shapedStatement(sql) { return runsBriefly(shaped) ? shaped : nil }
        // BEGIN, COMMIT, END, ROLLBACK: short texts the statement cache does not keep.
        guard sql.utf8.count <= 64, let statements = try? parseUnshaped(sql), statements.count == 1,
              statements[0].transactionControl != nil, runsBriefly(statements[0]) else { return nil }
        return statements[0]
    }

    private func isCurrent(_ key: PreparedStatement.PlanKey) -> Bool {
        key.catalogVersion == catalog.version && key.settings == settingsVersion
    }

    /// Whether the running transaction, if any, is small enough to commit or roll back briefly.
    private var transactionIsSmall: Bool {
        guard let transaction else { return true }
        return transaction.changes.isEmpty && transaction.undo.count <= Database.briefRows
            && transaction.local.allSatisfy { $0.rows.rowCount <= Database.briefRows }
    }
}

extension QueryExecutor.ExecutablePlan {
    /// Whether the plan's scans read at most `limit` rows in all: lookups through unique keys
    /// (built indexes), row identities, and whole tables that small. generate_series and
    /// applied subqueries count as unbounded.
    func readsFewRows(_ limit: Int) -> Bool {
        if let applies, !applies.plans.isEmpty { return false }
        var rows = 0
        for state in plan.states {
            switch state {
            case .tableScan(let table, _, let access):
                switch access {
                case .full: rows += table.rowCount
                case .rows(let range): rows += range.count
                case .lookup(let index, let slots):
                    guard index.key.isUnique, index.isBuilt else { return false }
                    rows += slots.count
                case .tids(let slots): rows += slots.count
                }
            case .series:
                return false
            default:
                continue
            }
            if rows > limit { return false }
        }
        return true
    }
}
