#!/usr/bin/env bash
# The kubeadm lab: three Debian bookworm nodes as podman containers running
# systemd, laid out file for file like kubeadm (v1.33.3 or v1.28.7) leaves them,
# running the real kube-apiserver, kube-controller-manager and kube-scheduler of
# that version against a real etcd cluster.
#
#   bash lab/lab.sh image    build (or load from lab/.cache) the node image
#   bash lab/lab.sh up       image + network + nodes + provisioning (idempotent)
#   bash lab/lab.sh down     remove the nodes, their network and the lab's PKI
#   bash lab/lab.sh status   nodes, addresses and the static pods' state
#
# Environment: LAB_REPROVISION=1 runs the provisioning playbook even when the
# lab is already up; LAB_MIRROR overrides the Debian mirror for debootstrap.
# LAB_NAME=<name> LAB_SUBNET=<a.b.c.0/24> runs a second, separate lab (nodes
# <name>-cp1, <name>-cp2, <name>-worker1 on network <name>, inventory written
# to lab/.cache/<name>/hosts.yml), e.g. a pristine lab next to a hardened one.
# LAB_WORKERS=<n> (with LAB_NAME, 1 to 20) gives that lab n workers <name>-worker1..n
# (addresses .21 on), e.g. for benchmarks/noop.py's scaling table.
# LAB_K8S_VERSION=1.33.3 (default) or 1.28.7: the real binaries of .cache/k8s/v<version>/
# (scripts/k8s-binaries.sh) are bind-mounted read-only into the nodes: /opt/k8s/bin on every
# node, and kube-apiserver, kube-controller-manager, kube-scheduler, kubeadm, kubectl in
# /usr/local/bin of the control-plane nodes. A lab keeps the version it was created with.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PODMAN=$ROOT/lab/bin/podman
CACHE=$ROOT/lab/.cache

LAB_NAME=${LAB_NAME:-k8s-lab}
LAB_NET=$LAB_NAME
LAB_SUBNET=${LAB_SUBNET:-10.89.10.0/24}
case $LAB_NAME in *[!a-z0-9-]*|'') echo "LAB_NAME must be lower-case letters, digits and dashes" >&2; exit 2 ;; esac
case $LAB_SUBNET in *.0/24) ;; *) echo "LAB_SUBNET must be a /24 ending in .0/24, got $LAB_SUBNET" >&2; exit 2 ;; esac
net=${LAB_SUBNET%.0/24}
# name:address, in provisioning order (the first control-plane node is the kubeadm init node)
LAB_WORKERS=${LAB_WORKERS:-1}
case $LAB_WORKERS in ''|*[!0-9]*) echo "LAB_WORKERS must be a number from 1 to 20" >&2; exit 2 ;; esac
if [ "$LAB_WORKERS" -lt 1 ] || [ "$LAB_WORKERS" -gt 20 ]; then echo "LAB_WORKERS must be from 1 to 20" >&2; exit 2; fi
if [ "$LAB_NAME" = k8s-lab ] && [ "$LAB_WORKERS" != 1 ]; then
  echo "LAB_WORKERS needs LAB_NAME: inventory/lab describes the default lab's one worker" >&2; exit 2
fi
LAB_NODES="$LAB_NAME-cp1:$net.11 $LAB_NAME-cp2:$net.12"
for i in $(seq 1 "$LAB_WORKERS"); do LAB_NODES="$LAB_NODES $LAB_NAME-worker$i:$net.$((20 + i))"; done
if [ "$LAB_NAME" = k8s-lab ]; then
  INVENTORY=inventory/lab
else
  INVENTORY=$CACHE/$LAB_NAME/hosts.yml
fi

LAB_K8S_VERSION=${LAB_K8S_VERSION:-1.33.3}
case $LAB_K8S_VERSION in [0-9]*.[0-9]*.[0-9]*) ;; *) echo "LAB_K8S_VERSION must be a version such as 1.33.3, got '$LAB_K8S_VERSION'" >&2; exit 2 ;; esac
K8S_BIN=$ROOT/.cache/k8s/v$LAB_K8S_VERSION
CP_BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl"

SUITE=bookworm
MIRROR=${LAB_MIRROR:-http://deb.debian.org/debian}
PACKAGES="python3 python3-yaml systemd systemd-sysv openssl etcd-server etcd-client iproute2 procps ca-certificates openssh-server"
# Bump when the image recipe below changes, so the cache key changes with it.
IMAGE_REV=2
IMAGE_HASH=$(printf '%s\n' "$SUITE" "$PACKAGES" "$IMAGE_REV" | sha256sum | cut -c1-12)
BASE_IMAGE=localhost/k8s-lab-base:$IMAGE_HASH
TARBALL=$CACHE/image-$IMAGE_HASH.tar
# The Python `kubernetes` library on the nodes (kubernetes.core needs >= 24.2; bookworm's
# python3-kubernetes is 22.6), pinned as in requirements.txt, installed by the host's pip
# into a layer over the debootstrap image.
NODE_PIP=$(grep -E '^kubernetes==' requirements.txt)
PY_REV=1
PY_HASH=$(printf '%s\n' "$IMAGE_HASH" "$NODE_PIP" "$PY_REV" | sha256sum | cut -c1-12)
IMAGE=localhost/k8s-lab-node:$PY_HASH
IMAGE_LATEST=localhost/k8s-lab-node:latest

say() { printf '[lab %s] %s\n' "$(date +%T)" "$*"; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# Root filesystem tweaks for a systemd container; runs inside the chroot's tree.
customize_rootfs() {
  local r=$1
  # Debian's etcd-server enables its own etcd.service; in the lab etcd runs
  # only as a static pod, started by the kubelet stand-in.
  rm -f "$r/etc/systemd/system/multi-user.target.wants/etcd.service"
  ln -sfn /dev/null "$r/etc/systemd/system/etcd.service"
  # Nothing to do in a container: consoles, udev, time sync.
  local unit
  for unit in getty@tty1.service console-getty.service systemd-udevd.service \
              systemd-timesyncd.service systemd-logind.service apt-daily.timer \
              apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sfn /dev/null "$r/etc/systemd/system/$unit"
  done
  : >"$r/etc/machine-id"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/archives/*.deb
  # Ansible reaches the nodes over SSH with the lab's key (lab/authorize.yml puts it in
  # place), as it reaches a real cluster: with pipelining and a persistent connection a
  # module call costs a fraction of a podman exec round trip.
  mkdir -p "$r/etc/ssh/sshd_config.d"
  printf '%s\n' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' 'UseDNS no' \
    'MaxStartups 100:30:200' >"$r/etc/ssh/sshd_config.d/k8s-lab.conf"
}

# The controller's SSH key for the lab nodes (never committed: lab/.cache is ignored).
lab_key() {
  mkdir -p "$CACHE/ssh"
  chmod 700 "$CACHE/ssh"
  if [ ! -s "$CACHE/ssh/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -C k8s-lab -f "$CACHE/ssh/id_ed25519"
  fi
}

cmd_image() {
  mkdir -p "$CACHE"
  lab_key
  if "$PODMAN" image exists "$IMAGE"; then
    "$PODMAN" tag "$IMAGE" "$IMAGE_LATEST"
    say "image $IMAGE present"
    return 0
  fi
  base_image
  say "adding $NODE_PIP to the image (host pip, --target)"
  local ctx
  ctx=$(mktemp -d "$CACHE/pylayer.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" EXIT
  # (grep: this machine's pip configuration names local indexes that do not exist)
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check --target "$ctx/site" \
    --python-version 3.11 --platform manylinux2014_x86_64 --only-binary=:all: "$NODE_PIP" 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "pip could not fetch $NODE_PIP for the nodes"
  rm -rf "$ctx/site/bin"
  printf 'FROM %s\nCOPY site/ /usr/local/lib/python3.11/dist-packages/\n' "$BASE_IMAGE" >"$ctx/Containerfile"
  "$PODMAN" build -q -t "$IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
  "$PODMAN" tag "$IMAGE" "$IMAGE_LATEST"
  say "image $IMAGE ready"
}

# The debootstrap image (Debian packages only), cached as a tarball.
base_image() {
  # an image of the same recipe from before the Python layer existed
  if ! "$PODMAN" image exists "$BASE_IMAGE" && "$PODMAN" image exists "localhost/k8s-lab:$IMAGE_HASH"; then
    "$PODMAN" tag "localhost/k8s-lab:$IMAGE_HASH" "$BASE_IMAGE"
  fi
  if "$PODMAN" image exists "$BASE_IMAGE"; then
    return 0
  fi
  if [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (bash scripts/setup.sh installs it)"
    local work
    work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    say "debootstrap $SUITE ($PACKAGES); takes about a minute"
    debootstrap --variant=minbase --include="${PACKAGES// /,}" "$SUITE" "$work/root" "$MIRROR" \
      >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    customize_rootfs "$work/root"
    tar --numeric-owner -C "$work/root" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$work"
    trap - EXIT
  fi
  say "importing $TARBALL"
  "$PODMAN" import -q --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
    "$TARBALL" "$BASE_IMAGE" >/dev/null
}

# The real binaries of LAB_K8S_VERSION, verified (scripts/k8s-binaries.sh; cached).
k8s_binaries() {
  bash "$ROOT/scripts/k8s-binaries.sh" "$LAB_K8S_VERSION"
  [ -f "$K8S_BIN/.verified" ] || die "no verified binaries in $K8S_BIN"
}

# podman run arguments: the binaries, read-only, into a node of role $1.
k8s_mounts() {
  local b
  printf -- '-v %s:/opt/k8s/bin:ro\n' "$K8S_BIN"
  if [ "$1" = control_plane ]; then
    for b in $CP_BINARIES; do printf -- '-v %s/%s:/usr/local/bin/%s:ro\n' "$K8S_BIN" "$b" "$b"; done
  fi
}

node_running() {
  [ "$("$PODMAN" container inspect -f '{{.State.Running}}' "$1" 2>/dev/null || true)" = true ]
}

wait_systemd() {
  local node=$1 state i
  for i in $(seq 1 60); do
    state=$("$PODMAN" exec "$node" systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) return 0 ;; esac
    sleep 0.5
  done
  die "systemd on $node did not come up (state: ${state:-unknown})"
}

lab_ready() {
  # Up and provisioned: every node runs, carries the provisioning stamp of
  # this lab, and its kubelet service is active.
  local entry node
  for entry in $LAB_NODES; do
    node=${entry%%:*}
    node_running "$node" || return 1
    [ "$("$PODMAN" container inspect -f '{{index .Config.Labels "k8s-lab-version"}}' "$node")" = "$LAB_K8S_VERSION" ] || return 1
    "$PODMAN" exec "$node" test -f /var/lib/k8s-lab/provisioned 2>/dev/null || return 1
    "$PODMAN" exec "$node" systemctl is-active --quiet kubelet 2>/dev/null || return 1
    "$PODMAN" exec "$node" grep -qF "$(cat "$CACHE/ssh/id_ed25519.pub" 2>/dev/null || echo none)" \
      /root/.ssh/authorized_keys 2>/dev/null || return 1
  done
}

print_nodes() {
  local entry
  for entry in $LAB_NODES; do
    printf '  %-18s %s\n' "${entry%%:*}" "${entry##*:}"
  done
}

write_inventory() {
  # Same groups and connection as inventory/lab, for a lab of another name.
  mkdir -p "$(dirname "$INVENTORY")"
  cat >"$INVENTORY" <<EOF
---
# Written by lab/lab.sh for LAB_NAME=$LAB_NAME
all:
  vars:
    ansible_connection: ssh
    ansible_user: root
    ansible_ssh_private_key_file: $CACHE/ssh/id_ed25519
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    ansible_python_interpreter: /usr/bin/python3
    lab_podman_executable: $PODMAN
    lab_cluster_id: $LAB_NAME
  children:
    control_plane:
      hosts:
        $LAB_NAME-cp1:
          ansible_host: $net.11
        $LAB_NAME-cp2:
          ansible_host: $net.12
    workers:
      hosts:
EOF
  local i
  for i in $(seq 1 "$LAB_WORKERS"); do
    printf '        %s:\n          ansible_host: %s\n' "$LAB_NAME-worker$i" "$net.$((20 + i))" >>"$INVENTORY"
  done
}

cmd_up() {
  if lab_ready && [ "${LAB_REPROVISION:-0}" != 1 ]; then
    say "lab already up"
    print_nodes
    return 0
  fi
  cmd_image
  k8s_binaries
  if ! "$PODMAN" network exists "$LAB_NET"; then
    "$PODMAN" network create --subnet "$LAB_SUBNET" --label "k8s-lab=$LAB_NAME" "$LAB_NET" >/dev/null
  fi
  local entry node addr role have
  for entry in $LAB_NODES; do
    node=${entry%%:*}; addr=${entry##*:}
    case $node in *-cp[0-9]*) role=control_plane ;; *) role=worker ;; esac
    if "$PODMAN" container exists "$node"; then
      have=$("$PODMAN" container inspect -f '{{index .Config.Labels "k8s-lab-version"}}' "$node")
      [ "$have" = "$LAB_K8S_VERSION" ] || \
        die "$node was created for Kubernetes ${have:-1.28.7 (simulated)}, not $LAB_K8S_VERSION: bash lab/lab.sh down first"
    fi
    if node_running "$node"; then
      continue
    elif "$PODMAN" container exists "$node"; then
      "$PODMAN" start "$node" >/dev/null
    else
      say "starting $node ($addr)"
      # shellcheck disable=SC2046 # one argument per line of k8s_mounts
      "$PODMAN" run -d --name "$node" --hostname "$node" \
        --network "$LAB_NET" --ip "$addr" \
        --systemd=always --label "k8s-lab=$LAB_NAME" --label "k8s-lab-version=$LAB_K8S_VERSION" \
        $(k8s_mounts "$role") "$IMAGE" /sbin/init >/dev/null
    fi
  done
  for entry in $LAB_NODES; do wait_systemd "${entry%%:*}"; done
  say "provisioning (lab/authorize.yml, lab/provision.yml)"
  [ -x .venv/bin/ansible-playbook ] || die ".venv is missing: run bash scripts/setup.sh"
  if [ "$LAB_NAME" != k8s-lab ]; then write_inventory; fi
  .venv/bin/ansible-playbook -i "$INVENTORY" lab/authorize.yml lab/provision.yml
  say "lab up (Kubernetes $LAB_K8S_VERSION)"
  print_nodes
}

cmd_down() {
  local ids
  ids=$("$PODMAN" ps -aq --filter "label=k8s-lab=$LAB_NAME")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    "$PODMAN" rm -f -t 0 $ids >/dev/null
  fi
  if "$PODMAN" network exists "$LAB_NET"; then
    "$PODMAN" network rm -f "$LAB_NET" >/dev/null
  fi
  rm -rf "$CACHE/pki/$LAB_NAME"
  if [ "$LAB_NAME" != k8s-lab ]; then rm -rf "${CACHE:?}/$LAB_NAME"; fi
  say "lab down"
}

cmd_status() {
  local entry node
  for entry in $LAB_NODES; do
    node=${entry%%:*}
    if node_running "$node"; then
      printf '%-18s %-12s up (Kubernetes %s)\n' "$node" "${entry##*:}" \
        "$("$PODMAN" container inspect -f '{{index .Config.Labels "k8s-lab-version"}}' "$node")"
      # shellcheck disable=SC2016  # $f is expanded by the shell inside the node, not here
      "$PODMAN" exec "$node" sh -c 'for f in /run/lab-kubelet/pods/*.json; do [ -e "$f" ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(\"   pod %-24s %-9s%s %s\" % (d[\"name\"], d[\"state\"], \" (simulated)\" if d.get(\"simulated\") else \"\", d.get(\"reason\") or \"\"))" "$f"; done' || true
    else
      printf '%-18s %-12s down\n' "$node" "${entry##*:}"
    fi
  done
}

case ${1:-} in
  image) cmd_image ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 image|up|down|status" >&2; exit 2 ;;
esac
