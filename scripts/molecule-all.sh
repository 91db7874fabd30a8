#!/usr/bin/env bash
# Run every Molecule scenario (molecule/*/molecule.yml), or the ones named as arguments,
# printing the time of each. LAB_K8S_VERSION (default 1.33.3) picks the binaries the
# scenarios' nodes run (scripts/k8s-binaries.sh fetches and verifies them).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="$PWD/lab/containers.conf" MOLECULE_PODMAN_EXECUTABLE="$PWD/lab/bin/podman"
bash lab/lab.sh image
bash scripts/k8s-binaries.sh "${LAB_K8S_VERSION:-1.33.3}"
status=0
if [ $# -gt 0 ]; then scenarios="$*"; else scenarios=$(for d in molecule/*/; do basename "$d"; done); fi
for scenario in $scenarios; do
  [ -f "molecule/$scenario/molecule.yml" ] || continue
  start=$(date +%s)
  if molecule test -s "$scenario"; then rc=0; else rc=$?; status=1; fi
  printf '=== molecule scenario %s (Kubernetes %s): %ss (rc=%s)\n' "$scenario" "${LAB_K8S_VERSION:-1.33.3}" "$(( $(date +%s) - start ))" "$rc"
  [ $rc -eq 0 ] || break
done
exit $status
