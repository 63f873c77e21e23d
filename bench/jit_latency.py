#!/usr/bin/env python3
"""Compilation latency and first-execution time of the 22 TPC-H queries (issue 4).

  python3 bench/jit_latency.py --data /tmp/anchors-data/sf1/csv --kiln /path/to/release/kiln [--runs 3]

1. Compile latency per tier: in a fresh process per run and tier (cold code cache),
   `SET jit = on, jit_sync = on, jit_tier = fast|optimized`, then `EXPLAIN ANALYZE` of each
   query reports its tier's compile time (lowering to kiln_low, MLIR, LLVM, code emission;
   the worker's wall time). Median and p95 over the 22 queries (each query's median over runs).
2. First execution: in a fresh process per run, per query: the interpreter alone (`jit = off`),
   then the first execution with the default policy (`jit = auto`, cold code cache: the
   interpreter runs while the worker compiles, pipelines switch at a morsel boundary), then
   three hot executions. Wall time per statement from the shell's `\\timing`.
Prints Markdown tables.
"""
import argparse
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def load_script(args):
    script = [open(os.path.join(args.tpch, "schema.sql")).read()]
    for t in TABLES:
        script.append(f"COPY {t} FROM '{os.path.join(args.data, t + '.tbl')}' WITH (FORMAT csv, DELIMITER '|', HEADER false);")
    return script


def query_text(args, q):
    return open(os.path.join(args.tpch, "queries", f"q{q:02d}.sql")).read().strip().rstrip(";")


def run_kiln(args, script):
    result = subprocess.run([args.kiln, "--format", "csv"], input="\n".join(script) + "\n", capture_output=True, text=True)
    if result.returncode != 0 or "ERROR" in result.stderr:
        raise SystemExit(f"kiln failed: {result.stderr[:2000]}")
    return result.stdout


def compile_latency(args, tier):
    script = load_script(args) + [f"SET jit = on;", "SET jit_sync = on;", f"SET jit_tier = {tier};"]
    for q in range(1, 23):
        script.append(f"EXPLAIN ANALYZE {query_text(args, q)};")
    out = run_kiln(args, script)
    times = [float(m) for m in re.findall(rf"Compilation \({tier} tier\): ([0-9.]+) ms", out)]
    if len(times) != 22:
        raise SystemExit(f"expected 22 compile times for {tier}, got {len(times)}")
    return times


def first_execution(args):
    script = load_script(args) + ["\\timing on"]
    for q in range(1, 23):
        sql = query_text(args, q) + ";"
        script += ["SET jit = off;", sql, "SET jit = auto;", sql, sql, sql, sql]
    out = run_kiln(args, script)
    times = [float(m) for m in re.findall(r"^Time: ([0-9.]+) ms", out, re.MULTILINE)]
    if len(times) != 22 * 7:
        raise SystemExit(f"expected {22 * 7} timings, got {len(times)}")
    rows = []
    for q in range(22):
        t = times[q * 7:(q + 1) * 7]
        rows.append({"interpreter": t[1], "first": t[3], "hot": t[4:7]})
    return rows


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--tpch", default=os.path.join(ROOT, "..", "shared", "tpch"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    per_tier = {}
    for tier in ["fast", "optimized"]:
        runs = [compile_latency(args, tier) for _ in range(args.runs)]
        per_tier[tier] = [statistics.median(r[q] for r in runs) for q in range(22)]
    print("| tier | median compile (ms) | p95 (ms) | min (ms) | max (ms) |")
    print("|---|---:|---:|---:|---:|")
    for tier, times in per_tier.items():
        print(f"| {tier} | {statistics.median(times):.1f} | {p95(times):.1f} | {min(times):.1f} | {max(times):.1f} |")

    runs = [first_execution(args) for _ in range(args.runs)]
    print()
    print("| query | fast tier compile (ms) | optimized tier compile (ms) | interpreter alone (ms) | first execution (ms) | first / interpreter | hot min / median (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    ratios = []
    for q in range(22):
        interp = statistics.median(r[q]["interpreter"] for r in runs)
        first = statistics.median(r[q]["first"] for r in runs)
        hot = [h for r in runs for h in r[q]["hot"]]
        ratio = first / interp
        ratios.append(ratio)
        worst = max(worst, ratio)
        print(f"| Q{q + 1} | {per_tier['fast'][q]:.1f} | {per_tier['optimized'][q]:.1f} | {interp:.0f} | {first:.0f} | {ratio:.2f} | {min(hot):.0f} / {statistics.median(hot):.0f} |")
    print(f"\nfirst execution / interpreter alone: median {statistics.median(ratios):.2f}, worst {worst:.2f} (medians of {args.runs} runs)")


if __name__ == "__main__":
    main()
