#!/usr/bin/env bash
# make demo: harden the lab, then show what the collection found and changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg" PATH="$PWD/.venv/bin:$PATH"
log=$(mktemp)
echo "=== harden.yml against the lab"
ansible-playbook -i inventory/lab playbooks/harden.yml | tee "$log"
echo
echo "=== What changed (tasks reported changed, per host)"
grep -E '^(TASK|changed:)' "$log" | awk '/^TASK/{t=$0; next} {print t; print "  " $0}' | sed 's/\*\+$//' || true
echo
echo "=== Second run (must report changed=0)"
ansible-playbook -i inventory/lab playbooks/harden.yml | tail -n 6
echo
echo "=== The facts of the lab nodes"
ansible-playbook -i inventory/lab playbooks/facts.yml
if [ -f reports/report.md ]; then
  echo "=== CIS report summary (reports/report.md, .json, .xml, .html)"
  sed -n '1,40p' reports/report.md
fi
rm -f "$log"
