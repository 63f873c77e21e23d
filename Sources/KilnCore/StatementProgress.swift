import Synchronization

/// How far the running statement has got, readable from another thread (the shell's progress
/// bar): rows its pipelines' sources have handed out, against the rows they will hand out.
///
/// The total starts with the rows of the query's table scans (known before it runs) and grows
/// as intermediate sources (aggregates, sorts, join tables) open with their row counts, so the
/// fraction can step back a little when a pipeline breaker's output turns out large; readers
/// keep the largest fraction they have shown.
public final class StatementProgress: Sendable {
    private let done = Atomic<Int>(0)
    private let total = Atomic<Int>(0)

    public init() {}

    /// Starts a statement (its scans will read `rows`).
    public func reset() {
        done.store(0, ordering: .relaxed)
        total.store(0, ordering: .relaxed)
    }

    public func expect(_ rows: Int) {
        if rows > 0 { total.add(rows, ordering: .relaxed) }
    }

    @inline(__always)
    public func advance(_ rows: Int) {
        done.add(rows, ordering: .relaxed)
    }

    /// Done over expected, in 0...1; nil before anything is expected.
    public var fraction: Double? {
        let expected = total.load(ordering: .relaxed)
        guard expected > 0 else { return nil }
        return min(1, Double(done.load(ordering: .relaxed)) / Double(expected))
    }
}
