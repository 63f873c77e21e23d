#!/usr/bin/env python3
"""Statements whose cost once grew faster than their input (session 17), timed against
PostgreSQL in the same run, alternating rounds: string_agg over 200,000 rows, a 1,000-constant
IN list over 1M rows, a 4,000-row VALUES list. Whole statements as a user runs them: `kiln -f`
(a process per run, start-up included) against `psql -f` on a running PostgreSQL 15.

Usage: bench/cliffs_benchmark.py [--kiln .build/release/kiln] [--port 55432] [--rounds 5]
(start PostgreSQL with ../shared/pg/start_pg.sh /tmp/pgdata 55432)
"""
import argparse, os, statistics, subprocess, tempfile, time

QUERIES = {
    "string_agg, 200,000 rows": "SELECT length(string_agg(g::text, ',')) FROM generate_series(1, 200000) g",
    "IN list of 1,000 constants, 1M rows": "SELECT count(*) FROM generate_series(1, 1000000) g WHERE g IN ("
                                           + ",".join(str(i * 37) for i in range(1000)) + ")",
    "VALUES list of 4,000 rows": "SELECT count(*) FROM (VALUES " + ",".join(f"({i}, 'x{i}')" for i in range(4000)) + ") v(a, b)",
}


def timed(command):
    started = time.time()
    subprocess.run(command, capture_output=True, check=True)
    return time.time() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=".build/release/kiln")
    parser.add_argument("--port", default="55432")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for name, sql in QUERIES.items():
            path = os.path.join(work, "q.sql")
            with open(path, "w") as f:
                f.write(sql + ";\n")
            kiln, pg = [], []
            for _ in range(args.rounds):
                kiln.append(timed([args.kiln, "-f", path]))
                pg.append(timed(["psql", "-h", "127.0.0.1", "-p", args.port, "-U", "postgres", "-Atq", "-f", path]))
            ratios = [k / p for k, p in zip(kiln, pg)]
            print(f"{name:38} Kiln min {min(kiln):.3f} s, median {statistics.median(kiln):.3f} s | "
                  f"PostgreSQL min {min(pg):.3f} s, median {statistics.median(pg):.3f} s | "
                  f"Kiln/PostgreSQL min {min(ratios):.2f}, median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
