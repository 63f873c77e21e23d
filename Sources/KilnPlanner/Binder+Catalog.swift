import KilnCore
import KilnSQL
import KilnStorage

/// What clients' catalog queries need beyond plain SQL: PostgreSQL's session and catalog
/// functions, `reg*` casts (names to OIDs and back), arrays in their text form.
extension Binder {
    /// A catalog or session function, or nil when `name` is not one.
    mutating func bindCatalogFunction(_ name: String, _ bound: [BoundExpression], _ arguments: [Expression], position: Int) throws(DatabaseError) -> BoundExpression? {
        func text(_ value: String?) -> BoundExpression { .constant(value.map(Value.text) ?? .null, type: .text) }
        func oidArgument(_ index: Int) throws(DatabaseError) -> BoundExpression {
            try coerce(bound[index], to: .integer, position: arguments[index].position)
        }
        switch (name, bound.count) {
        case ("current_user", 0), ("session_user", 0), ("user", 0), ("current_role", 0), ("getpgusername", 0):
            return text(session.user)
        case ("current_timestamp", 0), ("now", 0), ("transaction_timestamp", 0), ("localtimestamp", 0), ("statement_timestamp", 0):
            // The transaction's start (PostgreSQL's timestamptz; Kiln's timestamps are UTC), read
            // when the statement runs, not when it is planned (prepared plans are reused).
            return .transactionTime
        case ("current_date", 0):
            return try cast(.transactionTime, to: .date, position: position)
        case ("current_database", 0), ("current_catalog", 0):
            return text(session.database)
        case ("current_schema", 0):
            return text("public")
        case ("current_schemas", 1):
            // With implicit schemas (true): pg_catalog comes first, as PostgreSQL searches it first.
            guard case .constant(let flag) = bound[0].kind, case .bool(let implicit) = try Casts.cast(flag, from: bound[0].type == .unknown ? .text : bound[0].type, to: .boolean) else {
                throw DatabaseError(.featureNotSupported, "current_schemas needs a constant argument", position: position)
            }
            return text(implicit ? "{pg_catalog,public}" : "{public}")
        case ("version", 0):
            return text("PostgreSQL \(session.settings["server_version"] ?? "16.0") (Kiln 0.1.0) on x86_64-pc-linux-gnu, compiled by Swift 6")
        case ("pg_backend_pid", 0):
            return .constant(.int32(session.processID), type: .integer)
        case ("pg_is_in_recovery", 0):
            return .constant(.bool(false), type: .boolean)
        case ("pg_relation_is_publishable", 1):
            // Kiln has no publications (logical replication).
            return .constant(.bool(false), type: .boolean)
        case ("pg_get_userbyid", 1):
            let oid = try oidArgument(0)
            let unknown = BoundExpression.call("concat", [text("unknown (OID="), .call("concat", [try cast(oid, to: .text, position: position), text(")")], type: .text)], type: .text)
            return Binder.nameOf(oid, SystemCatalog.allRoles(catalog).map { ($0.oid, $0.name) }, otherwise: unknown)
        case ("pg_table_is_visible", 1), ("pg_type_is_visible", 1), ("pg_function_is_visible", 1):
            // Every Kiln relation lives in pg_catalog or public, both on the search path.
            return .call("not", [.call("is_null", [try oidArgument(0)], type: .boolean, nullable: false)], type: .boolean)
        case ("format_type", 2):
            return .call("format_type", [try oidArgument(0), try coerce(bound[1], to: .integer, position: arguments[1].position)], type: .text, nullable: true)
        case ("pg_encoding_to_char", 1):
            let encoding = try coerce(bound[0], to: .integer, position: arguments[0].position)
            return .call("case", [.call("eq", [encoding, .constant(.int32(6), type: .integer)], type: .boolean), text("UTF8"), text("SQL_ASCII")], type: .text)
        case ("__subscript", 2):
            // The element's type is not kept in the text form: it stays unknown, like a literal.
            return .call("array_element", [try coerce(bound[0], to: .text, position: arguments[0].position),
                                           try coerce(bound[1], to: .integer, position: arguments[1].position)], type: .unknown, nullable: true)
        case ("array_upper", 2), ("array_lower", 2), ("array_length", 2):
            return .call(name, [try coerce(bound[0], to: .text, position: arguments[0].position),
                                try coerce(bound[1], to: .integer, position: arguments[1].position)], type: .integer, nullable: true)
        case ("cardinality", 1):
            return .call("cardinality", [try coerce(bound[0], to: .text, position: arguments[0].position)], type: .integer, nullable: true)
        case ("array_to_string", 2):
            return .call("array_to_string", [try coerce(bound[0], to: .text, position: arguments[0].position),
                                             try coerce(bound[1], to: .text, position: arguments[1].position)], type: .text, nullable: true)
        case ("nextval", 1), ("currval", 1), ("setval", 2), ("setval", 3):
            // Sequence functions run in the session (the runtime's session hook); their first
            // argument names the sequence (text, or a regclass OID).
            var converted = [bound[0].type.isInteger ? try coerce(bound[0], to: .integer, position: arguments[0].position)
                                                      : try coerce(bound[0], to: .text, position: arguments[0].position)]
            if bound.count > 1 { converted.append(try coerce(bound[1], to: .bigint, position: arguments[1].position)) }
            if bound.count > 2 { converted.append(try coerce(bound[2], to: .boolean, position: arguments[2].position)) }
            return .call(name, converted, type: .bigint, nullable: true)
        case ("lastval", 0):
            return .call("lastval", [], type: .bigint, nullable: true)
        case ("quote_ident", 1):
            return .call("quote_ident", [try coerce(bound[0], to: .text, position: arguments[0].position)], type: .text)
        case ("pg_get_expr", 2...3):
            // Defaults and checks are kept as their SQL text.
            return try coerce(bound[0], to: .text, position: arguments[0].position)
        case ("pg_get_constraintdef", 1...2):
            return Binder.nameOf(try oidArgument(0), SystemCatalog.constraintDefinitions(catalog), otherwise: text(nil))
        case ("pg_get_indexdef", 1...3):
            return Binder.nameOf(try oidArgument(0), SystemCatalog.indexDefinitions(catalog), otherwise: text(nil))
        case ("pg_relation_size", 1...2), ("pg_table_size", 1), ("pg_total_relation_size", 1):
            // Bytes a table's rows take at their types' widths (PostgreSQL's pages hold the same
            // rows in about as much): postgres_fdw's ANALYZE divides it by 8192 for its page count.
            let sizes = catalog.allTables.map { table -> (Int32, Value) in
                let width = table.columns.reduce(24) { $0 + PlanCost.typeWidth($1.type) }
                return (table.oid, .int64(Int64(table.rowCount * width)))
            }
            return Binder.valueOf(try oidArgument(0), sizes, type: .bigint)
        case ("pg_get_viewdef", 1...2):
            // A view keeps its query as written.
            return Binder.nameOf(try oidArgument(0), catalog.allViews.map { ($0.oid, " " + $0.definition + ";") }, otherwise: text(nil))
        case ("obj_description", 1...2), ("col_description", 2), ("shobj_description", 2),
             ("pg_get_triggerdef", 1...2), ("pg_get_partkeydef", 1),
             ("pg_get_statisticsobjdef_columns", 1), ("pg_get_function_arguments", 1), ("pg_get_function_result", 1):
            // Kiln keeps no comments, triggers or functions.
            return text(nil)
        case ("has_table_privilege", 2...3), ("has_schema_privilege", 2...3), ("has_database_privilege", 2...3),
             ("has_column_privilege", 3...4), ("has_any_column_privilege", 2...3), ("pg_has_role", 2...3), ("has_function_privilege", 2...3):
            // No privileges are kept: every role may do everything.
            return .constant(.bool(true), type: .boolean)
        case ("__array_any", 3), ("__array_all", 3):
            return try bindArrayComparison(name == "__array_all", bound[0], arguments[1], bound[2], position: position, arrayPosition: arguments[2].position)
        default:
            return nil
        }
    }

    /// The value an OID maps to in `values` (taken from the catalog when the statement is
    /// bound; first match wins), `otherwise` for any other: `CASE oid WHEN o1 THEN v1 ... END`.
    static func valueOf(_ oid: BoundExpression, _ values: [(Int32, Value)], type: SQLType, otherwise: BoundExpression? = nil) -> BoundExpression {
        values.reversed().reduce(otherwise ?? .constant(.null, type: type)) { result, entry in
            let matches = BoundExpression.call("eq", [oid, .constant(.int32(entry.0), type: .integer)], type: .boolean)
            return .call("case", [matches, .constant(entry.1, type: type), result], type: type, nullable: true)
        }
    }

    /// The name an OID stands for (`valueOf` over names).
    static func nameOf(_ oid: BoundExpression, _ names: [(Int32, String)], otherwise: BoundExpression) -> BoundExpression {
        valueOf(oid, names.map { ($0.0, Value.text($0.1)) }, type: .text, otherwise: otherwise)
    }

    /// `x op ANY (array)` / `x op ALL (array)` over a constant array: the comparisons, joined by
    /// OR / AND (so NULLs follow PostgreSQL's rules).
    mutating func bindArrayComparison(_ all: Bool, _ left: BoundExpression, _ opExpression: Expression, _ array: BoundExpression, position: Int, arrayPosition: Int) throws(DatabaseError) -> BoundExpression {
        guard case .string(let op) = opExpression.kind else { throw DatabaseError.internalError("array comparison without an operator") }
        guard case .constant(let value) = ConstantFolding.fold(array).kind else {
            // An array column: membership of the value's text form among the elements.
            guard (op == "=" && !all) || (op == "<>" && all) else {
                throw DatabaseError(.featureNotSupported, "only = ANY and <> ALL work on array columns", position: arrayPosition,
                                    hint: "Use IN (...) or a subquery.")
            }
            let element = left.type == .unknown ? try coerce(left, to: .text, position: position) : try cast(left, to: .text, position: position)
            let contains = BoundExpression.call("array_contains", [try coerce(array, to: .text, position: arrayPosition), element], type: .boolean, nullable: true)
            return all ? .call("not", [contains], type: .boolean) : contains
        }
        guard let text = value.text else { return .constant(.null, type: .boolean) }
        guard let elements = ArrayText.parse(text) else {
            throw DatabaseError(.invalidTextRepresentation, "malformed array literal: \"\(text)\"", position: arrayPosition)
        }
        var result: BoundExpression = .constant(.bool(all), type: .boolean)
        for (index, element) in elements.enumerated() {
            let constant = BoundExpression.constant(element.map(Value.text) ?? .null, type: .unknown)
            let comparison = try bindBinary(op, left, constant, position: position, leftPosition: position, rightPosition: arrayPosition)
            result = index == 0 ? comparison : .call(all ? "and" : "or", [result, comparison], type: .boolean)
        }
        return result
    }

    /// `x::regclass`, `x::regtype`, `x::oid`, `x::name`, `x::text[]`; and `reg*` values cast to text.
    mutating func bindCatalogCast(_ operand: Expression, _ inner: BoundExpression, _ typeName: TypeName, position: Int) throws(DatabaseError) -> BoundExpression? {
        if typeName.isArray {
            let array = try coerce(inner, to: .text, position: operand.position)
            if case .constant(let value) = array.kind, let text = value.text, ArrayText.parse(text) == nil {
                throw DatabaseError(.invalidTextRepresentation, "malformed array literal: \"\(text)\"", position: operand.position)
            }
            return array
        }
        // A reg* value shown as text: the name it stands for.
        if case .cast(_, let sourceType) = operand.kind, typeName.type.isString, typeName.alias == nil,
           let alias = sourceType.alias, ["regclass", "regtype", "regnamespace"].contains(alias) {
            // `inner` is the OID already (the inner cast bound it as an integer).
            let oid = try cast(inner, to: .integer, position: position)
            if alias == "regtype" { return .call("format_type", [oid, .constant(.null, type: .integer)], type: .text, nullable: true) }
            let number = try cast(oid, to: .text, position: position)
            if alias == "regnamespace" {
                let namespaces = [SystemCatalog.pgCatalogNamespace, SystemCatalog.publicNamespace, SystemCatalog.informationSchemaNamespace]
                return Binder.nameOf(oid, namespaces.map { ($0, SystemCatalog.schemaName($0)) }, otherwise: number)
            }
            return Binder.nameOf(oid, SystemCatalog.allRelations(catalog).map { relation in
                (relation.oid, relation.namespace == SystemCatalog.informationSchemaNamespace ? "information_schema." + relation.name : relation.name)
            }, otherwise: number)
        }
        guard let alias = typeName.alias else { return nil }
        guard inner.type.isString || inner.type == .unknown, case .constant(let value) = inner.kind, alias.hasPrefix("reg") else {
            return try cast(inner, to: typeName.type, position: position)
        }
        guard let text = value.text else { return .constant(.null, type: .integer) }
        if let number = Int32(text) { return .constant(.int32(number), type: .integer) }
        switch alias {
        case "regclass":
            guard let oid = SystemCatalog.relationOID(text, catalog: catalog) else {
                throw DatabaseError(.undefinedTable, "relation \"\(text)\" does not exist", position: operand.position)
            }
            return .constant(.int32(oid), type: .integer)
        case "regtype":
            guard let oid = PostgresType.oid(named: text) else {
                throw DatabaseError(SQLState("42704"), "type \"\(text)\" does not exist", position: operand.position)
            }
            return .constant(.int32(oid), type: .integer)
        case "regnamespace":
            let namespaces = ["pg_catalog": SystemCatalog.pgCatalogNamespace, "public": SystemCatalog.publicNamespace,
                              "information_schema": SystemCatalog.informationSchemaNamespace]
            guard let oid = namespaces[text] else { throw DatabaseError(SQLState("3F000"), "schema \"\(text)\" does not exist", position: operand.position) }
            return .constant(.int32(oid), type: .integer)
        case "regrole":
            guard let role = SystemCatalog.allRoles(catalog).first(where: { $0.name == text }) else {
                throw DatabaseError(SQLState("42704"), "role \"\(text)\" does not exist", position: operand.position)
            }
            return .constant(.int32(role.oid), type: .integer)
        default:
            throw DatabaseError(.featureNotSupported, "\(alias) names are not supported: Kiln's catalog has no functions", position: operand.position)
        }
    }
}
