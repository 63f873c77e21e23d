#!/usr/bin/env python3
"""The seed benchmark of issue 2: 100 million rows of (k INTEGER, v DOUBLE PRECISION) made
with generate_series; the seed query and the QuestDB-style filter query, compiled (cold and
hot) against the interpreter, compile time shown separately.

Usage: bench/seed_benchmark.py [--rows 100000000] [--runs 5] [--kiln .build/release/kiln]
Prints a Markdown table (min and median of the runs) for BENCHMARKS.md.
"""
import argparse, re, statistics, subprocess, sys, time

QUERIES = {
    "seed": "SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10",
    "filter": "SELECT count(*), max(v), avg(v) FROM t WHERE v > 150 AND k = 1",
}

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interpreted-runs", type=int, default=3)
    parser.add_argument("--kiln", default=".build/release/kiln")
    args = parser.parse_args()

    script = [".timer detail", "SET jit = on;", "SET jit_sync = on;",
              "CREATE TABLE t (k INTEGER, v DOUBLE PRECISION);",
              # k in 0..999, v in [0, 250): v > 150 keeps 40%, k = 1 keeps 0.1%
              f"INSERT INTO t SELECT g % 1000, (g % 1000003) * 0.00025 FROM generate_series(1, {args.rows}) AS s(g);"]
    plan = []
    for name, sql in QUERIES.items():
        for i in range(1 + args.runs):
            script.append(sql + ";")
            plan.append((name, "compiled", "cold" if i == 0 else "hot"))
    script.append("SET jit = off;")
    for name, sql in QUERIES.items():
        for _ in range(args.interpreted_runs):
            script.append(sql + ";")
            plan.append((name, "interpreted", "hot"))
    started = time.time()
    out = subprocess.run([args.kiln, "--format", "csv"], input="\n".join(script) + "\n",
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout[-2000:] + out.stderr[-2000:])
    lines = out.stdout.splitlines()
    details = [l for l in lines if re.match(r"\s+[a-z+]+: compile", l)]
    times = [float(m.group(1)) for m in (re.match(r"Time: ([0-9.]+) ms", l) for l in lines) if m]
    load_ms = times[3]
    assert len(details) == len(plan), (len(details), len(plan))
    measured = {}
    for (name, mode, temperature), line in zip(plan, details):
        m = re.search(r"compile ([0-9.]+) ms, execute ([0-9.]+) ms", line)
        measured.setdefault((name, mode, temperature), []).append((float(m.group(1)), float(m.group(2))))

    def stats(values):
        return min(values), statistics.median(values)

    print(f"rows: {args.rows:,}; load (INSERT ... SELECT generate_series): {load_ms / 1000:.1f} s; total wall {time.time() - started:.0f} s\n")
    print("| query | compiled, first run: compile + execute (ms) | compiled hot: min / median (ms) | interpreted: min / median (ms) | interpreted / compiled (median) |")
    print("|---|---:|---:|---:|---:|")
    for name in QUERIES:
        cold = measured[(name, "compiled", "cold")][0]
        hot = stats([e for _, e in measured[(name, "compiled", "hot")]])
        interpreted = stats([e for _, e in measured[(name, "interpreted", "hot")]])
        print(f"| {name} | {cold[0]:.1f} + {cold[1]:.1f} | {hot[0]:.1f} / {hot[1]:.1f} | {interpreted[0]:.1f} / {interpreted[1]:.1f} | {interpreted[1] / hot[1]:.1f}x |")

main()
