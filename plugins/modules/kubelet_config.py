#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_config
short_description: Manage KubeletConfiguration keys as data
version_added: 0.1.0
description:
  - Deep-merges O(settings) into a KubeletConfiguration file (C(/var/lib/kubelet/config.yaml) on kubeadm nodes).
    Keys it does not manage keep their values and their order; new keys are appended.
  - Validates the merged result before anything is written (ports, booleans, Go durations,
    C(streamingConnectionIdleTimeout) non-zero, C(eventRecordQPS) >= 0, C(podPidsLimit), C(authorization.mode),
    C(tlsMinVersion), C(tlsCipherSuites) through the collection's TLS name table, and that C(clientCAFile),
    C(tlsCertFile), C(tlsPrivateKeyFile) exist on the node) and fails naming the key.
  - Compares parsed data, so comments or formatting never cause a rewrite; writes only on a semantic difference,
    atomically (temp file 0600 in the same directory, then rename), keeping a backup.
  - Enforces mode 0600 root:root (CIS 4.1.9, 4.1.10).
options:
  path:
    description: The KubeletConfiguration file.
    type: path
    required: true
  settings:
    description:
      - Keys to set, nested like the file; C(authentication.anonymous.enabled) is given as C(authentication.anonymous.enabled=false) nested three levels deep.
      - A value of V(null) removes the key.
      - C(tlsCipherSuites) given in OpenSSL spelling are written as the Go names the kubelet accepts.
    type: dict
    default: {}
  provided_files:
    description:
      - Files the kubelet needs that the calling role writes in the same run (the serving certificate and key).
        They count as present when the files the configuration names are checked, so check mode and the first
        run do not fail for a file that is written before the kubelet restarts.
    type: list
    elements: path
    default: []
  create:
    description: Create the file when it does not exist (otherwise fail).
    type: bool
    default: false
  backup:
    description: Keep a copy of the old file when it changes.
    type: bool
    default: true
  backup_dir:
    description: Directory for the backup copy; default is next to the file (C(<name>.<timestamp>~)).
    type: path
  mode:
    description: File mode.
    type: str
    default: "0600"
  owner:
    description: File owner.
    type: str
    default: root
  group:
    description: File group.
    type: str
    default: root
attributes:
  diff_mode:
    support: full
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
  - k8s_hardening.kubeadm.backup
"""

EXAMPLES = r"""
- name: Kubelet config follows CIS 4.2
  k8s_hardening.kubeadm.kubelet_config:
    path: /var/lib/kubelet/config.yaml
    settings:
      authentication: {anonymous: {enabled: false}, webhook: {enabled: true}}
      authorization: {mode: Webhook}
      readOnlyPort: 0
      streamingConnectionIdleTimeout: 5m
      tlsMinVersion: VersionTLS12
  notify: Restart kubelet
"""

RETURN = r"""
changes:
  description: Every key path that changed (or would), with old and new value (null when unset).
  type: list
  elements: dict
  returned: always
  sample: [{path: readOnlyPort, old: 10255, new: 0}]
content_changed:
  description: Whether the file content changed (a mode/owner fix alone does not restart the kubelet).
  type: bool
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
config:
  description: The merged configuration (what the file holds after the run).
  type: dict
  returned: success
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error, keep_backup

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._kubelet import (
    KUBELET_API_VERSION, KUBELET_KIND, KubeletConfigError, deep_merge, diff_paths, dump, format_changes,
    load, validate, write_atomic)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    cipher_suites_for, normalize_cipher_suites, tls_min_version)


def run(module):
    params = module.params
    path = params["path"]
    settings = dict(params["settings"] or {})
    provided = set(params["provided_files"] or [])
    try:
        if settings.get("tlsCipherSuites"):
            settings["tlsCipherSuites"] = cipher_suites_for(settings["tlsCipherSuites"], "settings.tlsCipherSuites",
                                                            profile="kubelet")
        if settings.get("tlsMinVersion"):
            settings["tlsMinVersion"] = tls_min_version(settings["tlsMinVersion"], "settings.tlsMinVersion",
                                                        profile="kubelet")
    except ValueError as exc:
        module.fail_json(msg="invalid kubelet setting, nothing written: %s" % exc)

    exists = os.path.exists(path)
    if not exists and not params["create"]:
        module.fail_json(msg="%s does not exist; is this a kubeadm node? (set create=true to create it)" % path)
    old_text = ""
    if exists:
        with open(path, "r") as handle:
            old_text = handle.read()
    try:
        before = load(old_text)
    except KubeletConfigError as exc:
        module.fail_json(msg="%s: %s" % (path, exc))
    base = before if before else {"apiVersion": KUBELET_API_VERSION, "kind": KUBELET_KIND}
    after = deep_merge(base, settings)
    errors = validate(after, cipher_normalizer=normalize_cipher_suites, settings_keys=settings.keys(),
                      path_exists=lambda name: name in provided or os.path.exists(name))
    if errors:
        module.fail_json(msg="invalid kubelet configuration for %s, nothing written: %s" % (path, "; ".join(errors)),
                         errors=errors)

    changes = diff_paths(before, after) if exists else diff_paths({}, after)
    content_changed = bool(changes) or not exists
    result = dict(changed=False, content_changed=content_changed, changes=changes, config=after)
    if module._diff:
        # both sides dumped from data, so the diff shows only the keys that change
        result["diff"] = dict(before_header="%s (%s)" % (path, ", ".join(format_changes(changes)) or "no change"),
                              after_header=path, before=dump(before) if before else "", after=dump(after))
    if content_changed:
        result["changed"] = True
        if not module.check_mode:
            if exists and params["backup"]:
                result["backup_file"], result["backups_removed"] = keep_backup(
                    module, path, params["backup_dir"], params["backup_keep"])
            write_atomic(module, path, dump(after))
    if exists or not module.check_mode:
        file_args = module.load_file_common_arguments(dict(path=path, mode=params["mode"], owner=params["owner"],
                                                           group=params["group"]))
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(type="dict", default={}),
            provided_files=dict(type="list", elements="path", default=[]),
            create=dict(type="bool", default=False),
            backup=dict(type="bool", default=True),
            backup_dir=dict(type="path"),
            backup_keep=dict(type="int", default=10),
            mode=dict(type="str", default="0600"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
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
