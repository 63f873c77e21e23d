import Foundation
import KilnCore
import KilnStorage

/// Estimated size of a plan's output and what is known of its columns.
struct Estimate {
    struct Column {
        var distinct: Double
        var nullFraction: Double = 0
        var min: Double?
        var max: Double?
    }

    var rows: Double
    var columns: [Column]

    /// Distinct counts cannot exceed the row count.
    mutating func capColumns() {
        for index in columns.indices { columns[index].distinct = Swift.max(1, Swift.min(columns[index].distinct, rows)) }
    }

    /// The estimate of global column `column` of a joined plan whose columns are `order`.
    func column(_ column: Int, _ order: [Int]) -> Column {
        guard let index = order.firstIndex(of: column), index < columns.count else { return Column(distinct: rows) }
        return columns[index]
    }

    /// An equi-join's size: |P| * |B| / d, where each key column pair contributes the larger
    /// of its two distinct counts; the most selective pair counts fully, the next with its
    /// square root, the next with its fourth root (keys of one join are rarely independent:
    /// TPC-H's (partkey, suppkey) pairs).
    /// `oneRelationEach`: every key pair joins the same two base relations (a multi-column key
    /// such as lineitem's (partkey, suppkey) into partsupp).
    static func join(_ probe: Estimate, _ build: Estimate, keys: [(Column, Column)], oneRelationEach: Bool = false) -> Estimate {
        var result = Estimate(rows: probe.rows * build.rows, columns: probe.columns + build.columns)
        if !keys.isEmpty {
            let distinct = keys.map { Swift.max(1, $0.0.distinct, $0.1.distinct) }.sorted(by: >)
            var denominator = 1.0, exponent = 1.0
            for d in distinct {
                denominator *= Foundation.pow(d, exponent)
                exponent /= 2
            }
            // A multi-column key between two relations whose every column has no more distinct
            // values on one side than on the other is taken as contained in the other side
            // (a foreign key): its value pairs are at most the other side's rows (the smaller
            // side's, when the counts agree both ways).
            var pairs = Swift.max(probe.rows, build.rows)
            if keys.count > 1, oneRelationEach {
                if keys.allSatisfy({ $0.0.distinct <= $0.1.distinct * 1.1 }) { pairs = Swift.min(pairs, build.rows) }
                if keys.allSatisfy({ $0.1.distinct <= $0.0.distinct * 1.1 }) { pairs = Swift.min(pairs, probe.rows) }
            }
            result.rows /= Swift.min(denominator, pairs)
        }
        result.rows = Swift.max(result.rows, 1)
        result.capColumns()
        return result
    }

    /// The values of generate_series(start, stop, step) when its arguments are constants.
    static func seriesLength(_ start: BoundExpression, _ stop: BoundExpression, _ step: BoundExpression) -> Double? {
        guard let a = constant(start), let b = constant(stop), let c = constant(step), c != 0 else { return nil }
        return Swift.max(0, (b - a) / c + 1)
    }

    static func of(_ plan: PlanNode) -> Estimate {
        switch plan {
        case .tableScan(let table, let columns, let access):
            var rows = Double(Swift.max(table.rowCount, 1))
            if case .lookup(let index, let keys) = access, index.key.isUnique { rows = Double(keys.count) }
            if case .rows(let range) = access { rows = Double(Swift.max(range.count, 1)) }
            if case .tids(let keys) = access { rows = Double(keys.count) }
            let statistics = table.statistics
            // Statistics from an older row count are scaled to the current one.
            let scale = statistics.map { rows / Double(Swift.max($0.rows, 1)) } ?? 1
            return Estimate(rows: rows, columns: columns.map { column in
                guard column >= 0, let s = statistics?.columns[column] else { return Column(distinct: rows) }
                return Column(distinct: Swift.min(rows, s.distinct * Swift.max(1, scale)), nullFraction: s.nullFraction,
                              min: s.min.flatMap(numeric), max: s.max.flatMap(numeric))
            })
        case .seriesScan(let start, let stop, let step, _):
            let rows = seriesLength(start, stop, step) ?? 1000
            return Estimate(rows: Swift.max(rows, 1), columns: [Column(distinct: Swift.max(rows, 1))])
        case .singleRow:
            return Estimate(rows: 1, columns: [])
        case .filter(let input, let predicate):
            var e = of(input)
            e.rows = Swift.max(1, e.rows * Selectivity.of(predicate, estimate: e))
            for (column, values) in Selectivity.pinned(predicate) where column < e.columns.count {
                e.columns[column].distinct = Swift.min(e.columns[column].distinct, Double(Swift.max(1, values.count)))
            }
            e.capColumns()
            return e
        case .project(let input, let expressions, _):
            let e = of(input)
            return Estimate(rows: e.rows, columns: expressions.map { expression in
                if case .column(let i) = expression.kind, i < e.columns.count { return e.columns[i] }
                return Column(distinct: e.rows)
            })
        case .aggregate(let input, let keys, let aggregates):
            let e = of(input)
            let keyColumns = keys.map { key -> Column in
                if case .column(let i) = key.kind, i < e.columns.count { return e.columns[i] }
                return Column(distinct: e.rows)
            }
            let rows = keys.isEmpty ? 1 : Swift.min(e.rows, keyColumns.reduce(1.0) { $0 * $1.distinct })
            var result = Estimate(rows: Swift.max(rows, 1), columns: keyColumns + aggregates.map { _ in Column(distinct: rows) })
            result.capColumns()
            return result
        case .sort(let input, _):
            return of(input)
        case .limit(let input, let limit, _):
            var e = of(input)
            if let limit, let n = constant(limit) { e.rows = Swift.max(1, Swift.min(e.rows, n)) }
            e.capColumns()
            return e
        case .window(let input, let calls):
            let e = of(input)
            return Estimate(rows: e.rows, columns: e.columns + calls.map { _ in Column(distinct: e.rows) })
        case .seriesExpand(let input, let series):
            // Each row's series: its length when the bounds are constants, else 10 values.
            let e = of(input)
            let length = seriesLength(series.start, series.stop, series.step) ?? 10
            var rows = e.rows * Swift.max(length, 1)
            if series.residual != nil { rows = Swift.max(e.rows, rows * 0.3) }
            var result = Estimate(rows: Swift.max(rows, 1), columns: e.columns + [Column(distinct: Swift.max(length, 1))])
            result.capColumns()
            return result
        case .unionAll(let inputs):
            let parts = inputs.map(of)
            let rows = parts.reduce(0) { $0 + $1.rows }
            return Estimate(rows: rows, columns: parts[0].columns.map { Column(distinct: Swift.min(rows, $0.distinct * Double(parts.count))) })
        case .semiJoin(let probe, _, _, _, _, let anti):
            var e = of(probe)
            e.rows = Swift.max(1, e.rows * (anti ? 0.3 : 0.5))
            e.capColumns()
            return e
        case .hashJoin(let probe, let build, let probeKeys, let buildKeys, let preserveProbe, _):
            let p = of(probe), b = of(build)
            let keys = zip(probeKeys, buildKeys).map { (pk, bk) -> (Column, Column) in
                let left = pk.columnsUsed.count == 1 ? p.columns[pk.columnsUsed.first!] : Column(distinct: p.rows)
                let right = bk.columnsUsed.count == 1 ? b.columns[bk.columnsUsed.first!] : Column(distinct: b.rows)
                return (left, right)
            }
            var e = join(p, b, keys: keys)
            if preserveProbe {
                // The probe rows without a match get NULL build columns: `LEFT JOIN ... WHERE
                // right.key IS NULL` keeps about those (not the build table's own NULLs).
                let unmatched = Swift.max(0, 1 - e.rows / Swift.max(p.rows, 1))
                for index in p.columns.count..<e.columns.count {
                    e.columns[index].nullFraction = Swift.max(e.columns[index].nullFraction, unmatched)
                }
                e.rows = Swift.max(e.rows, p.rows)
            }
            return e
        case .shared(_, let plan, _):
            return of(plan)
        }
    }

    static func constant(_ e: BoundExpression) -> Double? {
        if case .constant(let v) = ConstantFolding.fold(e).kind { return numeric(v) }
        return nil
    }

    /// A value on a number line (for range selectivity): numbers, dates, timestamps.
    static func numeric(_ v: Value) -> Double? {
        switch v {
        case .int16(let x): return Double(x)
        case .int32(let x): return Double(x)
        case .int64(let x): return Double(x)
        case .float32(let x): return Double(x)
        case .float64(let x): return x
        case .numeric(let m, let s): return Double(m) / pow10(s)
        case .date(let d): return Double(d)
        case .timestamp(let t): return Double(t)
        default: return nil
        }
    }

    static func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= 10 }
        return r
    }
}

/// Textbook selectivities of conditions: equality 1/distinct, ranges from min/max (else
/// 1/3), LIKE 1/10, NULL tests from the NULL fraction; AND multiplies, OR adds.
enum Selectivity {
    static func of(_ e: BoundExpression, estimate: Estimate?) -> Double {
        Swift.min(1, Swift.max(1e-7, raw(e, estimate)))
    }

    static func column(_ e: BoundExpression, _ estimate: Estimate?) -> Estimate.Column? {
        guard let estimate, case .column(let i) = e.kind, i < estimate.columns.count else { return nil }
        return estimate.columns[i]
    }

    /// The columns a condition pins to a few constants, with those constants (as text):
    /// `d_year = 2001`, `d_moy IN (1, 2)`, an OR of such tests of one column, an AND of them
    /// (each column keeping the fewest). A filter's output has no more distinct values there.
    static func pinned(_ e: BoundExpression) -> [Int: Set<String>] {
        guard case .call(let name, let args) = e.kind else { return [:] }
        switch name {
        case "and":
            var result: [Int: Set<String>] = [:]
            for arg in args {
                for (column, values) in pinned(arg) where values.count < result[column]?.count ?? Int.max { result[column] = values }
            }
            return result
        case "or":
            var column: Int?
            var values: Set<String> = []
            for arg in args {
                let part = pinned(arg)
                guard part.count == 1, let (c, v) = part.first, column == nil || column == c else { return [:] }
                column = c
                values.formUnion(v)
            }
            return column.map { [$0: values] } ?? [:]
        case "eq":
            for (a, b) in [(args[0], args[1]), (args[1], args[0])] {
                if case .column(let c) = a.kind, case .constant(let value) = ConstantFolding.fold(b).kind { return [c: ["\(value)"]] }
            }
            return [:]
        case "in_list":
            guard case .column(let c) = args[0].kind, case .constant(.text(let list)) = args[1].kind,
                  let keys = ArrayText.parse(list) else { return [:] }
            return [c: Set(keys.compactMap { $0 })]
        default:
            return [:]
        }
    }

    /// An AND: the product of its conditions' selectivities, except that a column's lower and
    /// upper bounds (`d_month_seq BETWEEN 1200 AND 1211`) count as one range, the fraction of
    /// the column's [min, max] between them, not as two independent halves.
    static func conjunction(_ args: [BoundExpression], _ estimate: Estimate?) -> Double {
        var product = 1.0
        var bounds: [Int: (low: Double?, high: Double?)] = [:]
        // Conditions that each pin one column to constants (`=`, IN, an OR of them) hold
        // together for the values every one allows: `d_year IN (2001, 2002) AND (d_year = 2001
        // OR d_year = 2002)` is two years, not the product of two such fractions.
        var pins: [Int: Set<String>] = [:]
        // Nested ANDs are one conjunction.
        func flattened(_ e: BoundExpression) -> [BoundExpression] {
            if case .call("and", let inner) = e.kind { return inner.flatMap(flattened) }
            return [e]
        }
        for arg in args.flatMap(flattened) {
            if let (column, value, isLower) = bound(arg, estimate) {
                var pair = bounds[column] ?? (nil, nil)
                if isLower { pair.low = Swift.max(pair.low ?? value, value) } else { pair.high = Swift.min(pair.high ?? value, value) }
                bounds[column] = pair
            } else if let (column, values) = pin(arg, estimate) {
                pins[column] = pins[column].map { $0.intersection(values) } ?? values
            } else {
                product *= of(arg, estimate: estimate)
            }
        }
        for (index, values) in pins {
            // One equality per value left (as an IN list is estimated).
            product *= 1 - pow(1 - 1 / estimate!.columns[index].distinct, Double(values.count))
        }
        for (index, pair) in bounds {
            let c = estimate!.columns[index]
            let low = c.min!, high = c.max!
            let from = Swift.max(low, pair.low ?? low), to = Swift.min(high, pair.high ?? high)
            product *= Swift.max(0, Swift.min(1, (to - from) / (high - low))) * (1 - c.nullFraction)
        }
        return product
    }

    /// A condition that pins one column (of known distinct count) to constants: the column
    /// and the values.
    static func pin(_ e: BoundExpression, _ estimate: Estimate?) -> (column: Int, values: Set<String>)? {
        guard case .call(let name, _) = e.kind, ["eq", "in_list", "or"].contains(name), let estimate else { return nil }
        let pinned = pinned(e)
        guard pinned.count == 1, let (column, values) = pinned.first, column < estimate.columns.count,
              estimate.columns[column].distinct >= 1 else { return nil }
        return (column, values)
    }

    /// `column >= constant` (a lower bound) or `column <= constant` (an upper one), either way
    /// round, of a column whose min and max are known.
    static func bound(_ e: BoundExpression, _ estimate: Estimate?) -> (column: Int, value: Double, isLower: Bool)? {
        guard case .call(let name, let args) = e.kind, ["lt", "le", "gt", "ge"].contains(name), args.count == 2 else { return nil }
        var (c, k, lower) = (args[0], args[1], name == "gt" || name == "ge")
        if case .column = c.kind {} else { (c, k, lower) = (args[1], args[0], !lower) }
        guard case .column(let index) = c.kind, let estimate, index < estimate.columns.count,
              let low = estimate.columns[index].min, let high = estimate.columns[index].max, high > low,
              let value = Estimate.constant(k) else { return nil }
        return (index, value, lower)
    }

    static func raw(_ e: BoundExpression, _ estimate: Estimate?) -> Double {
        guard case .call(let name, let args) = e.kind else {
            if case .constant(.bool(let b)) = e.kind { return b ? 1 : 0 }
            return 0.5
        }
        switch name {
        case "and": return conjunction(args, estimate)
        case "or": return 1 - args.reduce(1.0) { $0 * (1 - of($1, estimate: estimate)) }
        case "not": return 1 - of(args[0], estimate: estimate)
        case "is_null": return column(args[0], estimate)?.nullFraction ?? 0.02
        case "is_not_null": return 1 - (column(args[0], estimate)?.nullFraction ?? 0.02)
        case "like", "ilike": return 0.1
        case "in_list":
            // One equality per distinct constant (the OR of them the list stands for).
            guard case .constant(.text(let list)) = args[1].kind, let keys = ArrayText.parse(list) else { return 0.3 }
            let distinct = column(args[0], estimate)?.distinct ?? 0
            let equal = distinct > 0 ? 1 / distinct : 0.1
            return 1 - pow(1 - equal, Double(Set(keys.compactMap { $0 }).count))
        case "eq", "ne", "not_distinct":
            let a = column(args[0], estimate), b = column(args[1], estimate)
            let distinct = Swift.max(a?.distinct ?? 0, b?.distinct ?? 0)
            let equal = distinct > 0 ? 1 / distinct : 0.1
            return name == "ne" ? 1 - equal : equal
        case "lt", "le", "gt", "ge":
            // column op constant (or constant op column, mirrored).
            var (c, k, op) = (column(args[0], estimate), Estimate.constant(args[1]), name)
            if c == nil || k == nil {
                (c, k) = (column(args[1], estimate), Estimate.constant(args[0]))
                op = ["lt": "gt", "le": "ge", "gt": "lt", "ge": "le"][name]!
            }
            guard let c, let k, let low = c.min, let high = c.max, high > low else { return 1.0 / 3 }
            let below = Swift.min(1, Swift.max(0, (k - low) / (high - low)))
            return (op == "lt" || op == "le" ? below : 1 - below) * (1 - c.nullFraction)
        default:
            return 0.3
        }
    }
}
