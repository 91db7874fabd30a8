#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_pki
short_description: Decide the etcd CA, the CA-rotation step and the etcd certificates of one node
version_added: 0.1.0
description:
  - Runs on the controller (C(delegate_to=localhost)), where C(cryptography) is installed; the node needs
    no Python crypto library. The role reads the node files with M(ansible.builtin.slurp) and writes what
    this module returns with M(ansible.builtin.copy), under C(no_log).
  - Chooses the etcd CA every control-plane node must trust (the operator's CA in O(controller_ca_dir),
    else the newest valid dedicated etcd CA whose key is available, else a new one), refusing a CA that
    is the cluster CA or the front-proxy CA, expired, or without its key.
  - Computes the one safe step of a CA replacement for this member while the others keep running
    (trust the new CA next to the old one, then re-issue, then drop the old CA).
  - Re-issues the etcd server, peer, healthcheck-client and apiserver-etcd-client certificates with
    kubeadm's subjects, SANs and usages when they do not chain to the CA, expire within C(etcd_cert_renew_days)
    (in O(options)), are valid longer than C(etcd_cert_max_validity_days), lack a SAN or do not match their key.
  - Builds the etcd and kube-apiserver flags for the static_pods rollout, leaving out flags the detected
    etcd version does not know.
  - Bad input (a bad CA in O(controller_ca_dir), a cipher etcd refuses, an out-of-range validity) fails
    before anything is written.
  - The only thing it writes itself is O(controller_ca_dir) (0700 dir, 0600 files) when
    O(ca_key_on_nodes=false); nothing in check mode.
  - O(nodes) and O(slurped) are C(no_log) parameters (never logged on the node, never echoed in
    C(invocation)). RV(files) carries the keys this node must receive; register the result with C(no_log).
options:
  node:
    description: The node being planned (its name in O(nodes)); required unless O(validate_only).
    type: str
    default: ""
  node_ips:
    description: The node's addresses for the etcd certificate SANs.
    type: list
    elements: str
    default: []
  nodes:
    description:
      - Every control-plane node, as C(name), C(etcd_ca_cert), C(etcd_ca_key), C(cluster_ca_cert),
        C(front_proxy_ca_cert), C(trusted_ca), C(peer_trusted_ca) (PEM contents or null), C(leaves) and,
        for O(node), C(keys) (dicts from certificate name such as C(etcd/server) to PEM).
    type: list
    elements: dict
    default: []
  slurped:
    description:
      - Instead of O(nodes), the C(results) of an M(ansible.builtin.slurp) loop whose items are
        C({node, field, path}); C(field) is one of the O(nodes) keys, or C(leaf:<name>) / C(key:<name>).
        Failed reads (missing files) count as absent.
    type: list
    elements: dict
  validate_only:
    description: Only check the options and the operator's CA; O(nodes) may be empty. Nothing is planned.
    type: bool
    default: false
  pki_dir:
    description: kubeadm's certificatesDir on the nodes.
    type: path
    default: /etc/kubernetes/pki
  controller_ca_dir:
    description: Directory on the controller holding the operator's etcd CA (C(ca.crt), C(ca.key)).
    type: path
  ca_key_on_nodes:
    description: Keep the etcd CA key on the nodes; when false it is kept only in O(controller_ca_dir).
    type: bool
    default: true
  options:
    description:
      - The role's settings C(etcd_cert_renew_days), C(etcd_cert_max_validity_days),
        C(etcd_cert_validity_days), C(etcd_ca_validity_days), C(etcd_key_type), C(etcd_key_size),
        C(etcd_cipher_suites), C(etcd_tls_min_version), plus C(etcd_version) (image or version) and
        C(current_flags) (the etcd manifest's flags).
    type: dict
    required: true
attributes:
  diff_mode:
    support: none
    details: The files are written by the calling role, whose copy tasks show what changes (without keys).
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Plan the etcd PKI of this node
  k8s_hardening.kubeadm.etcd_pki:
    node: "{{ k8s_hardening_node.node_name }}"
    node_ips: ["{{ k8s_hardening_node.advertise_address }}"]
    slurped: "{{ etcd__slurp.results }}"
    options: "{{ etcd__options }}"
  delegate_to: localhost
  no_log: true
  register: etcd__plan
"""

RETURN = r"""
ca:
  description: The chosen CA (source, created, sha256 fingerprint, not_after, findings).
  type: dict
  returned: success
step:
  description: The rotation step of this node (phase trust/reissue/finalize/done, trust ca|bundle, reissue).
  type: dict
  returned: success
files:
  description: Files to write on the node (path, content, mode, secret). Contains key material.
  type: list
  elements: dict
  returned: success
remove:
  description: Files to remove from the node.
  type: list
  elements: str
  returned: success
trust_file:
  description: The file etcd and the apiserver must trust.
  type: str
  returned: success
etcd_flags:
  description: Flags for the etcd static pod.
  type: dict
  returned: success
etcd_absent_flags:
  description:
    - Flags to remove from the etcd static pod - on etcd 3.6+ the C(--experimental-*) flags of the manifest, whose
      new names are in RV(etcd_flags) (version table, plugins/module_utils/_versions.py).
  type: list
  elements: str
  returned: success
apiserver_flags:
  description: The kube-apiserver --etcd-* flags.
  type: dict
  returned: success
skipped_flags:
  description: Flags left out because the detected etcd version does not know them.
  type: list
  elements: str
  returned: success
leaves:
  description: Per certificate, action (keep, reissue, wait) and reasons.
  type: dict
  returned: success
"""

import base64
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error, write_atomic
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._nolog import hide_params

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._etcd import (
    EtcdConfigError, check_controller_ca, plan_node, validate_options,
)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._pki import PKIError


def _read(path):
    if path and os.path.isfile(path):
        with open(path) as fh:
            return fh.read()
    return None


def _write_secret(module, path, content):
    write_atomic(module, path, content, mode=0o600)


def nodes_from_slurp(results):
    """slurp loop results -> the `nodes` structure, in order of first appearance."""
    nodes = {}
    for res in results:
        item = res.get("item") or {}
        node = nodes.setdefault(item["node"], {"name": item["node"], "leaves": {}, "keys": {}})
        content = res.get("content")
        text = base64.b64decode(content).decode("ascii", "replace") if content and not res.get("failed") else None
        field = item["field"]
        if field.startswith("leaf:"):
            node["leaves"][field[5:]] = text
        elif field.startswith("key:"):
            node["keys"][field[4:]] = text
        else:
            node[field] = text
    return list(nodes.values())


def run(module, nodes=None, slurped=None):
    """``nodes``/``slurped``: the values taken out of the parameters (default: the parameters)."""
    p = module.params
    if nodes is None and slurped is None:
        nodes, slurped = p.get("nodes"), p.get("slurped")
    nodes = nodes or nodes_from_slurp(slurped or [])
    controller = None
    cdir = p["controller_ca_dir"]
    if cdir:
        try:
            controller = {"cert": _read(os.path.join(cdir, "ca.crt")), "key": _read(os.path.join(cdir, "ca.key")),
                          "where": "etcd_ca_controller_dir (%s)" % cdir}
        except (OSError, UnicodeDecodeError) as exc:
            module.fail_json(msg="etcd_ca_controller_dir: " + file_error(exc, cdir))
    elif not p["ca_key_on_nodes"]:
        module.fail_json(msg="etcd_ca_key_on_nodes is false: set etcd_ca_controller_dir to a directory on the "
                             "controller where the etcd CA key is kept")
    options = dict(p["options"], etcd_ca_key_on_nodes=p["ca_key_on_nodes"])
    try:
        if p["validate_only"]:
            errors = validate_options(options)
            if errors:
                raise EtcdConfigError("; ".join(errors))
            check_controller_ca(controller)
            return False, {"valid": True}
        plan = plan_node(p["node"], p["node_ips"], nodes, p["pki_dir"], options, controller)
    except (EtcdConfigError, PKIError) as exc:
        module.fail_json(msg=str(exc))
    changed = False
    write = plan.pop("controller_write")
    if write:
        changed = True
        if not module.check_mode:
            try:
                os.makedirs(cdir, mode=0o700, exist_ok=True)
                os.chmod(cdir, 0o700)
                _write_secret(module, os.path.join(cdir, "ca.key"), write["key"])
                _write_secret(module, os.path.join(cdir, "ca.crt"), write["cert"])
            except OSError as exc:
                module.fail_json(msg="etcd_ca_controller_dir: " + file_error(exc, cdir))
    plan["controller_ca_written"] = bool(write)
    return changed, plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node=dict(type="str", default=""),
            node_ips=dict(type="list", elements="str", default=[]),
            nodes=dict(type="list", elements="dict", default=[], no_log=True),
            slurped=dict(type="list", elements="dict", no_log=True),
            validate_only=dict(type="bool", default=False),
            pki_dir=dict(type="path", default="/etc/kubernetes/pki"),
            controller_ca_dir=dict(type="path"),
            ca_key_on_nodes=dict(type="bool", default=True),
            options=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    if _pki.CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=_pki.CRYPTOGRAPHY_IMPORT_ERROR)
    # nodes and slurped hold private keys: never logged nor echoed. Their other words (node names, paths)
    # are not masked in the result: `files` must carry this node's keys (the CA key too) to the role.
    hidden = hide_params(module, ["nodes", "slurped"])
    changed, plan = run(module, hidden["nodes"], hidden["slurped"])
    module.exit_json(changed=changed, **plan)


if __name__ == "__main__":
    main()
