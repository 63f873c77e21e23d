#!/usr/bin/env python3
"""Runs the release binary the way users run it, and checks that every process ends well.

Every run is a real `kiln` process that exits (over `-f`, `-c`, a pipe and a pseudo-terminal),
or a `kiln serve` stopped by a signal, at moments when a compile may still be in flight:
- the exit script (a 1M-row aggregate) many times in every jit mode and tier, and with the
  CPU forced to AVX2 (`KILN_CPU=avx2`) as well as the host's own;
- the 22 TPC-H queries at SF0.01 through `kiln -f`, one process per query, in every mode,
  against the official answers;
- the SQL corpus (`Tests/KilnTests/Resources/sql`) through `kiln -f` in every mode, each
  mode's output equal to the interpreter's;
- a compile made to fail on purpose (`KILN_TEST_COMPILE_FAULT`): the answer is right and the
  process lives;
- `statement_timeout` in the shell;
- `kiln serve` stopped by SIGTERM and SIGINT while compiles run, and `kiln serve DBDIR`
  after queries over a persisted table (every committed row there at the next start); deep inputs (1,000,000
  NOTs, 100,000 parentheses, 1,000,000-term sums, 10,000 nested subqueries, ...) sent to
  it while a second connection keeps being served;
- no files left behind by LLVM's JIT listeners (`.debug/jit`).

  python3 scripts/release-checks.py --kiln .build/release/kiln [--runs 20] [--only exit,tpch]

Exit status 0 only when every check passes.
"""
import argparse
import glob
import importlib.util
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRASH_MARKERS = ["Program crashed", "Segmentation fault", "LLVM ERROR", "Fatal error", "Backtracing", "scalar-to-vector",
                 "Cannot schedule tasks"]

EXIT_SCRIPT = """CREATE TABLE t (k INTEGER, v DOUBLE PRECISION);
INSERT INTO t SELECT (i % 97)::INTEGER, ((((i::BIGINT * 7919) % 2000) - 1000)::DOUBLE PRECISION) / 2 FROM generate_series(1, 1000000) AS g(i);
SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10;
"""

# name -> (command-line options, SET statements run first)
MODES = {
    "auto": ([], ""),
    "on": (["--jit", "on"], ""),
    "on-sync": (["--jit", "on", "--jit-sync"], ""),
    "off": (["--jit", "off"], ""),
    "fast": (["--jit", "on"], "SET jit_tier = fast;\n"),
    "optimized": (["--jit", "on"], "SET jit_tier = optimized;\n"),
    "no-simd": (["--jit", "on"], "SET jit_simd = off;\n"),
}


def exit_script_answer():
    """The exit script's answer, computed here (halves sum exactly in doubles)."""
    sums = [0.0] * 97
    for i in range(1, 1000001):
        v = ((i * 7919) % 2000 - 1000) / 2
        if v > 0:
            sums[i % 97] += v
    lines = ["k,sum"]
    for k in range(10):
        s = sums[k]
        lines.append(f"{k},{int(s) if s == int(s) else s}")
    return "\n".join(lines) + "\n"


class Checks:
    def __init__(self, kiln, runs):
        self.kiln = kiln
        self.runs = runs
        self.failures = []
        self.count = 0
        self.work = tempfile.mkdtemp(prefix="kiln-release-checks-")

    def fail(self, what):
        self.failures.append(what)
        print("FAILED: " + what, flush=True)

    def crashed(self, text):
        return next((marker for marker in CRASH_MARKERS if marker in text), None)

    def run(self, args, name, input=None, env=None, timeout=300, expect_status=0):
        """Runs kiln; returns (status, stdout, stderr); records a failure on a bad end."""
        self.count += 1
        full_env = dict(os.environ, **(env or {}))
        try:
            result = subprocess.run([self.kiln] + args, input=input, capture_output=True, text=True, env=full_env, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"{name}: did not end within {timeout} s")
            return None, "", ""
        marker = self.crashed(result.stderr)
        if result.returncode != expect_status or marker:
            self.fail(f"{name}: exit status {result.returncode} (expected {expect_status}){' with ' + marker if marker else ''}: {result.stderr[-600:]}")
        return result.returncode, result.stdout, result.stderr

    def script(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- the exit script -------------------------------------------------------------------

    def exit_loop(self):
        answer = exit_script_answer()
        # "plain exit": `exit` without the explicit shutdown, as an embedding application that
        # never closes its Database would; Kiln's on_exit fallback must hold then too.
        cpus = [("host", {}), ("avx2", {"KILN_CPU": "avx2"}), ("plain exit", {"KILN_TEST_PLAIN_EXIT": "1"})]
        for cpu, env in cpus:
            for mode, (options, sets) in MODES.items():
                path = self.script(f"exit-{mode}.sql", sets + EXIT_SCRIPT)
                bad = 0
                for run in range(self.runs):
                    status, out, _ = self.run(["--format", "csv", "-f", path] + options, f"exit script ({mode}, {cpu}) run {run + 1}", env=env)
                    if status == 0 and out != answer:
                        self.fail(f"exit script ({mode}, {cpu}) run {run + 1}: wrong answer:\n{out[:400]}")
                    bad += status != 0 or out != answer
                print(f"exit script, {mode:9} {cpu:10}: {self.runs - bad}/{self.runs} ended well", flush=True)

    def pipe_and_terminal(self):
        answer = exit_script_answer()
        for mode in ["auto", "on"]:
            options, sets = MODES[mode]
            for run in range(max(2, self.runs // 4)):
                status, out, _ = self.run(["--format", "csv"] + options, f"pipe ({mode}) run {run + 1}", input=sets + EXIT_SCRIPT)
                if status == 0 and out != answer:
                    self.fail(f"pipe ({mode}): wrong answer:\n{out[:400]}")
        # A pseudo-terminal: the interactive shell, ended by Ctrl-D on an empty line and by .quit.
        for ending in ["\x04", ".quit\r"]:
            for run in range(max(2, self.runs // 4)):
                self.terminal_session(ending, run)
        print("pipe and terminal sessions: done", flush=True)

    def terminal_session(self, ending, run):
        self.count += 1
        name = f"terminal session ending with {ending!r} run {run + 1}"
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(self.kiln, [self.kiln, "--jit", "on", "--format", "csv"])
        output = b""

        def read_until(pattern, seconds):
            nonlocal output
            deadline = time.time() + seconds
            while time.time() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        return False
                    if not chunk:
                        return False
                    output += chunk
                    if pattern in output:
                        return True
            return False

        for line in EXIT_SCRIPT.strip().split("\n"):
            os.write(fd, line.encode() + b"\r")
        if not read_until(b"9,", 120):
            self.fail(f"{name}: no answer: {output[-400:]!r}")
        # Ctrl-D as a user types it: at the prompt. (Typed while a statement runs, the terminal
        # is in cooked mode and the EOF is lost when the line editor switches to raw mode:
        # typeahead is the shell issue's, not this check's.)
        answered = max(0, output.rfind(b"9,"))
        deadline = time.time() + 60
        while b"kiln> " not in output[answered:] and time.time() < deadline:
            read_until(b"kiln> ", 0.5)
        os.write(fd, ending.encode())
        deadline = time.time() + 60
        status = None
        while time.time() < deadline:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
                break
            read_until(b"\x00never", 0.2)
        os.close(fd)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail(f"{name}: the shell did not end")
        elif not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            self.fail(f"{name}: ended with {status:#x}: {output[-600:]!r}")
        elif self.crashed(output.decode(errors="replace")):
            self.fail(f"{name}: {output[-600:]!r}")

    # --- TPC-H and the SQL corpus through kiln -f ---------------------------------------------

    def tpch(self):
        """TPC-H SF0.01 through `kiln -f`, one process per query, in every mode: loaded in the
        process itself (in memory), and from database directories (loaded once by another
        process, then opened by every query's process: from a checkpoint, and after a load
        killed before its checkpoint, so that the first query replays the WAL)."""
        tpch_dir = os.environ.get("KILN_TPCH_DIR") or os.path.join(ROOT, "..", "shared", "tpch")
        if not os.path.isdir(os.path.join(tpch_dir, "sf0.01")):
            self.fail(f"no TPC-H SF0.01 under {tpch_dir} (set KILN_TPCH_DIR)")
            return
        spec = importlib.util.spec_from_file_location("tpch_check", os.path.join(ROOT, "scripts", "tpch-check.py"))
        tpch_check = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tpch_check)
        load = [open(os.path.join(tpch_dir, "schema.sql")).read()]
        for table in tpch_check.TABLES:
            load.append(f"COPY {table} FROM '{os.path.join(tpch_dir, 'sf0.01', table + '.tbl')}' WITH (FORMAT csv, DELIMITER '|', HEADER false);")
        load = "\n".join(load) + "\n"
        checkpointed = os.path.join(self.work, "tpch-checkpointed")
        self.run([checkpointed, "-f", self.script("tpch-load.sql", load)], "TPC-H load into a directory")
        replayed = os.path.join(self.work, "tpch-replayed")
        self.run([replayed, "-f", self.script("tpch-load.sql", load)], "TPC-H load killed before its checkpoint",
                 env={"KILN_TEST_CRASH_AT": "checkpoint-before-flip"}, expect_status=-signal.SIGKILL)
        if os.path.getsize(os.path.join(replayed, "kiln.wal")) < 1_000_000:
            self.fail("TPC-H load killed before its checkpoint: the WAL does not hold the load")
        sources = [("memory", None, MODES), ("directory", checkpointed, MODES), ("replayed", replayed, {"auto": MODES["auto"]})]
        for source, directory, modes in sources:
            for mode, (options, sets) in modes.items():
                matched = 0
                for number in range(1, 23):
                    query = f"q{number:02d}"
                    sql = open(os.path.join(tpch_dir, "queries", f"{query}.sql")).read().strip().rstrip(";") + ";\n"
                    text = (load if directory is None else "") + sets + sql
                    path = self.script(f"tpch-{query}-{mode}-{source}.sql", text)
                    status, out, _ = self.run(([directory] if directory else []) + ["--format", "csv", "-f", path] + options,
                                              f"TPC-H {query} ({mode}, {source})")
                    if status != 0:
                        continue
                    with open(os.path.join(tpch_dir, "answers", "sf0.01", f"{query}.csv")) as f:
                        expected = [line.split("|") for line in f.read().splitlines()[1:]]
                    import csv, io
                    rows = [row if row else [""] for row in csv.reader(io.StringIO(out))][1:]
                    problem = tpch_check.compare(f"{query}/{mode}/{source}", rows, expected)
                    if problem:
                        self.fail("TPC-H " + problem)
                    else:
                        matched += 1
                print(f"TPC-H SF0.01 through kiln -f, {source:9} {mode:9}: {matched}/22 right, every process ended", flush=True)

    def code_cache(self):
        """Compiled code survives restarts: a query shape compiled by one process runs native code
        from its first morsel in the next, with a compile time of 0; a damaged cache file is
        compiled again; the answers stay right."""
        directory = os.path.join(self.work, "code-cache")
        self.run([directory, "-c", "CREATE TABLE t (k INTEGER, v DOUBLE PRECISION, s TEXT)",
                  "-c", "INSERT INTO t SELECT g % 10, g * 0.5, 'row ' || g::TEXT FROM generate_series(1, 200000) AS g(g)"], "code cache: load")
        query = "SELECT k, sum(v), count(s) FROM t WHERE v > 10 AND s LIKE '%7%' GROUP BY k ORDER BY k"
        expected = None
        for name, env, want in [("compiles", {}, "compile"), ("loads", {}, "load"), ("loads again", {}, "load"),
                                ("damaged file", {"damage": "1"}, "compile"), ("after damage", {}, "load")]:
            if env.get("damage"):
                for path in glob.glob(os.path.join(directory, "code", "*.o")):
                    with open(path, "r+b") as f:
                        f.seek(200)
                        f.write(b"\x00\xff\x00\xff")
            status, out, _ = self.run([directory, "--jit", "on", "--jit-sync", "--format", "csv", "-c", "EXPLAIN ANALYZE " + query, "-c", query],
                                      f"code cache: {name}")
            if status != 0:
                continue
            lines = [l.strip('"') for l in out.splitlines()]
            loaded = [l for l in lines if "loaded from the code cache" in l]
            compiled = [l for l in lines if l.startswith("Compilation (") and "loaded" not in l]
            interpreted = [l for l in lines if "morsels:" in l and "interpreted" in l]
            answer = lines[lines.index(next(l for l in lines if l.startswith("k,"))):]
            if expected is None:
                expected = answer
            elif answer != expected:
                self.fail(f"code cache: {name}: the answer changed: {answer} != {expected}")
            if want == "load" and (not loaded or compiled or interpreted):
                self.fail(f"code cache: {name}: expected native code from the cache from the first morsel: {lines}")
            if want == "compile" and not compiled:
                self.fail(f"code cache: {name}: expected a compile: {lines}")
        print("code cache: a restarted process runs the cached code from its first morsel; a damaged file is compiled again", flush=True)

    def corpus(self):
        files = sorted(glob.glob(os.path.join(ROOT, "Tests", "KilnTests", "Resources", "sql", "*.test")))
        outputs = {}
        for mode, (options, sets) in MODES.items():
            for path in files:
                statements = self.corpus_statements(path)
                if not statements:
                    continue
                script = self.script(f"corpus-{os.path.basename(path)}-{mode}.sql", sets + "\n".join(statements) + "\n")
                status, out, _ = self.run(["--format", "csv", "-f", script] + options, f"corpus {os.path.basename(path)} ({mode})")
                if status == 0:
                    outputs.setdefault(path, {})[mode] = sorted(out.splitlines())
        for path, by_mode in outputs.items():
            base = by_mode.get("off")
            for mode, lines in by_mode.items():
                if base is not None and lines != base:
                    self.fail(f"corpus {os.path.basename(path)}: {mode} differs from the interpreter")
        print(f"SQL corpus through kiln -f: {len(files)} files in {len(MODES)} modes", flush=True)

    @staticmethod
    def corpus_statements(path):
        """The statements of a sqllogictest file that must succeed (`statement ok`, `query`)."""
        blocks = open(path).read().split("\n\n")
        statements = []
        for block in blocks:
            lines = [line for line in block.strip().split("\n") if not line.startswith("#")]
            if not lines:
                continue
            head = lines[0].split()
            if not head or head[0] not in ("statement", "query") or (head[0] == "statement" and head[1:2] != ["ok"]):
                continue
            body = []
            for line in lines[1:]:
                if line.strip() == "----":
                    break
                body.append(line)
            sql = "\n".join(body).strip()
            if sql and not re.search(r"\bjit\b|statement_timeout|COPY .* FROM STDIN", sql, re.IGNORECASE):
                statements.append(sql.rstrip(";") + ";")
        return statements

    # --- failures on purpose, timeouts ------------------------------------------------------

    def compile_faults(self):
        answer = exit_script_answer()
        for fault in ["invalid-module", "llvm-fatal"]:
            for options in [["--jit", "on", "--jit-sync"], ["--jit", "on"]]:
                for run in range(max(2, self.runs // 4)):
                    path = self.script(f"fault-{fault}.sql", EXIT_SCRIPT + "SELECT count(*) AS n FROM t WHERE k = 3;\n")
                    status, out, err = self.run(["--format", "csv", "-f", path] + options, f"compile fault {fault} {options} run {run + 1}",
                                                env={"KILN_TEST_COMPILE_FAULT": fault})
                    if status == 0 and out != answer + f"n\n{sum(1 for i in range(1, 1000001) if i % 97 == 3)}\n":
                        self.fail(f"compile fault {fault}: wrong answer:\n{out[:400]}")
        print("compile faults (invalid module, LLVM fatal error): done", flush=True)

    def statement_timeout(self):
        self.cancelled_in_time("statement_timeout in the shell", [
            "-c", "SET statement_timeout = 200", "-c", "SELECT count(*) FROM generate_series(1, 2000000000) AS g(i) WHERE i % 7 = 3"])
        # A cross product walks the whole build side per probe row: its walk must notice the
        # cancel too (before, one morsel of 1M x 1M took ~40 s compiled, far longer interpreted).
        for mode in ["off", "on-sync", "on"]:
            self.cancelled_in_time(f"statement_timeout of a cross join ({mode})", MODES[mode][0] + [
                "-c", "CREATE TABLE t (k INTEGER)", "-c", "INSERT INTO t SELECT i % 97 FROM generate_series(1, 1000000) AS g(i)",
                "-c", "SET statement_timeout = 300", "-c", "SELECT count(*) FROM t a, t b WHERE a.k + b.k = 7"])
        # A LATERAL series of 2e9 values from one row: its loop checks for the cancel too, in
        # each mode and on two threads (three rounds: the cancel lands at a different value).
        for mode in ["off", "on-sync", "on"]:
            for _ in range(3):
                self.cancelled_in_time(f"statement_timeout of a LATERAL series ({mode})", MODES[mode][0] + [
                    "--threads", "2", "-c", "CREATE TABLE t (n BIGINT)", "-c", "INSERT INTO t VALUES (2000000000), (3000000000)",
                    "-c", "SET statement_timeout = 250", "-c", "SELECT count(*) FROM t LEFT JOIN LATERAL generate_series(1, t.n) g ON g % 7 = 8"])

    def cancelled_in_time(self, name, args, limit=20):
        """Runs a statement that `statement_timeout` must cancel: 57014, exit 1, within `limit` s."""
        started = time.time()
        status, _, err = self.run(args, name, expect_status=1, timeout=300)
        elapsed = time.time() - started
        if status == 1 and "57014" not in err:
            self.fail(f"{name}: expected 57014, got: {err[-300:]}")
        if elapsed > limit:
            self.fail(f"{name}: the statement ran {elapsed:.0f} s")
        print(f"{name}: cancelled after {elapsed:.1f} s", flush=True)

    # --- kiln serve ----------------------------------------------------------------------------

    def start_server(self, env=None, directory=None):
        port = free_port()
        process = subprocess.Popen([self.kiln, "serve"] + ([directory] if directory else []) + ["--port", str(port)],
                                   stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   text=True, env=dict(os.environ, **(env or {})))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process, port
            except OSError:
                time.sleep(0.05)
        process.kill()
        raise RuntimeError("kiln serve did not start")

    def stop_server(self, process, sig, name):
        self.count += 1
        process.send_signal(sig)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
            self.fail(f"{name}: kiln serve did not stop on {sig.name}")
            return
        marker = self.crashed(err)
        if process.returncode != 0 or marker:
            self.fail(f"{name}: kiln serve ended with {process.returncode} on {sig.name}: {err[-600:]}")

    def serve_signals(self):
        import psycopg
        for sig in [signal.SIGTERM, signal.SIGINT]:
            for run in range(max(3, self.runs // 4)):
                process, port = self.start_server()
                name = f"kiln serve {sig.name} run {run + 1}"
                try:
                    with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as connection:
                        for statement in EXIT_SCRIPT.strip().split("\n")[:2]:
                            connection.execute(statement)
                        connection.execute("SET jit = on")
                        rows = connection.execute("SELECT k, SUM(v) FROM t WHERE v > 0 GROUP BY k ORDER BY k LIMIT 10").fetchall()
                        if len(rows) != 10:
                            self.fail(f"{name}: {len(rows)} rows")
                        # A long statement on a second connection, running when the signal comes.
                        if run % 2 == 1:
                            threading.Thread(target=run_quietly, args=(port, "SELECT count(*) FROM generate_series(1, 2000000000) AS g(i) WHERE i % 7 = 3"),
                                             daemon=True).start()
                            time.sleep(0.3)
                except Exception as error:  # noqa: BLE001 - any client error is a failure here
                    self.fail(f"{name}: {error}")
                self.stop_server(process, sig, name)
        self.serve_signals_on_a_directory()
        print("kiln serve stopped by SIGTERM and SIGINT while compiling: done", flush=True)

    def serve_signals_on_a_directory(self):
        """`kiln serve DBDIR` stops on SIGINT and SIGTERM after queries over a persisted table
        (compiled code, the code cache, the WAL's threads all started), sent at varied moments,
        and the next start finds every committed row."""
        import psycopg
        with tempfile.TemporaryDirectory(prefix="kiln-signals-") as work:
            directory = os.path.join(work, "db")
            rows = 0
            for run in range(max(6, self.runs // 2)):
                sig = [signal.SIGINT, signal.SIGTERM][run % 2]
                name = f"kiln serve DBDIR {sig.name} run {run + 1}"
                process, port = self.start_server(directory=directory)
                try:
                    with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as connection:
                        if run == 0:
                            connection.execute("CREATE TABLE s (k BIGINT, v BIGINT)")
                        connection.execute(f"INSERT INTO s SELECT g, g % 100 FROM generate_series({rows + 1}, {rows + 100_000}) g")
                        rows += 100_000
                        found = connection.execute(f"SELECT count(*), sum(v) FROM s WHERE v > {run}").fetchone()
                        if found[0] != sum(1 for g in range(1, rows + 1) if g % 100 > run):
                            self.fail(f"{name}: count {found[0]}")
                except Exception as error:  # noqa: BLE001 - any client error is a failure here
                    self.fail(f"{name}: {error}")
                time.sleep([0, 0.05, 0.3, 1.0][run % 4])
                self.stop_server(process, sig, name)
            process, port = self.start_server(directory=directory)
            try:
                with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as connection:
                    found = connection.execute("SELECT count(*) FROM s").fetchone()[0]
                    if found != rows:
                        self.fail(f"kiln serve DBDIR after signals: {found} rows, not {rows}")
            except Exception as error:  # noqa: BLE001
                self.fail(f"kiln serve DBDIR after signals: {error}")
            self.stop_server(process, signal.SIGTERM, "kiln serve DBDIR after signals")

    def serve_pipelined_commits(self):
        with tempfile.TemporaryDirectory(prefix="kiln-pipelined-") as work:
            self.count += 1
            pipelined_commits(self, "kiln serve DBDIR, pipelined commits", os.path.join(work, "db"))

    def serve_brief_statements(self, seconds=4):
        """Brief statements run on the server's event loops (`Session.receiveBriefly`), and
        defer to a statement thread whenever they would wait. pgbench's TPC-B script with 8
        clients (hot rows: every transaction updates the one branch) under each protocol, and
        in REPEATABLE READ with pgbench retrying the 40001s: no failed transaction, and no lost
        update (the four sums agree). Then point lookups by
        key keep being answered while another session holds the statement lock with a long
        INSERT, and a third connects and is served meanwhile (no event loop waits for a lock)."""
        with tempfile.TemporaryDirectory(prefix="kiln-brief-") as work:
            process, port = self.start_server(directory=os.path.join(work, "db"))
            name = "kiln serve, brief statements on the event loop"
            env = dict(os.environ, PGPASSWORD="kiln")
            base = ["-h", "127.0.0.1", "-p", str(port), "-U", "kiln"]
            try:
                self.count += 1
                subprocess.run(["pgbench", "-i", "-q"] + base + ["kiln"], check=True, capture_output=True, env=env, timeout=300)
                # The same transaction in REPEATABLE READ: 40001s, retried by pgbench.
                repeatable = os.path.join(work, "tpcb-rr.sql")
                with open(repeatable, "w") as f:
                    f.write("\\set aid random(1, 100000 * :scale)\n\\set bid random(1, 1 * :scale)\n\\set tid random(1, 10 * :scale)\n"
                            "\\set delta random(-5000, 5000)\nBEGIN ISOLATION LEVEL REPEATABLE READ;\n"
                            "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"
                            "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"
                            "UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;\n"
                            "UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;\n"
                            "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);\nEND;\n")
                runs = [("simple", []), ("extended", []), ("prepared", []), ("prepared", ["--max-tries", "1000", "-f", repeatable])]
                for mode, extra in runs:
                    self.count += 1
                    result = subprocess.run(["pgbench", "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-M", mode] + extra + base + ["kiln"],
                                            capture_output=True, text=True, env=env, timeout=120 + seconds)
                    mode += ", REPEATABLE READ, 40001 retried" if extra else ""
                    processed = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
                    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
                    if result.returncode != 0 or not processed or int(processed.group(1)) == 0 or (failed and int(failed.group(1)) != 0):
                        self.fail(f"{name}: TPC-B -M {mode}: {result.stdout[-400:]} {result.stderr[-400:]}")
                    sums = psql_value(port, "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers), "
                                             "(SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history)")
                    if len(set(sums.split("|"))) != 1:
                        self.fail(f"{name}: TPC-B -M {mode}: sums disagree (a lost update): {sums}")
                    else:
                        print(f"{name}: TPC-B -M {mode}, 8 clients: {processed.group(1) if processed else '?'} transactions, sums agree ({sums.split('|')[0]})", flush=True)
                self.brief_lookups_beside_a_writer(name, port, env, base, work)
            finally:
                self.stop_server(process, signal.SIGTERM, name)

    def brief_lookups_beside_a_writer(self, name, port, env, base, work):
        self.count += 1
        script = os.path.join(work, "lookup.sql")
        with open(script, "w") as f:
            f.write("\\set aid random(1, 100000)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n")
        lookups = subprocess.Popen(["pgbench", "-n", "-c", "2", "-j", "2", "-T", "6", "-M", "prepared", "-f", script] + base + ["kiln"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(1)
        writer = subprocess.Popen(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "kiln", "-d", "kiln", "-c",
                                   "CREATE TABLE filler AS SELECT x, repeat('x', 20) AS pad FROM generate_series(1, 4000000) AS s(x)"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(0.3)
        started = time.time()
        answer = psql_value(port, "SELECT 1")
        connected = time.time() - started
        out, err = lookups.communicate(timeout=120)
        writer.communicate(timeout=120)
        processed = re.search(r"number of transactions actually processed: (\d+)", out)
        if lookups.returncode != 0 or not processed or int(processed.group(1)) == 0 or writer.returncode != 0:
            self.fail(f"{name}: lookups beside a writer: {out[-300:]} {err[-300:]}")
        elif answer.strip() != "1":
            self.fail(f"{name}: a new connection during the writer's statement got {answer!r}")
        else:
            print(f"{name}: {processed.group(1)} lookups in 6 s beside a 4M-row CREATE TABLE AS; a new connection was served in {connected:.2f} s", flush=True)

    def serve_stream(self, rows=50_000_000, rate=48 << 20):
        """50M rows through `kiln serve` to a client that reads at `rate` bytes per second (slower
        than the server makes them): the server's RSS stays within 100 MB of its idle size, and
        every row arrives, in order."""
        process, port = self.start_server()
        name = f"kiln serve streaming {rows} rows to a slow client"
        self.count += 1
        try:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
                wire_start(sock)
                time.sleep(0.5)
                idle = rss_kib(process.pid)
                sock.sendall(wire_message(b"Q", f"SELECT g FROM generate_series(1, {rows}) g".encode() + b"\0"))
                # A DataRow of one int8 column in text: 'D', length, 1 column, its length, digits.
                data_row = re.compile(rb"D\0\0\0.\0\x01\0\0\0.(\d+)", re.S)
                buffer = b""
                expected = 1
                peak = idle
                started = time.time()
                received = 0
                sampled = 0.0
                while True:
                    data = sock.recv(1 << 16)
                    if not data:
                        raise RuntimeError("connection closed during the result")
                    received += len(data)
                    buffer += data
                    # Complete DataRows only: up to the end of the last one that is whole.
                    end = 0
                    cut = buffer.rfind(b"D\0\0\0")
                    if cut >= 0:
                        whole = len(buffer) - cut >= 5 and len(buffer) >= cut + 1 + struct.unpack("!i", buffer[cut + 1:cut + 5])[0]
                        end = cut + 1 + struct.unpack("!i", buffer[cut + 1:cut + 5])[0] if whole else cut
                    head, buffer = buffer[:end], buffer[end:]
                    values = data_row.findall(head)
                    if values:
                        numbers = list(map(int, values))
                        if numbers != list(range(expected, expected + len(numbers))):
                            raise RuntimeError(f"rows out of order near {expected}")
                        expected += len(numbers)
                    done = b"Z\0\0\0\5" in buffer
                    if done and b"E\0\0" in buffer:
                        raise RuntimeError(f"error from the server: {buffer[-300:]!r}")
                    now = time.time()
                    if now - sampled > 0.2:
                        sampled = now
                        peak = max(peak, rss_kib(process.pid))
                    if done:
                        break
                    # Read no faster than `rate`.
                    ahead = received / rate - (now - started)
                    if ahead > 0:
                        time.sleep(ahead)
                peak = max(peak, rss_kib(process.pid))
                if expected - 1 != rows:
                    self.fail(f"{name}: {expected - 1} rows arrived")
                grown = (peak - idle) / 1024
                print(f"{name}: {expected - 1} rows in order in {time.time() - started:.1f} s, "
                      f"server RSS idle {idle / 1024:.0f} MB, peak {peak / 1024:.0f} MB (+{grown:.0f} MB)", flush=True)
                if grown > 100:
                    self.fail(f"{name}: the server's RSS grew by {grown:.0f} MB (more than 100 MB over its idle size)")
        except Exception as error:  # noqa: BLE001 - any client error is a failure here
            self.fail(f"{name}: {error}")
        self.stop_server(process, signal.SIGTERM, name)

    def edge_inputs(self):
        """scripts/edge-inputs.txt: statements at the edges of the types' ranges and the
        functions' arguments, one `kiln -c` process each; every one ends with an answer (exit
        0) or an error with a SQLSTATE (exit 1), never a signal, a trap or a hang."""
        with open(os.path.join(ROOT, "scripts", "edge-inputs.txt")) as f:
            statements = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        answers = errors = 0
        for sql in statements:
            self.count += 1
            try:
                result = subprocess.run([self.kiln, "-c", sql], capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                self.fail(f"edge input did not end within 120 s: {sql}")
                continue
            marker = self.crashed(result.stderr)
            if marker or result.returncode not in (0, 1) or (result.returncode == 1 and "SQLSTATE" not in result.stderr and "ERROR" not in result.stderr):
                self.fail(f"edge input ended with status {result.returncode}{' and ' + marker if marker else ''}: {sql}: {result.stderr[-300:]}")
            answers += result.returncode == 0
            errors += result.returncode == 1
        print(f"edge inputs: {len(statements)} statements, {answers} answers, {errors} errors, no crash", flush=True)

    def serve_kept_results(self, rows=3_000_000, fetch=10_000):
        """Result sets kept between requests stay in bounded memory: a SQL cursor read with
        DECLARE / FETCH (psycopg's server-side cursor, as postgres_fdw reads a shard) and a
        portal read with Execute row limits (as pgjdbc's fetchSize does), each over 3M rows
        (about 200 MB as text; the rows were once kept as values, several GB). The server's
        RSS stays within 100 MB of its idle size, every row arrives in order, and the spilled
        rows leave no file behind in TMPDIR."""
        import psycopg
        with tempfile.TemporaryDirectory(prefix="kiln-kept-tmp-") as tmp:
            process, port = self.start_server(env={"TMPDIR": tmp})
            query = f"SELECT g, 'row ' || g || repeat('x', 40) AS s FROM generate_series(1, {rows}) g"
            peak = [0]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kib(process.pid))
                    time.sleep(0.05)

            def check(name, started, idle, count):
                grown = (peak[0] - idle) / 1024
                print(f"kiln serve kept result, {name}: {count} rows in order in {time.time() - started:.1f} s, "
                      f"server RSS idle {idle / 1024:.0f} MB, peak {peak[0] / 1024:.0f} MB (+{grown:.0f} MB)", flush=True)
                if count != rows:
                    self.fail(f"kept result, {name}: {count} rows arrived, not {rows}")
                if grown > 100:
                    self.fail(f"kept result, {name}: the server's RSS grew by {grown:.0f} MB (more than 100 MB over its idle size)")

            self.count += 2
            try:
                with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln") as connection:
                    time.sleep(0.3)
                    idle = peak[0] = rss_kib(process.pid)
                    sampler = threading.Thread(target=sample)
                    sampler.start()
                    started = time.time()
                    count = 0
                    try:
                        with connection.cursor(name="kept") as cursor:
                            cursor.itersize = fetch
                            cursor.execute(query)
                            for g, text in cursor:
                                count += 1
                                if g != count or text != f"row {g}" + "x" * 40:
                                    raise RuntimeError(f"row {count}: {g!r}, {text!r}")
                        connection.commit()
                    finally:
                        stop.set()
                        sampler.join()
                    check("DECLARE / FETCH", started, idle, count)
                    leftovers = os.listdir(tmp)
                    if leftovers:
                        self.fail(f"kept result: files left in TMPDIR: {leftovers}")
            except Exception as error:  # noqa: BLE001
                self.fail(f"kept result, DECLARE / FETCH: {error}")
            # The portal on a fresh server: its idle size is not the first check's peak.
            self.stop_server(process, signal.SIGTERM, "kept results (cursor)")
            process, port = self.start_server(env={"TMPDIR": tmp})
            try:
                with socket.create_connection(("127.0.0.1", port)) as sock:
                    wire_start(sock)
                    time.sleep(0.3)
                    sock.sendall(wire_message(b"Q", b"BEGIN\0"))
                    wire_replies(sock, 1)
                    idle = peak[0] = rss_kib(process.pid)
                    stop.clear()
                    sampler = threading.Thread(target=sample)
                    sampler.start()
                    started = time.time()
                    count, suspended = 0, 0
                    try:
                        execute = wire_message(b"E", b"\0" + struct.pack("!i", fetch)) + wire_message(b"S")
                        sock.sendall(wire_message(b"P", b"\0" + query.encode() + b"\0" + struct.pack("!h", 0))
                                     + wire_message(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0)) + execute)
                        while True:
                            replies = wire_replies(sock, 1)
                            errors = [body for kind, body in replies if kind == b"E"]
                            if errors:
                                raise RuntimeError(f"error from the server: {errors[0][:300]!r}")
                            batch = [body for kind, body in replies if kind == b"D"]
                            if len(batch) > fetch:
                                raise RuntimeError(f"{len(batch)} rows for an Execute limited to {fetch}")
                            for body in batch:
                                count += 1
                                length = struct.unpack("!i", body[2:6])[0]
                                if int(body[6:6 + length]) != count:
                                    raise RuntimeError(f"row {count} out of order")
                            if any(kind == b"C" for kind, _ in replies):
                                break
                            if not any(kind == b"s" for kind, _ in replies):
                                raise RuntimeError("neither PortalSuspended nor CommandComplete after an Execute")
                            suspended += 1
                            sock.sendall(execute)
                    finally:
                        stop.set()
                        sampler.join()
                    sock.sendall(wire_message(b"Q", b"COMMIT\0"))
                    wire_replies(sock, 1)
                    check(f"Execute limited to {fetch} rows ({suspended} suspensions)", started, idle, count)
            except Exception as error:  # noqa: BLE001
                self.fail(f"kept result, Execute with a row limit: {error}")
            self.stop_server(process, signal.SIGTERM, "kept results (portal)")
            leftovers = os.listdir(tmp)
            if leftovers:
                self.fail(f"kept result: files left in TMPDIR after the server stopped: {leftovers}")

    def serve_deep_inputs(self):
        import psycopg
        deep = {
            "100,000 NOTs": "SELECT " + "NOT " * 100000 + "true",
            "1,000,000 NOTs": "SELECT " + "NOT " * 1000000 + "true",
            "50,000 parentheses": "SELECT " + "(" * 50000 + "1" + ")" * 50000,
            "100,000 parentheses": "SELECT " + "(" * 100000 + "1" + ")" * 100000,
            "200,000-term sum": "SELECT 1" + " + 1" * 200000,
            "1,000,000-term sum": "SELECT 1" + " + 1" * 1000000,
            "100,000-term OR": "SELECT count(*) FROM generate_series(1, 10) AS g(i) WHERE " + " OR ".join(f"i = {n}" for n in range(100000)),
            "20,000-value IN list": "SELECT count(*) FROM generate_series(1, 10) AS g(i) WHERE i IN (" + ", ".join(str(n) for n in range(20000)) + ")",
            "6,000-WHEN CASE": "SELECT sum(CASE g " + " ".join(f"WHEN {n} THEN {2 * n}" for n in range(6000)) + " END) FROM generate_series(1, 10) AS s(g)",
            "10,000 nested subqueries": "SELECT " + "(SELECT " * 10000 + "1" + ")" * 10000,
            "500 nested subqueries": "SELECT " + "(SELECT " * 500 + "1" + ")" * 500,
            "2,000 nested parentheses": "SELECT " + "(" * 2000 + "1" + ")" * 2000,
            "1,000 nested derived tables": "SELECT * FROM " + "(SELECT * FROM " * 1000 + "(SELECT 1 AS x) t0" + ") t" * 1000,
            # Compiled: the worker's MLIR and LLVM recurse once per nested region.
            "3,000 nested CASEs, compiled": ["SET jit = on", "SET jit_sync = on", "SELECT sum(" + nested_case(3000) + ") FROM generate_series(1, 1000) AS s(g)"],
        }
        process, port = self.start_server()
        outcomes = []
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as second:
                for name, sql in deep.items():
                    self.count += 1
                    stop = threading.Event()
                    served = []

                    def keep_serving():
                        while not stop.is_set():
                            served.append(second.execute("SELECT 1").fetchone()[0] == 1)
                            time.sleep(0.05)

                    helper = threading.Thread(target=keep_serving)
                    helper.start()
                    try:
                        with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as first:
                            *setup, last = sql if isinstance(sql, list) else [sql]
                            for statement in setup:
                                first.execute(statement)
                            first.execute(last).fetchall()
                        outcome = "answer"
                    except psycopg.Error as error:
                        outcome = f"error {error.sqlstate}"
                    finally:
                        stop.set()
                        helper.join()
                    if not served or not all(served):
                        self.fail(f"deep input {name}: the second connection was not served")
                    if outcome.startswith("error") and outcome != "error 54001":
                        self.fail(f"deep input {name}: {outcome} (expected an answer or 54001)")
                    outcomes.append(f"{name}: {outcome}")
        except Exception as error:  # noqa: BLE001
            self.fail(f"deep inputs: {error}")
        if process.poll() is not None:
            self.fail(f"deep inputs: kiln serve died: {process.stderr.read()[-600:]}")
        else:
            self.stop_server(process, signal.SIGTERM, "deep inputs")
        print("deep inputs through kiln serve: " + "; ".join(outcomes), flush=True)

    def serve_compile_fault(self):
        import psycopg
        process, port = self.start_server(env={"KILN_TEST_COMPILE_FAULT": "llvm-fatal"})
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as connection:
                connection.execute("SET jit = on")
                connection.execute("SET jit_sync = on")
                total = connection.execute("SELECT sum(g) FROM generate_series(1, 100000) AS s(g)").fetchone()[0]
                count = connection.execute("SELECT count(*) FROM generate_series(1, 10) AS s(g) WHERE g > 3").fetchone()[0]
                if int(total) != 5000050000 or count != 7:
                    self.fail(f"kiln serve with an LLVM fatal error: wrong answers {total}, {count}")
        except Exception as error:  # noqa: BLE001
            self.fail(f"kiln serve with an LLVM fatal error: {error}")
        # The parked compile worker: the server still ends cleanly (status 0, no crash).
        self.stop_server(process, signal.SIGTERM, "kiln serve after an LLVM fatal error")
        print("kiln serve with an LLVM fatal error: done", flush=True)

    def jit_files(self, before):
        after = set(jit_dump_dirs())
        new = after - before
        if new:
            self.fail(f"LLVM JIT listeners left {len(new)} directories, e.g. {sorted(new)[0]}")


def nested_case(levels):
    expression = "g"
    for level in range(levels):
        expression = f"CASE WHEN g > {level} THEN {expression} ELSE {level} END"
    return expression


def jit_dump_dirs():
    homes = {os.path.expanduser("~"), "/tmp", tempfile.gettempdir()}
    return [path for home in homes for path in glob.glob(os.path.join(home, ".debug", "jit", "*"))]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql_value(port, sql):
    """The text psql prints for `sql` (unaligned, tuples only), as user kiln."""
    result = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U", "kiln", "-d", "kiln", "-c", sql],
                            capture_output=True, text=True, env=dict(os.environ, PGPASSWORD="kiln"), timeout=120)
    return result.stdout.strip() if result.returncode == 0 else f"error: {result.stderr.strip()}"


def run_quietly(port, sql):
    import psycopg
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True) as connection:
            connection.execute(sql).fetchall()
    except Exception:  # noqa: BLE001 - the server is shutting down under it
        pass


def wire_message(kind, body=b""):
    return kind + struct.pack("!i", 4 + len(body)) + body


def wire_start(sock):
    """Start-up as user kiln; returns once the server is ready for a query."""
    params = b"user\0kiln\0database\0kiln\0\0"
    sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
    buffer = b""
    while b"Z\0\0\0\5" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("connection closed during start-up")
        buffer += data


def wire_replies(sock, until_ready):
    """Backend messages (type, body) until `until_ready` ReadyForQuery messages arrived."""
    buffer, replies, ready = b"", [], 0
    while ready < until_ready:
        data = sock.recv(1 << 16)
        if not data:
            raise RuntimeError(f"connection closed after {ready} of {until_ready} answers")
        buffer += data
        while len(buffer) >= 5:
            length = struct.unpack("!i", buffer[1:5])[0]
            if len(buffer) < 1 + length:
                break
            replies.append((buffer[:1], buffer[5:1 + length]))
            ready += buffer[:1] == b"Z"
            buffer = buffer[1 + length:]
    return replies


def pipelined_commits(checks, name, directory, clients=6, rounds=150):
    """Clients that send all their statements at once, simple and extended, each INSERT
    followed by a count of the client's rows: the answers come in order (a commit's answer
    waits for its sync, and what the client sent after it waits behind it)."""
    process, port = checks.start_server(directory=directory)
    sql = "CREATE TABLE p (c INTEGER, i INTEGER)".encode() + b"\0"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        wire_start(sock)
        sock.sendall(wire_message(b"Q", sql))
        wire_replies(sock, 1)
    errors = []

    def client(c):
        try:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                wire_start(sock)
                out = b""
                for i in range(rounds):
                    out += wire_message(b"Q", f"INSERT INTO p VALUES ({c}, {i}); SELECT count(*) FROM p WHERE c = {c}".encode() + b"\0")
                    for text in (f"INSERT INTO p VALUES ({c}, {i + 100000})", f"SELECT count(*) FROM p WHERE c = {c}"):
                        out += wire_message(b"P", b"\0" + text.encode() + b"\0" + struct.pack("!h", 0))
                        out += wire_message(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0))
                        out += wire_message(b"E", b"\0" + struct.pack("!i", 0))
                    out += wire_message(b"S")
                sock.sendall(out)
                replies = wire_replies(sock, 2 * rounds)
                errors.extend(f"client {c}: {body[:200]!r}" for kind, body in replies if kind == b"E")
                counts = [int(body[6:]) for kind, body in replies if kind == b"D"]
                if counts != list(range(1, 2 * rounds + 1)):
                    errors.append(f"client {c}: counts out of order: {counts[:12]}...")
        except Exception as error:  # noqa: BLE001 - any client error is a failure here
            errors.append(f"client {c}: {error}")

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    # Every answered commit is durable: kill -9, reopen, count.
    process.kill()
    process.wait()
    process, port = checks.start_server(directory=directory)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        wire_start(sock)
        sock.sendall(wire_message(b"Q", b"SELECT count(*) FROM p\0"))
        rows = [int(body[6:]) for kind, body in wire_replies(sock, 1) if kind == b"D"]
    if rows != [clients * 2 * rounds]:
        errors.append(f"after kill -9 and reopen: {rows} rows, {clients * 2 * rounds} were answered")
    for error in errors[:5]:
        checks.fail(f"{name}: {error}")
    print(f"{name}: {clients} clients x {2 * rounds} commits in {elapsed:.1f} s, answers in order, all there after kill -9", flush=True)
    checks.stop_server(process, signal.SIGTERM, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "kiln"))
    parser.add_argument("--runs", type=int, default=20, help="runs of the exit script per mode")
    parser.add_argument("--only", help="comma-separated checks: exit,terminal,tpch,codecache,corpus,faults,timeout,signals,deep,stream,servefault,pipelined,brief")
    args = parser.parse_args()
    checks = Checks(os.path.abspath(args.kiln), args.runs)
    steps = {
        "exit": checks.exit_loop, "terminal": checks.pipe_and_terminal, "tpch": checks.tpch, "codecache": checks.code_cache, "corpus": checks.corpus,
        "faults": checks.compile_faults, "timeout": checks.statement_timeout, "signals": checks.serve_signals,
        "deep": checks.serve_deep_inputs, "stream": checks.serve_stream, "kept": checks.serve_kept_results, "edges": checks.edge_inputs, "servefault": checks.serve_compile_fault,
        "pipelined": checks.serve_pipelined_commits, "brief": checks.serve_brief_statements,
    }
    chosen = args.only.split(",") if args.only else list(steps)
    before = set(jit_dump_dirs())
    started = time.time()
    for name in chosen:
        steps[name]()
    checks.jit_files(before)
    print(f"release checks: {checks.count} processes and requests, {len(checks.failures)} failures, {time.time() - started:.0f} s")
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
