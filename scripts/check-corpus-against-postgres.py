#!/usr/bin/env python3
"""Runs Kiln's .test corpus against a PostgreSQL server and reports every block whose
expected answer (or SQLSTATE) differs from PostgreSQL's.

PostgreSQL is the oracle for Kiln's semantics; this keeps the corpus honest.
Usage: scripts/check-corpus-against-postgres.py [--port 55432] FILE.test ...
(start a scratch server with ../shared/pg/start_pg.sh /tmp/pgdata 55432)
"""
import argparse, re, subprocess, sys

def psql(port, db, sql):
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-X", "-q", "-A", "-t",
         "-F", "|", "-P", "null=NULL", "-v", "VERBOSITY=verbose", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True)

def blocks(text):
    for block in text.split("\n\n"):
        lines = [l for l in block.split("\n") if not l.startswith("#")]
        while lines and not lines[0]:
            lines.pop(0)
        if lines:
            yield lines

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default=55432)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failures = 0
    for path in args.files:
        db = "kiln_corpus"
        psql(args.port, "postgres", f"DROP DATABASE IF EXISTS {db}")
        psql(args.port, "postgres", f"CREATE DATABASE {db}")
        for lines in blocks(open(path).read()):
            header, body = lines[0], lines[1:]
            if header.startswith("statement"):
                sql = "\n".join(body)
                result = psql(args.port, db, sql)
                if header == "statement ok" and result.returncode != 0:
                    failures += 1
                    print(f"{path}: PostgreSQL failed on ok statement:\n{sql}\n{result.stderr}")
                elif header.startswith("statement error"):
                    expected = header.split()[-1]
                    match = re.search(r"ERROR:\s+([0-9A-Z]{5}):", result.stderr)
                    got = match.group(1) if match else "none"
                    if got != expected:
                        failures += 1
                        print(f"{path}: SQLSTATE {expected} expected, PostgreSQL says {got}:\n{sql}\n{result.stderr}")
            elif header.startswith("query"):
                separator = body.index("----")
                sql = "\n".join(body[:separator])
                expected = [l for l in body[separator + 1:] if l]
                result = psql(args.port, db, sql)
                got = [l for l in result.stdout.split("\n") if l]
                if result.returncode != 0 or got != expected:
                    failures += 1
                    print(f"{path}: differs from PostgreSQL:\n{sql}\nexpected (corpus):\n  " + "\n  ".join(expected)
                          + "\nPostgreSQL:\n  " + "\n  ".join(got) + ("\n" + result.stderr if result.stderr else ""))
    print(f"{failures} difference(s)")
    return 1 if failures else 0

sys.exit(main())
