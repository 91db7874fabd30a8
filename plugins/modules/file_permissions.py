#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_permissions
short_description: Enforce modes and owners of many files in one pass
version_added: 0.1.0
description:
  - Applies a list of mode/owner/group rules (the CIS 1.1.x and 4.1.x file controls) to the files
    that exist, in one module invocation per node, so a no-op run costs one call instead of one per file.
  - A rule for a file that does not exist is skipped, as kube-bench does.
  - Reports changed only when a mode or owner really differs; in check mode reports what it would change.
options:
  rules:
    description:
      - Each rule has C(path); optional C(mode) (octal string), C(owner), C(group), C(ids) (CIS ids, for the
        report), C(pattern) (a glob; the rule then applies to matching files in the directory), C(recurse)
        (below it too), C(include_dir) (the directories themselves too), C(exact_mode).
      - The mode is a ceiling, as in kube-bench's bitmask test (bits outside it are removed, none is added,
        so a stricter file stays stricter), unless C(exact_mode) is true.
    type: list
    elements: dict
    required: true
attributes:
  diff_mode:
    support: full
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Static pod manifests are 0600 root:root (CIS 1.1.1-1.1.8)
  k8s_hardening.kubeadm.file_permissions:
    rules:
      - {path: /etc/kubernetes/manifests, pattern: "*.yaml", mode: "0600", owner: root, group: root, ids: ["1.1.1"]}
"""

RETURN = r"""
changes:
  description: One line per file changed (or that would change in check mode).
  type: list
  elements: str
  returned: always
checked:
  description: How many existing files the rules covered.
  type: int
  returned: always
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._files import (
    FileRuleError,
    describe,
    expand,
    normalize_rules,
    plan_one,
)


def diff_of(changes):
    before, after = [], []
    for change in changes:
        b, a = [], []
        for key in ("mode", "owner", "group"):
            if key in change:
                b.append("%s=%s" % (key, change[key]["before"]))
                a.append("%s=%s" % (key, change[key]["after"]))
        before.append("%s %s\n" % (change["path"], " ".join(b)))
        after.append("%s %s\n" % (change["path"], " ".join(a)))
    return {"before": "".join(before), "after": "".join(after)}


def apply_rules(module, rules, uid_of, gid_of):
    """Plan every rule, then (unless check mode) apply the changes; returns (changes, checked paths)."""
    plans = {}
    checked = set()
    for rule in rules:
        for path in expand(rule):
            checked.add(path)
            change = plan_one(path, os.lstat(path), rule, uid_of, gid_of)
            if change:
                # A later rule for the same file wins, as the roles list the specific after the general.
                plans[path] = change
    changes = [plans[p] for p in sorted(plans)]
    if changes and not module.check_mode:
        for change in changes:
            if "mode" in change:
                os.chmod(change["path"], change["mode"]["value"])
            if "owner" in change or "group" in change:
                os.lchown(change["path"],
                          change["owner"]["value"] if "owner" in change else -1,
                          change["group"]["value"] if "group" in change else -1)
    return changes, checked


def main():
    module = AnsibleModule(
        argument_spec=dict(rules=dict(type="list", elements="dict", required=True)),
        supports_check_mode=True,
    )
    try:
        rules = normalize_rules(module.params["rules"])
    except FileRuleError as exc:
        module.fail_json(msg="file_permissions: %s" % exc)

    def uid_of(name):
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            module.fail_json(msg="file_permissions: user %r does not exist on this node" % name)

    def gid_of(name):
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            module.fail_json(msg="file_permissions: group %r does not exist on this node" % name)

    try:
        changes, checked = apply_rules(module, rules, uid_of, gid_of)
    except OSError as exc:
        module.fail_json(msg="file_permissions: " + file_error(exc))
    lines = [describe(c) for c in changes]
    module.exit_json(
        changed=bool(changes),
        changes=lines,
        checked=len(checked),
        diff=diff_of(changes),
    )


if __name__ == "__main__":
    main()
