import KilnCore

/// The `pg_catalog` relations, with PostgreSQL 16's columns.
extension SystemCatalog {
    static let pgCatalogRelations: [Relation] = [
        Relation("pg_namespace", 2615, "oid:oid nspname:name nspowner:oid nspacl:array") { _, _ in
            [[.oid(pgCatalogNamespace), .name("pg_catalog"), .oid(bootstrapRole), .null],
             [.oid(publicNamespace), .name("public"), .oid(bootstrapRole), .null],
             [.oid(informationSchemaNamespace), .name("information_schema"), .oid(bootstrapRole), .null]]
        },
        Relation("pg_class", 1259, """
            oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid relfilenode:oid reltablespace:oid
            relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid relhasindex:bool relisshared:bool relpersistence:char
            relkind:char relnatts:int2 relchecks:int2 relhasrules:bool relhastriggers:bool relhassubclass:bool relrowsecurity:bool
            relforcerowsecurity:bool relispopulated:bool relreplident:char relispartition:bool relrewrite:oid relfrozenxid:xid
            relminmxid:xid relacl:array reloptions:array relpartbound:text
            """) { catalog, _ in
            allRelations(catalog).map { r in
                [.oid(r.oid), .name(r.name), .oid(r.namespace), .oid(0), .oid(0), .oid(bootstrapRole), .oid(r.kind == "r" ? 2 : r.kind == "i" ? 403 : 0),
                 .oid(r.kind == "r" ? r.oid : 0), .oid(0), .int32(0), .float32(Float(r.rowCount)), .int32(0), .oid(0), .flag(r.hasIndex),
                 .flag(false), .name("p"), .name(r.kind), .int16(Int16(r.columns.count)), .int16(Int16(r.checks)), .flag(r.kind == "v"), .flag(r.hasTriggers),
                 .flag(false), .flag(false), .flag(false), .flag(true), .name(r.kind == "r" ? "d" : "n"), .flag(false), .oid(0), .int32(0),
                 .int32(0), .null, .null, .null]
            }
        },
        Relation("pg_attribute", 1249, """
            attrelid:oid attname:name atttypid:oid attlen:int2 attnum:int2 attcacheoff:int4 atttypmod:int4 attndims:int2
            attbyval:bool attalign:char attstorage:char attcompression:char attnotnull:bool atthasdef:bool atthasmissing:bool
            attidentity:char attgenerated:char attisdropped:bool attislocal:bool attinhcount:int2 attstattarget:int2
            attcollation:oid attacl:array attoptions:array attfdwoptions:array attmissingval:text
            """) { catalog, _ in
            allRelations(catalog).flatMap { r in
                let constraints = r.kind == "r" ? catalog.table(oid: r.oid)?.constraints : nil
                return r.columns.enumerated().map { index, column -> [Value] in
                    let type = PostgresType.oid(of: column.type)
                    let entry = PostgresType.entry(type)
                    let hasDefault: Bool = constraints.map { $0.defaults[index] != nil } ?? false
                    let identity: String = constraints.map { $0.alwaysGenerated.contains(index) ? "a" : "" } ?? ""
                    var row: [Value] = [.oid(r.oid), .name(column.name), .oid(type), .int16(PostgresType.length(of: column.type)), .int16(Int16(index + 1)),
                                        .int32(-1), .int32(PostgresType.modifier(of: column.type)), .int16(0), .flag(entry?.byValue ?? false)]
                    row += [.name(entry?.align ?? "i"), .name(entry?.storage ?? "p"), .name(""), .flag(column.notNull), .flag(hasDefault), .flag(false)]
                    row += [.name(identity), .name(""), .flag(false), .flag(true), .int16(0), .int16(-1),
                            .oid(column.type.isString ? defaultCollation : 0), .null, .null, .null, .null]
                    return row
                }
            }
        },
        Relation("pg_type", 1247, """
            oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool typtype:char typcategory:char
            typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typsubscript:regproc typelem:oid typarray:oid
            typinput:regproc typoutput:regproc typreceive:regproc typsend:regproc typmodin:regproc typmodout:regproc
            typanalyze:regproc typalign:char typstorage:char typnotnull:bool typbasetype:oid typtypmod:int4 typndims:int4
            typcollation:oid typdefaultbin:text typdefault:text typacl:array
            """) { _, _ in
            PostgresType.entries.map { t in
                [.oid(t.oid), .name(t.name), .oid(pgCatalogNamespace), .oid(bootstrapRole), .int16(t.length), .flag(t.byValue),
                 .name(t.oid == PostgresType.unknown ? "p" : "b"), .name(t.category),
                 .flag([PostgresType.bool, PostgresType.float8, PostgresType.text, PostgresType.oid, PostgresType.timestamptz, PostgresType.interval].contains(t.oid)),
                 .flag(true), .name(","), .oid(0), .text(t.elementOID != 0 ? "array_subscript_handler" : "-"), .oid(t.elementOID),
                 .oid(t.arrayOID), .text(t.input), .text(t.output), .text(t.input.replacingSuffix("in", with: "recv")),
                 .text(t.output.replacingSuffix("out", with: "send")), .text("-"), .text("-"), .text("-"), .name(t.align), .name(t.storage),
                 .flag(false), .oid(0), .int32(-1), .int32(0), .oid(t.category == "S" ? defaultCollation : 0), .null, .null, .null]
            }
        },
        Relation("pg_database", 1262, """
            oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool datallowconn:bool
            datconnlimit:int4 datfrozenxid:xid datminmxid:xid dattablespace:oid datcollate:text datctype:text
            daticulocale:text daticurules:text datcollversion:text datacl:array
            """) { _, session in
            [[.oid(databaseOID), .name(session.database), .oid(bootstrapRole), .int32(6), .name("c"), .flag(false), .flag(true),
              .int32(-1), .int32(0), .int32(1), .oid(1663), .text("C"), .text("C"), .null, .null, .null, .null]]
        },
        Relation("pg_authid", 1260, """
            oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool
            rolreplication:bool rolbypassrls:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:text
            """) { catalog, _ in
            allRoles(catalog).map { r in
                [.oid(r.oid), .name(r.name), .flag(r.superuser), .flag(true), .flag(r.superuser), .flag(r.superuser), .flag(r.login),
                 .flag(false), .flag(r.superuser), .int32(-1), r.password.map(Value.text) ?? .null, .null]
            }
        },
        Relation("pg_roles", 12_001, view: true, """
            rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool rolreplication:bool
            rolconnlimit:int4 rolpassword:text rolvaliduntil:text rolbypassrls:bool rolconfig:array oid:oid
            """) { catalog, _ in
            allRoles(catalog).map { r in
                [.name(r.name), .flag(r.superuser), .flag(true), .flag(r.superuser), .flag(r.superuser), .flag(r.login), .flag(false),
                 .int32(-1), .text("********"), .null, .flag(r.superuser), .null, .oid(r.oid)]
            }
        },
        Relation("pg_user", 12_002, view: true, """
            usename:name usesysid:oid usecreatedb:bool usesuper:bool userepl:bool usebypassrls:bool passwd:text valuntil:text useconfig:array
            """) { catalog, _ in
            allRoles(catalog).filter(\.login).map { r in
                [.name(r.name), .oid(r.oid), .flag(r.superuser), .flag(r.superuser), .flag(false), .flag(r.superuser), .text("********"), .null, .null]
            }
        },
        Relation("pg_am", 2601, "oid:oid amname:name amhandler:regproc amtype:char") { _, _ in
            [[.oid(2), .name("heap"), .text("heap_tableam_handler"), .name("t")],
             [.oid(403), .name("btree"), .text("bthandler"), .name("i")],
             [.oid(405), .name("hash"), .text("hashhandler"), .name("i")]]
        },
        Relation("pg_tablespace", 1213, "oid:oid spcname:name spcowner:oid spcacl:array spcoptions:array") { _, _ in
            [[.oid(1663), .name("pg_default"), .oid(bootstrapRole), .null, .null], [.oid(1664), .name("pg_global"), .oid(bootstrapRole), .null, .null]]
        },
        Relation("pg_collation", 3456, """
            oid:oid collname:name collnamespace:oid collowner:oid collprovider:char collisdeterministic:bool collencoding:int4
            collcollate:text collctype:text colliculocale:text collicurules:text collversion:text
            """) { _, _ in
            [[.oid(100), .name("default"), .oid(pgCatalogNamespace), .oid(bootstrapRole), .name("d"), .flag(true), .int32(-1), .null, .null, .null, .null, .null],
             [.oid(950), .name("C"), .oid(pgCatalogNamespace), .oid(bootstrapRole), .name("c"), .flag(true), .int32(-1), .text("C"), .text("C"), .null, .null, .null],
             [.oid(951), .name("POSIX"), .oid(pgCatalogNamespace), .oid(bootstrapRole), .name("c"), .flag(true), .int32(-1), .text("POSIX"), .text("POSIX"), .null, .null, .null]]
        },
        Relation("pg_settings", 12_003, view: true, """
            name:text setting:text unit:text category:text short_desc:text extra_desc:text context:text vartype:text source:text
            min_val:text max_val:text enumvals:array boot_val:text reset_val:text sourcefile:text sourceline:int4 pending_restart:bool
            """) { _, session in
            session.settings.sorted { $0.key < $1.key }.map { name, value in
                [.text(name), .text(value), .null, .text("Kiln"), .null, .null, .text("user"), .text("string"), .text("session"),
                 .null, .null, .null, .null, .null, .null, .null, .flag(false)]
            }
        },
        // Relations Kiln has no rows for (no inheritance, comments, triggers, rules, policies,
        // publications, functions), with their columns, so that the catalog queries of clients
        // bind and find nothing. (Indexes, constraints, defaults, sequences: PgCatalog+Constraints.)
        Relation("pg_inherits", 2611, "inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool"),
        Relation("pg_description", 2609, "objoid:oid classoid:oid objsubid:int4 description:text"),
        Relation("pg_shdescription", 2396, "objoid:oid classoid:oid description:text"),
        Relation("pg_trigger", 2620, """
            oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 tgenabled:char tgisinternal:bool tgconstrrelid:oid
            tgconstrindid:oid tgconstraint:oid tgdeferrable:bool tginitdeferred:bool tgnargs:int2 tgattr:text tgargs:text tgqual:text
            tgoldtable:name tgnewtable:name
            """),
        Relation("pg_rewrite", 2618, "oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char is_instead:bool ev_qual:text ev_action:text"),
        Relation("pg_policy", 3256, "oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:array polqual:text polwithcheck:text"),
        Relation("pg_statistic_ext", 3381, """
            oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid stxstattarget:int4 stxkeys:text stxkind:array stxexprs:text
            """),
        Relation("pg_publication", 6104, """
            oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool pubupdate:bool pubdelete:bool pubtruncate:bool pubviaroot:bool
            """),
        Relation("pg_publication_rel", 6106, "oid:oid prpubid:oid prrelid:oid prqual:text prattrs:text"),
        Relation("pg_publication_namespace", 6237, "oid:oid pnpubid:oid pnnspid:oid"),
        Relation("pg_partitioned_table", 3350, "partrelid:oid partstrat:char partnatts:int2 partdefid:oid partattrs:text partclass:text partcollation:text partexprs:text"),
        Relation("pg_foreign_table", 3118, "ftrelid:oid ftserver:oid ftoptions:array"),
        Relation("pg_depend", 2608, "classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 deptype:char"),
        Relation("pg_extension", 3079, "oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool extversion:text extconfig:array extcondition:array"),
        Relation("pg_proc", 1255, """
            oid:oid proname:name pronamespace:oid proowner:oid prolang:oid procost:float4 prorows:float4 provariadic:oid
            prosupport:regproc prokind:char prosecdef:bool proleakproof:bool proisstrict:bool proretset:bool provolatile:char
            proparallel:char pronargs:int2 pronargdefaults:int2 prorettype:oid proargtypes:text proallargtypes:array
            proargmodes:array proargnames:array proargdefaults:text protrftypes:array prosrc:text probin:text prosqlbody:text
            proconfig:array proacl:array
            """),
        Relation("pg_event_trigger", 3466, "oid:oid evtname:name evtevent:name evtowner:oid evtfoid:oid evtenabled:char evttags:array"),
        Relation("pg_foreign_data_wrapper", 2328, "oid:oid fdwname:name fdwowner:oid fdwhandler:oid fdwvalidator:oid fdwacl:array fdwoptions:array"),
        Relation("pg_foreign_server", 1417, "oid:oid srvname:name srvowner:oid srvfdw:oid srvtype:text srvversion:text srvacl:array srvoptions:array"),
        Relation("pg_enum", 3501, "oid:oid enumtypid:oid enumsortorder:float4 enumlabel:name"),
        Relation("pg_range", 3541, "rngtypid:oid rngsubtype:oid rngmultitypid:oid rngcollation:oid rngsubopc:oid rngcanonical:regproc rngsubdiff:regproc"),
        Relation("pg_opclass", 2616, "oid:oid opcmethod:oid opcname:name opcnamespace:oid opcowner:oid opcfamily:oid opcintype:oid opcdefault:bool opckeytype:oid"),
        Relation("pg_operator", 2617, """
            oid:oid oprname:name oprnamespace:oid oprowner:oid oprkind:char oprcanmerge:bool oprcanhash:bool oprleft:oid oprright:oid
            oprresult:oid oprcom:oid oprnegate:oid oprcode:regproc oprrest:regproc oprjoin:regproc
            """),
        Relation("pg_language", 2612, "oid:oid lanname:name lanowner:oid lanispl:bool lanpltrusted:bool lanplcallfoid:oid laninline:oid lanvalidator:oid lanacl:array") { _, _ in
            [[.oid(12), .name("internal"), .oid(bootstrapRole), .flag(false), .flag(false), .oid(0), .oid(0), .oid(0), .null],
             [.oid(14), .name("sql"), .oid(bootstrapRole), .flag(false), .flag(true), .oid(0), .oid(0), .oid(0), .null]]
        },
        Relation("pg_stat_activity", 12_004, view: true, """
            datid:oid datname:name pid:int4 leader_pid:int4 usesysid:oid usename:name application_name:text client_addr:text
            client_hostname:text client_port:int4 backend_start:timestamptz xact_start:timestamptz query_start:timestamptz
            state_change:timestamptz wait_event_type:text wait_event:text state:text backend_xid:xid backend_xmin:xid query_id:int8
            query:text backend_type:text
            """),
        // PostgreSQL's WAL statistics (one row; zeros in memory). wal_records counts the
        // changes and commit records; wal_fpi and wal_buffers_full have no counterpart.
        Relation("pg_stat_wal", 12_030, view: true, """
            wal_records:int8 wal_fpi:int8 wal_bytes:int8 wal_buffers_full:int8 wal_write:int8 wal_sync:int8
            wal_write_time:float8 wal_sync_time:float8 stats_reset:timestamptz
            """) { _, session in
            let wal = session.store?.walStatistics ?? WALStatistics()
            return [[.int64(Int64(wal.records)), .int64(0), .int64(Int64(wal.bytes)), .int64(0), .int64(Int64(wal.writes)), .int64(Int64(wal.syncs)),
                     .float64(Double(wal.writeNanoseconds) / 1e6), .float64(Double(wal.syncNanoseconds) / 1e6), .null]]
        },
    ]
}

extension String {
    /// `boolin` -> `boolrecv`: the binary I/O function names follow the text ones.
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self + "_" + replacement
    }
}
