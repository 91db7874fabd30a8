#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubeadm_facts
short_description: Describe a kubeadm node - its role, Kubernetes version, paths and components
version_added: 0.1.0
description:
  - Reads what C(kubeadm init) or C(kubeadm join) left on the node (static pod manifests,
    kubeconfigs, the kubelet unit, its drop-ins and C(kubeadm-flags.env)) and sets the fact
    C(k8s_hardening_node) that every role of the collection reads.
  - Fails with a clear message when the host is not a kubeadm node.
  - Never changes anything.
options:
  kubernetes_dir:
    description: kubeadm's configuration directory.
    type: path
    default: /etc/kubernetes
  kubelet_dir:
    description: The kubelet's state directory.
    type: path
    default: /var/lib/kubelet
  lab_state_dir:
    description: Where the lab's static pod runner writes pod states. Its presence marks a lab node.
    type: path
    default: /run/lab-kubelet/pods
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
requirements:
  - PyYAML on the node (python3-yaml)
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Gather what the node is
  k8s_hardening.kubeadm.kubeadm_facts:

- name: Show the Kubernetes version
  ansible.builtin.debug:
    msg: "{{ ansible_facts.k8s_hardening_node.kubernetes_version }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    k8s_hardening_node:
      description:
        - is_kubeadm_node, node_roles (control_plane or worker), node_name, kubernetes_version,
          kubernetes_minor, version_source (manifest, kubelet or unknown), advertise_address, lab,
          paths (kubernetes_dir, manifests_dir, pki_dir, kubelet_config, kubeadm_flags_env,
          kubelet_kubeconfig, kubelet_unit, kubelet_dropins, admin_conf), components (per static
          pod - manifest, image, image_tag, version), kubelet_flags, etcd (topology, data_dir, servers).
      type: dict
      returned: always
"""

import os
import socket
import subprocess

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._nodeinfo import (
    COMPONENTS,
    KUBELET_DROPIN_DIRS,
    KUBELET_UNIT_CANDIDATES,
    NodeInfoError,
    build_node_info,
    kubelet_args,
)


def _read(path):
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _kubelet_units():
    units = []
    unit = next((p for p in KUBELET_UNIT_CANDIDATES if os.path.isfile(p)), None)
    if unit:
        units.append((unit, _read(unit)))
    for directory in KUBELET_DROPIN_DIRS:
        if os.path.isdir(directory):
            for name in sorted(os.listdir(directory)):
                if name.endswith(".conf"):
                    path = os.path.join(directory, name)
                    units.append((path, _read(path)))
    return units


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubernetes_dir=dict(type="path", default="/etc/kubernetes"),
            kubelet_dir=dict(type="path", default="/var/lib/kubelet"),
            lab_state_dir=dict(type="path", default="/run/lab-kubelet/pods"),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    kdir = module.params["kubernetes_dir"]
    ldir = module.params["kubelet_dir"]
    paths = {
        "kubernetes_dir": kdir,
        "manifests_dir": os.path.join(kdir, "manifests"),
        "pki_dir": os.path.join(kdir, "pki"),
        "admin_conf": os.path.join(kdir, "admin.conf"),
        "kubelet_kubeconfig": os.path.join(kdir, "kubelet.conf"),
        "kubelet_config": os.path.join(ldir, "config.yaml"),
        "kubeadm_flags_env": os.path.join(ldir, "kubeadm-flags.env"),
    }
    paths["_kubelet_kubeconfig_present"] = os.path.isfile(paths["kubelet_kubeconfig"])
    manifests = {}
    for name in COMPONENTS:
        path = os.path.join(paths["manifests_dir"], name + ".yaml")
        manifests[name] = (path, _read(path))

    units = _kubelet_units()
    env_files = {}
    for dummy, text in units:
        for line in (text or "").splitlines():
            line = line.strip()
            if line.startswith("EnvironmentFile="):
                env_path = line.split("=", 1)[1].lstrip("-")
                env_files[env_path] = _read(env_path)
    kflags = kubelet_args([t for dummy, t in units], env_files)
    kubelet_config_path = kflags.get("config") or paths["kubelet_config"]

    version_output = None
    kubelet_bin = module.get_bin_path("kubelet")
    if kubelet_bin and manifests["kube-apiserver"][1] is None:
        # Only where no apiserver manifest tells the version (workers). Bounded, so a
        # kubelet binary that does not answer --version cannot hang the play.
        try:
            proc = subprocess.run([kubelet_bin, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=10, check=False, universal_newlines=True)
            if proc.returncode == 0:
                version_output = proc.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            version_output = None

    try:
        info = build_node_info(
            manifests=manifests,
            kubelet_units=units,
            env_files=env_files,
            kubelet_config_text=_read(kubelet_config_path),
            kubelet_version_output=version_output,
            hostname=socket.gethostname(),
            paths=paths,
            lab=os.path.isdir(module.params["lab_state_dir"]),
        )
    except NodeInfoError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, ansible_facts={"k8s_hardening_node": info})


if __name__ == "__main__":
    main()
