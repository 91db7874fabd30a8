#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_flags
short_description: Remove kubelet command-line flags that weaken the config file
version_added: 0.1.0
description:
  - A kubelet flag wins over the same key in the KubeletConfiguration file, so a weak flag in
    C(/var/lib/kubelet/kubeadm-flags.env) undoes the config file (CIS 4.2.x).
  - Parses the env file and the quoted argument string of O(variable) as data, drops the weak flags
    (C(--anonymous-auth) not false, C(--authorization-mode) with AlwaysAllow, C(--read-only-port) not 0,
    C(--streaming-connection-idle-timeout=0), C(--make-iptables-util-chains=false), C(--event-qps) negative,
    C(--rotate-certificates=false), C(RotateKubeletServerCertificate=false) in C(--feature-gates),
    any C(--tls-cipher-suites), a TLS 1.0/1.1 C(--tls-min-version), C(--protect-kernel-defaults=false),
    C(--seccomp-default=false)) plus O(remove_flags), and writes the file back atomically with a backup.
  - C(--hostname-override) (CIS 4.2.7) is only reported unless O(remove_hostname_override), because removing it
    changes the node's name when the host name differs, and the node would register as a new node.
  - Files in O(scan_files) (the kubelet unit and its drop-ins) are only read; weak flags there are reported.
options:
  path:
    description: The kubeadm flags env file.
    type: path
    default: /var/lib/kubelet/kubeadm-flags.env
  variable:
    description: The variable holding the kubelet arguments.
    type: str
    default: KUBELET_KUBEADM_ARGS
  remove_hostname_override:
    description: Also remove C(--hostname-override).
    type: bool
    default: false
  remove_flags:
    description: More flag names (without dashes) to remove.
    type: list
    elements: str
    default: []
  scan_files:
    description: Unit files and drop-ins to scan (read only) for weak flags.
    type: list
    elements: path
    default: []
  backup:
    description: Keep a copy of the old file when it changes.
    type: bool
    default: true
  backup_dir:
    description: Directory for the backup copy; default is next to the file.
    type: path
attributes:
  diff_mode:
    support: full
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
  - k8s_hardening.kubeadm.backup
"""

EXAMPLES = r"""
- name: No kubelet flag overrides the hardened config file
  k8s_hardening.kubeadm.kubelet_flags:
    path: /var/lib/kubelet/kubeadm-flags.env
    scan_files: [/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf]
  notify: Restart kubelet
"""

RETURN = r"""
removed:
  description: Flags removed (or that would be), each with flag, value, cis, reason.
  type: list
  elements: dict
  returned: always
reported:
  description: Weak flags left in place (C(--hostname-override) without O(remove_hostname_override), and any in O(scan_files)), each with file.
  type: list
  elements: dict
  returned: always
backups_removed:
  description: Older backups removed to keep O(backup_keep).
  type: list
  elements: str
  returned: changed and backup
backup_file:
  description: Path of the backup copy, when one was made.
  type: str
  returned: changed and backup
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import keep_backup

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubelet import (
    KubeletConfigError, dropin_flags, edit_flags_env, weak_flags, write_atomic)


def run(module):
    params = module.params
    path = params["path"]
    result = dict(changed=False, removed=[], reported=[])
    for scanned in params["scan_files"]:
        if os.path.isfile(scanned):
            with open(scanned, "r") as handle:
                for finding in weak_flags(dropin_flags(handle.read())):
                    result["reported"].append(dict(finding, file=scanned))
    if not os.path.exists(path):
        return result
    with open(path, "r") as handle:
        text = handle.read()
    try:
        edit = edit_flags_env(text, params["variable"], params["remove_hostname_override"],
                              params["remove_flags"])
    except KubeletConfigError as exc:
        module.fail_json(msg="%s: %s; nothing written" % (path, exc))
    result["removed"] = edit["removed"]
    result["reported"] = [dict(f, file=path) for f in edit["reported"]] + result["reported"]
    if not edit["changed"]:
        return result
    result["changed"] = True
    if module._diff:
        result["diff"] = dict(before_header=path, after_header=path, before=text, after=edit["text"])
    if not module.check_mode:
        if params["backup"]:
            result["backup_file"], result["backups_removed"] = keep_backup(
                module, path, params["backup_dir"], params["backup_keep"])
        write_atomic(module, path, edit["text"], mode=0o644)
    return result



def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/kubelet/kubeadm-flags.env"),
            variable=dict(type="str", default="KUBELET_KUBEADM_ARGS"),
            remove_hostname_override=dict(type="bool", default=False),
            remove_flags=dict(type="list", elements="str", default=[]),
            scan_files=dict(type="list", elements="path", default=[]),
            backup=dict(type="bool", default=True),
            backup_dir=dict(type="path"),
            backup_keep=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
