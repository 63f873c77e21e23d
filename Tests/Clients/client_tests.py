#!/usr/bin/env python3
"""Real PostgreSQL clients against `kiln serve`, their answers compared with the embedded engine's.

Starts `kiln serve` on a free port, loads TPC-H SF0.01 through psql's `\\copy`, then runs the
same queries through the embedded API (`kiln --format json`, the same library in-process) and
through each client:

- psql 15: `-c` queries (text results), `\\copy ... to` and back, meta-commands.
- psycopg 3: text and binary results, parameters, a server-side cursor, COPY in and out.
- pgjdbc: every query prepared and executed 7 times (binary results after the 5th).

Any difference, error or crash fails the run (exit status 1).

  python3 Tests/Clients/client_tests.py [--kiln .build/debug/kiln] [--only psql psycopg jdbc]
"""
import argparse
import datetime
import decimal
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]

# A table with every Kiln type, NULLs and non-ASCII text.
KINDS = """
CREATE TABLE kinds (id INTEGER NOT NULL, b BOOLEAN, s SMALLINT, i INTEGER, l BIGINT, r REAL, f DOUBLE PRECISION,
                    n NUMERIC(18,4), t TEXT, v VARCHAR(20), d DATE, ts TIMESTAMP, iv INTERVAL);
INSERT INTO kinds VALUES
  (1, true, 1, 10, 10000000000, 1.5, 2.25, 123.4567, 'plain', 'v1', DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.789', INTERVAL '3 days 04:05:06'),
  (2, false, -32768, -2147483648, -9223372036854775807, -0.25, -1e300, -99999999999999.9999, 'ünïcödé ✓', '', DATE '1970-01-01', TIMESTAMP '1999-12-31 23:59:59', INTERVAL '1 year 2 months'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, true, 32767, 2147483647, 9223372036854775807, 3.4e38, 0.1, 0.0001, 'tab	and "quote"', 'x,y', DATE '2000-01-01', TIMESTAMP '2000-01-01 00:00:00', INTERVAL '-5 minutes'),
  (5, false, 0, 0, 0, 0, 0, 0, '', 'null', DATE '1900-03-01', TIMESTAMP '2100-06-15 06:00:00.000001', INTERVAL '0 seconds');
"""

QUERIES = [
    "SELECT * FROM kinds ORDER BY id",
    "SELECT id, n * 2 AS n2, n / 3 AS n3, f * 2 AS f2, d + 30 AS d30, ts + INTERVAL '1 day' AS ts1, upper(t) AS ut FROM kinds WHERE id <> 3 ORDER BY id",
    "SELECT count(*) AS c, sum(n) AS sn, avg(i) AS ai, min(d) AS mind, max(ts) AS maxts FROM kinds",
    "SELECT r_name, count(*) AS nations FROM region JOIN nation ON n_regionkey = r_regionkey GROUP BY r_name ORDER BY r_name",
    """SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, avg(l_quantity) AS avg_qty, count(*) AS count_order
       FROM lineitem WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY
       GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus""",
    """SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
       FROM customer, orders, lineitem
       WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
         AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
       GROUP BY l_orderkey, o_orderdate, o_shippriority ORDER BY revenue DESC, o_orderdate, l_orderkey LIMIT 10""",
    "SELECT o_orderkey, o_totalprice, o_orderdate, o_comment FROM orders ORDER BY o_orderkey LIMIT 200",
    "SELECT c_name, c_acctbal FROM customer WHERE c_acctbal > (SELECT avg(c_acctbal) FROM customer) ORDER BY c_acctbal DESC, c_name LIMIT 20",
]

# (query with $n, parameters as Python values, the same query with the values written in).
PARAMETER_QUERIES = [
    ("SELECT count(*) AS c FROM lineitem WHERE l_quantity > $1 AND l_shipmode = $2", [decimal.Decimal("25.5"), "MAIL"],
     "SELECT count(*) AS c FROM lineitem WHERE l_quantity > 25.5 AND l_shipmode = 'MAIL'"),
    ("SELECT id, t FROM kinds WHERE d >= $1 ORDER BY id", [datetime.date(2000, 1, 1)],
     "SELECT id, t FROM kinds WHERE d >= DATE '2000-01-01' ORDER BY id"),
    ("SELECT $1::bigint + l AS x FROM kinds WHERE id = $2", [5, 1], "SELECT 5::bigint + l AS x FROM kinds WHERE id = 1"),
    ("SELECT coalesce($1, 'none') AS c", [None], "SELECT coalesce(NULL, 'none') AS c"),
]

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tpch_dir():
    for candidate in [os.environ.get("KILN_TPCH_DIR"), os.path.join(ROOT, "..", "shared", "tpch")]:
        if candidate and os.path.isdir(os.path.join(candidate, "sf0.01")):
            return os.path.abspath(candidate)
    sys.exit("no TPC-H SF0.01 data (set KILN_TPCH_DIR)")


# ---------------------------------------------------------------------------------------------
# Canonical values: every client's answer and the embedded one become comparable Python values.

def parse_interval(text):
    """PostgreSQL's interval output (postgres style) as (months, microseconds)."""
    months, micros = 0, 0
    for amount, unit in re.findall(r"(-?\d+) (year|mon|day)s?", text):
        amount = int(amount)
        months += amount * 12 if unit == "year" else amount if unit == "mon" else 0
        micros += amount * 86400 * 10**6 if unit == "day" else 0
    clock = re.search(r"(-?)(\d+):(\d+):(\d+)(?:\.(\d+))?", text)
    if clock:
        sign = -1 if clock.group(1) else 1
        fraction = int((clock.group(5) or "0").ljust(6, "0"))
        micros += sign * ((int(clock.group(2)) * 3600 + int(clock.group(3)) * 60 + int(clock.group(4))) * 10**6 + fraction)
    return ("interval", months, micros)


def canonical(value, kind):
    """A value (text from a text result, or a Python object from a driver) in comparable form."""
    if value is None:
        return None
    if kind in ("int2", "int4", "int8", "smallint", "integer", "bigint", "serial"):
        return int(value)
    if kind in ("numeric",):
        return decimal.Decimal(str(value))
    if kind in ("float4", "float8", "real", "double precision"):
        return ("float", float(value))
    if kind in ("bool", "boolean"):
        return value if isinstance(value, bool) else str(value) in ("t", "true")
    if kind == "date":
        return str(value)
    if kind in ("timestamp", "timestamp without time zone"):
        if isinstance(value, datetime.datetime):
            return value
        return datetime.datetime.fromisoformat(str(value).replace(" ", "T"))
    if kind == "interval":
        if isinstance(value, datetime.timedelta):
            return ("interval", 0, (value.days * 86400 + value.seconds) * 10**6 + value.microseconds)
        return parse_interval(str(value))
    return str(value)


def same(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple) and a[:1] == b[:1] == ("float",):
        x, y = a[1], b[1]
        return x == y or abs(x - y) <= 1e-6 * max(abs(x), abs(y))
    if isinstance(a, tuple) and isinstance(b, tuple) and a[:1] == b[:1] == ("interval",):
        # psycopg turns an interval's years into 365 days and months into 30 (a timedelta has
        # no months): compare such a duration with the other side's durations under that rule.
        def durations(v):
            day = 86400 * 10**6
            return {v[1] * 30 * day + v[2], (v[1] // 12 * 365 + v[1] % 12 * 30) * day + v[2]}
        return a == b or bool(durations(a) & durations(b))
    return a == b


def compare(label, got, want):
    """got, want: lists of rows of canonical values."""
    if len(got) != len(want):
        return fail(f"{label}: {len(got)} rows, expected {len(want)}")
    for index, (g, w) in enumerate(zip(got, want)):
        if len(g) != len(w) or not all(same(a, b) for a, b in zip(g, w)):
            return fail(f"{label}: row {index + 1}: got {g!r}, expected {w!r}")


# ---------------------------------------------------------------------------------------------

class Embedded:
    """The embedded engine (`kiln --format json`): column names, text values, and types via pg_typeof."""

    def __init__(self, kiln, setup):
        self.kiln = kiln
        self.setup = setup

    def run(self, queries):
        script = self.setup + "\n" + "\n".join(q.rstrip().rstrip(";") + ";" for q in queries)
        result = subprocess.run([self.kiln, "--format", "json"], input=script, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            sys.exit(f"embedded run failed: {result.stderr[:2000]}")
        decoder = json.JSONDecoder(parse_float=str, parse_int=str, object_pairs_hook=list)
        results, text, position = [], result.stdout, 0
        while position < len(text):
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            value, position = decoder.raw_decode(text, position)
            results.append([[("t" if v is True else "f" if v is False else v) for _, v in row] for row in value])
        return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.environ.get("KILN_BIN", os.path.join(ROOT, ".build", "debug", "kiln")))
    parser.add_argument("--only", nargs="+", default=["psql", "psycopg", "jdbc", "server"])
    args = parser.parse_args()
    tpch = tpch_dir()
    work = tempfile.mkdtemp(prefix="kiln-clients-")
    port = free_port()
    server = subprocess.Popen([args.kiln, "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("kiln serve did not start")
        run_all(args, tpch, work, port)
        if "server" in args.only:
            check_server_features(args, work, port)
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
            fail("kiln serve did not stop on SIGTERM within 10 s")
        if server.returncode not in (0, -15):
            fail(f"kiln serve exited with {server.returncode}: {output[-2000:]}")
        shutil.rmtree(work, ignore_errors=True)
    print(f"client tests: {'FAILED' if failures else 'passed'} ({len(failures)} failures)")
    sys.exit(1 if failures else 0)


def psql(port, *arguments, input=None, user="kiln", env=None, conninfo=None):
    target = [conninfo] if conninfo else ["-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "kiln"]
    command = ["psql", "-X", *target, "-v", "ON_ERROR_STOP=1", *arguments]
    return subprocess.run(command, input=input, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def start_server(kiln, *options):
    """Starts another `kiln serve`; returns (process, port)."""
    port = free_port()
    process = subprocess.Popen([kiln, "serve", "--port", str(port), *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("kiln serve did not start: " + process.communicate()[0])


LONG_QUERY = "SELECT count(*) FROM generate_series(1, 4000000000) AS s(g) WHERE g % 7 = 3"


def check_server_features(args, work, port):
    """Cancel requests, statement and idle timeouts, TLS, SCRAM passwords, graceful shutdown."""
    import psycopg
    import threading
    conninfo = f"host=127.0.0.1 port={port} user=kiln dbname=kiln"
    # A cancel request (on its own connection) stops the running query: 57014, and the session goes on.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        timer = threading.Timer(1.0, conn.cancel)
        timer.start()
        started = time.time()
        try:
            conn.execute(LONG_QUERY)
            fail("cancel: the long query finished instead of being cancelled")
        except psycopg.errors.QueryCanceled as e:
            if "user request" not in str(e):
                fail(f"cancel: unexpected message {e}")
        if time.time() - started > 20:
            fail(f"cancel: took {time.time() - started:.1f} s")
        if conn.execute("SELECT 7").fetchone() != (7,):
            fail("cancel: session unusable afterwards")
        # statement_timeout.
        conn.execute("SET statement_timeout = '300ms'")
        try:
            conn.execute(LONG_QUERY)
            fail("statement_timeout: the long query finished")
        except psycopg.errors.QueryCanceled as e:
            if "statement timeout" not in str(e):
                fail(f"statement_timeout: unexpected message {e}")
    # 64 clients at once, half with prepared statements, half with simple queries: no errors,
    # every answer right (bench/wire_load.py is the long version, with PostgreSQL next to it).
    errors, answers = [], [0]
    lock = threading.Lock()
    stop = time.time() + 10

    def client(number):
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                while time.time() < stop:
                    key = (number % 5) + 1
                    if number % 2:
                        row = conn.execute("SELECT id, t FROM kinds WHERE id = %s", (key,), prepare=True).fetchone()
                    else:
                        row = conn.execute(f"SELECT id, t FROM kinds WHERE id = {key}", prepare=False).fetchone()
                    if row is None or row[0] != key:
                        raise AssertionError(f"client {number}: wrong row {row} for id {key}")
                    with lock:
                        answers[0] += 1
        except Exception as e:  # any failure counts
            with lock:
                errors.append(f"client {number}: {e}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        fail(f"64 concurrent clients: {len(errors)} errors, first: {errors[0]}")
    print(f"64 concurrent clients: {answers[0]} queries in 10 s, {len(errors)} errors")
    # TLS with a self-signed certificate, SCRAM-SHA-256 users from a file, an idle timeout.
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                           "-subj", "/CN=localhost"], capture_output=True, text=True)
    if made.returncode != 0:
        return fail("openssl could not make a test certificate: " + made.stderr)
    users = os.path.join(work, "users")
    with open(users, "w") as f:
        f.write("# name:password or name:SCRAM-SHA-256$... verifier\nalice:wonderland\n")
    server, secure_port = start_server(args.kiln, "--tls-cert", cert, "--tls-key", key, "--users", users, "--idle-timeout", "1500")
    try:
        tls = psql(secure_port, "-c", "SELECT current_user AS who", "-c", "\\conninfo", user="alice",
                   conninfo=f"host=127.0.0.1 port={secure_port} user=alice dbname=kiln sslmode=require", env={"PGPASSWORD": "wonderland"})
        if tls.returncode != 0 or "alice" not in tls.stdout or "SSL connection" not in tls.stdout:
            fail(f"TLS + SCRAM login: {tls.stdout} {tls.stderr}")
        wrong = psql(secure_port, "-c", "SELECT 1", user="alice", env={"PGPASSWORD": "wrong"})
        if wrong.returncode == 0 or "password authentication failed" not in wrong.stderr:
            fail(f"wrong password: {wrong.stdout} {wrong.stderr}")
        created = psql(secure_port, "-c", "CREATE ROLE bob LOGIN PASSWORD 'builder'", user="alice", env={"PGPASSWORD": "wonderland"})
        bob = psql(secure_port, "-c", "SELECT 1", user="bob", env={"PGPASSWORD": "builder"})
        if created.returncode != 0 or bob.returncode != 0:
            fail(f"CREATE ROLE then login: {created.stderr} {bob.stderr}")
        with psycopg.connect(f"host=127.0.0.1 port={secure_port} user=alice password=wonderland dbname=kiln sslmode=require", autocommit=True) as conn:
            if conn.execute("SELECT 40 + 2").fetchone() != (42,):
                fail("psycopg over TLS with SCRAM")
            time.sleep(2.5)  # idle (outside a transaction) for longer than --idle-timeout
            try:
                conn.execute("SELECT 1")
                fail("idle timeout: an idle session stayed open")
            except psycopg.OperationalError:
                pass
    finally:
        server.send_signal(2)  # SIGINT: shut down, as on Ctrl-C
        try:
            server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            fail("kiln serve did not stop on SIGINT within 10 s")
    print("server features: done")


def run_all(args, tpch, work, port):
    schema = open(os.path.join(tpch, "schema.sql")).read()
    # Load through the server with psql's \copy (COPY FROM STDIN).
    loaded = psql(port, "-c", schema + KINDS)
    if loaded.returncode != 0:
        sys.exit("schema through psql failed: " + loaded.stderr)
    for table in TABLES:
        path = os.path.join(tpch, "sf0.01", table + ".tbl")
        result = psql(port, "-c", f"\\copy {table} from '{path}' with (format csv, delimiter '|')")
        if result.returncode != 0 or not result.stdout.startswith("COPY "):
            fail(f"psql \\copy {table}: {result.stdout} {result.stderr}")
    setup = schema + KINDS + "\n".join(
        f"COPY {t} FROM '{os.path.join(tpch, 'sf0.01', t + '.tbl')}' WITH (FORMAT csv, DELIMITER '|');" for t in TABLES)
    embedded = Embedded(args.kiln, setup)
    typed = [f"SELECT * FROM ({q}) AS q LIMIT 0" for q in QUERIES]  # only for column names
    expected = embedded.run(QUERIES + [p[2] for p in PARAMETER_QUERIES])
    want_queries, want_params = expected[:len(QUERIES)], expected[len(QUERIES):]
    if "psql" in args.only:
        check_psql(port, work, want_queries)
    if "psycopg" in args.only:
        check_psycopg(port, want_queries, want_params)
    if "jdbc" in args.only:
        check_jdbc(port, work, want_queries)


def text_rows(rows, kinds):
    return [[canonical(v, k) for v, k in zip(row, kinds)] for row in rows]


def column_kinds(port, query):
    """Type names of a query's columns, as the server describes them (psycopg)."""
    import psycopg
    with psycopg.connect(f"host=127.0.0.1 port={port} user=kiln dbname=kiln", autocommit=True) as conn:
        cur = conn.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
        return [OID_NAMES.get(d.type_code, "text") for d in cur.description]


OID_NAMES = {16: "bool", 20: "int8", 21: "int2", 23: "int4", 25: "text", 700: "float4", 701: "float8", 1043: "varchar",
             1082: "date", 1114: "timestamp", 1186: "interval", 1700: "numeric"}


def check_psql(port, work, want):
    import csv, io
    for number, query in enumerate(QUERIES):
        result = psql(port, "--csv", "-P", "null=<NULL>", "-c", query)
        if result.returncode != 0:
            fail(f"psql query {number + 1}: {result.stderr.strip()}")
            continue
        rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
        rows = [[None if v == "<NULL>" else v for v in row] for row in rows]
        kinds = column_kinds(port, query)
        compare(f"psql query {number + 1}", text_rows(rows, kinds), text_rows(want[number], kinds))
    # \copy out and back in: the same rows after a round trip.
    path = os.path.join(work, "kinds.csv")
    out = psql(port, "-c", f"\\copy (SELECT * FROM kinds ORDER BY id) to '{path}' with csv")
    back = psql(port, "-c", "CREATE TABLE kinds2 AS SELECT * FROM kinds WHERE false" if False else
                "CREATE TABLE kinds2 (id INTEGER NOT NULL, b BOOLEAN, s SMALLINT, i INTEGER, l BIGINT, r REAL, f DOUBLE PRECISION, n NUMERIC(18,4), t TEXT, v VARCHAR(20), d DATE, ts TIMESTAMP, iv INTERVAL)",
                "-c", f"\\copy kinds2 from '{path}' with csv")
    if out.returncode != 0 or back.returncode != 0:
        fail(f"psql \\copy round trip: {out.stderr} {back.stderr}")
    else:
        again = psql(port, "--csv", "-P", "null=<NULL>", "-c", "SELECT * FROM kinds2 ORDER BY id")
        first = psql(port, "--csv", "-P", "null=<NULL>", "-c", "SELECT * FROM kinds ORDER BY id")
        if again.stdout != first.stdout:
            fail(f"psql \\copy round trip changed the rows:\n{first.stdout}\n{again.stdout}")
    # Meta-commands read pg_catalog: the tables and views of this run, schemas, databases.
    listing = psql(port, "-c", "CREATE VIEW big_orders AS SELECT o_orderkey FROM orders WHERE o_totalprice > 400000", "-c", "\\dt", "-c", "\\d", "-c", "\\dn", "-c", "\\l")
    if listing.returncode != 0:
        fail(f"psql meta-commands: {listing.stderr.strip()}")
    else:
        for expected in [" public | lineitem ", " public | big_orders ", "| view ", " public | kiln", "UTF8"]:
            if expected not in listing.stdout:
                fail(f"psql meta-commands: {expected!r} missing from\n{listing.stdout}")
        if listing.stdout.count("| table |") < len(TABLES) * 2:
            fail(f"psql \\dt / \\d: fewer tables than created:\n{listing.stdout}")
    described = psql(port, "-c", "\\d orders", "-c", "\\d big_orders")
    if described.returncode != 0:
        fail(f"psql \\d tablename: {described.stderr.strip()}")
    else:
        for expected in ['Table "public.orders"', "o_orderkey", "bigint", "not null", "numeric(15,2)", "character varying(79)",
                         'View "public.big_orders"']:
            if expected not in described.stdout:
                fail(f"psql \\d tablename: {expected!r} missing from\n{described.stdout}")
    timing = psql(port, "-c", "\\timing on", "-c", "SELECT count(*) FROM lineitem")
    if timing.returncode != 0 or "Time:" not in timing.stdout:
        fail(f"psql \\timing: {timing.stdout} {timing.stderr}")
    # Errors come back with SQLSTATE and position.
    error = psql(port, "-v", "VERBOSITY=verbose", "-c", "SELECT nosuchcolumn FROM kinds")
    if "42703" not in error.stderr or "LINE 1" not in error.stderr:
        fail(f"psql error report: {error.stderr!r}")
    print("psql: done")


def check_psycopg(port, want, want_params):
    import psycopg
    conninfo = f"host=127.0.0.1 port={port} user=kiln dbname=kiln"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for binary in (False, True):
            mode = "binary" if binary else "text"
            for number, query in enumerate(QUERIES):
                cur = conn.cursor(binary=binary)
                try:
                    cur.execute(query)
                except psycopg.Error as e:
                    fail(f"psycopg {mode} query {number + 1}: {e}")
                    continue
                kinds = [OID_NAMES.get(d.type_code, "text") for d in cur.description]
                got = [[canonical(v, k) for v, k in zip(row, kinds)] for row in cur.fetchall()]
                compare(f"psycopg {mode} query {number + 1}", got, text_rows(want[number], kinds))
            for number, (query, params, _) in enumerate(PARAMETER_QUERIES):
                cur = conn.cursor(binary=binary)
                try:
                    cur.execute(query.replace("$1", "%s").replace("$2", "%s"), params)
                except psycopg.Error as e:
                    fail(f"psycopg {mode} parameter query {number + 1}: {e}")
                    continue
                kinds = [OID_NAMES.get(d.type_code, "text") for d in cur.description]
                got = [[canonical(v, k) for v, k in zip(row, kinds)] for row in cur.fetchall()]
                compare(f"psycopg {mode} parameter query {number + 1}", got, text_rows(want_params[number], kinds))
        # Errors: SQLSTATE, and the connection stays usable.
        try:
            conn.execute("SELECT 1 / 0")
            fail("psycopg: division by zero raised nothing")
        except psycopg.errors.DivisionByZero as e:
            if e.diag.sqlstate != "22012":
                fail(f"psycopg: wrong SQLSTATE {e.diag.sqlstate}")
        if conn.execute("SELECT 41 + 1").fetchone() != (42,):
            fail("psycopg: connection unusable after an error")
        # COPY in and out.
        conn.execute("CREATE TABLE copied (k INTEGER, v TEXT, n NUMERIC(10,2))")
        rows = [(i, None if i % 7 == 0 else f"row {i}\twith tab", decimal.Decimal(i) / 4) for i in range(1000)]
        with conn.cursor().copy("COPY copied (k, v, n) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        out = []
        with conn.cursor().copy("COPY (SELECT k, v, n FROM copied ORDER BY k) TO STDOUT") as copy:
            for row in copy.rows():
                out.append((int(row[0]), row[1], decimal.Decimal(row[2])))
        if out != rows:
            fail(f"psycopg COPY round trip: {out[:3]} vs {rows[:3]}")
    # A server-side cursor inside a transaction.
    with psycopg.connect(conninfo) as conn:
        with conn.cursor(name="big", binary=True) as cur:
            cur.execute("SELECT o_orderkey, o_totalprice FROM orders WHERE o_orderkey > %s ORDER BY o_orderkey", (100,))
            first = cur.fetchmany(10)
            rest = cur.fetchall()
        count = conn.execute("SELECT count(*) FROM orders WHERE o_orderkey > 100").fetchone()[0]
        if len(first) != 10 or len(first) + len(rest) != count or first[0][0] <= 100:
            fail(f"psycopg server-side cursor: {len(first)} + {len(rest)} rows, expected {count}")
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
            fail("psycopg: transaction status is not INTRANS inside a transaction")
    print("psycopg: done")


def check_jdbc(port, work, want):
    jar = "/usr/share/java/postgresql.jar"
    if not os.path.exists(jar):
        return fail("pgjdbc: /usr/share/java/postgresql.jar missing (Debian libpostgresql-jdbc-java)")
    classes = os.path.join(work, "jdbc")
    os.makedirs(classes, exist_ok=True)
    compiled = subprocess.run(["javac", "-cp", jar, "-d", classes, os.path.join(ROOT, "Tests", "Clients", "JDBCClient.java")],
                              capture_output=True, text=True)
    if compiled.returncode != 0:
        return fail("pgjdbc client did not compile: " + compiled.stderr)
    queries = os.path.join(work, "jdbc.sql")
    with open(queries, "w") as f:
        f.write("\n----\n".join(QUERIES) + "\n----\n")
    result = subprocess.run(["java", "-cp", f"{jar}:{classes}", "JDBCClient", f"jdbc:postgresql://127.0.0.1:{port}/kiln", queries],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        return fail("pgjdbc client failed: " + result.stderr[-3000:])
    blocks = result.stdout.split("@@")[1:]
    if len(blocks) != len(QUERIES):
        return fail(f"pgjdbc: {len(blocks)} results for {len(QUERIES)} queries")
    for number, block in enumerate(blocks):
        if block.startswith("error"):
            fail(f"pgjdbc query {number + 1}: {block.strip()}")
            continue
        rows = [json.loads(line) for line in block.splitlines()[1:] if line.strip()]
        kinds = [t for t, _ in rows[0]] if rows else []
        got = [[canonical(v, t) for t, v in row] for row in rows]
        compare(f"pgjdbc query {number + 1}", got, text_rows(want[number], kinds) if rows else [[] for _ in want[number]])
    print("pgjdbc: done")


if __name__ == "__main__":
    main()
