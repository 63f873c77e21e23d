import KilnCore

/// A type name as written in SQL (`NUMERIC(15,2)`, `VARCHAR(25)`, `DOUBLE PRECISION`).
public struct TypeName: Sendable, Equatable {
    public var type: SQLType
    public var position: Int
    /// The PostgreSQL name when it means more than `type` says: `oid`, `regclass`, `regtype`,
    /// `regproc`, `regnamespace`, `regrole`, `name` (stored as integer or text).
    public var alias: String?
    /// `type[]`: arrays travel in their text form (`{a,b}`).
    public var isArray = false
    public init(type: SQLType, position: Int, alias: String? = nil) {
        self.type = type
        self.position = position
        self.alias = alias
    }
}

/// A scalar expression with the position of its first token.
public struct Expression: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        case integer(String)
        case decimal(String)
        case string(String)
        case boolean(Bool)
        case null
        /// `DATE '...'`, `INTERVAL '...'`, `TIMESTAMP '...'`: a string literal with a type.
        case typedLiteral(TypeName, String)
        /// `a`, `t.a`
        case column([String])
        case parameter(Int)
        case unary(String, Expression)
        case binary(String, Expression, Expression)
        case isNull(Expression, negated: Bool)
        /// `IS [NOT] TRUE/FALSE`
        case isBool(Expression, Bool, negated: Bool)
        case between(Expression, Expression, Expression, negated: Bool)
        case inList(Expression, [Expression], negated: Bool)
        /// `x [NOT] IN (SELECT ...)`
        case inSubquery(Expression, SelectStatement, negated: Bool)
        /// `EXISTS (SELECT ...)`
        case exists(SelectStatement)
        /// `(SELECT ...)` used as a value.
        case scalarSubquery(SelectStatement)
        /// `ARRAY(SELECT ...)`: the first column of every row, as an array (in its text form).
        case arraySubquery(SelectStatement)
        /// `x op ANY|SOME|ALL (SELECT ...)`
        case quantified(String, Expression, SelectStatement, all: Bool)
        case like(Expression, Expression, escape: Expression?, caseInsensitive: Bool, negated: Bool)
        case caseWhen(operand: Expression?, whens: [(Expression, Expression)], otherwise: Expression?)
        case cast(Expression, TypeName)
        /// `name([DISTINCT] args [ORDER BY ...])`: `orderBy` is an aggregate's own order of its
        /// input (string_agg's order; the other aggregates do not depend on it).
        case function(name: String, arguments: [Expression], distinct: Bool, star: Bool, orderBy: [OrderItem] = [])
        /// `name(args) OVER (PARTITION BY ... ORDER BY ... frame)`
        case window(name: String, arguments: [Expression], star: Bool, WindowSpecification)
        case extract(field: String, Expression)
        /// `SUBSTRING(x FROM a FOR b)`, `POSITION(a IN b)`, `TRIM(...)` are normalised to `function`.

        public static func == (lhs: Kind, rhs: Kind) -> Bool { "\(lhs)" == "\(rhs)" }
    }
    public var kind: Kind
    public var position: Int
    /// Levels of expressions in this tree (1 for a leaf; a subquery counts as a leaf: its own
    /// nesting is the parser's recursion), computed when the node is made. The parser bounds
    /// it (`Parser.maxExpressionHeight`), so every recursive pass over the tree, its
    /// comparison and its deallocation, has a bounded depth.
    public let height: Int
    public init(_ kind: Kind, at position: Int) {
        self.kind = kind
        self.position = position
        height = 1 + kind.childHeight
    }
}

extension Expression.Kind {
    /// The greatest height among the direct children (0 for a leaf).
    var childHeight: Int {
        func most(_ expressions: [Expression]) -> Int { expressions.reduce(0) { max($0, $1.height) } }
        switch self {
        case .integer, .decimal, .string, .boolean, .null, .typedLiteral, .column, .parameter, .exists, .scalarSubquery, .arraySubquery:
            return 0
        case .unary(_, let a), .isNull(let a, _), .isBool(let a, _, _), .inSubquery(let a, _, _), .quantified(_, let a, _, _),
             .cast(let a, _), .extract(_, let a):
            return a.height
        case .binary(_, let a, let b): return max(a.height, b.height)
        case .between(let a, let b, let c, _): return most([a, b, c])
        case .inList(let a, let list, _): return max(a.height, most(list))
        case .like(let a, let b, let escape, _, _): return max(most([a, b]), escape?.height ?? 0)
        case .caseWhen(let operand, let whens, let otherwise):
            // The lowering nests one conditional per WHEN: a level each.
            return whens.count + max(operand?.height ?? 0, otherwise?.height ?? 0, whens.reduce(0) { max($0, $1.0.height, $1.1.height) })
        case .function(let name, let arguments, _, _, let orderBy):
            // COALESCE (and its spellings) nests one conditional per argument, like CASE.
            return (["coalesce", "ifnull", "nvl"].contains(name) ? arguments.count : 0) + max(most(arguments), most(orderBy.map(\.expression)))
        case .window(_, let arguments, _, let window):
            return max(most(arguments), most(window.partitionBy), most(window.orderBy.map(\.expression)))
        }
    }
}

/// The `OVER (...)` of a window function.
public struct WindowSpecification: Sendable, Equatable {
    public var partitionBy: [Expression] = []
    public var orderBy: [OrderItem] = []
    /// nil: the default frame (RANGE UNBOUNDED PRECEDING .. CURRENT ROW with ORDER BY, else
    /// the whole partition).
    public var frame: WindowFrame?
    public init() {}
}

/// `ROWS|RANGE BETWEEN start AND end`.
public struct WindowFrame: Sendable, Equatable {
    public enum Bound: Sendable, Equatable {
        case unboundedPreceding
        case preceding(Expression)
        case currentRow
        case following(Expression)
        case unboundedFollowing
    }
    public var rows: Bool
    public var start: Bound
    public var end: Bound
    public var position: Int
    public init(rows: Bool, start: Bound, end: Bound, position: Int) {
        self.rows = rows
        self.start = start
        self.end = end
        self.position = position
    }
}

/// One item of a select list.
public enum SelectItem: Sendable, Equatable {
    case star(qualifier: String?, position: Int)
    case expression(Expression, alias: String?)
}

/// A table source in FROM.
public indirect enum TableReference: Sendable, Equatable {
    case table(name: String, alias: String?, position: Int)
    /// `generate_series(a, b [, step]) [AS] alias[(column)]`
    case function(name: String, arguments: [Expression], alias: String?, columnAlias: String?, position: Int)
    /// `(SELECT ...) [AS] alias [(column, ...)]`
    case subquery(SelectStatement, alias: String, columns: [String]?, position: Int)
    /// `LATERAL (SELECT ...) [AS] alias [(column, ...)]`: may read the FROM items before it.
    case lateral(SelectStatement, alias: String, columns: [String]?, position: Int)
    /// `left [NATURAL] [INNER|LEFT|RIGHT|FULL|CROSS] JOIN right [ON condition | USING (columns)]`
    /// (either side may be a parenthesised join).
    case join(TableReference, TableReference, kind: JoinKind, constraint: JoinConstraint?, position: Int)
}

/// How a join matches rows (none: a cross join).
public enum JoinConstraint: Sendable, Equatable {
    case on(Expression)
    /// `USING (a, b)`: equal values of the named columns, which appear once in the result.
    case using([String], position: Int)
    /// `NATURAL`: USING every column name both sides have.
    case natural
}

public enum JoinKind: String, Sendable, Equatable {
    case inner, left, right, full, cross
}

public struct OrderItem: Sendable, Equatable {
    public var expression: Expression
    public var descending: Bool
    /// nil: PostgreSQL's default (NULLS LAST for ASC, NULLS FIRST for DESC).
    public var nullsFirst: Bool?
}

/// `name [(columns)] AS (query)` of a WITH clause.
public struct CommonTableExpression: Sendable, Equatable {
    public var name: String
    public var columns: [String]?
    public var query: SelectStatement
    public var position: Int
    /// `AS MATERIALIZED` (true), `AS NOT MATERIALIZED` (false), or neither (nil).
    public var materialized: Bool? = nil
    /// How many table references in the statement spell its name (an upper bound of its
    /// uses: a nested WITH query of the same name counts too).
    public var references = 0
}

public enum SetOperator: String, Sendable, Equatable {
    case union, intersect, except
}

/// `left UNION|INTERSECT|EXCEPT [ALL] right`.
public indirect enum SetOperation: Sendable, Equatable {
    case combine(SetOperator, all: Bool, SelectStatement, SelectStatement)
}

/// `SELECT ...` (one query block with its ORDER BY / LIMIT), or a set operation over two
/// queries (`setOperation`; then ORDER BY / LIMIT / WITH apply to its result).
public struct SelectStatement: Sendable, Equatable {
    public var setOperation: SetOperation?
    /// Non-recursive WITH: names visible in this query and its subqueries.
    public var with: [CommonTableExpression] = []
    public var distinct = false
    public var items: [SelectItem] = []
    public var from: [TableReference] = []
    public var whereClause: Expression?
    public var groupBy: [Expression] = []
    /// ROLLUP, CUBE and GROUPING SETS, expanded: each grouping set as indexes into `groupBy`
    /// (nil: plain GROUP BY, one set of every expression).
    public var groupingSets: [[Int]]?
    public var having: Expression?
    public var orderBy: [OrderItem] = []
    public var limit: Expression?
    public var offset: Expression?
    /// `FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF t, ...] [NOWAIT | SKIP LOCKED]`,
    /// one entry per clause.
    public var locking: [RowLocking] = []
    public var position = 1
    public init() {}

    public init(combining op: SetOperator, all: Bool, _ left: SelectStatement, _ right: SelectStatement, position: Int) {
        setOperation = .combine(op, all: all, left, right)
        self.position = position
    }
}

/// A SELECT's row-locking clause: the rows it returns are locked until the transaction ends.
public struct RowLocking: Sendable, Equatable {
    public enum Strength: String, Sendable {
        case update = "UPDATE", noKeyUpdate = "NO KEY UPDATE", share = "SHARE", keyShare = "KEY SHARE"
        /// UPDATE and NO KEY UPDATE exclude every other lock; SHARE and KEY SHARE only those.
        public var exclusive: Bool { self == .update || self == .noKeyUpdate }
        /// Weakest first (a table several clauses name takes the strongest).
        public var rank: Int { [.keyShare, .share, .noKeyUpdate, .update].firstIndex(of: self)! }
    }
    /// Strongest last (NOWAIT wins over SKIP LOCKED, which wins over waiting).
    public enum Waiting: Int, Sendable { case wait, skipLocked, noWait }
    public var strength: Strength
    /// `OF` names (tables or aliases); empty: every table of the FROM clause.
    public var tables: [String]
    public var waiting: Waiting
    public var position: Int

    public init(strength: Strength, tables: [String], waiting: Waiting, position: Int) {
        self.strength = strength
        self.tables = tables
        self.waiting = waiting
        self.position = position
    }
}

public struct ColumnDefinition: Sendable, Equatable {
    public var name: String
    public var type: TypeName
    public var notNull: Bool
    public var position: Int
    /// `DEFAULT expr`: the expression and its SQL text (what the catalog keeps).
    public var defaultValue: (expression: Expression, text: String)?
    /// SERIAL types and identity columns: values from a sequence of their own.
    public var generated: GeneratedColumn?

    public init(name: String, type: TypeName, notNull: Bool, position: Int, defaultValue: (expression: Expression, text: String)? = nil) {
        self.name = name
        self.type = type
        self.notNull = notNull
        self.position = position
        self.defaultValue = defaultValue
    }

    public static func == (a: ColumnDefinition, b: ColumnDefinition) -> Bool {
        a.name == b.name && a.type == b.type && a.notNull == b.notNull && a.position == b.position && a.defaultValue?.text == b.defaultValue?.text
            && a.generated == b.generated
    }
}

/// A column whose default is the next value of a sequence made for it.
public enum GeneratedColumn: Sendable, Equatable {
    /// `SERIAL`, `BIGSERIAL`, `SMALLSERIAL`.
    case serial
    /// `GENERATED ALWAYS | BY DEFAULT AS IDENTITY [(options)]`.
    case identity(always: Bool, options: SequenceDefinition)
}

/// CREATE SEQUENCE's options as written (nil: not given; `.some(nil)` for MINVALUE / MAXVALUE:
/// NO MINVALUE / NO MAXVALUE).
public struct SequenceDefinition: Sendable, Equatable {
    public var type: TypeName?
    public var increment: Int64?
    public var minValue: Int64??
    public var maxValue: Int64??
    public var start: Int64?
    public var cycle: Bool?
    /// `OWNED BY table.column`.
    public var ownedBy: [String]?
    public init() {}
}

/// What a foreign key does when a referenced row is deleted or its key updated.
public enum ReferentialAction: String, Sendable, Equatable {
    case noAction = "NO ACTION"
    case restrict = "RESTRICT"
    case cascade = "CASCADE"
    case setNull = "SET NULL"
    case setDefault = "SET DEFAULT"
}

/// A table constraint of CREATE TABLE or ALTER TABLE ... ADD (column constraints are
/// turned into these, naming their column).
public struct TableConstraint: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case primaryKey(columns: [String])
        case unique(columns: [String])
        /// `text`: the expression's SQL text (what the catalog keeps).
        case check(Expression, text: String)
        /// `referencedColumns` nil: the referenced table's primary key.
        case foreignKey(columns: [String], table: String, referencedColumns: [String]?, onDelete: ReferentialAction, onUpdate: ReferentialAction)
    }
    public var name: String?
    public var kind: Kind
    public var position: Int
    public init(name: String?, kind: Kind, position: Int) {
        self.name = name
        self.kind = kind
        self.position = position
    }
}

/// What ALTER TABLE does.
public enum AlterTableAction: Sendable, Equatable {
    case addConstraint(TableConstraint)
    case dropConstraint(name: String, ifExists: Bool, position: Int)
}

/// Where FETCH / MOVE go: NEXT is forward 1, PRIOR backward 1, FIRST absolute 1, LAST absolute -1.
public enum FetchDirection: Sendable, Equatable {
    /// nil: ALL.
    case forward(Int?)
    case backward(Int?)
    case absolute(Int)
    case relative(Int)
}

/// Options of CREATE / ALTER ROLE; nil leaves a property as it is (or at its default).
public struct RoleOptions: Sendable, Equatable {
    /// `.some(nil)`: `PASSWORD NULL`.
    public var password: String??
    public var login: Bool?
    public var superuser: Bool?
    public init() {}
}

/// COPY options (`WITH (FORMAT csv, DELIMITER '|', HEADER true, NULL '')`).
public struct CopyOptions: Sendable, Equatable {
    public var format = "text"
    public var delimiter: Character?
    public var header = false
    public var null: String?
    public var quote: Character = "\""
    public init() {}
}

/// `EXPLAIN` variants.
public enum ExplainMode: Sendable, Equatable {
    case plan
    case pipelines
    /// `EXPLAIN (IR high|mid|low|llvm)`
    case ir(String)
    /// `EXPLAIN ANALYZE`: runs the query; per pipeline rows, time, morsels per program, and
    /// the compile times of its code.
    case analyze
}

/// A statement of Kiln's SQL dialect.
public indirect enum Statement: Sendable, Equatable {
    case createTable(name: String, columns: [ColumnDefinition], constraints: [TableConstraint], ifNotExists: Bool, position: Int)
    /// `CREATE TABLE name [(columns)] AS query [WITH [NO] DATA]`: the query's columns (renamed
    /// by `columns`, which may name fewer) and, with data, its rows.
    case createTableAs(name: String, columns: [String]?, query: SelectStatement, withData: Bool, ifNotExists: Bool, position: Int)
    case alterTable(name: String, actions: [AlterTableAction], ifExists: Bool, position: Int)
    /// `CREATE [UNIQUE] INDEX [name] ON table (columns)` (name nil: one is made up).
    case createIndex(name: String?, table: String, columns: [String], unique: Bool, ifNotExists: Bool, position: Int)
    case dropIndex(names: [String], ifExists: Bool, position: Int)
    case createSequence(name: String, options: SequenceDefinition, ifNotExists: Bool, position: Int)
    case dropSequence(names: [String], ifExists: Bool, position: Int)
    case dropTable(names: [String], ifExists: Bool, position: Int)
    /// `definition` is the query's SQL text (what a database directory keeps).
    case createView(name: String, columns: [String]?, query: SelectStatement, definition: String, orReplace: Bool, position: Int)
    case dropView(names: [String], ifExists: Bool, position: Int)
    /// `returning`: the RETURNING list (empty: none).
    case insertValues(table: String, columns: [String]?, rows: [[Expression]], returning: [SelectItem], position: Int)
    case insertSelect(table: String, columns: [String]?, query: SelectStatement, returning: [SelectItem], position: Int)
    /// `file` nil: `FROM STDIN` (the data comes through the client protocol).
    case copyFrom(table: String, columns: [String]?, file: String?, options: CopyOptions, position: Int)
    /// `file` nil: `TO STDOUT`.
    case copyTo(query: SelectStatement, file: String?, options: CopyOptions, position: Int)
    case select(SelectStatement)
    case explain(ExplainMode, Statement)
    case set(name: String, value: String, position: Int)
    case reset(name: String)
    case show(name: String, position: Int)
    case begin(TransactionModes)
    case commit, rollback
    case savepoint(name: String, position: Int)
    case releaseSavepoint(name: String, position: Int)
    case rollbackToSavepoint(name: String, position: Int)
    case delete(DeleteStatement)
    case update(UpdateStatement)
    case upsert(UpsertStatement)
    case truncate(tables: [String], position: Int)
    /// `CREATE ROLE` / `CREATE USER` (USER implies LOGIN).
    case createRole(name: String, options: RoleOptions, position: Int)
    case alterRole(name: String, options: RoleOptions, position: Int)
    case dropRole(names: [String], ifExists: Bool, position: Int)
    /// `PREPARE name [(types)] AS statement`.
    case prepare(name: String, parameterTypes: [TypeName], statement: Statement, position: Int)
    /// `EXECUTE name [(arguments)]`.
    case execute(name: String, arguments: [Expression], position: Int)
    /// `DEALLOCATE [PREPARE] name | ALL` (name nil: all).
    case deallocate(name: String?, position: Int)
    /// `DISCARD ALL | PLANS | ...`.
    case discard(what: String)
    /// `DECLARE name [NO SCROLL | SCROLL] CURSOR [WITH HOLD] FOR query`.
    case declareCursor(name: String, query: SelectStatement, hold: Bool, position: Int)
    /// `FETCH` (`move` false) or `MOVE` (`move` true) `[direction] [FROM | IN] name`.
    case fetch(name: String, direction: FetchDirection, move: Bool, position: Int)
    /// `CLOSE name | ALL` (name nil: all).
    case closeCursor(name: String?, position: Int)
    /// `ANALYZE [table, ...]` (all tables when none are named).
    case analyze(tables: [String], position: Int)
    /// `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [table, ...]`: reclaims deleted versions (and
    /// with ANALYZE, gathers statistics).
    case vacuum(tables: [String], analyze: Bool, position: Int)
    /// `CHECKPOINT`: writes the database's changes to its data file and empties the WAL.
    case checkpoint
}

/// `BEGIN` / `START TRANSACTION` / `SET TRANSACTION` modes.
public struct TransactionModes: Sendable, Equatable {
    /// `serializable`, `repeatable read`, `read committed`, `read uncommitted`; nil: the default.
    public var isolation: String?
    public var isolationPosition: Int?
    public var readOnly: Bool?
    public init() {}
}

/// `column = value` of UPDATE's SET (`value` nil: DEFAULT).
public struct Assignment: Sendable, Equatable {
    public var column: String
    public var value: Expression?
    public var position: Int
}

public struct DeleteStatement: Sendable, Equatable {
    public var table: String
    public var alias: String?
    public var using: [TableReference]
    public var whereClause: Expression?
    public var returning: [SelectItem]
    public var position: Int
}

/// `INSERT ... ON CONFLICT ...` (an INSERT without ON CONFLICT is `insertValues` / `insertSelect`).
public struct UpsertStatement: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case values([[Expression]])
        case select(SelectStatement)
    }
    public enum Action: Sendable, Equatable {
        case nothing
        case update(assignments: [Assignment], whereClause: Expression?)
    }
    public var table: String
    public var alias: String?
    public var columns: [String]?
    public var source: Source
    /// The conflict target's columns (nil: none given).
    public var conflictColumns: [String]?
    /// `ON CONFLICT ON CONSTRAINT name`.
    public var constraint: String?
    public var action: Action
    public var returning: [SelectItem]
    public var position: Int
}

public struct UpdateStatement: Sendable, Equatable {
    public var table: String
    public var alias: String?
    public var assignments: [Assignment]
    public var from: [TableReference]
    public var whereClause: Expression?
    public var returning: [SelectItem]
    public var position: Int
}
