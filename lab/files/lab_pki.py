#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Generate a lab cluster's PKI the way kubeadm (v1.28.7 or v1.33.3) lays it out.

Runs on the controller with the repository's .venv and uses the collection's
one X.509 library (plugins/module_utils/_pki.py). Output, under OUTDIR:

  cluster/pki/{ca,front-proxy-ca,etcd/ca}.{crt,key}, sa.key, sa.pub   (shared CAs)
  nodes/<name>/pki/...            leaf certificates of a control-plane node
  nodes/<name>/kubeconfig/*.conf  kubeconfigs with embedded client certificates
  nodes/<name>/node.json          what the node's files were made for
  nodes/<name>/bundle.json        (0600) directories and files for lab_install.py on the node

Idempotent: the CAs are made once; a node's files are (re)made only when its
name, address, role or API server changed. Prints one JSON line:
{"changed": bool, "nodes": [names re-made]}. Key material is never printed.

A new lab instance (INSTANCE differs from the one recorded, e.g. the machine-id
of a freshly created first control-plane node) starts from an empty OUTDIR, so
every lab gets fresh CAs.

usage: lab_pki.py OUTDIR NODES_JSON [INSTANCE]
  NODES_JSON: [{"name": "k8s-lab-cp1", "address": "10.89.10.11", "role": "control_plane",
                "server": "https://10.89.10.11:6443", "version": "1.33.3"}, ...]
  version: the Kubernetes version; from 1.29 on, admin.conf is in kubeadm:cluster-admins
  and super-admin.conf (system:masters) is written too (kubeadm_profiles).
"""

import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki  # noqa: E402

CLUSTER_NAME = "kubernetes"
# kubeadm's kubeconfigs on a control-plane node (super-admin.conf from 1.29 on)
CONTROL_PLANE_KUBECONFIGS = ("admin", "controller-manager", "scheduler", "kubelet")


def minor(node):
    return int(str(node.get("version", "1.28.7")).split(".")[1])


def control_plane_kubeconfigs(node):
    return CONTROL_PLANE_KUBECONFIGS + (("super-admin",) if minor(node) >= 29 else ())


CONTROL_PLANE_CERTS = ("apiserver", "apiserver-kubelet-client", "front-proxy-client",
                       "etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client")


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read(path):
    with open(path) as handle:
        return handle.read()


def ensure_cas(outdir):
    pki = os.path.join(outdir, "cluster", "pki")
    made = False
    for ca in _pki.KUBEADM_CAS.values():
        crt = os.path.join(pki, ca["path"] + ".crt")
        if os.path.exists(crt):
            continue
        key = _pki.generate_private_key()
        write(os.path.join(pki, ca["path"] + ".key"), _pki.key_to_pem(key), 0o600)
        write(crt, _pki.cert_to_pem(_pki.issue_ca(ca["cn"], key)), 0o644)
        made = True
    if not os.path.exists(os.path.join(pki, "sa.pub")):
        sa_key, sa_pub = _pki.generate_sa_keypair()
        write(os.path.join(pki, "sa.key"), sa_key, 0o600)
        write(os.path.join(pki, "sa.pub"), sa_pub, 0o600)
        made = True
    return made


def make_node(outdir, node):
    pki = os.path.join(outdir, "cluster", "pki")
    cas = {name: (read(os.path.join(pki, ca["path"] + ".crt")), read(os.path.join(pki, ca["path"] + ".key")))
           for name, ca in _pki.KUBEADM_CAS.items()}
    base = os.path.join(outdir, "nodes", node["name"])
    profiles = _pki.kubeadm_profiles(node["name"], [node["address"]], cluster_name=CLUSTER_NAME,
                                     kubeadm_minor=minor(node))
    is_cp = node["role"] == "control_plane"
    certs = CONTROL_PLANE_CERTS if is_cp else ()
    kubeconfigs = control_plane_kubeconfigs(node) if is_cp else ("kubelet",)
    for name in certs:
        prof = profiles[name]
        ca_pem, ca_key = cas[prof["ca"]]
        key = _pki.generate_private_key()
        cert = _pki.issue_leaf(ca_pem, ca_key, prof, key)
        write(os.path.join(base, "pki", prof["path"] + ".key"), _pki.key_to_pem(key), 0o600)
        write(os.path.join(base, "pki", prof["path"] + ".crt"), _pki.cert_to_pem(cert), 0o644)
    for name in kubeconfigs:
        prof = profiles[name]
        ca_pem, ca_key = cas[prof["ca"]]
        key = _pki.generate_private_key()
        cert = _pki.issue_leaf(ca_pem, ca_key, prof, key)
        text = _pki.make_kubeconfig(CLUSTER_NAME, node["server"], ca_pem, _pki.cert_to_pem(cert),
                                    _pki.key_to_pem(key), prof["user"])
        write(os.path.join(base, "kubeconfig", prof["kubeconfig"]), text, 0o600)
    write(os.path.join(base, "node.json"), json.dumps(node, sort_keys=True) + "\n", 0o644)


# Directories kubeadm and the kubelet package create on every node.
NODE_DIRS = (("/etc/kubernetes", "0755"), ("/etc/kubernetes/manifests", "0700"),
             ("/etc/kubernetes/pki", "0755"), ("/var/lib/kubelet", "0700"),
             ("/usr/lib/systemd/system/kubelet.service.d", "0755"), ("/var/lib/k8s-lab", "0755"))


def write_bundle(outdir, node):
    """nodes/<name>/bundle.json (0600): what lab_install.py puts on the node."""
    pki = os.path.join(outdir, "cluster", "pki")
    base = os.path.join(outdir, "nodes", node["name"])
    files = []

    def add(src, dest, mode):
        files.append({"path": dest, "mode": mode, "content": read(src)})

    dirs = [{"path": p, "mode": m} for p, m in NODE_DIRS]
    if node["role"] == "control_plane":
        dirs.append({"path": "/etc/kubernetes/pki/etcd", "mode": "0755"})
        for ca in _pki.KUBEADM_CAS.values():
            add(os.path.join(pki, ca["path"] + ".crt"), "/etc/kubernetes/pki/%s.crt" % ca["path"], "0644")
            add(os.path.join(pki, ca["path"] + ".key"), "/etc/kubernetes/pki/%s.key" % ca["path"], "0600")
        add(os.path.join(pki, "sa.key"), "/etc/kubernetes/pki/sa.key", "0600")
        add(os.path.join(pki, "sa.pub"), "/etc/kubernetes/pki/sa.pub", "0600")
        for name in CONTROL_PLANE_CERTS:
            rel = _pki.kubeadm_profiles(node["name"], [node["address"]])[name]["path"]
            add(os.path.join(base, "pki", rel + ".crt"), "/etc/kubernetes/pki/%s.crt" % rel, "0644")
            add(os.path.join(base, "pki", rel + ".key"), "/etc/kubernetes/pki/%s.key" % rel, "0600")
        confs = control_plane_kubeconfigs(node)
    else:
        add(os.path.join(pki, "ca.crt"), "/etc/kubernetes/pki/ca.crt", "0644")
        confs = ("kubelet",)
    for name in confs:
        add(os.path.join(base, "kubeconfig", name + ".conf"), "/etc/kubernetes/%s.conf" % name, "0600")
    write(os.path.join(base, "bundle.json"), json.dumps({"dirs": dirs, "files": files}, indent=1), 0o600)


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    outdir, nodes = argv[0], json.loads(argv[1])
    instance = argv[2] if len(argv) == 3 else ""
    for node in nodes:
        missing = {"name", "address", "role", "server"} - set(node)
        if missing or node["role"] not in ("control_plane", "worker"):
            sys.stderr.write("bad node entry %r: needs name, address, server and role "
                             "control_plane|worker\n" % (node,))
            return 2
    marker = os.path.join(outdir, "instance")
    if os.path.isdir(outdir):
        try:
            recorded = read(marker).strip()
        except OSError:
            recorded = None
        if recorded != instance:
            shutil.rmtree(outdir)
    os.makedirs(outdir, mode=0o700, exist_ok=True)
    if not os.path.exists(marker):
        write(marker, instance + "\n", 0o644)
    changed = ensure_cas(outdir)
    remade = []
    for node in nodes:
        meta = os.path.join(outdir, "nodes", node["name"], "node.json")
        try:
            same = json.loads(read(meta)) == node
        except (OSError, ValueError):
            same = False
        if not same or changed:
            make_node(outdir, node)
            remade.append(node["name"])
        write_bundle(outdir, node)
    print(json.dumps({"changed": bool(changed or remade), "nodes": remade}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
