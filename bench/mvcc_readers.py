#!/usr/bin/env python3
"""What MVCC costs readers: TPC-H on tables with and without deleted versions, paired.

Two `kiln` processes load the same TPC-H data. In the second, an UPDATE rewrites a share of
lineitem's and orders' rows to their own values (each row's old version is marked deleted and a
new one appended), so the answers stay the same while the scans meet delete markers in every
morsel: the slow path of `kiln_mid.visible`. Then every query runs in both processes in
alternating rounds; the report gives per query the median and min time of each and their
ratio, and the geometric means. A third engine (`--base`, another Kiln build) can be added to
compare untouched tables against the build before MVCC.

  python3 bench/mvcc_readers.py --kiln .build/release/kiln --data /tmp/anchors-data/sf1 \\
      [--base /path/to/old/kiln] [--share 100] [--rounds 3] [--runs 3]
"""
import argparse
import math
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


class Kiln:
    SENTINEL = "kiln_bench_sentinel"

    def __init__(self, binary):
        self.p = subprocess.Popen([binary, "--format", "csv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.n = 0

    def run(self, sql):
        self.n += 1
        mark = f"{self.SENTINEL}_{self.n}"
        start = time.perf_counter()
        self.p.stdin.write(sql.strip().rstrip(";") + ";\n" + f"SELECT '{mark}' AS {self.SENTINEL};\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("kiln exited: " + "".join(lines[-5:]))
            if line.strip() == mark:
                break
            lines.append(line)
        elapsed = time.perf_counter() - start
        errors = [l for l in lines if l.startswith("ERROR")]
        if errors:
            raise RuntimeError("".join(errors))
        return elapsed, [l for l in lines if l.strip() != self.SENTINEL]

    def load(self, tpch, data):
        with open(os.path.join(tpch, "schema.sql")) as f:
            for statement in f.read().split(";"):
                body = "\n".join(l for l in statement.splitlines() if not l.strip().startswith("--"))
                if body.strip():
                    self.run(body)
        for table in TABLES:
            self.run(f"COPY {table} FROM '{data}/csv/{table}.tbl' WITH (FORMAT csv, DELIMITER '|', HEADER false)")

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--base", help="another Kiln build, on untouched tables")
    parser.add_argument("--data", required=True, help="a directory with csv/<table>.tbl")
    parser.add_argument("--tpch", default=os.path.join(ROOT, "..", "shared", "tpch"))
    parser.add_argument("--share", type=int, default=100, help="1 / share of the rows get a new version (100: 1%%)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engines = {"untouched": Kiln(args.kiln), "touched": Kiln(args.kiln)}
    if args.base:
        engines["base"] = Kiln(args.base)
    for name, engine in engines.items():
        start = time.perf_counter()
        engine.load(args.tpch, args.data)
        print(f"loaded {name} in {time.perf_counter() - start:.1f} s", flush=True)
    for table, key in (("lineitem", "l_orderkey"), ("orders", "o_orderkey")):
        elapsed, lines = engines["touched"].run(f"UPDATE {table} SET {key} = {key} WHERE {key} % {args.share} = 7")
        print(f"touched: {lines[-1].strip() if lines else ''} {table} rows in {elapsed:.1f} s", flush=True)
    queries = []
    for q in range(1, 23):
        with open(os.path.join(args.tpch, "queries", f"q{q:02d}.sql")) as f:
            queries.append((q, f.read()))
    times = {name: {q: [] for q, _ in queries} for name in engines}
    answers = {}
    for round_ in range(args.rounds):
        for q, sql in queries:
            for name, engine in engines.items():
                engine.run(sql)  # warm (and compile)
                for _ in range(args.runs):
                    elapsed, lines = engine.run(sql)
                    times[name][q].append(elapsed)
                answers.setdefault(q, {})[name] = lines
        print(f"round {round_ + 1} done", flush=True)
    for q, by_engine in answers.items():
        if len({tuple(v) for v in by_engine.values()}) != 1:
            print(f"q{q}: answers differ between engines")
    print("| query | untouched median ms | touched median ms | touched / untouched (median) | (min) |" +
          (" base median ms | untouched / base |" if args.base else ""))
    print("|---|---|---|---|---|" + ("---|---|" if args.base else ""))
    ratios, min_ratios, base_ratios = [], [], []
    for q, _ in queries:
        u, t = statistics.median(times["untouched"][q]), statistics.median(times["touched"][q])
        um, tm = min(times["untouched"][q]), min(times["touched"][q])
        ratios.append(t / u)
        min_ratios.append(tm / um)
        row = f"| q{q} | {u * 1000:.1f} | {t * 1000:.1f} | {t / u:.3f} | {tm / um:.3f} |"
        if args.base:
            b = statistics.median(times["base"][q])
            base_ratios.append(u / b)
            row += f" {b * 1000:.1f} | {u / b:.3f} |"
        print(row)
    geomean = lambda xs: math.exp(sum(math.log(x) for x in xs) / len(xs))
    print(f"geometric mean touched / untouched: median {geomean(ratios):.3f}, min {geomean(min_ratios):.3f}")
    if args.base:
        print(f"geometric mean untouched / base build (median): {geomean(base_ratios):.3f}")
    for engine in engines.values():
        engine.close()


if __name__ == "__main__":
    main()
