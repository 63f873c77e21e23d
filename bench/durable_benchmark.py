#!/usr/bin/env python3
"""Database directories against their peers, measured in alternating rounds (issue 16).

  python3 bench/durable_benchmark.py --kiln .build/release/kiln --bench .build/release/kiln-bench \\
      --data /tmp/anchors-data/sf1 [--rounds 3] [--only load,open,queries,commits]

- load: `kiln DBDIR -f load.sql` (schema + COPY of the 8 TPC-H tables; the process ends with
  its shutdown checkpoint, so everything is in the data file) against DuckDB's COPY into its
  own database file (then CHECKPOINT and close), at 1 and at 2 threads;
- open: a fresh process opens the directory and runs TPC-H Q1 (warm page cache), timed inside
  the process from the open call to the fetched result (`kiln-bench open`), against DuckDB
  opening its file in a fresh Python process;
- queries: the 22 TPC-H queries in two `kiln` shells, one on the directory and one that
  loaded the same data into memory, alternating query by query (hot runs);
- commits: `pgbench -c 8 -j 2`, each transaction one single-row INSERT, against `kiln serve
  DBDIR` and PostgreSQL 15 with fsync and synchronous_commit on, data on the same disk.

Prints min / median per engine and the ratios (median; min in parentheses).
"""
import argparse
import csv
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def schema():
    with open(os.path.join(SHARED, "tpch", "schema.sql")) as f:
        return f.read()


def query(n):
    with open(os.path.join(SHARED, "tpch", "queries", f"q{n:02d}.sql")) as f:
        return f.read().strip().rstrip(";")


def stats(values):
    return min(values), statistics.median(values)


def line(label, kiln, peer, unit="s"):
    (kmin, kmed), (pmin, pmed) = stats(kiln), stats(peer)
    print(f"| {label} | {kmin:.3f} / {kmed:.3f} {unit} | {pmin:.3f} / {pmed:.3f} {unit} | "
          f"{kmed / pmed:.2f}x ({kmin / pmin:.2f}x) |", flush=True)


def duckdb_python(script, python):
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-1000:])
    return float(result.stdout.strip().splitlines()[-1])


def load(args, work):
    csv_dir = os.path.join(args.data, "csv")
    statements = [schema()] + [f"COPY {t} FROM '{csv_dir}/{t}.tbl' WITH (FORMAT csv, DELIMITER '|', HEADER false);" for t in TABLES]
    script = os.path.join(work, "load.sql")
    with open(script, "w") as f:
        f.write("\n".join(statements) + "\n")
    kiln, duck = {1: [], 2: []}, {1: [], 2: []}
    for _ in range(args.rounds):
        directory = os.path.join(work, "kiln-load")
        shutil.rmtree(directory, ignore_errors=True)
        subprocess.run(["sync"])
        started = time.perf_counter()
        subprocess.run([args.kiln, directory, "-f", script], check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        kiln[1].append(elapsed)
        kiln[2].append(elapsed)
        for threads in (1, 2):
            path = os.path.join(work, "duck-load.duckdb")
            for suffix in ("", ".wal"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            subprocess.run(["sync"])
            copies = "\n".join(f"con.execute(\"COPY {t} FROM '{csv_dir}/{t}.tbl' (DELIMITER '|', HEADER false)\")" for t in TABLES)
            duck[threads].append(duckdb_python(f"""
import duckdb, time
t = time.perf_counter()
con = duckdb.connect({path!r})
con.execute("SET threads = {threads}")
con.execute({schema()!r})
{copies}
con.execute("CHECKPOINT")
con.close()
print(time.perf_counter() - t)
""", args.python))
    print("\n| load SF1 (COPY, durable) | Kiln min / median | DuckDB min / median | Kiln / DuckDB |\n|---|---:|---:|---:|")
    line("DuckDB at 1 thread", kiln[1], duck[1])
    line("DuckDB at 2 threads", kiln[2], duck[2])
    return os.path.join(work, "kiln-load"), os.path.join(work, "duck-load.duckdb")


def open_and_q1(args, directory, duck_path):
    kiln, duck = {1: [], 2: []}, {1: [], 2: []}
    q1 = query(1)
    for _ in range(args.rounds * 3):
        for threads in (1, 2):
            out = subprocess.run([args.bench, "open", directory, q1, "--threads", str(threads)], capture_output=True, text=True, check=True).stdout
            kiln[threads].append(float(out.strip().splitlines()[-1]) / 1000)
            duck[threads].append(duckdb_python(f"""
import duckdb, time
t = time.perf_counter()
con = duckdb.connect({duck_path!r})
con.execute("SET threads = {threads}")
con.execute({q1!r}).fetchall()
print(time.perf_counter() - t)
con.close()
""", args.python))
    print("\n| open + TPC-H Q1, warm page cache, both at | Kiln min / median | DuckDB min / median | Kiln / DuckDB |\n|---|---:|---:|---:|")
    line("1 thread", kiln[1], duck[1])
    line("2 threads", kiln[2], duck[2])


class Shell:
    """A kiln shell over a pipe; each statement is followed by a sentinel query."""

    def __init__(self, kiln, arguments):
        self.p = subprocess.Popen([kiln, "--format", "csv"] + arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.n = 0

    def run(self, sql):
        self.n += 1
        mark = f"sentinel_{self.n}"
        started = time.perf_counter()
        self.p.stdin.write(sql.strip().rstrip(";") + f";\nSELECT '{mark}' AS s;\n")
        self.p.stdin.flush()
        lines = []
        while True:
            text = self.p.stdout.readline()
            if not text:
                raise RuntimeError("kiln exited: " + "".join(lines[-5:]))
            if text.strip() == mark:
                break
            lines.append(text)
        elapsed = time.perf_counter() - started
        if any(l.startswith("ERROR") for l in lines):
            raise RuntimeError("".join(lines))
        return elapsed, lines[:-1]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=120)


def queries(args, directory):
    persisted = Shell(args.kiln, [directory])
    memory = Shell(args.kiln, [])
    csv_dir = os.path.join(args.data, "csv")
    memory.run(schema())
    for t in TABLES:
        memory.run(f"COPY {t} FROM '{csv_dir}/{t}.tbl' WITH (FORMAT csv, DELIMITER '|', HEADER false)")
    times = {"persisted": {}, "memory": {}}
    for n in range(1, 23):
        q = query(n)
        for shell in (persisted, memory):
            shell.run(q)  # first run: compile, first touch of the mapped columns
        for _ in range(args.rounds * 2):
            for name, shell in (("persisted", persisted), ("memory", memory)):
                elapsed, _ = shell.run(q)
                times[name].setdefault(n, []).append(elapsed)
    persisted.close()
    memory.close()
    print("\n| TPC-H SF1 query | persisted min / median (ms) | in memory min / median (ms) | persisted / memory |\n|---|---:|---:|---:|")
    ratios_med, ratios_min = [], []
    for n in range(1, 23):
        (pmin, pmed), (mmin, mmed) = stats(times["persisted"][n]), stats(times["memory"][n])
        ratios_med.append(pmed / mmed)
        ratios_min.append(pmin / mmin)
        print(f"| q{n:02d} | {pmin * 1000:.1f} / {pmed * 1000:.1f} | {mmin * 1000:.1f} / {mmed * 1000:.1f} | {pmed / mmed:.3f} |")
    geo = lambda xs: math.exp(sum(math.log(x) for x in xs) / len(xs))
    print(f"\ngeometric mean persisted / memory: {geo(ratios_med):.3f} (median), {geo(ratios_min):.3f} (min)", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pgbench(port, user, database, script, seconds, mode):
    result = subprocess.run(["pgbench", "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-M", mode, "-f", script,
                             "-h", "127.0.0.1", "-p", str(port), "-U", user, database], capture_output=True, text=True)
    for text in result.stdout.splitlines():
        if text.startswith("tps ="):
            return float(text.split()[2])
    raise RuntimeError(result.stdout[-800:] + result.stderr[-800:])


def commits(args, work):
    script = os.path.join(work, "commit.sql")
    with open(script, "w") as f:
        f.write("\\set id random(1, 1000000000)\nINSERT INTO commits VALUES (:id, 'a single-row commit');\n")
    # PostgreSQL 15, durable: fsync and synchronous_commit on.
    pgdata = os.path.join(work, "pgdata-durable")
    pg_port = free_port()
    subprocess.run(["bash", os.path.join(SHARED, "pg", "start_pg.sh"), pgdata, str(pg_port)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", pgdata, "-m", "fast", "-w", "restart",
                    "-l", os.path.join(pgdata, "server.log"),
                    "-o", "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=1GB -c track_wal_io_timing=on"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-c",
                    "DROP TABLE IF EXISTS commits; CREATE TABLE commits (id BIGINT, note TEXT); SHOW fsync; SHOW synchronous_commit"],
                   check=True, stdout=subprocess.DEVNULL)
    directory = os.path.join(work, "kiln-commits")
    shutil.rmtree(directory, ignore_errors=True)
    port = free_port()
    server = subprocess.Popen([args.kiln, "serve", directory, "--port", str(port)], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "kiln", "-d", "kiln", "-c",
                    "CREATE TABLE commits (id BIGINT, note TEXT)"], check=True, stdout=subprocess.DEVNULL)
    def wal_syncs(port, user, database):
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", database, "-Atc",
                              "SELECT wal_sync, wal_sync_time FROM pg_stat_wal"], capture_output=True, text=True, check=True).stdout
        syncs, sync_time = out.strip().split("|")
        return int(syncs), float(sync_time or 0)

    before = {"kiln": wal_syncs(port, "kiln", "kiln"), "pg": wal_syncs(pg_port, "postgres", "postgres")}
    results = {}
    for mode in ("simple", "prepared"):
        kiln, pg = [], []
        for _ in range(args.rounds):
            kiln.append(pgbench(port, "kiln", "kiln", script, args.seconds, mode))
            pg.append(pgbench(pg_port, "postgres", "postgres", script, args.seconds, mode))
        results[mode] = (kiln, pg)
    after = {"kiln": wal_syncs(port, "kiln", "kiln"), "pg": wal_syncs(pg_port, "postgres", "postgres")}
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=120)
    subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", pgdata, "-m", "fast", "stop"],
                   stdout=subprocess.DEVNULL)
    print("\n| 8 clients, single-row INSERT commits | Kiln tps min / median | PostgreSQL 15 tps min / median | Kiln / PostgreSQL (median) |\n|---|---:|---:|---:|")
    for mode, (kiln, pg) in results.items():
        print(f"| pgbench -M {mode} | {min(kiln):.0f} / {statistics.median(kiln):.0f} | {min(pg):.0f} / {statistics.median(pg):.0f} | "
              f"{statistics.median(kiln) / statistics.median(pg):.2f}x |", flush=True)
    # Group commit: commits per sync, from each engine's pg_stat_wal (PostgreSQL times its syncs
    # only with track_wal_io_timing, set above).
    for name, label in (("kiln", "Kiln"), ("pg", "PostgreSQL")):
        commits = sum(sum(tps) * args.seconds for tps in [results[m][0 if name == "kiln" else 1] for m in results])
        syncs = after[name][0] - before[name][0]
        sync_ms = after[name][1] - before[name][1]
        print(f"{label}: {syncs} WAL syncs for ~{commits:.0f} commits ({commits / max(1, syncs):.1f} per sync), "
              f"{1000 * sync_ms / max(1, syncs):.0f} µs per sync", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "kiln-bench"))
    parser.add_argument("--data", default="/tmp/anchors-data/sf1")
    parser.add_argument("--python", default="/tmp/anchors-venv/bin/python")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--work", default=None)
    parser.add_argument("--only", default="load,open,queries,commits")
    args = parser.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    args.bench = os.path.abspath(args.bench)
    only = args.only.split(",")
    work = args.work or tempfile.mkdtemp(prefix="kiln-durable-bench-", dir="/tmp")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)
    print(f"work directory {work}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    directory, duck_path = os.path.join(work, "kiln-load"), os.path.join(work, "duck-load.duckdb")
    if "load" in only:
        directory, duck_path = load(args, work)
    if "open" in only:
        open_and_q1(args, directory, duck_path)
    if "queries" in only:
        queries(args, directory)
    if "commits" in only:
        commits(args, work)


if __name__ == "__main__":
    main()
