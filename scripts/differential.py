#!/usr/bin/env python3
"""Differential test: generated queries over TPC-H SF0.01 in Kiln and in DuckDB.

Generates QUERIES seeded random queries (filters, joins along the foreign keys, grouped
aggregates, DISTINCT, LEFT joins, EXISTS / NOT EXISTS / IN / NOT IN, scalar subqueries,
correlated subqueries with non-equality correlations under OR, in select lists, in HAVING and
LATERAL, LATERAL generate_series,
UNION, window functions), runs them in one `kiln` process (compiled, interpreted, and in parallel on 8 threads) and in
DuckDB, and compares the results as multisets: strings exactly, numbers to a relative 1e-9.
Any difference (or an error on one side only) fails.

  python3 scripts/differential.py [--queries 300] [--seed 1] [--kiln .build/debug/kiln]

DuckDB comes from PyPI (scripts/setup.sh installs it into .venv). The queries avoid the
places where DuckDB deliberately differs from PostgreSQL (integer division, NULL ordering).
"""
import argparse
import csv
import io
import os
import random
import subprocess
import sys
from decimal import Decimal, InvalidOperation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]

# Columns by table: (name, kind) with kind in int, dec, str, date, lowstr (few distinct values).
COLUMNS = {
    "nation": [("n_nationkey", "int"), ("n_name", "str"), ("n_regionkey", "int")],
    "region": [("r_regionkey", "int"), ("r_name", "lowstr")],
    "supplier": [("s_suppkey", "int"), ("s_name", "str"), ("s_nationkey", "int"), ("s_acctbal", "dec"), ("s_phone", "str")],
    "customer": [("c_custkey", "int"), ("c_nationkey", "int"), ("c_acctbal", "dec"), ("c_mktsegment", "lowstr"), ("c_phone", "str")],
    "part": [("p_partkey", "int"), ("p_brand", "lowstr"), ("p_type", "str"), ("p_size", "int"), ("p_container", "lowstr"), ("p_retailprice", "dec")],
    "partsupp": [("ps_partkey", "int"), ("ps_suppkey", "int"), ("ps_availqty", "int"), ("ps_supplycost", "dec")],
    "orders": [("o_orderkey", "int"), ("o_custkey", "int"), ("o_orderstatus", "lowstr"), ("o_totalprice", "dec"), ("o_orderdate", "date"),
               ("o_orderpriority", "lowstr"), ("o_shippriority", "int")],
    "lineitem": [("l_orderkey", "int"), ("l_partkey", "int"), ("l_suppkey", "int"), ("l_linenumber", "int"), ("l_quantity", "dec"),
                 ("l_extendedprice", "dec"), ("l_discount", "dec"), ("l_returnflag", "lowstr"), ("l_linestatus", "lowstr"),
                 ("l_shipdate", "date"), ("l_shipmode", "lowstr"), ("l_shipinstruct", "lowstr")],
}
# Foreign keys: (table, column, referenced table, referenced column).
KEYS = [("nation", "n_regionkey", "region", "r_regionkey"), ("supplier", "s_nationkey", "nation", "n_nationkey"),
        ("customer", "c_nationkey", "nation", "n_nationkey"), ("partsupp", "ps_partkey", "part", "p_partkey"),
        ("partsupp", "ps_suppkey", "supplier", "s_suppkey"), ("orders", "o_custkey", "customer", "c_custkey"),
        ("lineitem", "l_orderkey", "orders", "o_orderkey"), ("lineitem", "l_partkey", "part", "p_partkey"),
        ("lineitem", "l_suppkey", "supplier", "s_suppkey")]


class Generator:
    def __init__(self, seed, samples):
        self.r = random.Random(seed)
        self.samples = samples  # column -> list of sampled values (as SQL literals)

    def literal(self, column):
        return self.r.choice(self.samples[column])

    def predicate(self, alias, table):
        name, kind = self.r.choice(COLUMNS[table])
        c = f"{alias}.{name}"
        choice = self.r.random()
        if kind in ("str", "lowstr") and choice < 0.3:
            value = self.literal(name).strip("'")
            fragment = value[: self.r.randint(1, max(1, min(4, len(value))))].replace("%", "").replace("_", "").replace("'", "''")
            form = self.r.choice(["{}%", "%{}%", "%{}"])
            negated = "NOT " if self.r.random() < 0.3 else ""
            return f"{c} {negated}LIKE '{form.format(fragment)}'"
        if choice < 0.45:
            values = ", ".join(self.literal(name) for _ in range(self.r.randint(1, 4)))
            return f"{c} {'NOT ' if self.r.random() < 0.2 else ''}IN ({values})"
        if choice < 0.55 and kind in ("int", "dec", "date"):
            a, b = sorted([self.literal(name), self.literal(name)], key=lambda v: v)
            return f"{c} BETWEEN {a} AND {b}"
        op = self.r.choice(["=", "<>", "<", "<=", ">", ">="])
        return f"{c} {op} {self.literal(name)}"

    def where(self, parts):
        conditions = []
        for alias, table in parts:
            if self.r.random() < 0.6:
                conditions.append(self.predicate(alias, table))
        if len(conditions) >= 2 and self.r.random() < 0.3:
            conditions = [f"({conditions[0]} OR {conditions[1]})"] + conditions[2:]
        return conditions

    def path(self):
        """A join path along foreign keys: [(alias, table)], join conditions."""
        table = self.r.choice(list(COLUMNS))
        parts = [("t0", table)]
        conditions = []
        for index in range(self.r.randint(0, 3)):
            options = [(k, "out") for k in KEYS if k[0] in [t for _, t in parts]] + [(k, "in") for k in KEYS if k[2] in [t for _, t in parts]]
            options = [o for o in options if (o[0][2] if o[1] == "out" else o[0][0]) not in [t for _, t in parts]]
            if not options:
                break
            (source, column, target, targetColumn), direction = self.r.choice(options)
            alias = f"t{len(parts)}"
            if direction == "out":
                sourceAlias = next(a for a, t in parts if t == source)
                parts.append((alias, target))
                conditions.append(f"{sourceAlias}.{column} = {alias}.{targetColumn}")
            else:
                targetAlias = next(a for a, t in parts if t == target)
                parts.append((alias, source))
                conditions.append(f"{alias}.{column} = {targetAlias}.{targetColumn}")
        return parts, conditions

    def aggregate(self, alias, table):
        name, kind = self.r.choice(COLUMNS[table])
        c = f"{alias}.{name}"
        if kind in ("int", "dec"):
            return self.r.choice([f"sum({c})", f"min({c})", f"max({c})", f"count({c})", f"avg({c})", f"count(DISTINCT {c})"])
        return self.r.choice([f"min({c})", f"max({c})", f"count({c})", f"count(DISTINCT {c})"])

    def correlated(self, outer_alias, outer_table):
        """A correlated subquery's FROM and WHERE: along a foreign key with a non-equality
        condition besides, or over a small table with non-equality conditions only (the
        subquery is then decorrelated over the domain of the outer values)."""
        numeric = [c for c, k in COLUMNS[outer_table] if k in ("int", "dec")]
        links = [k for k in KEYS if k[2] == outer_table] + [k for k in KEYS if k[0] == outer_table]
        op = self.r.choice(["<", "<=", ">", ">=", "<>"])
        if links and self.r.random() < 0.6:
            source, column, target, target_column = self.r.choice(links)
            if target == outer_table:
                inner, inner_column, outer_column = source, column, target_column
            else:
                inner, inner_column, outer_column = target, target_column, column
            inner_numeric = [c for c, k in COLUMNS[inner] if k in ("int", "dec")]
            condition = f"s.{inner_column} = {outer_alias}.{outer_column} AND s.{self.r.choice(inner_numeric)} {op} {outer_alias}.{self.r.choice(numeric)}"
            return inner, condition
        inner = self.r.choice(["nation", "region", "supplier"])
        inner_int = [c for c, k in COLUMNS[inner] if k == "int"]
        condition = f"s.{self.r.choice(inner_int)} {op} {outer_alias}.{self.r.choice(numeric)} % 30"
        if self.r.random() < 0.3:
            condition = f"({condition} OR {self.predicate('s', inner)})"
        return inner, condition

    def correlated_value(self, outer_alias, outer_table):
        """A correlated scalar subquery (an aggregate of the subquery's rows)."""
        inner, condition = self.correlated(outer_alias, outer_table)
        name, kind = self.r.choice([c for c in COLUMNS[inner] if c[1] in ("int", "dec")])
        function = self.r.choice(["count(*)", f"max(s.{name})", f"min(s.{name})", f"sum(s.{name})", f"count(DISTINCT s.{name})"])
        return f"(SELECT {function} FROM {inner} s WHERE {condition})"

    def query(self):
        parts, joins = self.path()
        conditions = joins + self.where(parts)
        kind = self.r.random()
        alias, table = self.r.choice(parts)
        group_alias, group_table = self.r.choice(parts)
        group = f"{group_alias}.{self.r.choice([c for c, k in COLUMNS[group_table] if k in ('lowstr', 'int', 'date')])}"
        if kind < 0.15:
            # EXISTS / NOT EXISTS along a foreign key into the path's first table.
            outer_alias, outer_table = parts[0]
            links = [k for k in KEYS if k[2] == outer_table] + [k for k in KEYS if k[0] == outer_table]
            if links:
                source, column, target, target_column = self.r.choice(links)
                if target == outer_table:
                    inner, inner_column, outer_column = source, column, target_column
                else:
                    inner, inner_column, outer_column = target, target_column, column
                extra = f" AND {self.predicate('s', inner)}" if self.r.random() < 0.6 else ""
                negated = "NOT " if self.r.random() < 0.4 else ""
                conditions.append(f"{negated}EXISTS (SELECT 1 FROM {inner} s WHERE s.{inner_column} = {outer_alias}.{outer_column}{extra})")
        elif kind < 0.25:
            outer_alias, outer_table = parts[0]
            links = [k for k in KEYS if k[0] == outer_table]
            if links:
                source, column, target, target_column = self.r.choice(links)
                negated = "NOT " if self.r.random() < 0.4 else ""
                conditions.append(f"{outer_alias}.{column} {negated}IN (SELECT s.{target_column} FROM {target} s WHERE {self.predicate('s', target)})")
        elif kind < 0.33:
            name, ckind = self.r.choice([c for c in COLUMNS[table] if c[1] in ("int", "dec")] or [COLUMNS[table][0]])
            op = self.r.choice(["<", ">"])
            conditions.append(f"{alias}.{name} {op} (SELECT avg(s.{name}) FROM {table} s)")
        elif kind < 0.43:
            # A correlated EXISTS, IN or scalar comparison under OR.
            outer_alias, outer_table = self.r.choice(parts)
            inner, condition = self.correlated(outer_alias, outer_table)
            negated = "NOT " if self.r.random() < 0.4 else ""
            form = self.r.random()
            if form < 0.5:
                subquery = f"{negated}EXISTS (SELECT 1 FROM {inner} s WHERE {condition})"
            elif form < 0.75:
                name = self.r.choice([c for c, k in COLUMNS[inner] if k == "int"])
                outer_name = self.r.choice([c for c, k in COLUMNS[outer_table] if k == "int"])
                subquery = f"{outer_alias}.{outer_name} {negated}IN (SELECT s.{name} FROM {inner} s WHERE {condition})"
            else:
                subquery = f"{self.correlated_value(outer_alias, outer_table)} {self.r.choice(['<', '>', '='])} {self.r.randint(0, 3)}"
            conditions.append(f"({self.predicate(outer_alias, outer_table)} OR {subquery})")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        source = ", ".join(f"{t} {a}" for a, t in parts)
        shape = self.r.random()
        if shape < 0.45:
            aggregates = ", ".join(self.aggregate(*self.r.choice(parts)) for _ in range(self.r.randint(1, 3)))
            having = f" HAVING count(*) > {self.r.randint(0, 3)}" if self.r.random() < 0.2 else ""
            group_kind = dict(COLUMNS[group_table])[group.split(".")[1]]
            if not having and group_kind == "int" and self.r.random() < 0.15:
                # A correlated subquery in HAVING, reading the group's key.
                small = self.r.choice(["nation", "region"])
                key = self.r.choice([c for c, k in COLUMNS[small] if k == "int"])
                having = (f" HAVING count(*) {self.r.choice(['<', '>'])} (SELECT count(*) FROM {small} s "
                          f"WHERE s.{key} {self.r.choice(['<', '>', '<>'])} {group} % 25)")
            return f"SELECT {group}, count(*), {aggregates} FROM {source}{where} GROUP BY {group}{having}"
        if shape < 0.6:
            aggregates = ", ".join(self.aggregate(*self.r.choice(parts)) for _ in range(self.r.randint(1, 3)))
            return f"SELECT count(*), {aggregates} FROM {source}{where}"
        if shape < 0.7:
            return f"SELECT DISTINCT {group} FROM {source}{where}"
        if shape < 0.8 and len(parts) == 1:
            # LEFT JOIN along a key into the table, counting matches.
            links = [k for k in KEYS if k[2] == table]
            if links:
                source_table, column, _, target_column = self.r.choice(links)
                return (f"SELECT {alias}.{COLUMNS[table][0][0]}, count(s.{column}) FROM {table} {alias} LEFT JOIN {source_table} s "
                        f"ON s.{column} = {alias}.{target_column}{' AND ' + self.predicate('s', source_table) if self.r.random() < 0.5 else ''}"
                        f"{where} GROUP BY {alias}.{COLUMNS[table][0][0]}")
        if shape < 0.85:
            other = self.r.choice(list(COLUMNS))
            name = self.r.choice([c for c, k in COLUMNS[table] if k == "int"])
            other_name = self.r.choice([c for c, k in COLUMNS[other] if k == "int"])
            op = self.r.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"])
            return f"SELECT {alias}.{name} FROM {source}{where} {op} SELECT {other_name} FROM {other} WHERE {self.predicate(other, other)}"
        if shape < 0.92:
            order = f"{group_alias}.{COLUMNS[group_table][0][0]}"
            value = f"{alias}.{self.r.choice([c for c, k in COLUMNS[table] if k in ('int', 'dec')])}"
            function = self.r.choice([f"sum({value})", "row_number()", "rank()", "dense_rank()", f"count({value})", f"max({value})"])
            frame = " ROWS BETWEEN 2 PRECEDING AND CURRENT ROW" if function.startswith(("sum", "count", "max")) and self.r.random() < 0.3 else ""
            order_by = f" ORDER BY {order}, {value}{frame}" if function in ("row_number()",) or self.r.random() < 0.7 else ""
            if function in ("rank()", "dense_rank()") and not order_by:
                order_by = f" ORDER BY {order}"
            if function == "row_number()":
                # A total order, so that the numbering is deterministic.
                keys = ", ".join(f"{a}.{COLUMNS[t][0][0]}" for a, t in parts) + ", " + ", ".join(f"{a}.{c}" for a, t in parts for c, _ in COLUMNS[t])
                order_by = f" ORDER BY {keys}"
            return f"SELECT {group}, {function} OVER (PARTITION BY {group}{order_by}) FROM {source}{where}"
        columns = ", ".join(f"{a}.{c}" for a, t in parts for c, _ in self.r.sample(COLUMNS[t], min(2, len(COLUMNS[t]))))
        choice = self.r.random()
        if choice < 0.3:
            # A correlated subquery in the select list.
            columns += ", " + self.correlated_value(*self.r.choice(parts))
        elif choice < 0.45:
            # A LATERAL subquery reading a FROM item before it (an aggregate: one row each, or
            # the rows of a key's other side).
            outer_alias, outer_table = self.r.choice(parts)
            inner, condition = self.correlated(outer_alias, outer_table)
            name = self.r.choice([c for c, k in COLUMNS[inner] if k in ("int", "dec")])
            if self.r.random() < 0.5:
                lateral = f"LATERAL (SELECT count(*) AS c, max(s.{name}) AS m FROM {inner} s WHERE {condition}) lat"
                columns += ", lat.c, lat.m"
            else:
                lateral = f"LATERAL (SELECT s.{name} AS m FROM {inner} s WHERE {condition}) lat"
                columns += ", lat.m"
            return f"SELECT {columns} FROM {source}, {lateral}{where}"
        elif choice < 0.55:
            # A function in FROM reading a FROM item before it: each row once per value of
            # its series (none, or one NULL value under LEFT JOIN LATERAL, when it is empty).
            left = self.r.random() < 0.5
            # (A LEFT JOIN binds tighter than the commas of `source`: it reads the last item.)
            outer_alias, outer_table = parts[-1] if left else self.r.choice(parts)
            name = self.r.choice([c for c, k in COLUMNS[outer_table] if k == "int"])
            bounds = f"{self.r.randint(-1, 1)}, {outer_alias}.{name} % {self.r.randint(2, 4)}"
            if not left:
                return f"SELECT {columns}, g.v FROM {source}, generate_series({bounds}) AS g(v){where}"
            return f"SELECT {columns}, g.v FROM {source} LEFT JOIN LATERAL generate_series({bounds}) AS g(v) ON true{where}"
        return f"SELECT {columns} FROM {source}{where}"


def normalize(value):
    """A comparable form of one printed value: numbers as Decimal, else text."""
    if value is None or value == "":
        return ("null", "")
    try:
        return ("n", Decimal(value))
    except InvalidOperation:
        return ("s", value)


def same_rows(a, b):
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    # Fast path: the same printed values (most results, and all the large ones, print alike).
    def printed(row):
        return tuple("\0NULL" if v is None else v for v in row)
    if sorted(map(printed, a)) == sorted(map(printed, b)):
        return None

    def key(row):
        return tuple((v[0], str(v[1]) if v[0] != "n" else "{:.6e}".format(v[1])) for v in row)
    a = sorted(([normalize(v) for v in row] for row in a), key=key)
    b = sorted(([normalize(v) for v in row] for row in b), key=key)
    for x, y in zip(a, b):
        if len(x) != len(y):
            return f"row widths {len(x)} vs {len(y)}"
        for u, v in zip(x, y):
            if u[0] == "n" and v[0] == "n":
                if abs(u[1] - v[1]) > abs(v[1]) * Decimal("1e-9") + Decimal("1e-9"):
                    return f"{u[1]} vs {v[1]}"
            elif u != v:
                return f"{u} vs {v}"
    return None


def duckdb_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("KILN_DIFF_SEED", "1")))
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "debug", "kiln"))
    parser.add_argument("--data", default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    import duckdb

    tpch = next(p for p in [os.environ.get("KILN_TPCH_DIR"), os.path.join(ROOT, "..", "shared", "tpch"), "/work/shared/tpch"] if p and os.path.isdir(p))
    data = args.data or os.path.join(tpch, "sf0.01")
    schema = open(os.path.join(tpch, "schema.sql")).read()
    duck = duckdb.connect()
    duck.execute("SET threads = 1")
    for statement in schema.split(";"):
        if statement.strip():
            duck.execute(statement)
    loads = []
    for table in TABLES:
        path = os.path.join(data, table + ".tbl")
        duck.execute(f"COPY {table} FROM '{path}' (FORMAT csv, DELIMITER '|', HEADER false)")
        loads.append(f"COPY {table} FROM '{path}' WITH (FORMAT csv, DELIMITER '|', HEADER false);")
    samples = {}
    for table, columns in COLUMNS.items():
        for name, kind in columns:
            values = [row[0] for row in duck.execute(f"SELECT {name} FROM {table} USING SAMPLE 40 ROWS").fetchall() if row[0] is not None]
            if kind in ("str", "lowstr"):
                samples[name] = ["'" + str(v).replace("'", "''") + "'" for v in values]
            elif kind == "date":
                samples[name] = [f"DATE '{v}'" for v in values]
            else:
                samples[name] = [str(v) for v in values]

    generator = Generator(args.seed, samples)
    queries = []
    while len(queries) < args.queries:
        query = generator.query()
        try:
            rows = duck.execute(f"SELECT count(*) FROM ({query}) AS generated").fetchone()[0]
        except Exception:  # noqa: BLE001 - compared (and skipped) below
            rows = 0
        # A join along keys that fans out (supplier -> partsupp and lineitem) can give millions
        # of rows: printing and comparing them would be the test's whole time.
        if rows <= 20000:
            queries.append(query)
    script = [schema] + loads
    # "switch": native code, but each pipeline's first morsel in the interpreter (the switch
    # at a morsel boundary on every query), one thread; "off": the interpreter only, two
    # threads; "parallel": eight threads (on two cores) with 700-row morsels, native code
    # compiled in the background (workers switch programs while others steal morsels).
    modes = {"switch": "SET threads = 1; SET jit = on; SET jit_sync = on; SET jit_tier = fast; SET jit_switch_after_morsels = 1;",
             "off": "SET threads = 2; SET jit = off; SET jit_switch_after_morsels = -1;",
             "parallel": "SET threads = 8; SET parallel_morsel_rows = 700; SET jit = on; SET jit_sync = off; SET jit_tier = auto;"}
    for mode, settings in modes.items():
        script.append(settings)
        for index, query in enumerate(queries):
            script.append(f"SELECT '@@{index}/{mode}' AS marker;")
            script.append(query + ";")
    result = subprocess.run([args.kiln, "--format", "csv"], input="\n".join(script), capture_output=True, text=True)
    sections, current = {}, None
    lines = list(csv.reader(io.StringIO(result.stdout)))
    i = 0
    while i < len(lines):
        if lines[i] == ["marker"] and i + 1 < len(lines) and lines[i + 1] and lines[i + 1][0].startswith("@@"):
            current = lines[i + 1][0][2:]
            sections[current] = []
            i += 2
            continue
        if current is not None:
            sections[current].append(lines[i] if lines[i] else [""])
        i += 1
    failures = 0
    for index, query in enumerate(queries):
        try:
            expected = [[duckdb_text(v) for v in row] for row in duck.execute(query).fetchall()]
        except Exception as error:  # noqa: BLE001 - a generated query DuckDB rejects is skipped
            if args.verbose:
                print(f"skipped (DuckDB: {error}): {query}")
            continue
        for mode in modes:
            output = sections.get(f"{index}/{mode}")
            if not output:
                failures += 1
                print(f"FAILED [{mode}] no result from Kiln (error?): {query}")
                continue
            problem = same_rows([[v if v != "" else None for v in row] for row in output[1:]], expected)
            if problem:
                failures += 1
                print(f"FAILED [{mode}] {problem}: {query}")
    if result.returncode != 0 and result.returncode != 1:
        failures += 1
        print(f"FAILED: kiln exited with status {result.returncode}")
    if result.stderr.strip() and failures:
        print("kiln stderr (first lines):\n" + "\n".join(result.stderr.strip().splitlines()[:20]))
    print(f"differential: {len(queries)} queries (seed {args.seed}), compiled, interpreted and on 8 threads, {failures} difference(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
