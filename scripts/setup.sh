#!/usr/bin/env bash
# Idempotent, cached set-up: Debian packages, the virtualenv, the pinned
# collections (taken from the `ansible` package on PyPI, since Ansible Galaxy
# is not reachable), this collection linked into the collections path, and the
# lab image. Safe to run again: every step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ANSIBLE_PKG_VERSION=11.13.0
APT_PACKAGES="podman runc debootstrap etcd-server etcd-client iptables netavark aardvark-dns uidmap openssl openssh-client make python3-venv xz-utils curl shellcheck"
stamp() { printf '[setup %s] %s\n' "$(date +%T)" "$*"; }

missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  stamp "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  stamp "creating .venv"
  python3 -m venv .venv
fi
if ! cmp -s requirements.txt .venv/.requirements.installed 2>/dev/null; then
  stamp "installing pinned Python packages"
  # (grep: this machine's pip configuration names local indexes that do not exist; pip warns for each package)
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "pip install failed" >&2; exit 1; }
  cp requirements.txt .venv/.requirements.installed
fi

COLL=.cache/collections/ansible_collections
if ! cmp -s requirements-collections.txt ".cache/collections/.from-ansible-$ANSIBLE_PKG_VERSION"; then
  stamp "extracting collections from ansible==$ANSIBLE_PKG_VERSION"
  mkdir -p .cache/wheels "$COLL"
  .venv/bin/pip download -q --disable-pip-version-check --no-deps -d .cache/wheels "ansible==$ANSIBLE_PKG_VERSION" 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "pip download failed" >&2; exit 1; }
  .venv/bin/python - "$ANSIBLE_PKG_VERSION" <<'PY'
import sys, zipfile, pathlib
ver = sys.argv[1]
wanted = [l.strip() for l in open("requirements-collections.txt") if l.strip() and not l.startswith("#")]
whl = next(pathlib.Path(".cache/wheels").glob(f"ansible-{ver}-*.whl"))
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        for coll in wanted:
            ns, n = coll.split(".")
            if name.startswith(f"ansible_collections/{ns}/{n}/"):
                z.extract(name, ".cache/collections")
PY
  cp requirements-collections.txt ".cache/collections/.from-ansible-$ANSIBLE_PKG_VERSION"
fi
mkdir -p "$COLL/k8s_hardening"
ln -sfn "$ROOT" "$COLL/k8s_hardening/kubeadm"

# Real Kubernetes binaries for the lab's control plane and the tests (K8S_BIN_DIR, else
# ../shared/k8s/v<version>/, else the official release), verified, under .cache/k8s/.
bash scripts/k8s-binaries.sh "${LAB_K8S_VERSION:-1.33.3}" 1.28.7

# ansible-test (make sanity, make units): its home in the checkout, with the offline pip bootstrap it would
# otherwise download from ci-files.testing.ansible.com (unreachable here), then its sanity virtual
# environments primed once from PyPI with the exact versions ansible-core pins (cached by the ansible-core
# version). `make units` makes its own virtualenv on first use, through the same bootstrap.
AT_HOME=.cache/ansible-test-home
PIP_FOR_ANSIBLE_TEST=$(.venv/bin/python -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path=".venv/bin/python"))["pip"])')
mkdir -p "$AT_HOME/.ansible/test/cache"
cp scripts/ansible-test-get-pip.py "$AT_HOME/.ansible/test/cache/get_pip_${PIP_FOR_ANSIBLE_TEST//./_}.py"
AT_STAMP="$AT_HOME/.primed-$(.venv/bin/python -c 'import ansible; print(ansible.__version__)')"
if [ ! -e "$AT_STAMP" ]; then
  stamp "priming ansible-test's sanity and units virtual environments (PyPI, once)"
  bash scripts/ansible-test.sh sanity --prime-venvs --python 3.11 >/dev/null
  touch "$AT_STAMP"
fi

if [ "${SKIP_LAB_IMAGE:-0}" != 1 ]; then
  bash lab/lab.sh image
fi
stamp "done"
