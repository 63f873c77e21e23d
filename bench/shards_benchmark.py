#!/usr/bin/env python3
"""Kiln shards under a PostgreSQL 15 coordinator against Kiln alone and PostgreSQL alone, on
the same TPC-H data, in alternating rounds (issue 21).

  python3 bench/shards_benchmark.py --kiln .build/release/kiln --data /tmp/anchors-data/sf1/csv \\
      --pg-port 55432 --pg-db tpch [--shards 4] [--rounds 5]

- shards: N `kiln serve` processes on database directories, loaded with scripts/shards.py
  (orders and lineitem split by order key, the rest replicated), and a coordinator database
  `kiln_coordinator` in the PostgreSQL cluster at --pg-port, set up with scripts/shards.py;
- Kiln alone: one `kiln serve` with the whole data;
- PostgreSQL alone: the database --pg-db of that cluster, up to two parallel workers (load it with
  ../shared/pg/load_tpch.sh; the cluster from ../shared/pg/start_pg.sh);
Every system runs each query shape once per round, in turn; the timings are the client's
(psycopg, result fetched). Shapes:
- Q1 and Q6 as written (Kiln alone, PostgreSQL alone, and the coordinator's partitioned
  tables, which PostgreSQL 15 cannot push partial aggregates for: a stated limit);
- Q1 and Q6 in the documented aggregate form (coordinator: UNION ALL of per-shard aggregates);
- Q3 as written (the coordinator pushes the orders-lineitem join to every shard).
Prints min / median seconds per system and shape, the ratios to Kiln alone and to PostgreSQL
alone, and the coordinator's plan for each shape (its Foreign Scan lines).
"""
import argparse
import importlib.util
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
sys.path.insert(0, os.path.join(ROOT, "scripts"))  # shard-checks imports kiln_serve
spec = importlib.util.spec_from_file_location("shard_checks", os.path.join(ROOT, "scripts", "shard-checks.py"))
shard_checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shard_checks)
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def query(n):
    with open(os.path.join(SHARED, "tpch", "queries", f"q{n:02d}.sql")) as f:
        return f.read().strip().rstrip(";")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(kiln, directory):
    port = free_port()
    process = subprocess.Popen([kiln, "serve", directory, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shard_checks.wait_for_port(port, process, f"kiln serve {directory}")
    return process, port


def timed(connection, text):
    started = time.perf_counter()
    connection.execute(text).fetchall()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--data", default="/tmp/anchors-data/sf1/csv")
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--pg-db", default="tpch")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", default=None, help="directory for the shards' and Kiln's database directories (kept between runs)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="kiln-shard-bench-")
    os.makedirs(work, exist_ok=True)
    processes = []
    try:
        fresh = not os.path.exists(os.path.join(work, "alone.kiln"))
        alone, alone_port = serve(args.kiln, os.path.join(work, "alone.kiln"))
        processes.append(alone)
        shards = []
        for index in range(args.shards):
            process, port = serve(args.kiln, os.path.join(work, f"shard{index + 1}.kiln"))
            processes.append(process)
            shards.append(port)
        addresses = [a for port in shards for a in ("--shard", f"127.0.0.1:{port}")]
        keys = ["--shard-key", "orders=o_orderkey", "--shard-key", "lineitem=l_orderkey"]
        if fresh:
            started = time.time()
            with psycopg.connect(host="127.0.0.1", port=alone_port, user="kiln", dbname="kiln", autocommit=True) as c:
                c.execute(open(os.path.join(SHARED, "tpch", "schema.sql")).read())
                for table in TABLES:
                    c.execute(f"COPY {table} FROM '{os.path.join(args.data, table + '.tbl')}' WITH (FORMAT csv, DELIMITER '|')")
            print(f"Kiln alone loaded in {time.time() - started:.1f} s")
            started = time.time()
            shard_checks.shards_py("load", *addresses, *keys, "--schema", os.path.join(SHARED, "tpch", "schema.sql"), "--data", args.data)
            print(f"{args.shards} shards loaded in {time.time() - started:.1f} s (scripts/shards.py load)")
        with psycopg.connect(host="127.0.0.1", port=args.pg_port, user="postgres", dbname="postgres", autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS kiln_coordinator")
            c.execute("CREATE DATABASE kiln_coordinator")
        shard_checks.shards_py("coordinator", "--coordinator", f"host=127.0.0.1 port={args.pg_port} user=postgres dbname=kiln_coordinator", *addresses, *keys)

        names = [f"kiln_shard_{i + 1}" for i in range(args.shards)]
        pattern = {
            1: shard_checks.Q1_PARTIAL.format(branches=" UNION ALL ".join(shard_checks.Q1_BRANCH.format(shard=n) for n in names)),
            6: shard_checks.Q6_PARTIAL.format(branches=" UNION ALL ".join(shard_checks.Q6_BRANCH.format(shard=n) for n in names)),
        }
        shapes = [  # (shape, system, query text)
            ("Q1", "kiln", query(1)), ("Q1", "postgres", query(1)), ("Q1", "coordinator, partitioned", query(1)),
            ("Q1", "coordinator, aggregate pattern", pattern[1]),
            ("Q6", "kiln", query(6)), ("Q6", "postgres", query(6)), ("Q6", "coordinator, partitioned", query(6)),
            ("Q6", "coordinator, aggregate pattern", pattern[6]),
            ("Q3", "kiln", query(3)), ("Q3", "postgres", query(3)), ("Q3", "coordinator, join pushdown", query(3)),
        ]
        connections = {
            "kiln": psycopg.connect(host="127.0.0.1", port=alone_port, user="kiln", dbname="kiln", autocommit=True),
            "postgres": psycopg.connect(host="127.0.0.1", port=args.pg_port, user="postgres", dbname=args.pg_db, autocommit=True),
            "coordinator": psycopg.connect(host="127.0.0.1", port=args.pg_port, user="postgres", dbname="kiln_coordinator", autocommit=True),
        }
        connections["postgres"].execute("SET max_parallel_workers_per_gather = 2")  # both engines use the two cores
        plans = {}
        for shape, system, text in shapes:
            if system.startswith("coordinator"):
                plan = [row[0] for row in connections["coordinator"].execute("EXPLAIN (VERBOSE, COSTS OFF) " + text).fetchall()]
                plans[(shape, system)] = [line.strip() for line in plan if "Foreign Scan" in line or "Relations:" in line or "Remote SQL:" in line or "Append" in line]
        times = {(shape, system): [] for shape, system, _ in shapes}
        for connection_name, c in connections.items():  # warm-up: every shape once
            for shape, system, text in shapes:
                if system.split(",")[0] == connection_name:
                    timed(c, text)
        for round_ in range(args.rounds):
            for shape, system, text in shapes:
                times[(shape, system)].append(timed(connections[system.split(",")[0]], text))
        print(f"\nTPC-H data {args.data}, {args.shards} shards, {args.rounds} rounds; seconds min / median; ratio of medians (of mins)")
        for shape in ("Q1", "Q6", "Q3"):
            kiln = times[(shape, "kiln")]
            pg = times[(shape, "postgres")]
            for (s, system), values in times.items():
                if s != shape:
                    continue
                a, m = min(values), statistics.median(values)
                print(f"{shape:3} {system:32} {a:8.3f} {m:8.3f}   / Kiln alone {m / statistics.median(kiln):7.2f}x ({a / min(kiln):.2f}x)"
                      f"   / PostgreSQL alone {m / statistics.median(pg):6.2f}x ({a / min(pg):.2f}x)")
        print("\nThe coordinator's plans (Foreign Scan / Append lines):")
        for (shape, system), lines in plans.items():
            print(f"{shape} {system}:")
            for line in lines[:12]:
                print("    " + line[:220])
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
