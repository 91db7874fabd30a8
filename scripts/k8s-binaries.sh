#!/usr/bin/env bash
# Real Kubernetes binaries for the lab and the tests, verified and unpacked under
# .cache/k8s/v<version>/ (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubeadm, kubectl, kubelet).
#
#   bash scripts/k8s-binaries.sh 1.33.3 [1.28.7 ...]
#
# Where they come from, first match wins:
#   1. $K8S_BIN_DIR (a folder holding the six binaries, plain or .xz, and SHA256SUMS;
#      with several versions, $K8S_BIN_DIR/v<version>/ is tried first);
#   2. ../shared/k8s/v<version>/ beside the checkout (xz-compressed, with SHA256SUMS);
#   3. the official release binaries of that version, downloaded and checked against the
#      .sha256 file published next to each one (K8S_RELEASE_URL overrides the base URL).
# Every binary is checked against its checksum before it is used; a mismatch or a
# source that cannot be reached stops with a message saying where to put the binaries.
# Idempotent: a version already unpacked and verified is not unpacked again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl kubelet"
RELEASE_URL=${K8S_RELEASE_URL:-https://dl.k8s.io/release}
say() { printf '[k8s-binaries %s] %s\n' "$(date +%T)" "$*"; }
die() { printf '[k8s-binaries] ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 <version> [<version> ...], e.g. 1.33.3"

fetch_version() {
  local version=$1 dest src b tmp
  case $version in [0-9]*.[0-9]*.[0-9]*) ;; *) die "not a Kubernetes version: '$version' (want e.g. 1.33.3)" ;; esac
  dest=$ROOT/.cache/k8s/v$version
  if [ -f "$dest/.verified" ] && (cd "$dest" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    return 0
  fi
  tmp=$(mktemp -d "$ROOT/.cache/k8s/.v$version.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  src=""
  if [ -n "${K8S_BIN_DIR:-}" ]; then
    if [ -f "$K8S_BIN_DIR/v$version/SHA256SUMS" ]; then src=$K8S_BIN_DIR/v$version
    elif [ -f "$K8S_BIN_DIR/SHA256SUMS" ]; then src=$K8S_BIN_DIR
    else die "K8S_BIN_DIR=$K8S_BIN_DIR holds no SHA256SUMS (nor v$version/SHA256SUMS)"
    fi
  elif [ -f "$ROOT/../shared/k8s/v$version/SHA256SUMS" ]; then
    src=$ROOT/../shared/k8s/v$version
  fi
  if [ -n "$src" ]; then
    say "v$version from $src"
    cp "$src/SHA256SUMS" "$tmp/SHA256SUMS"
    for b in $BINARIES; do
      if [ -f "$src/$b.xz" ]; then xz -d -c "$src/$b.xz" >"$tmp/$b"
      elif [ -f "$src/$b" ]; then cp "$src/$b" "$tmp/$b"
      else die "$src has neither $b nor $b.xz"
      fi
    done
  else
    say "v$version: no K8S_BIN_DIR and no ../shared/k8s/v$version; downloading the official release binaries"
    command -v curl >/dev/null || die "curl is needed to download the binaries (or set K8S_BIN_DIR)"
    : >"$tmp/SHA256SUMS"
    for b in $BINARIES; do
      if ! { curl -fsSL --retry 2 -o "$tmp/$b" "$RELEASE_URL/v$version/bin/linux/amd64/$b" \
        && curl -fsSL --retry 2 -o "$tmp/$b.sha256" "$RELEASE_URL/v$version/bin/linux/amd64/$b.sha256"; }; then
        die "cannot download $b v$version from $RELEASE_URL. Put the linux/amd64 binaries of v$version
  (kube-apiserver, kube-controller-manager, kube-scheduler, kubeadm, kubectl, kubelet) with a
  SHA256SUMS file in a folder and run again with K8S_BIN_DIR=<that folder>."
      fi
      printf '%s  %s\n' "$(tr -d ' \n' <"$tmp/$b.sha256")" "$b" >>"$tmp/SHA256SUMS"
      rm -f "$tmp/$b.sha256"
    done
  fi
  (cd "$tmp" && sha256sum --quiet -c SHA256SUMS) || die "checksum mismatch for v$version binaries from ${src:-$RELEASE_URL}"
  for b in $BINARIES; do
    grep -q "  $b\$" "$tmp/SHA256SUMS" || die "SHA256SUMS of v$version does not list $b"
    chmod 0755 "$tmp/$b"
  done
  "$tmp/kubeadm" version -o short 2>/dev/null | grep -qx "v$version" \
    || die "the kubeadm binary from ${src:-$RELEASE_URL} is not v$version"
  rm -rf "$dest"
  touch "$tmp/.verified"
  mv "$tmp" "$dest"
  chmod 0755 "$dest"
  trap - EXIT
  say "v$version ready in .cache/k8s/v$version"
}

mkdir -p "$ROOT/.cache/k8s"
for v in "$@"; do fetch_version "$v"; done
