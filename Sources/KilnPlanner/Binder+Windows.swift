import KilnCore
import KilnSQL

extension Binder {
    /// Collects window function calls while binding a select list and ORDER BY.
    final class WindowCollector {
        var calls: [WindowCall] = []
        func add(_ call: WindowCall) -> Int {
            if let existing = calls.firstIndex(of: call) { return existing }
            calls.append(call)
            return calls.count - 1
        }
    }

    static let windowFunctions: Set<String> = ["row_number", "rank", "dense_rank", "count", "sum", "avg", "min", "max", "first_value", "last_value", "lag", "lead"]

    /// `name(arguments) OVER (...)`: a `__winN` marker that the query binder replaces with the
    /// window node's output column.
    mutating func bindWindow(_ name: String, _ arguments: [Expression], star: Bool, _ specification: WindowSpecification, position: Int,
                             scope: Scope, aggregates: AggregateCollector?) throws(DatabaseError) -> BoundExpression {
        guard let windows = windowCollector else {
            throw DatabaseError(.windowingError, "window functions are not allowed here", position: position)
        }
        guard Binder.windowFunctions.contains(name) else {
            if Binder.aggregateNames.contains(name) || name == "ntile" || name == "nth_value" || name == "percent_rank" || name == "cume_dist" {
                throw DatabaseError(.featureNotSupported, "window function \(name) is not supported yet", position: position)
            }
            throw DatabaseError(.undefinedFunction, "function \(name) is not a window function or does not exist", position: position)
        }
        // Nested window functions are rejected: the collector is absent while binding these.
        windowCollector = nil
        defer { windowCollector = windows }
        var bound: [BoundExpression] = []
        for argument in arguments { bound.append(try bindExpression(argument, scope: scope, aggregates: aggregates)) }
        func wrongArguments() -> DatabaseError {
            DatabaseError(.undefinedFunction, "function \(name)(\(bound.map { $0.type.description }.joined(separator: ", "))) does not exist", position: position)
        }
        var call = WindowCall(function: name, arguments: [], offset: 1, type: .bigint, partition: [], order: [], orderKeys: [], frame: .standard)
        switch name {
        case "row_number", "rank", "dense_rank":
            guard bound.isEmpty, !star else { throw wrongArguments() }
        case "count" where star:
            call.function = "count_star"
        case "count", "sum", "avg", "min", "max":
            guard bound.count == 1, !star else { throw wrongArguments() }
            let (argument, type) = try aggregateArgument(name, bound[0], position: position, argumentPosition: arguments[0].position)
            call.arguments = [argument]
            call.type = type
        case "first_value", "last_value":
            guard bound.count == 1 else { throw wrongArguments() }
            let argument = bound[0].type == .unknown ? try coerce(bound[0], to: .text, position: arguments[0].position) : bound[0]
            call.arguments = [argument]
            call.type = argument.type
        default:  // lag, lead
            guard (1...3).contains(bound.count) else { throw wrongArguments() }
            var value = bound[0].type == .unknown ? try coerce(bound[0], to: .text, position: arguments[0].position) : bound[0]
            if bound.count >= 2 {
                guard case .constant(let v) = bound[1].kind, let n = Int64(v.text ?? ""), n >= 0 else {
                    throw DatabaseError(.featureNotSupported, "\(name) needs a constant non-negative offset", position: arguments[1].position)
                }
                call.offset = n
            }
            var arguments3 = [value]
            if bound.count == 3 {
                guard let common = TypeRules.commonValue(value.type, bound[2].type) else {
                    throw DatabaseError(.datatypeMismatch, "\(name) types \(value.type) and \(bound[2].type) cannot be matched", position: arguments[2].position)
                }
                value = try coerce(value, to: common, position: arguments[0].position)
                arguments3 = [value, try coerce(bound[2], to: common, position: arguments[2].position)]
            }
            call.arguments = arguments3
            call.type = value.type
        }
        for expression in specification.partitionBy {
            call.partition.append(try bindExpression(expression, scope: scope, aggregates: aggregates))
        }
        for item in specification.orderBy {
            call.order.append(try bindExpression(item.expression, scope: scope, aggregates: aggregates))
            call.orderKeys.append((item.descending, item.nullsFirst ?? item.descending))
        }
        if let frame = specification.frame {
            call.frame = try bindFrame(frame, ordered: !call.order.isEmpty, scope: scope)
        }
        let index = windows.add(call)
        return .call("__win\(index)", [], type: call.type, nullable: true)
    }

    mutating func bindFrame(_ frame: WindowFrame, ordered: Bool, scope: Scope) throws(DatabaseError) -> WindowFrameSpec {
        func bound(_ b: WindowFrame.Bound, start: Bool) throws(DatabaseError) -> FrameBound {
            switch b {
            case .unboundedPreceding:
                if !start { throw DatabaseError(.windowingError, "frame end cannot be UNBOUNDED PRECEDING", position: frame.position) }
                return .unboundedPreceding
            case .unboundedFollowing:
                if start { throw DatabaseError(.windowingError, "frame start cannot be UNBOUNDED FOLLOWING", position: frame.position) }
                return .unboundedFollowing
            case .currentRow:
                return .currentRow
            case .preceding(let e), .following(let e):
                guard frame.rows else {
                    throw DatabaseError(.featureNotSupported, "RANGE with offset PRECEDING/FOLLOWING is not supported yet", position: e.position)
                }
                let value = try bindExpression(e, scope: Scope(), aggregates: nil)
                guard case .constant(let v) = value.kind, let n = Int64(v.text ?? "") else {
                    throw DatabaseError(.featureNotSupported, "frame offsets must be integer constants", position: e.position)
                }
                guard n >= 0 else {
                    throw DatabaseError(.invalidPrecedingOrFollowingSize, "frame \(start ? "starting" : "ending") offset must not be negative", position: e.position)
                }
                if case .preceding = b { return .preceding(n) }
                return .following(n)
            }
        }
        let start = try bound(frame.start, start: true), end = try bound(frame.end, start: false)
        switch (start, end) {
        case (.currentRow, .preceding):
            throw DatabaseError(.windowingError, "frame starting from current row cannot have preceding rows", position: frame.position)
        case (.following, .preceding), (.following, .currentRow):
            throw DatabaseError(.windowingError, "frame starting from following row cannot have preceding rows", position: frame.position)
        default:
            return WindowFrameSpec(rows: frame.rows, start: start, end: end)
        }
    }

    /// Adds window nodes (one per distinct window) over `plan` for the collected calls and
    /// replaces the `__winN` markers in `outputs` by their columns.
    static func applyWindows(_ calls: [WindowCall], to plan: inout PlanNode, outputs: inout [BoundExpression]) {
        guard !calls.isEmpty else { return }
        var column: [Int: Int] = [:]
        var remaining = Array(calls.indices)
        while let first = remaining.first {
            let group = remaining.filter { calls[$0].sameWindow(as: calls[first]) }
            remaining.removeAll { group.contains($0) }
            let width = plan.outputTypes.count
            plan = .window(plan, calls: group.map { calls[$0] })
            for (offset, index) in group.enumerated() { column[index] = width + offset }
        }
        let types = plan.outputTypes
        outputs = outputs.map { output in
            output.substitute { e in
                guard case .call(let name, _) = e.kind, name.hasPrefix("__win"), let index = Int(name.dropFirst(5)), let c = column[index] else { return nil }
                return .column(c, type: types[c].0, nullable: types[c].1)
            }
        }
    }
}
