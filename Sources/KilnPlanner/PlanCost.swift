import Foundation
import KilnCore

/// EXPLAIN's `(cost=S..T rows=R width=W)`, in PostgreSQL's units: what postgres_fdw's
/// `use_remote_estimate` reads from the first line of a remote plan to plan around it.
///
/// Rows come from `Estimate`; the cost charges PostgreSQL's constants per row each operator
/// handles (a sequential page read 1.0, a tuple 0.01, an operator evaluation 0.0025), so a
/// coordinator can weigh Kiln's plans against its own. Startup is the cost before the first
/// row: the inputs of a sort, an aggregation or a window, and every hash table's build side.
public struct PlanCost: Sendable {
    public var startup: Double
    public var total: Double
    public var rows: Double
    public var width: Int

    static let page = 1.0, tuple = 0.01, operation = 0.0025

    public static func of(_ plan: PlanNode) -> PlanCost {
        let (startup, total) = costs(plan)
        let width = plan.outputTypes.reduce(0) { $0 + typeWidth($1.0) }
        return PlanCost(startup: startup, total: total, rows: Swift.max(1, Estimate.of(plan).rows.rounded()), width: width)
    }

    /// `(cost=0.00..35.50 rows=2550 width=4)`.
    public var text: String {
        "(cost=\(PlanCost.fixed(startup))..\(PlanCost.fixed(total)) rows=\(Int(rows)) width=\(width))"
    }

    static func fixed(_ value: Double) -> String {
        let hundredths = Int((Swift.max(0, value) * 100).rounded())
        let cents = hundredths % 100
        return "\(hundredths / 100)." + (cents < 10 ? "0" : "") + "\(cents)"
    }

    /// PostgreSQL's average widths: fixed-width types by size (`pg_type.typlen`), numeric 8,
    /// other variable-width types 32 bytes.
    static func typeWidth(_ type: SQLType) -> Int {
        let length = Int(PostgresType.length(of: type))
        if length > 0 { return length }
        if type.isNumericDecimal { return 8 }
        return 32
    }

    /// (startup, total) of `plan`.
    static func costs(_ plan: PlanNode) -> (Double, Double) {
        func rows(_ node: PlanNode) -> Double { Estimate.of(node).rows }
        switch plan {
        case .tableScan(_, _, let access):
            let scanned = rows(plan)
            if case .lookup = access { return (0, 0.29 + scanned * (tuple + operation)) }
            if case .tids = access { return (0, scanned * (tuple + operation)) }
            let width = Double(plan.outputTypes.reduce(0) { $0 + typeWidth($1.0) })
            return (0, (scanned * Swift.max(width, 8) / 8192).rounded(.up) * page + scanned * tuple)
        case .seriesScan, .singleRow:
            return (0, rows(plan) * tuple)
        case .shared:
            // Reading the buffer (its plan runs once, whoever reads it).
            return (0, rows(plan) * tuple)
        case .filter(let input, _), .project(let input, _, _):
            let (s, t) = costs(input)
            return (s, t + rows(input) * operation)
        case .limit(let input, _, _):
            let (s, t) = costs(input)
            let fraction = Swift.min(1, rows(plan) / Swift.max(1, rows(input)))
            return (s, s + (t - s) * fraction)
        case .sort(let input, _):
            let (_, t) = costs(input)
            let n = Swift.max(2, rows(input))
            let sorting: Double = 2 * operation * n * log2(n)
            let sorted = t + sorting
            return (sorted, sorted + n * tuple)
        case .aggregate(let input, let keys, let aggregates):
            let (_, t) = costs(input)
            let built = t + rows(input) * operation * Double(keys.count + aggregates.count + 1)
            return (built, built + rows(plan) * tuple)
        case .window(let input, let calls):
            let (_, t) = costs(input)
            let n = Swift.max(2, rows(input))
            let sorting: Double = 2 * operation * n * log2(n)
            let evaluating: Double = n * operation * Double(calls.count)
            let done = t + sorting + evaluating
            return (done, done + n * tuple)
        case .seriesExpand(let input, _):
            let (s, t) = costs(input)
            return (s, t + rows(input) * operation + rows(plan) * (tuple + operation))
        case .unionAll(let inputs):
            let parts = inputs.map(costs)
            return (parts.first?.0 ?? 0, parts.reduce(0) { $0 + $1.1 })
        case .semiJoin(let probe, let build, _, _, _, _), .hashJoin(let probe, let build, _, _, _, _):
            let (ps, pt) = costs(probe)
            let (_, bt) = costs(build)
            let startup = bt + rows(build) * (tuple + operation)
            return (startup + ps, startup + pt + rows(probe) * operation + rows(plan) * tuple)
        }
    }
}
