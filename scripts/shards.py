#!/usr/bin/env python3
"""Kiln shards under a PostgreSQL coordinator (postgres_fdw).

Two steps, each safe to read before it runs (`--print` shows the SQL instead of running it):

  load         creates the schema on every shard and loads '|' or ',' delimited files into
               them: a sharded table's rows go to the shard whose key range holds their key,
               every other table is copied whole to every shard (replicated).
  coordinator  sets up a PostgreSQL database as the coordinator: postgres_fdw, one foreign
               server per shard (async_capable, fetch_size, use_remote_estimate), user
               mappings, the shards' tables imported with IMPORT FOREIGN SCHEMA into one
               schema per shard (kiln_shard_1, ...), a range-partitioned table per sharded
               table whose partitions are those foreign tables, the replicated tables from
               the first shard, partitionwise joins and aggregates on, and ANALYZE.

  # two shards, TPC-H split by order key, everything else replicated
  kiln serve shard1.kiln --port 5441 &  kiln serve shard2.kiln --port 5442 &
  python3 scripts/shards.py load --shard 127.0.0.1:5441 --shard 127.0.0.1:5442 \\
      --schema tpch/schema.sql --data tpch/sf1 --shard-key orders=o_orderkey --shard-key lineitem=l_orderkey
  python3 scripts/shards.py coordinator --coordinator "host=127.0.0.1 port=5432 dbname=tpch user=postgres" \\
      --shard 127.0.0.1:5441 --shard 127.0.0.1:5442 --shard-key orders=o_orderkey --shard-key lineitem=l_orderkey

Every sharded table is split by the same key ranges (so that the coordinator can join two of
them partition by partition and push each join to its shard): the load step takes them from
`--bounds` or from the key quantiles of the first sharded table's file, and the coordinator
step reads them back from the shards (each shard's smallest key of the first sharded table),
or takes `--bounds`.  See the README, section "Shards under a PostgreSQL coordinator".
Needs psycopg (scripts/setup.sh installs it into .venv).
"""
import argparse
import bisect
import contextlib
import csv
import io
import os
import sys
from decimal import Decimal

import psycopg
from psycopg import sql

INTEGER_TYPES = {"smallint", "integer", "bigint"}
NUMERIC_TYPES = {"numeric", "real", "double precision"}


class ShardError(Exception):
    pass


def parse_shard(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ShardError(f"--shard {text!r}: expected HOST:PORT")
    return host, int(port)


def parse_keys(pairs):
    keys = {}
    for pair in pairs:
        table, _, column = pair.partition("=")
        if not table or not column:
            raise ShardError(f"--shard-key {pair!r}: expected TABLE=COLUMN")
        keys[table.lower()] = column.lower()
    return keys


def connect_shard(shard, args):
    host, port = shard
    try:
        return psycopg.connect(host=host, port=port, user=args.user, dbname=args.dbname, password=args.password, autocommit=True)
    except psycopg.Error as error:
        raise ShardError(f"cannot connect to the shard at {host}:{port}: {error}".strip())


def statements(path):
    """The schema file's statements (split at ';' outside quotes and comments)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parts, current, quote, index = [], [], None, 0
    while index < len(text):
        char = text[index]
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current.append(char)
        elif text.startswith("--", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char == ";":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def column_types(connection, table):
    rows = connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,)).fetchall()
    if not rows:
        raise ShardError(f"table {table!r} does not exist on the shard")
    return [(name.lower(), kind.lower()) for name, kind in rows]


def key_value(text, kind):
    if kind in INTEGER_TYPES:
        return int(text)
    if kind in NUMERIC_TYPES:
        return Decimal(text)
    return text


def literal(value):
    if isinstance(value, (int, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def data_file(directory, table):
    for suffix in (".tbl", ".csv"):
        path = os.path.join(directory, table + suffix)
        if os.path.exists(path):
            return path
    return None


def field(line, position, delimiter):
    """The field at `position` of one data line (quoted fields parsed as CSV)."""
    if '"' not in line:
        return line.split(delimiter, position + 1)[position]
    return next(csv.reader([line], delimiter=delimiter))[position]


def quantile_bounds(path, position, kind, delimiter, count):
    with open(path, encoding="utf-8") as f:
        keys = sorted(key_value(field(line.rstrip("\n"), position, delimiter), kind) for line in f if line.strip())
    bounds = []
    for index in range(1, count):
        value = keys[len(keys) * index // count] if keys else None
        if value is None or (bounds and value <= bounds[-1]):
            raise ShardError(f"{path}: too few distinct keys to split over {count} shards; give --bounds")
        bounds.append(value)
    return bounds


def parse_bounds(text, kind, count):
    values = [key_value(part.strip(), kind) for part in text.split(",")]
    if len(values) != count - 1:
        raise ShardError(f"--bounds: {count} shards need {count - 1} split points, got {len(values)}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ShardError("--bounds: split points must increase")
    return values


def load(args):
    shards = [parse_shard(s) for s in args.shard]
    keys = parse_keys(args.shard_key)
    ddl = statements(args.schema)
    if args.print:
        for statement in ddl:
            print(statement + ";")
        return
    connections = [connect_shard(shard, args) for shard in shards]
    for connection in connections:
        for statement in ddl:
            connection.execute(statement)
    tables = [row[0] for row in connections[0].execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name")]
    missing = [table for table in keys if table not in tables]
    if missing:
        raise ShardError(f"--shard-key names tables the schema does not create: {', '.join(missing)}")
    bounds = None
    for table in list(keys) + [t for t in tables if t not in keys]:
        path = data_file(args.data, table)
        if path is None:
            print(f"{table}: no {table}.tbl or {table}.csv in {args.data}, left empty")
            continue
        columns = column_types(connections[0], table)
        copy_sql = sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, DELIMITER {})").format(sql.Identifier(table), sql.Literal(args.delimiter))
        if table not in keys:
            for connection in connections:
                with connection.cursor() as cursor, cursor.copy(copy_sql) as copy, open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            print(f"{table}: replicated to {len(shards)} shards")
            continue
        names = [name for name, _ in columns]
        if keys[table] not in names:
            raise ShardError(f"--shard-key {table}={keys[table]}: no such column")
        position = names.index(keys[table])
        kind = columns[position][1]
        if bounds is None:
            bounds = parse_bounds(args.bounds, kind, len(shards)) if args.bounds else quantile_bounds(path, position, kind, args.delimiter, len(shards))
        counts = [0] * len(shards)
        with open(path, encoding="utf-8") as f, contextlib.ExitStack() as stack:
            copies = [stack.enter_context(stack.enter_context(connection.cursor()).copy(copy_sql)) for connection in connections]
            buffers = [[] for _ in shards]
            for line in f:
                if not line.strip():
                    continue
                shard = bisect.bisect_right(bounds, key_value(field(line.rstrip("\n"), position, args.delimiter), kind))
                buffers[shard].append(line)
                counts[shard] += 1
                if len(buffers[shard]) >= 20000:
                    copies[shard].write("".join(buffers[shard]))
                    buffers[shard].clear()
            for copy, buffer in zip(copies, buffers):
                if buffer:
                    copy.write("".join(buffer))
        print(f"{table}: split by {keys[table]} at {', '.join(map(str, bounds))}: {', '.join(map(str, counts))} rows")
    for connection in connections:
        connection.execute("CHECKPOINT")
        connection.close()


def shard_bounds(args, shards, keys, first_columns):
    """Split points for the sharded tables: --bounds, or each later shard's smallest key."""
    table = next(iter(keys))
    kind = dict(first_columns)[keys[table]]
    if args.bounds:
        return parse_bounds(args.bounds, kind, len(shards))
    minimums = []
    for shard in shards:
        with connect_shard(shard, args) as connection:
            value = connection.execute(sql.SQL("SELECT min({}) FROM {}").format(sql.Identifier(keys[table]), sql.Identifier(table))).fetchone()[0]
        if value is None:
            raise ShardError(f"the shard at {shard[0]}:{shard[1]} holds no rows of {table}: give --bounds")
        minimums.append(value)
    if any(b <= a for a, b in zip(minimums, minimums[1:])):
        raise ShardError(f"the shards' smallest {table}.{keys[table]} values do not increase in the order of --shard: give the shards in key order, or --bounds")
    return minimums[1:]


def coordinator_statements(args, shards, keys, bounds):
    options = lambda pairs: sql.SQL(", ").join(sql.SQL("{} {}").format(sql.SQL(k), sql.Literal(v)) for k, v in pairs)
    target = sql.Identifier(args.into)
    out = [sql.SQL("CREATE EXTENSION IF NOT EXISTS postgres_fdw"), sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(target)]
    sharded = sql.SQL(", ").join(sql.Identifier(t) for t in keys)
    for index, (host, port) in enumerate(shards, 1):
        server = sql.Identifier(f"kiln_shard_{index}")
        schema = sql.Identifier(f"kiln_shard_{index}")
        out.append(sql.SQL("CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})").format(server, options([
            ("host", host), ("port", str(port)), ("dbname", args.dbname), ("async_capable", "true"),
            ("fetch_size", str(args.fetch_size)), ("use_remote_estimate", "true")])))
        mapping = [("user", args.user)] + ([("password", args.password)] if args.password else [])
        out.append(sql.SQL("CREATE USER MAPPING FOR PUBLIC SERVER {} OPTIONS ({})").format(server, options(mapping)))
        out.append(sql.SQL("CREATE SCHEMA {}").format(schema))
        out.append(sql.SQL("IMPORT FOREIGN SCHEMA public LIMIT TO ({}) FROM SERVER {} INTO {}").format(sharded, server, schema))
    out.append(sql.SQL("IMPORT FOREIGN SCHEMA public EXCEPT ({}) FROM SERVER kiln_shard_1 INTO {}").format(sharded, target))
    for table, column in keys.items():
        parent = sql.Identifier(args.into, table)
        out.append(sql.SQL("CREATE TABLE {} (LIKE {}) PARTITION BY RANGE ({})").format(parent, sql.Identifier("kiln_shard_1", table), sql.Identifier(column)))
        edges = ["MINVALUE"] + [literal(b) for b in bounds] + ["MAXVALUE"]
        for index in range(len(shards)):
            out.append(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                parent, sql.Identifier(f"kiln_shard_{index + 1}", table), sql.SQL(edges[index]), sql.SQL(edges[index + 1])))
    out.append(sql.SQL("DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET enable_partitionwise_join = on', current_database()); "
                       "EXECUTE format('ALTER DATABASE %I SET enable_partitionwise_aggregate = on', current_database()); END$$"))
    return out


def coordinator(args):
    shards = [parse_shard(s) for s in args.shard]
    keys = parse_keys(args.shard_key)
    if not keys:
        raise ShardError("give at least one --shard-key TABLE=COLUMN")
    with connect_shard(shards[0], args) as connection:
        first_columns = column_types(connection, next(iter(keys)))
    bounds = shard_bounds(args, shards, keys, first_columns)
    if args.print:
        for statement in coordinator_statements(args, shards, keys, bounds):
            print(statement.as_string(None) + ";")
        return
    with psycopg.connect(args.coordinator, autocommit=True) as connection:
        with connection.transaction():
            for statement in coordinator_statements(args, shards, keys, bounds):
                connection.execute(statement)
        # ANALYZE each foreign table: pg_relation_size, then a sample through a cursor.
        tables = connection.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_foreign_table f ON f.ftrelid = c.oid JOIN pg_foreign_server s ON s.oid = f.ftserver WHERE s.srvname LIKE 'kiln_shard_%' ORDER BY 1").fetchall()
        for (name,) in tables:
            connection.execute(f"ANALYZE {name}")
    print(f"coordinator ready: {len(shards)} shards, {len(keys)} sharded tables split at {', '.join(map(str, bounds))}, {len(tables)} foreign tables analysed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("load", "coordinator"):
        command = commands.add_parser(name)
        command.add_argument("--shard", action="append", required=True, metavar="HOST:PORT", help="a `kiln serve` shard, in key order (repeat)")
        command.add_argument("--shard-key", action="append", default=[], metavar="TABLE=COLUMN", help="a sharded table and its key (repeat); other tables are replicated")
        command.add_argument("--bounds", help="the N-1 split points of the key ranges, comma-separated")
        command.add_argument("--user", default="kiln", help="the user on the shards (default kiln)")
        command.add_argument("--password", default=os.environ.get("KILN_PASSWORD"), help="the shards' password, if they ask for one (default $KILN_PASSWORD)")
        command.add_argument("--dbname", default="kiln", help="the database name on the shards (default kiln)")
        command.add_argument("--print", action="store_true", help="print the SQL instead of running it")
    commands.choices["load"].add_argument("--schema", required=True, help="a file of CREATE TABLE statements, run on every shard")
    commands.choices["load"].add_argument("--data", required=True, help="a directory of TABLE.tbl or TABLE.csv files (no header)")
    commands.choices["load"].add_argument("--delimiter", default="|")
    commands.choices["coordinator"].add_argument("--coordinator", required=True, help="a libpq connection string of the coordinator database (a superuser, or see README)")
    commands.choices["coordinator"].add_argument("--into", default="public", help="the coordinator's schema for the tables (default public)")
    commands.choices["coordinator"].add_argument("--fetch-size", type=int, default=50000)
    args = parser.parse_args()
    try:
        load(args) if args.command == "load" else coordinator(args)
    except (ShardError, psycopg.Error, OSError) as error:
        sys.exit(f"shards.py {args.command}: {str(error).strip()}")


if __name__ == "__main__":
    main()
