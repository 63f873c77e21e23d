import KilnCore

/// Who is asking: system views that depend on the session (`pg_settings`, `current_user`).
public struct SessionInfo: Sendable {
    public var user: String
    public var database: String
    public var settings: [String: String]
    /// The server's process ID for the session (`pg_backend_pid()`); 0 when embedded.
    public var processID: Int32
    /// The database directory's store (`pg_stat_wal`); nil in memory.
    public var store: DurableStore?
    public init(user: String = Role.bootstrapName, database: String = "kiln", settings: [String: String] = [:], processID: Int32 = 0,
                store: DurableStore? = nil) {
        self.user = user
        self.database = database
        self.settings = settings
        self.processID = processID
        self.store = store
    }
}

/// `pg_catalog` and `information_schema` as read-only tables built from Kiln's catalog at the
/// moment a query names them, with PostgreSQL's names, columns and OIDs, so that clients
/// (psql's `\d`, JDBC metadata, ORMs) find what they look for.
///
/// Column types map onto Kiln's: `oid`, `regproc`, `xid` are integers; `name`, `"char"` and
/// arrays (in their text form, `{a,b}`) are text.
public enum SystemCatalog {
    public static let pgCatalogNamespace: Int32 = 11
    public static let publicNamespace: Int32 = 2200
    public static let informationSchemaNamespace: Int32 = 13_000
    public static let bootstrapRole: Int32 = 10
    public static let databaseOID: Int32 = 5
    public static let defaultCollation: Int32 = 100

    /// A system relation: where it lives, its columns (`name:type`), and how to make its rows.
    struct Relation {
        var name: String
        var oid: Int32
        var namespace: Int32
        var isView: Bool
        var columns: [ColumnInfo]
        var rows: @Sendable (Catalog, SessionInfo) -> [[Value]]

        init(_ name: String, _ oid: Int32, namespace: Int32 = SystemCatalog.pgCatalogNamespace, view: Bool = false, _ columns: String,
             rows: @escaping @Sendable (Catalog, SessionInfo) -> [[Value]] = { _, _ in [] }) {
            self.name = name
            self.oid = oid
            self.namespace = namespace
            isView = view
            self.columns = columns.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { spec in
                let parts = spec.split(separator: ":")
                return ColumnInfo(name: String(parts[0]), type: SystemCatalog.columnType(String(parts[1])), notNull: false)
            }
            self.rows = rows
        }
    }

    static func columnType(_ name: String) -> SQLType {
        switch name {
        case "oid", "int4", "regproc", "xid", "regclass", "regtype": return .integer
        case "int2": return .smallint
        case "int8": return .bigint
        case "float4": return .real
        case "float8": return .double
        case "bool": return .boolean
        default: return .text
        }
    }

    static let relations: [Relation] = pgCatalogRelations + constraintRelations + informationSchemaRelations
    static let byName: [String: Relation] = Dictionary(uniqueKeysWithValues: relations.map {
        ($0.namespace == informationSchemaNamespace ? "information_schema." + $0.name : $0.name, $0)
    })

    /// The system relation a (possibly schema-qualified) name denotes, filled from `catalog`.
    /// `pg_catalog.x` and bare `x` find pg_catalog's; `information_schema.x` the information schema's.
    public static func table(named name: String, catalog: Catalog, session: SessionInfo) -> Table? {
        let key = name.hasPrefix("pg_catalog.") ? String(name.dropFirst(11)) : name
        guard let relation = byName[key] else { return nil }
        let table = Table(name: relation.name, columns: relation.columns)
        table.oid = relation.oid
        for row in relation.rows(catalog, session) {
            // The definitions and their rows are written together; a mismatch is a bug here.
            try! table.append(row: row)
        }
        return table
    }

    /// Every relation a user can see: the system's, then the catalog's tables and views.
    public struct RelationInfo: Sendable {
        public var oid: Int32
        public var name: String
        public var namespace: Int32
        public var kind: String
        public var columns: [ColumnInfo]
        public var rowCount: Int
        public var hasIndex = false
        public var checks = 0
        /// PostgreSQL implements foreign keys with triggers; psql lists them only when set. Not
        /// set yet: psql's foreign-key queries need `UNION ALL VALUES (...)` and
        /// `pg_partition_ancestors`, which Kiln does not run yet (\d would fail).
        public var hasTriggers = false
    }

    public static func allRelations(_ catalog: Catalog) -> [RelationInfo] {
        relations.map { RelationInfo(oid: $0.oid, name: $0.name, namespace: $0.namespace, kind: $0.isView ? "v" : "r", columns: $0.columns, rowCount: 0) }
            + catalog.allTables.map {
                RelationInfo(oid: $0.oid, name: $0.name, namespace: publicNamespace, kind: "r", columns: $0.columns, rowCount: $0.rowCount,
                             hasIndex: !$0.indexes.isEmpty, checks: $0.constraints.checks.count)
            }
            + catalog.allViews.map { view in
                RelationInfo(oid: view.oid, name: view.name, namespace: publicNamespace, kind: "v",
                             columns: zip(view.columnNames, view.columnTypes).map { ColumnInfo(name: $0, type: $1, notNull: false) }, rowCount: 0)
            }
            + indexAndSequenceRelations(catalog)
    }

    /// Every role: the bootstrap superuser first.
    public static func allRoles(_ catalog: Catalog) -> [(oid: Int32, name: String, superuser: Bool, login: Bool, password: String?)] {
        [(bootstrapRole, Role.bootstrapName, true, true, nil)] + catalog.allRoles.map { ($0.oid, $0.name, $0.isSuperuser, $0.canLogin, $0.passwordVerifier) }
    }

    /// `pg_get_userbyid`: a role's name, or `unknown (OID=n)` as PostgreSQL says.
    public static func roleName(_ oid: Int32, catalog: Catalog) -> String {
        allRoles(catalog).first { $0.oid == oid }?.name ?? "unknown (OID=\(oid))"
    }

    /// The OID of the relation a name denotes (`'t'::regclass`), user relations first.
    public static func relationOID(_ name: String, catalog: Catalog) -> Int32? {
        let bare = name.hasPrefix("pg_catalog.") ? String(name.dropFirst(11)) : name.hasPrefix("public.") ? String(name.dropFirst(7)) : name
        if let table = catalog.table(bare) { return table.oid }
        if let view = catalog.view(bare) { return view.oid }
        return byName[name.hasPrefix("information_schema.") ? name : bare]?.oid
    }

    /// The name of a relation OID (`regclass` output), or the number when there is none.
    public static func relationName(_ oid: Int32, catalog: Catalog) -> String {
        allRelations(catalog).first { $0.oid == oid }.map { $0.namespace == informationSchemaNamespace ? "information_schema." + $0.name : $0.name } ?? String(oid)
    }
}

extension Value {
    static func oid(_ value: Int32) -> Value { .int32(value) }
    static func name(_ value: String) -> Value { .text(value) }
    static func flag(_ value: Bool) -> Value { .bool(value) }
}
