import KilnCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The database's tables, views and roles, shared by every session (each map behind its own lock).
public final class Catalog: Sendable {
    private let tables = Mutex<[String: Table]>([:])
    private let views = Mutex<[String: View]>([:])
    private let roles = Mutex<[String: Role]>([:])
    let sequences = Mutex<[String: SQLSequence]>([:])
    private let versionCounter = Atomic<Int>(0)
    /// OIDs of tables, views and roles, from 16384 up as in PostgreSQL (lower ones are the system's).
    private let oidCounter = Atomic<Int32>(16_384)
    /// Commit timestamps and running transactions (MVCC).
    public let transactions = TransactionManager()

    func nextOID() -> Int32 { oidCounter.add(1, ordering: .relaxed).oldValue }

    /// Changes whenever a table or view is created or dropped: bound plans older than it are stale.
    public var version: Int { versionCounter.load(ordering: .acquiring) }

    public func bumpVersion() { versionCounter.add(1, ordering: .releasing) }

    public func view(_ name: String) -> View? { views.withLock { $0[name] } }

    public var viewNames: [String] { views.withLock { $0.keys.sorted() } }

    /// Adds (or with `replace`, replaces) a view; its name must not be a table's.
    public func create(_ view: View, replace: Bool, position: Int?) throws(DatabaseError) {
        if table(view.name) != nil || (!replace && self.view(view.name) != nil) {
            throw DatabaseError(.duplicateTable, "relation \"\(view.name)\" already exists", position: position)
        }
        if let old = self.view(view.name) {
            // As in PostgreSQL, a replacement may only add columns at the end.
            if view.columnNames.count < old.columnNames.count {
                throw DatabaseError(.invalidTableDefinition, "cannot drop columns from view", position: position)
            }
            for (index, name) in old.columnNames.enumerated() {
                if view.columnNames[index] != name {
                    throw DatabaseError(.invalidTableDefinition, "cannot change name of view column \"\(name)\" to \"\(view.columnNames[index])\"", position: position)
                }
                if view.columnTypes[index] != old.columnTypes[index] {
                    throw DatabaseError(.invalidTableDefinition, "cannot change data type of view column \"\(name)\" from \(old.columnTypes[index]) to \(view.columnTypes[index])", position: position)
                }
            }
        }
        var view = view
        view.oid = self.view(view.name)?.oid ?? nextOID()
        views.withLock { $0[view.name] = view }
        bumpVersion()
    }

    public func dropView(_ name: String, ifExists: Bool, position: Int?) throws(DatabaseError) {
        if table(name) != nil {
            throw DatabaseError(.wrongObjectType, "\"\(name)\" is not a view", position: position, hint: "Use DROP TABLE to remove a table.")
        }
        let dropped = views.withLock { $0.removeValue(forKey: name) != nil }
        if dropped { bumpVersion() }
        if !dropped && !ifExists {
            throw DatabaseError(.undefinedTable, "view \"\(name)\" does not exist", position: position)
        }
    }

    public init() {}

    public func table(oid: Int32) -> Table? { tables.withLock { $0.values.first { $0.oid == oid } }.flatMap(visible) }

    /// `table` when the statement running on this thread may see it: a table an uncommitted
    /// block created is its own until COMMIT (`CatalogVisibility`).
    func visible(_ table: Table) -> Table? { table.isVisible(to: CatalogVisibility.transaction) ? table : nil }

    /// A table whatever its creator (the integrity checks of foreign keys, which must see every row).
    public func anyTable(_ name: String) -> Table? { tables.withLock { $0[name] } }

    /// Every table whatever its creator, by OID.
    public var everyTable: [Table] { tables.withLock { $0.values.sorted { $0.oid < $1.oid } } }

    /// The next OID the catalog hands out (kept by checkpoints).
    var nextOIDValue: Int32 { oidCounter.load(ordering: .relaxed) }

    /// Makes later OIDs larger than `oid` (recovery restores objects with their OIDs).
    func advanceOIDs(past oid: Int32) {
        while true {
            let current = oidCounter.load(ordering: .relaxed)
            if current > oid { return }
            if oidCounter.compareExchange(expected: current, desired: oid + 1, ordering: .relaxed).exchanged { return }
        }
    }

    /// Adds (or replaces) a table, view or role read from the data file or the WAL, with its OID.
    func restore(_ table: Table, oid: Int32) {
        table.oid = oid
        tables.withLock { $0[table.name] = table }
        advanceOIDs(past: oid)
        bumpVersion()
    }

    func restore(_ view: View) {
        views.withLock { $0[view.name] = view }
        advanceOIDs(past: view.oid)
        bumpVersion()
    }

    func restore(_ role: Role) {
        roles.withLock { $0[role.name] = role }
        advanceOIDs(past: role.oid)
        bumpVersion()
    }

    /// Removes an object by name (WAL replay of a DROP).
    func remove(table name: String) {
        if tables.withLock({ $0.removeValue(forKey: name) != nil }) { bumpVersion() }
    }

    func remove(view name: String) {
        if views.withLock({ $0.removeValue(forKey: name) != nil }) { bumpVersion() }
    }

    func remove(role name: String) {
        if roles.withLock({ $0.removeValue(forKey: name) != nil }) { bumpVersion() }
    }

    public func table(_ name: String) -> Table? { tables.withLock { $0[name] }.flatMap(visible) }

    /// Takes back a CREATE or DROP of a rolled-back transaction.
    public func undoCreate(_ table: Table) {
        if tables.withLock({ map -> Bool in
            guard map[table.name] === table else { return false }
            map[table.name] = nil
            return true
        }) { bumpVersion() }
    }

    public func undoDrop(_ table: Table) {
        tables.withLock { $0[table.name] = table }
        bumpVersion()
    }

    public func undoCreate(_ view: View) {
        if views.withLock({ $0.removeValue(forKey: view.name) != nil }) { bumpVersion() }
    }

    public func undoDrop(_ view: View) {
        views.withLock { $0[view.name] = view }
        bumpVersion()
    }

    public var tableNames: [String] { allTables.map(\.name).sorted() }

    public func create(_ table: Table, ifNotExists: Bool, position: Int?) throws(DatabaseError) -> Bool {
        if view(table.name) != nil {
            if ifNotExists { return false }
            throw DatabaseError(.duplicateTable, "relation \"\(table.name)\" already exists", position: position)
        }
        let created = tables.withLock { map -> Bool in
            if map[table.name] != nil { return false }
            map[table.name] = table
            return true
        }
        if created { table.oid = nextOID() }
        if !created && !ifNotExists {
            throw DatabaseError(.duplicateTable, "relation \"\(table.name)\" already exists", position: position)
        }
        if created { bumpVersion() }
        return created
    }

    public func drop(_ name: String, ifExists: Bool, position: Int?) throws(DatabaseError) {
        if view(name) != nil {
            throw DatabaseError(.wrongObjectType, "\"\(name)\" is not a table", position: position, hint: "Use DROP VIEW to remove a view.")
        }
        let transaction = CatalogVisibility.transaction
        let dropped = tables.withLock { map -> Bool in
            guard let table = map[name], table.isVisible(to: transaction) else { return false }
            map[name] = nil
            return true
        }
        if dropped { bumpVersion() }
        if !dropped && !ifExists {
            throw DatabaseError(.undefinedTable, "table \"\(name)\" does not exist", position: position)
        }
    }
}

/// The transaction of the statement running on this thread (0: none), for the catalog's
/// visibility of tables that uncommitted blocks created. A session sets it whenever it runs a
/// statement (`Database.onStatementStack`) and whenever its transaction changes.
public enum CatalogVisibility {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    public static var transaction: UInt64 {
        get { UInt64(UInt(bitPattern: pthread_getspecific(key))) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: UInt(newValue))) }
    }
}

/// A login role (`CREATE ROLE name LOGIN PASSWORD '...'`): what `kiln serve` authenticates.
public struct Role: Sendable, Equatable {
    public var name: String
    /// The password verifier in PostgreSQL's `SCRAM-SHA-256$...` form; nil: no password.
    public var passwordVerifier: String?
    public var canLogin: Bool
    public var isSuperuser: Bool
    /// Assigned when the catalog adds the role.
    public internal(set) var oid: Int32 = 0

    /// The superuser that owns every relation (OID 10), as `postgres` is in PostgreSQL.
    public static let bootstrapName = "kiln"

    public init(name: String, passwordVerifier: String? = nil, canLogin: Bool = true, isSuperuser: Bool = false) {
        self.name = name
        self.passwordVerifier = passwordVerifier
        self.canLogin = canLogin
        self.isSuperuser = isSuperuser
    }
}

extension Catalog {
    public func role(_ name: String) -> Role? { roles.withLock { $0[name] } }

    /// Names of the configured roles (not the bootstrap superuser).
    public var roleNames: [String] { roles.withLock { $0.keys.sorted() } }

    /// Every configured role, by name.
    public var allRoles: [Role] { roles.withLock { $0.values.sorted { $0.oid < $1.oid } } }

    /// Every table, by name.
    public var allTables: [Table] {
        let transaction = CatalogVisibility.transaction
        return tables.withLock { $0.values.filter { $0.isVisible(to: transaction) }.sorted { $0.oid < $1.oid } }
    }

    /// Every view, by name.
    public var allViews: [View] { views.withLock { $0.values.sorted { $0.oid < $1.oid } } }

    /// Adds a role; 42710 when one of that name exists.
    public func create(_ role: Role, position: Int?) throws(DatabaseError) {
        var role = role
        if role.name == Role.bootstrapName {
            throw DatabaseError(.duplicateObject, "role \"\(role.name)\" already exists", position: position)
        }
        role.oid = nextOID()
        let added = roles.withLock { map -> Bool in
            if map[role.name] != nil { return false }
            map[role.name] = role
            return true
        }
        bumpVersion()
        if !added { throw DatabaseError(.duplicateObject, "role \"\(role.name)\" already exists", position: position) }
    }

    /// Changes a role in place; 42704 when there is none of that name.
    public func alterRole(_ name: String, position: Int?, _ change: (inout Role) -> Void) throws(DatabaseError) {
        let found = roles.withLock { map -> Bool in
            guard var role = map[name] else { return false }
            change(&role)
            map[name] = role
            return true
        }
        if !found { throw DatabaseError(SQLState("42704"), "role \"\(name)\" does not exist", position: position) }
    }

    public func dropRole(_ name: String, ifExists: Bool, position: Int?) throws(DatabaseError) {
        if name == Role.bootstrapName {
            throw DatabaseError(SQLState("42501"), "cannot drop role \(name)", position: position, detail: "It owns every table (the bootstrap superuser).")
        }
        let dropped = roles.withLock { $0.removeValue(forKey: name) != nil }
        if dropped { bumpVersion() }
        if !dropped && !ifExists { throw DatabaseError(SQLState("42704"), "role \"\(name)\" does not exist", position: position) }
    }
}
