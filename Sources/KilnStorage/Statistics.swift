import KilnCore
import Synchronization

/// What the optimizer knows about one column: from a sample of the table.
public struct ColumnStatistics: Sendable {
    /// Estimated number of distinct non-NULL values in the whole table.
    public var distinct: Double
    public var nullFraction: Double
    /// Smallest and largest sampled values (nil when all sampled values were NULL).
    public var min: Value?
    public var max: Value?
}

/// Statistics of a table, gathered by ANALYZE and after COPY.
public struct TableStatistics: Sendable {
    public var rows: Int
    public var columns: [ColumnStatistics]
}

extension Table {
    /// Rows read per ANALYZE (evenly spaced); every row when the table is smaller.
    public static let sampleSize = 30_000

    /// Samples the table and stores its statistics (row count exact, distinct counts estimated
    /// with Haas and Stokes' Duj1 estimator from the sample).
    @discardableResult
    public func analyze() throws(DatabaseError) -> TableStatistics {
        try load(columns: Array(columns.indices))
        let total = rowCount
        let step = max(1, total / Table.sampleSize)
        var rows: [(Segment, Int)] = []
        var index = 0
        for segment in segments {
            var row = (index + step - 1) / step * step - index
            while row < segment.count {
                rows.append((segment, row))
                row += step
            }
            index += segment.count
        }
        let n = Double(rows.count)
        var columnStatistics: [ColumnStatistics] = []
        for column in columns.indices {
            var counts: [Value: Int] = [:]
            var nulls = 0
            var low: Value?, high: Value?
            for (segment, row) in rows {
                let value = segment.columns[column].value(at: row)
                if value.isNull { nulls += 1; continue }
                counts[value, default: 0] += 1
                if let l = low, (try? ScalarFunctions.compare(value, l)) ?? 0 >= 0 {} else { low = value }
                if let h = high, (try? ScalarFunctions.compare(value, h)) ?? 0 <= 0 {} else { high = value }
            }
            let d = Double(counts.count)
            let nonNull = n - Double(nulls)
            var distinct = d
            if rows.count < total, nonNull > 0 {
                let f1 = Double(counts.values.filter { $0 == 1 }.count)
                let population = Double(total) * nonNull / n
                distinct = nonNull * d / (nonNull - f1 + f1 * nonNull / population)
                distinct = Swift.min(Swift.max(distinct, d), population)
            }
            columnStatistics.append(ColumnStatistics(distinct: Swift.max(distinct, 1), nullFraction: n > 0 ? Double(nulls) / n : 0, min: low, max: high))
        }
        let result = TableStatistics(rows: total, columns: columnStatistics)
        statisticsStore.withLock { $0 = result }
        return result
    }

    /// Sets statistics kept by a checkpoint (opening a database).
    func setStatistics(_ statistics: TableStatistics) { statisticsStore.withLock { $0 = statistics } }

    /// The last ANALYZE's statistics (nil before the first).
    public var statistics: TableStatistics? { statisticsStore.withLock { $0 } }
}
