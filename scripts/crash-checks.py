#!/usr/bin/env python3
"""Crash safety of database directories, tested the way SQLite and DuckDB test theirs.

Every check runs real `kiln serve DBDIR` processes and an independent checker (this script)
that records what each acknowledged commit wrote:
- kill -9 loop: a writer commits tagged transactions (single rows, multi-row INSERTs, COPY
  batches, INSERT ... SELECT, UPDATEs and DELETEs of earlier transactions' rows, now and then
  a CREATE TABLE or a CHECKPOINT, with a small
  max_wal_size so that automatic checkpoints happen too); the server is killed at a random
  moment, reopened, and checked: every acknowledged commit is there, no transaction is there
  in part, nothing else is there;
- named crash points (`KILN_TEST_CRASH_AT`): before the WAL write, before and after its
  flush, in the middle of a checkpoint, before and after the superblock flip, in the middle
  of recovery; the same invariants after each;
- fault injection (`KILN_TEST_FAIL_WRITE=N`, `KILN_TEST_FAIL_FSYNC=N`): the Nth write or
  fsync fails; the statement gets 58030, later writes are refused, the process ends cleanly,
  and a reopen recovers every acknowledged commit;
- corruption: a flipped byte in a column extent, in the metadata and in the middle of the WAL
  gives XX001 naming the file and the offset; a torn WAL tail is dropped.

  python3 scripts/crash-checks.py --kiln .build/release/kiln [--kills 100] [--seed 1]

Exit status 0 only when every check passes.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

CRASH_MARKERS = ["Program crashed", "Segmentation fault", "Fatal error", "Backtracing"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows_of(tag):
    """The rows transaction `tag` writes: (tag, i, payload, v); payloads short, long and NULL."""
    count = [1, 1, 3, 17, 250][tag % 5]
    rows = []
    for i in range(count):
        payload = None if (tag + i) % 7 == 0 else f"p{tag}-{i}" + "x" * ((tag * 31 + i) % 40)
        rows.append((tag, i, payload, tag * 100_000 + i))
    return rows


def summary(rows):
    """What the checker compares per tag: count, sums, and the payloads' total length."""
    return (len(rows), sum(r[1] for r in rows), sum(r[3] for r in rows),
            sum(len(r[2]) for r in rows if r[2] is not None), sum(1 for r in rows if r[2] is not None))


class Checker:
    def __init__(self, kiln, work):
        self.kiln = kiln
        self.work = work
        self.failures = []
        self.processes = 0
        self.acknowledged = {}  # tag -> rows
        self.in_flight = {}  # tag -> rows, sent but not acknowledged
        self.tables = set()  # tables whose CREATE was acknowledged
        self.tables_in_flight = set()
        self.next_tag = 1
        # An UPDATE or DELETE of an acknowledged transaction's rows that was sent but not
        # acknowledged: (tag, its rows afterwards, or None for a delete).
        self.pending_change = None
        # Rows of `keyed` (a BIGSERIAL primary key and a unique tag): tag -> id acknowledged,
        # the tag whose insert is in flight, and the highest id ever handed out.
        self.keyed = {}
        self.key_in_flight = None
        self.highest_id = 0

    def fail(self, message):
        print("FAIL:", message, flush=True)
        self.failures.append(message)

    def start(self, directory, env=None, expect_listening=True):
        port = free_port()
        self.processes += 1
        log = open(os.path.join(self.work, f"serve-{self.processes}.log"), "w+")
        process = subprocess.Popen([self.kiln, "serve", directory, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=log,
                                   env=dict(os.environ, **(env or {})))
        process.log = log
        deadline = time.time() + 60
        while time.time() < deadline:
            if process.poll() is not None:
                return process, None
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process, port
            except OSError:
                time.sleep(0.02)
        process.kill()
        raise RuntimeError("kiln serve did not start")

    def shell(self, directory, sql):
        """`kiln DIRECTORY -c SQL` in CSV, as a process of its own."""
        self.processes += 1
        return subprocess.run([self.kiln, directory, "--format", "csv", "-c", sql], capture_output=True, text=True, timeout=60)

    def expect_count(self, directory, table, count, context):
        result = self.shell(directory, f"SELECT count(*) FROM {table}")
        if result.returncode != 0 or result.stdout.strip().splitlines()[-1:] != [str(count)]:
            self.fail(f"{context}: expected {count} rows, got {result.returncode}: {result.stdout} {result.stderr[-300:]}")

    def log_of(self, process):
        process.log.seek(0)
        return process.log.read()

    def crashed(self, process):
        text = self.log_of(process)
        return next((m for m in CRASH_MARKERS if m in text), None)

    def connect(self, port):
        return psycopg.connect(host="127.0.0.1", port=port, user="kiln", dbname="kiln", autocommit=True)

    # --- the workload -----------------------------------------------------------------------

    def write(self, connection, rng, checkpoint_every=0, stop=None):
        """Commits tagged transactions until the connection fails (or `stop` is set)."""
        done = 0
        while stop is None or not stop.is_set():
            tag = self.next_tag
            self.next_tag += 1
            rows = rows_of(tag)
            kind = rng.random()
            self.in_flight[tag] = rows
            try:
                if tag % 7 == 0 and self.acknowledged:
                    # MVCC: an earlier transaction's rows are updated or deleted (one commit).
                    victim = rng.choice(sorted(self.acknowledged))
                    if tag % 2:
                        self.pending_change = (victim, None)
                        connection.execute(f"DELETE FROM t WHERE tag = {victim}")
                        del self.acknowledged[victim]
                    else:
                        updated = [(t, i, p, v + 1) for t, i, p, v in self.acknowledged[victim]]
                        self.pending_change = (victim, updated)
                        connection.execute(f"UPDATE t SET v = v + 1 WHERE tag = {victim}")
                        self.acknowledged[victim] = updated
                    self.pending_change = None
                if tag % 97 == 0:
                    name = f"extra_{tag}"
                    self.tables_in_flight.add(name)
                    connection.execute(f"CREATE TABLE {name} (a INTEGER)")
                    self.tables.add(name)
                    self.tables_in_flight.discard(name)
                if len(rows) == 1 or kind < 0.3:
                    values = ", ".join(f"({t}, {i}, {lit(p)}, {v})" for t, i, p, v in rows)
                    connection.execute(f"INSERT INTO t VALUES {values}")
                elif kind < 0.7:
                    with connection.cursor().copy("COPY t FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    # INSERT ... SELECT: the rows computed by a query.
                    n = len(rows)
                    connection.execute(
                        f"INSERT INTO t SELECT {tag}, i, CASE WHEN ({tag} + i) % 7 = 0 THEN NULL ELSE 'p{tag}-' || i::TEXT || substr('{'x' * 40}', 1, (({tag} * 31 + i) % 40)::INTEGER) END, "
                        f"{tag * 100_000}::BIGINT + i FROM generate_series(0, {n - 1}) AS g(i)")
                self.acknowledged[tag] = rows
                del self.in_flight[tag]
                done += 1
                if tag % 3 == 0:
                    # A key from a sequence: never handed out twice, not even across a kill -9.
                    self.key_in_flight = tag
                    key = connection.execute(f"INSERT INTO keyed (tag) VALUES ({tag}) RETURNING id").fetchone()[0]
                    self.keyed[tag] = key
                    self.highest_id = max(self.highest_id, key)
                    self.key_in_flight = None
                if checkpoint_every and done % checkpoint_every == 0:
                    connection.execute("CHECKPOINT")
            except psycopg.OperationalError:
                return done
            except psycopg.Error as e:
                self.fail(f"transaction {tag}: {e.sqlstate}: {e}")
                return done
        return done

    def verify(self, port, context):
        """0 acknowledged commits lost, 0 partial transactions, nothing unknown."""
        with self.connect(port) as connection:
            found = {}
            for tag, count, sum_i, sum_v, length, non_null in connection.execute(
                    "SELECT tag, count(*), sum(i), sum(v), sum(length(payload)), count(payload) FROM t GROUP BY tag").fetchall():
                found[tag] = (count, int(sum_i or 0), int(sum_v or 0), int(length or 0), non_null)
            if self.pending_change:
                victim, after = self.pending_change
                before = summary(self.acknowledged[victim])
                now = found.get(victim)
                if after is None and now is None:
                    del self.acknowledged[victim]
                elif after is not None and now == summary(after):
                    self.acknowledged[victim] = after
                elif now != before:
                    self.fail(f"{context}: the change of transaction {victim}'s rows (in flight) is there in part: {now}")
                self.pending_change = None
            for tag, rows in list(self.in_flight.items()):
                if tag in found:
                    if found[tag] != summary(rows):
                        self.fail(f"{context}: transaction {tag} (in flight) is there in part: {found[tag]} != {summary(rows)}")
                    self.acknowledged[tag] = rows
                del self.in_flight[tag]
            lost = [tag for tag in self.acknowledged if tag not in found]
            if lost:
                self.fail(f"{context}: {len(lost)} acknowledged commits lost, e.g. {lost[:5]}")
            for tag, rows in self.acknowledged.items():
                if tag in found and found[tag] != summary(rows):
                    self.fail(f"{context}: transaction {tag} differs: {found[tag]} != {summary(rows)}")
            unknown = [tag for tag in found if tag not in self.acknowledged]
            if unknown:
                self.fail(f"{context}: rows of unknown transactions {unknown[:5]}")
            names = {r[0] for r in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            for name in self.tables_in_flight:
                if name in names:
                    self.tables.add(name)
            self.tables_in_flight.clear()
            missing = self.tables - names
            if missing:
                self.fail(f"{context}: acknowledged CREATE TABLE lost: {sorted(missing)[:5]}")
            self.verify_keys(connection, context)
        return len(self.acknowledged)

    def verify_keys(self, connection, context):
        """Every acknowledged key is there with its id, nothing unknown; the sequence goes on
        after every id handed out; the unique key still holds."""
        found = dict(connection.execute("SELECT tag, id FROM keyed").fetchall())
        if self.key_in_flight is not None and self.key_in_flight in found:
            self.keyed[self.key_in_flight] = found[self.key_in_flight]
            self.highest_id = max(self.highest_id, found[self.key_in_flight])
        self.key_in_flight = None
        lost = [tag for tag in self.keyed if found.get(tag) != self.keyed[tag]]
        if lost:
            self.fail(f"{context}: acknowledged keys lost or changed: {[(t, self.keyed[t], found.get(t)) for t in lost[:5]]}")
        unknown = [tag for tag in found if tag not in self.keyed]
        if unknown:
            self.fail(f"{context}: keys of unknown inserts {unknown[:5]}")
        following = connection.execute("SELECT nextval('keyed_id_seq')").fetchone()[0]
        if following <= self.highest_id:
            self.fail(f"{context}: the sequence hands out {following} again (ids up to {self.highest_id} were given out)")
        self.highest_id = max(self.highest_id, following)
        if self.keyed:
            try:
                connection.execute(f"INSERT INTO keyed (tag) VALUES ({next(iter(self.keyed))})")
                self.fail(f"{context}: a duplicate tag was accepted after reopening")
            except psycopg.errors.UniqueViolation:
                pass

    def open_and_verify(self, directory, context):
        process, port = self.start(directory)
        if port is None:
            self.fail(f"{context}: reopening failed: {self.log_of(process)[-800:]}")
            return
        try:
            self.verify(port, context)
        finally:
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=120)
            marker = self.crashed(process)
            if status != 0 or marker:
                self.fail(f"{context}: kiln serve ended with {status} on SIGTERM: {self.log_of(process)[-800:]}")

    def create_schema(self, directory):
        """A new directory for one check: the checker's records start empty."""
        self.acknowledged, self.in_flight = {}, {}
        self.tables, self.tables_in_flight = set(), set()
        self.keyed, self.key_in_flight, self.highest_id = {}, None, 0
        process, port = self.start(directory)
        with self.connect(port) as connection:
            connection.execute("CREATE TABLE t (tag INTEGER NOT NULL, i INTEGER, payload TEXT, v BIGINT)")
            connection.execute("CREATE TABLE keyed (id BIGSERIAL PRIMARY KEY, tag INTEGER UNIQUE NOT NULL)")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    # --- the checks -------------------------------------------------------------------------

    def kill_loop(self, kills, rng):
        directory = os.path.join(self.work, "kill-loop")
        self.create_schema(directory)
        started = time.time()
        for round_ in range(kills):
            process, port = self.start(directory)
            if port is None:
                self.fail(f"kill {round_}: the server did not start: {self.log_of(process)[-800:]}")
                return
            if round_ > 0:
                self.verify(port, f"after kill {round_}")
            delay = rng.uniform(0.05, 0.8)
            timer = threading.Timer(delay, lambda: process.send_signal(signal.SIGKILL))
            timer.start()
            try:
                with self.connect(port) as connection:
                    connection.execute("SET max_wal_size = '1MB'")
                    self.write(connection, rng, checkpoint_every=rng.choice([0, 0, 25]))
            except psycopg.Error:
                pass
            timer.cancel()
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.open_and_verify(directory, f"after kill {kills}")
        print(f"kill -9 loop: {kills} kills, {len(self.acknowledged)} acknowledged commits, {len(self.keyed)} sequence keys, "
              f"{time.time() - started:.0f} s", flush=True)

    def crash_points(self, rng):
        points = ["wal-before-write", "wal-before-flush", "wal-after-flush", "checkpoint-mid", "checkpoint-before-flip",
                  "checkpoint-after-flip"]
        directory = os.path.join(self.work, "crash-points")
        self.create_schema(directory)
        for point in points:
            for k in [1, 3, 8]:
                process, port = self.start(directory, env={"KILN_TEST_CRASH_AT": f"{point}:{k}"})
                if port is not None:
                    try:
                        with self.connect(port) as connection:
                            stop = threading.Event()
                            timer = threading.Timer(20, stop.set)
                            timer.start()
                            self.write(connection, rng, checkpoint_every=2, stop=stop)
                            timer.cancel()
                    except psycopg.Error:
                        pass
                try:
                    status = process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    status = process.wait()
                if status != -signal.SIGKILL:
                    self.fail(f"crash point {point}:{k}: the process ended with {status}, not at the crash point")
                self.open_and_verify(directory, f"crash point {point}:{k}")
        # Recovery killed in the middle, then run again.
        process, port = self.start(directory)
        with self.connect(port) as connection:
            stop = threading.Event()
            threading.Timer(1.0, stop.set).start()
            self.write(connection, rng, stop=stop)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for attempt in range(2):
            process, port = self.start(directory, env={"KILN_TEST_CRASH_AT": "recovery-mid"})
            status = process.wait(timeout=60) if port is None else None
            if port is not None:
                process.kill()
                process.wait()
                self.fail("crash point recovery-mid: recovery did not reach it (nothing to replay?)")
            elif status != -signal.SIGKILL:
                self.fail(f"crash point recovery-mid: the process ended with {status}: {self.log_of(process)[-400:]}")
        self.open_and_verify(directory, "crash point recovery-mid")
        print(f"crash points: {len(points) * 3 + 1} crashes, invariants hold", flush=True)

    def faults(self, rng, limit):
        directory = os.path.join(self.work, "faults")
        self.create_schema(directory)
        for variable in ["KILN_TEST_FAIL_WRITE", "KILN_TEST_FAIL_FSYNC"]:
            for n in range(1, limit + 1):
                context = f"{variable}={n}"
                process, port = self.start(directory, env={variable: str(n)})
                if port is None:
                    # The fault hit opening (recovery's truncation or sync): a clear error, then a
                    # clean reopen.
                    text = self.log_of(process)
                    if process.wait() != 1 or "58030" not in text and "could not" not in text:
                        self.fail(f"{context}: opening failed without a clear error: {text[-400:]}")
                    self.open_and_verify(directory, context)
                    continue
                error = None
                try:
                    with self.connect(port) as connection:
                        stop = threading.Event()
                        threading.Timer(10, stop.set).start()
                        while not stop.is_set():
                            try:
                                self.write_one(connection, rng)
                            except psycopg.Error as e:
                                error = e
                                break
                        if error is not None:
                            # Later writes are refused too. (A failed sync under a commit ends
                            # that connection with FATAL: the commit's fate is unknown to it.)
                            later_connection = self.connect(port) if connection.closed or connection.broken else connection
                            try:
                                later_connection.execute("INSERT INTO t VALUES (0, 0, 'after', 0)")
                                self.fail(f"{context}: a write after the failure was accepted")
                            except psycopg.Error as later:
                                if later.sqlstate != "58030":
                                    self.fail(f"{context}: the write after the failure got {later.sqlstate}: {later}")
                except psycopg.Error as e:
                    error = error or e
                if error is None:
                    self.fail(f"{context}: no statement failed")
                elif error.sqlstate != "58030":
                    self.fail(f"{context}: expected 58030, got {error.sqlstate}: {error}")
                process.send_signal(signal.SIGTERM)
                status = process.wait(timeout=60)
                if status != 0 or self.crashed(process):
                    self.fail(f"{context}: kiln serve ended with {status}: {self.log_of(process)[-600:]}")
                self.open_and_verify(directory, context)
        print(f"fault injection: the Nth write and fsync for N = 1..{limit}", flush=True)

    def write_one(self, connection, rng):
        """One transaction of the fault workload (every third one followed by a CHECKPOINT)."""
        tag = self.next_tag
        self.next_tag += 1
        rows = rows_of(tag)
        self.in_flight[tag] = rows
        values = ", ".join(f"({t}, {i}, {lit(p)}, {v})" for t, i, p, v in rows)
        connection.execute(f"INSERT INTO t VALUES {values}")
        self.acknowledged[tag] = rows
        del self.in_flight[tag]
        if tag % 3 == 0:
            connection.execute("CHECKPOINT")

    def corruption(self):
        def fresh(name, leave_wal=False):
            directory = os.path.join(self.work, name)
            process, port = self.start(directory, env={"KILN_TEST_CRASH_AT": "checkpoint-before-flip"} if leave_wal else None)
            with self.connect(port) as connection:
                connection.execute("CREATE TABLE c (k INTEGER, s TEXT)")
                for batch in range(3):
                    connection.execute(f"INSERT INTO c SELECT i, 'row ' || i::TEXT || ' of a table' FROM generate_series({batch * 1000}, {batch * 1000 + 999}) AS g(i)")
                if not leave_wal:
                    connection.execute("CHECKPOINT")
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            return directory

        def flip(path, offset):
            with open(path, "r+b") as f:
                f.seek(offset)
                byte = f.read(1)
                f.seek(offset)
                f.write(bytes([byte[0] ^ 0x5A]))

        def expect_error(directory, sql, file, offset, context):
            result = self.shell(directory, sql)
            text = result.stderr + result.stdout
            if result.returncode != 1 or "XX001" not in text and "corrupted" not in text:
                self.fail(f"{context}: expected a corruption error, got status {result.returncode}: {text[-400:]}")
            elif f'{file}" at offset {offset}' not in text:
                self.fail(f"{context}: the error does not name {file} at offset {offset}: {text[-400:]}")
            if any(m in text for m in CRASH_MARKERS):
                self.fail(f"{context}: crashed: {text[-400:]}")

        # A column extent: the data starts after the header and the superblocks (12288).
        directory = fresh("flip-extent")
        flip(os.path.join(directory, "data.kiln"), 12288 + 100)
        expect_error(directory, "SELECT sum(k) FROM c", "data.kiln", 12288, "flipped byte in a column extent")
        # The same through a parallel scan, whose workers check the extents it reads.
        expect_error(directory, "SET threads = 2; SET parallel_morsel_rows = 500; SELECT sum(k), max(s) FROM c", "data.kiln", 12288,
                     "flipped byte in a column extent, parallel scan")
        # The metadata: named by the newest superblock; damage there fails the open.
        directory = fresh("flip-metadata")
        data = os.path.join(directory, "data.kiln")
        with open(data, "rb") as f:
            f.seek(4096)
            a = f.read(64)
            f.seek(8192)
            b = f.read(64)
        newest = max([a, b], key=lambda s: int.from_bytes(s[12:20], "little") if s[:8] == b"KILNSUPR" else -1)
        metadata_offset = int.from_bytes(newest[20:28], "little")
        flip(data, metadata_offset + 10)
        expect_error(directory, "SELECT 1", "data.kiln", metadata_offset, "flipped byte in the metadata")
        # The middle of the WAL (valid records follow): corruption, not a torn tail.
        directory = fresh("flip-wal", leave_wal=True)
        wal = os.path.join(directory, "kiln.wal")
        flip(wal, 24 + 12)
        expect_error(directory, "SELECT 1", "kiln.wal", 24, "flipped byte in the middle of the WAL")
        # A torn tail: the last record cut short is dropped; the earlier commits stay; commits
        # made by the process that recovered land after the last valid record (where the next
        # recovery finds them).
        directory = fresh("torn-tail", leave_wal=True)
        wal = os.path.join(directory, "kiln.wal")
        with open(wal, "r+b") as f:
            data = f.read()
            end = 24
            while end + 8 <= len(data):
                length = int.from_bytes(data[end:end + 4], "little")
                if length == 0 or end + 8 + length > len(data):
                    break
                end += 8 + length
            f.truncate(end - 7)
        process, port = self.start(directory)
        if port is None:
            self.fail(f"torn WAL tail: the server did not open: {self.log_of(process)[-400:]}")
        else:
            with self.connect(port) as connection:
                count = connection.execute("SELECT count(*) FROM c").fetchone()[0]
                if count != 2000:
                    self.fail(f"torn WAL tail: expected the first two inserts (2000 rows), got {count}")
                connection.execute("INSERT INTO c SELECT i, 'after the tear' FROM generate_series(1, 100) AS g(i)")
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.expect_count(directory, "c", 2100, "commits after a torn tail")
        # A new directory killed before its first checkpoint: the WAL alone holds the commits.
        directory = os.path.join(self.work, "never-checkpointed")
        process, port = self.start(directory)
        with self.connect(port) as connection:
            connection.execute("CREATE TABLE n (k INTEGER, s TEXT)")
            connection.execute("INSERT INTO n SELECT i, 'never checkpointed ' || i::TEXT FROM generate_series(1, 500) AS g(i)")
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.expect_count(directory, "n", 500, "never checkpointed")
        # A second process on the same directory gets a clear error.
        process, port = self.start(directory)
        result = self.shell(directory, "SELECT 1")
        if result.returncode != 1 or "55006" not in result.stderr and "in use by another process" not in result.stderr:
            self.fail(f"second process: expected 55006, got {result.returncode}: {result.stderr[-300:]}")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        print("corruption: extent, metadata and WAL damage named; torn tail dropped; second process refused", flush=True)


def lit(value):
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--faults", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--only", default="")
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    print(f"crash checks, seed {arguments.seed}", flush=True)
    work = tempfile.mkdtemp(prefix="kiln-crash-checks-")
    checker = Checker(os.path.abspath(arguments.kiln), work)
    only = set(filter(None, arguments.only.split(",")))
    started = time.time()
    if not only or "kill" in only:
        checker.kill_loop(arguments.kills, rng)
    if not only or "points" in only:
        checker.crash_points(rng)
    if not only or "faults" in only:
        checker.faults(rng, arguments.faults)
    if not only or "corruption" in only:
        checker.corruption()
    print(f"{checker.processes} processes, {len(checker.failures)} failures, {time.time() - started:.0f} s", flush=True)
    if checker.failures:
        print(f"logs kept in {work}")
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
