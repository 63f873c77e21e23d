#!/usr/bin/env python3
"""Runs the 22 TPC-H queries in Kiln and checks them against the official answers.

Loads the '|'-delimited .tbl files of one scale factor with COPY, runs every query compiled
and interpreted (`SET jit = on|off`) in one `kiln` process, and compares each result with
`answers/sf<SF>/qNN.csv`: row count, row order, strings exactly, numbers with at most four
fraction digits (decimals) exactly, others (averages, floats) to a relative 1e-9.

  python3 scripts/tpch-check.py --sf 0.01                      # data from ../shared/tpch/sf0.01
  python3 scripts/tpch-check.py --sf 1 --data /tmp/anchors-data/sf1/csv
  python3 scripts/tpch-check.py --sf 0.1 --modes on --queries q01 q17

Data for SF0.1 and SF1: ../shared/bench/gen_tpch.py (see ../shared/bench/README.md).
Exit status 0 only when every query matches in every mode.
"""
import argparse
import csv
import io
import os
import subprocess
import sys
import time
from decimal import Decimal, InvalidOperation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def shared_tpch():
    for candidate in [os.environ.get("KILN_TPCH_DIR"), os.path.join(ROOT, "..", "shared", "tpch"), "/work/shared/tpch"]:
        if candidate and os.path.isdir(candidate):
            return os.path.abspath(candidate)
    sys.exit("no TPC-H directory (set KILN_TPCH_DIR)")


def number(text):
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def same(got, want):
    if got == want:
        return True
    a, b = number(got), number(want)
    if a is None or b is None:
        return False
    fraction = len(want.split(".")[1]) if "." in want and "e" not in want.lower() else 0
    if fraction <= 4 and "e" not in got.lower() and len(got.split(".")[1] if "." in got else "") <= 4:
        return a == b
    return abs(a - b) <= abs(b) * Decimal("1e-9") + Decimal("1e-12")


def compare(name, rows, expected):
    if len(rows) != len(expected):
        return f"{name}: {len(rows)} rows, expected {len(expected)}"
    for index, (row, want) in enumerate(zip(rows, expected)):
        if len(row) != len(want):
            return f"{name}: row {index + 1} has {len(row)} columns, expected {len(want)}"
        for column, (g, w) in enumerate(zip(row, want)):
            if not same(g, w):
                return f"{name}: row {index + 1} column {column + 1}: got {g!r}, expected {w!r}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", default="0.01", help="scale factor: 0.01, 0.1 or 1")
    parser.add_argument("--data", help="directory of the .tbl files (default: ../shared/tpch/sf<SF>)")
    parser.add_argument("--modes", nargs="+", default=["on", "off"], help="jit settings to run")
    parser.add_argument("--queries", nargs="+", default=[f"q{i:02d}" for i in range(1, 23)])
    parser.add_argument("--kiln", default=os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "release", "kiln")))
    args = parser.parse_args()

    tpch = shared_tpch()
    data = os.path.abspath(args.data or os.path.join(tpch, f"sf{args.sf}"))
    if not os.path.exists(os.path.join(data, "lineitem.tbl")):
        sys.exit(f"no lineitem.tbl in {data}")
    if not os.path.exists(args.kiln):
        sys.exit(f"no kiln binary at {args.kiln} (swift build -c release, or set KILN_BIN)")

    script = [open(os.path.join(tpch, "schema.sql")).read()]
    for table in TABLES:
        script.append(f"COPY {table} FROM '{os.path.join(data, table + '.tbl')}' WITH (FORMAT csv, DELIMITER '|', HEADER false);")
    for mode in args.modes:
        script.append(f"SET jit = {mode};" + (" SET jit_sync = on;" if mode == "on" else ""))
        for query in args.queries:
            sql = open(os.path.join(tpch, "queries", f"{query}.sql")).read().strip().rstrip(";")
            script.append(f"SELECT '@@{query}/{mode}' AS marker;")
            script.append(sql + ";")
    started = time.time()
    result = subprocess.run([args.kiln, "--format", "csv"], input="\n".join(script), capture_output=True, text=True)
    elapsed = time.time() - started
    # Results arrive in order on stdout; errors on stderr name no query, so map by marker order.
    sections = {}
    current = None
    lines = list(csv.reader(io.StringIO(result.stdout)))
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == ["marker"] and index + 1 < len(lines) and lines[index + 1] and lines[index + 1][0].startswith("@@"):
            current = lines[index + 1][0][2:]
            sections[current] = []
            index += 2
            continue
        if current is not None:
            sections[current].append(line if line else [""])
        index += 1

    failures = []
    for mode in args.modes:
        for query in args.queries:
            name = f"{query}/{mode}"
            answer = os.path.join(tpch, "answers", f"sf{args.sf}", f"{query}.csv")
            with open(answer) as f:
                # An empty line is a row of one NULL (an aggregate over no rows).
                expected = [line.split("|") for line in f.read().splitlines()[1:]]
            output = sections.get(name)
            if output is None or not output:
                failures.append(f"{name}: no result")
                continue
            problem = compare(name, output[1:], expected)
            if problem:
                failures.append(problem)
            print(f"{name}: {'ok' if not problem else 'FAILED'}")
    if result.stderr.strip():
        print("kiln stderr:\n" + result.stderr.strip()[:4000])
    total = len(args.modes) * len(args.queries)
    print(f"{total - len(failures)}/{total} match at SF{args.sf} ({elapsed:.1f} s including load)")
    for failure in failures:
        print("  " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
