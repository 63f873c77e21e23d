#!/usr/bin/env python3
"""Kiln shards under a real PostgreSQL 15 coordinator, as a user sets them up.

Starts two `kiln serve` shards on database directories, loads TPC-H into them with
`scripts/shards.py load` (orders and lineitem split by order key, the rest replicated), starts
a scratch PostgreSQL 15 cluster on 127.0.0.1 and makes it the coordinator with
`scripts/shards.py coordinator` (postgres_fdw: IMPORT FOREIGN SCHEMA, remote estimates, ANALYZE
through pg_relation_size and a sampling cursor). Then checks, through the coordinator:
  - the 22 TPC-H queries against the official answers;
  - EXPLAIN VERBOSE: Q3's join of orders and lineitem pushed to every shard, and the documented
    aggregate pattern (UNION ALL of per-shard partial aggregates) with the aggregates in every
    shard's Remote SQL, giving Q1's and Q6's official answers;
  - transactions that write through the coordinator: COMMIT, ROLLBACK, SAVEPOINT / ROLLBACK TO /
    RELEASE, UPDATE and DELETE pushed down, prepared statements with parameters;
  - errors from a shard arrive at the coordinator as errors with their SQLSTATE;
  - the shards keep their data across a restart (SIGTERM, then `kiln serve` again).
With --spark, Spark (pyspark: a standalone master and worker on 127.0.0.1) reads the shards over JDBC
(pgjdbc) and must give the coordinator's Q1 and Q6 answers.

  .venv/bin/python scripts/shard-checks.py --kiln .build/debug/kiln [--spark]
"""
import argparse
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psycopg

import kiln_serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("tpch_check", os.path.join(ROOT, "scripts", "tpch-check.py"))
tpch_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tpch_check)
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SHARD_KEYS = ["orders=o_orderkey", "lineitem=l_orderkey"]

# The documented aggregate pattern (README, "Shards under a PostgreSQL coordinator"): every
# shard aggregates its own rows, the coordinator combines the partial aggregates.
Q1_PARTIAL = """
SELECT l_returnflag, l_linestatus,
       sum(sum_qty) AS sum_qty, sum(sum_base_price) AS sum_base_price, sum(sum_disc_price) AS sum_disc_price,
       sum(sum_charge) AS sum_charge, sum(sum_qty) / sum(count_order) AS avg_qty, sum(sum_base_price) / sum(count_order) AS avg_price,
       sum(sum_disc) / sum(count_order) AS avg_disc, sum(count_order) AS count_order
FROM ({branches}) AS partial
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus"""
Q1_BRANCH = """SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       sum(l_discount) AS sum_disc, count(*) AS count_order
  FROM {shard}.lineitem WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY GROUP BY l_returnflag, l_linestatus"""
Q6_PARTIAL = "SELECT sum(revenue) AS revenue FROM ({branches}) AS partial"
Q6_BRANCH = """SELECT sum(l_extendedprice * l_discount) AS revenue FROM {shard}.lineitem
  WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24"""


free_port, wait_for_port = kiln_serve.free_port, kiln_serve.wait_for_port


class Shard:
    def __init__(self, kiln, directory):
        self.kiln, self.directory, self.port, self.process = kiln, directory, free_port(), None

    def start(self):
        self.log = open(self.directory + ".log", "a")
        self.process = subprocess.Popen([self.kiln, "serve", self.directory, "--port", str(self.port)], stdout=self.log, stderr=self.log)
        wait_for_port(self.port, self.process, f"kiln serve {self.directory}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        if status != 0:
            sys.exit(f"kiln serve {self.directory} exited with status {status} on SIGTERM")

    def address(self):
        return f"127.0.0.1:{self.port}"


class Coordinator:
    """A scratch PostgreSQL 15 cluster, run as the user postgres when this runs as root."""

    def __init__(self, directory):
        self.directory, self.port = directory, free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    def run(self, *command):
        subprocess.run(self.prefix + list(command), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        os.makedirs(self.directory)
        if self.prefix:
            shutil.chown(self.directory, "postgres", "postgres")
            shutil.chown(os.path.dirname(self.directory), "postgres", "postgres")
        self.run(f"{PG_BIN}/initdb", "-D", self.directory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C")
        with open(os.path.join(self.directory, "postgresql.conf"), "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.directory}'\n"
                       "fsync = off\nshared_buffers = 256MB\nwork_mem = 64MB\nmax_connections = 20\n")
        self.run(f"{PG_BIN}/pg_ctl", "-D", self.directory, "-w", "-t", "120", "-l", os.path.join(self.directory, "server.log"), "start")

    def stop(self):
        subprocess.run(self.prefix + [f"{PG_BIN}/pg_ctl", "-D", self.directory, "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def connect(self):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)


def shards_py(*arguments):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "shards.py"), *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"shards.py {arguments[0]} failed:\n{result.stdout}{result.stderr}")
    print(result.stdout.strip())


def text_rows(cursor):
    """Rows as the official answers print them: text, NULL as ''."""
    return [["" if value is None else str(value) for value in row] for row in cursor.fetchall()]


def answer(tpch, query):
    with open(os.path.join(tpch, "answers", "sf0.01", f"{query}.csv")) as f:
        return [line.split("|") for line in f.read().splitlines()[1:]]


class Checks:
    def __init__(self):
        self.failures, self.count = [], 0

    def check(self, name, problem):
        self.count += 1
        print(f"{name}: {'ok' if not problem else 'FAILED: ' + problem}")
        if problem:
            self.failures.append(f"{name}: {problem}")


def explain(connection, query):
    return "\n".join(row[0] for row in connection.execute("EXPLAIN (VERBOSE, COSTS OFF) " + query).fetchall())


def check_queries(checks, connection, tpch):
    for number in range(1, 23):
        query = f"q{number:02d}"
        text = open(os.path.join(tpch, "queries", f"{query}.sql")).read().strip().rstrip(";")
        try:
            rows = text_rows(connection.execute(text))
            checks.check(f"coordinator {query}", tpch_check.compare(query, rows, answer(tpch, query)))
        except psycopg.Error as error:
            checks.check(f"coordinator {query}", f"{type(error).__name__}: {str(error).strip()}")


def check_pushdown(checks, connection, tpch, shards):
    q3 = open(os.path.join(tpch, "queries", "q03.sql")).read().strip().rstrip(";")
    plan = explain(connection, q3)
    pushed = [line for line in plan.splitlines() if "Relations:" in line and "INNER JOIN" in line]
    checks.check("Q3's join of orders and lineitem pushed to every shard",
                 None if len(pushed) == len(shards) else f"{len(pushed)} pushed joins in the plan:\n{plan}")
    for name, partial, branch, query in (("Q1", Q1_PARTIAL, Q1_BRANCH, "q01"), ("Q6", Q6_PARTIAL, Q6_BRANCH, "q06")):
        text = partial.format(branches=" UNION ALL ".join(branch.format(shard=f"kiln_shard_{i + 1}") for i in range(len(shards))))
        plan = explain(connection, text)
        remote = [line for line in plan.splitlines() if "Remote SQL:" in line]
        aggregated = [line for line in remote if "sum(" in line]
        checks.check(f"{name} in the aggregate pattern: every shard aggregates",
                     None if len(aggregated) == len(shards) == len(remote) else f"Remote SQL:\n{plan}")
        checks.check(f"{name} in the aggregate pattern: official answer", tpch_check.compare(name, text_rows(connection.execute(text)), answer(tpch, query)))


def check_numeric_digits(checks, connection):
    """Aggregates and quotients computed on a shard print as PostgreSQL prints them: the
    coordinator's own answer over a local copy of the same rows is the oracle."""
    query = ("SELECT avg(n_nationkey), avg(n_regionkey::numeric / 3), stddev(n_nationkey), variance(n_regionkey), "
             "sum(n_nationkey) / 7.0, avg(n_nationkey::numeric(10,2)) FROM {table}")
    plan = explain(connection, query.format(table="nation"))
    remote = [line for line in plan.splitlines() if "Remote SQL:" in line]
    connection.execute("CREATE TEMP TABLE local_nation AS SELECT * FROM nation")
    shard, local = text_rows(connection.execute(query.format(table="nation"))), text_rows(connection.execute(query.format(table="local_nation")))
    problem = None if shard == local else f"shard {shard} != PostgreSQL {local}"
    if not remote or "avg(" not in remote[0]:
        problem = f"the aggregates were not pushed to the shard:\n{plan}"
    checks.check("numeric digits of pushed avg, stddev, variance and quotients as PostgreSQL's", problem)


def scalar(connection, query, *parameters):
    return connection.execute(query, parameters).fetchone()[0]


def check_writes(checks, coordinator, shards):
    connection = coordinator.connect()
    direct = [psycopg.connect(host="127.0.0.1", port=shard.port, user="kiln", dbname="kiln", autocommit=True) for shard in shards]
    before = scalar(connection, "SELECT count(*) FROM orders")
    top = scalar(connection, "SELECT max(o_orderkey) FROM orders")
    row = "(%s, 1, 'O', 10.00, DATE '1998-08-01', '1-URGENT', 'Clerk#000000001', 0, 'through the coordinator')"
    # COMMIT: the row reaches the last shard (keys above every bound).
    with connection.transaction():
        connection.execute(f"INSERT INTO orders VALUES {row}", (top + 1,))
    checks.check("INSERT ... COMMIT through the coordinator",
                 None if scalar(direct[-1], "SELECT count(*) FROM orders WHERE o_orderkey = %s", top + 1) == 1 else "the row is not on the last shard")
    # ROLLBACK: nothing reaches any shard.
    try:
        with connection.transaction():
            connection.execute(f"INSERT INTO orders VALUES {row}", (top + 2,))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    checks.check("INSERT ... ROLLBACK through the coordinator",
                 None if scalar(connection, "SELECT count(*) FROM orders") == before + 1 else "the rolled-back row is visible")
    # Savepoints: postgres_fdw sends SAVEPOINT / ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT.
    connection.execute("BEGIN")
    connection.execute(f"INSERT INTO orders VALUES {row}", (top + 3,))
    connection.execute("SAVEPOINT a")
    connection.execute(f"INSERT INTO orders VALUES {row}", (top + 4,))
    connection.execute("ROLLBACK TO SAVEPOINT a")
    connection.execute("SAVEPOINT b")
    connection.execute(f"INSERT INTO orders VALUES {row}", (top + 5,))
    connection.execute("RELEASE SAVEPOINT b")
    connection.execute("COMMIT")
    kept = [r[0] for r in direct[-1].execute("SELECT o_orderkey FROM orders WHERE o_orderkey > %s ORDER BY 1", (top,)).fetchall()]
    checks.check("SAVEPOINT, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT through the coordinator",
                 None if kept == [top + 1, top + 3, top + 5] else f"the shard holds keys {kept}, expected {[top + 1, top + 3, top + 5]}")
    # UPDATE and DELETE of a shard's foreign table: pushed down whole (Foreign Update / Delete).
    plan = explain(connection, "UPDATE kiln_shard_2.orders SET o_comment = 'updated' WHERE o_orderkey > 10")
    updated = connection.execute("UPDATE kiln_shard_2.orders SET o_comment = 'updated' WHERE o_orderkey > %s", (top,)).rowcount
    comments = {r[0] for r in direct[-1].execute("SELECT o_comment FROM orders WHERE o_orderkey > %s", (top,)).fetchall()}
    checks.check("UPDATE of a shard's table through the coordinator (pushed down)",
                 None if updated == 3 and comments == {"updated"} and "Foreign Update" in plan else f"{updated} rows, comments {comments}, plan:\n{plan}")
    # Through the partitioned table, postgres_fdw locks the rows (SELECT ... ctid ... FOR
    # UPDATE) and changes them one by one (UPDATE / DELETE ... WHERE ctid = $1), on every shard.
    low = scalar(direct[0], "SELECT min(o_orderkey) FROM orders")
    keys = (low, top + 1, top + 3)
    with connection.transaction():
        updated = connection.execute("UPDATE orders SET o_comment = 'both shards', o_totalprice = o_totalprice + 1 WHERE o_orderkey IN (%s, %s, %s)", keys).rowcount
    rows = sorted(direct[0].execute("SELECT o_orderkey, o_comment FROM orders WHERE o_comment = 'both shards'").fetchall()
                  + direct[-1].execute("SELECT o_orderkey, o_comment FROM orders WHERE o_comment = 'both shards'").fetchall())
    checks.check("UPDATE through the partitioned table (row locks and ctid on every shard)",
                 None if updated == 3 and [r[0] for r in rows] == sorted(keys) else f"{updated} rows updated; shards hold {rows}")
    with connection.transaction():
        deleted = connection.execute("DELETE FROM orders WHERE o_orderkey > %s", (top,)).rowcount
    checks.check("DELETE through the partitioned table",
                 None if deleted == 3 and scalar(connection, "SELECT count(*) FROM orders") == before else f"{deleted} rows deleted")
    connection.execute("UPDATE orders SET o_totalprice = o_totalprice - 1 WHERE o_orderkey = %s", (low,))
    # A prepared statement whose parameter goes to the shards.
    connection.execute("PREPARE by_customer(bigint) AS SELECT count(*) FROM orders WHERE o_custkey = $1")
    counts = [scalar(connection, f"EXECUTE by_customer({key})") for key in (1, 2, 4, 7, 1)]
    expected = [scalar(direct[0], "SELECT count(*) FROM orders WHERE o_custkey = %s", key) + scalar(direct[1], "SELECT count(*) FROM orders WHERE o_custkey = %s", key) for key in (1, 2, 4, 7, 1)]
    checks.check("a prepared statement with a parameter pushed to the shards", None if counts == expected else f"{counts} != {expected}")
    # A shard's error reaches the coordinator with its SQLSTATE.
    try:
        connection.execute("SELECT count(*) FROM orders WHERE o_orderkey / (o_custkey - o_custkey) > 0")
        checks.check("a shard's error at the coordinator", "no error")
    except psycopg.Error as error:
        checks.check("a shard's error at the coordinator", None if error.sqlstate == "22012" else f"{error.sqlstate}: {error}")
    connection.close()
    for c in direct:
        c.close()


def check_restart(checks, coordinator, shards, tpch):
    for shard in shards:
        shard.stop()
        shard.start()
    with coordinator.connect() as connection:
        rows = text_rows(connection.execute(open(os.path.join(tpch, "queries", "q01.sql")).read()))
        checks.check("after the shards restart: Q1 through the coordinator", tpch_check.compare("q01", rows, answer(tpch, "q01")))


def spark_cluster(work):
    """A Spark standalone master and one worker (2 cores) on 127.0.0.1, from pyspark's jars."""
    import pyspark
    home = os.path.dirname(pyspark.__file__)
    environment = dict(os.environ, SPARK_HOME=home, SPARK_LOCAL_IP="127.0.0.1", SPARK_LOG_DIR=work, SPARK_WORKER_DIR=os.path.join(work, "spark-worker"), SPARK_LOCAL_DIRS=work)
    spark_class = os.path.join(home, "bin", "spark-class")
    port = free_port()
    log = open(os.path.join(work, "spark.log"), "a")
    master = subprocess.Popen([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", str(free_port())], env=environment, stdout=log, stderr=log)
    wait_for_port(port, master, "the Spark master")
    worker = subprocess.Popen([spark_class, "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                               "--cores", "2", "--memory", "2g", "--webui-port", str(free_port())], env=environment, stdout=log, stderr=log)
    return f"spark://127.0.0.1:{port}", [master, worker]


def spark_check(checks, coordinator, shards, work):
    """Spark's JDBC source reads lineitem from every shard (a standalone master and worker on
    127.0.0.1); Q1 and Q6 must match the coordinator."""
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession
    jar = "/usr/share/java/postgresql.jar"
    url, processes = spark_cluster(work)
    try:
        spark = (SparkSession.builder.master(url).appName("kiln-shards")
                 .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                 .config("spark.ui.enabled", "false").config("spark.jars", jar)
                 .config("spark.executor.memory", "1g").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    except Exception:
        for process in processes:
            process.kill()
        raise
    spark.sparkContext.setLogLevel("ERROR")
    try:
        frames = [spark.read.format("jdbc").option("url", f"jdbc:postgresql://127.0.0.1:{shard.port}/kiln").option("user", "kiln")
                  .option("dbtable", "lineitem").option("driver", "org.postgresql.Driver").option("fetchsize", "10000").load() for shard in shards]
        lineitem = frames[0]
        for frame in frames[1:]:
            lineitem = lineitem.unionAll(frame)
        lineitem.createOrReplaceTempView("lineitem")
        spark_q1 = spark.sql("""SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice), sum(l_extendedprice * (1 - l_discount)),
            sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)), avg(CAST(l_quantity AS DOUBLE)), avg(CAST(l_extendedprice AS DOUBLE)),
            avg(CAST(l_discount AS DOUBLE)), count(*)
            FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus""").collect()
        spark_q6 = spark.sql("""SELECT sum(l_extendedprice * l_discount) FROM lineitem WHERE l_shipdate >= DATE '1994-01-01'
            AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24""").collect()
    finally:
        spark.stop()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    with coordinator.connect() as connection:
        for name, got, query in (("Q1", spark_q1, "q01"), ("Q6", spark_q6, "q06")):
            text = open(os.path.join(tpch_dir(), "queries", f"{query}.sql")).read()
            want = text_rows(connection.execute(text))
            rows = [["" if v is None else str(v) for v in row] for row in got]
            checks.check(f"Spark over JDBC: {name} as the coordinator gives it", tpch_check.compare(name, rows, want))


def tpch_dir():
    return tpch_check.shared_tpch()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build", "debug", "kiln"))
    parser.add_argument("--spark", action="store_true", help="also read the shards with Spark's JDBC source (needs pyspark)")
    parser.add_argument("--keep", action="store_true", help="leave the shards and the coordinator running, and print how to reach them")
    args = parser.parse_args()
    tpch = tpch_dir()
    if not os.path.exists(os.path.join(PG_BIN, "postgres")):
        sys.exit(f"no PostgreSQL server at {PG_BIN} (apt-get install postgresql-15)")
    work = tempfile.mkdtemp(prefix="kiln-shards-")
    os.chmod(work, 0o755)  # the coordinator runs as the user postgres
    shards = [Shard(args.kiln, os.path.join(work, f"shard{i}.kiln")) for i in (1, 2)]
    coordinator = Coordinator(os.path.join(work, "coordinator", "data"))
    checks = Checks()
    started = time.time()
    try:
        for shard in shards:
            shard.start()
        addresses = [argument for shard in shards for argument in ("--shard", shard.address())]
        keys = [argument for key in SHARD_KEYS for argument in ("--shard-key", key)]
        shards_py("load", *addresses, *keys, "--schema", os.path.join(tpch, "schema.sql"), "--data", os.path.join(tpch, "sf0.01"))
        coordinator.start()
        shards_py("coordinator", "--coordinator", f"host=127.0.0.1 port={coordinator.port} user=postgres dbname=postgres", *addresses, *keys)
        with coordinator.connect() as connection:
            check_queries(checks, connection, tpch)
            check_pushdown(checks, connection, tpch, shards)
            check_numeric_digits(checks, connection)
        check_writes(checks, coordinator, shards)
        check_restart(checks, coordinator, shards, tpch)
        if args.spark:
            spark_check(checks, coordinator, shards, work)
        if args.keep:
            print(f"coordinator: psql -h 127.0.0.1 -p {coordinator.port} -U postgres; shards: {', '.join(s.address() for s in shards)}; work: {work}")
            return
    finally:
        if not args.keep:
            coordinator.stop()
            for shard in shards:
                if shard.process and shard.process.poll() is None:
                    shard.process.kill()
            shutil.rmtree(work, ignore_errors=True)
    print(f"{checks.count - len(checks.failures)}/{checks.count} shard checks pass ({time.time() - started:.1f} s)")
    for failure in checks.failures:
        print("  " + failure)
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
