import KilnCore

/// The `information_schema` views (the SQL standard's catalog) that tools read most.
extension SystemCatalog {
    static let informationSchemaRelations: [Relation] = [
        Relation("schemata", 13_001, namespace: informationSchemaNamespace, view: true, """
            catalog_name:text schema_name:text schema_owner:text default_character_set_catalog:text
            default_character_set_schema:text default_character_set_name:text sql_path:text
            """) { _, session in
            ["pg_catalog", "public", "information_schema"].map {
                [.text(session.database), .text($0), .text(Role.bootstrapName), .null, .null, .null, .null]
            }
        },
        Relation("tables", 13_002, namespace: informationSchemaNamespace, view: true, """
            table_catalog:text table_schema:text table_name:text table_type:text self_referencing_column_name:text
            reference_generation:text user_defined_type_catalog:text user_defined_type_schema:text user_defined_type_name:text
            is_insertable_into:text is_typed:text commit_action:text
            """) { catalog, session in
            allRelations(catalog).map { r in
                [.text(session.database), .text(schemaName(r.namespace)), .text(r.name), .text(r.kind == "v" ? "VIEW" : "BASE TABLE"),
                 .null, .null, .null, .null, .null, .text(r.kind == "r" && r.namespace == publicNamespace ? "YES" : "NO"), .text("NO"), .null]
            }
        },
        Relation("columns", 13_003, namespace: informationSchemaNamespace, view: true, """
            table_catalog:text table_schema:text table_name:text column_name:text ordinal_position:int4 column_default:text
            is_nullable:text data_type:text character_maximum_length:int4 character_octet_length:int4 numeric_precision:int4
            numeric_precision_radix:int4 numeric_scale:int4 datetime_precision:int4 interval_type:text interval_precision:int4
            character_set_catalog:text character_set_schema:text character_set_name:text collation_catalog:text
            collation_schema:text collation_name:text domain_catalog:text domain_schema:text domain_name:text udt_catalog:text
            udt_schema:text udt_name:text scope_catalog:text scope_schema:text scope_name:text maximum_cardinality:int4
            dtd_identifier:text is_self_referencing:text is_identity:text identity_generation:text identity_start:text
            identity_increment:text identity_maximum:text identity_minimum:text identity_cycle:text is_generated:text
            generation_expression:text is_updatable:text
            """) { catalog, session in
            allRelations(catalog).flatMap { r in
                r.columns.enumerated().map { index, column -> [Value] in
                    let oid = PostgresType.oid(of: column.type)
                    let entry = PostgresType.entry(oid)
                    var length: Value = .null, octets: Value = .null, precision: Value = .null, radix: Value = .null, scale: Value = .null
                    var datetime: Value = .null
                    switch column.type {
                    case .varchar(let n):
                        length = n.map { .int32(Int32($0)) } ?? .null
                        octets = n.map { .int32(Int32($0 * 4)) } ?? .int32(1_073_741_824)
                    case .text: octets = .int32(1_073_741_824)
                    case .smallint: precision = .int32(16); radix = .int32(2); scale = .int32(0)
                    case .integer: precision = .int32(32); radix = .int32(2); scale = .int32(0)
                    case .bigint: precision = .int32(64); radix = .int32(2); scale = .int32(0)
                    case .real: precision = .int32(24); radix = .int32(2)
                    case .double: precision = .int32(53); radix = .int32(2)
                    case .numeric(let p, let s):
                        radix = .int32(10)
                        if let p { precision = .int32(Int32(p)); scale = .int32(Int32(s)) }
                    case .dynamicNumeric: radix = .int32(10)
                    case .date: datetime = .int32(0)
                    case .timestamp, .interval: datetime = .int32(6)
                    default: break
                    }
                    return [.text(session.database), .text(schemaName(r.namespace)), .text(r.name), .text(column.name), .int32(Int32(index + 1)),
                            .null, .text(column.notNull ? "NO" : "YES"), .text(entry?.sqlName ?? "USER-DEFINED"), length, octets, precision, radix, scale,
                            datetime, .null, .null, .null, .null, .null,
                            column.type.isString ? .text(session.database) : .null, column.type.isString ? .text("pg_catalog") : .null,
                            column.type.isString ? .text("default") : .null, .null, .null, .null, .text(session.database), .text("pg_catalog"),
                            .text(entry?.name ?? "unknown"), .null, .null, .null, .null, .text(String(index + 1)), .text("NO"), .text("NO"),
                            .null, .null, .null, .null, .null, .text("NO"), .text("NEVER"), .null,
                            .text(r.kind == "r" && r.namespace == publicNamespace ? "YES" : "NO")]
                }
            }
        },
        Relation("views", 13_004, namespace: informationSchemaNamespace, view: true, """
            table_catalog:text table_schema:text table_name:text view_definition:text check_option:text is_updatable:text
            is_insertable_into:text is_trigger_updatable:text is_trigger_deletable:text is_trigger_insertable_into:text
            """) { catalog, session in
            catalog.allViews.map { view in
                [.text(session.database), .text("public"), .text(view.name), .null, .text("NONE"), .text("NO"), .text("NO"), .text("NO"), .text("NO"), .text("NO")]
            }
        },
    ]

    public static func schemaName(_ namespace: Int32) -> String {
        switch namespace {
        case pgCatalogNamespace: return "pg_catalog"
        case informationSchemaNamespace: return "information_schema"
        default: return "public"
        }
    }
}
