#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cis_node_facts
short_description: Observe a kubeadm node and evaluate every CIS control on it
version_added: 1.0.0
description:
  - Reads, never writes. Gathers what the CIS Kubernetes Benchmark checks on one node, from the node's real
    files - mode and owner of every file a control names (manifests, kubeconfigs, PKI, kubelet files, etcd data
    directory, CNI files); the flags and environment of each static pod manifest; the kubelet's flags (unit,
    drop-ins, C(kubeadm-flags.env)) and the KubeletConfiguration the kubelet's C(--config) names; the SHA-256
    fingerprints of the etcd, cluster and front-proxy CAs; the providers of the apiserver's encryption config
    (never its keys).
  - Then evaluates every control of the chosen benchmark from the collection's CIS table (the same entries
    the harden roles enforce) as pass, fail, waived, not_applicable or manual, with observed and expected values,
    and for 1.2.1, 1.2.28, 1.3.1, 2.7, 4.2.13 and 4.2.14 the kube-bench letter and the intent separately.
options:
  paths:
    description:
      - Node paths, as in C(ansible_facts.k8s_hardening_node.paths) (C(kubernetes_dir), C(manifests_dir),
        C(pki_dir), C(kubelet_config), C(kubeadm_flags_env), C(kubelet_kubeconfig), C(kubelet_unit),
        C(kubelet_dropins), C(admin_conf), C(etcd_data_dir), C(cni_conf_dir), ...).
      - Missing keys take kubeadm's defaults; the kubelet's C(--config) and C(--client-ca-file), etcd's
        C(--data-dir) and the drop-ins found on the node take precedence over the defaults.
    type: dict
    default: {}
  node_roles:
    description: C(control_plane) and/or C(worker). Default - control_plane when a kube-apiserver manifest exists.
    type: list
    elements: str
    choices: [control_plane, worker]
  waivers:
    description: C(k8s_hardening_waivers), CIS id to reason.
    type: dict
    default: {}
  benchmark:
    description: kube-bench benchmark version.
    type: str
    default: cis-1.12
    choices: [cis-1.10, cis-1.11, cis-1.12]
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Evaluate the CIS controls on the node
  k8s_hardening.kubeadm.cis_node_facts:
    paths: "{{ ansible_facts.k8s_hardening_node.paths }}"
    node_roles: "{{ ansible_facts.k8s_hardening_node.node_roles }}"
    waivers: "{{ k8s_hardening_waivers | default({}) }}"
  register: cis
"""

RETURN = r"""
results:
  description: One entry per control - id, title, section, scored, automated, enforced_by, status, observed,
    expected, reason, letter, intent.
  type: list
  elements: dict
  returned: always
summary:
  description: Counts per status.
  type: dict
  returned: always
  sample: {pass: 70, fail: 3, waived: 1, not_applicable: 6, manual: 4}
observation:
  description: What was read (flags, file modes, kubelet config keys, CA fingerprints, encryption providers).
  type: dict
  returned: always
node_roles:
  description: The roles the controls were evaluated for.
  type: list
  returned: always
"""

import fnmatch
import glob
import grp
import os
import pwd
import stat

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR, yaml

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._cis import (
    COMPONENTS, DEFAULT_PATHS, STATUSES, CISError, check_waivers, encryption_providers, evaluate_node,
    file_targets, host_path, pem_fingerprints, systemd_property,
)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError, get_flags, load as load_manifest, volumes as manifest_volumes,
)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._nodeinfo import (
    KUBELET_DROPIN_DIRS, KUBELET_UNIT_CANDIDATES, kubelet_args, parse_unit,
)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return {"path": path, "exists": False}
    return {"path": path, "exists": True, "mode": "%o" % stat.S_IMODE(st.st_mode),
            "owner": _name(pwd.getpwuid, st.st_uid), "group": _name(grp.getgrgid, st.st_gid)}


def _walk(spec):
    """Paths under a directory spec {dir, pattern, recurse, include_dir}, like the file_permissions module."""
    top = spec["dir"]
    if not os.path.isdir(top):
        return [top] if os.path.exists(top) else []
    found = [top] if spec["include_dir"] else []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        names = sorted(files) + (sorted(dirs) if spec["include_dir"] else [])
        found.extend(os.path.join(root, n) for n in names if fnmatch.fnmatch(n, spec["pattern"]))
        if not spec["recurse"]:
            break
    return found


def _component(path):
    text = _read(path)
    if text is None:
        return {"present": False, "manifest": path}, None
    try:
        doc = load_manifest(text)
        flags = get_flags(doc)
    except ManifestError as exc:
        return {"present": True, "manifest": path, "error": str(exc)}, None
    env = dict((e.get("name"), e.get("value")) for e in doc["spec"]["containers"][0].get("env") or [] if e.get("name"))
    return {"present": True, "manifest": path, "flags": flags, "env": env}, manifest_volumes(doc)


def _kubelet(paths):
    unit = paths.get("kubelet_unit") or next((p for p in KUBELET_UNIT_CANDIDATES if os.path.exists(p)), None)
    dropins = paths.get("kubelet_dropins") or sorted(
        p for d in KUBELET_DROPIN_DIRS for p in glob.glob(os.path.join(d, "*.conf")))
    texts = [t for t in [_read(unit) if unit else None] + [_read(p) for p in dropins] if t is not None]
    env_files = {}
    for text in texts:
        for path in parse_unit(text)["environment_files"]:
            env_files[path] = _read(path)
    flags = kubelet_args(texts, env_files)
    if not texts and paths.get("kubeadm_flags_env"):      # no unit readable: at least kubeadm's flags
        flags = kubelet_args(["ExecStart=/usr/bin/kubelet $KUBELET_KUBEADM_ARGS\nEnvironmentFile=%s"
                              % paths["kubeadm_flags_env"]], {paths["kubeadm_flags_env"]: _read(paths["kubeadm_flags_env"])})
    config_path = flags.get("config") or paths["kubelet_config"]
    config_path = os.path.join("/", config_path)          # the kubelet runs in /, relative --config resolves there
    config, error = None, None
    text = _read(config_path)
    if text is not None:
        try:
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            error = "invalid YAML in %s: %s" % (config_path, exc)
    client_ca = flags.get("client-ca-file") or ((config or {}).get("authentication") or {}).get("x509", {}).get("clientCAFile")
    return ({"flags": flags, "config": config, "config_path": config_path, "error": error, "unit": unit,
             "dropins": dropins}, texts, client_ca)


def observe(paths, node_roles=None, benchmark="cis-1.12"):
    """Everything the CIS table needs from this node (read-only)."""
    paths = dict(DEFAULT_PATHS, **dict((k, v) for k, v in (paths or {}).items() if v not in (None, "", [])))
    comps, vols = {}, {}
    for name in COMPONENTS:
        comps[name], vols[name] = _component(os.path.join(paths["manifests_dir"], name + ".yaml"))
    if not node_roles:
        node_roles = ["control_plane"] if comps["kube-apiserver"]["present"] else ["worker"]
    kubelet, unit_texts, client_ca = _kubelet(paths)
    paths["kubelet_config"] = kubelet["config_path"]
    paths["kubelet_dropins"] = kubelet["dropins"]
    if kubelet["unit"]:
        paths["kubelet_unit"] = kubelet["unit"]
    if client_ca:
        paths["kubelet_client_ca"] = client_ca
    etcd_flags = comps["etcd"].get("flags") or {}
    if etcd_flags.get("data-dir"):
        paths["etcd_data_dir"] = host_path(etcd_flags["data-dir"], vols["etcd"])
    files = {}
    for cid, spec in file_targets(paths, benchmark).items():
        entries, seen = [], set()
        for path in spec["paths"] + [p for d in spec["dirs"] for p in _walk(d)]:
            real = os.path.realpath(path)      # /lib -> /usr/lib on merged-/usr systems: one file, once
            if real not in seen:
                seen.add(real)
                entries.append(_stat(path))
        files[cid] = entries
    pki = paths["pki_dir"]
    etcd_ca = etcd_flags.get("trusted-ca-file")
    etcd_ca = host_path(etcd_ca, vols["etcd"]) if etcd_ca else os.path.join(pki, "etcd", "ca.crt")
    fps = {"cluster_ca": pem_fingerprints(_read(os.path.join(pki, "ca.crt"))),
           "front_proxy_ca": pem_fingerprints(_read(os.path.join(pki, "front-proxy-ca.crt"))),
           "etcd_ca": pem_fingerprints(_read(etcd_ca)), "etcd_ca_file": etcd_ca}
    encryption = {}
    enc_flag = (comps["kube-apiserver"].get("flags") or {}).get("encryption-provider-config")
    if enc_flag:
        enc_path = host_path(enc_flag, vols["kube-apiserver"])
        text = _read(enc_path)
        encryption = {"path": enc_path, "error": "cannot read %s" % enc_path} if text is None else dict(
            encryption_providers(text), path=enc_path)
    return {"node_roles": list(node_roles), "paths": paths, "components": comps, "kubelet": kubelet,
            "files": files, "ca_fingerprints": fps, "encryption": encryption,
            "systemd": {"kubelet": {"IPAddressDeny": systemd_property(unit_texts, "IPAddressDeny")}}}


def run(params):
    waivers = check_waivers(params.get("waivers") or {})
    obs = observe(params.get("paths") or {}, params.get("node_roles"), params["benchmark"])
    results = evaluate_node(obs, waivers, params["benchmark"])
    summary = dict((s, 0) for s in STATUSES)
    for row in results:
        summary[row["status"]] += 1
    return {"changed": False, "results": results, "summary": summary, "observation": obs,
            "node_roles": obs["node_roles"], "benchmark": params["benchmark"]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="dict", default={}),
            node_roles=dict(type="list", elements="str", choices=["control_plane", "worker"]),
            waivers=dict(type="dict", default={}),
            benchmark=dict(type="str", default="cis-1.12", choices=["cis-1.10", "cis-1.11", "cis-1.12"]),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        result = run(module.params)
    except CISError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
