#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Kiln in release mode and runs the demo:
# the seed query compiled to native code, timed next to the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release
exec ./.build/release/kiln -f examples/demo.sql
