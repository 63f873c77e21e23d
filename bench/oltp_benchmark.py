#!/usr/bin/env python3
"""Short transactions against PostgreSQL 15 on the same machine, in alternating rounds (issue 17).

  python3 bench/oltp_benchmark.py [--kiln .build/release/kiln] [--rounds 3] [--seconds 15]

- tpcb: pgbench's default TPC-B-like script, unmodified: `pgbench -i` (with its primary keys),
  then `pgbench -c 8 -j 2 -T s` with -M simple and -M prepared. After each engine's runs,
  sum(abalance) = sum(tbalance) = sum(bbalance) = the balance change the history records
  (pgbench empties pgbench_history before each run, so the sums are checked after a final
  run without vacuum, -n).
- lookups: `SELECT v FROM kv WHERE k = :id` over 100,000 rows with a primary key,
  `pgbench -c 2 -j 2`, -M simple and -M prepared.

Kiln runs `kiln serve DIR` (a database directory: WAL with fdatasync and group commit);
PostgreSQL runs with fsync and synchronous_commit on. Prints min / median tps per engine and
the ratio of medians (min ratio in parentheses).
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(port, user, sql):
    result = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", user, "-c", sql],
                            capture_output=True, text=True, env=dict(os.environ, PGPASSWORD=user))
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return result.stdout.strip()


def pgbench(port, user, arguments):
    result = subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", user] + arguments + [user],
                            capture_output=True, text=True, env=dict(os.environ, PGPASSWORD=user))
    for text in result.stdout.splitlines():
        if text.startswith("tps ="):
            return float(text.split()[2])
    raise RuntimeError(result.stdout[-800:] + result.stderr[-800:])


def start_postgres(work):
    pgdata = os.path.join(work, "pgdata")
    port = free_port()
    subprocess.run(["bash", os.path.join(SHARED, "pg", "start_pg.sh"), pgdata, str(port)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", pgdata, "-m", "fast", "-w", "restart",
                    "-l", os.path.join(pgdata, "server.log"),
                    "-o", "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=1GB -c max_connections=200"],
                   check=True, stdout=subprocess.DEVNULL)
    return pgdata, port


def start_kiln(kiln, work):
    directory = os.path.join(work, "kiln-db")
    shutil.rmtree(directory, ignore_errors=True)
    port = free_port()
    server = subprocess.Popen([kiln, "serve", directory, "--port", str(port)], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, port


def report(title, results):
    print(f"\n| {title} | Kiln tps min / median | PostgreSQL 15 tps min / median | Kiln / PostgreSQL (median; min) |\n|---|---:|---:|---:|")
    for label, (kiln, pg) in results.items():
        print(f"| {label} | {min(kiln):.0f} / {statistics.median(kiln):.0f} | {min(pg):.0f} / {statistics.median(pg):.0f} | "
              f"{statistics.median(kiln) / statistics.median(pg):.2f}x ({min(kiln) / min(pg):.2f}x) |", flush=True)


def consistent(port, user):
    sums = psql(port, user, "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers), "
                            "(SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history)")
    values = sums.split("|")
    return len(set(values)) == 1, sums


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--only", default="tpcb,lookups")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="kiln-oltp-bench-", dir="/tmp")
    os.chmod(work, 0o755)  # PostgreSQL's user creates its data directory in it
    pgdata, pg_port = start_postgres(work)
    server, port = start_kiln(os.path.abspath(args.kiln), work)
    engines = [("kiln", port), ("postgres", pg_port)]
    try:
        if "tpcb" in args.only:
            for user, p in engines:
                subprocess.run(
                    ["pgbench", "-i", "-h", "127.0.0.1", "-p", str(p), "-U", user, user], check=True, capture_output=True,
                    env=dict(os.environ, PGPASSWORD=user))
            results = {}
            for mode in ("simple", "prepared"):
                kiln, pg = [], []
                for _ in range(args.rounds):
                    kiln.append(pgbench(port, "kiln", ["-c", "8", "-j", "2", "-T", str(args.seconds), "-M", mode]))
                    pg.append(pgbench(pg_port, "postgres", ["-c", "8", "-j", "2", "-T", str(args.seconds), "-M", mode]))
                results[f"TPC-B, 8 clients, -M {mode}"] = (kiln, pg)
            report("pgbench TPC-B (scale 1)", results)
            for user, p in engines:
                # A last run without pgbench's vacuum (-n) keeps its history: the sums must agree.
                subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(p), "-U", user, "-d", user, "-c",
                                "UPDATE pgbench_accounts SET abalance = 0 WHERE abalance <> 0; UPDATE pgbench_tellers SET tbalance = 0; "
                                "UPDATE pgbench_branches SET bbalance = 0; TRUNCATE pgbench_history"],
                               check=True, capture_output=True, env=dict(os.environ, PGPASSWORD=user))
                pgbench(p, user, ["-n", "-c", "8", "-j", "2", "-T", str(max(3, args.seconds // 3))])
                ok, sums = consistent(p, user)
                print(f"{user}: sum(abalance) | sum(tbalance) | sum(bbalance) | sum(delta) = {sums} -> {'consistent' if ok else 'INCONSISTENT'}", flush=True)
        if "lookups" in args.only:
            script = os.path.join(work, "lookup.sql")
            with open(script, "w") as f:
                f.write("\\set id random(1, 100000)\nSELECT v FROM kv WHERE k = :id;\n")
            for user, p in engines:
                psql(p, user, "DROP TABLE IF EXISTS kv; CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT); "
                              "INSERT INTO kv SELECT x, 'value ' || x FROM generate_series(1, 100000) AS s(x); ANALYZE kv")
            results = {}
            for mode in ("simple", "prepared"):
                kiln, pg = [], []
                for _ in range(args.rounds):
                    kiln.append(pgbench(port, "kiln", ["-n", "-c", "2", "-j", "2", "-T", str(args.seconds), "-M", mode, "-f", script]))
                    pg.append(pgbench(pg_port, "postgres", ["-n", "-c", "2", "-j", "2", "-T", str(args.seconds), "-M", mode, "-f", script]))
                results[f"point lookup by key, 2 clients, -M {mode}"] = (kiln, pg)
            report("SELECT v FROM kv WHERE k = :id (100,000 rows, primary key)", results)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
        subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", pgdata, "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
