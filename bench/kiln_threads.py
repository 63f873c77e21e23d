#!/usr/bin/env python3
"""Kiln at 1 thread against Kiln at 2, TPC-H SF1, in alternating rounds (the machine drifts).

  python3 bench/kiln_threads.py [path/to/release/kiln] [python with the bench venv]

Drives ../shared/bench/run_peers.py (--engine kiln) at --threads 1, then 2, twice; prints a
Markdown table of min / median per query and the geometric mean speed-up of the medians.
"""
import json, math, os, statistics, subprocess, sys
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench")
KILN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "kiln")
PYTHON = sys.argv[2] if len(sys.argv) > 2 else "/tmp/anchors-venv/bin/python"
env = dict(os.environ, KILN_BIN=KILN)
times = {1: {}, 2: {}}
loads = {1: [], 2: []}
for rnd in range(2):
    for t in (1, 2):
        out = subprocess.run([PYTHON, "run_peers.py", "--engine", "kiln", "--sf", "1", "--threads", str(t), "--runs", "3"],
                             cwd=BENCH, env=env, capture_output=True, text=True).stdout
        for line in out.splitlines():
            try: r = json.loads(line)
            except ValueError: continue
            if r.get("type") == "load": loads[t].append(r["load_s"])
            elif r.get("type") == "query" and "runs_ms" in r:
                assert r.get("check") == "ok", r
                times[t].setdefault(r["query"], []).extend(r["runs_ms"])
        print(f"round {rnd+1} threads {t} done", file=sys.stderr)
print("| query | 1 thread min / median (ms) | 2 threads min / median (ms) | speed-up (median) |")
print("|---|---:|---:|---:|")
logs = []
for q in sorted(times[1], key=int):
    a, b = times[1][q], times[2][q]
    s = statistics.median(a) / statistics.median(b)
    logs.append(math.log(s))
    print(f"| Q{q} | {min(a):.0f} / {statistics.median(a):.0f} | {min(b):.0f} / {statistics.median(b):.0f} | {s:.2f} |")
print(f"\ngeometric mean speed-up 2 / 1 threads: {math.exp(sum(logs)/len(logs)):.3f}; load {loads}")
