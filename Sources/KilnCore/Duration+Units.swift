extension Duration {
    /// The duration in milliseconds (timings, EXPLAIN ANALYZE, `\timing`).
    public var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }

    /// The duration in whole nanoseconds (counters such as `pg_stat_wal`'s).
    public var nanoseconds: Int { Int(components.seconds) * 1_000_000_000 + Int(components.attoseconds / 1_000_000_000) }
}
