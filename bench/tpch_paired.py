#!/usr/bin/env python3
"""TPC-H Kiln / peer ratios measured in alternating rounds, for a machine whose speed drifts.

  python3 bench/tpch_paired.py --kiln .build/release/kiln [--peer duckdb[,hyper]] [--sf 1]
      [--rounds 2] [--runs 5] [--queries 1-22] [--python /path/to/venv/python] [--out f.jsonl]
  python3 bench/tpch_paired.py --kiln .build/release/kiln --peer kiln:/path/to/other/kiln   # A/B two builds

Each round runs `../shared/bench/run_peers.py` for Kiln, then for each peer (the same
queries, the same harness and checks). A query's time is its min / median over all timed
runs of all rounds, so the engines are sampled across the same stretch of time. Prints a
Markdown table (ratios against the first peer), the geometric means of the median and min
ratios against every peer, and the load times.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench")


def run(engine, args, env):
    if engine.startswith("kiln:"):
        # Another Kiln build as the peer: the same harness with its binary.
        env = dict(env, KILN_BIN=os.path.abspath(engine[len("kiln:"):]))
        engine = "kiln"
    command = [args.python, os.path.join(BENCH, "run_peers.py"), "--engine", engine, "--sf", str(args.sf),
               "--threads", str(args.threads), "--runs", str(args.runs)]
    if args.queries:
        command += ["--queries", args.queries]
    out = subprocess.run(command, cwd=BENCH, env=env, capture_output=True, text=True).stdout
    records = []
    for line in out.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    if args.out:
        with open(args.out, "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
    return records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--peer", default="duckdb")
    parser.add_argument("--sf", default="1")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", default=None)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=1, help="threads for every engine (SET threads; the peers' own settings)")
    args = parser.parse_args()
    env = dict(os.environ, KILN_BIN=os.path.abspath(args.kiln))
    peers = args.peer.split(",")
    engines = ["kiln"] + peers
    times = {e: {} for e in engines}
    checks = {e: {} for e in engines}
    loads = {e: [] for e in engines}
    for round_index in range(args.rounds):
        for engine in engines:
            for r in run(engine, args, env):
                if r.get("type") == "load":
                    loads[engine].append(r["load_s"])
                elif r.get("type") == "query" and "runs_ms" in r:
                    times[engine].setdefault(r["query"], []).extend(r["runs_ms"])
                    checks[engine].setdefault(r["query"], set()).add(r.get("check"))
            print(f"round {round_index + 1}: {engine} done", file=sys.stderr)
    first = peers[0]
    print("| query | Kiln min / median (ms) | " + " | ".join(f"{p} min / median (ms)" for p in peers)
          + f" | Kiln / {first} (median) | Kiln / {first} (min) | checks |")
    print("|---|---:|" + "---:|" * len(peers) + "---:|---:|---|")
    logs = {p: ([], []) for p in peers}
    for q in sorted(set.intersection(*(set(times[e]) for e in engines))):
        k = times["kiln"][q]
        for p in peers:
            logs[p][0].append(math.log(statistics.median(k) / statistics.median(times[p][q])))
            logs[p][1].append(math.log(min(k) / min(times[p][q])))
        check = "/".join(sorted(set(str(c) for e in engines for c in checks[e][q])))
        cells = " | ".join(f"{min(times[p][q]):.0f} / {statistics.median(times[p][q]):.0f}" for p in peers)
        print(f"| Q{q} | {min(k):.0f} / {statistics.median(k):.0f} | {cells} | "
              f"{math.exp(logs[first][0][-1]):.2f} | {math.exp(logs[first][1][-1]):.2f} | {check} |")
    print()
    for p in peers:
        medians, mins = logs[p]
        if medians:
            print(f"geometric mean Kiln / {p}: {math.exp(sum(medians) / len(medians)):.3f} (median), "
                  f"{math.exp(sum(mins) / len(mins)):.3f} (min), {len(medians)} queries")
    for engine, values in loads.items():
        if values:
            print(f"load {engine}: " + ", ".join(f"{v:.2f} s" for v in values))


if __name__ == "__main__":
    main()
