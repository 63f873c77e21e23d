#!/usr/bin/env python3
"""TPC-H Kiln / peer ratios measured in alternating rounds, for a machine whose speed drifts.

  python3 bench/tpch_paired.py --kiln .build/release/kiln [--peer duckdb] [--sf 1]
      [--rounds 2] [--runs 5] [--queries 1-22] [--python /path/to/venv/python] [--out f.jsonl]

Each round runs `../shared/bench/run_peers.py` for Kiln, then for the peer (the same
queries, the same harness and checks). A query's time is its min / median over all timed
runs of all rounds, so both engines are sampled across the same stretch of time. Prints a
Markdown table, the geometric means of the median and min ratios, and the load times.
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
    command = [args.python, os.path.join(BENCH, "run_peers.py"), "--engine", engine, "--sf", str(args.sf),
               "--threads", "1", "--runs", str(args.runs)]
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
    args = parser.parse_args()
    env = dict(os.environ, KILN_BIN=os.path.abspath(args.kiln))
    times = {"kiln": {}, args.peer: {}}
    checks = {"kiln": {}, args.peer: {}}
    loads = {"kiln": [], args.peer: []}
    for round_index in range(args.rounds):
        for engine in ("kiln", args.peer):
            for r in run(engine, args, env):
                if r.get("type") == "load":
                    loads[engine].append(r["load_s"])
                elif r.get("type") == "query" and "runs_ms" in r:
                    times[engine].setdefault(r["query"], []).extend(r["runs_ms"])
                    checks[engine].setdefault(r["query"], set()).add(r.get("check"))
            print(f"round {round_index + 1}: {engine} done", file=sys.stderr)
    print(f"| query | Kiln min / median (ms) | {args.peer} min / median (ms) | ratio (median) | ratio (min) | checks |")
    print("|---|---:|---:|---:|---:|---|")
    logs_median, logs_min = [], []
    for q in sorted(set(times["kiln"]) & set(times[args.peer])):
        k, p = times["kiln"][q], times[args.peer][q]
        ratio, ratio_min = statistics.median(k) / statistics.median(p), min(k) / min(p)
        logs_median.append(math.log(ratio))
        logs_min.append(math.log(ratio_min))
        check = "/".join(sorted(str(c) for c in checks["kiln"][q] | checks[args.peer][q]))
        print(f"| Q{q} | {min(k):.0f} / {statistics.median(k):.0f} | {min(p):.0f} / {statistics.median(p):.0f} | "
              f"{ratio:.2f} | {ratio_min:.2f} | {check} |")
    if logs_median:
        print(f"\ngeometric mean Kiln / {args.peer}: {math.exp(sum(logs_median) / len(logs_median)):.3f} (median), "
              f"{math.exp(sum(logs_min) / len(logs_min)):.3f} (min), {len(logs_median)} queries")
    for engine, values in loads.items():
        if values:
            print(f"load {engine}: " + ", ".join(f"{v:.2f} s" for v in values))


if __name__ == "__main__":
    main()
