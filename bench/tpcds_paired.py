#!/usr/bin/env python3
"""TPC-DS Kiln / peer ratios, every engine loaded once and the queries interleaved.

  /tmp/anchors-venv/bin/python bench/tpcds_paired.py --kiln .build/release/kiln \
      [--peer duckdb[,hyper]] [--sf 1] [--rounds 2] [--runs 3] [--queries 1-99] \
      [--threads 1] [--timeout 300] [--out f.jsonl]
  ... --peer kiln:/path/to/other/kiln          # A/B two Kiln builds

Run it with the peers' venv (`../shared/bench/setup.sh` makes /tmp/anchors-venv with DuckDB
2.0 and HyPer). Data: `../shared/bench/gen_tpcds.py --sf 1` writes
/tmp/anchors-data/tpcds/sf1/csv/<table>.dat; every engine loads those files after
`../shared/tpcds/schema.sql`, so all of them hold the same rows.

Kiln is its shell over a pipe (`kiln --format csv`, the harness of `tpcds_check.py`); DuckDB
and HyPer run in this process through their Python APIs, as `run_peers.py` runs them for
TPC-H. A query's time is wall time from sending the SQL to holding the whole result.

The machine is shared and its speed drifts, so engines are interleaved per query: in each
round, each query runs on every engine in turn (one warm-up in the first round, then
`--runs` timed runs), and the engines' order flips from round to round. A query's time is
the min / median over all timed runs of all rounds. Every engine's first result is checked
against `../shared/tpcds/answers/sf<SF>` with `tpcds_check.py`'s rules. Prints a Markdown
table (ratios against the first peer), the geometric means of the median and min ratios,
the number of queries over 4x, and the load times.
"""
import argparse
import datetime
import decimal
import json
import math
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench")
sys.path.insert(0, BENCH)
import tpcds_check as kit  # noqa: E402


def text(v):
    """A peer's value as answer text (None stays NULL)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (decimal.Decimal, int, datetime.date, datetime.datetime)):
        return str(v)
    return kit.text_of(v)


class KilnEngine:
    def __init__(self, name, binary, threads, timeout):
        self.name = name
        self.cmd = kit.CmdEngine(f"{binary} --format csv --threads {threads}", timeout)
        self.cmd.start()

    def load(self, data_dir):
        for s in kit.load_statements(data_dir):
            self.cmd.execute(s, timeout_s=3600)

    def run(self, sql):
        _, rows = self.cmd.execute(sql)
        return rows

    def close(self):
        self.cmd.close()


class DuckDBEngine:
    def __init__(self, threads):
        import duckdb
        self.name = "duckdb"
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET threads={threads}")
        self.con.execute("SET preserve_insertion_order=true")

    def load(self, data_dir):
        for s in kit.schema_statements():
            self.con.execute(s)
        for t in kit.TABLES:
            path = os.path.join(os.path.abspath(data_dir), t + ".dat")
            self.con.execute(f"COPY {t} FROM '{path}' (FORMAT csv, DELIMITER '|', HEADER false)")

    def run(self, sql):
        return [[text(v) for v in row] for row in self.con.execute(sql).fetchall()]

    def close(self):
        self.con.close()


class HyperEngine:
    def __init__(self, threads):
        from tableauhyperapi import HyperProcess, Telemetry, Connection, CreateMode
        self.name = "hyper"
        folder = os.path.join(kit.DATA, "hyper", f"tpcds-{os.getpid()}")
        os.makedirs(folder, exist_ok=True)
        params = {"hard_concurrent_query_thread_limit": str(threads),
                  "soft_concurrent_query_thread_limit": str(threads), "log_dir": folder}
        self.process = HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters=params)
        self.con = Connection(self.process.endpoint, os.path.join(folder, "tpcds.hyper"),
                              CreateMode.CREATE_AND_REPLACE)

    def load(self, data_dir):
        for s in kit.schema_statements():
            self.con.execute_command(s)
        for t in kit.TABLES:
            path = os.path.join(os.path.abspath(data_dir), t + ".dat")
            self.con.execute_command(f"COPY {t} FROM '{path}' WITH (FORMAT csv, DELIMITER '|', NULL '')")

    def run(self, sql):
        with self.con.execute_query(sql) as result:
            return [[text(v) for v in row] for row in result]

    def close(self):
        self.con.close()
        self.process.close()


def make(spec, args):
    if spec == "kiln" or spec.startswith("kiln:"):
        binary = args.kiln if spec == "kiln" else os.path.abspath(spec[len("kiln:"):])
        return KilnEngine(spec, binary, args.threads, args.timeout)
    if spec == "duckdb":
        return DuckDBEngine(args.threads)
    if spec == "hyper":
        return HyperEngine(args.threads)
    raise SystemExit(f"unknown engine {spec}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--peer", default="duckdb")
    parser.add_argument("--sf", default="1")
    parser.add_argument("--data", default=None, help="folder of <table>.dat (default: the kit's for --sf)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", default="1-99")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per Kiln query")
    parser.add_argument("--out", default=None, help="append one JSON record per engine and query")
    args = parser.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    data_dir = args.data or kit.default_data_dir(args.sf)
    answers = os.path.join(kit.KIT, "answers", kit.sf_name(args.sf))
    meta = kit.load_order_meta()
    queries = kit.parse_queries(args.queries)
    peers = args.peer.split(",")
    specs = ["kiln"] + peers
    engines, loads = {}, {}
    for spec in specs:
        t0 = time.perf_counter()
        engines[spec] = make(spec, args)
        engines[spec].load(data_dir)
        loads[spec] = time.perf_counter() - t0
        print(f"load {spec}: {loads[spec]:.1f} s", file=sys.stderr, flush=True)
    times = {s: {} for s in specs}
    checks = {s: {} for s in specs}
    out = open(args.out, "a") if args.out else None
    for round_index in range(args.rounds):
        order = specs if round_index % 2 == 0 else list(reversed(specs))
        for nr in queries:
            name = f"q{nr:02d}"
            sql = kit.query_text(nr)
            for spec in order:
                if checks[spec].get(name) in ("error", "timeout"):
                    continue
                engine = engines[spec]
                runs = []
                try:
                    for i in range(args.runs + (1 if round_index == 0 else 0)):
                        t0 = time.perf_counter()
                        rows = engine.run(sql)
                        elapsed = (time.perf_counter() - t0) * 1e3
                        if round_index == 0 and i == 0:
                            _, expected = kit.read_answer(os.path.join(answers, f"{name}.csv"))
                            diff = kit.compare_result(rows, expected, meta.get(name))
                            checks[spec][name] = "ok" if diff is None else "mismatch"
                            if diff:
                                print(f"{spec} {name} mismatch: {diff}", file=sys.stderr, flush=True)
                            continue
                        runs.append(elapsed)
                except kit.Timeout as e:
                    checks[spec][name] = "timeout"
                    print(f"{spec} {name} timeout: {e}", file=sys.stderr, flush=True)
                except kit.EngineError as e:
                    checks[spec][name] = "error"
                    print(f"{spec} {name} error: {e}", file=sys.stderr, flush=True)
                except Exception as e:  # a peer's own error
                    checks[spec][name] = "error"
                    print(f"{spec} {name} error: {str(e)[:300]}", file=sys.stderr, flush=True)
                times[spec].setdefault(name, []).extend(runs)
                if out and runs:
                    out.write(json.dumps({"engine": spec, "query": name, "round": round_index + 1,
                                          "runs_ms": [round(r, 2) for r in runs],
                                          "check": checks[spec].get(name)}) + "\n")
                    out.flush()
        print(f"round {round_index + 1} done", file=sys.stderr, flush=True)
    for engine in engines.values():
        engine.close()

    first = peers[0]
    print("| query | Kiln min / median (ms) | " + " | ".join(f"{p} min / median (ms)" for p in peers)
          + f" | Kiln / {first} (median) | Kiln / {first} (min) | checks |")
    print("|---|---:|" + "---:|" * len(peers) + "---:|---:|---|")
    logs = {p: ([], []) for p in peers}
    for nr in queries:
        name = f"q{nr:02d}"
        check = "/".join(f"{s}:{checks[s].get(name, '-')}" for s in specs if checks[s].get(name) != "ok") or "ok"
        if not all(times[s].get(name) for s in specs):
            print(f"| {name} | | " + " | ".join("" for _ in peers) + f" | | | {check} |")
            continue
        k = times["kiln"][name]
        for p in peers:
            logs[p][0].append(math.log(statistics.median(k) / statistics.median(times[p][name])))
            logs[p][1].append(math.log(min(k) / min(times[p][name])))
        cells = " | ".join(f"{min(times[p][name]):.1f} / {statistics.median(times[p][name]):.1f}" for p in peers)
        print(f"| {name} | {min(k):.1f} / {statistics.median(k):.1f} | {cells} | "
              f"{math.exp(logs[first][0][-1]):.2f} | {math.exp(logs[first][1][-1]):.2f} | {check} |")
    print()
    for p in peers:
        medians, mins = logs[p]
        if medians:
            over = sum(1 for m in medians if m > math.log(4))
            print(f"geometric mean Kiln / {p}: {math.exp(sum(medians) / len(medians)):.3f} (median), "
                  f"{math.exp(sum(mins) / len(mins)):.3f} (min), {len(medians)} queries, {over} over 4x (median)")
    for s in specs:
        total = sum(statistics.median(v) for v in times[s].values() if v)
        correct = sum(1 for c in checks[s].values() if c == "ok")
        print(f"{s}: load {loads[s]:.1f} s, {correct}/{len(queries)} correct, sum of medians {total / 1e3:.2f} s")


if __name__ == "__main__":
    main()
