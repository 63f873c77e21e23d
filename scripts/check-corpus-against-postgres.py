#!/usr/bin/env python3
"""Runs Kiln's .test corpus against a PostgreSQL server and reports every block whose
expected answer (or SQLSTATE) differs from PostgreSQL's.

PostgreSQL is the oracle for Kiln's semantics; this keeps the corpus honest.
Usage: scripts/check-corpus-against-postgres.py [--port 55432] [--fill] FILE.test ...
(start a scratch server with ../shared/pg/start_pg.sh /tmp/pgdata 55432)
--fill writes PostgreSQL's answers into the query blocks instead of reporting differences
(for new tests: write the queries with an empty answer after `----`, fill, review).
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
    parser.add_argument("--fill", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failures = 0
    for path in args.files:
        db = "kiln_corpus"
        psql(args.port, "postgres", f"DROP DATABASE IF EXISTS {db}")
        psql(args.port, "postgres", f"CREATE DATABASE {db}")
        filled = []
        for lines in blocks(open(path).read()):
            filled.append("\n".join(lines))
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
                if args.fill and result.returncode == 0:
                    filled[-1] = "\n".join([header] + body[:separator + 1] + got)
                    continue
                if result.returncode != 0 or got != expected:
                    failures += 1
                    print(f"{path}: differs from PostgreSQL:\n{sql}\nexpected (corpus):\n  " + "\n  ".join(expected)
                          + "\nPostgreSQL:\n  " + "\n  ".join(got) + ("\n" + result.stderr if result.stderr else ""))
        if args.fill:
            # Comments before a block are kept by re-reading them from the source.
            original = open(path).read().split("\n\n")
            out = []
            index = 0
            for block in original:
                kept = [l for l in block.split("\n") if not l.startswith("#")]
                comment = [l for l in block.split("\n") if l.startswith("#")]
                if any(kept) and index < len(filled):
                    out.append("\n".join(comment + [filled[index]]))
                    index += 1
                else:
                    out.append(block)
            open(path, "w").write("\n\n".join(out).rstrip("\n") + "\n")
    print(f"{failures} difference(s)")
    return 1 if failures else 0

sys.exit(main())
