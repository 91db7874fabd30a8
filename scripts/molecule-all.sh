#!/usr/bin/env bash
# Run every Molecule scenario (molecule/*/molecule.yml), printing the time of each.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="$PWD/lab/containers.conf" MOLECULE_PODMAN_EXECUTABLE="$PWD/lab/bin/podman"
bash lab/lab.sh image
status=0
for dir in molecule/*/; do
  scenario=$(basename "$dir")
  [ -f "molecule/$scenario/molecule.yml" ] || continue
  start=$(date +%s)
  if molecule test -s "$scenario"; then rc=0; else rc=$?; status=1; fi
  printf '=== molecule scenario %s: %ss (rc=%s)\n' "$scenario" "$(( $(date +%s) - start ))" "$rc"
  [ $rc -eq 0 ] || break
done
exit $status
