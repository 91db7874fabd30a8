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
  - The same weak flags are removed from the files in O(extra_env_files), the environment files the kubelet
    unit reads for the administrator's own flags (kubeadm's drop-in reads C(KUBELET_EXTRA_ARGS) from
    C(/etc/default/kubelet) or C(/etc/sysconfig/kubelet)). Each changed file gets its own backup and diff.
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
  extra_env_files:
    description:
      - More environment files to clean the same way, each with the variable that holds kubelet arguments.
        A file that does not exist, or does not set the variable, is left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: The environment file., type: path, required: true}
      variable: {description: The variable holding kubelet arguments., type: str, default: KUBELET_EXTRA_ARGS}
  kubernetes_version:
    description:
      - The node's Kubernetes version. Flags this version removed (version table, e.g. C(--pod-infra-container-image)
        from 1.35, C(--cloud-config) from 1.34) are removed from O(path), kubeadm's own file, and reported where
        an administrator left them in O(extra_env_files) (remove them there with O(remove_flags)). Empty skips it.
    type: str
    default: ""
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
  description: Flags removed (or that would be), each with file, flag, value, cis, reason.
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
  description: Path of the first backup copy, when one was made.
  type: str
  returned: changed and backup
backup_files:
  description: Every backup made, one per changed file.
  type: list
  elements: str
  returned: always
changed_files:
  description: The env files that changed (or would, in check mode).
  type: list
  elements: str
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error, keep_backup

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubelet import (
    KubeletConfigError, dropin_flags, edit_flags_env, weak_flags, write_atomic)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._version_checks import (
    env_flags, kubeadm_owned_removals)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._versions import flag_problem


def _removals(params, path, variable, text):
    """What to remove from one env file: remove_flags, plus, in kubeadm's own file, the flags the node's
    Kubernetes version removed (version table): the role never carries them forward."""
    extra = list(params["remove_flags"])
    if params["kubernetes_version"] and path == params["path"]:
        extra += [n for n in kubeadm_owned_removals(env_flags(text, variable), params["kubernetes_version"])
                  if n not in extra]
    return extra


def _version_reports(params, path, variable, text):
    """Flags the version removed, left in an administrator's env file (reported, not removed)."""
    if not params["kubernetes_version"] or path == params["path"]:
        return []
    return [{"flag": n, "value": v, "cis": None, "file": path,
             "reason": flag_problem("kubelet", n, params["kubernetes_version"])}
            for n, v in env_flags(text, variable).items()
            if n not in params["remove_flags"] and flag_problem("kubelet", n, params["kubernetes_version"])]


def clean_env_file(module, path, variable, result, diffs):
    """Drop the weak flags from ``variable`` in the env file ``path``; record what changed."""
    params = module.params
    if not os.path.isfile(path):
        return
    with open(path, "r") as handle:
        text = handle.read()
    try:
        edit = edit_flags_env(text, variable, params["remove_hostname_override"],
                              _removals(params, path, variable, text))
    except KubeletConfigError as exc:
        module.fail_json(msg="%s: %s; nothing written" % (path, exc))
    result["removed"].extend(dict(f, file=path) for f in edit["removed"])
    result["reported"].extend(_version_reports(params, path, variable, text))
    result["reported"].extend(dict(f, file=path) for f in edit["reported"])
    if not edit["changed"]:
        return
    result["changed"] = True
    result["changed_files"].append(path)
    diffs.append(dict(before_header=path, after_header=path, before=text, after=edit["text"]))
    if not module.check_mode:
        if params["backup"]:
            backup, removed = keep_backup(module, path, params["backup_dir"], params["backup_keep"])
            result["backup_files"].append(backup)
            result["backups_removed"].extend(removed)
        write_atomic(module, path, edit["text"], mode=0o644)


def run(module):
    """Every env file is planned before any is written: a file that cannot be parsed fails with none changed."""
    params = module.params
    result = dict(changed=False, removed=[], reported=[], changed_files=[], backup_files=[], backups_removed=[])
    targets = [(params["path"], params["variable"])]
    targets += [(e["path"], e["variable"]) for e in params["extra_env_files"] if e["path"] != params["path"]]
    for path, variable in targets:          # plan: fail on a bad file before any write
        if os.path.isfile(path):
            with open(path, "r") as handle:
                text = handle.read()
                try:
                    edit_flags_env(text, variable, params["remove_hostname_override"],
                                   _removals(params, path, variable, text))
                except KubeletConfigError as exc:
                    module.fail_json(msg="%s: %s; nothing written" % (path, exc))
    diffs = []
    for path, variable in targets:
        clean_env_file(module, path, variable, result, diffs)
    for scanned in params["scan_files"]:
        if os.path.isfile(scanned):
            with open(scanned, "r") as handle:
                for finding in weak_flags(dropin_flags(handle.read())):
                    result["reported"].append(dict(finding, file=scanned))
    if result["backup_files"]:
        result["backup_file"] = result["backup_files"][0]
    if module._diff and diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/kubelet/kubeadm-flags.env"),
            variable=dict(type="str", default="KUBELET_KUBEADM_ARGS"),
            remove_hostname_override=dict(type="bool", default=False),
            remove_flags=dict(type="list", elements="str", default=[]),
            extra_env_files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                variable=dict(type="str", default="KUBELET_EXTRA_ARGS"),
            )),
            scan_files=dict(type="list", elements="path", default=[]),
            backup=dict(type="bool", default=True),
            backup_dir=dict(type="path"),
            backup_keep=dict(type="int", default=10),
            kubernetes_version=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        module.exit_json(**run(module))
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=file_error(exc, module.params["path"]))


if __name__ == "__main__":
    main()
