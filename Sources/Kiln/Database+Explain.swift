import KilnCore
import KilnSQL
import KilnPlanner

extension Database {
    func explain(_ mode: ExplainMode, _ statement: Statement, parameters: [Value]) throws(DatabaseError) -> QueryResult {
        guard case .select(let select) = statement else {
            throw DatabaseError(.featureNotSupported, "EXPLAIN supports SELECT statements only")
        }
        var binder = makeBinder()
        let bound = try binder.bind(select)
        var text: String
        switch mode {
        case .plan:
            text = bound.plan.explain()
        case .pipelines:
            let plan = try PipelineSlicer.slice(bound)
            text = plan.pipelines.map { $0.summary(states: plan.states) }.joined(separator: "\n")
        case .ir(let level):
            let lowered = try executor.lower(bound, vectorize: usesNativeCode && usesSIMD)
            do {
                text = try executor.service.withCompiler { compiler in
                    switch level {
                    case "high": return try compiler.verify(lowered.high).text
                    case "mid": return try compiler.verify(lowered.mid).text
                    case "low": return try compiler.verify(lowered.low).text
                    default: return try compiler.llvmIR(lowered.low)
                    }
                }
            } catch {
                throw DatabaseError.internalError("IR verification failed: \(error)")
            }
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { [Value.text(String($0))] }
        return QueryResult(columns: [.init(name: "QUERY PLAN", type: .text)], rows: lines.last == [.text("")] ? Array(lines.dropLast()) : lines,
                           commandTag: "EXPLAIN", hasResultSet: true)
    }
}
