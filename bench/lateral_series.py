#!/usr/bin/env python3
"""LATERAL generate_series: Kiln against DuckDB in alternating rounds, one thread each.

A table of ROWS rows whose column n holds 0..99; the query expands each row into n values
and aggregates them (9.9M values at the default 200,000 rows). Prints min and median per
engine of the hot runs and their ratio.

  python3 bench/lateral_series.py [--kiln .build/release/kiln] [--rows 200000] [--rounds 3] [--runs 5]
"""
import argparse
import os
import re
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUERY = "SELECT count(*), sum(x) FROM big, generate_series(1, big.n) AS g(x)"


def kiln_times(binary, rows, runs):
    """Hot times of `runs` runs in one process (after two warm-up runs), from \\timing."""
    script = [f"CREATE TABLE big (id INTEGER, n INTEGER);", f"INSERT INTO big SELECT g, g % 100 FROM generate_series(1, {rows}) AS s(g);",
              "SET threads = 1;", "\\timing on"] + [QUERY + ";"] * (runs + 2)
    out = subprocess.run([binary, "--format", "csv"], input="\n".join(script), capture_output=True, text=True, check=True).stdout
    times = [float(t) for t in re.findall(r"Time: ([0-9.]+) ms", out)]
    return times[-runs:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import duckdb
    duck = duckdb.connect()
    duck.execute("SET threads = 1")
    duck.execute(f"CREATE TABLE big AS SELECT g::INTEGER AS id, (g % 100)::INTEGER AS n FROM range(1, {args.rows + 1}) AS t(g)")
    for _ in range(2):
        duck.execute(QUERY).fetchall()
    kiln, peer = [], []
    for _ in range(args.rounds):
        kiln += kiln_times(args.kiln, args.rows, args.runs)
        for _ in range(args.runs):
            started = time.perf_counter()
            duck.execute(QUERY).fetchall()
            peer.append((time.perf_counter() - started) * 1000)
    for name, times in (("kiln", kiln), ("duckdb", peer)):
        print(f"{name}: min {min(times):.1f} ms, median {statistics.median(times):.1f} ms")
    print(f"kiln / duckdb: min {min(kiln) / min(peer):.2f}, median {statistics.median(kiln) / statistics.median(peer):.2f}")


if __name__ == "__main__":
    main()
