import KilnCore

/// A table scan that skips morsels no join in its pipeline can match: each inner or semi join
/// probe whose first key is one of the scan's integer columns gives a range, the least and
/// greatest key its finished build holds (`HashJoinState.keyRange`), and a morsel whose values
/// of that column all lie outside it is not handed out at all.
///
/// TPC-DS's inventory queries (q21, q22, q39) join 11.7M inventory rows with a few weeks of
/// `date_dim`; the rows are laid out by date, so all but the morsels of those weeks are skipped
/// before a hash is computed. Each morsel's range is computed as the scan hands it out (one
/// pass over the column, which the probe would read anyway), so nothing is stored or kept
/// up to date.
public struct KeyRangeFilter: Sendable, Equatable {
    /// The table scan's state, and the position of the column among those it reads.
    public var scanState: Int
    public var column: Int
    /// The hash join whose build's first key bounds the column.
    public var joinState: Int
}

extension KeyRangeFilter {
    /// The filters `pipelines` allow. A row a probe drops never reaches what follows it, so a
    /// scan may skip it whatever stands between: filters, projections (through which the column
    /// is followed), other probes. Not past a LIMIT (which counts the rows it sees) or a mark
    /// probe (which ends the stream), and not for LEFT or anti probes (which keep unmatched rows).
    static func find(pipelines: [Pipeline], states: [PipelineState]) -> [KeyRangeFilter] {
        var filters: [KeyRangeFilter] = []
        for pipeline in pipelines {
            guard case .scan(let scan) = pipeline.source, case .tableScan(_, let scanned, _) = states[scan] else { continue }
            // Stream column -> the scan column it is (nil: computed or appended).
            var origin: [Int?] = pipeline.sourceTypes.indices.map { $0 }
            operators: for op in pipeline.operators {
                switch op {
                case .filter:
                    continue
                case .project(let expressions):
                    origin = expressions.map { e in
                        if case .column(let i) = e.kind, i < origin.count { return origin[i] }
                        return nil
                    }
                case .limit:
                    break operators
                case .seriesExpand:
                    origin.append(nil)
                case .hashJoinProbe(let join, let keys, let buildTypes, let mode, _):
                    if mode == .mark { break operators }
                    if mode == .inner || mode == .semi, let key = keys.first, case .column(let i) = key.kind, i < origin.count,
                       let column = origin[i], scanned[column] >= 0, case .hashJoin(_, let layout) = states[join], layout.types.first == key.type,
                       [.int16, .int32, .int64].contains(key.type.physical),
                       !filters.contains(where: { $0.scanState == scan && $0.joinState == join }) {
                        filters.append(KeyRangeFilter(scanState: scan, column: column, joinState: join))
                    }
                    if mode == .inner || mode == .left { origin += buildTypes.map { _ in nil } }
                }
            }
        }
        return filters
    }
}
