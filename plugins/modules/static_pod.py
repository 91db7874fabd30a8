#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: static_pod
short_description: Edit a kubeadm static pod manifest as data
version_added: 0.1.0
description:
  - Sets and removes flags of the only container's command, merges or replaces list-valued flags,
    ensures volumes with their mounts, and sets annotations and pod securityContext keys of a static
    pod manifest such as
    C(/etc/kubernetes/manifests/kube-apiserver.yaml).
  - Flags it does not manage keep their value and position. A new flag is inserted in sorted
    position, as kubeadm writes flags sorted alphabetically.
  - Compares the parsed manifest; writes only when something changed, since every rewrite
    restarts the component. Writes atomically, mode 0600 root:root.
  - Keeps a copy of the previous manifest outside the manifests directory (a file left in it is
    started by the kubelet as another pod).
  - Validates the flags it writes against the Kubernetes version (the flags table in
    C(plugins/module_utils/_k8s_flags.py)) and refuses conflicting flags. Any refusal leaves the
    file untouched.
  - Roles do not call this module directly; they go through the role
    M(k8s_hardening.kubeadm.static_pods) (see docs/static_pods.md).
attributes:
  diff_mode:
    support: full
    details: Before/after text of the manifest; the manifest holds paths, never key material.
options:
  path:
    description: The static pod manifest.
    type: path
    required: true
  component:
    description:
      - Component name used for flag validation. Defaults to the binary in C(command[0]).
    type: str
    choices: [etcd, kube-apiserver, kube-controller-manager, kube-scheduler]
  flags:
    description:
      - Flags to set, name without dashes -> value. Booleans become C(true)/C(false).
      - A list for C(enable-admission-plugins) or C(disable-admission-plugins) is merged with the
        items already there (kept in their order, new ones appended) unless O(replace_lists).
        A dict for C(feature-gates) or C(runtime-config) is merged by key.
        A list or dict for any other flag replaces its value (joined with commas).
      - A value of V(null) writes the flag without a value.
    type: dict
    default: {}
  absent_flags:
    description: Flags to remove. Not validated against the version (removing an old flag is fine).
    type: list
    elements: str
    default: []
  list_remove:
    description:
      - "Items to remove from comma-separated flags, e.g. C({enable-admission-plugins: [AlwaysAdmit]}).
        A flag left empty is removed."
    type: dict
    default: {}
  replace_lists:
    description:
      - V(true) replaces every list/dict-valued flag instead of merging; a list of flag names does so
        for those flags only.
    type: raw
    default: false
  volumes:
    description:
      - Volumes with their mount, matched by name. Fails on a name used with another hostPath or
        mountPath, or a mountPath used by another volume.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Volume name., type: str, required: true}
      hostPath: {description: Path on the node., type: str, required: true}
      type: {description: "hostPath type (C(File), C(DirectoryOrCreate), ...).", type: str}
      mountPath: {description: Path in the container., type: str, required: true}
      readOnly: {description: Mount read-only., type: bool, default: false}
  annotations:
    description: metadata.annotations to set (values become strings).
    type: dict
    default: {}
  security_context:
    description:
      - "Pod-level C(spec.securityContext) keys to set, e.g. C({runAsUser: 1001, runAsGroup: 1001}).
        Merged into what is there: keys kubeadm wrote (C(seccompProfile)) and keys not given are kept;
        nested dicts are merged by key."
      - C(runAsUser), C(runAsGroup) and C(fsGroup) must be non-negative integers (digit strings are
        converted); C(runAsNonRoot) a boolean. The container-level securityContext is not managed.
    type: dict
    default: {}
  kubernetes_version:
    description:
      - Version the node runs (C(ansible_facts.k8s_hardening_node.kubernetes_version)). Flags that do
        not exist in it are refused (version table, C(plugins/module_utils/_versions.py)). Empty skips the
        version gate (values are still checked).
    type: str
    default: ""
  etcd_version:
    description:
      - For O(component=etcd), the etcd version (C(3.5.21), or the image C(registry.k8s.io/etcd:3.6.4-0)), since
        etcd flags are versioned apart (C(--tls-min-version) from 3.5.8, no C(--experimental-*) from 3.6).
        Empty takes the tag of the manifest's image.
    type: str
    default: ""
  allow_unknown_flags:
    description: Write flags missing from the collection's flag table (not recommended).
    type: bool
    default: false
  backup:
    description: Keep a copy of the previous manifest before changing it.
    type: bool
    default: true
  backup_dir:
    description:
      - Where backups go, as C(<name>.<timestamp>.yaml), mode 0600. Must not be the manifests
        directory.
    type: path
    default: /var/backups/k8s-hardening/manifests
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
  - k8s_hardening.kubeadm.backup
"""

EXAMPLES = r"""
- name: Turn profiling off and add an audit policy to the apiserver
  k8s_hardening.kubeadm.static_pod:
    path: /etc/kubernetes/manifests/kube-apiserver.yaml
    kubernetes_version: "{{ ansible_facts.k8s_hardening_node.kubernetes_version }}"
    flags:
      profiling: false
      audit-policy-file: /etc/kubernetes/audit/policy.yaml
      enable-admission-plugins: [NodeRestriction, EventRateLimit]
    list_remove:
      enable-admission-plugins: [AlwaysAdmit]
    absent_flags: [insecure-port]
    volumes:
      - name: audit-policy
        hostPath: /etc/kubernetes/audit/policy.yaml
        type: File
        mountPath: /etc/kubernetes/audit/policy.yaml
        readOnly: true
    annotations:
      k8s-hardening.io/config-checksum: "{{ checksum }}"
  register: apiserver
"""

RETURN = r"""
changes:
  description: One line per change, naming each flag, volume, annotation and securityContext key.
  returned: always
  type: list
  elements: str
  sample: ["set --profiling=false (was unset)", "--tls-min-version: VersionTLS10 -> VersionTLS12",
           "volume audit-policy added (/etc/kubernetes/audit/policy.yaml -> /etc/kubernetes/audit/policy.yaml, read-only)",
           "securityContext.runAsUser: unset -> 1001"]
content_changed:
  description: Whether the manifest text changed (so the kubelet restarts the pod); false when only mode/owner were fixed.
  returned: always
  type: bool
attributes_changed:
  description: Whether the manifest's mode or owner was fixed (or would be, in check mode).
  returned: always
  type: bool
flags:
  description: The resulting flags (name -> value, null for a flag without value).
  returned: always
  type: dict
manifest_sha256:
  description: sha256 of the bytes on disk now (in check mode, the current file).
  returned: always
  type: str
previous_sha256:
  description: sha256 of the manifest before this run.
  returned: always
  type: str
backups_removed:
  description: Older backups removed to keep O(backup_keep).
  type: list
  elements: str
  returned: changed and backup
backup_file:
  description: The copy of the previous manifest, when one was written.
  returned: changed and backup
  type: str
warnings:
  description: Version-table notes, e.g. a Kubernetes minor outside the checked range.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR, yaml
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import backup_copy, file_error, write_atomic

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError, apply, component_binary, dump, get_flags, load, sha256_hex)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._k8s_flags import (
    FlagError, check_conflicts, validate_flags)


def component_image(doc):
    """The image of the manifest's first container (the etcd version for etcd flags)."""
    try:
        return doc["spec"]["containers"][0].get("image") or None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _read_authn_config(flags):
    path = flags.get("authentication-config")
    if not path or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        try:
            return yaml.safe_load(handle)
        except yaml.YAMLError:
            return None


def plan(params):
    """Read the manifest and compute the new one; raises ManifestError/FlagError.

    Returns (old_bytes, new_text or None, changes, result_flags, warnings)."""
    path = params["path"]
    with open(path, "rb") as handle:
        old_bytes = handle.read()
    doc = load(old_bytes.decode("utf-8"))
    get_flags(doc)  # a flag given twice is refused before anything else
    component = params["component"] or component_binary(doc)
    new, changes = apply(doc, flags=params["flags"], absent_flags=params["absent_flags"],
                         list_remove=params["list_remove"], replace_lists=params["replace_lists"],
                         volumes_wanted=params["volumes"], annotations=params["annotations"],
                         security_context=params["security_context"])
    result_flags = get_flags(new)
    warnings = []
    if changes:
        old_flags = get_flags(doc)
        written = {k: v for k, v in result_flags.items() if k not in old_flags or old_flags[k] != v}
        etcd_version = params.get("etcd_version") or (component_image(new) if component == "etcd" else None)
        warnings = validate_flags(component, written, params["kubernetes_version"],
                                  params["allow_unknown_flags"], etcd_version=etcd_version)
        check_conflicts(component, result_flags, params["kubernetes_version"],
                        _read_authn_config(result_flags))
    new_text = dump(new) if changes else None
    return old_bytes, new_text, changes, result_flags, warnings


def run(module):
    params = module.params
    path = params["path"]
    manifests_dir = os.path.dirname(os.path.abspath(path))
    backup_dir = os.path.abspath(params["backup_dir"])
    if params["backup"] and (backup_dir == manifests_dir or backup_dir.startswith(manifests_dir + os.sep)):
        module.fail_json(msg="backup_dir %s is inside the manifests directory %s; the kubelet would start "
                             "the backup as a pod; choose another directory" % (backup_dir, manifests_dir))
    if not os.path.isfile(path):
        module.fail_json(msg="static pod manifest %s does not exist" % path)
    try:
        old_bytes, new_text, changes, result_flags, warnings = plan(params)
    except (ManifestError, FlagError) as exc:
        module.fail_json(msg="%s: %s; nothing was changed" % (path, to_native(exc)))
    except UnicodeDecodeError as exc:
        module.fail_json(msg=file_error(exc, path))
    for warning in warnings:   # module.warn puts them in the result's warnings, once
        module.warn(warning)

    previous_sha = sha256_hex(old_bytes)
    result = dict(changed=False, content_changed=False, changes=changes, flags=result_flags,
                  manifest_sha256=previous_sha, previous_sha256=previous_sha)
    if new_text is not None:
        result["changed"] = result["content_changed"] = True
        result["diff"] = dict(before=old_bytes.decode("utf-8"), after=new_text,
                              before_header=path, after_header=path)
        if not module.check_mode:
            if params["backup"]:
                name = os.path.basename(path)
                result["backup_file"], result["backups_removed"] = backup_copy(
                    module, path, backup_dir, params["backup_keep"], data=old_bytes,
                    name=name[:-5] if name.endswith(".yaml") else name, suffix=".yaml")
            data = new_text.encode("utf-8")
            # hidden temp name: the kubelet ignores dot files in the manifests directory
            write_atomic(module, path, data, mode=0o600)
            result["manifest_sha256"] = sha256_hex(data)
    # mode/owner: 0600 root:root, as kubeadm writes them
    file_args = dict(path=path, mode="0600", owner="root", group="root",
                     secontext=[None, None, None, None], attributes=None)
    if os.geteuid() != 0:
        file_args.update(owner=None, group=None)
    result["attributes_changed"] = module.set_fs_attributes_if_different(file_args, False)
    result["changed"] = result["changed"] or result["attributes_changed"]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            component=dict(type="str", choices=["etcd", "kube-apiserver", "kube-controller-manager",
                                                "kube-scheduler"]),
            flags=dict(type="dict", default={}),
            absent_flags=dict(type="list", elements="str", default=[]),
            list_remove=dict(type="dict", default={}),
            replace_lists=dict(type="raw", default=False),
            volumes=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                hostPath=dict(type="str", required=True),
                type=dict(type="str"),
                mountPath=dict(type="str", required=True),
                readOnly=dict(type="bool", default=False),
            )),
            annotations=dict(type="dict", default={}),
            security_context=dict(type="dict", default={}),
            kubernetes_version=dict(type="str", default=""),
            etcd_version=dict(type="str", default=""),
            allow_unknown_flags=dict(type="bool", default=False),
            backup=dict(type="bool", default=True),
            backup_dir=dict(type="path", default="/var/backups/k8s-hardening/manifests"),
            backup_keep=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    replace = module.params["replace_lists"]
    if isinstance(replace, str):
        try:
            replace = module.params["replace_lists"] = boolean(replace)
        except TypeError:
            replace = module.params["replace_lists"] = [n.strip() for n in replace.split(",") if n.strip()]
    if not isinstance(replace, (bool, list)):
        module.fail_json(msg="replace_lists must be a boolean or a list of flag names, got %r" % (replace,))
    try:
        module.exit_json(**run(module))
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=file_error(exc, module.params["path"]))


if __name__ == "__main__":
    main()
