#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs Kiln's whole test suite (unit, SQL corpus in every
# execution mode, IR tests, the shell's bad-input corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build
swift test
