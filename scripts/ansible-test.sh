#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/<namespace>/<name>/ and scans every file
# below it. The checkout holds .venv/ and .cache/ (and .cache links the checkout into itself), so
# ansible-test runs on a fresh copy of the files git knows (tracked, plus new files not ignored) in a
# directory outside the checkout (inside it, ansible-test would take git's view, where .cache is ignored):
# ${TMPDIR:-/tmp}/k8s-hardening-ansible-test.<checkout hash>.<command>/ansible_collections/k8s_hardening/kubeadm
# (one per command, so sanity and units can run at the same time).
# Usage: scripts/ansible-test.sh sanity|units [ansible-test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=${TMPDIR:-/tmp}/k8s-hardening-ansible-test.$(printf %s "$ROOT" | sha256sum | cut -c1-12).${1:-none}/ansible_collections/k8s_hardening/kubeadm
rm -rf "$DEST"
mkdir -p "$DEST"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$DEST"
cd "$DEST"
export PATH="$ROOT/.venv/bin:$PATH"
# ansible-test keeps its virtual environments and its pip bootstrap script under ~/.ansible/test: a home
# of the checkout's own, where scripts/setup.sh put the offline bootstrap (scripts/ansible-test-get-pip.py)
export HOME="$ROOT/.cache/ansible-test-home"
exec ansible-test "$@"
