#!/usr/bin/env bash
# `make bench`: the cost of a no-op harden.yml on the hardened lab against a stat-only baseline.
# Needs the lab up (bash lab/lab.sh up). See benchmarks/noop.py for the knobs (BENCH_REPEAT, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/lab/containers.conf}"
exec .venv/bin/python benchmarks/noop.py "$@"
