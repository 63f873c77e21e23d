#!/usr/bin/env python3
"""Per TPC-H query in Kiln: compile time (first run, cold code cache), hot execution time, and
the operators' peak memory (hash tables and buffers), from the shell's `.timer detail`.

  python3 bench/tpch_details.py --data /tmp/anchors-data/sf1/csv [--kiln .build/release/kiln]

Prints a Markdown table and the process's peak RSS (the loaded tables included).
"""
import argparse
import os
import re
import resource
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--tpch", default=os.path.join(ROOT, "..", "shared", "tpch"))
    args = parser.parse_args()
    script = [open(os.path.join(args.tpch, "schema.sql")).read()]
    for t in TABLES:
        script.append(f"COPY {t} FROM '{os.path.join(args.data, t + '.tbl')}' WITH (FORMAT csv, DELIMITER '|', HEADER false);")
    # Native code waited for (the compile time is then the cold run's), as in issue 3's measurements.
    script.append("SET jit = on;")
    script.append("SET jit_sync = on;")
    script.append(".timer detail")
    for q in range(1, 23):
        sql = open(os.path.join(args.tpch, "queries", f"q{q:02d}.sql")).read().strip().rstrip(";")
        script += [f"SELECT 'q{q}' AS marker;", sql + ";", sql + ";"]
    out = subprocess.run([args.kiln, "--format", "csv"], input="\n".join(script), capture_output=True, text=True).stdout
    details = re.findall(r"[a-z+]+: compile ([0-9.]+) ms, execute ([0-9.]+) ms, operator memory ([0-9]+) MB", out)
    # Per query: the marker's line, then the cold run, then the hot run.
    rows = []
    index = 0
    for q in range(1, 23):
        index += 1  # marker
        cold = details[index]; hot = details[index + 1]
        index += 2
        rows.append((q, float(cold[0]), float(cold[1]), float(hot[1]), int(hot[2])))
    print("| query | compile, cold (ms) | execute, cold (ms) | execute, hot (ms) | operator memory (MB) |")
    print("|---|---|---|---|---|")
    for q, compile_ms, cold_ms, hot_ms, memory in rows:
        print(f"| Q{q} | {compile_ms:.1f} | {cold_ms:.1f} | {hot_ms:.1f} | {memory} |")
    compiles = sorted(r[1] for r in rows)
    print(f"\ncompile time: median {compiles[len(compiles) // 2]:.1f} ms, max {compiles[-1]:.1f} ms")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
