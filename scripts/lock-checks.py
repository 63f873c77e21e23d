#!/usr/bin/env python3
"""Row locks under load: a job queue served by several sessions of `kiln serve` at once.

Each worker loops: BEGIN; take the next new job with `SELECT ... ORDER BY id LIMIT 1 FOR
UPDATE [SKIP LOCKED]`; mark it done with its own name; COMMIT. Every job must be done exactly
once, by one worker, whatever the interleaving: with SKIP LOCKED the workers pass each other,
without it they wait for the lock holder and then see the job taken (READ COMMITTED runs the
statement again). Repeated --rounds times per mode (timing-dependent, so in a loop).

  .venv/bin/python scripts/lock-checks.py --kiln .build/release/kiln [--rounds 5]
"""
import argparse
import sys
import threading

import psycopg

import kiln_serve

JOBS = 300
WORKERS = 4


def round_(port, skip):
    with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS jobs")
        c.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT NOT NULL, worker TEXT)")
        c.execute(f"INSERT INTO jobs SELECT g, 'new', NULL FROM generate_series(1, {JOBS}) g")
    taken = {}
    errors = []

    def work(name):
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln") as c:
                while True:
                    with c.transaction():
                        row = c.execute("SELECT id FROM jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE" + (" SKIP LOCKED" if skip else "")).fetchone()
                        if row is None:
                            return
                        c.execute("UPDATE jobs SET state = 'done', worker = %s WHERE id = %s", (name, row[0]))
                    taken.setdefault(row[0], []).append(name)
        except Exception as error:  # reported below
            errors.append(f"{name}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as c:
        done = dict(c.execute("SELECT id, worker FROM jobs WHERE state = 'done'").fetchall())
        left = c.execute("SELECT count(*) FROM jobs WHERE state <> 'done'").fetchone()[0]
    problems = list(errors)
    twice = [job for job, names in taken.items() if len(names) > 1]
    if twice:
        problems.append(f"jobs taken more than once: {twice[:10]}")
    if left or len(done) != JOBS:
        problems.append(f"{len(done)} jobs done, {left} left")
    if any(done.get(job) != names[0] for job, names in taken.items() if len(names) == 1):
        problems.append("a job's recorded worker is not the one that took it")
    workers = len(set(done.values()))
    return problems, workers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server, port = kiln_serve.start(args.kiln)
    failures = 0
    try:
        for skip in (True, False):
            for number in range(args.rounds):
                problems, workers = round_(port, skip)
                mode = "SKIP LOCKED" if skip else "waiting"
                print(f"{mode} round {number + 1}: {'ok' if not problems else 'FAILED'} ({JOBS} jobs, {workers} workers took some)")
                for problem in problems:
                    print("  " + problem)
                failures += bool(problems)
    finally:
        server.terminate()
        server.wait(timeout=60)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
