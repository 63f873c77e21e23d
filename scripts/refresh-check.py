#!/usr/bin/env python3
"""TPC-H with refreshes under concurrency: one session inserts new orders with their lineitems,
updates some, and deletes old ones (RF1 / RF2 in the manner of TPC-H's refresh functions, each
round one transaction), while another session reads in REPEATABLE READ blocks and checks what
every snapshot must show: no lineitem without its order, and a block's repeated aggregates
unchanged. Afterwards the 22 queries must give the answers PostgreSQL 15 gave after the same
refreshes (recorded with `--record` against a PostgreSQL server into Tests/Fixtures/refresh/).

  python3 scripts/refresh-check.py --kiln .build/debug/kiln          (check)
  python3 scripts/refresh-check.py --port 55432 --record             (record PostgreSQL's answers)
"""
import argparse
import csv
import importlib.util
import io
import os
import sys
import threading
import time

import psycopg

import kiln_serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSWERS = os.path.join(ROOT, "Tests", "Fixtures", "refresh")
spec = importlib.util.spec_from_file_location("tpch_check", os.path.join(ROOT, "scripts", "tpch-check.py"))
tpch_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tpch_check)

ROUNDS = 4


def refresh(round_):
    """One round: RF1 (new orders and their lineitems), an update, RF2 (old orders go)."""
    offset = 1_000_000 * round_
    return [
        "BEGIN",
        f"""INSERT INTO orders SELECT o_orderkey + {offset}, o_custkey, o_orderstatus, o_totalprice, o_orderdate + {round_},
            o_orderpriority, o_clerk, o_shippriority, o_comment FROM orders WHERE o_orderkey < 1000000 AND o_orderkey % 97 = {round_}""",
        f"""INSERT INTO lineitem SELECT l_orderkey + {offset}, l_partkey, l_suppkey, l_linenumber, l_quantity, l_extendedprice, l_discount,
            l_tax, l_returnflag, l_linestatus, l_shipdate + {round_}, l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, l_comment
            FROM lineitem WHERE l_orderkey < 1000000 AND l_orderkey % 97 = {round_}""",
        "COMMIT",
        f"UPDATE lineitem SET l_discount = l_discount + 0.01, l_comment = 'refreshed' WHERE l_orderkey % 83 = {round_} AND l_discount < 0.09",
        "BEGIN",
        f"DELETE FROM lineitem WHERE l_orderkey < 1000000 AND l_orderkey % 89 = {round_}",
        f"DELETE FROM orders WHERE o_orderkey < 1000000 AND o_orderkey % 89 = {round_}",
        "COMMIT",
    ]


READER_CHECKS = [
    "SELECT count(*) FROM lineitem WHERE NOT EXISTS (SELECT 1 FROM orders WHERE o_orderkey = l_orderkey)",
    "SELECT count(*), sum(o_totalprice) FROM orders",
    "SELECT count(*), sum(l_extendedprice * (1 - l_discount)) FROM lineitem",
]


def load(connection, tpch):
    with open(os.path.join(tpch, "schema.sql")) as f:
        for statement in f.read().split(";"):
            body = "\n".join(l for l in statement.splitlines() if not l.strip().startswith("--"))
            if body.strip():
                connection.execute(body)
    for table in tpch_check.TABLES:
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, DELIMITER '|')") as copy:
                with open(os.path.join(tpch, "sf0.01", f"{table}.tbl"), "rb") as f:
                    copy.write(f.read())


def rows_as_text(cursor):
    """A result as the CSV strings psql --csv (and Kiln's CSV) would print."""
    out = []
    for row in cursor.fetchall():
        out.append(["" if v is None else (("t" if v else "f") if isinstance(v, bool) else str(v)) for v in row])
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln")
    parser.add_argument("--port", type=int)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    tpch = tpch_check.shared_tpch()
    server, port = None, args.port
    if args.kiln:
        server, port = kiln_serve.start(args.kiln)
    user, dbname = ("postgres", "postgres") if args.port else ("kiln", "kiln")

    def connect():
        return psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=dbname, autocommit=True)

    failures = []
    try:
        writer = connect()
        for table in reversed(tpch_check.TABLES):
            writer.execute(f"DROP TABLE IF EXISTS {table}")
        load(writer, tpch)
        stop = threading.Event()
        reads = [0]

        def reader():
            connection = connect()
            while not stop.is_set():
                connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                first = [connection.execute(sql).fetchall() for sql in READER_CHECKS]
                second = [connection.execute(sql).fetchall() for sql in READER_CHECKS]
                connection.execute("COMMIT")
                if first[0][0][0] != 0:
                    failures.append(f"a snapshot had {first[0][0][0]} lineitems without their order")
                if first != second:
                    failures.append(f"a REPEATABLE READ block saw {first} then {second}")
                reads[0] += 1
            connection.close()

        thread = threading.Thread(target=reader)
        thread.start()
        for round_ in range(1, ROUNDS + 1):
            for sql in refresh(round_):
                writer.execute(sql)
        time.sleep(0.2)
        stop.set()
        thread.join()
        print(f"{ROUNDS} refresh rounds, {reads[0]} reader blocks checked")
        os.makedirs(ANSWERS, exist_ok=True)
        for q in range(1, 23):
            with open(os.path.join(tpch, "queries", f"q{q:02d}.sql")) as f:
                sql = f.read()
            with writer.cursor() as cursor:
                cursor.execute(sql)
                rows = rows_as_text(cursor)
            path = os.path.join(ANSWERS, f"q{q:02d}.csv")
            if args.record:
                with open(path, "w", newline="") as f:
                    csv.writer(f).writerows(rows)
                continue
            with open(path, newline="") as f:
                expected = list(csv.reader(f))
            problem = tpch_check.compare(f"q{q:02d}", rows, expected)
            if problem:
                failures.append(problem)
        writer.close()
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    for failure in failures[:20]:
        print("FAILED", failure)
    print("recorded" if args.record else f"22 queries after the refreshes, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
