#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs Kiln's whole test suite (unit, SQL corpus in every
# execution mode, IR tests, the shell's bad-input corpus, TPC-H SF0.01, and the differential
# test against DuckDB over generated queries, and real PostgreSQL clients against `kiln serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# TPC-H SF0.01 (data, queries, official answers): ../shared/tpch when present, else the
# fixture the repository holds, unpacked under .build.
if [ -z "${KILN_TPCH_DIR:-}" ]; then
    if [ -d ../shared/tpch/sf0.01 ]; then
        export KILN_TPCH_DIR="$(cd ../shared/tpch && pwd)"
    else
        mkdir -p .build/fixtures
        tar -xzf Tests/Fixtures/tpch-sf0.01.tar.gz -C .build/fixtures
        export KILN_TPCH_DIR="$PWD/.build/fixtures/tpch"
    fi
fi
# TPC-DS SF0.01 (schema, the 99 queries, answers, data): ../shared/tpcds when present, else the
# repository's fixture, unpacked under .build.
if [ -z "${KILN_TPCDS_DIR:-}" ]; then
    if [ -d ../shared/tpcds/sf0.01 ]; then
        export KILN_TPCDS_DIR="$(cd ../shared/tpcds && pwd)"
    else
        mkdir -p .build/fixtures/tpcds
        tar -xzf Tests/Fixtures/tpcds-sf0.01.tar.gz -C .build/fixtures/tpcds
        export KILN_TPCDS_DIR="$PWD/.build/fixtures/tpcds"
    fi
fi
swift build
swift test
.venv/bin/python scripts/differential.py --queries 300
# Real PostgreSQL clients (psql, psycopg, pgjdbc) against `kiln serve`, compared with the embedded API.
.venv/bin/python Tests/Clients/client_tests.py --kiln .build/debug/kiln
# Isolation specs (sessions, permutations of their steps, waits) against `kiln serve`, with the
# outputs PostgreSQL 15 gave for the same specs.
.venv/bin/python scripts/isolation.py --kiln .build/debug/kiln
# Row locks under load: a job queue (SELECT ... FOR UPDATE [SKIP LOCKED]) served by four sessions,
# every job done exactly once, in repeated rounds.
.venv/bin/python scripts/lock-checks.py --kiln .build/debug/kiln --rounds 10
# TPC-H SF0.01 refreshed (inserts, updates, deletes in transactions) while REPEATABLE READ blocks
# check their snapshots; then the 22 queries against PostgreSQL 15's answers after the same refreshes.
.venv/bin/python scripts/refresh-check.py --kiln .build/debug/kiln
# The release binary as users run it: processes that exit while a compile is in flight (every jit
# mode, host CPU and forced AVX2), over -f, a pipe and a terminal; TPC-H and the SQL corpus
# through `kiln -f`; failing compiles; `kiln serve` stopped by signals and fed deep input.
swift build -c release
.venv/bin/python scripts/release-checks.py --kiln .build/release/kiln --runs 20
# Two `kiln serve` shards under a PostgreSQL 15 coordinator (postgres_fdw, set up by
# scripts/shards.py): the 22 TPC-H queries, pushed-down joins and aggregates, writes in
# transactions with savepoints, a restart of the shards; Spark reads the shards over JDBC.
.venv/bin/python scripts/shard-checks.py --kiln .build/release/kiln --spark
# The interactive shell on a pseudo-terminal: meta-commands, Tab, Ctrl-C on a long statement,
# the progress bar, elided results; -f errors by file and line; --help and --version.
.venv/bin/python scripts/shell-checks.py --kiln .build/release/kiln
# Database directories survive kill -9 at random moments and at named crash points, failed
# writes and fsyncs, and flipped bytes (an independent checker holds the acknowledged commits).
.venv/bin/python scripts/crash-checks.py --kiln .build/release/kiln --kills 100
