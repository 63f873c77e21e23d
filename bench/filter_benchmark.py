#!/usr/bin/env python3
"""QuestDB-style filter benchmark (issue 5) for Kiln's execution modes in one session:
the trips table (100M rows, from ../shared/bench: `run_peers.py --gen-trips` and its CSV copy)
loaded once, then queries (a), (b), (c) with SIMD kernels, compiled without SIMD
(`SET jit_simd = off`), and interpreted (`SET jit = off`). Prints GB/s of touched column bytes
(min and median of the runs) as Markdown. Peers: ../shared/bench/run_peers.py --bench filter.

Usage: bench/filter_benchmark.py [--csv /tmp/anchors-data/trips/trips.csv] [--runs 5]
"""
import argparse, re, statistics, subprocess, sys

QUERIES = {
    "a": ("SELECT count(*), max(total_amount), avg(total_amount) FROM trips WHERE total_amount > 150 AND passenger_count = 1", 12),
    "b": ("SELECT count(*) FROM trips WHERE total_amount > 150", 8),
    "c": ("SELECT sum(total_amount) FROM trips", 8),
}
MODES = [("SIMD kernels", "SET jit = on; SET jit_simd = on;"),
         ("compiled, no SIMD", "SET jit = on; SET jit_simd = off;"),
         ("interpreted", "SET jit = off;")]

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--csv", default="/tmp/anchors-data/trips/trips.csv")
    p.add_argument("--rows", type=int, default=100_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--interpreted-runs", type=int, default=2)
    p.add_argument("--kiln", default=".build/release/kiln")
    a = p.parse_args()
    script = [".timer detail",
              "CREATE TABLE trips (total_amount DOUBLE PRECISION, passenger_count INTEGER, pickup_datetime TIMESTAMP, vendor_id INTEGER);",
              f"COPY trips FROM '{a.csv}' WITH (FORMAT csv, HEADER false);"]
    plan = []
    for mode, setting in MODES:
        script.append(setting)
        runs = a.interpreted_runs if mode == "interpreted" else a.runs
        for q, (sql, _) in QUERIES.items():
            for i in range(1 + runs):  # one warm-up (compiles), then timed runs
                script.append(sql + ";")
                plan.append((mode, q, i == 0))
    out = subprocess.run([a.kiln, "--format", "csv"], input="\n".join(script) + "\n", capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout[-2000:] + out.stderr[-2000:])
    lines = out.stdout.splitlines()
    times = [float(m.group(1)) for m in (re.match(r"Time: ([0-9.]+) ms", l) for l in lines) if m]
    details = [re.search(r"execute ([0-9.]+) ms", l) for l in lines if re.match(r"\s+(compiled|interpreted): compile", l)]
    load_s = times[1] / 1000
    assert len(details) == len(plan), (len(details), len(plan))
    results = {}
    for (mode, q, warm), d in zip(plan, details):
        if not warm:
            results.setdefault((mode, q), []).append(float(d.group(1)))
    print(f"rows: {a.rows:,}; COPY from CSV: {load_s:.1f} s\n")
    print("| query | " + " | ".join(f"{m}: GB/s min / median (ms median)" for m, _ in MODES) + " | SIMD vs interpreted |")
    print("|---|" + "---:|" * (len(MODES) + 1))
    for q, (_, bytes_per_row) in QUERIES.items():
        cells = []
        for mode, _ in MODES:
            t = results[(mode, q)]
            gb = bytes_per_row * a.rows / 1e9
            cells.append(f"{gb / (min(t) / 1000):.2f} / {gb / (statistics.median(t) / 1000):.2f} ({statistics.median(t):.1f})")
        ratio = statistics.median(results[("interpreted", q)]) / statistics.median(results[("SIMD kernels", q)])
        print(f"| ({q}) | " + " | ".join(cells) + f" | {ratio:.0f}x |")

main()
