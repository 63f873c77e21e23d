#!/usr/bin/env python3
"""Load test of `kiln serve` on loopback, next to PostgreSQL 15 serving the same queries.

64 concurrent clients (pgbench: half with prepared statements, half with the simple query
protocol) for a fixed time against a 100,000-row table: point lookups, a range aggregate and
a small join. Reports transactions per second and latency per protocol, errors, and the
server's resident memory before, after the run and after a second run (growth means a leak).

  python3 bench/wire_load.py --kiln .build/release/kiln [--seconds 60] [--clients 64] [--postgres]

`--postgres` starts PostgreSQL 15 with ../shared/pg/start_pg.sh (apt-get install postgresql-15)
and runs the same load against it in the same run. Exit status 1 on any client error.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = """
CREATE TABLE kv (k INTEGER NOT NULL, v TEXT, n NUMERIC(12,2), d DATE);
INSERT INTO kv SELECT g, 'value ' || g, g * 0.25, DATE '2020-01-01' + (g % 1000) FROM generate_series(1, 100000) AS s(g);
CREATE TABLE tags (k INTEGER NOT NULL, tag TEXT);
INSERT INTO tags SELECT g, 'tag ' || (g % 10) FROM generate_series(1, 1000) AS s(g);
"""
SCRIPT = """\\set k random(1, 100000)
\\set t random(1, 1000)
SELECT v, n, d FROM kv WHERE k = :k;
SELECT count(*), sum(n) FROM kv WHERE k BETWEEN :k AND :k + 100;
SELECT t.tag, count(*) FROM kv JOIN tags t ON t.k = kv.k WHERE kv.k <= :t GROUP BY t.tag ORDER BY t.tag;
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port):
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pgbench(port, user, db, script, clients, seconds, mode):
    command = ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", db, "-f", script, "-c", str(clients),
               "-j", "1", "-T", str(seconds), "-M", mode, "--max-tries", "1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse(output):
    tps = re.search(r"tps = ([\d.]+)", output)
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    return {"tps": float(tps.group(1)) if tps else 0.0, "latency_ms": float(latency.group(1)) if latency else 0.0,
            "failed": int(failed.group(1)) if failed else (0 if tps else -1), "transactions": int(processed.group(1)) if processed else 0}


def run_load(name, port, user, db, clients, seconds, pid=None):
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
    script.write(SCRIPT)
    script.close()
    results = {}
    memory = [rss_kib(pid)] if pid else []
    for round in (1, 2):
        # One pgbench process per client, alternating protocols: with two many-client pgbench
        # processes, whichever connects first starves the other on this 2-core machine (for
        # PostgreSQL as for Kiln), which measures pgbench, not the server.
        processes = [(mode, pgbench(port, user, db, script.name, 1, seconds, mode))
                     for index in range(clients) for mode in ["prepared" if index % 2 else "simple"]]
        for mode in ("prepared", "simple"):
            results[(round, mode)] = {"tps": 0.0, "latency_ms": 0.0, "failed": 0, "transactions": 0, "clients": 0}
        for mode, process in processes:
            output, _ = process.communicate()
            one = parse(output)
            total = results[(round, mode)]
            total["tps"] += one["tps"]
            total["transactions"] += one["transactions"]
            total["latency_ms"] += one["latency_ms"]
            total["clients"] += 1
            if process.returncode != 0 or one["failed"] != 0:
                print(output[-3000:])
                total["failed"] += max(1, one["failed"])
        for mode in ("prepared", "simple"):
            results[(round, mode)]["latency_ms"] /= max(1, results[(round, mode)]["clients"])
        if pid:
            memory.append(rss_kib(pid))
    os.unlink(script.name)
    for round in (1, 2):
        total = sum(results[(round, m)]["tps"] for m in ("prepared", "simple"))
        print(f"{name} round {round}: " + ", ".join(
            f"{m} {results[(round, m)]['tps']:.0f} tps ({results[(round, m)]['latency_ms']:.1f} ms, {results[(round, m)]['failed']} failed)"
            for m in ("prepared", "simple")) + f"; total {total:.0f} tps")
    if memory:
        print(f"{name} resident memory: before {memory[0] / 1024:.0f} MiB, after round 1 {memory[1] / 1024:.0f} MiB, after round 2 {memory[2] / 1024:.0f} MiB")
    return results, memory


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "release", "kiln")))
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--postgres", action="store_true", help="also run the load against PostgreSQL 15")
    args = parser.parse_args()
    failures = 0

    port = free_port()
    server = subprocess.Popen([args.kiln, "serve", "--port", str(port), "--max-connections", str(args.clients + 8)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for(port)
        subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "kiln", "-d", "kiln", "-v", "ON_ERROR_STOP=1", "-c", SETUP], check=True)
        results, memory = run_load("kiln", port, "kiln", "kiln", args.clients, args.seconds, pid=server.pid)
        failures += sum(r["failed"] for r in results.values())
        if memory[2] > memory[1] * 1.10 + 20 * 1024:
            print(f"kiln: resident memory grew from {memory[1] // 1024} MiB to {memory[2] // 1024} MiB between identical rounds")
            failures += 1
    finally:
        server.terminate()
        server.wait(timeout=20)

    if args.postgres:
        data = tempfile.mkdtemp(prefix="kiln-pg-")
        pg_port = free_port()
        shared = os.path.join(ROOT, "..", "shared", "pg")
        env = {**os.environ, "PG_SHARED_BUFFERS": "1GB"}
        subprocess.run([os.path.join(shared, "start_pg.sh"), data, str(pg_port)], check=True, env=env, stdout=subprocess.DEVNULL)
        try:
            subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                            "-c", "ALTER SYSTEM SET max_connections = 200"], check=True)
            subprocess.run([os.path.join(shared, "stop_pg.sh"), data, str(pg_port)], stdout=subprocess.DEVNULL)
            subprocess.run([os.path.join(shared, "start_pg.sh"), data, str(pg_port)], check=True, env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                            "-c", SETUP, "-c", "VACUUM ANALYZE"], check=True)
            run_load("postgres", pg_port, "postgres", "postgres", args.clients, args.seconds)
        finally:
            subprocess.run([os.path.join(shared, "stop_pg.sh"), data, str(pg_port)], stdout=subprocess.DEVNULL)
            shutil.rmtree(data, ignore_errors=True)
    print("load test: " + ("FAILED" if failures else "no errors"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
