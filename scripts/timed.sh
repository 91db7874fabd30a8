#!/usr/bin/env bash
# timed.sh NAME CMD...: run a test stage and print how long it took.
name=$1; shift
start=$(date +%s)
"$@"; rc=$?
printf '=== stage %s: %ss (rc=%s)\n' "$name" "$(( $(date +%s) - start ))" "$rc"
exit $rc
