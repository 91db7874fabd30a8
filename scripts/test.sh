#!/usr/bin/env bash
# The whole suite, with the time of each stage, in lanes that run side by side once the set-up is done:
#   host:         lint, unit, sanity, units, integration (pytest, ansible-test, real binaries on this host)
#   lab-default:  the default Molecule scenario (molecule/default/), on podman nodes and a network of its own
#   lab-scenarios: the other scenarios, one after another, each on nodes and a network of its own
# The lanes share nothing but the set-up (the virtualenv, the collections, the binaries, the lab image),
# which runs once, first. On a 2-core machine they do not slow each other down much: a lab spends most of
# its time waiting for real API servers to restart. Each line is prefixed with its lane; each lane's full
# output is also kept in reports/test-<lane>.log. The first lane to fail stops the others.
# TEST_LANES=serial runs the same stages one after the other instead.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# tests that need the real binaries or etcd fail instead of skipping
export K8S_REQUIRE_REAL=1
make --no-print-directory setup
# the stages below must not run the set-up again, least of all several at once
export K8S_HARDENING_SETUP_DONE=1

# name, then its stages (make arguments, one string per stage). The default scenario (three nodes, the
# whole collection) is the long one and has a lane of its own; the other scenarios run one after another
# in a second lab lane, so that no more than two labs run at once.
lanes=("host|lint|unit|sanity|units|integration")
others=""
for dir in molecule/*/; do
  scenario=$(basename "$dir")
  [ -f "molecule/$scenario/molecule.yml" ] || continue
  if [ "$scenario" = default ]; then
    lanes+=("lab-default|molecule SCENARIOS=default")
  else
    others+="|molecule SCENARIOS=$scenario"
  fi
done
[ -z "$others" ] || lanes+=("lab-scenarios$others")

if [ "${TEST_LANES:-parallel}" = serial ]; then
  for spec in "${lanes[@]}"; do
    IFS='|' read -r -a parts <<<"$spec"
    for stage in "${parts[@]:1}"; do
      # shellcheck disable=SC2086  # a stage is make's target and variables
      make --no-print-directory $stage
    done
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
    if setsid --wait bash -c 'echo $$ >"$0"; for stage in "$@"; do make --no-print-directory $stage || exit $?; done' \
      "$logs/$name.pid" "$@" 2>&1; then
      echo 0 >"$logs/$name.rc.tmp"
    else
      echo $? >"$logs/$name.rc.tmp"
    fi
    mv "$logs/$name.rc.tmp" "$logs/$name.rc"
  } | tee "reports/test-$name.log" | sed -u "s/^/[$name] /"
}

names=()
for spec in "${lanes[@]}"; do
  IFS='|' read -r -a parts <<<"$spec"
  names+=("${parts[0]}")
  lane "${parts[@]}" &
done

# Every lane runs until it ends; the first that fails stops the others.
status=0
while :; do
  running=0
  for name in "${names[@]}"; do
    if [ ! -f "$logs/$name.rc" ]; then
      running=1
      continue
    fi
    [ -f "$logs/$name.seen" ] && continue
    touch "$logs/$name.seen"
    rc=$(cat "$logs/$name.rc")
    if [ "$rc" != 0 ] && [ "$status" = 0 ]; then
      status=$rc
      for other in "${names[@]}"; do
        if [ ! -f "$logs/$other.rc" ] && [ -f "$logs/$other.pid" ]; then
          printf '=== lane %s failed (rc=%s): stopping lane %s\n' "$name" "$rc" "$other"
          kill -TERM -- "-$(cat "$logs/$other.pid")" 2>/dev/null || true
        fi
      done
    fi
  done
  [ $running = 1 ] || break
  sleep 2
done
wait || true

printf '\n=== stage times\n'
for name in "${names[@]}"; do
  grep -h '^=== stage\|^=== molecule scenario' "reports/test-$name.log" | sed "s/^/[$name] /" || true
done
if [ "$status" != 0 ]; then
  printf '=== make test: FAILED (rc=%s) after %ss; full logs: reports/test-<lane>.log\n' \
    "$status" "$(( $(date +%s) - start ))"
  exit "$status"
fi
printf '=== make test: all stages passed in %ss (%s lanes side by side)\n' "$(( $(date +%s) - start ))" "${#names[@]}"
