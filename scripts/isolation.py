#!/usr/bin/env python3
"""Isolation tests in the manner of PostgreSQL's src/test/isolation: a spec names sessions, their
steps, and permutations (orders) of the steps; each permutation runs against a fresh setup,
one connection per session, and the output (each step's SQL, its rows or error, and which
steps had to wait for another session) must equal the expected file, which was recorded
against PostgreSQL 15 (`--record`, with ../shared/pg/start_pg.sh).

Spec syntax (a subset of PostgreSQL's):
    setup { SQL }                 run before each permutation (one connection, autocommit)
    teardown { SQL }              run after each permutation
    session name
    step name { SQL }             steps of the session above
    permutation name name ...     one order of steps (several lines allowed)

A step still running after --wait seconds is shown as `<waiting ...>`; the runner then goes on
with the next step, and shows `<... completed>` with its result once it ends.

    python3 scripts/isolation.py --kiln .build/debug/kiln            (compare with the expected files)
    python3 scripts/isolation.py --port 55432 --record               (write them from PostgreSQL)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

import kiln_serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(ROOT, "Tests", "isolation", "specs")
EXPECTED = os.path.join(ROOT, "Tests", "isolation", "expected")


def parse(text):
    spec = {"setup": [], "teardown": [], "sessions": [], "steps": {}, "permutations": []}
    text = re.sub(r"#[^\n]*", "", text)
    position = 0
    session = None
    token = re.compile(r"\s*(setup|teardown|session|step|permutation)\b")
    while True:
        match = token.match(text, position)
        if not match:
            if text[position:].strip():
                raise SystemExit(f"spec syntax error near: {text[position:position + 60]!r}")
            break
        keyword = match.group(1)
        position = match.end()
        if keyword in ("setup", "teardown"):
            body, position = block(text, position)
            if session is None:
                spec[keyword].append(body)
            else:
                session[keyword].append(body)
        elif keyword == "session":
            name, position = word(text, position)
            session = {"name": name, "setup": [], "teardown": []}
            spec["sessions"].append(session)
        elif keyword == "step":
            name, position = word(text, position)
            body, position = block(text, position)
            spec["steps"][name] = (session["name"], body)
        else:
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            spec["permutations"].append(text[position:end].split())
            position = end
    return spec


def word(text, position):
    match = re.compile(r"\s*\"?([A-Za-z0-9_]+)\"?").match(text, position)
    return match.group(1), match.end()


def block(text, position):
    start = text.index("{", position)
    end = text.index("}", start)
    return text[start + 1:end].strip(), end + 1


def render(cursor_result):
    """A step's answer as text: the rows (|-separated, NULL spelled out), or nothing."""
    columns, rows = cursor_result
    if columns is None:
        return ""
    lines = ["|".join(columns)]
    for row in rows:
        lines.append("|".join("NULL" if v is None else str(v) for v in row))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


class Step(threading.Thread):
    def __init__(self, connection, sql):
        super().__init__(daemon=True)
        self.connection, self.sql = connection, sql
        self.output = ""

    def run(self):
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(self.sql)
                if cursor.description is not None:
                    self.output = render(([c.name for c in cursor.description], cursor.fetchall()))
        except psycopg.Error as error:
            message = error.diag.message_primary or str(error)
            self.output = f"ERROR:  {message}\n"


def run_spec(path, connect, wait):
    spec = parse(open(path).read())
    out = []
    permutations = spec["permutations"] or [[name for name in spec["steps"]]]
    for permutation in permutations:
        out.append(f"\nstarting permutation: {' '.join(permutation)}\n")
        admin = connect()
        for sql in spec["setup"]:
            admin.execute(sql)
        connections = {}
        for session in spec["sessions"]:
            connections[session["name"]] = connect()
            for sql in session["setup"]:
                connections[session["name"]].execute(sql)
        waiting = []  # (name, Step)

        def collect(grace):
            # Waits (up to `grace`) for every waiting step, then reports the ones that ended in
            # step order, so that the output does not depend on which thread ran first.
            deadline = time.time() + grace
            while any(entry[1].is_alive() for entry in waiting) and time.time() < deadline:
                time.sleep(0.01)
            for entry in list(waiting):
                if not entry[1].is_alive():
                    waiting.remove(entry)
                    out.append(f"step {entry[0]}: <... completed>\n{entry[1].output}")

        for name in permutation:
            session, sql = spec["steps"][name]
            if any(spec["steps"][w[0]][0] == session for w in waiting):
                # A session with a waiting step cannot run another: wait for it first.
                collect(30)
            step = Step(connections[session], sql)
            step.start()
            step.join(wait)
            if step.is_alive():
                out.append(f"step {name}: {sql} <waiting ...>\n")
                waiting.append((name, step))
            else:
                out.append(f"step {name}: {sql}\n{step.output}")
            # Steps this one released finish now.
            collect(wait if waiting else 0)
        collect(30)
        for name, _ in waiting:
            out.append(f"step {name}: <never completed>\n")
        for session in spec["sessions"]:
            for sql in session["teardown"]:
                connections[session["name"]].execute(sql)
            connections[session["name"]].close()
        for sql in spec["teardown"]:
            admin.execute(sql)
        admin.close()
    return "".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", help="run against `kiln serve` (a new in-memory server)")
    parser.add_argument("--port", type=int, help="run against a server already listening (PostgreSQL)")
    parser.add_argument("--record", action="store_true", help="write the expected files")
    parser.add_argument("--wait", type=float, default=0.5, help="seconds before a step counts as waiting")
    parser.add_argument("specs", nargs="*")
    arguments = parser.parse_args()
    server = None
    port = arguments.port
    if arguments.kiln:
        server, port = kiln_serve.start(arguments.kiln)
    user = "postgres" if arguments.port else "kiln"

    def connect():
        return psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="postgres" if arguments.port else "kiln", autocommit=True)

    specs = arguments.specs or sorted(os.path.join(SPECS, f) for f in os.listdir(SPECS) if f.endswith(".spec"))
    failures = 0
    try:
        for path in specs:
            name = os.path.splitext(os.path.basename(path))[0]
            output = run_spec(path, connect, arguments.wait)
            expected_path = os.path.join(EXPECTED, name + ".out")
            if arguments.record:
                with open(expected_path, "w") as f:
                    f.write(output)
                print(f"recorded {name}")
                continue
            expected = open(expected_path).read()
            if output == expected:
                print(f"ok {name}")
            else:
                failures += 1
                print(f"FAILED {name}")
                with tempfile.NamedTemporaryFile("w", suffix=".out", delete=False) as f:
                    f.write(output)
                subprocess.run(["diff", "-u", expected_path, f.name])
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    print(f"{len(specs)} specs, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
