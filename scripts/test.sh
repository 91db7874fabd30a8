#!/usr/bin/env bash
# The whole suite, with the time of each stage, in two lanes that run side by side once the set-up is done:
#   host: lint, unit, sanity, units, integration (pytest, ansible-test, real binaries on this host)
#   lab:  every Molecule scenario (podman nodes of the lab image)
# The lanes share nothing but the set-up (the virtualenv, the collections, the binaries, the lab image),
# which runs once, first. On a 2-core machine the host lane does not slow the lab lane down much: the lab
# spends most of its time waiting for real API servers to restart. Each line is prefixed with its lane;
# each lane's full output is also kept in reports/test-<lane>.log. The first lane to fail stops the other.
# TEST_LANES=serial runs the stages one after the other instead (the same stages, the same order).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# tests that need the real binaries or etcd fail instead of skipping
export K8S_REQUIRE_REAL=1
make --no-print-directory setup
# the stages below must not run the set-up again, least of all twice at once
export K8S_HARDENING_SETUP_DONE=1

host_stages=(lint unit sanity units integration)
lab_stages=(molecule)

if [ "${TEST_LANES:-parallel}" = serial ]; then
  for stage in "${host_stages[@]}" "${lab_stages[@]}"; do
    make --no-print-directory "$stage"
  done
  printf '=== make test: all stages passed in %ss\n' "$(( $(date +%s) - start ))"
  exit 0
fi

mkdir -p reports
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# lane NAME STAGE...: the stages in order in a session of their own (so that a failure elsewhere can stop
# the whole lane, podman and ansible included), each line prefixed with the lane's name.
lane() {
  local name=$1
  shift
  {
    # shellcheck disable=SC2016  # expanded by the inner bash
    if setsid --wait bash -c 'echo $$ >"$0"; for stage in "$@"; do make --no-print-directory "$stage" || exit $?; done' \
      "$logs/$name.pid" "$@" 2>&1; then
      echo 0 >"$logs/$name.rc.tmp"
    else
      echo $? >"$logs/$name.rc.tmp"
    fi
    mv "$logs/$name.rc.tmp" "$logs/$name.rc"
  } | tee "reports/test-$name.log" | sed -u "s/^/[$name] /"
}

lane host "${host_stages[@]}" &
lane lab "${lab_stages[@]}" &

# Both lanes run until they end; the first that fails stops the other.
status=0
while [ ! -f "$logs/host.rc" ] || [ ! -f "$logs/lab.rc" ]; do
  sleep 2
  for name in host lab; do
    if [ ! -f "$logs/$name.rc" ] || [ -f "$logs/$name.seen" ]; then
      continue
    fi
    touch "$logs/$name.seen"
    rc=$(cat "$logs/$name.rc")
    if [ "$rc" != 0 ] && [ "$status" = 0 ]; then
      status=$rc
      for other in host lab; do
        if [ "$other" != "$name" ] && [ ! -f "$logs/$other.rc" ] && [ -f "$logs/$other.pid" ]; then
          printf '=== lane %s failed (rc=%s): stopping lane %s\n' "$name" "$rc" "$other"
          kill -TERM -- "-$(cat "$logs/$other.pid")" 2>/dev/null || true
        fi
      done
    fi
  done
done
wait || true
for name in host lab; do
  rc=$(cat "$logs/$name.rc")
  if [ "$rc" != 0 ] && [ "$status" = 0 ]; then
    status=$rc
  fi
done

printf '\n=== stage times\n'
grep -h '^=== stage\|^=== molecule scenario' reports/test-host.log reports/test-lab.log || true
if [ "$status" != 0 ]; then
  printf '=== make test: FAILED (rc=%s) after %ss; full logs: reports/test-host.log, reports/test-lab.log\n' \
    "$status" "$(( $(date +%s) - start ))"
  exit "$status"
fi
printf '=== make test: all stages passed in %ss (two lanes side by side)\n' "$(( $(date +%s) - start ))"
