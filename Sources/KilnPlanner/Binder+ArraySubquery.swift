import KilnCore
import KilnSQL

extension Binder {
    /// `ARRAY(SELECT e FROM ... [ORDER BY ...] [LIMIT ...])` as an aggregate subquery, which is
    /// decorrelated as any scalar subquery is (keys or a domain, not once per outer row):
    ///
    ///     (SELECT '{' || coalesce(string_agg(__array_element(e::text), ',' ORDER BY keys), '') || '}'
    ///      FROM (SELECT e, keys... FROM ... [ORDER BY ... LIMIT ...]) __array(__element, __key0, ...))
    ///
    /// Elements are quoted as PostgreSQL's array output quotes them, NULL included; an empty
    /// subquery gives `{}`. A set operation is the derived table as it is, ordered by its one
    /// column. nil when the query has another shape (several columns, DISTINCT or a set
    /// operation ordered by something else, a locking clause): it is then applied.
    static func arrayAsAggregate(_ query: SelectStatement, position at: Int) -> SelectStatement? {
        // The first branch of a set operation names its columns (and counts them: every
        // branch has as many).
        var first = query
        while case .combine(_, _, let left, _)? = first.setOperation { first = left }
        guard first.items.count == 1, case .expression(let expression, let alias) = first.items[0], query.locking.isEmpty else { return nil }
        let elementName = alias ?? { if case .column(let parts) = expression.kind { return parts.last } else { return nil } }()
        var inner = query
        var columns = ["__element"]
        var keys: [OrderItem] = []
        for item in query.orderBy {
            var name = "__element"
            switch item.expression.kind {
            case .integer(let n):
                guard n == "1" else { return nil }
            case .column(let parts) where parts.count == 1 && parts[0] == elementName:
                break
            default:
                // DISTINCT is over the select list: another key would change it; a set
                // operation's ORDER BY names its result's columns only.
                guard !query.distinct, query.setOperation == nil else { return nil }
                name = "__key\(columns.count - 1)"
                columns.append(name)
                inner.items.append(.expression(item.expression, alias: name))
            }
            var key = item
            key.expression = Expression(.column(["__array", name]), at: item.expression.position)
            keys.append(key)
        }
        // The inner order matters only for what LIMIT / OFFSET keep.
        if query.limit == nil, query.offset == nil { inner.orderBy = [] }
        func node(_ kind: Expression.Kind) -> Expression { Expression(kind, at: at) }
        let element = node(.function(name: "__array_element", arguments: [node(.cast(node(.column(["__array", "__element"])), TypeName(type: .text, position: at)))],
                                     distinct: false, star: false))
        let joined = node(.function(name: "string_agg", arguments: [element, node(.string(","))], distinct: false, star: false, orderBy: keys))
        let body = node(.function(name: "coalesce", arguments: [joined, node(.string(""))], distinct: false, star: false))
        var outer = SelectStatement()
        outer.position = query.position
        outer.items = [.expression(node(.binary("||", node(.binary("||", node(.string("{")), body)), node(.string("}")))), alias: "array")]
        outer.from = [.subquery(inner, alias: "__array", columns: columns, position: at)]
        return outer
    }
}
