import KilnCore

/// What clients read of keys, indexes, checks, foreign keys, defaults and sequences: rows of
/// `pg_index`, `pg_constraint`, `pg_attrdef`, `pg_sequence`, and `pg_class` rows for indexes
/// and sequences, with the definitions `pg_get_indexdef` / `pg_get_constraintdef` print.
/// Indexes, constraints and defaults have no OIDs of their own in Kiln's catalog; theirs are
/// made from their table's OID and position (above every OID the catalog hands out).
extension SystemCatalog {
    static func indexOID(_ table: Table, _ index: Int) -> Int32 { 0x2000_0000 &+ table.oid &* 64 &+ Int32(index) }
    static func constraintOID(_ table: Table, _ index: Int) -> Int32 { 0x3000_0000 &+ table.oid &* 64 &+ Int32(index) }
    static func defaultOID(_ table: Table, _ column: Int) -> Int32 { 0x4000_0000 &+ table.oid &* 1024 &+ Int32(column) }

    /// A table's constraints as `pg_constraint` lists them: primary key and unique keys (with
    /// their index), checks, foreign keys (with the referenced table and key).
    struct ConstraintRow {
        var oid: Int32
        var name: String
        var type: String
        var table: Table
        var columns: [Int]
        var index: Int32 = 0
        var referenced: (table: Table, columns: [Int], restrict: Bool)?
        var definition: String
    }

    static func constraintRows(_ catalog: Catalog) -> [ConstraintRow] {
        var rows: [ConstraintRow] = []
        for table in catalog.allTables {
            var position = 0
            func next() -> Int32 { defer { position += 1 }; return constraintOID(table, position) }
            func names(_ columns: [Int], of table: Table) -> String { columns.map { table.columns[$0].name }.joined(separator: ", ") }
            for (index, key) in table.constraints.keys.enumerated() where key.isConstraint {
                let primary = key.kind == .primaryKey
                rows.append(ConstraintRow(oid: next(), name: key.name, type: primary ? "p" : "u", table: table, columns: key.columns,
                                          index: indexOID(table, index), definition: "\(primary ? "PRIMARY KEY" : "UNIQUE") (\(names(key.columns, of: table)))"))
            }
            for check in table.constraints.checks {
                rows.append(ConstraintRow(oid: next(), name: check.name, type: "c", table: table, columns: [], definition: "CHECK ((\(check.text)))"))
            }
            for foreign in table.constraints.foreignKeys {
                guard let parent = catalog.anyTable(foreign.table) else { continue }
                let index = parent.constraints.keys.firstIndex { $0.isUnique && Set($0.columns) == Set(foreign.referencedColumns) }
                rows.append(ConstraintRow(oid: next(), name: foreign.name, type: "f", table: table, columns: foreign.columns,
                                          index: index.map { indexOID(parent, $0) } ?? 0, referenced: (parent, foreign.referencedColumns, foreign.restrict),
                                          definition: "FOREIGN KEY (\(names(foreign.columns, of: table))) REFERENCES \(parent.name)(\(names(foreign.referencedColumns, of: parent)))"
                                              + (foreign.restrict ? " ON DELETE RESTRICT" : "")))
            }
        }
        return rows
    }

    /// `pg_get_constraintdef`'s text per constraint OID.
    public static func constraintDefinitions(_ catalog: Catalog) -> [(Int32, String)] { constraintRows(catalog).map { ($0.oid, $0.definition) } }

    /// `pg_get_indexdef`'s text per index OID.
    public static func indexDefinitions(_ catalog: Catalog) -> [(Int32, String)] {
        catalog.allTables.flatMap { table in
            table.constraints.keys.enumerated().map { index, key in
                (indexOID(table, index), "CREATE \(key.isUnique ? "UNIQUE " : "")INDEX \(key.name) ON public.\(table.name) USING btree ("
                    + key.columns.map { table.columns[$0].name }.joined(separator: ", ") + ")")
            }
        }
    }

    /// The index and sequence relations of `pg_class`.
    static func indexAndSequenceRelations(_ catalog: Catalog) -> [RelationInfo] {
        catalog.allTables.flatMap { table in
            table.constraints.keys.enumerated().map { index, key in
                RelationInfo(oid: indexOID(table, index), name: key.name, namespace: publicNamespace, kind: "i",
                             columns: key.columns.map { table.columns[$0] }, rowCount: table.rowCount)
            }
        } + catalog.allSequences.map { sequence in
            RelationInfo(oid: sequence.oid, name: sequence.name, namespace: publicNamespace, kind: "S",
                         columns: [ColumnInfo(name: "last_value", type: .bigint, notNull: true), ColumnInfo(name: "log_cnt", type: .bigint, notNull: true),
                                   ColumnInfo(name: "is_called", type: .boolean, notNull: true)], rowCount: 1)
        }
    }

    static let constraintRelations: [Relation] = [
        Relation("pg_index", 2610, """
            indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool indnullsnotdistinct:bool indisprimary:bool
            indisexclusion:bool indimmediate:bool indisclustered:bool indisvalid:bool indcheckxmin:bool indisready:bool indislive:bool
            indisreplident:bool indkey:text indcollation:text indclass:text indoption:text indexprs:text indpred:text
            """) { catalog, _ in
            catalog.allTables.flatMap { table in
                table.constraints.keys.enumerated().map { index, key -> [Value] in
                    let count = Int16(key.columns.count)
                    return [.oid(indexOID(table, index)), .oid(table.oid), .int16(count), .int16(count), .flag(key.isUnique), .flag(false),
                            .flag(key.kind == .primaryKey), .flag(false), .flag(true), .flag(false), .flag(true), .flag(false), .flag(true), .flag(true),
                            .flag(false), .text(key.columns.map { String($0 + 1) }.joined(separator: " ")),
                            .text(key.columns.map { _ in "0" }.joined(separator: " ")), .text(key.columns.map { _ in "0" }.joined(separator: " ")),
                            .text(key.columns.map { _ in "0" }.joined(separator: " ")), .null, .null]
                }
            }
        },
        Relation("pg_constraint", 2606, """
            oid:oid conname:name connamespace:oid contype:char condeferrable:bool condeferred:bool convalidated:bool conrelid:oid
            contypid:oid conindid:oid conparentid:oid confrelid:oid confupdtype:char confdeltype:char confmatchtype:char conislocal:bool
            coninhcount:int2 connoinherit:bool conkey:array confkey:array conpfeqop:array conppeqop:array conffeqop:array
            confdelsetcols:array conexclop:array conbin:text
            """) { catalog, _ in
            constraintRows(catalog).map { row in
                let array = { (columns: [Int]) -> Value in columns.isEmpty ? .null : .text("{" + columns.map { String($0 + 1) }.joined(separator: ",") + "}") }
                let foreign = row.type == "f"
                return [.oid(row.oid), .name(row.name), .oid(publicNamespace), .name(row.type), .flag(false), .flag(false), .flag(true), .oid(row.table.oid),
                        .oid(0), .oid(row.index), .oid(0), .oid(row.referenced?.table.oid ?? 0), .name(foreign ? "a" : " "),
                        .name(foreign ? (row.referenced!.restrict ? "r" : "a") : " "), .name(foreign ? "s" : " "), .flag(true), .int16(0), .flag(false),
                        array(row.columns), array(row.referenced?.columns ?? []), .null, .null, .null, .null, .null,
                        row.type == "c" ? .text(row.definition) : .null]
            }
        },
        Relation("pg_attrdef", 2604, "oid:oid adrelid:oid adnum:int2 adbin:text") { catalog, _ in
            catalog.allTables.flatMap { table in
                table.constraints.defaults.enumerated().compactMap { column, text -> [Value]? in
                    guard let text else { return nil }
                    return [.oid(defaultOID(table, column)), .oid(table.oid), .int16(Int16(column + 1)), .text(text)]
                }
            }
        },
        Relation("pg_sequence", 2224, "seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 seqmin:int8 seqcache:int8 seqcycle:bool") { catalog, _ in
            catalog.allSequences.map { sequence in
                [.oid(sequence.oid), .oid(PostgresType.oid(of: sequence.options.type)), .int64(sequence.options.start), .int64(sequence.options.increment),
                 .int64(sequence.options.maxValue), .int64(sequence.options.minValue), .int64(1), .flag(sequence.options.cycle)]
            }
        },
    ]
}
