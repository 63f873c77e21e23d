#!/usr/bin/env bash
# Installs what Kiln needs on Debian 12: MLIR/LLVM 22 (C API, shared libraries, mlir-opt).
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

# PostgreSQL's client, pgjdbc, a JDK and openssl (a test certificate): the wire-protocol tests run real clients against `kiln serve`.
# PostgreSQL 15's server (with postgres_fdw): the coordinator of the shard checks.
packages=(libmlir-22-dev llvm-22-dev mlir-22-tools python3-venv postgresql-client-15 postgresql-15 libpostgresql-jdbc-java openssl)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v javac >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "setup: installing a JDK (javac) for the pgjdbc client test"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq default-jdk-headless >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: swift (6.x) is required on PATH" >&2
    exit 1
fi
# Python test tools (the differential test's oracle, DuckDB; psycopg; pyspark, which reads the
# shards over JDBC in the shard checks) in the checkout's .venv.
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! "$root/.venv/bin/python" -c "import duckdb, psycopg, pyspark" >/dev/null 2>&1; then
    echo "setup: installing duckdb, psycopg and pyspark into .venv"
    [ -x "$root/.venv/bin/python" ] || python3 -m venv "$root/.venv"
    "$root/.venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==2.0.0" "psycopg[binary]==3.3.9" "pyspark==4.3.0"
fi
echo "setup: MLIR 22, Swift, the PostgreSQL clients and the Python test tools are ready"
