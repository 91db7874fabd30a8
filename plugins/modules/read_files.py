#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: read_files
short_description: Read many files of a node in one call, as a loop of slurp and stat would
version_added: 0.1.0
description:
  - Reads every file named in O(items) and every file O(find_paths) and O(find_patterns) match, in one
    module invocation. A loop of M(ansible.builtin.slurp) or M(ansible.builtin.stat) costs one invocation
    per file.
  - Returns C(results) in the shape of such a loop, with one entry per file. Each entry has C(item),
    C(source), C(content) (base64, unless O(content=false)), and C(stat) (C(path), C(exists), C(checksum)
    sha256, C(writeable)). A file that cannot be read has C(failed=true) and C(msg).
  - The modules that take slurp results (P(k8s_hardening.kubeadm.etcd_pki#module),
    P(k8s_hardening.kubeadm.k8s_certificates#module)) and the filter
    P(k8s_hardening.kubeadm.k8s_config_checksums#filter) take these results unchanged.
  - Files can hold key material; register the result with C(no_log).
  - Read-only; never reports changed.
options:
  items:
    description:
      - The files to read. Each is a path, or a dict with a C(path) key; the dict comes back as C(item), so
        callers can carry their own fields (node, field, ...).
    type: list
    elements: raw
    default: []
  find_paths:
    description: Directories to search, as M(ansible.builtin.find) would.
    type: list
    elements: path
    default: []
  find_patterns:
    description: Shell patterns matched against file names below O(find_paths).
    type: list
    elements: str
    default: ['*']
  find_depth:
    description: How many directory levels below each of O(find_paths) to search (1 is the directory itself).
    type: int
    default: 1
  content:
    description: Return the content (base64). With C(false), only C(stat) with the sha256 checksum.
    type: bool
    default: true
  max_size:
    description: Files larger than this many bytes fail instead of being read.
    type: int
    default: 4194304
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Read the certificates and kubeconfigs of the node (they hold keys)
  k8s_hardening.kubeadm.read_files:
    find_paths: [/etc/kubernetes, /var/lib/kubelet/pki]
    find_patterns: ["*.crt", "*.conf"]
    find_depth: 3
  register: files
  no_log: true
"""

RETURN = r"""
results:
  description: One entry per file, in the order of O(items), then the files found, sorted.
  type: list
  elements: dict
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._files import find_files, read_entry


def main():
    module = AnsibleModule(
        argument_spec=dict(
            items=dict(type="list", elements="raw", default=[]),
            find_paths=dict(type="list", elements="path", default=[]),
            find_patterns=dict(type="list", elements="str", default=["*"]),
            find_depth=dict(type="int", default=1),
            content=dict(type="bool", default=True),
            max_size=dict(type="int", default=4 * 1024 * 1024),
        ),
        supports_check_mode=True,
    )
    p = module.params
    results = []
    for item in p["items"]:
        path = item.get("path") if isinstance(item, dict) else item
        if not isinstance(path, str) or not os.path.isabs(path):
            module.fail_json(msg="read_files: items: each item needs an absolute path, got %r" % (item,))
        results.append(read_entry(item, path, p["content"], p["max_size"]))
    if p["find_paths"]:
        for path in find_files(p["find_paths"], p["find_patterns"], max(1, p["find_depth"])):
            results.append(read_entry(path, path, p["content"], p["max_size"]))
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
